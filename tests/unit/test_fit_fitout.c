/* test_fit_fitout.c - pp-fit's result struct and output files (SPEC
 * §10.2 output conversions, §10.5).
 *
 * The payload comes from the pipeline on a small pp-sim field with
 * --true-psf (programs from $PP_BIN, default ../bin); band m400
 * keeps its true-PSF ePSF, m425's is removed so that it falls back.  The
 * result is filled by hand (the engine is not under test), the files
 * are written and read back with other code (pp_csv_read, jansson,
 * cfitsio), and RA/DEC are checked against work/wcs.fits.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <fitsio.h>
#include <jansson.h>

#include "pp_config.h"
#include "pp_csv.h"
#include "pp_fits.h"
#include "pp_io.h"
#include "pp_json.h"
#include "pp_log.h"
#include "pp_mem.h"
#include "pp_table.h"
#include "pp_wcs.h"

#include "fitout.h"
#include "payload.h"
#include "profile.h"
#include "psfsel.h"
#include "tap.h"

#include "fit_field.h"

#define TAG "r00_c00_pr00_pc01"


/* ---- pure helpers ------------------------------------------------------ */

static void test_helpers(void)
{
    fit_shape_out o;
    double logre, ee1, ee2;
    char buf[256];

    /* Catalogue ELL 0.5, THETA 30, Re 4 -> output ab 0.5, ELL 0.5,
     * THETA 30, phi = THETA + 90 = 120, Re 4 (SPEC §10.2 round trip). */
    fit_payload_init_shape(0.5, 30.0, 4.0, 3.0, &logre, &ee1, &ee2);
    fit_out_shape(logre, ee1, ee2, &o);
    check_near(o.re_pix, 4.0, 1e-12, "shape out: Re_fit = exp(logre)");
    check_near(o.ab, 0.5, 1e-12, "shape out: ab_fit");
    check_near(o.ell, 0.5, 1e-12, "shape out: ELL_fit = 1 - ab");
    check_near(o.phi_deg, 120.0, 1e-9, "shape out: phi_deg_fit in [0,180)");
    check_near(o.theta_deg, 30.0, 1e-9, "shape out: THETA_fit = 30 for "
               "catalogue THETA 30");
    /* THETA -60: phi = -150 -> 30 mod 180; THETA_fit = -60. */
    fit_payload_init_shape(0.3, -60.0, 4.0, 3.0, &logre, &ee1, &ee2);
    fit_out_shape(logre, ee1, ee2, &o);
    check_near(o.theta_deg, -60.0, 1e-9, "shape out: THETA -60 back");
    check_near(o.phi_deg, 30.0, 1e-9, "shape out: phi 30");
    /* Round source: theta 0 -> phi 0, THETA -90. */
    fit_out_shape(0.0, 0.0, 0.0, &o);
    check(o.phi_deg == 0.0 && o.theta_deg == -90.0 && o.ab == 1.0,
          "shape out: a round source has phi 0, THETA -90");
    check_str(fit_out_stall_text(0, 0, buf, sizeof buf), "",
              "stall text: empty when not stalled");
    check_str(fit_out_stall_text(1u << FIT_P_N | 1u << FIT_P_EE2,
                                 1u << FIT_P_X, buf, sizeof buf),
              "pos.x@upper,shape.ee2@lower,sersicindex@lower",
              "stall text: {param}@{side} in SPEC order");
}

/* ---- files ------------------------------------------------------------- */

