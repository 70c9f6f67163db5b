#!/usr/bin/perl
# bench/zpcal-gen.pl - a large final catalogue for timing `pp-zp calibrate`
# (SPEC §17: 100 000 rows; §11 step 8 column layout, multi-band mode).
#
#     perl bench/zpcal-gen.pl DIR [NROWS] [NBANDS] [NGAIA] [SEED]
#         (defaults 100000 40 3000 1)
#
# Writes DIR/config.yaml, DIR/gaiaxp.csv (NGAIA + 2000 stars, mag_<band>
# per band) and DIR/work/{frames.json,output_catalog.csv}: the input
# columns (ID with leading zeros, RA, DEC, TYPE, ELL, THETA, Re, FLUX_<b>),
# the pp-crop / pp-zp columns, the pp-fit columns of SPEC §10.5 with
# 17-digit numbers as pp-fit writes them, FLUX_<b>_fit / FLUXERR_<b>_fit
# per band, fit_is_reliable and fit_quality_issues.  The first NGAIA rows
# are Gaia stars whose fluxes follow a per-band zero point offset
# dzp_b in [-0.05, 0.05] (so calibrate has something to find); 5 % of them
# are unreliable.  Deterministic for a given SEED.
use strict;
use warnings;

my ($dir, $nrows, $nb, $ngaia, $seed) = @ARGV;
die "usage: zpcal-gen.pl DIR [NROWS] [NBANDS] [NGAIA] [SEED]\n"
    unless defined $dir;
$nrows //= 100000;
$nb //= 40;
$ngaia //= 3000;
$seed //= 1;
srand($seed);

my @bands = map { sprintf "m%03d", 400 + 25 * $_ } 0 .. $nb - 1;
my @dzp = map { 0.1 * rand() - 0.05 } @bands;
mkdir $dir;
mkdir "$dir/work";

sub out {
    my ($path) = @_;
    open(my $fh, '>', $path) or die "zpcal-gen: cannot write '$path': $!\n";
    return $fh;
}

my $fh = out("$dir/config.yaml");
print $fh "inputs:\n  input_catalog: input_catalog.csv\n",
    "  image_list_file: image_list.txt\n",
    "  gaiaxp_synphot_csv: gaiaxp.csv\noutputs:\n  work_dir: work\n",
    "logging:\n  file: null\n";
close $fh or die;

$fh = out("$dir/work/frames.json");
print $fh "{\n  \"format\": \"patchphot-frames/1\",\n  \"zp_ref\": 25.0,\n",
    "  \"full\": {\"width\": 10000, \"height\": 10000},\n",
    "  \"crop\": {\"enabled\": true, \"x0\": 300, \"x1\": 9700, ",
    "\"y0\": 300, \"y1\": 9700},\n",
    "  \"work\": {\"width\": 9400, \"height\": 9400},\n  \"bands\": [\n";
print $fh join(",\n", map {
    "    {\"band\": \"$_\", \"path\": \"/nonexistent/$_.fits\", "
  . "\"hdu\": 0, \"zp_auto\": 28.0, \"scale\": 0.063, \"skysig\": 4.0, "
  . "\"sky_sigma_scaled\": 0.25, \"egain\": 1000.0, \"saturate\": 60000.0, "
  . "\"fwhm_pix\": 3.5, \"fwhm_source\": \"PEEING\", "
  . "\"pixel_scale_arcsec\": 0.505}" } @bands), "\n  ]\n}\n";
close $fh or die;

# GaiaXP: the catalogue's Gaia stars (source_id 4000000000000000000 + k),
# then 2000 stars outside the catalogue.
my (@gmag);
$fh = out("$dir/gaiaxp.csv");
print $fh join(",", "source_id", "ra", "dec", "phot_g_mean_mag",
               map { "mag_$_" } @bands), "\n";
