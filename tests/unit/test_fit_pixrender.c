/* test_fit_pixrender.c - pixelized-PSF rendering (SPEC §10.3, §10.4)
 * against reference/render_reference.md PSF (b), the analytic mixture
 * renderer, flux conservation and central differences. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pp_error.h"
#include "tap.h"

#include "mogrender.h"
#include "pixrender.h"
#include "profile.h"

#define W 50
#define H 50
#define SX 24.3
#define SY 25.7
#define FLUX 100.0
#define NS 25                   /* PSF (b) stamp size */

static double stamp[NS * NS];
static double img[W * H], dimg[FIT_NDERIV][W * H];
static double ip[W * H], im[W * H];

/* PSF (b): exp(−(i² + j²)/8), i, j = −12..12, normalised to sum 1. */
static void make_stamp(void)
{
    double s = 0;

    for (int j = 0; j < NS; j++)
        for (int i = 0; i < NS; i++) {
            double a = i - NS / 2, b = j - NS / 2;
            stamp[j * NS + i] = exp(-(a * a + b * b) / 8.0);
            s += stamp[j * NS + i];
        }
    for (int i = 0; i < NS * NS; i++)
        stamp[i] /= s;
}

static fit_psf_mog psf_a(void)
{
    fit_psf_mog p;

    memset(&p, 0, sizeof p);
    p.k = 1;
    p.w[0] = 1;
    p.vxx[0] = p.vyy[0] = 4;
    return p;
}

/* A source: kind (FIT_PROFILE_POINT = star), n, soft shape. */
typedef struct {
    int kind;
    double n, logre, ee1, ee2;
} src;

static void soft_from_e(double re, double e1, double e2, src *s)
{
    double e = hypot(e1, e2), ee = -log1p(-e);

    s->logre = log(re);
    s->ee1 = ee * e1 / e;
    s->ee2 = ee * e2 / e;
}

/* Render s at (x, y) with flux f into the 50×50 buffer out (zeroed
 * first), derivatives into dd (may be NULL, zeroed first). */
static int render(fit_pix_ctx *ctx, const src *s, double x, double y,
                  double f, double *out, double (*dd)[W * H],
                  pp_error *err)
{
    double *d[FIT_NDERIV];
    double S[2][2], dS[3][2][2];
    fit_mog prof;

    memset(out, 0, sizeof(double) * W * H);
    for (int i = 0; i < FIT_NDERIV; i++) {
        d[i] = dd ? dd[i] : NULL;
        if (dd)
            memset(dd[i], 0, sizeof(double) * W * H);
    }
    if (s->kind == FIT_PROFILE_POINT)
        return fit_pix_render_star(ctx, x, y, f, 0, W, 0, H, out,
                                   dd ? d : NULL, err);
    if (fit_profile_mog(s->kind, s->n, &prof, err) != PP_OK)
        return err->code;
    fit_ellipse_cov(s->logre, s->ee1, s->ee2, S, dS);
    return fit_pix_render_galaxy(ctx, &prof, x, y, f, S, dS, 0, W, 0, H,
                                 out, dd ? d : NULL, err);
}

static double box_sum(const double *a, int x0, int x1, int y0, int y1)
{
    double s = 0;

    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            s += a[y * W + x];
    return s;
}

static double relerr(double a, double b)
{
    return fabs(a - b) / fabs(b);
}

