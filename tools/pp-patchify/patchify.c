/* patchify.c - pp-patchify's stage: inputs, geometry, assignment,
 * payloads, patch lists (SPEC §9). */
#include <dirent.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "pp_catalog.h"
#include "pp_csv.h"
#include "pp_fits.h"
#include "pp_io.h"
#include "pp_json.h"
#include "pp_log.h"
#include "pp_mem.h"
#include "pp_progress.h"

#include "patchify.h"

#define BRIGHT_MASK_FILE "white_bright_mask.fits"   /* SPEC §6.8 */

/* Everything the stage reads, released in one place. */
typedef struct {
    pp_frames frames;
    pp_table cat;
    char *cat_path;
    pp_wcs wcs;
    char *bright;                   /* path or NULL */
    int col_x, col_y, col_ex;
    patchify_sources src;
    patchify_plan plan;
} inputs;

static void inputs_release(inputs *in)
{
    pp_frames_release(&in->frames);
    pp_table_release(&in->cat);
    free(in->cat_path);
    pp_wcs_release(&in->wcs);
    free(in->bright);
    free(in->src.row);
    free(in->src.x);
    free(in->src.y);
    patchify_plan_release(&in->plan);
}

/* wcs.fits: a header-only primary HDU holding the working-frame WCS. */
static int read_wcs(const char *work_dir, pp_wcs *w, pp_error *err)
{
    char *path = pp_io_path_join(work_dir, "wcs.fits");
    fitsfile *fp = NULL;
    int status = 0;
    char msg[FLEN_STATUS];

    if (fits_open_diskfile(&fp, path, READONLY, &status) != 0) {
        fits_get_errstatus(status, msg);
        pp_error_set(err, PP_EIO, "cannot open '%s': %s (run pp-crop "
                     "first)", path, msg);
    } else
        pp_wcs_from_fits(fp, path, w, err);
    if (fp) {
        status = 0;
        fits_close_file(fp, &status);
    }
    free(path);
    return err->code;
}

/* The base catalogue and its pp-crop columns; the active sources. */
static int read_catalog(const pp_config *cfg, inputs *in, pp_error *err)
{
    static const char *const need[] = { "x_pix_white", "y_pix_white",
                                        "excluded_any" };
    int *cols[] = { &in->col_x, &in->col_y, &in->col_ex };
    long n, r;
    int i;

    in->cat_path = pp_catalog_base_path(cfg);
    if (!pp_io_exists(in->cat_path))
        return pp_error_set(err, PP_EIO, "base catalogue '%s' does not "
                            "exist (run pp-crop first)", in->cat_path);
    if (pp_csv_read(in->cat_path, &in->cat, err) != PP_OK)
        return err->code;
    for (i = 0; i < 3; i++) {
        *cols[i] = pp_table_find_column(&in->cat, need[i], NULL);
        if (*cols[i] < 0)
            return pp_error_set(err, PP_EDATA, "'%s': no column '%s' (run "
                                "pp-crop first)", in->cat_path, need[i]);
    }
    /* The payload's typed SOURCES columns (SPEC §9.3) must not meet a
     * catalogue column of the same name (x/y_pix_white are carried by
     * them). */
    for (i = 0; i < pp_table_ncols(&in->cat); i++) {
        static const char *const own[] = { "x_pix_patch", "y_pix_patch",
                                           "is_halo", "is_edge" };
        int j;

        for (j = 0; j < 4; j++)
            if (strcasecmp(pp_table_colname(&in->cat, i), own[j]) == 0)
                return pp_error_set(err, PP_EDATA, "'%s': column '%s' has "
                                    "the name of a payload column; rename "
                                    "it in the input catalogue",
                                    in->cat_path,
                                    pp_table_colname(&in->cat, i));
    }
    n = pp_table_nrows(&in->cat);
    in->src.row = pp_xcalloc((size_t)n + 1, sizeof *in->src.row);
    in->src.x = pp_xcalloc((size_t)n + 1, sizeof *in->src.x);
    in->src.y = pp_xcalloc((size_t)n + 1, sizeof *in->src.y);
    for (r = 0; r < n; r++) {
        const char *ex = pp_table_get(&in->cat, r, in->col_ex);
        double x, y;

        /* SPEC §9.2: active = excluded_any false, finite coordinates;
         * SPEC §3.4 booleans are True/False. */
        if (strcasecmp(ex, "True") == 0)
            continue;
        if (strcasecmp(ex, "False") != 0)
            return pp_error_set(err, PP_EDATA, "'%s': row %ld (line %ld): "
                                "column 'excluded_any': found '%s', "
                                "expected True or False", in->cat_path,
                                r + 1, pp_table_line(&in->cat, r), ex);
        if (pp_table_get_double(&in->cat, r, in->col_x, in->cat_path, &x,
                                err) != PP_OK ||
            pp_table_get_double(&in->cat, r, in->col_y, in->cat_path, &y,
                                err) != PP_OK)
            return err->code;
        if (!isfinite(x) || !isfinite(y))
            continue;
        in->src.row[in->src.n] = r;
        in->src.x[in->src.n] = x;
        in->src.y[in->src.n++] = y;
    }
    return PP_OK;
}

