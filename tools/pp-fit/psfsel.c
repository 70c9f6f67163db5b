/* psfsel.c - PSF choice, audit and interpolation (SPEC §10.3); see
 * psfsel.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "pp_io.h"
#include "pp_json.h"
#include "pp_log.h"
#include "pp_mem.h"
#include "pp_npy.h"

#include "psfsel.h"

enum { FB_MOFFAT = 0, FB_NCIRC, FB_GMIX };
#define NCELL_MAX ((2 * FIT_PSFSEL_REACH + 1) * (2 * FIT_PSFSEL_REACH + 1))

/* One usable ePSF cell of a band. */
typedef struct {
    long r, c;                      /* grid indices from the tag */
    double xc, yc, hw, hh;          /* centre and half-size, working px */
    double *stamp;                  /* w x h, sum 1 */
    int w, h;
    int have_mog;                   /* mog valid (meta.json or EM) */
    pp_psf_mog mog;
} psf_cell;

/* What the checks of SPEC §10.3 found for one cell. */
typedef struct {
    int exists, usable, low_star;
    long nstars;
    char reason[512];
} cell_check;

typedef struct {
    fit_psf_audit audit;
    int render;                     /* FIT_PSF_* */
    int mog_k;
    int varies;
    int ncell;                      /* usable cells; [0] = own when used */
    psf_cell cells[NCELL_MAX];
    double *fb_stamp;               /* moffat fallback stamp */
    int fb_size;
    int have_fb_mog;
    pp_psf_mog fb_mog;              /* ncircular / gaussian_mixture / EM */
    int w, h;                       /* stamp size (0: none) */
} band_psf;

struct fit_psfsel {
    int nbands;
    band_psf *bands;
};

/* ---- reading one cell -------------------------------------------------- */

/* The stored mixture of K components in meta.json (psfsel.h layout).
 * Returns 1 when found and well-formed. */
static int parse_mog(const json_t *meta, int K, pp_psf_mog *out)
{
    const json_t *all = json_object_get(meta, "mog"), *m, *amp, *mean, *var;
    char key[16];
    int k;

    snprintf(key, sizeof key, "%d", K);
    m = all ? json_object_get(all, key) : NULL;
    if (!m)
        return 0;
    amp = json_object_get(m, "amp");
    mean = json_object_get(m, "mean");
    var = json_object_get(m, "var");
    if (!json_is_array(amp) || !json_is_array(mean) || !json_is_array(var) ||
        json_array_size(amp) != (size_t)K ||
        json_array_size(mean) != (size_t)K ||
        json_array_size(var) != (size_t)K)
        goto bad;
    memset(out, 0, sizeof *out);
    out->k = K;
    for (k = 0; k < K; k++) {
        const json_t *mu = json_array_get(mean, (size_t)k);
        const json_t *v = json_array_get(var, (size_t)k);
        const json_t *v0 = json_array_get(v, 0), *v1 = json_array_get(v, 1);

        if (!json_is_number(json_array_get(amp, (size_t)k)) ||
            !json_is_number(json_array_get(mu, 0)) ||
            !json_is_number(json_array_get(mu, 1)) ||
            !json_is_number(json_array_get(v0, 0)) ||
            !json_is_number(json_array_get(v0, 1)) ||
            !json_is_number(json_array_get(v1, 1)))
            goto bad;
        out->w[k] = json_number_value(json_array_get(amp, (size_t)k));
        out->mx[k] = json_number_value(json_array_get(mu, 0));
        out->my[k] = json_number_value(json_array_get(mu, 1));
        out->vxx[k] = json_number_value(json_array_get(v0, 0));
        out->vxy[k] = json_number_value(json_array_get(v0, 1));
        out->vyy[k] = json_number_value(json_array_get(v1, 1));
    }
    return 1;
bad:
    pp_log(PP_LOG_WARNING, "meta.json: 'mog' entry '%d' is malformed; "
           "fitting the mixture instead", K);
    return 0;
}

/* meta.json of a cell: nstars_used and the box.  Returns 0 with the
 * reason in chk when it cannot be used. */
