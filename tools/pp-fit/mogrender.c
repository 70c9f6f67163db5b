/* mogrender.c - one source ⊗ a Gaussian-mixture PSF, point-sampled, with
 * analytic derivatives (SPEC §10.1, §10.3, §10.4).  See mogrender.h.
 */
#include <math.h>
#include <stddef.h>

#include "pp_error.h"

#include "mogrender.h"
#include "profile.h"

/* One Gaussian of the convolved mixture: profile component k ⊗ PSF
 * component j, with everything the pixel loop needs precomputed. */
typedef struct {
    double amp;             /* amp_k · a_j */
    double norm;            /* 1 / (2π sqrt(det C)) */
    double mx, my;          /* mean offset from the source, px */
    double ixx, ixy, iyy;   /* C⁻¹ */
    double dc[4][3];        /* ∂C/∂p (xx, xy, yy), p = logre, ee1, ee2, n */
    double tr[4];           /* tr(C⁻¹ ∂C/∂p) */
    double damp_dn;         /* ∂amp/∂n (· a_j) */
} mog_pair;

/* Shape parameters whose derivative goes through the covariance. */
#define NSHAPE 4            /* logre, ee1, ee2, n */

/* Build pair (k, j) into OUTPUT p.  S and dS may be NULL (taken as 0).
 * Returns PP_OK or PP_EDATA for a covariance that is not positive
 * definite. */
static int pair_setup(const fit_mog *prof, int k, const double S[2][2],
                      const double dS[3][2][2], const fit_psf_mog *psf,
                      int j, mog_pair *p, pp_error *err)
{
    double v = prof->var[k], cxx, cxy, cyy, det;
    int q;

    /* SPEC §10.3: C = var_k·S + C_j (just C_j for a zero variance). */
    cxx = psf->vxx[j];
    cxy = psf->vxy[j];
    cyy = psf->vyy[j];
    if (S && v != 0) {
        cxx += v * S[0][0];
        cxy += v * S[0][1];
        cyy += v * S[1][1];
    }
    det = cxx * cyy - cxy * cxy;
    if (!(det > 0) || !(cxx > 0) || !isfinite(det))
        return pp_error_set(err, PP_EDATA,
                            "profile component %d (var %g) with PSF "
                            "component %d: covariance [[%g, %g], [%g, %g]] "
                            "is not positive definite", k, v, j, cxx, cxy,
                            cxy, cyy);
    p->amp = prof->amp[k] * psf->w[j];
    p->damp_dn = prof->damp_dn[k] * psf->w[j];
    p->norm = 1.0 / (2.0 * M_PI * sqrt(det));
    p->mx = psf->mx[j];
    p->my = psf->my[j];
    p->ixx = cyy / det;
    p->ixy = -cxy / det;
    p->iyy = cxx / det;

    /* ∂C/∂p = var_k·∂S/∂p for the shape; dvar/dn·S for n (§10.4). */
    for (q = 0; q < NSHAPE; q++) {
        double f = q < 3 ? v : prof->dvar_dn[k];
        const double (*m)[2] = q < 3 ? (dS ? dS[q] : NULL) : S;

        p->dc[q][0] = p->dc[q][1] = p->dc[q][2] = 0;
        if (m && f != 0) {
            p->dc[q][0] = f * m[0][0];
            p->dc[q][1] = f * m[0][1];
            p->dc[q][2] = f * m[1][1];
        }
        p->tr[q] = p->ixx * p->dc[q][0] + 2 * p->ixy * p->dc[q][1]
                   + p->iyy * p->dc[q][2];
    }
    return PP_OK;
}

/* Above this C⁻¹_xx (px⁻²) the row recurrence below could overflow
 * (its ratio reaches exp(10·sqrt(ixx))); such a narrow Gaussian is
 * evaluated with one exp per pixel. */
#define RECUR_IXX_MAX 100.0

/* Add pair p along row ry = py − cy, columns [pa, pb) of the box row
 * starting at buffer index row − x0; see pair_render(). */
