/* test_sim_render.c - pp-sim's renderer against independent truths
 * (SPEC §15): b_n against exact values and the Ciotti & Bertin series,
 * totals against GSL quadrature written here, Gaussian galaxies through
 * Gaussian PSFs against closed forms, PSFs against their definitions,
 * and the flux, size, position, orientation and determinism of what is
 * rendered.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_sf_bessel.h>

#include "render.h"
#include "tap.h"

/* ---- Independent pieces ---- */

/* 16-point Gauss-Legendre on [-1/2, 1/2] (from GSL at run time). */
static double glx[16], glw[16];

static void gl_init(void)
{
    gsl_integration_glfixed_table *t =
        gsl_integration_glfixed_table_alloc(16);
    for (size_t i = 0; i < 16; ++i)
        gsl_integration_glfixed_point(-0.5, 0.5, i, &glx[i], &glw[i], t);
    gsl_integration_glfixed_table_free(t);
}

/* The tapered Sérsic profile written from SPEC §15's words. */
static double ref_profile(const sim_sersic *g, double b, double r)
{
    double f = exp(-b * (pow(r / g->re, 1.0 / g->n) - 1.0));

    if (g->t1 <= 0)
        return f;
    if (r >= g->t2 * g->re)
        return 0;
    if (r > g->t1 * g->re) {
        double u = (r - g->t1 * g->re) / ((g->t2 - g->t1) * g->re);
        f *= (1 - u * u) * (1 - u * u);
    }
    return f;
}

typedef struct {
    const sim_sersic *g;
    double b;
} prof_par;

static double ring(double r, void *v)
{
    const prof_par *p = v;
    return 2 * M_PI * p->g->q * r * ref_profile(p->g, p->b, r);
}

/* ∫ 2π q r I(r) dr by GSL's adaptive quadrature, in pieces at the
 * taper's ends. */
static double ref_total(const sim_sersic *g)
{
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(1000);
    prof_par p = { g, sim_sersic_bn(g->n) };
    gsl_function f = { ring, &p };
    double sum = 0, v, e;

    if (g->t1 > 0) {
        double pts[3] = { 0, g->t1 * g->re, g->t2 * g->re };
        gsl_integration_qagp(&f, pts, 3, 0, 1e-13, 1000, w, &v, &e);
        sum = v;
    } else {
        gsl_integration_qagiu(&f, 0, 0, 1e-13, 1000, w, &v, &e);
        sum = v;
    }
    gsl_integration_workspace_free(w);
    return sum;
}

/* The elliptical profile at (dx, dy). */
static double ref_value(const sim_sersic *g, double b, double dx, double dy)
{
    double c = cos(g->theta), s = sin(g->theta);
    double u = c * dx + s * dy, v = (-s * dx + c * dy) / g->q;
    return ref_profile(g, b, sqrt(u * u + v * v));
}

static double ref_cell16(const sim_sersic *g, double b, double cx,
                         double cy, double h)
{
    double sum = 0;
    for (int j = 0; j < 16; ++j)
        for (int i = 0; i < 16; ++i)
            sum += glw[i] * glw[j] *
                   ref_value(g, b, cx + h * glx[i], cy + h * glx[j]);
    return sum * h * h;
}

/* A cell by recursive quartering of 16×16 Gauss-Legendre. */
static double ref_cell(const sim_sersic *g, double b, double cx, double cy,
                       double h, double whole, double tol, int depth)
{
    double d = h / 4, sub[4], sum = 0;
    for (int k = 0; k < 4; ++k)
        sum += sub[k] = ref_cell16(g, b, cx + (k & 1 ? d : -d),
                                   cy + (k & 2 ? d : -d), h / 2);
    if (depth > 12 || fabs(sum - whole) <= tol)
        return sum;
    sum = 0;
    for (int k = 0; k < 4; ++k)
        sum += ref_cell(g, b, cx + (k & 1 ? d : -d), cy + (k & 2 ? d : -d),
                        h / 2, sub[k], tol / 2, depth + 1);
    return sum;
}

/* x with 0.9 e^-x + 0.025 e^(-x/4) = 0.4625 (the double Gaussian's half
 * maximum at x = r²/2σ1²), by bisection. */
