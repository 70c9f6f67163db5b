/* ivar.h - inverse variance of a payload band (SPEC §5.3, §10.1).
 *
 * Noise models (patch_run.noise_model), in scaled units, for band b with
 * sigma_sky = SKYSIGS (the payload's scaled sky sigma):
 *   FIT_NOISE_SKY          ivar = 1 / sigma_sky^2 (the reference's)
 *   FIT_NOISE_SKY_POISSON  ivar = 1 / (sigma_sky^2 + SCALE * max(M, 0) /
 *                          EGAIN), M the current model image (model +
 *                          sky) in scaled units - never the data, which
 *                          would bias faint fluxes low.
 * ivar is 0 on every pixel with any MASK bit set (non-finite, saturated,
 * bright-masked) and on every pixel whose data is not finite, so such a
 * pixel never contributes (SPEC §10.1).  A non-finite model value gives
 * ivar 0 too (it cannot be weighted).  Nothing here allocates or logs.
 */
#ifndef FIT_IVAR_H
#define FIT_IVAR_H

#include "pp_error.h"

#include "payload.h"

enum { FIT_NOISE_SKY = 0, FIT_NOISE_SKY_POISSON = 1 };

/* The FIT_NOISE_* of a patch_run.noise_model string; PP_ECONFIG naming
 * the key for anything else. */
int fit_ivar_noise_model(const char *name, int *model, pp_error *err);

/* Fill ivar (p->width x p->height floats, caller-owned; the engine's
 * fit_bands.ivar layout) for band b of p with noise model `model`; each
 * value is computed in double and rounded once to float.  model_img
 * (same size, model + sky, scaled) is read only for
 * FIT_NOISE_SKY_POISSON, where it must not be NULL.
 * PP_EINTERNAL for a bad band index, model or a missing model image. */
int fit_ivar_compute(const fit_payload *p, int b, int model,
                     const double *model_img, float *ivar, pp_error *err);

#endif /* FIT_IVAR_H */
