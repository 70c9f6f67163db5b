/* augment.c - `pp-zp augment`: Gaia matching and injection (SPEC §7). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "pp_catalog.h"
#include "pp_csv.h"
#include "pp_fits.h"
#include "pp_frames.h"
#include "pp_io.h"
#include "pp_json.h"
#include "pp_log.h"
#include "pp_mem.h"
#include "pp_table.h"
#include "pp_wcs.h"

#include "match.h"
#include "zp.h"

/* The columns pp-crop appends to catalog.csv (SPEC §6.1 step 7), plus
 * the bright-mask flag a `pp-crop mask` run on catalog.csv may have added
 * (SPEC §6.8).  They move after the new columns (SPEC §7 step 6). */
enum { TAIL_X, TAIL_Y, TAIL_CROP, TAIL_SAT, TAIL_ANY, TAIL_BRIGHT, NTAIL };
static const char *const tail_names[NTAIL] = {
    "x_pix_white", "y_pix_white", "excluded_crop", "excluded_saturation",
    "excluded_any", "affected_by_bright_mask"
};

/* catalog.csv and what pp-zp needs from it. */
typedef struct {
    char *path;
    pp_table t;
    long n;
    int col_ra, col_dec, col_id, col_type, col_poserr;
    int col_tail[NTAIL];        /* -1 when absent (only TAIL_BRIGHT may be) */
    int *col_flux;              /* per band, -1 when absent */
    double *ra, *dec;           /* NAN without finite coordinates */
    double *x, *y;              /* working frame, NAN when unprojected */
    unsigned char *active;      /* excluded_any == False */
    unsigned char *exc_crop, *exc_sat;
} zp_cat;

/* The GaiaXP rows kept by the magnitude cut (SPEC §7 step 1). */
typedef struct {
    char *path;
    pp_table t;
    int col_sid, col_ra, col_dec, col_g;
    int *col_mag;               /* per band, -1 when absent */
    long n;                     /* kept rows */
    long *row;                  /* their rows in the file, in file order */
    double *ra, *dec, *x, *y;   /* x, y: working frame, NAN if unprojected */
} zp_gaia;

/* The candidates: kept Gaia rows inside the selection box (step 2). */
typedef struct {
    long x0, x1, y0, y1;        /* the box, working frame, half-open */
    long n;
    long *k;                    /* index into zp_gaia's kept rows */
    double *ra, *dec;
    long *match;                /* catalogue row, or -1 */
    unsigned char *saturated;   /* fails the saturation cut */
    unsigned char *injected;
} zp_cands;

/* Column roles of the output table (SPEC §7 step 6). */
enum { OUT_COPY, OUT_NEW_FLUX, OUT_NEW_POSERR, OUT_NEW_TYPE, OUT_SID };

typedef struct {
    int kind;                   /* OUT_* */
    int src;                    /* catalogue column (OUT_COPY) */
    int band;                   /* OUT_NEW_FLUX */
} zp_outcol;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- Reading catalog.csv ---------------------------------------------- */

/* A pp-crop boolean cell: "True" or "False". */
static int get_bool(const zp_cat *c, long r, int col, unsigned char *out,
                    pp_error *err)
{
    const char *s = pp_table_get(&c->t, r, col);

    if (strcmp(s, "True") == 0 || strcmp(s, "False") == 0) {
        *out = s[0] == 'T';
        return PP_OK;
    }
    return pp_error_set(err, PP_EDATA, "%s: row %ld: column '%s': found "
                        "'%s', expected True or False", c->path, r + 1,
                        pp_table_colname(&c->t, col), s);
}

static int cat_columns(zp_cat *c, const pp_frames *f, pp_error *err)
{
    c->col_ra = pp_table_find_column(&c->t, "RA", NULL);
    c->col_dec = pp_table_find_column(&c->t, "DEC", NULL);
    c->col_id = pp_table_find_column(&c->t, "ID", NULL);
    c->col_type = pp_table_find_column(&c->t, "TYPE", NULL);
    c->col_poserr = pp_table_find_column(&c->t, "POS_ERR", NULL);
    if (c->col_ra < 0 || c->col_dec < 0)
        return pp_error_set(err, PP_EDATA, "'%s': no '%s' column", c->path,
                            c->col_ra < 0 ? "RA" : "DEC");
    for (int k = 0; k < NTAIL; ++k) {
        c->col_tail[k] = pp_table_find_column(&c->t, tail_names[k], NULL);
        if (c->col_tail[k] < 0 && k != TAIL_BRIGHT)
            return pp_error_set(err, PP_EDATA, "'%s': no '%s' column, "
                                "expected the columns pp-crop writes (run "
                                "pp-crop first)", c->path, tail_names[k]);
    }
    if (pp_table_find_column(&c->t, "gaia_source_id", NULL) >= 0)
        return pp_error_set(err, PP_EDATA, "'%s': column 'gaia_source_id' "
                            "already exists; pp-zp augment adds it (rename "
                            "the input catalogue's column)", c->path);
    c->col_flux = pp_xmalloc(sizeof(int) * (size_t)(f->nbands + 1));
    for (int b = 0; b < f->nbands; ++b) {
        char name[256];
        snprintf(name, sizeof name, "FLUX_%s", f->bands[b].band);
        c->col_flux[b] = pp_table_find_column(&c->t, name, NULL);
    }
    return PP_OK;
}

