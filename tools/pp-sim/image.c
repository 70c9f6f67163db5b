/* image.c - the FITS image of every band (SPEC §15): sources rendered
 * through render.c, Poisson noise of sky + source in electrons, the sky
 * level subtracted, saturation clipped, a few NaN pixels, every header
 * keyword of SPEC §5.3 and a TAN WCS.
 *
 * Bands are rendered by a pool of threads, one band per thread at a time
 * (memory: one double image per thread).  Each band's noise comes from
 * its own generator seeded from (seed, band), and sources are added in
 * one fixed order, so the bytes do not depend on the number of threads.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <fitsio.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "pp_fits.h"
#include "pp_io.h"
#include "pp_log.h"
#include "pp_mem.h"
#include "pp_progress.h"

#include "sim.h"

/* Above this many expected electrons a Poisson draw is replaced by the
 * normal law of the same mean and variance (indistinguishable there, and
 * gsl_ran_poisson returns an unsigned int). */
#define POISSON_NORMAL_MU 1e7
#define NAN_BLOCK 3                 /* side of the NaN patch per band */

typedef struct {
    sim_field *f;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int next, done, failed;
    pp_error err;
} image_pool;

/* Every source of the field into img, in source order; the rendered
 * totals are the truth fluxes (SPEC §15). */
static int render_sources(sim_field *f, int b, sim_renderer *r, double *img,
                          pp_error *err)
{
    long w = f->set.width, h = f->set.height;

    for (long i = 0; i < f->nsrc; ++i) {
        sim_source *s = &f->src[i];
        sim_psf psf = sim_field_psf(f, b, s->x, s->y);
        if (s->no_coords)
            continue;
        if (s->kind == SIM_STAR) {
            sim_render_star(&psf, s->flux_adu[b], s->x, s->y, img, w, h,
                            &s->rendered[b]);
            continue;
        }
        sim_sersic g = { s->n, s->re, s->q, s->theta,
                         s->kind == SIM_EXP ? 3.0 : 7.0,
                         s->kind == SIM_EXP ? 4.0 : 8.0 };
        if (sim_render_galaxy(r, &g, &psf, s->flux_adu[b], s->x, s->y, img,
                              w, h, &s->rendered[b], err) != PP_OK)
            return err->code;
    }
    return PP_OK;
}

/* SPEC §15: counts in electrons are Poisson of EGAIN (S + source); the
 * image is counts / EGAIN - S, clipped at SATURATE. */
static void add_noise(const sim_band *B, gsl_rng *r, double *img, long n)
{
    for (long k = 0; k < n; ++k) {
        double mu = B->egain * (B->sky + fmax(img[k], 0.0));
        double e = mu > POISSON_NORMAL_MU
                   ? mu + gsl_ran_gaussian_ziggurat(r, sqrt(mu))
                   : (double)gsl_ran_poisson(r, mu);
        img[k] = fmin(e / B->egain - B->sky, B->saturate);
    }
}

/* A small NaN patch per band, away from the centre. */
static void add_nans(const sim_field *f, int b, double *img)
{
    long w = f->set.width, h = f->set.height;
    long x0 = (w / 5 + 37L * b) % (w - NAN_BLOCK);
    long y0 = (h / 3 + 53L * b) % (h - NAN_BLOCK);

    for (long j = 0; j < NAN_BLOCK; ++j)
        for (long i = 0; i < NAN_BLOCK; ++i)
            img[(y0 + j) * w + x0 + i] = NAN;
}

static int write_keys(pp_fits_writer *wr, const sim_field *f, int b,
                      pp_error *err)
{
    const sim_band *B = &f->bands[b];
    const char *band = f->set.band[b];

    if (pp_fits_write_key_string(wr, "FILTER", band, "band", err) ||
        pp_fits_write_key_double(wr, "ZP_AUTO", B->zp_auto,
                                 "AB zero point [mag]", err) ||
        pp_fits_write_key_double(wr, "SKYSIG", B->skysig,
                                 "sky sigma per pixel [ADU]", err) ||
        pp_fits_write_key_double(wr, "EGAIN", B->egain, "gain [e-/ADU]",
                                 err) ||
        pp_fits_write_key_double(wr, "SATURATE", B->saturate,
                                 "saturation level [ADU]", err) ||
        pp_fits_write_key_double(wr, "PEEING", B->fwhm_centre,
                                 "PSF FWHM at the centre [pix]", err) ||
        pp_fits_write_key_double(wr, "SEEING",
                                 B->fwhm_centre * f->set.pixscale,
                                 "PSF FWHM at the centre [arcsec]", err) ||
        pp_fits_write_key_string(wr, "CTYPE1", "RA---TAN", NULL, err) ||
        pp_fits_write_key_string(wr, "CTYPE2", "DEC--TAN", NULL, err) ||
        pp_fits_write_key_double(wr, "CRVAL1", f->crval1, NULL, err) ||
        pp_fits_write_key_double(wr, "CRVAL2", f->crval2, NULL, err) ||
        pp_fits_write_key_double(wr, "CRPIX1", f->crpix1, NULL, err) ||
        pp_fits_write_key_double(wr, "CRPIX2", f->crpix2, NULL, err) ||
        pp_fits_write_key_double(wr, "CD1_1", -f->cd, NULL, err) ||
        pp_fits_write_key_double(wr, "CD1_2", 0.0, NULL, err) ||
        pp_fits_write_key_double(wr, "CD2_1", 0.0, NULL, err) ||
        pp_fits_write_key_double(wr, "CD2_2", f->cd, NULL, err) ||
        pp_fits_write_key_string(wr, "RADESYS", "ICRS", NULL, err) ||
        pp_fits_write_key_double(wr, "EQUINOX", 2000.0, NULL, err) ||
        pp_fits_write_key_double(wr, "SKYLEVEL", B->sky,
                                 "pp-sim: subtracted sky [ADU]", err) ||
        pp_fits_write_key_long(wr, "SIMSEED", (long)f->set.seed,
                               "pp-sim: seed", err) ||
        pp_fits_write_key_string(wr, "SIMREGIM", f->set.regime ==
                                 SIM_REGIME_SKY ? "sky" : "realistic",
                                 "pp-sim: noise regime", err))
        return err->code;
    return PP_OK;
}

