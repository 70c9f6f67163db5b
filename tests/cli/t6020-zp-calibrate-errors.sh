#!/bin/sh
test_description='pp-zp calibrate errors: missing inputs, missing columns
and bad cells exit 1 naming the file and the column, nothing is half
written; bad keys exit 2; skipped runs (SPEC §12, §3.6)'
. "$(dirname "$0")/lib-cli.sh"
. "$PP_TOP/tests/cli/lib-zpcal.sh"

CAT=f/work/output_catalog.csv
ZPD=f/work/ZP
FILES="$ZPD/zp_summary.csv $ZPD/zp_all_bands__per_object.csv $ZPD/zp_unreliable__per_object.csv"

write_inputs() {
    rm -rf f && mkdir -p f/work &&
    cat >f/config.yaml <<-EOF &&
	inputs:
	  input_catalog: input_catalog.csv
	  image_list_file: image_list.txt
	  gaiaxp_synphot_csv: gaiaxp.csv
	outputs:
	  work_dir: work
	EOF
    frames_json g r >f/work/frames.json &&
    cat >f/gaiaxp.csv <<-EOF &&
	source_id,ra,dec,phot_g_mean_mag,mag_g,mag_r
	1,0,0,17,17.50,17.40
	2,0,0,17,17.51,17.41
	3,0,0,17,17.52,17.42
	EOF
    cat >$CAT <<-EOF
	ID,gaia_source_id,FLUX_g_fit,FLUXERR_g_fit,FLUX_r_fit,FLUXERR_r_fit,fit_is_reliable
	a,1,1000,10,1000,10,True
	b,2,1000,10,1000,10,True
	c,3,1000,10,1000,10,True
	d,,50,1,50,1,True
	EOF
}

# Run a failing calibrate on a copy of the good inputs changed by sed
# expression $2 applied to file $1; the catalogue and the ZP files of the
# earlier good run must stay as they were.
fails_with() {
    file=$1 expr=$2 && shift 2 &&
    write_inputs && pp-zp calibrate -c f/config.yaml 2>/dev/null &&
    for x in $FILES $CAT; do cp $x $x.good || return 1; done &&
    sed -i "$expr" $file && cp $CAT cat.before &&
    test_expect_code 1 pp-zp calibrate -c f/config.yaml "$@" 2>err &&
    test_cmp cat.before $CAT &&
    for x in $FILES; do test_cmp $x.good $x || return 1; done &&
    test_no_tmp_files f/work
}

test_expect_success 'missing final catalogue: exit 1, names it, writes nothing' '
    write_inputs && rm $CAT &&
    test_expect_code 1 pp-zp calibrate -c f/config.yaml 2>err &&
    grep "ERROR | cannot open .*/f/work/output_catalog.csv.: No such file or directory (outputs.final_catalog; run pp-merge first)" err &&
    test_path_is_missing $ZPD $CAT
'

test_expect_success 'missing frames.json: exit 1, names it' '
    write_inputs && rm f/work/frames.json &&
    test_expect_code 1 pp-zp calibrate -c f/config.yaml 2>err &&
    grep "ERROR | cannot open .*/f/work/frames.json." err &&
    test_path_is_missing $ZPD
'

test_expect_success 'missing FLUXERR_r_fit column: file and column named' '
    fails_with $CAT "s/,FLUXERR_r_fit,/,FLUXERR_x,/" &&
    grep "ERROR | .*/f/work/output_catalog.csv.: no .FLUXERR_r_fit. column" err
'

test_expect_success 'missing gaia_source_id column' '
    fails_with $CAT "s/,gaia_source_id,/,gaia_sid,/" &&
    grep "output_catalog.csv.: no .gaia_source_id. column" err
'

test_expect_success 'missing fit_is_reliable in multi-band mode' '
    fails_with $CAT "s/,fit_is_reliable/,reliable/" &&
    grep "output_catalog.csv.: no .fit_is_reliable. column" err
'

