/* smooth.h - the ePSF smoothing kernels of SPEC §8.2 step 5(d), §8.7.
 *
 * Both are 5 × 5 two-dimensional Savitzky–Golay smoothers (least-squares
 * polynomial fits over the 5 × 5 window, evaluated at its centre):
 * "quartic" (degree 4, SPEC §8.7, /4900) and "quadratic" (degree 2, /175).
 * Each sums to 1 and reproduces every polynomial of its degree exactly.
 * Convolution treats pixels beyond the stamp as 0 (the reference's
 * scipy mode "constant").
 */
#ifndef EPSF_SMOOTH_H
#define EPSF_SMOOTH_H

#include "pp_error.h"

enum { EPSF_SMOOTH_NONE = 0, EPSF_SMOOTH_QUARTIC, EPSF_SMOOTH_QUADRATIC };

#define EPSF_SMOOTH_SIZE 5

/* epsf.smoothing_kernel ("quartic", "quadratic", "none") to a kind;
 * PP_ECONFIG naming the key otherwise. */
int epsf_smooth_kind(const char *name, int *kind, pp_error *err);

/* The 25 weights of kind (rows top to bottom), 0 for "none". */
void epsf_smooth_kernel(int kind, double k[EPSF_SMOOTH_SIZE *
                                            EPSF_SMOOTH_SIZE]);

/* out = in (n × n) convolved with the kernel; in == out is allowed;
 * "none" copies. */
void epsf_smooth(const double *in, int n, int kind, double *out);

#endif /* EPSF_SMOOTH_H */
