/*
 * mkfield.c - write a small synthetic multi-band field, with its truth,
 * for pp-crop's tests and benchmark.
 *
 *   mkfield --out DIR [--bands g,r,i] [--size 200x160] [--nsrc 60]
 *           [--seed 1] [--margin 20] [--sat-radius 5.0] [--tile NAME]
 *           [--compress] [--float64]
 *
 * writes DIR/<band>.fits (DIR/<band>.fits.fz with --compress),
 * DIR/image_list.txt, DIR/input_catalog.csv, DIR/truth.csv and
 * DIR/config.yaml.  tests/data/README.md says what each file holds.
 * Same options, same bytes: the only randomness is a seeded xorshift64*.
 *
 * The program is deliberately independent of patchphot: cfitsio is used
 * directly, and the TAN projection (pixel -> sky) is worked out here by
 * hand from Calabretta & Greisen (2002) without wcslib, so truth.csv is
 * an independent truth for pp-crop's projection, crop box and
 * saturation cut (SPEC §3.1, §5.3, §6.1).  Memory holds one band at a
 * time, so a benchmark field (8 bands of 4000x4000) streams.
 *
 * Build: gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror
 *        -Wno-unused-parameter mkfield.c
 *        $(pkg-config --cflags --libs cfitsio) -lm
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <fitsio.h>

/* Instrument and WCS constants.  The decimal literals print back exactly
 * with %.15G, so the header holds the very doubles used for the truth
 * (write_header() checks this).  CD1_2 != CD2_1 so that a transposed CD
 * matrix shows up as a position error. */
#define ZP_REF      25.0         /* SPEC §4.1 image_scaling.zp_ref */
#define SATURATE    20000.0      /* ADU */
#define SAT_LEVEL   (SATURATE / 2.0) /* SPEC §5.3: raw >= SATURATE/2 */
#define EGAIN       1.5
#define CRVAL1_DEG  150.0
#define CRVAL2_DEG  2.2
#define CD11        (-1.4027777e-4) /* 0.505 arcsec/px */
#define CD12        2.4e-7
#define CD21        3.7e-7
#define CD22        1.4027777e-4
#define FWHM_SIGMA  2.3548200450309493 /* 2 sqrt(2 ln 2) */
#define RE_SIGMA    1.1774100225154747 /* Gaussian half-light radius/sigma */
#define STAMP_NSIG  6.0          /* profiles are cut at 6 sigma */
#define PEAK_SAT    (3.0 * SAT_LEVEL) /* peak of a saturating star */
#define PEAK_UNSAT  (0.3 * SAT_LEVEL) /* peak of the same star elsewhere */
#define NAN_BLOCK_W 4            /* NaN block in the second band */
#define NAN_BLOCK_H 3
#define MAX_BANDS   64
#define D2R         (M_PI / 180.0)
#define R2D         (180.0 / M_PI)

/* Per-band values, cycled when there are more than eight bands. */
static const double band_zp[8] =
    { 24.8, 25.1, 25.3, 24.95, 25.45, 24.6, 25.2, 25.05 };
static const double band_skysig[8] =
    { 3.0, 2.5, 4.0, 3.5, 2.8, 3.2, 4.5, 2.2 };
static const double band_fwhm_pix[8] =
    { 3.2, 3.5, 3.8, 3.4, 3.6, 3.3, 3.7, 3.9 };

typedef struct {
    char msg[1024];
} mk_err;

typedef struct {
    const char *out;
    char bands[MAX_BANDS][32];
    int nbands;
    long width, height;
    long nsrc;
    uint64_t seed;
    long margin;
    double sat_radius;
    char tile[128];
    int compress, float64;
} mk_opts;

typedef struct {
    double crval1, crval2, crpix1, crpix2, cd11, cd12, cd21, cd22;
} mk_wcs;

typedef struct {
    const char *name;
    double zp, skysig, scale, fwhm_pix, sigma_pix;
    int write_peeing, write_seeing;
    double seeing_arcsec;
} mk_band;

enum { SAT_NONE, SAT_ALL, SAT_BUT_LAST, SAT_FIRST };
enum { CO_OK, CO_RA_EMPTY, CO_DEC_TEXT, CO_RA_NAN, CO_DEC_INF };

/* A hand-placed source: x = ax*W + bx*margin + cx (y likewise). */
typedef struct {
    const char *id, *type, *note;
    double ax, bx, cx, ay, by, cy;
    int sat;                     /* SAT_*: which bands it saturates */
    int coords;                  /* CO_*: how its RA/DEC are spoiled */
    int hot_dx, hot_dy;          /* offset of a planted pixel (band 0) */
    double hot_value;            /* 0: none */
} mk_special;

typedef struct {
    char id[48];
    const char *type, *note;
    double x, y;                 /* truth, full frame, 0-based */
    int coords;                  /* CO_* */
    int is_star;
    double gsx, gsy;             /* intrinsic Gaussian sigmas (galaxy) */
    double ell, theta, re;       /* catalogue shape; NAN: empty cell */
    int flux_empty_band;         /* -1: every FLUX cell is written */
    double *flux_raw;            /* total ADU per band (borrowed) */
    int hot_dx, hot_dy;
    double hot_value;
    int sat_hits;                /* bands whose disk hits saturation */
} mk_source;

typedef struct {
    uint64_t s;
    int have_spare;
    double spare;
} mk_rng;