static int read_meta(const char *dir, int K, psf_cell *cell, cell_check *chk,
                     json_t **meta_out)
{
    char *path = pp_io_path_join(dir, "meta.json");
    pp_error e = PP_ERROR_INIT;
    json_t *meta = NULL;
    double box[4];
    static const char *const keys[4] = { "x0", "x1", "y0", "y1" };
    int i, ok = 0;

    if (pp_json_read(path, &meta, &e) == PP_OK &&
        pp_json_get_int(meta, "nstars_used", "'meta.json'", &chk->nstars,
                        &e) == PP_OK) {
        ok = 1;
        for (i = 0; i < 4 && ok; i++)
            ok = pp_json_get_number(meta, keys[i], "'meta.json'", &box[i],
                                    &e) == PP_OK;
    }
    if (!ok)
        snprintf(chk->reason, sizeof chk->reason, "invalid ePSF (%.480s)",
                 e.msg);
    else if (!(box[1] > box[0] && box[3] > box[2])) {
        ok = 0;
        snprintf(chk->reason, sizeof chk->reason, "invalid ePSF (meta.json: "
                 "empty cell box x0=%g x1=%g y0=%g y1=%g)", box[0], box[1],
                 box[2], box[3]);
    } else {
        cell->xc = 0.5 * (box[0] + box[1]);
        cell->yc = 0.5 * (box[2] + box[3]);
        cell->hw = 0.5 * (box[1] - box[0]);
        cell->hh = 0.5 * (box[3] - box[2]);
        cell->have_mog = K > 0 && parse_mog(meta, K, &cell->mog);
    }
    free(path);
    *meta_out = meta;
    return ok;
}

/* epsf.npy: odd 2-D, finite after NaN -> 0, positive sum; normalised. */
static int read_stamp(const char *npy, psf_cell *cell, cell_check *chk,
                      pp_error *err)
{
    pp_error e = PP_ERROR_INIT;
    float *data = NULL;
    long shape[PP_NPY_MAXDIM], i, n;
    int ndim = 0, ok = 0;
    double sum = 0;

    if (pp_npy_read(npy, &data, &ndim, shape, &e) != PP_OK) {
        if (e.code == PP_ENOMEM) {
            *err = e;
            return -1;
        }
        snprintf(chk->reason, sizeof chk->reason, "invalid ePSF (%.480s)",
                 e.msg);
        return 0;
    }
    if (ndim != 2 || shape[0] % 2 == 0 || shape[1] % 2 == 0 ||
        shape[0] > 4096 || shape[1] > 4096) {
        snprintf(chk->reason, sizeof chk->reason, "invalid ePSF (shape %s%ld"
                 "x%ld, expected a 2-D array of odd sizes)",
                 ndim == 2 ? "" : "not 2-D: ", ndim >= 1 ? shape[0] : 0,
                 ndim >= 2 ? shape[1] : 0);
        goto out;
    }
    n = shape[0] * shape[1];
    cell->stamp = pp_malloc_checked((size_t)n, sizeof *cell->stamp,
                                    "an ePSF stamp", err);
    if (!cell->stamp) {
        free(data);
        return -1;
    }
    for (i = 0; i < n; i++) {
        double v = isnan(data[i]) ? 0.0 : (double)data[i];

        if (!isfinite(v)) {
            snprintf(chk->reason, sizeof chk->reason, "invalid ePSF "
                     "(non-finite pixel %ld)", i);
            goto out;
        }
        cell->stamp[i] = v;
        sum += v;
    }
    if (!(sum > 0)) {
        snprintf(chk->reason, sizeof chk->reason, "invalid ePSF (sum %g, "
                 "expected > 0)", sum);
        goto out;
    }
    for (i = 0; i < n; i++)
        cell->stamp[i] /= sum;
    cell->h = (int)shape[0];
    cell->w = (int)shape[1];
    ok = 1;
out:
    free(data);
    if (!ok) {
        free(cell->stamp);
        cell->stamp = NULL;
    }
    return ok;
}

/* The checks of SPEC §10.3 on cell (r, c) of band.  Returns PP_OK with
 * chk filled (chk->usable: cell loaded), or PP_ENOMEM. */
