/* epsf.c - pp-epsf's stage: inputs, jobs, threads, summary (SPEC §8); see
 * epsf.h. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "pp_catalog.h"
#include "pp_csv.h"
#include "pp_frames.h"
#include "pp_io.h"
#include "pp_json.h"
#include "pp_log.h"
#include "pp_mem.h"
#include "pp_progress.h"
#include "pp_psf.h"
#include "pp_table.h"

#include "cell.h"
#include "epsf.h"
#include "output.h"
#include "shift.h"
#include "smooth.h"

#define SUMMARY_FILE "epsf_summary.json"
#define SEP_PIXSTACK_MIN 300000     /* SEP's default */

/* Everything read before the work; released in one place. */
typedef struct {
    pp_frames frames;
    pp_table cat;
    char *cat_path;
    long E, sx, sy;                 /* grid and cell size (SPEC §8.1) */
    unsigned char *active;          /* E × E, 1: a source is in it */
    epsf_gaia **gaia;               /* per band */
    long *ngaia;
    int shift_kind, smooth_kind;
} inputs;

typedef struct {
    epsf_cell_job job;
    char dir[PATH_MAX];
} job_slot;

static void inputs_release(inputs *in)
{
    for (int b = 0; in->gaia && b < in->frames.nbands; b++)
        free(in->gaia[b]);
    free(in->gaia);
    free(in->ngaia);
    pp_frames_release(&in->frames);
    pp_table_release(&in->cat);
    free(in->cat_path);
    free(in->active);
}

/* Keys whose valid range pp_config cannot state (SPEC §8.2). */
static int check_config(const pp_config *cfg, inputs *in, pp_error *err)
{
    const char *odd[] = { "cutout_size", "final_psf_size", "fit_boxsize" };
    long v[] = { cfg->epsf.cutout_size, cfg->epsf.final_psf_size,
                 cfg->epsf.fit_boxsize };

    for (int i = 0; i < 3; i++)
        if (v[i] < 3 || v[i] % 2 == 0)
            return pp_error_set(err, PP_ECONFIG, "epsf.%s: found %ld, "
                                "expected an odd number >= 3", odd[i], v[i]);
    if (cfg->epsf.fit_boxsize > cfg->epsf.cutout_size)
        return pp_error_set(err, PP_ECONFIG, "epsf.fit_boxsize: found %ld, "
                            "expected at most epsf.cutout_size (%ld)",
                            cfg->epsf.fit_boxsize, cfg->epsf.cutout_size);
    if (cfg->epsf.oversamp < 1 || cfg->epsf.maxiters < 1 ||
        cfg->epsf.recenter_boxsize < 1)
        return pp_error_set(err, PP_ECONFIG, "epsf.oversamp, epsf.maxiters "
                            "and epsf.recenter_boxsize must be >= 1 (found "
                            "%ld, %ld, %ld)", cfg->epsf.oversamp,
                            cfg->epsf.maxiters, cfg->epsf.recenter_boxsize);
    if (cfg->epsf.n_mog_components > EPSF_MOG_SETS_MAX)
        return pp_error_set(err, PP_ECONFIG, "epsf.mog_components: %d "
                            "entries, expected at most %d",
                            cfg->epsf.n_mog_components, EPSF_MOG_SETS_MAX);
    for (int i = 0; i < cfg->epsf.n_mog_components; i++)
        if (cfg->epsf.mog_components[i] > PP_PSF_MOG_MAX)
            return pp_error_set(err, PP_ECONFIG, "epsf.mog_components[%d]: "
                                "found %ld, expected 1..%d", i,
                                cfg->epsf.mog_components[i], PP_PSF_MOG_MAX);
    if (epsf_shift_kind(cfg->patch_run.subpixel_shift, &in->shift_kind,
                        err) != PP_OK)
        return err->code;
    return epsf_smooth_kind(cfg->epsf.smoothing_kernel, &in->smooth_kind,
                            err);
}

/* SPEC §8.1: cell index of a coordinate. */
static long cell_index(double v, long s, long E)
{
    long k = (long)floor(v / (double)s);

    return k < 0 ? 0 : k > E - 1 ? E - 1 : k;
}

static void cell_span(long n, long s, long E, long k, long *lo, long *hi)
{
    *lo = k * s;
    *hi = k == E - 1 ? n : (k + 1) * s;
}

