#!/bin/sh
test_description='pp-crop mask (SPEC §6.8): a bright star missing from the
catalogue is masked, matched stars are not, saturated pixels are dilated
into the mask, and affected_by_bright_mask is set and placed as specified'
. "$(dirname "$0")/lib-cli.sh"

# The oracle: the mask and the affected flags recomputed from
# detections.csv, SATANY (maskpixels) and the §6.8 formulae, given
# ellipse_scale, min_radius_pix and the saturation disk radius.
cat >oracle.pl <<'PERL'
use strict;
use warnings;
use POSIX qw(floor ceil);
my ($scale, $rmin, $dil, $det, $sat, $got, $cat, $aff) = @ARGV;
my (@ell, %want, %have);
open(my $d, '<', $det) or die;
while (<$d>) {
    chomp;
    my ($x, $y, $a, $b, $t, $m) = split /\t/;
    next unless $m eq 'True';
    my ($A, $B) = ($scale * $a, $scale * $b);
    $A = $rmin if $A < $rmin;
    $B = $rmin if $B < $rmin;
    push @ell, [$x, $y, $A, $B, $t * atan2(1, 1) / 45];
}
sub inside {
    my ($e, $px, $py) = @_;
    my ($x, $y, $A, $B, $t) = @$e;
    my ($dx, $dy) = ($px - $x, $py - $y);
    my $u = ($dx * cos($t) + $dy * sin($t)) / $A;
    my $v = (-$dx * sin($t) + $dy * cos($t)) / $B;
    return $u * $u + $v * $v <= 1;
}
open(my $s, '<', $sat) or die;
my ($w, $h) = split ' ', scalar <$s>;
for my $e (@ell) {
    my $r = $e->[2] > $e->[3] ? $e->[2] : $e->[3];
    for my $j (floor($e->[1] - $r) .. ceil($e->[1] + $r)) {
        next if $j < 0 || $j >= $h;
        for my $i (floor($e->[0] - $r) .. ceil($e->[0] + $r)) {
            next if $i < 0 || $i >= $w;
            $want{"$i $j"} = 1 if inside($e, $i, $j);
        }
    }
}
while (<$s>) {
    my ($i, $j) = split;
    for my $dy (-$dil .. $dil) {
        for my $dx (-$dil .. $dil) {
            my ($ii, $jj) = ($i + $dx, $j + $dy);
            next if $dx * $dx + $dy * $dy > $dil * $dil;
            next if $ii < 0 || $jj < 0 || $ii >= $w || $jj >= $h;
            $want{"$ii $jj"} = 1;
        }
    }
}
open(my $g, '<', $got) or die;
scalar <$g>;
while (<$g>) { chomp; $have{$_} = 1; }
my $bad = 0;
for (keys %want) { next if $have{$_}; print "missing $_\n"; $bad++ }
for (keys %have) { next if $want{$_}; print "extra $_\n"; $bad++ }
open(my $c, '<', $cat) or die;
open(my $f, '<', $aff) or die;
while (my $row = <$c>) {
    chomp $row;
    my ($x, $y) = split /\t/, $row;
    chomp(my $flag = <$f>);
    my $in = 'False';
    for my $e (@ell) { $in = 'True' if inside($e, $x, $y) }
    next if $in eq $flag;
    print "row at $x $y: affected $flag, expected $in\n";
    $bad++;
}
printf "pixels %d, ellipses %d\n", scalar(keys %want), scalar(@ell);
exit($bad ? 1 : 0);
PERL

# A 600x600 field whose brightest unsaturated star (well inside the
# working frame) is dropped from the catalogue: an unmatched detection.
test_expect_success 'setup: field without one bright star' '
    pp-sim --out f --nbands 3 --size 600x600 2>log &&
    perl -F, -lane "next if \$. == 1 || \$F[13] ne q(False) ||
        \$F[10] ne q(True) || \$F[1] ne q(star);
        next if \$F[2] < 60 || \$F[2] > 540 || \$F[3] < 60 || \$F[3] > 540;
        print qq(\$F[17] \$F[0] \$F[2] \$F[3])" f/truth.csv |
        sort -g -r | head -n 1 >drop &&
    read flux id xf yf <drop &&
    test -n "$id" &&
    grep -v "^$id," f/input_catalog.csv >f/c.csv &&
    mv f/c.csv f/input_catalog.csv &&
    pp-crop -c f/config.yaml 2>log &&
    cp f/work/catalog.csv catalog.orig
