/* test_fit_mogrender.c - pp-fit analytic mixture rendering against
 * reference/render_reference.md (PSF (a)), its derivatives against
 * central finite differences, and box clipping (SPEC §10.1–§10.4).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pp_error.h"
#include "tap.h"

#include "mogrender.h"
#include "profile.h"

/* Tolerances: render_reference.md (MoG rows, 1e-6 relative); SPEC §10.4
 * (derivatives vs finite differences, 1e-4 relative). */
#define REL_REF 1e-6
#define REL_DERIV 1e-4

/* The reference setup: 50×50, source at (24.3, 25.7), flux 100. */
#define W 50
#define H 50
#define SX 24.3
#define SY 25.7
#define FLUX 100.0

static double img[W * H], img2[W * H];

/* PSF (a): one circular Gaussian of variance 4. */
static fit_psf_mog psf_a(void)
{
    fit_psf_mog p;

    memset(&p, 0, sizeof p);
    p.k = 1;
    p.w[0] = 1;
    p.vxx[0] = p.vyy[0] = 4;
    return p;
}

/* Soft parameters of the reference's (re, e1, e2): |ee| = −ln(1 − e)
 * along the direction of (e1, e2) (render_reference.md "Setup"). */
static void soft_from_e(double re, double e1, double e2, double *logre,
                        double *ee1, double *ee2)
{
    double e = hypot(e1, e2), ee = -log1p(-e);

    *logre = log(re);
    *ee1 = ee * e1 / e;
    *ee2 = ee * e2 / e;
}

typedef struct {
    const char *name;
    int kind;
    double n;
    int from_e;             /* shape given as (re, e1, e2), else soft */
    double a, b, c;         /* (re, e1, e2) or (logre, ee1, ee2) */
    long x0, x1, y0, y1;
    double sum, v1, v2, v3; /* v(24,26), v(27,25), v(20,30) */
} ref_row;

static const ref_row rows[] = {
    { "star", FIT_PROFILE_POINT, 0, 0, 0, 0, 0, 0, 50, 0, 50,
      99.9999988, 3.890348563, 1.504557385, 0.03910514474 },
    { "exp (3, 0.2, -0.1)", FIT_PROFILE_EXP, 0, 1, 3, 0.2, -0.1,
      0, 50, 0, 50, 99.99999979, 1.881007425, 1.064224753, 0.2481502938 },
    { "dev (3, 0.2, -0.1)", FIT_PROFILE_DEV, 0, 1, 3, 0.2, -0.1,
      0, 50, 0, 50, 99.87296036, 1.959522979, 0.9757467107,
      0.1862004106 },
    { "sersic n=2.5 soft(ln 3, 0.2, -0.1)", FIT_PROFILE_SERSIC, 2.5, 0,
      1.0986122886681098, 0.2, -0.1, 0, 50, 0, 50, 99.99558778,
      1.896241352, 0.9964918382, 0.2121575831 },
    { "exp restricted to x[10,40) y[10,40)", FIT_PROFILE_EXP, 0, 1, 3,
      0.2, -0.1, 10, 40, 10, 40, 99.97686799, 1.881007425, 1.064224753,
      0.2481502938 },
    { "large exp (10, 0.2, -0.1)", FIT_PROFILE_EXP, 0, 1, 10, 0.2, -0.1,
      0, 50, 0, 50, 97.73425564, 0.4301722201, 0.3390468854,
      0.212819965 },
};

/* Relative error of got against want. */
static double rel(double got, double want)
{
    return fabs(got - want) / fabs(want);
}

/* Render row r into img (box only, stride = box width); PP status. */
static int render_row(const ref_row *r, double *out, pp_error *err)
{
    fit_psf_mog psf = psf_a();
    fit_mog prof;
    double S[2][2], dS[3][2][2], logre, ee1, ee2;
    long n = (r->x1 - r->x0) * (r->y1 - r->y0);

    if (fit_profile_mog(r->kind, r->n, &prof, err) != PP_OK)
        return err->code;
    if (r->from_e)
        soft_from_e(r->a, r->b, r->c, &logre, &ee1, &ee2);
    else {
        logre = r->a;
        ee1 = r->b;
        ee2 = r->c;
    }
    fit_ellipse_cov(logre, ee1, ee2, S, dS);
    memset(out, 0, (size_t)n * sizeof *out);
    return fit_render_mog(&prof, SX, SY, FLUX, S, dS, &psf, r->x0, r->x1,
                          r->y0, r->y1, out, NULL, err);
}

static double box_at(const ref_row *r, const double *b, long x, long y)
{
    return b[(y - r->y0) * (r->x1 - r->x0) + (x - r->x0)];
}

