/* field.c - the design of a field, drawn from the seed (SPEC §15): bands
 * and their calibration, the PSF over the field, the sources and the
 * catalogue's hostile text.  Nothing here renders. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "pp_mem.h"

#include "sim.h"

#define CRVAL1 150.0                /* field centre, degrees */
#define CRVAL2 2.2
#define ZP_TRUE_LO 27.6             /* AB zero points of the bands */
#define ZP_TRUE_HI 28.4
#define DZP_LO 0.02                 /* SPEC §15: |dzp| in [0.02, 0.05] */
#define DZP_HI 0.05
#define STAR_MAG_LO 15.0            /* band-0 AB magnitudes */
#define STAR_MAG_HI 22.0
#define GAL_MAG_LO 17.5
#define GAL_MAG_HI 22.0
#define N_SATURATED 3               /* stars that clip */
#define N_PAIRS 5                   /* star pairs at 1-2 FWHM */
#define N_NOCOORDS 3                /* catalogue rows without RA/DEC */
#define GAIA_ONLY_FRACTION 0.05     /* stars absent from the catalogue */
#define POS_ERR_FRACTION 0.2        /* stars with a POS_ERR */
#define SKY_PEAK_FACTOR 30.0        /* SPEC §15 asks S >= 20 x peak */
#define SAT_PEAK_FACTOR 4.0         /* saturated stars' peak / SATURATE */

static double uniform(gsl_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * gsl_rng_uniform(r);
}

static double band_lambda(const char *name, int b)
{
    int nm;

    if (sscanf(name, "m%d", &nm) == 1 && nm > 0)
        return nm;
    return 400.0 + 25.0 * b;
}

/* Where the FWHM sits in LO:HI: 0.6 from the band (bluer is worse), 0.4
 * from the position (radial, plus a gradient in x), so it varies
 * smoothly across the field and one PSF per ePSF cell is needed. */
static double fwhm_at(const sim_field *f, int b, double x, double y)
{
    const sim_settings *s = &f->set;
    double cx = 0.5 * (double)(s->width - 1), cy = 0.5 * (double)(s->height
                                                                  - 1);
    double r2 = ((x - cx) * (x - cx) + (y - cy) * (y - cy)) /
                (cx * cx + cy * cy);
    double v = 0.7 * fmin(r2, 1.0) + 0.3 * fmin(fmax(x / (2 * cx), 0), 1);

    return s->fwhm_lo + (s->fwhm_hi - s->fwhm_lo) *
           (0.6 * f->bands[b].fwhm_base + 0.4 * v);
}

sim_psf sim_field_psf(const sim_field *f, int b, double x, double y)
{
    const sim_settings *s = &f->set;
    sim_psf p = { s->psf_kind, fwhm_at(f, b, x, y), s->beta, s->psf_ell,
                  0.35 + 0.1 * b };

    return p;
}

void sim_field_pix_to_sky(const sim_field *f, double x, double y,
                          double *ra, double *dec)
{
    /* Gnomonic (TAN) inverse; SPEC §3.1: FITS pixel = ours + 1. */
    double d2r = M_PI / 180.0;
    double xi = -f->cd * (x + 1.0 - f->crpix1) * d2r;
    double eta = f->cd * (y + 1.0 - f->crpix2) * d2r;
    double a0 = f->crval1 * d2r, d0 = f->crval2 * d2r;
    double den = cos(d0) - eta * sin(d0);
    double a = a0 + atan2(xi, den);

    *dec = atan2(sin(d0) + eta * cos(d0), sqrt(xi * xi + den * den)) / d2r;
    *ra = fmod(a / d2r + 360.0, 360.0);
}

static void design_bands(sim_field *f, gsl_rng *r)
{
    const sim_settings *s = &f->set;
    int nb = s->nbands;

    f->bands = pp_xcalloc((size_t)nb, sizeof *f->bands);
    for (int b = 0; b < nb; ++b) {
        sim_band *B = &f->bands[b];
        B->lambda_nm = band_lambda(s->band[b], b);
        B->zp_true = uniform(r, ZP_TRUE_LO, ZP_TRUE_HI);
        B->dzp = (gsl_rng_uniform(r) < 0.5 ? -1 : 1) *
                 uniform(r, DZP_LO, DZP_HI);
        B->zp_auto = B->zp_true + B->dzp;
        B->skysig = s->regime == SIM_REGIME_SKY ? uniform(r, 2.5, 4.0)
                                                : uniform(r, 8.0, 14.0);
        B->egain = uniform(r, 1.0, 1.5);     /* realistic; sky: later */
        B->fwhm_base = nb > 1 ? 1.0 - (double)b / (nb - 1) : 0.5;
    }
}

