/* shift.c - sub-pixel interpolation (SPEC §8.2 step 5, §10.3); see
 * shift.h. */
#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>

#include "pp_mem.h"

#include "shift.h"

/* Lanczos order of SPEC §10.3 "lanczos3". */
#define LANCZOS_A 3

/* Below this |t| the Dirichlet kernel is taken from its series. */
#define DIRICHLET_TINY 1e-7

/* Below this |sin(πt/N)| a tap is computed directly (near a node). */
#define DIRICHLET_GUARD 1e-3

int epsf_shift_kind(const char *name, int *kind, pp_error *err)
{
    if (strcmp(name, "fourier") == 0)
        *kind = EPSF_SHIFT_FOURIER;
    else if (strcmp(name, "lanczos3") == 0)
        *kind = EPSF_SHIFT_LANCZOS3;
    else
        return pp_error_set(err, PP_ECONFIG, "patch_run.subpixel_shift: "
                            "found '%s', expected fourier or lanczos3",
                            name);
    return PP_OK;
}

/* Odd period of the zero-padded stamp: n plus its half-width each side. */
static int fourier_period(int n)
{
    int N = n + 2 * ((n - 1) / 2);

    return N % 2 ? N : N + 1;
}

/* D_N(t) and its derivative; t is reduced modulo N first. */
static void dirichlet(double t, int N, double *v, double *dv)
{
    double r = fmod(t, (double)N), s, c, sn, cn;

    if (r > 0.5 * N)
        r -= N;
    else if (r < -0.5 * N)
        r += N;
    if (fabs(r) < DIRICHLET_TINY) {
        double k = M_PI * M_PI * (1.0 - 1.0 / ((double)N * N));
        *v = 1.0 - k * r * r / 6.0;
        *dv = -k * r / 3.0;
        return;
    }
    s = sin(M_PI * r);
    c = cos(M_PI * r);
    sn = sin(M_PI * r / N);
    cn = cos(M_PI * r / N);
    *v = s / (N * sn);
    *dv = M_PI * (c * sn - s * cn / N) / (N * sn * sn);
}

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

/* One row of weights w[i] = K(x − i), i = 0..n−1, and derivatives dw
 * (d/dx); *lo, *hi bound the nonzero taps. */
static void weights(int kind, int n, double x, double *w, double *dw,
                    int *lo, int *hi)
{
    if (kind == EPSF_SHIFT_FOURIER) {
        int N = fourier_period(n);

        /* sin(π(x−i)) = (−1)^i sin(πx); the angle π(x−i)/N steps by
         * −π/N, so its sine and cosine follow by rotation (no trig call
         * per tap). */
        double s0 = sin(M_PI * x), c0 = cos(M_PI * x);
        double sn = sin(M_PI * x / N), cn = cos(M_PI * x / N);
        double sd = sin(M_PI / N), cd = cos(M_PI / N), sg = 1.0;

        for (int i = 0; i < n; i++) {
            if (fabs(sn) < DIRICHLET_GUARD)
                dirichlet(x - i, N, &w[i], &dw[i]);
            else {
                double s = sg * s0, c = sg * c0;
                w[i] = s / (N * sn);
                dw[i] = M_PI * (c * sn - s * cn / N) / (N * sn * sn);
            }
            double t = sn * cd - cn * sd;
            cn = cn * cd + sn * sd;
            sn = t;
            sg = -sg;
        }
        *lo = 0;
        *hi = n;
        return;
    }
    /* Lanczos-3, normalised over the taps |x − i| < 3 (all of them, the
     * ones beyond the stamp included: they hold zeros). */
    double L[2 * LANCZOS_A + 1], dL[2 * LANCZOS_A + 1], s = 0, ds = 0;
    int i0 = (int)floor(x) - LANCZOS_A + 1;

    for (int k = 0; k < 2 * LANCZOS_A; k++) {
        double t = x - (i0 + k);
        if (fabs(t) < LANCZOS_A) {
            L[k] = sinc(t) * sinc(t / LANCZOS_A);
            dL[k] = dsinc(t) * sinc(t / LANCZOS_A)
                    + sinc(t) * dsinc(t / LANCZOS_A) / LANCZOS_A;
        } else
            L[k] = dL[k] = 0;
        s += L[k];
        ds += dL[k];
    }
    *lo = n;
    *hi = 0;
    for (int k = 0; k < 2 * LANCZOS_A; k++) {
        int i = i0 + k;
        if (i < 0 || i >= n)
            continue;
        w[i] = L[k] / s;
        dw[i] = dL[k] / s - L[k] * ds / (s * s);
        if (i < *lo)
            *lo = i;
        if (i + 1 > *hi)
            *hi = i + 1;
    }
    for (int i = 0; i < n; i++)
        if (i < *lo || i >= *hi)
            w[i] = dw[i] = 0;
}

typedef struct {
    double *w, *dw;             /* m × n */
    int *lo, *hi;               /* m */
} wtable;

