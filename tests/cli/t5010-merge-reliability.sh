#!/bin/sh
test_description='pp-merge reliability (SPEC 11 step 7, the seed): one row
per issue tag - excluded, no_fit_result, hit_max_iters, bound_stalled,
bright_mask, not_converged, all_psf_fallback - in multi-band and in
single-band mode (per-band columns, any band), tag order, RA/DEC per band'
. "$(dirname "$0")/lib-cli.sh"

W=f/work
TA=r00_c00_pr00_pc00

# mkfit.pl MODE BASEHEADER < rows > fit CSV.  MODE multi|single (bands
# m400 m425).  A row is "<base cells CSV>|k=v;k=v...": the fit columns
# (SPEC 10.5, typed here) start from defaults - a converged fit at the
# base position, ePSF in both bands - then take the k=v overrides.
cat >mkfit.pl <<'PERL'
use strict; use warnings;
my ($mode, $head) = @ARGV; my @b = qw(m400 m425);
my @c = qw(x_pix_patch y_pix_patch patch_tag epsf_tag
  psf_min_epsf_nstars_for_use psf_used_epsf_band_count psf_fallback_band_count
  psf_low_star_band_count psf_fallback_bands psf_low_star_bands
  psf_frozen_bands_for_optimizer psf_fallback_reasons_json);
my %d = (patch_tag => 'r00_c00_pr00_pc00', epsf_tag => 'r00_c00',
  psf_min_epsf_nstars_for_use => 2, psf_used_epsf_band_count => 2,
  psf_fallback_band_count => 0, psf_low_star_band_count => 0,
  psf_fallback_reasons_json => '{}');