/* Fill a result with values a test can recognise. */
static void fill(fit_result *r, const fit_payload *p)
{
    size_t npix = (size_t)p->width * (size_t)p->height;

    for (int k = 0; k < r->nsets; k++) {
        fit_set *st = &r->sets[k];

        st->niters = 7 + k;
        st->converged = k == 0;
        st->hit_max_iters = 0;
        st->last_dlnp = 1e-7;
        for (long s = 0; s < r->nsrc; s++) {
            st->x[s] = p->src[s].x_patch + 0.25;
            st->y[s] = p->src[s].y_patch - 0.5;
            for (int b = 0; b < r->nbands; b++) {
                st->flux[s * r->nbands + b] = 100.0 * (double)(s + 1) + b;
                st->fluxerr[s * r->nbands + b] = s == 1 ? -1.0 : 0.5;
            }
        }
        st->stall_hi[0] = 1u << FIT_P_X;
        for (int b = 0; b < r->nbands; b++)
            st->sky[b] = 0.125 * (b + 1);
    }
    r->kind[0] = FIT_PROFILE_EXP;
    r->kind[1] = FIT_PROFILE_POINT;
    fit_payload_init_shape(0.5, 30.0, 4.0, 3.0, &r->sets[0].logre[0],
                           &r->sets[0].ee1[0], &r->sets[0].ee2[0]);
    for (size_t i = 0; i < npix * (size_t)r->nbands; i++)
        r->model[i] = (float)i * 0.5f;
}

static const char *cell(const pp_table *t, long row, const char *col)
{
    int c = pp_table_find_column(t, col, NULL);

    return c < 0 ? "(no column)" : pp_table_get(t, row, c);
}

