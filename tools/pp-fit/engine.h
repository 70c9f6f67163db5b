/* engine.h - the multi-band optimiser of one patch (SPEC §10.1, §10.4).
 *
 * Model of band b: M_b = sky_b + Σ_s F_{s,b} · U_{s,b}, U rendered by
 * srcrender.h through the source's PSF of that band.  Parameters: per
 * source the shared (x, y) and, for galaxies, (logre, ee1, ee2) and the
 * Sérsic n; per source and band the flux; per band the sky.  lnP = lnL +
 * the POS_ERR position priors of §10.1.
 *
 * Optimiser (§10.4): damped Gauss–Newton with analytic derivatives.  The
 * normal equations come from source–source box overlaps, band by band;
 * each band's (fluxes, sky) block is eliminated by Schur complement, so
 * a step costs O(bands) and the dense solve is only over the shared
 * parameters.  Columns are scaled to a unit diagonal; the damping λ adds
 * λ to that diagonal (Marquardt).  The first try of every iteration uses
 * the current λ, which starts at 0 (a full Gauss–Newton step) and is
 * divided by 10 after each accepted step (reset to 0 below 1e-6);
 * a rejected step multiplies it by 10 (from 1e-3), up to 1e10.  Solves
 * use GSL Cholesky, falling back to an SVD pseudo-inverse.
 * Each step δ is scaled as a whole by α = min(1, min_p maxstep_p/|δ_p|)
 * (position 1 px, logre 1, ee 0.1, n 0.1) and projected onto the bounds:
 * |x − x0|, |y − y0| <= max_pos_shift and inside [−0.5, w − 0.5]
 * (likewise y); logre ∈ [ln 0.1, ln 1000]; ee1, ee2 ∈ [−5, 5];
 * n ∈ [0.29, 6.3].  A parameter at a bound whose gradient points outward
 * is held for that solve.  The fit stops converged when an accepted step
 * gains less than dlnp_stop; when no damping gives a gain it stops
 * converged only if the Gauss–Newton step predicts a gain below
 * dlnp_stop, else not converged.
 *
 * Errors at the final parameters (§10.4 flux_error): marginal = sqrt of
 * the diagonal of the inverse Fisher matrix over every free parameter
 * (fluxes, sky, and the free shared parameters), computed through the
 * same Schur complement; conditional = 1/sqrt(Σ U²·ivar).  NaN when
 * undefined (a source with no valid pixel in a band).
 *
 * Numerical failures (a non-finite lnP at the start, a renderer refusing
 * a state) never abort: fit_run() returns PP_OK with the best state so
 * far, report->converged 0 and report->warning set.  Pixels with ivar 0
 * never contribute and their data may be NaN.
 *
 * Memory: per-source buffers for one band at a time (columns of the
 * source's box) and the per-band Schur blocks; nothing scales with
 * bands × pixels but the caller's images.  fit_run() allocates its
 * workspace once; the pixel loops do not allocate.  GSL's error handler
 * must be off (gsl_set_error_handler_off()) in the calling program.
 */
#ifndef FIT_ENGINE_H
#define FIT_ENGINE_H

#include "pp_error.h"

#include "srcrender.h"

/* Shared parameter slots of a source (p[] of fit_source).  p + 1 is the
 * matching FIT_DERIV_* index. */
enum { FIT_P_X = 0, FIT_P_Y, FIT_P_LOGRE, FIT_P_EE1, FIT_P_EE2, FIT_P_N,
       FIT_NPAR };

/* Parameter groups freed on top of fluxes and sky (§10.4 stages:
 * flux = 0, flux+pos = FIT_FREE_POS, all = both). */
enum { FIT_FREE_POS = 1, FIT_FREE_SHAPE = 2 };

enum { FIT_FLUXERR_MARGINAL = 0, FIT_FLUXERR_CONDITIONAL };

/* Per-iteration step caps (§10.4, as the Tractor). */
#define FIT_MAXSTEP_POS 1.0
#define FIT_MAXSTEP_LOGRE 1.0
#define FIT_MAXSTEP_EE 0.1
#define FIT_MAXSTEP_N 0.1

/* Hard bounds (§10.4). */
#define FIT_LOGRE_MIN (-2.302585092994046)      /* ln 0.1 */
#define FIT_LOGRE_MAX 6.907755278982137         /* ln 1000 */
#define FIT_EE_MAX 5.0

typedef struct {
    int             kind;           /* FIT_PROFILE_* */
    double          p[FIT_NPAR];    /* x, y (patch px), logre, ee1, ee2,
                                       n; in: start, out: fit */
    double          x0, y0;         /* catalogue position (prior centre,
                                       bound origin) */
    double          pos_err;        /* prior σ (px); NaN or <= 0: none */
    int             frozen;         /* edge source: only fluxes free */
    double         *flux;           /* [nband] in: start, out: fit */
    double         *fluxerr;        /* [nband] out (NaN: undefined) */
    fit_psf *const *psf;            /* [nband] */
    unsigned        stall_lo;       /* out: bit p: p within the stall
                                       tolerance of its lower bound */
    unsigned        stall_hi;       /* out: ... of its upper bound */
} fit_source;

typedef struct {
    int                 nband;
    long                w, h;       /* ROI size */
    const float *const *data;       /* [nband] w·h, row-major */
    const float *const *ivar;       /* [nband] w·h, 0 = bad */
    double             *sky;        /* [nband] in: start, out: fit */
} fit_bands;

typedef struct {
    unsigned free;                  /* FIT_FREE_* */
    int      fit_sky;               /* sky_b free */
    int      max_iters;             /* >= 1 */
    double   dlnp_stop;             /* >= 0 */
    double   max_pos_shift;         /* px, > 0 */
    int      flux_error;            /* FIT_FLUXERR_* */
    double   bound_stall_tol;       /* fraction of the bound range */
    /* Called after every accepted step (may be NULL). */
    void   (*on_iter)(void *arg, int iter, double lnp, double dlnp,
                      double lambda);
    void    *arg;
} fit_opts;

typedef struct {
    int    niters;                  /* accepted steps */
    int    converged;
    double last_dlnp;               /* gain of the last accepted step
                                       (NaN if none) */
    double lnp;                     /* at the returned state */
    double t_errors;                /* seconds spent on the errors */
    char   warning[512];            /* empty, or why the fit stopped early */
} fit_report;

/* Fit src[0..nsrc) to the bands as above.  OUTPUT every source's p[],
 * flux[], fluxerr[], stall bits, im->sky and *rep.  Returns PP_OK (also
 * for numerical failures, see above); PP_EUSAGE for bad arguments (nsrc
 * or nband < 1, NULL arrays, bad options); PP_ENOMEM. */
int fit_run(const fit_bands *im, fit_source *src, int nsrc,
            const fit_opts *opt, fit_report *rep, pp_error *err);

/* Render band b's model (sky + every source at its current parameters)
 * into out (w·h doubles, overwritten).  PP_OK or a renderer's error. */
int fit_model_band(const fit_bands *im, const fit_source *src, int nsrc,
                   int b, double *out, pp_error *err);

#endif /* FIT_ENGINE_H */
