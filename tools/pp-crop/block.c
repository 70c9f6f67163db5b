/* block.c - the work on one block of rows (SPEC §6.1 steps 4-5): read
 * every band, add it to the white-stack sums, mark saturation, test the
 * sources' saturation disks, and turn the sums into output rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pp_fits.h"
#include "pp_mem.h"

#include "stack.h"

int stack_worker_init(stack_worker *w, const stack_geom *g, pp_error *err)
{
    size_t bw = (size_t)g->block * (size_t)g->W;
    size_t bo = (size_t)g->block * (size_t)g->ww;
    int nb = g->im->frames.nbands, hdu;

    memset(w, 0, sizeof *w);
    w->g = g;
    if (!(w->raw = pp_malloc_checked(bw, sizeof *w->raw, "image rows",
                                     err)) ||
        !(w->num = pp_malloc_checked(bw, sizeof *w->num, "white sums",
                                     err)) ||
        !(w->den = pp_malloc_checked(bw, sizeof *w->den, "white weights",
                                     err)) ||
        !(w->val = pp_malloc_checked(bw, sizeof *w->val, "white rows",
                                     err)) ||
        !(w->rsum = pp_malloc_checked((size_t)(g->block * g->bw),
                                      sizeof(double), "binned rows", err)) ||
        !(w->rcnt = pp_malloc_checked((size_t)(g->block * g->bw),
                                      sizeof(double), "binned rows", err)) ||
        !(w->satany = pp_malloc_checked(bw, 1, "saturation rows", err)) ||
        !(w->satb = pp_malloc_checked(bw, 1, "saturation rows", err)) ||
        !(w->white = pp_malloc_checked(bo, sizeof(float), "output rows",
                                       err)) ||
        !(w->sigma = pp_malloc_checked(bo, sizeof(float), "output rows",
                                       err)) ||
        !(w->satout = pp_malloc_checked(bo, 1, "output rows", err)) ||
        !(w->hits = pp_malloc_checked((size_t)g->nrows * (size_t)nb + 1, 1,
                                      "saturation hits", err)))
        return err->code;
    w->fps = pp_xcalloc((size_t)nb, sizeof *w->fps);
    for (int b = 0; b < nb; ++b)
        if (pp_fits_open_image(g->im->frames.bands[b].path, &w->fps[b],
                               &hdu, err) != PP_OK)
            return err->code;
    return PP_OK;
}

void stack_worker_release(stack_worker *w)
{
    int nb = w->g ? w->g->im->frames.nbands : 0;

    for (int b = 0; w->fps && b < nb; ++b)
        if (w->fps[b])
            pp_fits_close(w->fps[b]);
    free(w->fps);
    free(w->raw);
    free(w->num);
    free(w->den);
    free(w->val);
    free(w->rsum);
    free(w->rcnt);
    free(w->satany);
    free(w->satb);
    free(w->white);
    free(w->sigma);
    free(w->satout);
    free(w->hits);
    memset(w, 0, sizeof *w);
}

/* Rows [y, y+ny) of band b into w->raw at full-frame width W; an image of
 * another shape (checks.require_same_shape off) is padded with NaN. */
static int read_rows(stack_worker *w, int b, long y, long ny, pp_error *err)
{
    const stack_geom *g = w->g;
    long wb = g->im->width[b], hb = g->im->height[b];
    long nx = wb < g->W ? wb : g->W;
    long yend = y + ny < hb ? y + ny : hb;

    if (wb == g->W && hb == g->H)
        return pp_fits_read_subset(w->fps[b], 0, g->W, y, y + ny, w->raw,
                                   err);
    for (long k = 0; k < ny * g->W; ++k)
        w->raw[k] = NAN;
    if (yend <= y)
        return PP_OK;
    if (pp_fits_read_subset(w->fps[b], 0, nx, y, yend, w->raw, err))
        return err->code;
    /* Spread the nx-wide rows to stride W, last row first. */
    for (long j = yend - y - 1; j >= 0; --j) {
        memmove(w->raw + j * g->W, w->raw + j * nx, sizeof(float) *
                (size_t)nx);
        for (long i = nx; i < g->W; ++i)
            w->raw[j * g->W + i] = NAN;
    }
    return PP_OK;
}

/* Add band b's rows to the sums (SPEC §6.1 step 4; §5.3: bad = not finite
 * or raw >= SATURATE/2).  Returns 1 when a saturated pixel lies in the
 * working frame.  Branch-free so that it vectorises: it runs once per
 * pixel and band. */
static int accumulate(stack_worker *w, int b, long y, long ny)
{
    const stack_geom *g = w->g;
    const pp_frame_band *fb = &g->im->frames.bands[b];
    const double wt = 1.0 / (fb->sky_sigma_scaled * fb->sky_sigma_scaled);
    const double wscale = wt * fb->scale;
    const float sat = isfinite(fb->saturate) ? (float)(fb->saturate / 2.0)
                                             : INFINITY;
    const long n = ny * g->W;
    const float *restrict raw = w->raw;
    double *restrict num = w->num, *restrict den = w->den;
    unsigned char *restrict satb = w->satb, *restrict satany = w->satany;

    for (long k = 0; k < n; ++k) {
        float v = raw[k];
        int finite = fabsf(v) < INFINITY;
        int hit = finite & (v >= sat);
        int good = finite & !(v >= sat);
        float vg = good ? v : 0.0f;
        satb[k] = (unsigned char)hit;
        satany[k] |= (unsigned char)hit;
        num[k] += wscale * (double)vg;
        den[k] += wt * (double)good;
    }
    for (long j = 0; j < ny; ++j)
        if (y + j >= g->y0 && y + j < g->y1 &&
            memchr(satb + j * g->W + g->x0, 1, (size_t)g->ww))
            return 1;
    return 0;
}

