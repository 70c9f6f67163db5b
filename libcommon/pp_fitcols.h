/* pp_fitcols.h - the fit columns of a <tag>_cat_fit.csv (SPEC §10.5),
 * from x_pix_patch on, in their order: pp-fit writes them after the
 * base-catalogue columns and pp-merge reads and copies them, so both
 * take the list from here.
 *
 * Multi-band mode: the PSF audit block, the optimiser and shape columns,
 * then FLUX_<b>_fit, FLUXERR_<b>_fit per band.  Single-band mode: the
 * audit block, stype_fit, then per band the 21 columns of §10.5
 * (x_pix_patch_<b>_fit … flag_bound_stalled_which_parameter_<b>).
 */
#ifndef PP_FITCOLS_H
#define PP_FITCOLS_H

typedef struct {
    int    n;
    char **names;                   /* n owned strings */
} pp_fitcols;

#define PP_FITCOLS_INIT { 0, NULL }

/* Fill OUTPUT fc with the columns for bands[0..nbands) in the mode given
 * (multiband non-zero: one fit for all bands).  Aborts only on memory
 * exhaustion (pp_xmalloc). */
void pp_fitcols_build(const char *const *bands, int nbands, int multiband,
                      pp_fitcols *fc);

/* Index of name in fc, -1 when absent. */
int pp_fitcols_index(const pp_fitcols *fc, const char *name);

/* Free fc's strings; fc becomes PP_FITCOLS_INIT.  Safe twice. */
void pp_fitcols_release(pp_fitcols *fc);

#endif /* PP_FITCOLS_H */
