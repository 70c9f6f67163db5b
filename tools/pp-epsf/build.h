/* build.h - the iterative ePSF builder (SPEC §8.2 step 5, Anderson & King
 * 2000 as photutils' EPSFBuilder does it, with the corrections of SPEC).
 *
 * Input: nstars square stamps of side S (odd), background subtracted, in
 * scaled units, each centred on its star's rounded position, with a
 * validity map (0 = weight 0: bad pixel or another object's segment) and
 * a first guess of the star's offset (dx, dy) from the stamp centre pixel
 * and of its flux.
 *
 * The ePSF lives on a grid of side n = oversamp·(S−1) + 1 (odd) with
 * nodes 1/oversamp px apart, centred; it models the pixel-integrated PSF
 * at any sub-pixel offset, through the interpolant of shift.h.  Native
 * samples (every oversamp-th node) sum to 1.  A star's model at stamp
 * pixel p is flux·E(p − centre − d).
 *
 * Iteration (SPEC §8.2 step 5): (a) Gauss–Newton fit of each star's flux
 * and offset on the fit_box × fit_box pixels about the stamp centre,
 * weights = validity, derivatives from the interpolant; stop when the
 * largest offset change is below EPSF_CONVERGE_PIX; (b) residual
 * data/flux − E(shifted) resampled onto the grid nodes with the same
 * interpolant (a node counts for a star when the 2 × 2 pixels around its
 * position are valid); (c) per node the sigma-clipped (5σ, 5 passes)
 * median over stars; (d) E = smooth(E + median), recentred so the
 * centroid in a recenter_box box is at the centre (to EPSF_RECENTER_TOL
 * px, at most EPSF_RECENTER_MAX passes), renormalised; (e) stars whose
 * normalised residual RMS (noise model below, pixels within core_radius
 * of the centre) exceeds median + 3·MAD and EPSF_REJECT_FLOOR are
 * rejected for good.  The noise model is SPEC §8.2 step 8's,
 * σ² = σ_sky² + scale·max(model, 0)/egain, plus (EPSF_REJECT_MODEL_TOL·
 * model)².
 *
 * Pure computation (allocations via pp_xmalloc); thread-safe.
 */
#ifndef EPSF_BUILD_H
#define EPSF_BUILD_H

#include "pp_error.h"

#define EPSF_CONVERGE_PIX 1e-3      /* SPEC §8.2 step 5 */
#define EPSF_RECENTER_TOL 1e-4      /* px, SPEC §8.2 step 5(d) */
#define EPSF_RECENTER_MAX 30
#define EPSF_CLIP_NSIGMA 5.0        /* SPEC §8.2 step 5(c) */
#define EPSF_CLIP_ITERS 5
#define EPSF_REJECT_NMAD 3.0        /* SPEC §8.2 step 5(e) */
/* A star whose residuals are within 1.5 σ RMS of the noise is never an
 * outlier, however tight the others are (noiseless or faint fields). */
#define EPSF_REJECT_FLOOR 1.5
/* The rejection RMS tolerates a model error of this fraction of the
 * model in each pixel: otherwise the brightest stars, whose noise is
 * smallest next to the ePSF's own error (and to the PSF's change across
 * a cell), would be the "outliers". */
#define EPSF_REJECT_MODEL_TOL 0.02

/* Why a star left the stack. */
enum { EPSF_STAR_USED = 0, EPSF_STAR_FIT_FAILED, EPSF_STAR_RESID_OUTLIER };

typedef struct {
    int size;                   /* S, odd */
    int nstars;
    const double *data;         /* nstars × S × S */
    const unsigned char *valid; /* nstars × S × S, 1 = usable */
    const double *dx0, *dy0;    /* first offsets from the centre pixel */
    const double *flux0;        /* first fluxes (> 0) */
    double sky_sigma;           /* scaled units, > 0 */
    double scale, egain;        /* for the Poisson term; egain <= 0: none */
} epsf_stars;

typedef struct {
    int oversamp;               /* >= 1 */
    int maxiters;               /* >= 1 */
    int do_clip;
    int recenter_box;           /* native px, >= 1 */
    int fit_box;                /* native px, odd, >= 3 */
    int shift_kind;             /* EPSF_SHIFT_* */
    int smooth_kind;            /* EPSF_SMOOTH_* */
    double core_radius;         /* px, for the rejection RMS */
} epsf_build_params;

typedef struct {
    int size;                   /* S */
    int n;                      /* grid side */
    int oversamp;
    int shift_kind;
    double *grid;               /* n × n, native samples sum to 1 */
    double *native;             /* S × S, sum 1 */
    double *flux, *dx, *dy;     /* per star, last fit */
    double *resid_rms;          /* per star, last normalised RMS */
    int *status;                /* per star, EPSF_STAR_* */
    int nused, niters, converged;
} epsf_result;

#define EPSF_RESULT_INIT { 0 }

/* Build the ePSF.  OUTPUT *res (release with epsf_result_release).
 * PP_EDATA when no star survives (every fit failed) or the stack has no
 * positive sum; res still holds the per-star status then. */
int epsf_build(const epsf_stars *st, const epsf_build_params *p,
               epsf_result *res, pp_error *err);

/* The model flux·E(p − centre − (dx, dy)) over a whole S × S stamp from
 * res's grid. */
void epsf_build_render(const epsf_result *res, double flux, double dx,
                       double dy, double *out);

void epsf_result_release(epsf_result *res);

#endif /* EPSF_BUILD_H */
