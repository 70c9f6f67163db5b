/* run.h - fit one loaded patch (SPEC §10.3, §10.4): the PSF of every
 * source in every band, initial fluxes, the staged passes, the two-pass
 * "sky+poisson" noise model, multi-band and single-band modes, and the
 * model images; the results go into a fit_result (fitout.h).
 *
 * PSFs.  A band whose PSF is a stamp (pixelized, hybrid, the moffat
 * fallback) gets one fit_pix_ctx, or one per source when its stamp
 * varies with position (psf_interp bilinear, fit_psfsel_varies()); every
 * context shares one set of FFT work arrays.  A galaxy then renders
 * through the Fourier method; the stamp's Gaussian mixture (hybrid_psf_n
 * components) is loaded for hybrid bands, and for pixelized ones when a
 * galaxy of the patch may need an FFT above fft_max.  Mixture bands
 * (gaussian_mixture_from_stamp and the Gaussian fallbacks) get each
 * source's mixture.
 *
 * Passes.  Stages of patch_run.staged_fit_stages when enable_staged_fit
 * (flux: fluxes and sky; flux+pos: + positions; all: + shapes and n),
 * else one "all" pass, each with at most n_opt_iters iterations.  With
 * noise_model "sky+poisson" the last stage runs again with the inverse
 * variance of the first pass's model (SPEC §5.3).  opt_niters counts
 * every iteration; converged and hit_max_iters are the last run's.
 * Iterations are logged at INFO as "iter NN lnP=… dlnp=… damping=…".
 * A pass that stops on a numerical problem logs a WARNING and the patch
 * keeps its best state (not converged).
 *
 * Timing: r->t_psf, t_init, t_fit (the passes) and t_errors are set.
 */
#ifndef FIT_RUN_H
#define FIT_RUN_H

#include "pp_config.h"
#include "pp_error.h"

#include "fitout.h"
#include "payload.h"
#include "psfsel.h"

/* Fit patch p with the PSFs of ps into r (fit_result_init()ed for p and
 * the mode of cfg).  Returns PP_OK when the fit ran (converged or not);
 * PP_ECONFIG for a patch_run value this program does not know (the key
 * named); PP_EDATA when a PSF cannot be prepared (the band named);
 * PP_ENOMEM. */
int fit_patch(const pp_config *cfg, const fit_payload *p, fit_psfsel *ps,
              fit_result *r, pp_error *err);

#endif /* FIT_RUN_H */
