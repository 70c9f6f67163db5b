/* payload.c - read a patch payload (SPEC §9.3); see payload.h. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <fitsio.h>

#include "pp_csv.h"
#include "pp_fits.h"
#include "pp_log.h"
#include "pp_mem.h"

#include "payload.h"
#include "profile.h"

/* Typed SOURCES columns (pp-patchify's payload.c). */
static const char *const typed_names[] = {
    "x_pix_white", "y_pix_white", "x_pix_patch", "y_pix_patch", "is_halo",
    "is_edge"
};
enum { T_XW, T_YW, T_XP, T_YP, T_HALO, T_EDGE, NTYPED };

/* Where pp-crop puts x_pix_white / y_pix_white (SPEC §6.1). */
#define COL_AFTER_WHITE "excluded_crop"

static int fits_fail(pp_error *err, const char *path, const char *hdu,
                     const char *what, int status)
{
    char msg[FLEN_STATUS];

    fits_get_errstatus(status, msg);
    return pp_error_set(err, PP_EDATA, "'%s': HDU %s: %s: %s", path, hdu,
                        what, msg);
}

/* ---- header keys ------------------------------------------------------ */

static int key_long(fitsfile *fp, const char *path, const char *hdu,
                    const char *key, long *out, pp_error *err)
{
    double v;
    int found;
    char text[80];

    if (pp_fits_read_key_double(fp, key, &v, &found, err) != PP_OK)
        return pp_error_prefix(err, "'%s': HDU %s: ", path, hdu);
    if (found == 1 && v == floor(v) && fabs(v) < 1e15) {
        *out = (long)v;
        return PP_OK;
    }
    if (found == 0)
        return pp_error_set(err, PP_EDATA, "'%s': HDU %s: key '%s' is "
                            "missing", path, hdu, key);
    pp_fits_read_key_text(fp, key, text, sizeof text, err);
    return pp_error_set(err, PP_EDATA, "'%s': HDU %s: key '%s': found '%s', "
                        "expected an integer", path, hdu, key, text);
}

/* A number; positive = 1 requires finite > 0, optional = 1 lets an
 * absent or undefined key give NAN. */
static int key_double(fitsfile *fp, const char *path, const char *hdu,
                      const char *key, int positive, int optional,
                      double *out, pp_error *err)
{
    int found;
    char text[80];

    if (pp_fits_read_key_double(fp, key, out, &found, err) != PP_OK)
        return pp_error_prefix(err, "'%s': HDU %s: ", path, hdu);
    if (found == 1 && isfinite(*out) && (!positive || *out > 0))
        return PP_OK;
    if (optional && found != 1) {
        *out = NAN;
        return PP_OK;
    }
    if (found == 0)
        return pp_error_set(err, PP_EDATA, "'%s': HDU %s: key '%s' is "
                            "missing", path, hdu, key);
    pp_fits_read_key_text(fp, key, text, sizeof text, err);
    return pp_error_set(err, PP_EDATA, "'%s': HDU %s: key '%s': found '%s', "
                        "expected a finite number%s", path, hdu, key, text,
                        positive ? " > 0" : "");
}

static int key_string(fitsfile *fp, const char *path, const char *hdu,
                      const char *key, int optional, char *out, size_t n,
                      pp_error *err)
{
    int found;

    if (pp_fits_read_key_string(fp, key, out, n, &found, err) != PP_OK)
        return pp_error_prefix(err, "'%s': HDU %s: ", path, hdu);
    if (found == 1 || optional) {
        if (found != 1)
            out[0] = '\0';
        return PP_OK;
    }
    return pp_error_set(err, PP_EDATA, "'%s': HDU %s: key '%s' is %s", path,
                        hdu, key, found ? "not a string" : "missing");
}

/* ---- primary HDU ------------------------------------------------------ */