static int write_image(const sim_field *f, int b, const double *img,
                       pp_error *err)
{
    long w = f->set.width, h = f->set.height;
    char *name = pp_xasprintf("%s.fits", f->set.band[b]);
    char *path = pp_io_path_join(f->set.out, name);
    float *row = pp_xmalloc(sizeof *row * (size_t)w);
    pp_fits_writer wr;
    int rc;

    rc = pp_fits_create_image(path, &wr, FLOAT_IMG, w, h, err) ||
         write_keys(&wr, f, b, err);
    for (long y = 0; rc == PP_OK && y < h; ++y) {
        for (long x = 0; x < w; ++x)
            row[x] = (float)img[y * w + x];
        rc = pp_fits_write_rows(&wr, y, 1, row, err);
    }
    if (rc == PP_OK)
        rc = pp_fits_commit(&wr, err);
    pp_fits_abort(&wr);
    free(row);
    free(path);
    free(name);
    return rc ? err->code : PP_OK;
}

static int make_band(sim_field *f, int b, sim_renderer *r, double *img,
                     pp_error *err)
{
    long n = f->set.width * f->set.height;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    int rc;

    /* One generator per band: bytes independent of the thread count. */
    gsl_rng_set(rng, f->set.seed * 1000003UL + 7919UL * (unsigned long)b +
                     1UL);
    memset(img, 0, sizeof *img * (size_t)n);
    rc = render_sources(f, b, r, img, err);
    if (rc == PP_OK) {
        add_noise(&f->bands[b], rng, img, n);
        add_nans(f, b, img);
        rc = write_image(f, b, img, err);
    }
    gsl_rng_free(rng);
    return rc;
}

static void *worker(void *arg)
{
    image_pool *p = arg;
    sim_field *f = p->f;
    long n = f->set.width * f->set.height;
    pp_error err = PP_ERROR_INIT;
    sim_renderer *r = NULL;
    double *img = pp_malloc_checked((size_t)n, sizeof *img, "a band image",
                                    &err);
    int rc = img ? sim_renderer_new(f->set.oversample, &r, &err)
                 : err.code;

    for (;;) {
        int b;
        pthread_mutex_lock(&p->lock);
        if (rc != PP_OK && !p->failed) {
            p->failed = 1;
            p->err = err;
        }
        b = p->failed ? f->set.nbands : p->next++;
        pthread_mutex_unlock(&p->lock);
        if (b >= f->set.nbands)
            break;
        rc = make_band(f, b, r, img, &err);
        pthread_mutex_lock(&p->lock);
        if (rc == PP_OK)
            p->done++;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
    }
    pthread_mutex_lock(&p->lock);
    if (rc != PP_OK && !p->failed) {
        p->failed = 1;
        p->err = err;
    }
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    sim_renderer_free(r);
    free(img);
    return NULL;
}

int sim_images_write(sim_field *f, pp_error *err)
{
    int nt = f->set.threads < f->set.nbands ? f->set.threads
                                            : f->set.nbands;
    pthread_t *th = pp_xcalloc((size_t)nt, sizeof *th);
    image_pool p = { f, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                     0, 0, 0, PP_ERROR_INIT };
    pp_progress prog;
    int started = 0;

    pp_progress_start(&prog, "bands", f->set.nbands);
    for (; started < nt; ++started)
        if (pthread_create(&th[started], NULL, worker, &p) != 0)
            break;
    if (started == 0)
        worker(&p);
    pthread_mutex_lock(&p.lock);
    for (int shown = 0; shown < f->set.nbands && !p.failed;) {
        while (p.done == shown && !p.failed)
            pthread_cond_wait(&p.cond, &p.lock);
        pp_progress_step(&prog, p.done - shown);
        shown = p.done;
    }
    pthread_mutex_unlock(&p.lock);
    for (int k = 0; k < started; ++k)
        pthread_join(th[k], NULL);
    pp_progress_end(&prog);
    free(th);
    pthread_mutex_destroy(&p.lock);
    pthread_cond_destroy(&p.cond);
    if (p.failed) {
        *err = p.err;
        return err->code;
    }
    return PP_OK;
}