static double gauss2_sigma1(double fwhm)
{
    double lo = 0.5, hi = 1.0;
    for (int i = 0; i < 200; ++i) {
        double x = 0.5 * (lo + hi);
        if (0.9 * exp(-x) + 0.025 * exp(-x / 4) > 0.4625)
            lo = x;
        else
            hi = x;
    }
    return 0.5 * fwhm / sqrt(lo + hi);
}

/* Fraction of a 1-D Gaussian of width s in [lo, hi]. */
static double erf_box(double lo, double hi, double s)
{
    return 0.5 * (erf(hi / (M_SQRT2 * s)) - erf(lo / (M_SQRT2 * s)));
}

/* A 2-D normal with covariance (cxx, cxy, cyy) integrated over the pixel
 * at offset (dx, dy) by 16×16 Gauss-Legendre (it is smooth there). */
static double normal_pixel(double cxx, double cxy, double cyy, double dx,
                           double dy)
{
    double det = cxx * cyy - cxy * cxy, sum = 0;
    for (int j = 0; j < 16; ++j)
        for (int i = 0; i < 16; ++i) {
            double x = dx + glx[i], y = dy + glx[j];
            double q = (cyy * x * x - 2 * cxy * x * y + cxx * y * y) / det;
            sum += glw[i] * glw[j] * exp(-0.5 * q);
        }
    return sum / (2 * M_PI * sqrt(det));
}

/* A covariance with variances (a2, b2) along axes at angle t. */
static void cov(double a2, double b2, double t, double *xx, double *xy,
                double *yy)
{
    double c = cos(t), s = sin(t);
    *xx = a2 * c * c + b2 * s * s;
    *xy = (a2 - b2) * c * s;
    *yy = a2 * s * s + b2 * c * c;
}

static double *zeros(long n)
{
    return calloc((size_t)n, sizeof(double));
}

static double image_sum(const double *img, long n)
{
    double s = 0;
    for (long k = 0; k < n; ++k)
        s += img[k];
    return s;
}

/* ---- Tests ---- */

static void test_bn(void)
{
    /* n = 1/2: P(1, b) = 1 - e^-b = 1/2 exactly.  n = 1, 4: 30-digit
     * roots by mpmath.findroot of gammainc(2n, 0, b, regularized). */
    check_near(sim_sersic_bn(0.5), M_LN2, 1e-13,
               "sersic: b_0.5 = ln 2");
    check_near(sim_sersic_bn(1), 1.678346990016661, 1e-12,
               "sersic: b_1 = 1.678346990016661");
    check_near(sim_sersic_bn(4), 7.669249442500804, 1e-12,
               "sersic: b_4 = 7.669249442500804");
    double worst = 0;
    for (double n = 1; n <= 8; n += 0.25) {
        double a = 2 * n - 1.0 / 3 + 4 / (405 * n) + 46 / (25515 * n * n) +
                   131 / (1148175 * n * n * n) -
                   2194697 / (30690717750.0 * n * n * n * n);
        worst = fmax(worst, fabs(sim_sersic_bn(n) - a));
    }
    check(worst < 1e-4, "sersic: b_n within 1e-4 of Ciotti & Bertin's "
          "series for n in [1, 8]");
    check(sim_sersic_bn(0.3) > 0 && sim_sersic_bn(0.3) < 0.6,
          "sersic: b_0.3 lies below the mean 2n of Gamma(2n)");
}

static void test_total(void)
{
    static const double ns[] = { 0.5, 1, 2.5, 4 };
    double worst = 0;

    for (int i = 0; i < 4; ++i) {
        int ex = ns[i] == 1;
        sim_sersic g = { ns[i], 2.7, 0.6, 0.4, ex ? 3 : 7, ex ? 4 : 8 };
        worst = fmax(worst, fabs(sim_sersic_total(&g) / ref_total(&g) - 1));
    }
    check(worst < 1e-9, "sersic: tapered totals match GSL quadrature to "
          "1e-9 (n = 0.5, 1, 2.5, 4)");
    /* Untapered exponential: 2π q re² e^b / b². */
    sim_sersic e = { 1, 3, 0.5, 0, 0, 0 };
    double b = sim_sersic_bn(1);
    check_near(sim_sersic_total(&e) / (2 * M_PI * 0.5 * 9 * exp(b) /
                                       (b * b)), 1, 1e-12,
               "sersic: untapered exponential total is 2 pi q re^2 e^b/b^2");
    sim_sersic d = { 4, 3, 1, 0, 7, 8 }, di = d;
    di.t1 = di.t2 = 0;
    double ratio = sim_sersic_total(&d) / sim_sersic_total(&di);
    check(ratio > 0.93 && ratio < 0.95,
          "sersic: dev tapered/infinite flux is about 0.94 (SPEC §15)");
}

