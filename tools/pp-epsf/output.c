/* output.c - a cell's files (SPEC §8.3); see output.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_config.h"
#include "pp_csv.h"
#include "pp_fits.h"
#include "pp_io.h"
#include "pp_json.h"
#include "pp_mem.h"
#include "pp_npy.h"
#include "pp_table.h"

#include "output.h"
#include "stats.h"

/* stars.csv (SPEC §8.3 column order). */
static int write_stars(const epsf_cell_job *j, const epsf_cell_state *s,
                       pp_error *err)
{
    static const char *const cols[] = {
        "id", "x_cell", "y_cell", "x_white", "y_white", "origin",
        "gaia_mag", "snr", "sep_flag", "local_bkg", "annulus_npix", "used",
        "reject_reason"
    };
    pp_table t = PP_TABLE_INIT;
    char *path = pp_io_path_join(j->dir, "stars.csv"), b[13][32];
    int c;

    for (c = 0; c < 13; c++)
        pp_table_add_column(&t, cols[c], -1);
    for (int k = 0; k < s->ncands; k++) {
        const epsf_cand *e = &s->cands[k];
        const char *v[13];
        long row = pp_table_add_row(&t);
        int sel = k < s->nsel;
        v[0] = pp_csv_format_long(k, b[0]);
        v[1] = pp_csv_format_double(e->x - j->cx0, b[1]);
        v[2] = pp_csv_format_double(e->y - j->cy0, b[2]);
        v[3] = pp_csv_format_double(e->x, b[3]);
        v[4] = pp_csv_format_double(e->y, b[4]);
        v[5] = epsf_origin_name(e->origin);
        v[6] = pp_csv_format_double(e->gaia_mag, b[6]);
        v[7] = pp_csv_format_double(e->snr, b[7]);
        v[8] = pp_csv_format_long(e->sep_flag, b[8]);
        v[9] = pp_csv_format_double(sel ? e->local_bkg : NAN, b[9]);
        v[10] = sel ? pp_csv_format_long(e->annulus_npix, b[10]) : "";
        v[11] = pp_csv_format_bool(e->used);
        v[12] = e->reason;
        for (c = 0; c < 13; c++)
            pp_table_set(&t, row, c, v[c]);
    }
    pp_csv_write(path, &t, err);
    pp_table_release(&t);
    free(path);
    return err->code;
}

/* An S × S × nused float cube of the used stars' planes of src (or of
 * BGSUB − MODEL when src is NULL; of the weights when w is set). */
static int write_cube(pp_fits_writer *w, const char *name,
                      const epsf_cell_state *s, const double *src,
                      int resid, int weight, pp_error *err)
{
    long S = s->S, naxes[3] = { S, S, 0 }, p = 0;
    size_t SS = (size_t)S * S;
    float *buf;
    int st = 0;
    char msg[FLEN_STATUS];

    for (int k = 0; k < s->nsel; k++)
        naxes[2] += s->cands[k].used;
    buf = pp_xmalloc(sizeof(float) * SS * (size_t)(naxes[2] + 1));
    for (int k = 0; k < s->nsel; k++) {
        if (!s->cands[k].used)
            continue;
        for (size_t q = 0; q < SS; q++) {
            double v = weight ? s->valid[SS * k + q] : resid ?
                       s->data[SS * k + q] - s->model[SS * k + q] :
                       src[SS * k + q];
            buf[SS * p + q] = (float)v;
        }
        p++;
    }
    if (fits_create_img(w->fp, FLOAT_IMG, 3, naxes, &st) == 0 &&
        fits_update_key(w->fp, TSTRING, "EXTNAME", (void *)name, NULL,
                        &st) == 0 && naxes[2] > 0)
        fits_write_img(w->fp, TFLOAT, 1, (LONGLONG)(SS * naxes[2]), buf,
                       &st);
    free(buf);
    if (st) {
        fits_get_errstatus(st, msg);
        return pp_error_set(err, PP_EIO, "'%s': writing %s: %s", w->tmp,
                            name, msg);
    }
    return PP_OK;
}

