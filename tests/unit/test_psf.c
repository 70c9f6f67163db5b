/* test_psf.c - Gaussian mixtures and fallback PSFs (SPEC §10.3). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_error.h"
#include "pp_psf.h"
#include "tap.h"

/* Point-sample the normalised 2-D Gaussian (wt, mx, my, V) onto an odd
 * stamp, adding to it; offsets from the centre as in pp_psf.h. */
static void add_gauss(double *s, int w, int h, double wt, double mx,
                      double my, double a, double b, double c)
{
    double det = a * c - b * b;
    int i, j;

    for (j = 0; j < h; j++)
        for (i = 0; i < w; i++) {
            double dx = i - (w - 1) / 2 - mx, dy = j - (h - 1) / 2 - my;
            double q = (c * dx * dx - 2 * b * dx * dy + a * dy * dy) / det;
            s[j * w + i] += wt * exp(-0.5 * q) / (2 * M_PI * sqrt(det));
        }
}

#define TS 41   /* two-component stamp side: truth 9σ and more inside */

static void test_two_components(void)
{
    static double s[TS * TS];
    pp_error err = PP_ERROR_INIT;
    pp_psf_mog m, m2;
    int it = -1, it2 = -1, a, b;

    /* Truth: 0.7 at (−3, 1) and 0.3 at (4, −2), tilted covariances. */
    add_gauss(s, TS, TS, 0.7, -3.0, 1.0, 2.0, 0.3, 1.5);
    add_gauss(s, TS, TS, 0.3, 4.0, -2.0, 1.2, -0.2, 2.5);
    check_int(pp_psf_fit_mog(s, TS, TS, 2, &m, &it, &err), ==, PP_OK,
              "em: two-component stamp fits");
    check(it > 1 && it < PP_PSF_EM_MAX_ITERS,
          "em: two-component fit converges before the iteration cap");
    a = m.w[0] > m.w[1] ? 0 : 1;
    b = 1 - a;
    check_near(m.w[a], 0.7, 1e-3, "em: major weight recovered");
    check_near(m.w[b], 0.3, 1e-3, "em: minor weight recovered");
    check_near(m.mx[a], -3.0, 1e-3, "em: major mean x recovered");
    check_near(m.my[a], 1.0, 1e-3, "em: major mean y recovered");
    check_near(m.mx[b], 4.0, 1e-3, "em: minor mean x recovered");
    check_near(m.my[b], -2.0, 1e-3, "em: minor mean y recovered");
    check_near(m.vxx[a], 2.0, 1e-3, "em: major vxx recovered");
    check_near(m.vxy[a], 0.3, 1e-3, "em: major vxy recovered");
    check_near(m.vyy[a], 1.5, 1e-3, "em: major vyy recovered");
    check_near(m.vxx[b], 1.2, 1e-3, "em: minor vxx recovered");
    check_near(m.vxy[b], -0.2, 1e-3, "em: minor vxy recovered");
    check_near(m.vyy[b], 2.5, 1e-3, "em: minor vyy recovered");

    /* Determinism: same input, bit-identical output. */
    check_int(pp_psf_fit_mog(s, TS, TS, 2, &m2, &it2, &err), ==, PP_OK,
              "em: second run succeeds");
    check(memcmp(&m, &m2, sizeof m) == 0 && it == it2,
          "em: repeated fit is bit-identical");
}

