/* test_fit_payload.c - pp-fit's payload reader, inverse variance and
 * initial fluxes (SPEC §9.3, §5.3, §10.2, §10.4).
 *
 * A real payload comes from the pipeline run on a small pp-sim field
 * (programs from $PP_BIN, default ../bin): pp-sim, pp-crop,
 * pp-zp augment, pp-crop mask, pp-patchify.  Truth comes from the other
 * files of that run, read with other code: patches/patches.csv (boxes,
 * counts), frames.json (band names, scale, sky sigma), the base
 * catalogue CSV (every cell's text), the raw band images (pixels).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <fitsio.h>

#include "pp_config.h"
#include "pp_csv.h"
#include "pp_fits.h"
#include "pp_io.h"
#include "pp_json.h"
#include "pp_log.h"
#include "pp_mem.h"
#include "pp_table.h"

#include "initflux.h"
#include "ivar.h"
#include "payload.h"
#include "profile.h"
#include "tap.h"

#include "fit_field.h"

#define TAG "r00_c00_pr00_pc01"


/* ---- header, boxes, bands ---------------------------------------------- */

static void test_header(const fit_payload *p)
{
    char *path = field_path("work/patches/patches.csv");
    pp_table t = PP_TABLE_INIT;
    pp_error err = PP_ERROR_INIT;
    long r, row = -1;
    double v;

    check_int(pp_csv_read(path, &t, &err), ==, PP_OK, "patches.csv read");
    for (r = 0; r < pp_table_nrows(&t); r++)
        if (strcmp(pp_table_get(&t, r, pp_table_find_column(&t, "patch_tag",
                                                             NULL)),
                   TAG) == 0)
            row = r;
    check(row >= 0, "payload: patch listed in patches.csv");
#define COL(name) (pp_table_get_double(&t, row, pp_table_find_column( \
                   &t, name, NULL), path, &v, &err), v)
    check_str(p->patch_tag, TAG, "payload: PATCHTAG");
    check_str(p->epsf_tag, "r00_c00", "payload: EPSFTAG");
    check(p->patch_r == COL("patch_r") && p->patch_c == COL("patch_c") &&
          p->epsf_r == COL("epsf_r") && p->epsf_c == COL("epsf_c"),
          "payload: cell and patch indices as in patches.csv");
    check(p->bx0 == COL("x0_base") && p->bx1 == COL("x1_base") &&
          p->by0 == COL("y0_base") && p->by1 == COL("y1_base"),
          "payload: base box as in patches.csv");
    check(p->rx0 == COL("x0_roi") && p->rx1 == COL("x1_roi") &&
          p->ry0 == COL("y0_roi") && p->ry1 == COL("y1_roi"),
          "payload: ROI box as in patches.csv");
    check(p->width == p->rx1 - p->rx0 && p->height == p->ry1 - p->ry0,
          "payload: ROI size");
    check(p->halo_pix == COL("halo_pix"), "payload: HALOPIX");
    check(p->n_base == COL("n_sources") && p->n_halo == COL("n_halo_sources"),
          "payload: base and halo counts as in patches.csv");
#undef COL
    check(p->crop_x0 == 18 && p->crop_y0 == 18,
          "payload: crop origin (pp-sim's margin 18)");
    check_near(p->zp_ref, 25.0, 0, "payload: ZPREF");
    pp_table_release(&t);
    free(path);
}

static void test_bands(const fit_payload *p)
{
    char *path = field_path("work/frames.json");
    pp_error err = PP_ERROR_INIT;
    json_t *root = NULL, *bands;
    int b, ok = 1;

    check_int(pp_json_read(path, &root, &err), ==, PP_OK, "frames.json read");
    bands = json_object_get(root, "bands");
    check_int(p->nbands, ==, json_array_size(bands), "payload: NBANDS");
    for (b = 0; b < p->nbands && b < (int)json_array_size(bands); b++) {
        json_t *o = json_array_get(bands, (size_t)b);

        ok &= strcmp(p->bands[b].name, json_string_value(
                         json_object_get(o, "band"))) == 0;
        ok &= p->bands[b].scale == json_real_value(json_object_get(o,
                                                                   "scale"));
        ok &= p->bands[b].skysigs == json_real_value(
                  json_object_get(o, "sky_sigma_scaled"));
        ok &= p->bands[b].egain == json_real_value(json_object_get(o,
                                                                   "egain"));
        ok &= p->bands[b].fwhm_pix == json_real_value(
                  json_object_get(o, "fwhm_pix"));
    }
    check(ok, "payload: band name, SCALE, SKYSIGS, EGAIN, FWHMPIX as in "
          "frames.json");
    json_decref(root);
    free(path);
}