static void row_render(const mog_pair *p, double ry, double cx, long pa,
                       long pb, long base, double flux, double *img,
                       double *const dd[FIT_NDERIV], int want_shape)
{
    long px;
    int q, started = 0, recur = p->ixx <= RECUR_IXX_MAX;
    double e = 0, r = 0, step = exp(-p->ixx);

    for (px = pa; px < pb; px++) {
        double rx = px - cx, ux, uy, m2, g, fg;
        long i = base + px;

        ux = p->ixx * rx + p->ixy * ry;
        uy = p->ixy * rx + p->iyy * ry;
        m2 = rx * ux + ry * uy;
        /* exp(−½m2) by recurrence along the row: m2(rx+1) − m2(rx) =
         * 2u_x + ixx, so the ratio itself shrinks by exp(−ixx) a step. */
        if (started) {
            e *= r;
            r *= step;
        }
        /* SPEC §10.3: only where the Mahalanobis distance² < 100. */
        if (m2 >= FIT_RENDER_MAHAL2_MAX)
            continue;
        if (!started || !recur) {
            e = p->norm * exp(-0.5 * m2);
            r = exp(-(ux + 0.5 * p->ixx));
            started = 1;
        }
        g = p->amp * e;
        fg = flux * g;
        if (img)
            img[i] += fg;
        if (dd[FIT_DERIV_FLUX])
            dd[FIT_DERIV_FLUX][i] += g;
        if (dd[FIT_DERIV_X])
            dd[FIT_DERIV_X][i] += fg * ux;
        if (dd[FIT_DERIV_Y])
            dd[FIT_DERIV_Y][i] += fg * uy;
        if (!want_shape)
            continue;
        for (q = 0; q < NSHAPE; q++) {
            const double *c = p->dc[q];

            if (dd[FIT_DERIV_LOGRE + q])
                dd[FIT_DERIV_LOGRE + q][i] += fg * 0.5 *
                    (c[0] * ux * ux + 2 * c[1] * ux * uy + c[2] * uy * uy
                     - p->tr[q]);
        }
        /* The amplitude's own n-dependence (SPEC §10.4). */
        if (dd[FIT_DERIV_N])
            dd[FIT_DERIV_N][i] += flux * p->damp_dn * e;
    }
}

/* Add pair p of a source at (x, y) with flux to the box; see
 * fit_render_mog() for the buffers.  For G = amp·norm·exp(−½ rᵀC⁻¹r),
 * r = pixel − mean, u = C⁻¹r: ∂G/∂x = G·u_x, ∂G/∂y = G·u_y, and
 * for a covariance parameter ∂G/∂p = ½ G (uᵀ ∂C u − tr(C⁻¹∂C)). */
static void pair_render(const mog_pair *p, double x, double y,
                        double flux, long x0, long x1, long y0, long y1,
                        double *img, double *const d[FIT_NDERIV])
{
    long w = x1 - x0, py;
    double cx = x + p->mx, cy = y + p->my;
    int want_shape = 0, q;
    double *dd[FIT_NDERIV] = { NULL };

    if (d)
        for (q = 0; q < FIT_NDERIV; q++)
            dd[q] = d[q];
    for (q = 0; q < NSHAPE; q++)
        if (dd[FIT_DERIV_LOGRE + q])
            want_shape = 1;

    for (py = y0; py < y1; py++) {
        double ry = py - cy, b = p->ixy * ry, disc, lo, hi;
        long pa, pb;

        /* Columns where ixx·rx² + 2b·rx + iyy·ry² < MAHAL2_MAX, widened
         * by a pixel against rounding (row_render() decides). */
        disc = b * b - p->ixx * (p->iyy * ry * ry - FIT_RENDER_MAHAL2_MAX);
        if (disc <= 0)
            continue;
        lo = floor(cx + (-b - sqrt(disc)) / p->ixx) - 1;
        hi = ceil(cx + (-b + sqrt(disc)) / p->ixx) + 1;
        pa = lo > (double)x0 ? (long)lo : x0;
        pb = hi < (double)(x1 - 1) ? (long)hi + 1 : x1;
        row_render(p, ry, cx, pa, pb, (py - y0) * w - x0, flux, img, dd,
                   want_shape);
    }
}