static const mk_special specials[] = {
    { "my star, \"alpha\"", "STAR", "saturated in every band",
      0.30, 0, 0.37, 0.62, 0, 0.21, SAT_ALL, CO_OK, 0, 0, 0 },
    { "\xCE\xA9\xCE\xBC\xCE\xAD\xCE\xB3\xCE\xB1", "star",
      "saturated in every band but the last",
      0.72, 0, 0.12, 0.33, 0, 0.41, SAT_BUT_LAST, CO_OK, 0, 0, 0 },
    { "edge-sat", "STAR",
      "in the crop margin, saturated in the first band only",
      0, 1, -3.4, 0.5, 0, 0.3, SAT_FIRST, CO_OK, 0, 0, 0 },
    { "NA", "", "in the crop; its disk meets edge-sat's saturated "
      "pixels only in the margin",
      0, 1, 1.3, 0.5, 0, 0.2, SAT_NONE, CO_OK, 0, 0, 0 },
    { "00019", "GAL", "leading zeros: not the same source as 19",
      0.5, 0, 0.23, 0.5, 0, -10.37, SAT_NONE, CO_OK, 0, 0, 0 },
    { "19", "EXP", "not the same source as 00019",
      0.4, 0, 0.61, 0.25, 0, 0.77, SAT_NONE, CO_OK, 0, 0, 0 },
    { "edge-in-x0", "DEV", "0.01 px inside the crop box (x0)",
      0, 1, 0.01, 0.4, 0, 0.33, SAT_NONE, CO_OK, 0, 0, 0 },
    { "edge-out-x0", "SERSIC", "0.01 px left of the crop box",
      0, 1, -0.01, 0.7, 0, 0.12, SAT_NONE, CO_OK, 0, 0, 0 },
    { "edge-in-x1", "exp", "0.01 px inside the crop box (x1 excluded)",
      1, -1, -0.01, 0.45, 0, 0.21, SAT_NONE, CO_OK, 0, 0, 0 },
    { "edge-out-x1", "gal", "exactly 0.01 px past x1",
      1, -1, 0.01, 0.55, 0, 0.31, SAT_NONE, CO_OK, 0, 0, 0 },
    { "edge-out-y1", "STAR", "0.01 px above the crop box",
      0.6, 0, 0.3, 1, -1, 0.01, SAT_NONE, CO_OK, 0, 0, 0 },
    { "edge-in-y0", "", "0.01 px inside the crop box (y0)",
      0.8, 0, 0.4, 0, 1, 0.01, SAT_NONE, CO_OK, 0, 0, 0 },
    { "off-left", "STAR", "off the image (x < 0)",
      0, 0, -30.2, 0.5, 0, 0.1, SAT_NONE, CO_OK, 0, 0, 0 },
    { "off-top", "GAL", "off the image (y >= H)",
      0.5, 0, 0.3, 1, 0, 40.7, SAT_NONE, CO_OK, 0, 0, 0 },
    { "off-far", "", "far off the image",
      1, 0, 500.4, 0, 0, -200.3, SAT_NONE, CO_OK, 0, 0, 0 },
    { "hot-r5", "STAR", "a saturated pixel at (+3,+4): on the disk edge",
      0.55, 0, 0.1, 0.75, 0, 0.1, SAT_NONE, CO_OK, 3, 4, SATURATE },
    { "hot-r5.66", "STAR", "a saturated pixel at (+4,+4): off the disk",
      0.2, 0, 0.1, 0.3, 0, 0.1, SAT_NONE, CO_OK, 4, 4, SATURATE },
    { "hot-eq-half", "STAR", "a pixel of exactly SATURATE/2 at (+1,0)",
      0.8, 0, 0.1, 0.7, 0, 0.1, SAT_NONE, CO_OK, 1, 0, SAT_LEVEL },
    { "hot-below-half", "STAR", "a pixel of SATURATE/2 - 0.5 at (0,+1)",
      0.35, 0, 0.1, 0.45, 0, 0.1, SAT_NONE, CO_OK, 0, 1,
      SAT_LEVEL - 0.5 },
    { "nc-empty-ra", "GAL", "RA is empty",
      0.5, 0, 0.5, 0.5, 0, 0.5, SAT_NONE, CO_RA_EMPTY, 0, 0, 0 },
    { "nc-text-dec", "STAR", "DEC is not a number",
      0.5, 0, 1.5, 0.5, 0, 0.5, SAT_NONE, CO_DEC_TEXT, 0, 0, 0 },
    { "nc-nan-ra", "", "RA is NaN",
      0.5, 0, 2.5, 0.5, 0, 0.5, SAT_NONE, CO_RA_NAN, 0, 0, 0 },
    { "nc-inf-dec", "DEV", "DEC is inf",
      0.5, 0, 3.5, 0.5, 0, 0.5, SAT_NONE, CO_DEC_INF, 0, 0, 0 },
};
#define NSPECIAL ((long)(sizeof specials / sizeof specials[0]))

/* Free text for the note column of the random rows. */
static const char *const random_notes[] = {
    "", "plain note", "comma, inside", "quote \"q\" inside",
    "na\xC3\xAFve caf\xC3\xA9 \xE2\x80\x94 UTF-8", "two\nlines",
};
#define NNOTES ((long)(sizeof random_notes / sizeof random_notes[0]))
#define NOTE_NEWLINE 5           /* only one row gets the two-line note */

static const char *const random_types[] = {
    "STAR", "GAL", "EXP", "DEV", "SERSIC", "", "star", "gal",
};
#define NTYPES ((long)(sizeof random_types / sizeof random_types[0]))

