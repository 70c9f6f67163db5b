/* render.c - pp-sim's galaxy renderer (SPEC §15).
 *
 * A galaxy is integrated over the cells of a sub-pixel grid (oversample ×
 * oversample per pixel, aligned with the image pixels), convolved on that
 * grid with the optical PSF, and binned to pixels.  The convolution runs
 * in Fourier space and is exact for the grid:
 *
 *   c = g ⊛ p on the Ny × Nx sub-grid (N = s·M, s = oversample),
 *   y[P] = Σ_{a,b<s} c[s P + (a, b)]      (binning: the pixel box, once)
 *   Y[k] = (1/s²) Σ_{m} (G·P̂·B)[k + m M]  (B: the box's DFT; m over the
 *                                         s² aliases of pixel frequency k)
 *
 * so one forward transform of the galaxy on the fine grid, the PSF's
 * analytic transform (psf.c: the DFT of the PSF sampled at sub-pixel
 * centres, aliases included when it is narrow, normalised to sum 1) and
 * one small inverse transform on the pixel grid give the binned stamp.
 * Integrating the galaxy over cells multiplies its transform by the
 * cell's sinc and summing s × s cells per pixel by the discrete box's
 * Dirichlet kernel; their product is exactly the pixel's sinc, so the
 * result is the continuous convolution integrated over pixels, short of
 * aliasing of structure finer than a cell (a Gaussian galaxy through a
 * Gaussian PSF matches the closed form to 1e-9 of the flux).
 * The galaxy occupies few rows of the padded grid and the PSF transform
 * vanishes beyond a cut-off frequency, so the forward transform is done by
 * hand in two passes that skip the zero rows and the dead columns.  The
 * PSF's far wings (beyond sim_psf_radius(psf, 1e-5)) wrap around the
 * periodic grid instead of being truncated: the stamp keeps all the flux,
 * and with the galaxy centred in the stamp the wrapped light does not
 * move the centroid.
 *
 * FFTW plans (FFTW_ESTIMATE: deterministic, no wisdom) are kept in a small
 * per-renderer cache and executed on the renderer's buffers with the
 * new-array interface; nothing is allocated per galaxy once the sizes are
 * warm.  FFTW's planner is not thread-safe, so plan creation and
 * destruction take a process-wide lock.
 */
#include <complex.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>

#include "pp_error.h"

#include "render.h"

/* The PSF light beyond this fraction of its flux may leave the stamp's
 * nominal extent (it wraps around, see above). */
#define PSF_STAMP_EPS 1e-5

/* Plans kept per renderer: a row r2c, a column c2c and a pixel c2r per
 * stamp size; pp-sim's galaxies need about five sizes. */
#define PLAN_CACHE 24

/* Largest sub-pixel grid side accepted. */
#define MAX_SUBGRID 16384

/* Coordinates accepted (pixel indices stay far from overflow). */
#define MAX_COORD 1e9

enum { PLAN_R2C, PLAN_C2C, PLAN_C2R2 };

typedef struct {
    int kind, n0, n1;           /* n1: second dimension (c2r only) */
    fftw_plan plan;             /* NULL: free slot */
    unsigned long used;
} plan_entry;

typedef struct {
    void *p;
    size_t cap;                 /* bytes */
} buffer;

struct sim_renderer {
    int os;
    sim_psf_ft ft;
    plan_entry plans[PLAN_CACHE];
    unsigned long tick;
    buffer gal;                 /* galaxy cells, nsy × nsx */
    buffer row;                 /* one padded row, Nx reals */
    buffer rowc;                /* its transform, Nx/2+1 */
    buffer spec;                /* row transforms, nsy × (Nx/2+1) */
    buffer col;                 /* one column, Ny */
    buffer bx, by;              /* box factors, Nx and Ny */
    buffer pcol;                /* PSF transform down a column, Ny */
    buffer ypix;                /* pixel spectrum, My × (Mx/2+1) */
    buffer stamp;               /* binned stamp, My × Mx */
};