/* Positions and flags of every row. */
static int cat_rows(zp_cat *c, pp_error *err)
{
    size_t n1 = (size_t)c->n + 1;

    c->ra = pp_xmalloc(n1 * sizeof(double));
    c->dec = pp_xmalloc(n1 * sizeof(double));
    c->x = pp_xmalloc(n1 * sizeof(double));
    c->y = pp_xmalloc(n1 * sizeof(double));
    c->active = pp_xcalloc(n1, 1);
    c->exc_crop = pp_xcalloc(n1, 1);
    c->exc_sat = pp_xcalloc(n1, 1);
    for (long r = 0; r < c->n; ++r) {
        unsigned char any;
        /* SPEC §3.3/§5.1: rows without finite RA/DEC are kept, never
         * matched; their text was pp-crop's to judge, not ours. */
        if (pp_parse_double(pp_table_get(&c->t, r, c->col_ra), &c->ra[r]) ||
            pp_parse_double(pp_table_get(&c->t, r, c->col_dec),
                            &c->dec[r]) ||
            !isfinite(c->ra[r]) || !isfinite(c->dec[r]))
            c->ra[r] = c->dec[r] = NAN;
        if (pp_table_get_double(&c->t, r, c->col_tail[TAIL_X], c->path,
                                &c->x[r], err) != PP_OK ||
            pp_table_get_double(&c->t, r, c->col_tail[TAIL_Y], c->path,
                                &c->y[r], err) != PP_OK ||
            get_bool(c, r, c->col_tail[TAIL_CROP], &c->exc_crop[r],
                     err) != PP_OK ||
            get_bool(c, r, c->col_tail[TAIL_SAT], &c->exc_sat[r],
                     err) != PP_OK ||
            get_bool(c, r, c->col_tail[TAIL_ANY], &any, err) != PP_OK)
            return err->code;
        c->active[r] = !any;
    }
    return PP_OK;
}

static int cat_read(const pp_config *cfg, const pp_frames *f, zp_cat *c,
                    pp_error *err)
{
    c->path = pp_catalog_crop_path(cfg);
    if (!pp_io_exists(c->path))
        return pp_error_set(err, PP_EIO, "cannot open '%s': No such file "
                            "or directory (run pp-crop first)", c->path);
    if (pp_csv_read(c->path, &c->t, err) != PP_OK ||
        cat_columns(c, f, err) != PP_OK)
        return err->code;
    c->n = pp_table_nrows(&c->t);
    return cat_rows(c, err);
}

static void cat_release(zp_cat *c)
{
    pp_table_release(&c->t);
    free(c->path);
    free(c->col_flux);
    free(c->ra);
    free(c->dec);
    free(c->x);
    free(c->y);
    free(c->active);
    free(c->exc_crop);
    free(c->exc_sat);
}

/* ---- Reading the GaiaXP file (SPEC §5.4, §7 step 1) -------------------- */

static int gaia_columns(zp_gaia *g, const pp_frames *f, pp_error *err)
{
    static const char *const need[4] = { "source_id", "ra", "dec",
                                         "phot_g_mean_mag" };
    int *cols[4] = { &g->col_sid, &g->col_ra, &g->col_dec, &g->col_g };

    for (int k = 0; k < 4; ++k)
        if ((*cols[k] = pp_table_find_column(&g->t, need[k],
                                             g->path)) < 0)
            return pp_error_set(err, PP_EDATA, "'%s': no '%s' column "
                                "(inputs.gaiaxp_synphot_csv needs "
                                "source_id, ra, dec and phot_g_mean_mag)",
                                g->path, need[k]);
    g->col_mag = pp_xmalloc(sizeof(int) * (size_t)(f->nbands + 1));
    for (int b = 0; b < f->nbands; ++b) {
        char name[256];
        snprintf(name, sizeof name, "mag_%s", f->bands[b].band);
        g->col_mag[b] = pp_table_find_column(&g->t, name, g->path);
    }
    return PP_OK;
}

/* One GaiaXP row's position (finite numbers required) and G magnitude
 * (empty or NaN: the row fails the magnitude cut). */
static int gaia_row(const zp_gaia *g, long r, double *ra, double *dec,
                    double *gmag, pp_error *err)
{
    if (pp_table_get_double(&g->t, r, g->col_ra, g->path, ra, err) ||
        pp_table_get_double(&g->t, r, g->col_dec, g->path, dec, err) ||
        pp_table_get_double(&g->t, r, g->col_g, g->path, gmag, err))
        return err->code;
    if (!isfinite(*ra) || !isfinite(*dec))
        return pp_error_set(err, PP_EDATA, "%s: row %ld (line %ld): column "
                            "'%s': found '%s', expected a finite number of "
                            "degrees", g->path, r + 1, pp_table_line(&g->t,
                            r), pp_table_colname(&g->t, isfinite(*ra) ?
                            g->col_dec : g->col_ra), pp_table_get(&g->t, r,
                            isfinite(*ra) ? g->col_dec : g->col_ra));
    if (!pp_table_get(&g->t, r, g->col_sid)[0])
        return pp_error_set(err, PP_EDATA, "%s: row %ld (line %ld): column "
                            "'%s' is empty, expected a Gaia source_id",
                            g->path, r + 1, pp_table_line(&g->t, r),
                            pp_table_colname(&g->t, g->col_sid));
    return PP_OK;
}