static int
mk_fail(mk_err *e, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static int
fits_fail(mk_err *e, const char *what, const char *path, int status)
{
    char text[FLEN_STATUS];

    fits_get_errstatus(status, text);
    return mk_fail(e, "%s '%s': %s (cfitsio status %d)", what, path, text,
                   status);
}

/* ---------------------------------------------------------------- */
/* Random numbers: xorshift64* seeded through splitmix64; Gaussian
 * deviates by Box-Muller.  Each band's noise has its own stream so
 * that a band's pixels do not depend on the bands before it. */

static uint64_t
splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static void
rng_init(mk_rng *r, uint64_t seed, uint64_t stream)
{
    r->s = splitmix64(seed ^ splitmix64(stream + 1));
    if (r->s == 0)
        r->s = 0x9E3779B97F4A7C15ULL;
    r->have_spare = 0;
    r->spare = 0;
}

static uint64_t
rng_next(mk_rng *r)
{
    uint64_t x = r->s;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in the open interval (0, 1). */
static double
rng_uniform(mk_rng *r)
{
    return ((double)(rng_next(r) >> 11) + 0.5) * 0x1.0p-53;
}

static double
rng_gauss(mk_rng *r)
{
    double u1, u2, rad;

    if (r->have_spare) {
        r->have_spare = 0;
        return r->spare;
    }
    u1 = rng_uniform(r);
    u2 = rng_uniform(r);
    rad = sqrt(-2.0 * log(u1));
    r->spare = rad * sin(2.0 * M_PI * u2);
    r->have_spare = 1;
    return rad * cos(2.0 * M_PI * u2);
}

/* ---------------------------------------------------------------- */
/* The TAN projection by hand (Calabretta & Greisen 2002, A&A 395, 1077).
 * Pixel (0-based, SPEC §3.1; FITS CRPIX is 1-based) -> intermediate world
 * coordinates through CD (eq. 1) -> native spherical (phi, theta) of the
 * zenithal TAN (eqs. 14, 15, 54) -> celestial with the native pole at
 * (CRVAL1, CRVAL2) and LONPOLE = 180 deg, the default for a zenithal
 * projection with CRVAL2 < 90 (eq. 2). */

static void
wcs_pix2sky(const mk_wcs *w, double x, double y, double *ra, double *dec)
{
    double p1 = x + 1.0 - w->crpix1, p2 = y + 1.0 - w->crpix2;
    double xw = w->cd11 * p1 + w->cd12 * p2;    /* degrees */
    double yw = w->cd21 * p1 + w->cd22 * p2;
    double r = hypot(xw, yw);
    double phi = (r == 0.0) ? 0.0 : atan2(xw, -yw);
    double theta = atan2(R2D, r);                /* tan(theta) = 180/(pi R) */
    double dphi = phi - M_PI;                    /* phi - LONPOLE */
    double dp = w->crval2 * D2R;
    double a, d;

    a = atan2(-cos(theta) * sin(dphi),
              sin(theta) * cos(dp) - cos(theta) * sin(dp) * cos(dphi));
    d = asin(sin(theta) * sin(dp) + cos(theta) * cos(dp) * cos(dphi));
    *ra = fmod(w->crval1 + a * R2D, 360.0);
    if (*ra < 0.0)
        *ra += 360.0;
    *dec = d * R2D;
}

static void
wcs_init(mk_wcs *w, const mk_opts *o)
{
    w->crval1 = CRVAL1_DEG;
    w->crval2 = CRVAL2_DEG;
    /* Non-integer reference pixel, different in x and y. */
    w->crpix1 = (double)(o->width / 2) + 0.5;
    w->crpix2 = (double)(o->height / 2) + 0.25;
    w->cd11 = CD11;
    w->cd12 = CD12;
    w->cd21 = CD21;
    w->cd22 = CD22;
}

/* ---------------------------------------------------------------- */
/* Options */

static void
usage(FILE *f)
{
    fprintf(f,
"usage: mkfield --out DIR [--bands g,r,i] [--size WxH] [--nsrc N]\n"
"               [--seed S] [--margin M] [--sat-radius R] [--tile NAME]\n"
"               [--compress] [--float64]\n"
"Write a synthetic field (FITS images, image list, catalogue, truth,\n"
"config) for pp-crop's tests.  Defaults: --bands g,r,i --size 200x160\n"
"--nsrc 60 --seed 1 --margin 20 --sat-radius 5.0; --tile defaults to\n"
"the name of DIR.  --nsrc counts random sources; %ld hand-placed rows\n"
"are always added.\n", NSPECIAL);
}

static int
parse_long(const char *s, long lo, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo)
        return -1;
    *out = v;
    return 0;
}

static int
valid_name(const char *s, const char *extra)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || strchr(extra, *s)))
            return 0;
    return 1;
}

static int
parse_bands(const char *list, mk_opts *o, mk_err *e)
{
    const char *p = list;
    int i;

    o->nbands = 0;
    while (1) {
        size_t n = strcspn(p, ",");

        if (o->nbands == MAX_BANDS)
            return mk_fail(e, "--bands: more than %d bands", MAX_BANDS);
        if (n == 0 || n >= sizeof o->bands[0])
            return mk_fail(e, "--bands '%s': empty or too long name", list);
        memcpy(o->bands[o->nbands], p, n);
        o->bands[o->nbands][n] = '\0';
        /* A band names a file and a FLUX_<band> column (SPEC §5.1). */
        if (!valid_name(o->bands[o->nbands], "-"))
            return mk_fail(e, "--bands: '%s': use letters, digits and '-'",
                           o->bands[o->nbands]);
        for (i = 0; i < o->nbands; i++)
            if (!strcmp(o->bands[i], o->bands[o->nbands]))
                return mk_fail(e, "--bands: '%s' given twice", o->bands[i]);
        o->nbands++;
        if (!p[n])
            break;
        p += n + 1;
    }
    return 0;
}

static int
parse_size(const char *s, mk_opts *o, mk_err *e)
{
    char w[32], *x;

    if (strlen(s) >= sizeof w)
        return mk_fail(e, "--size '%s': expected WxH", s);
    strcpy(w, s);
    x = strchr(w, 'x');
    if (!x)
        return mk_fail(e, "--size '%s': expected WxH", s);
    *x = '\0';
    if (parse_long(w, 1, &o->width) || parse_long(x + 1, 1, &o->height) ||
        o->width > 100000 || o->height > 100000)
        return mk_fail(e, "--size '%s': expected WxH, 1..100000 each", s);
    return 0;
}

