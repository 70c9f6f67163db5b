/* merge.c - pp-merge: the left join and the final catalogue (SPEC §11). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fitsio.h>

#include "pp_catalog.h"
#include "pp_csv.h"
#include "pp_frames.h"
#include "pp_io.h"
#include "pp_log.h"
#include "pp_mem.h"
#include "pp_wcs.h"

#include "keys.h"
#include "merge.h"

/* Tags listed in the failed-patch line (SPEC §11 step 2) and duplicate
 * keys named in the step 3 error. */
enum { MAX_LISTED_TAGS = 20, MAX_LISTED_DUPS = 10 };

typedef struct {
    const pp_config *cfg;
    int nthreads;                   /* fit catalogues parsed at once */
    char *fits_dir;                 /* outputs.tractor_out_dir */
    merge_base base;
    pp_frames frames;
    merge_patch *patch;
    int npatch;
    char **fit_path;                /* per patch: expected fit CSV or NULL */
    unsigned char *failed;          /* per patch */
    merge_fitcols fc;
    merge_keys index;               /* base key -> row (finite RA/DEC) */
    merge_keys stray;               /* fit keys matching no base row */
    pp_table out;
    int *src;                       /* per out column: base column or -1 */
    int col_reason, fit_off, col_rel, col_iss;
    int *fit_patch;                 /* per base row: patch joined or -1 */
    merge_state *state;             /* per base row */
    long nstray, ndup, nfilled;
    char dups[2048];                /* the first duplicate keys */
    char *wcs_path;
    pp_wcs wcs;
    int wcs_loaded;
} merge_ctx;

/* ---- Output layout (SPEC §11 step 8) --------------------------------- */

/* A base column that merge writes itself: warn, and leave it out. */
static int is_replaced(const merge_ctx *c, int col)
{
    static const char *const own[] = { "excluded_reason", "fit_is_reliable",
                                       "fit_quality_issues" };
    const char *name = pp_table_colname(&c->base.t, col);

    for (int k = 0; k < 3; ++k)
        if (pp_table_find_column(&c->base.t, own[k], NULL) == col) {
            pp_log(PP_LOG_WARNING, "'%s': column '%s' is replaced by "
                   "pp-merge's own", c->base.path, name);
            return 1;
        }
    return 0;
}

static int plan_columns(merge_ctx *c, pp_error *err)
{
    int nb = pp_table_ncols(&c->base.t), n = 0;

    for (int j = 0; j < c->fc.n; ++j) {
        int col = pp_table_find_column(&c->base.t, c->fc.names[j], NULL);
        if (col >= 0)
            return pp_error_set(err, PP_EDATA, "'%s': column '%s' has the "
                                "name of a fit column (SPEC 10.5); rename "
                                "it in the input catalogue", c->base.path,
                                pp_table_colname(&c->base.t, col));
    }
    c->src = pp_xmalloc(sizeof *c->src * (size_t)(nb + c->fc.n + 3));
    for (int col = 0; col < nb; ++col) {
        if (is_replaced(c, col))
            continue;
        c->src[n++] = col;
        pp_table_add_column(&c->out, pp_table_colname(&c->base.t, col), -1);
        if (col == c->base.col_any) {
            c->col_reason = n;
            c->src[n++] = -1;
            pp_table_add_column(&c->out, "excluded_reason", -1);
        }
    }
    c->fit_off = n;
    for (int j = 0; j < c->fc.n; ++j) {
        c->src[n++] = -1;
        pp_table_add_column(&c->out, c->fc.names[j], -1);
    }
    c->col_rel = n;
    c->src[n++] = -1;
    pp_table_add_column(&c->out, "fit_is_reliable", -1);
    c->col_iss = n;
    c->src[n++] = -1;
    pp_table_add_column(&c->out, "fit_quality_issues", -1);
    return PP_OK;
}

/* SPEC §11 step 5. */
static const char *excluded_reason(const merge_base *b, long r)
{
    if (!b->finite[r])
        return "no_coords";
    if (b->crop[r] && b->sat[r])
        return "crop+saturation";
    return b->crop[r] ? "crop" : b->sat[r] ? "saturation" : "";
}

