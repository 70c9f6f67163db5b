/* ivar.c - inverse variance per band (SPEC §5.3); see ivar.h. */
#include <math.h>
#include <string.h>

#include "ivar.h"

int fit_ivar_noise_model(const char *name, int *model, pp_error *err)
{
    if (name && strcmp(name, "sky") == 0)
        *model = FIT_NOISE_SKY;
    else if (name && strcmp(name, "sky+poisson") == 0)
        *model = FIT_NOISE_SKY_POISSON;
    else
        return pp_error_set(err, PP_ECONFIG, "patch_run.noise_model: found "
                            "'%s', expected 'sky' or 'sky+poisson'",
                            name ? name : "");
    return PP_OK;
}

int fit_ivar_compute(const fit_payload *p, int b, int model,
                     const double *model_img, float *ivar, pp_error *err)
{
    const fit_payload_band *band;
    double var_sky, gain_term;
    size_t n, i;

    if (b < 0 || b >= p->nbands ||
        (model != FIT_NOISE_SKY && model != FIT_NOISE_SKY_POISSON) ||
        (model == FIT_NOISE_SKY_POISSON && !model_img))
        return pp_error_set(err, PP_EINTERNAL, "fit_ivar_compute: band %d "
                            "of %d, noise model %d%s", b, p->nbands, model,
                            model_img ? "" : " without a model image");
    band = &p->bands[b];
    n = (size_t)p->width * (size_t)p->height;
    var_sky = band->skysigs * band->skysigs;
    /* SPEC §5.3: Poisson variance of the model in scaled units is
     * scale * M / EGAIN (M scaled, so M / scale ADU, x scale^2). */
    gain_term = band->scale / band->egain;
    for (i = 0; i < n; i++) {
        double var = var_sky;

        if (band->mask[i] || !isfinite(band->sci[i])) {
            ivar[i] = 0.0f;
            continue;
        }
        if (model == FIT_NOISE_SKY_POISSON) {
            double m = model_img[i];

            if (!isfinite(m)) {
                ivar[i] = 0.0f;
                continue;
            }
            var += gain_term * (m > 0 ? m : 0.0);
        }
        ivar[i] = (float)(1.0 / var);
    }
    return PP_OK;
}
