#!/bin/sh
test_description='pp-fit on a small pp-sim field: every output file and
column in SPEC 10.5 order, every active source exactly once with its text
intact, single-band and staged runs, the ePSF fallback audit, and star
fluxes against the simulator truth'
. "$(dirname "$0")/lib-cli.sh"

CSV="perl $PP_TOP/tests/cli/csvcol.pl"
PAY=f/work/patch_payloads
OUT=f/work/outputs
# The true PSF stamps pp-sim writes in pp-epsf's layout.
TRUE="--set outputs.epsf_dir=$TRASH/f/EPSFs_true"
# Sérsic galaxies starting at n = 3 move n by at most 0.1 per iteration
# and the whole step is scaled with it (SPEC 10.4), so their patches need
# more than the default 20 iterations to converge.
ITERS="--set patch_run.n_opt_iters=300"

# fit_all DIR ARGS...: pp-fit every payload into DIR/<tag>.
fit_all() {
    dir=$1
    shift
    for p in $PAY/*.fits; do
        t=$(basename "$p" .fits)
        pp-fit -c f/config.yaml "$@" --outdir "$dir/$t" "$p" 2>>fit.err ||
            return 1
    done
}

# The cat_fit header SPEC 10.5 expects after the base columns.
expected_tail() {
    mode=$1
    shift
    printf '%s\n' x_pix_patch y_pix_patch patch_tag epsf_tag \
        psf_min_epsf_nstars_for_use psf_used_epsf_band_count \
        psf_fallback_band_count psf_low_star_band_count psf_fallback_bands \
        psf_low_star_bands psf_frozen_bands_for_optimizer \
        psf_fallback_reasons_json
    if [ "$mode" = multi ]; then
        printf '%s\n' opt_niters opt_converged opt_hit_max_iters \
            opt_last_dlnp flag_bound_stalled \
            flag_bound_stalled_which_parameter x_pix_patch_fit \
            y_pix_patch_fit x_pix_white_fit y_pix_white_fit RA_fit DEC_fit \
            stype_fit sersic_n_fit re_pix_fit ab_fit phi_deg_fit ELL_fit \
            Re_fit THETA_fit
        for b in "$@"; do
            printf '%s\n' "FLUX_${b}_fit" "FLUXERR_${b}_fit"
        done
    else
        echo stype_fit
        for b in "$@"; do
            for c in x_pix_patch_B_fit y_pix_patch_B_fit x_pix_white_B_fit \
                y_pix_white_B_fit RA_B_fit DEC_B_fit sersic_n_B_fit \
                re_pix_B_fit ab_B_fit phi_deg_B_fit ELL_B_fit Re_B_fit \
                THETA_B_fit FLUX_B_fit FLUXERR_B_fit opt_niters_B \
                opt_converged_B opt_hit_max_iters_B opt_last_dlnp_B \
                flag_bound_stalled_B flag_bound_stalled_which_parameter_B; do
                echo "$c" | sed "s/_B_/_${b}_/; s/_B\$/_$b/"
            done
        done
    fi
}

test_expect_success 'setup: a 3-band field with a constant PSF, patchified' '
    pp-sim --out f --nbands 3 --size 600x600 --true-psf --fwhm 4:4 \
        2>/dev/null &&
    pp-crop -c f/config.yaml 2>/dev/null &&
    pp-zp augment -c f/config.yaml 2>/dev/null &&
    pp-crop mask -c f/config.yaml 2>/dev/null &&
    pp-patchify -c f/config.yaml 2>/dev/null &&
    ls $PAY/*.fits >payloads && test_line_count -ge 2 payloads &&
    base=$(ls f/work/ZP/*_with_Gaia.csv) && cp "$base" base.csv
'

test_expect_success 'every payload fits: exit 0, four files, nothing else' '
    for p in $PAY/*.fits; do
        t=$(basename "$p" .fits) &&
        pp-fit -c f/config.yaml $TRUE $ITERS "$p" 2>>fit.err &&
        test_path_is_file $OUT/$t/${t}_cat_fit.csv &&
        test_path_is_file $OUT/$t/meta.json &&
        test_path_is_file $OUT/$t/model.fits &&
        test_path_is_file $OUT/$t/$t.log &&
        test "$(ls $OUT/$t | wc -l)" -eq 4 || return 1
    done &&
    test_no_tmp_files f/work/outputs &&
    grep "iter 01 lnP=" $OUT/*/*.log >/dev/null
'

test_expect_success 'cat_fit columns: base columns verbatim, then SPEC 10.5' '
    $CSV base.csv | tr "\t" "\n" >want &&
    expected_tail multi m400 m425 m450 >>want &&
    for c in $OUT/*/*_cat_fit.csv; do
        $CSV "$c" | tr "\t" "\n" >got && test_cmp want got || return 1
    done
'

test_expect_success 'every active source is written exactly once, text intact' '
    $CSV base.csv ID RA DEC TYPE excluded_any x_pix_white |
        awk -F "\t" "\$5 == \"False\" && \$6 != \"\"" | cut -f1-4 |
        sort >want &&
    for c in $OUT/*/*_cat_fit.csv; do
        $CSV "$c" ID RA DEC TYPE || return 1
    done | sort >got &&
    test_cmp want got &&
    grep -q "," want
'

test_expect_success 'rows per patch = n_sources of patches.csv' '
    $CSV f/work/patches/patches.csv patch_tag n_sources payload |
        while IFS="	" read -r t n pl; do
            test -n "$pl" || continue
            rows=$($CSV $OUT/$t/${t}_cat_fit.csv ID | wc -l) &&
            test "$rows" -eq "$n" || { echo "$t: $rows rows, want $n"; return 1; }
        done
'

test_expect_success 'meta.json: SPEC 10.5 keys in order, ePSF used' '
    for m in $OUT/*/meta.json; do
        perl -MJSON::PP -e "
            my \$j = JSON::PP->new->decode(do { local \$/; <> });
            my @k = qw(patch_tag epsf_tag epsf_r epsf_c patch_r patch_c
                halo_pix base_bbox roi_bbox n_sources n_halo_sources
                psf_min_epsf_nstars_for_use psf_used_epsf_band_count
                psf_fallback_band_count psf_low_star_band_count
                psf_fallback_bands psf_low_star_bands psf_audit
                enable_multi_band_simultaneous_fitting
                psf_frozen_bands_for_optimizer noise_model fit_sky sky_fit
                niters converged hit_max_iters last_dlnp timing_s);
            for (@k) { exists \$j->{\$_} or die qq(missing \$_\n) }
            \$j->{psf_used_epsf_band_count} == 3 or die qq(ePSF not used\n);
            \$j->{psf_audit}{m425}{used_epsf} or die qq(audit\n);
            exists \$j->{timing_s}{\$_} or die qq(timing \$_\n)
                for qw(read psf init fit errors write);
        " "$m" || return 1
        perl -ne "print \"\$1\n\" while /^  \"([a-z_]+)\":/g" "$m" |
            tr "\n" " " >order &&
        grep -q "^patch_tag epsf_tag epsf_r epsf_c patch_r patch_c halo_pix base_bbox roi_bbox n_sources n_halo_sources" order ||
            { cat order; return 1; }
    done
'

test_expect_success 'model.fits: a MODEL image with SKY per band' '
    t=$(basename $(head -1 payloads) .fits) &&
    for k in 1 2 3; do
        fitskey --get "$OUT/$t/model.fits[MODEL,$k]" SKY >sky &&
        test -s sky || return 1
    done &&
    fitskey --get "$OUT/$t/model.fits[MODEL,2]" BAND >band &&
    grep -q m425 band
'

# Isolated catalogued stars, unsaturated, SNR > 50 in every band.
test_expect_success 'converged stars: median |F_fit/F_true - 1| within 2%' '
    grep -c "converged; wrote" fit.err &&
    for c in $OUT/*/*_cat_fit.csv; do
        $CSV "$c" ID FLUX_m400_fit FLUX_m425_fit FLUX_m450_fit \
            FLUXERR_m400_fit || return 1
    done | sort >fit.tsv &&
    $CSV f/truth.csv ID type pair saturated FLUX_m400 FLUX_m425 FLUX_m450 |
        awk -F "\t" "\$2 == \"star\" && \$3 == \"False\" && \$4 == \"False\"" |
        sort >truth.tsv &&
    join -t "	" fit.tsv truth.tsv >both.tsv &&
    test_line_count -ge 10 both.tsv &&
    perl -F"\t" -lane "
        next unless \$F[2] > 0 && \$F[1] / \$F[4] > 50;
        push @{\$r[\$_]}, abs(\$F[1 + \$_] / \$F[8 + \$_] - 1) for 0 .. 2;
        END { for my \$b (0 .. 2) { my @s = sort { \$a <=> \$b } @{\$r[\$b]};
            my \$m = \$s[int(@s / 2)]; printf qq(band %d: %d stars, median %.4f\n),
            \$b, scalar(@s), \$m; exit 1 if \$m > 0.02 || @s < 5 } }
    " both.tsv
'

test_expect_success 'single-band mode: per-band columns, each band fitted' '
    fit_all sb $TRUE \
        --set patch_run.enable_multi_band_simultaneous_fitting=false &&
    t=$(basename $(head -1 payloads) .fits) &&
    $CSV base.csv | tr "\t" "\n" >want &&
    expected_tail single m400 m425 m450 >>want &&
    $CSV sb/$t/${t}_cat_fit.csv | tr "\t" "\n" >got &&
    test_cmp want got &&
    $CSV sb/$t/${t}_cat_fit.csv opt_niters_m400 opt_niters_m450 >n &&
    awk -F "\t" "\$1 < 1 || \$2 < 1 { exit 1 }" n &&
    ! grep -q "\"niters\"" sb/$t/meta.json
'

test_expect_success 'staged fit: the three stages recorded in meta.json' '
    t=$(basename $(head -1 payloads) .fits) &&
    pp-fit -c f/config.yaml $TRUE --set patch_run.enable_staged_fit=true \
        --outdir st f/work/patch_payloads/$t.fits 2>>fit.err &&
    perl -MJSON::PP -e "
        my \$j = JSON::PP->new->decode(do { local \$/; <> });
        my @s = map { \$_->{name} } @{\$j->{staged_fit_stages}};
        qq(@s) eq q(flux flux+pos all) or die qq(stages @s\n);
        my \$n = 0; \$n += \$_->{niters} for @{\$j->{staged_fit_stages}};
        \$n == \$j->{niters} or die qq(niters \$n vs \$j->{niters}\n);
    " st/meta.json
'

test_expect_success 'no ePSF: every band falls back, and says why' '
    t=$(basename $(head -1 payloads) .fits) &&
    pp-fit -c f/config.yaml --outdir fb f/work/patch_payloads/$t.fits \
        2>err &&
    grep "WARNING.*m400.*missing ePSF" err &&
    $CSV fb/${t}_cat_fit.csv psf_fallback_band_count \
        psf_fallback_reasons_json | head -1 >row &&
    printf "3\t{\"m400\": \"missing ePSF\", \"m425\": \"missing ePSF\", \"m450\": \"missing ePSF\"}\n" >want &&
    test_cmp want row &&
    grep -q "\"fallback_reason\": \"missing ePSF\"" fb/meta.json
'

test_expect_success 'sky+poisson noise model runs two passes' '
    t=$(basename $(head -1 payloads) .fits) &&
    pp-fit -c f/config.yaml $TRUE --set patch_run.noise_model=sky+poisson \
        --outdir sp f/work/patch_payloads/$t.fits 2>err &&
    grep "second pass with the sky+poisson" err &&
    grep -q "\"noise_model\": \"sky+poisson\"" sp/meta.json
'

test_expect_success 're-running overwrites cleanly' '
    t=$(basename $(head -1 payloads) .fits) &&
    cp $OUT/$t/${t}_cat_fit.csv first.csv &&
    pp-fit -c f/config.yaml $TRUE $ITERS f/work/patch_payloads/$t.fits \
        2>/dev/null &&
    test_cmp first.csv $OUT/$t/${t}_cat_fit.csv &&
    test "$(grep -c "iter 01" $OUT/$t/$t.log)" -eq 1
'

test_done
