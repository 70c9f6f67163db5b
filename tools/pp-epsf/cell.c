/* cell.c - one (band, ePSF cell) end to end (SPEC §8.2, §8.3); see
 * cell.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_io.h"
#include "pp_log.h"
#include "pp_mem.h"
#include "pp_psf.h"

#include "build.h"
#include "cell.h"
#include "output.h"
#include "qa.h"
#include "region.h"

void epsf_cell_tag(int row, int col, char buf[32])
{
    snprintf(buf, 32, "r%02d_c%02d", row, col);
}

static void state_release(epsf_cell_state *s)
{
    epsf_region_release(&s->reg);
    free(s->cands);
    free(s->data);
    free(s->raw);
    free(s->valid);
    free(s->dx);
    free(s->dy);
    free(s->flux0);
    free(s->model);
    free(s->final);
    epsf_result_release(&s->res);
    epsf_qa_release(&s->qa);
    memset(s, 0, sizeof *s);
}

static void set_fail(epsf_cell_state *s, const char *msg)
{
    size_t n = strlen(msg);

    /* Truncation is fine: the reason is a short sentence. */
    s->ok = 0;
    if (n >= sizeof s->error)
        n = sizeof s->error - 1;
    memcpy(s->error, msg, n);
    s->error[n] = 0;
}

/* Steps 1–3. */
static int select_stars(const epsf_cell_job *j, epsf_cell_state *s,
                        pp_error *err)
{
    const pp_config *cfg = j->cfg;
    const pp_frame_band *b = &j->frames->bands[j->band];
    epsf_select_ctx c = { cfg, j->frames, j->band, s->fwhm, s->sky,
                          j->cx0, j->cx1, j->cy0, j->cy1, j->gaia,
                          j->ngaia };

    if (epsf_region_read(j->frames, j->band, j->cx0, j->cx1, j->cy0,
                         j->cy1, cfg->epsf.cutout_size / 2 + 2, &s->reg,
                         err) != PP_OK)
        return pp_error_prefix(err, "band '%s': ", b->band);
    epsf_region_background(cfg, s->sky, &s->reg);
    if (epsf_region_detect(cfg, s->sky, &s->reg, err) != PP_OK)
        return pp_error_prefix(err, "band '%s' cell %s: ", b->band, s->tag);
    epsf_select(&c, &s->reg, &s->cands, &s->ncands, &s->nseed,
                &s->nextract, &s->nsel);
    return PP_OK;
}

/* Step 4: stamps of the selected stars (the first nsel candidates). */
static void cut_stamps(const epsf_cell_job *j, epsf_cell_state *s)
{
    epsf_select_ctx c = { j->cfg, j->frames, j->band, s->fwhm, s->sky,
                          j->cx0, j->cx1, j->cy0, j->cy1, j->gaia,
                          j->ngaia };
    size_t SS = (size_t)s->S * s->S, n = (size_t)(s->nsel + 1);

    s->data = pp_xmalloc(sizeof(double) * SS * n);
    s->raw = pp_xmalloc(sizeof(double) * SS * n);
    s->valid = pp_xmalloc(SS * n);
    s->dx = pp_xmalloc(sizeof(double) * n);
    s->dy = pp_xmalloc(sizeof(double) * n);
    s->flux0 = pp_xmalloc(sizeof(double) * n);
    for (int k = 0; k < s->nsel; k++) {
        epsf_select_stamp(&c, &s->reg, &s->cands[k], s->data + SS * k,
                          s->valid + SS * k, &s->dx[k], &s->dy[k],
                          s->raw + SS * k);
        s->flux0[k] = s->cands[k].flux;
    }
}