'

test_expect_success 'mask: writes its three files and the column' '
    pp-crop mask -c f/config.yaml 2>err &&
    test_path_is_file f/work/bright_mask/white_bright_mask.fits &&
    test_path_is_file f/work/bright_mask/detections.csv &&
    test_path_is_file f/work/bright_mask/catalog_match.csv &&
    test_no_tmp_files f/work &&
    grep "INFO | detections: [0-9]*, SEP-matched [0-9]*, bright" err &&
    grep "INFO | mask: [0-9]* of 318096 pixels" err &&
    grep "INFO | mask timing \[s\]: read=" err &&
    head -n 1 f/work/bright_mask/detections.csv >h &&
    echo "x,y,a,b,theta_deg,flux,fluxerr,snr,sep_matched,masked" >exp &&
    test_cmp exp h &&
    head -n 1 f/work/bright_mask/catalog_match.csv >h &&
    echo "key,x,y,cat_matched,affected_by_bright_mask" >exp &&
    test_cmp exp h
'

test_expect_success 'the dropped star is detected, unmatched and masked' '
    read flux id xf yf <drop &&
    perl "$PP_TOP/tests/cli/csvcol.pl" f/work/bright_mask/detections.csv \
        x y sep_matched masked >det &&
    awk -F"\t" -v x="$xf" -v y="$yf" "
        (\$1-(x-18))^2 + (\$2-(y-18))^2 < 2.25 { print \$3, \$4 }" \
        det >hit &&
    echo "False True" >exp &&
    test_cmp exp hit &&
    maskpixels f/work/bright_mask/white_bright_mask.fits >pix &&
    awk -v x="$xf" -v y="$yf" "BEGIN { i = int(x - 18 + 0.5);
        j = int(y - 18 + 0.5) } \$1 == i && \$2 == j { n++ }
        END { exit n != 1 }" pix
'

test_expect_success 'matched bright stars are not masked' '
    awk -F"\t" "\$3 == \"True\" && \$4 == \"True\"" det >both &&
    test_line_count = 0 both &&
    perl "$PP_TOP/tests/cli/csvcol.pl" f/work/catalog.csv ID excluded_any |
        awk -F"\t" "\$2 == \"False\" { print \$1 }" >active &&
    perl -F, -lane "next if \$. == 1 || \$F[13] ne q(False) ||
        \$F[10] ne q(True) || \$F[1] ne q(star) || \$F[17] < 300;
        next if \$F[2] < 60 || \$F[2] > 540 || \$F[3] < 60 || \$F[3] > 540;
        print qq(\$F[0] \$F[2] \$F[3])" f/truth.csv >bright.all &&
    grep -F -f active bright.all >bright &&
    test -s bright &&
    while read sid sx sy; do
        awk -F"\t" -v x="$sx" -v y="$sy" "
            (\$1-(x-18))^2 + (\$2-(y-18))^2 < 2.25 { print \$3, \$4 }" \
            det >hit &&
        echo "True False" >exp &&
        test_cmp exp hit || exit 1
    done <bright
'

test_expect_success 'mask = ellipses + disk-dilated SATANY; flags agree' '
    maskpixels f/work/white.fits SATANY >sat &&
    test $(wc -l <sat) -gt 1 &&
    perl "$PP_TOP/tests/cli/csvcol.pl" f/work/bright_mask/detections.csv \
        x y a b theta_deg masked >ell &&
    perl "$PP_TOP/tests/cli/csvcol.pl" f/work/catalog.csv \
        x_pix_white y_pix_white affected_by_bright_mask |
        grep -v "^	" >cat.xy &&
    cut -f 3 cat.xy >cat.aff &&
    perl oracle.pl 3 5 2 ell sat pix cat.xy cat.aff &&
    grep -c True cat.aff