/* The base catalogue and the active cells (SPEC §8.1). */
static int read_catalog(const pp_config *cfg, inputs *in, int *col_gaia,
                        pp_error *err)
{
    static const char *const need[] = { "x_pix_white", "y_pix_white",
                                        "excluded_any" };
    int col[3];

    in->cat_path = pp_catalog_base_path(cfg);
    if (!pp_io_exists(in->cat_path))
        return pp_error_set(err, PP_EIO, "base catalogue '%s' does not "
                            "exist (run pp-crop first)", in->cat_path);
    if (pp_csv_read(in->cat_path, &in->cat, err) != PP_OK)
        return err->code;
    for (int i = 0; i < 3; i++)
        if ((col[i] = pp_table_find_column(&in->cat, need[i], NULL)) < 0)
            return pp_error_set(err, PP_EDATA, "'%s': no column '%s' (run "
                                "pp-crop first)", in->cat_path, need[i]);
    *col_gaia = pp_table_find_column(&in->cat, "gaia_source_id", NULL);
    in->active = pp_xcalloc((size_t)(in->E * in->E), 1);
    for (long r = 0; r < pp_table_nrows(&in->cat); r++) {
        const char *ex = pp_table_get(&in->cat, r, col[2]);
        double x, y;
        if (strcasecmp(ex, "True") == 0)
            continue;
        if (strcasecmp(ex, "False") != 0)
            return pp_error_set(err, PP_EDATA, "'%s': row %ld (line %ld): "
                                "column 'excluded_any': found '%s', expected "
                                "True or False", in->cat_path, r + 1,
                                pp_table_line(&in->cat, r), ex);
        if (pp_table_get_double(&in->cat, r, col[0], in->cat_path, &x, err) ||
            pp_table_get_double(&in->cat, r, col[1], in->cat_path, &y, err))
            return err->code;
        if (isfinite(x) && isfinite(y) && x >= 0 && y >= 0 &&
            x < in->frames.work_w && y < in->frames.work_h)
            in->active[cell_index(y, in->sy, in->E) * in->E +
                       cell_index(x, in->sx, in->E)] = 1;
    }
    return PP_OK;
}

typedef struct {
    const char *id;
    long row;
} id_row;

static int cmp_id(const void *a, const void *b)
{
    return strcmp(((const id_row *)a)->id, ((const id_row *)b)->id);
}

static void add_gaia(inputs *in, int b, double x, double y, double mag)
{
    long n = in->ngaia[b];

    if ((n & (n - 1)) == 0)     /* grow at powers of two */
        in->gaia[b] = pp_xrealloc(in->gaia[b], sizeof(epsf_gaia) *
                                  (size_t)(n ? 2 * n : 1));
    in->gaia[b][n].x = x;
    in->gaia[b][n].y = y;
    in->gaia[b][n].mag = mag;
    in->gaia[b][n].flux = pow(10.0, -0.4 * (mag - in->frames.zp_ref));
    in->ngaia[b] = n + 1;
}

/* The Gaia sources of every band: catalogue rows with a gaia_source_id,
 * magnitudes from the GaiaXP file by source_id. */
