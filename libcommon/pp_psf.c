/* pp_psf.c - Gaussian-mixture PSFs and fallback stamps (SPEC §10.3). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pp_error.h"
#include "pp_log.h"
#include "pp_mem.h"
#include "pp_psf.h"

/* The positive pixels of a stamp as weighted points. */
typedef struct {
    int     n;
    double *x, *y, *p;      /* offsets from the centre, weights (sum 1) */
} psf_points;

static void points_release(psf_points *pts)
{
    free(pts->x);
    pts->x = pts->y = pts->p = NULL;
    pts->n = 0;
}

/* Check the stamp and gather its clipped, normalised positive pixels
 * (SPEC §10.3: "normalised to sum 1 and clipped at 0"). */
static int points_load(const double *stamp, int w, int h, psf_points *pts,
                       pp_error *err)
{
    double sum = 0.0;
    int i, j, n = 0;

    memset(pts, 0, sizeof *pts);
    if (w < 1 || h < 1 || w % 2 == 0 || h % 2 == 0)
        return pp_error_set(err, PP_EDATA, "PSF stamp is %dx%d, expected "
                            "odd width and height", w, h);
    for (j = 0; j < h; j++)
        for (i = 0; i < w; i++) {
            double v = stamp[(size_t)j * w + i];
            if (!isfinite(v))
                return pp_error_set(err, PP_EDATA, "PSF stamp pixel (%d, %d)"
                                    " is not finite", i, j);
            if (v > 0.0) {
                sum += v;
                n++;
            }
        }
    if (n == 0 || !(sum > 0.0))
        return pp_error_set(err, PP_EDATA, "PSF stamp has no positive "
                            "pixel, expected a PSF");
    pts->x = pp_malloc_checked((size_t)n * 3, sizeof(double),
                               "PSF stamp points", err);
    if (!pts->x)
        return PP_ENOMEM;
    pts->y = pts->x + n;
    pts->p = pts->y + n;
    for (j = 0; j < h; j++)
        for (i = 0; i < w; i++) {
            double v = stamp[(size_t)j * w + i];
            if (v > 0.0) {
                pts->x[pts->n] = i - (w - 1) / 2;
                pts->y[pts->n] = j - (h - 1) / 2;
                pts->p[pts->n] = v / sum;
                pts->n++;
            }
        }
    return PP_OK;
}

/* Per-component constants of the log density: ln w − ln 2π − ½ ln det
 * and the inverse covariance.  PP_EDATA if a weighted covariance is not
 * positive definite. */
typedef struct {
    double lnc[PP_PSF_MOG_MAX];
    double ixx[PP_PSF_MOG_MAX], ixy[PP_PSF_MOG_MAX], iyy[PP_PSF_MOG_MAX];
    int    live[PP_PSF_MOG_MAX];
} psf_terms;

static int terms_make(const pp_psf_mog *m, psf_terms *t, pp_error *err)
{
    int k;

    for (k = 0; k < m->k; k++) {
        double det = m->vxx[k] * m->vyy[k] - m->vxy[k] * m->vxy[k];
        t->live[k] = m->w[k] > 0.0;
        if (!t->live[k])
            continue;
        if (!(det > 0.0) || !(m->vxx[k] > 0.0) || !isfinite(det))
            return pp_error_set(err, PP_EDATA, "mixture component %d has a "
                                "covariance that is not positive definite "
                                "(det %g)", k, det);
        t->lnc[k] = log(m->w[k]) - log(2.0 * M_PI) - 0.5 * log(det);
        t->ixx[k] = m->vyy[k] / det;
        t->ixy[k] = -m->vxy[k] / det;
        t->iyy[k] = m->vxx[k] / det;
    }
    return PP_OK;
}

/* E-step: responsibilities resp[n·K + k] (may be NULL) and lnL.
 * Log-sum-exp keeps far pixels finite. */