/* Keep the rows with gaia_mag_min <= G <= gaia_mag_max and project them
 * through the first band's full-frame WCS, then shift by the crop origin
 * (SPEC §3.1: projected once, in the full frame). */
static int gaia_read(const pp_config *cfg, const pp_frames *f,
                     const pp_wcs *wcs, zp_gaia *g, pp_error *err)
{
    long nrows;

    g->path = pp_xstrdup(cfg->inputs.gaiaxp_synphot_csv);
    if (pp_csv_read(g->path, &g->t, err) != PP_OK)
        return pp_error_prefix(err, "GaiaXP file "
                               "(inputs.gaiaxp_synphot_csv): ");
    if (gaia_columns(g, f, err) != PP_OK)
        return err->code;
    nrows = pp_table_nrows(&g->t);
    g->row = pp_xmalloc(sizeof(long) * (size_t)(nrows + 1));
    g->ra = pp_xmalloc(sizeof(double) * (size_t)(nrows + 1));
    g->dec = pp_xmalloc(sizeof(double) * (size_t)(nrows + 1));
    g->x = pp_xmalloc(sizeof(double) * (size_t)(nrows + 1));
    g->y = pp_xmalloc(sizeof(double) * (size_t)(nrows + 1));
    for (long r = 0; r < nrows; ++r) {
        double ra, dec, gmag;
        if (gaia_row(g, r, &ra, &dec, &gmag, err) != PP_OK)
            return err->code;
        if (!(gmag >= cfg->zp.gaia_mag_min && gmag <= cfg->zp.gaia_mag_max))
            continue;
        g->row[g->n] = r;
        g->ra[g->n] = ra;
        g->dec[g->n] = dec;
        ++g->n;
    }
    pp_wcs_sky_to_pix_n(wcs, g->n, g->ra, g->dec, g->x, g->y);
    for (long k = 0; k < g->n; ++k) {
        g->x[k] -= (double)f->x0;
        g->y[k] -= (double)f->y0;
    }
    return PP_OK;
}

static void gaia_release(zp_gaia *g)
{
    pp_table_release(&g->t);
    free(g->path);
    free(g->col_mag);
    free(g->row);
    free(g->ra);
    free(g->dec);
    free(g->x);
    free(g->y);
}

/* The flux of SPEC §7 step 4 for Gaia row r and band b: NAN when the
 * magnitude is absent, empty or not finite. */
static int gaia_flux(const zp_gaia *g, long r, int b, double zp_ref,
                     double *flux, pp_error *err)
{
    double mag = NAN;

    *flux = NAN;
    if (g->col_mag[b] >= 0 &&
        pp_table_get_double(&g->t, r, g->col_mag[b], g->path, &mag,
                            err) != PP_OK)
        return err->code;
    if (isfinite(mag))
        *flux = pow(10.0, (zp_ref - mag) / 2.5);
    return PP_OK;
}

/* ---- Selection box (SPEC §7 step 2) ------------------------------------ */

/* One axis: [lo, hi] of the active positions, widened to side around its
 * centre, integer-aligned, shifted into [0, size), clipped only when the
 * frame is smaller. */
static void box_axis(double lo, double hi, double side, long size,
                     long *a0, long *a1)
{
    double c = isfinite(lo) ? 0.5 * (lo + hi) : 0.5 * (double)size;

    *a0 = (long)floor(c - 0.5 * side);
    *a1 = (long)ceil(c + 0.5 * side);
    if (*a1 - *a0 >= size) {
        *a0 = 0;
        *a1 = size;
        return;
    }
    if (*a0 < 0) {
        *a1 -= *a0;
        *a0 = 0;
    }
    if (*a1 > size) {
        *a0 -= *a1 - size;
        *a1 = size;
    }
}

static void select_box(const pp_config *cfg, const pp_frames *f,
                       const zp_cat *c, zp_cands *cd)
{
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    double side = (double)cfg->zp.min_box_size_pix;

    for (long r = 0; r < c->n; ++r)
        if (c->active[r] && isfinite(c->x[r]) && isfinite(c->y[r])) {
            xlo = fmin(xlo, c->x[r]);
            xhi = fmax(xhi, c->x[r]);
            ylo = fmin(ylo, c->y[r]);
            yhi = fmax(yhi, c->y[r]);
        }
    if (isfinite(xlo))
        side = fmax(side, fmax(xhi - xlo, yhi - ylo));
    else                        /* no active source: centred */
        xlo = xhi = ylo = yhi = NAN;
    box_axis(xlo, xhi, side, f->work_w, &cd->x0, &cd->x1);
    box_axis(ylo, yhi, side, f->work_h, &cd->y0, &cd->y1);
}

