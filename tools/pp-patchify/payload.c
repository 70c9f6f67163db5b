/* payload.c - one self-contained FITS file per patch (SPEC §9.3).
 *
 * Pixel arithmetic (documented in pp-patchify(1), repeated by the test
 * checker tests/data/payloadcheck.c): raw is the band's pixel as cfitsio
 * returns it in float (TFLOAT, BSCALE/BZERO applied), and
 *     SCI = (float)((double)raw * scale)
 * with scale the double of frames.json: one product in double, rounded
 * once to float.  MASK bits: 1 raw not finite; 2 raw finite and
 * (double)raw >= SATURATE / 2 (SPEC §5.3; no bit 2 without SATURATE);
 * 4 the bright-mask pixel is nonzero.
 *
 * Threads: a pool of workers takes patches in order from a shared counter;
 * each opens its own cfitsio handles (the bright mask; each band per
 * patch) and its own WCS copy, and holds one band ROI at a time, so memory
 * stays near threads x (ROI x 6 bytes).  Every file is written to a temporary name
 * and renamed (pp_fits_commit); on failure the files this call committed
 * are removed.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <fitsio.h>

#include "pp_fits.h"
#include "pp_io.h"
#include "pp_log.h"
#include "pp_mem.h"
#include "pp_progress.h"

#include "patchify.h"

#define PAYLOAD_FORMAT "patchphot-payload/1"
#define MASK_NONFINITE 1
#define MASK_SATURATED 2
#define MASK_BRIGHT 4

/* Names of the typed SOURCES columns; a catalogue column of the same name
 * (case-insensitive) is carried by the typed one (x_pix_white,
 * y_pix_white: the double pp-crop wrote with a round-trip format) or is an
 * error (the others are patchphot's own names). */
static const char *const typed_names[] = {
    "x_pix_white", "y_pix_white", "x_pix_patch", "y_pix_patch", "is_halo",
    "is_edge"
};
static const char *const typed_forms[] = { "1D", "1D", "1D", "1D", "1L",
                                           "1L" };
#define NTYPED 6

typedef struct {
    const patchify_payload_ctx *ctx;
    const patchify_plan *plan;
    pthread_mutex_t lock;
    int next;                       /* next patch to take */
    int failed;
    pp_error err;                   /* the first failure */
    unsigned char *written;         /* plan->n flags: committed */
    pp_progress progress;
} pool;

/* Per-thread state.  Band files are opened per patch and band, not kept
 * open: threads x bands handles would run into the file-descriptor limit
 * (1024 by default) on a 40-band field with 32 threads, and an open costs
 * a header read, small next to the ROI. */
typedef struct {
    fitsfile *bright;
    pp_wcs wcs;
    float *pix;
    unsigned char *mask, *bmask;
    size_t cap;                     /* pixels in pix/mask/bmask */
} worker;

static void worker_release(worker *wk)
{
    pp_fits_close(wk->bright);
    pp_wcs_release(&wk->wcs);
    free(wk->pix);
    free(wk->mask);
    free(wk->bmask);
    memset(wk, 0, sizeof *wk);
}

static int worker_init(worker *wk, const patchify_payload_ctx *ctx,
                       pp_error *err)
{
    int hdu;

    memset(wk, 0, sizeof *wk);
    if (ctx->bright_mask &&
        pp_fits_open_image(ctx->bright_mask, &wk->bright, &hdu, err) != PP_OK)
        return err->code;
    return pp_wcs_copy(ctx->wcs, &wk->wcs, err);
}

/* Make room for n pixels in the worker's buffers. */
static int worker_reserve(worker *wk, size_t n, pp_error *err)
{
    if (n <= wk->cap)
        return PP_OK;
    free(wk->pix);
    free(wk->mask);
    free(wk->bmask);
    wk->cap = 0;
    wk->mask = wk->bmask = NULL;
    wk->pix = pp_malloc_checked(n, sizeof *wk->pix, "a patch ROI", err);
    if (wk->pix)
        wk->mask = pp_malloc_checked(n, 1, "a patch mask", err);
    if (wk->mask)
        wk->bmask = pp_malloc_checked(n, 1, "a patch mask", err);
    if (!wk->bmask)
        return err->code;
    wk->cap = n;
    return PP_OK;
}