static int read_primary(fitsfile *fp, fit_payload *p, long *nbands,
                        pp_error *err)
{
    static const char *const box_keys[8] = { "BX0", "BX1", "BY0", "BY1",
                                             "RX0", "RX1", "RY0", "RY1" };
    long *box[8] = { &p->bx0, &p->bx1, &p->by0, &p->by1, &p->rx0, &p->rx1,
                     &p->ry0, &p->ry1 };
    const char *path = p->path;
    char fmt[FIT_TAG_MAX];
    int i;

    if (key_string(fp, path, "PRIMARY", "PPFMT", 0, fmt, sizeof fmt, err))
        return err->code;
    if (strcmp(fmt, FIT_PAYLOAD_FORMAT) != 0)
        return pp_error_set(err, PP_EDATA, "'%s': HDU PRIMARY: key 'PPFMT': "
                            "found '%s', expected '%s'", path, fmt,
                            FIT_PAYLOAD_FORMAT);
    if (key_string(fp, path, "PRIMARY", "PATCHTAG", 0, p->patch_tag,
                   sizeof p->patch_tag, err) ||
        key_string(fp, path, "PRIMARY", "EPSFTAG", 0, p->epsf_tag,
                   sizeof p->epsf_tag, err) ||
        key_long(fp, path, "PRIMARY", "EPSF_R", &p->epsf_r, err) ||
        key_long(fp, path, "PRIMARY", "EPSF_C", &p->epsf_c, err) ||
        key_long(fp, path, "PRIMARY", "PATCH_R", &p->patch_r, err) ||
        key_long(fp, path, "PRIMARY", "PATCH_C", &p->patch_c, err) ||
        key_long(fp, path, "PRIMARY", "HALOPIX", &p->halo_pix, err) ||
        key_long(fp, path, "PRIMARY", "NBANDS", nbands, err) ||
        key_long(fp, path, "PRIMARY", "NSRC", &p->n_base, err) ||
        key_long(fp, path, "PRIMARY", "NHALO", &p->n_halo, err) ||
        key_double(fp, path, "PRIMARY", "ZPREF", 0, 0, &p->zp_ref, err) ||
        key_long(fp, path, "PRIMARY", "CROPX0", &p->crop_x0, err) ||
        key_long(fp, path, "PRIMARY", "CROPY0", &p->crop_y0, err))
        return err->code;
    for (i = 0; i < 8; i++)
        if (key_long(fp, path, "PRIMARY", box_keys[i], box[i], err))
            return err->code;
    p->width = p->rx1 - p->rx0;
    p->height = p->ry1 - p->ry0;
    if (p->width <= 0 || p->height <= 0 || p->bx0 < p->rx0 ||
        p->bx1 > p->rx1 || p->by0 < p->ry0 || p->by1 > p->ry1 ||
        p->bx1 <= p->bx0 || p->by1 <= p->by0)
        return pp_error_set(err, PP_EDATA, "'%s': HDU PRIMARY: boxes BX0..BY1"
                            " = %ld %ld %ld %ld, RX0..RY1 = %ld %ld %ld %ld: "
                            "expected a non-empty base box inside the ROI",
                            path, p->bx0, p->bx1, p->by0, p->by1, p->rx0,
                            p->rx1, p->ry0, p->ry1);
    if (*nbands < 1 || *nbands > 100000 || p->n_base < 0 || p->n_halo < 0)
        return pp_error_set(err, PP_EDATA, "'%s': HDU PRIMARY: NBANDS = %ld, "
                            "NSRC = %ld, NHALO = %ld: expected NBANDS >= 1 "
                            "and counts >= 0", path, *nbands, p->n_base,
                            p->n_halo);
    return pp_wcs_from_fits(fp, path, &p->wcs, err);
}

/* ---- bands ------------------------------------------------------------ */

/* Move to image extension extname / EXTVER k and check its size. */
static int move_image(fitsfile *fp, const fit_payload *p, const char *ext,
                      int k, const char *hdu, pp_error *err)
{
    int status = 0;
    long w, h;

    if (fits_movnam_hdu(fp, IMAGE_HDU, (char *)ext, k, &status))
        return pp_error_set(err, PP_EDATA, "'%s': HDU %s is missing",
                            p->path, hdu);
    if (pp_fits_image_size(fp, &w, &h, err) != PP_OK)
        return pp_error_prefix(err, "'%s': HDU %s: ", p->path, hdu);
    if (w != p->width || h != p->height)
        return pp_error_set(err, PP_EDATA, "'%s': HDU %s: image is %ldx%ld, "
                            "expected the ROI size %ldx%ld", p->path, hdu, w,
                            h, p->width, p->height);
    return PP_OK;
}

