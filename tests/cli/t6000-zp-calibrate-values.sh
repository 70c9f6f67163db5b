#!/bin/sh
test_description='pp-zp calibrate on a hand-written final catalogue and
GaiaXP file: the ZP/ files'"'"' columns and values, the MAG columns and
the log lines against numbers worked out by hand (SPEC §12)'
. "$(dirname "$0")/lib-cli.sh"
. "$PP_TOP/tests/cli/lib-zpcal.sh"

CSV="perl $PP_TOP/tests/cli/csvcol.pl"
CAT=f/work/output_catalog.csv
SUM=f/work/ZP/zp_summary.csv
OBJ=f/work/ZP/zp_all_bands__per_object.csv
UNR=f/work/ZP/zp_unreliable__per_object.csv

# The worked example (zp_ref 25, default zp.* keys: clip_sigma 3, 10
# iterations, all_mad, snr_min 100, fallbacks [50, 20], min_sources 5).
# Band g, zp_i = mag_g + 2.5 log10 F: A 15.02+10 = 25.02, B 24.98,
# C 17.50+7.5 = 25.00, D 25.01, E 19.99+5 = 24.99, F 25.50; snr = F/FE:
# A 200, B 100, C 100, D 50, E 25, F 20.  U (fit_is_reliable False)
# 24.80 is unreliable; X has F < 0 (no zp_i); the excluded row has no
# flux; 00019's source_id 1999 is not in the GaiaXP file.
#  clipping: iter 1 median 25.005, MAD .015, 3 sigma = 3*1.4826*.015 =
#   .066717 -> F (|dev| .495) out; iter 2 median 25.00, MAD .01, 3 sigma
#   .044478 -> same 5 kept, stop: n_raw 6, n_kept 5, n_clipped 1.
#  weighted median, weights 1/zp_err^2 with zp_err = 1.0857362/snr, i.e.
#   proportional to snr^2: sorted B 24.98 (10000), E 24.99 (625), C 25.00
#   (10000), D 25.01 (2500), A 25.02 (40000); total 63125, half 31562.5;
#   cumulative 10000 10625 20625 23125 63125 -> zp_median = 25.02.
#  zp_err_mad: |dev| from 25.02: 0 .04 .02 .01 .03 -> median .02 ->
#   1.4826*.02 = 0.029652.
#  zp_err_std: snr >= 100: A B C (3 < 5); >= 50: +D (4); >= 20: +E (5,
#   F is clipped) -> snr_used 20, n 5: 25.02 24.98 25.00 25.01 24.99, mean
#   25.00, squared deviations .001, /4 -> sqrt(.00025) = 0.0158113883.
# Band r: A 17.40+7.5 = 24.90 (snr 100), B 24.95 (100), C 19.92+5 = 24.92
#  (snr 10); U 24.50 unreliable.  Clipping: median 24.92, MAD .02, 3 sigma
#  .088956: all kept.  Weights 10000 100 10000 in sorted order A C B:
#  total 20100, half 10050, cumulative 10000 10100 -> zp_median 24.92.
#  zp_err_mad: |dev| .02 0 .03 -> .02 -> 0.029652.  zp_err_std: 2 points
#  at snr >= 100, 50 and 20 (< 5) -> all 3, snr_used 0: mean 24.923333,
#  std (ddof 1) = 0.0251661148.
# Band i: mag_i empty for every star -> no zero point, a WARNING.
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
    frames_json g r i >f/work/frames.json &&
    cat >f/gaiaxp.csv <<-EOF &&
	source_id,ra,dec,phot_g_mean_mag,mag_g,mag_r,mag_i
	1001,150.001,2.001,15.1,15.02,17.40,
	1002,150.002,2.002,15.0,14.98,17.45,
	1003,150.003,2.003,17.6,17.50,19.92,
	1004,150.004,2.004,17.6,17.51,,
	1005,150.005,2.005,20.0,19.99,,
	1006,150.006,2.006,20.6,20.50,,
	1007,150.007,2.007,17.4,17.3,17.0,
	1008,150.008,2.008,18.0,18,,
	1010,150.010,2.010,16.0,16,16,
	3000,150.300,2.300,12.0,12,12,
	EOF
    cat >$CAT <<-EOF
	ID,RA,DEC,TYPE,x_pix_white,y_pix_white,excluded_crop,excluded_saturation,excluded_any,excluded_reason,gaia_source_id,x_pix_patch,y_pix_patch,patch_tag,opt_converged,FLUX_g_fit,FLUXERR_g_fit,FLUX_r_fit,FLUXERR_r_fit,FLUX_i_fit,FLUXERR_i_fit,fit_is_reliable,fit_quality_issues
	00101,150.0010,2.0010,STAR,10.50,20.5,False,False,False,,1001,1.50,2.5,r00_c00_pr00_pc00,True,10000,50,1000,10,2000,20,True,
	00102,150.0020,2.0020,STAR,11.5,21.5,False,False,False,,1002,2.5,3.5,r00_c00_pr00_pc00,True,10000,100,1000,10,2000,20,True,
	00103,150.0030,2.0030,STAR,12.5,22.5,False,False,False,,1003,3.5,4.5,r00_c00_pr00_pc00,True,1000,10,100,10,2000,20,True,
	00104,150.0040,2.0040,STAR,13.5,23.5,False,False,False,,1004,4.5,5.5,r00_c00_pr00_pc00,False,1000,20,1000,10,2000,20,True,not_converged
	00105,150.0050,2.0050,STAR,14.5,24.5,False,False,False,,1005,5.5,6.5,r00_c00_pr00_pc00,True,100,4,1000,10,2000,20,True,
	00106,150.0060,2.0060,STAR,15.5,25.5,False,False,False,,1006,6.5,7.5,r00_c00_pr00_pc00,True,100,5,1000,10,2000,20,True,
	00107,150.0070,2.0070,STAR,16.5,26.5,False,False,False,,1007,7.5,8.5,r00_c00_pr00_pc00,False,1000,10,1000,10,2000,20,False,"bound_stalled,not_converged"
	00108,150.0080,2.0080,STAR,17.5,27.5,False,False,False,,1008,8.5,9.5,r00_c00_pr00_pc00,True,-3,2,1000,10,2000,20,True,
	"my gal, 1",150.0090,2.0090,GAL,18.5,28.5,False,False,False,,,9.5,10.5,r00_c00_pr00_pc00,True,500,5,400,,300,3,True,
	00019,150.0100,2.0100,,19.5,29.5,False,False,False,,1999,10.5,11.5,r00_c00_pr00_pc00,True,1000,10,1000,10,2000,20,True,
	00110,150.0200,2.0200,STAR,-5.0,29.5,True,False,True,crop,1010,,,,,,,,,,,False,excluded
	EOF
}