if ($mode eq 'multi') {
  push @c, qw(opt_niters opt_converged opt_hit_max_iters opt_last_dlnp
    flag_bound_stalled flag_bound_stalled_which_parameter x_pix_patch_fit
    y_pix_patch_fit x_pix_white_fit y_pix_white_fit RA_fit DEC_fit stype_fit
    sersic_n_fit re_pix_fit ab_fit phi_deg_fit ELL_fit Re_fit THETA_fit),
    map { ("FLUX_${_}_fit", "FLUXERR_${_}_fit") } @b;
  %d = (%d, opt_niters => 5, opt_converged => 'True',
    opt_hit_max_iters => 'False', flag_bound_stalled => 'False',
    x_pix_white_fit => 50, y_pix_white_fit => 60, RA_fit => 150,
    DEC_fit => 2.2, stype_fit => 'star');
} else {
  push @c, 'stype_fit'; $d{stype_fit} = 'star';
  for my $b (@b) {
    push @c, (map { "${_}_${b}_fit" } qw(x_pix_patch y_pix_patch x_pix_white
      y_pix_white RA DEC sersic_n re_pix ab phi_deg ELL Re THETA FLUX
      FLUXERR)), map { "${_}_$b" } qw(opt_niters opt_converged
      opt_hit_max_iters opt_last_dlnp flag_bound_stalled
      flag_bound_stalled_which_parameter);
    %d = (%d, "opt_niters_$b" => 5, "opt_converged_$b" => 'True',
      "opt_hit_max_iters_$b" => 'False', "flag_bound_stalled_$b" => 'False',
      "x_pix_white_${b}_fit" => 50, "y_pix_white_${b}_fit" => 60,
      "RA_${b}_fit" => 150, "DEC_${b}_fit" => 2.2);
  }
}
sub q1 { my $s = shift; $s =~ /[",\r\n]/ ? '"' . ($s =~ s/"/""/gr) . '"' : $s }
print "$head,", join(',', @c), "\n";
while (my $l = <STDIN>) { chomp $l; my ($base, $kv) = split /\|/, $l, 2;
  my %v = %d;
  for (split /;/, $kv // '') { my ($k, $x) = split /=/, $_, 2;
    die "mkfit: no column $k\n" unless grep { $_ eq $k } @c; $v{$k} = $x }
  print "$base,", join(',', map { q1($v{$_} // '') } @c), "\n"; }
PERL

BASE='ID,RA,DEC,x_pix_white,y_pix_white,excluded_crop,excluded_saturation,excluded_any,affected_by_bright_mask'

test_expect_success 'setup: a pp-sim field cropped (frames.json, wcs.fits)' '
    pp-sim --out f --bands m400,m425 --size 200x200 --crop-margin 10 \
        --nstars 5 --ngals 2 2>/dev/null &&
    pp-crop -c f/config.yaml 2>/dev/null &&
    perl -ne "next if \$. != 2; my @f = split /,/; printf qq(%s %s %s %s\n),
        \$f[2] - 10, \$f[3] - 10, \$f[4], \$f[5]" f/truth.csv >truth1 &&
    mkdir -p $W/patches $W/outputs/$TA &&
    cat >$W/patches/patches.json <<-JSON
	[{"patch_tag": "$TA", "x0_base": 0, "x1_base": 180, "y0_base": 0,
	  "y1_base": 180, "payload": "$TA.fits"}]
	JSON
'

# One row per case; the expected tags by hand from the seed's tables.
test_expect_success 'multi-band: one case per tag, and combinations' '
    cat >$W/catalog.csv <<-CSV &&
	$BASE
	ok,150,2.2,50,60,False,False,False,False
	ex,150,2.2,50,60,True,False,True,False
	nofit,150,2.2,50,60,False,False,False,False
	nopos,150,2.2,50,60,False,False,False,False
	hit,150,2.2,50,60,False,False,False,False
	bs,150,2.2,50,60,False,False,False,False
	bm,150,2.2,50,60,False,False,False,True
	nc,150,2.2,50,60,False,False,False,False
	fb,150,2.2,50,60,False,False,False,False
	fb1,150,2.2,50,60,False,False,False,False
	combo,150,2.2,50,60,False,False,False,True
	exbm,150,2.2,50,60,False,True,True,True
	CSV
    perl mkfit.pl multi "$BASE" >$W/outputs/$TA/${TA}_cat_fit.csv <<-ROWS &&
	ok,150,2.2,50,60,False,False,False,False|
	nopos,150,2.2,50,60,False,False,False,False|x_pix_white_fit=;y_pix_white_fit=;RA_fit=;DEC_fit=
	hit,150,2.2,50,60,False,False,False,False|opt_converged=False;opt_hit_max_iters=True;opt_niters=20
	bs,150,2.2,50,60,False,False,False,False|flag_bound_stalled=True;flag_bound_stalled_which_parameter=shape.logre@lower
	bm,150,2.2,50,60,False,False,False,True|
	nc,150,2.2,50,60,False,False,False,False|opt_converged=False
	fb,150,2.2,50,60,False,False,False,False|psf_used_epsf_band_count=0;psf_fallback_band_count=2
	fb1,150,2.2,50,60,False,False,False,False|psf_used_epsf_band_count=1;psf_fallback_band_count=1
	combo,150,2.2,50,60,False,False,False,True|opt_converged=False;opt_hit_max_iters=True;psf_fallback_band_count=2;flag_bound_stalled=True
	ROWS
    pp-merge -c f/config.yaml --set zp.enabled=false 2>log &&
    perl $PP_TOP/tests/cli/csvcol.pl $W/output_catalog.csv ID \
        fit_is_reliable fit_quality_issues >got &&
    cat >want <<-TSV &&
	ok	True	
	ex	False	excluded
	nofit	False	no_fit_result
	nopos	False	no_fit_result
	hit	False	hit_max_iters
	bs	False	bound_stalled
	bm	False	bright_mask
	nc	True	not_converged
	fb	True	all_psf_fallback
	fb1	True	
	combo	False	hit_max_iters,bound_stalled,bright_mask,all_psf_fallback
	exbm	False	excluded,bright_mask
	TSV
    test_cmp want got &&
    grep "| INFO | fit summary: converged 6, hit-max 2, bound-stalled 2, reliable 4 (of 12 rows)$" log &&
    grep "| INFO | merge-missing (rows without a fit): 3 = excluded 2 + failed patch 0 + unassigned 1$" log
'

test_expect_success 'single-band: per-band flags, any band, tag order' '
    read X Y RA DEC <truth1 &&
    cat >$W/catalog.csv <<-CSV &&
	$BASE
	ok,150,2.2,50,60,False,False,False,False
	hit2,150,2.2,50,60,False,False,False,False
	bs1,150,2.2,50,60,False,False,False,False
	nc1,150,2.2,50,60,False,False,False,False
	fb,150,2.2,50,60,False,False,False,False
	nopos,150,2.2,50,60,False,False,False,False
	onepos,150,2.2,50,60,False,False,False,False
	ex,150,2.2,50,60,True,True,True,False
	bm,150,2.2,50,60,False,False,False,True
	sky,150,2.2,$X,$Y,False,False,False,False
	CSV
    perl mkfit.pl single "$BASE" >$W/outputs/$TA/${TA}_cat_fit.csv <<-ROWS &&
	ok,150,2.2,50,60,False,False,False,False|
	hit2,150,2.2,50,60,False,False,False,False|opt_converged_m425=False;opt_hit_max_iters_m425=True
	bs1,150,2.2,50,60,False,False,False,False|flag_bound_stalled_m400=True
	nc1,150,2.2,50,60,False,False,False,False|opt_converged_m400=False
	fb,150,2.2,50,60,False,False,False,False|psf_used_epsf_band_count=0;psf_fallback_band_count=2
	nopos,150,2.2,50,60,False,False,False,False|x_pix_white_m400_fit=;x_pix_white_m425_fit=;RA_m400_fit=;RA_m425_fit=
	onepos,150,2.2,50,60,False,False,False,False|x_pix_white_m400_fit=;RA_m400_fit=
	bm,150,2.2,50,60,False,False,False,True|opt_converged_m400=False;opt_converged_m425=False
	sky,150,2.2,$X,$Y,False,False,False,False|x_pix_white_m400_fit=$X;y_pix_white_m400_fit=$Y;RA_m400_fit=;DEC_m400_fit=;RA_m425_fit=149.5;DEC_m425_fit=
	ROWS
    pp-merge -c f/config.yaml --set zp.enabled=false \
        --set patch_run.enable_multi_band_simultaneous_fitting=false 2>log &&
    perl $PP_TOP/tests/cli/csvcol.pl $W/output_catalog.csv ID \
        fit_is_reliable fit_quality_issues >got &&
    cat >want <<-TSV &&
	ok	True	
	hit2	False	hit_max_iters
	bs1	False	bound_stalled
	nc1	True	not_converged
	fb	True	all_psf_fallback
	nopos	False	no_fit_result
	onepos	True	
	ex	False	excluded
	bm	False	bright_mask,not_converged
	sky	True	
	TSV
    test_cmp want got &&
    grep "| INFO | base catalogue .*single-band mode, 2 bands$" log &&
    grep "| INFO | fit summary: converged 6, hit-max 1, bound-stalled 1, reliable 5 (of 10 rows)$" log
'

# RA/DEC per band through wcs.fits where empty: the first truth source.
# m400: both empty -> the truth; m425: RA given (kept), DEC empty -> the
# truth (the position is the default 50, 60 there, so DEC is that of
# pixel (50, 60): only checked to be filled).
test_expect_success 'single-band: RA/DEC_<b>_fit filled where empty only' '
    read X Y RA DEC <truth1 &&
    perl $PP_TOP/tests/cli/csvcol.pl $W/output_catalog.csv ID RA_m400_fit \
        DEC_m400_fit RA_m425_fit DEC_m425_fit >sky &&
    grep "^sky	" sky >row && cat row &&
    perl -ane "exit 1 unless abs(\$F[1] - $RA) < 2e-8 &&
        abs(\$F[2] - $DEC) < 2e-8 && \$F[3] eq q(149.5) &&
        \$F[4] =~ /^2\.\d+/" row &&
    grep "^ok	150	2.2	150	2.2$" sky &&
    grep "| INFO | 2 fitted positions without RA/DEC: computed from" log
'

test_expect_success 'a fit CSV of the other mode is an error naming the column' '
    rm -f $W/output_catalog.csv &&
    test_expect_code 1 pp-merge -c f/config.yaml --set zp.enabled=false \
        2>err &&
    grep "| ERROR | .*${TA}_cat_fit.csv.: 55 columns from .x_pix_patch. on, expected 36 (multi-band mode, 2 bands of frames.json" err &&
    test_path_is_missing $W/output_catalog.csv
'

test_done
