/* psf.c - pp-sim's optical PSFs: Moffat and double Gaussian (SPEC §15).
 *
 * Values, enclosed fractions and radii are analytic.  Pixel integrals
 * (stars, sim_psf_pixel_stamp) pick a cubature per pixel: 8×8
 * Gauss-Legendre within about one FWHM of the centre, a second-order
 * Taylor cubature (value + Laplacian / 24) where its estimated error is
 * small (PSF_PIXEL_REL, PSF_PIXEL_ABS), 4×4 Gauss-Legendre in between;
 * every pixel is good to a few 1e-8 of the flux.  The
 * Fourier transforms feed render.c's galaxy convolution.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_sf_bessel.h>
#include <gsl/gsl_sf_gamma.h>

#include "pp_error.h"
#include "pp_mem.h"

#include "quad.h"
#include "render.h"

/* Double Gaussian: weights of the core and of the wing twice as wide. */
#define GAUSS2_W1 0.9
#define GAUSS2_W2 0.1

/* Error allowed per pixel for the Taylor cubature: a fraction of the
 * pixel's value or of the star's flux, whichever is larger (far below the
 * 1e-6 of the flux the accuracy tests rely on). */
#define PSF_PIXEL_REL 1e-4
#define PSF_PIXEL_ABS 1e-8

/* Taylor cubature error ≈ (h² |∇²f|)² / (TAYLOR_K f): for a locally
 * exponential profile the next term is ≤ 1/1047 of that; 500 leaves room
 * for power-law tails (SPEC §15 only needs 1e-6 of the flux). */
#define TAYLOR_K 500.0

/* Transform values below this are zero: each multiplies a galaxy
 * transform value <= its flux, so the pixels move by < 1e-10 of it. */
#define FT_TINY 1e-12

/* Moffat transform table step in ρ = α|k|: cubic Hermite error
 * h⁴ max|F''''| / 384 < 1e-10 for every β of interest. */
#define FT_STEP (1.0 / 512)

/* A star's stamp holds all but this fraction of its flux (render.h). */
#define STAR_STAMP_EPS 1e-5

/* Largest stamp half-width of a star, pixels: a Moffat with β near 1
 * has wings too heavy for any stamp. */
#define STAR_MAX_RADIUS 4096.0

/* Stars farther than this from the origin are not rendered (and pixel
 * indices stay far from overflow). */
#define STAR_MAX_COORD 1e9

/* Narrow cores: at most this many 8×8 rules a side per pixel. */
#define CORE_MAX_SPLIT 16

/* A PSF ready for evaluation: f = g(t) with the quadratic form
 * t = mxx dx² + 2 mxy dx dy + myy dy² (Moffat: r_ell²/α²; double
 * Gaussian: r_ell²/(2σ1²)). */
typedef struct {
    int kind;
    double mxx, mxy, myy;
    double beta, norm;          /* Moffat: norm (1 + t)^-β */
    int twobeta;                /* 2β when a small integer (fast path) */
    double n1, n2;              /* Gauss2: n1 e^-t + n2 e^(-t/4) */
    double t_core;              /* t within ~1 FWHM: 8×8 Gauss */
    int core_split;             /* core pixels split k×k (narrow PSFs) */
} psf_prep;

/* x with 0.9 e^-x + 0.025 e^(-x/4) = 0.4625: the double Gaussian's half
 * maximum at x = r²/(2σ1²) (its central value is 0.925 / (2πσ1²)). */
static double gauss2_half_x(void)
{
    double x = M_LN2;

    /* Newton from ln 2 (the single Gaussian's value) converges in about
     * five steps. */
    for (int i = 0; i < 20; ++i) {
        double e1 = exp(-x), e4 = exp(-0.25 * x);
        double f = GAUSS2_W1 * e1 + 0.25 * GAUSS2_W2 * e4 -
                   0.5 * (GAUSS2_W1 + 0.25 * GAUSS2_W2);
        double d = -GAUSS2_W1 * e1 - 0.0625 * GAUSS2_W2 * e4;
        double step = f / d;
        x -= step;
        if (fabs(step) <= 1e-15 * x)
            break;
    }
    return x;
}

