/* fitcols.c - the fit columns of a <tag>_cat_fit.csv (SPEC §10.5). */
#include <stdlib.h>
#include <string.h>

#include "pp_fitcols.h"
#include "pp_mem.h"

#include "merge.h"

void merge_fitcols_build(const char *const *bands, int nbands, int multi,
                         merge_fitcols *fc)
{
    pp_fitcols cols = PP_FITCOLS_INIT;

    memset(fc, 0, sizeof *fc);
    pp_fitcols_build(bands, nbands, multi, &cols);
    fc->names = cols.names;         /* taken over */
    fc->n = cols.n;
    fc->multi = multi ? 1 : 0;
    fc->nbands = nbands;
    fc->npos = multi ? 1 : nbands;
    fc->xw = pp_xcalloc((size_t)fc->npos + 1, 7 * sizeof(int));
    fc->yw = fc->xw + fc->npos;
    fc->ra = fc->yw + fc->npos;
    fc->dec = fc->ra + fc->npos;
    fc->conv = fc->dec + fc->npos;
    fc->hit = fc->conv + fc->npos;
    fc->stalled = fc->hit + fc->npos;
    fc->fallback_count = pp_fitcols_index(&cols, "psf_fallback_band_count");
    for (int k = 0; k < fc->npos; ++k) {
        /* Multi-band: the one position; single-band: band k's. */
        const char *b = multi ? "" : bands[k];
        const char *f = multi ? "" : "_";
        char *name[7] = {
            pp_xasprintf("x_pix_white%s%s_fit", f, b),
            pp_xasprintf("y_pix_white%s%s_fit", f, b),
            pp_xasprintf("RA%s%s_fit", f, b),
            pp_xasprintf("DEC%s%s_fit", f, b),
            pp_xasprintf("opt_converged%s%s", f, b),
            pp_xasprintf("opt_hit_max_iters%s%s", f, b),
            pp_xasprintf("flag_bound_stalled%s%s", f, b),
        };
        int *slot[7] = { fc->xw, fc->yw, fc->ra, fc->dec, fc->conv, fc->hit,
                         fc->stalled };
        for (int i = 0; i < 7; i++) {
            slot[i][k] = pp_fitcols_index(&cols, name[i]);
            free(name[i]);
        }
    }
}

void merge_fitcols_release(merge_fitcols *fc)
{
    for (int j = 0; j < fc->n; ++j)
        free(fc->names[j]);
    free(fc->names);
    free(fc->xw);
    memset(fc, 0, sizeof *fc);
}