static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

int sim_renderer_new(int oversample, sim_renderer **out, pp_error *err)
{
    *out = NULL;
    if (oversample < 1 || oversample % 2 == 0)
        return pp_error_set(err, PP_EUSAGE, "oversampling factor %d: "
                            "expected an odd number >= 1", oversample);
    sim_renderer *r = calloc(1, sizeof *r);
    if (!r)
        return pp_error_set(err, PP_ENOMEM, "cannot allocate a renderer");
    r->os = oversample;
    r->ft = (sim_psf_ft)SIM_PSF_FT_INIT;
    *out = r;
    return PP_OK;
}

void sim_renderer_free(sim_renderer *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&planner_lock);
    for (int i = 0; i < PLAN_CACHE; ++i)
        if (r->plans[i].plan)
            fftw_destroy_plan(r->plans[i].plan);
    pthread_mutex_unlock(&planner_lock);
    buffer *bufs[] = { &r->gal, &r->row, &r->rowc, &r->spec, &r->col,
                       &r->bx, &r->by, &r->pcol, &r->ypix, &r->stamp };
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; ++i)
        fftw_free(bufs[i]->p);
    sim_psf_ft_release(&r->ft);
    free(r);
}

/* At least n bytes in b (FFTW-aligned, contents not kept). */
static int grow(buffer *b, size_t n, const char *what, pp_error *err)
{
    if (b->cap >= n)
        return PP_OK;
    fftw_free(b->p);
    b->p = fftw_malloc(n);
    b->cap = b->p ? n : 0;
    if (!b->p)
        return pp_error_set(err, PP_ENOMEM, "cannot allocate %.1f MB for "
                            "%s", n / 1048576.0, what);
    return PP_OK;
}

/* The plan of (kind, n0, n1) from the cache, made on the renderer's
 * buffers (which must be large enough) when missing; the least recently
 * used plan makes room. */
static fftw_plan get_plan(sim_renderer *r, int kind, int n0, int n1)
{
    plan_entry *e = NULL;

    for (int i = 0; i < PLAN_CACHE; ++i) {
        plan_entry *c = &r->plans[i];
        if (c->plan && c->kind == kind && c->n0 == n0 && c->n1 == n1) {
            c->used = ++r->tick;
            return c->plan;
        }
        if (!e || !c->plan || (e->plan && c->used < e->used))
            e = c;
    }
    pthread_mutex_lock(&planner_lock);
    if (e->plan)
        fftw_destroy_plan(e->plan);
    if (kind == PLAN_R2C)
        e->plan = fftw_plan_dft_r2c_1d(n0, r->row.p, r->rowc.p,
                                       FFTW_ESTIMATE);
    else if (kind == PLAN_C2C)
        e->plan = fftw_plan_dft_1d(n0, r->col.p, r->col.p, FFTW_FORWARD,
                                   FFTW_ESTIMATE);
    else
        e->plan = fftw_plan_dft_c2r_2d(n0, n1, r->ypix.p, r->stamp.p,
                                       FFTW_ESTIMATE);
    pthread_mutex_unlock(&planner_lock);
    e->kind = kind;
    e->n0 = n0;
    e->n1 = n1;
    e->used = ++r->tick;
    return e->plan;
}

/* The stamp side for n pixels: the next of 2^a·{8, 9, 10, 12, 14} (or n
 * itself below 8).  Few sizes (at most 14% wasted) keep the plan cache
 * warm across galaxies of different sizes, and all are products of 2, 3,
 * 5 and 7, which FFTW transforms fastest. */
static long stamp_size(long n)
{
    static const long k[] = { 8, 9, 10, 12, 14 };

    if (n <= 8)
        return n < 1 ? 1 : n;
    for (long a = 1;; a *= 2)
        for (int i = 0; i < 5; ++i)
            if (k[i] * a >= n)
                return k[i] * a;
}

