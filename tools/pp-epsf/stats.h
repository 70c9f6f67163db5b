/* stats.h - small robust statistics on double arrays (SPEC §8.2 steps 4,
 * 5(c), 5(e)).  Every function reorders its input array in place
 * (quickselect) and ignores nothing: the caller passes finite values. */
#ifndef EPSF_STATS_H
#define EPSF_STATS_H

/* Median of v[0..n-1] (mean of the two middle values for even n); NAN
 * for n = 0.  Reorders v. */
double epsf_median(double *v, long n);

/* As epsf_median but the median of no value is NAN without touching v
 * (a convenience for optional statistics). */
double epsf_median_nan(double *v, long n);

/* Median absolute deviation about the median (not scaled); NAN for n = 0.
 * Reorders v. */
double epsf_mad(double *v, long n);

/* Sigma clipping about the median: at most iters passes, each keeping the
 * values with |v − median| <= nsigma·std (std of the values kept so far,
 * about their mean, as astropy's sigma_clip); stops early when nothing
 * changes.  The kept values end up in v[0..*kept-1].  OUTPUT the median
 * of the kept values (NAN when n = 0). */
double epsf_clipped_median(double *v, long n, double nsigma, int iters,
                           long *kept);

#endif /* EPSF_STATS_H */