/* Moffat α from the FWHM: (1 + (fwhm/2)²/α²)^-β = 1/2. */
static double moffat_alpha(const sim_psf *p)
{
    return p->fwhm / (2.0 * sqrt(pow(2.0, 1.0 / p->beta) - 1.0));
}

static double gauss2_sigma1(const sim_psf *p)
{
    return 0.5 * p->fwhm / sqrt(2.0 * gauss2_half_x());
}

/* The elliptical radius²: r² = (u/a)² + (v/b)², a·b = 1, b/a = 1 - ell,
 * as coefficients of dx², 2 dx dy, dy², divided by s2. */
static void ellipse_form(const sim_psf *p, double s2, double *mxx,
                         double *mxy, double *myy)
{
    double c = cos(p->angle), s = sin(p->angle);
    double ia2 = 1.0 - p->ell, ib2 = 1.0 / (1.0 - p->ell);

    *mxx = (c * c * ia2 + s * s * ib2) / s2;
    *mxy = c * s * (ia2 - ib2) / s2;
    *myy = (s * s * ia2 + c * c * ib2) / s2;
}

static void psf_prepare(const sim_psf *p, psf_prep *o)
{
    double core = p->fwhm + 0.75;

    memset(o, 0, sizeof *o);
    o->kind = p->kind;
    if (p->kind == SIM_PSF_MOFFAT) {
        double a = moffat_alpha(p), k2 = 2.0 * p->beta;
        o->beta = p->beta;
        o->norm = (p->beta - 1.0) / (M_PI * a * a);
        o->twobeta = k2 == nearbyint(k2) && k2 <= 40 ? (int)k2 : 0;
        ellipse_form(p, a * a, &o->mxx, &o->mxy, &o->myy);
        o->t_core = core * core / (a * a);
    } else {
        double s1 = gauss2_sigma1(p);
        o->n1 = GAUSS2_W1 / (2.0 * M_PI * s1 * s1);
        o->n2 = GAUSS2_W2 / (8.0 * M_PI * s1 * s1);
        ellipse_form(p, 2.0 * s1 * s1, &o->mxx, &o->mxy, &o->myy);
        o->t_core = core * core / (2.0 * s1 * s1);
    }
    /* SPEC accuracy holds for FWHM >= 1.5 px with one 8×8 rule per
     * pixel; narrower cores get k×k of them. */
    o->core_split = p->fwhm >= 1.5 ? 1
                  : (int)fmin(ceil(2.0 / p->fwhm), CORE_MAX_SPLIT);
}

/* (1 + t)^-β; 2β integer: by square root and repeated squaring. */
static inline double moffat_pow(const psf_prep *o, double onept)
{
    if (o->twobeta) {
        double b = sqrt(onept), r = 1.0;
        for (int k = o->twobeta; k; k >>= 1, b *= b)
            if (k & 1)
                r *= b;
        return 1.0 / r;
    }
    return exp(-o->beta * log(onept));
}

static inline double quad_form(const psf_prep *o, double dx, double dy)
{
    return o->mxx * dx * dx + 2.0 * o->mxy * dx * dy + o->myy * dy * dy;
}

static inline double psf_g(const psf_prep *o, double t)
{
    if (o->kind == SIM_PSF_MOFFAT)
        return o->norm * moffat_pow(o, 1.0 + t);
    double e4 = exp(-0.25 * t), e2 = e4 * e4;
    return o->n1 * e2 * e2 + o->n2 * e4;
}

