#!/bin/sh
test_description='pp-fit on bad input: usage errors exit 2, unreadable or
corrupted payloads exit 1 naming the file, and nothing is written'
. "$(dirname "$0")/lib-cli.sh"

PAY=f/work/patch_payloads

test_expect_success 'setup: a 2-band field with a NaN block, patchified' '
    pp-sim --out f --nbands 2 --size 500x500 2>/dev/null &&
    for y in 240 241 242 243 244 245 246 247 248 249 250; do
        for x in 240 241 242 243 244 245 246 247 248 249 250; do
            payloadcheck setnan f/m425.fits $x $y || return 1
        done
    done &&
    pp-crop -c f/config.yaml 2>/dev/null &&
    pp-patchify -c f/config.yaml 2>/dev/null &&
    p=$(ls $PAY/*.fits | head -1) && cp "$p" good.fits
'

test_expect_success 'no payload, two payloads, a bad option: exit 2' '
    test_expect_code 2 pp-fit -c f/config.yaml 2>err &&
    grep "ERROR" err &&
    test_expect_code 2 pp-fit -c f/config.yaml good.fits good.fits 2>err &&
    grep "ERROR" err &&
    test_expect_code 2 pp-fit -c f/config.yaml --bogus good.fits 2>err &&
    grep "ERROR.*bogus" err &&
    test_path_is_missing f/work/outputs
'

test_expect_success 'a bad config value: exit 2 naming the key' '
    test_expect_code 2 pp-fit -c f/config.yaml \
        --set patch_run.noise_model=gauss good.fits 2>err &&
    grep "ERROR.*patch_run.noise_model" err &&
    test_path_is_missing f/work/outputs
'

test_expect_success 'a missing payload: exit 1 naming it, nothing written' '
    test_expect_code 1 pp-fit -c f/config.yaml nosuch.fits 2>err &&
    grep "ERROR.*nosuch.fits" err &&
    test_path_is_missing f/work/outputs
'

test_expect_success 'a truncated payload: exit 1 naming it, nothing written' '
    size=$(wc -c <good.fits) &&
    head -c $((size / 2)) good.fits >cut.fits &&
    test_expect_code 1 pp-fit -c f/config.yaml --outdir o cut.fits 2>err &&
    grep "ERROR.*cut.fits" err &&
    test_path_is_missing o
'

test_expect_success 'not a payload (an image): exit 1, PPFMT named' '
    test_expect_code 1 pp-fit -c f/config.yaml --outdir o f/m400.fits \
        2>err &&
    grep "ERROR.*m400.fits" err &&
    test_path_is_missing o
'

test_expect_success 'NaN data: every payload fits (exit 0)' '
    for p in $PAY/*.fits; do
        pp-fit -c f/config.yaml --outdir "o2/$(basename $p .fits)" "$p" \
            2>>err || return 1
    done &&
    ls o2/*/*_cat_fit.csv >list && test_line_count -ge 2 list
'

test_done
