/* pixrender.c - pixelized-PSF rendering (SPEC §10.3); see pixrender.h. */
#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>

#include "pp_error.h"
#include "pp_mem.h"

#include "pixrender.h"

/* Stamp transforms kept per workspace (see struct fit_pix_ws). */
#define FIT_PIX_CACHE_BYTES ((size_t)64 << 20)

/* Lanczos order of SPEC §10.3 lanczos3. */
#define LANCZOS_A 3

/* Real outputs of one render: the model and the six derivatives. */
#define NOUT FIT_NDERIV

/* A Gaussian factor exp(x) with x below this is dropped (< 2e-22). */
#define EXP_CUT (-50.0)

/* Per context and FFT size: the stamp's DFT, centre at index 0, as the
 * half plane ix <= N/2 (row stride N/2 + 1). */
struct fit_pix_slot {
    int           n;
    fftw_complex *ft;
    unsigned long used;             /* ws->tick of the last use */
    size_t        bytes;
};

/* Per FFT size, shared by contexts: half-plane transforms (N × (N/2+1))
 * and their real inverses (N × N), one per output; centred outputs
 * (Lanczos mode), ramps and the complex-to-real plan. */
typedef struct {
    int             n;
    fftw_complex   *half[NOUT];
    double         *real[NOUT];
    double         *cen[NOUT];
    double         *tmp, *out;
    double complex *ex, *ey;
    double         *tab;            /* gauss_tables storage */
    fftw_plan       inv;
} pix_work;

/* Work arrays of one thread, and the registry of the contexts that
 * share them: their stamp transforms together stay under
 * FIT_PIX_CACHE_BYTES, the least recently used being dropped first (a
 * patch with a PSF per source and band sweeps the bands in order, so
 * the transforms of the band in use stay). */
struct fit_pix_ws {
    int           refs;
    int           nwork;
    pix_work     *work[FIT_PIX_NSIZES];
    fit_pix_ctx **ctx;              /* contexts using this workspace */
    int           nctx, cap;
    size_t        bytes;            /* stamp transforms held */
    unsigned long tick;
};

static void work_free(pix_work *w)
{
    if (!w)
        return;
    if (w->inv)
        fftw_destroy_plan(w->inv);
    for (int i = 0; i < NOUT; i++) {
        fftw_free(w->half[i]);
        fftw_free(w->real[i]);
        fftw_free(w->cen[i]);
    }
    fftw_free(w->tmp);
    fftw_free(w->out);
    free(w->ex);
    free(w->ey);
    free(w->tab);
    free(w);
}

static void slot_free(fit_pix_slot *s)
{
    if (!s)
        return;
    fftw_free(s->ft);
    free(s);
}

/* Signed frequency of bin i of an n-point DFT, cycles per pixel. */
static double freq(int i, int n)
{
    return (i < n / 2 ? i : i - n) / (double)n;
}

static int work_new(int n, pix_work **out, pp_error *err)
{
    size_t nn = (size_t)n * n;
    pix_work *w = pp_xmalloc(sizeof(*w));
    int ok;

    memset(w, 0, sizeof(*w));
    w->n = n;
    w->tmp = fftw_malloc(nn * sizeof(double));
    w->out = fftw_malloc(nn * sizeof(double));
    w->ex = malloc(n * sizeof(double complex));
    w->ey = malloc(n * sizeof(double complex));
    w->tab = malloc(sizeof(double) * FIT_MOG_MAX * (n / 2 + 1 + n));
    ok = w->tmp && w->out && w->ex && w->ey && w->tab;
    size_t nh = (size_t)n * (n / 2 + 1);
    for (int i = 0; i < NOUT; i++) {
        ok = ok && (w->half[i] = fftw_malloc(nh * sizeof(fftw_complex)));
        ok = ok && (w->real[i] = fftw_malloc(nn * sizeof(double)));
        ok = ok && (w->cen[i] = fftw_malloc(nn * sizeof(double)));
    }
    /* Complex-to-real, out of place, FFTW_ESTIMATE (SPEC §1); executed on
     * every output's arrays with fftw_execute_dft_c2r. */
    if (ok)
        w->inv = fftw_plan_dft_c2r_2d(n, n, w->half[0], w->real[0],
                                      FFTW_ESTIMATE);
    if (!ok || !w->inv) {
        work_free(w);
        return pp_error_set(err, ok ? PP_EINTERNAL : PP_ENOMEM,
                            ok ? "FFTW cannot plan size %d"
                               : "cannot allocate FFT arrays of size %d", n);
    }
    *out = w;
    return PP_OK;
}

/* The stamp's DFT at size n, wrapped so its centre is at index 0: the
 * galaxy transform then carries no phase but the source's. */
