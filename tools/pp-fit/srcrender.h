/* srcrender.h - one source in one band through that band's PSF model
 * (SPEC §10.3): the dispatch between the mixture renderer (mogrender.h)
 * and the pixelized-stamp renderer (pixrender.h), and the hybrid split.
 *
 * A fit_psf is what pp-fit decided for a band (or, with a
 * position-dependent PSF, for one source in one band):
 *  - FIT_PSF_MOG: a Gaussian mixture (gaussian_mixture_from_stamp,
 *    ncircular_gaussian, gaussian_mixture); stars and galaxies are
 *    rendered analytically (mixture ⊗ mixture).
 *  - FIT_PSF_PIXEL: a stamp (pixelized, moffat); stars are the shifted
 *    stamp, galaxies use the Fourier method at the FFT size SPEC §10.3
 *    gives.  When that size exceeds fft_max the galaxy is rendered as
 *    FIT_PSF_HYBRID at N = fft_max (needs mog).
 *  - FIT_PSF_HYBRID: as PIXEL, but galaxy components with
 *    σ_k = sqrt(v_k·(S_xx + S_yy)) above N/8 go through the stamp's
 *    mixture mog instead of the FFT, with a linear ramp between N/8 and
 *    N/6 (fraction through the mixture r = (σ_k − N/8)/(N/24), clamped
 *    to [0, 1]).  The derivatives treat r as constant: in the ramp both
 *    paths render the same component through nearly the same PSF, so
 *    ∂r/∂p times their difference is of the order of the mixture's fit
 *    error and is left out.
 *
 * Rendering follows mogrender.h: the box [x0, x1) × [y0, y1) with stride
 * x1 − x0, ADDING to img and to d[FIT_DERIV_*].  A star's derivative set
 * is FLUX, X, Y; a galaxy adds LOGRE, EE1, EE2 and N.  No allocation
 * beyond the FFT caches of a pixelized context.
 */
#ifndef FIT_SRCRENDER_H
#define FIT_SRCRENDER_H

#include "pp_error.h"

#include "mogrender.h"
#include "pixrender.h"
#include "profile.h"

enum { FIT_PSF_MOG = 0, FIT_PSF_PIXEL, FIT_PSF_HYBRID };

typedef struct {
    int          kind;      /* FIT_PSF_* */
    fit_pix_ctx *pix;       /* PIXEL, HYBRID: the stamp (not owned) */
    fit_psf_mog  mog;       /* MOG: the PSF; PIXEL/HYBRID: the stamp's
                               mixture for wide components (k 0: none) */
} fit_psf;

/* Whether prof is a point source (one zero-variance component). */
int fit_src_is_point(const fit_mog *prof);

/* Half-size (px) of the square box that holds the source's rendering:
 * the mixture rule of fit_render_halfsize() for FIT_PSF_MOG; for a
 * stamp, its half-width + 1 (a star) or nre·re + half-width + 1 (a
 * galaxy). */
double fit_src_halfsize(const fit_psf *psf, const fit_mog *prof,
                        const double S[2][2]);

/* Render flux × (prof at (x, y), shape S) ⊗ psf into the box, ADDING to
 * img (may be NULL) and d (may be NULL; entries may be NULL).  S and dS
 * may be NULL for a point source.  Returns PP_OK or the renderers'
 * errors; PP_EDATA when a galaxy needs the mixture path (hybrid or an
 * FFT above fft_max) and psf->mog is empty. */
int fit_src_render(const fit_psf *psf, const fit_mog *prof, double x,
                   double y, double flux, const double S[2][2],
                   const double dS[3][2][2], long x0, long x1, long y0,
                   long y1, double *img, double *const d[FIT_NDERIV],
                   pp_error *err);

#endif /* FIT_SRCRENDER_H */
