/* shift.h - sub-pixel interpolation of a sampled stamp (SPEC §8.2 step 5,
 * §10.3 patch_run.subpixel_shift).
 *
 * A stamp g of n × n samples (row-major, g[j·n + i] at grid point (i, j),
 * n odd) is read as a continuous function g(x, y) and evaluated at a
 * separable set of points: out[jy·nx + ix] = g(xs[ix], ys[jy]), x and y in
 * grid-index units (0 = first column).  Moving a stamp by (dx, dy) is the
 * evaluation at xs[i] = i − dx, ys[j] = j − dy.
 *
 * Two interpolants, the two settings of patch_run.subpixel_shift:
 *  - EPSF_SHIFT_FOURIER: the Fourier phase ramp of the stamp zero-padded
 *    by its half-width on each side, to an odd period
 *    N = n + 2·((n−1)/2) (+1 if even).  For an odd period the ramp is
 *    exactly the periodic sinc (Dirichlet) kernel
 *        D_N(t) = sin(πt) / (N sin(πt/N)),   g(x) = Σ_i g_i D_N(x − i),
 *    so it is evaluated directly, separably, at any point (no FFT size
 *    rounding, no Nyquist-bin ambiguity).  Exact for a band-limited stamp.
 *    epsf_shift_fourier_fft() does the same shift through FFTW and serves
 *    the tests as the independent form of the phase ramp.
 *  - EPSF_SHIFT_LANCZOS3: the separable Lanczos-3 kernel
 *    L(t) = sinc(t)·sinc(t/3) (|t| < 3), its weights normalised to sum 1
 *    at each point (flux preserving; the reference's filter).
 * Derivatives d/dx and d/dy of the interpolant (exact, from the kernel's
 * derivative) come out with the values when asked for.
 * Points outside the stamp see zeros beyond its edges.  Pure functions:
 * safe from any number of threads.
 */
#ifndef EPSF_SHIFT_H
#define EPSF_SHIFT_H

#include "pp_error.h"

enum { EPSF_SHIFT_FOURIER = 0, EPSF_SHIFT_LANCZOS3 = 1 };

/* "fourier" or "lanczos3" (patch_run.subpixel_shift) to a kind.
 * PP_ECONFIG naming the key otherwise. */
int epsf_shift_kind(const char *name, int *kind, pp_error *err);

/* Evaluate the n × n stamp g (n >= 1) at the nx × ny points (xs[ix],
 * ys[jy]).  OUTPUT out (ny·nx values), ddx and ddy (the same shape, may be
 * NULL): the interpolant's derivatives along x and y at the points. */
void epsf_shift_eval(const double *g, int n, int kind, const double *xs,
                     int nx, const double *ys, int ny, double *out,
                     double *ddx, double *ddy);

/* Move the n × n stamp in by (dx, dy) pixels into out (n × n): out(i, j) =
 * in(i − dx, j − dy) by the given interpolant.  in and out must differ. */
void epsf_shift_stamp(const double *in, int n, int kind, double dx,
                      double dy, double *out);

/* The Fourier shift as a phase ramp through FFTW (zero-padded to the
 * period N above, forward DFT, multiply by exp(−2πi(k·dx + l·dy)/N),
 * inverse, crop).  PP_ENOMEM when FFTW cannot allocate.  Slower than
 * epsf_shift_stamp(); used to check it. */
int epsf_shift_fourier_fft(const double *in, int n, double dx, double dy,
                           double *out, pp_error *err);

#endif /* EPSF_SHIFT_H */
