/* test_merge_reliability.c - pp-merge's fit columns (SPEC §10.5) and
 * reliability tags (SPEC §11 step 7; the seed's hard-fail and soft-warning
 * tables), one case per tag, in both fitting modes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge.h"
#include "tap.h"

static const char *const bands[] = { "m400", "m425", "m450" };

static void test_columns(void)
{
    merge_fitcols fc;

    merge_fitcols_build(bands, 3, 1, &fc);
    /* 12 patch/PSF columns + 20 multi-band columns + 2 per band. */
    check_int(fc.n, ==, 12 + 20 + 6, "multi-band: 38 fit columns");
    check_str(fc.names[0], "x_pix_patch", "first is x_pix_patch");
    check_str(fc.names[11], "psf_fallback_reasons_json",
              "12th is psf_fallback_reasons_json");
    check_str(fc.names[12], "opt_niters", "then opt_niters");
    check_str(fc.names[22], "RA_fit", "RA_fit at 23rd");
    check_str(fc.names[31], "THETA_fit", "THETA_fit at 32nd");
    check_str(fc.names[32], "FLUX_m400_fit", "then FLUX_m400_fit");
    check_str(fc.names[37], "FLUXERR_m450_fit", "last FLUXERR_m450_fit");
    check_str(fc.names[fc.xw[0]], "x_pix_white_fit", "position column");
    check_str(fc.names[fc.conv[0]], "opt_converged", "converged column");
    check_str(fc.names[fc.stalled[0]], "flag_bound_stalled",
              "bound-stalled column");
    merge_fitcols_release(&fc);

    merge_fitcols_build(bands, 3, 0, &fc);
    /* 12 + stype_fit + 21 per band. */
    check_int(fc.n, ==, 12 + 1 + 63, "single-band: 76 fit columns");
    check_str(fc.names[12], "stype_fit", "stype_fit after the PSF columns");
    check_str(fc.names[13], "x_pix_patch_m400_fit", "band block starts");
    check_str(fc.names[13 + 13], "FLUX_m400_fit", "FLUX_<b>_fit 14th");
    check_str(fc.names[13 + 15], "opt_niters_m400", "opt_niters_<b>");
    check_str(fc.names[13 + 20], "flag_bound_stalled_which_parameter_m400",
              "block ends with the which-parameter column");
    check_str(fc.names[34], "x_pix_patch_m425_fit", "second band block");
    check_str(fc.names[fc.xw[1]], "x_pix_white_m425_fit", "xw of band 2");
    check_str(fc.names[fc.dec[2]], "DEC_m450_fit", "dec of band 3");
    check_str(fc.names[fc.hit[1]], "opt_hit_max_iters_m425", "hit band 2");
    check_str(fc.names[fc.conv[2]], "opt_converged_m450", "conv band 3");
    check_str(fc.names[fc.stalled[0]], "flag_bound_stalled_m400",
              "stalled band 1");
    check_str(fc.names[fc.n - 1], "flag_bound_stalled_which_parameter_m450",
              "last column");
    merge_fitcols_release(&fc);
}

static void expect(const merge_state *s, int reliable, const char *tags,
                   const char *title)
{
    char issues[128];
    char t1[160];
    int rel = merge_reliability(s, issues, sizeof issues);

    snprintf(t1, sizeof t1, "%s: reliable %d", title, reliable);
    check_int(rel, ==, reliable, t1);
    snprintf(t1, sizeof t1, "%s: issues '%s'", title, tags);
    check_str(issues, tags, t1);
}

static void test_tags(void)
{
    const merge_state good = { .has_fit = 1, .has_position = 1,
                               .converged = 1 };
    merge_state s;

    expect(&good, 1, "", "converged fit");
    s = (merge_state){ .excluded = 1 };
    expect(&s, 0, "excluded", "excluded, no fit");
    s = (merge_state){ 0 };
    expect(&s, 0, "no_fit_result", "not excluded, no fit row");
    s = good;
    s.has_position = 0;
    expect(&s, 0, "no_fit_result", "fit row without a position");
    s = good;
    s.hit_max = 1;
    s.converged = 0;
    expect(&s, 0, "hit_max_iters", "hit max (not also not_converged)");
    s = good;
    s.bound_stalled = 1;
    expect(&s, 0, "bound_stalled", "bound stalled");
    s = good;
    s.bright_mask = 1;
    expect(&s, 0, "bright_mask", "bright mask");
    s = good;
    s.not_converged = 1;
    s.converged = 0;
    expect(&s, 1, "not_converged", "not converged is soft");
    s = good;
    s.all_psf_fallback = 1;
    expect(&s, 1, "all_psf_fallback", "all PSF fallback is soft");
    s = (merge_state){ .excluded = 1, .bright_mask = 1 };
    expect(&s, 0, "excluded,bright_mask", "excluded and bright, in order");
    s = (merge_state){ .has_fit = 1, .hit_max = 1, .bound_stalled = 1,
                       .bright_mask = 1, .not_converged = 1,
                       .all_psf_fallback = 1 };
    expect(&s, 0, "no_fit_result,hit_max_iters,bound_stalled,bright_mask,"
           "not_converged,all_psf_fallback", "all but excluded, in order");
}

