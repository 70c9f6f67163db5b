#!/bin/sh
test_description='pp-crop on the small three-band field: every output,
projections and flags against the generator'"'"'s truth'
. "$(dirname "$0")/lib-cli.sh"

CSV="perl $PP_TOP/tests/cli/csvcol.pl"

test_expect_success 'setup: copy the field' '
    cp -R "$PP_DATA/crop3" field &&
    rm -rf field/work
'

test_expect_success 'pp-crop succeeds and writes the four outputs' '
    pp-crop -c field/config.yaml 2>log &&
    test_path_is_file field/work/frames.json &&
    test_path_is_file field/work/wcs.fits &&
    test_path_is_file field/work/white.fits &&
    test_path_is_file field/work/catalog.csv &&
    test_no_tmp_files field/work
'

test_expect_success 'log has the timing line, the counts and the log file' '
    grep "| pp-crop | INFO | load timing \[s\]: headers=.* catalog=.* pixels=.* write=.* total=" log &&
    grep "| INFO | sources: total=" log &&
    grep "load timing" field/work/pp-crop.log
'

test_expect_success 'catalog.csv: input header, then the five added columns' '
    $CSV field/input_catalog.csv >in.h &&
    $CSV field/work/catalog.csv >out.h &&
    printf "%s\tx_pix_white\ty_pix_white\texcluded_crop\texcluded_saturation\texcluded_any\n" \
        "$(cat in.h)" >expect.h &&
    test_cmp expect.h out.h
'

test_expect_success 'every input cell survives byte for byte' '
    cols=$(tr "\t" " " <in.h) &&
    $CSV field/input_catalog.csv $cols >in.cells &&
    $CSV field/work/catalog.csv $cols >out.cells &&
    test_cmp in.cells out.cells &&
    grep -q "00019" out.cells
'

test_expect_success 'positions match the independent TAN truth (< 1e-6 px)' '
    $CSV field/work/catalog.csv ID x_pix_white y_pix_white >got &&
    $CSV field/truth.csv ID x_full y_full >truth &&
    paste got truth | perl -F"\t" -lane "
        next if \$F[1] eq q() && \$F[4] eq q();
        die qq(ID mismatch \$F[0] vs \$F[3]\n) if \$F[0] ne \$F[3];
        \$d = abs(\$F[1] - (\$F[4] - 20)) + abs(\$F[2] - (\$F[5] - 20));
        die qq(\$F[0]: off by \$d px\n) if \$d > 1e-6;
        \$n++; END { die qq(no rows\n) unless \$n; print qq(\$n rows) }"
'

test_expect_success 'rows without coordinates: empty positions, excluded' '
    $CSV field/work/catalog.csv x_pix_white excluded_crop excluded_any >f &&
    grep -c "^	True	True\$" f >n &&
    test "$(cat n)" -ge 3
'

test_expect_success 'excluded_crop agrees with the truth crop box' '
    $CSV field/work/catalog.csv excluded_crop >got &&
    $CSV field/truth.csv in_crop >truth &&
    paste got truth | perl -F"\t" -lane "
        die qq(row \$.: excluded_crop \$F[0] but in_crop \$F[1]\n)
            if (\$F[0] eq q(True)) == (\$F[1] eq q(True))"
'

test_expect_success 'excluded_saturation agrees with the truth (any band)' '
    $CSV field/work/catalog.csv excluded_saturation >got &&
    $CSV field/truth.csv saturated_any >truth &&
    test_cmp truth got &&
    grep -q True got
'

test_expect_success 'excluded_any is the OR of the two flags' '
    $CSV field/work/catalog.csv excluded_crop excluded_saturation \
        excluded_any | perl -F"\t" -lane "
        \$or = (\$F[0] eq q(True) || \$F[1] eq q(True)) ? q(True) : q(False);
        die qq(row \$.\n) if \$F[2] ne \$or"
'

test_expect_success 'require_all_bands: flagged only when every band hits' '
    pp-crop -c field/config.yaml \
        --set source_saturation_cut.require_all_bands=true 2>/dev/null &&
    $CSV field/work/catalog.csv excluded_saturation >got &&
    $CSV field/truth.csv saturated_all >truth &&
    test_cmp truth got