static int em_estep(const pp_psf_mog *m, const psf_points *pts,
                    double *resp, double *loglik, pp_error *err)
{
    psf_terms t;
    double lnl = 0.0;
    int n, k, K = m->k;

    if (terms_make(m, &t, err) != PP_OK)
        return err ? err->code : PP_EDATA;
    for (n = 0; n < pts->n; n++) {
        double lg[PP_PSF_MOG_MAX], top = -INFINITY, s = 0.0;
        for (k = 0; k < K; k++) {
            double dx = pts->x[n] - m->mx[k], dy = pts->y[n] - m->my[k];
            if (!t.live[k]) {
                lg[k] = -INFINITY;
                continue;
            }
            lg[k] = t.lnc[k] - 0.5 * (t.ixx[k] * dx * dx
                    + 2.0 * t.ixy[k] * dx * dy + t.iyy[k] * dy * dy);
            if (lg[k] > top)
                top = lg[k];
        }
        for (k = 0; k < K; k++)
            s += t.live[k] ? exp(lg[k] - top) : 0.0;
        lnl += pts->p[n] * (top + log(s));
        if (resp)
            for (k = 0; k < K; k++)
                resp[(size_t)n * K + k] =
                    t.live[k] ? exp(lg[k] - top) / s : 0.0;
    }
    *loglik = lnl;
    return PP_OK;
}

/* Floor the eigenvalues of a 2×2 covariance at vmin (the constrained
 * M-step maximiser).  Returns 1 if it changed anything. */
static int cov_floor(double *a, double *b, double *c, double vmin)
{
    double h = 0.5 * (*a + *c);
    double d = sqrt(0.25 * (*a - *c) * (*a - *c) + *b * *b);
    double lo = h - d, hi = h + d, ex, ey, nn;

    if (lo >= vmin)
        return 0;
    if (hi < vmin) {
        *a = *c = vmin;
        *b = 0.0;
        return 1;
    }
    /* Eigenvector of lo: the better conditioned of (b, lo−a), (lo−c, b). */
    if (fabs(lo - *a) > fabs(lo - *c)) {
        ex = *b;
        ey = lo - *a;
    } else {
        ex = lo - *c;
        ey = *b;
    }
    nn = ex * ex + ey * ey;
    if (!(nn > 0.0)) {      /* diagonal: lo is min(a, c) */
        ex = *a <= *c ? 1.0 : 0.0;
        ey = 1.0 - ex;
        nn = 1.0;
    }
    *a += (vmin - lo) * ex * ex / nn;
    *b += (vmin - lo) * ex * ey / nn;
    *c += (vmin - lo) * ey * ey / nn;
    return 1;
}

/* M-step from responsibilities.  Returns the number of floored
 * covariances. */
static int em_mstep(pp_psf_mog *m, const psf_points *pts,
                    const double *resp)
{
    int n, k, K = m->k, nfloor = 0;

    for (k = 0; k < K; k++) {
        double sw = 0.0, sx = 0.0, sy = 0.0, a = 0.0, b = 0.0, c = 0.0;
        for (n = 0; n < pts->n; n++) {
            double q = pts->p[n] * resp[(size_t)n * K + k];
            sw += q;
            sx += q * pts->x[n];
            sy += q * pts->y[n];
        }
        m->w[k] = sw;
        if (!(sw > 0.0))
            continue;           /* dead component: keep mean, covariance */
        sx /= sw;
        sy /= sw;
        for (n = 0; n < pts->n; n++) {
            double q = pts->p[n] * resp[(size_t)n * K + k];
            double dx = pts->x[n] - sx, dy = pts->y[n] - sy;
            a += q * dx * dx;
            b += q * dx * dy;
            c += q * dy * dy;
        }
        m->mx[k] = sx;
        m->my[k] = sy;
        m->vxx[k] = a / sw;
        m->vxy[k] = b / sw;
        m->vyy[k] = c / sw;
        nfloor += cov_floor(&m->vxx[k], &m->vxy[k], &m->vyy[k],
                            PP_PSF_EM_VAR_MIN);
    }
    return nfloor;
}

