/* profile.h - pp-fit source profiles as Gaussian mixtures, and the
 * soft-ellipse shape that maps them to pixels (SPEC §10.2).
 *
 * A profile is a circular mixture of Gaussians of effective radius 1:
 * component k has amplitude amp[k], mean (0, 0) and covariance
 * var[k]·I₂, var in units of r_e².  Amplitudes of every profile sum to 1
 * (unit flux); Sérsic amplitudes may be negative for n < 0.5, only their
 * sum is fixed.  Components are always in increasing-variance order, so a
 * zero-variance component (a delta: the point source, or the "core" of
 * dev and of Sérsic n > 1) comes first.  Callers that invert a component
 * covariance before convolving with the PSF must handle var = 0 (the
 * convolved covariance is then the PSF's own).
 *
 * The tables and the Sérsic recipe are those of reference/mog_profiles.md
 * (the Tractor's mixtures, Hogg & Lang 2013): per n-range not-a-knot cubic
 * splines of amplitude and ln variance, normalisation, the core term for
 * n > 1, stable sort by variance.  The Sérsic mixture is recomputed on
 * every call (about 8 µs); there is no hidden cache, so callers that need
 * it often for one n keep the fit_mog.
 *
 * The shape is EllipseESoft(logre, ee1, ee2): a component of variance v
 * has pixel covariance v·S with S = T·Tᵀ (pixels², see
 * fit_ellipse_cov()).  Nothing here allocates, logs or does I/O.
 */
#ifndef FIT_PROFILE_H
#define FIT_PROFILE_H

#include "pp_error.h"

/* Most components of any profile: Sérsic n in [3, 6.3] has 8 + core. */
#define FIT_MOG_MAX 9

/* Profile kinds (SPEC §10.2). */
enum {
    FIT_PROFILE_POINT = 0,  /* a delta: 1 component, amp 1, var 0 */
    FIT_PROFILE_EXP,        /* 6-component exponential, nre 4 */
    FIT_PROFILE_DEV,        /* core 0.010233 + 8 components, nre 8 */
    FIT_PROFILE_GAUSS,      /* 1 component, amp 1, var 1, nre 6 */
    FIT_PROFILE_SERSIC      /* n in [0.29, 6.3], 2..9 components, nre 8 */
};

/* Sérsic index limits (SPEC §10.2; reference/mog_profiles.md). */
#define FIT_SERSIC_N_MIN 0.29
#define FIT_SERSIC_N_MAX 6.3

/* Core fraction of the de Vaucouleurs mixture (reference/mog_profiles.md).*/
#define FIT_DEV_CORE 0.010233

typedef struct {
    int    k;                       /* number of components, 1..MAX */
    double amp[FIT_MOG_MAX];        /* amplitudes, sum 1 */
    double var[FIT_MOG_MAX];        /* variances in r_e², ascending, >= 0 */
    double damp_dn[FIT_MOG_MAX];    /* d amp / d n (0 but for SERSIC) */
    double dvar_dn[FIT_MOG_MAX];    /* d var / d n (0 but for SERSIC) */
    double nre;                     /* render radius in r_e (0 for POINT) */
} fit_mog;

/* Fill OUTPUT out with the mixture of profile kind (FIT_PROFILE_*).  n is
 * the Sérsic index, read only for FIT_PROFILE_SERSIC, where it must be
 * finite and in [FIT_SERSIC_N_MIN, FIT_SERSIC_N_MAX] (both ends included).
 * For Sérsic, damp_dn and dvar_dn are the analytic derivatives of the
 * spline interpolation; the core component has dvar_dn = 0.  The profile
 * jumps at n = 0.57 (and by 3e-5 at 0.51) because the reference tables
 * differ there; derivatives are those of the range that holds n
 * (lo <= n < hi; n = 6.3 belongs to the last range).
 * Returns PP_OK, or PP_EDATA for n out of range or an unknown kind (out is
 * then zeroed, err says which value and the accepted range; err may be
 * NULL). */
int fit_profile_mog(int kind, double n, fit_mog *out, pp_error *err);

/* Shape EllipseESoft(logre, ee1, ee2) of SPEC §10.2, as the pixel
 * covariance of a component of unit variance:
 *     re = exp(logre), |ee| = hypot(ee1, ee2), e = 1 − exp(−|ee|),
 *     θ = ½·atan2(ee2, ee1), ab = max((1−e)/(1+e), 0.001),
 *     T = re·[[c·ab, s], [−s·ab, c]] (c = cos θ, s = sin θ),
 *     S = T·Tᵀ,
 * so component k of a mixture has covariance var[k]·S (pixels²).  The
 * major axis (eigenvalue re²) points at α = 90° − θ·180/π from +x (the
 * SExtractor THETA); the minor eigenvalue is re²·ab².
 * OUTPUT S[2][2]; OUTPUT dS[p] = ∂S/∂p for p = 0 logre, 1 ee1, 2 ee2
 * (dS may be NULL).  ∂S/∂logre = 2S.  Where ab is at its floor, ab does
 * not vary with |ee|.  At ee = (0, 0) S has a cone (its trace falls
 * linearly with |ee|); there the radial term is dropped, i.e. dS is the
 * average of the one-sided derivatives. */
void fit_ellipse_cov(double logre, double ee1, double ee2,
                     double S[2][2], double dS[3][2][2]);

/* The axis ratio ab and the position angle θ (radians) of SPEC §10.2 for
 * (ee1, ee2); OUTPUT ab (floored at 0.001), OUTPUT theta (0 for a round
 * source). */
void fit_ellipse_ab_theta(double ee1, double ee2, double *ab,
                          double *theta);

#endif /* FIT_PROFILE_H */