static int read_band(fitsfile *fp, fit_payload *p, int k, pp_error *err)
{
    fit_payload_band *b = &p->bands[k];
    size_t n = (size_t)p->width * (size_t)p->height;
    char hdu[32], bname[FIT_TAG_MAX];
    const char *path = p->path;

    snprintf(hdu, sizeof hdu, "SCI/%d", k + 1);
    if (move_image(fp, p, "SCI", k + 1, hdu, err) ||
        key_string(fp, path, hdu, "BAND", 0, b->name, sizeof b->name, err) ||
        key_double(fp, path, hdu, "SCALE", 1, 0, &b->scale, err) ||
        key_double(fp, path, hdu, "SKYSIGS", 1, 0, &b->skysigs, err) ||
        key_double(fp, path, hdu, "EGAIN", 1, 0, &b->egain, err) ||
        key_double(fp, path, hdu, "SATURATE", 1, 1, &b->saturate, err) ||
        key_double(fp, path, hdu, "FWHMPIX", 1, 1, &b->fwhm_pix, err) ||
        key_string(fp, path, hdu, "FWHMSRC", 1, b->fwhm_source,
                   sizeof b->fwhm_source, err))
        return err->code;
    b->sci = pp_malloc_checked(n, sizeof *b->sci, "a payload image", err);
    if (!b->sci)
        return err->code;
    if (pp_fits_read_subset(fp, 0, p->width, 0, p->height, b->sci, err))
        return pp_error_prefix(err, "'%s': HDU %s: ", path, hdu);
    snprintf(hdu, sizeof hdu, "MASK/%d", k + 1);
    if (move_image(fp, p, "MASK", k + 1, hdu, err) ||
        key_string(fp, path, hdu, "BAND", 0, bname, sizeof bname, err))
        return err->code;
    if (strcmp(bname, b->name) != 0)
        return pp_error_set(err, PP_EDATA, "'%s': HDU %s: key 'BAND': found "
                            "'%s', expected '%s' (the band of SCI/%d)", path,
                            hdu, bname, b->name, k + 1);
    b->mask = pp_malloc_checked(n, 1, "a payload mask", err);
    if (!b->mask)
        return err->code;
    if (pp_fits_read_subset_u8(fp, 0, p->width, 0, p->height, b->mask, err))
        return pp_error_prefix(err, "'%s': HDU %s: ", path, hdu);
    return PP_OK;
}

/* ---- SOURCES table ---------------------------------------------------- */

typedef struct {
    int ncol;
    char (*name)[FLEN_VALUE];       /* TTYPEn */
    int *typed;                     /* T_* or -1 for a byte column */
} table_cols;

static int read_columns(fitsfile *fp, const char *path, table_cols *tc,
                        pp_error *err)
{
    int status = 0, c, t;
    char key[FLEN_KEYWORD], form[FLEN_VALUE];

    if (fits_get_num_cols(fp, &tc->ncol, &status))
        return fits_fail(err, path, "SOURCES", "cannot read the columns",
                         status);
    tc->name = pp_xcalloc((size_t)tc->ncol + 1, sizeof *tc->name);
    tc->typed = pp_xcalloc((size_t)tc->ncol + 1, sizeof *tc->typed);
    for (c = 0; c < tc->ncol; c++) {
        snprintf(key, sizeof key, "TTYPE%d", c + 1);
        if (fits_read_key(fp, TSTRING, key, tc->name[c], NULL, &status))
            return fits_fail(err, path, "SOURCES", key, status);
        snprintf(key, sizeof key, "TFORM%d", c + 1);
        if (fits_read_key(fp, TSTRING, key, form, NULL, &status))
            return fits_fail(err, path, "SOURCES", key, status);
        tc->typed[c] = -1;
        for (t = 0; t < NTYPED; t++)
            if (strcasecmp(tc->name[c], typed_names[t]) == 0)
                tc->typed[c] = t;
        if (tc->typed[c] < 0 && !strchr(form, 'P') && !strchr(form, 'Q'))
            return pp_error_set(err, PP_EDATA, "'%s': HDU SOURCES: column "
                                "'%s': TFORM '%s', expected a variable-"
                                "length byte column (1PB)", path,
                                tc->name[c], form);
    }
    return PP_OK;
}

