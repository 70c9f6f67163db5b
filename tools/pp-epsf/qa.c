/* qa.c - ePSF quality numbers (SPEC §8.2 step 8); see qa.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sep.h>

#include "pp_mem.h"

#include "qa.h"
#include "stats.h"

/* Step along a ray when looking for the half maximum, px. */
#define RAY_STEP 0.01

static double circle_sum(const double *stamp, int n, double r)
{
    sep_image s;
    double sum = 0, err, area;
    short flag;

    memset(&s, 0, sizeof s);
    s.data = stamp;
    s.dtype = SEP_TDOUBLE;
    s.w = s.h = n;
    s.noise_type = SEP_NOISE_NONE;
    if (sep_sum_circle(&s, (n - 1) / 2.0, (n - 1) / 2.0, r, 0, 0, 0, &sum,
                       &err, &area, &flag) != 0)
        return NAN;
    return sum;
}

static double stamp_sum(const double *stamp, int n)
{
    double s = 0;

    for (long k = 0; k < (long)n * n; k++)
        s += stamp[k];
    return s;
}

double epsf_qa_ee_at(const double *stamp, int S, double r)
{
    return circle_sum(stamp, S, r) / stamp_sum(stamp, S);
}

static double bilinear(const double *a, int n, double x, double y)
{
    int i = (int)floor(x), j = (int)floor(y);
    double fx = x - i, fy = y - j;

    if (i < 0 || j < 0 || i + 1 >= n || j + 1 >= n)
        return 0.0;
    return (1 - fy) * ((1 - fx) * a[j * n + i] + fx * a[j * n + i + 1]) +
           fy * ((1 - fx) * a[(j + 1) * n + i] + fx * a[(j + 1) * n + i + 1]);
}

double epsf_qa_fwhm(const double *stamp, int n)
{
    double c = (n - 1) / 2.0, mx = -INFINITY, half, sum = 0;
    int nray = 0;

    for (long k = 0; k < (long)n * n; k++)
        mx = fmax(mx, stamp[k]);
    half = 0.5 * mx;
    if (!(mx > 0) || stamp[(long)c * n + (long)c] < half)
        return NAN;
    for (int a = 0; a < EPSF_QA_NRAYS; a++) {
        double th = 2 * M_PI * a / EPSF_QA_NRAYS, prev = mx, r;
        for (r = RAY_STEP; r < c; r += RAY_STEP) {
            double v = bilinear(stamp, n, c + r * cos(th), c + r * sin(th));
            if (v < half) {
                sum += r - RAY_STEP * (half - v) / (prev - v);
                nray++;
                break;
            }
            prev = v;
        }
    }
    return nray == EPSF_QA_NRAYS ? 2.0 * sum / nray : NAN;
}

/* Radius where the curve reaches level, interpolated. */
static double ee_radius(const epsf_qa *q, double level)
{
    if (q->nr == 0)
        return NAN;
    if (q->ee[0] >= level)
        return q->radius[0];
    for (int i = 1; i < q->nr; i++)
        if (q->ee[i] >= level)
            return q->radius[i - 1] + (q->radius[i] - q->radius[i - 1]) *
                   (level - q->ee[i - 1]) / (q->ee[i] - q->ee[i - 1]);
    return NAN;
}

void epsf_qa_compute(const double *stamp, int n, epsf_qa *q)
{
    double tot = stamp_sum(stamp, n), *edge;
    int ne = 0;

    memset(q, 0, sizeof *q);
    q->nr = (int)floor((n / 2.0) / EPSF_QA_STEP + 1e-9);
    q->radius = pp_xmalloc(sizeof(double) * (size_t)(q->nr + 1));
    q->ee = pp_xmalloc(sizeof(double) * (size_t)(q->nr + 1));
    for (int i = 0; i < q->nr; i++) {
        q->radius[i] = EPSF_QA_STEP * (i + 1);
        q->ee[i] = circle_sum(stamp, n, q->radius[i]) / tot;
    }
    q->ee_r50 = ee_radius(q, 0.5);
    q->ee_r80 = ee_radius(q, 0.8);
    q->ee_r90 = ee_radius(q, 0.9);
    q->fwhm = epsf_qa_fwhm(stamp, n);
    q->sum = tot;
    q->vmin = INFINITY;
    q->vmax = -INFINITY;
    edge = pp_xmalloc(sizeof(double) * 4 * (size_t)n);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++) {
            double v = stamp[j * n + i];
            q->vmin = fmin(q->vmin, v);
            q->vmax = fmax(q->vmax, v);
            if (i == 0 || j == 0 || i == n - 1 || j == n - 1)
                edge[ne++] = v;
        }
    q->edge_mean = 0;
    for (int i = 0; i < ne; i++)
        q->edge_mean += edge[i] / ne;
    q->edge_median = epsf_median(edge, ne);
    q->ee_edge = NAN;
    free(edge);
}

void epsf_qa_release(epsf_qa *q)
{
    free(q->radius);
    free(q->ee);
    memset(q, 0, sizeof *q);
}
