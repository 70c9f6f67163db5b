/* stack.c - one streaming pass over the pixels (SPEC §6.1 steps 4-5).
 *
 * The full frame is read in blocks of rows, band after band within a
 * block, so memory is one block of one band plus the block's accumulators,
 * whatever the number of bands.  Per block this builds the white stack and
 * its sigma (working frame), the any-band saturation mask, the binned white
 * stack of the whole frame (WHITE_FULL), and tests the saturation disks of
 * the sources that reach the block.
 *
 * WHITE is streamed into the final file; SIGMA and SATANY into two side
 * files whose compressed HDUs are then appended (a FITS file can only grow
 * at its last HDU).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fitsio.h>

#include "pp_fits.h"
#include "pp_log.h"
#include "pp_mem.h"
#include "pp_progress.h"

#include "crop.h"

#define BLOCK_BYTES (32L << 20)     /* target size of one band's block */
#define BINNED_MAX_SIDE 2048        /* SPEC §6.1: WHITE_FULL <= 2048 px */

/* A source's rounded working position, sorted by row for the disk test. */
typedef struct {
    long x, y, row;
} disk_src;

typedef struct {
    const crop_images *im;
    crop_catalog *cat;
    long W, H, x0, x1, y0, y1, ww, wh;
    long block;                 /* rows per block */
    double radius;              /* source_saturation_cut.radius_pix */
    int cut;                    /* source_saturation_cut.enabled */
    fitsfile **fps;             /* per band, open */
    float *raw;                 /* block x W, one band */
    double *num, *den;          /* block x W accumulators */
    unsigned char *satany, *satb;   /* block x W */
    float *white, *sigma;       /* block x ww output rows */
    unsigned char *satout;      /* block x ww */
    long binfac, bw, bh;
    double *bin_sum, *bin_cnt;
    disk_src *src;
    long nsrc;
    double t_write;             /* seconds spent writing white.fits */
} stack_state;

static int cmp_disk(const void *a, const void *b)
{
    const disk_src *x = a, *y = b;

    return (x->y > y->y) - (x->y < y->y);
}

/* Sources with a projection, at their rounded working pixel (SPEC §3.1:
 * round half to even), sorted by row. */
static void collect_sources(stack_state *s)
{
    const crop_catalog *cat = s->cat;

    s->src = pp_xcalloc((size_t)cat->n + 1, sizeof *s->src);
    for (long r = 0; r < cat->n; ++r) {
        if (!isfinite(cat->x_full[r]) || !isfinite(cat->y_full[r]))
            continue;
        s->src[s->nsrc++] = (disk_src){
            (long)nearbyint(cat->x_full[r] - (double)s->x0),
            (long)nearbyint(cat->y_full[r] - (double)s->y0), r };
    }
    qsort(s->src, (size_t)s->nsrc, sizeof *s->src, cmp_disk);
}

static int alloc_state(stack_state *s, pp_error *err)
{
    size_t bw = (size_t)s->block * (size_t)s->W;
    size_t bo = (size_t)s->block * (size_t)s->ww;

    if (!(s->raw = pp_malloc_checked(bw, sizeof *s->raw, "a block of "
                                     "image rows", err)) ||
        !(s->num = pp_malloc_checked(bw, sizeof *s->num, "the white "
                                     "stack sums", err)) ||
        !(s->den = pp_malloc_checked(bw, sizeof *s->den, "the white "
                                     "stack weights", err)) ||
        !(s->satany = pp_malloc_checked(bw, 1, "the saturation mask",
                                        err)) ||
        !(s->satb = pp_malloc_checked(bw, 1, "a band's saturation mask",
                                      err)) ||
        !(s->white = pp_malloc_checked(bo, sizeof(float), "white rows",
                                       err)) ||
        !(s->sigma = pp_malloc_checked(bo, sizeof(float), "sigma rows",
                                       err)) ||
        !(s->satout = pp_malloc_checked(bo, 1, "mask rows", err)) ||
        !(s->bin_sum = pp_malloc_checked((size_t)(s->bw * s->bh),
                                         sizeof(double), "WHITE_FULL",
                                         err)) ||
        !(s->bin_cnt = pp_malloc_checked((size_t)(s->bw * s->bh),
                                         sizeof(double), "WHITE_FULL",
                                         err)))
        return err->code;
    return PP_OK;
}

static void free_state(stack_state *s)
{
    int status = 0;

    for (int b = 0; s->fps && b < s->im->frames.nbands; ++b)
        if (s->fps[b])
            fits_close_file(s->fps[b], &status);
    free(s->fps);
    free(s->raw);
    free(s->num);
    free(s->den);
    free(s->satany);
    free(s->satb);
    free(s->white);
    free(s->sigma);
    free(s->satout);
    free(s->bin_sum);
    free(s->bin_cnt);
    free(s->src);
}