/* The bright mask, when pp-crop mask made one (SPEC §6.8): its size must be
 * the working frame's. */
static int find_bright_mask(const pp_config *cfg, inputs *in, pp_error *err)
{
    char *path = pp_io_path_join(cfg->outputs.bright_mask_dir,
                                 BRIGHT_MASK_FILE);
    fitsfile *fp = NULL;
    long w, h;
    int hdu;

    if (!pp_io_exists(path)) {
        pp_log(PP_LOG_INFO, "no bright mask '%s': MASK bit 4 stays clear",
               path);
        free(path);
        return PP_OK;
    }
    if (pp_fits_open_image(path, &fp, &hdu, err) == PP_OK &&
        pp_fits_image_size(fp, &w, &h, err) == PP_OK &&
        (w != in->frames.work_w || h != in->frames.work_h))
        pp_error_set(err, PP_EDATA, "'%s': image is %ld x %ld, expected the "
                     "working frame %ld x %ld (run pp-crop mask again)",
                     path, w, h, in->frames.work_w, in->frames.work_h);
    pp_fits_close(fp);
    if (err->code == PP_OK) {
        in->bright = path;
        pp_log(PP_LOG_INFO, "bright mask: '%s'", path);
    } else
        free(path);
    return err->code;
}

/* Read every input and check it before any work (STYLE: ui.c). */
static int read_inputs(const pp_config *cfg, inputs *in, pp_error *err)
{
    char *fpath = pp_io_path_join(cfg->outputs.work_dir, "frames.json");

    if (!pp_io_exists(fpath))
        pp_error_set(err, PP_EIO, "'%s' does not exist (run pp-crop first)",
                     fpath);
    else
        pp_frames_read(fpath, &in->frames, err);
    free(fpath);
    if (err->code == PP_OK && read_catalog(cfg, in, err) == PP_OK &&
        read_wcs(cfg->outputs.work_dir, &in->wcs, err) == PP_OK)
        find_bright_mask(cfg, in, err);
    return err->code;
}

static void set_row(pp_table *t, long row, const patchify_patch *p)
{
    long v[] = { p->epsf_r, p->epsf_c, p->patch_r, p->patch_c, 0, 0,
                 p->x0_base, p->x1_base, p->y0_base, p->y1_base,
                 p->x0_roi, p->x1_roi, p->y0_roi, p->y1_roi, p->halo_pix,
                 p->n_sources, p->n_halo };
    char buf[32];
    int c;

    for (c = 0; c < 17; c++)
        pp_table_set(t, row, c, c == 4 ? p->epsf_tag : c == 5 ?
                     p->patch_tag : pp_csv_format_long(v[c], buf));
    pp_table_set(t, row, 17, p->payload);
}

/* patches/patches.csv and patches/patches.json (SPEC §9.1, key order). */
static int write_lists(const pp_config *cfg, const patchify_plan *plan,
                       pp_error *err)
{
    static const char *const keys[] = {
        "epsf_r", "epsf_c", "patch_r", "patch_c", "epsf_tag", "patch_tag",
        "x0_base", "x1_base", "y0_base", "y1_base", "x0_roi", "x1_roi",
        "y0_roi", "y1_roi", "halo_pix", "n_sources", "n_halo_sources",
        "payload"
    };
    pp_table t = PP_TABLE_INIT;
    json_t *arr = json_array();
    char *csv = pp_io_path_join(cfg->outputs.patches_dir, "patches.csv");
    char *js = pp_io_path_join(cfg->outputs.patches_dir, "patches.json");
    int i, c;

    for (c = 0; c < 18; c++)
        pp_table_add_column(&t, keys[c], -1);
    for (i = 0; i < plan->n; i++) {
        const patchify_patch *p = &plan->patches[i];
        json_t *o = json_object();

        set_row(&t, pp_table_add_row(&t), p);
        for (c = 0; c < 18; c++)
            json_object_set_new(o, keys[c], c == 4 ?
                json_string(p->epsf_tag) : c == 5 ?
                json_string(p->patch_tag) : c == 17 ?
                json_string(p->payload) :
                json_integer(atol(pp_table_get(&t, i, c))));
        json_array_append_new(arr, o);
    }
    if (pp_io_mkdir_p(cfg->outputs.patches_dir, err) == PP_OK &&
        pp_csv_write(csv, &t, err) == PP_OK)
        pp_json_write(js, arr, err);
    pp_table_release(&t);
    json_decref(arr);
    free(csv);
    free(js);
    return err->code;
}


