#!/bin/sh
test_description='pp-zp calibrate re-run alone after changing zp.clip_* and
zp.zp_err_* keys: the MAG/MAGERR columns are replaced, never duplicated,
every other cell survives byte for byte, a re-run with the same keys
gives the same file (SPEC §12)'
. "$(dirname "$0")/lib-cli.sh"
. "$PP_TOP/tests/cli/lib-zpcal.sh"

CSV="perl $PP_TOP/tests/cli/csvcol.pl"
CAT=f/work/output_catalog.csv
SUM=f/work/ZP/zp_summary.csv

# One band g, the worked example of t6000 (zp_ref 25): zp_i = mag_g +
# 2.5 log10 F, snr = F/FE:
#   A 25.02 (snr 200), B 24.98 (100), C 25.00 (100), D 25.01 (50),
#   E 24.99 (25), F 25.50 (20); U unreliable.
# Defaults (clip_sigma 3): F clipped, zp_median 25.02, zp_err_mad .029652,
#   zp_err_std over A-E (snr >= 20) .0158113883.
# The other cells are hostile text: a quoted comma, a quote, leading
# zeros, NA, spaces, UTF-8, an existing MAG_g_fit column in the middle.
write_inputs() {
    mkdir -p f/work &&
    cat >f/config.yaml <<-EOF &&
	inputs:
	  input_catalog: input_catalog.csv
	  image_list_file: image_list.txt
	  gaiaxp_synphot_csv: gaiaxp.csv
	outputs:
	  work_dir: work
	EOF
    frames_json g >f/work/frames.json &&
    cat >f/gaiaxp.csv <<-EOF &&
	source_id,ra,dec,phot_g_mean_mag,mag_g
	1001,0,0,15,15.02
	1002,0,0,15,14.98
	1003,0,0,17,17.50
	1004,0,0,17,17.51
	1005,0,0,20,19.99
	1006,0,0,20,20.50
	1007,0,0,17,17.3
	EOF
    cat >$CAT <<-EOF
	ID,note,MAG_g_fit,gaia_source_id,FLUX_g_fit,FLUXERR_g_fit,fit_is_reliable,fit_quality_issues
	00101,"a, b",old,1001,10000,50,True,
	00102,"say ""hi""",old,1002,1.0e4,1.00e2,True,
	00103,NA,,1003,1000.000,10,True,
	00104,  spaced  ,old,1004,1000,20,True,not_converged
	00105,étoile,old,1005,100,4,True,
	00106,,old,1006,100,5,True,
	00107,x,old,1007,1000,10,False,"bound_stalled,not_converged"
	g01,"two
	lines",old,,500,5,True,
	EOF
}

MAGCOLS="ID MAG_g_fit MAGERR_g_fit"
OTHER="ID note gaia_source_id FLUX_g_fit FLUXERR_g_fit fit_is_reliable fit_quality_issues"

test_expect_success 'setup and first run with the defaults' '
    write_inputs && cp $CAT cat.orig &&
    pp-zp calibrate -c f/config.yaml 2>log &&
    cp $CAT run1.csv && cp $SUM sum1.csv &&
    $CSV $CAT >h1 &&
    printf "ID\tnote\tMAG_g_fit\tgaia_source_id\tFLUX_g_fit\tFLUXERR_g_fit\tfit_is_reliable\tfit_quality_issues\tMAGERR_g_fit\n" >expect &&
    test_cmp expect h1 &&
    $CSV cat.orig $OTHER >other.orig && $CSV $CAT $OTHER >other &&
    test_cmp other.orig other
'

