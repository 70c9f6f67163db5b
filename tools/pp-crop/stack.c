/* stack.c - the streaming pass of pp-crop (SPEC §6.1 steps 4-5): workers,
 * the in-order writer, WHITE_FULL and the saturation flags.  See stack.h
 * for the design.
 *
 * WHITE is streamed into the final file; SIGMA and SATANY into two side
 * files whose compressed HDUs are appended afterwards (a FITS file can
 * only grow at its last HDU).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pp_fits.h"
#include "pp_log.h"
#include "pp_mem.h"
#include "pp_progress.h"

#include "stack.h"

/* Pixels per block: small enough that a band's rows and the block's sums
 * stay in the CPU caches while every band is added. */
#define BLOCK_PIXELS (1L << 17)
#define BINNED_MAX_SIDE 2048        /* SPEC §6.1: WHITE_FULL <= 2048 px */

/* The pass: geometry, workers, and the writer's state. */
typedef struct {
    stack_geom g;
    stack_worker *w;
    int nworkers;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop;                   /* a worker or the writer failed */
    double *bin_sum, *bin_cnt;  /* WHITE_FULL sums, bw x bh */
    pp_fits_writer white, sigma, sat;
    double t_write;
} stack_pass;

static int cmp_src(const void *a, const void *b)
{
    const stack_src *x = a, *y = b;

    return (x->y > y->y) - (x->y < y->y);
}

/* Sources with a projection at their rounded working pixel, by row. */
static stack_src *collect_sources(const crop_catalog *cat, long x0, long y0,
                                  long *n)
{
    stack_src *src = pp_xcalloc((size_t)cat->n + 1, sizeof *src);

    *n = 0;
    for (long r = 0; r < cat->n; ++r)
        if (isfinite(cat->x_full[r]) && isfinite(cat->y_full[r]))
            src[(*n)++] = (stack_src){
                (long)nearbyint(cat->x_full[r] - (double)x0),
                (long)nearbyint(cat->y_full[r] - (double)y0), r };
    qsort(src, (size_t)*n, sizeof *src, cmp_src);
    return src;
}

static void init_geom(stack_geom *g, const pp_config *cfg,
                      const crop_images *im, const crop_catalog *cat)
{
    const pp_frames *f = &im->frames;

    memset(g, 0, sizeof *g);
    g->im = im;
    g->W = f->full_w;
    g->H = f->full_h;
    g->x0 = f->x0;
    g->x1 = f->x1;
    g->y0 = f->y0;
    g->y1 = f->y1;
    g->ww = f->work_w;
    g->wh = f->work_h;
    g->cut = cfg->source_saturation_cut.enabled;
    g->radius = cfg->source_saturation_cut.radius_pix;
    g->block = BLOCK_PIXELS / g->W;
    if (g->block < 1)
        g->block = 1;
    if (g->block > g->H)
        g->block = g->H;
    g->nblocks = (g->H + g->block - 1) / g->block;
    long side = g->W > g->H ? g->W : g->H;
    g->binfac = (side + BINNED_MAX_SIDE - 1) / BINNED_MAX_SIDE;
    g->bw = (g->W + g->binfac - 1) / g->binfac;
    g->bh = (g->H + g->binfac - 1) / g->binfac;
    g->src = collect_sources(cat, g->x0, g->y0, &g->nsrc);
    g->nrows = cat->n;
}

/* performance.white_stack_workers: "auto" (0) is the number of cores. */
static int worker_count(const pp_config *cfg, long nblocks)
{
    long n = cfg->performance.white_stack_workers;

    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > nblocks)
        n = nblocks;
    return (int)n;
}

/* Worker k computes blocks k, k+n, k+2n, ... one at a time through its
 * slot, waiting for the writer to empty the slot before the next. */
static void *worker_main(void *arg)
{
    stack_worker *w = arg;
    stack_pass *p = w->pass;
    const stack_geom *g = &p->g;

    for (long b = w->id; b < g->nblocks; b += p->nworkers) {
        long y = b * g->block, ny = y + g->block <= g->H ? g->block
                                                         : g->H - y;
        int rc;
        pthread_mutex_lock(&p->lock);
        while (w->full && !p->stop)
            pthread_cond_wait(&p->cond, &p->lock);
        int stop = p->stop;
        pthread_mutex_unlock(&p->lock);
        if (stop)
            break;
        rc = stack_block(w, y, ny, &w->err);
        pthread_mutex_lock(&p->lock);
        if (rc != PP_OK)
            w->failed = p->stop = 1;
        else
            w->full = 1;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
        if (rc != PP_OK)
            break;
    }
    return NULL;
}