static int slot_new(const fit_pix_ctx *ctx, int n, fit_pix_slot **out,
                    pp_error *err)
{
    size_t nn = (size_t)n * n, nh = (size_t)n * (n / 2 + 1);
    fit_pix_slot *s = pp_xmalloc(sizeof(*s));
    double *wrapped = fftw_malloc(nn * sizeof(double));
    fftw_plan fwd = NULL;

    s->n = n;
    s->used = 0;
    s->bytes = nh * sizeof(fftw_complex);
    s->ft = fftw_malloc(nh * sizeof(fftw_complex));
    if (!s->ft || !wrapped) {
        fftw_free(wrapped);
        slot_free(s);
        return pp_error_set(err, PP_ENOMEM, "cannot allocate the PSF "
                            "transform of size %d", n);
    }
    memset(wrapped, 0, nn * sizeof(double));
    for (int j = 0; j < ctx->h; j++)
        for (int i = 0; i < ctx->w; i++) {
            int ix = (i - ctx->w / 2 + n) % n, iy = (j - ctx->h / 2 + n) % n;
            wrapped[(size_t)iy * n + ix] +=
                ctx->stamp[(size_t)j * ctx->w + i];
        }
    fwd = fftw_plan_dft_r2c_2d(n, n, wrapped, s->ft, FFTW_ESTIMATE);
    if (!fwd) {
        fftw_free(wrapped);
        slot_free(s);
        return pp_error_set(err, PP_EINTERNAL, "FFTW cannot plan size %d",
                            n);
    }
    fftw_execute(fwd);
    fftw_destroy_plan(fwd);
    fftw_free(wrapped);
    *out = s;
    return PP_OK;
}

/* The cached stamp DFT and work arrays of size n, created on first use. */
/* Drop ctx's slot i (its bytes leave the workspace's count). */
static void drop_slot(fit_pix_ctx *ctx, int i)
{
    ctx->ws->bytes -= ctx->slot[i]->bytes;
    slot_free(ctx->slot[i]);
    memmove(ctx->slot + i, ctx->slot + i + 1,
            (ctx->nslot - i - 1) * sizeof(ctx->slot[0]));
    ctx->nslot--;
}

/* Evict least recently used transforms of every context sharing ws until
 * the cache fits, never keep. */
static void evict(fit_pix_ws *ws, const fit_pix_slot *keep)
{
    while (ws->bytes > FIT_PIX_CACHE_BYTES) {
        fit_pix_ctx *best = NULL;
        int bi = -1;
        for (int c = 0; c < ws->nctx; c++)
            for (int i = 0; i < ws->ctx[c]->nslot; i++) {
                fit_pix_slot *s = ws->ctx[c]->slot[i];
                if (s != keep && (!best || s->used < best->slot[bi]->used)) {
                    best = ws->ctx[c];
                    bi = i;
                }
            }
        if (!best)
            return;
        drop_slot(best, bi);
    }
}

static int get_slot(fit_pix_ctx *ctx, int n, fit_pix_slot **out,
                    pix_work **wout, pp_error *err)
{
    fit_pix_ws *ws = ctx->ws;
    int rc, found = 0;

    for (int i = 0; i < ctx->nslot && !found; i++)
        if (ctx->slot[i]->n == n) {
            *out = ctx->slot[i];
            found = 1;
        }
    if (!found) {
        if (ctx->nslot == FIT_PIX_NSIZES)       /* drop the oldest */
            drop_slot(ctx, 0);
        if ((rc = slot_new(ctx, n, out, err)) != PP_OK)
            return rc;
        ctx->slot[ctx->nslot++] = *out;
        ws->bytes += (*out)->bytes;
        evict(ws, *out);
    }
    (*out)->used = ++ws->tick;
    for (int i = 0; i < ws->nwork; i++)
        if (ws->work[i]->n == n) {
            *wout = ws->work[i];
            return PP_OK;
        }
    if (ws->nwork == FIT_PIX_NSIZES) {
        work_free(ws->work[0]);
        memmove(ws->work, ws->work + 1,
                (FIT_PIX_NSIZES - 1) * sizeof(ws->work[0]));
        ws->nwork--;
    }
    if ((rc = work_new(n, wout, err)) != PP_OK)
        return rc;
    ws->work[ws->nwork++] = *wout;
    return PP_OK;
}

static void ws_register(fit_pix_ws *ws, fit_pix_ctx *ctx)
{
    if (ws->nctx == ws->cap) {
        ws->cap = ws->cap ? 2 * ws->cap : 8;
        ws->ctx = pp_xrealloc(ws->ctx, ws->cap * sizeof(*ws->ctx));
    }
    ws->ctx[ws->nctx++] = ctx;
}

static void ws_unregister(fit_pix_ws *ws, fit_pix_ctx *ctx)
{
    for (int c = 0; c < ws->nctx; c++)
        if (ws->ctx[c] == ctx) {
            ws->ctx[c] = ws->ctx[--ws->nctx];
            return;
        }
}

