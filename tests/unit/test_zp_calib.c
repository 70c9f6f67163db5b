/* test_zp_calib.c - zero-point statistics and reliability of `pp-zp
 * calibrate` (tools/pp-zp/calibrate.h, SPEC §12): sigma clipping on
 * worked examples, the lower weighted median and its ties, the SNR
 * fallback ladder with the config's default keys, the MAG and MAGERR
 * formulas, single- and multi-band reliability, and a catalogue held in
 * memory with a band that has no Gaia star.  Every expected number is
 * worked out by hand in the comments. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"

#include "pp_config.h"
#include "pp_csv.h"
#include "pp_log.h"
#include "pp_table.h"

#include "calibrate.h"

/* A table from a header and rows of cells, all text. */
static void table_make(pp_table *t, const char *const *cols, int ncols,
                       const char *const *cells, long nrows)
{
    for (int j = 0; j < ncols; ++j)
        pp_table_add_column(t, cols[j], -1);
    for (long r = 0; r < nrows; ++r) {
        long o = pp_table_add_row(t);
        for (int j = 0; j < ncols; ++j)
            pp_table_set(t, o, j, cells[r * ncols + j]);
    }
}

static long count_kept(const unsigned char *k, long n)
{
    long m = 0;

    for (long i = 0; i < n; ++i)
        m += k[i];
    return m;
}

static void test_clip(void)
{
    unsigned char kept[8];

    /* Worked example, clip_sigma 3:
     * iter 1, all 7: sorted 9.98 9.99 10.00 10.01 10.02 10.08 11.00,
     *   median 10.01; |dev| 0 .01 .01 .02 .03 .07 .99 -> MAD .02,
     *   sigma = 1.4826*.02 = .029652, 3 sigma = .088956: 11.00 out,
     *   10.08 (dev .07) stays;
     * iter 2, 6 kept: median (10.00+10.01)/2 = 10.005; |dev| .025 .015
     *   .005 .005 .015 .075 -> MAD .015, sigma .022239, 3 sigma .066717:
     *   10.08 (dev .075) out;
     * iter 3, 5 kept: median 10.00, MAD .01, 3 sigma .044478: the same
     *   5 kept -> unchanged, stop.  Kept: the first five. */
    const double zp[7] = { 10.00, 10.02, 9.98, 10.01, 9.99, 10.08, 11.00 };
    check_int(zp_clip(zp, 7, 3.0, 10, kept), ==, 5,
              "clip: worked example keeps 5 of 7 after 3 iterations");
    check(kept[0] && kept[1] && kept[2] && kept[3] && kept[4] &&
          !kept[5] && !kept[6], "clip: 10.08 and 11.00 are clipped");
    /* clip_max_iters 1 stops after iteration 1: only 11.00 out. */
    check_int(zp_clip(zp, 7, 3.0, 1, kept), ==, 6,
              "clip: clip_max_iters=1 stops after the first pass");
    check(kept[5] && !kept[6], "clip: first pass clips only 11.00");
    /* clip_max_iters 0: nothing is clipped. */
    check_int(zp_clip(zp, 7, 3.0, 0, kept), ==, 7,
              "clip: clip_max_iters=0 keeps everything");
    /* clip_sigma 2 on the same data: iter 1 2 sigma = .059304 -> 10.08
     * (.07) and 11.00 out; iter 2 (5 kept) median 10.00, MAD .01,
     * 2 sigma = .029652: all 5 stay -> 5 kept. */
    check_int(zp_clip(zp, 7, 2.0, 10, kept), ==, 5,
              "clip: clip_sigma=2 clips both outliers in one pass");

    /* Fewer than 3 points: never clipped. */
    const double two[2] = { 1.0, 50.0 };
    check_int(zp_clip(two, 2, 3.0, 10, kept), ==, 2,
              "clip: fewer than 3 points are all kept");
    /* MAD 0 (sigma <= 0): stop, the outlier 9 stays. */
    const double flat[5] = { 5.0, 5.0, 5.0, 5.0, 9.0 };
    check_int(zp_clip(flat, 5, 3.0, 10, kept), ==, 5,
              "clip: sigma 0 stops clipping (outlier kept)");
    /* The whole sample is re-judged: iter 1 on 1 2 3 4 100 (median 3,
     * MAD 1, sigma 1.4826, 1 sigma): keeps 2 3 4 (|dev| <= 1.4826);
     * iter 2 on 2 3 4: median 3, |dev| 1 0 1, MAD 1 -> the same
     * criterion, kept set unchanged -> 3 kept. */
    const double small[5] = { 1.0, 2.0, 3.0, 4.0, 100.0 };
    check_int(zp_clip(small, 5, 1.0, 10, kept), ==, 3,
              "clip: clip_sigma=1 keeps 2 3 4 of 1 2 3 4 100");
    check(!kept[0] && kept[1] && kept[2] && kept[3] && !kept[4],
          "clip: 1 and 100 out at 1 sigma");
    check_int(count_kept(kept, 5), ==, 3, "clip: kept flags match count");
}

