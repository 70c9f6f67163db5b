/* test_fit_profile.c - pp-fit Gaussian-mixture profiles and soft ellipse
 * against reference/mog_profiles.md and hand-worked shapes (SPEC §10.2).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pp_error.h"
#include "tap.h"

#include "profile.h"

/* Reference tolerances (reference/mog_profiles.md; the brief). */
#define REL_SAMPLE 1e-7
#define REL_DERIV 1e-5

typedef struct {
    double n;
    int k;
    double amp[FIT_MOG_MAX];
    double var[FIT_MOG_MAX];
} sersic_sample;

/* The "Sample outputs" of reference/mog_profiles.md, knots then
 * off-knot ones (normalised, sorted by variance). */
static const sersic_sample samples[] = {
    { 0.3, 3,
      { 1.15780801, -3.78745666, 3.62964865 },
      { 0.227158, 0.29584, 0.410641 },
    },
    { 0.45, 2,
      { -0.219656988, 1.21965699 },
      { 0.367586, 0.637897 },
    },
    { 0.55, 3,
      { 0.00550862756, 0.17873884, 0.815752532 },
      { 0.0912697, 0.427311, 0.822863 },
    },
    { 0.6, 4,
      { 0.00125791074, 0.026419313, 0.312330464, 0.659992312 },
      { 0.0277202, 0.152123, 0.480793, 0.942439 },
    },
    { 0.65, 5,
      { 0.000230110782, 0.00412562708, 0.0460469761, 0.356196935,
        0.593400351 },
      { 0.00760083, 0.0454849, 0.171136, 0.493446, 1.04345 },
    },
    { 1, 6,
      { 0.000199804993, 0.00261784472, 0.0189712348, 0.100185774,
        0.368553145, 0.509472197 },
      { 0.00120215, 0.00885129, 0.039152, 0.139974, 0.460978, 1.50163
        },
    },
    { 1.25, 7,
      { 7e-05, 0.000512718936, 0.00581578446, 0.0352670424,
        0.141791866, 0.374791838, 0.44175075 },
      { 0, 0.00102861279, 0.0081544808, 0.039108228, 0.149565579,
        0.522557651, 1.92341635 },
    },
    { 2, 8,
      { 0.000769, 0.000724570327, 0.00572944809, 0.0258099302,
        0.083447314, 0.199607803, 0.340538788, 0.343373147 },
      { 0, 0.000330023, 0.00228187, 0.0114482, 0.0485424, 0.188988,
        0.732207, 3.37063 },
    },
    { 3.3, 9,
      { 0.00541260793, 0.000976035729, 0.00689360762, 0.0235117828,
        0.0599060441, 0.124829792, 0.213015356, 0.286561786,
        0.278892988 },
      { 0, 0.000178873, 0.000851159, 0.00377045, 0.0156834, 0.0632557,
        0.257658, 1.13024, 6.50002 },
    },
    { 4, 9,
      { 0.010233, 0.00199822334, 0.0112546608, 0.0321482147,
        0.0712103575, 0.132921409, 0.209205435, 0.268198315,
        0.262830385 },
      { 0, 0.000223784, 0.00100242, 0.00418865, 0.0169499, 0.0685146,
        0.287321, 1.33355, 8.40275 },
    },
    { 5.5, 9,
      { 0.020628, 0.00291352415, 0.0152550061, 0.0384282549,
        0.0754443753, 0.128581222, 0.192678954, 0.249055669,
        0.277014995 },
      { 0, 0.000178303, 0.000741307, 0.0030045, 0.0122278, 0.0513001,
        0.230188, 1.18229, 8.71157 },
    },
    { 6.3, 9,
      { 0.0272249111, 0.00333786868, 0.0170853183, 0.041157388,
        0.0772028496, 0.12696877, 0.18642502, 0.241100304, 0.27949757
        },
      { 0, 0.000164538, 0.000664904, 0.00265766, 0.0108084, 0.0458606,
        0.210661, 1.12301, 8.77363 },
    },
    { 0.355, 3,
      { 0.50811376, -2.023044, 2.51493024 },
      { 0.25087828, 0.32930444, 0.474013082 },
    },
    { 0.475, 2,
      { -0.0753935751, 1.07539358 },
      { 0.338526534, 0.683722669 },
    },
    { 0.545, 3,
      { 0.00499453558, 0.168926519, 0.826078946 },
      { 0.0925292614, 0.430302306, 0.814003611 },
    },
    { 0.59, 4,
      { 0.000703923081, 0.0197280381, 0.286101265, 0.693466774 },
      { 0.0230132772, 0.134662948, 0.46445988, 0.91537915 },
    },
    { 0.675, 5,
      { 0.000320701585, 0.00514624328, 0.0525373445, 0.365872961,
        0.576122749 },
      { 0.00798064394, 0.0461029194, 0.169410888, 0.49215255,
        1.08782237 },
    },
    { 0.875, 6,
      { 0.000126312818, 0.0017603401, 0.0140986249, 0.0873024192,
        0.376463739, 0.520248564 },
      { 0.00153354604, 0.0104649981, 0.0439180277, 0.151347717,
        0.474168884, 1.37181035 },
    },
    { 2.2, 8,
      { 0.00115029893, 0.000902103115, 0.00675393607, 0.0287168595,
        0.0885430141, 0.203734266, 0.335628415, 0.334571107 },
      { 0, 0.000282087852, 0.00197871991, 0.0102568827, 0.0453063464,
        0.185320389, 0.760090623, 3.74030819 },
    },
    { 4.25, 9,
      { 0.011748, 0.00217760135, 0.0120440304, 0.0334752618,
        0.0722911778, 0.132398139, 0.206159756, 0.264417679,
        0.265288354 },
      { 0, 0.000214974924, 0.000951217537, 0.00395265339,
        0.0160219955, 0.0653040504, 0.277892044, 1.31777211,
        8.57690797 },
    },
};