/* The kept Gaia rows inside the box, in file order. */
static void select_candidates(const zp_gaia *g, zp_cands *cd)
{
    size_t n1 = (size_t)g->n + 1;

    cd->k = pp_xmalloc(n1 * sizeof(long));
    cd->ra = pp_xmalloc(n1 * sizeof(double));
    cd->dec = pp_xmalloc(n1 * sizeof(double));
    cd->match = pp_xmalloc(n1 * sizeof(long));
    cd->saturated = pp_xcalloc(n1, 1);
    cd->injected = pp_xcalloc(n1, 1);
    for (long k = 0; k < g->n; ++k)
        if (g->x[k] >= (double)cd->x0 && g->x[k] < (double)cd->x1 &&
            g->y[k] >= (double)cd->y0 && g->y[k] < (double)cd->y1) {
            cd->k[cd->n] = k;
            cd->ra[cd->n] = g->ra[k];
            cd->dec[cd->n] = g->dec[k];
            ++cd->n;
        }
}

static void cands_release(zp_cands *cd)
{
    free(cd->k);
    free(cd->ra);
    free(cd->dec);
    free(cd->match);
    free(cd->saturated);
    free(cd->injected);
}

/* ---- Back-fill (SPEC §7 step 4) ---------------------------------------- */

static int backfill(const zp_gaia *g, const zp_cands *cd, const long *m1,
                    double zp_ref, int nbands, zp_cat *c, long *nfilled,
                    pp_error *err)
{
    char buf[32];

    *nfilled = 0;
    for (long r = 0; r < c->n; ++r) {
        if (m1[r] < 0)
            continue;
        for (int b = 0; b < nbands; ++b) {
            const char *s;
            double v, flux;
            if (c->col_flux[b] < 0)
                continue;
            s = pp_table_get(&c->t, r, c->col_flux[b]);
            if (s[0] && !(pp_parse_double(s, &v) == 0 && v == 0.0))
                continue;
            if (gaia_flux(g, g->row[cd->k[m1[r]]], b, zp_ref, &flux,
                          err) != PP_OK)
                return err->code;
            if (isfinite(flux)) {
                pp_table_set(&c->t, r, c->col_flux[b],
                             pp_csv_format_double(flux, buf));
                ++*nfilled;
            }
        }
    }
    return PP_OK;
}

/* ---- Saturation cut of the candidates (SPEC §7 step 5, §6.1 step 5) ---- */

/* Does the disk dx²+dy² <= R² around the rounded working pixel (xr, yr)
 * hold a saturated pixel of this band inside the working frame?  Reads
 * only the disk's bounding box from the band's file. */
static int disk_hits(fitsfile *fp, const pp_frames *f, const pp_frame_band *fb,
                     double radius, long xr, long yr, float *buf, int *hit,
                     pp_error *err)
{
    long ri = (long)floor(radius);
    long x0 = xr - ri > 0 ? xr - ri : 0, y0 = yr - ri > 0 ? yr - ri : 0;
    long x1 = xr + ri + 1 < f->work_w ? xr + ri + 1 : f->work_w;
    long y1 = yr + ri + 1 < f->work_h ? yr + ri + 1 : f->work_h;
    float sat = (float)(fb->saturate / 2.0);

    *hit = 0;
    if (!isfinite(fb->saturate) || x1 <= x0 || y1 <= y0)
        return PP_OK;
    if (pp_fits_read_subset(fp, x0 + f->x0, x1 + f->x0, y0 + f->y0,
                            y1 + f->y0, buf, err) != PP_OK)
        return err->code;
    for (long y = y0; y < y1 && !*hit; ++y)
        for (long x = x0; x < x1; ++x) {
            long dx = x - xr, dy = y - yr;
            float v = buf[(y - y0) * (x1 - x0) + (x - x0)];
            /* SPEC §5.3: saturated = finite and raw >= SATURATE/2 */
            if ((double)(dx * dx + dy * dy) <= radius * radius &&
                isfinite(v) && v >= sat) {
                *hit = 1;
                break;
            }
        }
    return PP_OK;
}

/* white.fits' SATANY: the union of every band's saturation over the
 * working frame (SPEC §6.1 step 4), the pixels the disk test counts.
 * NULL when it cannot be read (the per-band reads then decide alone). */
static unsigned char *read_satany(const pp_config *cfg, const pp_frames *f)
{
    char *path = pp_io_path_join(cfg->outputs.work_dir, "white.fits");
    pp_error e = PP_ERROR_INIT;
    unsigned char *m = NULL;
    fitsfile *fp = NULL;
    int hdu;

    if (pp_fits_open_image(path, &fp, &hdu, &e) == PP_OK &&
        pp_fits_move_to_ext(fp, "SATANY", &e) == PP_OK &&
        (m = pp_malloc_checked((size_t)(f->work_w * f->work_h), 1,
                               "SATANY", &e)) != NULL &&
        pp_fits_read_subset_u8(fp, 0, f->work_w, 0, f->work_h, m, &e)
        != PP_OK) {
        free(m);
        m = NULL;
    }
    if (!m)
        pp_log(PP_LOG_DEBUG, "no SATANY from '%s' (%s): per-band reads "
               "only", path, e.msg);
    if (fp)
        pp_fits_close(fp);
    free(path);
    return m;
}