int fit_pix_init(fit_pix_ctx *ctx, const double *stamp, int w, int h,
                 int shift, int fft_max, pp_error *err)
{
    memset(ctx, 0, sizeof(*ctx));
    if (w < 1 || h < 1 || w % 2 == 0 || h % 2 == 0)
        return pp_error_set(err, PP_EUSAGE, "PSF stamp is %dx%d, expected "
                            "odd sizes", w, h);
    if (shift != FIT_PIX_FOURIER && shift != FIT_PIX_LANCZOS3)
        return pp_error_set(err, PP_EUSAGE, "subpixel shift method %d "
                            "unknown, expected fourier or lanczos3", shift);
    if (fft_max < 16 || (fft_max & (fft_max - 1)))
        return pp_error_set(err, PP_EUSAGE, "fft_max %d, expected a power "
                            "of two >= 16", fft_max);
    for (long i = 0; i < (long)w * h; i++)
        if (!isfinite(stamp[i]))
            return pp_error_set(err, PP_EDATA, "PSF stamp pixel %ld is not "
                                "finite", i);
    ctx->stamp = pp_xmalloc((size_t)w * h * sizeof(double));
    memcpy(ctx->stamp, stamp, (size_t)w * h * sizeof(double));
    ctx->scratch = NULL;            /* Lanczos stars, on first use */
    ctx->ws = pp_xmalloc(sizeof(*ctx->ws));
    memset(ctx->ws, 0, sizeof(*ctx->ws));
    ctx->ws->refs = 1;
    ws_register(ctx->ws, ctx);
    ctx->w = w;
    ctx->h = h;
    ctx->shift = shift;
    ctx->fft_max = fft_max;
    return PP_OK;
}

static void ws_unref(fit_pix_ws *ws)
{
    if (!ws || --ws->refs > 0)
        return;
    for (int i = 0; i < ws->nwork; i++)
        work_free(ws->work[i]);
    free(ws->ctx);
    free(ws);
}

void fit_pix_release(fit_pix_ctx *ctx)
{
    while (ctx->nslot > 0)
        drop_slot(ctx, ctx->nslot - 1);
    if (ctx->ws)
        ws_unregister(ctx->ws, ctx);
    ws_unref(ctx->ws);
    free(ctx->stamp);
    free(ctx->scratch);
    memset(ctx, 0, sizeof(*ctx));
}

void fit_pix_share(fit_pix_ctx *ctx, fit_pix_ctx *owner)
{
    if (ctx->ws == owner->ws)
        return;
    while (ctx->nslot > 0)
        drop_slot(ctx, ctx->nslot - 1);
    ws_unregister(ctx->ws, ctx);
    ws_unref(ctx->ws);
    ctx->ws = owner->ws;
    ctx->ws->refs++;
    ws_register(ctx->ws, ctx);
}

static int next_pow2(double v)
{
    int n = 1;
    while (n < v && n < (1 << 29))
        n *= 2;
    return n;
}

int fit_pix_galaxy_nfft(const fit_pix_ctx *ctx, const fit_mog *prof,
                        const double S[2][2])
{
    /* SPEC §10.3: N >= 2·(nre·re + stamp half-width); re = sqrt(λmax). */
    double tr = S[0][0] + S[1][1], det = S[0][0] * S[1][1] - S[0][1] * S[1][0];
    double disc = sqrt(fmax(0.25 * tr * tr - det, 0.0));
    double re = sqrt(fmax(0.5 * tr + disc, 0.0));
    int hw = (ctx->w > ctx->h ? ctx->w : ctx->h) / 2;
    return next_pow2(2.0 * (prof->nre * re + hw));
}

/* Lanczos-3 kernel L(t) and its derivative. */
static double sinc(double t)
{
    return t == 0.0 ? 1.0 : sin(M_PI * t) / (M_PI * t);
}

static double dsinc(double t)
{
    if (fabs(t) < 1e-4)
        return -M_PI * M_PI * t / 3.0;
    return (cos(M_PI * t) - sinc(t)) / t;
}

static void lanczos_weights(double d, double w[2 * LANCZOS_A + 1],
                            double dw[2 * LANCZOS_A + 1])
{
    double L[2 * LANCZOS_A + 1], dL[2 * LANCZOS_A + 1], s = 0, ds = 0;

    for (int j = -LANCZOS_A; j <= LANCZOS_A; j++) {
        double t = j + d;
        int k = j + LANCZOS_A;
        if (fabs(t) < LANCZOS_A) {
            L[k] = sinc(t) * sinc(t / LANCZOS_A);
            dL[k] = dsinc(t) * sinc(t / LANCZOS_A)
                    + sinc(t) * dsinc(t / LANCZOS_A) / LANCZOS_A;
        } else {
            L[k] = dL[k] = 0;
        }
        s += L[k];
        ds += dL[k];
    }
    /* Normalised (flux preserving, the reference's): w = L/ΣL. */
    for (int k = 0; k <= 2 * LANCZOS_A; k++) {
        w[k] = L[k] / s;
        dw[k] = dL[k] / s - L[k] * ds / (s * s);
    }
}

