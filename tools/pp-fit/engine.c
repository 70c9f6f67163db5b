/* engine.c - the patch optimiser (SPEC §10.4); see engine.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>

#include "pp_error.h"
#include "pp_mem.h"

#include "engine.h"

#define LAMBDA_FIRST 1e-3
#define LAMBDA_MAX 1e10
#define LAMBDA_ZERO 1e-6

/* One source's rendering in the current band: box and column images
 * (column 0 = U, column j >= 1 = F·∂U/∂p for p = par[j]). */
typedef struct {
    long    x0, x1, y0, y1;
    int     m;                      /* columns */
    int     par[FIT_NPAR + 1];      /* column j -> FIT_P_* (j >= 1) */
    int     th[FIT_NPAR + 1];       /* column j -> θ index (j >= 1) */
    double *col, *wcol;             /* m × area each */
    size_t  cap;                    /* doubles per buffer */
    fit_mog prof;
    double  S[2][2], dS[3][2][2];
} srcwork;

typedef struct {
    const fit_bands *im;
    fit_source      *src;
    int              nsrc, nband, nf, np;
    const fit_opts  *opt;
    int             *th;            /* nsrc × FIT_NPAR: θ index or −1 */
    double          *lo, *hi;       /* np bounds of θ */
    double          *maxstep;       /* np */
    srcwork         *sw;            /* nsrc */
    double          *model, *rw;    /* w·h */
    /* Normal equations at the current point. */
    double          *Aff, *Afth, *gf;   /* per band nf², nf·np, nf */
    double          *Att, *gt;          /* np², np */
    /* Solve scratch. */
    double          *K, *K2, *B, *X, *y, *S, *S2, *r, *sc;
    double          *dth, *dfl;     /* step: np; nband × nf */
    int             *held;
    /* Saved state for trials. */
    double          *save;
    double          *backup;        /* normal equations of iterate() */
    double           lnp;
} engine;

/* ---- parameters ---- */

static int src_is_galaxy(const fit_source *s)
{
    return s->kind != FIT_PROFILE_POINT;
}

/* θ indices and bounds of the free shared parameters. */
static void map_params(engine *e)
{
    const fit_opts *o = e->opt;
    int np = 0;

    for (int s = 0; s < e->nsrc; s++) {
        fit_source *src = &e->src[s];
        int *th = e->th + (size_t)s * FIT_NPAR;
        for (int p = 0; p < FIT_NPAR; p++)
            th[p] = -1;
        if (src->frozen)
            continue;
        if (o->free & FIT_FREE_POS) {
            double xlo = fmax(src->x0 - o->max_pos_shift, -0.5);
            double xhi = fmin(src->x0 + o->max_pos_shift, e->im->w - 0.5);
            double ylo = fmax(src->y0 - o->max_pos_shift, -0.5);
            double yhi = fmin(src->y0 + o->max_pos_shift, e->im->h - 0.5);
            if (xlo < xhi && ylo < yhi) {
                e->lo[np] = xlo, e->hi[np] = xhi;
                e->maxstep[np] = FIT_MAXSTEP_POS, th[FIT_P_X] = np++;
                e->lo[np] = ylo, e->hi[np] = yhi;
                e->maxstep[np] = FIT_MAXSTEP_POS, th[FIT_P_Y] = np++;
            }
        }
        if ((o->free & FIT_FREE_SHAPE) && src_is_galaxy(src)) {
            e->lo[np] = FIT_LOGRE_MIN, e->hi[np] = FIT_LOGRE_MAX;
            e->maxstep[np] = FIT_MAXSTEP_LOGRE, th[FIT_P_LOGRE] = np++;
            for (int p = FIT_P_EE1; p <= FIT_P_EE2; p++) {
                e->lo[np] = -FIT_EE_MAX, e->hi[np] = FIT_EE_MAX;
                e->maxstep[np] = FIT_MAXSTEP_EE, th[p] = np++;
            }
            if (src->kind == FIT_PROFILE_SERSIC) {
                e->lo[np] = FIT_SERSIC_N_MIN, e->hi[np] = FIT_SERSIC_N_MAX;
                e->maxstep[np] = FIT_MAXSTEP_N, th[FIT_P_N] = np++;
            }
        }
    }
    e->np = np;
}

/* Start values inside the bounds. */
static void clamp_start(engine *e)
{
    for (int s = 0; s < e->nsrc; s++)
        for (int p = 0; p < FIT_NPAR; p++) {
            int t = e->th[(size_t)s * FIT_NPAR + p];
            if (t >= 0)
                e->src[s].p[p] = fmin(fmax(e->src[s].p[p], e->lo[t]),
                                      e->hi[t]);
        }
}

static size_t state_size(const engine *e)
{
    return (size_t)e->nsrc * (FIT_NPAR + e->nband) + e->nband;
}

