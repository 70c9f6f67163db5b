/* fitout.c - fit results and the files of outputs/<tag>/ (SPEC §10.5);
 * see fitout.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fitsio.h>
#include <jansson.h>

#include "pp_csv.h"
#include "pp_fitcols.h"
#include "pp_fits.h"
#include "pp_io.h"
#include "pp_json.h"
#include "pp_mem.h"
#include "pp_table.h"

#include "fitout.h"
#include "profile.h"

/* ---- result ------------------------------------------------------------ */

static int set_alloc(fit_set *st, const fit_payload *p, pp_error *err)
{
    size_t ns = (size_t)p->nsrc + 1, nf = ns * (size_t)p->nbands;
    double **arr[6] = { &st->x, &st->y, &st->logre, &st->ee1, &st->ee2,
                        &st->n };
    long s;
    int i;

    for (i = 0; i < 6; i++)
        if (!(*arr[i] = pp_malloc_checked(ns, sizeof(double), "fit results",
                                          err)))
            return err->code;
    st->flux = pp_malloc_checked(nf, sizeof(double), "fit fluxes", err);
    st->fluxerr = st->flux ? pp_malloc_checked(nf, sizeof(double),
                                               "fit flux errors", err) : NULL;
    st->stall_lo = st->fluxerr ? pp_malloc_checked(ns, sizeof(unsigned),
                                                   "fit stall flags", err)
                               : NULL;
    st->stall_hi = st->stall_lo ? pp_malloc_checked(ns, sizeof(unsigned),
                                                    "fit stall flags", err)
                                : NULL;
    st->sky = st->stall_hi ? pp_malloc_checked((size_t)p->nbands,
                                            sizeof(double), "fit sky", err)
                        : NULL;
    if (!st->sky)
        return err->code;
    for (s = 0; s < p->nsrc; s++) {
        st->x[s] = p->src[s].x_patch;
        st->y[s] = p->src[s].y_patch;
        st->logre[s] = p->src[s].logre;
        st->ee1[s] = p->src[s].ee1;
        st->ee2[s] = p->src[s].ee2;
        st->n[s] = p->src[s].sersic_n;
    }
    for (size_t k = 0; k < nf; k++)
        st->flux[k] = st->fluxerr[k] = NAN;
    st->last_dlnp = NAN;
    return PP_OK;
}

int fit_result_init(fit_result *r, const fit_payload *p, int multiband,
                    pp_error *err)
{
    size_t npix = (size_t)p->width * (size_t)p->height;
    int k;

    memset(r, 0, sizeof *r);
    r->nsrc = p->nsrc;
    r->nbands = p->nbands;
    r->multiband = multiband != 0;
    r->width = p->width;
    r->height = p->height;
    r->nsets = r->multiband ? 1 : p->nbands;
    r->sets = pp_xcalloc((size_t)r->nsets, sizeof *r->sets);
    r->kind = pp_malloc_checked((size_t)p->nsrc + 1, sizeof *r->kind,
                                "source kinds", err);
    r->model = r->kind ? pp_malloc_checked(npix * (size_t)p->nbands,
                                           sizeof *r->model, "model images",
                                           err) : NULL;
    for (k = 0; r->model && k < r->nsets; k++) {
        r->sets[k].band = r->multiband ? -1 : k;
        if (set_alloc(&r->sets[k], p, err))
            break;
    }
    if (!r->model || k < r->nsets) {
        fit_result_release(r);
        return err->code;
    }
    for (long s = 0; s < p->nsrc; s++)
        r->kind[s] = p->src[s].kind;
    return PP_OK;
}

void fit_result_release(fit_result *r)
{
    for (int k = 0; r->sets && k < r->nsets; k++) {
        fit_set *st = &r->sets[k];

        free(st->x);
        free(st->y);
        free(st->logre);
        free(st->ee1);
        free(st->ee2);
        free(st->n);
        free(st->flux);
        free(st->fluxerr);
        free(st->stall_lo);
        free(st->stall_hi);
        free(st->sky);
    }
    free(r->sets);
    free(r->kind);
    free(r->model);
    memset(r, 0, sizeof *r);
}