/* Primary HDU keys (SPEC §9.3). */
static int write_primary(pp_fits_writer *w, const patchify_payload_ctx *ctx,
                         const patchify_patch *p, const worker *wk,
                         pp_error *err)
{
    const pp_frames *f = ctx->frames;

    if (pp_fits_write_key_string(w, "PPFMT", PAYLOAD_FORMAT,
                                 "patchphot payload format", err) ||
        pp_fits_write_key_string(w, "PATCHTAG", p->patch_tag, NULL, err) ||
        pp_fits_write_key_string(w, "EPSFTAG", p->epsf_tag, NULL, err) ||
        pp_fits_write_key_long(w, "EPSF_R", p->epsf_r, NULL, err) ||
        pp_fits_write_key_long(w, "EPSF_C", p->epsf_c, NULL, err) ||
        pp_fits_write_key_long(w, "PATCH_R", p->patch_r, NULL, err) ||
        pp_fits_write_key_long(w, "PATCH_C", p->patch_c, NULL, err) ||
        pp_fits_write_key_long(w, "HALOPIX", p->halo_pix, NULL, err) ||
        pp_fits_write_key_long(w, "BX0", p->x0_base, "base box", err) ||
        pp_fits_write_key_long(w, "BX1", p->x1_base, NULL, err) ||
        pp_fits_write_key_long(w, "BY0", p->y0_base, NULL, err) ||
        pp_fits_write_key_long(w, "BY1", p->y1_base, NULL, err) ||
        pp_fits_write_key_long(w, "RX0", p->x0_roi, "ROI box", err) ||
        pp_fits_write_key_long(w, "RX1", p->x1_roi, NULL, err) ||
        pp_fits_write_key_long(w, "RY0", p->y0_roi, NULL, err) ||
        pp_fits_write_key_long(w, "RY1", p->y1_roi, NULL, err) ||
        pp_fits_write_key_long(w, "NBANDS", f->nbands, NULL, err) ||
        pp_fits_write_key_long(w, "NSRC", p->n_sources, NULL, err) ||
        pp_fits_write_key_long(w, "NHALO", p->n_halo, NULL, err) ||
        pp_fits_write_key_double(w, "ZPREF", f->zp_ref, NULL, err) ||
        pp_fits_write_key_long(w, "CROPX0", f->x0, NULL, err) ||
        pp_fits_write_key_long(w, "CROPY0", f->y0, NULL, err))
        return err->code;
    /* SPEC §9.3: the working-frame WCS shifted to the ROI origin. */
    return pp_wcs_write_shifted(w->fp, &wk->wcs, (double)p->x0_roi,
                                (double)p->y0_roi, err);
}

/* SCI and MASK of band k (SPEC §9.3, §5.3). */
static int write_band(pp_fits_writer *w, const patchify_payload_ctx *ctx,
                      const patchify_patch *p, worker *wk, int k,
                      pp_error *err)
{
    const pp_frame_band *b = &ctx->frames->bands[k];
    long rw = p->x1_roi - p->x0_roi, rh = p->y1_roi - p->y0_roi;
    long fx = ctx->frames->x0, fy = ctx->frames->y0;
    size_t n = (size_t)rw * (size_t)rh, i;
    double half_sat = b->saturate / 2.0;
    fitsfile *fp = NULL;
    int status;

    /* ROIs are in the working frame; the file is the full frame. */
    status = pp_fits_open_hdu(b->path, b->hdu, &fp, err);
    if (status == PP_OK)
        status = pp_fits_read_subset(fp, p->x0_roi + fx, p->x1_roi + fx,
                                     p->y0_roi + fy, p->y1_roi + fy,
                                     wk->pix, err);
    pp_fits_close(fp);
    if (status != PP_OK)
        return status;
    for (i = 0; i < n; i++) {
        float raw = wk->pix[i];
        unsigned char m = wk->bmask[i];

        if (!isfinite(raw))
            m |= MASK_NONFINITE;
        else if (!isnan(half_sat) && (double)raw >= half_sat)
            m |= MASK_SATURATED;
        wk->mask[i] = m;
        wk->pix[i] = (float)((double)raw * b->scale);
    }
    if (pp_fits_add_image(w, "SCI", FLOAT_IMG, rw, rh, PP_FITS_GZIP2,
                          err) ||
        pp_fits_write_key_long(w, "EXTVER", k + 1, NULL, err) ||
        pp_fits_write_key_string(w, "BAND", b->band, NULL, err) ||
        pp_fits_write_key_double(w, "SCALE", b->scale, "SCI = raw x SCALE",
                                 err) ||
        pp_fits_write_key_double(w, "SKYSIGS", b->sky_sigma_scaled,
                                 "sky sigma, scaled", err) ||
        pp_fits_write_key_double(w, "EGAIN", b->egain, NULL, err) ||
        pp_fits_write_key_double(w, "SATURATE", b->saturate, NULL, err) ||
        pp_fits_write_key_double(w, "FWHMPIX", b->fwhm_pix, NULL, err) ||
        pp_fits_write_key_string(w, "FWHMSRC", b->fwhm_source, NULL, err) ||
        pp_fits_write_key_string(w, "SRCFILE", b->path, NULL, err) ||
        pp_fits_write_rows(w, 0, rh, wk->pix, err) ||
        pp_fits_add_image(w, "MASK", BYTE_IMG, rw, rh, PP_FITS_GZIP2,
                          err) ||
        pp_fits_write_key_long(w, "EXTVER", k + 1, NULL, err) ||
        pp_fits_write_key_string(w, "BAND", b->band, NULL, err) ||
        pp_fits_write_rows(w, 0, rh, wk->mask, err))
        return err->code;
    return PP_OK;
}

