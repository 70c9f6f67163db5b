/* mask.c - `pp-crop mask`: the bright unmatched-source mask (SPEC §6.8).
 * See mask.h for the contract.
 *
 * Order: the base catalogue is read and checked first (cheap input errors
 * before any pixel work), then WHITE and SIGMA are read whole (SEP needs
 * the image in memory), detected on, and freed; the matching and the
 * mask use only the detection list, and SATANY is streamed in row blocks
 * into the output mask.  The outputs are written last.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sep.h>

#include "pp_catalog.h"
#include "pp_csv.h"
#include "pp_fits.h"
#include "pp_io.h"
#include "pp_log.h"
#include "pp_mem.h"
#include "pp_progress.h"
#include "pp_table.h"

#include "mask.h"

/* SPEC §6.8 step 1: SEP's parameters. */
#define BKG_BOX 64                  /* bw = bh */
#define BKG_FILTER 3                /* fw = fh */
#define BKG_FTHRESH 0.0             /* SEP's default filter threshold */
#define DEBLEND_NTHRESH 32
#define DEBLEND_CONT 0.005
#define CLEAN_PARAM 1.0
#define APER_R 2.5                  /* sep_sum_ellipse r, in units of a, b */
#define SAT_BLOCK_ROWS 256          /* SATANY rows read at a time */
#define GRID_CELL_MIN 16.0          /* pixels; see grid_build() */

static const char *const col_added = "affected_by_bright_mask";

/* ---- The base catalogue ------------------------------------------------ */

typedef struct {
    char *path;
    pp_table table;
    long n;
    int col_x, col_y, col_any, col_id, col_ra, col_dec;
    double *x, *y;                  /* working frame; NAN when missing */
    unsigned char *active;          /* excluded_any False */
    unsigned char *cat_matched, *affected;
} mask_catalog;

static void catalog_release(mask_catalog *c)
{
    free(c->path);
    pp_table_release(&c->table);
    free(c->x);
    free(c->y);
    free(c->active);
    free(c->cat_matched);
    free(c->affected);
    memset(c, 0, sizeof *c);
}

static int need_column(mask_catalog *c, const char *name, int *col,
                       pp_error *err)
{
    *col = pp_table_find_column(&c->table, name, NULL);
    if (*col < 0)
        return pp_error_set(err, PP_EDATA, "'%s': no column '%s' (expected "
                            "the columns pp-crop adds; run 'pp-crop -c "
                            "CONFIG' first)", c->path, name);
    return PP_OK;
}

/* excluded_any as pp-crop writes it (SPEC §3.4: True/False). */
static int parse_bool(const mask_catalog *c, long r, int col, int *out,
                      pp_error *err)
{
    const char *s = pp_table_get(&c->table, r, col);

    if (!strcasecmp(s, "True"))
        *out = 1;
    else if (!strcasecmp(s, "False"))
        *out = 0;
    else
        return pp_error_set(err, PP_EDATA, "%s: row %ld (line %ld): column "
                            "'%s': found '%s', expected True or False",
                            c->path, r + 1, pp_table_line(&c->table, r),
                            pp_table_colname(&c->table, col), s);
    return PP_OK;
}

