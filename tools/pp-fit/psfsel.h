/* psfsel.h - the PSF of each band of a patch, its audit, and the
 * position-dependent ePSF (SPEC §10.3).
 *
 * Choice per band b (SPEC §10.3).  The patch's own ePSF is
 * <epsf_dir>/<band>/<epsf_tag>/epsf.npy with meta.json beside it.  It is
 * used when, in this order of checks,
 *   1. epsf.npy exists                  else "missing ePSF"
 *   2. meta.json has nstars_used >= patch_run.min_epsf_nstars_for_use
 *        else "low-star ePSF (nstars_used=N < min_epsf_nstars_for_use=M)"
 *        (the band is then a low-star band)
 *   3. epsf.npy is a 2-D odd-sized float array, finite after NaN -> 0,
 *      with a positive sum (it is renormalised to sum 1), and meta.json
 *      reads and holds x0, x1, y0, y1 and nstars_used
 *        else "invalid ePSF (<what>)"
 * (a missing or unreadable meta.json with an existing epsf.npy is
 * "invalid ePSF (meta.json: <why>)").  Otherwise the band falls back to
 * patch_run.psf_fallback_model with FWHM = pp_psf_fwhm_pix(FWHMPIX of
 * the payload, patch_run.fallback_default_fwhm_pix):
 *   moffat              stamp of radius moffat_psf.radius_pix, beta
 *                       moffat_psf.beta, rendered as pixelized
 *   ncircular_gaussian  pp_psf_ncircular(FWHM, ncircular_gaussian_n)
 *   gaussian_mixture    EM mixture (gaussian_mixture_n) of a Gaussian
 *                       stamp of radius fallback_stamp_radius_pix
 * The reason strings are SPEC §10.3's, verbatim; a WARNING is logged for
 * every fallback.
 *
 * Rendering (fit_psfsel_render): FIT_PSF_PIXEL (psf_model
 * "pixelized", and the moffat fallback), FIT_PSF_HYBRID ("hybrid"),
 * FIT_PSF_MOG ("gaussian_mixture_from_stamp", and the ncircular_gaussian
 * and gaussian_mixture fallbacks).  A band with FIT_PSF_MOG has a
 * parametric PSF whose parameters are never fitted: it is "frozen"
 * (psf_frozen_bands_for_optimizer).
 *
 * Position dependence (patch_run.psf_interp).  With "bilinear" and a used
 * ePSF, the stamp at working-frame position (X, Y) interpolates the
 * usable ePSF cells of the band (cells passing checks 1-3 among those
 * whose centres, at the own cell's size, lie within one cell of the
 * payload's source positions, at most FIT_PSFSEL_REACH cells from the
 * own cell; only these are read): cell centres
 * ((x0+x1)/2, (y0+y1)/2) from each cell's meta.json form a grid of
 * columns and rows; along each axis the position is bracketed by the two
 * nearest centres (weights 1-t, t); beyond the outermost centre the two
 * outermost centres extrapolate linearly for at most half that cell
 * (the cell's edge), then the value is held; one column (row) only:
 * that one.  The stamp is sum_k w_k stamp_k over the (up to) four corner
 * cells, renormalised to sum 1.  When a corner with non-zero weight is
 * not usable (a hole in the grid), the nearest usable cell's stamp is
 * used alone.  Stamps of different sizes are centred on the largest.
 * With "cell" (or a fallback) the stamp does not depend on the position.
 * Mixtures (fit_psfsel_mog) come from the usable cell whose centre is
 * nearest (the own cell with "cell"): the meta.json "mog" entry for the
 * K needed, else an EM fit of that cell's stamp (pp_psf_fit_mog), cached.
 * K = hybrid_psf_n for pixelized and hybrid bands (pixelized needs it for
 * galaxies wider than fft_max), gaussian_mixture_n for
 * gaussian_mixture_from_stamp.
 *
 * meta.json "mog" (written by pp-epsf, SPEC §8.2 step 7), one entry per K:
 *   "mog": {"4": {"amp": [a1..aK], "mean": [[mx,my], ...],
 *                 "var": [[[vxx,vxy],[vxy,vyy]], ...]}, "9": {...}}
 * (the Tractor's GaussianMixturePSF layout; means px from the stamp
 * centre, covariances px^2).  A malformed entry is ignored (EM instead)
 * with a WARNING.
 *
 * Positions: X = x_patch + RX0, Y = y_patch + RY0 (working frame).
 * Stamps follow pp_psf.h (w x h doubles, odd, centre pixel (w-1)/2).
 *
 * Threads: fit_psfsel_stamp() and the getters may run concurrently;
 * fit_psfsel_mog() fills a cache and must not run concurrently with
 * itself on the same fit_psfsel.
 */
