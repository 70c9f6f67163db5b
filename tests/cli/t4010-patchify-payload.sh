#!/bin/sh
test_description='pp-patchify payloads (SPEC 9.3) read back with the
independent checker payloadcheck (cfitsio, wcslib): pixels bit for bit,
mask bits, SOURCES bytes, WCS, HDU layout, determinism, stale files'
. "$(dirname "$0")/lib-cli.sh"

CSV="perl $PP_TOP/tests/cli/csvcol.pl"
PAY=f/work/patch_payloads

# srccheck.pl SOURCES_TSV CATALOG_TSV BX0 BX1 BY0 BY1 RX0 RX1 RY0 RY1 EDGE
# The SOURCES rows expected from SPEC 9.2 (base by box, halo by ROI, edge
# by the ROI grown by EDGE px; catalogue order within each), every
# catalogue cell as its exact text, coordinates and flags.
cat >srccheck.pl <<'PERL'
use strict; use warnings;
my ($sf, $cf, $bx0, $bx1, $by0, $by1, $rx0, $rx1, $ry0, $ry1, $e) = @ARGV;
open my $c, '<', $cf or die; my $h = <$c>; chomp $h; my @cn = split /\t/, $h;
my %ix; @ix{@cn} = 0 .. $#cn;
my (@base, @halo, @edge);
while (<$c>) { chomp; my @f = split /\t/, $_, -1;
    next if $f[$ix{excluded_any}] ne 'False';
    my ($x, $y) = ($f[$ix{x_pix_white}], $f[$ix{y_pix_white}]);
    next if $x eq '' || $y eq '';
    my $in = sub { $x >= $_[0] && $x < $_[1] && $y >= $_[2] && $y < $_[3] };
    if ($in->($bx0, $bx1, $by0, $by1)) { push @base, \@f }
    elsif ($in->($rx0, $rx1, $ry0, $ry1)) { push @halo, \@f }
    elsif ($in->($rx0 - $e, $rx1 + $e, $ry0 - $e, $ry1 + $e)) { push @edge, \@f } }
my @text = grep { $_ ne 'x_pix_white' && $_ ne 'y_pix_white' } @cn;
my @want = (@text, qw(x_pix_white y_pix_white x_pix_patch y_pix_patch
                      is_halo is_edge));
open my $s, '<', $sf or die; my $sh = <$s>; chomp $sh;
die "SOURCES columns '$sh'\nexpected '@want'\n" if $sh ne join("\t", @want);
my $n = 0;
for my $r ((map { [$_, 'False', 'False'] } @base),
           (map { [$_, 'True', 'False'] } @halo),
           (map { [$_, 'False', 'True'] } @edge)) {
    my ($f, $ih, $ie) = @$r; $n++;
    my $l = <$s>; defined $l or die "row $n missing\n"; chomp $l;
    my @g = split /\t/, $l, -1;
    for (0 .. $#text) { die "row $n $text[$_]: '$g[$_]' ne '$f->[$ix{$text[$_]}]'\n"
        if $g[$_] ne $f->[$ix{$text[$_]}] }
    my ($x, $y) = ($f->[$ix{x_pix_white}], $f->[$ix{y_pix_white}]);
    my @num = ($x, $y, $x - $rx0, $y - $ry0);
    for (0 .. 3) { die "row $n $want[@text + $_]: $g[@text + $_] vs $num[$_]\n"
        if abs($g[@text + $_] - $num[$_]) > 1e-9 }
    die "row $n flags @g[-2,-1], expected $ih $ie\n"
        if $g[-2] ne $ih || $g[-1] ne $ie; }
die "extra rows\n" if defined <$s>;
print "ok $n rows (", scalar(@base), " base, ", scalar(@halo), " halo, ",
    scalar(@edge), " edge)\n";
PERL

test_expect_success 'setup: field with a NaN pixel, cropped, a bright mask' '
    pp-sim --out f --nbands 3 --size 600x600 2>/dev/null &&
    payloadcheck setnan f/m425.fits 160 170 &&
    pp-crop -c f/config.yaml 2>/dev/null &&
    mkdir -p f/work/bright_mask &&
    payloadcheck mkmask f/work/bright_mask/white_bright_mask.fits 564 564
'

test_expect_success 'pp-patchify writes one payload per non-empty patch' '
    pp-patchify -c f/config.yaml --set epsf.epsf_ngrid=2 --set epsf.ngrid=2 \
        --threads 3 2>log &&
    grep "| INFO | bright mask:" log &&
    grep "| INFO | wrote 16 payloads" log &&
    test_no_tmp_files f/work &&
    test "$(ls $PAY | wc -l)" -eq 16
'