/* Read the base catalogue and its working coordinates and flags. */
static int catalog_load(const pp_config *cfg, mask_catalog *c,
                        pp_error *err)
{
    size_t n;

    c->path = pp_catalog_base_path(cfg);
    if (pp_csv_read(c->path, &c->table, err) != PP_OK)
        return err->code == PP_EIO && !pp_io_exists(c->path)
               ? pp_error_prefix(err, "base catalogue (run 'pp-crop -c "
                                 "CONFIG' first): ")
               : err->code;
    if (need_column(c, "x_pix_white", &c->col_x, err) ||
        need_column(c, "y_pix_white", &c->col_y, err) ||
        need_column(c, "excluded_any", &c->col_any, err))
        return err->code;
    /* SPEC §3.3: the merge key is ID, else the (RA, DEC) text pair. */
    c->col_id = pp_table_find_column(&c->table, "ID", NULL);
    c->col_ra = pp_table_find_column(&c->table, "RA", NULL);
    c->col_dec = pp_table_find_column(&c->table, "DEC", NULL);
    if (c->col_id < 0 && (c->col_ra < 0 || c->col_dec < 0))
        return pp_error_set(err, PP_EDATA, "'%s': no column 'ID' nor "
                            "'RA' and 'DEC' for the merge key", c->path);
    c->n = pp_table_nrows(&c->table);
    n = (size_t)c->n + 1;
    c->x = pp_malloc_checked(n, sizeof *c->x, "catalogue x", err);
    c->y = c->x ? pp_malloc_checked(n, sizeof *c->y, "catalogue y", err)
                : NULL;
    c->active = c->y ? pp_malloc_checked(n, 1, "catalogue flags", err)
                     : NULL;
    c->cat_matched = c->active ? pp_malloc_checked(n, 1, "catalogue "
                                                   "flags", err) : NULL;
    c->affected = c->cat_matched ? pp_malloc_checked(n, 1, "catalogue "
                                                     "flags", err) : NULL;
    if (!c->affected)
        return err->code;
    for (long r = 0; r < c->n; ++r) {
        int excluded = 0;
        if (pp_table_get_double(&c->table, r, c->col_x, c->path, &c->x[r],
                                err) ||
            pp_table_get_double(&c->table, r, c->col_y, c->path, &c->y[r],
                                err) ||
            parse_bool(c, r, c->col_any, &excluded, err))
            return err->code;
        if (!isfinite(c->x[r]) || !isfinite(c->y[r]))
            c->x[r] = c->y[r] = NAN;
        c->active[r] = !excluded && isfinite(c->x[r]);
    }
    return PP_OK;
}

/* ---- Detections ------------------------------------------------------- */

typedef struct {
    long n;
    double *x, *y, *a, *b, *theta, *flux, *fluxerr, *snr;
    double *A, *B;                  /* mask ellipse semi-axes (step 3) */
    unsigned char *sep_matched, *masked;
} mask_detections;

static void detections_release(mask_detections *d)
{
    double **arrays[] = { &d->x, &d->y, &d->a, &d->b, &d->theta, &d->flux,
                          &d->fluxerr, &d->snr, &d->A, &d->B };

    for (size_t i = 0; i < sizeof arrays / sizeof *arrays; ++i)
        free(*arrays[i]);
    free(d->sep_matched);
    free(d->masked);
    memset(d, 0, sizeof *d);
}

static int detections_alloc(mask_detections *d, long n, pp_error *err)
{
    double **arrays[] = { &d->x, &d->y, &d->a, &d->b, &d->theta, &d->flux,
                          &d->fluxerr, &d->snr, &d->A, &d->B };

    d->n = n;
    for (size_t i = 0; i < sizeof arrays / sizeof *arrays; ++i)
        if (!(*arrays[i] = pp_malloc_checked((size_t)n + 1, sizeof(double),
                                             "detections", err)))
            return err->code;
    if (!(d->sep_matched = pp_malloc_checked((size_t)n + 1, 1,
                                             "detections", err)) ||
        !(d->masked = pp_malloc_checked((size_t)n + 1, 1, "detections",
                                        err)))
        return err->code;
    return PP_OK;
}

static int sep_error(int status, const char *what, pp_error *err)
{
    char msg[128] = "", detail[600] = "";

    sep_get_errmsg(status, msg);
    sep_get_errdetail(detail);
    return pp_error_set(err, PP_EDATA, "SEP %s failed: %s%s%s", what, msg,
                        *detail ? ": " : "", detail);
}

/* The working-frame images SEP sees (SPEC §6.8 step 1). */
typedef struct {
    long w, h;
    float *white, *sigma;           /* white is background-subtracted */
    unsigned char *bad;             /* 1: WHITE or SIGMA not finite */
} mask_image;

static void image_release(mask_image *im)
{
    free(im->white);
    free(im->sigma);
    free(im->bad);
    im->white = im->sigma = NULL;
    im->bad = NULL;
}

static int read_ext(fitsfile *fp, const char *path, const char *ext,
                    long w, long h, float *out, pp_error *err)
{
    long ew, eh;

    if (pp_fits_move_to_ext(fp, ext, err) ||
        pp_fits_image_size(fp, &ew, &eh, err))
        return err->code;
    if (ew != w || eh != h)
        return pp_error_set(err, PP_EDATA, "'%s': extension '%s' is %ldx%ld,"
                            " expected %ldx%ld like WHITE", path, ext, ew, eh,
                            w, h);
    return pp_fits_read_subset(fp, 0, w, 0, h, out, err);
}

