#!/bin/sh
test_description='pp-merge bad input: each error names the file, the row
or column, what was found and what was expected; exit 1 for data, 2 for
usage and config; never an output file'
. "$(dirname "$0")/lib-cli.sh"

W=f/work
TA=r00_c00_pr00_pc00
OUT=$W/output_catalog.csv
FITCOLS='x_pix_patch,y_pix_patch,patch_tag,epsf_tag,psf_min_epsf_nstars_for_use,psf_used_epsf_band_count,psf_fallback_band_count,psf_low_star_band_count,psf_fallback_bands,psf_low_star_bands,psf_frozen_bands_for_optimizer,psf_fallback_reasons_json,opt_niters,opt_converged,opt_hit_max_iters,opt_last_dlnp,flag_bound_stalled,flag_bound_stalled_which_parameter,x_pix_patch_fit,y_pix_patch_fit,x_pix_white_fit,y_pix_white_fit,RA_fit,DEC_fit,stype_fit,sersic_n_fit,re_pix_fit,ab_fit,phi_deg_fit,ELL_fit,Re_fit,THETA_fit,FLUX_m400_fit,FLUXERR_m400_fit,FLUX_m425_fit,FLUXERR_m425_fit'
BASE='ID,RA,DEC,x_pix_white,y_pix_white,excluded_crop,excluded_saturation,excluded_any'
FIT=",1,1,$TA,r00_c00,2,2,0,0,,,,{},3,True,False,0,False,,1,1,50,60,150,2.2,star,,,,,,,,5,0.5,6,0.5"

# merge_fails CODE PATTERN: pp-merge exits CODE, the ERROR line matches
# PATTERN, and no output (nor temporary file) is left.
merge_fails() {
    rm -f $OUT &&
    test_expect_code "$1" pp-merge -c f/config.yaml --set zp.enabled=false \
        2>err &&
    cat err &&
    grep "| pp-merge | ERROR | $2" err &&
    test_path_is_missing $OUT &&
    test_no_tmp_files $W
}

# good: a valid work directory again
good() {
    cat >$W/catalog.csv <<-CSV &&
	$BASE
	a,150,2.2,50,60,False,False,False
	b,150.1,2.2,55,60,False,False,False
	CSV
    cat >$W/outputs/$TA/${TA}_cat_fit.csv <<-CSV
	$BASE,$FITCOLS
	a,150,2.2,50,60,False,False,False$FIT
	CSV
}

test_expect_success 'setup: a cropped pp-sim field and valid inputs' '
    pp-sim --out f --bands m400,m425 --size 200x200 --crop-margin 10 \
        --nstars 5 --ngals 2 2>/dev/null &&
    pp-crop -c f/config.yaml 2>/dev/null &&
    mkdir -p $W/patches $W/outputs/$TA &&
    cat >$W/patches/patches.json <<-JSON &&
	[{"patch_tag": "$TA", "x0_base": 0, "x1_base": 180, "y0_base": 0,
	  "y1_base": 180, "payload": "$TA.fits"}]
	JSON
    good &&
    pp-merge -c f/config.yaml --set zp.enabled=false 2>log &&
    test_path_is_file $OUT
'

test_expect_success 'usage: an operand, no -c, an unknown key (exit 2)' '
    test_expect_code 2 pp-merge -c f/config.yaml extra 2>err &&
    grep "| ERROR | unknown command .extra." err &&
    test_expect_code 2 pp-merge 2>err &&
    grep "| ERROR |" err &&
    test_expect_code 2 pp-merge -c f/config.yaml --set merge.patern=x 2>err &&
    grep "| ERROR | .*merge.patern.*did you mean .merge.pattern." err
'

test_expect_success 'missing patches.json: run pp-patchify first' '
    mv $W/patches/patches.json pj &&
    merge_fails 1 "patch list .*patches.json. does not exist (run pp-patchify first)" &&
    mv pj $W/patches/patches.json
'

test_expect_success 'patches.json: not an array, a bad tag' '
    cp $W/patches/patches.json pj &&
    echo "{}" >$W/patches/patches.json &&
    merge_fails 1 ".*patches.json.: expected an array of patches" &&
    sed "s|$TA\"|../x\"|" pj >$W/patches/patches.json &&
    merge_fails 1 ".*patches.json.: \[0\]: key .patch_tag.: found .\.\./x., expected a tag" &&
    cp pj $W/patches/patches.json
'

test_expect_success 'missing base catalogue, frames.json: run pp-crop first' '
    mv $W/catalog.csv cat.csv &&
    merge_fails 1 "base catalogue .*catalog.csv. does not exist (run pp-crop first)" &&
    mv cat.csv $W/catalog.csv &&
    mv $W/frames.json fr.json &&
    merge_fails 1 ".*frames.json. does not exist (run pp-crop first)" &&
    mv fr.json $W/frames.json
'