/* Half-widths along x and y of the ellipse with semi-axes A (at angle
 * from +x towards +y) and B. */
static void ellipse_box(double A, double B, double angle, double *hx,
                        double *hy)
{
    double c = cos(angle), s = sin(angle);

    *hx = sqrt(A * A * c * c + B * B * s * s);
    *hy = sqrt(A * A * s * s + B * B * c * c);
}

/* The DFT of the s-wide box along a grid of N = s·M cells:
 * Σ_{a<s} e^(2πi K a / N), scaled by 1/(s M) (binning and the c2r
 * normalisation together). */
static void box_factors(fftw_complex *b, long n, int s, long m)
{
    double scale = 1.0 / ((double)s * (double)m);

    for (long k = 0; k < n; ++k) {
        double complex w = cexp(2.0 * M_PI * I * (double)k / (double)n);
        double complex z = 1.0, sum = 0;
        for (int a = 0; a < s; ++a, z *= w)
            sum += z;
        b[k] = sum * scale;
    }
}

static int check_inputs(const sim_sersic *g, const sim_psf *psf,
                        double flux, double x, double y, pp_error *err)
{
    if (!(g->n >= 0.2 && g->n <= 10) || !(g->re > 0) ||
        !(g->q > 0 && g->q <= 1) || !isfinite(g->theta) ||
        (g->t1 > 0 && !(g->t2 > g->t1)))
        return pp_error_set(err, PP_EDATA, "galaxy profile n %g, re %g, "
                            "q %g, theta %g, taper %g-%g: expected n in "
                            "[0.2, 10], re > 0, q in (0, 1], t2 > t1",
                            g->n, g->re, g->q, g->theta, g->t1, g->t2);
    if (!(psf->fwhm > 0) || !(psf->ell >= 0 && psf->ell < 1) ||
        !isfinite(psf->angle) ||
        (psf->kind == SIM_PSF_MOFFAT && !(psf->beta > 1)) ||
        (psf->kind != SIM_PSF_MOFFAT && psf->kind != SIM_PSF_GAUSS2))
        return pp_error_set(err, PP_EDATA, "PSF kind %d, fwhm %g, beta %g, "
                            "ell %g: expected fwhm > 0, beta > 1, ell in "
                            "[0, 1)", psf->kind, psf->fwhm, psf->beta,
                            psf->ell);
    if (!isfinite(flux) || !(fabs(x) < MAX_COORD && fabs(y) < MAX_COORD))
        return pp_error_set(err, PP_EDATA, "galaxy flux %g at (%g, %g): "
                            "expected a finite flux and coordinates within "
                            "%g px", flux, x, y, MAX_COORD);
    return PP_OK;
}

/* The layout of one galaxy's grids. */
typedef struct {
    long gx0, gy0;              /* image pixel of the galaxy box corner */
    long ngx, ngy;              /* galaxy box, pixels */
    long mx, my;                /* stamp (pixel grid), pixels */
    long padx, pady;            /* galaxy box offset in the stamp */
    long nx, ny;                /* sub-pixel grid */
    long nsx, nsy;              /* galaxy cells */
    int alias;                  /* PSF alias orders summed (0: none) */
} layout;

