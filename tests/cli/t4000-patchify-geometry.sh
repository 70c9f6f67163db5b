#!/bin/sh
test_description='pp-patchify geometry (SPEC 9.1, 9.2): base boxes tile the
active ePSF cells, every active source has exactly one base patch, halo
counts match a brute-force count, tags and columns as specified'
. "$(dirname "$0")/lib-cli.sh"

CSV="perl $PP_TOP/tests/cli/csvcol.pl"

# geomcheck.pl PATCHES_CSV SOURCES_TSV W H E P HALO SKIP_EMPTY PAYLOADS
# An oracle written from SPEC 8.1/9.1/9.2 alone: pixel-count tiling, box
# containment of every active source, ROI counts.
cat >geomcheck.pl <<'PERL'
use strict; use warnings;
my ($pcsv, $src, $W, $H, $E, $P, $HALO, $skip, $pay) = @ARGV;
my @bad;
open my $fh, '<', $pcsv or die; my $hdr = <$fh>; chomp $hdr;
my $want = 'epsf_r,epsf_c,patch_r,patch_c,epsf_tag,patch_tag,x0_base,'
  . 'x1_base,y0_base,y1_base,x0_roi,x1_roi,y0_roi,y1_roi,halo_pix,'
  . 'n_sources,n_halo_sources,payload';
push @bad, "header '$hdr'" if $hdr ne $want;
my @p; while (<$fh>) { chomp; my @f = split /,/, $_, -1;
    push @bad, "bad row $_" if @f != 18; push @p, \@f; }
open $fh, '<', $src or die; my @s;
while (<$fh>) { chomp; my ($x, $y, $ex) = split /\t/;
    next if $ex ne 'False' || $x eq '' || $y eq ''; push @s, [$x, $y]; }
my ($sx, $sy) = (int($W / $E), int($H / $E));
my %act;
for (@s) { my $c = int($_->[0] / $sx); $c = $E - 1 if $c > $E - 1;
    my $r = int($_->[1] / $sy); $r = $E - 1 if $r > $E - 1; $act{"$r,$c"} = 1; }
my $ncell = $skip ? scalar(keys %act) : $E * $E;
push @bad, scalar(@p) . " patches, expected " . $ncell * $P * $P
    if @p != $ncell * $P * $P;
my @cov = (0) x ($W * $H); my %seen;
for my $q (@p) {
    my ($er, $ec, $pr, $pc, $et, $pt, $bx0, $bx1, $by0, $by1, $rx0, $rx1,
        $ry0, $ry1, $h, $ns, $nh, $pl) = @$q;
    push @bad, "epsf_tag $et" if $et ne sprintf("r%02d_c%02d", $er, $ec);
    push @bad, "patch_tag $pt" if $pt ne
        sprintf("r%02d_c%02d_pr%02d_pc%02d", $er, $ec, $pr, $pc);
    push @bad, "duplicate $pt" if $seen{$pt}++;
    push @bad, "$pt: cell not active" if $skip && !$act{"$er,$ec"};
    push @bad, "$pt: halo $h" if $h != $HALO;
    my $cl = sub { my ($v, $m) = @_; $v < 0 ? 0 : $v > $m ? $m : $v };
    push @bad, "$pt: roi" if $rx0 != $cl->($bx0 - $h, $W) ||
        $rx1 != $cl->($bx1 + $h, $W) || $ry0 != $cl->($by0 - $h, $H) ||
        $ry1 != $cl->($by1 + $h, $H);
    for my $y ($by0 .. $by1 - 1) { for my $x ($bx0 .. $bx1 - 1) {
        $cov[$y * $W + $x]++; } }
    my ($nb, $nr) = (0, 0);
    for (@s) { my ($x, $y) = @$_;
        $nb++ if $x >= $bx0 && $x < $bx1 && $y >= $by0 && $y < $by1;
        $nr++ if $x >= $rx0 && $x < $rx1 && $y >= $ry0 && $y < $ry1; }
    push @bad, "$pt: n_sources $ns, expected $nb" if $ns != $nb;
    push @bad, "$pt: n_halo_sources $nh, expected " . ($nr - $nb)
        if $nh != $nr - $nb;
    my $wp = $pay && $nb > 0 ? "$pt.fits" : '';
    push @bad, "$pt: payload '$pl', expected '$wp'" if $pl ne $wp;
}
for my $y (0 .. $H - 1) { for my $x (0 .. $W - 1) {
    my $c = $x >= ($E - 1) * $sx ? $E - 1 : int($x / $sx);
    my $r = $y >= ($E - 1) * $sy ? $E - 1 : int($y / $sy);
    my $w = (!$skip || $act{"$r,$c"}) ? 1 : 0;
    if ($cov[$y * $W + $x] != $w) {
        push @bad, "pixel ($x,$y) covered $cov[$y * $W + $x] times, expected $w";
        last; } } }
for (@s) { my ($x, $y) = @$_; my $n = 0;
    for my $q (@p) { $n++ if $x >= $q->[6] && $x < $q->[7] &&
        $y >= $q->[8] && $y < $q->[9]; }
    push @bad, "source ($x,$y) in $n base boxes" if $n != 1; }
