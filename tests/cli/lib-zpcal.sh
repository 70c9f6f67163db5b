# lib-zpcal.sh - helpers of the pp-zp calibrate CLI tests (t60NN), sourced
# after lib-cli.sh, in the test's trash directory.

# near EXPECT GOT: two TAB-separated files, cell by cell; numbers equal
# within 1e-9 (relative above 1), text equal byte for byte.
cat >near.pl <<'PERL'
my ($e, $g) = @ARGV;
open(E, $e) or die; open(G, $g) or die;
my @e = <E>; my @g = <G>;
die "rows: expected " . @e . ", got " . @g . "\n" if @e != @g;
my $num = qr/^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
for my $i (0 .. $#e) {
    chomp(my $x = $e[$i]); chomp(my $y = $g[$i]);
    my @x = split /\t/, $x, -1; my @y = split /\t/, $y, -1;
    die "row " . ($i + 1) . ": " . @x . " vs " . @y . " cells\n" if @x != @y;
    for my $j (0 .. $#x) {
        my ($a, $b) = ($x[$j], $y[$j]);
        my $ok = ($a =~ $num && $b =~ $num)
            ? abs($a - $b) <= 1e-9 * (abs($a) > 1 ? abs($a) : 1)
            : $a eq $b;
        die "row " . ($i + 1) . " cell " . ($j + 1)
            . ": expected '$a', got '$b'\n" unless $ok;
    }
}
PERL
NEAR="perl near.pl"

# frames_json BAND... - the frames.json of pp-crop (SPEC §6.1) for these
# bands: calibrate reads the band order and zp_ref from it.
frames_json() {
    printf '{\n  "format": "patchphot-frames/1",\n  "zp_ref": 25.0,\n'
    printf '  "full": {"width": 100, "height": 100},\n'
    printf '  "crop": {"enabled": false, "x0": 0, "x1": 100,'
    printf ' "y0": 0, "y1": 100},\n'
    printf '  "work": {"width": 100, "height": 100},\n  "bands": ['
    sep=
    for b in "$@"; do
        printf '%s\n    {"band": "%s", "path": "/nonexistent/%s.fits",' \
            "$sep" "$b" "$b"
        printf ' "hdu": 0,'
        printf ' "zp_auto": 25.0, "scale": 1.0, "skysig": 1.0,'
        printf ' "sky_sigma_scaled": 1.0, "egain": 1.0, "saturate": 60000.0,'
        printf ' "fwhm_pix": 3.0, "fwhm_source": "PEEING",'
        printf ' "pixel_scale_arcsec": 0.505}'
        sep=,
    done
    printf '\n  ]\n}\n'
}