void fit_set_add_stage(fit_set *set, const char *name, long niters,
                       int converged)
{
    fit_stage_record *rec;

    if (set->nstages >= FIT_STAGES_MAX)
        return;
    rec = &set->stages[set->nstages++];
    snprintf(rec->name, sizeof rec->name, "%s", name ? name : "");
    rec->niters = niters;
    rec->converged = converged != 0;
}

/* ---- conversions ------------------------------------------------------- */

void fit_out_shape(double logre, double ee1, double ee2, fit_shape_out *o)
{
    double theta;

    /* SPEC §10.2 output conversions. */
    o->re_pix = exp(logre);
    fit_ellipse_ab_theta(ee1, ee2, &o->ab, &theta);
    o->phi_deg = fmod(-theta * 180.0 / M_PI, 180.0);
    if (o->phi_deg < 0)
        o->phi_deg += 180.0;
    if (o->phi_deg >= 180.0)
        o->phi_deg -= 180.0;
    o->ell = 1.0 - o->ab;
    o->theta_deg = o->phi_deg - 90.0;
}

/* SPEC §10.4 names, in FIT_P_* order. */
static const char *const stall_names[FIT_NPAR] = {
    "pos.x", "pos.y", "shape.logre", "shape.ee1", "shape.ee2", "sersicindex"
};
_Static_assert(FIT_P_X == 0 && FIT_P_Y == 1 && FIT_P_LOGRE == 2 &&
               FIT_P_EE1 == 3 && FIT_P_EE2 == 4 && FIT_P_N == 5 &&
               FIT_NPAR == 6, "stall_names follow engine.h's FIT_P_*");

const char *fit_out_stall_text(unsigned lo, unsigned hi, char *buf,
                               size_t n)
{
    size_t len = 0;
    int p, side;

    if (n)
        buf[0] = '\0';
    for (p = 0; p < FIT_NPAR; p++)
        for (side = 0; side < 2; side++) {
            unsigned bits = side ? hi : lo;
            int w;

            if (!(bits & (1u << p)) || len >= n)
                continue;
            w = snprintf(buf + len, n - len, "%s%s@%s", len ? "," : "",
                         stall_names[p], side ? "upper" : "lower");
            len = w < 0 ? n : len + (size_t)w;
        }
    return buf;
}

/* ---- PSF audit summaries ----------------------------------------------- */

typedef struct {
    int used, fallback, low_star;
    char *fallback_bands, *low_star_bands, *frozen_bands; /* "a,b" */
    char *reasons_json;                                   /* one line */
} audit_summary;

static void append_band(char **list, const char *band)
{
    char *old = *list;

    *list = pp_xasprintf("%s%s%s", old ? old : "", old && old[0] ? "," : "",
                         band);
    free(old);
}

