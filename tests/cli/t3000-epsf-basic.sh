#!/bin/sh
test_description='pp-epsf on a small stars-only field with a constant PSF:
every file of SPEC 8.3, meta.json key order, stars.csv consistent with
meta.json, an ePSF close to pp-sim'"'"'s true PSF, the summary'
. "$(dirname "$0")/lib-cli.sh"

CSV="perl $PP_TOP/tests/cli/csvcol.pl"
E=f/work/EPSFs

# npyinfo FILE: "shape sum" of a float32 .npy (numpy format 1.0), read
# with perl alone (independent of libcommon's reader).
npyinfo() {
    perl -e '
        open my $f, "<:raw", $ARGV[0] or die; local $/; my $b = <$f>;
        substr($b, 0, 8) eq "\x93NUMPY\x01\x00" or die "bad magic";
        my $hl = unpack "v", substr($b, 8, 2);
        my $h = substr($b, 10, $hl);
        $h =~ /.descr.: .<f4./ or die "not <f4";
        my ($s) = $h =~ /.shape.: \(([^)]*)\)/;
        my @v = unpack "f<*", substr($b, 10 + $hl);
        my $t = 0; $t += $_ for @v;
        printf "%s %.6f\n", $s, $t;' "$1"
}

# maxdiff A B: max |a - b| / max b over two float32 .npy of one shape.
maxdiff() {
    perl -e '
        sub rd { open my $f, "<:raw", $_[0] or die; local $/; my $b = <$f>;
                 my $hl = unpack "v", substr($b, 8, 2);
                 return unpack "f<*", substr($b, 10 + $hl); }
        my @a = rd($ARGV[0]); my @b = rd($ARGV[1]);
        @a == @b or die "sizes differ";
        my ($m, $p) = (0, 0);
        for my $i (0..$#a) { my $d = abs($a[$i] - $b[$i]);
            $m = $d if $d > $m; $p = $b[$i] if $b[$i] > $p; }
        printf "%.5f\n", $m / $p;' "$1" "$2"
}

test_expect_success 'setup: a 600x600 stars-only field, FWHM 4 everywhere' '
    pp-sim --out f --nbands 2 --size 600x600 --ngals 0 --nstars 60 \
        --fwhm 4:4 --true-psf 2>/dev/null &&
    pp-crop -c f/config.yaml 2>/dev/null &&
    pp-zp augment -c f/config.yaml 2>/dev/null &&
    pp-crop mask -c f/config.yaml 2>/dev/null
'

test_expect_success 'pp-epsf builds every band: the files of SPEC 8.3' '
    pp-epsf -c f/config.yaml --set epsf.mog_components=[4,9] 2>err &&
    for b in m400 m425; do
        test_path_is_file $E/$b/r00_c00/epsf.npy &&
        test_path_is_file $E/$b/r00_c00/meta.json &&
        test_path_is_file $E/$b/r00_c00/stars.csv &&
        test_path_is_file $E/$b/r00_c00/stamps.fits || exit 1
    done &&
    test_path_is_file $E/epsf_summary.json &&
    test_no_tmp_files f/work
'

test_expect_success 'meta.json: keys in the order of SPEC 8.3, status ok' '
    sed -n "s/^  \"\([a-z_0-9]*\)\":.*/\1/p" $E/m400/r00_c00/meta.json \
        >keys &&
    cat >keys.expected <<-\EOK &&
	band
	patch
	x0
	x1
	y0
	y1
	epsf_ngrid
	psfstar_mode
	gaia_snap_to_sep
	gaia_mag_min
	gaia_mag_max
	nstars_seed
	nstars_sel
	nstars_extract
	nstars_used
	nstars_rejected
	epsf_shape
	fwhm_pix
	patch_background
	local_star_background
	local_bkg_diagnostics
	epsf_qa
	residual_qa
	mog
	cfg
	status
	EOK
    test_cmp keys.expected keys &&
    grep "^  \"status\": \"ok\"" $E/m400/r00_c00/meta.json &&
    grep "^    \"4\": {" $E/m400/r00_c00/meta.json &&
    grep "^    \"9\": {" $E/m400/r00_c00/meta.json
