/* test_fit_psfsel.c - PSF choice, audit, fallbacks and bilinear ePSF
 * interpolation of pp-fit (SPEC §10.3), on hand-made EPSFs/ trees.
 *
 * The bilinear tests use four 100x100 cells in a 2x2 grid whose 3x3
 * stamps each hold a single 1 in a different pixel: cell r00_c00 at
 * pixel 0, r00_c01 at pixel 1, r01_c00 at pixel 2, r01_c01 at pixel 3.
 * The interpolated stamp (renormalised to sum 1) then shows each cell's
 * weight in that cell's pixel, so the weights can be compared with
 * hand-computed ones.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pp_config.h"
#include "pp_io.h"
#include "pp_json.h"
#include "pp_log.h"
#include "pp_mem.h"
#include "pp_npy.h"

#include "payload.h"
#include "psfsel.h"
#include "tap.h"

static char root[64];

/* EPSFs/<band>/<tag>/ with a stamp (NULL: none) and meta.json (nstars < 0:
 * none); mog4 adds a "mog" entry for K = 4. */
static void make_cell(const char *band, const char *tag, const float *stamp,
                      long w, long h, long nstars, double x0, double y0,
                      double size, int mog4)
{
    char *d = pp_xasprintf("%s/EPSFs/%s/%s", root, band, tag);
    char *npy = pp_xasprintf("%s/epsf.npy", d);
    char *meta = pp_xasprintf("%s/meta.json", d);
    pp_error err = PP_ERROR_INIT;
    long shape[2] = { h, w };

    pp_io_mkdir_p(d, &err);
    if (stamp)
        pp_npy_write(npy, stamp, 2, shape, &err);
    if (nstars >= 0) {
        json_t *m = json_pack("{s:s, s:s, s:f, s:f, s:f, s:f, s:I}",
                              "band", band, "patch", tag, "x0", x0,
                              "x1", x0 + size, "y0", y0, "y1", y0 + size,
                              "nstars_used", (json_int_t)nstars);

        if (mog4)
            json_object_set_new(m, "mog", json_pack(
                "{s:{s:[f,f,f,f], s:[[f,f],[f,f],[f,f],[f,f]], "
                "s:[[[f,f],[f,f]],[[f,f],[f,f]],[[f,f],[f,f]],"
                "[[f,f],[f,f]]]}}", "4",
                "amp", 0.4, 0.3, 0.2, 0.1,
                "mean", 0.0, 0.0, 0.1, 0.0, 0.0, -0.1, 0.0, 0.0,
                "var", 1.0, 0.1, 0.1, 2.0, 3.0, 0.0, 0.0, 3.0, 5.0, 0.0, 0.0,
                5.0, 9.0, 1.0, 1.0, 8.0));
        pp_json_write(meta, m, &err);
        json_decref(m);
    }
    if (err.code)
        printf("# fixture: %s\n", err.msg);
    free(d);
    free(npy);
    free(meta);
}

static void one_hot(float *s, int k)
{
    for (int i = 0; i < 9; i++)
        s[i] = i == k ? 1.0f : 0.0f;
}

/* A one-band payload in cell (0, 0), with two sources at the corners of
 * the area the tests probe, (-40, -40) and (260, 230): the neighbour
 * cells needed there are read. */
static fit_payload_src corner_src[2] = {
    { .x_white = -40, .y_white = -40 }, { .x_white = 260, .y_white = 230 }
};

static void fake_payload(fit_payload *p, fit_payload_band *b, const char *band)
{
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s", band);
    b->fwhm_pix = 3.0;
    *p = (fit_payload)FIT_PAYLOAD_INIT;
    strcpy(p->epsf_tag, "r00_c00");
    p->nbands = 1;
    p->bands = b;
    p->nsrc = 2;
    p->src = corner_src;
}

static void set_str(char **slot, const char *v)
{
    free(*slot);
    *slot = pp_xstrdup(v);
}