/* Read WHITE and SIGMA whole; mark the pixels SEP must ignore and give
 * them harmless values (SEP masks them anyway; NaN must never reach a
 * sum). */
static int image_load(const char *path, mask_image *im, pp_error *err)
{
    fitsfile *fp = NULL;
    int hdu, rc;
    size_t npix;

    if (!pp_io_exists(path))
        return pp_error_set(err, PP_EIO, "cannot open '%s': No such file or "
                            "directory (run 'pp-crop -c CONFIG' first)",
                            path);
    if (pp_fits_open_image(path, &fp, &hdu, err) ||
        pp_fits_move_to_ext(fp, "WHITE", err) ||
        pp_fits_image_size(fp, &im->w, &im->h, err))
        goto out;
    if (im->w > 0x7fffffffL || im->h > 0x7fffffffL) {
        pp_error_set(err, PP_EDATA, "'%s': WHITE is %ldx%ld, too large for "
                     "SEP", path, im->w, im->h);
        goto out;
    }
    npix = (size_t)im->w * (size_t)im->h;
    if (!(im->white = pp_malloc_checked(npix, sizeof(float), "WHITE", err))
        || !(im->sigma = pp_malloc_checked(npix, sizeof(float), "SIGMA",
                                           err))
        || !(im->bad = pp_malloc_checked(npix, 1, "the non-finite mask",
                                         err)))
        goto out;
    if (read_ext(fp, path, "WHITE", im->w, im->h, im->white, err) ||
        read_ext(fp, path, "SIGMA", im->w, im->h, im->sigma, err))
        goto out;
    for (size_t i = 0; i < npix; ++i) {
        im->bad[i] = !isfinite(im->white[i]) || !isfinite(im->sigma[i]);
        if (im->bad[i])
            im->white[i] = im->sigma[i] = 0.0f;
    }
out:
    rc = err->code;
    pp_fits_close(fp);
    return rc;
}

static sep_image sep_view(const mask_image *im)
{
    sep_image s;

    memset(&s, 0, sizeof s);
    s.data = im->white;
    s.noise = im->sigma;
    s.mask = im->bad;
    s.dtype = SEP_TFLOAT;
    s.ndtype = SEP_TFLOAT;
    s.mdtype = SEP_TBYTE;
    s.w = (int)im->w;
    s.h = (int)im->h;
    s.noise_type = SEP_NOISE_STDDEV;
    s.gain = 0.0;                   /* sky noise only */
    s.maskthresh = 0.0;             /* masked when bad > 0 */
    return s;
}

/* SEP's pixel stack: never more entries than pixels (an object's pixels
 * are distinct), at least SEP's default, at most MASK_PIXSTACK_MAX (the
 * stack is allocated and touched whole, so it is resident memory). */
static size_t pixstack_size(long npix)
{
    const long sep_default = 300000;

    if (npix < sep_default)
        return (size_t)sep_default;
    return (size_t)(npix < MASK_PIXSTACK_MAX ? npix : MASK_PIXSTACK_MAX);
}

