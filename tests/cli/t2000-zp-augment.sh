#!/bin/sh
test_description='pp-zp augment on a small three-band pp-sim field: matching
and injection against the generator'"'"'s truth, byte-exact original cells,
column order, plot data, skipped runs and errors'
. "$(dirname "$0")/lib-cli.sh"

CSV="perl $PP_TOP/tests/cli/csvcol.pl"
AUG=f/work/ZP/input_catalog_with_Gaia.csv
PLOT=f/work/ZP/gaia_augmentation.csv
BOX=f/work/ZP/gaia_augmentation.json
ALL="--set zp.gaia_mag_min=0 --set zp.gaia_mag_max=30"

test_expect_success 'setup: pp-sim field and pp-crop' '
    pp-sim --out f --nbands 3 --size 600x600 --nstars 80 2>/dev/null &&
    pp-crop -c f/config.yaml 2>/dev/null &&
    test_path_is_file f/work/catalog.csv
'

test_expect_success 'pp-zp --help lists augment and calibrate; others are unknown' '
    pp-zp --help >help &&
    grep "^  augment " help && grep "^  calibrate " help &&
    test_expect_code 2 pp-zp calibrat -c f/config.yaml 2>err &&
    grep "ERROR | unknown command .calibrat., expected .augment. or .calibrate." err &&
    test_expect_code 2 pp-zp -c f/config.yaml 2>err &&
    grep "no command" err &&
    test_expect_code 2 pp-zp augment 2>err &&
    grep "missing option .-c CONFIG." err &&
    test_expect_code 2 pp-zp augment extra -c f/config.yaml 2>err &&
    grep "unexpected operand .extra." err
'

test_expect_success 'augment writes the three outputs and logs the counts' '
    pp-zp augment -c f/config.yaml $ALL 2>log &&
    test_path_is_file $AUG && test_path_is_file $PLOT &&
    test_path_is_file $BOX && test_no_tmp_files f/work &&
    grep "| INFO | matched=[0-9]* .* injected=[0-9]* saturation-dropped=0" log &&
    grep "| INFO | augment timing \[s\]: read=.* total=" log &&
    grep "augment timing" f/work/pp-zp.log
'

test_expect_success 'columns: catalog.csv'"'"'s, then gaia_source_id' '
    $CSV f/work/catalog.csv >in.h &&
    $CSV $AUG >out.h &&
    printf "%s\tgaia_source_id\n" "$(cat in.h)" >expect.h &&
    test_cmp expect.h out.h
'

# Expected matches from the truth: catalogue stars whose Gaia row is in
# the file and whose true position is inside the selection box, which is
# the whole working frame [18, 582) here (min_box_size_pix 3000).
cat >truth.pl <<'PERL'
my ($gaia, $truth, $mode) = @ARGV;
my %in_file;
open(G, $gaia) or die;
while (<G>) { chomp; $in_file{(split /\t/)[0]} = 1 }
open(T, $truth) or die;
while (<T>) {
    chomp;
    my ($id, $incat, $ingaia, $sid, $sat, $x, $y) = split /\t/;
    my $inbox = $x >= 18 && $x < 582 && $y >= 18 && $y < 582;
    my $g = $ingaia eq "True" && $in_file{$sid} && $inbox;
    if ($mode eq "matched" && $incat eq "True") {
        print "$id\t", ($g ? $sid : ""), "\n";
    } elsif ($mode eq "injected" && $incat eq "False" && $g &&
             $sat eq "False") {
        print "gaia_$sid\t$sid\n";
    }
}
PERL

test_expect_success 'matches: each catalogue star gets its own Gaia source_id' '
    $CSV f/gaiaxp_synphot.csv source_id >gaia.tsv &&
    $CSV f/truth.csv ID in_catalog in_gaia gaia_source_id saturated \
        x_full y_full >truth.tsv &&
    perl truth.pl gaia.tsv truth.tsv matched | sort >expect.m &&
    test $(grep -c "	4" expect.m) -ge 20 &&
    $CSV $AUG ID gaia_source_id | sort >all.m &&
    join -t "	" expect.m all.m | awk -F"\t" "{print \$1 \"\t\" \$3}" >got.m &&
    test_cmp expect.m got.m
'

test_expect_success 'Gaia-only stars in the box are injected as gaia_<id>' '
    perl truth.pl gaia.tsv truth.tsv injected | sort >expect.i &&
    test $(wc -l <expect.i) -ge 1 &&
    $CSV $AUG ID gaia_source_id | grep "^gaia_" | sort >got.i &&
    test_cmp expect.i got.i
'

test_expect_success 'injected rows: STAR, Gaia RA/DEC text, fluxes, flags False' '
    $CSV f/gaiaxp_synphot.csv source_id ra dec mag_m400 >g.tsv &&
    $CSV $AUG ID RA DEC TYPE FLUX_m400 POS_ERR excluded_crop \
        excluded_saturation excluded_any | grep "^gaia_" >inj.tsv &&
    perl -F"\t" -lane "
        BEGIN { open(G, q(g.tsv)); while (<G>) { chomp;
                my @g = split /\t/, \$_, -1; \$g{\$g[0]} = [@g] } }
        (my \$sid = \$F[0]) =~ s/^gaia_//;
        my \$g = \$g{\$sid} or die qq(no Gaia row \$sid);
        my \$f = 10**((25 - \$g->[3]) / 2.5);
        die qq(bad row \$_) unless \$F[1] eq \$g->[1] && \$F[2] eq \$g->[2] &&
            abs(\$F[4] - \$f) <= 1e-12 * \$f &&
            join(q(,), @F[3, 5 .. 8]) eq q(STAR,,False,False,False);
    " inj.tsv