static void test_cells(void)
{
    sim_sersic g = { 4, 2.5, 0.5, 0.7, 7, 8 };
    double b = sim_sersic_bn(4), h = 0.2, tot = sim_sersic_total(&g);
    long n = 21;
    double *out = zeros(n * n), worst = 0, x0 = -2.033, y0 = -1.957;

    /* The central 21×21 cells (the cusp, the steepest part) and a row
     * through the outskirts and the taper. */
    sim_sersic_grid(&g, x0, y0, h, n, n, out);
    for (long j = 0; j < n; ++j)
        for (long i = 0; i < n; ++i) {
            double cx = x0 + i * h, cy = y0 + j * h;
            double v = ref_cell(&g, b, cx, cy, h, ref_cell16(&g, b, cx, cy,
                                h), 1e-12 * tot, 0);
            worst = fmax(worst, fabs(out[j * n + i] - v) / v);
        }
    check(worst < 1e-6, "sersic: central cells of a dev profile are "
          "integrated to 1e-6 relative");
    double *row = zeros(120), wrow = 0;
    sim_sersic_grid(&g, 0.05, 0.11, h, 120, 1, row);
    for (long i = 0; i < 120; ++i) {
        double cx = 0.05 + i * h;
        double v = ref_cell(&g, b, cx, 0.11, h, ref_cell16(&g, b, cx, 0.11,
                            h), 1e-13 * tot, 0);
        wrow = fmax(wrow, fabs(row[i] - v) / (1e-6 * v + 1e-10 * tot));
    }
    check(wrow < 1, "sersic: cells out through the taper are integrated "
          "to 1e-6 of their value or 1e-10 of the total");
    free(out);
    free(row);
}

/* A galaxy of flux F fully inside the image sums to F. */
static void test_galaxy_flux(sim_renderer *r)
{
    static const double ns[] = { 0.5, 1, 2.5, 4 }, res[] = { 1, 3, 10 };
    sim_psf psf = { SIM_PSF_GAUSS2, 2.0, 0, 0, 0 };
    long w = 200, h = 200;
    double worst = 0, worst_total = 0;
    pp_error err = PP_ERROR_INIT;
    int ok = 1;

    for (int i = 0; i < 4; ++i)
        for (int k = 0; k < 3; ++k) {
            int ex = ns[i] == 1;
            sim_sersic g = { ns[i], res[k], 0.6, 0.3, ex ? 3 : 7,
                             ex ? 4 : 8 };
            double *img = zeros(w * h), tot;
            ok &= sim_render_galaxy(r, &g, &psf, 1000, 100.3, 99.6, img, w,
                                    h, &tot, &err) == PP_OK;
            worst = fmax(worst, fabs(image_sum(img, w * h) / 1000 - 1));
            worst_total = fmax(worst_total, fabs(tot / 1000 - 1));
            free(img);
        }
    check(ok, "render: galaxies render without error");
    check(worst < 1e-3, "render: pixel sums of tapered n = 0.5, 1, 2.5, 4 "
          "galaxies (re 1-10) equal their flux to 1e-3");
    check(worst < 1e-6, "render: ... and in fact to 1e-6");
    check(worst_total < 1e-6, "render: stamp_total reports the flux");
}

/* Round Gaussian galaxy (n = 1/2, no taper) through a round double
 * Gaussian: a sum of two Gaussians, integrated over pixels by erf. */