static int load_cell(const char *epsf_dir, const char *band,
                     const char *own_tag, long r, long c, long min_nstars,
                     int K, psf_cell *cell, cell_check *chk, char *npy_path,
                     pp_error *err)
{
    char tag[FIT_TAG_MAX], *bdir, *dir, *npy;
    json_t *meta = NULL;
    struct stat st;
    int ok;

    memset(cell, 0, sizeof *cell);
    memset(chk, 0, sizeof *chk);
    chk->nstars = -1;
    cell->r = r;
    cell->c = c;
    /* The own cell by the payload's EPSFTAG, neighbours by SPEC §8.1's
     * tag format. */
    if (own_tag)
        snprintf(tag, sizeof tag, "%s", own_tag);
    else
        snprintf(tag, sizeof tag, "r%02ld_c%02ld", r, c);
    bdir = pp_io_path_join(epsf_dir, band);
    dir = pp_io_path_join(bdir, tag);
    npy = pp_io_path_join(dir, "epsf.npy");
    if (npy_path)
        snprintf(npy_path, PATH_MAX, "%s", npy);
    chk->exists = stat(npy, &st) == 0 && S_ISREG(st.st_mode);
    if (!chk->exists) {
        snprintf(chk->reason, sizeof chk->reason, "missing ePSF");
        ok = 0;
    } else if ((ok = read_meta(dir, K, cell, chk, &meta)) &&
               chk->nstars < min_nstars) {
        snprintf(chk->reason, sizeof chk->reason, "low-star ePSF (nstars_used"
                 "=%ld < min_epsf_nstars_for_use=%ld)", chk->nstars,
                 min_nstars);
        chk->low_star = 1;
        ok = 0;
    } else if (ok) {
        ok = read_stamp(npy, cell, chk, err);
    }
    json_decref(meta);
    free(bdir);
    free(dir);
    free(npy);
    if (ok < 0)
        return err->code;
    chk->usable = ok;
    if (!ok)
        chk->reason[sizeof chk->reason - 1] = '\0';
    return PP_OK;
}

/* ---- configuration ---------------------------------------------------- */

static int lookup(const char *v, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (v && strcmp(v, names[i]) == 0)
            return i;
    return -1;
}

/* psf_model values, and their FIT_PSF_* render kinds. */
static const char *const model_names[] = {
    "pixelized", "hybrid", "gaussian_mixture_from_stamp"
};
static const int model_render[] = { FIT_PSF_PIXEL, FIT_PSF_HYBRID,
                                    FIT_PSF_MOG };

typedef struct {
    int model;                      /* index in model_names */
    int render;                     /* FIT_PSF_* of psf_model */
    int fallback;                   /* FB_* */
    int bilinear;
    int k_model;                    /* K for an ePSF band */
} psf_opts;

static int check_k(long k, const char *key, pp_error *err)
{
    if (k < 1 || k > PP_PSF_MOG_MAX)
        return pp_error_set(err, PP_ECONFIG, "patch_run.%s: found %ld, "
                            "expected 1..%d", key, k, PP_PSF_MOG_MAX);
    return PP_OK;
}

static int read_opts(const pp_config *cfg, psf_opts *o, pp_error *err)
{
    static const char *const fbs[] = { "moffat", "ncircular_gaussian",
                                       "gaussian_mixture" };
    static const char *const interps[] = { "cell", "bilinear" };
    const char *m = cfg->patch_run.psf_model;
    const char *f = cfg->patch_run.psf_fallback_model;
    const char *i = cfg->patch_run.psf_interp;

    o->model = lookup(m, model_names, 3);
    o->fallback = lookup(f, fbs, 3);
    o->bilinear = lookup(i, interps, 2);
    if (o->model < 0)
        return pp_error_set(err, PP_ECONFIG, "patch_run.psf_model: found "
                            "'%s', expected 'pixelized', 'hybrid' or "
                            "'gaussian_mixture_from_stamp'", m ? m : "");
    if (o->fallback < 0)
        return pp_error_set(err, PP_ECONFIG, "patch_run.psf_fallback_model: "
                            "found '%s', expected 'moffat', "
                            "'ncircular_gaussian' or 'gaussian_mixture'",
                            f ? f : "");
    if (o->bilinear < 0)
        return pp_error_set(err, PP_ECONFIG, "patch_run.psf_interp: found "
                            "'%s', expected 'bilinear' or 'cell'",
                            i ? i : "");
    if (check_k(cfg->patch_run.hybrid_psf_n, "hybrid_psf_n", err) ||
        check_k(cfg->patch_run.gaussian_mixture_n, "gaussian_mixture_n",
                err))
        return err->code;
    o->render = model_render[o->model];
    o->k_model = (int)(o->render == FIT_PSF_MOG
                       ? cfg->patch_run.gaussian_mixture_n
                       : cfg->patch_run.hybrid_psf_n);
    return PP_OK;
}

