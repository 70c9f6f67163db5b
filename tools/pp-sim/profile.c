/* profile.c - pp-sim's exact Sérsic profiles (SPEC §15).
 *
 * I(r) = exp(-b_n ((r/re)^(1/n) - 1)) with the elliptical radius
 * r² = u² + (v/q)² (u along the major axis), tapered to zero between
 * t1·re and t2·re by (1 - x²)², x = (r - t1 re) / ((t2 - t1) re), like the
 * SDSS profiles the fitter's mixtures approximate.  Nothing here is shared
 * with pp-fit: b_n comes from GSL's incomplete gamma function, totals
 * from its closed form plus quadrature of the taper annulus, and the
 * light map from cubature of the formula itself.
 */
#include <math.h>
#include <string.h>

#include <gsl/gsl_sf_gamma.h>

#include "quad.h"
#include "render.h"

/* Without taper the profile is cut where it falls to this fraction of
 * its central surface brightness. */
#define UNTAPERED_CUT 1e-7

/* Cell cubature tolerances: relative to the cell's integral, or
 * absolute as a fraction of the profile's total, whichever is larger. */
#define CELL_REL_TOL 1e-7
#define CELL_ABS_TOL 1e-12

/* Cells away from the centre get the Taylor cubature to fourth order,
 *   h² [f + h²/24 ∇²f + h⁴ ((f_xxxx + f_yyyy)/1920 + f_xxyy/576)],
 * whose error, the sixth-order term, is about the fourth-order term times
 * ε/168 (exactly so for an exponential in 1-D) with ε = h² |∇²f| / f the
 * relative size of the second-order term; TAYLOR_SAFETY covers the rest.
 * Beyond TAYLOR_EPS_MAX the series is not trusted. */
#define TAYLOR_SAFETY 4.0
#define TAYLOR_EPS_MAX 0.5

/* 4×4 Gauss-Legendre error ≈ h² f ε⁴ GL4_C: the rule's
 * (4!)⁴ / (9 (8!)³) = 5.6e-10 for an exponential, times 10. */
#define GL4_C 5.6e-9

/* Cells whose centre is within HARD_CELLS·h / q (elliptical radius) of
 * the centre are integrated adaptively: the cusp and the ellipse's
 * square-root singularity defeat fixed rules there. */
#define HARD_CELLS 3.0
#define ADAPT_MAX_DEPTH 14

/* Composite Gauss-Legendre panels over the taper annulus. */
#define ANNULUS_PANELS 16

/* Ciotti & Bertin (1999) asymptotic b_n: the Newton start. */
static double bn_asymptotic(double n)
{
    return 2.0 * n - 1.0 / 3.0 + 4.0 / (405.0 * n) +
           46.0 / (25515.0 * n * n) + 131.0 / (1148175.0 * n * n * n) -
           2194697.0 / (30690717750.0 * n * n * n * n);
}

double sim_sersic_bn(double n)
{
    /* P(2n, b) = 1/2: the median of Γ(2n, 1) lies in (0, 2n) (below the
     * mean); Newton kept inside a shrinking bracket. */
    double k = 2.0 * n, lo = 0.0, hi = k, b = bn_asymptotic(n);
    double lg = gsl_sf_lngamma(k);

    if (!(b > lo && b < hi))
        b = 0.5 * (lo + hi);
    for (int i = 0; i < 200; ++i) {
        double f = gsl_sf_gamma_inc_P(k, b) - 0.5;
        if (f == 0)
            break;
        if (f < 0)
            lo = b;
        else
            hi = b;
        double d = exp((k - 1.0) * log(b) - b - lg);
        double next = b - f / d;
        if (!(next > lo && next < hi))
            next = 0.5 * (lo + hi);
        if (fabs(next - b) <= 1e-15 * b) {
            b = next;
            break;
        }
        b = next;
    }
    return b;
}