/* Largest relative error of got against want over amplitudes and
 * variances (a zero reference must be matched exactly). */
static double mog_rel_err(const fit_mog *g, const double *amp,
                          const double *var, int k)
{
    double worst = 0.0;
    int i;

    for (i = 0; i < k; ++i) {
        double ea = fabs(g->amp[i] - amp[i]), ev = fabs(g->var[i] - var[i]);
        ea = amp[i] != 0.0 ? ea / fabs(amp[i]) : (ea > 0.0 ? 1.0 : 0.0);
        ev = var[i] != 0.0 ? ev / fabs(var[i]) : (ev > 0.0 ? 1.0 : 0.0);
        worst = fmax(worst, fmax(ea, ev));
    }
    return worst;
}

static void test_sersic_samples(void)
{
    size_t s, ns = sizeof samples / sizeof samples[0];
    double worst = 0.0;
    char title[160];

    for (s = 0; s < ns; ++s) {
        fit_mog g;
        pp_error err = PP_ERROR_INIT;
        double e;
        int rc = fit_profile_mog(FIT_PROFILE_SERSIC, samples[s].n, &g, &err);

        e = mog_rel_err(&g, samples[s].amp, samples[s].var, samples[s].k);
        worst = fmax(worst, e);
        snprintf(title, sizeof title, "sersic: n=%g gives the reference "
                 "%d-component mixture within 1e-7", samples[s].n,
                 samples[s].k);
        check(rc == PP_OK && g.k == samples[s].k && e <= REL_SAMPLE, title);
        if (g.k != samples[s].k || e > REL_SAMPLE)
            printf("#   k = %d, max relative error %.3g\n", g.k, e);
    }
    printf("# sersic samples: max relative error %.3g\n", worst);
}

static void test_fixed_profiles(void)
{
    /* Normalised exp amplitudes and the final dev table, as printed in
     * reference/mog_profiles.md. */
    static const double exp_amp[6] = {
        1.9948597671798522e-04, 2.6161267931217196e-03,
        1.8972665516669755e-02, 1.0018654376916275e-01,
        3.6853448400705735e-01, 5.0949069393727053e-01
    };
    static const double exp_var[6] = {
        1.20078965e-03, 8.84526493e-03, 3.91463084e-02,
        1.39976817e-01, 4.60962500e-01, 1.50159566e+00
    };
    static const double dev_amp[9] = {
        0.010233, 0.00199772284679939, 0.01125155861340777,
        0.03213934311148659, 0.0711927728353375, 0.1328982628748762,
        0.20919977462456607, 0.2682266735062975, 0.262860891587229
    };
    static const double dev_var[9] = {
        0, 2.23759216e-04, 1.00220099e-03, 4.18731126e-03, 1.69432589e-02,
        6.84850479e-02, 2.87207080e-01, 1.33320254e+00, 8.40215071e+00
    };
    fit_mog g;
    pp_error err = PP_ERROR_INIT;
    double e;

    fit_profile_mog(FIT_PROFILE_EXP, 0.0, &g, &err);
    e = mog_rel_err(&g, exp_amp, exp_var, 6);
    check(g.k == 6 && e <= 1e-12 && g.nre == 4.0,
          "exp: 6 normalised components and nre 4 match the reference");
    printf("# exp: max relative error %.3g\n", e);

    fit_profile_mog(FIT_PROFILE_DEV, 0.0, &g, &err);
    e = mog_rel_err(&g, dev_amp, dev_var, 9);
    check(g.k == 9 && e <= 1e-12 && g.nre == 8.0,
          "dev: 8 components rescaled to 1 - core match the reference");
    printf("# dev: max relative error %.3g\n", e);
    check(g.var[0] == 0.0 && g.amp[0] == 0.010233,
          "dev: the core (amp 0.010233, var 0) is prepended");

    fit_profile_mog(FIT_PROFILE_GAUSS, 0.0, &g, &err);
    check(g.k == 1 && g.amp[0] == 1.0 && g.var[0] == 1.0 && g.nre == 6.0,
          "gauss: one component, amp 1, var 1, nre 6");

    fit_profile_mog(FIT_PROFILE_POINT, 0.0, &g, &err);
    check(g.k == 1 && g.amp[0] == 1.0 && g.var[0] == 0.0,
          "point: a single delta of amplitude 1");
}