static int read_gaia(const pp_config *cfg, inputs *in, int col_gaia,
                     pp_error *err)
{
    const char *gp = cfg->inputs.gaiaxp_synphot_csv;
    pp_table g = PP_TABLE_INIT;
    id_row *idx = NULL;
    int nb = in->frames.nbands, *cm = NULL, cid, cx, cy;
    long ng;

    in->gaia = pp_xcalloc((size_t)nb, sizeof *in->gaia);
    in->ngaia = pp_xcalloc((size_t)nb, sizeof *in->ngaia);
    if (!cfg->epsf.use_gaiaxp || strcmp(cfg->epsf.psfstar_mode, "sep") == 0)
        return PP_OK;
    if (col_gaia < 0 || !gp || !pp_io_exists(gp)) {
        pp_log(PP_LOG_INFO, "no Gaia seeds: %s", col_gaia < 0 ?
               "the base catalogue has no gaia_source_id (pp-zp augment "
               "did not run)" : "no GaiaXP file (inputs.gaiaxp_synphot_csv)");
        return PP_OK;
    }
    if (pp_csv_read(gp, &g, err) != PP_OK)
        return pp_error_prefix(err, "inputs.gaiaxp_synphot_csv: ");
    if ((cid = pp_table_find_column(&g, "source_id", NULL)) < 0) {
        pp_error_set(err, PP_EDATA, "'%s': no 'source_id' column", gp);
        goto out;
    }
    cm = pp_xmalloc(sizeof(int) * (size_t)nb);
    for (int b = 0; b < nb; b++) {
        char name[256];
        snprintf(name, sizeof name, "mag_%s", in->frames.bands[b].band);
        cm[b] = pp_table_find_column(&g, name, NULL);
    }
    ng = pp_table_nrows(&g);
    idx = pp_xmalloc(sizeof(id_row) * (size_t)(ng + 1));
    for (long r = 0; r < ng; r++) {
        idx[r].id = pp_table_get(&g, r, cid);
        idx[r].row = r;
    }
    qsort(idx, (size_t)ng, sizeof *idx, cmp_id);
    cx = pp_table_find_column(&in->cat, "x_pix_white", NULL);
    cy = pp_table_find_column(&in->cat, "y_pix_white", NULL);
    for (long r = 0; r < pp_table_nrows(&in->cat); r++) {
        id_row key = { pp_table_get(&in->cat, r, col_gaia), 0 }, *hit;
        double x, y, mag;
        if (!key.id[0] ||
            !(hit = bsearch(&key, idx, (size_t)ng, sizeof *idx, cmp_id)))
            continue;
        if (pp_table_get_double(&in->cat, r, cx, in->cat_path, &x, err) ||
            pp_table_get_double(&in->cat, r, cy, in->cat_path, &y, err))
            goto out;
        for (int b = 0; b < nb && isfinite(x) && isfinite(y); b++)
            if (cm[b] >= 0 &&
                pp_parse_double(pp_table_get(&g, hit->row, cm[b]), &mag) == 0
                && isfinite(mag))
                add_gaia(in, b, x, y, mag);
    }
out:
    free(idx);
    free(cm);
    pp_table_release(&g);
    return err->code;
}

static int read_inputs(const pp_config *cfg, inputs *in, pp_error *err)
{
    char *fpath = pp_io_path_join(cfg->outputs.work_dir, "frames.json");
    int col_gaia = -1;

    if (!pp_io_exists(fpath))
        pp_error_set(err, PP_EIO, "'%s' does not exist (run pp-crop first)",
                     fpath);
    else
        pp_frames_read(fpath, &in->frames, err);
    free(fpath);
    if (err->code)
        return err->code;
    in->E = cfg->epsf.epsf_ngrid;
    in->sx = in->frames.work_w / in->E;
    in->sy = in->frames.work_h / in->E;
    if (in->sx < 1 || in->sy < 1)
        return pp_error_set(err, PP_ECONFIG, "epsf.epsf_ngrid: found %ld, "
                            "expected at most the working frame's %ld x %ld "
                            "pixels", in->E, in->frames.work_w,
                            in->frames.work_h);
    if (read_catalog(cfg, in, &col_gaia, err) != PP_OK)
        return err->code;
    return read_gaia(cfg, in, col_gaia, err);
}

/* Does the comma-separated list of opts items name s?  (No list: yes.) */
static int listed(const pp_strlist *l, const char *s)
{
    if (l->n == 0)
        return 1;
    for (int i = 0; i < l->n; i++) {
        char *dup = pp_xstrdup(l->items[i]), *save = NULL, *tok;
        int hit = 0;
        for (tok = strtok_r(dup, ",", &save); tok && !hit;
             tok = strtok_r(NULL, ",", &save))
            hit = strcmp(tok, s) == 0;
        free(dup);
        if (hit)
            return 1;
    }
    return 0;
}

