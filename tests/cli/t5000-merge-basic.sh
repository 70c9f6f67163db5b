#!/bin/sh
test_description='pp-merge (SPEC 11): left join of the current patches onto
the base catalogue, exact text of hostile cells, excluded_reason, RA/DEC
through wcs.fits, failed and stale patches, compared cell by cell with an
expected catalogue written by hand; duplicate fit keys are an error'
. "$(dirname "$0")/lib-cli.sh"

W=f/work
TA=r00_c00_pr00_pc00            # fitted
TB=r00_c00_pr00_pc01            # payload, no fit CSV: failed
TC=r00_c00_pr01_pc00            # no payload (its old fit CSV is stale)
TOLD=r09_c09_pr00_pc00          # an earlier run's patch, not listed

# cmpcsv.pl EXPECTED ACTUAL - RFC 4180 parse of both (independent of
# patchphot), then header and every cell compared as exact bytes; an
# expected cell "~V" is a number within 2e-8 of V (a value computed through
# the WCS).  Prints "ok R rows x C columns".
cat >cmpcsv.pl <<'PERL'
use strict; use warnings;
sub rd { my $f = shift; open my $h, '<:raw', $f or die "$f: $!\n";
    my $t = do { local $/; <$h> }; my (@rec, @row); pos($t) = 0;
    while (pos($t) < length $t) {
        $t =~ /\G(?:"((?:[^"]|"")*)"|([^,"\n]*))(,|\n|\z)/gc
            or die "$f: bad CSV near byte " . pos($t) . "\n";
        my ($qf, $bf, $ef) = ($1, $2, $3);
        push @row, defined $qf ? $qf =~ s/""/"/gr : $bf;
        if ($ef ne ',') { push @rec, [@row]; @row = () } }
    return @rec }
my @e = rd($ARGV[0]); my @a = rd($ARGV[1]);
die "rows: ", scalar(@a), ", expected ", scalar(@e), "\n" if @a != @e;
my @h = @{ $e[0] };
for my $r (0 .. $#e) {
    die "row $r: ", scalar(@{ $a[$r] }), " cells, expected ",
        scalar(@{ $e[$r] }), "\n" if @{ $a[$r] } != @{ $e[$r] };
    for my $c (0 .. $#{ $e[$r] }) {
        my ($x, $y) = ($e[$r][$c], $a[$r][$c]);
        if ($r > 0 && $x =~ /^~(.*)$/) {
            die "row $r $h[$c]: '$y' not within 2e-8 of $1\n"
                if $y eq '' || abs($y - $1) > 2e-8;
        } elsif ($x ne $y) { die "row $r column '$h[$c]': '$y', expected '$x'\n" }
    } }
print "ok ", $#e, " rows x ", scalar(@h), " columns\n";
PERL

# The fit columns of SPEC 10.5, multi-band mode, bands m400 m425.
FITCOLS='x_pix_patch,y_pix_patch,patch_tag,epsf_tag,psf_min_epsf_nstars_for_use,psf_used_epsf_band_count,psf_fallback_band_count,psf_low_star_band_count,psf_fallback_bands,psf_low_star_bands,psf_frozen_bands_for_optimizer,psf_fallback_reasons_json,opt_niters,opt_converged,opt_hit_max_iters,opt_last_dlnp,flag_bound_stalled,flag_bound_stalled_which_parameter,x_pix_patch_fit,y_pix_patch_fit,x_pix_white_fit,y_pix_white_fit,RA_fit,DEC_fit,stype_fit,sersic_n_fit,re_pix_fit,ab_fit,phi_deg_fit,ELL_fit,Re_fit,THETA_fit,FLUX_m400_fit,FLUXERR_m400_fit,FLUX_m425_fit,FLUXERR_m425_fit'
BASECOLS='ID,RA,DEC,TYPE,NOTE,FLUX_m400,x_pix_white,y_pix_white,excluded_crop,excluded_saturation,excluded_any,affected_by_bright_mask'

test_expect_success 'setup: frames.json and wcs.fits of a pp-sim field' '
    pp-sim --out f --bands m400,m425 --size 200x200 --crop-margin 10 \
        --nstars 5 --ngals 2 2>/dev/null &&
    pp-crop -c f/config.yaml 2>/dev/null &&
    test_path_is_file $W/wcs.fits &&
    grep "\"x0\": 10," $W/frames.json &&
    # the first truth source (x_full 18.4, y_full 78.9): its working-frame
    # position is inside patch A; its true RA/DEC are what the WCS gives.
    perl -ne "next if \$. != 2; my @f = split /,/; printf qq(%s %s %s %s\n),
        \$f[2] - 10, \$f[3] - 10, \$f[4], \$f[5]" f/truth.csv >truth1 &&
    read X Y RA DEC <truth1 && echo "$X $Y $RA $DEC" &&
    test -n "$DEC"