/* SPEC §6.8 step 1: background, extraction, elliptical aperture fluxes. */
static int detect(const pp_config *cfg, mask_image *im, mask_detections *d,
                  pp_error *err)
{
    sep_image s = sep_view(im);
    sep_bkg *bkg = NULL;
    sep_catalog *cat = NULL;
    long npix = im->w * im->h, nbadaper = 0;
    int status;

    if ((status = sep_background(&s, BKG_BOX, BKG_BOX, BKG_FILTER,
                                 BKG_FILTER, BKG_FTHRESH, &bkg)))
        return sep_error(status, "background", err);
    pp_log(PP_LOG_INFO, "background: global %g, rms %g",
           (double)sep_bkg_global(bkg), (double)sep_bkg_globalrms(bkg));
    status = sep_bkg_subarray(bkg, im->white, SEP_TFLOAT);
    sep_bkg_free(bkg);
    if (status)
        return sep_error(status, "background subtraction", err);

    sep_set_extract_pixstack(pixstack_size(npix));
    if ((status = sep_extract(&s, (float)cfg->bright_mask.thresh_sigma,
                              SEP_THRESH_REL, (int)cfg->bright_mask.minarea,
                              NULL, 0, 0, SEP_FILTER_CONV, DEBLEND_NTHRESH,
                              DEBLEND_CONT, 1, CLEAN_PARAM, &cat)))
        return sep_error(status, "extraction (bright_mask.thresh_sigma, "
                         "bright_mask.minarea)", err);
    if (detections_alloc(d, cat->nobj, err) != PP_OK)
        goto out;
    for (long i = 0; i < d->n; ++i) {
        double sum = NAN, sumerr = NAN, area;
        short flag;
        d->x[i] = cat->x[i];
        d->y[i] = cat->y[i];
        d->a[i] = cat->a[i];
        d->b[i] = cat->b[i];
        d->theta[i] = cat->theta[i];
        if (sep_sum_ellipse(&s, d->x[i], d->y[i], d->a[i], d->b[i],
                            d->theta[i], APER_R, 0, 0, 0, &sum, &sumerr,
                            &area, &flag)) {
            sum = sumerr = NAN;     /* degenerate shape: never bright */
            ++nbadaper;
        }
        d->flux[i] = sum;
        d->fluxerr[i] = sumerr;
        d->snr[i] = sum / sumerr;
    }
    if (nbadaper)
        pp_log(PP_LOG_WARNING, "%ld detections have no aperture flux "
               "(degenerate ellipse): flux and snr left empty", nbadaper);
out:
    sep_catalog_free(cat);
    return err->code;
}

/* ---- Neighbour search -------------------------------------------------- *
 * Points are bucketed in square cells covering the working frame; points
 * outside it go to the border cells (the cell index is clamped), which
 * keeps a query's cell range exact because clamping is monotone. */

typedef struct {
    double cell;
    long nx, ny;
    long *start;                    /* nx*ny+1 offsets into idx */
    long *idx;                      /* point indices by cell */
} mask_grid;

static long grid_cell(double v, double cell, long n)
{
    double c = floor(v / cell);

    return c < 0 ? 0 : c >= (double)n ? n - 1 : (long)c;
}

/* Bucket the points with finite (x[i], y[i]).  The cell is the largest of
 * radius and GRID_CELL_MIN, so a radius query visits at most 3x3 cells
 * and the grid stays small on a large frame. */
static int grid_build(mask_grid *g, const double *x, const double *y,
                      long n, long w, long h, double radius, pp_error *err)
{
    long *count;

    g->cell = radius > GRID_CELL_MIN ? radius : GRID_CELL_MIN;
    g->nx = (long)ceil((double)w / g->cell) + 1;
    g->ny = (long)ceil((double)h / g->cell) + 1;
    g->start = pp_malloc_checked((size_t)(g->nx * g->ny + 1),
                                 sizeof *g->start, "the match grid", err);
    g->idx = g->start ? pp_malloc_checked((size_t)n + 1, sizeof *g->idx,
                                          "the match grid", err) : NULL;
    if (!g->idx)
        return err->code;
    count = g->start;
    for (long i = 0; i < n; ++i)
        if (isfinite(x[i]) && isfinite(y[i]))
            ++count[grid_cell(y[i], g->cell, g->ny) * g->nx +
                    grid_cell(x[i], g->cell, g->nx) + 1];
    for (long k = 0; k < g->nx * g->ny; ++k)
        g->start[k + 1] += g->start[k];
    for (long i = 0; i < n; ++i)
        if (isfinite(x[i]) && isfinite(y[i])) {
            long k = grid_cell(y[i], g->cell, g->ny) * g->nx +
                     grid_cell(x[i], g->cell, g->nx);
            g->idx[g->start[k]++] = i;
        }
    /* The fill moved each start to the next cell's: shift back. */
    memmove(g->start + 1, g->start, sizeof *g->start * (size_t)(g->nx *
                                                                g->ny));
    g->start[0] = 0;
    return PP_OK;
}

static void grid_release(mask_grid *g)
{
    free(g->start);
    free(g->idx);
    memset(g, 0, sizeof *g);
}

/* 1 when a point accepted by keep (NULL: all) lies within radius of
 * (px, py). */