/* ---- one band ---------------------------------------------------------- */

/* The fallback PSF of SPEC §10.3 for band k. */
static int setup_fallback(const pp_config *cfg, const psf_opts *o,
                          const fit_payload_band *fb, band_psf *bp,
                          pp_error *err)
{
    static const char *const names[] = { "moffat", "ncircular_gaussian",
                                         "gaussian_mixture" };
    double fwhm = pp_psf_fwhm_pix(fb->fwhm_pix,
                                  cfg->patch_run.fallback_default_fwhm_pix);
    double *g = NULL;
    int size, rc;

    snprintf(bp->audit.psf_model, sizeof bp->audit.psf_model, "%s",
             names[o->fallback]);
    pp_log(PP_LOG_WARNING, "band %s: %s; using the %s fallback PSF (FWHM "
           "%.3g px)", fb->name, bp->audit.fallback_reason,
           names[o->fallback], fwhm);
    if (o->fallback == FB_NCIRC) {
        bp->render = FIT_PSF_MOG;
        bp->mog_k = (int)cfg->patch_run.ncircular_gaussian_n;
        bp->have_fb_mog = 1;
        rc = pp_psf_ncircular(fwhm, bp->mog_k, &bp->fb_mog, err);
        return rc ? pp_error_prefix(err, "patch_run.ncircular_gaussian_n: ")
                  : PP_OK;
    }
    if (o->fallback == FB_MOFFAT) {
        bp->render = FIT_PSF_PIXEL;
        bp->mog_k = (int)cfg->patch_run.hybrid_psf_n;
        if (pp_psf_moffat_stamp(fwhm, cfg->moffat_psf.beta,
                                cfg->moffat_psf.radius_pix, NULL, &size, err))
            return pp_error_prefix(err, "moffat_psf: ");
        bp->fb_stamp = pp_xcalloc((size_t)size * (size_t)size,
                                  sizeof *bp->fb_stamp);
        bp->fb_size = bp->w = bp->h = size;
        if (pp_psf_moffat_stamp(fwhm, cfg->moffat_psf.beta,
                                cfg->moffat_psf.radius_pix, bp->fb_stamp,
                                &size, err))
            return pp_error_prefix(err, "moffat_psf: ");
        return PP_OK;
    }
    /* gaussian_mixture: EM of a Gaussian stamp (SPEC §10.3). */
    bp->render = FIT_PSF_MOG;
    bp->mog_k = (int)cfg->patch_run.gaussian_mixture_n;
    if (pp_psf_gaussian_stamp(fwhm, cfg->patch_run.fallback_stamp_radius_pix,
                              NULL, &size, err))
        return pp_error_prefix(err, "patch_run.fallback_stamp_radius_pix: ");
    g = pp_xcalloc((size_t)size * (size_t)size, sizeof *g);
    rc = pp_psf_gaussian_stamp(fwhm, cfg->patch_run.fallback_stamp_radius_pix,
                               g, &size, err);
    if (rc == PP_OK)
        rc = pp_psf_fit_mog(g, size, size, bp->mog_k, &bp->fb_mog, NULL, err);
    free(g);
    bp->have_fb_mog = rc == PP_OK;
    return rc ? pp_error_prefix(err, "band %s: gaussian_mixture fallback: ",
                                fb->name) : PP_OK;
}

/* The neighbour offsets [*lo, *hi] along one axis (0: x, 1: y) whose
 * cells can take part in the interpolation at the payload's source
 * positions: every column (row) whose centre, assuming the own cell's
 * size, lies within one cell of the sources' extent, within
 * FIT_PSFSEL_REACH.  Only those are read (each cell costs two file
 * reads, and a patch sees about four cells per band). */
static void needed_range(const fit_payload *p, const psf_cell *own,
                         int axis, long *lo, long *hi)
{
    double vmin = INFINITY, vmax = -INFINITY, cen, size;
    long s;

    for (s = 0; s < p->nsrc; s++) {
        double v = axis ? p->src[s].y_white : p->src[s].x_white;

        vmin = v < vmin ? v : vmin;
        vmax = v > vmax ? v : vmax;
    }
    *lo = *hi = 0;
    if (p->nsrc == 0)
        return;
    cen = axis ? own->yc : own->xc;
    size = 2.0 * (axis ? own->hh : own->hw);
    *lo = (long)ceil((vmin - size - cen) / size);
    *hi = (long)floor((vmax + size - cen) / size);
    *lo = *lo < -FIT_PSFSEL_REACH ? -FIT_PSFSEL_REACH : *lo > 0 ? 0 : *lo;
    *hi = *hi > FIT_PSFSEL_REACH ? FIT_PSFSEL_REACH : *hi < 0 ? 0 : *hi;
}

