/* sim.c - pp-sim, in order (SPEC §15; see sim.h). */
#include <stdlib.h>
#include <string.h>

#include "pp_io.h"
#include "pp_log.h"
#include "pp_progress.h"

#include "sim.h"

static void log_design(const sim_field *f)
{
    const sim_settings *s = &f->set;
    long nstar = 0, ngal = 0, nsat = 0, ncat = 0, ngaia_only = 0;

    for (long i = 0; i < f->nsrc; ++i) {
        const sim_source *src = &f->src[i];
        if (src->no_coords)
            continue;
        nstar += src->kind == SIM_STAR;
        ngal += src->kind != SIM_STAR;
        nsat += src->saturated;
        ncat += src->in_catalog;
        ngaia_only += src->in_gaia && !src->in_catalog;
    }
    pp_log(PP_LOG_INFO, "field: %d bands, %ldx%ld px at %g\"/px, %s PSF "
           "FWHM %g-%g px, regime %s, seed %lu", s->nbands, s->width,
           s->height, s->pixscale, s->psf_kind == SIM_PSF_MOFFAT ? "Moffat"
           : "double-Gaussian", s->fwhm_lo, s->fwhm_hi,
           s->regime == SIM_REGIME_SKY ? "sky" : "realistic", s->seed);
    pp_log(PP_LOG_INFO, "sources: %ld stars (%ld saturated, %ld in Gaia "
           "only), %ld galaxies; %ld catalogue rows with coordinates",
           nstar, nsat, ngaia_only, ngal, ncat);
}

int sim_run(const sim_settings *s, pp_error *err)
{
    sim_field f;
    double t0 = pp_progress_now();
    int rc;

    memset(&f, 0, sizeof f);
    f.set = *s;
    /* An output directory that cannot be made is a bad option. */
    if (pp_io_mkdir_p(s->out, err) != PP_OK) {
        err->code = PP_EUSAGE;
        return pp_error_prefix(err, "option '--out': ");
    }
    if ((rc = sim_field_design(&f, err)) != PP_OK)
        goto out;
    log_design(&f);
    if ((rc = sim_images_write(&f, err)) != PP_OK ||
        (rc = sim_tables_write(&f, err)) != PP_OK ||
        (s->true_psf && (rc = sim_truepsf_write(&f, err)) != PP_OK))
        goto out;
    pp_log(PP_LOG_INFO, "wrote the field to '%s' in %.1f s", s->out,
           pp_progress_now() - t0);
out:
    sim_field_release(&f);
    return rc;
}