static void test_catalog_multi(const char *csv, const fit_payload *p)
{
    static const char *const tail[] = {
        "x_pix_patch", "y_pix_patch", "patch_tag", "epsf_tag",
        "psf_min_epsf_nstars_for_use", "psf_used_epsf_band_count",
        "psf_fallback_band_count", "psf_low_star_band_count",
        "psf_fallback_bands", "psf_low_star_bands",
        "psf_frozen_bands_for_optimizer", "psf_fallback_reasons_json",
        "opt_niters", "opt_converged", "opt_hit_max_iters", "opt_last_dlnp",
        "flag_bound_stalled", "flag_bound_stalled_which_parameter",
        "x_pix_patch_fit", "y_pix_patch_fit", "x_pix_white_fit",
        "y_pix_white_fit", "RA_fit", "DEC_fit", "stype_fit", "sersic_n_fit",
        "re_pix_fit", "ab_fit", "phi_deg_fit", "ELL_fit", "Re_fit",
        "THETA_fit", "FLUX_m400_fit", "FLUXERR_m400_fit", "FLUX_m425_fit",
        "FLUXERR_m425_fit"
    };
    pp_table t = PP_TABLE_INIT;
    pp_error err = PP_ERROR_INIT;
    pp_wcs wcs = PP_WCS_INIT;
    char *wpath = field_path("work/wcs.fits");
    fitsfile *fp = NULL;
    int nb = pp_table_ncols(&p->cat), ok = 1, c;
    double v, ra, dec, x;

    check_int(pp_csv_read(csv, &t, &err), ==, PP_OK, "cat_fit.csv reads");
    check_int(pp_table_ncols(&t), ==, nb + 36, "cat_fit: column count");
    for (c = 0; c < nb; c++)
        ok &= strcmp(pp_table_colname(&t, c),
                     pp_table_colname(&p->cat, c)) == 0;
    for (c = 0; c < 36; c++)
        ok &= strcmp(pp_table_colname(&t, nb + c) ? pp_table_colname(
                         &t, nb + c) : "", tail[c]) == 0;
    check(ok, "cat_fit: base columns then SPEC §10.5 multi-band columns");
    check_int(pp_table_nrows(&t), ==, p->n_base, "cat_fit: one row per "
              "base source");
    ok = 1;
    for (long s = 0; s < pp_table_nrows(&t); s++)
        for (c = 0; c < nb; c++)
            ok &= strcmp(pp_table_get(&t, s, c),
                         pp_table_get(&p->cat, s, c)) == 0;
    check(ok, "cat_fit: base cells verbatim");
    check_str(cell(&t, 0, "patch_tag"), TAG, "cat_fit: patch_tag");
    check_str(cell(&t, 0, "psf_min_epsf_nstars_for_use"), "2",
              "cat_fit: min nstars as an integer");
    check_str(cell(&t, 0, "psf_used_epsf_band_count"), "1",
              "cat_fit: one band used its ePSF");
    check_str(cell(&t, 0, "psf_fallback_bands"), "m425",
              "cat_fit: fallback band listed");
    check_str(cell(&t, 0, "psf_low_star_bands"), "", "cat_fit: no low-star");
    check_str(cell(&t, 0, "psf_frozen_bands_for_optimizer"), "",
              "cat_fit: pixelized and moffat bands are not frozen");
    check_str(cell(&t, 0, "psf_fallback_reasons_json"),
              "{\"m425\": \"missing ePSF\"}", "cat_fit: reasons JSON");
    check_str(cell(&t, 0, "opt_niters"), "7", "cat_fit: opt_niters");
    check_str(cell(&t, 0, "opt_converged"), "True", "cat_fit: True");
    check_str(cell(&t, 0, "opt_hit_max_iters"), "False", "cat_fit: False");
    /* SPEC §3.4: %.15g of 1e-7 reads back exactly. */
    check_str(cell(&t, 0, "opt_last_dlnp"), "1e-07",
              "cat_fit: shortest round-trip float");
    check_str(cell(&t, 0, "flag_bound_stalled"), "True",
              "cat_fit: stalled source flagged");
    check_str(cell(&t, 0, "flag_bound_stalled_which_parameter"),
              "pos.x@upper", "cat_fit: which parameter");
    check_str(cell(&t, 1, "flag_bound_stalled_which_parameter"), "",
              "cat_fit: not stalled -> empty");
    check_str(cell(&t, 0, "stype_fit"), "exp", "cat_fit: stype_fit exp");
    check_str(cell(&t, 1, "stype_fit"), "star", "cat_fit: stype_fit star");
    check(pp_parse_double(cell(&t, 0, "THETA_fit"), &v) == 0 &&
          fabs(v - 30) < 1e-9, "cat_fit: THETA_fit = 30");
    check_str(cell(&t, 0, "Re_fit"), "4", "cat_fit: Re_fit");
    check_str(cell(&t, 0, "sersic_n_fit"), "", "cat_fit: n empty for exp");
    check(!cell(&t, 1, "re_pix_fit")[0] && !cell(&t, 1, "THETA_fit")[0],
          "cat_fit: morphology empty for stars");
    check_str(cell(&t, 1, "FLUXERR_m400_fit"), "",
              "cat_fit: non-positive FLUXERR empty");
    check_str(cell(&t, 1, "FLUX_m425_fit"), "201", "cat_fit: flux");
    /* x_pix_white_fit = x_fit + RX0; RA/DEC from wcs.fits at it. */
    x = p->src[0].x_patch + 0.25 + (double)p->rx0;
    check(pp_parse_double(cell(&t, 0, "x_pix_white_fit"), &v) == 0 &&
          v == x, "cat_fit: x_pix_white_fit = x_pix_patch_fit + RX0");
    {
        int st = 0, type;

        fits_open_file(&fp, wpath, READONLY, &st);
        fits_movabs_hdu(fp, 1, &type, &st);
        check(st == 0 && pp_wcs_from_fits(fp, wpath, &wcs, &err) == PP_OK,
              "wcs.fits reads");
        pp_wcs_pix_to_sky(&wcs, x, p->src[0].y_patch - 0.5 +
                          (double)p->ry0, &ra, &dec);
        check(pp_parse_double(cell(&t, 0, "RA_fit"), &v) == 0 &&
              fabs(v - ra) < 1e-10, "cat_fit: RA_fit from the working WCS");
        check(pp_parse_double(cell(&t, 0, "DEC_fit"), &v) == 0 &&
              fabs(v - dec) < 1e-10, "cat_fit: DEC_fit from the working "
              "WCS");
        fits_close_file(fp, &st);
    }
    pp_wcs_release(&wcs);
    pp_table_release(&t);
    free(wpath);
}

