/* pixrender.c - pixelized-PSF rendering (SPEC §10.3); see pixrender.h. */
#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>

#include "pp_error.h"
#include "pp_mem.h"

#include "pixrender.h"

/* Lanczos order of SPEC §10.3 lanczos3. */
#define LANCZOS_A 3

struct fit_pix_slot {
    int           n;
    fftw_complex *ft;                   /* DFT of the stamp, centre at 0 */
    fftw_complex *work[FIT_NDERIV];     /* per-output transforms */
    double       *cen, *tmp, *out;      /* centred real N × N arrays */
    fftw_plan     inv;                  /* in-place inverse on work[0] */
};

static void slot_free(fit_pix_slot *s)
{
    if (!s)
        return;
    if (s->inv)
        fftw_destroy_plan(s->inv);
    fftw_free(s->ft);
    for (int i = 0; i < FIT_NDERIV; i++)
        fftw_free(s->work[i]);
    fftw_free(s->cen);
    fftw_free(s->tmp);
    fftw_free(s->out);
    free(s);
}

/* Signed frequency of bin i of an n-point DFT, cycles per pixel. */
static double freq(int i, int n)
{
    return (i < n / 2 ? i : i - n) / (double)n;
}

/* Build the cache for size n: stamp DFT and work arrays. */
static int slot_new(const fit_pix_ctx *ctx, int n, fit_pix_slot **out,
                    pp_error *err)
{
    size_t nn = (size_t)n * n;
    fit_pix_slot *s = pp_xmalloc(sizeof(*s));
    fftw_plan fwd;

    memset(s, 0, sizeof(*s));
    s->n = n;
    s->ft = fftw_malloc(nn * sizeof(fftw_complex));
    s->cen = fftw_malloc(nn * sizeof(double));
    s->tmp = fftw_malloc(nn * sizeof(double));
    s->out = fftw_malloc(nn * sizeof(double));
    int ok = s->ft && s->cen && s->tmp && s->out;
    for (int i = 0; i < FIT_NDERIV; i++) {
        s->work[i] = fftw_malloc(nn * sizeof(fftw_complex));
        ok = ok && s->work[i];
    }
    if (!ok) {
        slot_free(s);
        return pp_error_set(err, PP_ENOMEM, "cannot allocate FFT arrays "
                            "of size %d", n);
    }
    /* Stamp with its centre at index (0, 0), wrapped: the galaxy
     * transform then carries no phase but the source's. */
    memset(s->ft, 0, nn * sizeof(fftw_complex));
    for (int j = 0; j < ctx->h; j++)
        for (int i = 0; i < ctx->w; i++) {
            int ix = (i - ctx->w / 2 + n) % n, iy = (j - ctx->h / 2 + n) % n;
            s->ft[(size_t)iy * n + ix] = ctx->stamp[(size_t)j * ctx->w + i];
        }
    fwd = fftw_plan_dft_2d(n, n, s->ft, s->ft, FFTW_FORWARD, FFTW_ESTIMATE);
    s->inv = fftw_plan_dft_2d(n, n, s->work[0], s->work[0], FFTW_BACKWARD,
                              FFTW_ESTIMATE);
    if (!fwd || !s->inv) {
        if (fwd)
            fftw_destroy_plan(fwd);
        slot_free(s);
        return pp_error_set(err, PP_EINTERNAL, "FFTW cannot plan size %d",
                            n);
    }
    fftw_execute(fwd);
    fftw_destroy_plan(fwd);
    *out = s;
    return PP_OK;
}

/* The cached slot of size n, created on first use. */
static int get_slot(fit_pix_ctx *ctx, int n, fit_pix_slot **out,
                    pp_error *err)
{
    for (int i = 0; i < ctx->nslot; i++)
        if (ctx->slot[i]->n == n) {
            *out = ctx->slot[i];
            return PP_OK;
        }
    if (ctx->nslot == FIT_PIX_NSIZES) {     /* evict the oldest */
        slot_free(ctx->slot[0]);
        memmove(ctx->slot, ctx->slot + 1,
                (FIT_PIX_NSIZES - 1) * sizeof(ctx->slot[0]));
        ctx->nslot--;
    }
    int rc = slot_new(ctx, n, out, err);
    if (rc == PP_OK)
        ctx->slot[ctx->nslot++] = *out;
    return rc;
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
    ctx->scratch = pp_xmalloc(2 * (size_t)w * h * sizeof(double));
    ctx->w = w;
    ctx->h = h;
    ctx->shift = shift;
    ctx->fft_max = fft_max;
    return PP_OK;
}