for my $k (0 .. $ngaia + 1999) {
    my $g = 12 + 6 * rand();
    my @m = map { $g + 0.3 * rand() - 0.15 } @bands;
    $gmag[$k] = \@m if $k < $ngaia;
    print $fh join(",", 4000000000000000000 + $k,
                   sprintf("%.10f", 150 + rand()), sprintf("%.10f", 2 + rand()),
                   sprintf("%.4f", $g), map { sprintf "%.4f", $_ } @m), "\n";
}
close $fh or die;

my @fitcols = qw(x_pix_patch y_pix_patch patch_tag epsf_tag
    psf_min_epsf_nstars_for_use psf_used_epsf_band_count
    psf_fallback_band_count psf_low_star_band_count psf_fallback_bands
    psf_low_star_bands psf_frozen_bands_for_optimizer
    psf_fallback_reasons_json opt_niters opt_converged opt_hit_max_iters
    opt_last_dlnp flag_bound_stalled flag_bound_stalled_which_parameter
    x_pix_patch_fit y_pix_patch_fit x_pix_white_fit y_pix_white_fit RA_fit
    DEC_fit stype_fit sersic_n_fit re_pix_fit ab_fit phi_deg_fit ELL_fit
    Re_fit THETA_fit);
$fh = out("$dir/work/output_catalog.csv");
print $fh join(",", qw(ID RA DEC TYPE ELL THETA Re), map({ "FLUX_$_" } @bands),
               qw(x_pix_white y_pix_white excluded_crop excluded_saturation
                  excluded_any excluded_reason affected_by_bright_mask
                  gaia_source_id), @fitcols,
               map({ ("FLUX_${_}_fit", "FLUXERR_${_}_fit") } @bands),
               qw(fit_is_reliable fit_quality_issues)), "\n";
sub g17 { sprintf "%.17g", $_[0] }
for my $r (0 .. $nrows - 1) {
    my $star = $r < $ngaia;
    my $rel = !$star || rand() > 0.05;
    my ($x, $y) = (9400 * rand(), 9400 * rand());
    my @flux;
    for my $b (0 .. $nb - 1) {
        my $f = $star ? 10 ** (-0.4 * ($gmag[$r][$b] - 25 - $dzp[$b]))
                      : 10 ** (-0.4 * (18 + 8 * rand() - 25));
        my $fe = 0.005 * $f + 5;
        push @flux, g17($f * (1 + 0.003 * (rand() - 0.5))), g17($fe);
    }
    print $fh join(",",
        sprintf("%07d", $r), sprintf("%.10f", 150 + rand()),
        sprintf("%.10f", 2 + rand()), $star ? "STAR" : "GAL",
        $star ? ("", "", "") : (sprintf("%.3f", rand()),
                                 sprintf("%.2f", 180 * rand()),
                                 sprintf("%.2f", 1 + 3 * rand())),
        map({ sprintf "%.3f", 10 ** (2 + 3 * rand()) } @bands),
        g17($x), g17($y), "False", "False", "False", "", "False",
        $star ? 4000000000000000000 + $r : "",
        g17(rand() * 250), g17(rand() * 250), "r03_c04_pr02_pc01", "r03_c04",
        2, $nb, 0, 0, "", "", "", "{}", 12, "True", "False",
        g17(1e-7 * rand()), $rel ? "False" : "True", $rel ? "" : "re_pix",
        g17(rand() * 250), g17(rand() * 250), g17($x + 0.01), g17($y - 0.01),
        sprintf("%.12f", 150 + rand()), sprintf("%.12f", 2 + rand()),
        $star ? ("star", "", "", "", "", "", "", "")
              : ("exp", 1, g17(3 * rand() + 1), g17(rand()),
                 g17(180 * rand()), g17(rand()), g17(1 + rand()),
                 g17(180 * rand())),
        @flux, $rel ? "True" : "False", $rel ? "" : "bound_stalled"), "\n";
}
close $fh or die;
