/* calibrate.h - zero points from Gaia-matched stars (SPEC §12).
 *
 * Two layers.  The statistics of one band (SPEC §12 steps 3-4) work on
 * plain arrays: zp_clip() (iterative sigma clipping around the median),
 * zp_weighted_median() (lower weighted median, weights 1/err^2),
 * zp_err_std_ladder() (standard deviation of the bright kept points with
 * the SNR fallback ladder) and zp_band_stats(), which chains them.
 * zp_calib_table() applies them to a final catalogue held in memory:
 * candidates, reliability (multi- or single-band mode), per-star zero
 * points, MAG_<b>_fit / MAGERR_<b>_fit cells and the three ZP/ tables.
 * The stage itself, zp_calibrate() in zp.h, only reads and writes files
 * around zp_calib_table().
 *
 * Conventions: a "valid error" is finite and > 0; medians of an even
 * number of values are the mean of the two middle ones (numpy's median);
 * MAD = median of absolute deviations, scaled by ZP_MAD_SCALE = 1.4826;
 * standard deviations use ddof 1.  Magnitudes are AB, fluxes in the
 * scaled system of SPEC §5.3 (nominal ZP = zp_ref).  Nothing here prints
 * an error; zp_calib_table() logs one INFO line per band and a WARNING
 * for a band without a zero point.
 */
#ifndef ZP_CALIBRATE_H
#define ZP_CALIBRATE_H

#include "pp_config.h"
#include "pp_error.h"
#include "pp_table.h"

#define ZP_MAD_SCALE 1.4826             /* SPEC §12 step 3: sigma/MAD */
#define ZP_MAG_PER_RELFLUX 1.0857362    /* 2.5 / ln 10, SPEC §12 step 2 */
#define ZP_CLIP_MIN_KEPT 3              /* SPEC §12 step 3: stop below 3 */

/* The zp.* keys of SPEC §4.1 that drive the statistics.  Borrowed:
 * snr_fallbacks points into the config it came from. */
typedef struct {
    double clip_sigma;                  /* zp.clip_sigma [3.0] */
    long clip_max_iters;                /* zp.clip_max_iters [10] */
    int bright_std;                     /* zp.zp_err_method: 1 bright_std,
                                           0 all_mad ["all_mad"] */
    double snr_min;                     /* zp.zp_err_snr_min [100.0] */
    const double *snr_fallbacks;        /* zp.zp_err_snr_fallbacks */
    int n_snr_fallbacks;                /* [50.0, 20.0] */
    long min_sources;                   /* zp.zp_err_min_sources [5] */
} zp_calib_params;

/* Fill p from cfg->zp; p borrows cfg's fallback list. */
void zp_calib_params_from_config(const pp_config *cfg, zp_calib_params *p);

/* One band's results, the columns of ZP/zp_summary.csv (SPEC §12 step 6).
 * Values are NAN when undefined (no kept point; std of fewer than 2). */
typedef struct {
    long n_raw;             /* reliable stars with a finite zp_i */
    long n_kept, n_clipped; /* n_kept + n_clipped == n_raw */
    long n_unreliable;      /* unreliable candidates with a finite zp_i */
    double zp_median;       /* NAN: the band has no zero point */
    double zp_err_mad, zp_err_std;
    long n_zp_err_src;
    double zp_err_snr_used; /* 0 when all kept points were used */
    double zp_err;          /* ZP_err: zp_err_mad or zp_err_std */
} zp_band_stats;

/* Median of v[0..n-1] (NAN for n == 0), sorting scratch[n], which may be
 * v itself. */
double zp_median(const double *v, long n, double *scratch);

/* SPEC §12 step 3.  kept[0..n-1] starts all 1 (every zp[i] must be
 * finite); up to max_iters times: centre = median of the kept, sigma =
 * 1.4826 MAD of the kept around it; stop when fewer than 3 are kept or
 * sigma <= 0; keep every point with |zp - centre| <= clip_sigma sigma;
 * stop when the kept set did not change.  Returns the number kept.
 * Scratch is a star-sized pp_xmalloc (Gaia stars, not catalogue rows). */
long zp_clip(const double *zp, long n, double clip_sigma, long max_iters,
             unsigned char *kept);

/* SPEC §12 step 4: the lower weighted median of the v[i] with kept[i]
 * (kept may be NULL: all) and a valid err[i], weights 1/err^2: the first
 * value, in ascending order (ties by index), whose cumulative weight is
 * >= half the total.  Without any valid error, the plain median of the
 * kept; NAN when nothing is kept. */
double zp_weighted_median(const double *v, const double *err,
                          const unsigned char *kept, long n);