/* Every base row once, in base order, with its exact text. */
static int fill_base(merge_ctx *c, size_t fit_bytes, pp_error *err)
{
    const merge_base *b = &c->base;
    int nout = pp_table_ncols(&c->out);

    if (pp_table_reserve(&c->out, b->n, b->t.arena_len + fit_bytes +
                         (size_t)b->n * 48, err) != PP_OK)
        return err->code;
    for (long r = 0; r < b->n; ++r) {
        pp_table_add_row(&c->out);
        for (int j = 0; j < nout; ++j)
            if (c->src[j] >= 0)
                pp_table_set(&c->out, r, j, pp_table_get(&b->t, r,
                                                         c->src[j]));
        pp_table_set(&c->out, r, c->col_reason, excluded_reason(b, r));
    }
    return PP_OK;
}

/* ---- Inputs ---------------------------------------------------------- */

static int read_inputs(merge_ctx *c, pp_error *err)
{
    const pp_config *cfg = c->cfg;
    char *frames = pp_io_path_join(cfg->outputs.work_dir, "frames.json");
    char *patches = pp_io_path_join(cfg->outputs.patches_dir,
                                    "patches.json");
    char *base = pp_catalog_base_path(cfg);
    const char **bands = NULL;
    int rc;

    rc = pp_io_exists(frames) ? PP_OK
       : pp_error_set(err, PP_EIO, "'%s' does not exist (run pp-crop "
                      "first)", frames);
    if (rc == PP_OK && (rc = pp_frames_read(frames, &c->frames, err)) ==
        PP_OK && (rc = merge_patches_read(patches, &c->patch, &c->npatch,
                                          err)) == PP_OK)
        rc = merge_base_read(base, &c->base, err);
    if (rc == PP_OK) {
        bands = pp_xcalloc((size_t)c->frames.nbands + 1, sizeof *bands);
        for (int b = 0; b < c->frames.nbands; ++b)
            bands[b] = c->frames.bands[b].band;
        merge_fitcols_build(bands, c->frames.nbands,
            cfg->patch_run.enable_multi_band_simultaneous_fitting, &c->fc);
        pp_log(PP_LOG_INFO, "base catalogue '%s': %ld rows, key %s; %d "
               "patches in '%s'; %s mode, %d bands", base, c->base.n,
               c->base.col_id >= 0 ? "ID" : "(RA, DEC) text", c->npatch,
               patches, c->fc.multi ? "multi-band" : "single-band",
               c->fc.nbands);
    }
    free(bands);
    free(frames);
    free(patches);
    free(base);
    return rc;
}

/* The base index (SPEC §11 step 4: rows without finite RA/DEC take no fit
 * row, so they are not in it). */
static void build_index(merge_ctx *c)
{
    const merge_base *b = &c->base;

    merge_keys_init(&c->index, b->col_id < 0);
    merge_keys_init(&c->stray, b->col_id < 0);
    for (long r = 0; r < b->n; ++r)
        if (b->finite[r])
            merge_keys_put(&c->index, pp_table_get(&b->t, r, b->col_id >= 0
                                                   ? b->col_id : b->col_ra),
                           pp_table_get(&b->t, r, b->col_dec), r, NULL);
}

/* Expected fit CSV of each patch with a payload: <out>/<tag>/<tag>_cat_fit
 * .csv (SPEC §10.5); total size of those present, for the reservation. */
static size_t plan_fit_files(merge_ctx *c)
{
    size_t bytes = 0;

    c->fit_path = pp_xcalloc((size_t)c->npatch + 1, sizeof *c->fit_path);
    c->failed = pp_xcalloc((size_t)c->npatch + 1, 1);
    for (int p = 0; p < c->npatch; ++p) {
        char *dir, *name;
        struct stat st;

        if (!c->patch[p].has_payload)
            continue;
        dir = pp_io_path_join(c->fits_dir, c->patch[p].tag);
        name = pp_xasprintf("%s_cat_fit.csv", c->patch[p].tag);
        c->fit_path[p] = pp_io_path_join(dir, name);
        free(dir);
        free(name);
        if (stat(c->fit_path[p], &st) == 0 && S_ISREG(st.st_mode))
            bytes += (size_t)st.st_size;
        else
            c->failed[p] = 1;
    }
    return bytes;
}