static void test_monotone(void)
{
    static double s[TS * TS];
    pp_error err = PP_ERROR_INIT;
    pp_psf_mog m;
    double prev = -INFINITY, ll = 0, ev = 0;
    int n, it, mono = 1, agree = 1;

    /* A skewed three-blob stamp fitted with K = 4 (a misfit on purpose). */
    add_gauss(s, TS, TS, 0.5, 0.0, 0.0, 1.5, 0.0, 1.5);
    add_gauss(s, TS, TS, 0.3, 3.0, 2.0, 3.0, 1.0, 2.0);
    add_gauss(s, TS, TS, 0.2, -4.0, 3.0, 1.0, 0.0, 4.0);
    for (n = 0; n <= 40; n++) {
        if (pp_psf_fit_mog_capped(s, TS, TS, 4, n, &m, &it, &ll, &err)
            != PP_OK || it > n) {
            mono = agree = 0;
            break;
        }
        if (ll < prev - 1e-12 * fabs(prev))
            mono = 0;
        if (pp_psf_mog_loglik(&m, s, TS, TS, &ev, &err) != PP_OK
            || fabs(ev - ll) > 1e-12 * fabs(ll))
            agree = 0;
        prev = ll;
    }
    check(mono, "em: log-likelihood never decreases over iterations");
    check(agree, "em: reported lnL equals pp_psf_mog_loglik of the result");
    check_int(pp_psf_fit_mog_capped(s, TS, TS, 3, 0, &m, &it, NULL, &err),
              ==, PP_OK, "em: cap 0 succeeds");
    check(m.k == 3 && it == 0 && m.w[0] == 1.0 / 3 && m.mx[2] == 0.0
          && m.vxx[0] == 1.0 && m.vyy[2] == 3.0 && m.vxy[1] == 0.0,
          "em: initial mixture is w=1/K, mu=0, V=(k+1)I");
}

static void test_single_gaussian(void)
{
    enum { S = 31 };
    static double s[S * S];
    pp_error err = PP_ERROR_INIT;
    pp_psf_mog m;
    int it = 0, i;

    /* σ = 1.5 px: point sampling keeps the variance to ~exp(-2π²σ²). */
    add_gauss(s, S, S, 1.0, 0.0, 0.0, 2.25, 0.0, 2.25);
    for (i = 0; i < S * S; i++)
        s[i] *= 37.0;           /* the fit normalises the stamp itself */
    s[0] = -1e-3;               /* and ignores negative pixels */
    check_int(pp_psf_fit_mog(s, S, S, 1, &m, &it, &err), ==, PP_OK,
              "em: K=1 fit of a round Gaussian succeeds");
    check_near(m.vxx[0], 2.25, 1e-3, "em: K=1 recovers sigma^2 in x");
    check_near(m.vyy[0], 2.25, 1e-3, "em: K=1 recovers sigma^2 in y");
    check_near(m.vxy[0], 0.0, 1e-9, "em: K=1 round Gaussian has no tilt");
    check_near(m.mx[0], 0.0, 1e-9, "em: K=1 mean at the centre pixel");
    check_near(m.w[0], 1.0, 1e-12, "em: K=1 weight is 1");
}

static void test_floor(void)
{
    enum { S = 5 };
    double s[S * S] = { 0 };
    pp_error err = PP_ERROR_INIT;
    pp_psf_mog m;

    /* A delta stamp: the sample covariance is 0; the guard floors it. */
    s[12] = 1.0;
    check_int(pp_psf_fit_mog(s, S, S, 2, &m, NULL, &err), ==, PP_OK,
              "em: single-pixel stamp fits");
    check(m.vxx[0] >= PP_PSF_EM_VAR_MIN && m.vyy[1] >= PP_PSF_EM_VAR_MIN
          && m.vxx[0] * m.vyy[0] - m.vxy[0] * m.vxy[0] > 0,
          "em: covariance floored, determinant positive");
}

