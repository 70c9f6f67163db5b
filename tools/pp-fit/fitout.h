/* fitout.h - the fit result of one patch and its output files (SPEC
 * §10.2 output conversions, §10.5).
 *
 * The engine fills a fit_result: one "fit set" in multi-band mode (all
 * bands at once, band = -1) or one per band in single-band mode (band =
 * b, in band order), each with the per-source parameters of every payload
 * source (base, halo and edge, payload order), the optimiser summary,
 * the stage records of a staged fit and the per-band sky; plus the model
 * images.  fit_result_init() sets every parameter to its start value from
 * the payload (positions, shape, n; fluxes and errors NAN, sky 0, stall
 * 0), so a patch whose fit stopped early still writes sensible rows.
 * flag_bound_stalled is True when a source has any stall bit.
 *
 * Writers (each atomic: temporary file, fsync, rename; nothing is left
 * half-written on failure):
 *   <outdir>/<patch_tag>_cat_fit.csv  one row per base source, columns in
 *       SPEC §10.5 order: the base-catalogue columns as their exact text,
 *       x_pix_patch, y_pix_patch (the payload's start position), patch_tag,
 *       epsf_tag, the psf_* audit columns, then the multi-band or the
 *       single-band block, then (multi-band) FLUX_<b>_fit, FLUXERR_<b>_fit.
 *       Floats in the shortest round-trip text, booleans True/False,
 *       integers as integers, non-finite values empty (SPEC §3.4);
 *       FLUXERR non-finite or <= 0 empty; morphology empty for stars,
 *       sersic_n only for Sérsic sources.  psf_fallback_bands,
 *       psf_low_star_bands and psf_frozen_bands_for_optimizer are
 *       comma-separated band names in band order ("" when none);
 *       psf_fallback_reasons_json is a JSON object band -> reason of the
 *       fallback bands, one line, Python json.dumps style ({"g": "missing
 *       ePSF"}, ASCII-escaped).
 *   <outdir>/meta.json  keys in SPEC §10.5 order (see fit_out_meta()).
 *   <outdir>/model.fits  empty primary (PATCHTAG, EPSFTAG, RX0, RY0), per
 *       band an image HDU MODEL/EXTVER=k (float32 ROI, model + sky, lossless
 *       GZIP_2) with BAND and SKY, then a binary table SOURCES of the base
 *       and halo sources (not edge ones): ID (1PB, exact bytes, when the
 *       catalogue has an ID column), x_pix_patch, y_pix_patch, x_pix_white,
 *       y_pix_white (start positions, D), x_pix_patch_fit, y_pix_patch_fit
 *       (multi-band) or x_pix_patch_<b>_fit, y_pix_patch_<b>_fit per band
 *       (single-band), stype_fit (1PB), is_halo (L).
 *
 * Output conversions (SPEC §10.2): re_pix = Re = exp(logre); ab, θ from
 * fit_ellipse_ab_theta(); phi_deg = (-θ·180/π) mod 180 in [0, 180);
 * ELL = 1 - ab; THETA = phi_deg - 90 in [-90, 90).  Positions:
 * x_pix_white_fit = x_pix_patch_fit + RX0 (y likewise); RA_fit/DEC_fit
 * from the payload's ROI WCS at the patch position.
 *
 * Ownership: fit_result_init() allocates everything; fit_result_release()
 * frees it.  Writers borrow their inputs and log nothing.
 */
#ifndef FIT_FITOUT_H
#define FIT_FITOUT_H

#include "pp_config.h"
#include "pp_error.h"

#include "engine.h"
#include "payload.h"
#include "psfsel.h"

/* Bound-stall flags are engine.h's: bit p of stall_lo / stall_hi (p =
 * FIT_P_X, FIT_P_Y, FIT_P_LOGRE, FIT_P_EE1, FIT_P_EE2, FIT_P_N, the order
 * of SPEC §10.4) says parameter p ended at its lower / upper bound. */

#define FIT_STAGES_MAX 16

typedef struct {
    char name[16];                  /* "flux", "flux+pos", "all" */
    long niters;
    int converged;
} fit_stage_record;

typedef struct {
    int band;                       /* -1: multi-band set; else the band */
    long niters;                    /* opt_niters (all passes, stages) */
    int converged;                  /* opt_converged */
    int hit_max_iters;              /* opt_hit_max_iters */
    double last_dlnp;               /* opt_last_dlnp (NAN: none) */
    int nstages;                    /* staged fit records, 0 if not */
    fit_stage_record stages[FIT_STAGES_MAX];
    double *x, *y;                  /* nsrc, patch pixels */
    double *logre, *ee1, *ee2;      /* nsrc (ignored for stars) */
    double *n;                      /* nsrc Sérsic index (Sérsic only) */
    double *flux, *fluxerr;         /* nsrc x nbands, [s * nbands + b] */
    unsigned *stall_lo, *stall_hi;  /* nsrc, bit FIT_P_* (engine.h) */
    double *sky;                    /* nbands (single-band: [band] used) */
} fit_set;

