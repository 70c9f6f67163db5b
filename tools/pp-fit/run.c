/* run.c - fit one patch (SPEC §10.3, §10.4); see run.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pp_config.h"
#include "pp_error.h"
#include "pp_log.h"
#include "pp_mem.h"

#include "engine.h"
#include "fitout.h"
#include "ivar.h"
#include "initflux.h"
#include "payload.h"
#include "pixrender.h"
#include "psfsel.h"
#include "run.h"

/* The PSFs of every source in every band. */
typedef struct {
    int          nb;
    long         nsrc;
    fit_pix_ctx *ctx;               /* up to nb·(nsrc + 1) */
    int          nctx;
    fit_psf     *psf;               /* nsrc × nb, [s·nb + b] */
    fit_psf    **psfp;              /* pointers to psf, same layout */
} psfset;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void psfset_free(psfset *ps)
{
    for (int i = 0; i < ps->nctx; i++)
        fit_pix_release(&ps->ctx[i]);
    free(ps->ctx);
    free(ps->psf);
    free(ps->psfp);
    memset(ps, 0, sizeof(*ps));
}

/* A new stamp context sharing the first context's work arrays. */
static int add_ctx(psfset *ps, const double *stamp, int w, int h, int shift,
                   fit_pix_ctx **out, pp_error *err)
{
    fit_pix_ctx *c = &ps->ctx[ps->nctx];
    int rc = fit_pix_init(c, stamp, w, h, shift, FIT_PIX_FFT_MAX, err);

    if (rc != PP_OK)
        return rc;
    if (ps->nctx > 0)
        fit_pix_share(c, &ps->ctx[0]);
    ps->nctx++;
    *out = c;
    return PP_OK;
}

/* Whether a pixelized band may need the stamp's mixture: a galaxy whose
 * FFT (SPEC §10.3 sizing, at twice its starting size) exceeds fft_max. */
static int may_need_mog(const fit_payload *p, int hw)
{
    for (long s = 0; s < p->nsrc; s++) {
        const fit_payload_src *q = &p->src[s];
        if (q->kind == FIT_PROFILE_POINT)
            continue;
        double extent = 8.0 * 2.0 * exp(q->logre) + hw;
        if (2.0 * extent > FIT_PIX_FFT_MAX)
            return 1;
    }
    return 0;
}

/* Band b's PSFs: stamps (one, or one per source) or mixtures. */
static int band_psfs(const pp_config *cfg, const fit_payload *p,
                     fit_psfsel *sel, psfset *ps, int b, double *stamp,
                     pp_error *err)
{
    int kind = fit_psfsel_render(sel, b), nb = ps->nb, w, h, rc;
    int shift = strcmp(cfg->patch_run.subpixel_shift, "lanczos3") == 0
                ? FIT_PIX_LANCZOS3 : FIT_PIX_FOURIER;
    double cx = p->rx0 + 0.5 * (p->width - 1);
    double cy = p->ry0 + 0.5 * (p->height - 1);
    fit_pix_ctx *shared = NULL;

    fit_psfsel_stamp_size(sel, b, &w, &h);
    int varies = kind != FIT_PSF_MOG && fit_psfsel_varies(sel, b);
    int want_mog = kind == FIT_PSF_MOG || kind == FIT_PSF_HYBRID
                   || (w > 0 && may_need_mog(p, (w > h ? w : h) / 2));
    if (kind != FIT_PSF_MOG && !varies) {
        if ((rc = fit_psfsel_stamp(sel, b, cx, cy, stamp, err)) != PP_OK
            || (rc = add_ctx(ps, stamp, w, h, shift, &shared, err))
               != PP_OK)
            return rc;
    }
    for (long s = 0; s < p->nsrc; s++) {
        fit_psf *f = &ps->psf[s * nb + b];
        double X = p->src[s].x_white, Y = p->src[s].y_white;
        memset(f, 0, sizeof(*f));
        f->kind = kind;
        if (kind != FIT_PSF_MOG) {
            f->pix = shared;
            if (varies
                && ((rc = fit_psfsel_stamp(sel, b, X, Y, stamp, err))
                    != PP_OK
                    || (rc = add_ctx(ps, stamp, w, h, shift, &f->pix, err))
                       != PP_OK))
                return rc;
        }
        if (want_mog
            && (rc = fit_psfsel_mog(sel, b, X, Y, &f->mog, err)) != PP_OK)
            return rc;
        ps->psfp[s * nb + b] = f;
    }
    return PP_OK;
}