test_expect_success 'setup: final catalogue, GaiaXP file, frames.json' '
    write_inputs && cp $CAT cat.orig
'

test_expect_success 'pp-zp --help lists calibrate' '
    pp-zp --help >help &&
    grep "^  calibrate " help
'

test_expect_success 'calibrate writes the three ZP files and the catalogue' '
    pp-zp calibrate -c f/config.yaml 2>log &&
    test_path_is_file $SUM && test_path_is_file $OBJ &&
    test_path_is_file $UNR && test_no_tmp_files f/work
'

test_expect_success 'zp_summary.csv: columns and the worked example' '
    $CSV $SUM >got.h &&
    printf "band\tn_raw\tn_kept\tn_clipped\tn_unreliable\tclip_sigma\tzp_median\tzp_err_mad\tzp_err_std\tn_zp_err_src\tzp_err_snr_used\n" >expect.h &&
    test_cmp expect.h got.h &&
    $CSV $SUM band n_raw n_kept n_clipped n_unreliable clip_sigma zp_median zp_err_mad zp_err_std n_zp_err_src zp_err_snr_used >got &&
    cat >expect <<-EOF &&
	g	6	5	1	1	3	25.02	0.029652	0.0158113883008419	5	20
	r	3	3	0	1	3	24.92	0.029652	0.025166114784236	3	0
	i	0	0	0	0	3				0	0
	EOF
    $NEAR expect got
'