/* f and its second derivatives f_xx, f_yy at (dx, dy). */
static void psf_derivs(const psf_prep *o, double dx, double dy, double *f,
                       double *fxx, double *fyy)
{
    double t = quad_form(o, dx, dy), g, g1, g2;
    double tx = 2.0 * (o->mxx * dx + o->mxy * dy);
    double ty = 2.0 * (o->mxy * dx + o->myy * dy);

    if (o->kind == SIM_PSF_MOFFAT) {
        double inv = 1.0 / (1.0 + t);
        g = o->norm * moffat_pow(o, 1.0 + t);
        g1 = -o->beta * g * inv;
        g2 = o->beta * (o->beta + 1.0) * g * inv * inv;
    } else {
        double e4 = exp(-0.25 * t), e2 = e4 * e4, e1 = e2 * e2;
        g = o->n1 * e1 + o->n2 * e4;
        g1 = -o->n1 * e1 - 0.25 * o->n2 * e4;
        g2 = o->n1 * e1 + 0.0625 * o->n2 * e4;
    }
    *f = g;
    *fxx = g2 * tx * tx + g1 * 2.0 * o->mxx;
    *fyy = g2 * ty * ty + g1 * 2.0 * o->myy;
}

/* Gauss-Legendre m×m over the square of side h centred at (cx, cy). */
static double psf_gauss(const psf_prep *o, double cx, double cy, double h,
                        int m, const double *xs, const double *ws)
{
    double sum = 0;

    for (int j = 0; j < m; ++j) {
        double y = cy + h * xs[j], row = 0;
        for (int i = 0; i < m; ++i)
            row += ws[i] * psf_g(o, quad_form(o, cx + h * xs[i], y));
        sum += ws[j] * row;
    }
    return sum * h * h;
}

/* The PSF integrated over the unit pixel centred at (cx, cy) from the
 * PSF centre. */
static double psf_pixel(const psf_prep *o, double cx, double cy)
{
    double t = quad_form(o, cx, cy);

    if (t <= o->t_core) {
        int k = o->core_split;
        double h = 1.0 / k, sum = 0;
        for (int j = 0; j < k; ++j)
            for (int i = 0; i < k; ++i)
                sum += psf_gauss(o, cx - 0.5 + (i + 0.5) * h,
                                 cy - 0.5 + (j + 0.5) * h, h, 8, sim_gl8_x,
                                 sim_gl8_w);
        return sum;
    }
    double f, fxx, fyy;
    psf_derivs(o, cx, cy, &f, &fxx, &fyy);
    double d2 = fabs(fxx) + fabs(fyy);
    if (d2 * d2 <= TAYLOR_K * f * fmax(PSF_PIXEL_REL * f, PSF_PIXEL_ABS))
        return f + (fxx + fyy) / 24.0;
    return psf_gauss(o, cx, cy, 1.0, 4, sim_gl4_x, sim_gl4_w);
}

double sim_psf_value(const sim_psf *p, double dx, double dy)
{
    psf_prep o;

    psf_prepare(p, &o);
    return psf_g(&o, quad_form(&o, dx, dy));
}

double sim_psf_enclosed(const sim_psf *p, double r)
{
    if (p->kind == SIM_PSF_MOFFAT) {
        double a = moffat_alpha(p);
        return -expm1((1.0 - p->beta) * log1p(r * r / (a * a)));
    }
    double s1 = gauss2_sigma1(p), x = r * r / (2.0 * s1 * s1);
    return 1.0 - GAUSS2_W1 * exp(-x) - GAUSS2_W2 * exp(-0.25 * x);
}

double sim_psf_radius(const sim_psf *p, double eps)
{
    if (eps >= 1.0)
        return 0.0;
    if (p->kind == SIM_PSF_MOFFAT) {
        double a = moffat_alpha(p);
        /* (1 + r²/α²)^(1-β) = eps */
        return a * sqrt(expm1(-log(eps) / (p->beta - 1.0)));
    }
    /* 0.9 e^-x + 0.1 e^(-x/4) = eps, x = r²/(2σ1²): the log of the left
     * side is convex and decreasing, so Newton from a point left of the
     * root (where e^-x = eps) climbs to it monotonically. */
    double x = -log(eps), s1 = gauss2_sigma1(p);
    for (int i = 0; i < 100; ++i) {
        double e1 = GAUSS2_W1 * exp(-x), e4 = GAUSS2_W2 * exp(-0.25 * x);
        double h = log(e1 + e4) - log(eps);
        double d = -(e1 + 0.25 * e4) / (e1 + e4);
        double step = h / d;
        x -= step;
        if (fabs(step) <= 1e-14 * x)
            break;
    }
    return s1 * sqrt(2.0 * x);
}