'

test_expect_success 'setup: base catalogue, patches.json, fit CSVs by hand' '
    read X Y RA DEC <truth1 &&
    # 9 rows: fitted (00019, a,b, UTF-8), in the failed patch ("q"), no
    # coordinates, crop+saturation, unassigned, saturation, crop.
    cat >$W/catalog.csv <<-CSV &&
	$BASECOLS
	00019,150.011,2.197,STAR,"naïve, “quoted”",1.50,20.5,30.25,False,False,False,False
	"a,b",$RA,$DEC,,,NA,$X,$Y,False,False,False,False
	"""q""",150.0,2.2,EXP,,,120,50,False,False,False,False
	Ωμέγα-4,150.005,2.199,,"two
	lines",7,60,100,False,False,False,True
	nc1,,,STAR,,,,,True,False,True,False
	cs1,150.02,2.2,STAR,,,-3,50,True,True,True,False
	un1,149.99,2.21,STAR,,,150,150,False,False,False,False
	s1,150.0,2.22,STAR,,,70,170,False,True,True,False
	c1,149.98,2.19,STAR,,,179.5,5,True,False,True,False
	CSV
    mkdir -p $W/patches &&
    cat >$W/patches/patches.json <<-JSON &&
	[
	  {"epsf_r": 0, "epsf_c": 0, "patch_r": 0, "patch_c": 0,
	   "epsf_tag": "r00_c00", "patch_tag": "$TA",
	   "x0_base": 0, "x1_base": 100, "y0_base": 0, "y1_base": 180,
	   "x0_roi": 0, "x1_roi": 129, "y0_roi": 0, "y1_roi": 180,
	   "halo_pix": 29, "n_sources": 4, "n_halo_sources": 0,
	   "payload": "$TA.fits"},
	  {"epsf_r": 0, "epsf_c": 0, "patch_r": 0, "patch_c": 1,
	   "epsf_tag": "r00_c00", "patch_tag": "$TB",
	   "x0_base": 100, "x1_base": 140, "y0_base": 0, "y1_base": 180,
	   "x0_roi": 71, "x1_roi": 169, "y0_roi": 0, "y1_roi": 180,
	   "halo_pix": 29, "n_sources": 1, "n_halo_sources": 0,
	   "payload": "$TB.fits"},
	  {"epsf_r": 0, "epsf_c": 0, "patch_r": 1, "patch_c": 0,
	   "epsf_tag": "r00_c00", "patch_tag": "$TC",
	   "x0_base": 140, "x1_base": 180, "y0_base": 0, "y1_base": 90,
	   "x0_roi": 111, "x1_roi": 180, "y0_roi": 0, "y1_roi": 119,
	   "halo_pix": 29, "n_sources": 0, "n_halo_sources": 0,
	   "payload": ""}
	]
	JSON
    mkdir -p $W/outputs/$TA $W/outputs/$TC $W/outputs/$TOLD &&
    # patch A: 00019 with RA_fit, a,b without (filled from wcs.fits), the
    # UTF-8 row on the fallback PSF in both bands, and a stray row for
    # nc1, which has no coordinates and so takes no fit row.
    cat >$W/outputs/$TA/${TA}_cat_fit.csv <<-CSV &&
	$BASECOLS,$FITCOLS
	00019,150.011,2.197,STAR,"naïve, “quoted”",1.50,20.5,30.25,False,False,False,False,20.5,30.25,$TA,r00_c00,2,2,0,0,,,,{},7,True,False,3.2e-07,False,,20.49,30.26,20.49,30.26,150.0110001,2.1970001,star,,,,,,,,1000.5,10.25,2.0e3,20
	"a,b",$RA,$DEC,,,NA,$X,$Y,False,False,False,False,$X,$Y,$TA,r00_c00,2,2,0,0,,,,{},12,False,False,0.5,False,,$X,$Y,$X,$Y,,,exp,,3.1,0.8,45,0.2,3.1,-45,55,1.5,66,1.75
	Ωμέγa-x,1,1,,,,1,1,False,False,False,False,1,1,$TA,r00_c00,2,0,2,0,"m400,m425",,,"{""m400"": ""no_epsf""}",3,True,False,0,False,,1,1,1,1,1,1,star,,,,,,,,1,1,1,1
	Ωμέγα-4,150.005,2.199,,"two
	lines",7,60,100,False,False,False,True,60,100,$TA,r00_c00,2,0,2,0,"m400,m425",,,"{""m400"": ""no_epsf"", ""m425"": ""no_epsf""}",5,True,False,-1e-9,False,,60.1,99.9,60.1,99.9,150.005,2.199,star,,,,,,,,7.25,0.5,8,0.25
	nc1,,,STAR,,,,,True,False,True,False,0,0,$TA,r00_c00,2,2,0,0,,,,{},1,True,False,0,False,,0,0,0,0,1,1,star,,,,,,,,1,1,1,1
	CSV
    # stale fit CSVs: the no-payload patch and a patch of an earlier run
    # (which would give "q" a fit and make 00019 a duplicate).
    head -n 1 $W/outputs/$TA/${TA}_cat_fit.csv >$W/outputs/$TC/${TC}_cat_fit.csv &&
    sed -n 2p $W/outputs/$TA/${TA}_cat_fit.csv >>$W/outputs/$TC/${TC}_cat_fit.csv &&
    cp $W/outputs/$TC/${TC}_cat_fit.csv $W/outputs/$TOLD/${TOLD}_cat_fit.csv &&
    echo "not a fit" >$W/outputs/$TA/notes.txt