print "$_\n" for @bad[0 .. ($#bad < 9 ? $#bad : 9)];
print "ok ", scalar(@p), " patches, ", scalar(@s), " sources\n" if !@bad;
exit(@bad ? 1 : 0);
PERL

# jsoncheck.pl JSON CSV: the same rows, keys in the CSV's column order,
# integers as JSON numbers and tags as strings.
cat >jsoncheck.pl <<'PERL'
use strict; use warnings; use JSON::PP;
my ($jf, $cf) = @ARGV;
open my $j, '<', $jf or die; my $t = do { local $/; <$j> };
my $a = decode_json($t);
open my $c, '<', $cf or die; my $h = <$c>; chomp $h; my @k = split /,/, $h;
my ($first) = $t =~ /\{(.*?)\}/s;
my @order = $first =~ /"(\w+)":/g;
die "key order @order\n" if "@order" ne "@k";
die "epsf_r not a number\n" if $first !~ /"epsf_r": \d+,/;
die "patch_tag not a string\n" if $first !~ /"patch_tag": "r\d\d_/;
my $i = 0;
while (<$c>) { chomp; my @f = split /,/, $_, -1;
    my $o = $a->[$i++] or die "missing row $i\n";
    for (0 .. $#k) { die "row $i $k[$_]\n" if $o->{$k[$_]} ne $f[$_] } }
die "extra rows\n" if $i != @$a;
print "ok $i\n";
PERL

geomcheck() {
    $CSV f/work/catalog.csv x_pix_white y_pix_white excluded_any >src.tsv &&
    perl geomcheck.pl f/work/patches/patches.csv src.tsv 564 564 "$@"
}

test_expect_success 'setup: a 600x600 field, cropped to 564x564' '
    pp-sim --out f --nbands 3 --size 600x600 2>/dev/null &&
    pp-crop -c f/config.yaml 2>/dev/null &&
    grep -q "\"width\": 564" f/work/frames.json
'

test_expect_success 'geometry-only: lists written, no payload' '
    pp-patchify -c f/config.yaml --geometry-only --set epsf.epsf_ngrid=2 \
        --set epsf.ngrid=2 2>log &&
    test_path_is_file f/work/patches/patches.csv &&
    test_path_is_file f/work/patches/patches.json &&
    test_path_is_missing f/work/patch_payloads &&
    test_no_tmp_files f/work &&
    grep "| pp-patchify | INFO | .* 16 patches (halo 29 px)" log
'

test_expect_success '2x2 cells of 2x2 patches: hand-computed boxes' '
    grep "^0,1,0,1,r00_c01,r00_c01_pr00_pc01,423,564,0,141,394,564,0,170,29," \
        f/work/patches/patches.csv &&
    grep "^1,0,1,0,r01_c00,r01_c00_pr01_pc00,0,141,423,564,0,170,394,564,29," \
        f/work/patches/patches.csv &&
    grep "^0,0,1,1,r00_c00,r00_c00_pr01_pc01,141,282,141,282,112,311,112,311,29," \
        f/work/patches/patches.csv
'

test_expect_success '2x2 / 2x2: tiling, sources, halo counts (brute force)' '
    geomcheck 2 2 29 1 0
'

test_expect_success 'patches.json: same rows, keys in SPEC order' '
    perl jsoncheck.pl f/work/patches/patches.json f/work/patches/patches.csv
'

test_expect_success '5x5 cells of 3x3 patches: only active cells, tiled' '
    pp-patchify -c f/config.yaml --geometry-only --set epsf.epsf_ngrid=5 \
        --set epsf.ngrid=3 2>log &&
    geomcheck 5 3 29 1 0 >out && cat out &&
    n=$(sed -n "s/^ok \([0-9]*\) patches.*/\1/p" out) &&
    test "$n" -lt 225
'

test_expect_success 'skip_empty_epsf_patches false: the whole frame' '
    pp-patchify -c f/config.yaml --geometry-only --set epsf.epsf_ngrid=5 \
        --set epsf.ngrid=3 --set epsf.skip_empty_epsf_patches=false 2>log &&
    geomcheck 5 3 29 0 0 &&
    test_line_count = 226 f/work/patches/patches.csv
'

test_expect_success 'halo = max((final_psf_size-1)/2 + 2, halo_pix_min)' '
    pp-patchify -c f/config.yaml --geometry-only --set epsf.epsf_ngrid=3 \
        --set epsf.ngrid=2 --set patches.halo_pix_min=40 2>log &&
    geomcheck 3 2 40 1 0 &&
    pp-patchify -c f/config.yaml --geometry-only --set epsf.epsf_ngrid=3 \
        --set epsf.ngrid=2 --set epsf.final_psf_size=71 2>log &&
    geomcheck 3 2 37 1 0
'

test_expect_success 'a full run names a payload for each non-empty patch' '
    pp-patchify -c f/config.yaml --set epsf.epsf_ngrid=3 --set epsf.ngrid=3 \
        -j 2 2>log &&
    geomcheck 3 3 29 1 1 &&
    for p in $(cut -d, -f18 f/work/patches/patches.csv | sed 1d); do
        test_path_is_file f/work/patch_payloads/$p || return 1
    done &&
    n=$(ls f/work/patch_payloads | wc -l) &&
    test "$n" -eq "$(cut -d, -f18 f/work/patches/patches.csv | grep -c fits)"
'

test_done