test_expect_success 'base catalogue: missing column, bad flag, duplicate ID' '
    cut -d, -f1-7 $W/catalog.csv >c2 && mv c2 $W/catalog.csv &&
    merge_fails 1 ".*catalog.csv.: no column .excluded_any. (run pp-crop first)" &&
    good && sed -i "3s/False\$/yes/" $W/catalog.csv &&
    merge_fails 1 ".*catalog.csv: row 2 (line 3): column .excluded_any.: found .yes., expected True or False" &&
    good && sed -i "3s/^b,/a,/" $W/catalog.csv &&
    merge_fails 1 ".*catalog.csv.: rows 1 and 2 have the same ID .a., expected unique IDs" &&
    good
'

test_expect_success 'rows without coordinates may share an ID (SPEC 3.3)' '
    good && printf "n,,,,,True,False,True\nn,,,,,True,False,True\n" \
        >>$W/catalog.csv &&
    pp-merge -c f/config.yaml --set zp.enabled=false 2>log &&
    test "$(grep -c ",no_coords," $OUT)" -eq 2
'

test_expect_success 'base column with the name of a fit column' '
    good && sed -i "1s/\$/,ra_fit/; 2,\$s/\$/,x/" $W/catalog.csv &&
    merge_fails 1 ".*catalog.csv.: column .ra_fit. has the name of a fit column"
'

test_expect_success 'base excluded_reason is replaced, with a warning' '
    good && sed -i "1s/\$/,excluded_reason/; 2,\$s/\$/,old/" $W/catalog.csv &&
    pp-merge -c f/config.yaml --set zp.enabled=false 2>log &&
    grep "| WARNING | .*catalog.csv.: column .excluded_reason. is replaced by pp-merge.s own" log &&
    head -n 1 $OUT | grep "^$BASE,excluded_reason,x_pix_patch," &&
    ! grep ",old" $OUT
'

test_expect_success 'fit CSV: bad boolean, renamed column, no ID, no x_pix_patch' '
    good && sed -i "2s/,3,True,False,/,3,Yes,False,/" $W/outputs/$TA/${TA}_cat_fit.csv &&
    merge_fails 1 ".*${TA}_cat_fit.csv: row 1 (line 2): column .opt_converged.: found .Yes., expected True or False" &&
    good && sed -i "1s/,RA_fit,/,RA_FIT,/" $W/outputs/$TA/${TA}_cat_fit.csv &&
    merge_fails 1 ".*${TA}_cat_fit.csv.: column 31 is .RA_FIT., expected .RA_fit. (multi-band mode" &&
    good && sed -i "1s/^ID,/NAME,/" $W/outputs/$TA/${TA}_cat_fit.csv &&
    merge_fails 1 ".*${TA}_cat_fit.csv.: no column .ID. before .x_pix_patch." &&
    good && sed -i "1s/,x_pix_patch,/,xpatch,/" $W/outputs/$TA/${TA}_cat_fit.csv &&
    merge_fails 1 ".*${TA}_cat_fit.csv.: no column .x_pix_patch." &&
    good && printf "a,\"open\n" >>$W/outputs/$TA/${TA}_cat_fit.csv &&
    merge_fails 1 ".*${TA}_cat_fit.csv: line 3: quoted field never closed"
'

test_expect_success 'an RA_fit to compute without wcs.fits' '
    good && sed -i "2s/,150,2.2,star,/,,,star,/" $W/outputs/$TA/${TA}_cat_fit.csv &&
    mv $W/wcs.fits w.fits &&
    merge_fails 1 "cannot open .*wcs.fits.: .* (run pp-crop first)" &&
    mv w.fits $W/wcs.fits &&
    pp-merge -c f/config.yaml --set zp.enabled=false 2>log &&
    good
'

test_expect_success 'no fit at all: still a catalogue, every fit cell empty' '
    good && mv $W/outputs outputs.saved &&
    pp-merge -c f/config.yaml --set zp.enabled=false 2>log &&
    grep "| WARNING | failed patches (no fit catalogue): 1: $TA$" log &&
    grep "| INFO | merge-missing (rows without a fit): 2 = excluded 0 + failed patch 2 + unassigned 0$" log &&
    perl $PP_TOP/tests/cli/csvcol.pl $OUT ID FLUX_m425_fit fit_quality_issues >got &&
    printf "a\t\tno_fit_result\nb\t\tno_fit_result\n" >want &&
    test_cmp want got &&
    mv outputs.saved $W/outputs
'

test_expect_success 'an unwritable output directory: exit 1, old file kept' '
    good && pp-merge -c f/config.yaml --set zp.enabled=false 2>/dev/null &&
    mkdir -p ro && chmod a-w ro &&
    if test -w ro; then
        say "running as root: skipped"
    else
        test_expect_code 1 pp-merge -c f/config.yaml --set zp.enabled=false \
            --set outputs.final_catalog="$PWD/ro/out.csv" 2>err &&
        grep "| ERROR | .*ro/out.csv" err &&
        test_path_is_missing ro/out.csv
    fi &&
    chmod u+w ro
'

test_done
