/* test_epsf_kernel.c - the smoothing kernels of SPEC §8.7 and the
 * sub-pixel shifts of SPEC §10.3 (pp-epsf's shift module). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pp_error.h"
#include "tap.h"

#include "shift.h"
#include "smooth.h"

#define N 15
#define NS 31                   /* shift test stamp */

/* A full quartic in x and y (every monomial x^a y^b, a + b <= 4). */
static double quartic_poly(double x, double y)
{
    return 3 - 2 * x + 0.5 * y + 0.7 * x * x - 1.1 * x * y + 0.3 * y * y
           + 0.05 * x * x * x - 0.02 * x * x * y + 0.04 * x * y * y
           - 0.03 * y * y * y + 0.002 * x * x * x * x
           - 0.001 * x * x * x * y + 0.003 * x * x * y * y
           - 0.0015 * x * y * y * y + 0.0025 * y * y * y * y;
}

static void kernel_tests(void)
{
    double k[25], s = 0, in[N * N], out[N * N], worst = 0;

    epsf_smooth_kernel(EPSF_SMOOTH_QUARTIC, k);
    for (int i = 0; i < 25; i++)
        s += k[i];
    check_near(s, 1.0, 1e-15, "quartic kernel sums to 1");
    /* SPEC §8.7 corner and centre: 204/4900 and 2164/4900. */
    check_near(k[0], 204.0 / 4900, 1e-17, "quartic kernel corner 204/4900");
    check_near(k[12], 2164.0 / 4900, 1e-17,
               "quartic kernel centre 2164/4900");
    for (int j = 0; j < N; j++)
        for (int i = 0; i < N; i++)
            in[j * N + i] = quartic_poly(i - 7.0, j - 7.0);
    epsf_smooth(in, N, EPSF_SMOOTH_QUARTIC, out);
    /* Away from the zero-padded border (2 px), exact. */
    for (int j = 2; j < N - 2; j++)
        for (int i = 2; i < N - 2; i++)
            worst = fmax(worst, fabs(out[j * N + i] - in[j * N + i]));
    check_near(worst, 0.0, 1e-12,
               "quartic kernel reproduces a quartic polynomial exactly");
    epsf_smooth_kernel(EPSF_SMOOTH_QUADRATIC, k);
    s = 0;
    worst = 0;
    for (int i = 0; i < 25; i++)
        s += k[i];
    check_near(s, 1.0, 1e-15, "quadratic kernel sums to 1");
    for (int j = 0; j < N; j++)
        for (int i = 0; i < N; i++)
            in[j * N + i] = 1 + 0.3 * (i - 7) - 0.2 * (j - 7) +
                            0.05 * (i - 7) * (i - 7) - 0.04 * (i - 7) *
                            (j - 7) + 0.07 * (j - 7) * (j - 7);
    epsf_smooth(in, N, EPSF_SMOOTH_QUADRATIC, out);
    for (int j = 2; j < N - 2; j++)
        for (int i = 2; i < N - 2; i++)
            worst = fmax(worst, fabs(out[j * N + i] - in[j * N + i]));
    check_near(worst, 0.0, 1e-12,
               "quadratic kernel reproduces a quadratic exactly");
}

static double gauss(double x, double y)
{
    return exp(-(x * x + y * y) / (2 * 2.0 * 2.0));
}

static void shift_tests(void)
{
    static double in[NS * NS], a[NS * NS], b[NS * NS], ex[NS * NS];
    double c = (NS - 1) / 2.0, worst = 0, werr = 0, sa = 0, sin_ = 0;
    pp_error err = PP_ERROR_INIT;
    double xs[1], ys[1], v, dvx, dvy, h = 1e-5, vp, vm;
    int kind;

    for (int j = 0; j < NS; j++)
        for (int i = 0; i < NS; i++)
            in[j * NS + i] = gauss(i - c, j - c);
    /* The direct Dirichlet sum is the FFT phase ramp (same period). */
    epsf_shift_stamp(in, NS, EPSF_SHIFT_FOURIER, 0.37, -0.21, a);
    check_int(epsf_shift_fourier_fft(in, NS, 0.37, -0.21, b, &err), ==,
              PP_OK, "FFT phase ramp runs");
    for (int k = 0; k < NS * NS; k++)
        worst = fmax(worst, fabs(a[k] - b[k]));
    check_near(worst, 0.0, 1e-12, "fourier shift equals the FFT phase ramp");
    /* A well-sampled Gaussian moves exactly (band-limited to 1e-9). */
    for (int j = 0; j < NS; j++)
        for (int i = 0; i < NS; i++) {
            ex[j * NS + i] = gauss(i - c - 0.37, j - c + 0.21);
            werr = fmax(werr, fabs(a[j * NS + i] - ex[j * NS + i]));
        }
    check_near(werr, 0.0, 1e-6, "fourier shift of a sigma-2 Gaussian is "
               "exact to 1e-6 of the peak");
    /* Integer shifts are exact for both kernels. */
    epsf_shift_stamp(in, NS, EPSF_SHIFT_LANCZOS3, 1.0, 0.0, a);
    check_near(a[15 * NS + 16], in[15 * NS + 15], 1e-15,
               "lanczos3 integer shift moves pixels exactly");
    /* Lanczos-3 weights sum to 1: the flux of an interior stamp stays. */
    epsf_shift_stamp(in, NS, EPSF_SHIFT_LANCZOS3, 0.5, 0.5, a);
    for (int k = 0; k < NS * NS; k++) {
        sa += a[k];
        sin_ += in[k];
    }
    check_near(sa / sin_, 1.0, 1e-6, "lanczos3 shift conserves the flux");
    /* Analytic derivatives against central differences, both kernels. */
    for (kind = 0; kind < 2; kind++) {
        xs[0] = 14.3;
        ys[0] = 15.6;
        double gx[1], gy[1];
        epsf_shift_eval(in, NS, kind, xs, 1, ys, 1, &v, gx, gy);
        dvx = gx[0];
        dvy = gy[0];
        xs[0] += h;
        epsf_shift_eval(in, NS, kind, xs, 1, ys, 1, &vp, NULL, NULL);
        xs[0] -= 2 * h;
        epsf_shift_eval(in, NS, kind, xs, 1, ys, 1, &vm, NULL, NULL);
        check_near(dvx, (vp - vm) / (2 * h), 1e-7, kind ?
                   "lanczos3 d/dx matches central differences" :
                   "fourier d/dx matches central differences");
        xs[0] = 14.3;
        ys[0] += h;
        epsf_shift_eval(in, NS, kind, xs, 1, ys, 1, &vp, NULL, NULL);
        ys[0] -= 2 * h;
        epsf_shift_eval(in, NS, kind, xs, 1, ys, 1, &vm, NULL, NULL);
        check_near(dvy, (vp - vm) / (2 * h), 1e-7, kind ?
                   "lanczos3 d/dy matches central differences" :
                   "fourier d/dy matches central differences");
    }
    check_int(epsf_shift_kind("lanczos", &kind, &err), ==, PP_ECONFIG,
              "unknown subpixel_shift is a config error");
    check(strstr(err.msg, "patch_run.subpixel_shift") != NULL,
          "the message names patch_run.subpixel_shift");
}

int main(void)
{
    kernel_tests();
    shift_tests();
    return tap_done();
}