double sim_sersic_total(const sim_sersic *s)
{
    double n = s->n, b = sim_sersic_bn(n), k = 2.0 * n;
    /* ∫ I 2π r dr over the whole plane = 2π re² n e^b Γ(2n) / b^(2n). */
    double full = 2.0 * M_PI * s->q * s->re * s->re *
                  exp(log(n) + b + gsl_sf_lngamma(k) - k * log(b));

    if (s->t1 <= 0)
        return full;
    /* Inside t1 re: the incomplete gamma function of b (r/re)^(1/n). */
    double inner = full * gsl_sf_gamma_inc_P(k, b * pow(s->t1, 1.0 / n));
    /* The annulus: composite 8-point Gauss-Legendre; the integrand is
     * smooth there, so 128 nodes reach double precision. */
    double r0 = s->t1 * s->re, dr = (s->t2 - s->t1) * s->re;
    double pw = dr / ANNULUS_PANELS, sum = 0;
    for (int p = 0; p < ANNULUS_PANELS; ++p) {
        double mid = r0 + (p + 0.5) * pw, part = 0;
        for (int i = 0; i < 8; ++i) {
            double r = mid + pw * sim_gl8_x[i], x = (r - r0) / dr;
            double t = (1.0 - x * x) * (1.0 - x * x);
            part += sim_gl8_w[i] * r * t *
                    exp(b * (1.0 - pow(r / s->re, 1.0 / n)));
        }
        sum += part * pw;
    }
    return inner + 2.0 * M_PI * s->q * sum;
}

double sim_sersic_extent(const sim_sersic *s)
{
    if (s->t1 > 0)
        return s->t2 * s->re;
    /* exp(-b (r/re)^(1/n)) = UNTAPERED_CUT */
    return s->re * pow(-log(UNTAPERED_CUT) / sim_sersic_bn(s->n), s->n);
}

/* A profile ready for evaluation. */
typedef struct {
    double ra, rb, rc;          /* r² = ra dx² + 2 rb dx dy + rc dy² */
    double q, ire, ire2;        /* axis ratio, 1/re, 1/re² */
    double b, k;                /* b_n, 1/(2n) */
    int roots;                  /* w = (r/re)^(1/n) by this many square
                                   roots of r/re; 0: w = r²/re²; -1: pow */
    int tapered;
    double t1, t1sq, idt;       /* taper start (px), its square, 1/width */
    double rmax, rmax2;         /* profile zero beyond */
} sersic_prep;

static void sersic_prepare(const sim_sersic *s, sersic_prep *p)
{
    double c = cos(s->theta), sn = sin(s->theta), iq2 = 1 / (s->q * s->q);

    memset(p, 0, sizeof *p);
    /* u = c dx + s dy along the major axis, v across: r² = u² + v²/q². */
    p->ra = c * c + sn * sn * iq2;
    p->rb = c * sn * (1.0 - iq2);
    p->rc = sn * sn + c * c * iq2;
    p->q = s->q;
    p->ire = 1.0 / s->re;
    p->ire2 = p->ire * p->ire;
    p->b = sim_sersic_bn(s->n);
    p->k = 0.5 / s->n;
    /* exp (n = 1) and dev (n = 4) need no pow: w = r/re, (r/re)^(1/4). */
    p->roots = s->n == 0.5 ? 0 : s->n == 1 ? 1 : s->n == 2 ? 2
             : s->n == 4 ? 3 : -1;
    p->tapered = s->t1 > 0;
    if (p->tapered) {
        p->t1 = s->t1 * s->re;
        p->t1sq = p->t1 * p->t1;
        p->idt = 1.0 / ((s->t2 - s->t1) * s->re);
    }
    p->rmax = sim_sersic_extent(s);
    p->rmax2 = p->rmax * p->rmax;
    if (!p->tapered) {
        p->t1 = 2.0 * p->rmax;  /* never reached: a finite mask */
        p->idt = 1.0;
    }
}

static inline double dmax(double a, double b)
{
    return a > b ? a : b;
}

/* w = (r/re)^(1/n) from r and ρ = r². */
static inline double sersic_w(const sersic_prep *p, double r, double rho)
{
    switch (p->roots) {
    case 0:
        return rho * p->ire2;
    case 1:
        return r * p->ire;
    case 2:
        return sqrt(r * p->ire);
    case 3:
        return sqrt(sqrt(r * p->ire));
    default:
        return pow(rho * p->ire2, p->k);
    }
}

static inline double sersic_rho(const sersic_prep *p, double dx, double dy)
{
    return p->ra * dx * dx + 2.0 * p->rb * dx * dy + p->rc * dy * dy;
}

