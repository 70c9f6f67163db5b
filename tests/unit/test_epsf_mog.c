/* test_epsf_mog.c - the Gaussian mixtures pp-epsf stores per cell (SPEC
 * §8.2 step 7): EM on a Moffat ePSF-sized stamp, evaluated at the pixel
 * centres, against the stamp. */
#include <math.h>
#include <stdio.h>

#include "pp_error.h"
#include "pp_psf.h"
#include "tap.h"

#define S 55                    /* epsf.final_psf_size default */
#define FWHM 4.0
#define BETA 3.5

static double stamp[S * S];

/* Moffat (1 + r²/α²)^−β, α = FWHM / (2 sqrt(2^(1/β) − 1)), sum 1:
 * written out here, not taken from pp_psf. */
static void make_moffat(void)
{
    double a = FWHM / (2 * sqrt(pow(2.0, 1.0 / BETA) - 1)), s = 0;
    int c = S / 2;

    for (int j = 0; j < S; j++)
        for (int i = 0; i < S; i++) {
            double r2 = (i - c) * (i - c) + (j - c) * (j - c);
            stamp[j * S + i] = pow(1 + r2 / (a * a), -BETA);
            s += stamp[j * S + i];
        }
    for (int k = 0; k < S * S; k++)
        stamp[k] /= s;
}

/* Σ_k w_k N(x; μ_k, V_k). */
static double mog_at(const pp_psf_mog *m, double x, double y)
{
    double v = 0;

    for (int k = 0; k < m->k; k++) {
        double dx = x - m->mx[k], dy = y - m->my[k];
        double det = m->vxx[k] * m->vyy[k] - m->vxy[k] * m->vxy[k];
        double q = (m->vyy[k] * dx * dx - 2 * m->vxy[k] * dx * dy +
                    m->vxx[k] * dy * dy) / det;
        v += m->w[k] * exp(-0.5 * q) / (2 * M_PI * sqrt(det));
    }
    return v;
}

static void run(int K, double tol, const char *title)
{
    pp_psf_mog m;
    pp_error err = PP_ERROR_INIT;
    double peak = stamp[(S / 2) * S + S / 2], worst = 0;
    int iters = 0, c = S / 2;

    check_int(pp_psf_fit_mog(stamp, S, S, K, &m, &iters, &err), ==, PP_OK,
              "EM fit runs");
    for (int j = 0; j < S; j++)
        for (int i = 0; i < S; i++)
            worst = fmax(worst, fabs(mog_at(&m, i - c, j - c) -
                                     stamp[j * S + i]));
    printf("# K=%d: max |mixture - stamp| / peak = %.4g (%d iterations)\n",
           K, worst / peak, iters);
    check(worst <= tol * peak, title);
}

int main(void)
{
    make_moffat();
    run(9, 0.01, "9-component mixture reproduces the Moffat stamp to 1% "
        "of the peak");
    run(4, 0.05, "4-component mixture reproduces it to 5% of the peak");
    return tap_done();
}