/* out = separable correlation of in (nx × ny) with kx along x and ky
 * along y (scipy correlate1d, zero beyond the edges); tmp scratch. */
static void correlate2(const double *in, int nx, int ny, const double *kx,
                       const double *ky, double *tmp, double *out)
{
    for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++) {
            double a = 0;
            for (int k = -LANCZOS_A; k <= LANCZOS_A; k++)
                if (i + k >= 0 && i + k < nx)
                    a += kx[k + LANCZOS_A] * in[(size_t)j * nx + i + k];
            tmp[(size_t)j * nx + i] = a;
        }
    for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++) {
            double a = 0;
            for (int k = -LANCZOS_A; k <= LANCZOS_A; k++)
                if (j + k >= 0 && j + k < ny)
                    a += ky[k + LANCZOS_A] * tmp[(size_t)(j + k) * nx + i];
            out[(size_t)j * nx + i] = a;
        }
}

/* Add f·arr (nx × ny, centre index (cx, cy)) at pixel (X, Y) into the
 * box buffer buf. */
static void place(const double *arr, int nx, int ny, int cx, int cy,
                  long X, long Y, double f, long x0, long x1, long y0,
                  long y1, double *buf)
{
    if (!buf)
        return;
    long ax0 = X - cx, ay0 = Y - cy;
    long lx = ax0 > x0 ? ax0 : x0, hx = ax0 + nx < x1 ? ax0 + nx : x1;
    long ly = ay0 > y0 ? ay0 : y0, hy = ay0 + ny < y1 ? ay0 + ny : y1;
    for (long py = ly; py < hy; py++)
        for (long px = lx; px < hx; px++)
            buf[(py - y0) * (x1 - x0) + (px - x0)] +=
                f * arr[(py - ay0) * nx + (px - ax0)];
}

/* Lanczos-3 mode: shift arr by (dx, dy) and add f× it to img, and its
 * x / y derivatives (kernel derivative) to ddx / ddy. */
static void lanczos_emit(const double *arr, int nx, int ny, int cx, int cy,
                         long X, long Y, double dx, double dy, double f,
                         double *tmp, double *out, long x0, long x1,
                         long y0, long y1, double *img, double *ddx,
                         double *ddy)
{
    double wx[7], dwx[7], wy[7], dwy[7];

    lanczos_weights(dx, wx, dwx);
    lanczos_weights(dy, wy, dwy);
    if (img) {
        correlate2(arr, nx, ny, wx, wy, tmp, out);
        place(out, nx, ny, cx, cy, X, Y, f, x0, x1, y0, y1, img);
    }
    if (ddx) {
        correlate2(arr, nx, ny, dwx, wy, tmp, out);
        place(out, nx, ny, cx, cy, X, Y, f, x0, x1, y0, y1, ddx);
    }
    if (ddy) {
        correlate2(arr, nx, ny, wx, dwy, tmp, out);
        place(out, nx, ny, cx, cy, X, Y, f, x0, x1, y0, y1, ddy);
    }
}

static int check_args(double x, double y, double flux, long x0, long x1,
                      long y0, long y1, pp_error *err)
{
    if (x1 < x0 || y1 < y0)
        return pp_error_set(err, PP_EUSAGE, "render box [%ld,%ld)x[%ld,%ld)"
                            " is inverted", x0, x1, y0, y1);
    if (!isfinite(x) || !isfinite(y) || !isfinite(flux))
        return pp_error_set(err, PP_EDATA, "source (x, y, flux) = (%g, %g,"
                            " %g), expected finite values", x, y, flux);
    return PP_OK;
}

/* ---- transforms ----
 *
 * A render asks for a list of real outputs (FIT_DERIV_FLUX stands for
 * the model itself, which also feeds the flux column), each the inverse
 * DFT of stamp_DFT × factor(u, v), where factor is a product of the
 * galaxy transform (or 1), the phase ramp (Fourier mode) and a
 * derivative factor.  Two outputs share one complex inverse transform;
 * that needs Hermitian inputs, which every factor is except at the
 * Nyquist bins (u or v = −1/2 has no partner in the grid): there the
 * factor is averaged over u = ±1/2 (and v = ±1/2), which is exactly the
 * Hermitian part — what taking the real part of a lone transform gives.
 */
typedef struct {
    const fit_mog *prof;        /* NULL for a star */
    double S[2][2], dS[3][2][2];
    int    has_dS;
    double dx, dy;              /* ramp shift (Fourier mode), else 0 */
    int    ramp;
    int    nout, out[NOUT];     /* FIT_DERIV_* indices wanted, in order */
} xform;