/* Does the disk around (xr, yr) touch SATANY? */
static int satany_hits(const unsigned char *m, const pp_frames *f,
                       double radius, long xr, long yr)
{
    long ri = (long)floor(radius);

    for (long dy = -ri; dy <= ri; ++dy)
        for (long dx = -ri; dx <= ri; ++dx) {
            long x = xr + dx, y = yr + dy;
            if ((double)(dx * dx + dy * dy) <= radius * radius && x >= 0 &&
                x < f->work_w && y >= 0 && y < f->work_h &&
                m[y * f->work_w + x])
                return 1;
        }
    return 0;
}

static int saturation_cut(const pp_config *cfg, const pp_frames *f,
                          const zp_gaia *g, zp_cands *cd, pp_error *err)
{
    double radius = cfg->source_saturation_cut.radius_pix;
    long ri = (long)floor(radius), side = 2 * ri + 1;
    int nb = f->nbands, rc = PP_OK;
    int all = cfg->source_saturation_cut.require_all_bands != 0;
    fitsfile **fp = pp_xcalloc((size_t)nb, sizeof *fp);
    unsigned char *satany = read_satany(cfg, f);
    float *buf = NULL;

    if (!(buf = pp_malloc_checked((size_t)(side * side), sizeof *buf,
                                  "saturation disk", err)))
        goto fail;
    for (int b = 0; b < nb; ++b) {
        int hdu;
        if (pp_fits_open_image(f->bands[b].path, &fp[b], &hdu, err))
            goto fail;
    }
    for (long i = 0; i < cd->n; ++i) {
        long k = cd->k[i], xr = (long)nearbyint(g->x[k]);
        long yr = (long)nearbyint(g->y[k]);
        int hit = all;
        if (cd->match[i] >= 0)
            continue;
        /* A disk without a SATANY pixel hits no band; with one, some band
         * hits.  Only require_all_bands then needs each band's pixels. */
        if (satany) {
            int any = satany_hits(satany, f, radius, xr, yr);
            if (!any || !all) {
                cd->saturated[i] = (unsigned char)any;
                continue;
            }
        }
        /* Reading the disk costs a system call per row: stop at the first
         * band that decides (any: a hit; all: a miss). */
        for (int b = 0; b < nb && hit == all; ++b)
            if (disk_hits(fp[b], f, &f->bands[b], radius, xr, yr, buf, &hit,
                          err) != PP_OK) {
                pp_error_prefix(err, "saturation cut of Gaia row %ld: ",
                                g->row[k] + 1);
                goto fail;
            }
        cd->saturated[i] = (unsigned char)hit;
    }
    goto out;
fail:
    rc = err->code;
out:
    for (int b = 0; b < nb; ++b)
        pp_fits_close(fp[b]);
    free(fp);
    free(buf);
    free(satany);
    return rc;
}

/* ---- The augmented catalogue (SPEC §7 steps 5-6) ----------------------- */

/* Output columns: the input columns, new FLUX_* (band order), POS_ERR,
 * TYPE, then pp-crop's columns, then gaia_source_id.  New columns are
 * created only to hold injected rows' values. */
static zp_outcol *plan_columns(const pp_config *cfg, const pp_frames *f,
                               const zp_cat *c, long ninjected, int *nout)
{
    int ncols = pp_table_ncols(&c->t), n = 0;
    zp_outcol *oc = pp_xmalloc(sizeof *oc * (size_t)(ncols + f->nbands + 4));

    for (int col = 0; col < ncols; ++col) {
        int tail = 0;
        for (int k = 0; k < NTAIL; ++k)
            tail |= c->col_tail[k] == col;
        if (!tail)
            oc[n++] = (zp_outcol){ OUT_COPY, col, -1 };
    }
    for (int b = 0; ninjected && b < f->nbands; ++b)
        if (c->col_flux[b] < 0)
            oc[n++] = (zp_outcol){ OUT_NEW_FLUX, -1, b };
    if (ninjected && c->col_poserr < 0 && cfg->zp.has_gaia_pos_err_pix)
        oc[n++] = (zp_outcol){ OUT_NEW_POSERR, -1, -1 };
    if (ninjected && c->col_type < 0)
        oc[n++] = (zp_outcol){ OUT_NEW_TYPE, -1, -1 };
    for (int k = 0; k < NTAIL; ++k)
        if (c->col_tail[k] >= 0)
            oc[n++] = (zp_outcol){ OUT_COPY, c->col_tail[k], -1 };
    oc[n++] = (zp_outcol){ OUT_SID, -1, -1 };
    *nout = n;
    return oc;
}

static void add_header(pp_table *out, const zp_outcol *oc, int nout,
                       const pp_frames *f, const zp_cat *c)
{
    for (int j = 0; j < nout; ++j) {
        char name[256];
        switch (oc[j].kind) {
        case OUT_COPY:
            snprintf(name, sizeof name, "%s",
                     pp_table_colname(&c->t, oc[j].src));
            break;
        case OUT_NEW_FLUX:
            snprintf(name, sizeof name, "FLUX_%s", f->bands[oc[j].band].band);
            break;
        case OUT_NEW_POSERR:
            snprintf(name, sizeof name, "POS_ERR");
            break;
        case OUT_NEW_TYPE:
            snprintf(name, sizeof name, "TYPE");
            break;
        default:
            snprintf(name, sizeof name, "gaia_source_id");
        }
        pp_table_add_column(out, name, -1);
    }
}