/* Σ amp = 1, Σ ∂amp/∂n = 0, variances ascending and >= 0, for every
 * n on a 0.005 grid over [0.29, 6.3] and every fixed profile. */
static void test_sums_and_order(void)
{
    double worst_sum = 0.0, worst_dsum = 0.0;
    int kind, i, ordered = 1, ok = 1, core_ok = 1;
    fit_mog g;
    pp_error err = PP_ERROR_INIT;

    for (i = 0; i <= 1202; ++i) {
        double n = fmin(0.29 + 0.005 * i, 6.3), s = 0.0, ds = 0.0;
        int c;
        ok &= fit_profile_mog(FIT_PROFILE_SERSIC, n, &g, &err) == PP_OK;
        for (c = 0; c < g.k; ++c) {
            s += g.amp[c];
            ds += g.damp_dn[c];
            if (g.var[c] < 0.0 || (c > 0 && g.var[c] < g.var[c - 1]))
                ordered = 0;
        }
        /* A core exactly when n > 1 (reference step 4). */
        if ((n > 1.0) != (g.var[0] == 0.0))
            core_ok = 0;
        worst_sum = fmax(worst_sum, fabs(s - 1.0));
        worst_dsum = fmax(worst_dsum, fabs(ds));
    }
    for (kind = FIT_PROFILE_POINT; kind <= FIT_PROFILE_GAUSS; ++kind) {
        double s = 0.0;
        fit_profile_mog(kind, 0.0, &g, &err);
        for (i = 0; i < g.k; ++i)
            s += g.amp[i];
        worst_sum = fmax(worst_sum, fabs(s - 1.0));
    }
    check(ok, "sersic: every n in [0.29, 6.3] is accepted");
    check(worst_sum <= 1e-13, "profiles: amplitudes sum to 1");
    check(worst_dsum <= 1e-11,
          "sersic: derivatives of the amplitudes sum to 0");
    check(ordered, "sersic: variances are >= 0 and ascending");
    check(core_ok, "sersic: a zero-variance core exactly when n > 1");
}

/* ∂amp/∂n and ∂var/∂n against central differences, at knots and between
 * them, in every range and never straddling a range boundary. */