void sim_psf_pixel_stamp(const sim_psf *p, int size, double dx, double dy,
                         double *out)
{
    psf_prep o;
    int c = size / 2;

    psf_prepare(p, &o);
    for (int j = 0; j < size; ++j)
        for (int i = 0; i < size; ++i)
            out[(long)j * size + i] = psf_pixel(&o, i - c - dx, j - c - dy);
}

/* Half-widths along x and y of the ellipse of geometric-mean radius r. */
static void psf_box(const sim_psf *p, double r, double *hx, double *hy)
{
    double c = cos(p->angle), s = sin(p->angle);
    double a2 = 1.0 / (1.0 - p->ell), b2 = 1.0 - p->ell;

    *hx = r * sqrt(c * c * a2 + s * s * b2);
    *hy = r * sqrt(s * s * a2 + c * c * b2);
}

void sim_render_star(const sim_psf *psf, double flux, double x, double y,
                     double *img, long w, long h, double *stamp_total)
{
    psf_prep o;
    double r = fmin(sim_psf_radius(psf, STAR_STAMP_EPS), STAR_MAX_RADIUS);
    double hx, hy, total = 0;

    if (stamp_total)
        *stamp_total = 0;
    if (!(fabs(x) < STAR_MAX_COORD && fabs(y) < STAR_MAX_COORD) ||
        !isfinite(flux))
        return;
    psf_prepare(psf, &o);
    psf_box(psf, r, &hx, &hy);
    /* Pixels whose area reaches into the box (SPEC §3.1: pixel i covers
     * [i - 1/2, i + 1/2)). */
    long x0 = (long)floor(x - hx + 0.5), x1 = (long)floor(x + hx + 0.5);
    long y0 = (long)floor(y - hy + 0.5), y1 = (long)floor(y + hy + 0.5);
    if (!stamp_total) {
        x0 = x0 < 0 ? 0 : x0;
        y0 = y0 < 0 ? 0 : y0;
        x1 = x1 > w - 1 ? w - 1 : x1;
        y1 = y1 > h - 1 ? h - 1 : y1;
    }
    for (long j = y0; j <= y1; ++j) {
        int in_row = j >= 0 && j < h;
        for (long i = x0; i <= x1; ++i) {
            double v = flux * psf_pixel(&o, i - x, j - y);
            total += v;
            if (in_row && i >= 0 && i < w)
                img[j * w + i] += v;
        }
    }
    if (stamp_total)
        *stamp_total = total;
}

/* ---- Fourier transforms ---- */

/* Moffat radial transform, normalised to F(0) = 1, with ν = β - 1 and
 * z = 2πρ: F = 2^(1-ν) z^ν K_ν(z) / Γ(ν), and
 * dF/dρ = -2π 2^(1-ν) z^ν K_(ν-1)(z) / Γ(ν) (d/dz z^ν K_ν = -z^ν K_ν-1;
 * K_-μ = K_μ). */
static double moffat_ft(double nu, double rho, double *der)
{
    double z = 2.0 * M_PI * rho;
    double lc = (1.0 - nu) * M_LN2 - gsl_sf_lngamma(nu) + nu * log(z);
    double mu = fabs(nu - 1.0);
    double lk1 = mu < 1e-12 ? log(gsl_sf_bessel_K0_scaled(z)) - z
                            : gsl_sf_bessel_lnKnu(mu, z);

    *der = -2.0 * M_PI * exp(lc + lk1);
    return exp(lc + gsl_sf_bessel_lnKnu(nu, z));
}