static int plan_layout(const sim_renderer *r, const sim_sersic *g,
                       const sim_psf *psf, double x, double y, layout *L,
                       pp_error *err)
{
    int s = r->os;
    double ext = sim_sersic_extent(g), ex, ey, px, py;
    double rp = sim_psf_radius(psf, PSF_STAMP_EPS);

    ellipse_box(ext, g->q * ext, g->theta, &ex, &ey);
    ellipse_box(rp / sqrt(1 - psf->ell), rp * sqrt(1 - psf->ell),
                psf->angle, &px, &py);
    if (!(ex + px < MAX_SUBGRID / (2.0 * s) &&
          ey + py < MAX_SUBGRID / (2.0 * s)))
        return pp_error_set(err, PP_EDATA, "galaxy stamp too large: "
                            "profile extent %g px, PSF radius %g px "
                            "(fwhm %g, beta %g); at most %d sub-pixels "
                            "a side", ext, rp, psf->fwhm, psf->beta,
                            MAX_SUBGRID);
    /* Pixels reached by the profile (pixel i covers [i-1/2, i+1/2)). */
    L->gx0 = (long)floor(x - ex + 0.5);
    L->gy0 = (long)floor(y - ey + 0.5);
    L->ngx = (long)floor(x + ex + 0.5) - L->gx0 + 1;
    L->ngy = (long)floor(y + ey + 0.5) - L->gy0 + 1;
    /* Square stamps: one size per galaxy, so few plans. */
    long nx = L->ngx + 2 * ((long)ceil(px) + 1);
    long ny = L->ngy + 2 * ((long)ceil(py) + 1);
    L->mx = L->my = stamp_size(nx > ny ? nx : ny);
    L->padx = (L->mx - L->ngx) / 2;
    L->pady = (L->my - L->ngy) / 2;
    L->nx = s * L->mx;
    L->ny = s * L->my;
    L->nsx = s * L->ngx;
    L->nsy = s * L->ngy;
    /* Aliases of the sampled PSF matter when P̂ is not negligible at the
     * sub-grid's Nyquist frequency s/2 (narrow PSFs). */
    double fcut = sqrt(r->ft.qcut / r->ft.qmin);
    L->alias = fcut > 0.5 * s ? (int)ceil(fcut / s - 0.5) : 0;
    return PP_OK;
}

static int get_buffers(sim_renderer *r, const layout *L, pp_error *err)
{
    size_t c = sizeof(fftw_complex), d = sizeof(double);
    size_t hx = (size_t)L->nx / 2 + 1;
    int rc = PP_OK;

    if ((rc = grow(&r->gal, (size_t)L->nsx * L->nsy * d, "galaxy cells",
                   err)) ||
        (rc = grow(&r->row, (size_t)L->nx * d, "an FFT row", err)) ||
        (rc = grow(&r->rowc, hx * c, "an FFT row", err)) ||
        (rc = grow(&r->spec, hx * L->nsy * c, "galaxy row spectra", err)) ||
        (rc = grow(&r->col, (size_t)L->ny * c, "an FFT column", err)) ||
        (rc = grow(&r->bx, (size_t)L->nx * c, "box factors", err)) ||
        (rc = grow(&r->by, (size_t)L->ny * c, "box factors", err)) ||
        (rc = grow(&r->pcol, (size_t)L->ny * d, "a PSF column", err)) ||
        (rc = grow(&r->ypix, (size_t)L->my * ((size_t)L->mx / 2 + 1) * c,
                   "the stamp spectrum", err)) ||
        (rc = grow(&r->stamp, (size_t)L->my * L->mx * d, "the stamp", err)))
        return rc;
    return PP_OK;
}

/* The PSF transform at (fx, fy) as the DFT of its samples at sub-pixel
 * centres: aliases at multiples of s cycles per pixel summed. */
static double psf_sampled_ft(const sim_psf_ft *ft, int alias, int s,
                             double fx, double fy)
{
    double sum = 0;

    for (int my = -alias; my <= alias; ++my)
        for (int mx = -alias; mx <= alias; ++mx)
            sum += sim_psf_ft_value(ft, fx + mx * s, fy + my * s);
    return sum;
}