static int build_psfs(const pp_config *cfg, const fit_payload *p,
                      fit_psfsel *sel, psfset *ps, pp_error *err)
{
    int nb = p->nbands, rc = PP_OK, maxw = 0;

    memset(ps, 0, sizeof(*ps));
    ps->nb = nb;
    ps->nsrc = p->nsrc;
    ps->ctx = pp_xcalloc((size_t)nb * (p->nsrc + 1), sizeof(*ps->ctx));
    ps->psf = pp_xcalloc((size_t)nb * p->nsrc + 1, sizeof(*ps->psf));
    ps->psfp = pp_xcalloc((size_t)nb * p->nsrc + 1, sizeof(*ps->psfp));
    for (int b = 0; b < nb; b++) {
        int w, h;
        fit_psfsel_stamp_size(sel, b, &w, &h);
        maxw = w * h > maxw ? w * h : maxw;
    }
    double *stamp = pp_xmalloc(((size_t)maxw + 1) * sizeof(double));
    for (int b = 0; b < nb && rc == PP_OK; b++)
        if ((rc = band_psfs(cfg, p, sel, ps, b, stamp, err)) != PP_OK)
            pp_error_prefix(err, "band %s: PSF", p->bands[b].name);
    free(stamp);
    if (rc != PP_OK)
        psfset_free(ps);
    return rc;
}

/* ---- passes ---- */

typedef struct {
    const char *label;              /* "" or " [band]" */
} iter_log;

static void log_iter(void *arg, int iter, double lnp, double dlnp,
                     double lambda)
{
    const iter_log *l = arg;
    pp_log(PP_LOG_INFO, "iter %02d lnP=%.6f dlnp=%.6g damping=%.3g%s",
           iter, lnp, dlnp, lambda, l->label);
}

static unsigned stage_free(const char *name)
{
    if (strcmp(name, "flux") == 0)
        return 0;
    if (strcmp(name, "flux+pos") == 0)
        return FIT_FREE_POS;
    return FIT_FREE_POS | FIT_FREE_SHAPE;
}

/* One fit set: the engine's view of it (bands b0..b0+nb−1). */
typedef struct {
    fit_bands   im;
    fit_source *src;
    long        nsrc;
    fit_set    *set;
    int         b0;                 /* first band (single-band: the band) */
} setview;

/* Engine sources of a set, from the payload's start values. */
static void init_sources(const fit_payload *p, const psfset *ps, fit_set *set,
                         int b0, fit_source *src)
{
    int nb = p->nbands;

    for (long s = 0; s < p->nsrc; s++) {
        const fit_payload_src *q = &p->src[s];
        fit_source *e = &src[s];
        memset(e, 0, sizeof(*e));
        e->kind = q->kind;
        e->p[FIT_P_X] = e->x0 = q->x_patch;
        e->p[FIT_P_Y] = e->y0 = q->y_patch;
        e->p[FIT_P_LOGRE] = q->logre;
        e->p[FIT_P_EE1] = q->ee1;
        e->p[FIT_P_EE2] = q->ee2;
        e->p[FIT_P_N] = fmin(fmax(q->sersic_n, FIT_SERSIC_N_MIN),
                             FIT_SERSIC_N_MAX);
        e->pos_err = q->pos_err;
        e->frozen = q->is_edge;
        e->flux = set->flux + s * nb + b0;
        e->fluxerr = set->fluxerr + s * nb + b0;
        e->psf = (fit_psf *const *)ps->psfp + s * nb + b0;
    }
}

/* Copy the engine's parameters into the set. */
static void store_sources(const setview *v)
{
    for (long s = 0; s < v->nsrc; s++) {
        const fit_source *e = &v->src[s];
        v->set->x[s] = e->p[FIT_P_X];
        v->set->y[s] = e->p[FIT_P_Y];
        v->set->logre[s] = e->p[FIT_P_LOGRE];
        v->set->ee1[s] = e->p[FIT_P_EE1];
        v->set->ee2[s] = e->p[FIT_P_EE2];
        v->set->n[s] = e->p[FIT_P_N];
        v->set->stall_lo[s] = e->stall_lo;
        v->set->stall_hi[s] = e->stall_hi;
    }
}

/* Model + sky of every band of the view into r->model (float). */
static int render_models(const setview *v, fit_result *r, double *buf,
                         pp_error *err)
{
    size_t npix = (size_t)r->width * r->height;

    for (int k = 0; k < v->im.nband; k++) {
        int rc = fit_model_band(&v->im, v->src, (int)v->nsrc, k, buf, err);
        if (rc != PP_OK)
            return rc;
        float *out = r->model + (size_t)(v->b0 + k) * npix;
        for (size_t i = 0; i < npix; i++)
            out[i] = (float)buf[i];
    }
    return PP_OK;
}