static int check_k(int K, pp_error *err)
{
    if (K < 1 || K > PP_PSF_MOG_MAX)
        return pp_error_set(err, PP_ECONFIG, "mixture size %d out of range,"
                            " expected 1 to %d components", K,
                            PP_PSF_MOG_MAX);
    return PP_OK;
}

int pp_psf_fit_mog_capped(const double *stamp, int w, int h, int K,
                          int max_iters, pp_psf_mog *out, int *iters,
                          double *loglik, pp_error *err)
{
    psf_points pts = { 0, NULL, NULL, NULL };
    double *resp = NULL, l0 = 0.0, l1 = 0.0;
    int k, it = 0, nfloor = 0, status;

    memset(out, 0, sizeof *out);
    if (iters)
        *iters = 0;
    if ((status = check_k(K, err)) != PP_OK)
        return status;
    if (max_iters < 0)
        return pp_error_set(err, PP_EINTERNAL, "EM iteration cap %d < 0",
                            max_iters);
    if ((status = points_load(stamp, w, h, &pts, err)) != PP_OK)
        goto out;
    resp = pp_malloc_checked((size_t)pts.n * K, sizeof(double),
                             "EM responsibilities", err);
    if (!resp) {
        status = PP_ENOMEM;
        goto out;
    }
    /* SPEC §10.3 initial mixture. */
    out->k = K;
    for (k = 0; k < K; k++) {
        out->w[k] = 1.0 / K;
        out->vxx[k] = out->vyy[k] = k + 1.0;
    }
    if ((status = em_estep(out, &pts, resp, &l0, err)) != PP_OK)
        goto out;
    l1 = l0;
    while (it < max_iters) {
        nfloor += em_mstep(out, &pts, resp);
        it++;
        if ((status = em_estep(out, &pts, resp, &l1, err)) != PP_OK)
            goto out;
        if (fabs(l1 - l0) <= PP_PSF_EM_TOL * fabs(l0))
            break;
        l0 = l1;
    }
    pp_log(PP_LOG_DEBUG, "EM mixture K=%d on %dx%d stamp: %d iterations, "
           "lnL %.12g, %d floored covariances", K, w, h, it, l1, nfloor);
    if (iters)
        *iters = it;
    if (loglik)
        *loglik = l1;
out:
    if (status != PP_OK)
        memset(out, 0, sizeof *out);
    free(resp);
    points_release(&pts);
    return status;
}

int pp_psf_fit_mog(const double *stamp, int w, int h, int K,
                   pp_psf_mog *out, int *iters, pp_error *err)
{
    return pp_psf_fit_mog_capped(stamp, w, h, K, PP_PSF_EM_MAX_ITERS, out,
                                 iters, NULL, err);
}

int pp_psf_mog_loglik(const pp_psf_mog *mog, const double *stamp, int w,
                      int h, double *loglik, pp_error *err)
{
    psf_points pts;
    int status;

    if ((status = check_k(mog->k, err)) != PP_OK)
        return status;
    if ((status = points_load(stamp, w, h, &pts, err)) != PP_OK)
        return status;
    status = em_estep(mog, &pts, NULL, loglik, err);
    points_release(&pts);
    return status;
}

int pp_psf_stamp_size(double radius_pix, int *size, pp_error *err)
{
    if (!(radius_pix > 0.0) || !(radius_pix <= PP_PSF_STAMP_RADIUS_MAX))
        return pp_error_set(err, PP_ECONFIG, "PSF stamp radius %g px out "
                            "of range, expected > 0 and <= %g", radius_pix,
                            PP_PSF_STAMP_RADIUS_MAX);
    *size = 2 * (int)ceil(radius_pix) + 1;
    return PP_OK;
}

double pp_psf_moffat_alpha(double fwhm, double beta)
{
    return fwhm / (2.0 * sqrt(pow(2.0, 1.0 / beta) - 1.0));
}

