#!/bin/sh
test_description='pp-epsf --band/--cell build only the named (band, cell)
pairs (for make and parallel), skip_empty_epsf_patches, and summary'
. "$(dirname "$0")/lib-cli.sh"

E=f/work/EPSFs

test_expect_success 'setup: a 600x600 two-band field' '
    pp-sim --out f --nbands 2 --size 600x600 --ngals 0 --nstars 40 \
        2>/dev/null &&
    pp-crop -c f/config.yaml 2>/dev/null
'

test_expect_success '--band B --cell C: that pair only, no summary' '
    pp-epsf -c f/config.yaml --set epsf.epsf_ngrid=2 \
        --set epsf.mog_components=[4] --band m425 --cell r01_c00 2>err &&
    test_path_is_file $E/m425/r01_c00/meta.json &&
    test "$(ls $E)" = m425 &&
    test "$(ls $E/m425)" = r01_c00 &&
    test_path_is_missing $E/epsf_summary.json &&
    grep "^  \"x0\": 0," $E/m425/r01_c00/meta.json &&
    grep "^  \"x1\": 282," $E/m425/r01_c00/meta.json &&
    grep "^  \"y0\": 282," $E/m425/r01_c00/meta.json &&
    grep "^  \"y1\": 564," $E/m425/r01_c00/meta.json
'

test_expect_success 'lists: --cell A,B and --band B1 --band B2' '
    pp-epsf -c f/config.yaml --set epsf.epsf_ngrid=2 \
        --set epsf.mog_components=[4] --band m400 --band m425 \
        --cell r00_c00,r00_c01 2>err &&
    test "$(ls $E/m400 | tr "\n" " ")" = "r00_c00 r00_c01 " &&
    test "$(ls $E/m425 | tr "\n" " ")" = "r00_c00 r00_c01 r01_c00 "
'

test_expect_success 'summary gathers the cells present, band then cell order' '
    pp-epsf summary -c f/config.yaml --set epsf.epsf_ngrid=2 2>err &&
    sed -n "s/^    \"\(band\|patch\)\": \"\(.*\)\",/\2/p" \
        $E/epsf_summary.json | paste - - >order &&
    printf "%s\t%s\n" m400 r00_c00 m400 r00_c01 m425 r00_c00 \
        m425 r00_c01 m425 r01_c00 >order.expected &&
    test_cmp order.expected order
'

test_expect_success 'skip_empty_epsf_patches: the cells with a source only' '
    # SPEC 8.1 by hand: W = 564, E = 6, sx = 94, cell min(floor(x/sx), 5).
    perl $PP_TOP/tests/cli/csvcol.pl f/work/catalog.csv x_pix_white \
        y_pix_white excluded_any |
    perl -ne "
        chomp; my (\$x, \$y, \$ex) = split /\t/;
        next if \$ex ne q(False) || \$x eq q() || \$y eq q();
        my (\$c, \$r) = map { my \$k = int(\$_ / 94); \$k > 5 ? 5 : \$k }
            (\$x, \$y);
        printf qq(r%02d_c%02d\n), \$r, \$c;
    " | sort -u >cells.expected &&
    test "$(wc -l <cells.expected)" -lt 36 &&
    rm -rf $E && pp-epsf -c f/config.yaml --set epsf.epsf_ngrid=6 \
        --set epsf.mog_components=[4] --band m400 2>err &&
    ls $E/m400 >cells &&
    test_cmp cells.expected cells
'

test_done