/* A fit table: "ID" then the fit columns, one row per case, cells set by
 * name. */
static void set(pp_table *t, long r, const char *col, const char *v)
{
    pp_table_set(t, r, pp_table_find_column(t, col, NULL), v);
}

static pp_table single_table(const merge_fitcols *fc, long nrows)
{
    pp_table t = PP_TABLE_INIT;

    pp_table_add_column(&t, "ID", -1);
    for (int j = 0; j < fc->n; ++j)
        pp_table_add_column(&t, fc->names[j], -1);
    for (long r = 0; r < nrows; ++r) {
        pp_table_add_row(&t);
        set(&t, r, "psf_fallback_band_count", "0");
        for (int b = 0; b < 3; ++b) {
            char n[64];
            snprintf(n, sizeof n, "x_pix_white_%s_fit", bands[b]);
            set(&t, r, n, "10.5");
            snprintf(n, sizeof n, "y_pix_white_%s_fit", bands[b]);
            set(&t, r, n, "20.25");
            snprintf(n, sizeof n, "opt_converged_%s", bands[b]);
            set(&t, r, n, "True");
            snprintf(n, sizeof n, "opt_hit_max_iters_%s", bands[b]);
            set(&t, r, n, "False");
            snprintf(n, sizeof n, "flag_bound_stalled_%s", bands[b]);
            set(&t, r, n, "False");
        }
    }
    return t;
}

static void from_fit(const pp_table *t, long r, const merge_fitcols *fc,
                     int reliable, const char *tags, const char *title)
{
    merge_state s = { 0 };
    pp_error err = PP_ERROR_INIT;

    check_int(merge_state_from_fit(t, r, 1, fc, "fit.csv", &s, &err), ==,
              PP_OK, title);
    expect(&s, reliable, tags, title);
}

static void test_single_band(void)
{
    merge_fitcols fc;
    pp_table t;
    merge_state s = { 0 };
    pp_error err = PP_ERROR_INIT;

    merge_fitcols_build(bands, 3, 0, &fc);
    t = single_table(&fc, 8);
    /* row 1: band 2 alone hit the iteration budget */
    set(&t, 1, "opt_converged_m425", "False");
    set(&t, 1, "opt_hit_max_iters_m425", "True");
    /* row 2: band 3 alone stalled at a bound */
    set(&t, 2, "flag_bound_stalled_m450", "True");
    /* row 3: band 1 alone not converged, budget not spent */
    set(&t, 3, "opt_converged_m400", "False");
    /* row 4: every band on the fallback PSF */
    set(&t, 4, "psf_fallback_band_count", "3");
    /* row 5: two of three bands on the fallback: not all */
    set(&t, 5, "psf_fallback_band_count", "2");
    /* row 6: no band has a position */
    for (int b = 0; b < 3; ++b) {
        char n[64];
        snprintf(n, sizeof n, "x_pix_white_%s_fit", bands[b]);
        set(&t, 6, n, "");
    }
    /* row 7: one band (m450) has a position: a fit result */
    set(&t, 7, "x_pix_white_m400_fit", "");
    set(&t, 7, "y_pix_white_m425_fit", "");

    from_fit(&t, 0, &fc, 1, "", "single-band: all bands fine");
    from_fit(&t, 1, &fc, 0, "hit_max_iters", "single-band: one band hit "
             "max");
    from_fit(&t, 2, &fc, 0, "bound_stalled", "single-band: one band "
             "stalled");
    from_fit(&t, 3, &fc, 1, "not_converged", "single-band: one band not "
             "converged");
    from_fit(&t, 4, &fc, 1, "all_psf_fallback", "single-band: all bands "
             "fallback");
    from_fit(&t, 5, &fc, 1, "", "single-band: 2 of 3 fallback is not all");
    from_fit(&t, 6, &fc, 0, "no_fit_result", "single-band: no position");
    from_fit(&t, 7, &fc, 1, "", "single-band: one band's position is a "
             "result");

    set(&t, 0, "opt_converged_m425", "yes");
    check_int(merge_state_from_fit(&t, 0, 1, &fc, "fit.csv", &s, &err), ==,
              PP_EDATA, "a bad boolean is a data error");
    check(strstr(err.msg, "column 'opt_converged_m425': found 'yes', "
                 "expected True or False") != NULL,
          "naming the column, the text and what was expected");
    pp_table_release(&t);
    merge_fitcols_release(&fc);
}

static void test_bool(void)
{
    check_int(merge_parse_bool("True"), ==, 1, "True");
    check_int(merge_parse_bool("false"), ==, 0, "false (any case)");
    check_int(merge_parse_bool(""), ==, -1, "empty is missing");
    check_int(merge_parse_bool("1"), ==, -2, "1 is not a SPEC 3.4 bool");
    check_int(merge_parse_bool(" True"), ==, -2, "no trimming");
}

int main(void)
{
    test_columns();
    test_tags();
    test_single_band();
    test_bool();
    return tap_done();
}