void fit_pix_release(fit_pix_ctx *ctx)
{
    for (int i = 0; i < ctx->nslot; i++)
        slot_free(ctx->slot[i]);
    free(ctx->stamp);
    free(ctx->scratch);
    memset(ctx, 0, sizeof(*ctx));
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

/* Inverse-transform s->work[i] and store its real part, divided by N²
 * and re-centred (offset 0 at index N/2), in s->cen. */
static void inverse_centred(fit_pix_slot *s, int i)
{
    int n = s->n;
    double nn = (double)n * n;

    fftw_execute_dft(s->inv, s->work[i], s->work[i]);
    for (int iy = 0; iy < n; iy++)
        for (int ix = 0; ix < n; ix++) {
            int cx = (ix + n / 2) % n, cy = (iy + n / 2) % n;
            s->cen[(size_t)cy * n + cx] =
                creal(s->work[i][(size_t)iy * n + ix]) / nn;
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

/* Emit s->cen (an unshifted or already shifted image, centre N/2) to
 * the model and the flux column, with Lanczos-shift position columns. */
static void emit_base(fit_pix_ctx *ctx, fit_pix_slot *s, int nx, int ny,
                      int cx, int cy, const double *arr, long X, long Y,
                      double dx, double dy, double flux, long x0, long x1,
                      long y0, long y1, double *img,
                      double *const d[FIT_NDERIV])
{
    double *dfl = d ? d[FIT_DERIV_FLUX] : NULL;

    if (ctx->shift == FIT_PIX_LANCZOS3) {
        lanczos_emit(arr, nx, ny, cx, cy, X, Y, dx, dy, flux, s->tmp,
                     s->out, x0, x1, y0, y1, img,
                     d ? d[FIT_DERIV_X] : NULL, d ? d[FIT_DERIV_Y] : NULL);
        if (dfl)
            lanczos_emit(arr, nx, ny, cx, cy, X, Y, dx, dy, 1.0, s->tmp,
                         s->out, x0, x1, y0, y1, dfl, NULL, NULL);
    } else {
        place(arr, nx, ny, cx, cy, X, Y, flux, x0, x1, y0, y1, img);
        place(arr, nx, ny, cx, cy, X, Y, 1.0, x0, x1, y0, y1, dfl);
    }
}

/* Fourier mode: inverse-transform the position columns work[X], [Y]. */
static void emit_fourier_pos(fit_pix_slot *s, long X, long Y, double flux,
                             long x0, long x1, long y0, long y1,
                             double *const d[FIT_NDERIV])
{
    for (int i = FIT_DERIV_X; i <= FIT_DERIV_Y; i++)
        if (d && d[i]) {
            inverse_centred(s, i);
            place(s->cen, s->n, s->n, s->n / 2, s->n / 2, X, Y, flux, x0,
                  x1, y0, y1, d[i]);
        }
}

int fit_pix_render_star(fit_pix_ctx *ctx, double x, double y, double flux,
                        long x0, long x1, long y0, long y1, double *img,
                        double *const d[FIT_NDERIV], pp_error *err)
{
    fit_pix_slot *s;
    int rc = check_args(x, y, flux, x0, x1, y0, y1, err);
    long X = lrint(x), Y = lrint(y);        /* round half even */
    double dx = x - X, dy = y - Y;

    if (rc != PP_OK)
        return rc;
    if (ctx->shift == FIT_PIX_LANCZOS3) {
        /* The reference's: the stamp itself, shifted, no FFT. */
        fit_pix_slot sc = { .tmp = ctx->scratch,
                            .out = ctx->scratch + (size_t)ctx->w * ctx->h };
        emit_base(ctx, &sc, ctx->w, ctx->h, ctx->w / 2, ctx->h / 2,
                  ctx->stamp, X, Y, dx, dy, flux, x0, x1, y0, y1, img, d);
        return PP_OK;
    }
    /* SPEC §10.3: zero-padded by the stamp half-width, phase ramp. */
    int big = (ctx->w > ctx->h ? ctx->w : ctx->h);
    if ((rc = get_slot(ctx, next_pow2(2.0 * big - 1), &s, err)) != PP_OK)
        return rc;
    int n = s->n;
    for (int iy = 0; iy < n; iy++)
        for (int ix = 0; ix < n; ix++) {
            size_t p = (size_t)iy * n + ix;
            double u = freq(ix, n), v = freq(iy, n);
            double complex b = s->ft[p] * cexp(-2.0 * M_PI * I
                                               * (u * dx + v * dy));
            s->work[0][p] = b;
            s->work[FIT_DERIV_X][p] = b * (-2.0 * M_PI * I * u);
            s->work[FIT_DERIV_Y][p] = b * (-2.0 * M_PI * I * v);
        }
    inverse_centred(s, 0);
    emit_base(ctx, s, n, n, n / 2, n / 2, s->cen, X, Y, 0, 0, flux, x0, x1,
              y0, y1, img, d);
    emit_fourier_pos(s, X, Y, flux, x0, x1, y0, y1, d);
    return PP_OK;
}

/* Fill s->work with stamp × galaxy transforms: [0] the model, [X], [Y]
 * (Fourier mode), [LOGRE..N] the derivative factors (SPEC §10.4:
 * ∂F/∂C = −2π² q qᵀ F per component). */
static void galaxy_transform(const fit_pix_ctx *ctx, fit_pix_slot *s,
                             const fit_mog *prof, const double S[2][2],
                             const double dS[3][2][2], double dx,
                             double dy, const int want[FIT_NDERIV])
{
    int n = s->n, fourier = ctx->shift == FIT_PIX_FOURIER;
    double c = -2.0 * M_PI * M_PI;

    for (int iy = 0; iy < n; iy++)
        for (int ix = 0; ix < n; ix++) {
            size_t p = (size_t)iy * n + ix;
            double u = freq(ix, n), v = freq(iy, n);
            double q = S[0][0] * u * u + 2 * S[0][1] * u * v
                       + S[1][1] * v * v, dq[3] = {0, 0, 0};
            double g = 0, dg[4] = {0, 0, 0, 0};
            if (dS)
                for (int k = 0; k < 3; k++)
                    dq[k] = dS[k][0][0] * u * u + 2 * dS[k][0][1] * u * v
                            + dS[k][1][1] * v * v;
            for (int k = 0; k < prof->k; k++) {
                double e = exp(c * prof->var[k] * q), ae = prof->amp[k] * e;
                g += ae;
                for (int j = 0; j < 3; j++)
                    dg[j] += ae * c * prof->var[k] * dq[j];
                dg[3] += prof->damp_dn[k] * e
                         + ae * c * prof->dvar_dn[k] * q;
            }
            double complex r = fourier ? s->ft[p] * cexp(-2.0 * M_PI * I
                                          * (u * dx + v * dy)) : s->ft[p];
            s->work[0][p] = r * g;
            if (fourier && want[FIT_DERIV_X])
                s->work[FIT_DERIV_X][p] = r * g * (-2.0 * M_PI * I * u);
            if (fourier && want[FIT_DERIV_Y])
                s->work[FIT_DERIV_Y][p] = r * g * (-2.0 * M_PI * I * v);
            for (int j = 0; j < 4; j++)
                if (want[FIT_DERIV_LOGRE + j])
                    s->work[FIT_DERIV_LOGRE + j][p] = r * dg[j];
        }
}

int fit_pix_render_galaxy(fit_pix_ctx *ctx, const fit_mog *prof,
                          double x, double y, double flux,
                          const double S[2][2], const double dS[3][2][2],
                          long x0, long x1, long y0, long y1, double *img,
                          double *const d[FIT_NDERIV], pp_error *err)
{
    fit_pix_slot *s;
    int want[FIT_NDERIV] = {0}, rc, n;
    long X = lrint(x), Y = lrint(y);        /* round half even */
    double dx = x - X, dy = y - Y;

    if ((rc = check_args(x, y, flux, x0, x1, y0, y1, err)) != PP_OK)
        return rc;
    if (prof->k < 1 || prof->k > FIT_MOG_MAX)
        return pp_error_set(err, PP_EUSAGE, "profile has %d components, "
                            "expected 1..%d", prof->k, FIT_MOG_MAX);
    for (int i = 0; i < FIT_NDERIV; i++)
        want[i] = d && d[i];
    if (!dS && (want[FIT_DERIV_LOGRE] || want[FIT_DERIV_EE1]
                || want[FIT_DERIV_EE2]))
        return pp_error_set(err, PP_EUSAGE, "shape derivatives requested "
                            "without dS");
    n = fit_pix_galaxy_nfft(ctx, prof, S);
    if (n > ctx->fft_max)
        return pp_error_set(err, PP_EDATA, "galaxy needs an FFT of %d > "
                            "fft_max %d; use the mixture path", n,
                            ctx->fft_max);
    if ((rc = get_slot(ctx, n, &s, err)) != PP_OK)
        return rc;
    galaxy_transform(ctx, s, prof, S, dS, dx, dy, want);
    /* Shape and index columns first: they reuse s->cen. */
    for (int i = FIT_DERIV_LOGRE; i <= FIT_DERIV_N; i++) {
        if (!want[i])
            continue;
        inverse_centred(s, i);
        if (ctx->shift == FIT_PIX_LANCZOS3)
            lanczos_emit(s->cen, n, n, n / 2, n / 2, X, Y, dx, dy, flux,
                         s->tmp, s->out, x0, x1, y0, y1, d[i], NULL, NULL);
        else
            place(s->cen, n, n, n / 2, n / 2, X, Y, flux, x0, x1, y0, y1,
                  d[i]);
    }
    if (ctx->shift == FIT_PIX_FOURIER)
        emit_fourier_pos(s, X, Y, flux, x0, x1, y0, y1, d);
    inverse_centred(s, 0);
    emit_base(ctx, s, n, n, n / 2, n / 2, s->cen, X, Y, dx, dy, flux, x0,
              x1, y0, y1, img, d);
    return PP_OK;
}