static void test_reference(void)
{
    size_t i;

    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const ref_row *r = &rows[i];
        pp_error err = PP_ERROR_INIT;
        char t[200];
        double sum = 0, worst;
        long j, n = (r->x1 - r->x0) * (r->y1 - r->y0);
        int st = render_row(r, img, &err);

        snprintf(t, sizeof t, "render: %s renders (status %d)", r->name,
                 st);
        check_int(st, ==, PP_OK, t);
        for (j = 0; j < n; j++)
            sum += img[j];
        worst = rel(sum, r->sum);
        worst = fmax(worst, rel(box_at(r, img, 24, 26), r->v1));
        worst = fmax(worst, rel(box_at(r, img, 27, 25), r->v2));
        worst = fmax(worst, rel(box_at(r, img, 20, 30), r->v3));
        printf("# %s: max relative error %.3g\n", r->name, worst);
        snprintf(t, sizeof t, "render: %s matches the reference sum and "
                 "pixels to 1e-6 relative", r->name);
        check(worst <= REL_REF, t);
    }
}

/* A source for the derivative tests. */
typedef struct {
    int kind;
    double n, x, y, flux, logre, ee1, ee2;
} src;

/* Render s into out (the 50×50 box) with optional derivatives. */
static int render_src(const src *s, double *out, double *const d[])
{
    fit_psf_mog psf = psf_a();
    fit_mog prof;
    double S[2][2], dS[3][2][2];
    pp_error err = PP_ERROR_INIT;

    if (fit_profile_mog(s->kind, s->n, &prof, &err) != PP_OK)
        return err.code;
    fit_ellipse_cov(s->logre, s->ee1, s->ee2, S, dS);
    if (out)
        memset(out, 0, sizeof img);
    return fit_render_mog(&prof, s->x, s->y, s->flux, S, dS, &psf, 0, W,
                          0, H, out, d, &err);
}

/* Pointer to parameter p (FIT_DERIV_*) of s. */
static double *param(src *s, int p)
{
    double *v[FIT_NDERIV] = { &s->flux, &s->x, &s->y, &s->logre,
                              &s->ee1, &s->ee2, &s->n };
    return v[p];
}

static double deriv[FIT_NDERIV][W * H];

static const char *const pname[FIT_NDERIV] = {
    "flux", "x", "y", "logre", "ee1", "ee2", "n"
};

static void test_derivs(const char *name, src s, int np)
{
    double *d[FIT_NDERIV];
    int p, st;
    char t[200];

    memset(deriv, 0, sizeof deriv);
    for (p = 0; p < FIT_NDERIV; p++)
        d[p] = p < np ? deriv[p] : NULL;
    st = render_src(&s, NULL, d);
    snprintf(t, sizeof t, "render: %s derivative images render", name);
    check_int(st, ==, PP_OK, t);

    /* Central differences, step 1e-4 (truncation ~1e-8, rounding
     * ~1e-12 of the image scale). */
    for (p = 0; p < np; p++) {
        const double h = 1e-4;
        src a = s, b = s;
        double mx = 0, err = 0;
        long i;

        *param(&a, p) += h;
        *param(&b, p) -= h;
        render_src(&a, img, NULL);
        render_src(&b, img2, NULL);
        for (i = 0; i < W * H; i++) {
            double fd = (img[i] - img2[i]) / (2 * h);

            mx = fmax(mx, fabs(deriv[p][i]));
            err = fmax(err, fabs(fd - deriv[p][i]));
        }
        printf("# %s d/d%s: max |analytic| %.4g, max |diff| %.3g\n",
               name, pname[p], mx, err);
        snprintf(t, sizeof t, "render: %s d/d%s agrees with central "
                 "differences to 1e-4 of its max", name, pname[p]);
        check(mx > 0 && err <= REL_DERIV * mx, t);
    }
}