static int grid_any_within(const mask_grid *g, const double *x,
                           const double *y, const unsigned char *keep,
                           double px, double py, double radius)
{
    long cx0 = grid_cell(px - radius, g->cell, g->nx);
    long cx1 = grid_cell(px + radius, g->cell, g->nx);
    long cy0 = grid_cell(py - radius, g->cell, g->ny);
    long cy1 = grid_cell(py + radius, g->cell, g->ny);
    double r2 = radius * radius;

    for (long cy = cy0; cy <= cy1; ++cy)
        for (long cx = cx0; cx <= cx1; ++cx) {
            long k = cy * g->nx + cx;
            for (long j = g->start[k]; j < g->start[k + 1]; ++j) {
                long i = g->idx[j];
                double dx = x[i] - px, dy = y[i] - py;
                if ((!keep || keep[i]) && dx * dx + dy * dy <= r2)
                    return 1;
            }
        }
    return 0;
}

/* ---- Matching and the mask ellipses (SPEC §6.8 steps 2-3) -------------- */

int crop_mask_in_ellipse(double dx, double dy, double A, double B,
                         double theta)
{
    double c = cos(theta), s = sin(theta);
    double u = (dx * c + dy * s) / A, v = (-dx * s + dy * c) / B;

    return u * u + v * v <= 1.0;
}

/* Half extents of the ellipse's bounding box. */
static void ellipse_extent(double A, double B, double theta, double *hx,
                           double *hy)
{
    double c = cos(theta), s = sin(theta);

    *hx = sqrt(A * A * c * c + B * B * s * s);
    *hy = sqrt(A * A * s * s + B * B * c * c);
}

static int match(const pp_config *cfg, long w, long h, mask_detections *d,
                 mask_catalog *c, pp_error *err)
{
    const double r = cfg->bright_mask.match_radius_pix;
    mask_grid gc = { 0 }, gd = { 0 };

    if (grid_build(&gc, c->x, c->y, c->n, w, h, r, err) ||
        grid_build(&gd, d->x, d->y, d->n, w, h, r, err))
        goto out;
    /* Two independent passes: detections to active sources ("SEP
     * matched"), every source with coordinates to detections ("Cat
     * matched"). */
    for (long i = 0; i < d->n; ++i)
        d->sep_matched[i] = grid_any_within(&gc, c->x, c->y, c->active,
                                            d->x[i], d->y[i], r);
    for (long k = 0; k < c->n; ++k)
        c->cat_matched[k] = isfinite(c->x[k]) &&
            grid_any_within(&gd, d->x, d->y, NULL, c->x[k], c->y[k], r);
    /* Step 3: bright unmatched detections and their ellipses. */
    for (long i = 0; i < d->n; ++i) {
        d->masked[i] = !d->sep_matched[i] &&
                       d->snr[i] >= cfg->bright_mask.min_snr;
        d->A[i] = fmax(cfg->bright_mask.ellipse_scale * d->a[i],
                       cfg->bright_mask.min_radius_pix);
        d->B[i] = fmax(cfg->bright_mask.ellipse_scale * d->b[i],
                       cfg->bright_mask.min_radius_pix);
    }
    /* Step 4: a source is affected when its position is inside a mask
     * ellipse; the catalogue grid is queried with each ellipse's box. */
    memset(c->affected, 0, (size_t)c->n);
    for (long i = 0; i < d->n; ++i) {
        double hx, hy;
        if (!d->masked[i])
            continue;
        ellipse_extent(d->A[i], d->B[i], d->theta[i], &hx, &hy);
        long cx0 = grid_cell(d->x[i] - hx, gc.cell, gc.nx);
        long cx1 = grid_cell(d->x[i] + hx, gc.cell, gc.nx);
        long cy0 = grid_cell(d->y[i] - hy, gc.cell, gc.ny);
        long cy1 = grid_cell(d->y[i] + hy, gc.cell, gc.ny);
        for (long cy = cy0; cy <= cy1; ++cy)
            for (long cx = cx0; cx <= cx1; ++cx)
                for (long j = gc.start[cy * gc.nx + cx];
                     j < gc.start[cy * gc.nx + cx + 1]; ++j) {
                    long k = gc.idx[j];
                    if (crop_mask_in_ellipse(c->x[k] - d->x[i],
                                             c->y[k] - d->y[i], d->A[i],
                                             d->B[i], d->theta[i]))
                        c->affected[k] = 1;
                }
    }
out:
    grid_release(&gc);
    grid_release(&gd);
    return err->code;
}

/* ---- The output mask --------------------------------------------------- */

