/* cli.c - pp-sim's options and their checks (SPEC §15). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pp_mem.h"

#include "sim.h"

/* SPEC §15: the default demo field. */
#define DEFAULT_NBANDS 8
#define DEFAULT_SIZE "2000x2000"
#define STARS_PER_MPIX 62.5         /* 250 stars on 2000x2000 */
#define GALS_PER_MPIX 87.5          /* 350 galaxies on 2000x2000 */
#define MAX_BANDS 200

static const pp_option sim_options[] = {
    { "out", 'o', PP_OPT_STRING, "DIR", offsetof(sim_opts, out),
      "directory to write the field into (required)" },
    { "bands", 0, PP_OPT_STRING, "B1,B2,...", offsetof(sim_opts, bands),
      "band names [m400,m425,... as many as --nbands]" },
    { "nbands", 0, PP_OPT_LONG, "N", offsetof(sim_opts, nbands),
      "number of bands, 1-200 [8]" },
    { "size", 0, PP_OPT_STRING, "WxH", offsetof(sim_opts, size),
      "image size in pixels [2000x2000]" },
    { "nstars", 0, PP_OPT_LONG, "N", offsetof(sim_opts, nstars),
      "stars [62.5 per megapixel]" },
    { "ngals", 0, PP_OPT_LONG, "N", offsetof(sim_opts, ngals),
      "galaxies [87.5 per megapixel]" },
    { "seed", 0, PP_OPT_LONG, "S", offsetof(sim_opts, seed),
      "random seed; the same seed gives the same bytes [1]" },
    { "fwhm", 0, PP_OPT_STRING, "LO:HI", offsetof(sim_opts, fwhm),
      "range of the PSF FWHM over bands and field, pixels [3.5:5.0]" },
    { "psf", 0, PP_OPT_STRING, "KIND", offsetof(sim_opts, psf),
      "optical PSF: moffat or gauss2 [moffat]" },
    { "beta", 0, PP_OPT_STRING, "B", offsetof(sim_opts, beta),
      "Moffat beta, > 1 [3.5]" },
    { "psf-ell", 0, PP_OPT_STRING, "E", offsetof(sim_opts, psf_ell),
      "PSF ellipticity 1-b/a, [0, 0.5] [0]" },
    { "pixscale", 0, PP_OPT_STRING, "ARCSEC", offsetof(sim_opts, pixscale),
      "pixel scale, arcsec [0.505]" },
    { "crop-margin", 0, PP_OPT_LONG, "M", offsetof(sim_opts, margin),
      "crop.margin of the config [round(0.03 min(W, H))]" },
    { "regime", 0, PP_OPT_STRING, "R", offsetof(sim_opts, regime),
      "noise: sky (sky-dominated) or realistic (7DT-like) [sky]" },
    { "true-psf", 0, PP_OPT_FLAG, NULL, offsetof(sim_opts, true_psf),
      "also write EPSFs_true/ in pp-epsf's format" },
    { "epsf-ngrid", 0, PP_OPT_LONG, "E", offsetof(sim_opts, epsf_ngrid),
      "epsf.epsf_ngrid of the config (and EPSFs_true cells) "
      "[round(working width / 1300)]" },
    { "threads", 'j', PP_OPT_LONG, "N", offsetof(sim_opts, threads),
      "bands rendered at once [number of cores]" },
    { "oversample", 0, PP_OPT_LONG, "K", offsetof(sim_opts, oversample),
      "sub-pixels per pixel side for galaxies, odd [5]" },
    { 0 }
};

static const pp_cli_spec sim_spec = {
    "pp-sim", "--out DIR [OPTION]...",
    "Write a synthetic 7DT-like field with known truth: FITS images, image\n"
    "list, input catalogue, GaiaXP photometry, truth tables and a config.",
    sim_options, 0, 1
};

int sim_cli_parse(int argc, char **argv, sim_opts *o, pp_error *err)
{
    int first;

    o->nbands = -1;
    o->nstars = o->ngals = o->margin = o->epsf_ngrid = -1;
    o->seed = 1;
    o->oversample = 5;
    if (pp_cli_parse(&sim_spec, argc, argv, o, &o->common, &first, err)
        != PP_OK || o->common.done)
        return err->code;
    if (first < argc)
        return pp_error_set(err, PP_EUSAGE, "unexpected argument '%s' (see "
                            "'pp-sim --help')", argv[first]);
    if (!o->out)
        return pp_error_set(err, PP_EUSAGE, "missing option '--out DIR' "
                            "(see 'pp-sim --help')");
    return PP_OK;
}