static void test_weighted_median(void)
{
    const double nan = NAN;

    /* err 0.5 -> weight 4 (exact in binary).  1 2 with weights 4 4: half
     * the total is 4, reached exactly by the first -> the lower, 1. */
    check_near(zp_weighted_median((const double[]){ 2.0, 1.0 },
                                  (const double[]){ 0.5, 0.5 }, NULL, 2),
               1.0, 0, "wmedian: a tie at half the weight takes the lower");
    /* 1 2 3 4, equal weights 4: cumulative 4 8 -> 2 (plain median 2.5). */
    check_near(zp_weighted_median((const double[]){ 4.0, 3.0, 2.0, 1.0 },
                                  (const double[]){ 0.5, 0.5, 0.5, 0.5 },
                                  NULL, 4),
               2.0, 0, "wmedian: even count, equal weights -> lower middle");
    /* Tied values: 3 1 3 2 -> sorted 1 2 3 3, weights 4: cumulative 4 8
     * -> 2. */
    check_near(zp_weighted_median((const double[]){ 3.0, 1.0, 3.0, 2.0 },
                                  (const double[]){ 0.5, 0.5, 0.5, 0.5 },
                                  NULL, 4),
               2.0, 0, "wmedian: tied values");
    /* 1 2 3 with weights 4 16 4 (err .5 .25 .5): total 24, half 12;
     * cumulative 4 20 -> 2. */
    check_near(zp_weighted_median((const double[]){ 1.0, 2.0, 3.0 },
                                  (const double[]){ 0.5, 0.25, 0.5 },
                                  NULL, 3),
               2.0, 0, "wmedian: heavy middle point");
    /* Weights 16 4 4: cumulative 16 >= 12 at once -> 1. */
    check_near(zp_weighted_median((const double[]){ 1.0, 2.0, 3.0 },
                                  (const double[]){ 0.25, 0.5, 0.5 },
                                  NULL, 3),
               1.0, 0, "wmedian: heavy first point wins");
    /* A point without a valid error (NaN, 0) does not take part. */
    check_near(zp_weighted_median((const double[]){ 1.0, 100.0, 200.0 },
                                  (const double[]){ 0.5, nan, 0.0 },
                                  NULL, 3),
               1.0, 0, "wmedian: invalid errors are left out");
    /* No valid error at all: the plain median of the kept, (2+3)/2. */
    check_near(zp_weighted_median((const double[]){ 1.0, 2.0, 3.0, 4.0 },
                                  (const double[]){ nan, nan, nan, nan },
                                  NULL, 4),
               2.5, 0, "wmedian: no valid error -> plain median");
    /* The kept mask: 1 and 2 clipped, so 3 4 with weights 4 4 -> 3. */
    check_near(zp_weighted_median((const double[]){ 1.0, 2.0, 3.0, 4.0 },
                                  (const double[]){ 0.5, 0.5, 0.5, 0.5 },
                                  (const unsigned char[]){ 0, 0, 1, 1 }, 4),
               3.0, 0, "wmedian: only kept points count");
    check(isnan(zp_weighted_median((const double[]){ 1.0 },
                                   (const double[]){ 0.5 },
                                   (const unsigned char[]){ 0 }, 1)),
          "wmedian: nothing kept -> NaN");
}