/* SPEC §1 (no stale files): delete payloads of earlier runs that this run
 * did not write, so a by-hand `pp-fit` over every file there cannot pick
 * them up.  pp-merge reads only patches.json anyway. */
static void remove_stale(const char *dir, const patchify_plan *plan)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    regex_t re;
    long nstale = 0;
    int i, keep;

    if (!d)
        return;
    /* The payload names of SPEC §9.1/§9.3: <patch_tag>.fits. */
    if (regcomp(&re, "^r[0-9]{2,}_c[0-9]{2,}_pr[0-9]{2,}_pc[0-9]{2,}"
                "\\.fits$", REG_EXTENDED | REG_NOSUB) != 0) {
        closedir(d);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (regexec(&re, e->d_name, 0, NULL, 0) != 0)
            continue;
        for (keep = 0, i = 0; !keep && i < plan->n; i++)
            keep = strcmp(plan->patches[i].payload, e->d_name) == 0;
        if (!keep) {
            char *path = pp_io_path_join(dir, e->d_name);
            if (unlink(path) == 0)
                nstale++;
            free(path);
        }
    }
    closedir(d);
    regfree(&re);
    if (nstale)
        pp_log(PP_LOG_INFO, "removed %ld stale payload(s) of an earlier run "
               "from '%s'", nstale, dir);
}

static long default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n > 0 ? n : 1;
}

int patchify_run(const pp_config *cfg, const patchify_opts *opts,
                 pp_error *err)
{
    inputs in;
    unsigned char *active = NULL;
    long E = cfg->epsf.epsf_ngrid, halo, npay = 0, nbase = 0;
    int i;

    memset(&in, 0, sizeof in);
    if (read_inputs(cfg, &in, err) != PP_OK)
        goto out;
    /* SPEC §9.1: HALO = max((final_psf_size - 1)/2 + 2, halo_pix_min). */
    halo = (cfg->epsf.final_psf_size - 1) / 2 + 2;
    if (halo < cfg->patches.halo_pix_min)
        halo = cfg->patches.halo_pix_min;
    if (cfg->epsf.skip_empty_epsf_patches) {
        active = pp_xcalloc((size_t)(E * E), 1);
        patchify_active_cells(&in.src, in.frames.work_w, in.frames.work_h,
                              E, active);
    }
    if (patchify_geometry(in.frames.work_w, in.frames.work_h, E,
                          cfg->epsf.ngrid, halo, active, &in.plan,
                          err) != PP_OK)
        goto out;
    in.plan.edge_pix = (cfg->epsf.final_psf_size - 1) / 2;
    if (patchify_assign(&in.plan, &in.src, cfg->patch_run.fit_halo_sources,
                        err) != PP_OK)
        goto out;
    for (i = 0; i < in.plan.n; i++) {
        patchify_patch *p = &in.plan.patches[i];

        nbase += p->n_sources;
        if (!opts->geometry_only && (p->n_sources > 0 ||
                                     !cfg->patch_inputs.skip_empty_patch)) {
            snprintf(p->payload, sizeof p->payload, "%s.fits", p->patch_tag);
            npay++;
        } else if (opts->geometry_only && (p->n_sources > 0 ||
                                           !cfg->patch_inputs.skip_empty_patch))
            npay++;
    }
    pp_log(PP_LOG_INFO, "%ld active sources (%ld base assignments), %d "
           "patches (halo %ld px), %ld payloads%s", in.src.n, nbase,
           in.plan.n, halo, npay, opts->geometry_only ?
           " (--geometry-only: none written)" : "");
    if (!opts->geometry_only) {
        patchify_payload_ctx ctx = {
            cfg, &in.frames, &in.cat, in.cat_path, &in.wcs, in.bright,
            cfg->outputs.patch_inputs_dir, in.col_x, in.col_y,
            opts->threads > 0 ? opts->threads : default_threads()
        };
        double t0 = pp_progress_now();

        if (pp_io_mkdir_p(cfg->outputs.patch_inputs_dir, err) != PP_OK ||
            patchify_write_payloads(&ctx, &in.plan, err) != PP_OK)
            goto out;
        pp_log(PP_LOG_INFO, "wrote %ld payloads to '%s' in %.2f s (%ld "
               "threads)", npay, cfg->outputs.patch_inputs_dir,
               pp_progress_now() - t0, ctx.nthreads);
        remove_stale(cfg->outputs.patch_inputs_dir, &in.plan);
    }
    write_lists(cfg, &in.plan, err);
out:
    free(active);
    inputs_release(&in);
    return err->code;
}