/* Column index (1-based) of typed column t, or 0. */
static int typed_col(const table_cols *tc, int t)
{
    for (int c = 0; c < tc->ncol; c++)
        if (tc->typed[c] == t)
            return c + 1;
    return 0;
}

/* Catalogue column order: byte columns as stored, x/y_pix_white put
 * before COL_AFTER_WHITE (or appended).  OUTPUT order[] of 1-based FITS
 * column numbers, *n entries. */
static void catalog_order(const table_cols *tc, int *order, int *n)
{
    int xw = typed_col(tc, T_XW), yw = typed_col(tc, T_YW), c, done = 0;

    *n = 0;
    for (c = 0; c < tc->ncol; c++) {
        if (tc->typed[c] >= 0)
            continue;
        if (!done && strcasecmp(tc->name[c], COL_AFTER_WHITE) == 0) {
            if (xw)
                order[(*n)++] = xw;
            if (yw)
                order[(*n)++] = yw;
            done = 1;
        }
        order[(*n)++] = c + 1;
    }
    if (!done) {
        if (xw)
            order[(*n)++] = xw;
        if (yw)
            order[(*n)++] = yw;
    }
}

static int read_typed(fitsfile *fp, const fit_payload *p, int col, int type,
                      void *out, pp_error *err)
{
    int status = 0, anynul = 0;

    if (fits_read_col(fp, type, col, 1, 1, p->nsrc, NULL, out, &anynul,
                      &status))
        return fits_fail(err, p->path, "SOURCES", "cannot read a typed "
                         "column", status);
    return PP_OK;
}

/* One variable-length byte cell into the table. */
static int read_cell(fitsfile *fp, fit_payload *p, int col, long row,
                     int tcol, const char *name, unsigned char **buf,
                     long *cap, pp_error *err)
{
    long repeat = 0, offset = 0;
    int status = 0, anynul = 0;

    if (fits_read_descript(fp, col, row + 1, &repeat, &offset, &status))
        return fits_fail(err, p->path, "SOURCES", name, status);
    if (repeat > *cap) {
        free(*buf);
        *cap = repeat;
        *buf = pp_malloc_checked((size_t)repeat, 1, "a catalogue cell", err);
        if (!*buf)
            return err->code;
    }
    if (repeat > 0 &&
        fits_read_col(fp, TBYTE, col, row + 1, 1, repeat, NULL, *buf,
                      &anynul, &status))
        return fits_fail(err, p->path, "SOURCES", name, status);
    if (repeat > 0 && memchr(*buf, 0, (size_t)repeat))
        return pp_error_set(err, PP_EDATA, "'%s': HDU SOURCES: column '%s' "
                            "row %ld: a NUL byte in the cell text", p->path,
                            name, row + 1);
    return pp_table_set_bytes(&p->cat, row, tcol, (const char *)*buf,
                              (size_t)repeat, err);
}