/* The table of F(ρ) out to where it falls below FT_TINY. */
static int moffat_table(sim_psf_ft *ft, double beta, pp_error *err)
{
    double nu = beta - 1.0, d;
    long n = 2;

    /* F ≈ sqrt(π/2) 2^(1-ν) z^(ν-1/2) e^-z / Γ(ν) far out: step out in
     * blocks of 1/8 until below FT_TINY. */
    while (moffat_ft(nu, (n - 1) * FT_STEP, &d) > FT_TINY)
        n += 64;
    free(ft->val);
    ft->beta = 0;
    ft->val = pp_malloc_checked((size_t)n * 2, sizeof(double),
                                "the Moffat transform table", err);
    ft->der = ft->val ? ft->val + n : NULL;
    if (!ft->val)
        return err->code;
    ft->val[0] = 1.0;
    for (long i = 1; i < n; ++i)
        ft->val[i] = moffat_ft(nu, i * FT_STEP, &ft->der[i]);
    /* At ρ = 0 the slope is 0 for ν > 1/2, -2π for ν = 1/2 and infinite
     * below (F ≈ 1 - c ρ^(2ν)); the secant serves there. */
    ft->der[0] = nu > 0.5 ? 0.0 : (ft->val[1] - 1.0) / FT_STEP;
    ft->n = n;
    ft->step = FT_STEP;
    ft->beta = beta;
    return PP_OK;
}

int sim_psf_ft_set(sim_psf_ft *ft, const sim_psf *p, pp_error *err)
{
    double s2, c = cos(p->angle), s = sin(p->angle);
    double a2 = 1.0 / (1.0 - p->ell), b2 = 1.0 - p->ell;

    ft->kind = -1;
    if (p->kind == SIM_PSF_MOFFAT) {
        if (ft->beta != p->beta && moffat_table(ft, p->beta, err) != PP_OK)
            return err->code;
        double a = moffat_alpha(p);
        s2 = a * a;                             /* Q = ρ² */
        ft->qcut = pow((ft->n - 1) * ft->step, 2);
    } else {
        double s1 = gauss2_sigma1(p);
        s2 = 2.0 * M_PI * M_PI * s1 * s1;       /* core: e^-Q */
        ft->qcut = -log(FT_TINY);
    }
    /* The transform of f(L x) with det L = 1 is F(L^-T k): κ² =
     * a² k_u² + b² k_v² in the PSF's frame. */
    ft->kxx = s2 * (c * c * a2 + s * s * b2);
    ft->kxy = s2 * c * s * (a2 - b2);
    ft->kyy = s2 * (s * s * a2 + c * c * b2);
    ft->qmin = s2 * b2;
    ft->kind = p->kind;
    return PP_OK;
}

void sim_psf_ft_release(sim_psf_ft *ft)
{
    free(ft->val);
    ft->val = ft->der = NULL;
    ft->kind = -1;
    ft->beta = 0;
    ft->n = 0;
}

/* P as a function of the quadratic form Q (0 beyond qcut). */
static inline double ft_radial(const sim_psf_ft *ft, double q)
{
    if (q > ft->qcut)
        return 0.0;
    if (ft->kind != SIM_PSF_MOFFAT) {
        double e = exp(-q), e2 = e * e;
        return GAUSS2_W1 * e + GAUSS2_W2 * e2 * e2;
    }
    /* Cubic Hermite on the uniform table. */
    double t = sqrt(q) / ft->step;
    long i = (long)t;
    if (i >= ft->n - 1)
        return 0.0;
    double u = t - i, u2 = u * u, u3 = u2 * u;
    return (2 * u3 - 3 * u2 + 1) * ft->val[i] +
           (u3 - 2 * u2 + u) * ft->step * ft->der[i] +
           (-2 * u3 + 3 * u2) * ft->val[i + 1] +
           (u3 - u2) * ft->step * ft->der[i + 1];
}

double sim_psf_ft_value(const sim_psf_ft *ft, double fx, double fy)
{
    return ft_radial(ft, ft->kxx * fx * fx + 2.0 * ft->kxy * fx * fy +
                     ft->kyy * fy * fy);
}

void sim_psf_ft_column_add(const sim_psf_ft *ft, double fx, double fy0,
                           double dfy, long n, double *out)
{
    double cx = ft->kxx * fx * fx, cxy = 2.0 * ft->kxy * fx;

    for (long i = 0; i < n; ++i) {
        double fy = fy0 + i * dfy;
        out[i] += ft_radial(ft, cx + (cxy + ft->kyy * fy) * fy);
    }
}