/* Original rows: every cell's text as it is (back-filled FLUX included),
 * new columns empty, gaia_source_id of the match. */
static void add_original_rows(pp_table *out, const zp_outcol *oc, int nout,
                              const zp_cat *c, const zp_gaia *g,
                              const zp_cands *cd, const long *m1)
{
    for (long r = 0; r < c->n; ++r) {
        long o = pp_table_add_row(out);
        for (int j = 0; j < nout; ++j)
            if (oc[j].kind == OUT_COPY)
                pp_table_set(out, o, j, pp_table_get(&c->t, r, oc[j].src));
            else if (oc[j].kind == OUT_SID && m1[r] >= 0)
                pp_table_set(out, o, j, pp_table_get(&g->t,
                             g->row[cd->k[m1[r]]], g->col_sid));
    }
}

/* The text of one cell of the injected row for Gaia row r (SPEC §7 step
 * 5); NULL for an empty cell.  id is "gaia_<source_id>"; buf holds
 * formatted numbers. */
static const char *injected_cell(const zp_outcol *oc, const pp_config *cfg,
                                 const pp_frames *f, const zp_cat *c,
                                 const zp_gaia *g, long k, const char *id,
                                 char buf[32], pp_error *err)
{
    long r = g->row[k];
    int col = oc->src, band = oc->band;
    const char *sid = pp_table_get(&g->t, r, g->col_sid);
    double flux;

    if (oc->kind == OUT_SID)
        return sid;
    if (oc->kind == OUT_NEW_TYPE || (col >= 0 && col == c->col_type))
        return "STAR";
    if (oc->kind == OUT_NEW_POSERR || (col >= 0 && col == c->col_poserr))
        return cfg->zp.has_gaia_pos_err_pix
               ? pp_csv_format_double(cfg->zp.gaia_pos_err_pix, buf) : NULL;
    for (int b = 0; col >= 0 && band < 0 && b < f->nbands; ++b)
        if (c->col_flux[b] == col)
            band = b;
    if (band >= 0) {            /* 0 when the magnitude is missing */
        if (gaia_flux(g, r, band, f->zp_ref, &flux, err) != PP_OK)
            return NULL;
        return pp_csv_format_double(isfinite(flux) ? flux : 0.0, buf);
    }
    if (col == c->col_id)
        return id;
    if (col == c->col_ra)
        return pp_table_get(&g->t, r, g->col_ra);
    if (col == c->col_dec)
        return pp_table_get(&g->t, r, g->col_dec);
    if (col == c->col_tail[TAIL_X])
        return pp_csv_format_double(g->x[k], buf);
    if (col == c->col_tail[TAIL_Y])
        return pp_csv_format_double(g->y[k], buf);
    for (int t = TAIL_CROP; t < NTAIL; ++t)
        if (col == c->col_tail[t])
            return pp_csv_format_bool(0);
    return NULL;
}

static int add_injected_rows(pp_table *out, const zp_outcol *oc, int nout,
                             const pp_config *cfg, const pp_frames *f,
                             const zp_cat *c, const zp_gaia *g,
                             const zp_cands *cd, pp_error *err)
{
    for (long i = 0; i < cd->n; ++i) {
        long o, r = g->row[cd->k[i]];
        char *id;
        if (!cd->injected[i])
            continue;
        o = pp_table_add_row(out);
        id = pp_xasprintf("gaia_%s", pp_table_get(&g->t, r, g->col_sid));
        for (int j = 0; j < nout; ++j) {
            char buf[32];
            const char *s = injected_cell(&oc[j], cfg, f, c, g, cd->k[i],
                                          id, buf, err);
            if (err->code != PP_OK)
                break;
            pp_table_set(out, o, j, s);
        }
        free(id);
        if (err->code != PP_OK)
            return err->code;
    }
    return PP_OK;
}

/* ---- Plot data (SPEC §7: ZP/gaia_augmentation.{csv,json}) -------------- */

static void plot_row(pp_table *t, const char *category, double x, double y,
                     const char *id)
{
    long o = pp_table_add_row(t);
    char buf[32];

    pp_table_set(t, o, 0, category);
    pp_table_set(t, o, 1, pp_csv_format_double(x, buf));
    pp_table_set(t, o, 2, pp_csv_format_double(y, buf));
    pp_table_set(t, o, 3, id);
}

/* The key of SPEC §3.3 as text, as in bright_mask/catalog_match.csv. */
static char *row_key(const pp_table *t, long r, int col_id, int col_ra,
                     int col_dec)
{
    if (col_id >= 0)
        return pp_xstrdup(pp_table_get(t, r, col_id));
    return pp_xasprintf("%s %s", pp_table_get(t, r, col_ra),
                        pp_table_get(t, r, col_dec));
}

/* Rows grouped by category in the order SPEC §7 lists them; original
 * rows with finite working positions go to original, excluded_saturation
 * or excluded_crop (crop first), matched ones also to gaia_matched. */