/* render_reference.md PSF (b) rows, subpixel_shift lanczos3. */
static void test_reference(void)
{
    static const struct {
        const char *name;
        int kind, from_e;
        double n, a, b, c;
        int x0, x1, y0, y1;
        double sum, v1, v2, v3;
    } row[] = {
        { "star", FIT_PROFILE_POINT, 0, 0, 0, 0, 0, 12, 37, 14, 39,
          99.9999988, 3.905206442, 1.492101192, 0.04072763771 },
        { "exp", FIT_PROFILE_EXP, 1, 0, 3, 0.2, -0.1, 6, 45, 7, 46,
          99.99987793, 1.884843349, 1.059080601, 0.2507447302 },
        { "dev", FIT_PROFILE_DEV, 1, 0, 3, 0.2, -0.1, 0, 50, 1, 50,
          99.85633087, 1.964893699, 0.9700844288, 0.188038528 },
        { "sersic n=2.5", FIT_PROFILE_SERSIC, 0, 2.5, log(3.0), 0.2, -0.1,
          0, 50, 0, 50, 99.99552917, 1.900982141, 0.991143465,
          0.2141958177 },
    };
    fit_pix_ctx ctx;
    pp_error err = PP_ERROR_INIT;
    char t[160];

    fit_pix_init(&ctx, stamp, NS, NS, FIT_PIX_LANCZOS3, FIT_PIX_FFT_MAX,
                 &err);
    for (size_t r = 0; r < sizeof row / sizeof row[0]; r++) {
        src s = { row[r].kind, row[r].n, row[r].a, row[r].b, row[r].c };
        if (row[r].from_e)
            soft_from_e(row[r].a, row[r].b, row[r].c, &s);
        int rc = render(&ctx, &s, SX, SY, FLUX, img, NULL, &err);
        snprintf(t, sizeof t, "pixrender: PSF (b) %s renders", row[r].name);
        check_int(rc, ==, PP_OK, t);
        snprintf(t, sizeof t, "pixrender: PSF (b) %s box sum matches the "
                 "reference to 1e-4", row[r].name);
        check_near(relerr(box_sum(img, row[r].x0, row[r].x1, row[r].y0,
                                  row[r].y1), row[r].sum), 0, 1e-4, t);
        snprintf(t, sizeof t, "pixrender: PSF (b) %s v(24,26) v(27,25) "
                 "v(20,30) match to 1e-4", row[r].name);
        double e = fmax(relerr(img[26 * W + 24], row[r].v1),
                        fmax(relerr(img[25 * W + 27], row[r].v2),
                             relerr(img[30 * W + 20], row[r].v3)));
        check_near(e, 0, 1e-4, t);
    }

    /* Large galaxy: SPEC §10.3 sizing (N = 128) removes wrap-around. */
    src big = { FIT_PROFILE_EXP, 0, 0, 0, 0 };
    soft_from_e(10, 0.2, -0.1, &big);
    check_int(render(&ctx, &big, SX, SY, FLUX, img, NULL, &err), ==, PP_OK,
              "pixrender: large exp galaxy renders");
    double sum = box_sum(img, 0, W, 0, H);
    check(fabs(sum - 97.73425564) < fabs(97.80809021 - 97.73425564),
          "pixrender: large galaxy sum is closer to MoG than reference's");
    check_near(sum, 97.7325252, 1e-4 * 97.7,
               "pixrender: large galaxy sum matches the N=128 recompute");
    double e = fmax(relerr(img[26 * W + 24], 0.43049939),
                    fmax(relerr(img[25 * W + 27], 0.33832095),
                         relerr(img[30 * W + 20], 0.21361653)));
    check_near(e, 0, 1e-4, "pixrender: large galaxy pixels match N=128");

    /* Wrap-around shows in the corners: N = 128 is within 2e-7 of the
     * MoG (a) render there (render_reference.md). */
    fit_psf_mog pa = psf_a();
    fit_mog prof;
    double S[2][2];
    fit_profile_mog(FIT_PROFILE_EXP, 0, &prof, &err);
    fit_ellipse_cov(big.logre, big.ee1, big.ee2, S, NULL);
    memset(ip, 0, sizeof ip);
    fit_render_mog(&prof, SX, SY, FLUX, S, NULL, &pa, 0, W, 0, H, ip, NULL,
                   &err);
    check(fabs(img[0] - ip[0]) < 2e-7
          && fabs(img[W * H - 1] - ip[W * H - 1]) < 2e-7,
          "pixrender: large galaxy corners v(0,0), v(49,49) match MoG");
    fit_pix_release(&ctx);
}