static void test_ladder(void)
{
    pp_config cfg = PP_CONFIG_INIT;
    zp_calib_params p;
    const unsigned char all[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
    double std, used;
    long n;

    /* The config's keys: zp_err_snr_min 100, fallbacks [50, 20],
     * zp_err_min_sources 5 (SPEC §4.1 defaults). */
    pp_config_defaults(&cfg);
    zp_calib_params_from_config(&cfg, &p);
    check(p.snr_min == 100.0 && p.n_snr_fallbacks == 2 &&
          p.snr_fallbacks[0] == 50.0 && p.snr_fallbacks[1] == 20.0 &&
          p.min_sources == 5 && !p.bright_std,
          "ladder: params come from the zp.* defaults");

    /* 4 points >= 100 (< 5), 6 >= 50 -> threshold 50, the first six:
     * 25.0 25.1 24.9 25.0 25.2 24.8, mean 25.0, squared deviations
     * 0 .01 .01 0 .04 .04 = .10, /5 = .02, std = sqrt(.02) =
     * 0.1414213562. */
    const double v1[8] = { 25.0, 25.1, 24.9, 25.0, 25.2, 24.8, 26.0, 27.0 };
    const double s1[8] = { 200, 150, 120, 110, 60, 55, 30, 10 };
    zp_err_std_ladder(v1, s1, all, 8, &p, &std, &n, &used);
    check(used == 50.0 && n == 6, "ladder: falls back to snr >= 50");
    check_near(std, 0.1414213562373095, 1e-12,
               "ladder: std of the six (ddof 1)");

    /* 4 >= 100, 4 >= 50, 7 >= 20 -> threshold 20, the first seven:
     * mean 175/7 = 25.0, squared deviations sum .10, /6 -> std =
     * sqrt(1/60) = 0.1290994449. */
    const double v2[8] = { 25.0, 25.1, 24.9, 25.0, 25.2, 24.8, 25.0, 27.0 };
    const double s2[8] = { 200, 150, 120, 110, 40, 30, 25, 10 };
    zp_err_std_ladder(v2, s2, all, 8, &p, &std, &n, &used);
    check(used == 20.0 && n == 7, "ladder: falls back to snr >= 20");
    check_near(std, 0.12909944487358055, 1e-12,
               "ladder: std of the seven");

    /* Only 3 >= 20 (and a NaN snr): all 8 kept points, threshold 0:
     * mean 200/8 = 25.0, squared deviations .10, /7 -> std =
     * sqrt(.1/7) = 0.1195228609. */
    const double v3[8] = { 25.0, 25.1, 24.9, 25.0, 25.2, 24.8, 25.0, 25.0 };
    const double s3[8] = { 200, 150, 120, 10, 10, 5, NAN, 1 };
    zp_err_std_ladder(v3, s3, all, 8, &p, &std, &n, &used);
    check(used == 0.0 && n == 8, "ladder: last resort uses every point");
    check_near(std, 0.11952286093343938, 1e-12, "ladder: std of all");

    /* 5 points >= 100: the first rung suffices.  v: 25 25.1 24.9 25
     * 25 (mean 25, squared deviations .02, /4 -> sqrt(.005)). */
    const double v4[6] = { 25.0, 25.1, 24.9, 25.0, 25.0, 30.0 };
    const double s4[6] = { 100, 101, 500, 1000, 100, 99.9 };
    zp_err_std_ladder(v4, s4, all, 6, &p, &std, &n, &used);
    check(used == 100.0 && n == 5, "ladder: snr >= 100 is enough (>= 5)");
    check_near(std, sqrt(0.005), 1e-12, "ladder: std at snr_min");

    /* A clipped point never counts, however bright: v1 with point 0
     * clipped -> 3 >= 100, 5 >= 50 -> threshold 50 with points 1-5:
     * 25.1 24.9 25.0 25.2 24.8, mean 25.0, squared deviations .10, /4
     * -> sqrt(.025). */
    const unsigned char k5[8] = { 0, 1, 1, 1, 1, 1, 1, 1 };
    zp_err_std_ladder(v1, s1, k5, 8, &p, &std, &n, &used);
    check(used == 50.0 && n == 5, "ladder: clipped points are left out");
    check_near(std, sqrt(0.025), 1e-12, "ladder: std without the clipped");

    /* zp_err_min_sources 7 (as --set would give): v1 has 6 >= 50 and
     * 7 >= 20 -> threshold 20. */
    p.min_sources = 7;
    zp_err_std_ladder(v1, s1, all, 8, &p, &std, &n, &used);
    check(used == 20.0 && n == 7, "ladder: min_sources=7 moves a rung");
    pp_config_release(&cfg);
}

static void test_mag_formulas(void)
{
    /* MAG = 25.3 - 2.5 log10(1000) = 25.3 - 7.5 = 17.8. */
    check_near(zp_mag(25.3, 1000.0), 17.8, 1e-12, "mag: ZP - 2.5 log10 F");
    check(isnan(zp_mag(25.3, 0.0)) && isnan(zp_mag(25.3, -5.0)) &&
          isnan(zp_mag(25.3, NAN)) && isnan(zp_mag(NAN, 10.0)),
          "mag: empty for F <= 0, missing F or no zero point");
    /* MAGERR: 1.0857362 * 10/1000 = .010857362; squared
     * 1.178823096e-4; + .02^2 = 5.178823096e-4; sqrt = .0227570277. */
    check_near(zp_magerr(1000.0, 10.0, 0.02), 0.022757027696934502, 1e-12,
               "magerr: flux error (+) ZP error");
    check_near(zp_magerr(1000.0, 0.0, 0.02), 0.02, 1e-15,
               "magerr: zero flux error leaves the ZP error");
    check(isnan(zp_magerr(1000.0, NAN, 0.02)) &&
          isnan(zp_magerr(1000.0, 10.0, NAN)) &&
          isnan(zp_magerr(0.0, 10.0, 0.02)),
          "magerr: empty without FLUXERR, ZP_err or with F = 0");
}

static void test_band_stats(void)
{
    zp_calib_params p = { 3.0, 10, 0, 100.0,
                          (const double[]){ 50.0, 20.0 }, 2, 5 };
    zp_band_stats st = { 0 };
    unsigned char kept[7];
    /* The clipping example with errors .01 (weight 10000) and snr 200:
     * kept 10.00 10.02 9.98 10.01 9.99 (equal weights): sorted 9.98
     * 9.99 10.00 10.01 10.02, cumulative 1 2 3 of 5 >= 2.5 -> 10.00;
     * |dev| .00 .02 .02 .01 .01 -> median .01 -> zp_err_mad = .014826;
     * zp_err_std over the 5 kept with snr >= 100: mean 10.00, squared
     * deviations .0001+.0004+.0004+.0001 = .001, /4 -> sqrt(.00025) =
     * .0158113883. */
    const double zp[7] = { 10.00, 10.02, 9.98, 10.01, 9.99, 10.08, 11.00 };
    const double e[7] = { .01, .01, .01, .01, .01, .01, .01 };
    const double s[7] = { 200, 200, 200, 200, 200, 200, 200 };

    zp_band_stats_compute(&p, zp, e, s, 7, kept, &st);
    check(st.n_raw == 7 && st.n_kept == 5 && st.n_clipped == 2,
          "stats: counts after clipping");
    check_near(st.zp_median, 10.00, 1e-12, "stats: weighted median");
    check_near(st.zp_err_mad, 0.014826, 1e-9, "stats: zp_err_mad");
    check_near(st.zp_err_std, sqrt(0.00025), 1e-9, "stats: zp_err_std");
    check(st.n_zp_err_src == 5 && st.zp_err_snr_used == 100.0,
          "stats: std used the 5 kept points >= snr 100");
    check(st.zp_err == st.zp_err_mad, "stats: all_mad picks the MAD");
    p.bright_std = 1;
    zp_band_stats_compute(&p, zp, e, s, 7, kept, &st);
    check(st.zp_err == st.zp_err_std, "stats: bright_std picks the std");
    zp_band_stats_compute(&p, zp, e, s, 0, kept, &st);
    check(st.n_raw == 0 && isnan(st.zp_median) && isnan(st.zp_err_mad) &&
          isnan(st.zp_err_std) && st.n_zp_err_src == 0,
          "stats: no star -> no zero point");
}

/* Single-band reliability, band by band (SPEC §12 step 1). */
static void test_single_reliability(void)
{
    static const char *const cols[] = {
        "excluded_any", "affected_by_bright_mask",
        "x_pix_white_g_fit", "y_pix_white_g_fit", "opt_hit_max_iters_g",
        "flag_bound_stalled_g", "opt_converged_g",
        "x_pix_white_r_fit", "y_pix_white_r_fit", "opt_hit_max_iters_r",
        "flag_bound_stalled_r", "opt_converged_r"
    };
    static const char *const cells[] = {
        /* 0: fine in both bands */
        "False", "False", "1", "2", "False", "False", "True",
        "1", "2", "False", "False", "True",
        /* 1: excluded */
        "True", "False", "", "", "", "", "", "", "", "", "", "",
        /* 2: under the bright mask */
        "False", "True", "1", "2", "False", "False", "True",
        "1", "2", "False", "False", "True",
        /* 3: g hit max iterations, r fine */
        "False", "False", "1", "2", "True", "False", "False",
        "1", "2", "False", "False", "True",
        /* 4: r bound-stalled, g fine but not converged (soft) */
        "False", "False", "1", "2", "False", "False", "False",
        "1", "2", "False", "True", "True",
        /* 5: no fit in g, r fine */
        "False", "False", "", "", "", "", "",
        "1", "2", "False", "False", "True",
    };
    pp_table t = PP_TABLE_INIT;
    pp_error err = PP_ERROR_INIT;
    unsigned char g[6], r[6];

    table_make(&t, cols, 12, cells, 6);
    check_int(zp_reliability(&t, "cat.csv", "g", NULL, g, &err), ==, PP_OK,
              "single: band g judged");
    check_int(zp_reliability(&t, "cat.csv", "r", NULL, r, &err), ==, PP_OK,
              "single: band r judged");
    check(g[0] && !g[1] && !g[2] && !g[3] && g[4] && !g[5],
          "single: g reliable in rows 0 and 4 only");
    check(r[0] && !r[1] && !r[2] && r[3] && !r[4] && r[5],
          "single: r reliable in rows 0, 3 and 5");
    /* want: only row 3 judged. */
    check_int(zp_reliability(&t, "cat.csv", "r",
                             (const unsigned char[]){ 0, 0, 0, 1, 0, 0 },
                             r, &err), ==, PP_OK, "single: want mask");
    check(!r[0] && r[3], "single: rows not wanted are not reliable");
    /* A bad boolean cell names the row and the column. */
    pp_table_set(&t, 4, 4, "yes");
    check_int(zp_reliability(&t, "cat.csv", "g", NULL, g, &err), ==,
              PP_EDATA, "single: 'yes' is not a boolean");
    check(strstr(err.msg, "cat.csv: row 5") &&
          strstr(err.msg, "'opt_hit_max_iters_g'") &&
          strstr(err.msg, "found 'yes'"), "single: message names it");
    /* An empty flag is "not set" (as pp-merge reads it): reliable. */
    pp_table_set(&t, 4, 4, "");
    check_int(zp_reliability(&t, "cat.csv", "g", NULL, g, &err), ==, PP_OK,
              "single: an empty flag is accepted");
    check(g[4], "single: an empty hit-max flag does not make it unreliable");
    /* A position that is not a number is no fit (pp-merge's rule). */
    pp_table_set(&t, 0, 2, "abc");
    check_int(zp_reliability(&t, "cat.csv", "g", NULL, g, &err), ==, PP_OK,
              "single: a non-numeric position is accepted");
    check(!g[0], "single: ... and means not fitted");
    /* A missing band column is named. */
    pp_error_clear(&err);
    check_int(zp_reliability(&t, "cat.csv", "i", NULL, g, &err), ==,
              PP_EDATA, "single: band i has no columns");
    check(strstr(err.msg, "'cat.csv': no 'x_pix_white_i_fit' column") !=
          NULL, "single: missing column named");
    pp_table_release(&t);
}

static void test_multi_reliability(void)
{
    static const char *const cols[] = { "fit_is_reliable" };
    static const char *const cells[] = { "True", "False", "", "True" };
    pp_table t = PP_TABLE_INIT;
    pp_error err = PP_ERROR_INIT;
    unsigned char rel[4];

    table_make(&t, cols, 1, cells, 4);
    check_int(zp_reliability(&t, "c.csv", NULL,
                             (const unsigned char[]){ 1, 1, 0, 1 }, rel,
                             &err), ==, PP_OK, "multi: judged");
    check(rel[0] && !rel[1] && !rel[2] && rel[3],
          "multi: fit_is_reliable decides");
    check_int(zp_reliability(&t, "c.csv", NULL, NULL, rel, &err), ==,
              PP_EDATA, "multi: an empty fit_is_reliable is an error");
    check(strstr(err.msg, "row 3") && strstr(err.msg, "fit_is_reliable"),
          "multi: message names row and column");
    pp_table_release(&t);
}

/* A whole catalogue in memory: band r has no Gaia magnitude column, an
 * earlier MAG_g_fit column is replaced in place. */
static void test_table(void)
{
    static const char *const ccols[] = {
        "ID", "gaia_source_id", "FLUX_g_fit", "FLUXERR_g_fit",
        "FLUX_r_fit", "FLUXERR_r_fit", "fit_is_reliable", "MAG_g_fit"
    };
    /* zp = mag + 2.5 log10 F: s1 17.6 + 7.5, s2 20.1 + 5, s3 15.1 + 10,
     * all 25.1; s4 (unreliable) 18 + 7.5 = 25.5. */
    static const char *const ccells[] = {
        "s1", "11", "1000", "10", "900", "9", "True", "old",
        "s2", "12", "100", "2", "90", "3", "True", "old",
        "s3", "13", "10000", "50", "9000", "30", "True", "old",
        "s4", "14", "1000", "10", "900", "9", "False", "old",
        "g5", "", "500", "", "-5", "1", "True", "old",
        "s6", "99", "10", "1", "9", "1", "True", "old",
    };
    static const char *const gcols[] = { "source_id", "ra", "dec",
                                         "phot_g_mean_mag", "mag_g" };
    static const char *const gcells[] = {
        "14", "0", "0", "18", "18", "11", "0", "0", "17", "17.6",
        "12", "0", "0", "20", "20.1", "13", "0", "0", "15", "15.1",
    };
    const char *bands[2] = { "g", "r" };
    zp_calib_params p = { 3.0, 10, 0, 100.0,
                          (const double[]){ 50.0, 20.0 }, 2, 5 };
    pp_table cat = PP_TABLE_INIT, gaia = PP_TABLE_INIT;
    zp_calib_out out = ZP_CALIB_OUT_INIT;
    pp_error err = PP_ERROR_INIT;
    double v;

    table_make(&cat, ccols, 8, ccells, 6);
    table_make(&gaia, gcols, 5, gcells, 4);
    check_int(zp_calib_table(&p, 1, bands, 2, 25.0, &cat, "c.csv", &gaia,
                             "g.csv", &out, &err), ==, PP_OK,
              "table: calibrated");
    check(out.n_candidates == 4 && out.n_sid_missing == 1,
          "table: 4 candidates, one source_id not in the GaiaXP file");
    check(pp_table_ncols(&cat) == 11 &&
          strcmp(pp_table_colname(&cat, 7), "MAG_g_fit") == 0 &&
          strcmp(pp_table_colname(&cat, 8), "MAGERR_g_fit") == 0 &&
          strcmp(pp_table_colname(&cat, 9), "MAG_r_fit") == 0 &&
          strcmp(pp_table_colname(&cat, 10), "MAGERR_r_fit") == 0,
          "table: MAG_g_fit replaced in place, the rest appended");
    check_near(out.stats[0].zp_median, 25.1, 1e-9, "table: g zero point");
    check(out.stats[0].n_raw == 3 && out.stats[0].n_unreliable == 1,
          "table: g has 3 reliable stars and 1 unreliable");
    /* g5: 25.1 - 2.5 log10(500) = 25.1 - 6.7474250108 = 18.3525749892. */
    pp_parse_double(pp_table_get(&cat, 4, 7), &v);
    check_near(v, 18.352574989159953, 1e-9, "table: MAG_g_fit of g5");
    check_str(pp_table_get(&cat, 4, 8), "",
              "table: no FLUXERR -> empty MAGERR");
    check(isnan(out.stats[1].zp_median) && out.stats[1].n_raw == 0,
          "table: band r without mag_r has no zero point");
    check_str(pp_table_get(&cat, 0, 9), "", "table: MAG_r_fit empty");
    check_str(pp_table_get(&cat, 0, 10), "", "table: MAGERR_r_fit empty");
    check_str(pp_table_get(&cat, 0, 0), "s1", "table: other cells kept");
    check(pp_table_nrows(&out.summary) == 2 &&
          pp_table_nrows(&out.per_object) == 3 &&
          pp_table_nrows(&out.unreliable) == 1,
          "table: summary 2 rows, per object 3, unreliable 1");
    check_str(pp_table_get(&out.summary, 1, 6), "",
              "table: r's zp_median empty in the summary");
    check_str(pp_table_get(&out.unreliable, 0, 2), "s4",
              "table: unreliable star listed with its ID");
    check_str(pp_table_get(&out.unreliable, 0, 9), "False",
              "table: unreliable star is_kept False");
    zp_calib_out_release(&out);

    /* A missing FLUXERR column is named. */
    pp_table_release(&cat);
    table_make(&cat, ccols, 3, ccells, 0);
    check_int(zp_calib_table(&p, 1, bands, 2, 25.0, &cat, "c.csv", &gaia,
                             "g.csv", &out, &err), ==, PP_EDATA,
              "table: no FLUXERR_g_fit column");
    check(strstr(err.msg, "'c.csv': no 'FLUXERR_g_fit' column") != NULL,
          "table: the message names file and column");
    zp_calib_out_release(&out);
    pp_table_release(&cat);
    pp_table_release(&gaia);
}

/* xorshift64*: reproducible bits without libc's rand(). */
static unsigned long long next_bits(unsigned long long *st)
{
    *st ^= *st >> 12;
    *st ^= *st << 25;
    *st ^= *st >> 27;
    return *st * 2685821657736338717ULL;
}

/* zp_format_double() against the reference pp_csv_format_double()
 * (snprintf + strtod) on special values and a million random ones:
 * magnitudes, errors, random bit patterns, negatives. */
static void test_format(void)
{
    static const double special[] = {
        0.0, -0.0, 1.0, -1.0, 0.1, 0.2, 0.3, 1e-4, 9.9999999999999991e-5,
        1e-5, 25.0, 25.02, 17.8, 1e15, 1e16, 1e17, 123456789012345678.0,
        9007199254740992.0, 9007199254740993.0, 4503599627370496.5,
        0.5, 0.25, 2.0, 1024.0, 1.0000000000000002, 0.99999999999999989,
        9.9999999999999982, 99.999999999999986, 1e-300, 1e300,
        0.029651999999999998, 0.022757027696934502, 18.352574989159953
    };
    unsigned long long st = 88172645463325252ULL;
    long bad = 0, n = 0;
    char a[32], b[32];

    for (size_t i = 0; i < sizeof special / sizeof *special; ++i, ++n)
        if (strcmp(zp_format_double(special[i], a),
                   pp_csv_format_double(special[i], b)) && bad++ < 5)
            printf("# %.17g: got '%s', expected '%s'\n", special[i], a, b);
    check_int(bad, ==, 0, "format: special values as pp_csv_format_double");
    check_str(zp_format_double(NAN, a), "", "format: NaN is empty");
    for (long i = 0; i < 1000000; ++i, ++n) {
        unsigned long long u = next_bits(&st);
        double v;
        switch (i % 4) {
        case 0:                     /* magnitudes */
            v = 10.0 + 20.0 * (double)(u >> 11) / 9007199254740992.0;
            break;
        case 1:                     /* errors over 6 decades */
            v = pow(10.0, -5.0 + 6.0 * (double)(u >> 11) /
                    9007199254740992.0);
            break;
        case 2: {                   /* any bits with exponent in 2^-80..2^60 */
            unsigned long long ex = 1023 - 80 + (u >> 52) % 140;
            u = (u & 0x800fffffffffffffULL) | (ex << 52);
            memcpy(&v, &u, sizeof v);
            break;
        }
        default:                    /* short decimals and their negatives */
            v = (double)(long long)(u % 2000001) / 1000.0 - 1000.0;
        }
        if (strcmp(zp_format_double(v, a), pp_csv_format_double(v, b))) {
            if (bad++ < 5)
                printf("# %.17g: got '%s', expected '%s'\n", v, a, b);
        }
    }
    check_int(bad, ==, 0, "format: a million random values match the "
              "snprintf/strtod reference");
    check(n > 1000000, "format: all values tried");
}

int main(void)
{
    pp_log_init("test_zp_calib");
    pp_log_set_level(PP_LOG_ERROR);     /* the per-band lines are noise */
    test_clip();
    test_weighted_median();
    test_ladder();
    test_mag_formulas();
    test_band_stats();
    test_single_reliability();
    test_multi_reliability();
    test_table();
    test_format();
    return tap_done();
}