static const char *
base_name(const char *path)
{
    size_t n = strlen(path);
    const char *b;

    while (n > 1 && path[n - 1] == '/')
        n--;
    b = path + n;
    while (b > path && b[-1] != '/')
        b--;
    return b;
}

static int
parse_args(int argc, char **argv, mk_opts *o, mk_err *e)
{
    const char *bands = "g,r,i", *tile = NULL;
    int i;

    memset(o, 0, sizeof *o);
    o->width = 200;
    o->height = 160;
    o->nsrc = 60;
    o->seed = 1;
    o->margin = 20;
    o->sat_radius = 5.0;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = (i + 1 < argc) ? argv[i + 1] : NULL;
        long n;
        char *end;

        if (!strcmp(a, "--compress")) {
            o->compress = 1;
            continue;
        }
        if (!strcmp(a, "--float64")) {
            o->float64 = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (!v)
            return mk_fail(e, "option '%s' unknown or missing its value", a);
        i++;
        if (!strcmp(a, "--out")) {
            o->out = v;
        } else if (!strcmp(a, "--bands")) {
            bands = v;
        } else if (!strcmp(a, "--size")) {
            if (parse_size(v, o, e))
                return -1;
        } else if (!strcmp(a, "--nsrc")) {
            if (parse_long(v, 0, &o->nsrc))
                return mk_fail(e, "--nsrc '%s': expected an integer >= 0", v);
        } else if (!strcmp(a, "--seed")) {
            if (parse_long(v, 0, &n))
                return mk_fail(e, "--seed '%s': expected an integer >= 0", v);
            o->seed = (uint64_t)n;
        } else if (!strcmp(a, "--margin")) {
            if (parse_long(v, 0, &o->margin))
                return mk_fail(e, "--margin '%s': expected an integer >= 0",
                               v);
        } else if (!strcmp(a, "--sat-radius")) {
            o->sat_radius = strtod(v, &end);
            if (end == v || *end || !(o->sat_radius >= 0.0) ||
                o->sat_radius > 1000.0)
                return mk_fail(e, "--sat-radius '%s': expected 0..1000", v);
        } else if (!strcmp(a, "--tile")) {
            tile = v;
        } else {
            return mk_fail(e, "unknown option '%s'", a);
        }
    }
    if (!o->out)
        return mk_fail(e, "--out DIR is required");
    if (parse_bands(bands, o, e))
        return -1;
    if (!tile)
        tile = base_name(o->out);
    if (strlen(tile) >= sizeof o->tile || !valid_name(tile, "-_."))
        return mk_fail(e, "--tile '%s': use letters, digits, '-', '_', '.'",
                       tile);
    strcpy(o->tile, tile);
    return 0;
}

/* ---------------------------------------------------------------- */
/* Bands and sources */

static void
bands_init(mk_band *bd, const mk_opts *o, const mk_wcs *w)
{
    double pixscale_arcsec = sqrt(fabs(w->cd11 * w->cd22 -
                                       w->cd12 * w->cd21)) * 3600.0;
    int b;

    for (b = 0; b < o->nbands; b++) {
        bd[b].name = o->bands[b];
        bd[b].zp = band_zp[b % 8];
        bd[b].skysig = band_skysig[b % 8];
        bd[b].scale = pow(10.0, -0.4 * (bd[b].zp - ZP_REF)); /* SPEC §5.3 */
        bd[b].fwhm_pix = band_fwhm_pix[b % 8];
        bd[b].sigma_pix = bd[b].fwhm_pix / FWHM_SIGMA;
        /* SPEC §5.3: the last band has SEEING (arcsec) only, so the
         * SEEING rule runs; the first of several bands has both, with a
         * SEEING that disagrees, so PEEING must win. */
        bd[b].write_peeing = (b < o->nbands - 1);
        bd[b].write_seeing = (b == o->nbands - 1) || b == 0;
        bd[b].seeing_arcsec = (b == o->nbands - 1)
            ? bd[b].fwhm_pix * pixscale_arcsec : 9.99;
    }
}

/* Fraction of a unit Gaussian centred on c (sigma s) falling in pixel i,
 * which covers [i-0.5, i+0.5) (SPEC §3.1). */
static double
pixel_frac(double c, long i, double s)
{
    double k = 1.0 / (sqrt(2.0) * s);

    return 0.5 * (erf((i + 0.5 - c) * k) - erf((i - 0.5 - c) * k));
}

/* Keep random positions clear of the ambiguous places: half-integers
 * (rounding, SPEC §3.1) and the crop box edges (half-open box). */
static double
nudge(double v, long lo, long hi)
{
    int k;

    for (k = 0; k < 100; k++) {
        double f = v - floor(v);

        if (fabs(f - 0.5) > 0.02 && fabs(v - lo) > 0.02 &&
            fabs(v - hi) > 0.02)
            break;
        v += 0.05;
    }
    return v;
}

static void
set_galaxy(mk_source *s, double re, double q, int theta90)
{
    double smaj = re / RE_SIGMA, smin = q * smaj;

    s->is_star = 0;
    s->gsx = theta90 ? smin : smaj;
    s->gsy = theta90 ? smaj : smin;
    s->ell = 1.0 - q;
    s->theta = theta90 ? 90.0 : 0.0;
    s->re = re;
}

static void
set_star(mk_source *s)
{
    s->is_star = 1;
    s->gsx = s->gsy = 0.0;
    s->ell = s->theta = s->re = NAN;
}

static int
type_is_star(const char *t)
{
    return !strcmp(t, "STAR") || !strcmp(t, "star");
}