/* Rendering in two halves equals rendering the whole. */
static void test_halves(void)
{
    fit_psf_mog psf = psf_a();
    fit_mog prof;
    double S[2][2], top[W * 20], bot[W * 30], left[17 * H], right[33 * H];
    long x, y;
    int ok = 1, st = 0;

    fit_profile_mog(FIT_PROFILE_DEV, 0, &prof, NULL);
    fit_ellipse_cov(log(3.0), 0.3, -0.2, S, NULL);
    memset(img, 0, sizeof img);
    memset(top, 0, sizeof top);
    memset(bot, 0, sizeof bot);
    memset(left, 0, sizeof left);
    memset(right, 0, sizeof right);
    st |= fit_render_mog(&prof, SX, SY, FLUX, S, NULL, &psf, 0, W, 0, H,
                         img, NULL, NULL);
    st |= fit_render_mog(&prof, SX, SY, FLUX, S, NULL, &psf, 0, W, 0, 20,
                         top, NULL, NULL);
    st |= fit_render_mog(&prof, SX, SY, FLUX, S, NULL, &psf, 0, W, 20, H,
                         bot, NULL, NULL);
    st |= fit_render_mog(&prof, SX, SY, FLUX, S, NULL, &psf, 0, 17, 0, H,
                         left, NULL, NULL);
    st |= fit_render_mog(&prof, SX, SY, FLUX, S, NULL, &psf, 17, W, 0, H,
                         right, NULL, NULL);
    check_int(st, ==, PP_OK, "render: sub-boxes render");
    for (y = 0; y < H; y++)
        for (x = 0; x < W; x++) {
            double whole = img[y * W + x];
            double tb = y < 20 ? top[y * W + x] : bot[(y - 20) * W + x];
            double lr = x < 17 ? left[y * 17 + x]
                               : right[y * 33 + (x - 17)];

            /* Rows are independent (exact); columns share a row
             * recurrence whose start moves (rounding only). */
            if (whole != tb || fabs(whole - lr) > 1e-13 * fabs(whole))
                ok = 0;
        }
    check(ok, "render: top/bottom and left/right halves equal the whole "
          "render (to rounding)");
}

/* Adding two renders accumulates, and an empty box touches nothing. */
static void test_adds(void)
{
    src s = { FIT_PROFILE_POINT, 0, SX, SY, FLUX, 0, 0, 0 };
    fit_psf_mog psf = psf_a();
    fit_mog prof;
    double before = 0;
    int st;

    render_src(&s, img, NULL);
    fit_profile_mog(FIT_PROFILE_POINT, 0, &prof, NULL);
    before = img[26 * W + 24];
    st = fit_render_mog(&prof, SX, SY, FLUX, NULL, NULL, &psf, 0, W, 0, H,
                        img, NULL, NULL);
    check(st == PP_OK && fabs(img[26 * W + 24] - 2 * before) < 1e-12,
          "render: a second render adds to the buffer");
    st = fit_render_mog(&prof, SX, SY, FLUX, NULL, NULL, &psf, 5, 5, 0, H,
                        NULL, NULL, NULL);
    check_int(st, ==, PP_OK, "render: an empty box is valid");
}

/* A PSF component's mean offset moves the image: a star through a PSF
 * offset by (1, −2) equals the star at (x + 1, y − 2), centred PSF. */
static void test_offset(void)
{
    fit_psf_mog psf = psf_a(), off = psf_a();
    fit_mog prof;
    long i;
    int ok = 1, st;

    fit_profile_mog(FIT_PROFILE_POINT, 0, &prof, NULL);
    off.mx[0] = 1;
    off.my[0] = -2;
    memset(img, 0, sizeof img);
    memset(img2, 0, sizeof img2);
    st = fit_render_mog(&prof, SX, SY, FLUX, NULL, NULL, &off, 0, W, 0, H,
                        img, NULL, NULL);
    st |= fit_render_mog(&prof, SX + 1, SY - 2, FLUX, NULL, NULL, &psf, 0,
                         W, 0, H, img2, NULL, NULL);
    for (i = 0; i < W * H; i++)
        if (fabs(img[i] - img2[i]) > 1e-12)
            ok = 0;
    check(st == PP_OK && ok,
          "render: a PSF mean offset shifts the rendered star");
}

/* A very narrow PSF (C⁻¹_xx above the row-recurrence limit) is summed
 * pixel by pixel: check a pixel against the closed form, by hand
 * 100·exp(−½·(0.3² + 0.3²)/0.09)/(2π·0.09) = 100·e⁻¹/(0.18π). */
static void test_narrow(void)
{
    fit_psf_mog psf = psf_a();
    fit_mog prof;
    int st;

    fit_profile_mog(FIT_PROFILE_POINT, 0, &prof, NULL);
    psf.vxx[0] = psf.vyy[0] = 0.09;
    memset(img, 0, sizeof img);
    st = fit_render_mog(&prof, 24.3, 25.7, FLUX, NULL, NULL, &psf, 0, W,
                        0, H, img, NULL, NULL);
    check(st == PP_OK &&
          rel(img[26 * W + 24], 100 * exp(-1.0) / (0.18 * M_PI)) < 1e-12,
          "render: a narrow PSF (one exp per pixel) gives the closed form");
}

