/* stats.c - robust statistics (see stats.h). */
#include <math.h>

#include "stats.h"

static void swap(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

/* The k-th smallest of v[0..n-1] (Hoare's quickselect, reorders v). */
static double select_k(double *v, long n, long k)
{
    long lo = 0, hi = n - 1;

    while (lo < hi) {
        double pivot = v[(lo + hi) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j)
                swap(&v[i++], &v[j--]);
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            break;
    }
    return v[k];
}

double epsf_median(double *v, long n)
{
    double a, b;

    if (n <= 0)
        return NAN;
    a = select_k(v, n, n / 2);
    if (n % 2)
        return a;
    /* The lower middle is the largest of v[0..n/2-1] after selection. */
    b = v[0];
    for (long i = 1; i < n / 2; i++)
        if (v[i] > b)
            b = v[i];
    return 0.5 * (a + b);
}

double epsf_median_nan(double *v, long n)
{
    return n > 0 ? epsf_median(v, n) : NAN;
}

double epsf_mad(double *v, long n)
{
    double m = epsf_median(v, n);

    for (long i = 0; i < n; i++)
        v[i] = fabs(v[i] - m);
    return epsf_median(v, n);
}

double epsf_clipped_median(double *v, long n, double nsigma, int iters,
                           long *kept)
{
    long m = n;

    for (int it = 0; it < iters && m > 2; it++) {
        double med, mean = 0, var = 0, sd;
        long k = 0;

        for (long i = 0; i < m; i++)
            mean += v[i];
        mean /= (double)m;
        for (long i = 0; i < m; i++)
            var += (v[i] - mean) * (v[i] - mean);
        sd = sqrt(var / (double)m);
        med = epsf_median(v, m);
        for (long i = 0; i < m; i++)
            if (fabs(v[i] - med) <= nsigma * sd)
                v[k++] = v[i];
        if (k == m || k == 0)
            break;
        m = k;
    }
    if (kept)
        *kept = m;
    return epsf_median(v, m);
}
