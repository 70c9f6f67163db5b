/* mogrender.h - analytic rendering of one source through a Gaussian-
 * mixture PSF, with analytic derivatives (SPEC §10.1, §10.3, §10.4).
 *
 * A source is a profile mixture (fit_mog, profile.h) placed at (x, y)
 * with shape matrix S (fit_ellipse_cov()); component k has amplitude
 * amp[k] and pixel covariance var[k]·S.  The PSF is a mixture too
 * (fit_psf_mog): component j has amplitude a_j, mean offset (mx_j, my_j)
 * and covariance C_j.  Their convolution is the mixture over all pairs
 * (k, j) of Gaussians of amplitude amp[k]·a_j, mean (x + mx_j, y + my_j)
 * and covariance var[k]·S + C_j (SPEC §10.3 gaussian_mixture_from_stamp:
 * mixture ⊗ mixture = mixture).  A zero-variance component (the point
 * source, the dev / Sérsic core) just contributes C_j.
 *
 * The model is point-sampled at pixel centres (integer coordinates,
 * 0-based; reference/render_reference.md "point-sampled model"), with
 * no pixel integration.  A Gaussian is evaluated only where its
 * Mahalanobis distance² is below FIT_RENDER_MAHAL2_MAX (SPEC §10.3);
 * beyond, it is below 2e-22 of its peak.  Along a row, exp of the
 * quadratic comes from a two-term recurrence (one exp per row and pair),
 * so a pixel's value depends on where its row's Gaussian support starts
 * inside the box at the 1e-14 relative level: splitting a box by rows
 * is bit-exact, by columns exact to rounding only.
 *
 * Buffers: the caller owns every image buffer; each covers the box
 * [x0, x1) × [y0, y1), row-major with stride x1 − x0, so pixel (px, py)
 * is buf[(py − y0)·(x1 − x0) + (px − x0)].  Rendering ADDS to the
 * buffers (the model and the derivative images alike), so sources and
 * boxes can be accumulated; zero them first for a single source.
 * Nothing here allocates, logs or does I/O, and there is no state:
 * concurrent calls on distinct buffers are safe.
 */
#ifndef FIT_MOGRENDER_H
#define FIT_MOGRENDER_H

#include "pp_error.h"
#include "pp_psf.h"

#include "profile.h"

/* Most components of a PSF mixture (ncircular_gaussian has <= 3; the
 * gaussian_mixture_n / hybrid_psf_n mixtures of SPEC §10.3 must fit). */
#define FIT_PSF_MOG_MAX PP_PSF_MOG_MAX

/* Gaussians are evaluated where Mahalanobis distance² < this (SPEC §10.3).*/
#define FIT_RENDER_MAHAL2_MAX 100.0

/* PSF sigmas added to the profile extent by fit_render_halfsize(). */
#define FIT_RENDER_PSF_NSIGMA 5.0

/* A PSF as a Gaussian mixture, libcommon's type (shared with pp-epsf):
 * k components of weight w (normally summing to 1; used as given), mean
 * offset (mx, my) from the source in pixels and covariance (vxx, vxy,
 * vyy) in pixels², positive definite. */
typedef pp_psf_mog fit_psf_mog;

/* Derivative images of fit_render_mog(), indices into its d[] array. */
enum {
    FIT_DERIV_FLUX = 0,     /* ∂M/∂flux = the unit-flux model U */
    FIT_DERIV_X,            /* ∂M/∂x (source position) */
    FIT_DERIV_Y,            /* ∂M/∂y */
    FIT_DERIV_LOGRE,        /* ∂M/∂logre */
    FIT_DERIV_EE1,          /* ∂M/∂ee1 */
    FIT_DERIV_EE2,          /* ∂M/∂ee2 */
    FIT_DERIV_N,            /* ∂M/∂n (Sérsic index) */
    FIT_NDERIV
};

/* Render flux × (prof at (x, y) with shape S) ⊗ psf into the box
 * [x0, x1) × [y0, y1), ADDING to img, and the derivatives of that model
 * into d[i] (i = FIT_DERIV_*), ADDING likewise.
 *   prof   profile mixture (fit_profile_mog()); its damp_dn, dvar_dn feed
 *          d[FIT_DERIV_N].
 *   x, y   source centre, pixels (patch coordinates).
 *   flux   total flux (any sign; the model is linear in it).
 *   S      shape matrix of fit_ellipse_cov() (px²); may be NULL only
 *          when every prof->var is 0 (a point source), meaning S = 0.
 *   dS     ∂S/∂(logre, ee1, ee2) from fit_ellipse_cov(); needed when any
 *          of d[LOGRE..EE2] is non-NULL and some var > 0, else may be
 *          NULL (then those derivatives are 0 and nothing is added).
 *   psf    PSF mixture; every var[k]·S + C_j must be positive definite.
 *   img    model buffer, or NULL to render derivatives only.
 *   d      NULL, or FIT_NDERIV buffer pointers, each NULL to skip.
 * The box may lie partly or wholly off the source; an empty box
 * (x0 == x1 or y0 == y1) is valid and touches nothing.
 * Returns PP_OK; PP_EUSAGE for a bad argument (prof or psf component
 * count out of range, x1 < x0 or y1 < y0, S or dS NULL when needed);
 * PP_EDATA for non-finite x, y, flux or S, or a pair covariance that is
 * not positive definite.  On failure no buffer has been touched and err
 * (may be NULL) says which value and what was expected. */
int fit_render_mog(const fit_mog *prof, double x, double y, double flux,
                   const double S[2][2], const double dS[3][2][2],
                   const fit_psf_mog *psf, long x0, long x1, long y0,
                   long y1, double *img, double *const d[FIT_NDERIV],
                   pp_error *err);

/* Half-size (pixels) of a square render box that holds the source:
 *     h = prof->nre · sqrt(λmax(S))
 *         + FIT_RENDER_PSF_NSIGMA · sqrt(max_j λmax(C_j))
 *         + max_j hypot(mx_j, my_j),
 * i.e. the profile extent of SPEC §10.2 (nre·re: sqrt(λmax(S)) is re)
 * widened by 5 sigma of the widest PSF component and its largest mean
 * offset.  S may be NULL for a point source (nre 0). */
double fit_render_halfsize(const fit_mog *prof, const double S[2][2],
                           const fit_psf_mog *psf);

/* The box [floor(x − h), ceil(x + h) + 1) × [floor(y − h), ceil(y + h)
 * + 1) clipped to the image [0, width) × [0, height); OUTPUT *x0, *x1,
 * *y0, *y1.  The result may be empty (x0 == x1) when the source is far
 * outside the image. */
void fit_render_box(double x, double y, double h, long width,
                    long height, long *x0, long *x1, long *y0, long *y1);

#endif /* FIT_MOGRENDER_H */