static int write_plot_csv(const char *path, const zp_cat *c,
                          const zp_gaia *g, const zp_cands *cd,
                          const long *m1, pp_error *err)
{
    static const char *const cats[6] = {
        "original", "gaia_matched", "gaia_injected", "gaia_saturated",
        "excluded_saturation", "excluded_crop"
    };
    pp_table t = PP_TABLE_INIT;
    int rc;

    for (int j = 0; j < 4; ++j)
        pp_table_add_column(&t, (const char *[]){ "category", "x", "y",
                                                  "id" }[j], -1);
    for (int k = 0; k < 6; ++k) {
        for (long r = 0; k != 2 && k != 3 && r < c->n; ++r) {
            int cat = c->exc_crop[r] ? 5 : c->exc_sat[r] ? 4 : 0;
            char *id;
            if (!isfinite(c->x[r]) || !isfinite(c->y[r]) ||
                (k == 1 ? m1[r] < 0 : cat != k))
                continue;
            id = row_key(&c->t, r, c->col_id, c->col_ra, c->col_dec);
            plot_row(&t, cats[k], c->x[r], c->y[r], id);
            free(id);
        }
        for (long i = 0; (k == 2 || k == 3) && i < cd->n; ++i) {
            long gk = cd->k[i], gr = g->row[gk];
            const char *sid = pp_table_get(&g->t, gr, g->col_sid);
            char *id;
            if (k == 3 ? !cd->saturated[i] : !cd->injected[i])
                continue;
            id = k == 3 ? pp_xstrdup(sid)
                 : c->col_id >= 0 ? pp_xasprintf("gaia_%s", sid)
                 : row_key(&g->t, gr, -1, g->col_ra, g->col_dec);
            plot_row(&t, cats[k], g->x[gk], g->y[gk], id);
            free(id);
        }
    }
    rc = pp_csv_write(path, &t, err);
    pp_table_release(&t);
    return rc;
}

static int write_box_json(const char *path, const zp_cands *cd,
                          pp_error *err)
{
    json_t *root = json_object();
    int rc;

    json_object_set_new(root, "x0", json_integer(cd->x0));
    json_object_set_new(root, "x1", json_integer(cd->x1));
    json_object_set_new(root, "y0", json_integer(cd->y0));
    json_object_set_new(root, "y1", json_integer(cd->y1));
    rc = pp_json_write(path, root, err);
    json_decref(root);
    return rc;
}

/* ---- The stage --------------------------------------------------------- */

typedef struct {
    char *zp_dir, *augmented, *plot_csv, *plot_json;
} zp_paths;

static void paths_init(const pp_config *cfg, zp_paths *p)
{
    p->zp_dir = pp_io_path_join(cfg->outputs.work_dir, "ZP");
    p->augmented = pp_catalog_augmented_path(cfg);
    p->plot_csv = pp_io_path_join(p->zp_dir, "gaia_augmentation.csv");
    p->plot_json = pp_io_path_join(p->zp_dir, "gaia_augmentation.json");
}

static void paths_release(zp_paths *p)
{
    free(p->zp_dir);
    free(p->augmented);
    free(p->plot_csv);
    free(p->plot_json);
}

/* SPEC §7: is this run skipped?  A missing GaiaXP file is a warning. */
static int skipped(const pp_config *cfg)
{
    if (!cfg->zp.enabled) {
        pp_log(PP_LOG_INFO, "zp.enabled is false: Gaia augmentation "
               "skipped; later stages use catalog.csv");
        return 1;
    }
    if (!cfg->inputs.gaiaxp_synphot_csv) {
        pp_log(PP_LOG_INFO, "inputs.gaiaxp_synphot_csv is null: Gaia "
               "augmentation skipped; later stages use catalog.csv");
        return 1;
    }
    if (!pp_io_exists(cfg->inputs.gaiaxp_synphot_csv)) {
        pp_log(PP_LOG_WARNING, "GaiaXP file '%s' "
               "(inputs.gaiaxp_synphot_csv) does not exist: Gaia "
               "augmentation skipped; later stages use catalog.csv",
               cfg->inputs.gaiaxp_synphot_csv);
        return 1;
    }
    return 0;
}

/* SPEC §1 (no stale files): a skipped run removes its earlier outputs. */
static int remove_outputs(const zp_paths *p, pp_error *err)
{
    const char *files[3] = { p->augmented, p->plot_csv, p->plot_json };

    for (int k = 0; k < 3; ++k) {
        if (pp_io_exists(files[k]))
            pp_log(PP_LOG_INFO, "removing '%s' of an earlier run", files[k]);
        if (pp_io_remove_file(files[k], err) != PP_OK)
            return err->code;
    }
    return PP_OK;
}

/* The first band's full-frame WCS (SPEC §3.1, as pp-crop projects). */
static int first_band_wcs(const pp_frames *f, pp_wcs *wcs, pp_error *err)
{
    fitsfile *fp = NULL;
    int hdu, rc;

    if (f->nbands < 1)
        return pp_error_set(err, PP_EDATA, "frames.json lists no band");
    if (pp_fits_open_image(f->bands[0].path, &fp, &hdu, err) != PP_OK)
        return err->code;
    rc = pp_wcs_from_fits(fp, f->bands[0].path, wcs, err);
    pp_fits_close(fp);
    return rc;
}