/* Flux from an AB magnitude in the scaled system (SPEC §5.3), raw ADU. */
static void
set_mag(mk_source *s, const mk_band *bd, int nb, double mag, double colour)
{
    int b;

    for (b = 0; b < nb; b++) {
        double m = mag + colour * (b - 0.5 * (nb - 1));

        s->flux_raw[b] = pow(10.0, -0.4 * (m - ZP_REF)) / bd[b].scale;
    }
}

static void
make_random(mk_source *s, long k, const mk_opts *o, const mk_band *bd,
            mk_rng *r)
{
    long W = o->width, H = o->height, m = o->margin;
    double u_x = rng_uniform(r), u_y = rng_uniform(r);
    double mag = 16.0 + 6.0 * rng_uniform(r);
    double colour = -0.3 + 0.6 * rng_uniform(r);
    double re = 1.0 + 2.5 * rng_uniform(r);
    double q = 0.5 + 0.5 * rng_uniform(r);
    int theta90 = rng_uniform(r) < 0.5;

    snprintf(s->id, sizeof s->id, "%ld", 1858283L + 13L * k);
    s->type = random_types[k % NTYPES];
    s->note = random_notes[k % NNOTES];
    if (k % NNOTES == NOTE_NEWLINE && k != NOTE_NEWLINE)
        s->note = random_notes[0];
    /* Positions spill 5 px past the image so some rows are off it. */
    s->x = nudge(-5.0 + (W + 10.0) * u_x, m, W - m);
    s->y = nudge(-5.0 + (H + 10.0) * u_y, m, H - m);
    s->coords = CO_OK;
    if (type_is_star(s->type))
        set_star(s);
    else
        set_galaxy(s, re, q, theta90);
    if (!s->is_star && k % 5 == 3)
        s->re = NAN;             /* an empty Re cell */
    s->flux_empty_band = (k % 9 == 4) ? (int)(k % o->nbands) : -1;
    set_mag(s, bd, o->nbands, mag, colour);
}

/* A saturating star's flux is set from the peak it must reach in its
 * brightest pixel, band by band. */
static void
set_peaks(mk_source *s, const mk_special *sp, const mk_band *bd, int nb)
{
    long ix = lrint(s->x), iy = lrint(s->y);
    int b;

    for (b = 0; b < nb; b++) {
        int sat = sp->sat == SAT_ALL || (sp->sat == SAT_BUT_LAST &&
                  b < nb - 1) || (sp->sat == SAT_FIRST && b == 0);
        double f = pixel_frac(s->x, ix, bd[b].sigma_pix) *
                   pixel_frac(s->y, iy, bd[b].sigma_pix);

        s->flux_raw[b] = (sat ? PEAK_SAT : PEAK_UNSAT) / f;
    }
}

static void
make_special(mk_source *s, const mk_special *sp, const mk_opts *o,
             const mk_band *bd)
{
    snprintf(s->id, sizeof s->id, "%s", sp->id);
    s->type = sp->type;
    s->note = sp->note;
    s->x = sp->ax * o->width + sp->bx * o->margin + sp->cx;
    s->y = sp->ay * o->height + sp->by * o->margin + sp->cy;
    s->coords = sp->coords;
    s->hot_dx = sp->hot_dx;
    s->hot_dy = sp->hot_dy;
    s->hot_value = sp->hot_value;
    s->flux_empty_band = -1;
    if (type_is_star(s->type))
        set_star(s);
    else
        set_galaxy(s, 2.0, 0.7, 0);
    if (sp->sat != SAT_NONE)
        set_peaks(s, sp, bd, o->nbands);
    else
        set_mag(s, bd, o->nbands, sp->hot_value > 0 ? 20.0 : 19.0, 0.0);
}

/* Hand-placed rows are spread evenly among the random ones. */
static mk_source *
make_sources(const mk_opts *o, const mk_band *bd, long *nout, double **fbuf)
{
    long n = o->nsrc + NSPECIAL, k = 0, j = 0, r;
    mk_source *src = calloc((size_t)n, sizeof *src);
    double *flux = calloc((size_t)n * o->nbands, sizeof *flux);
    mk_rng rng;

    if (!src || !flux) {
        free(src);
        free(flux);
        return NULL;
    }
    rng_init(&rng, o->seed, 0);
    for (r = 0; r < n; r++) {
        long slot = (j + 1) * n / (NSPECIAL + 1);

        src[r].flux_raw = flux + (size_t)r * o->nbands;
        if (j < NSPECIAL && (r >= slot || k == o->nsrc))
            make_special(&src[r], &specials[j++], o, bd);
        else
            make_random(&src[r], k++, o, bd, &rng);
    }
    *nout = n;
    *fbuf = flux;
    return src;
}

/* ---------------------------------------------------------------- */
/* Pixels of one band */

static void
add_source(float *img, const mk_opts *o, const mk_source *s, double psf_s,
           double flux, double *ex, double *ey)
{
    long W = o->width, H = o->height, i, j, x0, x1, y0, y1;
    double sx = hypot(psf_s, s->gsx), sy = hypot(psf_s, s->gsy);
    long half = (long)ceil(STAMP_NSIG * fmax(sx, sy)) + 1;

    x0 = (long)floor(s->x) - half;
    x1 = (long)floor(s->x) + half + 1;
    y0 = (long)floor(s->y) - half;
    y1 = (long)floor(s->y) + half + 1;
    if (x1 <= 0 || y1 <= 0 || x0 >= W || y0 >= H)
        return;
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > W ? W : x1;
    y1 = y1 > H ? H : y1;
    /* The Gaussian is separable: integrate each axis once. */
    for (i = x0; i < x1; i++)
        ex[i - x0] = pixel_frac(s->x, i, sx);
    for (j = y0; j < y1; j++)
        ey[j - y0] = pixel_frac(s->y, j, sy);
    for (j = y0; j < y1; j++) {
        float *row = img + (size_t)j * W;

        for (i = x0; i < x1; i++)
            row[i] += (float)(flux * ex[i - x0] * ey[j - y0]);
    }
}