static void test_gauss_closed_form(void)
{
    static const int os[] = { 1, 3, 5 };
    double fwhm = 3, re = 2, x = 30.3, y = 29.6, F = 1000;
    double s1 = gauss2_sigma1(fwhm), b = M_LN2, sg2 = re * re / (2 * b);
    double sa = sqrt(sg2 + s1 * s1), sb = sqrt(sg2 + 4 * s1 * s1);
    sim_psf psf = { SIM_PSF_GAUSS2, fwhm, 0, 0, 0 };
    sim_sersic g = { 0.5, re, 1, 0.3, 0, 0 };
    long w = 60, h = 60;
    double worst = 0;

    for (int k = 0; k < 3; ++k) {
        sim_renderer *r;
        pp_error err = PP_ERROR_INIT;
        double *img = zeros(w * h);
        sim_renderer_new(os[k], &r, &err);
        sim_render_galaxy(r, &g, &psf, F, x, y, img, w, h, NULL, &err);
        for (long j = 0; j < h; ++j)
            for (long i = 0; i < w; ++i) {
                double lx = i - 0.5 - x, ly = j - 0.5 - y;
                double v = 0.9 * erf_box(lx, lx + 1, sa) *
                           erf_box(ly, ly + 1, sa) +
                           0.1 * erf_box(lx, lx + 1, sb) *
                           erf_box(ly, ly + 1, sb);
                worst = fmax(worst, fabs(img[j * w + i] / F - v));
            }
        free(img);
        sim_renderer_free(r);
    }
    check(worst < 1e-7, "render: Gaussian galaxy through a double Gaussian "
          "matches the erf closed form to 1e-7 of the flux (oversample "
          "1, 3, 5)");
}

/* Elliptical Gaussian galaxy through an elliptical double Gaussian: the
 * sum of two normals with the covariances added - the orientations of
 * both must be right. */
static void test_gauss_elliptical(sim_renderer *r)
{
    double fwhm = 2.5, re = 3, q = 0.45, th = 0.6, ell = 0.25, pa = 2.1;
    double x = 40.2, y = 39.7, F = 1000, s1 = gauss2_sigma1(fwhm);
    double vg = re * re / (2 * M_LN2), a2 = 1 / (1 - ell), b2 = 1 - ell;
    sim_psf psf = { SIM_PSF_GAUSS2, fwhm, 0, ell, pa };
    sim_sersic g = { 0.5, re, q, th, 0, 0 };
    double gxx, gxy, gyy, pxx, pxy, pyy;
    long w = 80, h = 80;
    double *img = zeros(w * h), worst = 0;
    pp_error err = PP_ERROR_INIT;

    cov(vg, q * q * vg, th, &gxx, &gxy, &gyy);
    cov(a2 * s1 * s1, b2 * s1 * s1, pa, &pxx, &pxy, &pyy);
    sim_render_galaxy(r, &g, &psf, F, x, y, img, w, h, NULL, &err);
    for (long j = 20; j < 60; ++j)
        for (long i = 20; i < 60; ++i) {
            double v = 0.9 * normal_pixel(gxx + pxx, gxy + pxy, gyy + pyy,
                                          i - x, j - y) +
                       0.1 * normal_pixel(gxx + 4 * pxx, gxy + 4 * pxy,
                                          gyy + 4 * pyy, i - x, j - y);
            worst = fmax(worst, fabs(img[j * w + i] / F - v));
        }
    check(worst < 1e-7, "render: elliptical Gaussian galaxy through an "
          "elliptical PSF matches the normal with summed covariances");
    free(img);
}

typedef struct {
    double beta, alpha, k;
} hankel_par;

static double hankel(double r, void *v)
{
    const hankel_par *h = v;
    double a2 = h->alpha * h->alpha;
    return 2 * r * (h->beta - 1) / a2 * pow(1 + r * r / a2, -h->beta) *
           gsl_sf_bessel_J0(2 * M_PI * h->k * r);
}

/* The Moffat's Fourier transform against GSL quadrature of its Hankel
 * transform 2π ∫ f(r) J0(2π k r) r dr. */