static void wtable_make(wtable *t, int kind, int n, const double *pos, int m)
{
    t->w = pp_xmalloc(sizeof(double) * (size_t)m * n);
    t->dw = pp_xmalloc(sizeof(double) * (size_t)m * n);
    t->lo = pp_xmalloc(sizeof(int) * (size_t)m);
    t->hi = pp_xmalloc(sizeof(int) * (size_t)m);
    for (int k = 0; k < m; k++)
        weights(kind, n, pos[k], t->w + (size_t)k * n, t->dw + (size_t)k * n,
                &t->lo[k], &t->hi[k]);
}

static void wtable_free(wtable *t)
{
    free(t->w);
    free(t->dw);
    free(t->lo);
    free(t->hi);
}

/* Second pass: out[jy][ix] = Σ_r W[jy][r] tmp[r][ix]. */
static void pass_y(const wtable *ty, const double *wy, const double *tmp,
                   int n, int nx, int ny, double *out)
{
    for (int jy = 0; jy < ny; jy++) {
        const double *w = wy + (size_t)jy * n;
        double *o = out + (size_t)jy * nx;

        memset(o, 0, sizeof(double) * (size_t)nx);
        for (int r = ty->lo[jy]; r < ty->hi[jy]; r++) {
            const double *t = tmp + (size_t)r * nx;
            for (int ix = 0; ix < nx; ix++)
                o[ix] += w[r] * t[ix];
        }
    }
}

void epsf_shift_eval(const double *g, int n, int kind, const double *xs,
                     int nx, const double *ys, int ny, double *out,
                     double *ddx, double *ddy)
{
    wtable tx, ty;
    double *tmp = pp_xmalloc(sizeof(double) * (size_t)n * nx);
    double *tmpd = ddx ? pp_xmalloc(sizeof(double) * (size_t)n * nx) : NULL;

    wtable_make(&tx, kind, n, xs, nx);
    wtable_make(&ty, kind, n, ys, ny);
    /* First pass along x: tmp[r][ix] = Σ_i g[r][i] Wx[ix][i]. */
    for (int r = 0; r < n; r++) {
        const double *row = g + (size_t)r * n;
        for (int ix = 0; ix < nx; ix++) {
            const double *w = tx.w + (size_t)ix * n;
            const double *dw = tx.dw + (size_t)ix * n;
            double a = 0, da = 0;
            for (int i = tx.lo[ix]; i < tx.hi[ix]; i++) {
                a += w[i] * row[i];
                da += dw[i] * row[i];
            }
            tmp[(size_t)r * nx + ix] = a;
            if (tmpd)
                tmpd[(size_t)r * nx + ix] = da;
        }
    }
    pass_y(&ty, ty.w, tmp, n, nx, ny, out);
    if (ddx)
        pass_y(&ty, ty.w, tmpd, n, nx, ny, ddx);
    if (ddy)
        pass_y(&ty, ty.dw, tmp, n, nx, ny, ddy);
    wtable_free(&tx);
    wtable_free(&ty);
    free(tmp);
    free(tmpd);
}

void epsf_shift_stamp(const double *in, int n, int kind, double dx,
                      double dy, double *out)
{
    double *xs = pp_xmalloc(sizeof(double) * (size_t)n);
    double *ys = pp_xmalloc(sizeof(double) * (size_t)n);

    for (int i = 0; i < n; i++) {
        xs[i] = i - dx;
        ys[i] = i - dy;
    }
    epsf_shift_eval(in, n, kind, xs, n, ys, n, out, NULL, NULL);
    free(xs);
    free(ys);
}

/* Signed frequency of bin k of an N-point DFT (N odd). */
static double freq(int k, int N)
{
    return (k <= N / 2 ? k : k - N) / (double)N;
}

int epsf_shift_fourier_fft(const double *in, int n, double dx, double dy,
                           double *out, pp_error *err)
{
    int N = fourier_period(n);
    size_t nn = (size_t)N * N;
    fftw_complex *a = fftw_malloc(nn * sizeof(fftw_complex));
    fftw_plan fwd, inv;

    if (!a)
        return pp_error_set(err, PP_ENOMEM, "cannot allocate an FFT array "
                            "of %d x %d", N, N);
    memset(a, 0, nn * sizeof(fftw_complex));
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++)
            a[(size_t)j * N + i] = in[(size_t)j * n + i];
    fwd = fftw_plan_dft_2d(N, N, a, a, FFTW_FORWARD, FFTW_ESTIMATE);
    inv = fftw_plan_dft_2d(N, N, a, a, FFTW_BACKWARD, FFTW_ESTIMATE);
    fftw_execute(fwd);
    for (int l = 0; l < N; l++)
        for (int k = 0; k < N; k++)
            a[(size_t)l * N + k] *= cexp(-2.0 * M_PI * I *
                                         (freq(k, N) * dx + freq(l, N) * dy));
    fftw_execute(inv);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++)
            out[(size_t)j * n + i] = creal(a[(size_t)j * N + i]) / (double)nn;
    fftw_destroy_plan(fwd);
    fftw_destroy_plan(inv);
    fftw_free(a);
    return PP_OK;
}