static void test_errors(void)
{
    fit_psf_mog psf = psf_a();
    fit_mog prof;
    double S[2][2], dS[3][2][2], *d[FIT_NDERIV] = { NULL };
    pp_error err = PP_ERROR_INIT;
    int st;

    fit_profile_mog(FIT_PROFILE_EXP, 0, &prof, NULL);
    fit_ellipse_cov(log(3.0), 0.2, -0.1, S, dS);

    st = fit_render_mog(&prof, SX, SY, FLUX, S, dS, &psf, 10, 5, 0, H,
                        img, NULL, &err);
    check(st == PP_EUSAGE && strstr(err.msg, "x[10,5)") &&
          strstr(err.msg, "negative size"),
          "render: a reversed box is refused with its bounds");

    pp_error_clear(&err);
    st = fit_render_mog(&prof, SX, SY, FLUX, NULL, NULL, &psf, 0, W, 0, H,
                        img, NULL, &err);
    check(st == PP_EUSAGE && strstr(err.msg, "S is NULL"),
          "render: a galaxy without a shape matrix is refused");

    pp_error_clear(&err);
    d[FIT_DERIV_EE1] = deriv[0];
    st = fit_render_mog(&prof, SX, SY, FLUX, S, NULL, &psf, 0, W, 0, H,
                        img, d, &err);
    check(st == PP_EUSAGE && strstr(err.msg, "dS is NULL"),
          "render: shape derivatives without dS are refused");

    pp_error_clear(&err);
    st = fit_render_mog(&prof, NAN, SY, FLUX, S, dS, &psf, 0, W, 0, H,
                        img, NULL, &err);
    check(st == PP_EDATA && strstr(err.msg, "(nan, 25.7)") &&
          strstr(err.msg, "finite"),
          "render: a non-finite position is refused");

    /* A point source through a zero-covariance PSF is a delta: refused,
     * and the buffer is left alone. */
    pp_error_clear(&err);
    fit_profile_mog(FIT_PROFILE_POINT, 0, &prof, NULL);
    psf.vxx[0] = psf.vyy[0] = 0;
    img[0] = 7;
    st = fit_render_mog(&prof, SX, SY, FLUX, NULL, NULL, &psf, 0, W, 0, H,
                        img, NULL, &err);
    check(st == PP_EDATA && strstr(err.msg, "not positive definite") &&
          img[0] == 7,
          "render: a singular covariance is refused before any write");

    st = fit_render_mog(&prof, SX, SY, FLUX, NULL, NULL, &psf, 0, W, 0, H,
                        img, NULL, NULL);
    check_int(st, ==, PP_EDATA, "render: a NULL err still gets the code");

    pp_error_clear(&err);
    psf.k = 0;
    st = fit_render_mog(&prof, SX, SY, FLUX, NULL, NULL, &psf, 0, W, 0, H,
                        img, NULL, &err);
    check(st == PP_EUSAGE && strstr(err.msg, "0 components"),
          "render: an empty PSF mixture is refused");
}

static void test_halfsize(void)
{
    fit_psf_mog psf = psf_a();
    fit_mog prof;
    double S[2][2];
    long x0, x1, y0, y1;

    /* exp, re 3: 4·3 + 5·2 = 22; a star: 5·2 = 10. */
    fit_profile_mog(FIT_PROFILE_EXP, 0, &prof, NULL);
    fit_ellipse_cov(log(3.0), 0.2, -0.1, S, NULL);
    check_near(fit_render_halfsize(&prof, S, &psf), 22.0, 1e-9,
               "render: exp half-size is nre·re + 5 PSF sigmas");
    fit_profile_mog(FIT_PROFILE_POINT, 0, &prof, NULL);
    check_near(fit_render_halfsize(&prof, NULL, &psf), 10.0, 1e-12,
               "render: star half-size is 5 PSF sigmas");
    fit_render_box(SX, SY, 10.0, W, H, &x0, &x1, &y0, &y1);
    check(x0 == 14 && x1 == 36 && y0 == 15 && y1 == 37,
          "render: box is [floor(p-h), ceil(p+h)+1)");
    fit_render_box(SX, SY, 30.0, W, H, &x0, &x1, &y0, &y1);
    check(x0 == 0 && x1 == W && y0 == 0 && y1 == H,
          "render: box is clipped to the image");
    fit_render_box(500, SY, 10.0, W, H, &x0, &x1, &y0, &y1);
    check(x0 == x1, "render: a source far off the image has an empty box");
}

int main(void)
{
    src star = { FIT_PROFILE_POINT, 0, SX, SY, FLUX, 0, 0, 0 };
    src ex = { FIT_PROFILE_EXP, 0, SX, SY, FLUX, log(3.0), 0.2, -0.1 };
    src ser = { FIT_PROFILE_SERSIC, 2.5, SX, SY, FLUX, log(3.0), 0.2,
                -0.1 };

    test_reference();
    test_derivs("star", star, 3);
    test_derivs("exp", ex, 6);
    test_derivs("sersic n=2.5", ser, FIT_NDERIV);
    test_halves();
    test_adds();
    test_offset();
    test_narrow();
    test_errors();
    test_halfsize();
    return tap_done();
}
