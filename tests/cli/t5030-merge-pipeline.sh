#!/bin/sh
test_description='pp-merge on a real work directory: pp-sim, pp-crop,
pp-zp augment, pp-crop mask, pp-patchify; fit CSVs written by a stand-in
for pp-fit (the base sources of each payload); one patch failed.  The
augmented catalogue is the base; every base cell survives; counts and
columns are checked by an independent reader'
. "$(dirname "$0")/lib-cli.sh"

W=f/work
BANDS=m400,m425,m450

# mkfits.pl WORK BANDS - stand-in for pp-fit: for each patch of
# patches.csv with a payload, outputs/<tag>/<tag>_cat_fit.csv with the base
# sources of its base box (excluded_any False, finite x/y_pix_white): every
# base cell, then the SPEC 10.5 multi-band columns; RA_fit/DEC_fit empty so
# that pp-merge computes them; FLUX_<b>_fit = 1000 + row + band index.
# Also the oracle: expect.tsv "row<TAB>tag-or-empty" for every base row.
cat >rd.pl <<'PERL'
sub rd { my $f = shift; open my $h, '<:raw', $f or die "$f: $!\n";
    my $t = do { local $/; <$h> }; my (@rec, @row); pos($t) = 0;
    while (pos($t) < length $t) {
        $t =~ /\G(?:"((?:[^"]|"")*)"|([^,"\n]*))(,|\n|\z)/gc
            or die "$f: bad CSV near byte " . pos($t) . "\n";
        my ($qf, $bf, $ef) = ($1, $2, $3);
        push @row, defined $qf ? $qf =~ s/""/"/gr : $bf;
        if ($ef ne ',') { push @rec, [@row]; @row = () } }
    return @rec }