static int is_typed_name(const char *name)
{
    int i;

    for (i = 0; i < NTYPED; i++)
        if (strcasecmp(name, typed_names[i]) == 0)
            return 1;
    return 0;
}

/* The SOURCES table (SPEC §9.3): rows base, halo, edge; the catalogue's
 * columns as 1PB byte columns (x_pix_white, y_pix_white as D), then the
 * typed columns. */
static int write_sources(pp_fits_writer *w, const patchify_payload_ctx *ctx,
                         const patchify_patch *p, pp_error *err)
{
    const pp_table *t = ctx->cat;
    int nc = pp_table_ncols(t), ncol = 0, c, j, status = PP_OK;
    long nrow = p->n_sources + p->n_halo + p->n_edge, r;
    const char **names = pp_xcalloc((size_t)nc + NTYPED, sizeof *names);
    const char **forms = pp_xcalloc((size_t)nc + NTYPED, sizeof *forms);
    int *catcol = pp_xcalloc((size_t)nc + 1, sizeof *catcol);
    double *v = pp_xcalloc((size_t)nrow + 1, sizeof *v);
    char *l = pp_xcalloc((size_t)nrow + 1, 1);

    for (c = 0; c < nc; c++)
        if (!is_typed_name(pp_table_colname(t, c))) {
            catcol[ncol] = c;
            names[ncol] = pp_table_colname(t, c);
            forms[ncol++] = "1PB";
        }
    for (j = 0; j < NTYPED; j++) {
        names[ncol + j] = typed_names[j];
        forms[ncol + j] = typed_forms[j];
    }
    if (pp_fits_add_table(w, "SOURCES", ncol + NTYPED, names, forms, err))
        goto fail;
    /* Typed columns first: they give the table its nrow rows, so that an
     * empty cell is simply a zero-length descriptor. */
    for (j = 0; j < 4; j++) {
        for (r = 0; r < nrow; r++) {
            long row = p->rows[r];
            double x;

            pp_table_get_double(t, row, j % 2 ? ctx->col_y : ctx->col_x,
                                ctx->cat_path, &x, err);
            v[r] = j < 2 ? x : x - (double)(j % 2 ? p->y0_roi : p->x0_roi);
        }
        if (nrow && pp_fits_write_column(w, ncol + j + 1, 1, nrow, TDOUBLE,
                                         v, err))
            goto fail;
    }
    for (j = 0; j < 2; j++) {
        for (r = 0; r < nrow; r++)
            l[r] = j == 0 ? (r >= p->n_sources && r < p->n_sources +
                             p->n_halo) : r >= p->n_sources + p->n_halo;
        if (nrow && pp_fits_write_column(w, ncol + 5 + j, 1, nrow,
                                         TLOGICAL, l, err))
            goto fail;
    }
    for (c = 0; c < ncol; c++)
        for (r = 0; r < nrow; r++) {
            const char *s = pp_table_get(t, p->rows[r], catcol[c]);
            long len = (long)strlen(s);

            if (len && pp_fits_write_column(w, c + 1, r + 1, len, TBYTE, s,
                                            err))
                goto fail;
        }
    goto out;
fail:
    status = err->code ? err->code : PP_EINTERNAL;
out:
    free(names);
    free(forms);
    free(catcol);
    free(v);
    free(l);
    return status;
}