static void summarise(const fit_psfsel *psf, audit_summary *a)
{
    json_t *reasons = json_object();
    int b, nb = fit_psfsel_nbands(psf);
    char *txt;

    memset(a, 0, sizeof *a);
    a->fallback_bands = pp_xstrdup("");
    a->low_star_bands = pp_xstrdup("");
    a->frozen_bands = pp_xstrdup("");
    for (b = 0; b < nb; b++) {
        const fit_psf_audit *au = fit_psfsel_audit(psf, b);

        if (au->used_epsf)
            a->used++;
        else {
            a->fallback++;
            append_band(&a->fallback_bands, au->band);
            json_object_set_new(reasons, au->band,
                                json_string(au->fallback_reason));
        }
        if (au->low_star) {
            a->low_star++;
            append_band(&a->low_star_bands, au->band);
        }
        if (au->frozen)
            append_band(&a->frozen_bands, au->band);
    }
    /* Python json.dumps style: ", " and ": " separators, ASCII only. */
    txt = json_dumps(reasons, JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    a->reasons_json = pp_xstrdup(txt ? txt : "{}");
    free(txt);
    json_decref(reasons);
}

static void summary_release(audit_summary *a)
{
    free(a->fallback_bands);
    free(a->low_star_bands);
    free(a->frozen_bands);
    free(a->reasons_json);
}

/* ---- catalogue --------------------------------------------------------- */

typedef struct {
    pp_table *t;
    long row;
    int col;
} row_writer;

static void put_text(row_writer *w, const char *text)
{
    pp_table_set(w->t, w->row, w->col++, text);
}

static void put_double(row_writer *w, double v)
{
    char buf[32];

    put_text(w, pp_csv_format_double(v, buf));
}

static void put_long(row_writer *w, long v)
{
    char buf[32];

    put_text(w, pp_csv_format_long(v, buf));
}

static void put_bool(row_writer *w, int v)
{
    put_text(w, pp_csv_format_bool(v));
}

/* Base-catalogue columns, then the fit columns of SPEC §10.5. */
static void header(pp_table *t, const fit_payload *p, int multiband)
{
    const char **bands = pp_xcalloc((size_t)p->nbands + 1, sizeof(*bands));
    pp_fitcols fc = PP_FITCOLS_INIT;

    for (int c = 0; c < pp_table_ncols(&p->cat); c++)
        pp_table_add_column(t, pp_table_colname(&p->cat, c), -1);
    for (int b = 0; b < p->nbands; b++)
        bands[b] = p->bands[b].name;
    pp_fitcols_build(bands, p->nbands, multiband, &fc);
    for (int i = 0; i < fc.n; i++)
        pp_table_add_column(t, fc.names[i], -1);
    pp_fitcols_release(&fc);
    free(bands);
}

/* Position, sky position and morphology of source s in set st: the
 * columns x_pix_patch_fit .. THETA_fit without stype_fit (with_stype 0)
 * or with it after DEC_fit (multi-band order). */
static void put_geometry(row_writer *w, const fit_payload *p,
                         const fit_result *r, const fit_set *st, long s,
                         int with_stype)
{
    int kind = r->kind[s];
    double ra = NAN, dec = NAN, x = st->x[s], y = st->y[s];
    fit_shape_out sh;

    if (isfinite(x) && isfinite(y))
        pp_wcs_pix_to_sky(&p->wcs, x, y, &ra, &dec);
    put_double(w, x);
    put_double(w, y);
    put_double(w, x + (double)p->rx0);
    put_double(w, y + (double)p->ry0);
    put_double(w, ra);
    put_double(w, dec);
    if (with_stype)
        put_text(w, fit_payload_kind_name(kind));
    /* SPEC §10.5: morphology empty for stars, n for Sérsic only. */
    put_double(w, kind == FIT_PROFILE_SERSIC ? st->n[s] : NAN);
    if (kind == FIT_PROFILE_POINT) {
        for (int i = 0; i < 6; i++)
            put_text(w, "");
        return;
    }
    fit_out_shape(st->logre[s], st->ee1[s], st->ee2[s], &sh);
    put_double(w, sh.re_pix);
    put_double(w, sh.ab);
    put_double(w, sh.phi_deg);
    put_double(w, sh.ell);
    put_double(w, sh.re_pix);
    put_double(w, sh.theta_deg);
}

static void put_flux(row_writer *w, const fit_result *r, const fit_set *st,
                     long s, int b)
{
    double f = st->flux[s * r->nbands + b], e = st->fluxerr[s * r->nbands + b];

    put_double(w, f);
    put_double(w, isfinite(e) && e > 0 ? e : NAN);
}

static void put_optimiser(row_writer *w, const fit_set *st, long s)
{
    char which[256];

    put_long(w, st->niters);
    put_bool(w, st->converged);
    put_bool(w, st->hit_max_iters);
    put_double(w, st->last_dlnp);
    put_bool(w, (st->stall_lo[s] | st->stall_hi[s]) != 0);
    put_text(w, fit_out_stall_text(st->stall_lo[s], st->stall_hi[s], which,
                                   sizeof which));
}

static void put_row(row_writer *w, const pp_config *cfg, const fit_payload *p,
                    const audit_summary *a, const fit_result *r, long s)
{
    int c, b;

    for (c = 0; c < pp_table_ncols(&p->cat); c++)
        put_text(w, pp_table_get(&p->cat, s, c));
    put_double(w, p->src[s].x_patch);
    put_double(w, p->src[s].y_patch);
    put_text(w, p->patch_tag);
    put_text(w, p->epsf_tag);
    put_long(w, cfg->patch_run.min_epsf_nstars_for_use);
    put_long(w, a->used);
    put_long(w, a->fallback);
    put_long(w, a->low_star);
    put_text(w, a->fallback_bands);
    put_text(w, a->low_star_bands);
    put_text(w, a->frozen_bands);
    put_text(w, a->reasons_json);
    if (r->multiband) {
        put_optimiser(w, &r->sets[0], s);
        put_geometry(w, p, r, &r->sets[0], s, 1);
        for (b = 0; b < p->nbands; b++)
            put_flux(w, r, &r->sets[0], s, b);
        return;
    }
    put_text(w, fit_payload_kind_name(r->kind[s]));
    for (b = 0; b < p->nbands; b++) {
        put_geometry(w, p, r, &r->sets[b], s, 0);
        put_flux(w, r, &r->sets[b], s, b);
        put_optimiser(w, &r->sets[b], s);
    }
}

static int check_result(const fit_payload *p, const fit_result *r,
                        pp_error *err)
{
    if (r->nsrc != p->nsrc || r->nbands != p->nbands ||
        r->nsets != (r->multiband ? 1 : p->nbands))
        return pp_error_set(err, PP_EINTERNAL, "fit result of %ld sources, "
                            "%d bands, %d sets does not match the payload "
                            "(%ld sources, %d bands)", r->nsrc, r->nbands,
                            r->nsets, p->nsrc, p->nbands);
    return PP_OK;
}

int fit_out_catalog(const char *path, const pp_config *cfg,
                    const fit_payload *p, const fit_psfsel *psf,
                    const fit_result *r, pp_error *err)
{
    pp_table t = PP_TABLE_INIT;
    audit_summary a;
    row_writer w;
    long s;
    int status;

    if (check_result(p, r, err))
        return err->code;
    summarise(psf, &a);
    header(&t, p, r->multiband);
    w.t = &t;
    for (s = 0; s < p->n_base; s++) {
        w.row = pp_table_add_row(&t);
        w.col = 0;
        put_row(&w, cfg, p, &a, r, s);
    }
    status = pp_csv_write(path, &t, err);
    pp_table_release(&t);
    summary_release(&a);
    return status;
}

/* ---- meta.json --------------------------------------------------------- */

static json_t *bbox(long x0, long x1, long y0, long y1)
{
    return json_pack("[IIII]", (json_int_t)x0, (json_int_t)x1,
                     (json_int_t)y0, (json_int_t)y1);
}

static json_t *band_list(const fit_psfsel *psf, int which)
{
    json_t *arr = json_array();

    for (int b = 0; b < fit_psfsel_nbands(psf); b++) {
        const fit_psf_audit *au = fit_psfsel_audit(psf, b);
        int in = which == 0 ? !au->used_epsf : which == 1 ? au->low_star
                                                          : au->frozen;

        if (in)
            json_array_append_new(arr, json_string(au->band));
    }
    return arr;
}

static json_t *audit_obj(const fit_psfsel *psf)
{
    json_t *o = json_object();

    for (int b = 0; b < fit_psfsel_nbands(psf); b++) {
        const fit_psf_audit *au = fit_psfsel_audit(psf, b);
        json_t *e = json_object();

        json_object_set_new(e, "epsf_path", json_string(au->epsf_path));
        json_object_set_new(e, "epsf_exists", json_boolean(au->epsf_exists));
        json_object_set_new(e, "used_epsf", json_boolean(au->used_epsf));
        json_object_set_new(e, "fallback_reason", au->used_epsf ? json_null()
                            : json_string(au->fallback_reason));
        json_object_set_new(e, "epsf_nstars_used", au->epsf_nstars_used < 0
                            ? json_null()
                            : json_integer(au->epsf_nstars_used));
        json_object_set_new(e, "psf_model", json_string(au->psf_model));
        json_object_set_new(o, au->band, e);
    }
    return o;
}

static json_t *stage_list(const fit_set *st)
{
    json_t *arr = json_array();

    for (int k = 0; k < st->nstages; k++)
        json_array_append_new(arr, json_pack(
            "{s:s, s:I, s:b}", "name", st->stages[k].name, "niters",
            (json_int_t)st->stages[k].niters, "converged",
            st->stages[k].converged));
    return arr;
}

static void add_fit_summary(json_t *m, const pp_config *cfg,
                            const fit_payload *p, const fit_result *r)
{
    json_t *sky = json_object(), *by_band;
    int b;

    for (b = 0; b < p->nbands; b++)
        json_object_set_new(sky, p->bands[b].name, pp_json_real(
            r->sets[r->multiband ? 0 : b].sky[b]));
    json_object_set_new(m, "sky_fit", sky);
    if (r->multiband) {
        const fit_set *st = &r->sets[0];

        json_object_set_new(m, "niters", json_integer(st->niters));
        json_object_set_new(m, "converged", json_boolean(st->converged));
        json_object_set_new(m, "hit_max_iters",
                            json_boolean(st->hit_max_iters));
        json_object_set_new(m, "last_dlnp", pp_json_real(st->last_dlnp));
    }
    if (!cfg->patch_run.enable_staged_fit)
        return;
    json_object_set_new(m, "staged_fit_enabled", json_true());
    if (r->multiband) {
        json_object_set_new(m, "staged_fit_stages", stage_list(&r->sets[0]));
        return;
    }
    by_band = json_object();
    for (b = 0; b < p->nbands; b++)
        json_object_set_new(by_band, p->bands[b].name,
                            stage_list(&r->sets[b]));
    json_object_set_new(m, "staged_fit_stages_by_band", by_band);
}

int fit_out_meta(const char *path, const pp_config *cfg,
                 const fit_payload *p, const fit_psfsel *psf,
                 const fit_result *r, pp_error *err)
{
    json_t *m;
    audit_summary a;
    int status;

    if (check_result(p, r, err))
        return err->code;
    summarise(psf, &a);
    m = json_object();
    json_object_set_new(m, "patch_tag", json_string(p->patch_tag));
    json_object_set_new(m, "epsf_tag", json_string(p->epsf_tag));
    json_object_set_new(m, "epsf_r", json_integer(p->epsf_r));
    json_object_set_new(m, "epsf_c", json_integer(p->epsf_c));
    json_object_set_new(m, "patch_r", json_integer(p->patch_r));
    json_object_set_new(m, "patch_c", json_integer(p->patch_c));
    json_object_set_new(m, "halo_pix", json_integer(p->halo_pix));
    json_object_set_new(m, "base_bbox", bbox(p->bx0, p->bx1, p->by0, p->by1));
    json_object_set_new(m, "roi_bbox", bbox(p->rx0, p->rx1, p->ry0, p->ry1));
    json_object_set_new(m, "n_sources", json_integer(p->n_base));
    json_object_set_new(m, "n_halo_sources", json_integer(p->n_halo));
    json_object_set_new(m, "psf_min_epsf_nstars_for_use",
                        json_integer(cfg->patch_run.min_epsf_nstars_for_use));
    json_object_set_new(m, "psf_used_epsf_band_count", json_integer(a.used));
    json_object_set_new(m, "psf_fallback_band_count",
                        json_integer(a.fallback));
    json_object_set_new(m, "psf_low_star_band_count",
                        json_integer(a.low_star));
    json_object_set_new(m, "psf_fallback_bands", band_list(psf, 0));
    json_object_set_new(m, "psf_low_star_bands", band_list(psf, 1));
    json_object_set_new(m, "psf_audit", audit_obj(psf));
    json_object_set_new(m, "enable_multi_band_simultaneous_fitting",
                        json_boolean(r->multiband));
    json_object_set_new(m, "psf_frozen_bands_for_optimizer",
                        band_list(psf, 2));
    json_object_set_new(m, "noise_model",
                        json_string(cfg->patch_run.noise_model));
    json_object_set_new(m, "fit_sky", json_boolean(cfg->patch_run.fit_sky));
    add_fit_summary(m, cfg, p, r);
    json_object_set_new(m, "timing_s", json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o}", "read", pp_json_real(r->t_read),
        "psf", pp_json_real(r->t_psf), "init", pp_json_real(r->t_init),
        "fit", pp_json_real(r->t_fit), "errors", pp_json_real(r->t_errors),
        "write", pp_json_real(r->t_write)));
    status = pp_json_write(path, m, err);
    json_decref(m);
    summary_release(&a);
    return status;
}