static void test_moffat_transform(void)
{
    sim_psf p = { SIM_PSF_MOFFAT, 3.2, 3.5, 0, 0 };
    sim_psf_ft ft = SIM_PSF_FT_INIT;
    pp_error err = PP_ERROR_INIT;
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(5000);
    hankel_par h = { 3.5, 3.2 / (2 * sqrt(pow(2, 1 / 3.5) - 1)), 0 };
    gsl_function f = { hankel, &h };
    double worst = 0;

    check_int(sim_psf_ft_set(&ft, &p, &err), ==, PP_OK,
              "psf: a Moffat transform table is built");
    for (double k = 0.05; k < 1.2; k += 0.15) {
        double v, e;
        h.k = k;
        gsl_integration_qagiu(&f, 0, 1e-14, 1e-10, 5000, w, &v, &e);
        worst = fmax(worst, fabs(sim_psf_ft_value(&ft, k, 0) - v));
        worst = fmax(worst, fabs(sim_psf_ft_value(&ft, 0.6 * k, -0.8 * k) -
                                 v));
    }
    check(worst < 1e-9, "psf: the Moffat's Fourier transform matches its "
          "Hankel transform to 1e-9");
    gsl_integration_workspace_free(w);
    sim_psf_ft_release(&ft);
}

/* A galaxy far smaller than a cell, centred on a cell centre, through a
 * Moffat: the grid method then gives the PSF sampled at the cell centres
 * of each pixel (a 5×5 midpoint rule), which this computes directly. */
static void test_moffat_point(sim_renderer *r)
{
    sim_psf psf = { SIM_PSF_MOFFAT, 3.2, 3.5, 0.15, 0.8 };
    sim_sersic g = { 0.5, 0.005, 1, 0, 0, 0 };
    long w = 120, h = 120;
    double *a = zeros(w * h), x = 60.2, y = 59.6, worst = 0;
    pp_error err = PP_ERROR_INIT;

    sim_render_galaxy(r, &g, &psf, 1, x, y, a, w, h, NULL, &err);
    for (long j = 50; j < 70; ++j)
        for (long i = 50; i < 70; ++i) {
            double v = 0;
            for (int b = 0; b < 5; ++b)
                for (int c = 0; c < 5; ++c)
                    v += sim_psf_value(&psf, i - 0.4 + 0.2 * c - x,
                                       j - 0.4 + 0.2 * b - y) / 25;
            worst = fmax(worst, fabs(a[j * w + i] - v));
        }
    check(worst < 1e-6, "render: a point-like galaxy through an elliptical "
          "Moffat gives the PSF sampled on the sub-pixel grid");
    free(a);
}

/* Radius where the light within circles about (x, y) reaches half, each
 * pixel spread over 8×8 points. */
static double half_light_radius(const double *img, long w, long h,
                                double x, double y, double half)
{
    enum { NB = 4000 };
    static double bins[NB];
    double dr = 0.01;

    memset(bins, 0, sizeof bins);
    for (long j = 0; j < h; ++j)
        for (long i = 0; i < w; ++i)
            for (int v = 0; v < 8; ++v)
                for (int u = 0; u < 8; ++u) {
                    double d = hypot(i - 0.5 + (u + 0.5) / 8 - x,
                                     j - 0.5 + (v + 0.5) / 8 - y);
                    long k = (long)(d / dr);
                    if (k < NB)
                        bins[k] += img[j * w + i] / 64;
                }
    double acc = 0;
    for (long k = 0; k < NB; ++k) {
        if (acc + bins[k] >= half)
            return (k + (half - acc) / bins[k]) * dr;
        acc += bins[k];
    }
    return NAN;
}

static void test_half_light(sim_renderer *r)
{
    sim_psf psf = { SIM_PSF_GAUSS2, 1.0, 0, 0, 0 };
    double re = 6, x = 150.4, y = 149.7, F = 1000;
    long w = 300, h = 300;
    pp_error err = PP_ERROR_INIT;

    for (int k = 0; k < 2; ++k) {
        double n = k ? 4 : 1, tot;
        sim_sersic g = { n, re, 1, 0, 0, 0 };
        double *img = zeros(w * h);
        int rc = sim_render_galaxy(r, &g, &psf, F, x, y, img, w, h, &tot,
                                   &err);
        /* Untapered: F is the infinite total, so half of it, not of what
         * the stamp holds, defines the radius. */
        double r50 = half_light_radius(img, w, h, x, y, F / 2);
        char title[128];
        snprintf(title, sizeof title, "render: half-light radius of an "
                 "untapered n = %g galaxy is r_e within 2%% (%.3f)", n, r50);
        check(rc == PP_OK && fabs(r50 / re - 1) < 0.02, title);
        if (k)
            check(tot < F && tot > 0.95 * F, "render: an untapered dev "
                  "stamp holds most, not all, of the infinite total");
        free(img);
    }
}