/* Pixel centres (i, j) inside a masked detection's ellipse. */
static void paint_ellipses(const mask_detections *d, long w, long h,
                           unsigned char *mask)
{
    for (long n = 0; n < d->n; ++n) {
        double hx, hy;
        if (!d->masked[n])
            continue;
        ellipse_extent(d->A[n], d->B[n], d->theta[n], &hx, &hy);
        long i0 = (long)fmax(ceil(d->x[n] - hx), 0.0);
        long i1 = (long)fmin(floor(d->x[n] + hx), (double)(w - 1));
        long j0 = (long)fmax(ceil(d->y[n] - hy), 0.0);
        long j1 = (long)fmin(floor(d->y[n] + hy), (double)(h - 1));
        for (long j = j0; j <= j1; ++j)
            for (long i = i0; i <= i1; ++i)
                if (crop_mask_in_ellipse((double)i - d->x[n],
                                         (double)j - d->y[n], d->A[n],
                                         d->B[n], d->theta[n]))
                    mask[j * w + i] = 1;
    }
}

/* SATANY dilated by a disk of radius dil (integer offsets with
 * dx^2 + dy^2 <= dil^2, the disk of SPEC §6.1 step 5), read in row
 * blocks.  *nsat counts the saturated pixels. */
static int add_saturation(const char *path, long dil, long w, long h,
                          unsigned char *mask, long *nsat, pp_error *err)
{
    fitsfile *fp = NULL;
    unsigned char *rows = NULL;
    long *half = NULL, ew, eh;
    int hdu;

    *nsat = 0;
    if (dil < 0)
        dil = 0;
    half = pp_xmalloc(sizeof *half * (size_t)(2 * dil + 1));
    for (long dy = -dil; dy <= dil; ++dy) {
        long k = 0;
        while ((k + 1) * (k + 1) + dy * dy <= dil * dil)
            ++k;
        half[dy + dil] = k;
    }
    if (pp_fits_open_image(path, &fp, &hdu, err) ||
        pp_fits_move_to_ext(fp, "SATANY", err) ||
        pp_fits_image_size(fp, &ew, &eh, err))
        goto out;
    if (ew != w || eh != h) {
        pp_error_set(err, PP_EDATA, "'%s': extension 'SATANY' is %ldx%ld, "
                     "expected %ldx%ld like WHITE", path, ew, eh, w, h);
        goto out;
    }
    if (!(rows = pp_malloc_checked((size_t)w * SAT_BLOCK_ROWS, 1,
                                   "SATANY rows", err)))
        goto out;
    for (long y0 = 0; y0 < h; y0 += SAT_BLOCK_ROWS) {
        long y1 = y0 + SAT_BLOCK_ROWS < h ? y0 + SAT_BLOCK_ROWS : h;
        if (pp_fits_read_subset_u8(fp, 0, w, y0, y1, rows, err))
            goto out;
        for (long j = y0; j < y1; ++j)
            for (long i = 0; i < w; ++i) {
                if (!rows[(j - y0) * w + i])
                    continue;
                ++*nsat;
                for (long dy = -dil; dy <= dil; ++dy) {
                    long jj = j + dy, k = half[dy + dil];
                    if (jj < 0 || jj >= h)
                        continue;
                    long a = i - k < 0 ? 0 : i - k;
                    long b = i + k >= w ? w - 1 : i + k;
                    memset(mask + jj * w + a, 1, (size_t)(b - a + 1));
                }
            }
    }
out:
    pp_fits_close(fp);
    free(rows);
    free(half);
    return err->code;
}

static int write_mask(const char *path, const unsigned char *mask, long w,
                      long h, long ndet, long nmasked, long dil,
                      pp_error *err)
{
    pp_fits_writer fw;
    int rc;

    if (pp_fits_create(path, &fw, err) != PP_OK)
        return err->code;
    rc = pp_fits_add_image(&fw, "BRIGHT_MASK", BYTE_IMG, w, h,
                           PP_FITS_GZIP2, err) ||
         pp_fits_write_rows(&fw, 0, h, mask, err) ||
         pp_fits_write_key_long(&fw, "NDETECT", ndet,
                                "SEP detections on WHITE", err) ||
         pp_fits_write_key_long(&fw, "NBRIGHT", nmasked,
                                "bright unmatched detections masked", err) ||
         pp_fits_write_key_long(&fw, "SATDIL", dil,
                                "SATANY dilation disk radius [pix], -1 off",
                                err) ||
         pp_fits_commit(&fw, err);
    pp_fits_abort(&fw);
    return rc ? err->code : PP_OK;
}