'

test_expect_success 'stars.csv agrees with meta.json; rejects have reasons' '
    for b in m400 m425; do
        d=$E/$b/r00_c00 &&
        $CSV $d/stars.csv >hdr &&
        printf "%s\t" id x_cell y_cell x_white y_white origin gaia_mag \
            snr sep_flag local_bkg annulus_npix used >hdr.expected &&
        echo reject_reason >>hdr.expected &&
        test_cmp hdr.expected hdr &&
        $CSV $d/stars.csv id used reject_reason >rows &&
        perl -MJSON::PP -e "
            local \$/; open my \$m, q(<), q($d/meta.json) or die;
            my \$j = decode_json(<\$m>);
            open my \$r, q(<), q(rows) or die;
            my (\$n, \$used, \$id) = (0, 0, 0);
            my %ok = map { \$_ => 1 } qw(edge nonfinite saturated elongated
                sep_flags low_snr crowded max_stars fit_failed resid_outlier
                build_failed);
            for (split /\n/, <\$r>) {
                my (\$i, \$u, \$why) = split /\t/, \$_, -1;
                \$i == \$id++ or die qq(id \$i out of order);
                if (\$u eq q(True)) {
                    \$used++;
                    \$why eq q() or die qq(used with reason \$why);
                } else {
                    \$ok{\$why} or die qq(row \$i: reason [\$why]);
                }
            }
            \$used == \$j->{nstars_used} or die qq(used \$used);
            \$j->{nstars_used} + \$j->{nstars_rejected} ==
                \$j->{nstars_sel} or die q(sel);
            \$j->{nstars_sel} <= 30 or die q(more than max_stars);
            \$j->{nstars_used} >= 5 or die q(too few stars);
        " || exit 1
    done
'

test_expect_success 'epsf.npy: 55x55 float32, sum 1, within 3% of the truth' '
    for b in m400 m425; do
        npyinfo $E/$b/r00_c00/epsf.npy >info &&
        grep "^55, 55 1.0000" info &&
        maxdiff $E/$b/r00_c00/epsf.npy f/EPSFs_true/$b/r00_c00/epsf.npy \
            >diff && cat diff &&
        perl -ne "exit(\$_ <= 0.03 ? 0 : 1)" diff || exit 1
    done
'

test_expect_success 'stamps.fits: one cube plane per used star' '
    d=$E/m400/r00_c00 &&
    n=$(sed -n "s/^  \"nstars_used\": \([0-9]*\),/\1/p" $d/meta.json) &&
    for x in RAW BGSUB MODEL RESID WEIGHT; do
        test "$(fitskey --get "$d/stamps.fits[$x]" NAXIS3)" = "$n" &&
        test "$(fitskey --get "$d/stamps.fits[$x]" NAXIS1)" = 61 || exit 1
    done &&
    fitskey --get "$d/stamps.fits[BACKGROUND]" X0
'

test_expect_success 'epsf_summary.json: band order; summary rebuilds it' '
    grep "^    \"band\"" $E/epsf_summary.json >bands &&
    printf "    \"band\": \"%s\",\n" m400 m425 >bands.expected &&
    test_cmp bands.expected bands &&
    mv $E/epsf_summary.json summary.first &&
    pp-epsf summary -c f/config.yaml 2>err &&
    test_cmp summary.first $E/epsf_summary.json
'

test_expect_success 'the result does not depend on --threads' '
    pp-epsf -c f/config.yaml --threads 1 --set epsf.mog_components=[4] \
        --set outputs.epsf_dir=one 2>err &&
    pp-epsf -c f/config.yaml --threads 2 --set epsf.mog_components=[4] \
        --set outputs.epsf_dir=two 2>err &&
    for b in m400 m425; do
        cmp f/work/one/$b/r00_c00/epsf.npy f/work/two/$b/r00_c00/epsf.npy &&
        cmp f/work/one/$b/r00_c00/stars.csv \
            f/work/two/$b/r00_c00/stars.csv || exit 1
    done
'

test_done