/* Step 5 and the per-star outcome in the candidates. */
static void build(const epsf_cell_job *j, epsf_cell_state *s)
{
    const pp_frame_band *b = &j->frames->bands[j->band];
    epsf_stars st = { s->S, s->nsel, s->data, s->valid, s->dx, s->dy,
                      s->flux0, s->sky, b->scale, b->egain };
    epsf_build_params p = { (int)j->cfg->epsf.oversamp,
                            (int)j->cfg->epsf.maxiters, j->cfg->epsf.do_clip,
                            (int)j->cfg->epsf.recenter_boxsize,
                            (int)j->cfg->epsf.fit_boxsize, j->shift_kind,
                            j->smooth_kind,
                            epsf_select_core_radius(s->fwhm) };
    pp_error e = PP_ERROR_INIT;

    if (epsf_build(&st, &p, &s->res, &e) != PP_OK) {
        set_fail(s, e.msg);
        s->res.nused = 0;
    }
    for (int k = 0; k < s->nsel; k++) {
        int why = s->res.status[k];
        pp_log(PP_LOG_DEBUG, "band '%s' cell %s: star %d at (%.2f, %.2f): "
               "flux %.6g, offset (%.4f, %.4f), residual RMS %.3f, %s",
               b->band, s->tag, k, s->cands[k].x, s->cands[k].y,
               s->res.flux[k], s->res.dx[k], s->res.dy[k],
               s->res.resid_rms[k], why == EPSF_STAR_USED ? "used" :
               why == EPSF_STAR_FIT_FAILED ? "fit failed" : "outlier");
        s->cands[k].used = s->ok && why == EPSF_STAR_USED;
        if (!s->ok && why == EPSF_STAR_USED)
            strcpy(s->cands[k].reason, "build_failed");
        else if (why == EPSF_STAR_FIT_FAILED)
            strcpy(s->cands[k].reason, "fit_failed");
        else if (why == EPSF_STAR_RESID_OUTLIER)
            strcpy(s->cands[k].reason, "resid_outlier");
    }
}

/* Step 6: centre crop to F (zero padding when F > S), NaN → 0, sum 1. */
static void finalise(epsf_cell_state *s)
{
    int F = s->F, S = s->S, off = (S - F) / 2;
    double sum = 0;

    s->final = pp_xcalloc((size_t)F * F, sizeof(double));
    for (int j = 0; j < F; j++)
        for (int i = 0; i < F; i++) {
            int si = i + off, sj = j + off;
            double v = si >= 0 && sj >= 0 && si < S && sj < S ?
                       s->res.native[(size_t)sj * S + si] : 0.0;
            s->final[(size_t)j * F + i] = isfinite(v) ? v : 0.0;
            sum += s->final[(size_t)j * F + i];
        }
    if (!(sum > 0)) {
        set_fail(s, "the cropped ePSF has no positive sum");
        return;
    }
    for (size_t k = 0; k < (size_t)F * F; k++)
        s->final[k] /= sum;
}

/* Step 7: the EM mixtures of epsf.mog_components. */
static int fit_mogs(const epsf_cell_job *j, epsf_cell_state *s,
                    pp_error *err)
{
    s->nmog = j->cfg->epsf.n_mog_components;
    for (int m = 0; m < s->nmog; m++) {
        int K = (int)j->cfg->epsf.mog_components[m];
        if (pp_psf_fit_mog(s->final, s->F, s->F, K, &s->mog[m],
                           &s->mog_iters[m], err) != PP_OK)
            return pp_error_prefix(err, "band '%s' cell %s: "
                                   "epsf.mog_components[%d] = %d: ",
                                   j->frames->bands[j->band].band, s->tag,
                                   m, K);
    }
    return PP_OK;
}

/* Step 8, residual part: (data − flux·ePSF)/σ over the used stars' valid
 * pixels within the crop radius, with the "sky+poisson" variance. */