/* Add a block's WHITE_FULL row sums, in row order (the writer alone does
 * this, so the sums are the same for any number of workers). */
static void bin_block(stack_pass *p, const stack_worker *w)
{
    const stack_geom *g = &p->g;

    for (long j = 0; j < w->ny; ++j) {
        long by = (w->y + j) / g->binfac;
        double *bs = p->bin_sum + by * g->bw, *bc = p->bin_cnt + by * g->bw;
        const double *rs = w->rsum + j * g->bw, *rc = w->rcnt + j * g->bw;
        for (long bx = 0; bx < g->bw; ++bx) {
            bs[bx] += rs[bx];
            bc[bx] += rc[bx];
        }
    }
}

static int write_block(stack_pass *p, const stack_worker *w, pp_error *err)
{
    double t = pp_progress_now();

    if (w->nw > 0 &&
        (pp_fits_write_rows(&p->white, w->wrow0, w->nw, w->white, err) ||
         pp_fits_write_rows(&p->sigma, w->wrow0, w->nw, w->sigma, err) ||
         pp_fits_write_rows(&p->sat, w->wrow0, w->nw, w->satout, err)))
        return err->code;
    p->t_write += pp_progress_now() - t;
    return PP_OK;
}

/* Wait for block b in its worker's slot; PP_OK, or the error that stopped
 * the pass (the failing worker's own). */