/* A region-sized image (IMAGE or BACKGROUND) with its X0, Y0. */
static int write_map(pp_fits_writer *w, const char *name,
                     const epsf_region *r, const float *map, pp_error *err)
{
    if (pp_fits_add_image(w, name, FLOAT_IMG, r->w, r->h, PP_FITS_PLAIN,
                          err) ||
        pp_fits_write_key_long(w, "X0", r->x0, "working-frame x of pixel 0",
                               err) ||
        pp_fits_write_key_long(w, "Y0", r->y0, "working-frame y of pixel 0",
                               err))
        return err->code;
    return pp_fits_write_rows(w, 0, r->h, map, err);
}

static int write_stamps(const epsf_cell_job *j, const epsf_cell_state *s,
                        pp_error *err)
{
    char *path = pp_io_path_join(j->dir, "stamps.fits");
    pp_fits_writer w;
    float *img = NULL;

    memset(&w, 0, sizeof w);
    if (pp_fits_create(path, &w, err) != PP_OK)
        goto out;
    if (s->ok && (write_cube(&w, "RAW", s, s->raw, 0, 0, err) ||
                  write_cube(&w, "BGSUB", s, s->data, 0, 0, err) ||
                  write_cube(&w, "MODEL", s, s->model, 0, 0, err) ||
                  write_cube(&w, "RESID", s, NULL, 1, 0, err) ||
                  write_cube(&w, "WEIGHT", s, NULL, 0, 1, err)))
        goto out;
    if (j->cfg->epsf.save_patch_background_diagnostics) {
        size_t n = (size_t)s->reg.w * s->reg.h;
        double scale = j->frames->bands[j->band].scale;
        img = pp_xmalloc(sizeof(float) * n);
        for (size_t i = 0; i < n; i++)
            img[i] = (float)(s->reg.raw[i] * scale);
        if (write_map(&w, "IMAGE", &s->reg, img, err))
            goto out;
        if (s->reg.bkg && write_map(&w, "BACKGROUND", &s->reg, s->reg.bkg,
                                    err))
            goto out;
    }
    pp_fits_commit(&w, err);
out:
    if (err->code)
        pp_fits_abort(&w);
    free(img);
    free(path);
    return err->code;
}

/* epsf.npy (status ok) or removal of an older one. */
static int write_npy(const epsf_cell_job *j, const epsf_cell_state *s,
                     pp_error *err)
{
    char *path = pp_io_path_join(j->dir, "epsf.npy");
    long shape[2] = { s->F, s->F };
    float *f;

    if (!s->ok) {
        pp_io_remove_file(path, err);
        free(path);
        return err->code;
    }
    f = pp_xmalloc(sizeof(float) * (size_t)s->F * s->F);
    for (size_t k = 0; k < (size_t)s->F * s->F; k++)
        f[k] = (float)s->final[k];
    pp_npy_write(path, f, 2, shape, err);
    free(f);
    free(path);
    return err->code;
}

static json_t *real_array(const double *v, int n)
{
    json_t *a = json_array();

    for (int i = 0; i < n; i++)
        json_array_append_new(a, pp_json_real(v[i]));
    return a;
}

/* "mog": {"4": {"amp": [...], "mean": [[x, y]...], "var": [[[xx, xy],
 * [xy, yy]]...], "em_iters": n}, ...} (Tractor's GaussianMixturePSF
 * layout; means relative to the stamp centre, px). */