static void resid_qa(const epsf_cell_job *j, epsf_cell_state *s)
{
    const pp_frame_band *b = &j->frames->bands[j->band];
    size_t SS = (size_t)s->S * s->S;
    double h = (s->S - 1) / 2.0, rc = (s->F - 1) / 2.0;
    double sb = 0, sr = 0, snb = 0, snr = 0;
    long n = 0;

    s->model = pp_xmalloc(sizeof(double) * SS * (size_t)(s->nsel + 1));
    for (int k = 0; k < s->nsel; k++) {
        double *m = s->model + SS * k;
        epsf_build_render(&s->res, s->res.flux[k], s->res.dx[k],
                          s->res.dy[k], m);
        if (!s->cands[k].used)
            continue;
        s->resid_nstars++;
        for (int jj = 0; jj < s->S; jj++)
            for (int ii = 0; ii < s->S; ii++) {
                size_t q = (size_t)jj * s->S + ii;
                double d, var;
                if (!s->valid[SS * k + q] || hypot(ii - h, jj - h) > rc)
                    continue;
                d = s->data[SS * k + q] - m[q];
                var = s->sky * s->sky;
                if (b->egain > 0 && m[q] > 0)
                    var += b->scale * m[q] / b->egain;
                sb += d;
                sr += d * d;
                snb += d / sqrt(var);
                snr += d * d / var;
                n++;
            }
    }
    s->resid_bias = n ? sb / n : NAN;
    s->resid_rms = n ? sqrt(sr / n) : NAN;
    s->resid_norm_bias = n ? snb / n : NAN;
    s->resid_norm_rms = n ? sqrt(snr / n) : NAN;
}

/* Steps 4–8 for a cell with selected stars. */
static int make_epsf(const epsf_cell_job *j, epsf_cell_state *s,
                     pp_error *err)
{
    cut_stamps(j, s);
    build(j, s);
    if (!s->ok)
        return PP_OK;
    finalise(s);
    if (!s->ok)
        return PP_OK;
    if (fit_mogs(j, s, err) != PP_OK)
        return err->code;
    epsf_qa_compute(s->final, s->F, &s->qa);
    /* ee_edge: EE at the crop radius of the full-cutout ePSF. */
    s->qa.ee_edge = epsf_qa_ee_at(s->res.native, s->S, s->F / 2.0);
    resid_qa(j, s);
    return PP_OK;
}

int epsf_cell_run(const epsf_cell_job *j, json_t **meta, pp_error *err)
{
    epsf_cell_state s;
    const pp_frame_band *b = &j->frames->bands[j->band];

    memset(&s, 0, sizeof s);
    *meta = NULL;
    epsf_cell_tag(j->row, j->col, s.tag);
    s.ok = 1;
    s.S = (int)j->cfg->epsf.cutout_size;
    s.F = (int)j->cfg->epsf.final_psf_size;
    s.sky = b->sky_sigma_scaled;
    /* SPEC §8.2 / §10.3: frames.json FWHM, else the fallback, floor 1. */
    s.fwhm = pp_psf_fwhm_pix(b->fwhm_pix,
                             j->cfg->patch_run.fallback_default_fwhm_pix);
    if (select_stars(j, &s, err) != PP_OK)
        goto out;
    if (s.nsel == 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "no usable PSF star (%d candidates, %d "
                 "SEP detections, %d Gaia seeds)", s.ncands, s.nextract,
                 s.nseed);
        set_fail(&s, msg);
    } else if (make_epsf(j, &s, err) != PP_OK)
        goto out;
    if (!s.ok)
        pp_log(PP_LOG_WARNING, "band '%s' cell %s: %s: status fail, no "
               "epsf.npy", b->band, s.tag, s.error);
    if (epsf_output_write(j, &s, meta, err) == PP_OK)
        pp_log(PP_LOG_DEBUG, "band '%s' cell %s: %s, %d/%d stars used, "
               "%d iterations", b->band, s.tag, s.ok ? "ok" : "fail",
               s.res.nused, s.nsel, s.res.niters);
out:
    state_release(&s);
    return err->code;
}
