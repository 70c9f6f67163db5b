#!/bin/sh
test_description='pp-crop on bad input: each error of SPEC §6.2 gives its
message and exit status and leaves no output behind'
. "$(dirname "$0")/lib-cli.sh"

# A fresh copy of the field in directory $1.
fresh() {
    rm -rf "$1" && cp -R "$PP_DATA/crop3" "$1" && rm -rf "$1/work"
}

# No output of the stage, and no temporary file, in $1/work.
no_output() {
    test_path_is_missing "$1/work/catalog.csv" "$1/work/frames.json" \
        "$1/work/wcs.fits" "$1/work/white.fits" &&
    test_no_tmp_files "$1"
}

test_expect_success 'missing required key: exit 2, names the key' '
    fresh f1 &&
    grep -v "input_catalog" f1/config.yaml >f1/c.yaml &&
    test_expect_code 2 pp-crop -c f1/c.yaml 2>err &&
    grep "ERROR.*inputs.input_catalog" err &&
    no_output f1
'

test_expect_success 'wrong type: exit 2, names key, value and type' '
    fresh f2 &&
    test_expect_code 2 pp-crop -c f2/config.yaml --set crop.margin=abc 2>err &&
    grep "ERROR.*crop.margin.*abc" err &&
    no_output f2
'

test_expect_success 'unknown key: exit 2 with a suggestion' '
    fresh f3 &&
    perl -pi -e "s/^crop:\n/crop:\n  marginn: 5\n/" f3/config.yaml &&
    test_expect_code 2 pp-crop -c f3/config.yaml 2>err &&
    grep "ERROR.*crop.marginn" err &&
    grep "did you mean .crop.margin" err &&
    no_output f3
' 

test_expect_success 'duplicate ID: exit 1, lists the key and rows' '
    fresh f4 &&
    head -n 2 f4/input_catalog.csv | tail -n 1 >row &&
    cat row >>f4/input_catalog.csv &&
    test_expect_code 1 pp-crop -c f4/config.yaml 2>err &&
    grep "ERROR.*input_catalog.csv.*duplicate" err &&
    no_output f4
'

test_expect_success 'band mismatch: exit 1, catalogue-only and image-only' '
    fresh f5 &&
    perl -0777 -pi -e "s/FLUX_i/FLUX_z/" f5/input_catalog.csv &&
    test_expect_code 1 pp-crop -c f5/config.yaml 2>err &&
    grep "ERROR.*catalogue-only bands \[z\], image-only bands \[i\]" err &&
    no_output f5
'

test_expect_success 'misaligned WCS: exit 1, names both files and values' '
    fresh f6 &&
    fitskey f6/r.fits CRVAL1 150.01 &&
    test_expect_code 1 pp-crop -c f6/config.yaml 2>err &&
    grep "ERROR" err && grep "r.fits" err && grep "g.fits" err &&
    grep "CRVAL1" err &&
    no_output f6
'

test_expect_success 'misaligned WCS accepted when the check is off' '
    fresh f6b &&
    fitskey f6b/r.fits CRVAL1 150.01 &&
    pp-crop -c f6b/config.yaml \
        --set checks.require_wcs_alignment=false 2>/dev/null &&
    test_path_is_file f6b/work/catalog.csv
'

test_expect_success 'NaN header values: exit 1, all problems listed' '
    fresh f7 &&
    fitskey f7/g.fits ZP_AUTO NaN &&
    fitskey f7/i.fits SKYSIG -1 &&
    test_expect_code 1 pp-crop -c f7/config.yaml 2>err &&
    grep "2 problems" err &&
    grep "g.fits.*ZP_AUTO.*NaN" err &&
    grep "i.fits.*SKYSIG.*-1" err &&
    no_output f7
'

test_expect_success 'missing FILTER: exit 1' '
    fresh f8 &&
    fitskey --delete f8/r.fits FILTER &&
    test_expect_code 1 pp-crop -c f8/config.yaml 2>err &&
    grep "ERROR.*r.fits.*FILTER" err &&
    no_output f8
'

test_expect_success 'duplicate FILTER: exit 1' '
    fresh f9 &&
    fitskey f9/r.fits FILTER g &&
    test_expect_code 1 pp-crop -c f9/config.yaml 2>err &&
    grep "same FILTER .g." err &&
    no_output f9
'

test_expect_success 'empty image list: exit 1' '
    fresh f10 &&
    printf "# nothing here\n\n" >f10/image_list.txt &&
    test_expect_code 1 pp-crop -c f10/config.yaml 2>err &&
    grep "ERROR.*image_list.txt.*no images" err &&
    no_output f10
'

test_expect_success 'unreadable FITS: exit 1, names the file' '
    fresh f11 &&
    echo "not a FITS file" >f11/r.fits &&
    test_expect_code 1 pp-crop -c f11/config.yaml 2>err &&
    grep "ERROR.*r.fits" err &&
    no_output f11
'

test_expect_success 'missing image file: exit 1, names the file' '
    fresh f12 &&
    rm f12/i.fits &&
    test_expect_code 1 pp-crop -c f12/config.yaml 2>err &&
    grep "ERROR.*i.fits" err &&
    no_output f12
'

test_expect_success 'missing catalogue: exit 1' '
    fresh f13 &&
    rm f13/input_catalog.csv &&
    test_expect_code 1 pp-crop -c f13/config.yaml 2>err &&
    grep "ERROR.*input_catalog.csv" err &&
    no_output f13
'

test_expect_success 'no RA column: exit 1' '
    fresh f14 &&
    perl -pi -e "s/^ID,RA,/ID,RAX,/ if \$. == 1" f14/input_catalog.csv &&
    test_expect_code 1 pp-crop -c f14/config.yaml 2>err &&
    grep "ERROR.*no .RA. column" err &&
    no_output f14
'

test_expect_success 'crop margin too large: exit 2, names the key' '
    fresh f15 &&
    test_expect_code 2 pp-crop -c f15/config.yaml --set crop.margin=100 \
        2>err &&
    grep "ERROR.*crop.margin.*100" err &&
    no_output f15
'

test_expect_success 'negative crop margin: exit 2' '
    fresh f16 &&
    test_expect_code 2 pp-crop -c f16/config.yaml --set crop.margin=-1 \
        2>err &&
    grep "ERROR.*crop.margin" err
'

test_expect_success 'unwritable work_dir: exit 1, names it' '
    fresh f17 &&
    echo file >f17/blocker &&
    test_expect_code 1 pp-crop -c f17/config.yaml \
        --set outputs.work_dir=blocker/work 2>err &&
    grep "ERROR.*blocker/work" err &&
    no_output f17
'

test_expect_success 'shape mismatch: exit 1, names both shapes' '
    fresh f18 &&
    fitskey f18/r.fits NAXIS2 100 &&
    test_expect_code 1 pp-crop -c f18/config.yaml 2>err &&
    grep "ERROR.*r.fits.* is [0-9]*x100 but .*g.fits" err &&
    no_output f18
'

test_expect_success 'missing config file: exit 2' '
    test_expect_code 2 pp-crop -c nowhere.yaml 2>err &&
    grep "ERROR.*nowhere.yaml" err
'

test_expect_success 'usage errors: exit 2' '
    test_expect_code 2 pp-crop 2>err && grep "missing option" err &&
    test_expect_code 2 pp-crop --bogus 2>err && grep "unknown option" err &&
    test_expect_code 2 pp-crop -c x.yaml extra 2>err &&
    grep "unknown command" err
'

test_done