/* Neighbour cells for bilinear interpolation (SPEC §10.3). */
static int load_neighbours(const pp_config *cfg, const char *epsf_dir,
                           const fit_payload *p, const char *band,
                           band_psf *bp, pp_error *err)
{
    long dr, dc, r0, r1, c0, c1;
    cell_check chk;

    needed_range(p, &bp->cells[0], 0, &c0, &c1);
    needed_range(p, &bp->cells[0], 1, &r0, &r1);
    for (dr = r0; dr <= r1; dr++)
        for (dc = c0; dc <= c1; dc++) {
            long r = p->epsf_r + dr, c = p->epsf_c + dc;
            psf_cell *cell = &bp->cells[bp->ncell];

            if (r < 0 || c < 0 || (dr == 0 && dc == 0))
                continue;
            if (load_cell(epsf_dir, band, NULL, r, c,
                          cfg->patch_run.min_epsf_nstars_for_use,
                          bp->mog_k, cell, &chk, NULL, err))
                return err->code;
            if (chk.usable)
                bp->ncell++;
        }
    return PP_OK;
}

static int setup_band(const pp_config *cfg, const psf_opts *o,
                      const char *epsf_dir, const fit_payload *p, int k,
                      band_psf *bp, pp_error *err)
{
    const fit_payload_band *fb = &p->bands[k];
    fit_psf_audit *a = &bp->audit;
    cell_check chk;
    int i;

    snprintf(a->band, sizeof a->band, "%s", fb->name);
    bp->mog_k = o->k_model;
    if (load_cell(epsf_dir, fb->name, p->epsf_tag, p->epsf_r, p->epsf_c,
                  cfg->patch_run.min_epsf_nstars_for_use, bp->mog_k,
                  &bp->cells[0], &chk, a->epsf_path, err))
        return err->code;
    a->epsf_exists = chk.exists;
    a->epsf_nstars_used = chk.nstars;
    a->low_star = chk.low_star;
    if (!chk.usable) {
        snprintf(a->fallback_reason, sizeof a->fallback_reason, "%s",
                 chk.reason);
        if (setup_fallback(cfg, o, fb, bp, err))
            return err->code;
        a->frozen = bp->render == FIT_PSF_MOG;
        return PP_OK;
    }
    a->used_epsf = 1;
    snprintf(a->psf_model, sizeof a->psf_model, "%s",
             model_names[o->model]);
    bp->render = o->render;
    a->frozen = bp->render == FIT_PSF_MOG;
    bp->ncell = 1;
    if (o->bilinear && load_neighbours(cfg, epsf_dir, p, fb->name, bp, err))
        return err->code;
    bp->varies = bp->ncell > 1;
    for (i = 0; i < bp->ncell; i++) {
        if (bp->cells[i].w > bp->w)
            bp->w = bp->cells[i].w;
        if (bp->cells[i].h > bp->h)
            bp->h = bp->cells[i].h;
    }
    return PP_OK;
}

int fit_psfsel_open(const pp_config *cfg, const char *epsf_dir,
                    const fit_payload *p, fit_psfsel **out, pp_error *err)
{
    fit_psfsel *s;
    psf_opts o;
    int k;

    *out = NULL;
    if (read_opts(cfg, &o, err))
        return err->code;
    s = pp_xcalloc(1, sizeof *s);
    s->nbands = p->nbands;
    s->bands = pp_malloc_checked((size_t)p->nbands, sizeof *s->bands,
                                 "the band PSFs", err);
    if (!s->bands) {
        free(s);
        return err->code;
    }
    for (k = 0; k < p->nbands; k++)
        if (setup_band(cfg, &o, epsf_dir, p, k, &s->bands[k], err)) {
            s->nbands = k + 1;
            fit_psfsel_free(s);
            return err->code;
        }
    *out = s;
    return PP_OK;
}

void fit_psfsel_free(fit_psfsel *s)
{
    int k, i;

    if (!s)
        return;
    for (k = 0; s->bands && k < s->nbands; k++) {
        band_psf *bp = &s->bands[k];

        for (i = 0; i < NCELL_MAX; i++)
            free(bp->cells[i].stamp);
        free(bp->fb_stamp);
    }
    free(s->bands);
    free(s);
}