static int write_payload(const patchify_payload_ctx *ctx,
                         const patchify_patch *p, worker *wk, pp_error *err)
{
    pp_fits_writer w;
    long rw = p->x1_roi - p->x0_roi, rh = p->y1_roi - p->y0_roi;
    char *path = pp_io_path_join(ctx->dir, p->payload);
    int k, status;

    memset(&w, 0, sizeof w);
    status = worker_reserve(wk, (size_t)rw * (size_t)rh, err);
    if (status == PP_OK && wk->bright)
        status = pp_fits_read_subset_u8(wk->bright, p->x0_roi, p->x1_roi,
                                        p->y0_roi, p->y1_roi, wk->bmask, err);
    if (status == PP_OK && !wk->bright)
        memset(wk->bmask, 0, (size_t)rw * (size_t)rh);
    if (status == PP_OK && wk->bright)
        for (size_t i = 0; i < (size_t)rw * (size_t)rh; i++)
            wk->bmask[i] = wk->bmask[i] ? MASK_BRIGHT : 0;
    if (status == PP_OK)
        status = pp_fits_create(path, &w, err);
    /* SPEC §9.3 asks for patch_inputs.gzip_compresslevel "where cfitsio
     * allows": cfitsio's tile compression has no level setting (GZIP_2
     * always uses its built-in level), so the key has no effect. */
    if (status == PP_OK)
        status = write_primary(&w, ctx, p, wk, err);
    for (k = 0; status == PP_OK && k < ctx->frames->nbands; k++)
        status = write_band(&w, ctx, p, wk, k, err);
    if (status == PP_OK)
        status = write_sources(&w, ctx, p, err);
    if (status == PP_OK)
        status = pp_fits_commit(&w, err);
    else
        pp_fits_abort(&w);
    if (status != PP_OK)
        pp_error_prefix(err, "patch %s: ", p->patch_tag);
    free(path);
    return status;
}

static void *worker_main(void *arg)
{
    pool *pl = arg;
    const patchify_payload_ctx *ctx = pl->ctx;
    pp_error err = PP_ERROR_INIT;
    worker wk;
    int i;

    if (worker_init(&wk, ctx, &err) == PP_OK)
        for (;;) {
            pthread_mutex_lock(&pl->lock);
            i = pl->failed ? pl->plan->n : pl->next;
            while (i < pl->plan->n && !pl->plan->patches[i].payload[0])
                i++;
            pl->next = i + 1;
            pthread_mutex_unlock(&pl->lock);
            if (i >= pl->plan->n)
                break;
            if (write_payload(ctx, &pl->plan->patches[i], &wk, &err) != PP_OK)
                break;
            pthread_mutex_lock(&pl->lock);
            pl->written[i] = 1;
            pp_progress_step(&pl->progress, 1);
            pthread_mutex_unlock(&pl->lock);
        }
    if (err.code != PP_OK) {
        pthread_mutex_lock(&pl->lock);
        if (!pl->failed)
            pl->err = err;
        pl->failed = 1;
        pthread_mutex_unlock(&pl->lock);
    }
    worker_release(&wk);
    return NULL;
}

/* Remove the payloads this call committed (after a failure). */
static void remove_written(const pool *pl)
{
    int i;

    for (i = 0; i < pl->plan->n; i++)
        if (pl->written[i]) {
            char *path = pp_io_path_join(pl->ctx->dir,
                                         pl->plan->patches[i].payload);
            unlink(path);
            free(path);
        }
}

int patchify_write_payloads(const patchify_payload_ctx *ctx,
                            const patchify_plan *plan, pp_error *err)
{
    pool pl;
    pthread_t *tid;
    long nt = ctx->nthreads < 1 ? 1 : ctx->nthreads, started = 0, t;
    long todo = 0;
    int i;

    for (i = 0; i < plan->n; i++)
        todo += plan->patches[i].payload[0] != 0;
    if (nt > todo)
        nt = todo > 0 ? todo : 1;
    memset(&pl, 0, sizeof pl);
    pl.ctx = ctx;
    pl.plan = plan;
    pl.err = (pp_error)PP_ERROR_INIT;
    pl.written = pp_xcalloc((size_t)plan->n + 1, 1);
    pthread_mutex_init(&pl.lock, NULL);
    pp_progress_start(&pl.progress, "payloads", todo);
    tid = pp_xcalloc((size_t)nt, sizeof *tid);
    for (t = 0; t < nt; t++) {
        if (pthread_create(&tid[t], NULL, worker_main, &pl) != 0) {
            pthread_mutex_lock(&pl.lock);
            if (!pl.failed)
                pp_error_set(&pl.err, PP_EINTERNAL, "cannot start a "
                             "payload thread");
            pl.failed = 1;
            pthread_mutex_unlock(&pl.lock);
            break;
        }
        started++;
    }
    for (t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    pp_progress_end(&pl.progress);
    if (pl.failed) {
        remove_written(&pl);
        *err = pl.err;
    }
    pthread_mutex_destroy(&pl.lock);
    free(tid);
    free(pl.written);
    return pl.failed ? err->code : PP_OK;
}
