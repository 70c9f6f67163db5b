#!/bin/sh
test_description='pp-crop mask: command line, missing or foreign inputs,
the base catalogue it works on, and the key without an ID column'
. "$(dirname "$0")/lib-cli.sh"

csvcol() { perl "$PP_TOP/tests/cli/csvcol.pl" "$@"; }

test_expect_success 'setup: a small field and its load stage' '
    pp-sim --out f --nbands 2 --size 300x300 2>log &&
    pp-crop -c f/config.yaml 2>log
'

test_expect_success 'mask --help: its own usage on stdout' '
    pp-crop mask --help >out 2>err &&
    grep "^Usage: pp-crop mask -c CONFIG" out &&
    test ! -s err &&
    pp-crop --help >out &&
    grep "pp-crop mask -c CONFIG" out
'

test_expect_success 'mask after the options, or another operand: exit 2' '
    test_expect_code 2 pp-crop -c f/config.yaml mask 2>err &&
    grep "ERROR | the command .mask. must come first" err &&
    test_expect_code 2 pp-crop mask -c f/config.yaml extra 2>err &&
    grep "ERROR | unknown command .extra." err &&
    test_expect_code 2 pp-crop mask 2>err &&
    grep "ERROR | missing option .-c CONFIG." err &&
    test_path_is_missing f/work/bright_mask
'

test_expect_success 'missing white.fits: exit 1, run pp-crop first' '
    mv f/work/white.fits white.keep &&
    test_expect_code 1 pp-crop mask -c f/config.yaml 2>err &&
    mv white.keep f/work/white.fits &&
    grep "ERROR | cannot open .*/white.fits.: No such file or directory (run .pp-crop -c CONFIG. first)" err &&
    test_path_is_missing f/work/bright_mask
'

test_expect_success 'base catalogue without excluded_any: exit 1' '
    cp f/work/catalog.csv catalog.keep &&
    perl -pi -e "s/excluded_any/excluded_other/ if \$. == 1" \
        f/work/catalog.csv &&
    test_expect_code 1 pp-crop mask -c f/config.yaml 2>err &&
    cp catalog.keep f/work/catalog.csv &&
    grep "ERROR | .*catalog.csv.: no column .excluded_any." err &&
    test_path_is_missing f/work/bright_mask
'

test_expect_success 'a bad excluded_any cell: exit 1, names row and text' '
    perl -pi -e "s/,False\$/,maybe/ if \$. == 3" f/work/catalog.csv &&
    test_expect_code 1 pp-crop mask -c f/config.yaml 2>err &&
    cp catalog.keep f/work/catalog.csv &&
    grep "ERROR | .*catalog.csv: row 2 (line 3): column .excluded_any.: found .maybe., expected True or False" err
'

test_expect_success 'zp augmented catalogue is the base when it exists' '
    mkdir -p f/work/ZP &&
    cp f/work/catalog.csv f/work/ZP/input_catalog_with_Gaia.csv &&
    pp-crop mask -c f/config.yaml 2>err &&
    test_cmp catalog.keep f/work/catalog.csv &&
    csvcol f/work/ZP/input_catalog_with_Gaia.csv affected_by_bright_mask \
        >aff &&
    test -s aff &&
    pp-crop mask -c f/config.yaml --set zp.enabled=false 2>err &&
    csvcol f/work/catalog.csv affected_by_bright_mask >aff2 &&
    test_cmp aff aff2 &&
    rm -rf f/work/ZP
'

test_expect_success 'no ID column: key is the RA and DEC texts' '
    pp-sim --out g --nbands 2 --size 300x300 2>log &&
    perl -0777 -pi -e "s/^(?:\"(?:[^\"]|\"\")*\"|[^,\"\n]*),//mg" \
        g/input_catalog.csv &&
    pp-crop -c g/config.yaml 2>log &&
    pp-crop mask -c g/config.yaml 2>err &&
    csvcol g/work/catalog.csv RA DEC x_pix_white |
        awk -F"\t" "\$3 != \"\" { print \$1 \" \" \$2 }" >exp &&
    csvcol g/work/bright_mask/catalog_match.csv key >got &&
    test_cmp exp got
'

test_done