/* ---- getters ------------------------------------------------------------ */

int fit_psfsel_nbands(const fit_psfsel *s)
{
    return s->nbands;
}

const fit_psf_audit *fit_psfsel_audit(const fit_psfsel *s, int b)
{
    return &s->bands[b].audit;
}

int fit_psfsel_render(const fit_psfsel *s, int b)
{
    return s->bands[b].render;
}

int fit_psfsel_varies(const fit_psfsel *s, int b)
{
    return s->bands[b].varies;
}

void fit_psfsel_stamp_size(const fit_psfsel *s, int b, int *w, int *h)
{
    *w = s->bands[b].w;
    *h = s->bands[b].h;
}

int fit_psfsel_mog_k(const fit_psfsel *s, int b)
{
    return s->bands[b].mog_k;
}

/* ---- interpolation ------------------------------------------------------ */

void fit_psfsel_axis_weights(const double *c, const double *h, int n,
                             double v, int *i0, int *i1, double *t)
{
    int k;

    if (n <= 1) {
        *i0 = *i1 = 0;
        *t = 0.0;
        return;
    }
    if (v <= c[0]) {
        /* SPEC §10.3: extrapolate at most half a cell, then hold. */
        double vv = v > c[0] - h[0] ? v : c[0] - h[0];

        *i0 = 0;
        *i1 = 1;
        *t = (vv - c[0]) / (c[1] - c[0]);
        return;
    }
    if (v >= c[n - 1]) {
        double vv = v < c[n - 1] + h[n - 1] ? v : c[n - 1] + h[n - 1];

        *i0 = n - 2;
        *i1 = n - 1;
        *t = (vv - c[n - 2]) / (c[n - 1] - c[n - 2]);
        return;
    }
    for (k = 0; k + 1 < n && !(c[k] <= v && v < c[k + 1]); k++)
        ;
    *i0 = k;
    *i1 = k + 1;
    *t = (v - c[k]) / (c[k + 1] - c[k]);
}

/* Distinct grid columns (axis 0) or rows (axis 1) of the usable cells,
 * ascending: index, centre, half-size.  Returns how many. */
static int grid_axis(const band_psf *bp, int axis, long *idx, double *cen,
                     double *half)
{
    int n = 0, i, j;

    for (i = 0; i < bp->ncell; i++) {
        const psf_cell *cl = &bp->cells[i];
        long g = axis ? cl->r : cl->c;

        for (j = 0; j < n && idx[j] != g; j++)
            ;
        if (j < n)
            continue;
        for (j = n; j > 0 && idx[j - 1] > g; j--) {
            idx[j] = idx[j - 1];
            cen[j] = cen[j - 1];
            half[j] = half[j - 1];
        }
        idx[j] = g;
        cen[j] = axis ? cl->yc : cl->xc;
        half[j] = axis ? cl->hh : cl->hw;
        n++;
    }
    return n;
}

static int find_cell(const band_psf *bp, long r, long c)
{
    for (int i = 0; i < bp->ncell; i++)
        if (bp->cells[i].r == r && bp->cells[i].c == c)
            return i;
    return -1;
}

static int nearest_cell(const band_psf *bp, double X, double Y)
{
    int best = 0, i;
    double d, dbest = INFINITY;

    for (i = 0; i < bp->ncell; i++) {
        d = (X - bp->cells[i].xc) * (X - bp->cells[i].xc) +
            (Y - bp->cells[i].yc) * (Y - bp->cells[i].yc);
        if (d < dbest) {
            dbest = d;
            best = i;
        }
    }
    return best;
}

/* out += wgt * cell stamp, centred in the w x h output. */
static void add_stamp(const psf_cell *cl, double wgt, double *out, int w,
                      int h)
{
    int ox = (w - cl->w) / 2, oy = (h - cl->h) / 2, i, j;

    for (j = 0; j < cl->h; j++)
        for (i = 0; i < cl->w; i++)
            out[(size_t)(j + oy) * (size_t)w + (size_t)(i + ox)] +=
                wgt * cl->stamp[(size_t)j * (size_t)cl->w + (size_t)i];
}

/* The corner cells and weights at (X, Y); *n = 0 when a corner with a
 * non-zero weight is missing. */