static inline double sersic_value(const sersic_prep *p, double dx,
                                  double dy)
{
    double rho = sersic_rho(p, dx, dy);

    if (rho >= p->rmax2)
        return 0.0;
    double r = sqrt(rho), f = exp(p->b * (1.0 - sersic_w(p, r, rho)));
    if (p->tapered && r > p->t1) {
        double x = (r - p->t1) * p->idt, a = 1.0 - x * x;
        f *= a * a;
    }
    return f;
}

static double cell_gl4(const sersic_prep *p, double cx, double cy,
                       double h)
{
    double sum = 0;

    for (int j = 0; j < 4; ++j) {
        double y = cy + h * sim_gl4_x[j], row = 0;
        for (int i = 0; i < 4; ++i)
            row += sim_gl4_w[i] * sersic_value(p, cx + h * sim_gl4_x[i], y);
        sum += sim_gl4_w[j] * row;
    }
    return sum * h * h;
}

/* Recursive quartering until the four children agree with their parent
 * (whole) within tol. */
static double cell_adapt(const sersic_prep *p, double cx, double cy,
                         double h, double whole, double tol, int depth)
{
    double d = 0.25 * h, sub[4], sum = 0;

    for (int k = 0; k < 4; ++k) {
        sub[k] = cell_gl4(p, cx + (k & 1 ? d : -d), cy + (k & 2 ? d : -d),
                          0.5 * h);
        sum += sub[k];
    }
    if (depth >= ADAPT_MAX_DEPTH || fabs(sum - whole) <= tol)
        return sum;
    sum = 0;
    for (int k = 0; k < 4; ++k)
        sum += cell_adapt(p, cx + (k & 1 ? d : -d), cy + (k & 2 ? d : -d),
                          0.5 * h, sub[k], 0.5 * tol, depth + 1);
    return sum;
}

/* Cells go a row chunk at a time: (1) r, w and e^φ for every cell in
 * tight loops of independent iterations, (2) the Taylor cubature and its
 * error test, branch-free, (3) the cells it does not serve (centre, taper
 * ends, steep parts) one by one.  This order runs about 1.3× faster than
 * cell by cell. */
#define CHUNK 128

typedef struct {
    double rho[CHUNK], r[CHUNK], w[CHUNK], e[CHUNK];
    double val[CHUNK], f[CHUNK], ef[CHUNK], ok[CHUNK];
} chunk;

/* Phase 1: ρ, r, w = (r/re)^(1/n) and e^(b (1 - w)) of m cells. */
static void chunk_radii(const sersic_prep *p, chunk *c, long m, double x0,
                        double h, double dy)
{
    for (long t = 0; t < m; ++t) {
        c->rho[t] = sersic_rho(p, x0 + t * h, dy);
        c->r[t] = sqrt(c->rho[t]);
    }
    for (long t = 0; t < m; ++t)
        c->w[t] = sersic_w(p, c->r[t], c->rho[t]);
    for (long t = 0; t < m; ++t)
        c->e[t] = exp(p->b * (1.0 - c->w[t]));
}

/* d^j/dρ^j, j <= 4, of e^φ (E[0] = e) with φ^(j) = -b k (k-1)...(k-j+1)
 * w / ρ^j (φ = b (1 - w), w = (ρ/re²)^k), by Faà di Bruno. */
static inline void exp_rho(const sersic_prep *p, double e, double w,
                           double ir, double E[5])
{
    double k = p->k, f1 = -p->b * k * w * ir, f2 = f1 * (k - 1) * ir;
    double f3 = f2 * (k - 2) * ir, f4 = f3 * (k - 3) * ir;

    E[0] = e;
    E[1] = e * f1;
    E[2] = e * (f2 + f1 * f1);
    E[3] = e * (f3 + 3 * f1 * f2 + f1 * f1 * f1);
    E[4] = e * (f4 + 4 * f1 * f3 + 3 * f2 * f2 + 6 * f1 * f1 * f2 +
                f1 * f1 * f1 * f1);
}

/* d^j/dρ^j of the taper (1 - x²)², x = (r - t1) / width, through the
 * derivatives of r = sqrt(ρ): 1/(2r), -1/(4rρ), 3/(8rρ²), -15/(16rρ³);
 * 1, 0, 0, ... where in = 0. */