/* ---- The join (SPEC §11 steps 2-4, 6) -------------------------------- */

/* The fit CSV's columns from x_pix_patch on must be fc's, in order. */
static int check_fit_header(const merge_ctx *c, const pp_table *fit,
                            const char *path, int *xp, pp_error *err)
{
    const char *mode = c->fc.multi ? "multi-band" : "single-band";
    int nc = pp_table_ncols(fit);

    *xp = pp_table_find_column(fit, "x_pix_patch", NULL);
    if (*xp < 0)
        return pp_error_set(err, PP_EDATA, "'%s': no column 'x_pix_patch', "
                            "expected a pp-fit catalogue (SPEC 10.5)", path);
    if (nc - *xp != c->fc.n)
        return pp_error_set(err, PP_EDATA, "'%s': %d columns from "
                            "'x_pix_patch' on, expected %d (%s mode, %d "
                            "bands of frames.json; see patch_run.enable_"
                            "multi_band_simultaneous_fitting)", path,
                            nc - *xp, c->fc.n, mode, c->fc.nbands);
    for (int j = 0; j < c->fc.n; ++j)
        if (strcmp(pp_table_colname(fit, *xp + j), c->fc.names[j]) != 0)
            return pp_error_set(err, PP_EDATA, "'%s': column %d is '%s', "
                                "expected '%s' (%s mode, bands of "
                                "frames.json)", path, *xp + j + 1,
                                pp_table_colname(fit, *xp + j),
                                c->fc.names[j], mode);
    return PP_OK;
}

/* The key columns of a fit CSV, among the base columns before xp. */
static int fit_key_columns(const merge_ctx *c, const pp_table *fit, int xp,
                           const char *path, int *k1, int *k2, pp_error *err)
{
    const char *n1 = c->base.col_id >= 0 ? "ID" : "RA";

    *k1 = pp_table_find_column(fit, n1, NULL);
    *k2 = c->base.col_id >= 0 ? -1 : pp_table_find_column(fit, "DEC", NULL);
    if (*k1 < 0 || *k1 >= xp)
        return pp_error_set(err, PP_EDATA, "'%s': no column '%s' before "
                            "'x_pix_patch', expected the base catalogue's "
                            "columns (merge key, SPEC 3.3)", path, n1);
    if (c->base.col_id < 0 && (*k2 < 0 || *k2 >= xp))
        return pp_error_set(err, PP_EDATA, "'%s': no column 'DEC' before "
                            "'x_pix_patch', expected the base catalogue's "
                            "columns (merge key, SPEC 3.3)", path);
    return PP_OK;
}

static void note_duplicate(merge_ctx *c, const char *k1, const char *k2,
                           int p_old, int p_new)
{
    size_t len = strlen(c->dups);

    if (++c->ndup > MAX_LISTED_DUPS)
        return;
    if (c->base.col_id >= 0)
        snprintf(c->dups + len, sizeof c->dups - len, "%s'%s' (%s, %s)",
                 len ? "; " : "", k1, c->patch[p_old].tag,
                 c->patch[p_new].tag);
    else
        snprintf(c->dups + len, sizeof c->dups - len, "%s('%s', '%s') "
                 "(%s, %s)", len ? "; " : "", k1, k2, c->patch[p_old].tag,
                 c->patch[p_new].tag);
}

static int load_wcs(merge_ctx *c, pp_error *err)
{
    fitsfile *fp = NULL;
    int status = 0;
    char msg[FLEN_STATUS];

    if (fits_open_diskfile(&fp, c->wcs_path, READONLY, &status) != 0) {
        fits_get_errstatus(status, msg);
        return pp_error_set(err, PP_EIO, "cannot open '%s': %s (run pp-crop "
                            "first)", c->wcs_path, msg);
    }
    pp_wcs_from_fits(fp, c->wcs_path, &c->wcs, err);
    status = 0;
    fits_close_file(fp, &status);
    c->wcs_loaded = err->code == PP_OK;
    return err->code;
}