static void test_position_and_determinism(sim_renderer *r)
{
    sim_psf psf = { SIM_PSF_MOFFAT, 3.5, 3.5, 0.1, 0.4 };
    sim_sersic g = { 2.5, 2.5, 0.6, 1.1, 7, 8 }, o = { 1, 4, 0.8, 0, 3, 4 };
    double x = 80.37, y = 79.81;
    long w = 160, h = 160;
    double *a = zeros(w * h), *b = zeros(w * h), *c = zeros(w * h);
    pp_error err = PP_ERROR_INIT;

    sim_render_galaxy(r, &g, &psf, 1000, x, y, a, w, h, NULL, &err);
    sim_render_galaxy(r, &o, &psf, 500, 70.5, 90.5, c, w, h, NULL, &err);
    sim_render_galaxy(r, &g, &psf, 1000, x, y, b, w, h, NULL, &err);
    check(memcmp(a, b, (size_t)(w * h) * sizeof *a) == 0,
          "render: the same galaxy renders to the same bytes");
    double s = 0, sx = 0, sy = 0;
    for (long j = 0; j < h; ++j)
        for (long i = 0; i < w; ++i) {
            s += a[j * w + i];
            sx += i * a[j * w + i];
            sy += j * a[j * w + i];
        }
    check(fabs(sx / s - x) < 1e-3 && fabs(sy / s - y) < 1e-3,
          "render: the centroid of a galaxy at (80.37, 79.81) is within "
          "1e-3 px of it");
    free(a);
    free(b);
    free(c);
}

/* SPEC §10.2: catalogue THETA = 30 means a major axis at 30° from +x. */
static void test_orientation(sim_renderer *r)
{
    sim_psf psf = { SIM_PSF_GAUSS2, 2.0, 0, 0, 0 };
    sim_sersic g = { 1, 4, 0.5, 30 * M_PI / 180, 3, 4 };
    long w = 100, h = 100;
    double *img = zeros(w * h), x = 50.2, y = 49.9;
    double mxx = 0, mxy = 0, myy = 0;
    pp_error err = PP_ERROR_INIT;

    sim_render_galaxy(r, &g, &psf, 1, x, y, img, w, h, NULL, &err);
    for (long j = 0; j < h; ++j)
        for (long i = 0; i < w; ++i) {
            double v = img[j * w + i];
            mxx += v * (i - x) * (i - x);
            mxy += v * (i - x) * (j - y);
            myy += v * (j - y) * (j - y);
        }
    double ang = 0.5 * atan2(2 * mxy, mxx - myy) * 180 / M_PI;
    check_near(ang, 30, 0.1, "render: a galaxy with theta = 30 deg has its "
               "major axis at 30 deg from +x");
    free(img);
}

static void test_psf_values(void)
{
    static const int kinds[] = { SIM_PSF_MOFFAT, SIM_PSF_GAUSS2 };
    double worst = 0;

    for (int k = 0; k < 2; ++k) {
        sim_psf p = { kinds[k], 3.7, 2.8, 0, 0 };
        double c = sim_psf_value(&p, 0, 0);
        worst = fmax(worst, fabs(sim_psf_value(&p, 1.85, 0) / c - 0.5));
        worst = fmax(worst, fabs(sim_psf_value(&p, 0, -1.85) / c - 0.5));
    }
    check(worst < 1e-9, "psf: round Moffat and double Gaussian are half "
          "maximum at fwhm/2");

    /* Elliptical: half maximum at a·fwhm/2 along the major axis and
     * b·fwhm/2 along the minor, b/a = 1 - ell, a·b = 1. */
    double ell = 0.3, t = 0.5, a = 1 / sqrt(1 - ell), bb = sqrt(1 - ell);
    double we = 0, ws = 0;
    for (int k = 0; k < 2; ++k) {
        sim_psf p = { kinds[k], 4, 3.5, ell, t };
        double c = sim_psf_value(&p, 0, 0), ra = 2 * a, rb = 2 * bb;
        we = fmax(we, fabs(sim_psf_value(&p, ra * cos(t), ra * sin(t)) / c -
                           0.5));
        we = fmax(we, fabs(sim_psf_value(&p, -rb * sin(t), rb * cos(t)) / c -
                           0.5));
        for (int i = 0; i < 20; ++i) {
            double dx = 0.7 * i - 3, dy = 0.3 * i * i - 5;
            ws = fmax(ws, fabs(sim_psf_value(&p, dx, dy) -
                               sim_psf_value(&p, -dx, -dy)));
        }
    }
    check(we < 1e-9, "psf: elliptical PSFs have axis ratio 1 - ell at "
          "half maximum, major axis along angle");
    check(ws == 0, "psf: elliptical PSFs are symmetric under rotation by "
          "pi");
}