/* Rows [y, y+ny) of band b into s->raw at full-frame width W; an image of
 * another shape (checks.require_same_shape off) is padded with NaN. */
static int read_rows(stack_state *s, int b, long y, long ny, pp_error *err)
{
    long wb = s->im->width[b], hb = s->im->height[b];
    long nx = wb < s->W ? wb : s->W;
    long yend = y + ny < hb ? y + ny : hb;

    if (wb == s->W && hb == s->H)
        return pp_fits_read_subset(s->fps[b], 0, s->W, y, y + ny, s->raw,
                                   err);
    for (long k = 0; k < ny * s->W; ++k)
        s->raw[k] = NAN;
    if (yend <= y)
        return PP_OK;
    if (pp_fits_read_subset(s->fps[b], 0, nx, y, yend, s->raw, err))
        return err->code;
    /* Spread the nx-wide rows to stride W, last row first. */
    for (long j = yend - y - 1; j >= 0; --j) {
        memmove(s->raw + j * s->W, s->raw + j * nx, sizeof(float) *
                (size_t)nx);
        for (long i = nx; i < s->W; ++i)
            s->raw[j * s->W + i] = NAN;
    }
    return PP_OK;
}

/* Add band b's block to the sums (SPEC §6.1 step 4, §5.3 masks).  Returns
 * 1 when a saturated pixel lies in the working frame. */
static int accumulate(stack_state *s, int b, long y, long ny)
{
    const pp_frame_band *fb = &s->im->frames.bands[b];
    double scale = fb->scale, w = 1.0 / (fb->sky_sigma_scaled *
                                         fb->sky_sigma_scaled);
    double sat = isfinite(fb->saturate) ? fb->saturate / 2.0 : INFINITY;
    int sat_in_work = 0;

    memset(s->satb, 0, (size_t)(ny * s->W));
    for (long j = 0; j < ny; ++j) {
        int row_in_work = y + j >= s->y0 && y + j < s->y1;
        long base = j * s->W;
        for (long i = 0; i < s->W; ++i) {
            double v = s->raw[base + i];
            if (!isfinite(v))
                continue;
            if (v >= sat) {
                s->satb[base + i] = 1;
                s->satany[base + i] = 1;
                sat_in_work |= row_in_work && i >= s->x0 && i < s->x1;
                continue;
            }
            s->num[base + i] += w * v * scale;
            s->den[base + i] += w;
        }
    }
    return sat_in_work;
}

/* SPEC §6.1 step 5: does the disk of integer offsets dx²+dy² <= R² around
 * the source touch a saturated pixel of band b inside the working frame,
 * within this block's rows [wy0, wy1) (working coordinates)? */
static int disk_hits(const stack_state *s, const disk_src *d, long wy0,
                     long wy1, long y_block)
{
    long ri = (long)floor(s->radius);
    double r2 = s->radius * s->radius;

    for (long dy = -ri; dy <= ri; ++dy) {
        long row = d->y + dy;
        if (row < wy0 || row >= wy1)
            continue;
        const unsigned char *m = s->satb + (row + s->y0 - y_block) * s->W +
                                 s->x0;
        for (long dx = -ri; dx <= ri; ++dx) {
            long col = d->x + dx;
            if ((double)(dx * dx + dy * dy) <= r2 && col >= 0 &&
                col < s->ww && m[col])
                return 1;
        }
    }
    return 0;
}

/* Test every not-yet-hit source whose disk reaches the block's working
 * rows against band b's saturation. */