/* Check the arguments of fit_render_mog(); PP_OK or the error. */
static int render_check(const fit_mog *prof, double x, double y,
                        double flux, const double S[2][2],
                        const double dS[3][2][2], const fit_psf_mog *psf,
                        long x0, long x1, long y0, long y1,
                        double *const d[FIT_NDERIV], pp_error *err)
{
    int k, galaxy = 0;

    if (!prof || prof->k < 1 || prof->k > FIT_MOG_MAX)
        return pp_error_set(err, PP_EUSAGE, "render: profile has %d "
                            "components, expected 1..%d",
                            prof ? prof->k : 0, FIT_MOG_MAX);
    if (!psf || psf->k < 1 || psf->k > FIT_PSF_MOG_MAX)
        return pp_error_set(err, PP_EUSAGE, "render: PSF mixture has %d "
                            "components, expected 1..%d",
                            psf ? psf->k : 0, FIT_PSF_MOG_MAX);
    if (x1 < x0 || y1 < y0)
        return pp_error_set(err, PP_EUSAGE, "render: box x[%ld,%ld) "
                            "y[%ld,%ld) has a negative size", x0, x1, y0,
                            y1);
    if (!isfinite(x) || !isfinite(y) || !isfinite(flux))
        return pp_error_set(err, PP_EDATA, "render: source at (%g, %g) "
                            "with flux %g, expected finite values", x, y,
                            flux);
    for (k = 0; k < prof->k; k++)
        if (prof->var[k] != 0)
            galaxy = 1;
    if (galaxy && !S)
        return pp_error_set(err, PP_EUSAGE, "render: shape matrix S is "
                            "NULL for a profile with non-zero variances");
    if (galaxy && !dS && d && (d[FIT_DERIV_LOGRE] || d[FIT_DERIV_EE1] ||
                               d[FIT_DERIV_EE2]))
        return pp_error_set(err, PP_EUSAGE, "render: shape derivatives "
                            "requested but dS is NULL");
    if (S && !(isfinite(S[0][0]) && isfinite(S[0][1]) &&
               isfinite(S[1][1])))
        return pp_error_set(err, PP_EDATA, "render: shape matrix S has "
                            "non-finite entries");
    return PP_OK;
}

int fit_render_mog(const fit_mog *prof, double x, double y, double flux,
                   const double S[2][2], const double dS[3][2][2],
                   const fit_psf_mog *psf, long x0, long x1, long y0,
                   long y1, double *img, double *const d[FIT_NDERIV],
                   pp_error *err)
{
    mog_pair p;
    int k, j, st;

    st = render_check(prof, x, y, flux, S, dS, psf, x0, x1, y0, y1, d,
                      err);
    if (st != PP_OK)
        return st;

    /* Validate every pair first so that a failure touches no buffer. */
    for (k = 0; k < prof->k; k++)
        for (j = 0; j < psf->k; j++) {
            st = pair_setup(prof, k, S, dS, psf, j, &p, err);
            if (st != PP_OK) {
                if (err)
                    pp_error_prefix(err, "render: ");
                return st;
            }
        }

    /* One pass over the box per pair; the setup is a few flops. */
    for (k = 0; k < prof->k; k++)
        for (j = 0; j < psf->k; j++) {
            pair_setup(prof, k, S, dS, psf, j, &p, NULL);
            pair_render(&p, x, y, flux, x0, x1, y0, y1, img, d);
        }
    return PP_OK;
}

/* Largest eigenvalue of the symmetric [[a, b], [b, c]]. */
static double eig_max(double a, double b, double c)
{
    return 0.5 * (a + c) + sqrt(0.25 * (a - c) * (a - c) + b * b);
}

double fit_render_halfsize(const fit_mog *prof, const double S[2][2],
                           const fit_psf_mog *psf)
{
    double h = 0, lpsf = 0, off = 0;
    int j;

    /* SPEC §10.2: the profile reaches nre·re; sqrt(λmax(S)) = re. */
    if (prof && S && prof->nre > 0)
        h = prof->nre * sqrt(fmax(0, eig_max(S[0][0], S[0][1], S[1][1])));
    for (j = 0; psf && j < psf->k && j < FIT_PSF_MOG_MAX; j++) {
        lpsf = fmax(lpsf, eig_max(psf->vxx[j], psf->vxy[j], psf->vyy[j]));
        off = fmax(off, hypot(psf->mx[j], psf->my[j]));
    }
    return h + FIT_RENDER_PSF_NSIGMA * sqrt(lpsf) + off;
}

void fit_render_box(double x, double y, double h, long width,
                    long height, long *x0, long *x1, long *y0, long *y1)
{
    double lo, hi;

    lo = fmin(fmax(floor(x - h), 0), (double)width);
    hi = fmin(ceil(x + h) + 1, (double)width);
    *x0 = (long)lo;
    *x1 = hi > lo ? (long)hi : *x0;
    lo = fmin(fmax(floor(y - h), 0), (double)height);
    hi = fmin(ceil(y + h) + 1, (double)height);
    *y0 = (long)lo;
    *y1 = hi > lo ? (long)hi : *y0;
}