test_expect_success 'SCI bit-exact raw x SCALE, MASK bits, on every payload' '
    for p in $PAY/*.fits; do
        payloadcheck pixels $p f/work/bright_mask/white_bright_mask.fits \
            >>pix.out || { cat pix.out; return 1; }
    done &&
    cat pix.out &&
    test "$(grep -c "^ok 3 bands" pix.out)" -eq 16 &&
    perl -ne "/(\d+) nonfinite, (\d+) saturated, (\d+) bright/ or die;
        \$n += \$1; \$s += \$2; \$b += \$3;
        END { die qq(\$n \$s \$b) unless \$n && \$s && \$b }" pix.out
'

test_expect_success 'HDU layout: primary, (SCI, MASK) x 3 GZIP_2, SOURCES' '
    payloadcheck hdus $PAY/r00_c01_pr01_pc00.fits >hdus &&
    cat >expect <<-\EOT &&
	1 IMAGE - 0 8 0 0
	2 GZIP_2 SCI 1 -32 199 199
	3 GZIP_2 MASK 1 8 199 199
	4 GZIP_2 SCI 2 -32 199 199
	5 GZIP_2 MASK 2 8 199 199
	6 GZIP_2 SCI 3 -32 199 199
	7 GZIP_2 MASK 3 8 199 199
	8 BINTABLE SOURCES 0
	EOT
    test_cmp expect hdus
'

test_expect_success 'primary keys agree with patches.csv and frames.json' '
    p=$PAY/r00_c01_pr01_pc00.fits &&
    for kv in PPFMT=patchphot-payload/1 PATCHTAG=r00_c01_pr01_pc00 \
              EPSFTAG=r00_c01 EPSF_R=0 EPSF_C=1 PATCH_R=1 PATCH_C=0 \
              HALOPIX=29 BX0=282 BX1=423 BY0=141 BY1=282 RX0=253 RX1=452 \
              RY0=112 RY1=311 NBANDS=3 CROPX0=18 CROPY0=18; do
        test "$(payloadcheck pkey $p ${kv%%=*})" = "${kv#*=}" ||
            { echo "$kv: $(payloadcheck pkey $p ${kv%%=*})"; return 1; }
    done &&
    line=$(grep ",r00_c01_pr01_pc00," f/work/patches/patches.csv) &&
    test "$(payloadcheck pkey $p NSRC)" = "$(echo $line | cut -d, -f16)" &&
    test "$(payloadcheck pkey $p NHALO)" = "$(echo $line | cut -d, -f17)" &&
    test "$(payloadcheck pkey $p ZPREF)" = "25."
'

test_expect_success 'band headers: BAND, SCALE, SKYSIGS, SRCFILE of frames.json' '
    p=$PAY/r00_c00_pr00_pc00.fits &&
    k=1 && for b in m400 m425 m450; do
        test "$(fitskey --get "$p[SCI,$k]" BAND)" = $b &&
        test "$(fitskey --get "$p[MASK,$k]" BAND)" = $b &&
        test "$(fitskey --get "$p[SCI,$k]" SRCFILE)" = "$PWD/f/$b.fits" &&
        s=$(fitskey --get "$p[SCI,$k]" SCALE) &&
        q=$(fitskey --get "$p[SCI,$k]" SKYSIGS) &&
        perl -MJSON::PP -e "local \$/; open my \$f, q(<), q(f/work/frames.json);
            my \$b = decode_json(<\$f>)->{bands}[$k - 1];
            exit !(\$b->{scale} == $s && \$b->{sky_sigma_scaled} == $q)" ||
            return 1
        k=$((k + 1))
    done
'

test_expect_success 'SOURCES: exact catalogue bytes, base/halo/edge rows' '
    perl -pi -e "s/^00001,/\"my \"\"star\"\", alpha \",/ if \$. == 2" \
        f/work/catalog.csv &&
    grep "^\"my \"\"star\"\", alpha \"," f/work/catalog.csv &&
    pp-patchify -c f/config.yaml --set epsf.epsf_ngrid=2 --set epsf.ngrid=2 \
        2>log &&
    cols=$($CSV f/work/catalog.csv | tr "\t" " ") &&
    { $CSV f/work/catalog.csv; $CSV f/work/catalog.csv $cols; } >cat.tsv &&
    sed 1d f/work/patches/patches.csv | while IFS=, read er ec pr pc et pt \
            bx0 bx1 by0 by1 rx0 rx1 ry0 ry1 h ns nh pl; do
        payloadcheck sources $PAY/$pl >src.tsv && cat src.tsv >>src.all &&
        perl srccheck.pl src.tsv cat.tsv $bx0 $bx1 $by0 $by1 $rx0 $rx1 \
            $ry0 $ry1 27 >>src.out || return 1
    done &&
    cat src.out && test_line_count = 16 src.out &&
    grep -v " 0 halo" src.out && grep -v " 0 edge" src.out &&
    grep -l "^my \"star\", alpha 	" src.all
'

test_expect_success 'payload WCS = wcs.fits shifted to the ROI (1e-9 deg)' '
    for p in r00_c00_pr00_pc00 r01_c01_pr01_pc01 r00_c01_pr01_pc00; do
        for xy in "0 0" "10.5 37.25" "150 3"; do
            payloadcheck wcs $PAY/$p.fits f/work/wcs.fits $xy || return 1
        done
    done
'

test_expect_success 'payloads are byte-identical for 1 and 3 threads' '
    mkdir j3 && cp $PAY/*.fits j3/ &&
    pp-patchify -c f/config.yaml --set epsf.epsf_ngrid=2 --set epsf.ngrid=2 \
        -j 1 2>log &&
    for p in j3/*.fits; do
        cmp $p $PAY/$(basename $p) || return 1
    done
'

test_expect_success 'stale payloads of an earlier layout are removed' '
    : >$PAY/r09_c09_pr00_pc00.fits && : >$PAY/notes.fits &&
    pp-patchify -c f/config.yaml --set epsf.epsf_ngrid=2 --set epsf.ngrid=2 \
        2>log &&
    test_path_is_missing $PAY/r09_c09_pr00_pc00.fits &&
    test_path_is_file $PAY/notes.fits &&
    grep "removed 1 stale payload" log
'

test_expect_success 'without a bright mask: INFO line, no bit 4' '
    rm -r f/work/bright_mask &&
    pp-patchify -c f/config.yaml --set epsf.epsf_ngrid=1 --set epsf.ngrid=2 \
        2>log &&
    grep "| INFO | no bright mask" log &&
    payloadcheck pixels $PAY/r00_c00_pr00_pc00.fits >out &&
    grep "0 bright" out &&
    test_path_is_missing $PAY/r01_c01_pr01_pc01.fits
'

test_done