/* Factors of every wanted output at frequency (u, v), ramp excluded. */
static void factors(const xform *t, double u, double v, double complex *f)
{
    double g = 1, dg[4] = {0, 0, 0, 0};

    if (t->prof) {
        const fit_mog *p = t->prof;
        double c = -2.0 * M_PI * M_PI;
        double q = t->S[0][0] * u * u + 2 * t->S[0][1] * u * v
                   + t->S[1][1] * v * v, dq[3] = {0, 0, 0};
        if (t->has_dS)
            for (int k = 0; k < 3; k++)
                dq[k] = t->dS[k][0][0] * u * u + 2 * t->dS[k][0][1] * u * v
                        + t->dS[k][1][1] * v * v;
        g = 0;
        for (int k = 0; k < p->k; k++) {
            double a = c * p->var[k] * q;
            if (a < EXP_CUT)
                continue;
            double e = p->var[k] == 0 ? 1.0 : exp(a), ae = p->amp[k] * e;
            g += ae;
            for (int j = 0; j < 3; j++)
                dg[j] += ae * c * p->var[k] * dq[j];
            dg[3] += p->damp_dn[k] * e + ae * c * p->dvar_dn[k] * q;
        }
    }
    for (int i = 0; i < t->nout; i++) {
        int o = t->out[i];
        if (o == FIT_DERIV_FLUX)
            f[i] = g;
        else if (o == FIT_DERIV_X)
            f[i] = g * (-2.0 * M_PI * I * u);
        else if (o == FIT_DERIV_Y)
            f[i] = g * (-2.0 * M_PI * I * v);
        else
            f[i] = dg[o - FIT_DERIV_LOGRE];
    }
}

/* Ramp exp(−2πi(u·dx + v·dy)) at one frequency. */
static double complex ramp_at(const xform *t, double u, double v)
{
    return t->ramp ? cexp(-2.0 * M_PI * I * (u * t->dx + v * t->dy)) : 1.0;
}

/* Hermitian-part factors at a Nyquist bin: the average over the sign of
 * each Nyquist coordinate. */
static void nyquist_factors(const xform *t, double u, double v, int nu,
                            int nv, double complex *f)
{
    double complex acc[NOUT] = {0}, tmp[NOUT];
    int cnt = 0;

    for (int su = 0; su <= nu; su++)
        for (int sv = 0; sv <= nv; sv++) {
            double uu = su ? -u : u, vv = sv ? -v : v;
            double complex r = ramp_at(t, uu, vv);
            factors(t, uu, vv, tmp);
            for (int i = 0; i < t->nout; i++)
                acc[i] += tmp[i] * r;
            cnt++;
        }
    for (int i = 0; i < t->nout; i++)
        f[i] = acc[i] / cnt;
}

/* Per-render tables of the fast fill: per component k, tx[k·(N/2+1) +
 * ix] = exp(c·v_k·A·u²) for u = ix/N (ix <= N/2) and ty[k·N + iy] =
 * exp(c·v_k·D·v²) for every row. */
typedef struct {
    double *tx, *ty;
} gauss_tables;

/* Store ft × f[i] at half-plane bin p of every output. */
static void store_half(const xform *t, pix_work *w, fftw_complex ft,
                       const double complex *f, size_t p)
{
    for (int i = 0; i < t->nout; i++)
        w->half[i][p] = ft * f[i];
}

/* One row iy (v not Nyquist) for ix = 1..N/2−1, with
 * the Gaussian factors from the tables: exp(c·v_k·q) = tx·ty·ρ^ix with
 * ρ = exp(2c·v_k·B·v/N) (the cross term), so no exp per bin. */