typedef struct {
    long nsrc;
    int nbands;
    int multiband;                  /* 1: one set; 0: nbands sets */
    int *kind;                      /* nsrc, FIT_PROFILE_* fitted */
    int nsets;
    fit_set *sets;
    float *model;                   /* nbands x width x height, model +
                                       sky, [b * w * h + y * w + x] */
    long width, height;
    /* timing_s of SPEC §10.7 (seconds); t_write is set by
     * fit_out_write_all(). */
    double t_read, t_psf, t_init, t_fit, t_errors, t_write;
} fit_result;

/* Allocate r for payload p: multiband 1 -> one set (band -1), 0 -> one
 * per band; start values as above; model zeroed.  PP_ENOMEM. */
int fit_result_init(fit_result *r, const fit_payload *p, int multiband,
                    pp_error *err);

/* Free r's contents and zero it; safe twice and on a zeroed struct. */
void fit_result_release(fit_result *r);

/* Record a finished stage of a staged fit in set (at most
 * FIT_STAGES_MAX; more are dropped).  name is copied (truncated). */
void fit_set_add_stage(fit_set *set, const char *name, long niters,
                       int converged);

/* The output shape of SPEC §10.2. */
typedef struct {
    double re_pix;                  /* = Re_fit */
    double ab, phi_deg, ell, theta_deg;
} fit_shape_out;

void fit_out_shape(double logre, double ee1, double ee2, fit_shape_out *o);

/* flag_bound_stalled_which_parameter text of the stall bits (bit FIT_P_*
 * of lo: at the lower bound, of hi: at the upper):
 * "{param}@{lower|upper}" comma-separated, params in FIT_P_* order
 * (names pos.x, pos.y, shape.logre, shape.ee1, shape.ee2, sersicindex),
 * lower before upper; "" when no bit is set.  Writes at most n bytes
 * (NUL included) into buf; returns buf. */
const char *fit_out_stall_text(unsigned lo, unsigned hi, char *buf,
                               size_t n);

/* Write <outdir>/<patch_tag>_cat_fit.csv (path given in full here). */
int fit_out_catalog(const char *path, const pp_config *cfg,
                    const fit_payload *p, const fit_psfsel *psf,
                    const fit_result *r, pp_error *err);

/* Write meta.json: patch_tag, epsf_tag, epsf_r, epsf_c, patch_r,
 * patch_c, halo_pix, base_bbox [x0,x1,y0,y1], roi_bbox [x0,x1,y0,y1],
 * n_sources (base), n_halo_sources, psf_min_epsf_nstars_for_use,
 * psf_used_epsf_band_count, psf_fallback_band_count,
 * psf_low_star_band_count, psf_fallback_bands [..], psf_low_star_bands
 * [..], psf_audit {band: {epsf_path, epsf_exists, used_epsf,
 * fallback_reason (null when used), epsf_nstars_used (null when
 * unknown), psf_model}}, enable_multi_band_simultaneous_fitting,
 * psf_frozen_bands_for_optimizer [..], noise_model, fit_sky, sky_fit
 * {band: value}, then (multi-band) niters, converged, hit_max_iters,
 * last_dlnp, then (patch_run.enable_staged_fit) staged_fit_enabled true
 * and staged_fit_stages [{name, niters, converged}...] (multi-band) or
 * staged_fit_stages_by_band {band: [...]}, then timing_s {read, psf,
 * init, fit, errors, write}. */
int fit_out_meta(const char *path, const pp_config *cfg,
                 const fit_payload *p, const fit_psfsel *psf,
                 const fit_result *r, pp_error *err);

/* Write model.fits as above. */
int fit_out_model(const char *path, const fit_payload *p,
                  const fit_result *r, pp_error *err);

/* Create outdir (and parents) and write the three files: the catalogue
 * and model.fits first, then meta.json with r->t_write set to the time
 * those two took (r is updated, hence not const).  On failure the files
 * this call committed are removed. */
int fit_out_write_all(const char *outdir, const pp_config *cfg,
                      const fit_payload *p, const fit_psfsel *psf,
                      fit_result *r, pp_error *err);

#endif /* FIT_FITOUT_H */