/* Fill out (size²) with f(r²) at pixel centres and normalise to sum 1. */
static void stamp_fill(double *out, int size, double scale2, double beta,
                       int gaussian)
{
    int i, j, c = (size - 1) / 2;
    double sum = 0.0;
    size_t n = (size_t)size * size, q;

    for (j = 0; j < size; j++)
        for (i = 0; i < size; i++) {
            double r2 = (double)(i - c) * (i - c) + (double)(j - c) * (j - c);
            double v = gaussian ? exp(-0.5 * r2 / scale2)
                                : pow(1.0 + r2 / scale2, -beta);
            out[(size_t)j * size + i] = v;
            sum += v;
        }
    for (q = 0; q < n; q++)
        out[q] /= sum;
}

int pp_psf_moffat_stamp(double fwhm, double beta, double radius_pix,
                        double *out, int *size, pp_error *err)
{
    double alpha;
    int status;

    if (!(fwhm > 0.0) || !isfinite(fwhm))
        return pp_error_set(err, PP_ECONFIG, "Moffat FWHM %g px, expected "
                            "a finite value > 0", fwhm);
    if (!(beta > 0.0) || !isfinite(beta))
        return pp_error_set(err, PP_ECONFIG, "Moffat beta %g, expected a "
                            "finite value > 0", beta);
    if ((status = pp_psf_stamp_size(radius_pix, size, err)) != PP_OK)
        return status;
    alpha = pp_psf_moffat_alpha(fwhm, beta);
    if (out)
        stamp_fill(out, *size, alpha * alpha, beta, 0);
    return PP_OK;
}

int pp_psf_gaussian_stamp(double fwhm, double radius_pix, double *out,
                          int *size, pp_error *err)
{
    double sigma = fwhm / PP_PSF_FWHM_PER_SIGMA;
    int status;

    if (!(fwhm > 0.0) || !isfinite(fwhm))
        return pp_error_set(err, PP_ECONFIG, "Gaussian FWHM %g px, expected "
                            "a finite value > 0", fwhm);
    if ((status = pp_psf_stamp_size(radius_pix, size, err)) != PP_OK)
        return status;
    if (out)
        stamp_fill(out, *size, sigma * sigma, 0.0, 1);
    return PP_OK;
}

int pp_psf_ncircular(double fwhm, int n, pp_psf_mog *out, pp_error *err)
{
    /* SPEC §10.3: widths in units of σ and weights, per n. */
    static const double scale[3][3] = { { 1, 0, 0 }, { 1, 2.5, 0 },
                                        { 1, 2, 4 } };
    static const double weight[3][3] = { { 1, 0, 0 }, { 0.85, 0.15, 0 },
                                         { 0.8, 0.15, 0.05 } };
    double sigma = fwhm / PP_PSF_FWHM_PER_SIGMA;
    int k;

    memset(out, 0, sizeof *out);
    if (n < 1 || n > 3)
        return pp_error_set(err, PP_ECONFIG, "ncircular_gaussian n = %d, "
                            "expected 1, 2 or 3", n);
    if (!(fwhm > 0.0) || !isfinite(fwhm))
        return pp_error_set(err, PP_ECONFIG, "ncircular_gaussian FWHM %g px,"
                            " expected a finite value > 0", fwhm);
    out->k = n;
    for (k = 0; k < n; k++) {
        double s = scale[n - 1][k] * sigma;
        out->w[k] = weight[n - 1][k];
        out->vxx[k] = out->vyy[k] = s * s;
    }
    return PP_OK;
}

double pp_psf_fwhm_pix(double fwhm_from_frames, double fallback)
{
    double f = isfinite(fwhm_from_frames) && fwhm_from_frames > 0.0
               ? fwhm_from_frames : fallback;

    if (!isfinite(f) || !(f >= PP_PSF_FWHM_MIN_PIX))
        return PP_PSF_FWHM_MIN_PIX;
    return f;
}