static void test_disks(stack_state *s, int b, long y, long ny)
{
    long wy0 = (y > s->y0 ? y : s->y0) - s->y0;
    long wy1 = (y + ny < s->y1 ? y + ny : s->y1) - s->y0;
    long ri = (long)floor(s->radius), lo = 0, hi = s->nsrc;
    int nb = s->im->frames.nbands;

    if (wy1 <= wy0)
        return;
    /* First source with row >= wy0 - ri (binary search). */
    while (lo < hi) {
        long mid = (lo + hi) / 2;
        if (s->src[mid].y < wy0 - ri)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (long k = lo; k < s->nsrc && s->src[k].y < wy1 + ri; ++k) {
        unsigned char *hit = &s->cat->hits[s->src[k].row * nb + b];
        if (!*hit && disk_hits(s, &s->src[k], wy0, wy1, y))
            *hit = 1;
    }
}

/* The block's white stack: working rows out, whole rows binned. */
static void finish_block(stack_state *s, long y, long ny, long *wrow0,
                         long *nwrows)
{
    long n = 0;

    *wrow0 = -1;
    for (long j = 0; j < ny; ++j) {
        long yf = y + j, base = j * s->W;
        double *bs = s->bin_sum + (yf / s->binfac) * s->bw;
        double *bc = s->bin_cnt + (yf / s->binfac) * s->bw;
        for (long i = 0; i < s->W; ++i)
            if (s->den[base + i] > 0) {
                bs[i / s->binfac] += s->num[base + i] / s->den[base + i];
                bc[i / s->binfac] += 1.0;
            }
        if (yf < s->y0 || yf >= s->y1)
            continue;
        if (*wrow0 < 0)
            *wrow0 = yf - s->y0;
        for (long i = 0; i < s->ww; ++i) {
            double d = s->den[base + s->x0 + i];
            s->white[n * s->ww + i] = d > 0 ? (float)(s->num[base + s->x0 +
                                                      i] / d) : NAN;
            s->sigma[n * s->ww + i] = d > 0 ? (float)sqrt(1.0 / d)
                                            : INFINITY;
            s->satout[n * s->ww + i] = s->satany[base + s->x0 + i];
        }
        ++n;
    }
    *nwrows = n;
}

/* Open every band once, for the whole pass. */
static int open_bands(stack_state *s, pp_error *err)
{
    int nb = s->im->frames.nbands, hdu;

    s->fps = pp_xcalloc((size_t)nb, sizeof *s->fps);
    for (int b = 0; b < nb; ++b)
        if (pp_fits_open_image(s->im->frames.bands[b].path, &s->fps[b], &hdu,
                               err) != PP_OK)
            return err->code;
    return PP_OK;
}

/* The three streamed images: WHITE into the final file, SIGMA and SATANY
 * into side files. */
typedef struct {
    pp_fits_writer white, sigma, sat;
} stack_files;

static int open_files(const stack_state *s, const char *white_path,
                      stack_files *f, pp_error *err)
{
    char *p_sigma = pp_xasprintf("%s.SIGMA", white_path);
    char *p_sat = pp_xasprintf("%s.SATANY", white_path);
    int rc;

    rc = pp_fits_create(white_path, &f->white, err) ||
         pp_fits_add_image(&f->white, "WHITE", FLOAT_IMG, s->ww, s->wh,
                           PP_FITS_GZIP2, err) ||
         pp_fits_create(p_sigma, &f->sigma, err) ||
         pp_fits_add_image(&f->sigma, "SIGMA", FLOAT_IMG, s->ww, s->wh,
                           PP_FITS_GZIP2, err) ||
         pp_fits_create(p_sat, &f->sat, err) ||
         pp_fits_add_image(&f->sat, "SATANY", BYTE_IMG, s->ww, s->wh,
                           PP_FITS_GZIP2, err);
    free(p_sigma);
    free(p_sat);
    return rc ? err->code : PP_OK;
}

static int write_block(stack_files *f, const stack_state *s, long wrow0,
                       long n, pp_error *err)
{
    if (n == 0)
        return PP_OK;
    if (pp_fits_write_rows(&f->white, wrow0, n, s->white, err) ||
        pp_fits_write_rows(&f->sigma, wrow0, n, s->sigma, err) ||
        pp_fits_write_rows(&f->sat, wrow0, n, s->satout, err))
        return err->code;
    return PP_OK;
}

/* WHITE_FULL: the block averages, NaN where a block had no value. */
static int write_binned(stack_files *f, const stack_state *s, pp_error *err)
{
    long n = s->bw * s->bh;
    float *img = pp_malloc_checked((size_t)n, sizeof *img, "WHITE_FULL",
                                   err);
    int rc;

    if (!img)
        return err->code;
    for (long k = 0; k < n; ++k)
        img[k] = s->bin_cnt[k] > 0 ? (float)(s->bin_sum[k] / s->bin_cnt[k])
                                   : NAN;
    rc = pp_fits_add_image(&f->white, "WHITE_FULL", FLOAT_IMG, s->bw, s->bh,
                           PP_FITS_GZIP2, err) ||
         pp_fits_write_key_long(&f->white, "BINFAC", s->binfac,
                                "block-average factor of the full frame",
                                err) ||
         pp_fits_write_key_long(&f->white, "CROPX0", s->x0,
                                "crop box x0 in the full frame", err) ||
         pp_fits_write_key_long(&f->white, "CROPX1", s->x1,
                                "crop box x1 (exclusive)", err) ||
         pp_fits_write_key_long(&f->white, "CROPY0", s->y0,
                                "crop box y0 in the full frame", err) ||
         pp_fits_write_key_long(&f->white, "CROPY1", s->y1,
                                "crop box y1 (exclusive)", err) ||
         pp_fits_write_rows(&f->white, 0, s->bh, img, err);
    free(img);
    return rc ? err->code : PP_OK;
}

static void init_state(stack_state *s, const pp_config *cfg,
                       const crop_images *im, crop_catalog *cat)
{
    const pp_frames *f = &im->frames;
    long side;

    memset(s, 0, sizeof *s);
    s->im = im;
    s->cat = cat;
    s->W = f->full_w;
    s->H = f->full_h;
    s->x0 = f->x0;
    s->x1 = f->x1;
    s->y0 = f->y0;
    s->y1 = f->y1;
    s->ww = f->work_w;
    s->wh = f->work_h;
    s->cut = cfg->source_saturation_cut.enabled;
    s->radius = cfg->source_saturation_cut.radius_pix;
    s->block = BLOCK_BYTES / (4 * s->W);
    if (s->block < 1)
        s->block = 1;
    if (s->block > s->H)
        s->block = s->H;
    side = s->W > s->H ? s->W : s->H;
    s->binfac = (side + BINNED_MAX_SIDE - 1) / BINNED_MAX_SIDE;
    s->bw = (s->W + s->binfac - 1) / s->binfac;
    s->bh = (s->H + s->binfac - 1) / s->binfac;
}

/* SPEC §6.1 step 5: the flag from the per-band hits. */
static void flag_saturation(const pp_config *cfg, crop_catalog *cat,
                            int nb)
{
    int all = cfg->source_saturation_cut.require_all_bands;

    for (long r = 0; r < cat->n; ++r) {
        int nhit = 0;
        for (int b = 0; b < nb; ++b)
            nhit += cat->hits[r * nb + b];
        cat->excluded_saturation[r] =
            cfg->source_saturation_cut.enabled &&
            (all ? nhit == nb : nhit > 0);
    }
}

static int stream(stack_state *s, stack_files *f, pp_error *err)
{
    int nb = s->im->frames.nbands;
    pp_progress prog;

    pp_progress_start(&prog, "white stack", s->H);
    for (long y = 0; y < s->H; y += s->block) {
        long ny = y + s->block <= s->H ? s->block : s->H - y, wrow0, nw;
        size_t npix = (size_t)(ny * s->W);
        memset(s->num, 0, npix * sizeof *s->num);
        memset(s->den, 0, npix * sizeof *s->den);
        memset(s->satany, 0, npix);
        for (int b = 0; b < nb; ++b) {
            if (read_rows(s, b, y, ny, err) != PP_OK)
                return pp_error_prefix(err, "band '%s': ",
                                       s->im->frames.bands[b].band);
            if (accumulate(s, b, y, ny) && s->cut)
                test_disks(s, b, y, ny);
        }
        finish_block(s, y, ny, &wrow0, &nw);
        double t = pp_progress_now();
        if (write_block(f, s, wrow0, nw, err) != PP_OK)
            return err->code;
        s->t_write += pp_progress_now() - t;
        pp_progress_step(&prog, ny);
    }
    pp_progress_end(&prog);
    return PP_OK;
}

int crop_stack(const pp_config *cfg, const crop_images *im,
               crop_catalog *cat, const char *white_path,
               double *write_seconds, pp_error *err)
{
    stack_state s;
    stack_files f;
    double t;
    int rc;

    memset(&f, 0, sizeof f);
    init_state(&s, cfg, im, cat);
    collect_sources(&s);
    if ((rc = alloc_state(&s, err)) != PP_OK ||
        (rc = open_bands(&s, err)) != PP_OK ||
        (rc = open_files(&s, white_path, &f, err)) != PP_OK ||
        (rc = stream(&s, &f, err)) != PP_OK)
        goto out;
    flag_saturation(cfg, cat, im->frames.nbands);
    t = pp_progress_now();
    rc = pp_fits_append_from(&f.white, &f.sigma, err) ||
         pp_fits_append_from(&f.white, &f.sat, err) ||
         write_binned(&f, &s, err) ||
         pp_fits_commit(&f.white, err);
    s.t_write += pp_progress_now() - t;
    *write_seconds = s.t_write;
out:
    pp_fits_abort(&f.white);
    pp_fits_abort(&f.sigma);
    pp_fits_abort(&f.sat);
    free_state(&s);
    return rc ? err->code : PP_OK;
}