static fit_psfsel *open_sel(const pp_config *cfg, const char *band,
                            int expect_ok)
{
    fit_payload p;
    fit_payload_band b;
    fit_psfsel *s = NULL;
    pp_error err = PP_ERROR_INIT;
    char *epsf = pp_xasprintf("%s/EPSFs", root);
    int rc;

    fake_payload(&p, &b, band);
    rc = fit_psfsel_open(cfg, epsf, &p, &s, &err);
    if (expect_ok && rc != PP_OK)
        printf("# %s\n", err.msg);
    free(epsf);
    return s;
}

/* ---- bilinear --------------------------------------------------------- */

static void test_bilinear(pp_config *cfg)
{
    static const char *const tags[4] = { "r00_c00", "r00_c01", "r01_c00",
                                         "r01_c01" };
    float st[9];
    double out[9];
    fit_psfsel *s;
    pp_error err = PP_ERROR_INIT;
    int w, h;

    for (int k = 0; k < 4; k++) {
        one_hot(st, k);
        make_cell("g", tags[k], st, 3, 3, 10, 100.0 * (k % 2),
                  100.0 * (k / 2), 100.0, 0);
    }
    s = open_sel(cfg, "g", 1);
    check(s != NULL, "bilinear: PSFs open");
    if (!s)
        return;
    fit_psfsel_stamp_size(s, 0, &w, &h);
    check(w == 3 && h == 3, "bilinear: stamp size of the cells");
    check_int(fit_psfsel_varies(s, 0), ==, 1, "bilinear: four usable cells "
              "make the stamp vary");
    /* Centres (50,50), (150,50), (50,150), (150,150).  At (80, 125):
     * tx = 30/100 = 0.3, ty = 75/100 = 0.75, so w00 = 0.25 x 0.7 = 0.175,
     * w01 = 0.25 x 0.3 = 0.075, w10 = 0.75 x 0.7 = 0.525,
     * w11 = 0.75 x 0.3 = 0.225. */
    fit_psfsel_stamp(s, 0, 80.0, 125.0, out, &err);
    check(fabs(out[0] - 0.175) < 1e-12 && fabs(out[1] - 0.075) < 1e-12 &&
          fabs(out[2] - 0.525) < 1e-12 && fabs(out[3] - 0.225) < 1e-12,
          "bilinear: weights 0.175 0.075 0.525 0.225 at (80, 125)");
    /* At (20, 50): 30 px left of the first centre, inside the half cell:
     * t = -0.3, weights 1.3 (r00_c00) and -0.3 (r00_c01). */
    fit_psfsel_stamp(s, 0, 20.0, 50.0, out, &err);
    check(fabs(out[0] - 1.3) < 1e-12 && fabs(out[1] + 0.3) < 1e-12 &&
          out[2] == 0 && out[3] == 0,
          "bilinear: linear extrapolation within half a cell");
    /* At (-40, 50): beyond half a cell (x = 0), held at t = -0.5. */
    fit_psfsel_stamp(s, 0, -40.0, 50.0, out, &err);
    check(fabs(out[0] - 1.5) < 1e-12 && fabs(out[1] + 0.5) < 1e-12,
          "bilinear: held beyond half a cell (left)");
    /* At (260, 230): x held at 150 + 50 = 200 (t = 1.5), y likewise
     * (t = 1.5): w00 = 0.25, w01 = -0.75, w10 = -0.75, w11 = 2.25. */
    fit_psfsel_stamp(s, 0, 260.0, 230.0, out, &err);
    check(fabs(out[0] - 0.25) < 1e-12 && fabs(out[1] + 0.75) < 1e-12 &&
          fabs(out[2] + 0.75) < 1e-12 && fabs(out[3] - 2.25) < 1e-12,
          "bilinear: held beyond half a cell on both axes (upper right)");
    /* At (50, 190): y 40 px past the last centre, inside the half cell:
     * t = 1.4, w00 = -0.4, w10 = 1.4. */
    fit_psfsel_stamp(s, 0, 50.0, 190.0, out, &err);
    check(fabs(out[0] + 0.4) < 1e-12 && fabs(out[2] - 1.4) < 1e-12 &&
          out[1] == 0 && out[3] == 0,
          "bilinear: extrapolation past the last centre (rows)");
    fit_psfsel_free(s);

    /* Sources only left of and above the own cell's centre (50, 50):
     * no neighbour column or row is needed, so none is read. */
    {
        fit_payload p;
        fit_payload_band b;
        fit_payload_src one = { .x_white = 20, .y_white = 30 };
        char *epsf = pp_xasprintf("%s/EPSFs", root);

        fake_payload(&p, &b, "g");
        p.nsrc = 1;
        p.src = &one;
        check(fit_psfsel_open(cfg, epsf, &p, &s, &err) == PP_OK &&
              fit_psfsel_varies(s, 0) == 0, "bilinear: only the cells "
              "the sources need are read");
        fit_psfsel_free(s);
        free(epsf);
    }

    /* A hole: r01_c01 has too few stars; at (80, 125) the corner is
     * missing, so the nearest usable cell (r01_c00, centre (50, 150))
     * is used alone. */
    one_hot(st, 3);
    make_cell("g", "r01_c01", st, 3, 3, 1, 100, 100, 100, 0);
    s = open_sel(cfg, "g", 1);
    fit_psfsel_stamp(s, 0, 80.0, 125.0, out, &err);
    check(out[2] == 1.0 && out[0] == 0 && out[1] == 0 && out[3] == 0,
          "bilinear: a hole in the grid uses the nearest usable cell");
    /* Along row 0 the two usable cells still interpolate. */
    fit_psfsel_stamp(s, 0, 80.0, 50.0, out, &err);
    check(fabs(out[0] - 0.7) < 1e-12 && fabs(out[1] - 0.3) < 1e-12,
          "bilinear: usable corners still interpolate");
    fit_psfsel_free(s);

    /* psf_interp: cell -> always the own cell's stamp. */
    set_str(&cfg->patch_run.psf_interp, "cell");
    s = open_sel(cfg, "g", 1);
    fit_psfsel_stamp(s, 0, 140.0, 140.0, out, &err);
    check(out[0] == 1.0 && out[3] == 0 && fit_psfsel_varies(s, 0) == 0,
          "cell mode: the patch's own cell everywhere");
    fit_psfsel_free(s);
    set_str(&cfg->patch_run.psf_interp, "bilinear");

    double c[3] = { 50, 150, 250 }, hw[3] = { 50, 50, 50 }, t;
    int i0, i1;

    fit_psfsel_axis_weights(c, hw, 3, 175.0, &i0, &i1, &t);
    check(i0 == 1 && i1 == 2 && fabs(t - 0.25) < 1e-15,
          "axis weights: bracketed by the two nearest centres");
    fit_psfsel_axis_weights(c, hw, 1, 999.0, &i0, &i1, &t);
    check(i0 == 0 && i1 == 0 && t == 0, "axis weights: one column held");
}