test_expect_success 'single-band mode needs the per-band flags' '
    fails_with $CAT "s/^ID,/ID,/" \
        --set patch_run.enable_multi_band_simultaneous_fitting=false &&
    grep "output_catalog.csv.: no .excluded_any. column (single-band reliability" err
'

test_expect_success 'a flux that is not a number: row, line and column' '
    fails_with $CAT "s/^c,3,1000,/c,3,abc,/" &&
    grep "ERROR | .*output_catalog.csv: row 3 (line 4): column .FLUX_g_fit.: found .abc., expected a number" err
'

test_expect_success 'a flux of a non-candidate row is checked too' '
    fails_with $CAT "s/^d,,50,1,50,/d,,50,1,5x,/" &&
    grep "output_catalog.csv: row 4 (line 5): column .FLUX_r_fit.: found .5x." err
'

test_expect_success 'fit_is_reliable that is not True/False' '
    fails_with $CAT "s/^a,1,1000,10,1000,10,True,/a,1,1000,10,1000,10,yes,/" &&
    grep "output_catalog.csv: row 1 (line 2): column .fit_is_reliable.: found .yes., expected True or False" err
'

test_expect_success 'GaiaXP file without source_id' '
    fails_with f/gaiaxp.csv "s/^source_id,/sid,/" &&
    grep "ERROR | .*gaiaxp.csv.: no .source_id. column" err
'

test_expect_success 'a GaiaXP magnitude that is not a number' '
    fails_with f/gaiaxp.csv "s/^2,0,0,17,17.51,/2,0,0,17,bright,/" &&
    grep "gaiaxp.csv: row 2 (line 3): column .mag_g.: found .bright." err
'

test_expect_success 'a broken CSV: exit 1, nothing written' '
    fails_with $CAT "s/^b,2,/b,\"2,/" &&
    grep "output_catalog.csv" err
'

test_expect_success 'bad keys exit 2 naming the key' '
    write_inputs &&
    test_expect_code 2 pp-zp calibrate -c f/config.yaml --set zp.clip_sigma=0 2>err &&
    grep "zp.clip_sigma" err &&
    test_expect_code 2 pp-zp calibrate -c f/config.yaml --set zp.zp_err_method=median 2>err &&
    grep "zp.zp_err_method" err &&
    test_expect_code 2 pp-zp calibrate -c f/config.yaml --set zp.clip_sigmaa=3 2>err &&
    grep "did you mean .zp.clip_sigma." err &&
    test_expect_code 2 pp-zp calibrate 2>err &&
    grep "missing option .-c CONFIG." err &&
    test_expect_code 2 pp-zp calibrate extra -c f/config.yaml 2>err &&
    grep "unexpected operand .extra." err &&
    test_path_is_missing $ZPD
'

test_expect_success 'zp.enabled=false: skipped, earlier ZP files removed' '
    write_inputs && pp-zp calibrate -c f/config.yaml 2>/dev/null &&
    cp $CAT cat.before &&
    pp-zp calibrate -c f/config.yaml --set zp.enabled=false 2>err &&
    grep "INFO | zp.enabled is false: zero-point calibration skipped" err &&
    grep "removing .*zp_summary.csv" err &&
    for x in $FILES; do test_path_is_missing $x || return 1; done &&
    test_cmp cat.before $CAT
'

test_expect_success 'missing GaiaXP file: a WARNING, skipped, exit 0' '
    write_inputs && rm f/gaiaxp.csv && cp $CAT cat.before &&
    pp-zp calibrate -c f/config.yaml 2>err &&
    grep "WARNING | GaiaXP file .*gaiaxp.csv. (inputs.gaiaxp_synphot_csv) does not exist: zero-point calibration skipped" err &&
    test_path_is_missing $ZPD && test_cmp cat.before $CAT &&
    pp-zp calibrate -c f/config.yaml --set inputs.gaiaxp_synphot_csv=null 2>err &&
    grep "INFO | inputs.gaiaxp_synphot_csv is null" err
'

test_done