static void test_em_errors(void)
{
    double s[9] = { 0 }, even[12] = { 1 };
    pp_error err = PP_ERROR_INIT;
    pp_psf_mog m;

    check_int(pp_psf_fit_mog(even, 4, 3, 1, &m, NULL, &err), ==, PP_EDATA,
              "em: even-sized stamp is a data error");
    check(strstr(err.msg, "4x3") && strstr(err.msg, "odd"),
          "em: even-size message gives size and expectation");
    pp_error_clear(&err);
    s[4] = 1;
    check_int(pp_psf_fit_mog(s, 3, 3, 0, &m, NULL, &err), ==, PP_ECONFIG,
              "em: K=0 rejected");
    check_int(pp_psf_fit_mog(s, 3, 3, 17, &m, NULL, &err), ==, PP_ECONFIG,
              "em: K=17 rejected");
    check(strstr(err.msg, "17") && strstr(err.msg, "1 to 16"),
          "em: K message gives value and range");
    s[4] = 0;
    s[0] = -2;
    check_int(pp_psf_fit_mog(s, 3, 3, 1, &m, NULL, &err), ==, PP_EDATA,
              "em: stamp without positive pixel rejected");
    check(strstr(err.msg, "no positive pixel") != NULL && m.k == 0,
          "em: no-positive message, output zeroed");
    s[0] = NAN;
    s[4] = 1;
    check_int(pp_psf_fit_mog(s, 3, 3, 1, &m, NULL, &err), ==, PP_EDATA,
              "em: non-finite pixel rejected");
    check(strstr(err.msg, "(0, 0)") != NULL, "em: NaN message names pixel");
}

static void test_moffat(void)
{
    double st[25 * 25], sum = 0, alpha;
    pp_error err = PP_ERROR_INIT;
    int size = 0, i, c;

    check_int(pp_psf_moffat_stamp(4.0, 3.5, 12.0, NULL, &size, &err), ==,
              PP_OK, "moffat: size query succeeds");
    check_int(size, ==, 25, "moffat: radius 12 gives a 25-px stamp");
    check_int(pp_psf_stamp_size(11.2, &size, &err), ==, PP_OK,
              "stamp: fractional radius accepted");
    check_int(size, ==, 25, "stamp: side is 2*ceil(radius)+1");
    check_int(pp_psf_moffat_stamp(4.0, 3.5, 12.0, st, &size, &err), ==,
              PP_OK, "moffat: stamp built");
    for (i = 0; i < size * size; i++)
        sum += st[i];
    check_near(sum, 1.0, 1e-12, "moffat: stamp sums to 1");
    c = 12 * 25 + 12;
    /* FWHM 4: the pixel 2 px from the centre is at half maximum. */
    check_near(st[c + 2] / st[c], 0.5, 1e-12,
               "moffat: half maximum at r = FWHM/2 along x");
    check_near(st[c + 2 * 25] / st[c], 0.5, 1e-12,
               "moffat: half maximum at r = FWHM/2 along y");
    /* α for β = 3.5, FWHM 4 by hand: 2^(1/3.5) = 1.21901365,
     * α = 4 / (2·sqrt(0.21901365)) = 4.2735... */
    alpha = pp_psf_moffat_alpha(4.0, 3.5);
    check_near(alpha, 4.0 / (2.0 * sqrt(0.2190136542)), 1e-8,
               "moffat: alpha from FWHM and beta");
    check_near(pow(1.0 + 3.0 * 3.0 / pow(pp_psf_moffat_alpha(6.0, 2.5), 2),
                   -2.5), 0.5, 1e-12,
               "moffat: formula gives half maximum at FWHM/2 (beta 2.5)");
    check_near(st[c + 25 + 1] / st[c], pow(1.0 + 2.0 / (alpha * alpha),
               -3.5), 1e-12, "moffat: diagonal pixel follows the profile");
    check_int(pp_psf_moffat_stamp(4.0, 0.0, 12.0, NULL, &size, &err), ==,
              PP_ECONFIG, "moffat: beta 0 rejected");
    check(strstr(err.msg, "beta") != NULL, "moffat: message names beta");
    check_int(pp_psf_moffat_stamp(4.0, 3.5, 0.0, NULL, &size, &err), ==,
              PP_ECONFIG, "moffat: radius 0 rejected");
    check(strstr(err.msg, "radius") != NULL, "moffat: message names radius");
}

