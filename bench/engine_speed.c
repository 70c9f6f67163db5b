/* engine_speed.c - time pp-fit's engine on the SPEC §10.7 patch: a
 * 270×270 ROI, 40 bands, 15 stars and 15 exp/dev galaxies, a 55×55
 * pixelized PSF per band, at most 20 iterations, on one core.
 *
 * The data are rendered by pp-sim's renderer (exact Moffat integrated
 * over pixels, exact tapered Sérsic) plus Gaussian noise of σ = 1; the
 * engine's PSF per band is the same Moffat integrated over pixels on a
 * 55×55 stamp.  Starts are perturbed from the truth (±0.3 px, +10 %
 * flux, re ×1.2, round shapes).  Prints a small table; bench/
 * engine_speed.sh turns it into bench/reports/engine.md.
 *
 *     engine_speed [NBANDS [MAXITERS [PSF]]]   PSF: pixel (default), mog
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "pp_error.h"
#include "pp_psf.h"

#include "engine.h"
#include "pixrender.h"
#include "profile.h"
#include "render.h"

#define W 270
#define H 270
#define NSRC 30
#define STAMP 55

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

typedef struct {
    int kind;
    double x, y, re, q, theta, n;
    double *flux;           /* truth per band */
} truth;

static void on_iter(void *arg, int iter, double lnp, double dlnp,
                    double lambda)
{
    fprintf(stderr, "iter %02d lnP=%.6f dlnp=%.6g damping=%g\n", iter, lnp,
            dlnp, lambda);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int nb = argc > 1 ? atoi(argv[1]) : 40;
    int maxit = argc > 2 ? atoi(argv[2]) : 20;
    int use_mog = argc > 3 && strcmp(argv[3], "mog") == 0;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    sim_renderer *rd;
    pp_error err;
    truth tr[NSRC];
    fit_source src[NSRC];

    gsl_set_error_handler_off();
    gsl_rng_set(rng, 710);
    if (sim_renderer_new(5, &rd, &err) != PP_OK)
        return 1;
    float **data = malloc(nb * sizeof(*data)), **ivar = malloc(nb * sizeof(*ivar));
    fit_pix_ctx *ctx = calloc(nb, sizeof(*ctx));
    fit_psf *psf = calloc(nb, sizeof(*psf));
    fit_psf **psfp = malloc(nb * sizeof(*psfp));
    double *sky = calloc(nb, sizeof(double));
    double *img = malloc((size_t)W * H * sizeof(double));
    double *st = malloc(STAMP * STAMP * sizeof(double));
    sim_psf *sp = malloc(nb * sizeof(*sp));

    for (int s = 0; s < NSRC; s++) {
        truth *t = &tr[s];
        t->kind = s < 15 ? FIT_PROFILE_POINT
                  : (s % 2 ? FIT_PROFILE_EXP : FIT_PROFILE_DEV);
        t->x = 25 + gsl_rng_uniform(rng) * (W - 50);
        t->y = 25 + gsl_rng_uniform(rng) * (H - 50);
        t->re = 2 + 4 * gsl_rng_uniform(rng);
        t->q = 0.5 + 0.4 * gsl_rng_uniform(rng);
        t->theta = M_PI * gsl_rng_uniform(rng);
        t->n = t->kind == FIT_PROFILE_DEV ? 4 : 1;
        t->flux = malloc(nb * sizeof(double));
        for (int b = 0; b < nb; b++)
            t->flux[b] = 200 + 3000 * gsl_rng_uniform(rng);
    }
    double t0 = now();
    for (int b = 0; b < nb; b++) {
        sp[b] = (sim_psf){SIM_PSF_MOFFAT, 2.8 + 0.8 * b / (nb > 1 ? nb - 1 : 1),
                          3.5, 0, 0};
        sim_psf_pixel_stamp(&sp[b], STAMP, 0, 0, st);
        double sum = 0;
        for (int i = 0; i < STAMP * STAMP; i++)
            sum += st[i];
        for (int i = 0; i < STAMP * STAMP; i++)
            st[i] /= sum;
        if (fit_pix_init(&ctx[b], st, STAMP, STAMP, FIT_PIX_FOURIER,
                         FIT_PIX_FFT_MAX, &err) != PP_OK)
            return 1;
        psf[b].kind = use_mog ? FIT_PSF_MOG : FIT_PSF_PIXEL;
        psf[b].pix = &ctx[b];
        if (pp_psf_fit_mog(st, STAMP, STAMP, 4, &psf[b].mog, NULL, &err))
            return 1;
        psfp[b] = &psf[b];
        memset(img, 0, (size_t)W * H * sizeof(double));
        for (int s = 0; s < NSRC; s++) {
            truth *t = &tr[s];
            if (t->kind == FIT_PROFILE_POINT) {
                sim_render_star(&sp[b], t->flux[b], t->x, t->y, img, W, H,
                                NULL);
            } else {
                sim_sersic g = {t->n, t->re, t->q, t->theta,
                                t->n > 2 ? 7 : 3, t->n > 2 ? 8 : 4};
                if (sim_render_galaxy(rd, &g, &sp[b], t->flux[b], t->x,
                                      t->y, img, W, H, NULL, &err))
                    return fprintf(stderr, "%s\n", err.msg), 1;
            }
        }
        data[b] = malloc((size_t)W * H * sizeof(float));
        ivar[b] = malloc((size_t)W * H * sizeof(float));
        for (long i = 0; i < (long)W * H; i++) {
            data[b][i] = (float)(img[i] + gsl_ran_gaussian(rng, 1.0));
            ivar[b][i] = 1;
        }
    }
    double t_render = now() - t0;

    double **flux = malloc(NSRC * sizeof(*flux)), **ferr = malloc(NSRC * sizeof(*ferr));
    memset(src, 0, sizeof src);
    for (int s = 0; s < NSRC; s++) {
        truth *t = &tr[s];
        flux[s] = malloc(nb * sizeof(double));
        ferr[s] = malloc(nb * sizeof(double));
        for (int b = 0; b < nb; b++)
            flux[s][b] = 1.1 * t->flux[b];
        src[s].kind = t->kind;
        src[s].x0 = t->x + 0.6 * (gsl_rng_uniform(rng) - 0.5);
        src[s].y0 = t->y + 0.6 * (gsl_rng_uniform(rng) - 0.5);
        src[s].p[FIT_P_X] = src[s].x0;
        src[s].p[FIT_P_Y] = src[s].y0;
        src[s].p[FIT_P_LOGRE] = log(1.2 * t->re);
        src[s].p[FIT_P_N] = t->n;
        src[s].pos_err = NAN;
        src[s].flux = flux[s];
        src[s].fluxerr = ferr[s];
        src[s].psf = psfp;
    }
    fit_bands im = {nb, W, H, (const float *const *)data,
                    (const float *const *)ivar, sky};
    fit_opts o = {FIT_FREE_POS | FIT_FREE_SHAPE, 1, maxit, 1e-6, 3.0,
                  FIT_FLUXERR_MARGINAL, 1e-3, on_iter, NULL};
    fit_report rep;
    t0 = now();
    if (fit_run(&im, src, NSRC, &o, &rep, &err) != PP_OK)
        return fprintf(stderr, "%s\n", err.msg), 1;
    double t_fit = now() - t0;

    /* Sanity: median |F_fit/F_true − 1| of stars and galaxies; the stars'
     * truth is the flux inside the 55×55 stamp. */
    double *rs = malloc(NSRC * nb * sizeof(double)), *rg = rs + 15 * nb;
    for (int b = 0; b < nb; b++) {
        sim_psf_pixel_stamp(&sp[b], STAMP, 0, 0, st);
        double sum = 0;
        for (int i = 0; i < STAMP * STAMP; i++)
            sum += st[i];
        for (int s = 0; s < NSRC; s++) {
            double want = tr[s].flux[b] * (s < 15 ? sum : 1.0);
            (s < 15 ? rs : rg)[(s % 15) * nb + b] = fabs(flux[s][b] / want - 1);
        }
    }
    qsort(rs, 15 * nb, sizeof(double), cmp_double);
    qsort(rg, 15 * nb, sizeof(double), cmp_double);
    printf("bands %d\nsources %d\npsf %s\nmax_iters %d\nniters %d\n"
           "converged %d\nwarning %s\nrender_truth_s %.2f\nfit_s %.3f\n"
           "per_iteration_s %.3f\nmedian_abs_dev_stars %.5f\n"
           "median_abs_dev_galaxies %.5f\n", nb, NSRC,
           use_mog ? "4-Gaussian mixture" : "pixelized 55x55", maxit,
           rep.niters, rep.converged, rep.warning[0] ? rep.warning : "-",
           t_render, t_fit, t_fit / (rep.niters + 1), rs[15 * nb / 2],
           rg[15 * nb / 2]);
    for (int b = 0; b < nb; b++) {
        fit_pix_release(&ctx[b]);
        free(data[b]);
        free(ivar[b]);
    }
    return 0;
}
