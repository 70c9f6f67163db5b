/* merge.h - pp-merge: the final catalogue (SPEC §11).
 *
 * The base catalogue (SPEC §1: ZP/<stem>_with_Gaia.csv or catalog.csv)
 * is left-joined with the <tag>_cat_fit.csv of every patch that
 * patches/patches.json lists with a payload; every base row appears once,
 * in base order, and every cell read keeps its exact text (SPEC §3.3).
 * The join key is the ID text, or the exact (RA, DEC) text pair when the
 * base catalogue has no ID column; rows without finite RA/DEC take no fit
 * row.  merge_run() checks every input before writing anything and writes
 * outputs.final_catalog atomically, or nothing at all.
 *
 * The fit columns are those SPEC §10.5 gives for the bands of frames.json
 * and patch_run.enable_multi_band_simultaneous_fitting; every fit CSV must
 * hold exactly them, in order, from 'x_pix_patch' on (a fit of another
 * run or mode is an error, never a silent mix).
 *
 * Reliability (SPEC §11 step 7, the seed's rules) is computed from a
 * merge_state per row: hard tags (fit_is_reliable False) excluded,
 * no_fit_result, hit_max_iters, bound_stalled, bright_mask; soft tags
 * not_converged, all_psf_fallback; in that order.
 */
#ifndef MERGE_H
#define MERGE_H

#include <stddef.h>

#include "pp_config.h"
#include "pp_error.h"
#include "pp_table.h"

#include "cli.h"

/* ---- fitcols.c: the fit columns of SPEC §10.5 ---- */

typedef struct {
    int multi;              /* 1: multi-band simultaneous fitting */
    int nbands;
    int n;                  /* fit columns, x_pix_patch first */
    char **names;           /* n names, owned */
    int npos;               /* position groups: 1 (multi) or nbands */
    /* Per position group g (band g in single-band mode), the index in
     * names[] of x/y_pix_white_fit, RA/DEC_fit, opt_converged,
     * opt_hit_max_iters, flag_bound_stalled (with _<b> when single). */
    int *xw, *yw, *ra, *dec, *conv, *hit, *stalled;
    int fallback_count;     /* index of psf_fallback_band_count */
} merge_fitcols;

#define MERGE_FITCOLS_INIT { 0 }

/* The fit columns for bands[0..nbands-1] (band order) in multi-band
 * (multi = 1) or single-band mode.  The caller releases fc. */
void merge_fitcols_build(const char *const *bands, int nbands, int multi,
                         merge_fitcols *fc);

void merge_fitcols_release(merge_fitcols *fc);

/* ---- reliability.c: flags of a row and the tags of SPEC §11 step 7 ---- */

typedef struct {
    unsigned char excluded;         /* excluded_any True */
    unsigned char bright_mask;      /* affected_by_bright_mask True */
    unsigned char has_fit;          /* a fit row was joined */
    unsigned char has_position;     /* finite x/y_pix_white_fit (any band
                                       in single-band mode) */
    unsigned char hit_max;          /* opt_hit_max_iters True (any band) */
    unsigned char bound_stalled;    /* flag_bound_stalled True (any band) */
    unsigned char not_converged;    /* opt_converged False and
                                       opt_hit_max_iters not True (any
                                       band) */
    unsigned char converged;        /* opt_converged True (every band) */
    unsigned char all_psf_fallback; /* psf_fallback_band_count = nbands */
} merge_state;

/* A SPEC §3.4 boolean cell: 1 for "True", 0 for "False" (any case),
 * -1 for the empty (missing) cell, -2 for anything else. */
int merge_parse_bool(const char *text);

/* The fit flags of row of a fit CSV (fit columns from column xp on, laid
 * out as fc) into s (has_fit set, base flags untouched).  PP_EDATA
 * "<path>: row <n> (line <L>): column '<name>': found '<text>',
 * expected True or False" for a bad boolean. */
int merge_state_from_fit(const pp_table *fit, long row, int xp,
                         const merge_fitcols *fc, const char *path,
                         merge_state *s, pp_error *err);

/* Tags of s in SPEC §11 step 7 order, comma-separated (no spaces), into
 * issues (n bytes; 128 always suffice); "" when none.  Returns 1 when the
 * fit is reliable (no hard tag), else 0. */
int merge_reliability(const merge_state *s, char *issues, size_t n);

/* ---- inputs.c: base catalogue, patch list, stale files ---- */

typedef struct {
    char *path;                     /* owned */
    pp_table t;
    long n;
    int col_id;                     /* -1: key is (RA, DEC) text */
    int col_ra, col_dec, col_x, col_y;
    int col_crop, col_sat, col_any;
    int col_bright;                 /* -1 when absent */
    unsigned char *finite;          /* finite RA and DEC */
    unsigned char *crop, *sat, *any, *bright;
    double *x, *y;                  /* x/y_pix_white, NAN if empty */
} merge_base;

#define MERGE_BASE_INIT { 0 }

/* Read the base catalogue at path: columns RA, DEC, x_pix_white,
 * y_pix_white, excluded_crop, excluded_saturation, excluded_any required
 * (PP_EDATA "... (run pp-crop first)" otherwise), ID and
 * affected_by_bright_mask optional, flags True/False.  PP_EIO when the
 * file does not exist. */
int merge_base_read(const char *path, merge_base *b, pp_error *err);

void merge_base_release(merge_base *b);

typedef struct {
    char tag[64];                   /* patch_tag */
    int has_payload;                /* payload non-empty */
    long x0, x1, y0, y1;            /* base box, working frame */
} merge_patch;

/* Read patches.json (SPEC §9.1): *out gets *n patches in file order (the
 * caller frees *out).  A tag that is empty, too long or holds '/' is
 * PP_EDATA; a missing file PP_EIO "... (run pp-patchify first)". */
int merge_patches_read(const char *path, merge_patch **out, int *n,
                       pp_error *err);

/* Files below dir (recursively) whose name matches the fnmatch pattern
 * and whose path is not one of expected[0..nexp-1] (paths built with
 * pp_io_path_join from dir; NULL entries are skipped).  Returns their
 * number; the first one (in directory order) is copied into first
 * (nfirst bytes; "" when none).  Unreadable directories are skipped;
 * symbolic links are not followed. */
long merge_count_stale(const char *dir, const char *pattern,
                       char *const *expected, int nexp, char *first,
                       size_t nfirst);

/* ---- reader.c: fit catalogues read by worker threads ---- */

/* Called in patch order for each file read: p its index, t its table
 * (borrowed until the call returns).  PP_OK to go on. */
typedef int (*merge_consume_fn)(void *ctx, int p, const pp_table *t,
                                const char *path, pp_error *err);

/* Read path[p] for every p in 0..n-1 with a non-NULL path (pp_csv_read)
 * with nthreads worker threads (<= 1: in this thread), at most 2 nthreads
 * files ahead of the one handed over, and call consume() for each in
 * index order, in the calling thread.  Stops at the first read or consume
 * error and returns it; files read ahead are then released unused. */
int merge_read_ordered(char *const *path, int n, int nthreads,
                       merge_consume_fn consume, void *ctx, pp_error *err);

/* ---- merge.c ---- */

/* Run pp-merge with cfg (SPEC §11).  PP_OK or the first error. */
int merge_run(const pp_config *cfg, const merge_opts *opts, pp_error *err);

#endif /* MERGE_H */