sub q1 { my $s = shift; $s =~ /[",\r\n]/ ? '"' . ($s =~ s/"/""/gr) . '"' : $s }
sub fitcols { my @b = @_;
    return (qw(x_pix_patch y_pix_patch patch_tag epsf_tag
      psf_min_epsf_nstars_for_use psf_used_epsf_band_count
      psf_fallback_band_count psf_low_star_band_count psf_fallback_bands
      psf_low_star_bands psf_frozen_bands_for_optimizer
      psf_fallback_reasons_json opt_niters opt_converged opt_hit_max_iters
      opt_last_dlnp flag_bound_stalled flag_bound_stalled_which_parameter
      x_pix_patch_fit y_pix_patch_fit x_pix_white_fit y_pix_white_fit RA_fit
      DEC_fit stype_fit sersic_n_fit re_pix_fit ab_fit phi_deg_fit ELL_fit
      Re_fit THETA_fit), map { ("FLUX_${_}_fit", "FLUXERR_${_}_fit") } @b) }
1;
PERL
cat >mkfits.pl <<'PERL'
use strict; use warnings; require './rd.pl';
my ($w, $bands) = @ARGV; my @b = split /,/, $bands;
my ($base) = glob("$w/ZP/*_with_Gaia.csv");
my @cat = rd($base); my @h = @{ shift @cat }; my %ix; @ix{@h} = 0 .. $#h;
my @p = rd("$w/patches/patches.csv"); my @ph = @{ shift @p };
my %pi; @pi{@ph} = 0 .. $#ph;
my @fc = fitcols(@b);
for my $p (@p) { next if $p->[$pi{payload}] eq '';
  my $tag = $p->[$pi{patch_tag}];
  my ($x0, $x1, $y0, $y1) = map { $p->[$pi{$_}] } qw(x0_base x1_base y0_base y1_base);
  mkdir "$w/outputs"; mkdir "$w/outputs/$tag";
  open my $o, '>', "$w/outputs/$tag/${tag}_cat_fit.csv" or die;
  print $o join(',', map { q1($_) } @h, @fc), "\n";
  for my $r (0 .. $#cat) { my $c = $cat[$r];
    my ($x, $y) = ($c->[$ix{x_pix_white}], $c->[$ix{y_pix_white}]);
    next if $c->[$ix{excluded_any}] ne 'False' || $x eq '' || $y eq '';
    next unless $x >= $x0 && $x < $x1 && $y >= $y0 && $y < $y1;
    my %v = (x_pix_patch => $x - $p->[$pi{x0_roi}], y_pix_patch => $y - $p->[$pi{y0_roi}],
      patch_tag => $tag, epsf_tag => $p->[$pi{epsf_tag}],
      psf_min_epsf_nstars_for_use => 2, psf_used_epsf_band_count => scalar(@b),
      psf_fallback_band_count => 0, psf_low_star_band_count => 0,
      psf_fallback_reasons_json => '{}', opt_niters => 4,
      opt_converged => 'True', opt_hit_max_iters => 'False',
      opt_last_dlnp => '1e-7', flag_bound_stalled => 'False',
      x_pix_white_fit => $x, y_pix_white_fit => $y, stype_fit => 'star');
    for my $k (0 .. $#b) { $v{"FLUX_$b[$k]_fit"} = 1000 + $r + $k;
      $v{"FLUXERR_$b[$k]_fit"} = 1 + $k }
    print $o join(',', map { q1($_) } @$c), ',',
      join(',', map { q1($v{$_} // '') } @fc), "\n"; }
  close $o or die; }
PERL
# check.pl WORK BANDS FAILED_TAG - the final catalogue against the base
# catalogue, the fit CSVs and patches.csv; prints the expected counts.
cat >check.pl <<'PERL'
use strict; use warnings; require './rd.pl';
my ($w, $bands, $failed) = @ARGV; my @b = split /,/, $bands;
my ($base) = glob("$w/ZP/*_with_Gaia.csv");
my @cat = rd($base); my @bh = @{ shift @cat }; my %bx; @bx{@bh} = 0 .. $#bh;
my @out = rd("$w/output_catalog.csv"); my @oh = @{ shift @out };
my %ox; @ox{@oh} = 0 .. $#oh;
my @fc = fitcols(@b);
my @want = map { $_ eq 'excluded_any' ? ($_, 'excluded_reason') : $_ } @bh;
push @want, @fc, qw(fit_is_reliable fit_quality_issues);
die "header:\n@oh\nexpected\n@want\n" if "@oh" ne "@want";
die "rows ", scalar(@out), " vs ", scalar(@cat), "\n" if @out != @cat;
my %fit;
for my $f (glob("$w/outputs/*/*_cat_fit.csv")) { my @t = rd($f);
  my @h = @{ shift @t }; my %i; @i{@h} = 0 .. $#h;
  for my $r (@t) { $fit{ $r->[$i{ID}] } = { map { ($h[$_] => $r->[$_]) } 0 .. $#h } } }
my @p = rd("$w/patches/patches.csv"); my @ph = @{ shift @p };
my %pi; @pi{@ph} = 0 .. $#ph; my ($fp) = grep { $_->[$pi{patch_tag}] eq $failed } @p;
my ($nfit, $mex, $mfail, $mun, $nrel, $nbright) = (0) x 6;
for my $r (0 .. $#cat) { my ($c, $o) = ($cat[$r], $out[$r]);
  for my $k (@bh) { die "row $r $k: '$o->[$ox{$k}]' vs '$c->[$bx{$k}]'\n"
      if $o->[$ox{$k}] ne $c->[$bx{$k}] }
  my $id = $c->[$bx{ID}]; my $ex = $c->[$bx{excluded_any}] eq 'True';
  my $bm = $c->[$bx{affected_by_bright_mask}] eq 'True'; $nbright += $bm;
  my $f = $fit{$id};
  if ($f) { $nfit++;
    for my $k (@fc) { next if $k =~ /^(RA|DEC)_fit$/;
      die "row $r $k: '$o->[$ox{$k}]' vs '$f->{$k}'\n" if $o->[$ox{$k}] ne $f->{$k} }
    for my $k (qw(RA DEC)) { my ($v, $t) = ($o->[$ox{"${k}_fit"}], $c->[$bx{$k}]);
      die "row $r ${k}_fit $v vs $t\n" if $v eq '' || abs($v - $t) > 1e-8 } }
  else { for my $k (@fc) { die "row $r $k not empty\n" if $o->[$ox{$k}] ne '' }
    my ($x, $y) = ($c->[$bx{x_pix_white}], $c->[$bx{y_pix_white}]);
    if ($ex) { $mex++ }
    elsif ($x ne '' && $x >= $fp->[$pi{x0_base}] && $x < $fp->[$pi{x1_base}] &&
           $y >= $fp->[$pi{y0_base}] && $y < $fp->[$pi{y1_base}]) { $mfail++ }
    else { $mun++ } }
  my @tags; push @tags, 'excluded' if $ex;
  push @tags, 'no_fit_result' if !$ex && !$f; push @tags, 'bright_mask' if $bm;
  my $rel = @tags ? 'False' : 'True'; $nrel += !@tags;
  die "row $r tags '$o->[$ox{fit_quality_issues}]' vs '@tags'\n"
      if $o->[$ox{fit_quality_issues}] ne join(',', @tags) ||
         $o->[$ox{fit_is_reliable}] ne $rel;
  my $reason = $o->[$ox{excluded_reason}];
  my $want = $c->[$bx{RA}] eq '' ? 'no_coords' : join('+',
      ($c->[$bx{excluded_crop}] eq 'True' ? 'crop' : ()),
      ($c->[$bx{excluded_saturation}] eq 'True' ? 'saturation' : ()));
  die "row $r excluded_reason '$reason' vs '$want'\n" if $reason ne $want; }
die "no row in the failed patch\n" unless $mfail;
die "no excluded row\n" unless $mex;
printf "rows %d fit %d missing %d excluded %d failed %d unassigned %d reliable %d bright %d\n",
  scalar(@cat), $nfit, @cat - $nfit, $mex, $mfail, $mun, $nrel, $nbright;
PERL

test_expect_success 'setup: the pipeline up to pp-patchify' '
    pp-sim --out f --bands $BANDS --size 600x600 2>/dev/null &&
    pp-crop -c f/config.yaml 2>/dev/null &&
    pp-zp augment -c f/config.yaml 2>/dev/null &&
    pp-crop mask -c f/config.yaml 2>/dev/null &&
    pp-patchify -c f/config.yaml -j 2 2>/dev/null &&
    test_path_is_file $W/ZP/input_catalog_with_Gaia.csv &&
    test_path_is_file $W/patches/patches.json
'

test_expect_success 'setup: fit CSVs of every patch but one (failed)' '
    perl mkfits.pl $W $BANDS &&
    ls $W/outputs/*/*_cat_fit.csv >fits &&
    test "$(wc -l <fits)" -ge 2 &&
    FAILED=$(basename $(head -n 1 fits) _cat_fit.csv) &&
    echo $FAILED >failed &&
    rm $W/outputs/$FAILED/${FAILED}_cat_fit.csv
'

test_expect_success 'pp-merge joins onto the augmented catalogue' '
    FAILED=$(cat failed) &&
    pp-merge -c f/config.yaml 2>log &&
    cat log &&
    grep "| INFO | base catalogue .*/ZP/input_catalog_with_Gaia.csv.: " log &&
    grep "| WARNING | failed patches (no fit catalogue): 1: $FAILED$" log &&
    perl check.pl $W $BANDS $FAILED >counts &&
    cat counts &&
    read _ rows _ fit _ miss _ ex _ fail _ un _ rel _ br <counts &&
    grep "| INFO | rows with a fit: $fit$" log &&
    grep "| INFO | merge-missing (rows without a fit): $miss = excluded $ex + failed patch $fail + unassigned $un$" log &&
    grep "| INFO | fit summary: converged $fit, hit-max 0, bound-stalled 0, reliable $rel (of $rows rows)$" log &&
    grep "| INFO | $fit fitted positions without RA/DEC: computed from" log &&
    test_no_tmp_files $W
'

test_expect_success 'the same bytes with 1 and 3 threads' '
    pp-merge -c f/config.yaml -j 1 2>/dev/null &&
    cp $W/output_catalog.csv one.csv &&
    pp-merge -c f/config.yaml --threads 3 2>/dev/null &&
    test_cmp one.csv $W/output_catalog.csv &&
    test_expect_code 2 pp-merge -c f/config.yaml -j -1 2>err &&
    grep "| ERROR | option .--threads.: found -1, expected a count >= 0" err
'

test_expect_success 'with zp.enabled false the base is catalog.csv' '
    pp-merge -c f/config.yaml --set zp.enabled=false 2>log &&
    grep "| INFO | base catalogue .*/work/catalog.csv.: " log &&
    ! head -n 1 $W/output_catalog.csv | grep gaia_source_id
'

test_done