/* SCI = raw x SCALE at a few pixels, raw read from the band image. */
static void test_pixels(const fit_payload *p)
{
    pp_error err = PP_ERROR_INIT;
    int b, ok = 1, hdu;

    for (b = 0; b < p->nbands; b++) {
        char *rel = pp_xasprintf("%s.fits", p->bands[b].name);
        char *path = field_path(rel);
        fitsfile *fp = NULL;
        long xs[3] = { 0, p->width / 2, p->width - 1 };
        long ys[3] = { 0, p->height / 3, p->height - 1 };

        if (pp_fits_open_image(path, &fp, &hdu, &err) != PP_OK)
            ok = 0;
        for (int k = 0; fp && k < 3; k++) {
            float raw;
            long fx = xs[k] + p->rx0 + p->crop_x0;
            long fy = ys[k] + p->ry0 + p->crop_y0;
            float sci = p->bands[b].sci[ys[k] * p->width + xs[k]];

            pp_fits_read_subset(fp, fx, fx + 1, fy, fy + 1, &raw, &err);
            ok &= sci == (float)((double)raw * p->bands[b].scale);
        }
        pp_fits_close(fp);
        free(rel);
        free(path);
    }
    check(ok, "payload: SCI pixels are raw x SCALE at the ROI offset");
}

/* Every cell of every source equals the base catalogue's (pp-zp's
 * augmented catalogue), columns in its order. */
static void test_cells(const fit_payload *p)
{
    char *path = field_path("work/ZP/input_catalog_with_Gaia.csv");
    pp_table t = PP_TABLE_INIT;
    pp_error err = PP_ERROR_INIT;
    int c, same_cols, id, pid, ok = 1, found = 1;
    long s, r;

    check_int(pp_csv_read(path, &t, &err), ==, PP_OK, "base catalogue read");
    same_cols = pp_table_ncols(&t) == pp_table_ncols(&p->cat);
    for (c = 0; same_cols && c < pp_table_ncols(&t); c++)
        same_cols = strcmp(pp_table_colname(&t, c),
                           pp_table_colname(&p->cat, c)) == 0;
    check(same_cols, "payload: catalogue columns in base-catalogue order "
          "(x_pix_white, y_pix_white restored before excluded_crop)");
    id = pp_table_find_column(&t, "ID", NULL);
    pid = pp_table_find_column(&p->cat, "ID", NULL);
    for (s = 0; same_cols && s < p->nsrc; s++) {
        for (r = 0; r < pp_table_nrows(&t); r++)
            if (strcmp(pp_table_get(&t, r, id),
                       pp_table_get(&p->cat, s, pid)) == 0)
                break;
        if (r == pp_table_nrows(&t)) {
            found = 0;
            continue;
        }
        for (c = 0; c < pp_table_ncols(&t); c++)
            ok &= strcmp(pp_table_get(&t, r, c),
                         pp_table_get(&p->cat, s, c)) == 0;
    }
    check(found, "payload: every source ID is in the base catalogue");
    check(ok, "payload: every cell is the base catalogue's exact text");
    pp_table_release(&t);
    free(path);
}