#ifndef FIT_PSFSEL_H
#define FIT_PSFSEL_H

#include "pp_config.h"
#include "pp_error.h"
#include "pp_psf.h"

#include "payload.h"
#include "srcrender.h"

/* How far (in cells, each way) neighbour cells may be read. */
#define FIT_PSFSEL_REACH 2

/* Render kinds are srcrender.h's FIT_PSF_MOG, FIT_PSF_PIXEL and
 * FIT_PSF_HYBRID. */

/* The audit record of one band (meta.json psf_audit, SPEC §10.5). */
typedef struct {
    char band[FIT_TAG_MAX];
    char epsf_path[PATH_MAX];       /* the own cell's epsf.npy */
    int epsf_exists;                /* epsf.npy exists */
    int used_epsf;                  /* the ePSF is used */
    char fallback_reason[512];      /* "" when used */
    long epsf_nstars_used;          /* meta.json nstars_used; -1 unknown */
    char psf_model[40];             /* psf_model, or the fallback model */
    int low_star;                   /* rejected for nstars_used only */
    int frozen;                     /* parametric (FIT_PSF_MOG) PSF */
} fit_psf_audit;

typedef struct fit_psfsel fit_psfsel;

/* Choose the PSF of every band of p (own cell p->epsf_tag, epsf_dir the
 * absolute EPSFs directory, normally cfg->outputs.epsf_dir) and load what
 * it needs.  OUTPUT *out (free with fit_psfsel_free()).  A band without
 * a usable ePSF is not an error (fallback).  PP_ECONFIG for a psf_model,
 * psf_fallback_model or psf_interp value this module does not know, or a
 * fallback PSF parameter pp_psf rejects (the key named); PP_ENOMEM. */
int fit_psfsel_open(const pp_config *cfg, const char *epsf_dir,
                    const fit_payload *p, fit_psfsel **out, pp_error *err);

/* Free everything; NULL is a no-op. */
void fit_psfsel_free(fit_psfsel *s);

int fit_psfsel_nbands(const fit_psfsel *s);

/* The audit record of band b (borrowed, lives as long as s). */
const fit_psf_audit *fit_psfsel_audit(const fit_psfsel *s, int b);

/* FIT_PSF_* (srcrender.h) of band b. */
int fit_psfsel_render(const fit_psfsel *s, int b);

/* 1 when band b's stamp depends on the position (bilinear with more than
 * one usable cell), else 0: callers may then reuse one stamp. */
int fit_psfsel_varies(const fit_psfsel *s, int b);

/* OUTPUT *w, *h: the size of band b's stamps; 0 x 0 when the band has
 * none (ncircular_gaussian and gaussian_mixture fallbacks). */
void fit_psfsel_stamp_size(const fit_psfsel *s, int b, int *w, int *h);

/* Band b's stamp at working-frame position (X, Y), as above: OUTPUT out
 * (w x h of fit_psfsel_stamp_size, caller-owned), sum 1.  PP_EINTERNAL
 * for a band without stamp or a non-finite position. */
int fit_psfsel_stamp(const fit_psfsel *s, int b, double X, double Y,
                     double *out, pp_error *err);

/* Number of mixture components of band b's mixture (K above, or the
 * ncircular n). */
int fit_psfsel_mog_k(const fit_psfsel *s, int b);

/* Band b's Gaussian mixture at (X, Y), as above.  OUTPUT *out.  Errors of
 * pp_psf_fit_mog (prefixed with the cell) when an EM fit fails. */
int fit_psfsel_mog(fit_psfsel *s, int b, double X, double Y,
                   pp_psf_mog *out, pp_error *err);

/* The bilinear weights of SPEC §10.3 along one axis: centres c[0..n-1]
 * (ascending), half-widths h[0..n-1] of the cells; OUTPUT *i0, *i1 and
 * *t: the value at v is (1-t)*f[i0] + t*f[i1].  Exposed for tests. */
void fit_psfsel_axis_weights(const double *c, const double *h, int n,
                             double v, int *i0, int *i1, double *t);

#endif /* FIT_PSFSEL_H */