typedef struct {
    const sim_psf *p;
} psf_par;

static double psf_ring(double r, void *v)
{
    return 2 * M_PI * r * sim_psf_value(((const psf_par *)v)->p, r, 0);
}

static void test_psf_enclosed(void)
{
    static const int kinds[] = { SIM_PSF_MOFFAT, SIM_PSF_GAUSS2 };
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(1000);
    double worst = 0, wr = 0, wn = 0;

    for (int k = 0; k < 2; ++k) {
        sim_psf p = { kinds[k], 3.3, 3.0, 0, 0 };
        psf_par par = { &p };
        gsl_function f = { psf_ring, &par };
        for (double r = 0.5; r < 30; r *= 1.7) {
            double v, e;
            gsl_integration_qag(&f, 0, r, 0, 1e-12, 1000, GSL_INTEG_GAUSS61,
                                w, &v, &e);
            worst = fmax(worst, fabs(v - sim_psf_enclosed(&p, r)));
        }
        double v, e;
        gsl_integration_qagiu(&f, 0, 0, 1e-12, 1000, w, &v, &e);
        wn = fmax(wn, fabs(v - 1));
        for (double eps = 1e-2; eps > 1e-8; eps /= 10)
            wr = fmax(wr, fabs(1 - sim_psf_enclosed(&p, sim_psf_radius(
                                   &p, eps)) - eps) / eps);
    }
    gsl_integration_workspace_free(w);
    check(wn < 1e-9, "psf: values integrate to 1 over the plane");
    check(worst < 1e-9, "psf: enclosed fractions match quadrature of the "
          "values");
    check(wr < 1e-7, "psf: at sim_psf_radius(eps) eps of the flux lies "
          "outside");
}

static void test_star(void)
{
    sim_psf p = { SIM_PSF_MOFFAT, 3.5, 3.5, 0.1, 0.3 };
    long w = 200, h = 200;
    double *img = zeros(w * h), tot, x = 100.3, y = 99.55, F = 1000;

    sim_render_star(&p, F, x, y, img, w, h, &tot);
    double s = image_sum(img, w * h);
    check_near(s / F, 1, 1e-4, "star: pixel sums equal the flux to 1e-4");
    check_near(s, tot, 1e-9 * F, "star: stamp_total is the pixel sum "
               "when the stamp is inside");
    /* Pixels against a 64×64 midpoint rule on 4×4 Gauss-Legendre... an
     * 8×8 grid of 16×16 Gauss-Legendre cells per pixel. */
    double worst = 0;
    for (long j = 96; j <= 104; ++j)
        for (long i = 92; i <= 110; i += 3) {
            double v = 0;
            for (int cy = 0; cy < 8; ++cy)
                for (int cx = 0; cx < 8; ++cx)
                    for (int b = 0; b < 16; ++b)
                        for (int a = 0; a < 16; ++a)
                            v += glw[a] * glw[b] / 64 * sim_psf_value(&p,
                                 i - x - 0.5 + (cx + 0.5 + glx[a]) / 8,
                                 j - y - 0.5 + (cy + 0.5 + glx[b]) / 8);
            worst = fmax(worst, fabs(img[j * w + i] / F - v));
        }
    check(worst < 1e-6, "star: pixels are the PSF integrated over them "
          "to 1e-6 of the flux");
    /* A star half off the image (pixel 0 covers [-0.5, 0.5)) still
     * reports its whole stamp. */
    double *edge = zeros(w * h), etot;
    sim_render_star(&p, F, -0.5, 50, edge, w, h, &etot);
    check(fabs(etot / F - 1) < 1e-4 &&
          fabs(image_sum(edge, w * h) / F - 0.5) < 0.01,
          "star: off the edge, only the inside is added but stamp_total "
          "is the whole");
    free(img);
    free(edge);
}

