#!/bin/sh
test_description='pp-crop streaming: tile-compressed inputs, outputs
identical for any number of workers, a field taller than one block'
. "$(dirname "$0")/lib-cli.sh"

test_expect_success 'setup: a tile-compressed field and a plain twin' '
    mkfield --out fz --bands u,v --size 160x700 --nsrc 40 --seed 3 \
        --compress >/dev/null &&
    mkfield --out plain --bands u,v --size 160x700 --nsrc 40 --seed 3 \
        >/dev/null &&
    grep -q "\.fits\.fz" fz/image_list.txt
'

test_expect_success 'pp-crop reads tile-compressed images' '
    pp-crop -c fz/config.yaml 2>err &&
    test_path_is_file fz/work/catalog.csv &&
    perl -MJSON::PP -e "
        local \$/; open F, q(fz/work/frames.json); \$j = decode_json(<F>);
        exit(\$j->{bands}[0]{hdu} == 1 ? 0 : 1)"
'

test_expect_success 'compressed and plain inputs give the same results' '
    pp-crop -c plain/config.yaml 2>/dev/null &&
    test_cmp plain/work/catalog.csv fz/work/catalog.csv &&
    whitecheck fz/work/white.fits 20 25.0 plain/u.fits plain/v.fits
'

test_expect_success 'one, two and three workers write identical files' '
    for n in 1 2 3; do
        pp-crop -c plain/config.yaml --set logging.file=null \
            --set performance.white_stack_workers=$n 2>/dev/null &&
        mkdir -p w$n && cp plain/work/white.fits plain/work/catalog.csv w$n/ ||
        return 1
    done &&
    test_cmp w1/white.fits w2/white.fits &&
    test_cmp w1/white.fits w3/white.fits &&
    test_cmp w1/catalog.csv w3/catalog.csv
'

test_expect_success 'shapes may differ when the check is off' '
    cp -R plain odd &&
    rm -rf odd/work &&
    fitskey odd/v.fits NAXIS2 650 &&
    pp-crop -c odd/config.yaml --set checks.require_same_shape=false \
        2>/dev/null &&
    test_path_is_file odd/work/white.fits
'

test_done