# clip_sigma 30: iteration 1 (median 25.005, sigma .022239) keeps F
# (|dev| .495 < .667): nothing clipped.  Weighted median with F (weight
# 400 against A 40000, ..., total 63525, half 31762.5): cumulative 10000
# 10625 20625 23125 63125 -> still A, 25.02, so MAG is unchanged.
# zp_err_mad = 1.4826 * median(0 .01 .02 .03 .04 .48) = 1.4826 * .025 =
# .037065; zp_err_std over the 6 points with snr >= 20 (F has snr 20) =
# 0.2046134567.  MAGERR of A: sqrt(.005428681^2 + .037065^2) =
# 0.0374604432; of g01 (F 500, FE 5): sqrt(.010857362^2 + .037065^2) =
# 0.0386224874.
test_expect_success '--set zp.clip_sigma=30 changes only what it should' '
    pp-zp calibrate -c f/config.yaml --set zp.clip_sigma=30 2>log &&
    $CSV $CAT >h2 && test_cmp h1 h2 &&
    $CSV $CAT $OTHER >other && test_cmp other.orig other &&
    $CSV run1.csv ID MAG_g_fit >a && $CSV $CAT ID MAG_g_fit >b &&
    test_cmp a b &&
    $CSV $CAT ID MAGERR_g_fit >got &&
    head -n 1 got >got1 && tail -n 1 got >got8 &&
    printf "00101\t0.03746044316875818\n" >expect && $NEAR expect got1 &&
    printf "g01\t0.03862248742117789\n" >expect && $NEAR expect got8 &&
    $CSV $SUM band n_raw n_kept n_clipped clip_sigma zp_median zp_err_mad zp_err_std n_zp_err_src zp_err_snr_used >got &&
    printf "g\t6\t6\t0\t30\t25.02\t0.037065\t0.20461345670963743\t6\t20\n" >expect &&
    $NEAR expect got &&
    $CSV f/work/ZP/zp_all_bands__per_object.csv is_clipped >got &&
    test_line_count = 6 got && test_must_fail grep True got
'

# bright_std: ZP_err = zp_err_std = .0158113883; MAGERR of A:
# sqrt(.005428681^2 + .0158113883^2) = 0.0167173735.
test_expect_success '--set zp.zp_err_method=bright_std switches ZP_err' '
    pp-zp calibrate -c f/config.yaml --set zp.zp_err_method=bright_std 2>log &&
    $CSV $CAT >h3 && test_cmp h1 h3 &&
    $CSV $CAT ID MAGERR_g_fit >got && head -n 1 got >got1 &&
    printf "00101\t0.01671737351977759\n" >expect && $NEAR expect got1 &&
    grep "ZP_err=0.0158 (bright_std)" log
'

# zp_err_min_sources 3: the 3 kept points with snr >= 100 (A B C: 25.02
# 24.98 25.00, mean 25.00, squared deviations .0008, /2) -> std .02.
test_expect_success '--set zp.zp_err_min_sources=3 stops at snr_min 100' '
    pp-zp calibrate -c f/config.yaml --set zp.zp_err_min_sources=3 2>log &&
    $CSV $SUM zp_err_std n_zp_err_src zp_err_snr_used >got &&
    printf "0.02\t3\t100\n" >expect && $NEAR expect got
'

# Fallbacks [25]: >= 100 gives 3, >= 25 gives A B C D E (5) -> the same
# std as the default run, threshold 25.
test_expect_success '--set zp.zp_err_snr_fallbacks=[25.0] is the ladder' '
    pp-zp calibrate -c f/config.yaml --set "zp.zp_err_snr_fallbacks=[25.0]" 2>log &&
    $CSV $SUM zp_err_std n_zp_err_src zp_err_snr_used >got &&
    printf "0.0158113883008419\t5\t25\n" >expect && $NEAR expect got
'

# clip_max_iters 0: no clipping; the summary says so.
test_expect_success '--set zp.clip_max_iters=0 keeps every star' '
    pp-zp calibrate -c f/config.yaml --set zp.clip_max_iters=0 2>log &&
    $CSV $SUM n_kept n_clipped >got &&
    printf "6\t0\n" >expect && test_cmp expect got
'

test_expect_success 'a re-run with the first keys gives the first file' '
    pp-zp calibrate -c f/config.yaml 2>log &&
    test_cmp run1.csv $CAT && test_cmp sum1.csv $SUM &&
    test_no_tmp_files f/work
'

test_done