static inline void taper_rho(const sersic_prep *p, int in, double r,
                             double ir, double T[5])
{
    double d = p->idt, x = in ? (r - p->t1) * d : 0, a = 1 - x * x;
    double u1 = -4 * x * a * d, u2 = (12 * x * x - 4) * d * d;
    double u3 = 24 * x * d * d * d, u4 = 24 * d * d * d * d;
    double ri = 1.0 / (r > 0 ? r : 1.0);
    double r1 = 0.5 * ri, r2 = -0.25 * ri * ir;
    double r3 = 0.375 * ri * ir * ir, r4 = -0.9375 * ri * ir * ir * ir;

    T[0] = in ? a * a : 1;
    T[1] = in ? u1 * r1 : 0;
    T[2] = in ? u2 * r1 * r1 + u1 * r2 : 0;
    T[3] = in ? u3 * r1 * r1 * r1 + 3 * u2 * r1 * r2 + u1 * r3 : 0;
    T[4] = in ? u4 * r1 * r1 * r1 * r1 + 6 * u3 * r1 * r1 * r2 +
                u2 * (3 * r2 * r2 + 4 * r1 * r3) + u1 * r4 : 0;
}

/* Phase 2: the fourth-order Taylor cubature of each cell,
 *   h² [f + h²/24 ∇²f + h⁴ ((f_xxxx + f_yyyy)/1920 + f_xxyy/576)],
 * from the derivatives F_j of the profile as a function of ρ = r².  With
 * ρ = A x² + 2B xy + C y² quadratic (ρ_x = a, ρ_y = b):
 *   f_xx   = F2 a² + 2A F1
 *   f_xxxx = F4 a⁴ + 12A F3 a² + 12A² F2
 *   f_xxyy = F4 a² b² + 2 F3 (C a² + 4B a b + A b²) + 4 F2 (2B² + AC).
 * ok[t] = 1 where the estimated error is within tolerance; ef[t] = ε f
 * for the Gauss-Legendre test.  Cells at ρ = 0 get garbage, unused.
 * taper = 0 when no cell reaches the taper (a constant once inlined). */
static inline __attribute__((always_inline)) void
chunk_taylor(const sersic_prep *p, chunk *c, long m, double x0, double h,
             double dy, double abs_tol, const int taper)
{
    double A = p->ra, B = p->rb, C = p->rc, h2 = h * h;

    for (long t = 0; t < m; ++t) {
        double rho = c->rho[t] > 0 ? c->rho[t] : 1.0, ir = 1.0 / rho;
        double E[5], T[5];
        exp_rho(p, c->e[t], c->w[t], ir, E);
        taper_rho(p, taper && c->r[t] > p->t1, c->r[t], ir, T);
        double F0 = E[0] * T[0], F1 = E[1] * T[0] + E[0] * T[1];
        double F2 = E[2] * T[0] + 2 * E[1] * T[1] + E[0] * T[2];
        double F3 = E[3] * T[0] + 3 * E[2] * T[1] + 3 * E[1] * T[2] +
                    E[0] * T[3];
        double F4 = E[4] * T[0] + 4 * E[3] * T[1] + 6 * E[2] * T[2] +
                    4 * E[1] * T[3] + E[0] * T[4];
        double dx = x0 + t * h;
        double a = 2 * (A * dx + B * dy), b = 2 * (B * dx + C * dy);
        double a2 = a * a, b2 = b * b;
        double fxx = F2 * a2 + 2 * A * F1, fyy = F2 * b2 + 2 * C * F1;
        double fxxxx = F4 * a2 * a2 + 12 * A * F3 * a2 + 12 * A * A * F2;
        double fyyyy = F4 * b2 * b2 + 12 * C * F3 * b2 + 12 * C * C * F2;
        double fxxyy = F4 * a2 * b2 +
                       2 * F3 * (C * a2 + 4 * B * a * b + A * b2) +
                       4 * F2 * (2 * B * B + A * C);
        double t4 = h2 * h2 * ((fxxxx + fyyyy) / 1920 + fxxyy / 576);
        double m4 = h2 * h2 * (fabs(fxxxx) / 1920 + fabs(fyyyy) / 1920 +
                               fabs(fxxyy) / 576);
        /* ε f, without cancellation between the two terms of f_xx. */
        double ef = h2 * (fabs(F2) * (a2 + b2) + 2 * (A + C) * fabs(F1));
        double tol = dmax(CELL_REL_TOL * h2 * F0, abs_tol);
        /* The sixth-order term ≈ the fourth's times ε/168; a cell whose
         * every term is below the absolute tolerance is negligible. */
        int good = ef <= TAYLOR_EPS_MAX * F0 &&
                   TAYLOR_SAFETY * h2 * m4 * ef <= 168.0 * tol * F0;
        int tiny = h2 * (F0 + ef + m4) <= abs_tol;
        c->ok[t] = good || tiny;
        c->val[t] = h2 * (F0 + h2 * (fxx + fyy) / 24 + t4);
        c->f[t] = F0;
        c->ef[t] = ef;
    }
}