static void test_sources(const fit_payload *p)
{
    int ok_pos = 1, ok_kind = 1, ok_order = 1, ok_flux = 1;
    int ctype = pp_table_find_column(&p->cat, "TYPE", NULL);
    long s;

    check_int(p->nsrc, ==, p->n_base + p->n_halo + p->n_edge,
              "payload: sources = base + halo + edge");
    for (s = 0; s < p->nsrc; s++) {
        const fit_payload_src *src = &p->src[s];
        const char *type = pp_table_get(&p->cat, s, ctype);

        ok_pos &= src->x_patch == src->x_white - (double)p->rx0 &&
                  src->y_patch == src->y_white - (double)p->ry0;
        ok_order &= src->is_halo == (s >= p->n_base &&
                                     s < p->n_base + p->n_halo) &&
                    src->is_edge == (s >= p->n_base + p->n_halo);
        /* pp-sim writes STAR/star, EXP, DEV, SERSIC, GAL, ...; the
         * default gal_model is exp (SPEC §4.1). */
        if (strcasecmp(type, "star") == 0)
            ok_kind &= src->kind == FIT_PROFILE_POINT;
        else if (strcasecmp(type, "dev") == 0)
            ok_kind &= src->kind == FIT_PROFILE_DEV;
        else if (strcasecmp(type, "sersic") == 0)
            ok_kind &= src->kind == FIT_PROFILE_SERSIC;
        else
            ok_kind &= src->kind == FIT_PROFILE_EXP;
        for (int b = 0; b < p->nbands; b++) {
            double f = p->flux_cat[s * p->nbands + b];

            ok_flux &= isnan(f) || f > 0;
        }
    }
    check(ok_pos, "payload: x_pix_patch = x_pix_white - RX0 (y too)");
    check(ok_order, "payload: rows are base, halo, edge");
    check(ok_kind, "payload: TYPE gives the profile kind");
    check(ok_flux, "payload: catalogue fluxes are NaN or > 0");
}

/* ---- per-source parsing (hand-computed) --------------------------------- */

static void test_shapes(void)
{
    double logre, ee1, ee2, S[2][2], ab, th;

    /* ELL 0.5, THETA 30: ab = 0.5, phi = -60 deg, e = 0.5/1.5 = 1/3,
     * |ee| = -ln(2/3) = 0.405465108108164; -2 phi = 120 deg:
     * ee1 = |ee| cos 120 = -0.202732554054082,
     * ee2 = |ee| sin 120 = 0.351143083969874 (bc -l). */
    fit_payload_init_shape(0.5, 30.0, 5.0, 3.0, &logre, &ee1, &ee2);
    check_near(ee1, -0.202732554054082, 1e-14, "shape: ELL 0.5 THETA 30 ee1");
    check_near(ee2, 0.351143083969874, 1e-14, "shape: ELL 0.5 THETA 30 ee2");
    check_near(logre, log(5.0), 1e-15, "shape: logre = ln Re");
    /* The rendered major axis points at 30 deg from +x (SPEC §10.2):
     * the eigenvector of S for the larger eigenvalue is at
     * 0.5 atan2(2 Sxy, Sxx - Syy). */
    fit_ellipse_cov(logre, ee1, ee2, S, NULL);
    check_near(0.5 * atan2(2 * S[0][1], S[0][0] - S[1][1]) * 180 / M_PI,
               30.0, 1e-9, "shape: THETA 30 renders a major axis at 30 deg");
    fit_ellipse_ab_theta(ee1, ee2, &ab, &th);
    check_near(ab, 0.5, 1e-12, "shape: ab comes back as 1 - ELL");
    /* Absent ELL, THETA, Re: ab 0.8, phi 0, re = re_fallback_pix 3:
     * e = 0.2/1.8 = 1/9, |ee| = ln(9/8) = 0.117783035656383, ee2 = 0. */
    fit_payload_init_shape(NAN, NAN, NAN, 3.0, &logre, &ee1, &ee2);
    check_near(ee1, 0.117783035656383, 1e-14, "shape: defaults ee1");
    check_near(ee2, 0.0, 1e-15, "shape: defaults ee2");
    check_near(logre, log(3.0), 1e-15, "shape: re_fallback_pix");
    /* Clipping: ELL 0.95 -> ab 0.1, e = 0.9/1.1, |ee| = ln 5.5 =
     * 1.704748092238425; THETA 90 -> phi 0; Re 500 -> 100, 0.1 -> 0.3. */
    fit_payload_init_shape(0.95, 90.0, 500.0, 3.0, &logre, &ee1, &ee2);
    check_near(ee1, 1.704748092238425, 1e-13, "shape: ab clipped at 0.1");
    check_near(logre, log(100.0), 1e-15, "shape: Re clipped at 100");
    fit_payload_init_shape(-0.5, 90.0, 0.1, 3.0, &logre, &ee1, &ee2);
    check_near(ee1, 0.0, 1e-15, "shape: ab clipped at 1 (round)");
    check_near(logre, log(0.3), 1e-15, "shape: Re clipped at 0.3");
}