/* Lanczos-3 is normalised: a shifted stamp keeps its sum (SPEC §10.3). */
static void test_lanczos_flux(void)
{
    static const double sh[][2] = {
        { 0.1, -0.4 }, { 0.5, 0.25 }, { -0.3, 0.45 }, { 0.37, 0.0 },
    };
    fit_pix_ctx ctx;
    pp_error err = PP_ERROR_INIT;
    src star = { FIT_PROFILE_POINT, 0, 0, 0, 0 };
    double worst = 0;

    fit_pix_init(&ctx, stamp, NS, NS, FIT_PIX_LANCZOS3, FIT_PIX_FFT_MAX,
                 &err);
    for (size_t i = 0; i < sizeof sh / sizeof sh[0]; i++) {
        render(&ctx, &star, 25 + sh[i][0], 24 + sh[i][1], 1.0, img, NULL,
               &err);
        worst = fmax(worst, fabs(box_sum(img, 0, W, 0, H) - 1.0));
    }
    check_near(worst, 0, 1e-6,
               "pixrender: lanczos3 shift conserves the stamp's flux");
    fit_pix_release(&ctx);
}

/* Largest |a − b| over the image, and the largest |b|. */
static double maxdiff(const double *a, const double *b, double *peak)
{
    double m = 0;

    *peak = 0;
    for (int i = 0; i < W * H; i++) {
        m = fmax(m, fabs(a[i] - b[i]));
        *peak = fmax(*peak, fabs(b[i]));
    }
    return m;
}

/* Fourier method and Fourier shift against the analytic Gaussian
 * mixture rendering of the same Gaussian PSF (mogrender.h). */
static void test_vs_analytic(void)
{
    fit_pix_ctx ctx;
    pp_error err = PP_ERROR_INIT;
    fit_psf_mog pa = psf_a();
    fit_mog prof;
    double S[2][2], peak;

    fit_pix_init(&ctx, stamp, NS, NS, FIT_PIX_FOURIER, FIT_PIX_FFT_MAX,
                 &err);
    src g = { FIT_PROFILE_GAUSS, 0, log(2.0), 0.3, 0.1 };
    render(&ctx, &g, SX, SY, FLUX, img, NULL, &err);
    fit_profile_mog(FIT_PROFILE_GAUSS, 0, &prof, &err);
    fit_ellipse_cov(g.logre, g.ee1, g.ee2, S, NULL);
    memset(ip, 0, sizeof ip);
    fit_render_mog(&prof, SX, SY, FLUX, S, NULL, &pa, 0, W, 0, H, ip, NULL,
                   &err);
    double m = maxdiff(img, ip, &peak);
    check_near(m / peak, 0, 1e-4,
               "pixrender: FFT Gaussian galaxy equals analytic render");

    src star = { FIT_PROFILE_POINT, 0, 0, 0, 0 };
    render(&ctx, &star, SX, SY, FLUX, img, NULL, &err);
    fit_profile_mog(FIT_PROFILE_POINT, 0, &prof, &err);
    memset(ip, 0, sizeof ip);
    fit_render_mog(&prof, SX, SY, FLUX, NULL, NULL, &pa, 0, W, 0, H, ip,
                   NULL, &err);
    m = maxdiff(img, ip, &peak);
    check_near(m / peak, 0, 1e-4,
               "pixrender: Fourier-shifted star equals analytic Gaussian");
    fit_pix_release(&ctx);
}

/* Analytic derivatives against central differences: max |Δ| ≤ 1e-4 of
 * the derivative's max (SPEC §10.4). */