/* ---- audit and fallbacks ------------------------------------------------ */

static void test_audit(pp_config *cfg)
{
    float st[25];
    fit_psfsel *s;
    const fit_psf_audit *a;
    pp_error err = PP_ERROR_INIT;
    pp_psf_mog mog;
    double *out;
    int w, h, i;

    /* missing ePSF -> moffat (default fallback), radius 25: 51x51. */
    s = open_sel(cfg, "nope", 1);
    a = fit_psfsel_audit(s, 0);
    check_str(a->fallback_reason, "missing ePSF", "audit: missing ePSF");
    check(!a->epsf_exists && !a->used_epsf && a->epsf_nstars_used == -1 &&
          !a->low_star, "audit: missing ePSF flags");
    check_str(a->psf_model, "moffat", "audit: moffat fallback named");
    check(strstr(a->epsf_path, "/EPSFs/nope/r00_c00/epsf.npy") != NULL,
          "audit: epsf_path is the own cell's epsf.npy");
    fit_psfsel_stamp_size(s, 0, &w, &h);
    check(w == 51 && h == 51, "moffat fallback: 2 ceil(25) + 1 = 51 px");
    out = calloc(51 * 51, sizeof *out);
    fit_psfsel_stamp(s, 0, 10, 10, out, &err);
    {
        double sum = 0, alpha = 3.0 / (2 * sqrt(pow(2, 1 / 3.5) - 1));

        for (i = 0; i < 51 * 51; i++)
            sum += out[i];
        check_near(sum, 1.0, 1e-12, "moffat fallback: sum 1");
        /* Centre / pixel (dx=3,0): (1 + 9/alpha^2)^3.5 with FWHM 3. */
        check_near(out[25 * 51 + 25] / out[25 * 51 + 28],
                   pow(1 + 9 / (alpha * alpha), 3.5), 1e-9,
                   "moffat fallback: profile with the payload FWHM");
    }
    free(out);
    check(fit_psfsel_render(s, 0) == FIT_PSF_PIXEL && !a->frozen,
          "moffat fallback: rendered as pixelized, not frozen");
    fit_psfsel_free(s);

    /* low-star */
    for (i = 0; i < 25; i++)
        st[i] = 1.0f;
    make_cell("low", "r00_c00", st, 5, 5, 1, 0, 0, 100, 0);
    s = open_sel(cfg, "low", 1);
    a = fit_psfsel_audit(s, 0);
    check_str(a->fallback_reason, "low-star ePSF (nstars_used=1 < "
              "min_epsf_nstars_for_use=2)", "audit: low-star reason verbatim");
    check(a->epsf_exists && a->low_star && a->epsf_nstars_used == 1,
          "audit: low-star flags");
    fit_psfsel_free(s);

    /* invalid: even size; zero sum; inf pixel; no meta.json */
    make_cell("even", "r00_c00", st, 4, 5, 10, 0, 0, 100, 0);
    s = open_sel(cfg, "even", 1);
    a = fit_psfsel_audit(s, 0);
    check(strncmp(a->fallback_reason, "invalid ePSF (", 14) == 0 &&
          strstr(a->fallback_reason, "odd") && a->epsf_exists,
          "audit: even-sized ePSF is invalid");
    fit_psfsel_free(s);
    for (i = 0; i < 25; i++)
        st[i] = 0.0f;
    make_cell("zero", "r00_c00", st, 5, 5, 10, 0, 0, 100, 0);
    s = open_sel(cfg, "zero", 1);
    check_str(fit_psfsel_audit(s, 0)->fallback_reason,
              "invalid ePSF (sum 0, expected > 0)", "audit: zero-sum ePSF "
              "is invalid");
    fit_psfsel_free(s);
    make_cell("nometa", "r00_c00", st, 5, 5, -1, 0, 0, 100, 0);
    s = open_sel(cfg, "nometa", 1);
    check(strncmp(fit_psfsel_audit(s, 0)->fallback_reason, "invalid ePSF (",
                  14) == 0, "audit: ePSF without meta.json is invalid");
    fit_psfsel_free(s);

    /* NaN -> 0 is fine; the stamp is renormalised to sum 1. */
    for (i = 0; i < 25; i++)
        st[i] = 2.0f;
    st[0] = NAN;
    make_cell("nan", "r00_c00", st, 5, 5, 10, 0, 0, 100, 1);
    s = open_sel(cfg, "nan", 1);
    a = fit_psfsel_audit(s, 0);
    out = calloc(25, sizeof *out);
    fit_psfsel_stamp(s, 0, 50, 50, out, &err);
    check(a->used_epsf && a->fallback_reason[0] == '\0' &&
          a->epsf_nstars_used == 10 && out[0] == 0.0 &&
          fabs(out[1] - 1.0 / 24) < 1e-15, "ePSF: NaN -> 0, renormalised "
          "to sum 1, used");
    check_str(a->psf_model, "pixelized", "audit: psf_model of a used ePSF");
    free(out);
    fit_psfsel_free(s);

    /* Stored mixture: hybrid with hybrid_psf_n = 4 reads meta.json's. */
    set_str(&cfg->patch_run.psf_model, "hybrid");
    cfg->patch_run.hybrid_psf_n = 4;
    s = open_sel(cfg, "nan", 1);
    check_int(fit_psfsel_mog(s, 0, 50, 50, &mog, &err), ==, PP_OK,
              "mog: stored mixture read");
    check(mog.k == 4 && mog.w[0] == 0.4 && mog.w[3] == 0.1 &&
          mog.mx[1] == 0.1 && mog.my[2] == -0.1 && mog.vxx[0] == 1.0 &&
          mog.vxy[0] == 0.1 && mog.vyy[0] == 2.0 && mog.vxy[3] == 1.0 &&
          mog.vyy[3] == 8.0, "mog: meta.json mixture taken as stored");
    check(fit_psfsel_render(s, 0) == FIT_PSF_HYBRID &&
          !fit_psfsel_audit(s, 0)->frozen, "hybrid: rendered hybrid");
    fit_psfsel_free(s);
    /* K = 3 is not stored: EM on the stamp. */
    cfg->patch_run.hybrid_psf_n = 3;
    s = open_sel(cfg, "nan", 1);
    check_int(fit_psfsel_mog(s, 0, 50, 50, &mog, &err), ==, PP_OK,
              "mog: EM fit when the K is not stored");
    check(mog.k == 3 && fabs(mog.w[0] + mog.w[1] + mog.w[2] - 1) < 1e-9,
          "mog: EM mixture of K components, weights sum 1");
    fit_psfsel_free(s);
    cfg->patch_run.hybrid_psf_n = 9;
    set_str(&cfg->patch_run.psf_model, "gaussian_mixture_from_stamp");
    s = open_sel(cfg, "nan", 1);
    check(fit_psfsel_render(s, 0) == FIT_PSF_MOG &&
          fit_psfsel_audit(s, 0)->frozen && fit_psfsel_mog_k(s, 0) == 4,
          "gaussian_mixture_from_stamp: frozen, K = gaussian_mixture_n");
    fit_psfsel_free(s);
    set_str(&cfg->patch_run.psf_model, "pixelized");

    /* ncircular_gaussian fallback, n = 3, sigma = 3 / 2.35482. */
    set_str(&cfg->patch_run.psf_fallback_model, "ncircular_gaussian");
    s = open_sel(cfg, "nope", 1);
    fit_psfsel_mog(s, 0, 0, 0, &mog, &err);
    {
        double sg = 3.0 / 2.35482;

        check(mog.k == 3 && mog.w[0] == 0.8 && mog.w[1] == 0.15 &&
              mog.w[2] == 0.05 && fabs(mog.vxx[0] - sg * sg) < 1e-12 &&
              fabs(mog.vxx[2] - 16 * sg * sg) < 1e-12,
              "ncircular_gaussian: 0.8/0.15/0.05 at sigma, 2 sigma, 4 sigma");
    }
    fit_psfsel_stamp_size(s, 0, &w, &h);
    check(w == 0 && fit_psfsel_audit(s, 0)->frozen &&
          fit_psfsel_render(s, 0) == FIT_PSF_MOG,
          "ncircular_gaussian: no stamp, frozen mixture");
    check_str(fit_psfsel_audit(s, 0)->psf_model, "ncircular_gaussian",
              "audit: ncircular_gaussian named");
    fit_psfsel_free(s);
    set_str(&cfg->patch_run.psf_fallback_model, "gaussian_mixture");
    s = open_sel(cfg, "nope", 1);
    fit_psfsel_mog(s, 0, 0, 0, &mog, &err);
    check(mog.k == 4 && fit_psfsel_audit(s, 0)->frozen,
          "gaussian_mixture fallback: EM mixture of gaussian_mixture_n");
    fit_psfsel_free(s);

    /* A bad config value is a config error naming the key. */
    set_str(&cfg->patch_run.psf_fallback_model, "airy");
    s = NULL;
    {
        fit_payload p;
        fit_payload_band b;

        fake_payload(&p, &b, "nope");
        check_int(fit_psfsel_open(cfg, root, &p, &s, &err), ==, PP_ECONFIG,
                  "config: unknown fallback model refused");
        check(strstr(err.msg, "patch_run.psf_fallback_model") && !s,
              "config: message names the key");
    }
    set_str(&cfg->patch_run.psf_fallback_model, "moffat");
}

int main(void)
{
    pp_config cfg = PP_CONFIG_INIT;
    char *cmd;

    pp_log_set_level(PP_LOG_ERROR);
    strcpy(root, "/tmp/test_fit_psfsel.XXXXXX");
    if (!mkdtemp(root))
        return 1;
    pp_config_defaults(&cfg);
    test_bilinear(&cfg);
    test_audit(&cfg);
    pp_config_release(&cfg);
    cmd = pp_xasprintf("rm -rf '%s'", root);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", root);
    free(cmd);
    return tap_done();
}