static json_t *mog_json(const epsf_cell_state *s)
{
    json_t *o = json_object();

    for (int m = 0; m < s->nmog; m++) {
        const pp_psf_mog *g = &s->mog[m];
        json_t *e = json_object(), *mean = json_array(), *var = json_array();
        char key[16];
        for (int k = 0; k < g->k; k++) {
            json_array_append_new(mean, json_pack("[o, o]",
                                  pp_json_real(g->mx[k]),
                                  pp_json_real(g->my[k])));
            json_array_append_new(var, json_pack("[[o, o], [o, o]]",
                                  pp_json_real(g->vxx[k]),
                                  pp_json_real(g->vxy[k]),
                                  pp_json_real(g->vxy[k]),
                                  pp_json_real(g->vyy[k])));
        }
        json_object_set_new(e, "amp", real_array(g->w, g->k));
        json_object_set_new(e, "mean", mean);
        json_object_set_new(e, "var", var);
        json_object_set_new(e, "em_iters", json_integer(s->mog_iters[m]));
        snprintf(key, sizeof key, "%d", g->k);
        json_object_set_new(o, key, e);
    }
    return o;
}

static json_t *background_json(const epsf_cell_state *s)
{
    const epsf_region *r = &s->reg;

    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}",
                     "status", r->bkg_status[0] ? r->bkg_status : "error",
                     "bkg_median", pp_json_real(r->bkg_median),
                     "bkg_mean", pp_json_real(r->bkg_mean),
                     "bkg_rms_median", pp_json_real(r->bkg_rms_median),
                     "bkg_rms_mean", pp_json_real(r->bkg_rms_mean),
                     "masked_frac", pp_json_real(r->bkg_masked_frac));
}

/* local_star_background{} and local_bkg_diagnostics{} of the used
 * stars. */
static void local_json(const epsf_cell_job *j, const epsf_cell_state *s,
                       json_t *m)
{
    double sum = 0, *v = pp_xmalloc(sizeof(double) * (size_t)(s->nsel + 1));
    int n = 0, nok = 0, nused = 0;
    const char *diag;

    for (int k = 0; k < s->nsel; k++) {
        if (!s->cands[k].used)
            continue;
        nused++;
        if (!j->cfg->epsf.star_local_bkg_subtract)
            continue;
        n++;
        if (s->cands[k].local_bkg_ok) {
            v[nok++] = s->cands[k].local_bkg;
            sum += s->cands[k].local_bkg;
        }
    }
    json_object_set_new(m, "local_star_background", json_pack(
        "{s:i, s:i, s:o, s:o}", "local_bkg_nstars", n,
        "local_bkg_ok_nstars", nok,
        "local_bkg_median", pp_json_real(epsf_median_nan(v, nok)),
        "local_bkg_mean", pp_json_real(nok ? sum / nok : NAN)));
    /* ids are the row numbers of stars.csv: never missing nor repeated. */
    diag = !j->cfg->epsf.star_local_bkg_subtract ||
           !j->cfg->epsf.save_star_local_background_diagnostics ?
           "skipped_disabled" : nused == 0 ? "skipped_no_stars" : "ok";
    json_object_set_new(m, "local_bkg_diagnostics", json_pack(
        "{s:i, s:s}", "local_bkg_diag_nstars",
        strcmp(diag, "ok") == 0 ? nused : 0, "local_bkg_diag_status",
        diag));
    free(v);
}

static json_t *qa_json(const epsf_cell_job *j, const epsf_cell_state *s)
{
    const epsf_qa *q = &s->qa;
    json_t *o;

    if (!s->ok)
        return json_object();
    o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
                  "s:i, s:b}",
                  "fwhm_pix", pp_json_real(q->fwhm),
                  "ee_r50_pix", pp_json_real(q->ee_r50),
                  "ee_r80_pix", pp_json_real(q->ee_r80),
                  "ee_r90_pix", pp_json_real(q->ee_r90),
                  "ee_edge", pp_json_real(q->ee_edge),
                  "edge_median", pp_json_real(q->edge_median),
                  "edge_mean", pp_json_real(q->edge_mean),
                  "min", pp_json_real(q->vmin),
                  "max", pp_json_real(q->vmax),
                  "sum", pp_json_real(q->sum),
                  "niters", s->res.niters,
                  "converged", s->res.converged);
    /* The growth curve for epsf_growth_curve.png. */
    json_object_set_new(o, "growth_radius_pix", real_array(q->radius, q->nr));
    json_object_set_new(o, "growth_ee", real_array(q->ee, q->nr));
    (void)j;
    return o;
}

