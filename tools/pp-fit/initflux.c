/* initflux.c - initial fluxes (SPEC §10.4); see initflux.h. */
#include <math.h>
#include <stdlib.h>

#include <sep.h>

#include "pp_mem.h"

#include "initflux.h"

/* SEP masks a pixel when mask > maskthresh: 1 = bad, 0 = good. */
static unsigned char *bad_pixels(const fit_payload_band *b, size_t n,
                                 pp_error *err)
{
    unsigned char *bad = pp_malloc_checked(n, 1, "an aperture mask", err);
    size_t i;

    for (i = 0; bad && i < n; i++)
        bad[i] = b->mask[i] != 0 || !isfinite(b->sci[i]);
    return bad;
}

static int sum_circle(const fit_payload *p, const fit_payload_band *band,
                      const unsigned char *bad, double x, double y,
                      double r_ap, double *sum, pp_error *err)
{
    sep_image im = { 0 };
    double sumerr = 0, area = 0;
    short flag = 0;
    int status;
    char msg[80];

    im.data = band->sci;
    im.mask = bad;
    im.dtype = SEP_TFLOAT;
    im.mdtype = SEP_TBYTE;
    im.w = (int)p->width;
    im.h = (int)p->height;
    im.noiseval = 0.0;
    im.noise_type = SEP_NOISE_NONE;
    im.maskthresh = 0.0;
    status = sep_sum_circle(&im, x, y, r_ap, 0, FIT_INITFLUX_SUBPIX, 0, sum,
                            &sumerr, &area, &flag);
    if (status != 0) {
        sep_get_errmsg(status, msg);
        *sum = NAN;
        return pp_error_set(err, PP_EINTERNAL, "'%s': band %s: aperture sum "
                            "at (%g, %g): SEP: %s", p->path, band->name, x,
                            y, msg);
    }
    if ((flag & SEP_APER_ALLMASKED) || !(area > 0) || !isfinite(*sum))
        *sum = NAN;
    return PP_OK;
}

int fit_initflux_aperture(const fit_payload *p, int b, double x, double y,
                          double r_ap, double *sum, pp_error *err)
{
    unsigned char *bad;
    int status;

    *sum = NAN;
    if (b < 0 || b >= p->nbands || !(r_ap > 0))
        return pp_error_set(err, PP_EINTERNAL, "fit_initflux_aperture: band "
                            "%d of %d, radius %g", b, p->nbands, r_ap);
    bad = bad_pixels(&p->bands[b], (size_t)p->width * (size_t)p->height,
                     err);
    if (!bad)
        return err->code;
    status = sum_circle(p, &p->bands[b], bad, x, y, r_ap, sum, err);
    free(bad);
    return status;
}

int fit_initflux_all(const fit_payload *p, double r_ap, double eps_flux,
                     double *flux, pp_error *err)
{
    int b, status = PP_OK;
    long s;

    if (!(r_ap > 0))
        return pp_error_set(err, PP_EINTERNAL, "fit_initflux_all: radius %g",
                            r_ap);
    for (b = 0; b < p->nbands && status == PP_OK; b++) {
        const fit_payload_band *band = &p->bands[b];
        unsigned char *bad = NULL;

        for (s = 0; s < p->nsrc && status == PP_OK; s++) {
            double f = p->flux_cat[s * p->nbands + b];

            /* SPEC §10.4: catalogue flux first, else the aperture. */
            if (!isfinite(f)) {
                if (!bad)
                    bad = bad_pixels(band, (size_t)p->width *
                                     (size_t)p->height, err);
                if (!bad) {
                    status = err->code;
                    break;
                }
                status = sum_circle(p, band, bad, p->src[s].x_patch,
                                    p->src[s].y_patch, r_ap, &f, err);
            }
            flux[s * p->nbands + b] = isfinite(f) && f >= eps_flux ? f
                                                                   : eps_flux;
        }
        free(bad);
    }
    return status;
}