static void test_meta(const char *path, int staged_single)
{
    static const char *const keys[] = {
        "patch_tag", "epsf_tag", "epsf_r", "epsf_c", "patch_r", "patch_c",
        "halo_pix", "base_bbox", "roi_bbox", "n_sources", "n_halo_sources",
        "psf_min_epsf_nstars_for_use", "psf_used_epsf_band_count",
        "psf_fallback_band_count", "psf_low_star_band_count",
        "psf_fallback_bands", "psf_low_star_bands", "psf_audit",
        "enable_multi_band_simultaneous_fitting",
        "psf_frozen_bands_for_optimizer", "noise_model", "fit_sky",
        "sky_fit", "niters", "converged", "hit_max_iters", "last_dlnp",
        "timing_s"
    };
    static const char *const keys_single[] = {
        "patch_tag", "epsf_tag", "epsf_r", "epsf_c", "patch_r", "patch_c",
        "halo_pix", "base_bbox", "roi_bbox", "n_sources", "n_halo_sources",
        "psf_min_epsf_nstars_for_use", "psf_used_epsf_band_count",
        "psf_fallback_band_count", "psf_low_star_band_count",
        "psf_fallback_bands", "psf_low_star_bands", "psf_audit",
        "enable_multi_band_simultaneous_fitting",
        "psf_frozen_bands_for_optimizer", "noise_model", "fit_sky",
        "sky_fit", "staged_fit_enabled", "staged_fit_stages_by_band",
        "timing_s"
    };
    const char *const *want = staged_single ? keys_single : keys;
    size_t n = staged_single ? 26 : 28, i = 0;
    pp_error err = PP_ERROR_INIT;
    json_t *m = NULL, *a, *st;
    const char *key;
    json_t *val;
    int ok = 1;

    check_int(pp_json_read(path, &m, &err), ==, PP_OK, "meta.json reads");
    json_object_foreach(m, key, val) {
        ok &= i < n && strcmp(key, want[i]) == 0;
        i++;
    }
    check(ok && i == n, staged_single ? "meta.json: single-band staged keys "
          "in SPEC §10.5 order" : "meta.json: multi-band keys in SPEC "
          "§10.5 order");
    a = json_object_get(json_object_get(m, "psf_audit"), "m425");
    check(a && json_is_false(json_object_get(a, "used_epsf")) &&
          strcmp(json_string_value(json_object_get(a, "fallback_reason")),
                 "missing ePSF") == 0 &&
          json_is_null(json_object_get(a, "epsf_nstars_used")) &&
          strcmp(json_string_value(json_object_get(a, "psf_model")),
                 "moffat") == 0, "meta.json: audit of the fallback band");
    a = json_object_get(json_object_get(m, "psf_audit"), "m400");
    check(a && json_is_true(json_object_get(a, "used_epsf")) &&
          json_is_null(json_object_get(a, "fallback_reason")) &&
          json_integer_value(json_object_get(a, "epsf_nstars_used")) > 0,
          "meta.json: audit of the ePSF band");
    check(json_real_value(json_object_get(json_object_get(m, "sky_fit"),
                                          "m425")) == 0.25,
          "meta.json: sky_fit per band");
    if (staged_single) {
        st = json_object_get(json_object_get(m, "staged_fit_stages_by_band"),
                             "m425");
        check(json_array_size(st) == 2 &&
              strcmp(json_string_value(json_object_get(json_array_get(st, 1),
                                                       "name")),
                     "all") == 0 &&
              json_integer_value(json_object_get(json_array_get(st, 1),
                                                 "niters")) == 5,
              "meta.json: stages per band {name, niters, converged}");
    } else {
        check(json_integer_value(json_object_get(m, "niters")) == 7 &&
              json_is_true(json_object_get(m, "converged")),
              "meta.json: optimiser summary");
    }
    check(json_object_size(json_object_get(m, "timing_s")) == 6,
          "meta.json: six timings");
    json_decref(m);
}