static void test_sersic_derivs(void)
{
    static const double ns[] = {
        0.3, 0.355, 0.4, 0.45, 0.475, 0.53, 0.545, 0.59, 0.6, 0.65, 0.675,
        0.8, 0.875, 1.05, 1.25, 1.7, 2.2, 3.3, 4.0, 4.25, 5.5, 6.2
    };
    const double h = 1e-6;
    double worst = 0.0;
    size_t s;
    int shape_ok = 1;

    for (s = 0; s < sizeof ns / sizeof ns[0]; ++s) {
        fit_mog g, gp, gm;
        pp_error err = PP_ERROR_INIT;
        double scale_a = 0.0, scale_v = 0.0;
        int i;

        fit_profile_mog(FIT_PROFILE_SERSIC, ns[s], &g, &err);
        fit_profile_mog(FIT_PROFILE_SERSIC, ns[s] + h, &gp, &err);
        fit_profile_mog(FIT_PROFILE_SERSIC, ns[s] - h, &gm, &err);
        if (gp.k != g.k || gm.k != g.k) {
            shape_ok = 0;
            printf("#   n = %g: k changes within +-h\n", ns[s]);
            continue;
        }
        /* Relative to the largest derivative of the mixture, so that a
         * component whose derivative vanishes is not judged alone. */
        for (i = 0; i < g.k; ++i) {
            scale_a = fmax(scale_a, fabs(g.damp_dn[i]));
            scale_v = fmax(scale_v, fabs(g.dvar_dn[i]) / g.var[g.k - 1]);
        }
        for (i = 0; i < g.k; ++i) {
            double fa = (gp.amp[i] - gm.amp[i]) / (2.0 * h);
            double fv = (gp.var[i] - gm.var[i]) / (2.0 * h);
            double ea = fabs(fa - g.damp_dn[i]) /
                        fmax(fabs(g.damp_dn[i]), scale_a * 1e-3);
            double ev = fabs(fv - g.dvar_dn[i]) /
                        fmax(fabs(g.dvar_dn[i]),
                             scale_v * g.var[i] * 1e-3 + 1e-300);
            worst = fmax(worst, fmax(ea, ev));
        }
    }
    check(shape_ok, "sersic: component count is constant within a range");
    check(worst <= REL_DERIV,
          "sersic: d amp/dn and d var/dn match central differences");
    printf("# sersic derivatives: max relative error %.3g\n", worst);
}

static void test_sersic_errors(void)
{
    static const double bad[] = { 0.28, 6.31, -1.0, NAN, INFINITY };
    fit_mog g;
    pp_error err = PP_ERROR_INIT;
    size_t i;
    int ok = 1;

    for (i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        pp_error_clear(&err);
        g.k = 5;
        ok &= fit_profile_mog(FIT_PROFILE_SERSIC, bad[i], &g, &err) ==
              PP_EDATA && g.k == 0 && err.code == PP_EDATA &&
              strstr(err.msg, "sersic index") && strstr(err.msg, "0.29") &&
              strstr(err.msg, "6.3");
    }
    check(ok, "sersic: n outside [0.29, 6.3] or not finite is PP_EDATA");
    printf("# %s\n", err.msg);
    check(fit_profile_mog(FIT_PROFILE_SERSIC, 0.29, &g, &err) == PP_OK &&
          g.k == 3 &&
          fit_profile_mog(FIT_PROFILE_SERSIC, 6.3, &g, &err) == PP_OK &&
          g.k == 9, "sersic: both ends 0.29 and 6.3 are legal");
    pp_error_clear(&err);
    check(fit_profile_mog(42, 1.0, &g, &err) == PP_EDATA &&
          strstr(err.msg, "unknown profile kind 42"),
          "profile: an unknown kind is PP_EDATA naming it");
    check(fit_profile_mog(FIT_PROFILE_SERSIC, 1.0, &g, &err) == PP_OK &&
          g.k == 6, "sersic: n = 1 has no core (it needs n > 1)");
}

/* ---- Soft ellipse ---- */

static void test_ellipse_round(void)
{
    double S[2][2], dS[3][2][2], ab, th, v = 0.3;

    /* re = 2.5, ee = 0: V = v·re²·I = 0.3·6.25·I. */
    fit_ellipse_cov(log(2.5), 0.0, 0.0, S, dS);
    check_near(v * S[0][0], 1.875, 1e-13, "ellipse: round V11 = v re^2");
    check_near(v * S[1][1], 1.875, 1e-13, "ellipse: round V22 = v re^2");
    check_near(S[0][1], 0.0, 1e-15, "ellipse: round V12 = 0");
    fit_ellipse_ab_theta(0.0, 0.0, &ab, &th);
    check(ab == 1.0 && th == 0.0, "ellipse: round source has ab 1, theta 0");
}

/* Eigenvalues (l1 >= l2) and major-axis angle (degrees) of a 2x2. */
static void eig2(double S[2][2], double *l1, double *l2, double *deg)
{
    double m = 0.5 * (S[0][0] + S[1][1]);
    double d = hypot(0.5 * (S[0][0] - S[1][1]), S[0][1]);

    *l1 = m + d;
    *l2 = m - d;
    *deg = 0.5 * atan2(2.0 * S[0][1], S[0][0] - S[1][1]) * 180.0 / M_PI;
}