/* Pass 1: the real transform of every galaxy row, padded to nx. */
static void rows_forward(sim_renderer *r, const layout *L, fftw_plan plan)
{
    long hx = L->nx / 2 + 1, x0 = L->padx * r->os;
    double *row = r->row.p, *gal = r->gal.p;
    fftw_complex *spec = r->spec.p;

    memset(row, 0, (size_t)L->nx * sizeof *row);
    for (long j = 0; j < L->nsy; ++j) {
        memcpy(row + x0, gal + j * L->nsx, (size_t)L->nsx * sizeof *row);
        fftw_execute_dft_r2c(plan, row, r->rowc.p);
        memcpy(spec + j * hx, r->rowc.p, (size_t)hx * sizeof *spec);
    }
}

/* The fy range of column fx where the PSF transform is not zero, as
 * signed frequency indices [*k0, *k1]; 0 if none. */
static int column_range(const sim_psf_ft *ft, const layout *L, int alias,
                        double fx, long *k0, long *k1)
{
    long lo = -((L->ny - 1) / 2), hi = L->ny / 2;

    if (alias) {
        *k0 = lo;
        *k1 = hi;
        return 1;
    }
    /* kyy fy² + 2 kxy fx fy + kxx fx² - qcut <= 0 */
    double b = ft->kxy * fx;
    double disc = b * b - ft->kyy * (ft->kxx * fx * fx - ft->qcut);
    if (disc <= 0)
        return 0;
    double sq = sqrt(disc);
    *k0 = (long)ceil((-b - sq) / ft->kyy * L->my);
    *k1 = (long)floor((-b + sq) / ft->kyy * L->my);
    *k0 = *k0 < lo ? lo : *k0;
    *k1 = *k1 > hi ? hi : *k1;
    return *k0 <= *k1;
}

/* The PSF transform down column fx for k0 <= k <= k1 into p: the DFT of
 * the PSF sampled at sub-pixel centres, i.e. with its aliases at
 * multiples of s cycles per pixel when it is narrow. */
static void column_psf(const sim_renderer *r, const layout *L, double fx,
                       long k0, long k1, double *p)
{
    long n = k1 - k0 + 1;
    int a = L->alias, s = r->os;
    double df = 1.0 / L->my;

    memset(p, 0, (size_t)n * sizeof *p);
    for (int my = -a; my <= a; ++my)
        for (int mx = -a; mx <= a; ++mx)
            sim_psf_ft_column_add(&r->ft, fx + mx * s, k0 * df + my * s, df,
                                  n, p);
}

/* Pass 2: each live column's transform times the PSF, folded onto the
 * pixel grid (Y[ky mod my][kx mod mx] += C B_y B_x) together with its
 * conjugate twin: the r2c half-plane stores only kx <= nx/2, and
 * C[-ky][nx-kx] = conj C[ky][kx]. */
static void columns_fold(sim_renderer *r, const layout *L, fftw_plan plan,
                         double norm)
{
    long hx = L->nx / 2 + 1, hm = L->mx / 2 + 1, y0 = L->pady * r->os;
    fftw_complex *spec = r->spec.p, *col = r->col.p, *Y = r->ypix.p;
    const fftw_complex *bx = r->bx.p, *by = r->by.p;
    double *p = r->pcol.p;

    memset(Y, 0, (size_t)L->my * hm * sizeof *Y);
    for (long kx = 0; kx < hx; ++kx) {
        double fx = (double)kx / L->mx;
        long k0, k1;
        if (!column_range(&r->ft, L, L->alias, fx, &k0, &k1))
            continue;
        /* Where the column and its twin land on the pixel grid (-1: in
         * the half c2r does not read). */
        long twin = L->nx - kx, pa = kx % L->mx, pb = twin % L->mx;
        pa = pa < hm ? pa : -1;
        pb = kx > 0 && twin != kx && pb < hm ? pb : -1;
        if (pa < 0 && pb < 0)
            continue;
        memset(col, 0, (size_t)L->ny * sizeof *col);
        for (long j = 0; j < L->nsy; ++j)
            col[y0 + j] = spec[j * hx + kx];
        fftw_execute_dft(plan, col, col);
        column_psf(r, L, fx, k0, k1, p);
        double complex ba = pa >= 0 ? bx[kx] * norm : 0;
        double complex bb = pb >= 0 ? bx[twin] * norm : 0;
        long ky = k0 < 0 ? k0 + L->ny : k0, ty = (L->ny - ky) % L->ny;
        long qy = ky % L->my, qt = ty % L->my;
        for (long k = k0; k <= k1; ++k) {
            double pk = p[k - k0];
            if (pk != 0) {
                double complex c = col[ky] * pk;
                if (pa >= 0)
                    Y[qy * hm + pa] += c * by[ky] * ba;
                if (pb >= 0)
                    Y[qt * hm + pb] += conj(c) * by[ty] * bb;
            }
            /* Step ky up and its twin (-ky) down, with their folds. */
            if (++ky == L->ny)
                ky = 0;
            if (++qy == L->my)
                qy = 0;
            ty = ty == 0 ? L->ny - 1 : ty - 1;
            qt = qt == 0 ? L->my - 1 : qt - 1;
        }
    }
}