/* SPEC §11 step 6: RA/DEC of a fitted position through wcs.fits where the
 * fit CSV left them empty. */
static int fill_sky(merge_ctx *c, long r, pp_error *err)
{
    for (int g = 0; g < c->fc.npos; ++g) {
        int cra = c->fit_off + c->fc.ra[g], cdec = c->fit_off + c->fc.dec[g];
        int ra_empty = !pp_table_get(&c->out, r, cra)[0];
        int dec_empty = !pp_table_get(&c->out, r, cdec)[0];
        double x, y, ra, dec;
        char buf[32];

        if (!ra_empty && !dec_empty)
            continue;
        if (pp_parse_double(pp_table_get(&c->out, r, c->fit_off +
                                         c->fc.xw[g]), &x) != 0 ||
            pp_parse_double(pp_table_get(&c->out, r, c->fit_off +
                                         c->fc.yw[g]), &y) != 0 ||
            !isfinite(x) || !isfinite(y))
            continue;
        if (!c->wcs_loaded && load_wcs(c, err) != PP_OK)
            return err->code;
        if (pp_wcs_pix_to_sky(&c->wcs, x, y, &ra, &dec) != 0)
            continue;
        if (ra_empty)
            pp_table_set(&c->out, r, cra, pp_csv_format_double(ra, buf));
        if (dec_empty)
            pp_table_set(&c->out, r, cdec, pp_csv_format_double(dec, buf));
        ++c->nfilled;
    }
    return PP_OK;
}

/* One fit row joined to base row r. */
static int join_row(merge_ctx *c, const pp_table *fit, long fr, int xp,
                    long r, const char *path, pp_error *err)
{
    for (int j = 0; j < c->fc.n; ++j)
        pp_table_set(&c->out, r, c->fit_off + j, pp_table_get(fit, fr,
                                                              xp + j));
    if (merge_state_from_fit(fit, fr, xp, &c->fc, path, &c->state[r],
                             err) != PP_OK)
        return err->code;
    return fill_sky(c, r, err);
}

/* Every row of fit catalogue p (consume function of merge_read_ordered). */
static int join_table(void *ctx, int p, const pp_table *fit,
                      const char *path, pp_error *err)
{
    merge_ctx *c = ctx;
    int xp, k1, k2, rc;

    if ((rc = check_fit_header(c, fit, path, &xp, err)) != PP_OK ||
        (rc = fit_key_columns(c, fit, xp, path, &k1, &k2, err)) != PP_OK)
        return rc;
    for (long fr = 0; fr < pp_table_nrows(fit) && rc == PP_OK; ++fr) {
        const char *s1 = pp_table_get(fit, fr, k1);
        const char *s2 = k2 >= 0 ? pp_table_get(fit, fr, k2) : "";
        long r = merge_keys_get(&c->index, s1, s2), old;

        if (r < 0) {
            if (merge_keys_put(&c->stray, s1, s2, p, &old))
                ++c->nstray;
            else
                note_duplicate(c, s1, s2, (int)old, p);
        } else if (c->fit_patch[r] >= 0) {
            note_duplicate(c, s1, s2, c->fit_patch[r], p);
        } else {
            c->fit_patch[r] = p;
            rc = join_row(c, fit, fr, xp, r, path, err);
        }
    }
    return rc;
}

/* The fit catalogues present, joined in patch order. */
static int join_all(merge_ctx *c, pp_error *err)
{
    char **todo = pp_xcalloc((size_t)c->npatch + 1, sizeof *todo);
    int rc;

    for (int p = 0; p < c->npatch; ++p)
        todo[p] = c->failed[p] ? NULL : c->fit_path[p];
    rc = merge_read_ordered(todo, c->npatch, c->nthreads, join_table, c,
                            err);
    free(todo);
    if (rc != PP_OK)
        return rc;
    /* SPEC §11 step 3 (and §1.1: an error, not a drop). */
    if (c->ndup > 0)
        return pp_error_set(err, PP_EDATA, "%ld duplicate merge key%s among "
                            "the fit rows: %s%s; stale outputs? re-run "
                            "pp-fit on these patches", c->ndup,
                            c->ndup == 1 ? "" : "s", c->dups,
                            c->ndup > MAX_LISTED_DUPS ? "; ..." : "");
    return PP_OK;
}