'

test_expect_success 'catalogue: column after excluded_any, other cells kept' '
    perl "$PP_TOP/tests/cli/csvcol.pl" f/work/catalog.csv >cols &&
    perl "$PP_TOP/tests/cli/csvcol.pl" catalog.orig >cols.orig &&
    sed "s/excluded_any/excluded_any	affected_by_bright_mask/" \
        cols.orig >exp &&
    test_cmp exp cols &&
    cols=$(tr "\t" " " <cols.orig) &&
    perl "$PP_TOP/tests/cli/csvcol.pl" catalog.orig $cols >a &&
    perl "$PP_TOP/tests/cli/csvcol.pl" f/work/catalog.csv $cols >b &&
    test_cmp a b
'

test_expect_success 'catalog_match.csv: finite rows in base order, keys' '
    perl "$PP_TOP/tests/cli/csvcol.pl" f/work/catalog.csv ID x_pix_white \
        affected_by_bright_mask | awk -F"\t" "\$2 != \"\"" |
        cut -f 1,3 >exp &&
    perl "$PP_TOP/tests/cli/csvcol.pl" \
        f/work/bright_mask/catalog_match.csv key affected_by_bright_mask \
        >got &&
    test_cmp exp got
'

test_expect_success 're-run: the column is replaced in place, same bytes' '
    for f in catalog.csv bright_mask/detections.csv \
             bright_mask/catalog_match.csv bright_mask/white_bright_mask.fits
    do cp f/work/$f run1.$(basename $f) || exit 1; done &&
    pp-crop mask -c f/config.yaml 2>err &&
    test_cmp run1.catalog.csv f/work/catalog.csv &&
    test_cmp run1.detections.csv f/work/bright_mask/detections.csv &&
    test_cmp run1.catalog_match.csv f/work/bright_mask/catalog_match.csv &&
    test_cmp run1.white_bright_mask.fits \
        f/work/bright_mask/white_bright_mask.fits
'

# Small ellipses leave the dilated saturated pixels outside them.
test_expect_success 'small ellipses: SATANY disk of radius 3 is masked' '
    pp-crop mask -c f/config.yaml --set bright_mask.ellipse_scale=0.5 \
        --set bright_mask.min_radius_pix=1 \
        --set bright_mask.saturation_dilate_pix=3 2>err &&
    maskpixels f/work/bright_mask/white_bright_mask.fits >pix2 &&
    perl "$PP_TOP/tests/cli/csvcol.pl" f/work/catalog.csv \
        x_pix_white y_pix_white affected_by_bright_mask |
        grep -v "^	" >cat2.xy &&
    cut -f 3 cat2.xy >cat2.aff &&
    perl oracle.pl 0.5 1 3 ell sat pix2 cat2.xy cat2.aff >o &&
    head -n 1 sat >nosat &&
    test_must_fail perl oracle.pl 0.5 1 3 ell nosat pix2 cat2.xy cat2.aff \
        >o2 &&
    grep "^extra" o2
'

test_expect_success 'include_saturation false: the ellipses alone' '
    pp-crop mask -c f/config.yaml --set bright_mask.ellipse_scale=0.5 \
        --set bright_mask.min_radius_pix=1 \
        --set bright_mask.include_saturation=false 2>err &&
    maskpixels f/work/bright_mask/white_bright_mask.fits >pix3 &&
    perl oracle.pl 0.5 1 3 ell nosat pix3 cat2.xy cat2.aff
'

test_expect_success 'enabled false: says so and writes nothing' '
    rm -rf f/work/bright_mask &&
    cp f/work/catalog.csv before.csv &&
    pp-crop mask -c f/config.yaml --set bright_mask.enabled=false 2>err &&
    grep "INFO | bright_mask.enabled is false" err &&
    test_path_is_missing f/work/bright_mask &&
    test_cmp before.csv f/work/catalog.csv
'

test_done