/* ---- model.fits -------------------------------------------------------- */

static int write_models(pp_fits_writer *w, const fit_payload *p,
                        const fit_result *r, pp_error *err)
{
    size_t npix = (size_t)p->width * (size_t)p->height;

    for (int b = 0; b < p->nbands; b++)
        if (pp_fits_add_image(w, "MODEL", FLOAT_IMG, p->width, p->height,
                              PP_FITS_GZIP2, err) ||
            pp_fits_write_key_long(w, "EXTVER", b + 1, NULL, err) ||
            pp_fits_write_key_string(w, "BAND", p->bands[b].name, NULL,
                                     err) ||
            pp_fits_write_key_double(w, "SKY", r->sets[r->multiband ? 0 : b]
                                     .sky[b], "fitted sky, scaled", err) ||
            pp_fits_write_rows(w, 0, p->height, r->model + (size_t)b * npix,
                               err))
            return err->code;
    return PP_OK;
}

/* The SOURCES table of model.fits (base and halo rows). */
static int write_source_table(pp_fits_writer *w, const fit_payload *p,
                              const fit_result *r, pp_error *err)
{
    long nrow = p->n_base + p->n_halo, s;
    int id = pp_table_find_column(&p->cat, "ID", NULL);
    int nfit = r->multiband ? 1 : p->nbands, nc = 0, c, k, status = PP_OK;
    int ncol = 7 + 2 * nfit;
    char **names = pp_xcalloc((size_t)ncol, sizeof *names);
    const char **forms = pp_xcalloc((size_t)ncol, sizeof *forms);
    double *v = pp_xcalloc((size_t)nrow + 1, sizeof *v);
    char *l = pp_xcalloc((size_t)nrow + 1, 1);
    static const char *const start[4] = { "x_pix_patch", "y_pix_patch",
                                          "x_pix_white", "y_pix_white" };

    if (id >= 0) {
        names[nc] = pp_xstrdup("ID");
        forms[nc++] = "1PB";
    }
    for (k = 0; k < 4; k++) {
        names[nc] = pp_xstrdup(start[k]);
        forms[nc++] = "1D";
    }
    for (k = 0; k < nfit; k++)
        for (c = 0; c < 2; c++) {
            names[nc] = r->multiband
                ? pp_xstrdup(c ? "y_pix_patch_fit" : "x_pix_patch_fit")
                : pp_xasprintf("%c_pix_patch_%s_fit", c ? 'y' : 'x',
                               p->bands[k].name);
            forms[nc++] = "1D";
        }
    names[nc] = pp_xstrdup("stype_fit");
    forms[nc++] = "1PB";
    names[nc] = pp_xstrdup("is_halo");
    forms[nc++] = "1L";
    if (pp_fits_add_table(w, "SOURCES", nc, (const char *const *)names,
                          forms, err))
        goto fail;
    c = id >= 0 ? 1 : 0;
    /* Typed columns first: they give the table its rows. */
    for (k = 0; k < 4 + 2 * nfit; k++) {
        for (s = 0; s < nrow; s++) {
            const fit_set *st = &r->sets[(k - 4) / 2 < 0 ? 0 : (k - 4) / 2];

            v[s] = k == 0 ? p->src[s].x_patch : k == 1 ? p->src[s].y_patch
                 : k == 2 ? p->src[s].x_white : k == 3 ? p->src[s].y_white
                 : (k - 4) % 2 ? st->y[s] : st->x[s];
        }
        if (nrow && pp_fits_write_column(w, c + k + 1, 1, nrow, TDOUBLE, v,
                                         err))
            goto fail;
    }
    for (s = 0; s < nrow; s++)
        l[s] = (char)p->src[s].is_halo;
    if (nrow && pp_fits_write_column(w, nc, 1, nrow, TLOGICAL, l, err))
        goto fail;
    for (s = 0; s < nrow; s++) {
        const char *txt = id >= 0 ? pp_table_get(&p->cat, s, id) : "";
        const char *kn = fit_payload_kind_name(r->kind[s]);

        if ((txt[0] && pp_fits_write_column(w, 1, s + 1, (long)strlen(txt),
                                            TBYTE, txt, err)) ||
            pp_fits_write_column(w, nc - 1, s + 1, (long)strlen(kn), TBYTE,
                                 kn, err))
            goto fail;
    }
    goto out;
fail:
    status = err->code ? err->code : PP_EINTERNAL;
out:
    for (k = 0; k < nc; k++)
        free(names[k]);
    free(names);
    free(forms);
    free(v);
    free(l);
    return status;
}