/* ---- Reliability, report, output ------------------------------------- */

typedef struct {
    long crop, sat, any, no_coords, with_fit;
    long miss_excluded, miss_failed, miss_unassigned;
    long converged, hit_max, stalled, reliable;
} merge_counts;

static int in_failed_patch(const merge_ctx *c, long r)
{
    double x = c->base.x[r], y = c->base.y[r];

    for (int p = 0; p < c->npatch; ++p)
        if (c->failed[p] && x >= (double)c->patch[p].x0 &&
            x < (double)c->patch[p].x1 && y >= (double)c->patch[p].y0 &&
            y < (double)c->patch[p].y1)
            return 1;
    return 0;
}

static void finish_rows(merge_ctx *c, merge_counts *n)
{
    const merge_base *b = &c->base;
    char issues[128];

    memset(n, 0, sizeof *n);
    for (long r = 0; r < b->n; ++r) {
        merge_state *s = &c->state[r];
        int rel;

        s->excluded = b->any[r];
        s->bright_mask = b->bright[r];
        rel = merge_reliability(s, issues, sizeof issues);
        pp_table_set(&c->out, r, c->col_rel, pp_csv_format_bool(rel));
        pp_table_set(&c->out, r, c->col_iss, issues);
        n->crop += b->crop[r];
        n->sat += b->sat[r];
        n->any += b->any[r];
        n->no_coords += !b->finite[r];
        n->reliable += rel;
        if (s->has_fit) {
            n->with_fit++;
            n->converged += s->converged;
            n->hit_max += s->hit_max;
            n->stalled += s->bound_stalled;
        } else if (b->any[r])
            n->miss_excluded++;
        else if (isfinite(b->x[r]) && isfinite(b->y[r]) &&
                 in_failed_patch(c, r))
            n->miss_failed++;
        else
            n->miss_unassigned++;
    }
}

static void log_failed(const merge_ctx *c)
{
    char list[MAX_LISTED_TAGS * 72] = "";
    int nf = 0;

    for (int p = 0; p < c->npatch; ++p) {
        size_t len = strlen(list);
        if (!c->failed[p])
            continue;
        if (nf++ < MAX_LISTED_TAGS)
            snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "",
                     c->patch[p].tag);
    }
    if (nf > 0)
        pp_log(PP_LOG_WARNING, "failed patches (no fit catalogue): %d: %s%s",
               nf, list, nf > MAX_LISTED_TAGS ? ", ..." : "");
}

static void log_stale(const merge_ctx *c)
{
    char first[PATH_MAX];
    long n;

    n = merge_count_stale(c->fits_dir, c->cfg->merge.pattern, c->fit_path,
                          c->npatch, first, sizeof first);
    if (n > 0)
        pp_log(PP_LOG_WARNING, "ignored %ld file%s matching merge.pattern "
               "'%s' below '%s' that %s not the fit catalogue of a patch of "
               "patches/patches.json (stale outputs of an earlier run?), "
               "e.g. '%s'", n, n == 1 ? "" : "s", c->cfg->merge.pattern,
               c->fits_dir, n == 1 ? "is" : "are", first);
}

static void log_summary(const merge_ctx *c, const merge_counts *n,
                        const char *path)
{
    long miss = c->base.n - n->with_fit;

    pp_log(PP_LOG_INFO, "wrote '%s': %ld rows x %d columns", path,
           pp_table_nrows(&c->out), pp_table_ncols(&c->out));
    pp_log(PP_LOG_INFO, "excluded: crop %ld, saturation %ld, any %ld "
           "(no_coords %ld)", n->crop, n->sat, n->any, n->no_coords);
    pp_log(PP_LOG_INFO, "rows with a fit: %ld", n->with_fit);
    pp_log(PP_LOG_INFO, "merge-missing (rows without a fit): %ld = "
           "excluded %ld + failed patch %ld + unassigned %ld", miss,
           n->miss_excluded, n->miss_failed, n->miss_unassigned);
    pp_log(PP_LOG_INFO, "fit summary: converged %ld, hit-max %ld, "
           "bound-stalled %ld, reliable %ld (of %ld rows)", n->converged,
           n->hit_max, n->stalled, n->reliable, c->base.n);
}