# zp_err = 1.0857362 FE/F: A .005428681, B C .010857362, D .021714724,
# E .043429448, F .05428681; r: A B .010857362, C .10857362.
test_expect_success 'zp_all_bands__per_object.csv: reliable stars only' '
    $CSV $OBJ >got.h &&
    printf "band\tgaia_source_id\tID\tgaiaxp_mag\tflux\tfluxerr\tsnr\tzp\tzp_err\tis_kept\tis_clipped\n" >expect.h &&
    test_cmp expect.h got.h &&
    $CSV $OBJ band gaia_source_id ID gaiaxp_mag flux fluxerr snr zp zp_err is_kept is_clipped >got &&
    cat >expect <<-EOF &&
	g	1001	00101	15.02	10000	50	200	25.02	0.005428681	True	False
	g	1002	00102	14.98	10000	100	100	24.98	0.010857362	True	False
	g	1003	00103	17.5	1000	10	100	25	0.010857362	True	False
	g	1004	00104	17.51	1000	20	50	25.01	0.021714724	True	False
	g	1005	00105	19.99	100	4	25	24.99	0.043429448	True	False
	g	1006	00106	20.5	100	5	20	25.5	0.05428681	False	True
	r	1001	00101	17.4	1000	10	100	24.9	0.010857362	True	False
	r	1002	00102	17.45	1000	10	100	24.95	0.010857362	True	False
	r	1003	00103	19.92	100	10	10	24.92	0.10857362	True	False
	EOF
    $NEAR expect got
'

test_expect_success 'zp_unreliable__per_object.csv: the unreliable star' '
    $CSV $UNR >got.h && test_cmp expect.h got.h &&
    $CSV $UNR band gaia_source_id ID zp is_kept is_clipped >got &&
    printf "g\t1007\t00107\t24.8\tFalse\tFalse\nr\t1007\t00107\t24.5\tFalse\tFalse\n" >expect &&
    $NEAR expect got
'

# MAG = zp_median - 2.5 log10 F (F > 0), MAGERR = sqrt((1.0857362 FE/F)^2
# + ZP_err^2), ZP_err = zp_err_mad = 0.029652 in g and r:
# g F 10000 FE 50: 25.02 - 10 = 15.02, sqrt(.005428681^2 + .029652^2) =
# .030144845; F 500 FE 5: 25.02 - 6.7474250108 = 18.2725749892; F -3 FE 2:
# no MAG, MAGERR sqrt(.72382413^2 + .029652^2) = .72443124; r F 400, no
# FE: 24.92 - 6.5051499783 = 18.4148500217 and no MAGERR.
test_expect_success 'MAG and MAGERR columns of every row' '
    $CSV $CAT ID MAG_g_fit MAGERR_g_fit MAG_r_fit MAGERR_r_fit MAG_i_fit MAGERR_i_fit >got &&
    cat >expect <<-EOF &&
	00101	15.02	0.03014484502198943	17.42	0.031577261021169076		
	00102	15.02	0.031577261021169076	17.42	0.031577261021169076		
	00103	17.52	0.031577261021169076	19.92	0.11254986478847674		
	00104	17.52	0.03675282767891711	17.42	0.031577261021169076		
	00105	20.02	0.052586671862599396	17.42	0.031577261021169076		
	00106	20.02	0.06185708402419321	17.42	0.031577261021169076		
	00107	17.52	0.031577261021169076	17.42	0.031577261021169076		
	00108		0.7244312369712884	17.42	0.031577261021169076		
	my gal, 1	18.272574989159953	0.031577261021169076	18.414850021680095			
	00019	17.52	0.031577261021169076	17.42	0.031577261021169076		
	00110						
	EOF
    $NEAR expect got
'

test_expect_success 'columns: the input ones, then MAG/MAGERR band by band' '
    $CSV cat.orig >in.h && $CSV $CAT >out.h &&
    printf "%s\tMAG_g_fit\tMAGERR_g_fit\tMAG_r_fit\tMAGERR_r_fit\tMAG_i_fit\tMAGERR_i_fit\n" "$(cat in.h)" >expect.h &&
    test_cmp expect.h out.h
'

test_expect_success 'every input cell survives byte for byte' '
    cols=$(tr "\t" " " <in.h) &&
    $CSV cat.orig $cols >a && $CSV $CAT $cols >b && test_cmp a b
'

test_expect_success 'log: ZP_median, offset from zp_ref, error, counts' '
    grep "| INFO | band g: ZP_median=25.0200 ZP_median-zp_ref=+0.0200 (ZP_AUTO error, = zp_true - ZP_AUTO) ZP_err=0.0297 (all_mad) zp_err_mad=0.0297 zp_err_std=0.0158 (5 stars, snr>=20) n_raw=6 n_kept=5 n_clipped=1 n_unreliable=1" log &&
    grep "| INFO | band r: ZP_median=24.9200 ZP_median-zp_ref=-0.0800 .* n_raw=3 n_kept=3 n_clipped=0 n_unreliable=1" log &&
    grep "| WARNING | band i: no zero point .*MAG_i_fit and MAGERR_i_fit left empty" log &&
    grep "| INFO | candidates: 9 rows with a gaia_source_id found in the GaiaXP file (1 with one not found there)" log &&
    grep "| INFO | calibrate timing \[s\]: read=" log &&
    grep "band g: ZP_median=" f/work/pp-zp.log