static void fill_row_fast(const xform *t, const fit_pix_slot *s,
                          pix_work *w, const gauss_tables *gt, int iy)
{
    int n = s->n, h = n / 2, K = t->prof ? t->prof->k : 0;
    double v = freq(iy, n), c = -2.0 * M_PI * M_PI;
    double rho[FIT_MOG_MAX], cr[FIT_MOG_MAX], tyv[FIT_MOG_MAX];
    double amp[FIT_MOG_MAX], acv[FIT_MOG_MAX], dadn[FIT_MOG_MAX];
    double acdv[FIT_MOG_MAX];
    const fit_mog *pr = t->prof;
    const double (*S)[2] = t->S;
    double eyr = creal(w->ey[iy]), eyi = cimag(w->ey[iy]);
    size_t row = (size_t)iy * (h + 1);

    for (int k = 0; k < K; k++) {
        rho[k] = exp(2.0 * c * pr->var[k] * S[0][1] * v / n);
        cr[k] = rho[k];
        tyv[k] = gt->ty[(size_t)k * n + iy];
        amp[k] = pr->amp[k];
        acv[k] = pr->amp[k] * c * pr->var[k];
        dadn[k] = pr->damp_dn[k];
        acdv[k] = pr->amp[k] * c * pr->dvar_dn[k];
    }
    for (int ix = 1; ix < h; ix++) {
        double u = (double)ix / n, g = 1, hs = 0, m = 0, l = 0, q = 0;
        for (int k = 0; k < K; k++) {
            /* exp(c·v_k·q) = tx·ty·ρ^ix; Σ over components of the value,
             * of its ∂/∂q (hs) and of the n-derivative terms (m, l). */
            double e = gt->tx[(size_t)k * (h + 1) + ix] * tyv[k];
            e = e > 1e-300 ? e * cr[k] : 0.0;
            cr[k] *= rho[k];
            hs += acv[k] * e;
            m += dadn[k] * e;
            l += acdv[k] * e;
            g = k ? g + amp[k] * e : amp[k] * e;
        }
        if (pr)
            q = S[0][0] * u * u + 2 * S[0][1] * u * v + S[1][1] * v * v;
        /* base = ft × ramp */
        double exr = creal(w->ex[ix]), exi = cimag(w->ex[ix]);
        double rr = exr * eyr - exi * eyi, ri = exr * eyi + exi * eyr;
        double fr = creal(s->ft[row + ix]), fi = cimag(s->ft[row + ix]);
        double br = fr * rr - fi * ri, bi = fr * ri + fi * rr;
        for (int i = 0; i < t->nout; i++) {
            int o = t->out[i];
            double a;               /* real factor, or imaginary below */
            double *z = (double *)&w->half[i][row + ix];
            if (o == FIT_DERIV_X || o == FIT_DERIV_Y) {
                /* g × (−2πi·f): multiply base by −i·2πf·g */
                a = -2.0 * M_PI * (o == FIT_DERIV_X ? u : v) * g;
                z[0] = -bi * a;
                z[1] = br * a;
                continue;
            }
            if (o == FIT_DERIV_FLUX) {
                a = g;
            } else if (o == FIT_DERIV_N) {
                a = m + l * q;
            } else {
                const double (*dS)[2] = t->dS[o - FIT_DERIV_LOGRE];
                a = hs * (dS[0][0] * u * u + 2 * dS[0][1] * u * v
                          + dS[1][1] * v * v);
            }
            z[0] = br * a;
            z[1] = bi * a;
        }
    }
}

/* Fill the half-plane transform of every output (ix <= N/2; the
 * complex-to-real inverse implies the Hermitian rest).  The interior
 * goes through the table path; the u = 0 column, the Nyquist row and
 * column through the general one. */
static void fill_half(const xform *t, const fit_pix_slot *s, pix_work *w)
{
    static const double c = -2.0 * M_PI * M_PI;
    int n = s->n, h = n / 2;
    double complex f[NOUT];
    double *tab = w->tab;
    gauss_tables gt = {tab, tab + (size_t)FIT_MOG_MAX * (h + 1)};

    for (int i = 0; i < n; i++) {
        double fr = freq(i, n);
        w->ex[i] = t->ramp ? cexp(-2.0 * M_PI * I * fr * t->dx) : 1.0;
        w->ey[i] = t->ramp ? cexp(-2.0 * M_PI * I * fr * t->dy) : 1.0;
    }
    for (int k = 0; t->prof && k < t->prof->k; k++) {
        double cv = c * t->prof->var[k];
        for (int ix = 0; ix <= h; ix++) {
            double u = (double)ix / n;
            gt.tx[(size_t)k * (h + 1) + ix] = exp(cv * t->S[0][0] * u * u);
        }
        for (int iy = 0; iy < n; iy++) {
            double v = freq(iy, n);
            gt.ty[(size_t)k * n + iy] = exp(cv * t->S[1][1] * v * v);
        }
    }
    for (int iy = 0; iy < n; iy++) {
        double v = freq(iy, n);
        if (iy != h)
            fill_row_fast(t, s, w, &gt, iy);
        for (int ix = 0; ix <= h; ix++) {
            if (iy != h && ix != 0 && ix != h)
                continue;           /* done by the table path */
            /* u = +N/2/N here: the half plane's Nyquist column. */
            double u = ix == h ? 0.5 : (double)ix / n;
            size_t p = (size_t)iy * (h + 1) + ix;
            if (ix == h || iy == h) {
                nyquist_factors(t, u, v, ix == h, iy == h, f);
            } else {
                double complex r = w->ex[ix] * w->ey[iy];
                factors(t, u, v, f);
                for (int i = 0; i < t->nout; i++)
                    f[i] *= r;
            }
            store_half(t, w, s->ft[p], f, p);
        }
    }
}

/* Inverse transforms of every output into w->real. */
static void inverse_all(const xform *t, pix_work *w)
{
    for (int i = 0; i < t->nout; i++)
        fftw_execute_dft_c2r(w->inv, w->half[i], w->real[i]);
}

/* Output i of the last inverse_all(), centred (offset 0 at N/2) and
 * divided by N², into w->cen[i]. */
static void centre_output(const xform *t, pix_work *w, int i)
{
    int n = w->n;
    double nn = (double)n * n;
    const double *src = w->real[i];

    for (int iy = 0; iy < n; iy++)
        for (int ix = 0; ix < n; ix++) {
            int cx = (ix + n / 2) % n, cy = (iy + n / 2) % n;
            w->cen[i][(size_t)cy * n + cx] = src[(size_t)iy * n + ix] / nn;
        }
}