/* FWHM extremes over the frame, on a grid that includes the edges. */
static void fwhm_range(sim_field *f)
{
    const sim_settings *s = &f->set;
    enum { N = 33 };

    for (int b = 0; b < s->nbands; ++b) {
        sim_band *B = &f->bands[b];
        B->fwhm_min = INFINITY;
        B->fwhm_max = 0;
        for (int j = 0; j < N; ++j)
            for (int i = 0; i < N; ++i) {
                double v = fwhm_at(f, b, (double)(s->width - 1) * i / (N - 1),
                                   (double)(s->height - 1) * j / (N - 1));
                B->fwhm_min = fmin(B->fwhm_min, v);
                B->fwhm_max = fmax(B->fwhm_max, v);
            }
        B->fwhm_centre = fwhm_at(f, b, 0.5 * (double)(s->width - 1),
                                 0.5 * (double)(s->height - 1));
    }
}

static sim_source *add_source(sim_field *f)
{
    sim_source *s = &f->src[f->nsrc++];
    int nb = f->set.nbands;

    memset(s, 0, sizeof *s);
    s->mag = pp_xcalloc((size_t)nb, sizeof *s->mag);
    s->flux_adu = pp_xcalloc((size_t)nb, sizeof *s->flux_adu);
    s->rendered = pp_xcalloc((size_t)nb, sizeof *s->rendered);
    s->pos_err = NAN;
    s->in_catalog = 1;
    return s;
}

static void place(sim_field *f, sim_source *s, gsl_rng *r)
{
    s->x = uniform(r, 0, (double)(f->set.width - 1));
    s->y = uniform(r, 0, (double)(f->set.height - 1));
}

static const char *const star_types[] = { "STAR", "star", "Star" };

static void design_star(sim_field *f, gsl_rng *r, long i)
{
    sim_source *s = add_source(f);

    s->kind = SIM_STAR;
    snprintf(s->type_text, sizeof s->type_text, "%s", star_types[i % 3]);
    place(f, s, r);
    s->mag0 = uniform(r, STAR_MAG_LO, STAR_MAG_HI);
    s->color = uniform(r, -1.0, 1.0);
    s->in_gaia = 1;
    if (gsl_rng_uniform(r) < POS_ERR_FRACTION)
        s->pos_err = 0.05;
    if (gsl_rng_uniform(r) < GAIA_ONLY_FRACTION)
        s->in_catalog = 0;
}

/* Galaxy types: what the catalogue says and what is rendered.  GAL and
 * blank fall back to patch_run.gal_model, "exp" by default. */
static void galaxy_kind(sim_source *s, gsl_rng *r, long i)
{
    double u = gsl_rng_uniform(r);

    if (u < 0.30) {
        s->kind = SIM_EXP;
        strcpy(s->type_text, i % 2 ? "EXP" : "exp");
    } else if (u < 0.55) {
        s->kind = SIM_DEV;
        strcpy(s->type_text, i % 2 ? "DEV" : "Dev");
    } else if (u < 0.80) {
        s->kind = SIM_SERSIC;
        strcpy(s->type_text, "SERSIC");
    } else {
        s->kind = SIM_EXP;
        strcpy(s->type_text, i % 2 ? "GAL" : "");
    }
}

static void design_galaxy(sim_field *f, gsl_rng *r, long i)
{
    sim_source *s = add_source(f);

    galaxy_kind(s, r, i);
    place(f, s, r);
    s->mag0 = uniform(r, GAL_MAG_LO, GAL_MAG_HI);
    s->color = uniform(r, -1.0, 1.0);
    s->n = s->kind == SIM_EXP ? 1.0 : s->kind == SIM_DEV ? 4.0
         : uniform(r, 0.5, 4.5);
    s->re = s->kind == SIM_EXP ? uniform(r, 1.5, 5.0)
          : s->kind == SIM_DEV ? uniform(r, 1.0, 3.5) : uniform(r, 1.0, 4.0);
    s->q = uniform(r, 0.4, 1.0);
    s->theta = uniform(r, 0, M_PI);
}

/* Companions at 1-2 FWHM (band 0) of the first stars. */
static void design_pairs(sim_field *f, gsl_rng *r, long nstars)
{
    for (long k = 0; k < N_PAIRS && k < nstars; ++k) {
        sim_source *a = &f->src[k], *c;
        double d = uniform(r, 1.0, 2.0) * fwhm_at(f, 0, a->x, a->y);
        double phi = uniform(r, 0, 2 * M_PI);
        a->pair = 1;
        a->in_catalog = 1;
        c = add_source(f);
        double *mag = c->mag, *flux = c->flux_adu, *rendered = c->rendered;
        *c = *a;                    /* a star like a, with its own arrays */
        c->mag = mag;
        c->flux_adu = flux;
        c->rendered = rendered;
        c->x = fmin(fmax(a->x + d * cos(phi), 0), f->set.width - 1.0);
        c->y = fmin(fmax(a->y + d * sin(phi), 0), f->set.height - 1.0);
        c->mag0 = a->mag0 + uniform(r, 0, 1.5);
        c->pos_err = NAN;
    }
}