/* Seconds on the monotonic clock, for the timing line. */
static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void ctx_release(merge_ctx *c)
{
    free(c->fits_dir);
    merge_base_release(&c->base);
    pp_frames_release(&c->frames);
    for (int p = 0; c->fit_path && p < c->npatch; ++p)
        free(c->fit_path[p]);
    free(c->fit_path);
    free(c->failed);
    free(c->patch);
    merge_fitcols_release(&c->fc);
    merge_keys_release(&c->index);
    merge_keys_release(&c->stray);
    pp_table_release(&c->out);
    free(c->src);
    free(c->fit_patch);
    free(c->state);
    free(c->wcs_path);
    pp_wcs_release(&c->wcs);
}

static int merge_tables(merge_ctx *c, pp_error *err)
{
    size_t nr = (size_t)c->base.n + 1, fit_bytes;

    if (plan_columns(c, err) != PP_OK)
        return err->code;
    build_index(c);
    fit_bytes = plan_fit_files(c);
    c->fit_patch = pp_malloc_checked(nr, sizeof *c->fit_patch,
                                     "the join map", err);
    c->state = pp_malloc_checked(nr, sizeof *c->state, "row flags", err);
    if (!c->fit_patch || !c->state)
        return err->code;
    for (size_t r = 0; r < nr; ++r)
        c->fit_patch[r] = -1;
    if (fill_base(c, fit_bytes, err) != PP_OK || join_all(c, err) != PP_OK)
        return err->code;
    if (c->nstray > 0)
        pp_log(PP_LOG_WARNING, "%ld fit row%s match%s no base row with "
               "finite RA/DEC (ignored)", c->nstray, c->nstray == 1 ? "" :
               "s", c->nstray == 1 ? "es" : "");
    if (c->nfilled > 0)
        pp_log(PP_LOG_INFO, "%ld fitted position%s without RA/DEC: computed "
               "from '%s'", c->nfilled, c->nfilled == 1 ? "" : "s",
               c->wcs_path);
    return PP_OK;
}

int merge_run(const pp_config *cfg, const merge_opts *opts, pp_error *err)
{
    merge_ctx c;
    merge_counts n;
    const char *path = cfg->outputs.final_catalog;
    char *dir = NULL;
    double t[3] = { 0, 0, 0 };

    memset(&c, 0, sizeof c);
    c.cfg = cfg;
    c.nthreads = opts->threads > 0 ? (int)opts->threads
                                   : (int)sysconf(_SC_NPROCESSORS_ONLN);
    c.out = (pp_table)PP_TABLE_INIT;
    c.fits_dir = pp_xstrdup(cfg->outputs.tractor_out_dir);
    c.wcs_path = pp_io_path_join(cfg->outputs.work_dir, "wcs.fits");
    t[0] = now_s();
    if (read_inputs(&c, err) == PP_OK && (t[1] = now_s(),
        merge_tables(&c, err)) == PP_OK) {
        log_failed(&c);
        log_stale(&c);
        finish_rows(&c, &n);
        dir = pp_io_dirname(path);
        t[2] = now_s();
        if (pp_io_mkdir_p(dir, err) == PP_OK &&
            pp_csv_write(path, &c.out, err) == PP_OK) {
            log_summary(&c, &n, path);
            pp_log(PP_LOG_INFO, "time: inputs %.2f s, join %.2f s, write "
                   "%.2f s (%d threads)", t[1] - t[0], t[2] - t[1],
                   now_s() - t[2], c.nthreads);
        }
    }
    free(dir);
    ctx_release(&c);
    return err->code;
}