int fit_out_model(const char *path, const fit_payload *p,
                  const fit_result *r, pp_error *err)
{
    pp_fits_writer w;
    int status;

    if (check_result(p, r, err))
        return err->code;
    if (pp_fits_create(path, &w, err))
        return err->code;
    status = pp_fits_write_key_string(&w, "PATCHTAG", p->patch_tag, NULL,
                                      err);
    if (status == PP_OK)
        status = pp_fits_write_key_string(&w, "EPSFTAG", p->epsf_tag, NULL,
                                          err);
    if (status == PP_OK)
        status = pp_fits_write_key_long(&w, "RX0", p->rx0, "ROI origin x",
                                        err);
    if (status == PP_OK)
        status = pp_fits_write_key_long(&w, "RY0", p->ry0, "ROI origin y",
                                        err);
    if (status == PP_OK)
        status = write_models(&w, p, r, err);
    if (status == PP_OK)
        status = write_source_table(&w, p, r, err);
    if (status == PP_OK)
        return pp_fits_commit(&w, err);
    pp_fits_abort(&w);
    return status;
}

/* ---- all files --------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int fit_out_write_all(const char *outdir, const pp_config *cfg,
                      const fit_payload *p, const fit_psfsel *psf,
                      fit_result *r, pp_error *err)
{
    char *name = pp_xasprintf("%s_cat_fit.csv", p->patch_tag);
    char *cat = pp_io_path_join(outdir, name);
    char *model = pp_io_path_join(outdir, "model.fits");
    char *meta = pp_io_path_join(outdir, "meta.json");
    double t0 = now_s();
    int status, done = 0;

    status = pp_io_mkdir_p(outdir, err);
    if (status == PP_OK && (status = fit_out_catalog(cat, cfg, p, psf, r,
                                                     err)) == PP_OK)
        done = 1;
    if (status == PP_OK && (status = fit_out_model(model, p, r, err)) ==
        PP_OK)
        done = 2;
    r->t_write = now_s() - t0;
    if (status == PP_OK)
        status = fit_out_meta(meta, cfg, p, psf, r, err);
    if (status != PP_OK) {
        /* No partial set of outputs: remove what this call committed. */
        if (done >= 1)
            pp_io_remove_file(cat, NULL);
        if (done >= 2)
            pp_io_remove_file(model, NULL);
    }
    free(name);
    free(cat);
    free(model);
    free(meta);
    return status;
}