static void set_fluxes(sim_field *f)
{
    int nb = f->set.nbands;
    double l0 = f->bands[0].lambda_nm, l1 = f->bands[nb - 1].lambda_nm;
    double span = l1 > l0 ? l1 - l0 : 1.0;

    for (long i = 0; i < f->nsrc; ++i) {
        sim_source *s = &f->src[i];
        for (int b = 0; b < nb; ++b) {
            s->mag[b] = s->mag0 + s->color * (f->bands[b].lambda_nm - l0) /
                        span;
            s->flux_adu[b] = pow(10.0, -0.4 * (s->mag[b] -
                                               f->bands[b].zp_true));
        }
    }
}

/* Sky level, gain and saturation per band from the brightest
 * unsaturated peak (SPEC §15): then the saturated stars' fluxes. */
static void set_noise_and_saturation(sim_field *f)
{
    for (int b = 0; b < f->set.nbands; ++b) {
        sim_band *B = &f->bands[b];
        double peak = 0;
        for (long i = 0; i < f->nsrc; ++i) {
            const sim_source *s = &f->src[i];
            sim_psf p = sim_field_psf(f, b, s->x, s->y);
            if (!s->saturated && !s->no_coords)
                peak = fmax(peak, s->flux_adu[b] * sim_psf_value(&p, 0, 0));
        }
        B->saturate = 2.0 * fmax(2.0 * peak, peak + 50.0 * B->skysig);
        if (f->set.regime == SIM_REGIME_SKY) {
            B->sky = SKY_PEAK_FACTOR * peak;
            B->egain = B->sky / (B->skysig * B->skysig);
        } else {
            B->sky = B->skysig * B->skysig * B->egain;
        }
        for (long i = 0; i < f->nsrc; ++i) {
            sim_source *s = &f->src[i];
            sim_psf p = sim_field_psf(f, b, s->x, s->y);
            if (!s->saturated)
                continue;
            s->flux_adu[b] = SAT_PEAK_FACTOR * B->saturate /
                             sim_psf_value(&p, 0, 0);
            s->mag[b] = B->zp_true - 2.5 * log10(s->flux_adu[b]);
        }
    }
}

/* IDs: zero-padded numbers, with a few hostile ones (SPEC §15). */
static void set_ids(sim_field *f)
{
    long k = 0;

    for (long i = 0; i < f->nsrc; ++i) {
        sim_source *s = &f->src[i];
        snprintf(s->gaia_id, sizeof s->gaia_id, "%ld",
                 4000000000000000000L + 7919L * (i + 1));
        if (!s->in_catalog)
            continue;
        ++k;
        if (k == 7)
            strcpy(s->id, "my source, \"alpha\"");
        else if (k == 11)
            strcpy(s->id, "\xce\xa9\xce\xbc\xce\xad\xce\xb3\xce\xb1-11");
        else
            snprintf(s->id, sizeof s->id, "%05ld", k);
    }
}

int sim_field_design(sim_field *f, pp_error *err)
{
    const sim_settings *s = &f->set;
    long cap = s->nstars + s->ngals + N_PAIRS + N_SATURATED + N_NOCOORDS;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);

    gsl_rng_set(r, s->seed);
    f->crval1 = CRVAL1;
    f->crval2 = CRVAL2;
    f->crpix1 = 0.5 * (double)s->width + 0.5;
    f->crpix2 = 0.5 * (double)s->height + 0.5;
    f->cd = s->pixscale / 3600.0;
    design_bands(f, r);
    fwhm_range(f);
    f->src = pp_xcalloc((size_t)cap + 1, sizeof *f->src);
    for (long i = 0; i < s->nstars; ++i)
        design_star(f, r, i);
    design_pairs(f, r, s->nstars);
    for (long i = 0; i < N_SATURATED && s->nstars > N_PAIRS; ++i) {
        design_star(f, r, i);
        f->src[f->nsrc - 1].saturated = 1;
        f->src[f->nsrc - 1].in_catalog = 1;
    }
    for (long i = 0; i < s->ngals; ++i)
        design_galaxy(f, r, i);
    for (long i = 0; i < N_NOCOORDS; ++i) {
        design_star(f, r, i);
        sim_source *nc = &f->src[f->nsrc - 1];
        nc->no_coords = 1;
        nc->in_catalog = 1;
        nc->in_gaia = 0;
    }
    set_fluxes(f);
    set_noise_and_saturation(f);
    set_ids(f);
    for (long i = 0; i < f->nsrc; ++i)
        sim_field_pix_to_sky(f, f->src[i].x, f->src[i].y, &f->src[i].ra,
                             &f->src[i].dec);
    gsl_rng_free(r);
    (void)err;
    return PP_OK;
}

void sim_field_release(sim_field *f)
{
    for (long i = 0; f->src && i < f->nsrc; ++i) {
        free(f->src[i].mag);
        free(f->src[i].flux_adu);
        free(f->src[i].rendered);
    }
    free(f->src);
    free(f->bands);
    f->src = NULL;
    f->bands = NULL;
    f->nsrc = 0;
}