/* Phase 3, one cell of the chunk: the Taylor value where it is good,
 * else 4×4 Gauss where its error estimate h² f ε⁴ GL4_C allows, else
 * adaptive subdivision.  Cells near the centre (the cusp and the
 * ellipse's square-root singularity at complex distance q·r) go
 * adaptive; cells straddling the taper's ends (f'' jumps) or the cut
 * take 4×4 Gauss. */
static double cell_integral(const sersic_prep *p, const chunk *c, long t,
                            double cx, double cy, double h, double abs_tol)
{
    double hard = HARD_CELLS * h / p->q, half = M_SQRT1_2 * h / p->q;
    double r = c->r[t], h2 = h * h;

    if (r >= hard) {
        if (fabs(r - p->rmax) < half ||
            (p->tapered && fabs(r - p->t1) < half))
            return cell_gl4(p, cx, cy, h);
        if (r >= p->rmax)
            return 0.0;
        if (c->ok[t] != 0)
            return c->val[t];
        /* h² f ε⁴ GL4_C <= tol, multiplied through by f³. */
        double f = c->f[t], e2 = c->ef[t] * c->ef[t];
        if (h2 * GL4_C * e2 * e2 <=
            dmax(CELL_REL_TOL * h2 * f, abs_tol) * f * f * f)
            return cell_gl4(p, cx, cy, h);
    }
    double whole = cell_gl4(p, cx, cy, h);
    return cell_adapt(p, cx, cy, h, whole,
                      dmax(CELL_REL_TOL * fabs(whole), abs_tol), 0);
}

void sim_sersic_grid(const sim_sersic *s, double x0, double y0, double h,
                     long nx, long ny, double *out)
{
    sersic_prep p;
    chunk c;

    sersic_prepare(s, &p);
    double abs_tol = CELL_ABS_TOL * sim_sersic_total(s);
    /* Row by row, only the cells whose centre lies inside the ellipse
     * r = rmax + (half a cell's diagonal): ra dx² + 2 rb dy dx +
     * rc dy² - R² <= 0. */
    double a = p.ra, R = p.rmax + M_SQRT1_2 * h / p.q;
    memset(out, 0, (size_t)nx * (size_t)ny * sizeof *out);
    for (long j = 0; j < ny; ++j) {
        double dy = y0 + j * h;
        double bq = 2.0 * dy * p.rb;
        double cq = dy * dy * p.rc - R * R;
        double disc = bq * bq - 4.0 * a * cq;
        if (disc <= 0)
            continue;
        double sq = sqrt(disc);
        double lo = (-bq - sq) / (2.0 * a), hi = (-bq + sq) / (2.0 * a);
        long i0 = (long)ceil((lo - x0) / h), i1 = (long)floor((hi - x0) / h);
        i0 = i0 < 0 ? 0 : i0;
        i1 = i1 > nx - 1 ? nx - 1 : i1;
        for (long c0 = i0; c0 <= i1; c0 += CHUNK) {
            long m = i1 - c0 + 1 < CHUNK ? i1 - c0 + 1 : CHUNK;
            double cx0 = x0 + c0 * h;
            chunk_radii(&p, &c, m, cx0, h, dy);
            /* r² is convex along the row: its largest is at an end. */
            if (p.tapered && fmax(c.r[0], c.r[m - 1]) > p.t1)
                chunk_taylor(&p, &c, m, cx0, h, dy, abs_tol, 1);
            else
                chunk_taylor(&p, &c, m, cx0, h, dy, abs_tol, 0);
            for (long t = 0; t < m; ++t)
                out[j * nx + c0 + t] = cell_integral(&p, &c, t, cx0 + t * h,
                                                     dy, h, abs_tol);
        }
    }
}