static void test_kinds(void)
{
    check_int(fit_payload_type_kind(" star ", "exp"), ==, FIT_PROFILE_POINT,
              "TYPE: ' star ' is a star (trimmed, any case)");
    check_int(fit_payload_type_kind("Sersic", "exp"), ==, FIT_PROFILE_SERSIC,
              "TYPE: Sersic");
    check_int(fit_payload_type_kind("DEV", "exp"), ==, FIT_PROFILE_DEV,
              "TYPE: DEV");
    check_int(fit_payload_type_kind("GAL", "dev"), ==, FIT_PROFILE_DEV,
              "TYPE: GAL takes gal_model");
    check_int(fit_payload_type_kind("", "sersic"), ==, FIT_PROFILE_SERSIC,
              "TYPE: empty takes gal_model");
    check_int(fit_payload_type_kind("QSO", "star"), ==, FIT_PROFILE_POINT,
              "TYPE: unknown takes gal_model (star)");
    check_str(fit_payload_kind_name(FIT_PROFILE_POINT), "star",
              "stype_fit of a point source is 'star'");
}

/* ---- inverse variance ------------------------------------------------- */

static void test_ivar(fit_payload *p)
{
    size_t n = (size_t)p->width * (size_t)p->height, i, good = n;
    float *iv = calloc(n, sizeof *iv);
    double *model = calloc(n, sizeof *model);
    const fit_payload_band *b = &p->bands[1];
    pp_error err = PP_ERROR_INIT;
    int ok = 1, mode;
    double s2 = b->skysigs * b->skysigs;

    /* Make one pixel bad in two ways the test can see. */
    p->bands[1].mask[5] |= FIT_MASK_BRIGHT;
    p->bands[1].sci[7] = NAN;
    check_int(fit_ivar_compute(p, 1, FIT_NOISE_SKY, NULL, iv, &err), ==,
              PP_OK, "ivar: sky model computes");
    for (i = 0; i < n; i++) {
        int bad = b->mask[i] || !isfinite(b->sci[i]);

        ok &= bad ? iv[i] == 0.0f : iv[i] == (float)(1.0 / s2);
        good -= bad;
    }
    check(ok, "ivar sky: 1/SKYSIGS^2 on good pixels, 0 where masked/NaN");
    check(iv[5] == 0.0 && iv[7] == 0.0, "ivar: bright-mask bit and NaN data "
          "give 0");
    check(good > n / 2, "ivar: most pixels are good");
    /* sky+poisson with M = 100 (scaled): var = s^2 + SCALE * 100 / EGAIN;
     * a negative model adds nothing. */
    for (i = 0; i < n; i++)
        model[i] = i % 2 ? 100.0 : -5.0;
    check_int(fit_ivar_compute(p, 1, FIT_NOISE_SKY_POISSON, model, iv, &err),
              ==, PP_OK, "ivar: sky+poisson computes");
    ok = 1;
    for (i = 0; i < n; i++) {
        double want = i % 2 ? 1.0 / (s2 + b->scale * 100.0 / b->egain)
                            : 1.0 / s2;

        if (b->mask[i] || !isfinite(b->sci[i]))
            want = 0.0;
        ok &= iv[i] == (float)want;
    }
    check(ok, "ivar sky+poisson: 1/(s^2 + SCALE max(M,0)/EGAIN)");
    check_int(fit_ivar_noise_model("sky+poisson", &mode, &err), ==, PP_OK,
              "noise_model: sky+poisson accepted");
    check_int(fit_ivar_noise_model("poisson", &mode, &err), ==, PP_ECONFIG,
              "noise_model: unknown value is a config error");
    check(strstr(err.msg, "patch_run.noise_model") != NULL,
          "noise_model: message names the key");
    free(iv);
    free(model);
}