'

# The expected catalogue, by hand: base columns, excluded_reason after
# excluded_any, the fit columns, fit_is_reliable, fit_quality_issues.
# a,b: RA_fit/DEC_fit from wcs.fits = its true RA/DEC (~); Ωμέγα-4: bright
# mask (hard) and every band on the fallback PSF (soft).
test_expect_success 'setup: expected catalogue' '
    read X Y RA DEC <truth1 &&
    E=",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,," &&
    cat >expected.csv <<-CSV
	ID,RA,DEC,TYPE,NOTE,FLUX_m400,x_pix_white,y_pix_white,excluded_crop,excluded_saturation,excluded_any,excluded_reason,affected_by_bright_mask,$FITCOLS,fit_is_reliable,fit_quality_issues
	00019,150.011,2.197,STAR,"naïve, “quoted”",1.50,20.5,30.25,False,False,False,,False,20.5,30.25,$TA,r00_c00,2,2,0,0,,,,{},7,True,False,3.2e-07,False,,20.49,30.26,20.49,30.26,150.0110001,2.1970001,star,,,,,,,,1000.5,10.25,2.0e3,20,True,
	"a,b",$RA,$DEC,,,NA,$X,$Y,False,False,False,,False,$X,$Y,$TA,r00_c00,2,2,0,0,,,,{},12,False,False,0.5,False,,$X,$Y,$X,$Y,~$RA,~$DEC,exp,,3.1,0.8,45,0.2,3.1,-45,55,1.5,66,1.75,True,not_converged
	"""q""",150.0,2.2,EXP,,,120,50,False,False,False,,False,$E,,False,no_fit_result
	Ωμέγα-4,150.005,2.199,,"two
	lines",7,60,100,False,False,False,,True,60,100,$TA,r00_c00,2,0,2,0,"m400,m425",,,"{""m400"": ""no_epsf"", ""m425"": ""no_epsf""}",5,True,False,-1e-9,False,,60.1,99.9,60.1,99.9,150.005,2.199,star,,,,,,,,7.25,0.5,8,0.25,False,"bright_mask,all_psf_fallback"
	nc1,,,STAR,,,,,True,False,True,no_coords,False,$E,,False,excluded
	cs1,150.02,2.2,STAR,,,-3,50,True,True,True,crop+saturation,False,$E,,False,excluded
	un1,149.99,2.21,STAR,,,150,150,False,False,False,,False,$E,,False,no_fit_result
	s1,150.0,2.22,STAR,,,70,170,False,True,True,saturation,False,$E,,False,excluded
	c1,149.98,2.19,STAR,,,179.5,5,True,False,True,crop,False,$E,,False,excluded
	CSV
'

test_expect_success 'pp-merge writes the expected catalogue, cell by cell' '
    pp-merge -c f/config.yaml --set zp.enabled=false 2>log &&
    cat log &&
    perl cmpcsv.pl expected.csv $W/output_catalog.csv &&
    test_no_tmp_files $W
'