/* The catalogue cells, in catalogue column order. */
static int read_cells(fitsfile *fp, fit_payload *p, const table_cols *tc,
                      const double *xw, const double *yw, pp_error *err)
{
    int *order = pp_xcalloc((size_t)tc->ncol + 2, sizeof *order), n, c;
    unsigned char *buf = NULL;
    long cap = 0, r, row;
    char num[32];
    int status = PP_OK;

    catalog_order(tc, order, &n);
    for (c = 0; c < n; c++)
        pp_table_add_column(&p->cat, tc->name[order[c] - 1], -1);
    for (r = 0; r < p->nsrc && status == PP_OK; r++)
        status = pp_table_add_row_checked(&p->cat, 0, &row, err);
    for (c = 0; c < n && status == PP_OK; c++) {
        int t = tc->typed[order[c] - 1];

        for (r = 0; r < p->nsrc && status == PP_OK; r++)
            if (t == T_XW || t == T_YW)
                status = pp_table_set(&p->cat, r, c, pp_csv_format_double(
                                          t == T_XW ? xw[r] : yw[r], num));
            else
                status = read_cell(fp, p, order[c], r, c,
                                   tc->name[order[c] - 1], &buf, &cap, err);
    }
    free(buf);
    free(order);
    return status;
}

static int read_sources(fitsfile *fp, fit_payload *p, pp_error *err)
{
    table_cols tc = { 0, NULL, NULL };
    double *v[4] = { NULL, NULL, NULL, NULL };
    char *flag[2] = { NULL, NULL };
    int status = 0, t, col;
    long nrows = 0, s;

    if (fits_movnam_hdu(fp, BINARY_TBL, "SOURCES", 0, &status))
        return pp_error_set(err, PP_EDATA, "'%s': HDU SOURCES is missing",
                            p->path);
    if (fits_get_num_rows(fp, &nrows, &status))
        return fits_fail(err, p->path, "SOURCES", "cannot read NAXIS2",
                         status);
    p->nsrc = nrows;
    status = read_columns(fp, p->path, &tc, err);
    for (t = 0; t < 6 && status == PP_OK; t++) {
        col = typed_col(&tc, t);
        if (!col && t != T_EDGE) {
            status = pp_error_set(err, PP_EDATA, "'%s': HDU SOURCES: column "
                                  "'%s' is missing", p->path,
                                  typed_names[t]);
            break;
        }
        if (t < 4)
            v[t] = pp_xcalloc((size_t)nrows + 1, sizeof *v[t]);
        else
            flag[t - 4] = pp_xcalloc((size_t)nrows + 1, 1);
        if (col && nrows)
            status = read_typed(fp, p, col, t < 4 ? TDOUBLE : TLOGICAL,
                                t < 4 ? (void *)v[t] : (void *)flag[t - 4],
                                err);
    }
    if (status == PP_OK) {
        p->src = pp_malloc_checked((size_t)nrows + 1, sizeof *p->src,
                                   "the payload sources", err);
        status = p->src ? read_cells(fp, p, &tc, v[0], v[1], err)
                        : err->code;
    }
    for (s = 0; status == PP_OK && s < nrows; s++) {
        fit_payload_src *src = &p->src[s];

        src->x_white = v[T_XW][s];
        src->y_white = v[T_YW][s];
        src->x_patch = v[T_XP][s];
        src->y_patch = v[T_YP][s];
        src->is_halo = flag[0][s] != 0;
        src->is_edge = flag[1][s] != 0;
    }
    for (t = 0; t < 4; t++)
        free(v[t]);
    free(flag[0]);
    free(flag[1]);
    free(tc.name);
    free(tc.typed);
    return status;
}

/* Rows must be NSRC base, NHALO halo, then edge rows, and positions
 * finite (SPEC §9.2, §9.3). */
static int check_sources(fit_payload *p, pp_error *err)
{
    long s;

    p->n_edge = p->nsrc - p->n_base - p->n_halo;
    if (p->n_edge < 0)
        return pp_error_set(err, PP_EDATA, "'%s': HDU SOURCES: %ld rows, "
                            "expected at least NSRC + NHALO = %ld", p->path,
                            p->nsrc, p->n_base + p->n_halo);
    for (s = 0; s < p->nsrc; s++) {
        const fit_payload_src *src = &p->src[s];
        int halo = s >= p->n_base && s < p->n_base + p->n_halo;
        int edge = s >= p->n_base + p->n_halo;

        if (src->is_halo != halo || (src->is_edge && !edge))
            return pp_error_set(err, PP_EDATA, "'%s': HDU SOURCES: row %ld: "
                                "is_halo = %d, is_edge = %d, expected rows "
                                "in the order base (NSRC), halo (NHALO), "
                                "edge", p->path, s + 1, src->is_halo,
                                src->is_edge);
        if (!isfinite(src->x_patch) || !isfinite(src->y_patch) ||
            !isfinite(src->x_white) || !isfinite(src->y_white))
            return pp_error_set(err, PP_EDATA, "'%s': HDU SOURCES: row %ld: "
                                "a position is not finite", p->path, s + 1);
        p->src[s].is_edge = edge;
    }
    return PP_OK;
}

