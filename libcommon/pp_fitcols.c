/* pp_fitcols.c - the §10.5 fit columns; see pp_fitcols.h. */
#include <stdlib.h>
#include <string.h>

#include "pp_fitcols.h"
#include "pp_mem.h"

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *const audit_cols[] = {
    "x_pix_patch", "y_pix_patch", "patch_tag", "epsf_tag",
    "psf_min_epsf_nstars_for_use", "psf_used_epsf_band_count",
    "psf_fallback_band_count", "psf_low_star_band_count",
    "psf_fallback_bands", "psf_low_star_bands",
    "psf_frozen_bands_for_optimizer", "psf_fallback_reasons_json"
};

static const char *const multi_cols[] = {
    "opt_niters", "opt_converged", "opt_hit_max_iters", "opt_last_dlnp",
    "flag_bound_stalled", "flag_bound_stalled_which_parameter",
    "x_pix_patch_fit", "y_pix_patch_fit", "x_pix_white_fit",
    "y_pix_white_fit", "RA_fit", "DEC_fit", "stype_fit", "sersic_n_fit",
    "re_pix_fit", "ab_fit", "phi_deg_fit", "ELL_fit", "Re_fit", "THETA_fit"
};

static const char *const flux_cols[] = { "FLUX_%s_fit", "FLUXERR_%s_fit" };

static const char *const single_cols[] = {
    "x_pix_patch_%s_fit", "y_pix_patch_%s_fit", "x_pix_white_%s_fit",
    "y_pix_white_%s_fit", "RA_%s_fit", "DEC_%s_fit", "sersic_n_%s_fit",
    "re_pix_%s_fit", "ab_%s_fit", "phi_deg_%s_fit", "ELL_%s_fit",
    "Re_%s_fit", "THETA_%s_fit", "FLUX_%s_fit", "FLUXERR_%s_fit",
    "opt_niters_%s", "opt_converged_%s", "opt_hit_max_iters_%s",
    "opt_last_dlnp_%s", "flag_bound_stalled_%s",
    "flag_bound_stalled_which_parameter_%s"
};

/* Append names[0..n) (printf patterns of one %s when band is set). */
static void add(pp_fitcols *fc, const char *const *names, int n,
                const char *band)
{
    for (int i = 0; i < n; i++)
        fc->names[fc->n++] = band ? pp_xasprintf(names[i], band)
                                  : pp_xstrdup(names[i]);
}

void pp_fitcols_build(const char *const *bands, int nbands, int multiband,
                      pp_fitcols *fc)
{
    int nmax = N_OF(audit_cols) + N_OF(multi_cols) + 1
               + nbands * (N_OF(single_cols) + N_OF(flux_cols));

    fc->n = 0;
    fc->names = pp_xcalloc((size_t)nmax, sizeof(*fc->names));
    add(fc, audit_cols, N_OF(audit_cols), NULL);
    if (multiband) {
        add(fc, multi_cols, N_OF(multi_cols), NULL);
        for (int b = 0; b < nbands; b++)
            add(fc, flux_cols, N_OF(flux_cols), bands[b]);
        return;
    }
    static const char *const stype[] = { "stype_fit" };
    add(fc, stype, 1, NULL);
    for (int b = 0; b < nbands; b++)
        add(fc, single_cols, N_OF(single_cols), bands[b]);
}

int pp_fitcols_index(const pp_fitcols *fc, const char *name)
{
    for (int i = 0; i < fc->n; i++)
        if (strcmp(fc->names[i], name) == 0)
            return i;
    return -1;
}

void pp_fitcols_release(pp_fitcols *fc)
{
    for (int i = 0; i < fc->n; i++)
        free(fc->names[i]);
    free(fc->names);
    fc->n = 0;
    fc->names = NULL;
}