void sim_opts_release(sim_opts *o)
{
    pp_cli_release(&sim_spec, o, &o->common);
}

/* A number option: strict, within [lo, hi]. */
static int number(const char *opt, const char *text, double lo, double hi,
                  double *out, pp_error *err)
{
    char *end;

    errno = 0;
    *out = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(*out) || *out < lo ||
        *out > hi)
        return pp_error_set(err, PP_EUSAGE, "option '--%s': found '%s', "
                            "expected a number in [%g, %g]", opt, text, lo,
                            hi);
    return PP_OK;
}

static int parse_size(const char *text, long *w, long *h, pp_error *err)
{
    char x;
    int n = sscanf(text, "%ld%c%ld", w, &x, h);

    if (n != 3 || (x != 'x' && x != 'X') || *w < 32 || *h < 32 ||
        *w > 100000 || *h > 100000 || strspn(text, "0123456789xX") !=
        strlen(text))
        return pp_error_set(err, PP_EUSAGE, "option '--size': found '%s', "
                            "expected WxH with 32 <= W, H <= 100000", text);
    return PP_OK;
}

static int parse_fwhm(const char *text, double *lo, double *hi,
                      pp_error *err)
{
    char *end, *mid;

    errno = 0;
    *lo = strtod(text, &mid);
    if (*mid == ':')
        *hi = strtod(mid + 1, &end);
    if (errno || mid == text || *mid != ':' || *end || !(*lo >= 1.0) ||
        !(*hi >= *lo) || *hi > 50)
        return pp_error_set(err, PP_EUSAGE, "option '--fwhm': found '%s', "
                            "expected LO:HI pixels with 1 <= LO <= HI <= 50",
                            text);
    return PP_OK;
}

/* 7DT-like names: m400, m425, ... (25 nm steps up to 20 bands; 12.5 nm
 * steps beyond, rounded). */
static void default_bands(sim_settings *s)
{
    for (int b = 0; b < s->nbands; ++b)
        s->band[b] = pp_xasprintf("m%d", s->nbands <= 20
                                  ? 400 + 25 * b
                                  : 400 + (int)lround(12.5 * b));
}

static int parse_bands(const sim_opts *o, sim_settings *s, pp_error *err)
{
    char *copy, *tok, *save = NULL;

    if (!o->bands) {
        s->nbands = o->nbands < 0 ? DEFAULT_NBANDS : (int)o->nbands;
        if (o->nbands == 0 || o->nbands > MAX_BANDS)
            return pp_error_set(err, PP_EUSAGE, "option '--nbands': found "
                                "%ld, expected 1 to %d", o->nbands,
                                MAX_BANDS);
        s->band = pp_xcalloc((size_t)s->nbands, sizeof *s->band);
        default_bands(s);
        return PP_OK;
    }
    copy = pp_xstrdup(o->bands);
    s->band = pp_xcalloc(strlen(copy) + 1, sizeof *s->band);
    for (tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save))
        s->band[s->nbands++] = pp_xstrdup(tok);
    free(copy);
    if (s->nbands == 0 || (o->nbands >= 0 && o->nbands != s->nbands))
        return pp_error_set(err, PP_EUSAGE, "option '--bands': found '%s', "
                            "expected %s comma-separated names",
                            o->bands, o->nbands >= 0 ? "--nbands" : "");
    for (int b = 0; b < s->nbands; ++b) {
        for (const char *c = s->band[b]; *c; ++c)
            if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
                return pp_error_set(err, PP_EUSAGE, "option '--bands': "
                                    "band '%s': expected letters, digits, "
                                    "'_' or '-'", s->band[b]);
        for (int k = 0; k < b; ++k)
            if (strcmp(s->band[k], s->band[b]) == 0)
                return pp_error_set(err, PP_EUSAGE, "option '--bands': "
                                    "band '%s' appears twice", s->band[b]);
    }
    return PP_OK;
}