/* ---- per-source inputs ------------------------------------------------ */

int fit_payload_type_kind(const char *type_cell, const char *gal_model)
{
    static const char *const names[] = { "STAR", "EXP", "DEV", "SERSIC" };
    static const int kinds[] = { FIT_PROFILE_POINT, FIT_PROFILE_EXP,
                                 FIT_PROFILE_DEV, FIT_PROFILE_SERSIC };
    const char *s = type_cell ? type_cell : "";
    size_t n;
    int i;

    while (isspace((unsigned char)*s))
        s++;
    n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    for (i = 0; i < 4; i++)
        if (n == strlen(names[i]) && strncasecmp(s, names[i], n) == 0)
            return kinds[i];
    /* SPEC §5.1: GAL, empty and anything else -> patch_run.gal_model. */
    for (i = 0; gal_model && i < 4; i++)
        if (strcasecmp(gal_model, names[i]) == 0)
            return kinds[i];
    return FIT_PROFILE_EXP;
}

const char *fit_payload_kind_name(int kind)
{
    switch (kind) {
    case FIT_PROFILE_POINT: return "star";
    case FIT_PROFILE_EXP: return "exp";
    case FIT_PROFILE_DEV: return "dev";
    case FIT_PROFILE_SERSIC: return "sersic";
    case FIT_PROFILE_GAUSS: return "gauss";
    default: return "";
    }
}

