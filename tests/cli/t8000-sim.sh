#!/bin/sh
test_description='pp-sim: a small field, its files, determinism, noise,
the sky-regime peak condition, true PSFs and bad options'
. "$(dirname "$0")/lib-cli.sh"

CSV="perl $PP_TOP/tests/cli/csvcol.pl"

test_expect_success 'a 3-band 600x600 field is written' '
    pp-sim --out f --nbands 3 --size 600x600 --seed 5 --true-psf \
        2>log &&
    for x in m400.fits m425.fits m450.fits image_list.txt config.yaml \
             input_catalog.csv gaiaxp_synphot.csv truth.csv \
             truth_bands.csv; do
        test_path_is_file f/$x || return 1
    done &&
    test_no_tmp_files f &&
    grep "| pp-sim | INFO | wrote the field" log
'

test_expect_success 'every header keyword of SPEC 5.3 is there' '
    for k in FILTER ZP_AUTO SKYSIG EGAIN SATURATE PEEING SEEING CTYPE1 \
             CRVAL1 CRPIX1 CD1_1 CD2_2; do
        fitskey --get f/m425.fits $k >/dev/null || return 1
    done &&
    test "$(fitskey --get f/m425.fits FILTER)" = m425
'

test_expect_success 'pp-crop accepts the field' '
    pp-crop -c f/config.yaml 2>crop.log &&
    test_path_is_file f/work/catalog.csv &&
    grep "sources: total=" crop.log
'

test_expect_success 'the catalogue is hostile as promised' '
    $CSV f/input_catalog.csv ID TYPE RA >cells &&
    grep -q "^00001	" cells &&
    grep -q "my source, \"alpha\"" cells &&
    grep -q "^Ωμέγα-11	" cells &&
    grep -q "	GAL	" cells && grep -q "	star	" cells &&
    grep -q "		[0-9]" cells &&
    test "$(grep -c "	\$" cells)" -ge 3 &&
    $CSV f/input_catalog.csv FLUX_m400 | grep -qx ""
'

test_expect_success 'truth: dzp = zp_auto - zp_true, |dzp| in [0.02, 0.05]' '
    $CSV f/truth_bands.csv zp_true zp_auto dzp | perl -F"\t" -lane "
        die qq(dzp\n) if abs(\$F[1] - \$F[0] - \$F[2]) > 1e-9;
        die qq(range \$F[2]\n) if abs(\$F[2]) < 0.02 || abs(\$F[2]) > 0.05"
'

test_expect_success 'Gaia magnitudes are the true magnitudes of the truth' '
    $CSV f/truth.csv gaia_source_id mag_m425 >t &&
    $CSV f/gaiaxp_synphot.csv source_id mag_m425 >gaia &&
    test "$(wc -l <gaia)" -gt 5 &&
    perl -F"\t" -lane "
        BEGIN { open T, q(t); while (<T>) { chomp; @a = split /\t/;
                \$m{\$a[0]} = \$a[1] } }
        die qq(\$F[0]\n) if abs(\$m{\$F[0]} - \$F[1]) > 1e-9; \$n++;
        END { print qq(\$n stars) }" gaia &&
    $CSV f/truth.csv in_catalog in_gaia | grep -q "^False	True"
'

test_expect_success 'the same seed gives the same bytes, any thread count' '
    pp-sim --out g --nbands 3 --size 600x600 --seed 5 --true-psf \
        --threads 1 2>/dev/null &&
    for x in m400.fits m450.fits input_catalog.csv truth.csv \
             gaiaxp_synphot.csv config.yaml EPSFs_true/m425/r00_c00/epsf.npy; do
        test_cmp f/$x g/$x || return 1
    done
'

test_expect_success 'a different seed gives a different field' '
    pp-sim --out h --nbands 3 --size 600x600 --seed 6 2>/dev/null &&
    ! cmp -s f/truth.csv h/truth.csv
'