static int parse_counts(const sim_opts *o, sim_settings *s, pp_error *err)
{
    double mpix = (double)s->width * (double)s->height / 1e6;

    s->nstars = o->nstars >= 0 ? o->nstars : lround(STARS_PER_MPIX * mpix);
    s->ngals = o->ngals >= 0 ? o->ngals : lround(GALS_PER_MPIX * mpix);
    if (s->nstars > 1000000 || s->ngals > 1000000 || o->nstars < -1 ||
        o->ngals < -1)
        return pp_error_set(err, PP_EUSAGE, "options '--nstars', '--ngals':"
                            " expected 0 to 1000000");
    if (o->seed < 0)
        return pp_error_set(err, PP_EUSAGE, "option '--seed': found %ld, "
                            "expected an integer >= 0", o->seed);
    s->seed = (unsigned long)o->seed;
    s->margin = o->margin >= 0 ? o->margin
              : lround(0.03 * (double)(s->width < s->height ? s->width
                                                           : s->height));
    if (o->margin < -1 || 2 * s->margin >= s->width ||
        2 * s->margin >= s->height)
        return pp_error_set(err, PP_EUSAGE, "option '--crop-margin': found "
                            "%ld, expected 0 <= M < half the image side",
                            s->margin);
    s->threads = o->threads > 0 ? (int)o->threads
                                : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (s->threads < 1 || o->threads < 0)
        s->threads = 1;
    if (o->oversample < 1 || o->oversample > 15 || o->oversample % 2 == 0)
        return pp_error_set(err, PP_EUSAGE, "option '--oversample': found "
                            "%ld, expected an odd number from 1 to 15",
                            o->oversample);
    s->oversample = (int)o->oversample;
    if (o->epsf_ngrid == 0 || o->epsf_ngrid < -1 || o->epsf_ngrid > 64)
        return pp_error_set(err, PP_EUSAGE, "option '--epsf-ngrid': found "
                            "%ld, expected 1 to 64", o->epsf_ngrid);
    s->epsf_ngrid = o->epsf_ngrid;
    return PP_OK;
}

static int parse_psf(const sim_opts *o, sim_settings *s, pp_error *err)
{
    const char *psf = o->psf ? o->psf : "moffat";
    const char *regime = o->regime ? o->regime : "sky";

    if (!strcmp(psf, "moffat"))
        s->psf_kind = SIM_PSF_MOFFAT;
    else if (!strcmp(psf, "gauss2"))
        s->psf_kind = SIM_PSF_GAUSS2;
    else
        return pp_error_set(err, PP_EUSAGE, "option '--psf': found '%s', "
                            "expected moffat or gauss2", psf);
    if (!strcmp(regime, "sky"))
        s->regime = SIM_REGIME_SKY;
    else if (!strcmp(regime, "realistic"))
        s->regime = SIM_REGIME_REALISTIC;
    else
        return pp_error_set(err, PP_EUSAGE, "option '--regime': found '%s',"
                            " expected sky or realistic", regime);
    if (number("beta", o->beta ? o->beta : "3.5", 1.01, 100, &s->beta,
               err) ||
        number("psf-ell", o->psf_ell ? o->psf_ell : "0", 0, 0.5,
               &s->psf_ell, err) ||
        number("pixscale", o->pixscale ? o->pixscale : "0.505", 0.01, 100,
               &s->pixscale, err) ||
        parse_fwhm(o->fwhm ? o->fwhm : "3.5:5.0", &s->fwhm_lo, &s->fwhm_hi,
                   err))
        return err->code;
    return PP_OK;
}

int sim_settings_from_opts(const sim_opts *o, sim_settings *s,
                           pp_error *err)
{
    memset(s, 0, sizeof *s);
    s->out = pp_xstrdup(o->out);
    s->true_psf = o->true_psf;
    if (parse_size(o->size ? o->size : DEFAULT_SIZE, &s->width, &s->height,
                   err) ||
        parse_bands(o, s, err) || parse_counts(o, s, err) ||
        parse_psf(o, s, err))
        return err->code;
    return PP_OK;
}

void sim_settings_release(sim_settings *s)
{
    for (int b = 0; s->band && b < s->nbands; ++b)
        free(s->band[b]);
    free(s->band);
    free(s->out);
    memset(s, 0, sizeof *s);
}