/* ---- CSV outputs -------------------------------------------------------- */

static void set_double(pp_table *t, long r, int c, double v)
{
    char buf[32];

    pp_table_set(t, r, c, pp_csv_format_double(v, buf));
}

static int write_detections(const char *path, const mask_detections *d,
                            pp_error *err)
{
    static const char *const names[] = { "x", "y", "a", "b", "theta_deg",
        "flux", "fluxerr", "snr", "sep_matched", "masked" };
    pp_table t = PP_TABLE_INIT;
    int rc;

    for (int k = 0; k < 10; ++k)
        pp_table_add_column(&t, names[k], -1);
    for (long i = 0; i < d->n; ++i) {
        double v[8] = { d->x[i], d->y[i], d->a[i], d->b[i],
                        d->theta[i] * 180.0 / M_PI, d->flux[i],
                        d->fluxerr[i], d->snr[i] };
        long r = pp_table_add_row(&t);
        for (int k = 0; k < 8; ++k)
            set_double(&t, r, k, v[k]);
        pp_table_set(&t, r, 8, pp_csv_format_bool(d->sep_matched[i]));
        pp_table_set(&t, r, 9, pp_csv_format_bool(d->masked[i]));
    }
    rc = pp_csv_write(path, &t, err);
    pp_table_release(&t);
    return rc;
}

static int write_match(const char *path, const mask_catalog *c,
                       pp_error *err)
{
    static const char *const names[] = { "key", "x", "y", "cat_matched",
                                         "affected_by_bright_mask" };
    pp_table t = PP_TABLE_INIT;
    int rc;

    for (int k = 0; k < 5; ++k)
        pp_table_add_column(&t, names[k], -1);
    for (long i = 0; i < c->n; ++i) {
        long r;
        if (!isfinite(c->x[i]))
            continue;
        r = pp_table_add_row(&t);
        if (c->col_id >= 0) {
            pp_table_set(&t, r, 0, pp_table_get(&c->table, i, c->col_id));
        } else {
            char *key = pp_xasprintf("%s %s",
                pp_table_get(&c->table, i, c->col_ra),
                pp_table_get(&c->table, i, c->col_dec));
            pp_table_set(&t, r, 0, key);
            free(key);
        }
        set_double(&t, r, 1, c->x[i]);
        set_double(&t, r, 2, c->y[i]);
        pp_table_set(&t, r, 3, pp_csv_format_bool(c->cat_matched[i]));
        pp_table_set(&t, r, 4, pp_csv_format_bool(c->affected[i]));
    }
    rc = pp_csv_write(path, &t, err);
    pp_table_release(&t);
    return rc;
}

/* The base catalogue with affected_by_bright_mask, replaced in place or
 * inserted right after excluded_any (SPEC §6.8 step 4). */
static int write_base(mask_catalog *c, pp_error *err)
{
    int col = pp_table_find_column(&c->table, col_added, NULL);

    if (col < 0)
        col = pp_table_add_column(&c->table, col_added, c->col_any + 1);
    for (long r = 0; r < c->n; ++r)
        pp_table_set(&c->table, r, col, pp_csv_format_bool(c->affected[r]));
    return pp_csv_write(c->path, &c->table, err);
}

/* ---- The stage --------------------------------------------------------- */

static void log_counts(const mask_detections *d, const mask_catalog *c,
                       long npix, long nmasked_pix, long nsat)
{
    long nmatched = 0, nbright = 0, nrows = 0, ncat = 0, naff = 0;

    for (long i = 0; i < d->n; ++i) {
        nmatched += d->sep_matched[i];
        nbright += d->masked[i];
    }
    for (long k = 0; k < c->n; ++k) {
        nrows += isfinite(c->x[k]) != 0;
        ncat += c->cat_matched[k];
        naff += c->affected[k];
    }
    pp_log(PP_LOG_INFO, "detections: %ld, SEP-matched %ld, bright unmatched"
           " (masked) %ld", d->n, nmatched, nbright);
    pp_log(PP_LOG_INFO, "catalogue: %ld rows with coordinates, cat-matched "
           "%ld, affected_by_bright_mask %ld", nrows, ncat, naff);
    pp_log(PP_LOG_INFO, "mask: %ld of %ld pixels (%.4f%%), %ld saturated "
           "pixels before dilation", nmasked_pix, npix,
           npix ? 100.0 * (double)nmasked_pix / (double)npix : 0.0, nsat);
}