static int wait_block(stack_pass *p, long b, pp_error *err)
{
    stack_worker *w = &p->w[b % p->nworkers];
    int rc = PP_OK;

    pthread_mutex_lock(&p->lock);
    while (!w->full && !p->stop)
        pthread_cond_wait(&p->cond, &p->lock);
    if (!w->full)
        for (int k = 0; k < p->nworkers; ++k)
            if (p->w[k].failed) {
                *err = p->w[k].err;
                rc = err->code;
                break;
            }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

/* The writer: every block in order, binned, written, its slot freed. */
static int write_all(stack_pass *p, pp_error *err)
{
    pp_progress prog;
    int rc = PP_OK;

    pp_progress_start(&prog, "white stack", p->g.nblocks);
    for (long b = 0; b < p->g.nblocks && rc == PP_OK; ++b) {
        stack_worker *w = &p->w[b % p->nworkers];
        if ((rc = wait_block(p, b, err)) != PP_OK)
            break;
        bin_block(p, w);
        rc = write_block(p, w, err);
        pthread_mutex_lock(&p->lock);
        w->full = 0;
        if (rc != PP_OK)
            p->stop = 1;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
        pp_progress_step(&prog, 1);
    }
    pp_progress_end(&prog);
    return rc;
}

static int open_files(stack_pass *p, const char *white_path, pp_error *err)
{
    char *p_sigma = pp_xasprintf("%s.SIGMA", white_path);
    char *p_sat = pp_xasprintf("%s.SATANY", white_path);
    long ww = p->g.ww, wh = p->g.wh;
    int rc;

    rc = pp_fits_create(white_path, &p->white, err) ||
         pp_fits_add_image(&p->white, "WHITE", FLOAT_IMG, ww, wh,
                           PP_FITS_GZIP2, err) ||
         pp_fits_create(p_sigma, &p->sigma, err) ||
         pp_fits_add_image(&p->sigma, "SIGMA", FLOAT_IMG, ww, wh,
                           PP_FITS_GZIP2, err) ||
         pp_fits_create(p_sat, &p->sat, err) ||
         pp_fits_add_image(&p->sat, "SATANY", BYTE_IMG, ww, wh,
                           PP_FITS_GZIP2, err);
    free(p_sigma);
    free(p_sat);
    return rc ? err->code : PP_OK;
}

/* WHITE_FULL: block averages of the whole frame, NaN where a block had
 * no value, with the factor and the crop box as keywords. */
static int write_binned(stack_pass *p, pp_error *err)
{
    long n = p->g.bw * p->g.bh;
    float *img = pp_malloc_checked((size_t)n, sizeof *img, "WHITE_FULL",
                                   err);
    pp_fits_writer *f = &p->white;
    int rc;

    if (!img)
        return err->code;
    for (long k = 0; k < n; ++k)
        img[k] = p->bin_cnt[k] > 0 ? (float)(p->bin_sum[k] / p->bin_cnt[k])
                                   : NAN;
    rc = pp_fits_add_image(f, "WHITE_FULL", FLOAT_IMG, p->g.bw, p->g.bh,
                           PP_FITS_GZIP2, err) ||
         pp_fits_write_key_long(f, "BINFAC", p->g.binfac,
                                "block-average factor of the full frame",
                                err) ||
         pp_fits_write_key_long(f, "CROPX0", p->g.x0,
                                "crop box x0 in the full frame", err) ||
         pp_fits_write_key_long(f, "CROPX1", p->g.x1,
                                "crop box x1 (exclusive)", err) ||
         pp_fits_write_key_long(f, "CROPY0", p->g.y0,
                                "crop box y0 in the full frame", err) ||
         pp_fits_write_key_long(f, "CROPY1", p->g.y1,
                                "crop box y1 (exclusive)", err) ||
         pp_fits_write_rows(f, 0, p->g.bh, img, err);
    free(img);
    return rc ? err->code : PP_OK;
}

/* SPEC §6.1 step 5: the flag from the workers' per-band hits. */
static void flag_saturation(const pp_config *cfg, const stack_pass *p,
                            crop_catalog *cat)
{
    int nb = p->g.im->frames.nbands;
    int all = cfg->source_saturation_cut.require_all_bands;

    for (long r = 0; r < cat->n; ++r) {
        int nhit = 0;
        for (int b = 0; b < nb; ++b) {
            int hit = 0;
            for (int k = 0; k < p->nworkers; ++k)
                hit |= p->w[k].hits[r * nb + b];
            cat->hits[r * nb + b] = (unsigned char)hit;
            nhit += hit;
        }
        cat->excluded_saturation[r] = cfg->source_saturation_cut.enabled &&
                                      (all ? nhit == nb : nhit > 0);
    }
}

static int init_pass(stack_pass *p, const pp_config *cfg,
                     const crop_images *im, const crop_catalog *cat,
                     pp_error *err)
{
    memset(p, 0, sizeof *p);
    init_geom(&p->g, cfg, im, cat);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->nworkers = worker_count(cfg, p->g.nblocks);
    p->w = pp_xcalloc((size_t)p->nworkers, sizeof *p->w);
    if (!(p->bin_sum = pp_malloc_checked((size_t)(p->g.bw * p->g.bh),
                                         sizeof(double), "WHITE_FULL",
                                         err)) ||
        !(p->bin_cnt = pp_malloc_checked((size_t)(p->g.bw * p->g.bh),
                                         sizeof(double), "WHITE_FULL",
                                         err)))
        return err->code;
    for (int k = 0; k < p->nworkers; ++k) {
        if (stack_worker_init(&p->w[k], &p->g, err) != PP_OK)
            return err->code;
        p->w[k].pass = p;
        p->w[k].id = k;
    }
    return PP_OK;
}

static void release_pass(stack_pass *p)
{
    pp_fits_abort(&p->white);
    pp_fits_abort(&p->sigma);
    pp_fits_abort(&p->sat);
    for (int k = 0; p->w && k < p->nworkers; ++k)
        stack_worker_release(&p->w[k]);
    free(p->w);
    free(p->bin_sum);
    free(p->bin_cnt);
    free((void *)p->g.src);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
}

/* Start the workers, write every block, stop and join the workers. */
static int run_pass(stack_pass *p, pp_error *err)
{
    int started = 0, rc = PP_OK;

    for (; started < p->nworkers; ++started)
        if (pthread_create(&p->w[started].thread, NULL, worker_main,
                           &p->w[started]) != 0) {
            rc = pp_error_set(err, PP_EINTERNAL, "cannot start a white "
                              "stack thread");
            break;
        }
    if (rc == PP_OK)
        rc = write_all(p, err);
    pthread_mutex_lock(&p->lock);
    if (rc != PP_OK)
        p->stop = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (int k = 0; k < started; ++k)
        pthread_join(p->w[k].thread, NULL);
    return rc;
}

int crop_stack(const pp_config *cfg, const crop_images *im,
               crop_catalog *cat, const char *white_path,
               double *write_seconds, pp_error *err)
{
    stack_pass p;
    double t;
    int rc;

    if ((rc = init_pass(&p, cfg, im, cat, err)) != PP_OK ||
        (rc = open_files(&p, white_path, err)) != PP_OK)
        goto out;
    pp_log(PP_LOG_DEBUG, "white stack: %ld blocks of %ld rows, %d "
           "worker%s", p.g.nblocks, p.g.block, p.nworkers,
           p.nworkers > 1 ? "s" : "");
    if ((rc = run_pass(&p, err)) != PP_OK)
        goto out;
    flag_saturation(cfg, &p, cat);
    t = pp_progress_now();
    rc = pp_fits_append_from(&p.white, &p.sigma, err) ||
         pp_fits_append_from(&p.white, &p.sat, err) ||
         write_binned(&p, err) ||
         pp_fits_commit(&p.white, err);
    p.t_write += pp_progress_now() - t;
    *write_seconds = p.t_write;
    rc = rc ? err->code : PP_OK;
out:
    release_pass(&p);
    return rc;
}