static void save_state(engine *e)
{
    double *v = e->save;
    for (int s = 0; s < e->nsrc; s++) {
        memcpy(v, e->src[s].p, FIT_NPAR * sizeof(double));
        memcpy(v + FIT_NPAR, e->src[s].flux, e->nband * sizeof(double));
        v += FIT_NPAR + e->nband;
    }
    memcpy(v, e->im->sky, e->nband * sizeof(double));
}

static void restore_state(engine *e)
{
    const double *v = e->save;
    for (int s = 0; s < e->nsrc; s++) {
        memcpy(e->src[s].p, v, FIT_NPAR * sizeof(double));
        memcpy(e->src[s].flux, v + FIT_NPAR, e->nband * sizeof(double));
        v += FIT_NPAR + e->nband;
    }
    memcpy(e->im->sky, v, e->nband * sizeof(double));
}

/* ---- rendering ---- */

/* Profile, shape and box of source s in band b; columns per the free
 * parameters when derivs. */
static int prepare(engine *e, int s, int b, int derivs, pp_error *err)
{
    fit_source *src = &e->src[s];
    srcwork *w = &e->sw[s];
    int rc = fit_profile_mog(src->kind, src->p[FIT_P_N], &w->prof, err);

    if (rc != PP_OK)
        return rc;
    fit_ellipse_cov(src->p[FIT_P_LOGRE], src->p[FIT_P_EE1],
                    src->p[FIT_P_EE2], w->S, w->dS);
    double h = fit_src_halfsize(src->psf[b], &w->prof, w->S);
    fit_render_box(src->p[FIT_P_X], src->p[FIT_P_Y], h, e->im->w,
                   e->im->h, &w->x0, &w->x1, &w->y0, &w->y1);
    w->m = 1;
    if (derivs)
        for (int p = 0; p < FIT_NPAR; p++) {
            int t = e->th[(size_t)s * FIT_NPAR + p];
            if (t >= 0) {
                w->par[w->m] = p;
                w->th[w->m++] = t;
            }
        }
    size_t need = (size_t)w->m * (w->x1 - w->x0) * (w->y1 - w->y0);
    if (need > w->cap) {
        free(w->col);
        free(w->wcol);
        w->col = malloc(need * sizeof(double));
        w->wcol = malloc(need * sizeof(double));
        if (!w->col || !w->wcol)
            return pp_error_set(err, PP_ENOMEM, "cannot allocate %zu "
                                "doubles for a source's columns", need);
        w->cap = need;
    }
    memset(w->col, 0, need * sizeof(double));
    return PP_OK;
}

/* Render source s in band b with unit flux into its columns. */
static int render_columns(engine *e, int s, int b, pp_error *err)
{
    fit_source *src = &e->src[s];
    srcwork *w = &e->sw[s];
    size_t area = (size_t)(w->x1 - w->x0) * (w->y1 - w->y0);
    double *d[FIT_NDERIV] = {0};

    d[FIT_DERIV_FLUX] = w->col;
    for (int j = 1; j < w->m; j++)
        d[w->par[j] + 1] = w->col + j * area;
    if (area == 0)
        return PP_OK;
    return fit_src_render(src->psf[b], &w->prof, src->p[FIT_P_X],
                          src->p[FIT_P_Y], 1.0, w->S, w->dS, w->x0, w->x1,
                          w->y0, w->y1, NULL, d, err);
}

/* Add F × column 0 of source s to the model image. */
static void add_to_model(engine *e, int s, double F)
{
    const srcwork *w = &e->sw[s];
    long bw = w->x1 - w->x0;

    for (long y = w->y0; y < w->y1; y++) {
        const double *c = w->col + (y - w->y0) * bw;
        double *m = e->model + y * e->im->w + w->x0;
        for (long x = 0; x < bw; x++)
            m[x] += F * c[x];
    }
}

/* −½ Σ ivar (data − model)² of band b; fills e->rw = ivar·(data − model)
 * when rw is wanted. */
static double band_lnl(engine *e, int b, int want_rw)
{
    const float *d = e->im->data[b], *iv = e->im->ivar[b];
    size_t npix = (size_t)e->im->w * e->im->h;
    double chi2 = 0;

#pragma omp simd reduction(+ : chi2)
    for (size_t i = 0; i < npix; i++) {
        double r = iv[i] > 0 ? (double)d[i] - e->model[i] : 0.0;
        double wr = iv[i] > 0 ? iv[i] * r : 0.0;
        chi2 += wr * r;
        if (want_rw)
            e->rw[i] = wr;
    }
    return -0.5 * chi2;
}

static double prior_lnp(const engine *e)
{
    double lp = 0;
    for (int s = 0; s < e->nsrc; s++) {
        const fit_source *src = &e->src[s];
        if (!(src->pos_err > 0) || !isfinite(src->pos_err))
            continue;
        double dx = src->p[FIT_P_X] - src->x0, dy = src->p[FIT_P_Y] - src->y0;
        lp -= 0.5 * (dx * dx + dy * dy) / (src->pos_err * src->pos_err);
    }
    return lp;
}

/* ---- normal equations ---- */