/* FWHM measured on the rendered pixels of a wide star: the half-maximum
 * crossings of the central row, by linear interpolation. */
static void test_star_fwhm(void)
{
    static const int kinds[] = { SIM_PSF_MOFFAT, SIM_PSF_GAUSS2 };
    double worst = 0;

    for (int k = 0; k < 2; ++k) {
        sim_psf p = { kinds[k], 8, 3.5, 0, 0 };
        long n = 61;
        double *st = malloc((size_t)(n * n) * sizeof *st);
        sim_psf_pixel_stamp(&p, (int)n, 0, 0, st);
        const double *row = st + (n / 2) * n;
        double half = row[n / 2] / 2, lo = 0, hi = 0;
        for (long i = 1; i <= n / 2; ++i)
            if (row[i - 1] < half && row[i] >= half)
                lo = i - 1 + (half - row[i - 1]) / (row[i] - row[i - 1]);
        for (long i = n / 2; i < n - 1; ++i)
            if (row[i] >= half && row[i + 1] < half)
                hi = i + (row[i] - half) / (row[i] - row[i + 1]);
        worst = fmax(worst, fabs((hi - lo) / 8 - 1));
        free(st);
    }
    check(worst < 0.01, "star: a rendered FWHM-8 star has FWHM 8 to 1% "
          "(Moffat and double Gaussian)");
}

static void test_errors(void)
{
    sim_renderer *r = NULL;
    pp_error err = PP_ERROR_INIT;
    double img[4] = { 0 };

    check_int(sim_renderer_new(4, &r, &err), ==, PP_EUSAGE,
              "render: an even oversampling factor is refused");
    check(r == NULL && strstr(err.msg, "odd") != NULL,
          "render: ... saying it must be odd");
    sim_renderer_new(3, &r, &err);
    sim_psf psf = { SIM_PSF_MOFFAT, 3, 3.5, 0, 0 };
    sim_sersic g = { 1, 3, 0, 0, 3, 4 };
    check_int(sim_render_galaxy(r, &g, &psf, 1, 1, 1, img, 2, 2, NULL, &err),
              ==, PP_EDATA, "render: axis ratio 0 is refused");
    check(strstr(err.msg, "q 0") != NULL, "render: ... naming q");
    g.q = 1;
    psf.beta = 1.05;
    check_int(sim_render_galaxy(r, &g, &psf, 1, 1, 1, img, 2, 2, NULL, &err),
              ==, PP_EDATA, "render: a PSF too wide for any stamp is "
              "refused");
    check(strstr(err.msg, "too large") && strstr(err.msg, "beta 1.05"),
          "render: ... naming the PSF");
    check(img[0] == 0 && img[3] == 0, "render: a refused galaxy leaves the "
          "image alone");
    sim_renderer_free(r);
    sim_renderer_free(NULL);
}

int main(void)
{
    sim_renderer *r;
    pp_error err = PP_ERROR_INIT;

    gsl_set_error_handler_off();
    gl_init();
    test_bn();
    test_total();
    test_cells();
    test_psf_values();
    test_psf_enclosed();
    test_moffat_transform();
    test_star();
    test_star_fwhm();
    check_int(sim_renderer_new(5, &r, &err), ==, PP_OK,
              "render: a renderer with oversampling 5");
    test_galaxy_flux(r);
    test_gauss_closed_form();
    test_gauss_elliptical(r);
    test_moffat_point(r);
    test_half_light(r);
    test_position_and_determinism(r);
    test_orientation(r);
    sim_renderer_free(r);
    test_errors();
    return tap_done();
}