/* Add the stamp to img; the sum of the whole stamp. */
static double add_stamp(const sim_renderer *r, const layout *L,
                        double *img, long w, long h)
{
    const double *st = r->stamp.p;
    long X0 = L->gx0 - L->padx, Y0 = L->gy0 - L->pady;
    double total = 0;

    for (long j = 0; j < L->my; ++j) {
        long iy = Y0 + j;
        int in_row = iy >= 0 && iy < h;
        for (long i = 0; i < L->mx; ++i) {
            long ix = X0 + i;
            double v = st[j * L->mx + i];
            total += v;
            if (in_row && ix >= 0 && ix < w)
                img[iy * w + ix] += v;
        }
    }
    return total;
}

int sim_render_galaxy(sim_renderer *r, const sim_sersic *g,
                      const sim_psf *psf, double flux, double x, double y,
                      double *img, long w, long h, double *stamp_total,
                      pp_error *err)
{
    layout L = { 0 };
    int s = r->os, rc;

    if ((rc = check_inputs(g, psf, flux, x, y, err)) ||
        (rc = sim_psf_ft_set(&r->ft, psf, err)) ||
        (rc = plan_layout(r, g, psf, x, y, &L, err)) ||
        (rc = get_buffers(r, &L, err)))
        return rc;
    fftw_plan prow = get_plan(r, PLAN_R2C, (int)L.nx, 0);
    fftw_plan pcol = get_plan(r, PLAN_C2C, (int)L.ny, 0);
    fftw_plan ppix = get_plan(r, PLAN_C2R2, (int)L.my, (int)L.mx);
    if (!prow || !pcol || !ppix)
        return pp_error_set(err, PP_EINTERNAL, "FFTW could not plan a "
                            "%ld x %ld transform", L.ny, L.nx);

    /* The galaxy's cells, scaled from the unit profile to the flux. */
    double *gal = r->gal.p;
    sim_sersic_grid(g, L.gx0 - 0.5 + 0.5 / s - x, L.gy0 - 0.5 + 0.5 / s - y,
                    1.0 / s, L.nsx, L.nsy, gal);
    double scale = flux / sim_sersic_total(g);
    for (long k = 0; k < L.nsx * L.nsy; ++k)
        gal[k] *= scale;

    /* Convolve and bin in Fourier space (see the top of this file); the
     * sampled PSF is normalised to sum 1. */
    box_factors(r->bx.p, L.nx, s, L.mx);
    box_factors(r->by.p, L.ny, s, L.my);
    double norm = 1.0 / psf_sampled_ft(&r->ft, L.alias, s, 0, 0);
    rows_forward(r, &L, prow);
    columns_fold(r, &L, pcol, norm);
    fftw_execute_dft_c2r(ppix, r->ypix.p, r->stamp.p);

    double total = add_stamp(r, &L, img, w, h);
    if (stamp_total)
        *stamp_total = total;
    return PP_OK;
}