/* SPEC §12 step 4: standard deviation (ddof 1) of the kept v[i] with
 * snr[i] >= snr_min; if fewer than min_sources qualify, the same with
 * each fallback in turn, then with every kept point.  *snr_used gets the
 * threshold used (0 for all), *nsrc the number of points; *std is NAN
 * for fewer than 2 points.  A NaN snr never qualifies. */
void zp_err_std_ladder(const double *v, const double *snr,
                       const unsigned char *kept, long n,
                       const zp_calib_params *p, double *std, long *nsrc,
                       double *snr_used);

/* Steps 3-4 for one band's n reliable stars: zp[i] finite, zp_err[i]
 * and snr[i] NAN when the star has no valid flux error.  Fills kept[n]
 * and every field of st but n_unreliable (left as it was). */
void zp_band_stats_compute(const zp_calib_params *p, const double *zp,
                           const double *zp_err, const double *snr, long n,
                           unsigned char *kept, zp_band_stats *st);

/* SPEC §12 step 5: MAG = zp_median - 2.5 log10(F), NAN unless F > 0 and
 * finite and zp_median finite; MAGERR = sqrt((1.0857362 FLUXERR/F)^2 +
 * ZP_err^2), NAN unless FLUXERR and ZP_err are finite and F != 0. */
double zp_mag(double zp_median, double flux);
double zp_magerr(double flux, double fluxerr, double zp_err);

/* The text pp_csv_format_double() gives for v (SPEC §3.4: the shortest of
 * %.15g, %.16g, %.17g that reads back to v; "" for NaN and inf), found
 * with 128-bit integer arithmetic when v needs no exponent notation and
 * 2^-70 <= |v| < 2^53, else by pp_csv_format_double() itself.  Writes into
 * buf and returns it. */
const char *zp_format_double(double v, char buf[32]);

/* SPEC §12 step 1, for every row of the final catalogue cat (read from
 * path, named in messages) and band (NULL in multi-band mode):
 *   multi-band: rel[r] = fit_is_reliable is True;
 *   single-band: not excluded_any, not affected_by_bright_mask (when
 *   that column exists), fitted in this band (x_pix_white_<b>_fit and
 *   y_pix_white_<b>_fit finite), and opt_hit_max_iters_<b> and
 *   flag_bound_stalled_<b> False.
 * Only rows with want[r] set are judged (want may be NULL: all); the
 * others get rel[r] = 0.  fit_is_reliable and excluded_any must read
 * True or False; the bright-mask and per-band flags may also be empty
 * (not set), and the per-band flags are read on fitted rows only.  A
 * position that is not a number is no fitted position, as in pp-merge.
 * PP_EDATA naming the file and the column when one is missing, or the
 * row, column and text of a bad cell. */
int zp_reliability(const pp_table *cat, const char *path, const char *band,
                   const unsigned char *want, unsigned char *rel,
                   pp_error *err);

/* The three tables of SPEC §12 step 6 and the per-band results. */
typedef struct {
    pp_table summary;       /* ZP/zp_summary.csv */
    pp_table per_object;    /* ZP/zp_all_bands__per_object.csv */
    pp_table unreliable;    /* ZP/zp_unreliable__per_object.csv */
    int nbands;
    zp_band_stats *stats;   /* nbands entries */
    long n_candidates;      /* rows with a gaia_source_id in the GaiaXP */
    long n_sid_missing;     /* rows whose gaia_source_id is not in it */
} zp_calib_out;

#define ZP_CALIB_OUT_INIT { PP_TABLE_INIT, PP_TABLE_INIT, PP_TABLE_INIT, \
                            0, NULL, 0, 0 }

void zp_calib_out_release(zp_calib_out *out);

/* SPEC §12 steps 1-6 on tables in memory.  cat is the final catalogue
 * (read from cat_path), gaia the GaiaXP table (gaia_path); bands[0..
 * nbands-1] in band order; multi: patch_run.
 * enable_multi_band_simultaneous_fitting.  Sets, per band, the cells of
 * MAG_<b>_fit and MAGERR_<b>_fit in cat (existing columns, found case-
 * insensitively, are overwritten in place; missing ones are appended,
 * MAG then MAGERR, band after band); no other cell changes.  Fills out
 * (caller releases, also on failure).  Errors, all PP_EDATA naming the
 * file: a missing column (gaia_source_id, FLUX_<b>_fit, FLUXERR_<b>_fit,
 * the reliability columns; GaiaXP source_id), a cell that is not a
 * number or a boolean.  A GaiaXP file without mag_<b> gives band b no
 * zero point, as does a band without reliable stars. */
int zp_calib_table(const zp_calib_params *p, int multi,
                   const char *const *bands, int nbands, double zp_ref,
                   pp_table *cat, const char *cat_path,
                   const pp_table *gaia, const char *gaia_path,
                   zp_calib_out *out, pp_error *err);

#endif /* ZP_CALIBRATE_H */