static void
build_band(float *img, const mk_opts *o, const mk_band *bd, int b,
           const mk_source *src, long n, double *ex, double *ey)
{
    size_t npix = (size_t)o->width * o->height, p;
    long k, i, j;
    mk_rng rng;

    rng_init(&rng, o->seed, 1000 + (uint64_t)b);
    for (p = 0; p < npix; p++)
        img[p] = (float)(bd[b].skysig * rng_gauss(&rng));
    for (k = 0; k < n; k++)
        if (src[k].coords == CO_OK)
            add_source(img, o, &src[k], bd[b].sigma_pix,
                       src[k].flux_raw[b], ex, ey);
    /* A detector clips at its full well. */
    for (p = 0; p < npix; p++)
        if (img[p] > SATURATE)
            img[p] = (float)SATURATE;
    /* Planted pixels in the first band test the saturation disk. */
    for (k = 0; b == 0 && k < n; k++) {
        if (src[k].hot_value <= 0)
            continue;
        i = lrint(src[k].x) + src[k].hot_dx;
        j = lrint(src[k].y) + src[k].hot_dy;
        if (i >= 0 && i < o->width && j >= 0 && j < o->height)
            img[(size_t)j * o->width + i] = (float)src[k].hot_value;
    }
    /* A small NaN block in the second band (SPEC §5.3 nonfinite). */
    if (b == (o->nbands > 1 ? 1 : 0))
        for (j = (long)(0.45 * o->height);
             j < (long)(0.45 * o->height) + NAN_BLOCK_H; j++)
            for (i = (long)(0.55 * o->width);
                 i < (long)(0.55 * o->width) + NAN_BLOCK_W; i++)
                if (i < o->width && j < o->height)
                    img[(size_t)j * o->width + i] = NAN;
}

/* SPEC §6.1 step 5, computed from this program's own pixels: does any
 * pixel of the disk dx^2+dy^2 <= R^2 around the rounded position that
 * lies inside the working frame (the crop box) reach SATURATE/2? */
static int
disk_hits(const float *img, const mk_opts *o, const mk_source *s)
{
    long m = o->margin, ix = lrint(s->x), iy = lrint(s->y);
    long ir = (long)floor(o->sat_radius), dx, dy;
    double r2 = o->sat_radius * o->sat_radius;

    for (dy = -ir; dy <= ir; dy++)
        for (dx = -ir; dx <= ir; dx++) {
            long i = ix + dx, j = iy + dy;
            float v;

            if ((double)(dx * dx + dy * dy) > r2 || i < m ||
                i >= o->width - m || j < m || j >= o->height - m)
                continue;
            v = img[(size_t)j * o->width + i];
            if (isfinite(v) && (double)v >= SAT_LEVEL)
                return 1;
        }
    return 0;
}

/* ---------------------------------------------------------------- */
/* FITS output */

static void
band_path(char *buf, size_t size, const mk_opts *o, const char *band,
          int with_dir)
{
    snprintf(buf, size, "%s%s%s.fits%s", with_dir ? o->out : "",
             with_dir ? "/" : "", band, o->compress ? ".fz" : "");
}

/* Every WCS number must read back as the double the truth was made
 * from; otherwise the truth would be off by the printing error. */
static int
check_wcs_keys(fitsfile *f, const mk_wcs *w, const char *path, mk_err *e)
{
    const char *keys[8] = { "CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2",
                            "CD1_1", "CD1_2", "CD2_1", "CD2_2" };
    const double want[8] = { w->crval1, w->crval2, w->crpix1, w->crpix2,
                             w->cd11, w->cd12, w->cd21, w->cd22 };
    int k, status = 0;

    for (k = 0; k < 8; k++) {
        double v;

        if (fits_read_key_dbl(f, keys[k], &v, NULL, &status))
            return fits_fail(e, "cannot read back WCS of", path, status);
        if (v != want[k])
            return mk_fail(e, "%s: %s reads back as %.17g, not %.17g", path,
                           keys[k], v, want[k]);
    }
    return 0;
}

static int
write_header(fitsfile *f, const mk_band *bd, const mk_wcs *w, int *status)
{
    fits_write_key_str(f, "FILTER", bd->name, "band", status);
    fits_write_key_dbl(f, "ZP_AUTO", bd->zp, -15, "AB zero point [mag]",
                       status);
    fits_write_key_dbl(f, "SKYSIG", bd->skysig, -15, "sky sigma [ADU]",
                       status);
    fits_write_key_dbl(f, "EGAIN", EGAIN, -15, "gain [e-/ADU]", status);
    fits_write_key_dbl(f, "SATURATE", SATURATE, -15, "saturation [ADU]",
                       status);
    if (bd->write_peeing)
        fits_write_key_dbl(f, "PEEING", bd->fwhm_pix, -15,
                           "PSF FWHM [pixel]", status);
    if (bd->write_seeing)
        fits_write_key_dbl(f, "SEEING", bd->seeing_arcsec, -15,
                           bd->write_peeing ? "PSF FWHM [arcsec] (PEEING "
                           "wins)" : "PSF FWHM [arcsec]", status);
    fits_write_key_str(f, "BUNIT", "ADU", "background-subtracted", status);
    fits_write_key_str(f, "CTYPE1", "RA---TAN", NULL, status);
    fits_write_key_str(f, "CTYPE2", "DEC--TAN", NULL, status);
    fits_write_key_dbl(f, "CRVAL1", w->crval1, -15, "[deg]", status);
    fits_write_key_dbl(f, "CRVAL2", w->crval2, -15, "[deg]", status);
    fits_write_key_dbl(f, "CRPIX1", w->crpix1, -15, "1-based", status);
    fits_write_key_dbl(f, "CRPIX2", w->crpix2, -15, "1-based", status);
    fits_write_key_dbl(f, "CD1_1", w->cd11, -15, NULL, status);
    fits_write_key_dbl(f, "CD1_2", w->cd12, -15, NULL, status);
    fits_write_key_dbl(f, "CD2_1", w->cd21, -15, NULL, status);
    fits_write_key_dbl(f, "CD2_2", w->cd22, -15, NULL, status);
    fits_write_key_str(f, "RADESYS", "ICRS", NULL, status);
    fits_write_key_dbl(f, "EQUINOX", 2000.0, -15, NULL, status);
    return *status;
}