static double deriv_err(fit_pix_ctx *ctx, const src *s0, int which)
{
    src sp = *s0, sm = *s0;
    double x = SX, y = SY, h = 1e-5, xp = x, xm = x, yp = y, ym = y;
    double fp = FLUX, fm = FLUX, m = 0, dmax = 0;
    pp_error err = PP_ERROR_INIT;

    switch (which) {
    case FIT_DERIV_FLUX: fp += h; fm -= h; break;
    case FIT_DERIV_X: xp += h; xm -= h; break;
    case FIT_DERIV_Y: yp += h; ym -= h; break;
    case FIT_DERIV_LOGRE: sp.logre += h; sm.logre -= h; break;
    case FIT_DERIV_EE1: sp.ee1 += h; sm.ee1 -= h; break;
    case FIT_DERIV_EE2: sp.ee2 += h; sm.ee2 -= h; break;
    default: sp.n += h; sm.n -= h; break;
    }
    render(ctx, s0, x, y, FLUX, img, dimg, &err);
    render(ctx, &sp, xp, yp, fp, ip, NULL, &err);
    render(ctx, &sm, xm, ym, fm, im, NULL, &err);
    for (int i = 0; i < W * H; i++) {
        double fd = (ip[i] - im[i]) / (2 * h);
        m = fmax(m, fabs(fd - dimg[which][i]));
        dmax = fmax(dmax, fabs(dimg[which][i]));
    }
    return dmax > 0 ? m / dmax : 1.0;
}

static void test_derivatives(void)
{
    static const char *pname[FIT_NDERIV] = {
        "flux", "x", "y", "logre", "ee1", "ee2", "n" };
    static const char *mname[2] = { "fourier", "lanczos3" };
    src star = { FIT_PROFILE_POINT, 0, 0, 0, 0 };
    src gal = { FIT_PROFILE_SERSIC, 2.5, log(3.0), 0.2, -0.1 };
    pp_error err = PP_ERROR_INIT;
    char t[160];

    for (int mode = 0; mode < 2; mode++) {
        fit_pix_ctx ctx;
        double e = 0, eg[FIT_NDERIV];
        fit_pix_init(&ctx, stamp, NS, NS, mode, FIT_PIX_FFT_MAX, &err);
        for (int p = FIT_DERIV_FLUX; p <= FIT_DERIV_Y; p++)
            e = fmax(e, deriv_err(&ctx, &star, p));
        snprintf(t, sizeof t, "pixrender: %s star flux, x, y derivatives "
                 "match central differences", mname[mode]);
        check_near(e, 0, 1e-4, t);
        for (int p = 0; p < FIT_NDERIV; p++) {
            eg[p] = deriv_err(&ctx, &gal, p);
            snprintf(t, sizeof t, "pixrender: %s Sersic galaxy d/d%s "
                     "matches central differences", mname[mode], pname[p]);
            check_near(eg[p], 0, 1e-4, t);
        }
        fit_pix_release(&ctx);
    }
}

/* Bad input is refused with a message naming the value. */
static void test_failures(void)
{
    fit_pix_ctx ctx;
    pp_error err = PP_ERROR_INIT;

    check_int(fit_pix_init(&ctx, stamp, 24, 25, FIT_PIX_FOURIER,
                           FIT_PIX_FFT_MAX, &err), ==, PP_EUSAGE,
              "pixrender: an even-sized stamp is refused");
    check(strstr(err.msg, "24x25") && strstr(err.msg, "odd"),
          "pixrender: the even-stamp message gives the size");
    fit_pix_release(&ctx);

    fit_pix_init(&ctx, stamp, NS, NS, FIT_PIX_LANCZOS3, 64, &err);
    src big = { FIT_PROFILE_EXP, 0, log(10.0), 0.2, -0.1 };
    check_int(render(&ctx, &big, SX, SY, FLUX, img, NULL, &err), ==,
              PP_EDATA, "pixrender: a galaxy above fft_max is refused");
    check(strstr(err.msg, "128") && strstr(err.msg, "fft_max"),
          "pixrender: the fft_max message gives the size needed");
    src star = { FIT_PROFILE_POINT, 0, 0, 0, 0 };
    check_int(render(&ctx, &star, NAN, SY, FLUX, img, NULL, &err), ==,
              PP_EDATA, "pixrender: a NaN position is refused");
    check(strstr(err.msg, "finite") != NULL,
          "pixrender: the NaN message says finite values are expected");
    fit_pix_release(&ctx);
}

int main(void)
{
    make_stamp();
    test_reference();
    test_lanczos_flux();
    test_vs_analytic();
    test_derivatives();
    test_failures();
    return tap_done();
}