/* Match, back-fill, cut, inject and write; the inputs are read. */
static int augment_run(const pp_config *cfg, const pp_frames *f,
                       const zp_paths *p, zp_cat *c, const zp_gaia *g,
                       zp_cands *cd, double *t, pp_error *err)
{
    long *m1 = pp_xmalloc(sizeof(long) * (size_t)(c->n + 1));
    long nmatch = 0, nfill = 0, ninj = 0, nsat = 0;
    zp_outcol *oc = NULL;
    pp_table out = PP_TABLE_INIT;
    int nout, rc;

    select_box(cfg, f, c, cd);
    select_candidates(g, cd);
    if ((rc = zp_match_sphere(c->ra, c->dec, c->n, cd->ra, cd->dec, cd->n,
                              cfg->zp.match_radius_arcsec, m1, cd->match,
                              NULL, &nmatch, err)) != PP_OK ||
        (rc = backfill(g, cd, m1, f->zp_ref, f->nbands, c, &nfill,
                       err)) != PP_OK)
        goto out;
    t[0] = now_s();
    if (cfg->zp.inject_gaia_sources && cfg->source_saturation_cut.enabled &&
        (rc = saturation_cut(cfg, f, g, cd, err)) != PP_OK)
        goto out;
    for (long i = 0; i < cd->n; ++i) {
        cd->injected[i] = cfg->zp.inject_gaia_sources && cd->match[i] < 0 &&
                          !cd->saturated[i];
        ninj += cd->injected[i];
        nsat += cd->saturated[i];
    }
    t[1] = now_s();
    oc = plan_columns(cfg, f, c, ninj, &nout);
    add_header(&out, oc, nout, f, c);
    add_original_rows(&out, oc, nout, c, g, cd, m1);
    if ((rc = add_injected_rows(&out, oc, nout, cfg, f, c, g, cd,
                                err)) != PP_OK ||
        (rc = pp_io_mkdir_p(p->zp_dir, err)) != PP_OK ||
        (rc = write_plot_csv(p->plot_csv, c, g, cd, m1, err)) != PP_OK ||
        (rc = write_box_json(p->plot_json, cd, err)) != PP_OK ||
        (rc = pp_csv_write(p->augmented, &out, err)) != PP_OK)
        goto out;
    pp_log(PP_LOG_INFO, "Gaia: %ld rows kept of %ld (G in [%g, %g]), %ld "
           "in the box x [%ld, %ld) y [%ld, %ld)", g->n,
           pp_table_nrows(&g->t), cfg->zp.gaia_mag_min, cfg->zp.gaia_mag_max,
           cd->n, cd->x0, cd->x1, cd->y0, cd->y1);
    pp_log(PP_LOG_INFO, "matched=%ld (within %g arcsec, one-to-one) "
           "flux cells back-filled=%ld injected=%ld saturation-dropped=%ld",
           nmatch, cfg->zp.match_radius_arcsec, nfill, ninj, nsat);
    pp_log(PP_LOG_INFO, "wrote '%s' (%ld rows)", p->augmented,
           pp_table_nrows(&out));
out:
    free(m1);
    free(oc);
    pp_table_release(&out);
    return rc;
}

int zp_augment(const pp_config *cfg, pp_error *err)
{
    double t0 = now_s(), t1, t[2] = { 0, 0 };
    zp_paths p;
    pp_frames f = PP_FRAMES_INIT;
    pp_wcs wcs = PP_WCS_INIT;
    zp_cat c;
    zp_gaia g;
    zp_cands cd;
    char *frames_path = NULL;
    int rc;

    memset(&c, 0, sizeof c);
    memset(&g, 0, sizeof g);
    memset(&cd, 0, sizeof cd);
    paths_init(cfg, &p);
    if (skipped(cfg)) {
        rc = remove_outputs(&p, err);
        goto out;
    }
    frames_path = pp_io_path_join(cfg->outputs.work_dir, "frames.json");
    if (!pp_io_exists(frames_path)) {
        rc = pp_error_set(err, PP_EIO, "cannot open '%s': No such file or "
                          "directory (run pp-crop first)", frames_path);
        goto out;
    }
    if ((rc = pp_frames_read(frames_path, &f, err)) != PP_OK ||
        (rc = cat_read(cfg, &f, &c, err)) != PP_OK ||
        (rc = first_band_wcs(&f, &wcs, err)) != PP_OK ||
        (rc = gaia_read(cfg, &f, &wcs, &g, err)) != PP_OK)
        goto out;
    t1 = now_s();
    if ((rc = augment_run(cfg, &f, &p, &c, &g, &cd, t, err)) != PP_OK)
        goto out;
    pp_log(PP_LOG_INFO, "augment timing [s]: read=%.3f match=%.3f "
           "saturation=%.3f write=%.3f total=%.3f", t1 - t0, t[0] - t1,
           t[1] - t[0], now_s() - t[1], now_s() - t0);
out:
    free(frames_path);
    paths_release(&p);
    pp_frames_release(&f);
    pp_wcs_release(&wcs);
    cat_release(&c);
    gaia_release(&g);
    cands_release(&cd);
    return rc;
}