static void test_model(const char *path, const fit_payload *p)
{
    fitsfile *fp = NULL;
    int st = 0, anynul, type;
    double sky = 0;
    float px = 0;
    long nrows = 0, repeat = 0, off = 0;
    char l[64], idtxt[64] = "";
    long nhalo = 0;

    fits_open_file(&fp, path, READONLY, &st);
    fits_movnam_hdu(fp, IMAGE_HDU, "MODEL", 2, &st);
    fits_read_key(fp, TDOUBLE, "SKY", &sky, NULL, &st);
    fits_read_pix(fp, TFLOAT, (long[2]){ 3, 1 }, 1, NULL, &px, &anynul, &st);
    check(st == 0 && sky == 0.25, "model.fits: MODEL/2 with SKY");
    check(px == (float)((double)p->width * (double)p->height + 2) * 0.5f,
          "model.fits: MODEL/2 pixels are band 2's model");
    fits_movnam_hdu(fp, BINARY_TBL, "SOURCES", 0, &st);
    fits_get_num_rows(fp, &nrows, &st);
    check(st == 0 && nrows == p->n_base + p->n_halo,
          "model.fits: SOURCES holds base and halo sources");
    fits_get_colnum(fp, CASEINSEN, "is_halo", &type, &st);
    fits_read_col(fp, TLOGICAL, type, 1, 1, nrows < 64 ? nrows : 64, NULL,
                  l, &anynul, &st);
    for (long s = 0; s < nrows && s < 64; s++)
        nhalo += l[s] != 0;
    check(st == 0 && nhalo == p->n_halo, "model.fits: is_halo");
    fits_get_colnum(fp, CASEINSEN, "ID", &type, &st);
    fits_read_descript(fp, type, 1, &repeat, &off, &st);
    fits_read_col(fp, TBYTE, type, 1, 1, repeat, NULL, idtxt, &anynul, &st);
    check(st == 0 && strcmp(idtxt, pp_table_get(&p->cat, 0,
                      pp_table_find_column(&p->cat, "ID", NULL))) == 0,
          "model.fits: ID bytes");
    fits_close_file(fp, &st);
}

static void test_single(const pp_config *cfg0, const fit_payload *p,
                        const fit_psfsel *psf)
{
    pp_config cfg = *cfg0;
    fit_result r;
    pp_error err = PP_ERROR_INIT;
    pp_table t = PP_TABLE_INIT;
    char *out = pp_xasprintf("%s/single", dir);
    char *csv = pp_xasprintf("%s/%s_cat_fit.csv", out, TAG);
    char *meta = pp_xasprintf("%s/meta.json", out);
    int nb = pp_table_ncols(&p->cat);
    double v;

    cfg.patch_run.enable_staged_fit = 1;
    check_int(fit_result_init(&r, p, 0, &err), ==, PP_OK,
              "single-band result: init");
    check_int(r.nsets, ==, 2, "single-band result: one set per band");
    fill(&r, p);
    for (int b = 0; b < 2; b++) {
        fit_set_add_stage(&r.sets[b], "flux", 3, 1);
        fit_set_add_stage(&r.sets[b], "all", 5, b == 0);
    }
    check_int(fit_out_write_all(out, &cfg, p, psf, &r, &err), ==, PP_OK,
              "single-band: files written");
    pp_csv_read(csv, &t, &err);
    check_int(pp_table_ncols(&t), ==, nb + 12 + 1 + 2 * 21,
              "single-band cat_fit: column count");
    check_str(pp_table_colname(&t, nb + 12), "stype_fit",
              "single-band cat_fit: stype_fit first");
    check_str(pp_table_colname(&t, nb + 13), "x_pix_patch_m400_fit",
              "single-band cat_fit: then per band");
    check_str(pp_table_colname(&t, nb + 13 + 20),
              "flag_bound_stalled_which_parameter_m400",
              "single-band cat_fit: last column of a band");
    check_str(pp_table_colname(&t, nb + 13 + 21 + 14), "FLUXERR_m425_fit",
              "single-band cat_fit: FLUXERR_<b>_fit in the band block");
    check_str(cell(&t, 0, "opt_niters_m425"), "8",
              "single-band cat_fit: per-band optimiser columns");
    check_str(cell(&t, 0, "opt_converged_m425"), "False",
              "single-band cat_fit: per-band convergence");
    check(pp_parse_double(cell(&t, 0, "THETA_m400_fit"), &v) == 0 &&
          fabs(v - 30) < 1e-9 && strcmp(cell(&t, 0, "THETA_m400_fit"),
                                   cell(&t, 0, "THETA_m425_fit")) != 0,
          "single-band cat_fit: band shapes from their own sets");
    test_meta(meta, 1);
    pp_table_release(&t);
    fit_result_release(&r);
    free(out);
    free(csv);
    free(meta);
}