/* ---- initial fluxes (hand-made image) --------------------------------- */

static void test_initflux(void)
{
    fit_payload p = FIT_PAYLOAD_INIT;
    fit_payload_band band;
    fit_payload_src src[3];
    double fcat[3] = { 123.0, NAN, NAN }, flux[3], sum, clean;
    float img[41 * 41];
    unsigned char mask[41 * 41];
    pp_error err = PP_ERROR_INIT;
    int i;

    memset(&band, 0, sizeof band);
    memset(src, 0, sizeof src);
    for (i = 0; i < 41 * 41; i++) {
        img[i] = 2.0f;
        mask[i] = 0;
    }
    /* A masked, wildly wrong pixel inside the aperture of source 1, and
     * source 2 in a fully masked corner. */
    img[20 * 41 + 21] = 1e6f;
    mask[20 * 41 + 21] = FIT_MASK_SATURATED;
    for (int y = 0; y < 12; y++)
        for (int x = 0; x < 12; x++)
            mask[y * 41 + x] = FIT_MASK_BRIGHT;
    band.sci = img;
    band.mask = mask;
    strcpy(band.name, "g");
    strcpy(p.path, "hand-made");
    p.width = p.height = 41;
    p.nbands = 1;
    p.bands = &band;
    p.nsrc = 3;
    p.src = src;
    p.flux_cat = fcat;
    src[0].x_patch = src[1].x_patch = 20.0;
    src[0].y_patch = src[1].y_patch = 20.0;
    src[2].x_patch = src[2].y_patch = 4.0;
    check_int(fit_initflux_aperture(&p, 0, 20.0, 20.0, 5.0, &sum, &err), ==,
              PP_OK, "initflux: aperture sum computes");
    /* Constant 2 over a circle of radius 5: about 2 pi 25 = 157.08 (SEP
     * samples pixels cut by the edge 5x5, so within 2 %), and with the
     * masked pixel counted as the mean of the others (SEP's area
     * correction) exactly the sum of the same image without the mask. */
    check_near(sum, 2.0 * M_PI * 25.0, 0.02 * 2.0 * M_PI * 25.0,
               "initflux: masked-area corrected sum = 2 x pi r^2");
    img[20 * 41 + 21] = 2.0f;
    mask[20 * 41 + 21] = 0;
    check_int(fit_initflux_aperture(&p, 0, 20.0, 20.0, 5.0, &clean, &err),
              ==, PP_OK, "initflux: unmasked aperture sum computes");
    check_near(sum, clean, 1e-9 * clean, "initflux: a masked pixel counts "
               "as the mean of the good ones");
    img[20 * 41 + 21] = 1e6f;
    mask[20 * 41 + 21] = FIT_MASK_SATURATED;
    check_int(fit_initflux_all(&p, 5.0, 1e-4, flux, &err), ==, PP_OK,
              "initflux: all sources");
    check_near(flux[0], 123.0, 0, "initflux: catalogue FLUX_<band> first");
    check_near(flux[1], sum, 1e-9, "initflux: aperture when no catalogue "
               "flux");
    check_near(flux[2], 1e-4, 0, "initflux: all-masked aperture gives "
               "eps_flux");
    /* A negative aperture sum is clamped to eps_flux too. */
    for (i = 0; i < 41 * 41; i++)
        img[i] = -1.0f;
    check_int(fit_initflux_all(&p, 5.0, 0.5, flux, &err), ==, PP_OK,
              "initflux: negative image");
    check_near(flux[1], 0.5, 0, "initflux: clamped to >= eps_flux");
}

/* ---- failures ------------------------------------------------------------ */