'

# Single-band mode (SPEC §12 step 1): band b'"'"'s own flags decide.
# Stars P Q R S T, zp_i = 25 + k/100 in g and r (mag = zp - 7.5, F 1000,
# FE 10, snr 100): P fine; Q hit max iterations in g only; R bound-stalled
# in r only; S not fitted in r (empty r fit); T not converged (soft) but
# under the bright mask.  g reliable: P R S; r reliable: P Q.
test_expect_success 'single-band mode: reliability per band' '
    mkdir -p s/work &&
    cp f/config.yaml s/ && frames_json g r >s/work/frames.json &&
    cat >s/gaiaxp.csv <<-EOF &&
	source_id,ra,dec,phot_g_mean_mag,mag_g,mag_r
	1,0,0,17,17.50,17.50
	2,0,0,17,17.51,17.52
	3,0,0,17,17.52,17.54
	4,0,0,17,17.53,17.56
	5,0,0,17,17.54,17.58
	EOF
    cat >s/work/output_catalog.csv <<-EOF &&
	ID,excluded_any,affected_by_bright_mask,gaia_source_id,x_pix_white_g_fit,y_pix_white_g_fit,FLUX_g_fit,FLUXERR_g_fit,opt_converged_g,opt_hit_max_iters_g,flag_bound_stalled_g,x_pix_white_r_fit,y_pix_white_r_fit,FLUX_r_fit,FLUXERR_r_fit,opt_converged_r,opt_hit_max_iters_r,flag_bound_stalled_r,fit_is_reliable
	P,False,False,1,1,1,1000,10,True,False,False,1,1,1000,10,True,False,False,True
	Q,False,False,2,1,1,1000,10,False,True,False,1,1,1000,10,True,False,False,False
	R,False,False,3,1,1,1000,10,True,False,False,1,1,1000,10,True,False,True,False
	S,False,False,4,1,1,1000,10,True,False,False,,,,,,,,False
	T,False,True,5,1,1,1000,10,False,False,False,1,1,1000,10,False,False,False,False
	EOF
    pp-zp calibrate -c s/config.yaml \
        --set patch_run.enable_multi_band_simultaneous_fitting=false 2>log &&
    $CSV s/work/ZP/zp_all_bands__per_object.csv band ID zp >got &&
    printf "g\tP\t25\ng\tR\t25.02\ng\tS\t25.03\nr\tP\t25\nr\tQ\t25.02\n" >expect &&
    $NEAR expect got &&
    $CSV s/work/ZP/zp_unreliable__per_object.csv band ID >got &&
    printf "g\tQ\ng\tT\nr\tR\nr\tT\n" >expect &&
    test_cmp expect got &&
    $CSV s/work/ZP/zp_summary.csv band n_raw n_unreliable >got &&
    printf "g\t3\t2\nr\t2\t2\n" >expect &&
    test_cmp expect got
'

test_expect_success 'multi-band mode on the same file uses fit_is_reliable' '
    pp-zp calibrate -c s/config.yaml 2>log &&
    $CSV s/work/ZP/zp_all_bands__per_object.csv band ID >got &&
    printf "g\tP\nr\tP\n" >expect &&
    test_cmp expect got
'

test_expect_success 'no ID column: the per-object files have none' '
    cut -d, -f2- s/work/output_catalog.csv >noid.csv &&
    mv noid.csv s/work/output_catalog.csv &&
    pp-zp calibrate -c s/config.yaml 2>log &&
    $CSV s/work/ZP/zp_all_bands__per_object.csv >got.h &&
    printf "band\tgaia_source_id\tgaiaxp_mag\tflux\tfluxerr\tsnr\tzp\tzp_err\tis_kept\tis_clipped\n" >expect.h &&
    test_cmp expect.h got.h &&
    $CSV s/work/ZP/zp_unreliable__per_object.csv >got.h &&
    test_cmp expect.h got.h
'

test_done