test_expect_success 'hostile cells are quoted as SPEC 3.4 says' '
    grep "^\"a,b\"," $W/output_catalog.csv &&
    grep "^\"\"\"q\"\"\",150.0,2.2,EXP," $W/output_catalog.csv &&
    grep "^00019,150.011,2.197,STAR,\"naïve, “quoted”\",1.50," \
        $W/output_catalog.csv &&
    grep -c "" $W/output_catalog.csv >nlines &&
    test "$(cat nlines)" -eq 11
'

test_expect_success 'log: failed patch, stale files, stray row, counts' '
    grep "| WARNING | failed patches (no fit catalogue): 1: $TB$" log &&
    grep "| WARNING | ignored 2 files matching merge.pattern .\*_cat_fit.csv. below" log &&
    grep "| WARNING | 2 fit rows match no base row with finite RA/DEC" log &&
    grep "| INFO | 1 fitted position without RA/DEC: computed from .*wcs.fits" log &&
    grep "| INFO | wrote .*/output_catalog.csv.: 9 rows x 51 columns$" log &&
    grep "| INFO | excluded: crop 3, saturation 2, any 4 (no_coords 1)$" log &&
    grep "| INFO | rows with a fit: 3$" log &&
    grep "| INFO | merge-missing (rows without a fit): 6 = excluded 4 + failed patch 1 + unassigned 1$" log &&
    grep "| INFO | fit summary: converged 2, hit-max 0, bound-stalled 0, reliable 2 (of 9 rows)$" log
'

test_expect_success 'a re-run gives the same bytes' '
    cp $W/output_catalog.csv first.csv &&
    pp-merge -c f/config.yaml --set zp.enabled=false 2>/dev/null &&
    test_cmp first.csv $W/output_catalog.csv
'

test_expect_success 'no ID column: the key is the exact (RA, DEC) text' '
    rm -rf g && cp -r f g && rm -f g/work/output_catalog.csv &&
    B="RA,DEC,NAME,x_pix_white,y_pix_white,excluded_crop,excluded_saturation,excluded_any" &&
    F0=",$TA,r00_c00,2,2,0,0,,,,{},3,True,False,0,False,,1,1" &&
    F1=",150.1,2.1,star,,,,,,,,5,0.5,6,0.5" &&
    cat >g/work/catalog.csv <<-CSV &&
	$B
	150.011,2.197,one,10,10,False,False,False
	150.02,2.2,two,20,20,False,False,False
	150.011,2.1970,three,30,30,False,False,False
	CSV
    cat >g/work/outputs/$TA/${TA}_cat_fit.csv <<-CSV &&
	$B,$FITCOLS
	150.011,2.197,one,10,10,False,False,False,10,10$F0,10,10$F1
	150.0200,2.2,two,20,20,False,False,False,20,20$F0,20,20$F1
	CSV
    pp-merge -c g/config.yaml --set zp.enabled=false 2>log2 &&
    grep "| INFO | base catalogue .*: 3 rows, key (RA, DEC) text;" log2 &&
    grep "| WARNING | 1 fit row matches no base row with finite RA/DEC" log2 &&
    perl $PP_TOP/tests/cli/csvcol.pl g/work/output_catalog.csv NAME \
        x_pix_white_fit RA_fit fit_quality_issues >got &&
    printf "one\t10\t150.1\t\ntwo\t\t\tno_fit_result\nthree\t\t\tno_fit_result\n" >want &&
    test_cmp want got
'

test_expect_success 'duplicate fit keys: error naming them, exit 1, no output' '
    rm -rf d && cp -r f d && rm -f d/work/output_catalog.csv &&
    mkdir -p d/work/outputs/$TB &&
    head -n 2 d/work/outputs/$TA/${TA}_cat_fit.csv \
        >d/work/outputs/$TB/${TB}_cat_fit.csv &&
    test_expect_code 1 pp-merge -c d/config.yaml --set zp.enabled=false \
        2>err &&
    grep "| ERROR | 1 duplicate merge key among the fit rows: .00019. ($TA, $TB)" err &&
    test_path_is_missing d/work/output_catalog.csv &&
    test_no_tmp_files d/work
'

test_expect_success 'a key twice in one fit CSV is a duplicate too' '
    rm -rf d && cp -r f d && rm -f d/work/output_catalog.csv &&
    sed -n 2p d/work/outputs/$TA/${TA}_cat_fit.csv \
        >>d/work/outputs/$TA/${TA}_cat_fit.csv &&
    test_expect_code 1 pp-merge -c d/config.yaml --set zp.enabled=false \
        2>err &&
    grep "| ERROR | 1 duplicate merge key among the fit rows: .00019. ($TA, $TA)" err &&
    test_path_is_missing d/work/output_catalog.csv
'

test_done