static void corners(const band_psf *bp, double X, double Y, int *cell,
                    double *wgt, int *n)
{
    long cidx[NCELL_MAX], ridx[NCELL_MAX];
    double cc[NCELL_MAX], ch[NCELL_MAX], rc[NCELL_MAX], rh[NCELL_MAX], tx, ty;
    int nc = grid_axis(bp, 0, cidx, cc, ch), nr = grid_axis(bp, 1, ridx, rc,
                                                             rh);
    int c0, c1, r0, r1, k;

    fit_psfsel_axis_weights(cc, ch, nc, X, &c0, &c1, &tx);
    fit_psfsel_axis_weights(rc, rh, nr, Y, &r0, &r1, &ty);
    {
        long rr[4] = { ridx[r0], ridx[r0], ridx[r1], ridx[r1] };
        long cl[4] = { cidx[c0], cidx[c1], cidx[c0], cidx[c1] };
        double w[4] = { (1 - ty) * (1 - tx), (1 - ty) * tx, ty * (1 - tx),
                        ty * tx };

        *n = 0;
        for (k = 0; k < 4; k++) {
            if (w[k] == 0.0)
                continue;
            cell[*n] = find_cell(bp, rr[k], cl[k]);
            wgt[*n] = w[k];
            if (cell[(*n)++] < 0) {
                *n = 0;
                return;
            }
        }
    }
}

int fit_psfsel_stamp(const fit_psfsel *s, int b, double X, double Y,
                     double *out, pp_error *err)
{
    const band_psf *bp = &s->bands[b];
    size_t npix = (size_t)bp->w * (size_t)bp->h, i;
    int cell[4], n = 0, k;
    double wgt[4], sum = 0;

    if (!bp->w || !isfinite(X) || !isfinite(Y))
        return pp_error_set(err, PP_EINTERNAL, "fit_psfsel_stamp: band %s "
                            "has no stamp, or position (%g, %g) is not "
                            "finite", bp->audit.band, X, Y);
    if (bp->fb_stamp) {
        memcpy(out, bp->fb_stamp, npix * sizeof *out);
        return PP_OK;
    }
    memset(out, 0, npix * sizeof *out);
    if (bp->varies)
        corners(bp, X, Y, cell, wgt, &n);
    for (k = 0; k < n; k++)
        add_stamp(&bp->cells[cell[k]], wgt[k], out, bp->w, bp->h);
    for (i = 0; i < npix; i++)
        sum += out[i];
    if (n == 0 || !(sum > 0) || !isfinite(sum)) {
        /* No interpolation (cell mode, one cell, a hole in the grid). */
        memset(out, 0, npix * sizeof *out);
        add_stamp(&bp->cells[bp->varies ? nearest_cell(bp, X, Y) : 0], 1.0,
                  out, bp->w, bp->h);
        return PP_OK;
    }
    /* SPEC §10.3: renormalised to sum 1. */
    for (i = 0; i < npix; i++)
        out[i] /= sum;
    return PP_OK;
}

int fit_psfsel_mog(fit_psfsel *s, int b, double X, double Y,
                   pp_psf_mog *out, pp_error *err)
{
    band_psf *bp = &s->bands[b];
    psf_cell *cl;

    if (bp->have_fb_mog) {
        *out = bp->fb_mog;
        return PP_OK;
    }
    if (bp->fb_stamp) {
        /* Moffat fallback: its mixture by EM, once. */
        if (pp_psf_fit_mog(bp->fb_stamp, bp->fb_size, bp->fb_size, bp->mog_k,
                           &bp->fb_mog, NULL, err))
            return pp_error_prefix(err, "band %s: moffat fallback mixture: ",
                                   bp->audit.band);
        bp->have_fb_mog = 1;
        *out = bp->fb_mog;
        return PP_OK;
    }
    cl = &bp->cells[bp->varies && isfinite(X) && isfinite(Y)
                    ? nearest_cell(bp, X, Y) : 0];
    if (!cl->have_mog) {
        if (pp_psf_fit_mog(cl->stamp, cl->w, cl->h, bp->mog_k, &cl->mog,
                           NULL, err))
            return pp_error_prefix(err, "band %s: ePSF cell r%02ld_c%02ld: ",
                                   bp->audit.band, cl->r, cl->c);
        cl->have_mog = 1;
    }
    *out = cl->mog;
    return PP_OK;
}