static double dot(const double *a, const double *b, long n)
{
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (long i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* Σ over the boxes' overlap of wcol(s, i) · col(t, j). */
static double overlap_sum(const srcwork *a, int i, const srcwork *c, int j)
{
    long x0 = a->x0 > c->x0 ? a->x0 : c->x0, x1 = a->x1 < c->x1 ? a->x1 : c->x1;
    long y0 = a->y0 > c->y0 ? a->y0 : c->y0, y1 = a->y1 < c->y1 ? a->y1 : c->y1;
    long aw = a->x1 - a->x0, cw = c->x1 - c->x0;
    size_t aa = (size_t)aw * (a->y1 - a->y0), ca = (size_t)cw * (c->y1 - c->y0);
    double s = 0;

    if (x0 >= x1 || y0 >= y1)
        return 0;
    for (long y = y0; y < y1; y++)
        s += dot(a->wcol + i * aa + (y - a->y0) * aw + (x0 - a->x0),
                 c->col + j * ca + (y - c->y0) * cw + (x0 - c->x0), x1 - x0);
    return s;
}

/* Store v at the (row u, column v) pair of band b's system; a column is
 * a flux (f >= 0: flux index) or a shared parameter (t). */
static void store(engine *e, int b, int fu, int tu, int fv, int tv,
                  double v)
{
    int nf = e->nf, np = e->np;
    double *Aff = e->Aff + (size_t)b * nf * nf;
    double *Aft = e->Afth + (size_t)b * nf * np;

    if (fu >= 0 && fv >= 0) {
        Aff[fu * nf + fv] = Aff[fv * nf + fu] = v;
    } else if (fu >= 0) {
        Aft[fu * np + tv] += v;
    } else if (fv >= 0) {
        Aft[fv * np + tu] += v;
    } else {
        e->Att[tu * np + tv] += v;
        if (tu != tv)
            e->Att[tv * np + tu] += v;
    }
}

/* Weighted columns, gradients and the sky row of source s in band b. */
static void source_sums(engine *e, int s, int b)
{
    srcwork *w = &e->sw[s];
    const float *iv = e->im->ivar[b];
    long bw = w->x1 - w->x0;
    size_t area = (size_t)bw * (w->y1 - w->y0);
    double F = e->src[s].flux[b];
    double *gf = e->gf + (size_t)b * e->nf;

    for (int j = 0; j < w->m; j++) {
        double f = j ? F : 1.0, g = 0, sk = 0;  /* ∂M/∂p = F·∂U/∂p */
        for (long y = w->y0; y < w->y1; y++) {
            double *c = w->col + j * area + (y - w->y0) * bw;
            double *wc = w->wcol + j * area + (y - w->y0) * bw;
            const float *ivr = iv + y * e->im->w + w->x0;
            const double *rr = e->rw + y * e->im->w + w->x0;
            /* ivar >= 0 (0 on bad pixels), so ivar·c needs no test. */
#pragma omp simd reduction(+ : g, sk)
            for (long x = 0; x < bw; x++) {
                double v = c[x] * f, wv = ivr[x] * v;
                c[x] = v;
                wc[x] = wv;
                g += rr[x] * v;
                sk += wv;
            }
        }
        if (j == 0)
            gf[s] = g;
        else
            e->gt[w->th[j]] += g;
        if (e->opt->fit_sky)
            store(e, b, e->nsrc, -1, j == 0 ? s : -1, j == 0 ? -1 : w->th[j],
                  sk);
    }
}

/* Cross sums of sources s <= t in band b. */
static void pair_sums(engine *e, int s, int t, int b)
{
    const srcwork *a = &e->sw[s], *c = &e->sw[t];

    for (int i = 0; i < a->m; i++)
        for (int j = (s == t ? i : 0); j < c->m; j++) {
            double v = overlap_sum(a, i, c, j);
            int fu = i == 0 ? s : -1, tu = i == 0 ? -1 : a->th[i];
            int fv = j == 0 ? t : -1, tv = j == 0 ? -1 : c->th[j];
            store(e, b, fu, tu, fv, tv, v);
        }
}

static int boxes_overlap(const srcwork *a, const srcwork *c)
{
    return a->x0 < c->x1 && c->x0 < a->x1 && a->y0 < c->y1 && c->y0 < a->y1;
}

/* Band b's contribution to the normal equations and lnL. */
static int assemble_band(engine *e, int b, double *lnl, pp_error *err)
{
    size_t npix = (size_t)e->im->w * e->im->h;
    int rc;

    for (size_t i = 0; i < npix; i++)
        e->model[i] = e->im->sky[b];
    for (int s = 0; s < e->nsrc; s++) {
        if ((rc = prepare(e, s, b, 1, err)) != PP_OK
            || (rc = render_columns(e, s, b, err)) != PP_OK)
            return rc;
        add_to_model(e, s, e->src[s].flux[b]);
    }
    *lnl = band_lnl(e, b, 1);
    if (e->opt->fit_sky) {
        double g = 0, siv = 0;
#pragma omp simd reduction(+ : g, siv)
        for (size_t i = 0; i < npix; i++) {
            g += e->rw[i];
            siv += e->im->ivar[b][i] > 0 ? e->im->ivar[b][i] : 0.0;
        }
        e->gf[(size_t)b * e->nf + e->nsrc] = g;
        store(e, b, e->nsrc, -1, e->nsrc, -1, siv);
    }
    for (int s = 0; s < e->nsrc; s++)
        source_sums(e, s, b);
    for (int s = 0; s < e->nsrc; s++)
        for (int t = s; t < e->nsrc; t++)
            if (s == t || boxes_overlap(&e->sw[s], &e->sw[t]))
                pair_sums(e, s, t, b);
    return PP_OK;
}

/* Normal equations, gradient and lnP at the current state. */
static int assemble(engine *e, pp_error *err)
{
    int nf = e->nf, np = e->np;
    double lnp = prior_lnp(e), lnl;
    int rc;

    memset(e->Aff, 0, (size_t)e->nband * nf * nf * sizeof(double));
    memset(e->Afth, 0, (size_t)e->nband * nf * np * sizeof(double));
    memset(e->gf, 0, (size_t)e->nband * nf * sizeof(double));
    memset(e->Att, 0, (size_t)np * np * sizeof(double));
    memset(e->gt, 0, (size_t)np * sizeof(double));
    for (int b = 0; b < e->nband; b++) {
        if ((rc = assemble_band(e, b, &lnl, err)) != PP_OK)
            return rc;
        lnp += lnl;
    }
    for (int s = 0; s < e->nsrc; s++) {     /* position priors */
        const fit_source *src = &e->src[s];
        if (!(src->pos_err > 0) || !isfinite(src->pos_err))
            continue;
        double iv = 1.0 / (src->pos_err * src->pos_err);
        for (int p = FIT_P_X; p <= FIT_P_Y; p++) {
            int t = e->th[(size_t)s * FIT_NPAR + p];
            if (t < 0)
                continue;
            double c = p == FIT_P_X ? src->x0 : src->y0;
            e->Att[t * np + t] += iv;
            e->gt[t] -= iv * (src->p[p] - c);
        }
    }
    e->lnp = lnp;
    return isfinite(lnp) ? PP_OK
           : pp_error_set(err, PP_EDATA, "lnP is not finite");
}

/* ---- dense solves ---- */

/* Solve the SPD n × n system A x = b in place of b (A destroyed):
 * Cholesky, else an SVD pseudo-inverse.  nrhs right-hand sides, stored as
 * the columns of the n × nrhs row-major matrix B. */
static void spd_solve(double *A, int n, double *B, int nrhs)
{
    gsl_matrix_view Am = gsl_matrix_view_array(A, n, n);
    gsl_matrix_view Bm = gsl_matrix_view_array(B, n, nrhs);
    double *keep = pp_xmalloc((size_t)n * n * sizeof(double));

    if (n == 0 || nrhs == 0) {
        free(keep);
        return;
    }
    memcpy(keep, A, (size_t)n * n * sizeof(double));
    if (gsl_linalg_cholesky_decomp1(&Am.matrix) == GSL_SUCCESS) {
        for (int j = 0; j < nrhs; j++) {
            gsl_vector_view c = gsl_matrix_column(&Bm.matrix, j);
            gsl_linalg_cholesky_svx(&Am.matrix, &c.vector);
        }
        free(keep);
        return;
    }
    /* Not positive definite: pseudo-inverse through the SVD. */
    memcpy(A, keep, (size_t)n * n * sizeof(double));
    gsl_matrix *V = gsl_matrix_alloc(n, n);
    gsl_vector *sv = gsl_vector_alloc(n), *wk = gsl_vector_alloc(n);
    gsl_vector *tmp = gsl_vector_alloc(n);
    gsl_linalg_SV_decomp(&Am.matrix, V, sv, wk);
    double smax = gsl_vector_get(sv, 0);
    for (int j = 0; j < nrhs; j++) {
        gsl_vector_view c = gsl_matrix_column(&Bm.matrix, j);
        gsl_blas_dgemv(CblasTrans, 1.0, &Am.matrix, &c.vector, 0.0, tmp);
        for (int i = 0; i < n; i++) {
            double si = gsl_vector_get(sv, i);
            gsl_vector_set(tmp, i, si > 1e-12 * smax ? gsl_vector_get(tmp, i)
                                                     / si : 0.0);
        }
        gsl_blas_dgemv(CblasNoTrans, 1.0, V, tmp, 0.0, &c.vector);
    }
    gsl_vector_free(tmp);
    gsl_vector_free(wk);
    gsl_vector_free(sv);
    gsl_matrix_free(V);
    free(keep);
}

/* Scale factor 1/sqrt(a) of a diagonal entry, 0 for an inactive one. */
static double col_scale(double a)
{
    return a > 0 && isfinite(a) ? 1.0 / sqrt(a) : 0.0;
}

/* Held θ parameters: at a bound with the gradient pointing out. */
static void mark_held(engine *e)
{
    for (int s = 0; s < e->nsrc; s++)
        for (int p = 0; p < FIT_NPAR; p++) {
            int t = e->th[(size_t)s * FIT_NPAR + p];
            if (t < 0)
                continue;
            double v = e->src[s].p[p], g = e->gt[t];
            e->held[t] = (v <= e->lo[t] && g < 0) || (v >= e->hi[t] && g > 0);
        }
}

/* Solve the damped, scaled system for the step: OUTPUT e->dth (np) and
 * e->dfl (nband × nf), unscaled.  Leaves per band X_b = K_b⁻¹B_b (scaled)
 * in e->X, the factorised scaled Schur complement's solve in e->dth, and
 * the scales in e->sc (θ first, then per band), for flux_errors(). */
static void solve(engine *e, double lambda)
{
    int nf = e->nf, np = e->np;
    double *st = e->sc, *sf_all = e->sc + np;

    for (int t = 0; t < np; t++)
        st[t] = e->held[t] ? 0.0 : col_scale(e->Att[t * np + t]);
    for (int i = 0; i < np; i++) {
        for (int j = 0; j < np; j++)
            e->S[i * np + j] = e->Att[i * np + j] * st[i] * st[j];
        e->r[i] = e->gt[i] * st[i];
    }
    for (int b = 0; b < e->nband; b++) {
        const double *Aff = e->Aff + (size_t)b * nf * nf;
        const double *Aft = e->Afth + (size_t)b * nf * np;
        const double *gf = e->gf + (size_t)b * nf;
        double *X = e->X + (size_t)b * nf * np, *y = e->y + (size_t)b * nf;
        double *sf = sf_all + (size_t)b * nf;
        for (int i = 0; i < nf; i++)
            sf[i] = col_scale(Aff[i * nf + i]);
        for (int i = 0; i < nf; i++) {
            for (int j = 0; j < nf; j++)
                e->K[i * nf + j] = Aff[i * nf + j] * sf[i] * sf[j];
            e->K[i * nf + i] = sf[i] > 0 ? 1.0 + lambda : 1.0;
            for (int t = 0; t < np; t++)
                e->B[i * np + t] = Aft[i * np + t] * sf[i] * st[t];
            y[i] = gf[i] * sf[i];
        }
        memcpy(X, e->B, (size_t)nf * np * sizeof(double));
        memcpy(e->K2, e->K, (size_t)nf * nf * sizeof(double));
        spd_solve(e->K, nf, X, np);
        spd_solve(e->K2, nf, y, 1);
        /* S −= Bᵀ K⁻¹ B, r −= Bᵀ K⁻¹ g. */
        for (int k = 0; k < nf; k++) {
            const double *Bk = e->B + (size_t)k * np;
            const double *Xk = X + (size_t)k * np;
            for (int i = 0; i < np; i++) {
                if (Bk[i] == 0)
                    continue;
                double *Si = e->S + (size_t)i * np;
                for (int j = 0; j < np; j++)
                    Si[j] -= Bk[i] * Xk[j];
                e->r[i] -= Bk[i] * y[k];
            }
        }
    }
    for (int t = 0; t < np; t++) {
        if (st[t] == 0) {
            for (int j = 0; j < np; j++)
                e->S[t * np + j] = e->S[j * np + t] = 0;
            e->S[t * np + t] = 1;
            e->r[t] = 0;
        } else {
            e->S[t * np + t] += lambda;
        }
    }
    memcpy(e->dth, e->r, np * sizeof(double));
    memcpy(e->S2, e->S, (size_t)np * np * sizeof(double));
    spd_solve(e->S, np, e->dth, 1);
    for (int b = 0; b < e->nband; b++) {
        const double *X = e->X + (size_t)b * nf * np;
        const double *y = e->y + (size_t)b * nf;
        const double *sf = sf_all + (size_t)b * nf;
        for (int i = 0; i < nf; i++) {
            double v = y[i];
            for (int t = 0; t < np; t++)
                v -= X[i * np + t] * e->dth[t];
            e->dfl[b * nf + i] = v * sf[i];
        }
    }
    for (int t = 0; t < np; t++)
        e->dth[t] *= st[t];
}

/* Apply α·step, projected onto the bounds (SPEC §10.4). */
static void apply_step(engine *e, double alpha)
{
    int nf = e->nf;

    for (int s = 0; s < e->nsrc; s++) {
        fit_source *src = &e->src[s];
        for (int p = 0; p < FIT_NPAR; p++) {
            int t = e->th[(size_t)s * FIT_NPAR + p];
            if (t >= 0)
                src->p[p] = fmin(fmax(src->p[p] + alpha * e->dth[t],
                                      e->lo[t]), e->hi[t]);
        }
        for (int b = 0; b < e->nband; b++)
            src->flux[b] += alpha * e->dfl[b * nf + s];
    }
    if (e->opt->fit_sky)
        for (int b = 0; b < e->nband; b++)
            e->im->sky[b] += alpha * e->dfl[b * nf + e->nsrc];
}

/* α = min(1, min_p maxstep_p/|δ_p|). */
static double step_alpha(const engine *e)
{
    double a = 1.0;
    for (int t = 0; t < e->np; t++)
        if (fabs(e->dth[t]) * a > e->maxstep[t])
            a = e->maxstep[t] / fabs(e->dth[t]);
    return a;
}

/* Gauss–Newton's predicted gain ½ δᵀg of the undamped step. */
static double predicted_gain(const engine *e)
{
    double g = 0;
    for (int t = 0; t < e->np; t++)
        g += e->dth[t] * e->gt[t];
    for (int b = 0; b < e->nband; b++)
        for (int i = 0; i < e->nf; i++)
            g += e->dfl[b * e->nf + i] * e->gf[(size_t)b * e->nf + i];
    return 0.5 * g;
}

/* ---- errors ---- */

/* Flux errors at the assembled point (SPEC §10.4): conditional from
 * the diagonal of the band's flux block; marginal from the Schur form of
 * the inverse, (A⁻¹)_ff = K⁻¹ + X S⁻¹ Xᵀ in scaled units.  Uses K and
 * K2 as scratch, so the K buffers hold nf × nf each (nf >= 1). */
static void flux_errors(engine *e)
{
    int nf = e->nf, np = e->np;
    const double *sf_all = e->sc + np;

    if (e->opt->flux_error == FIT_FLUXERR_CONDITIONAL) {
        for (int s = 0; s < e->nsrc; s++)
            for (int b = 0; b < e->nband; b++) {
                double a = e->Aff[(size_t)b * nf * nf + (size_t)s * nf + s];
                e->src[s].fluxerr[b] = a > 0 ? 1.0 / sqrt(a) : NAN;
            }
        return;
    }
    for (int t = 0; t < np; t++)
        e->held[t] = 0;
    solve(e, 0.0);          /* scales, X_b and the Schur complement S2 */
    double *Sinv = e->S;
    memset(Sinv, 0, (size_t)np * np * sizeof(double));
    for (int t = 0; t < np; t++)
        Sinv[t * np + t] = 1.0;
    spd_solve(e->S2, np, Sinv, np);
    for (int b = 0; b < e->nband; b++) {
        const double *Aff = e->Aff + (size_t)b * nf * nf;
        const double *X = e->X + (size_t)b * nf * np;
        const double *sf = sf_all + (size_t)b * nf;
        for (int i = 0; i < nf; i++) {
            for (int j = 0; j < nf; j++) {
                e->K[i * nf + j] = Aff[i * nf + j] * sf[i] * sf[j];
                e->K2[i * nf + j] = i == j;
            }
            if (sf[i] == 0)
                e->K[i * nf + i] = 1.0;
        }
        spd_solve(e->K, nf, e->K2, nf);
        for (int s = 0; s < e->nsrc; s++) {
            double v = e->K2[s * nf + s];
            const double *xs = X + (size_t)s * np;
            for (int i = 0; i < np; i++) {
                if (xs[i] == 0)
                    continue;
                double q = 0;
                for (int j = 0; j < np; j++)
                    q += Sinv[i * np + j] * xs[j];
                v += xs[i] * q;
            }
            v *= sf[s] * sf[s];
            e->src[s].fluxerr[b] = sf[s] > 0 && v > 0 && isfinite(v)
                                   ? sqrt(v) : NAN;
        }
    }
}

/* Bound-stall bits (SPEC §10.4): within 1e-3 px of a position bound, or
 * bound_stall_tol × range of another. */
static void stall_flags(engine *e)
{
    for (int s = 0; s < e->nsrc; s++) {
        fit_source *src = &e->src[s];
        src->stall_lo = src->stall_hi = 0;
        for (int p = 0; p < FIT_NPAR; p++) {
            int t = e->th[(size_t)s * FIT_NPAR + p];
            if (t < 0)
                continue;
            double tol = p <= FIT_P_Y ? 1e-3
                         : e->opt->bound_stall_tol * (e->hi[t] - e->lo[t]);
            if (src->p[p] - e->lo[t] <= tol)
                src->stall_lo |= 1u << p;
            if (e->hi[t] - src->p[p] <= tol)
                src->stall_hi |= 1u << p;
        }
    }
}

/* ---- the loop ---- */

static int check_args(const fit_bands *im, const fit_source *src, int nsrc,
                      const fit_opts *o, pp_error *err)
{
    if (!im || !src || !o || nsrc < 1 || im->nband < 1 || im->w < 1
        || im->h < 1 || !im->data || !im->ivar || !im->sky)
        return pp_error_set(err, PP_EUSAGE, "fit_run: empty patch or "
                            "missing arrays");
    if (o->max_iters < 1 || !(o->dlnp_stop >= 0)
        || !(o->max_pos_shift > 0) || !(o->bound_stall_tol >= 0))
        return pp_error_set(err, PP_EUSAGE, "fit_run: bad options "
                            "(max_iters %d, dlnp_stop %g, max_pos_shift %g)",
                            o->max_iters, o->dlnp_stop, o->max_pos_shift);
    for (int s = 0; s < nsrc; s++)
        if (!src[s].flux || !src[s].fluxerr || !src[s].psf)
            return pp_error_set(err, PP_EUSAGE, "fit_run: source %d has "
                                "no flux, fluxerr or psf array", s);
    return PP_OK;
}

static void engine_free(engine *e)
{
    for (int s = 0; e->sw && s < e->nsrc; s++) {
        free(e->sw[s].col);
        free(e->sw[s].wcol);
    }
    free(e->sw);
    free(e->th);
    free(e->lo);
    free(e->hi);
    free(e->maxstep);
    free(e->model);
    free(e->rw);
    free(e->Aff);
    free(e->Afth);
    free(e->gf);
    free(e->Att);
    free(e->gt);
    free(e->K);
    free(e->K2);
    free(e->B);
    free(e->X);
    free(e->y);
    free(e->S);
    free(e->S2);
    free(e->r);
    free(e->sc);
    free(e->dth);
    free(e->dfl);
    free(e->held);
    free(e->save);
    free(e->backup);
}

static double *dalloc(size_t n, int *ok)
{
    double *p = malloc((n ? n : 1) * sizeof(double));
    if (!p)
        *ok = 0;
    return p;
}

static int engine_init(engine *e, const fit_bands *im, fit_source *src,
                       int nsrc, const fit_opts *o, pp_error *err)
{
    int ok = 1, nb = im->nband, maxp = nsrc * FIT_NPAR;
    size_t npix = (size_t)im->w * im->h;

    memset(e, 0, sizeof(*e));
    e->im = im, e->src = src, e->nsrc = nsrc, e->nband = nb, e->opt = o;
    e->nf = nsrc + (o->fit_sky ? 1 : 0);
    e->sw = calloc(nsrc, sizeof(*e->sw));
    e->th = malloc((size_t)maxp * sizeof(int));
    e->held = calloc(maxp ? maxp : 1, sizeof(int));
    e->lo = dalloc(maxp, &ok), e->hi = dalloc(maxp, &ok);
    e->maxstep = dalloc(maxp, &ok);
    if (!e->sw || !e->th || !e->held || !ok) {
        engine_free(e);
        return pp_error_set(err, PP_ENOMEM, "cannot allocate the fit "
                            "workspace");
    }
    map_params(e);
    size_t nf = e->nf, np = e->np;
    e->model = dalloc(npix, &ok), e->rw = dalloc(npix, &ok);
    e->Aff = dalloc(nb * nf * nf, &ok), e->Afth = dalloc(nb * nf * np, &ok);
    e->gf = dalloc(nb * nf, &ok), e->Att = dalloc(np * np, &ok);
    e->gt = dalloc(np, &ok), e->K = dalloc(nf * nf, &ok);
    e->K2 = dalloc(nf * nf, &ok), e->B = dalloc(nf * np, &ok);
    e->X = dalloc(nb * nf * np, &ok), e->y = dalloc(nb * nf, &ok);
    e->S = dalloc(np * np, &ok), e->S2 = dalloc(np * np, &ok);
    e->r = dalloc(np, &ok), e->sc = dalloc(np + nb * nf, &ok);
    e->dth = dalloc(np, &ok), e->dfl = dalloc(nb * nf, &ok);
    e->save = dalloc(state_size(e), &ok);
    e->backup = dalloc(nb * nf * (nf + np + 1) + np * (np + 1), &ok);
    if (!ok) {
        engine_free(e);
        return pp_error_set(err, PP_ENOMEM, "cannot allocate the normal "
                            "equations (%d bands, %zu fluxes, %zu shared "
                            "parameters)", nb, nf, np);
    }
    return PP_OK;
}

/* One iteration: try damped steps from the assembled point until lnP
 * improves.  OUTPUT *gain (> 0 when accepted), *lambda updated.  Returns
 * 1 if a step was accepted, 0 if none was (then *gain is the predicted
 * Gauss–Newton gain), −1 on a renderer error at every damping. */
static void copy_system(engine *e, int to_backup)
{
    size_t nb = e->nband, nf = e->nf, np = e->np;
    double *a[5] = {e->Aff, e->Afth, e->gf, e->Att, e->gt};
    size_t n[5] = {nb * nf * nf, nb * nf * np, nb * nf, np * np, np};
    double *b = e->backup;

    for (int i = 0; i < 5; i++) {
        if (to_backup)
            memcpy(b, a[i], n[i] * sizeof(double));
        else
            memcpy(a[i], b, n[i] * sizeof(double));
        b += n[i];
    }
}

/* One iteration: try damped steps from the assembled point until lnP
 * improves.  The trial point is assembled at once (values and
 * derivatives): an accepted step, the usual case, then costs one render
 * of every source and band instead of two; a rejected one restores the
 * saved normal equations.  OUTPUT *gain (> 0 when accepted), *lambda
 * updated.  Returns 1 if a step was accepted, 0 if none was (then *gain
 * is the predicted Gauss–Newton gain). */
static int iterate(engine *e, double *lambda, double *gain)
{
    double lnp0 = e->lnp;
    pp_error dummy;

    mark_held(e);
    save_state(e);
    copy_system(e, 1);
    for (;;) {
        solve(e, *lambda);
        apply_step(e, step_alpha(e));
        int rc = assemble(e, &dummy);
        if (rc == PP_OK && isfinite(e->lnp) && e->lnp > lnp0) {
            *gain = e->lnp - lnp0;
            return 1;
        }
        restore_state(e);
        copy_system(e, 0);
        e->lnp = lnp0;
        if (*lambda >= LAMBDA_MAX) {
            solve(e, 0.0);
            *gain = predicted_gain(e);
            return 0;
        }
        *lambda = *lambda == 0 ? LAMBDA_FIRST : *lambda * 10;
    }
}

int fit_run(const fit_bands *im, fit_source *src, int nsrc,
            const fit_opts *opt, fit_report *rep, pp_error *err)
{
    engine e;
    double lambda = 0, gain = 0;
    int rc;

    memset(rep, 0, sizeof(*rep));
    rep->last_dlnp = NAN;
    rep->lnp = NAN;
    if ((rc = check_args(im, src, nsrc, opt, err)) != PP_OK)
        return rc;
    if ((rc = engine_init(&e, im, src, nsrc, opt, err)) != PP_OK)
        return rc;
    clamp_start(&e);
    pp_error why;
    memset(&why, 0, sizeof(why));
    if ((rc = assemble(&e, &why)) != PP_OK) {
        snprintf(rep->warning, sizeof(rep->warning), "fit not started: %.480s",
                 why.msg);
        rep->lnp = e.lnp;
        engine_free(&e);
        return rc == PP_ENOMEM ? pp_error_set(err, rc, "%s", why.msg) : PP_OK;
    }
    while (rep->niters < opt->max_iters) {
        int acc = iterate(&e, &lambda, &gain);
        if (acc <= 0) {
            rep->converged = gain < opt->dlnp_stop;
            if (!rep->converged)
                snprintf(rep->warning, sizeof(rep->warning), "no step "
                         "improves lnP (predicted gain %.3g)", gain);
            break;
        }
        rep->niters++;
        rep->last_dlnp = gain;
        if (opt->on_iter)
            opt->on_iter(opt->arg, rep->niters, e.lnp, gain, lambda);
        lambda = lambda / 10 < LAMBDA_ZERO ? 0 : lambda / 10;
        if (gain < opt->dlnp_stop) {
            rep->converged = 1;
            break;
        }
    }
    rep->lnp = e.lnp;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (rc == PP_OK)
        flux_errors(&e);
    else
        for (int s = 0; s < nsrc; s++)
            for (int b = 0; b < im->nband; b++)
                src[s].fluxerr[b] = NAN;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    rep->t_errors = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
    stall_flags(&e);
    engine_free(&e);
    return rc == PP_ENOMEM ? pp_error_set(err, rc, "%s", why.msg) : PP_OK;
}

int fit_model_band(const fit_bands *im, const fit_source *src, int nsrc,
                   int b, double *out, pp_error *err)
{
    size_t npix = (size_t)im->w * im->h;

    for (size_t i = 0; i < npix; i++)
        out[i] = im->sky[b];
    for (int s = 0; s < nsrc; s++) {
        const fit_source *so = &src[s];
        fit_mog prof;
        double S[2][2];
        long x0, x1, y0, y1;
        int rc = fit_profile_mog(so->kind, so->p[FIT_P_N], &prof, err);
        if (rc != PP_OK)
            return rc;
        fit_ellipse_cov(so->p[FIT_P_LOGRE], so->p[FIT_P_EE1],
                        so->p[FIT_P_EE2], S, NULL);
        double h = fit_src_halfsize(so->psf[b], &prof, S);
        fit_render_box(so->p[FIT_P_X], so->p[FIT_P_Y], h, im->w, im->h, &x0,
                       &x1, &y0, &y1);
        size_t area = (size_t)(x1 - x0) * (y1 - y0);
        double *tmp = malloc((area ? area : 1) * sizeof(double));
        if (!tmp)
            return pp_error_set(err, PP_ENOMEM, "cannot allocate a model "
                                "box of %zu pixels", area);
        memset(tmp, 0, area * sizeof(double));
        rc = area ? fit_src_render(so->psf[b], &prof, so->p[FIT_P_X],
                                   so->p[FIT_P_Y], so->flux[b], S, NULL, x0,
                                   x1, y0, y1, tmp, NULL, err) : PP_OK;
        for (long y = y0; rc == PP_OK && y < y1; y++)
            for (long x = x0; x < x1; x++)
                out[y * im->w + x] += tmp[(y - y0) * (x1 - x0) + (x - x0)];
        free(tmp);
        if (rc != PP_OK)
            return rc;
    }
    return PP_OK;
}