static void test_failure(const pp_config *cfg, const fit_payload *p,
                         const fit_psfsel *psf)
{
    fit_result r;
    pp_error err = PP_ERROR_INIT;
    char *out = pp_xasprintf("%s/failing", dir);
    char *blocker = pp_xasprintf("%s/meta.json/x", out);
    char *csv = pp_xasprintf("%s/%s_cat_fit.csv", out, TAG);
    char *model = pp_xasprintf("%s/model.fits", out);
    char *file = pp_xasprintf("%s/f/config.yaml/sub", dir);

    fit_result_init(&r, p, 1, &err);
    /* meta.json is a non-empty directory: its rename fails, so the
     * catalogue and the model written before it are removed again. */
    pp_io_mkdir_p(blocker, &err);
    check(fit_out_write_all(out, cfg, p, psf, &r, &err) != PP_OK,
          "write_all: failure reported");
    check(!pp_io_exists(csv) && !pp_io_exists(model),
          "write_all: no partial set of outputs left");
    pp_error_clear(&err);
    check_int(fit_out_write_all(file, cfg, p, psf, &r, &err), ==, PP_EIO,
              "write_all: an outdir below a file is PP_EIO");
    fit_result_release(&r);
    free(out);
    free(blocker);
    free(csv);
    free(model);
    free(file);
}

int main(void)
{
    pp_config cfg = PP_CONFIG_INIT;
    pp_error err = PP_ERROR_INIT;
    fit_payload p = FIT_PAYLOAD_INIT;
    fit_psfsel *psf = NULL;
    fit_result r;
    char *conf, *payload, *epsf, *out, *csv, *meta, *model, *cmd;

    pp_log_set_level(PP_LOG_ERROR);
    test_helpers();
    if (make_field("test_fit_fitout", "--true-psf",
                   "rm -rf f/EPSFs_true/m425") != 0) {
        check(0, "fixture: pipeline ran (set PP_BIN to the programs)");
        return tap_done();
    }
    conf = field_path("config.yaml");
    payload = field_path("work/patch_payloads/" TAG ".fits");
    epsf = field_path("EPSFs_true");
    out = pp_xasprintf("%s/out/%s", dir, TAG);
    csv = pp_xasprintf("%s/%s_cat_fit.csv", out, TAG);
    meta = pp_xasprintf("%s/meta.json", out);
    model = pp_xasprintf("%s/model.fits", out);
    check(pp_config_load(conf, NULL, 0, &cfg, &err) == PP_OK &&
          fit_payload_read(payload, &cfg, &p, &err) == PP_OK &&
          fit_psfsel_open(&cfg, epsf, &p, &psf, &err) == PP_OK,
          "fixture: config, payload and PSFs load");
    if (err.code) {
        printf("# %s\n", err.msg);
        return tap_done();
    }
    check_int(fit_result_init(&r, &p, 1, &err), ==, PP_OK, "result: init");
    check(r.nsets == 1 && r.sets[0].band == -1 &&
          r.sets[0].x[2] == p.src[2].x_patch && isnan(r.sets[0].flux[0]) &&
          r.sets[0].sky[1] == 0.0, "result: start values from the payload");
    fill(&r, &p);
    check_int(fit_out_write_all(out, &cfg, &p, psf, &r, &err), ==, PP_OK,
              "multi-band: files written");
    check(r.t_write > 0, "write_all: t_write measured");
    test_catalog_multi(csv, &p);
    test_meta(meta, 0);
    test_model(model, &p);
    test_single(&cfg, &p, psf);
    test_failure(&cfg, &p, psf);
    fit_result_release(&r);
    fit_result_release(&r);
    fit_psfsel_free(psf);
    fit_payload_release(&p);
    pp_config_release(&cfg);
    cmd = pp_xasprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    free(cmd);
    free(conf);
    free(payload);
    free(epsf);
    free(out);
    free(csv);
    free(meta);
    free(model);
    return tap_done();
}