static int
write_fits(const float *img, const mk_opts *o, const mk_band *bd,
           const mk_wcs *w, mk_err *e)
{
    char path[4096], bang[4100];
    long naxes[2] = { o->width, o->height };
    fitsfile *f = NULL;
    int status = 0, cstatus = 0;

    band_path(path, sizeof path, o, bd->name, 1);
    snprintf(bang, sizeof bang, "!%s", path);
    if (fits_create_file(&f, bang, &status))
        return fits_fail(e, "cannot create", path, status);
    if (o->compress) {
        /* Lossless: GZIP_2 of unquantized floats (quantize level 0). */
        fits_set_compression_type(f, GZIP_2, &status);
        fits_set_quantize_level(f, 0.0f, &status);
    }
    fits_create_img(f, o->float64 ? DOUBLE_IMG : FLOAT_IMG, 2, naxes,
                    &status);
    write_header(f, bd, w, &status);
    fits_write_img(f, TFLOAT, 1, (LONGLONG)o->width * o->height,
                   (void *)img, &status);
    if (status) {
        fits_close_file(f, &cstatus);
        return fits_fail(e, "cannot write", path, status);
    }
    if (check_wcs_keys(f, w, path, e)) {
        fits_close_file(f, &cstatus);
        return -1;
    }
    if (fits_close_file(f, &status))
        return fits_fail(e, "cannot close", path, status);
    return 0;
}

/* ---------------------------------------------------------------- */
/* Text output */