'

test_expect_success 'saturation cut disabled: no source flagged' '
    pp-crop -c field/config.yaml \
        --set source_saturation_cut.enabled=false 2>/dev/null &&
    $CSV field/work/catalog.csv excluded_saturation >got &&
    ! grep True got
'

test_expect_success 'white.fits agrees with an independent recomputation' '
    pp-crop -c field/config.yaml 2>/dev/null &&
    whitecheck field/work/white.fits 20 25.0 field/g.fits field/r.fits \
        field/i.fits
'

test_expect_success 'frames.json: format, frames and per-band calibration' '
    perl -MJSON::PP -e "
        local \$/; open F, q(field/work/frames.json); \$j = decode_json(<F>);
        die qq(format\n) unless \$j->{format} eq q(patchphot-frames/1);
        die qq(crop\n) unless \$j->{crop}{x0} == 20 && \$j->{crop}{enabled};
        die qq(work\n) unless \$j->{work}{width} == \$j->{full}{width} - 40;
        @b = map { \$_->{band} } @{\$j->{bands}};
        die qq(bands @b\n) unless qq(@b) eq q(g r i);
        for \$b (@{\$j->{bands}}) {
            \$s = 10 ** (-0.4 * (\$b->{zp_auto} - 25));
            die qq(scale\n) if abs(\$b->{scale} - \$s) > 1e-12 * \$s;
            die qq(path\n) unless \$b->{path} =~ m{^/};
            die qq(sky\n) if abs(\$b->{sky_sigma_scaled} -
                                 \$b->{skysig} * \$s) > 1e-9;
        }
        die qq(peeing\n) unless \$j->{bands}[0]{fwhm_source} eq q(PEEING);
        die qq(seeing\n) unless \$j->{bands}[2]{fwhm_source} eq q(SEEING);
        \$px = \$j->{bands}[2]{pixel_scale_arcsec};
        die qq(pixscale \$px\n) if abs(\$px - 0.505) > 1e-3;"
'

test_expect_success 'wcs.fits: the working frame keywords' '
    test "$(fitskey --get field/work/wcs.fits CROPX0)" = 20 &&
    test "$(fitskey --get field/work/wcs.fits CROPY0)" = 20 &&
    w=$(fitskey --get field/g.fits NAXIS1) &&
    test "$(fitskey --get field/work/wcs.fits WORKW)" = $((w - 40)) &&
    crpix=$(fitskey --get field/g.fits CRPIX1) &&
    got=$(fitskey --get field/work/wcs.fits CRPIX1) &&
    perl -e "exit(abs($got - ($crpix - 20)) < 1e-9 ? 0 : 1)"
'

test_expect_success 're-running gives identical outputs' '
    cp field/work/catalog.csv cat1 && cp field/work/frames.json fr1 &&
    pp-crop -c field/config.yaml 2>/dev/null &&
    test_cmp cat1 field/work/catalog.csv &&
    test_cmp fr1 field/work/frames.json
'

test_expect_success 'stale augmented catalogue and bright mask are removed' '
    mkdir -p field/work/ZP field/work/bright_mask &&
    echo old >field/work/ZP/input_catalog_with_Gaia.csv &&
    echo old >field/work/bright_mask/white_bright_mask.fits &&
    pp-crop -c field/config.yaml 2>/dev/null &&
    test_path_is_missing field/work/ZP/input_catalog_with_Gaia.csv \
        field/work/bright_mask
'

test_expect_success 'crop disabled: the working frame is the full frame' '
    pp-crop -c field/config.yaml --set crop.enabled=false 2>/dev/null &&
    perl -MJSON::PP -e "
        local \$/; open F, q(field/work/frames.json); \$j = decode_json(<F>);
        exit(\$j->{work}{width} == \$j->{full}{width} &&
             \$j->{crop}{x0} == 0 && !\$j->{crop}{enabled} ? 0 : 1)" &&
    test "$(fitskey --get field/work/wcs.fits CROPX0)" = 0
'

test_done