static double clip(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void fit_payload_init_shape(double ell, double theta_deg, double re_pix,
                            double re_fallback_pix, double *logre,
                            double *ee1, double *ee2)
{
    /* SPEC §10.2, initial shape from the catalogue. */
    double ab = isfinite(ell) ? clip(1.0 - ell, FIT_INIT_AB_MIN, 1.0)
                              : FIT_INIT_AB_DEFAULT;
    double phi = isfinite(theta_deg) ? theta_deg - 90.0 : 0.0;
    double re = isfinite(re_pix) ? clip(re_pix, FIT_INIT_RE_MIN,
                                        FIT_INIT_RE_MAX) : re_fallback_pix;
    double e = (1.0 - ab) / (1.0 + ab), ee = -log(1.0 - e);
    double ang = -2.0 * phi * M_PI / 180.0;

    *ee1 = ee * cos(ang);
    *ee2 = ee * sin(ang);
    *logre = log(re);
}

/* The number in cell (row, col); NAN when the column is absent, the cell
 * empty, or not a number (then one WARNING). */
static double cell_number(const fit_payload *p, long row, int col)
{
    const char *text;
    double v;

    if (col < 0)
        return NAN;
    text = pp_table_get(&p->cat, row, col);
    if (!text[0])
        return NAN;
    if (pp_parse_double(text, &v) != 0) {
        pp_log(PP_LOG_WARNING, "'%s': source row %ld: column '%s': found "
               "'%s', expected a number; taken as empty", p->path, row + 1,
               pp_table_colname(&p->cat, col), text);
        return NAN;
    }
    return v;
}

static int parse_inputs(fit_payload *p, const pp_config *cfg, pp_error *err)
{
    const pp_table *t = &p->cat;
    int c_type = pp_table_find_column(t, "TYPE", p->path);
    int c_ell = pp_table_find_column(t, "ELL", p->path);
    int c_theta = pp_table_find_column(t, "THETA", p->path);
    int c_re = pp_table_find_column(t, "Re", p->path);
    int c_perr = pp_table_find_column(t, "POS_ERR", p->path);
    int *c_flux = pp_xcalloc((size_t)p->nbands, sizeof *c_flux);
    long s;
    int b;

    for (b = 0; b < p->nbands; b++) {
        char name[FIT_TAG_MAX + 8];

        snprintf(name, sizeof name, "FLUX_%s", p->bands[b].name);
        c_flux[b] = pp_table_find_column(t, name, p->path);
    }
    p->flux_cat = pp_malloc_checked((size_t)p->nsrc * (size_t)p->nbands + 1,
                                    sizeof *p->flux_cat,
                                    "catalogue fluxes", err);
    for (s = 0; p->flux_cat && s < p->nsrc; s++) {
        fit_payload_src *src = &p->src[s];
        double perr = cell_number(p, s, c_perr);

        src->kind = fit_payload_type_kind(c_type < 0 ? "" :
                                          pp_table_get(t, s, c_type),
                                          cfg->patch_run.gal_model);
        fit_payload_init_shape(cell_number(p, s, c_ell),
                               cell_number(p, s, c_theta),
                               cell_number(p, s, c_re),
                               cfg->patch_run.re_fallback_pix, &src->logre,
                               &src->ee1, &src->ee2);
        src->sersic_n = cfg->patch_run.sersic_n_init;
        src->pos_err = isfinite(perr) && perr > 0 ? perr : NAN;
        for (b = 0; b < p->nbands; b++) {
            double f = cell_number(p, s, c_flux[b]);

            /* SPEC §10.4: only a finite positive flux is a start value. */
            p->flux_cat[s * p->nbands + b] = isfinite(f) && f > 0 ? f : NAN;
        }
    }
    free(c_flux);
    return p->flux_cat ? PP_OK : err->code;
}

/* ---- entry points ----------------------------------------------------- */

int fit_payload_read(const char *path, const pp_config *cfg, fit_payload *p,
                     pp_error *err)
{
    fitsfile *fp = NULL;
    int status = 0, rc = PP_OK, k;
    long nbands = 0;

    *p = (fit_payload)FIT_PAYLOAD_INIT;
    if (strlen(path) >= sizeof p->path)
        return pp_error_set(err, PP_EIO, "cannot open '%s': path too long",
                            path);
    strcpy(p->path, path);
    if (fits_open_diskfile(&fp, path, READONLY, &status)) {
        char msg[FLEN_STATUS];

        /* A file that exists but is no FITS (truncated, corrupted) is bad
         * data; one that cannot be opened at all is an I/O error. */
        fits_get_errstatus(status, msg);
        if (access(path, R_OK) != 0)
            return pp_error_set(err, PP_EIO, "cannot open '%s': %s", path,
                                strerror(errno));
        return pp_error_set(err, PP_EDATA, "'%s': not a readable FITS file: "
                            "%s", path, msg);
    }
    rc = read_primary(fp, p, &nbands, err);
    if (rc == PP_OK) {
        p->nbands = (int)nbands;
        p->bands = pp_xcalloc((size_t)nbands, sizeof *p->bands);
    }
    for (k = 0; rc == PP_OK && k < p->nbands; k++)
        rc = read_band(fp, p, k, err);
    if (rc == PP_OK)
        rc = read_sources(fp, p, err);
    if (rc == PP_OK)
        rc = check_sources(p, err);
    if (rc == PP_OK)
        rc = parse_inputs(p, cfg, err);
    pp_fits_close(fp);
    /* A read error inside a file that opened is a truncated or corrupted
     * payload: bad data, not an I/O problem of this machine. */
    if (rc == PP_EIO)
        rc = err->code = PP_EDATA;
    if (rc != PP_OK)
        fit_payload_release(p);
    return rc;
}

void fit_payload_release(fit_payload *p)
{
    int k;

    for (k = 0; p->bands && k < p->nbands; k++) {
        free(p->bands[k].sci);
        free(p->bands[k].mask);
    }
    free(p->bands);
    free(p->src);
    free(p->flux_cat);
    pp_wcs_release(&p->wcs);
    pp_table_release(&p->cat);
    *p = (fit_payload)FIT_PAYLOAD_INIT;
}