/* Add f × output i (Fourier mode: already shifted) at (X, Y) into the box
 * buffer buf, reading the uncentred inverse with wrap-around: the output
 * covers offsets [−N/2, N/2) from (X, Y). */
static void place_wrapped(const pix_work *w, int i, long X, long Y,
                          double f, long x0, long x1, long y0, long y1,
                          double *buf)
{
    int n = w->n;
    const double *src = w->real[i];
    long lx = X - n / 2 > x0 ? X - n / 2 : x0;
    long hx = X + n / 2 < x1 ? X + n / 2 : x1;
    long ly = Y - n / 2 > y0 ? Y - n / 2 : y0;
    long hy = Y + n / 2 < y1 ? Y + n / 2 : y1;
    double sc = f / ((double)n * n);

    if (!buf)
        return;
    for (long py = ly; py < hy; py++) {
        const double *row = src + (size_t)((py - Y + n) % n) * n;
        double *b = buf + (py - y0) * (x1 - x0) - x0;
        long split = X < lx ? lx : (X > hx ? hx : X);
        /* Offsets < 0 wrap to the row's end, >= 0 start at index 0. */
        for (long px = lx; px < split; px++)
            b[px] += sc * row[px - X + n];
        for (long px = split; px < hx; px++)
            b[px] += sc * row[px - X];
    }
}

/* Destination buffer of output FIT_DERIV_* o. */
static double *dest(int o, double *img, double *const d[FIT_NDERIV])
{
    return o == FIT_DERIV_FLUX ? img : (d ? d[o] : NULL);
}

/* Emit every output of a Fourier-mode render. */
static void emit_fourier(const xform *t, pix_work *w, long X, long Y,
                         double flux, long x0, long x1, long y0, long y1,
                         double *img, double *const d[FIT_NDERIV])
{
    for (int i = 0; i < t->nout; i++) {
        int o = t->out[i];
        place_wrapped(w, i, X, Y, flux, x0, x1, y0, y1, dest(o, img, d));
        if (o == FIT_DERIV_FLUX && d && d[FIT_DERIV_FLUX])
            place_wrapped(w, i, X, Y, 1.0, x0, x1, y0, y1,
                          d[FIT_DERIV_FLUX]);
    }
}

/* Emit every output of a Lanczos-mode render: centred, then shifted by
 * the Lanczos-3 filter; position derivatives from the kernel's. */
static void emit_lanczos(const xform *t, pix_work *w, long X, long Y,
                         double flux, long x0, long x1, long y0, long y1,
                         double *img, double *const d[FIT_NDERIV])
{
    int n = w->n;

    for (int i = 0; i < t->nout; i++) {
        int o = t->out[i];
        centre_output(t, w, i);
        if (o == FIT_DERIV_FLUX) {
            lanczos_emit(w->cen[i], n, n, n / 2, n / 2, X, Y, t->dx, t->dy,
                         flux, w->tmp, w->out, x0, x1, y0, y1, img,
                         d ? d[FIT_DERIV_X] : NULL, d ? d[FIT_DERIV_Y] : NULL);
            if (d && d[FIT_DERIV_FLUX])
                lanczos_emit(w->cen[i], n, n, n / 2, n / 2, X, Y, t->dx,
                             t->dy, 1.0, w->tmp, w->out, x0, x1, y0, y1,
                             d[FIT_DERIV_FLUX], NULL, NULL);
        } else {
            lanczos_emit(w->cen[i], n, n, n / 2, n / 2, X, Y, t->dx, t->dy,
                         flux, w->tmp, w->out, x0, x1, y0, y1, d[o], NULL,
                         NULL);
        }
    }
}

/* Outputs wanted: the model (if img or the flux column, or Lanczos
 * position columns, need it), then the derivatives in index order;
 * Fourier position columns only in Fourier mode. */
static void want_outputs(xform *t, int lanczos, double *img,
                         double *const d[FIT_NDERIV], int galaxy)
{
    int pos = d && (d[FIT_DERIV_X] || d[FIT_DERIV_Y]);

    t->nout = 0;
    if (img || (d && d[FIT_DERIV_FLUX]) || (lanczos && pos))
        t->out[t->nout++] = FIT_DERIV_FLUX;
    for (int o = FIT_DERIV_X; o < FIT_NDERIV; o++) {
        if (!d || !d[o])
            continue;
        if (o <= FIT_DERIV_Y ? !lanczos : galaxy)
            t->out[t->nout++] = o;
    }
}