/* Copy src to dst with cfitsio and apply one damage. */
static int damage(const char *src, const char *dst, int what)
{
    fitsfile *in = NULL, *out = NULL;
    int st = 0, type;

    remove(dst);
    if (fits_open_file(&in, src, READONLY, &st) ||
        fits_create_file(&out, dst, &st) ||
        fits_copy_file(in, out, 1, 1, 1, &st))
        return st ? st : -1;
    fits_close_file(in, &st);
    if (what == 0)
        fits_movabs_hdu(out, 1, &type, &st),
        fits_update_key_str(out, "PPFMT", "patchphot-payload/0", NULL, &st);
    else if (what == 1)
        fits_movnam_hdu(out, IMAGE_HDU, "SCI", 2, &st),
        fits_delete_key(out, "SKYSIGS", &st);
    else if (what == 2)
        fits_movnam_hdu(out, BINARY_TBL, "SOURCES", 0, &st),
        fits_delete_hdu(out, &type, &st);
    else if (what == 3)
        fits_movabs_hdu(out, 1, &type, &st),
        fits_delete_key(out, "RX1", &st);
    fits_close_file(out, &st);
    return st;
}

static void test_failures(const char *good, const pp_config *cfg)
{
    static const char *const keys[4][2] = {
        { "PRIMARY", "PPFMT" }, { "SCI/2", "SKYSIGS" },
        { "SOURCES", "missing" }, { "PRIMARY", "RX1" }
    };
    static const char *const what[4] = {
        "wrong PPFMT", "missing SKYSIGS", "missing SOURCES HDU",
        "missing RX1"
    };
    char *bad = pp_xasprintf("%s/bad.fits", dir), title[160];
    fit_payload p = FIT_PAYLOAD_INIT;
    pp_error err = PP_ERROR_INIT;
    char *text = NULL;
    size_t len = 0;
    FILE *fp;

    for (int k = 0; k < 4; k++) {
        pp_error_clear(&err);
        check_int(damage(good, bad, k), ==, 0, "fixture: damaged copy");
        snprintf(title, sizeof title, "payload %s: PP_EDATA naming file, "
                 "HDU and key", what[k]);
        check(fit_payload_read(bad, cfg, &p, &err) == PP_EDATA &&
              strstr(err.msg, bad) && strstr(err.msg, keys[k][0]) &&
              strstr(err.msg, keys[k][1]), title);
        check(p.bands == NULL && p.src == NULL, "payload: released on "
              "failure");
    }
    /* Truncated to half its size. */
    pp_io_read_file(good, &text, &len, &err);
    fp = fopen(bad, "wb");
    fwrite(text, 1, len / 2, fp);
    fclose(fp);
    pp_error_clear(&err);
    check_int(fit_payload_read(bad, cfg, &p, &err), ==, PP_EDATA,
              "payload truncated: PP_EDATA");
    check(strstr(err.msg, bad) != NULL, "payload truncated: message names "
          "the file");
    pp_error_clear(&err);
    check_int(fit_payload_read("/nonexistent/x.fits", cfg, &p, &err), ==,
              PP_EIO, "payload missing: PP_EIO");
    free(text);
    free(bad);
}

int main(void)
{
    pp_config cfg = PP_CONFIG_INIT;
    pp_error err = PP_ERROR_INIT;
    fit_payload p = FIT_PAYLOAD_INIT;
    char *conf, *payload, *cmd;

    pp_log_set_level(PP_LOG_ERROR);
    test_shapes();
    test_kinds();
    test_initflux();
    if (make_field("test_fit_payload", "", "") != 0) {
        check(0, "fixture: pipeline ran (set PP_BIN to the programs)");
        return tap_done();
    }
    conf = field_path("config.yaml");
    payload = field_path("work/patch_payloads/" TAG ".fits");
    check_int(pp_config_load(conf, NULL, 0, &cfg, &err), ==, PP_OK,
              "fixture: config loads");
    check_int(fit_payload_read(payload, &cfg, &p, &err), ==, PP_OK,
              "payload: reads");
    if (err.code)
        printf("# %s\n", err.msg);
    if (p.bands) {
        test_header(&p);
        test_bands(&p);
        test_pixels(&p);
        test_cells(&p);
        test_sources(&p);
        test_ivar(&p);
    }
    test_failures(payload, &cfg);
    fit_payload_release(&p);
    fit_payload_release(&p);
    check(p.bands == NULL, "payload: release twice is safe");
    pp_config_release(&cfg);
    cmd = pp_xasprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    free(cmd);
    free(conf);
    free(payload);
    return tap_done();
}