static int write_outputs(const pp_config *cfg, const unsigned char *mask,
                         long w, long h, const mask_detections *d,
                         mask_catalog *c, long nbright, pp_error *err)
{
    const char *dir = cfg->outputs.bright_mask_dir;
    char *fits = pp_io_path_join(dir, "white_bright_mask.fits");
    char *det = pp_io_path_join(dir, "detections.csv");
    char *cm = pp_io_path_join(dir, "catalog_match.csv");
    long dil = cfg->bright_mask.include_saturation
               ? cfg->bright_mask.saturation_dilate_pix : -1;
    int rc;

    rc = pp_io_mkdir_p(dir, err) ||
         write_mask(fits, mask, w, h, d->n, nbright, dil, err) ||
         write_detections(det, d, err) ||
         write_match(cm, c, err) ||
         write_base(c, err);
    if (rc == PP_OK) {
        pp_log(PP_LOG_INFO, "wrote '%s', detections.csv, catalog_match.csv;"
               " updated '%s'", fits, c->path);
    } else {
        /* No half-set of outputs: a later stage must not read a mask that
         * the base catalogue's column does not describe. */
        pp_error ignored = PP_ERROR_INIT;
        pp_io_remove_file(fits, &ignored);
        pp_io_remove_file(det, &ignored);
        pp_io_remove_file(cm, &ignored);
    }
    free(fits);
    free(det);
    free(cm);
    return rc ? err->code : PP_OK;
}

int crop_mask(const pp_config *cfg, pp_error *err)
{
    mask_catalog cat = { 0 };
    mask_image im = { 0 };
    mask_detections det = { 0 };
    unsigned char *mask = NULL;
    char *white = NULL;
    double t0 = pp_progress_now(), t1, t_read, t_sep, t_match, t_mask;
    long nsat = 0, nmasked_pix = 0, nbright = 0;

    if (!cfg->bright_mask.enabled) {
        pp_log(PP_LOG_INFO, "bright_mask.enabled is false: no bright mask, "
               "nothing written");
        return PP_OK;
    }
    white = pp_io_path_join(cfg->outputs.work_dir, "white.fits");
    if (catalog_load(cfg, &cat, err) || image_load(white, &im, err))
        goto out;
    t_read = (t1 = pp_progress_now()) - t0;
    pp_log(PP_LOG_INFO, "base catalogue '%s': %ld rows; working frame "
           "%ldx%ld", cat.path, cat.n, im.w, im.h);
    if (detect(cfg, &im, &det, err))
        goto out;
    image_release(&im);             /* the rest needs only detections */
    t_sep = pp_progress_now() - t1;
    t1 = pp_progress_now();
    if (match(cfg, im.w, im.h, &det, &cat, err))
        goto out;
    t_match = pp_progress_now() - t1;
    t1 = pp_progress_now();
    if (!(mask = pp_malloc_checked((size_t)(im.w * im.h), 1,
                                   "the bright mask", err)))
        goto out;
    paint_ellipses(&det, im.w, im.h, mask);
    if (cfg->bright_mask.include_saturation &&
        add_saturation(white, cfg->bright_mask.saturation_dilate_pix, im.w,
                       im.h, mask, &nsat, err))
        goto out;
    for (long i = 0; i < im.w * im.h; ++i)
        nmasked_pix += mask[i];
    for (long i = 0; i < det.n; ++i)
        nbright += det.masked[i];
    t_mask = pp_progress_now() - t1;
    t1 = pp_progress_now();
    if (write_outputs(cfg, mask, im.w, im.h, &det, &cat, nbright, err))
        goto out;
    log_counts(&det, &cat, im.w * im.h, nmasked_pix, nsat);
    pp_log(PP_LOG_INFO, "mask timing [s]: read=%.2f sep=%.2f match=%.2f "
           "mask=%.2f write=%.2f total=%.2f", t_read, t_sep, t_match, t_mask,
           pp_progress_now() - t1, pp_progress_now() - t0);
out:
    free(mask);
    free(white);
    image_release(&im);
    detections_release(&det);
    catalog_release(&cat);
    return err->code;
}