/* RFC 4180: quote a field holding ',', '"', CR or LF; double quotes. */
static void
csv_field(FILE *f, const char *s, int last)
{
    if (strpbrk(s, ",\"\r\n")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputc(last ? '\n' : ',', f);
}

/* Shortest of %.15g, %.16g, %.17g that reads back (SPEC §3.4). */
static void
fmt_double(char *buf, size_t size, double v)
{
    int p;

    if (!isfinite(v)) {
        buf[0] = '\0';
        return;
    }
    for (p = 15; p <= 17; p++) {
        snprintf(buf, size, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            break;
    }
}

static FILE *
open_out(const mk_opts *o, const char *name, char *path, size_t size,
         mk_err *e)
{
    FILE *f;

    snprintf(path, size, "%s/%s", o->out, name);
    f = fopen(path, "w");
    if (!f)
        mk_fail(e, "cannot create '%s': %s", path, strerror(errno));
    return f;
}

static int
close_out(FILE *f, const char *path, mk_err *e)
{
    int bad = ferror(f);

    if (fclose(f) || bad)
        return mk_fail(e, "cannot write '%s': %s", path, strerror(errno));
    return 0;
}

static void
coord_text(const mk_source *s, const mk_wcs *w, char *ra, char *dec,
           size_t size)
{
    double a, d;

    /* Twelve decimals: 5e-13 deg is ~4e-9 px, far below the test's
     * 1e-6 px tolerance on the projection. */
    wcs_pix2sky(w, s->x, s->y, &a, &d);
    snprintf(ra, size, "%.12f", a);
    snprintf(dec, size, "%.12f", d);
    if (s->coords == CO_RA_EMPTY)
        ra[0] = '\0';
    else if (s->coords == CO_RA_NAN)
        snprintf(ra, size, "NaN");
    else if (s->coords == CO_DEC_TEXT)
        snprintf(dec, size, "abc");
    else if (s->coords == CO_DEC_INF)
        snprintf(dec, size, "inf");
}

static void
write_catalog_row(FILE *f, const mk_source *s, const mk_opts *o,
                  const mk_band *bd, const mk_wcs *w)
{
    char ra[64], dec[64], buf[64];
    int b;

    coord_text(s, w, ra, dec, sizeof ra);
    csv_field(f, s->id, 0);
    csv_field(f, ra, 0);
    csv_field(f, dec, 0);
    csv_field(f, s->type, 0);
    for (b = 0; b < o->nbands; b++) {
        buf[0] = '\0';
        if (b != s->flux_empty_band)
            snprintf(buf, sizeof buf, "%.4f",
                     s->flux_raw[b] * bd[b].scale);
        csv_field(f, buf, 0);
    }
    snprintf(buf, sizeof buf, isfinite(s->ell) ? "%.3f" : "", s->ell);
    csv_field(f, buf, 0);
    snprintf(buf, sizeof buf, isfinite(s->theta) ? "%.1f" : "", s->theta);
    csv_field(f, buf, 0);
    snprintf(buf, sizeof buf, isfinite(s->re) ? "%.3f" : "", s->re);
    csv_field(f, buf, 0);
    csv_field(f, s->note, 1);
}

static int
write_catalog(const mk_opts *o, const mk_band *bd, const mk_wcs *w,
              const mk_source *src, long n, mk_err *e)
{
    char path[4200];
    FILE *f = open_out(o, "input_catalog.csv", path, sizeof path, e);
    long k;
    int b;

    if (!f)
        return -1;
    fputs("ID,RA,DEC,TYPE,", f);
    for (b = 0; b < o->nbands; b++)
        fprintf(f, "FLUX_%s,", bd[b].name);
    fputs("ELL,THETA,Re,note\n", f);
    for (k = 0; k < n; k++)
        write_catalog_row(f, &src[k], o, bd, w);
    return close_out(f, path, e);
}

static int
in_crop(const mk_source *s, const mk_opts *o)
{
    long m = o->margin;

    return s->coords == CO_OK && s->x >= m && s->x < o->width - m &&
           s->y >= m && s->y < o->height - m;
}

static int
write_truth(const mk_opts *o, const mk_band *bd, const mk_source *src,
            long n, mk_err *e)
{
    char path[4200], buf[64];
    FILE *f = open_out(o, "truth.csv", path, sizeof path, e);
    long k;
    int b;

    if (!f)
        return -1;
    fputs("ID,x_full,y_full,in_crop,saturated_any,saturated_all,"
          "has_coords", f);
    for (b = 0; b < o->nbands; b++)
        fprintf(f, ",flux_%s", bd[b].name);
    fputc('\n', f);
    for (k = 0; k < n; k++) {
        const mk_source *s = &src[k];
        int ok = s->coords == CO_OK;

        csv_field(f, s->id, 0);
        fmt_double(buf, sizeof buf, ok ? s->x : NAN);
        csv_field(f, buf, 0);
        fmt_double(buf, sizeof buf, ok ? s->y : NAN);
        csv_field(f, buf, 0);
        fprintf(f, "%s,%s,%s,%s", in_crop(s, o) ? "True" : "False",
                s->sat_hits > 0 ? "True" : "False",
                s->sat_hits == o->nbands ? "True" : "False",
                ok ? "True" : "False");
        for (b = 0; b < o->nbands; b++) {
            fmt_double(buf, sizeof buf, s->flux_raw[b] * bd[b].scale);
            fprintf(f, ",%s", buf);
        }
        fputc('\n', f);
    }
    return close_out(f, path, e);
}

/* A comment line and a blank line that readers must skip (SPEC §5.2). */
static int
write_image_list(const mk_opts *o, mk_err *e)
{
    char path[4200], name[256];
    FILE *f = open_out(o, "image_list.txt", path, sizeof path, e);
    int b;

    if (!f)
        return -1;
    fprintf(f, "# images of %s, written by mkfield\n", o->tile);
    for (b = 0; b < o->nbands; b++) {
        band_path(name, sizeof name, o, o->bands[b], 0);
        fprintf(f, "%s\n", name);
        if (b == 0)
            fputc('\n', f);
    }
    return close_out(f, path, e);
}

static int
write_config(const mk_opts *o, mk_err *e)
{
    char path[4200], radius[64];
    FILE *f = open_out(o, "config.yaml", path, sizeof path, e);

    if (!f)
        return -1;
    /* A float key must look like a float in YAML: keep a '.'. */
    fmt_double(radius, sizeof radius, o->sat_radius);
    if (!strpbrk(radius, ".e"))
        strcat(radius, ".0");
    fprintf(f,
            "# pp-crop test field written by mkfield (tests/data/mkfield.c)"
            "\n# seed %llu, %ldx%ld, %ld random + %ld hand-placed sources"
            "\ninputs:\n"
            "  tile_name: \"%s\"\n"
            "  input_catalog: input_catalog.csv\n"
            "  image_list_file: image_list.txt\n"
            "  gaiaxp_synphot_csv: null\n"
            "outputs:\n"
            "  work_dir: work\n"
            "crop:\n"
            "  margin: %ld\n"
            "source_saturation_cut:\n"
            "  radius_pix: %s\n"
            "logging:\n"
            "  file: auto\n",
            (unsigned long long)o->seed, o->width, o->height, o->nsrc,
            NSPECIAL, o->tile, o->margin, radius);
    return close_out(f, path, e);
}

/* ---------------------------------------------------------------- */

static int
make_field(const mk_opts *o, mk_err *e)
{
    mk_band bd[MAX_BANDS];
    mk_wcs w;
    mk_source *src = NULL;
    double *flux = NULL, *ex = NULL, *ey = NULL;
    float *img = NULL;
    long n = 0, k, exn = o->width + o->height + 64;
    int b, rc = -1;

    if (mkdir(o->out, 0777) && errno != EEXIST)
        return mk_fail(e, "cannot create '%s': %s", o->out, strerror(errno));
    wcs_init(&w, o);
    bands_init(bd, o, &w);
    src = make_sources(o, bd, &n, &flux);
    img = malloc((size_t)o->width * o->height * sizeof *img);
    ex = malloc((size_t)exn * sizeof *ex);
    ey = malloc((size_t)exn * sizeof *ey);
    if (!src || !img || !ex || !ey) {
        mk_fail(e, "out of memory for a %ldx%ld image", o->width, o->height);
        goto out;
    }
    /* One band at a time: build, score the saturation disks, write. */
    for (b = 0; b < o->nbands; b++) {
        build_band(img, o, bd, b, src, n, ex, ey);
        for (k = 0; k < n; k++)
            if (src[k].coords == CO_OK)
                src[k].sat_hits += disk_hits(img, o, &src[k]);
        if (write_fits(img, o, &bd[b], &w, e))
            goto out;
    }
    if (write_catalog(o, bd, &w, src, n, e) || write_truth(o, bd, src, n, e)
        || write_image_list(o, e) || write_config(o, e))
        goto out;
    rc = 0;
out:
    free(img);
    free(ex);
    free(ey);
    free(flux);
    free(src);
    return rc;
}

int
main(int argc, char **argv)
{
    mk_opts o;
    mk_err e = { "" };

    if (parse_args(argc, argv, &o, &e)) {
        fprintf(stderr, "mkfield: %s\n", e.msg);
        usage(stderr);
        return 2;
    }
    if (make_field(&o, &e)) {
        fprintf(stderr, "mkfield: %s\n", e.msg);
        return 1;
    }
    return 0;
}
