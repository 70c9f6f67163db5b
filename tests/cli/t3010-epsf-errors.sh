#!/bin/sh
test_description='pp-epsf failure paths: a cell without a usable star is a
status "fail" (exit 0, no epsf.npy), an unreadable image exits 1 naming the
file, usage and config errors exit 2'
. "$(dirname "$0")/lib-cli.sh"

E=f/work/EPSFs
C=f/work/EPSFs/m400/r00_c00

test_expect_success 'setup: a 600x600 one-band field' '
    pp-sim --out f --nbands 1 --size 600x600 --ngals 0 --nstars 40 \
        2>/dev/null &&
    pp-crop -c f/config.yaml 2>/dev/null &&
    pp-zp augment -c f/config.yaml 2>/dev/null
'

test_expect_success 'a good run leaves an epsf.npy' '
    pp-epsf -c f/config.yaml --set epsf.mog_components=[4] 2>err &&
    test_path_is_file $C/epsf.npy &&
    grep "^  \"status\": \"ok\"" $C/meta.json
'

test_expect_success 'no usable star: status fail, error, no epsf.npy, exit 0' '
    pp-epsf -c f/config.yaml --set epsf.gaia_snr_min=1e12 2>err &&
    grep "| WARNING | band .m400. cell r00_c00: no usable PSF star" err &&
    grep "^  \"status\": \"fail\"" $C/meta.json &&
    grep "^  \"error\": \"no usable PSF star" $C/meta.json &&
    grep "^  \"nstars_used\": 0," $C/meta.json &&
    test_path_is_missing $C/epsf.npy &&
    grep ",low_snr$" $C/stars.csv &&
    ! grep ",True," $C/stars.csv &&
    grep "\"status\": \"fail\"" $E/epsf_summary.json &&
    test_no_tmp_files f/work
'

test_expect_success 'usage errors: exit 2, nothing written' '
    rm -rf $E &&
    test_expect_code 2 pp-epsf -c f/config.yaml --cell r05_c00 2>err &&
    grep "ERROR.*--cell.*r05_c00.*rNN_cNN" err &&
    test_expect_code 2 pp-epsf -c f/config.yaml --cell x1 2>err &&
    test_expect_code 2 pp-epsf -c f/config.yaml --band nope 2>err &&
    grep "ERROR.*--band.*nope" err &&
    test_expect_code 2 pp-epsf -c f/config.yaml --threads -1 2>err &&
    grep "ERROR.*--threads.*-1" err &&
    test_expect_code 2 pp-epsf -c f/config.yaml extra 2>err &&
    grep "ERROR.*unknown command .extra" err &&
    test_expect_code 2 pp-epsf -c f/config.yaml summary 2>err &&
    grep "ERROR.*summary.*must come first" err &&
    test_path_is_missing $E
'

test_expect_success 'config errors: exit 2 naming the key' '
    test_expect_code 2 pp-epsf -c f/config.yaml \
        --set epsf.cutout_size=60 2>err &&
    grep "ERROR.*epsf.cutout_size.*60.*odd" err &&
    test_expect_code 2 pp-epsf -c f/config.yaml \
        --set epsf.final_psf_size=54 2>err &&
    grep "ERROR.*epsf.final_psf_size" err &&
    test_expect_code 2 pp-epsf -c f/config.yaml \
        --set epsf.mog_components=[4,40] 2>err &&
    grep "ERROR.*epsf.mog_components" err &&
    test_expect_code 2 pp-epsf -c f/config.yaml \
        --set patch_run.subpixel_shift=cubic 2>err &&
    grep "ERROR.*patch_run.subpixel_shift" err &&
    test_path_is_missing $E
'

test_expect_success 'missing frames.json: exit 1, says run pp-crop' '
    mv f/work/frames.json frames.away &&
    test_expect_code 1 pp-epsf -c f/config.yaml 2>err &&
    mv frames.away f/work/frames.json &&
    grep "ERROR.*frames.json.*does not exist (run pp-crop first)" err &&
    test_path_is_missing $E
'

test_expect_success 'unreadable image: exit 1 naming the file, no meta.json' '
    cp f/m400.fits m400.good &&
    head -c 5760 m400.good >f/m400.fits &&
    test_expect_code 1 pp-epsf -c f/config.yaml 2>err &&
    cp m400.good f/m400.fits &&
    grep "ERROR.*m400.fits" err &&
    test_path_is_missing $C/meta.json &&
    test_path_is_missing $E/epsf_summary.json &&
    test_no_tmp_files f/work
'

test_done