/* Every --band and --cell item must name a band and a cell of the grid. */
static int check_selection(const epsf_opts *o, const inputs *in,
                           pp_error *err)
{
    for (int i = 0; i < o->bands.n; i++) {
        char *dup = pp_xstrdup(o->bands.items[i]), *save = NULL, *t;
        for (t = strtok_r(dup, ",", &save); t && !err->code;
             t = strtok_r(NULL, ",", &save))
            if (pp_frames_find_band(&in->frames, t) < 0)
                pp_error_set(err, PP_EUSAGE, "option '--band': found '%s', "
                             "expected a band of frames.json", t);
        free(dup);
    }
    for (int i = 0; i < o->cells.n && !err->code; i++) {
        char *dup = pp_xstrdup(o->cells.items[i]), *save = NULL, *t;
        for (t = strtok_r(dup, ",", &save); t && !err->code;
             t = strtok_r(NULL, ",", &save)) {
            int r, c, n = 0;
            if (sscanf(t, "r%d_c%d%n", &r, &c, &n) != 2 ||
                t[n] != 0 || r < 0 || c < 0 || r >= in->E || c >= in->E)
                pp_error_set(err, PP_EUSAGE, "option '--cell': found '%s', "
                             "expected rNN_cNN with NN < %ld "
                             "(epsf.epsf_ngrid)", t, in->E);
        }
        free(dup);
    }
    return err->code;
}

/* The jobs: bands in frames order, cells row by row. */
static job_slot *make_jobs(const pp_config *cfg, const epsf_opts *o,
                           const inputs *in, int *njobs)
{
    long E = in->E;
    job_slot *v = pp_xcalloc((size_t)(in->frames.nbands * E * E + 1),
                             sizeof *v);
    int n = 0;

    for (int b = 0; b < in->frames.nbands; b++) {
        const char *band = in->frames.bands[b].band;
        if (!listed(&o->bands, band))
            continue;
        for (long r = 0; r < E; r++)
            for (long c = 0; c < E; c++) {
                char tag[32];
                epsf_cell_job *j = &v[n].job;
                epsf_cell_tag((int)r, (int)c, tag);
                if (!listed(&o->cells, tag) ||
                    (o->cells.n == 0 && cfg->epsf.skip_empty_epsf_patches &&
                     !in->active[r * E + c]))
                    continue;
                j->cfg = cfg;
                j->frames = &in->frames;
                j->band = b;
                j->row = (int)r;
                j->col = (int)c;
                cell_span(in->frames.work_w, in->sx, E, c, &j->cx0, &j->cx1);
                cell_span(in->frames.work_h, in->sy, E, r, &j->cy0, &j->cy1);
                j->gaia = in->gaia[b];
                j->ngaia = in->ngaia[b];
                j->shift_kind = in->shift_kind;
                j->smooth_kind = in->smooth_kind;
                snprintf(v[n].dir, sizeof v[n].dir, "%s/%s/%s",
                         cfg->outputs.epsf_dir, band, tag);
                j->dir = v[n].dir;
                n++;
            }
    }
    *njobs = n;
    return v;
}

/* The thread pool: workers take the next job under the lock; the first
 * error stops the taking. */
typedef struct {
    job_slot *jobs;
    int njobs, next, nfail;
    pthread_mutex_t lock;
    pp_error err;
    pp_progress prog;
} pool;

static void *worker(void *arg)
{
    pool *p = arg;

    for (;;) {
        pp_error e = PP_ERROR_INIT;
        json_t *meta = NULL;
        int k;
        pthread_mutex_lock(&p->lock);
        k = p->err.code ? p->njobs : p->next++;
        pthread_mutex_unlock(&p->lock);
        if (k >= p->njobs)
            break;
        epsf_cell_run(&p->jobs[k].job, &meta, &e);
        pthread_mutex_lock(&p->lock);
        if (e.code && !p->err.code)
            p->err = e;
        if (meta && strcmp(json_string_value(json_object_get(meta,
                                                             "status")),
                           "ok") != 0)
            p->nfail++;
        pp_progress_step(&p->prog, 1);
        pthread_mutex_unlock(&p->lock);
        json_decref(meta);
    }
    return NULL;
}

static long thread_count(const pp_config *cfg, const epsf_opts *o,
                         int njobs)
{
    long n = o->threads > 0 ? o->threads : cfg->epsf.max_workers;

    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n > njobs ? (njobs > 0 ? njobs : 1) : n;
}