static json_t *resid_json(const epsf_cell_state *s)
{
    if (!s->ok)
        return json_object();
    return json_pack("{s:i, s:o, s:o, s:o, s:o}",
                     "resid_nstars", s->resid_nstars,
                     "resid_bias", pp_json_real(s->resid_bias),
                     "resid_rms", pp_json_real(s->resid_rms),
                     "resid_norm_bias", pp_json_real(s->resid_norm_bias),
                     "resid_norm_rms", pp_json_real(s->resid_norm_rms));
}

/* meta.json, keys in SPEC §8.3 order. */
static json_t *meta_json(const epsf_cell_job *j, const epsf_cell_state *s)
{
    const pp_config *cfg = j->cfg;
    json_t *m = json_object();
    int nused = s->ok ? s->res.nused : 0;

    json_object_set_new(m, "band", json_string(j->frames->bands[j->band].band));
    json_object_set_new(m, "patch", json_string(s->tag));
    json_object_set_new(m, "x0", json_integer(j->cx0));
    json_object_set_new(m, "x1", json_integer(j->cx1));
    json_object_set_new(m, "y0", json_integer(j->cy0));
    json_object_set_new(m, "y1", json_integer(j->cy1));
    json_object_set_new(m, "epsf_ngrid", json_integer(cfg->epsf.epsf_ngrid));
    json_object_set_new(m, "psfstar_mode",
                        json_string(cfg->epsf.psfstar_mode));
    json_object_set_new(m, "gaia_snap_to_sep",
                        json_boolean(cfg->epsf.gaia_snap_to_sep));
    json_object_set_new(m, "gaia_mag_min",
                        pp_json_real(cfg->epsf.gaia_mag_min));
    json_object_set_new(m, "gaia_mag_max",
                        pp_json_real(cfg->epsf.gaia_mag_max));
    json_object_set_new(m, "nstars_seed", json_integer(s->nseed));
    json_object_set_new(m, "nstars_sel", json_integer(s->nsel));
    json_object_set_new(m, "nstars_extract", json_integer(s->nextract));
    json_object_set_new(m, "nstars_used", json_integer(nused));
    json_object_set_new(m, "nstars_rejected", json_integer(s->nsel - nused));
    json_object_set_new(m, "epsf_shape", json_pack("[i, i]", s->F, s->F));
    json_object_set_new(m, "fwhm_pix", pp_json_real(s->fwhm));
    json_object_set_new(m, "patch_background", background_json(s));
    local_json(j, s, m);
    json_object_set_new(m, "epsf_qa", qa_json(j, s));
    json_object_set_new(m, "residual_qa", resid_json(s));
    json_object_set_new(m, "mog", s->ok ? mog_json(s) : json_object());
    json_object_set_new(m, "cfg", pp_config_section_json(cfg, "epsf"));
    json_object_set_new(m, "status", json_string(s->ok ? "ok" : "fail"));
    if (!s->ok)
        json_object_set_new(m, "error", json_string(s->error));
    return m;
}

int epsf_output_write(const epsf_cell_job *j, const epsf_cell_state *s,
                      json_t **meta, pp_error *err)
{
    char *path = pp_io_path_join(j->dir, "meta.json");
    json_t *m = NULL;

    /* meta.json goes last: a cell with one is complete. */
    if (pp_io_mkdir_p(j->dir, err) == PP_OK &&
        pp_io_remove_file(path, err) == PP_OK &&
        write_npy(j, s, err) == PP_OK &&
        write_stars(j, s, err) == PP_OK &&
        write_stamps(j, s, err) == PP_OK) {
        m = meta_json(j, s);
        if (pp_json_write(path, m, err) != PP_OK) {
            json_decref(m);
            m = NULL;
        }
    }
    free(path);
    *meta = m;
    return err->code;
}
