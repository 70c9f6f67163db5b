/* pp_psf.h - Gaussian-mixture PSFs and the fallback PSF stamps
 * (SPEC §10.3, §8.2 step 7).  Shared by pp-epsf and pp-fit.
 *
 * Stamps are row-major arrays of w × h doubles, w and h odd, pixel
 * (i, j) (column i, row j, 0-based) at stamp[j·w + i].  Every pixel is
 * point-sampled at its centre, which sits at offset
 *     (dx, dy) = (i − (w−1)/2, j − (h−1)/2)
 * from the stamp centre, so the centre pixel is at (0, 0).  Mixture
 * means are in pixels relative to that centre, covariances in px².
 *
 * EM (pp_psf_fit_mog): the stamp is clipped at 0 and normalised to sum 1
 * and each pixel is treated as a weight at its centre.  The mixture
 * starts at w_k = 1/K, μ_k = 0, V_k = (k+1)·I (k = 0..K−1) and E/M
 * steps run until the log-likelihood
 *     lnL = Σ_pix p_pix · ln Σ_k w_k N(x_pix; μ_k, V_k)
 * changes by at most PP_PSF_EM_TOL relative, or PP_PSF_EM_MAX_ITERS
 * iterations.  Guard (SPEC "non-positive determinants"): each M-step
 * covariance has its eigenvalues floored at PP_PSF_EM_VAR_MIN px²; that
 * is the constrained maximiser, so lnL still never decreases.  A
 * component whose weight underflows to 0 keeps its mean and covariance
 * with weight 0.  Everything is plain sequential arithmetic: the same
 * input gives bit-identical output, and concurrent calls are safe.
 *
 * Nothing here does I/O; pp_psf_fit_mog logs one DEBUG line.
 */
#ifndef PP_PSF_H
#define PP_PSF_H

#include "pp_error.h"

/* Most components of a mixture (gaussian_mixture_n, hybrid_psf_n,
 * epsf.mog_components must fit). */
#define PP_PSF_MOG_MAX 16

/* EM stopping rule of SPEC §10.3. */
#define PP_PSF_EM_TOL 1e-9
#define PP_PSF_EM_MAX_ITERS 1000

/* Eigenvalue floor of EM covariances, px² (σ = 0.1 px): a guard against
 * a component collapsing onto one pixel centre, far below any real PSF. */
#define PP_PSF_EM_VAR_MIN 1e-2

/* FWHM / σ of a Gaussian as SPEC §10.3 writes it. */
#define PP_PSF_FWHM_PER_SIGMA 2.35482

/* Floor of the fallback FWHM, px (SPEC §10.3). */
#define PP_PSF_FWHM_MIN_PIX 1.0

/* Largest radius accepted for a fallback stamp, px. */
#define PP_PSF_STAMP_RADIUS_MAX 512.0

/* A PSF as a Gaussian mixture; weights normally sum to 1. */
typedef struct {
    int    k;                       /* number of components, 1..MAX */
    double w[PP_PSF_MOG_MAX];       /* weights (amplitudes) */
    double mx[PP_PSF_MOG_MAX];      /* mean offset from the centre, px */
    double my[PP_PSF_MOG_MAX];
    double vxx[PP_PSF_MOG_MAX];     /* covariance, px² */
    double vxy[PP_PSF_MOG_MAX];
    double vyy[PP_PSF_MOG_MAX];
} pp_psf_mog;

/* Fit a K-component mixture (1 <= K <= PP_PSF_MOG_MAX) to stamp (w × h,
 * both odd, finite values) by EM as above.  OUTPUT *out; *iters (may be
 * NULL) = the number of E/M iterations done (== PP_PSF_EM_MAX_ITERS when
 * the tolerance was not reached; the result is still returned).
 * Errors (out zeroed): PP_EDATA for an even or empty size, a non-finite
 * pixel or a stamp with no positive pixel; PP_ECONFIG for K out of range
 * (the caller prefixes the config key); PP_ENOMEM. */
int pp_psf_fit_mog(const double *stamp, int w, int h, int K,
                   pp_psf_mog *out, int *iters, pp_error *err);

/* As pp_psf_fit_mog but at most max_iters (>= 0) iterations; max_iters 0
 * returns the initial mixture.  OUTPUT *loglik (may be NULL): lnL of the
 * returned mixture (the same value pp_psf_mog_loglik gives).  Meant for
 * tests and diagnostics. */
int pp_psf_fit_mog_capped(const double *stamp, int w, int h, int K,
                          int max_iters, pp_psf_mog *out, int *iters,
                          double *loglik, pp_error *err);

/* lnL of mog against stamp, the EM objective above (stamp clipped at 0,
 * normalised).  OUTPUT *loglik.  Same errors as pp_psf_fit_mog (K is
 * mog->k); a component with non-positive-definite covariance and
 * positive weight is PP_EDATA. */
int pp_psf_mog_loglik(const pp_psf_mog *mog, const double *stamp, int w,
                      int h, double *loglik, pp_error *err);

/* Side of a fallback stamp of radius radius_pix: 2·ceil(radius_pix) + 1
 * (pixels whose centres lie up to ceil(radius_pix) px from the centre
 * along each axis).  OUTPUT *size.  PP_ECONFIG unless
 * 0 < radius_pix <= PP_PSF_STAMP_RADIUS_MAX. */
int pp_psf_stamp_size(double radius_pix, int *size, pp_error *err);

/* Moffat α for a FWHM (px) and β: FWHM / (2·sqrt(2^(1/β) − 1)). */
double pp_psf_moffat_alpha(double fwhm, double beta);

/* Moffat fallback stamp (SPEC §10.3): (1 + r²/α²)^(−β) at pixel centres,
 * normalised to sum 1, side *size = pp_psf_stamp_size(radius_pix).
 * out holds size² doubles (the caller owns it), or is NULL to only set
 * *size.  PP_ECONFIG unless fwhm > 0, beta > 0 (finite) and the radius
 * is valid. */
int pp_psf_moffat_stamp(double fwhm, double beta, double radius_pix,
                        double *out, int *size, pp_error *err);

/* Gaussian stamp for the gaussian_mixture fallback: exp(−r²/(2σ²)),
 * σ = fwhm / PP_PSF_FWHM_PER_SIGMA, at pixel centres, normalised to sum
 * 1; size and out as pp_psf_moffat_stamp.  PP_ECONFIG unless fwhm > 0
 * and the radius is valid. */
int pp_psf_gaussian_stamp(double fwhm, double radius_pix, double *out,
                          int *size, pp_error *err);

/* The ncircular_gaussian fallback (SPEC §10.3): n concentric round
 * Gaussians at 0, σ = fwhm / PP_PSF_FWHM_PER_SIGMA:
 *   n=1: σ (weight 1); n=2: σ, 2.5σ (0.85, 0.15);
 *   n=3: σ, 2σ, 4σ (0.8, 0.15, 0.05).
 * OUTPUT *out.  PP_ECONFIG unless n is 1, 2 or 3 and fwhm > 0. */
int pp_psf_ncircular(double fwhm, int n, pp_psf_mog *out, pp_error *err);

/* The fallback FWHM rule (SPEC §10.3, §8.2): fwhm_from_frames when it is
 * finite and > 0 (pass NAN when frames.json has none), else fallback;
 * then floored at PP_PSF_FWHM_MIN_PIX (an invalid fallback gives the
 * floor). */
double pp_psf_fwhm_pix(double fwhm_from_frames, double fallback);

#endif /* PP_PSF_H */