static int run_pool(const pp_config *cfg, const epsf_opts *o, job_slot *jobs,
                    int njobs, pp_error *err)
{
    long nt = thread_count(cfg, o, njobs), started = 0;
    pthread_t *th = pp_xcalloc((size_t)nt, sizeof *th);
    pool p;

    memset(&p, 0, sizeof p);
    p.jobs = jobs;
    p.njobs = njobs;
    pthread_mutex_init(&p.lock, NULL);
    pp_progress_start(&p.prog, "pp-epsf cells", njobs);
    for (long t = 0; t < nt; t++)
        if (pthread_create(&th[t], NULL, worker, &p) == 0)
            started++;
        else
            break;
    if (started == 0)
        worker(&p);
    for (long t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    pp_progress_end(&p.prog);
    pthread_mutex_destroy(&p.lock);
    free(th);
    if (p.err.code)
        *err = p.err;
    else
        pp_log(PP_LOG_INFO, "%d cells built (%ld threads), %d with status "
               "fail", njobs, started ? started : 1, p.nfail);
    return err->code;
}

/* The largest region a cell reads, for SEP's pixel stack (a process-wide
 * setting: set once, before the threads). */
static void set_pixstack(const pp_config *cfg, const inputs *in)
{
    long m = 2 * (cfg->epsf.cutout_size / 2 + 2);
    size_t n = (size_t)(in->frames.work_w - (in->E - 1) * in->sx + m) *
               (size_t)(in->frames.work_h - (in->E - 1) * in->sy + m);

    sep_set_extract_pixstack(n > SEP_PIXSTACK_MIN ? n : SEP_PIXSTACK_MIN);
}

int epsf_run(const pp_config *cfg, const epsf_opts *opts, pp_error *err)
{
    inputs in;
    job_slot *jobs = NULL;
    int njobs = 0;
    double t0 = pp_progress_now();

    memset(&in, 0, sizeof in);
    if (check_config(cfg, &in, err) != PP_OK ||
        read_inputs(cfg, &in, err) != PP_OK ||
        check_selection(opts, &in, err) != PP_OK)
        goto out;
    jobs = make_jobs(cfg, opts, &in, &njobs);
    pp_log(PP_LOG_INFO, "%d (band, cell) pairs to build (%ld x %ld grid, "
           "cells of %ld x %ld px)", njobs, in.E, in.E, in.sx, in.sy);
    set_pixstack(cfg, &in);
    if (pp_io_mkdir_p(cfg->outputs.epsf_dir, err) != PP_OK ||
        run_pool(cfg, opts, jobs, njobs, err) != PP_OK)
        goto out;
    pp_log(PP_LOG_INFO, "built %d cells in %.2f s", njobs,
           pp_progress_now() - t0);
    if (opts->bands.n == 0 && opts->cells.n == 0)
        epsf_summary(cfg, err);
out:
    free(jobs);
    inputs_release(&in);
    return err->code;
}

int epsf_summary(const pp_config *cfg, pp_error *err)
{
    pp_frames f = PP_FRAMES_INIT;
    char *fpath = pp_io_path_join(cfg->outputs.work_dir, "frames.json");
    char *out = pp_io_path_join(cfg->outputs.epsf_dir, SUMMARY_FILE);
    json_t *arr = json_array();
    long E = cfg->epsf.epsf_ngrid, n = 0;

    if (pp_frames_read(fpath, &f, err) != PP_OK)
        goto done;
    for (int b = 0; b < f.nbands && !err->code; b++)
        for (long r = 0; r < E && !err->code; r++)
            for (long c = 0; c < E && !err->code; c++) {
                char tag[32], path[PATH_MAX];
                json_t *m = NULL;
                epsf_cell_tag((int)r, (int)c, tag);
                snprintf(path, sizeof path, "%s/%s/%s/meta.json",
                         cfg->outputs.epsf_dir, f.bands[b].band, tag);
                if (!pp_io_exists(path))
                    continue;
                if (pp_json_read(path, &m, err) == PP_OK) {
                    json_array_append_new(arr, m);
                    n++;
                }
            }
    if (!err->code && pp_io_mkdir_p(cfg->outputs.epsf_dir, err) == PP_OK &&
        pp_json_write(out, arr, err) == PP_OK)
        pp_log(PP_LOG_INFO, "wrote '%s' (%ld cells)", out, n);
done:
    json_decref(arr);
    pp_frames_release(&f);
    free(fpath);
    free(out);
    return err->code;
}