static void test_gaussian_stamp(void)
{
    static double st[41 * 41];
    pp_error err = PP_ERROR_INIT;
    pp_psf_mog m;
    double sum = 0, sig2 = pow(3.0 / 2.35482, 2);
    int size = 0, i, c;

    check_int(pp_psf_gaussian_stamp(3.0, 20.0, st, &size, &err), ==, PP_OK,
              "gauss: stamp built");
    check_int(size, ==, 41, "gauss: radius 20 gives 41 px");
    for (i = 0; i < size * size; i++)
        sum += st[i];
    check_near(sum, 1.0, 1e-12, "gauss: stamp sums to 1");
    c = 20 * 41 + 20;
    check_near(st[c + 1] / st[c], exp(-0.5 / sig2), 1e-12,
               "gauss: neighbour pixel follows exp(-r^2/2sigma^2)");
    check_int(pp_psf_fit_mog(st, size, size, 1, &m, NULL, &err), ==, PP_OK,
              "gauss: K=1 EM on the fallback stamp succeeds");
    check_near(m.vxx[0], sig2, 1e-3, "gauss: EM sigma^2 = (FWHM/2.35482)^2");
    check_int(pp_psf_gaussian_stamp(-1.0, 20.0, NULL, &size, &err), ==,
              PP_ECONFIG, "gauss: negative FWHM rejected");
}

static void test_ncircular(void)
{
    pp_error err = PP_ERROR_INIT;
    pp_psf_mog m;
    double s = 4.70964 / 2.35482;   /* σ = 2 exactly */

    check_int(pp_psf_ncircular(4.70964, 1, &m, &err), ==, PP_OK,
              "ncircular: n=1 built");
    check(m.k == 1 && m.w[0] == 1.0, "ncircular: n=1 one unit component");
    check_near(m.vxx[0], 4.0, 1e-12, "ncircular: n=1 sigma = FWHM/2.35482");
    check_int(pp_psf_ncircular(4.70964, 2, &m, &err), ==, PP_OK,
              "ncircular: n=2 built");
    check(m.k == 2 && m.w[0] == 0.85 && m.w[1] == 0.15,
          "ncircular: n=2 weights 0.85, 0.15");
    check_near(sqrt(m.vyy[1]), 2.5 * s, 1e-12,
               "ncircular: n=2 second sigma 2.5 sigma");
    check_int(pp_psf_ncircular(4.70964, 3, &m, &err), ==, PP_OK,
              "ncircular: n=3 built");
    check(m.k == 3 && m.w[0] == 0.8 && m.w[1] == 0.15 && m.w[2] == 0.05,
          "ncircular: n=3 weights 0.8, 0.15, 0.05");
    check(fabs(sqrt(m.vxx[1]) - 4.0) < 1e-12
          && fabs(sqrt(m.vxx[2]) - 8.0) < 1e-12 && m.vxy[2] == 0.0
          && m.mx[2] == 0.0, "ncircular: n=3 sigmas 2 and 4 sigma, round");
    check_int(pp_psf_ncircular(4.0, 4, &m, &err), ==, PP_ECONFIG,
              "ncircular: n=4 rejected");
    check(strstr(err.msg, "1, 2 or 3") != NULL,
          "ncircular: message lists accepted n");
}

static void test_fwhm_rule(void)
{
    check_near(pp_psf_fwhm_pix(NAN, 4.0), 4.0, 0,
               "fwhm: NaN from frames uses the fallback");
    check_near(pp_psf_fwhm_pix(3.2, 4.0), 3.2, 0,
               "fwhm: frames value wins when present");
    check_near(pp_psf_fwhm_pix(0.6, 4.0), 1.0, 0,
               "fwhm: floored at 1 px");
    check_near(pp_psf_fwhm_pix(-2.0, 0.5), 1.0, 0,
               "fwhm: invalid frames value, small fallback floored");
    check_near(pp_psf_fwhm_pix(NAN, NAN), 1.0, 0,
               "fwhm: nothing valid gives the floor");
}

int main(void)
{
    test_two_components();
    test_monotone();
    test_single_gaussian();
    test_floor();
    test_em_errors();
    test_moffat();
    test_gaussian_stamp();
    test_ncircular();
    test_fwhm_rule();
    return tap_done();
}