/* SPEC §6.1 step 5: does the disk of integer offsets dx²+dy² <= R² around
 * the source touch a pixel saturated in this band inside the working
 * frame, within the block's working rows [wy0, wy1)? */
static int disk_hits(const stack_worker *w, const stack_src *d, long wy0,
                     long wy1, long y_block)
{
    const stack_geom *g = w->g;
    long ri = (long)floor(g->radius);
    double r2 = g->radius * g->radius;

    for (long dy = -ri; dy <= ri; ++dy) {
        long row = d->y + dy;
        if (row < wy0 || row >= wy1)
            continue;
        const unsigned char *m = w->satb + (row + g->y0 - y_block) * g->W +
                                 g->x0;
        for (long dx = -ri; dx <= ri; ++dx) {
            long col = d->x + dx;
            if ((double)(dx * dx + dy * dy) <= r2 && col >= 0 &&
                col < g->ww && m[col])
                return 1;
        }
    }
    return 0;
}

/* Test every source whose disk reaches the block's working rows and that
 * has not hit band b yet. */
static void test_disks(stack_worker *w, int b, long y, long ny)
{
    const stack_geom *g = w->g;
    long wy0 = (y > g->y0 ? y : g->y0) - g->y0;
    long wy1 = (y + ny < g->y1 ? y + ny : g->y1) - g->y0;
    long ri = (long)floor(g->radius), lo = 0, hi = g->nsrc;
    int nb = g->im->frames.nbands;

    if (wy1 <= wy0)
        return;
    while (lo < hi) {           /* first source with row >= wy0 - ri */
        long mid = (lo + hi) / 2;
        if (g->src[mid].y < wy0 - ri)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (long k = lo; k < g->nsrc && g->src[k].y < wy1 + ri; ++k) {
        unsigned char *hit = &w->hits[g->src[k].row * nb + b];
        if (!*hit && disk_hits(w, &g->src[k], wy0, wy1, y))
            *hit = 1;
    }
}

/* Each row's sums over WHITE_FULL's bins (finite values only); the
 * writer adds them up in row order. */
static void bin_rows(stack_worker *w, long ny)
{
    const stack_geom *g = w->g;

    for (long j = 0; j < ny; ++j) {
        const double *val = w->val + j * g->W;
        double *rs = w->rsum + j * g->bw, *rc = w->rcnt + j * g->bw;
        for (long bx = 0, i = 0; bx < g->bw; ++bx) {
            long end = i + g->binfac < g->W ? i + g->binfac : g->W;
            double sum = 0, cnt = 0;
            for (; i < end; ++i)
                if (isfinite(val[i])) {
                    sum += val[i];
                    cnt += 1.0;
                }
            rs[bx] = sum;
            rc[bx] = cnt;
        }
    }
}

/* The sums become white values (all rows, for WHITE_FULL) and the
 * working rows of WHITE, SIGMA and SATANY. */
static void finish(stack_worker *w, long y, long ny)
{
    const stack_geom *g = w->g;
    const long n = ny * g->W;
    const double *restrict num = w->num, *restrict den = w->den;
    double *restrict val = w->val;

    for (long k = 0; k < n; ++k)
        val[k] = den[k] > 0 ? num[k] / den[k] : NAN;
    w->wrow0 = -1;
    w->nw = 0;
    for (long j = 0; j < ny; ++j) {
        long yf = y + j, base = j * g->W + g->x0;
        if (yf < g->y0 || yf >= g->y1)
            continue;
        if (w->wrow0 < 0)
            w->wrow0 = yf - g->y0;
        float *white = w->white + w->nw * g->ww;
        float *sigma = w->sigma + w->nw * g->ww;
        for (long i = 0; i < g->ww; ++i) {
            double d = den[base + i];
            white[i] = (float)val[base + i];
            sigma[i] = d > 0 ? (float)sqrt(1.0 / d) : INFINITY;
        }
        memcpy(w->satout + w->nw * g->ww, w->satany + base, (size_t)g->ww);
        ++w->nw;
    }
}

int stack_block(stack_worker *w, long y, long ny, pp_error *err)
{
    const stack_geom *g = w->g;
    size_t npix = (size_t)(ny * g->W);

    memset(w->num, 0, npix * sizeof *w->num);
    memset(w->den, 0, npix * sizeof *w->den);
    memset(w->satany, 0, npix);
    for (int b = 0; b < g->im->frames.nbands; ++b) {
        if (read_rows(w, b, y, ny, err) != PP_OK)
            return pp_error_prefix(err, "band '%s': ",
                                   g->im->frames.bands[b].band);
        if (accumulate(w, b, y, ny) && g->cut)
            test_disks(w, b, y, ny);
    }
    finish(w, y, ny);
    bin_rows(w, ny);
    w->y = y;
    w->ny = ny;
    return PP_OK;
}