int fit_pix_render_star(fit_pix_ctx *ctx, double x, double y, double flux,
                        long x0, long x1, long y0, long y1, double *img,
                        double *const d[FIT_NDERIV], pp_error *err)
{
    fit_pix_slot *s;
    pix_work *w;
    xform t;
    int rc = check_args(x, y, flux, x0, x1, y0, y1, err);
    long X = lrint(x), Y = lrint(y);        /* round half even */
    double dx = x - X, dy = y - Y;

    if (rc != PP_OK)
        return rc;
    if (ctx->shift == FIT_PIX_LANCZOS3) {
        /* The reference's: the stamp itself, shifted, no FFT. */
        double *dfl = d ? d[FIT_DERIV_FLUX] : NULL;
        if (!ctx->scratch)
            ctx->scratch = pp_xmalloc(2 * (size_t)ctx->w * ctx->h
                                      * sizeof(double));
        double *tmp = ctx->scratch, *out = tmp + (size_t)ctx->w * ctx->h;
        lanczos_emit(ctx->stamp, ctx->w, ctx->h, ctx->w / 2, ctx->h / 2, X,
                     Y, dx, dy, flux, tmp, out, x0, x1, y0, y1, img,
                     d ? d[FIT_DERIV_X] : NULL, d ? d[FIT_DERIV_Y] : NULL);
        if (dfl)
            lanczos_emit(ctx->stamp, ctx->w, ctx->h, ctx->w / 2, ctx->h / 2,
                         X, Y, dx, dy, 1.0, tmp, out, x0, x1, y0, y1, dfl,
                         NULL, NULL);
        return PP_OK;
    }
    /* SPEC §10.3: zero-padded by the stamp half-width, phase ramp. */
    int big = (ctx->w > ctx->h ? ctx->w : ctx->h);
    if ((rc = get_slot(ctx, next_pow2(2.0 * big - 1), &s, &w, err))
        != PP_OK)
        return rc;
    memset(&t, 0, sizeof(t));
    t.ramp = 1;
    t.dx = dx;
    t.dy = dy;
    want_outputs(&t, 0, img, d, 0);
    if (t.nout == 0)
        return PP_OK;
    fill_half(&t, s, w);
    inverse_all(&t, w);
    emit_fourier(&t, w, X, Y, flux, x0, x1, y0, y1, img, d);
    return PP_OK;
}

int fit_pix_render_galaxy(fit_pix_ctx *ctx, const fit_mog *prof,
                          double x, double y, double flux,
                          const double S[2][2], const double dS[3][2][2],
                          long x0, long x1, long y0, long y1, double *img,
                          double *const d[FIT_NDERIV], pp_error *err)
{
    return fit_pix_render_galaxy_n(ctx, prof, 0, x, y, flux, S, dS, x0, x1,
                                   y0, y1, img, d, err);
}

int fit_pix_render_galaxy_n(fit_pix_ctx *ctx, const fit_mog *prof,
                            int nfft, double x, double y, double flux,
                            const double S[2][2], const double dS[3][2][2],
                            long x0, long x1, long y0, long y1,
                            double *img, double *const d[FIT_NDERIV],
                            pp_error *err)
{
    fit_pix_slot *s;
    pix_work *w;
    xform t;
    int rc, n, lanczos = ctx->shift == FIT_PIX_LANCZOS3;
    long X = lrint(x), Y = lrint(y);        /* round half even */

    if ((rc = check_args(x, y, flux, x0, x1, y0, y1, err)) != PP_OK)
        return rc;
    if (prof->k < 1 || prof->k > FIT_MOG_MAX)
        return pp_error_set(err, PP_EUSAGE, "profile has %d components, "
                            "expected 1..%d", prof->k, FIT_MOG_MAX);
    if (!dS && d && (d[FIT_DERIV_LOGRE] || d[FIT_DERIV_EE1]
                     || d[FIT_DERIV_EE2]))
        return pp_error_set(err, PP_EUSAGE, "shape derivatives requested "
                            "without dS");
    n = nfft > 0 ? nfft : fit_pix_galaxy_nfft(ctx, prof, S);
    if (n > ctx->fft_max || (n & (n - 1)))
        return pp_error_set(err, PP_EDATA, "galaxy needs an FFT of %d > "
                            "fft_max %d; use the mixture path", n,
                            ctx->fft_max);
    if ((rc = get_slot(ctx, n, &s, &w, err)) != PP_OK)
        return rc;
    memset(&t, 0, sizeof(t));
    t.prof = prof;
    memcpy(t.S, S, sizeof(t.S));
    if (dS) {
        memcpy(t.dS, dS, sizeof(t.dS));
        t.has_dS = 1;
    }
    t.dx = x - X;
    t.dy = y - Y;
    t.ramp = !lanczos;
    want_outputs(&t, lanczos, img, d, 1);
    if (t.nout == 0)
        return PP_OK;
    fill_half(&t, s, w);
    inverse_all(&t, w);
    if (lanczos)
        emit_lanczos(&t, w, X, Y, flux, x0, x1, y0, y1, img, d);
    else
        emit_fourier(&t, w, X, Y, flux, x0, x1, y0, y1, img, d);
    return PP_OK;
}