test_expect_success 'noise: sigma away from sources within 2% of SKYSIG' '
    # Discs of 5 FWHM around every source (and 40 px around the
    # saturated stars) are left out.
    $CSV f/truth.csv x_full y_full fwhm_m400 saturated |
        perl -F"\t" -lane "print qq(\$F[0] \$F[1] ),
            \$F[3] eq q(True) ? 40 : 5 * \$F[2]" >sources &&
    for b in m400 m425 m450; do
        s=$(fitskey --get f/$b.fits SKYSIG) &&
        got=$(fitsstats f/$b.fits sources | cut -d" " -f1) &&
        perl -e "exit(abs($got / $s - 1) <= 0.02 ? 0 : 1)" ||
        { echo "$b: sigma $got, SKYSIG $s"; return 1; }
    done
'

test_expect_success 'sky regime: unsaturated peaks <= 0.05 of the sky' '
    $CSV f/truth.csv x_full y_full saturated |
        perl -F"\t" -lane "print qq(\$F[0] \$F[1] 40) if \$F[2] eq q(True)" \
        >saturated &&
    for b in m400 m425 m450; do
        s=$(fitskey --get f/$b.fits SKYSIG) &&
        g=$(fitskey --get f/$b.fits EGAIN) &&
        mx=$(fitsstats f/$b.fits saturated | cut -d" " -f2) &&
        perl -e "exit($mx <= 0.05 * $s * $s * $g + 6 * $s ? 0 : 1)" ||
        { echo "$b: max $mx, sky $s^2 x $g"; return 1; }
    done
'

test_expect_success 'saturated stars clip at SATURATE' '
    sat=$(fitskey --get f/m400.fits SATURATE) &&
    mx=$(fitsstats f/m400.fits | cut -d" " -f2) &&
    perl -e "exit(abs($mx - $sat) < 1e-3 * $sat ? 0 : 1)"
'

test_expect_success 'a few NaN pixels per band' '
    n=$(fitsstats f/m425.fits | cut -d" " -f3) &&
    test "$n" -gt 0 && test "$n" -lt 100
'

test_expect_success '--true-psf: epsf.npy sums to 1, meta.json as pp-epsf' '
    test_path_is_file f/EPSFs_true/m400/r00_c00/meta.json &&
    perl -MJSON::PP -e "
        local \$/; open F, q(f/EPSFs_true/m400/r00_c00/meta.json);
        \$m = decode_json(<F>);
        die qq(status\n) unless \$m->{status} eq q(ok);
        die qq(shape\n) unless \$m->{epsf_shape}[0] == 55;
        die qq(cfg\n) unless \$m->{cfg}{max_stars} == \$m->{nstars_used};
        die qq(mog\n) if exists \$m->{mog};
        open N, q(f/EPSFs_true/m400/r00_c00/epsf.npy); binmode N;
        read N, \$h, 10; (\$magic, \$len) = unpack(q(a6 x2 v), \$h);
        die qq(magic\n) unless \$magic eq qq(\x93NUMPY);
        read N, \$d, \$len; die qq(dtype\n) unless \$d =~ /<f4/;
        die qq(npy shape\n) unless \$d =~ /\(55, 55\)/;
        read N, \$p, 55 * 55 * 4; \$s = 0; \$s += \$_ for unpack(q(f<*), \$p);
        die qq(sum \$s\n) if abs(\$s - 1) > 1e-5;
        @v = unpack(q(f<*), \$p);
        \$c = \$v[27 * 55 + 27]; for (@v) { die qq(peak\n) if \$_ > \$c }"
'

test_expect_success 'bad options: exit 2, clear message, nothing written' '
    test_expect_code 2 pp-sim --out b1 --nbands 0 2>err &&
    grep "ERROR.*--nbands" err && test_path_is_missing b1 &&
    test_expect_code 2 pp-sim --out b2 --size 0x100 2>err &&
    grep "ERROR.*--size" err && test_path_is_missing b2 &&
    test_expect_code 2 pp-sim --out b3 --fwhm -1:3 2>err &&
    grep "ERROR.*--fwhm" err && test_path_is_missing b3 &&
    test_expect_code 2 pp-sim --out b4 --psf airy 2>err &&
    grep "ERROR.*--psf" err && test_path_is_missing b4 &&
    echo x >blocker &&
    test_expect_code 2 pp-sim --out blocker/sub --size 64x64 2>err &&
    grep "ERROR.*--out.*blocker/sub" err &&
    test_expect_code 2 pp-sim 2>err && grep "missing option" err
'

test_done