/* Run every stage (and the Poisson pass) on one view. */
static int run_view(const pp_config *cfg, const fit_payload *p, setview *v,
                    float *const *ivar, fit_result *r, double *buf,
                    const char *label, pp_error *err)
{
    const pp_config *c = cfg;
    int nst = c->patch_run.enable_staged_fit ? c->patch_run.n_staged_fit_stages
                                             : 1;
    int poisson = strcmp(c->patch_run.noise_model, "sky+poisson") == 0;
    iter_log lg = {label};
    fit_opts o;
    fit_report rep;
    long total = 0, last = 0;
    int rc;

    memset(&o, 0, sizeof(o));
    o.fit_sky = c->patch_run.fit_sky;
    o.max_iters = (int)c->patch_run.n_opt_iters;
    o.dlnp_stop = c->patch_run.dlnp_stop;
    o.max_pos_shift = c->patch_run.max_pos_shift_pix;
    o.flux_error = strcmp(c->patch_run.flux_error, "conditional") == 0
                   ? FIT_FLUXERR_CONDITIONAL : FIT_FLUXERR_MARGINAL;
    o.bound_stall_tol = c->patch_run.bound_stall_tol;
    o.on_iter = log_iter;
    o.arg = &lg;
    memset(&rep, 0, sizeof(rep));
    for (int pass = 0; pass < (poisson ? 2 : 1); pass++) {
        if (pass == 1) {            /* SPEC §5.3: ivar from the model */
            for (int k = 0; k < v->im.nband; k++) {
                if ((rc = fit_model_band(&v->im, v->src, (int)v->nsrc, k, buf,
                                         err)) != PP_OK
                    || (rc = fit_ivar_compute(p, v->b0 + k,
                                              FIT_NOISE_SKY_POISSON, buf,
                                              ivar[v->b0 + k], err)) != PP_OK)
                    return rc;
            }
            pp_log(PP_LOG_INFO, "second pass with the sky+poisson inverse "
                   "variance of the first pass's model%s", label);
        }
        for (int st = pass ? nst - 1 : 0; st < nst; st++) {
            const char *name = c->patch_run.enable_staged_fit
                               ? c->patch_run.staged_fit_stages[st] : "all";
            o.free = stage_free(name);
            if ((rc = fit_run(&v->im, v->src, (int)v->nsrc, &o, &rep, err))
                != PP_OK)
                return rc;
            if (rep.warning[0])
                pp_log(PP_LOG_WARNING, "patch %s%s, stage %s: %s",
                       p->patch_tag, label, name, rep.warning);
            total += rep.niters;
            last = rep.niters;
            r->t_errors += rep.t_errors;
            if (c->patch_run.enable_staged_fit)
                fit_set_add_stage(v->set, name, rep.niters, rep.converged);
        }
    }
    v->set->niters = total;
    v->set->converged = rep.converged;
    v->set->hit_max_iters = !rep.converged
        && last >= c->patch_run.n_opt_iters - c->patch_run.flag_maxiter_margin;
    v->set->last_dlnp = rep.last_dlnp;
    store_sources(v);
    return PP_OK;
}

int fit_patch(const pp_config *cfg, const fit_payload *p, fit_psfsel *sel,
              fit_result *r, pp_error *err)
{
    int nb = p->nbands, rc, noise;
    size_t npix = (size_t)p->width * p->height;
    psfset ps;
    double t0 = now();

    if ((rc = fit_ivar_noise_model(cfg->patch_run.noise_model, &noise, err))
        != PP_OK)
        return rc;
    if ((rc = build_psfs(cfg, p, sel, &ps, err)) != PP_OK)
        return rc;
    r->t_psf = now() - t0;
    t0 = now();

    float **ivar = pp_xcalloc(nb, sizeof(*ivar));
    const float **data = pp_xcalloc(nb, sizeof(*data));
    double *flux0 = pp_xmalloc(((size_t)p->nsrc * nb + 1) * sizeof(double));
    double *buf = pp_xmalloc((npix + 1) * sizeof(double));
    fit_source *src = pp_xcalloc(p->nsrc + 1, sizeof(*src));
    rc = fit_initflux_all(p, cfg->patch_run.r_ap, cfg->patch_run.eps_flux,
                          flux0, err);
    for (int b = 0; b < nb && rc == PP_OK; b++) {
        ivar[b] = pp_xmalloc(npix * sizeof(float));
        data[b] = p->bands[b].sci;
        rc = fit_ivar_compute(p, b, FIT_NOISE_SKY, NULL, ivar[b], err);
    }
    r->t_init = now() - t0;
    t0 = now();
    for (int k = 0; k < r->nsets && rc == PP_OK; k++) {
        fit_set *set = &r->sets[k];
        int b0 = r->multiband ? 0 : k;
        char label[FIT_TAG_MAX + 16] = "";
        setview v;
        memcpy(set->flux, flux0, (size_t)p->nsrc * nb * sizeof(double));
        for (int b = 0; b < nb; b++)
            set->sky[b] = 0;
        init_sources(p, &ps, set, b0, src);
        v.im.nband = r->multiband ? nb : 1;
        v.im.w = p->width;
        v.im.h = p->height;
        v.im.data = data + b0;
        v.im.ivar = (const float *const *)ivar + b0;
        v.im.sky = set->sky + b0;
        v.src = src;
        v.nsrc = p->nsrc;
        v.set = set;
        v.b0 = b0;
        if (!r->multiband)
            snprintf(label, sizeof(label), " [band %s]", p->bands[k].name);
        rc = run_view(cfg, p, &v, ivar, r, buf, label, err);
        if (rc == PP_OK)
            rc = render_models(&v, r, buf, err);
    }
    r->t_fit = now() - t0 - r->t_errors;
    for (int b = 0; b < nb; b++)
        free(ivar[b]);
    free(ivar);
    free(data);
    free(flux0);
    free(buf);
    free(src);
    psfset_free(&ps);
    return rc;
}
