/* tables.c - the text files of a field (SPEC §15): image_list.txt, the
 * hostile input catalogue, the GaiaXP photometry, the truth tables and a
 * config.yaml fitted to the field.  CSVs go through pp_table/pp_csv
 * (RFC 4180, atomic). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_csv.h"
#include "pp_io.h"
#include "pp_mem.h"
#include "pp_table.h"

#include "sim.h"

#define GAIA_G_MAX 21.0             /* Gaia's depth, roughly */
#define FLUX_EMPTY_EVERY 9          /* every 9th FLUX_ cell is empty */

static const char *const kind_name[] = { "star", "exp", "dev", "sersic" };

/* Set a cell from a printf format. */
static void setf(pp_table *t, long row, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void setf(pp_table *t, long row, int col, const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    pp_table_set(t, row, col, buf);
}

static void setd(pp_table *t, long row, int col, double v)
{
    char buf[32];

    pp_table_set(t, row, col, pp_csv_format_double(v, buf));
}

static int write_table(const sim_field *f, const char *name, pp_table *t,
                       pp_error *err)
{
    char *path = pp_io_path_join(f->set.out, name);
    int rc = pp_csv_write(path, t, err);

    free(path);
    pp_table_release(t);
    return rc;
}

/* ADU to the scaled flux system of SPEC §5.3 (header ZP_AUTO). */
static double scaled(const sim_field *f, int b, double adu)
{
    return adu * pow(10.0, -0.4 * (f->bands[b].zp_auto - 25.0));
}

/* A deterministic multiplicative error for catalogue guesses, in
 * [1 - a, 1 + a], from the source index (no generator needed). */
static double jitter(long i, int k, double a)
{
    unsigned long h = (unsigned long)i * 2654435761UL + (unsigned long)k *
                      40503UL + 12345UL;

    h ^= h >> 13;
    h *= 0x5bd1e995UL;
    h ^= h >> 15;
    return 1.0 + a * (2.0 * (double)(h % 100000UL) / 99999.0 - 1.0);
}

static void catalog_row(const sim_field *f, pp_table *t, long row, long i)
{
    const sim_source *s = &f->src[i];
    int nb = f->set.nbands, c = 0;

    pp_table_set(t, row, c++, s->id);
    if (s->no_coords) {
        c += 2;                     /* RA and DEC left empty */
    } else {
        setf(t, row, c++, "%.9f", s->ra);
        setf(t, row, c++, "%.9f", s->dec);
    }
    pp_table_set(t, row, c++, s->type_text);
    for (int b = 0; b < nb; ++b, ++c)
        if ((i + b) % FLUX_EMPTY_EVERY != 0)
            setf(t, row, c, "%.4g", scaled(f, b, s->flux_adu[b]) *
                 jitter(i, b, 0.2));
    if (s->kind != SIM_STAR) {
        setf(t, row, c, "%.3f", fmin(0.95, (1.0 - s->q) *
                                     jitter(i, 101, 0.1)));
        setf(t, row, c + 1, "%.1f", s->theta * 180.0 / M_PI);
        setf(t, row, c + 2, "%.3f", s->re * jitter(i, 102, 0.1));
    }
    c += 3;
    if (isfinite(s->pos_err))
        setf(t, row, c, "%.3f", s->pos_err);
}

static int write_catalog(const sim_field *f, pp_error *err)
{
    pp_table t = PP_TABLE_INIT;
    int nb = f->set.nbands;

    pp_table_add_column(&t, "ID", -1);
    pp_table_add_column(&t, "RA", -1);
    pp_table_add_column(&t, "DEC", -1);
    pp_table_add_column(&t, "TYPE", -1);
    for (int b = 0; b < nb; ++b) {
        char name[96];
        snprintf(name, sizeof name, "FLUX_%s", f->set.band[b]);
        pp_table_add_column(&t, name, -1);
    }
    pp_table_add_column(&t, "ELL", -1);
    pp_table_add_column(&t, "THETA", -1);
    pp_table_add_column(&t, "Re", -1);
    pp_table_add_column(&t, "POS_ERR", -1);
    for (long i = 0; i < f->nsrc; ++i)
        if (f->src[i].in_catalog)
            catalog_row(f, &t, pp_table_add_row(&t), i);
    return write_table(f, "input_catalog.csv", &t, err);
}

/* The G magnitude: the true magnitude in the middle band. */
static double gaia_g(const sim_field *f, const sim_source *s)
{
    int b = f->set.nbands / 2;

    return f->bands[b].zp_true - 2.5 * log10(s->rendered[b]);
}

static int write_gaia(const sim_field *f, pp_error *err)
{
    pp_table t = PP_TABLE_INIT;
    int nb = f->set.nbands;

    pp_table_add_column(&t, "source_id", -1);
    pp_table_add_column(&t, "ra", -1);
    pp_table_add_column(&t, "dec", -1);
    pp_table_add_column(&t, "phot_g_mean_mag", -1);
    for (int b = 0; b < nb; ++b) {
        char name[96];
        snprintf(name, sizeof name, "mag_%s", f->set.band[b]);
        pp_table_add_column(&t, name, -1);
    }
    for (long i = 0; i < f->nsrc; ++i) {
        const sim_source *s = &f->src[i];
        long row;
        if (!s->in_gaia || s->no_coords || gaia_g(f, s) > GAIA_G_MAX)
            continue;
        row = pp_table_add_row(&t);
        pp_table_set(&t, row, 0, s->gaia_id);
        setf(&t, row, 1, "%.10f", s->ra);
        setf(&t, row, 2, "%.10f", s->dec);
        setf(&t, row, 3, "%.4f", gaia_g(f, s));
        /* SPEC §15: the true AB magnitude of the rendered flux. */
        for (int b = 0; b < nb; ++b)
            setd(&t, row, 4 + b, f->bands[b].zp_true -
                 2.5 * log10(s->rendered[b]));
    }
    return write_table(f, "gaiaxp_synphot.csv", &t, err);
}

/* Tapered over infinite flux of a galaxy (SPEC §15), 1 for stars. */
static double taper_ratio(const sim_source *s)
{
    sim_sersic g = { s->n, s->re, s->q, s->theta,
                     s->kind == SIM_EXP ? 3.0 : 7.0,
                     s->kind == SIM_EXP ? 4.0 : 8.0 };
    sim_sersic inf = g;

    if (s->kind == SIM_STAR)
        return 1.0;
    inf.t1 = inf.t2 = 0;
    return sim_sersic_total(&g) / sim_sersic_total(&inf);
}

static const char *const truth_cols[] = {
    "ID", "type", "x_full", "y_full", "ra", "dec", "sersic_n", "re_pix",
    "ab", "theta_deg", "in_catalog", "in_gaia", "gaia_source_id",
    "saturated", "pair", "taper_ratio"
};
enum { N_TRUTH_COLS = sizeof truth_cols / sizeof *truth_cols };

static void truth_row(const sim_field *f, pp_table *t, long row, long i)
{
    const sim_source *s = &f->src[i];
    int nb = f->set.nbands, c = N_TRUTH_COLS;
    int gal = s->kind != SIM_STAR;

    pp_table_set(t, row, 0, s->id);
    pp_table_set(t, row, 1, kind_name[s->kind]);
    setd(t, row, 2, s->x);
    setd(t, row, 3, s->y);
    setf(t, row, 4, "%.9f", s->ra);
    setf(t, row, 5, "%.9f", s->dec);
    if (gal) {
        setd(t, row, 6, s->n);
        setd(t, row, 7, s->re);
        setd(t, row, 8, s->q);
        setd(t, row, 9, s->theta * 180.0 / M_PI);
    }
    pp_table_set(t, row, 10, pp_csv_format_bool(s->in_catalog));
    pp_table_set(t, row, 11, pp_csv_format_bool(s->in_gaia));
    pp_table_set(t, row, 12, s->in_gaia ? s->gaia_id : "");
    pp_table_set(t, row, 13, pp_csv_format_bool(s->saturated));
    pp_table_set(t, row, 14, pp_csv_format_bool(s->pair));
    setd(t, row, 15, taper_ratio(s));
    for (int b = 0; b < nb; ++b) {
        sim_psf p = sim_field_psf(f, b, s->x, s->y);
        setd(t, row, c + b, scaled(f, b, s->rendered[b]));
        setd(t, row, c + nb + b, f->bands[b].zp_true -
             2.5 * log10(s->rendered[b]));
        setd(t, row, c + 2 * nb + b, p.fwhm);
    }
}

static int write_truth(const sim_field *f, pp_error *err)
{
    static const char *const per_band[] = { "FLUX_%s", "mag_%s",
                                            "fwhm_%s" };
    pp_table t = PP_TABLE_INIT;
    int nb = f->set.nbands;

    for (int c = 0; c < N_TRUTH_COLS; ++c)
        pp_table_add_column(&t, truth_cols[c], -1);
    for (int k = 0; k < 3; ++k)
        for (int b = 0; b < nb; ++b) {
            char name[96];
            snprintf(name, sizeof name, per_band[k], f->set.band[b]);
            pp_table_add_column(&t, name, -1);
        }
    for (long i = 0; i < f->nsrc; ++i)
        if (!f->src[i].no_coords)
            truth_row(f, &t, pp_table_add_row(&t), i);
    return write_table(f, "truth.csv", &t, err);
}

static int write_truth_bands(const sim_field *f, pp_error *err)
{
    static const char *const cols[] = { "band", "zp_true", "zp_auto",
                                        "dzp", "fwhm_min", "fwhm_max",
                                        "skysig", "egain", "sky_adu",
                                        "saturate" };
    pp_table t = PP_TABLE_INIT;

    for (size_t c = 0; c < sizeof cols / sizeof *cols; ++c)
        pp_table_add_column(&t, cols[c], -1);
    for (int b = 0; b < f->set.nbands; ++b) {
        const sim_band *B = &f->bands[b];
        long row = pp_table_add_row(&t);
        pp_table_set(&t, row, 0, f->set.band[b]);
        setd(&t, row, 1, B->zp_true);
        setd(&t, row, 2, B->zp_auto);
        setd(&t, row, 3, B->zp_auto - B->zp_true);
        setd(&t, row, 4, B->fwhm_min);
        setd(&t, row, 5, B->fwhm_max);
        setd(&t, row, 6, B->skysig);
        setd(&t, row, 7, B->egain);
        setd(&t, row, 8, B->sky);
        setd(&t, row, 9, B->saturate);
    }
    return write_table(f, "truth_bands.csv", &t, err);
}

static int write_image_list(const sim_field *f, pp_error *err)
{
    size_t cap = 64;
    char *text = pp_xmalloc(cap), *path;
    size_t n = (size_t)snprintf(text, cap, "# images written by pp-sim\n");
    int rc;

    for (int b = 0; b < f->set.nbands; ++b) {
        size_t need = strlen(f->set.band[b]) + 8;
        if (n + need >= cap) {
            cap = 2 * (n + need);
            text = pp_xrealloc(text, cap);
        }
        n += (size_t)snprintf(text + n, cap - n, "%s.fits\n",
                              f->set.band[b]);
    }
    path = pp_io_path_join(f->set.out, "image_list.txt");
    rc = pp_io_write_text(path, text, err);
    free(path);
    free(text);
    return rc;
}

void sim_epsf_grid(const sim_field *f, long *epsf_ngrid, long *ngrid)
{
    long ww = f->set.width - 2 * f->set.margin;
    long wh = f->set.height - 2 * f->set.margin;
    long e = f->set.epsf_ngrid > 0 ? f->set.epsf_ngrid
             : lround((double)ww / 1300.0), g, sx, sy;

    *epsf_ngrid = e = e < 1 ? 1 : e;
    sx = ww / e;
    sy = wh / e;
    g = lround((double)(sx < sy ? sx : sy) / 250.0);
    *ngrid = g < 1 ? 1 : g;
}

/* SPEC §15: a config fitted to the field, paths relative to it. */
static int write_config(const sim_field *f, pp_error *err)
{
    long e, g;
    char *text, *path;
    int rc;

    sim_epsf_grid(f, &e, &g);
    text = pp_xasprintf(
        "# patchphot configuration written by pp-sim (seed %lu, %ldx%ld, "
        "%d bands)\n"
        "inputs:\n"
        "  tile_name: \"sim\"\n"
        "  input_catalog: input_catalog.csv\n"
        "  image_list_file: image_list.txt\n"
        "  gaiaxp_synphot_csv: gaiaxp_synphot.csv\n"
        "outputs:\n"
        "  work_dir: work\n"
        "crop:\n"
        "  margin: %ld\n"
        "epsf:\n"
        "  epsf_ngrid: %ld\n"
        "  ngrid: %ld\n"
        "plotting:\n"
        "  enabled: true\n",
        f->set.seed, f->set.width, f->set.height, f->set.nbands,
        f->set.margin, e, g);
    path = pp_io_path_join(f->set.out, "config.yaml");
    rc = pp_io_write_text(path, text, err);
    free(path);
    free(text);
    return rc;
}

int sim_tables_write(const sim_field *f, pp_error *err)
{
    if (write_image_list(f, err) || write_catalog(f, err) ||
        write_gaia(f, err) || write_truth(f, err) ||
        write_truth_bands(f, err) || write_config(f, err))
        return err->code;
    return PP_OK;
}