'

test_expect_success 'original rows: every cell byte for byte, bar back-fills' '
    nrow=$($CSV f/work/catalog.csv RA | wc -l) &&
    for col in $(cat in.h); do
        $CSV f/work/catalog.csv "$col" >o.a &&
        $CSV $AUG "$col" | head -n $nrow >o.b &&
        case $col in
        FLUX_*)
            paste o.a o.b | awk -F"\t" "\$1 != \$2 && \$1 != \"\" && \$1 + 0 != 0" >o.bad &&
            test_line_count = 0 o.bad || { head -n 3 o.bad; false; } ;;
        *)  test_cmp o.a o.b ;;
        esac || return 1
    done
'

test_expect_success 'back-fill: only empty or zero FLUX cells of matched rows' '
    $CSV f/work/catalog.csv FLUX_m425 >a &&
    $CSV $AUG FLUX_m425 gaia_source_id | head -n $(wc -l <a) >b &&
    paste a b | awk -F"\t" "\$1 != \$2" >changed &&
    test $(wc -l <changed) -ge 1 &&
    awk -F"\t" "\$3 == \"\" || (\$1 != \"\" && \$1 + 0 != 0)" changed >bad &&
    test_line_count = 0 bad
'

test_expect_success 'plot data: box JSON and the categories' '
    tr -d " \n" <$BOX >box &&
    test "$(cat box)" = "{\"x0\":0,\"x1\":564,\"y0\":0,\"y1\":564}" &&
    $CSV $PLOT >h && test "$(cat h)" = "category	x	y	id" &&
    test $($CSV $PLOT category | grep -c "^gaia_matched$") = \
         $(grep -c "	4" expect.m) &&
    test $($CSV $PLOT category | grep -c "^gaia_injected$") = \
         $(wc -l <expect.i) &&
    $CSV $PLOT category id | grep "^gaia_injected" | cut -f2 | sort >a &&
    cut -f1 expect.i >b && test_cmp b a
'

test_expect_success 'selection box: tightest square of the active sources' '
    pp-zp augment -c f/config.yaml $ALL --set zp.min_box_size_pix=100 \
        2>/dev/null &&
    $CSV f/work/catalog.csv x_pix_white y_pix_white excluded_any >act &&
    perl -MPOSIX -F"\t" -lane "
        next if \$F[2] ne q(False);
        \$xl = \$F[0] if !defined \$xl || \$F[0] < \$xl;
        \$xh = \$F[0] if !defined \$xh || \$F[0] > \$xh;
        \$yl = \$F[1] if !defined \$yl || \$F[1] < \$yl;
        \$yh = \$F[1] if !defined \$yh || \$F[1] > \$yh;
        END {
            \$s = \$xh - \$xl; \$s = \$yh - \$yl if \$yh - \$yl > \$s;
            \$s = 100 if \$s < 100;
            for ([\$xl, \$xh], [\$yl, \$yh]) {
                \$c = (\$_->[0] + \$_->[1]) / 2;
                (\$a, \$b) = (floor(\$c - \$s / 2), ceil(\$c + \$s / 2));
                if (\$b - \$a >= 564) { (\$a, \$b) = (0, 564) }
                if (\$a < 0) { \$b -= \$a; \$a = 0 }
                if (\$b > 564) { \$a -= \$b - 564; \$b = 564 }
                push @o, \$a, \$b;
            }
            printf qq({\"x0\":%d,\"x1\":%d,\"y0\":%d,\"y1\":%d}), @o;
        }" act >expect.box &&
    tr -d " \n" <$BOX >box && test_cmp expect.box box &&
    $CSV $PLOT category x y | grep "^gaia_injected" >inj &&
    perl -F"\t" -lane "
        BEGIN { open(B, q(box)); (\$b = <B>) =~ /x0.:(\d+),.x1.:(\d+),.y0.:(\d+),.y1.:(\d+)/;
                @b = (\$1, \$2, \$3, \$4) }
        die qq(outside: \$_) unless \$F[1] >= \$b[0] && \$F[1] < \$b[1] &&
                                    \$F[2] >= \$b[2] && \$F[2] < \$b[3]" inj
'

test_expect_success 'a re-run gives the same bytes' '
    cp $AUG aug1 && cp $PLOT plot1 &&
    pp-zp augment -c f/config.yaml $ALL 2>/dev/null &&
    test_cmp aug1 $AUG && test_cmp plot1 $PLOT
'

test_expect_success 'inject_gaia_sources false: matches only, no new rows' '
    pp-zp augment -c f/config.yaml $ALL \
        --set zp.inject_gaia_sources=false 2>/dev/null &&
    test $(wc -l <$AUG) = $(wc -l <f/work/catalog.csv) &&
    ! grep -q "^gaia_" $AUG
'

test_expect_success 'POS_ERR set: injected rows take it, others keep theirs' '
    pp-zp augment -c f/config.yaml $ALL \
        --set zp.gaia_pos_err_pix=0.1 2>/dev/null &&
    $CSV $AUG ID POS_ERR | grep "^gaia_" | cut -f2 | sort -u >pe &&
    test "$(cat pe)" = "0.1" &&
    $CSV f/work/catalog.csv POS_ERR >a &&
    $CSV $AUG POS_ERR | head -n $(wc -l <a) >b && test_cmp a b
'

test_done