static void test_ellipse_elongated(void)
{
    /* Catalogue ELL = 0.5, THETA = 30 (SPEC §10.2): ab = 0.5, phi = -60,
     * e = 1/3, |ee| = ln 1.5, ee = |ee|·(cos 120°, sin 120°); re = 2.
     * By hand, S = re²·R(30°)·diag(1, ab²)·R(30°)ᵀ:
     * S11 = 4·(3/4 + 1/16) = 3.25, S22 = 4·(1/4 + 3/16) = 1.75,
     * S12 = 4·(1 − 1/4)·(√3/2)(1/2) = 1.299038105676658. */
    double E = log(1.5), ee1 = E * cos(2.0 * M_PI / 3.0);
    double ee2 = E * sin(2.0 * M_PI / 3.0);
    double S[2][2], l1, l2, deg, ab, th;

    fit_ellipse_cov(log(2.0), ee1, ee2, S, NULL);
    check_near(S[0][0], 3.25, 1e-12, "ellipse: THETA 30 ab 0.5 gives S11");
    check_near(S[1][1], 1.75, 1e-12, "ellipse: THETA 30 ab 0.5 gives S22");
    check_near(S[0][1], 1.299038105676658, 1e-12,
               "ellipse: THETA 30 ab 0.5 gives S12");
    check(S[0][1] == S[1][0], "ellipse: covariance is symmetric");
    eig2(S, &l1, &l2, &deg);
    check_near(l1, 4.0, 1e-12, "ellipse: major eigenvalue is re^2");
    check_near(l2, 1.0, 1e-12, "ellipse: minor eigenvalue is re^2 ab^2");
    check_near(deg, 30.0, 1e-10,
               "ellipse: major axis at 30 deg from +x (catalogue THETA)");
    fit_ellipse_ab_theta(ee1, ee2, &ab, &th);
    check_near(ab, 0.5, 1e-14, "ellipse: ab = (1-e)/(1+e) = 0.5");
    check_near(th * 180.0 / M_PI, 60.0, 1e-12,
               "ellipse: theta = atan2(ee2, ee1)/2 = 60 deg");

    /* |ee| = 20: ab floored at 0.001, minor eigenvalue re²·1e-6. */
    fit_ellipse_cov(0.0, 0.0, 20.0, S, NULL);
    eig2(S, &l1, &l2, &deg);
    check_near(l1, 1.0, 1e-12, "ellipse: floored ab keeps major re^2");
    check_near(l2, 1e-6, 1e-15, "ellipse: ab is floored at 0.001");
    check_near(deg, 45.0, 1e-10,
               "ellipse: ee = (0, +) has its major axis at 45 deg");
}

/* dS/d(logre, ee1, ee2) against central differences. */
static void test_ellipse_derivs(void)
{
    static const double pts[][3] = {
        { 0.7, 0.3, -0.4 }, { -0.2, -1.1, 0.6 }, { 1.5, 2e-4, -1e-4 },
        { 0.0, 0.0, 0.0 }, { 0.3, 3e-3, 0.0 }, { 0.1, -5.0, 4.0 },
        { 0.2, 1e-3, 1e-3 }
    };
    const double h = 1e-7;
    double worst = 0.0;
    size_t i;

    for (i = 0; i < sizeof pts / sizeof pts[0]; ++i) {
        double S[2][2], dS[3][2][2], Sp[2][2], Sm[2][2], scale;
        int p, a, b;

        fit_ellipse_cov(pts[i][0], pts[i][1], pts[i][2], S, dS);
        scale = exp(2.0 * pts[i][0]);
        for (p = 0; p < 3; ++p) {
            double xp[3], xm[3];
            memcpy(xp, pts[i], sizeof xp);
            memcpy(xm, pts[i], sizeof xm);
            xp[p] += h;
            xm[p] -= h;
            fit_ellipse_cov(xp[0], xp[1], xp[2], Sp, NULL);
            fit_ellipse_cov(xm[0], xm[1], xm[2], Sm, NULL);
            for (a = 0; a < 2; ++a)
                for (b = 0; b < 2; ++b) {
                    double fd = (Sp[a][b] - Sm[a][b]) / (2.0 * h);
                    worst = fmax(worst, fabs(fd - dS[p][a][b]) / scale);
                }
        }
    }
    check(worst <= 1e-6,
          "ellipse: dS/d(logre, ee1, ee2) match central differences");
    printf("# ellipse derivatives: max error / re^2 %.3g\n", worst);
}

int main(void)
{
    test_sersic_samples();
    test_fixed_profiles();
    test_sums_and_order();
    test_sersic_derivs();
    test_sersic_errors();
    test_ellipse_round();
    test_ellipse_elongated();
    test_ellipse_derivs();
    return tap_done();
}
