#!/usr/bin/perl
# bench/validate.pl - SPEC §10.6 accuracy figures of one pp-sim field
# against pp-sim's truth (truth.csv, truth_bands.csv), never against
# anything pp-fit computed about itself (FLUXERR enters only the pull).
#
#     validate.pl FIELD_DIR LABEL=CATALOG [LABEL=CATALOG...]
#
# FIELD_DIR is a pp-sim output directory (truth files, work/frames.json);
# each CATALOG is a pp-merge output of that field; one column of results
# per catalogue.  Prints a Markdown table, then the worst outliers of each
# statistic with what is needed to explain them (convergence, nearest
# true neighbour and whether the catalogue has it, PSF FWHM at the source
# against the FWHM of the ePSF cell).
#
# Selections (SPEC §10.6; SNR is computed from the truth alone:
# F_true / (sigma_sky * sqrt(NEA)), NEA of the Moffat (beta 3.5, pp-sim's
# default) of the true FWHM at the source, plus 8.93 r_e^2 ab, the NEA of
# an exponential disc, for galaxies; combined SNR = quadrature sum):
#   isolated stars: type star, pair False, saturated False, in_catalog
#     True, per-band SNR > 50; position at combined SNR > 100;
#   pair stars: type star, pair True, saturated False, in_catalog True;
#   galaxies: exp/dev/sersic, 2 <= re_pix <= 8, in_catalog True, combined
#     SNR > 100 (flux: bands with SNR > 100).
# The CSV files are read with tests/cli/csvcol.pl, the project's
# independent RFC 4180 reader.
use strict;
use warnings;
use JSON::PP;
use File::Basename qw(dirname);

my $CSVCOL = dirname(__FILE__) . '/../tests/cli/csvcol.pl';
my $BETA = 3.5;
my $PI = 4 * atan2(1, 1);

# read_csv FILE -> (\@header, \@rows of hashes)
sub read_csv {
    my ($file) = @_;
    open(my $h, '-|', $^X, $CSVCOL, $file) or die "validate: $file: $!\n";
    my $line = <$h>;
    close $h or die "validate: cannot read '$file'\n";
    chomp $line;
    my @head = map { unescape($_) } split /\t/, $line, -1;
    open(my $d, '-|', $^X, $CSVCOL, $file, @head)
        or die "validate: $file: $!\n";
    my @rows;
    while (my $l = <$d>) {
        chomp $l;
        my @v = map { unescape($_) } split /\t/, $l, -1;
        my %r;
        @r{@head} = @v;
        push @rows, \%r;
    }
    close $d or die "validate: cannot read '$file'\n";
    return (\@head, \@rows);
}

sub unescape {
    my ($s) = @_;
    $s =~ s/\\([\\rnt])/$1 eq 'n' ? "\n" : $1 eq 'r' ? "\r"
        : $1 eq 't' ? "\t" : "\\"/ge;
    return $s;
}

sub num {
    my ($v) = @_;
    return undef unless defined $v && $v =~ /\S/;
    return undef unless $v =~ /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;
    return $v + 0;
}

sub median {
    my @s = sort { $a <=> $b } @_;
    return undef unless @s;
    my $n = @s;
    return $n % 2 ? $s[($n - 1) / 2] : ($s[$n / 2 - 1] + $s[$n / 2]) / 2;
}

sub stdev {
    my @x = @_;
    return undef if @x < 2;
    my $m = 0;
    $m += $_ for @x;
    $m /= @x;
    my $v = 0;
    $v += ($_ - $m)**2 for @x;
    return sqrt($v / (@x - 1));
}

# clip5 VALUES -> (std, n kept, n clipped): iterative 5-sigma clipping
# about the mean.
sub clip5 {
    my @x = @_;
    my $n0 = @x;
    while (@x > 2) {
        my $m = 0;
        $m += $_ for @x;
        $m /= @x;
        my $s = stdev(@x);
        my @k = grep { abs($_ - $m) <= 5 * $s } @x;
        last if @k == @x;
        @x = @k;
    }
    return (stdev(@x), scalar @x, $n0 - @x);
}

sub nea_moffat {
    my ($fwhm) = @_;
    my $alpha = $fwhm / (2 * sqrt(2**(1 / $BETA) - 1));
    return $PI * $alpha**2 * (2 * $BETA - 1) / ($BETA - 1)**2;
}

sub fmt {
    my ($v, $f) = @_;
    return defined $v ? sprintf($f, $v) : '-';
}

my ($fdir, @runs) = @ARGV;
die "usage: validate.pl FIELD_DIR LABEL=CATALOG...\n" unless $fdir && @runs;

my $frames = do {
    open(my $h, '<', "$fdir/work/frames.json") or die "validate: $!\n";
    local $/;
    decode_json(<$h>);
};
my ($cx0, $cy0) = $frames->{crop}{enabled}
    ? ($frames->{crop}{x0}, $frames->{crop}{y0}) : (0, 0);
my $zpref = $frames->{zp_ref};
my %cellfwhm;    # "band/cell" -> FWHM of the true ePSF used for that cell

my (undef, $tb) = read_csv("$fdir/truth_bands.csv");
my @bands = map { $_->{band} } @$tb;
my %sig;    # sky sigma per pixel in the scaled system (zp_ref)
for my $b (@$tb) {
    $sig{ $b->{band} } = $b->{skysig} * 10**(-0.4 * ($b->{zp_auto} - $zpref));
}
my (undef, $truth) = read_csv("$fdir/truth.csv");
for my $t (@$truth) {
    my $gal = $t->{type} ne 'star';
    my $s2 = 0;
    for my $b (@bands) {
        my $nea = nea_moffat($t->{"fwhm_$b"});
        $nea += 8.93 * $t->{re_pix}**2 * $t->{ab} if $gal;
        $t->{"snr_$b"} = $t->{"FLUX_$b"} / ($sig{$b} * sqrt($nea));
        $s2 += $t->{"snr_$b"}**2;
    }
    $t->{snr} = sqrt($s2);
}

# nearest true neighbour of every truth source (distance, its ID and
# whether the catalogue has it) for the outlier lists.
for my $t (@$truth) {
    my ($best, $who) = (1e30, undef);
    for my $u (@$truth) {
        next if $u == $t;
        my $d = ($u->{x_full} - $t->{x_full})**2
            + ($u->{y_full} - $t->{y_full})**2;
        ($best, $who) = ($d, $u) if $d < $best;
    }
    $t->{nn} = sqrt($best);
    $t->{nn_cat} = $who ? $who->{in_catalog} : '';
    $t->{nn_type} = $who ? $who->{type} : '';
}

my %res;     # label -> metric -> [value, n, note]
my @notes;
my @labels;
for my $run (@runs) {
    my ($label, $cat) = split /=/, $run, 2;
    push @labels, $label;
    my (undef, $rows) = read_csv($cat);
    my %fit = map { $_->{ID} => $_ } @$rows;
    analyse($label, \%fit);
}
print_table();
print "\n", join("\n", @notes), "\n" if @notes;
exit 0;

# cell_fwhm BAND CELL: the FWHM pp-sim wrote into
# EPSFs_true/BAND/CELL/meta.json (the true PSF at the cell centre).
sub cell_fwhm {
    my ($b, $c) = @_;
    my $k = "$b/$c";
    return $cellfwhm{$k} if exists $cellfwhm{$k};
    open(my $h, '<', "$fdir/EPSFs_true/$k/meta.json")
        or die "validate: EPSFs_true/$k/meta.json: $!\n";
    local $/;
    my $m = decode_json(<$h>);
    return $cellfwhm{$k} = $m->{fwhm_pix};
}

# linfit X Y -> (intercept, slope), least squares.
sub linfit {
    my ($x, $y) = @_;
    my $n = @$x;
    return (undef, undef) if $n < 3;
    my ($sx, $sy, $sxx, $sxy) = (0, 0, 0, 0);
    for my $i (0 .. $n - 1) {
        $sx += $x->[$i];
        $sy += $y->[$i];
        $sxx += $x->[$i]**2;
        $sxy += $x->[$i] * $y->[$i];
    }
    my $d = $n * $sxx - $sx * $sx;
    return (undef, undef) if $d == 0;
    my $s = ($n * $sxy - $sx * $sy) / $d;
    return (($sy - $s * $sx) / $n, $s);
}

sub put {
    my ($label, $key, $val, $n, $ok) = @_;
    $res{$label}{$key} = [$val, $n, $ok];
}

sub analyse {
    my ($label, $fit) = @_;
    my (@eps, @epsr, @exact, @exactp, @dposrel);
    my (%ratio, %pull, @pullall, @pairpull, @dpos, @out_f, @out_p);
    my (%gratio, @gre, @gab, @gn, $nconv, $nfit, $nmatched, $nstype);
    ($nconv, $nfit, $nmatched, $nstype) = (0, 0, 0, 0);
    for my $r (values %$fit) {
        next unless defined num($r->{x_pix_white_fit});
        $nfit++;
        $nconv++ if $r->{opt_converged} eq 'True';
    }
    for my $t (@$truth) {
        next unless $t->{in_catalog} eq 'True' && $t->{saturated} eq 'False';
        my $r = $fit->{ $t->{ID} } or next;
        next unless defined num($r->{x_pix_white_fit});
        $nmatched++;
        my $ndpos = @dpos;
        if ($t->{type} eq 'star') {
            star($t, $r, $t->{pair} eq 'True', \%ratio, \%pull, \@pullall,
                \@pairpull, \@dpos, \@out_f, \@out_p);
            push @dposrel, $dpos[-1]
                if @dpos > $ndpos && ($r->{fit_is_reliable} // '') eq 'True';
            psfmis($t, $r, \@eps, \@epsr, \@exact, \@exactp)
                if $t->{pair} eq 'False';
        } elsif ($t->{re_pix} >= 2 && $t->{re_pix} <= 8
            && $t->{snr} > 100) {
            $nstype++ if $r->{stype_fit} ne $t->{type};
            galaxy($t, $r, \%gratio, \@gre, \@gab, \@gn, \@out_f);
        }
    }
    put($label, 'conv', $nfit ? $nconv / $nfit : undef, $nfit,
        $nfit && $nconv == $nfit);
    put($label, 'matched', $nmatched, $nmatched, 1);
    # isolated stars: flux ratio per band and pooled
    my @all;
    for my $b (@bands) {
        my $m = median(@{ $ratio{$b} || [] });
        put($label, "sr_$b", $m, scalar @{ $ratio{$b} || [] },
            defined $m && abs($m) <= 0.005);
        push @all, @{ $ratio{$b} || [] };
    }
    my $ma = median(@all);
    put($label, 'sr_all', $ma, scalar @all, defined $ma && abs($ma) <= 0.005);
    my ($s, $n, $nc) = clip5(@pullall);
    put($label, 'sp_all', $s, "$n (-$nc)",
        defined $s && $s >= 0.9 && $s <= 1.15);
    for my $b (@bands) {
        my ($sb, $nb, $cb) = clip5(@{ $pull{$b} || [] });
        my $w = defined $sb && $nb > 1 ? 2.5 * $sb / sqrt(2 * ($nb - 1)) : 0;
        put($label, "sp_$b", $sb, "$nb (-$cb)",
            defined $sb && $sb >= 0.9 - $w && $sb <= 1.15 + $w);
    }
    my $rms = @dpos ? sqrt(eval { my $q = 0; $q += $_ for @dpos; $q }
        / @dpos) : undef;
    put($label, 'pos', $rms, scalar @dpos, defined $rms && $rms <= 0.05);
    my $rr = @dposrel ? sqrt(eval { my $q = 0; $q += $_ for @dposrel; $q }
        / @dposrel) : undef;
    put($label, 'posrel', $rr, scalar @dposrel, defined $rr && $rr <= 0.05);
    my ($a0, $a1) = linfit(\@eps, \@epsr);
    put($label, 'psf_a0', $a0, scalar @eps, 1);
    put($label, 'psf_a1', $a1, scalar @eps, 1);
    my $me = median(@exact);
    put($label, 'ex_r', $me, scalar @exact,
        defined $me && abs($me) <= 0.005);
    my ($es, $en, $ec) = clip5(@exactp);
    put($label, 'ex_p', $es, "$en (-$ec)",
        defined $es && $es >= 0.9 && $es <= 1.15);
    my ($ps, $pn, $pc) = clip5(@pairpull);
    put($label, 'pair', $ps, "$pn (-$pc)",
        defined $ps && $ps >= 0.9 && $ps <= 1.2);
    # galaxies
    my @gall;
    for my $b (@bands) {
        my $m = median(@{ $gratio{$b} || [] });
        put($label, "gr_$b", $m, scalar @{ $gratio{$b} || [] },
            defined $m && abs($m) <= 0.02);
        push @gall, @{ $gratio{$b} || [] };
    }
    my $gm = median(@gall);
    put($label, 'gr_all', $gm, scalar @gall, defined $gm && abs($gm) <= 0.02);
    my $re = median(map { abs } @gre);
    put($label, 're', $re, scalar @gre, defined $re && $re <= 0.05);
    put($label, 're_bias', median(@gre), scalar @gre, 1);
    my $ab = median(map { abs } @gab);
    put($label, 'ab', $ab, scalar @gab, defined $ab && $ab <= 0.05);
    my $nn = median(map { abs } @gn);
    put($label, 'n', $nn, scalar @gn, defined $nn && $nn <= 0.10);
    put($label, 'stype', $nstype, $nstype, 1);
    outliers($label, \@out_f, \@out_p);
}

# star T with fit row R: flux ratio and pull per band, position.
sub star {
    my ($t, $r, $pair, $ratio, $pull, $pullall, $pairpull, $dpos,
        $out_f, $out_p) = @_;
    for my $b (@bands) {
        my $f = num($r->{"FLUX_${b}_fit"});
        my $e = num($r->{"FLUXERR_${b}_fit"});
        next unless defined $f && defined $e && $e > 0;
        my $ft = $t->{"FLUX_$b"};
        my $p = ($f - $ft) / $e;
        if ($pair) {
            push @$pairpull, $p;
            next;
        }
        next unless $t->{"snr_$b"} > 50;
        push @{ $ratio->{$b} }, $f / $ft - 1;
        push @{ $pull->{$b} }, $p;
        push @$pullall, $p;
        push @$out_f, [abs($p), $t, $r, $b, $f / $ft - 1, $p];
    }
    return if $pair || $t->{snr} <= 100;
    my $dx = $r->{x_pix_white_fit} - ($t->{x_full} - $cx0);
    my $dy = $r->{y_pix_white_fit} - ($t->{y_full} - $cy0);
    push @$dpos, $dx * $dx + $dy * $dy;
    push @$out_p, [sqrt($dx * $dx + $dy * $dy), $t, $r, $dx, $dy];
}

# psfmis T R ...: flux error of an isolated star-band (SNR > 50) against
# the relative FWHM error of the one-cell true PSF at the star,
# eps = fwhm_true(source)/fwhm(cell centre) - 1; stars with |eps| < 1%
# (the PSF model nearly exact) are kept apart.
sub psfmis {
    my ($t, $r, $eps, $epsr, $exact, $exactp) = @_;
    for my $b (@bands) {
        my $f = num($r->{"FLUX_${b}_fit"});
        my $e = num($r->{"FLUXERR_${b}_fit"});
        next unless defined $f && defined $e && $e > 0
            && $t->{"snr_$b"} > 50;
        my $x = $t->{"fwhm_$b"} / cell_fwhm($b, $r->{epsf_tag}) - 1;
        push @$eps, $x;
        push @$epsr, $f / $t->{"FLUX_$b"} - 1;
        next unless abs($x) < 0.01;
        push @$exact, $f / $t->{"FLUX_$b"} - 1;
        push @$exactp, ($f - $t->{"FLUX_$b"}) / $e;
    }
}

sub galaxy {
    my ($t, $r, $gratio, $gre, $gab, $gn, $out_f) = @_;
    for my $b (@bands) {
        my $f = num($r->{"FLUX_${b}_fit"});
        next unless defined $f && $t->{"snr_$b"} > 100;
        push @{ $gratio->{$b} }, $f / $t->{"FLUX_$b"} - 1;
    }
    my $re = num($r->{Re_fit});
    push @$gre, $re / $t->{re_pix} - 1 if defined $re;
    my $ab = num($r->{ab_fit});
    push @$gab, $ab - $t->{ab} if defined $ab;
    my $n = num($r->{sersic_n_fit});
    push @$gn, $n / $t->{sersic_n} - 1
        if $t->{type} eq 'sersic' && defined $n;
    my @g = ($t, $r, $re, $ab, $n);
    push @{ $res{_gals} }, \@g;
}

sub outliers {
    my ($label, $out_f, $out_p) = @_;
    my @f = (sort { $b->[0] <=> $a->[0] } @$out_f)[0 .. 4];
    push @notes, "Worst isolated-star pulls ($label): ID band SNR "
        . "F_fit/F_true-1 pull converged niters nn_dist nn_type "
        . "nn_in_catalog fwhm_src-fwhm_cell";
    for my $o (grep { defined } @f) {
        my ($a, $t, $r, $b, $q, $p) = @$o;
        push @notes, sprintf("    %s %s %.0f %+.4f %+.2f %s %s %.1f %s %s %+.2f",
            $t->{ID}, $b, $t->{"snr_$b"}, $q, $p, $r->{opt_converged},
            $r->{opt_niters}, $t->{nn}, $t->{nn_type}, $t->{nn_cat},
            $t->{"fwhm_$b"} - cell_fwhm($b, $r->{epsf_tag}));
    }
    my @p = (sort { $b->[0] <=> $a->[0] } @$out_p)[0 .. 4];
    push @notes, "Worst star positions ($label): ID SNR dx dy converged "
        . "nn_dist nn_type nn_in_catalog";
    for my $o (grep { defined } @p) {
        my ($d, $t, $r, $dx, $dy) = @$o;
        push @notes, sprintf("    %s %.0f %+.3f %+.3f %s %.1f %s %s",
            $t->{ID}, $t->{snr}, $dx, $dy, $r->{opt_converged}, $t->{nn},
            $t->{nn_type}, $t->{nn_cat});
    }
    my @g = sort { abs($b->[2] / $b->[0]{re_pix} - 1)
        <=> abs($a->[2] / $a->[0]{re_pix} - 1) }
        grep { defined $_->[2] } @{ $res{_gals} || [] };
    push @notes, "Worst galaxy r_e ($label): ID type(fit) n_true(fit) "
        . "re_true(fit) ab_true(fit) SNR converged niters nn_dist nn_type "
        . "nn_in_catalog";
    for my $o (@g[0 .. ($#g < 4 ? $#g : 4)]) {
        my ($t, $r, $re, $ab, $n) = @$o;
        push @notes, sprintf(
            "    %s %s(%s) %s(%s) %.2f(%.2f) %.2f(%s) %.0f %s %s %.1f %s %s",
            $t->{ID}, $t->{type}, $r->{stype_fit}, $t->{sersic_n} || '-',
            defined $n ? sprintf('%.2f', $n) : '-', $t->{re_pix}, $re,
            $t->{ab}, defined $ab ? sprintf('%.2f', $ab) : '-', $t->{snr},
            $r->{opt_converged}, $r->{opt_niters}, $t->{nn}, $t->{nn_type},
            $t->{nn_cat});
    }
    delete $res{_gals};
    delete $res{_gal};
    push @notes, '';
}

sub print_table {
    my @rows = (
        ['conv', 'fraction of fitted sources converged', '1', '%.3f'],
        ['matched', 'truth sources with a fit row (in catalogue, unsat.)',
            '-', '%d'],
        ['sr_all', 'isolated stars SNR>50: median F_fit/F_true-1, pooled',
            'abs<=0.005', '%+.5f'],
        (map { ["sr_$_", "  ... $_", 'abs<=0.005', '%+.5f'] } @bands),
        ['sp_all', 'isolated stars SNR>50: pull sigma, pooled, 5-sigma clip',
            '0.9-1.15', '%.3f'],
        (map { ["sp_$_", "  ... $_", '0.9-1.15 +-2.5 s.e.', '%.3f'] }
            @bands),
        ['pos', 'isolated stars SNR>100: position RMS sqrt(<dx^2+dy^2>) px',
            '<=0.05', '%.4f'],
        ['posrel', '  ... only fit_is_reliable True (pp-merge)', '<=0.05',
            '%.4f'],
        ['psf_a0', 'isolated stars SNR>50: F_fit/F_true-1 = a0 + a1 eps, '
            . 'eps = fwhm_src/fwhm_cell-1: a0', '-', '%+.5f'],
        ['psf_a1', '  ... slope a1', '-', '%+.3f'],
        ['ex_r', 'isolated stars SNR>50 with abs(eps)<1%: median '
            . 'F_fit/F_true-1', 'abs<=0.005', '%+.5f'],
        ['ex_p', '  ... pull sigma, 5-sigma clip', '0.9-1.15', '%.3f'],
        ['pair', 'pair stars: pull sigma, pooled, 5-sigma clip', '0.9-1.2',
            '%.3f'],
        ['gr_all', 'galaxies re 2-8 px SNR>100: median F_fit/F_true-1, '
            . 'pooled', 'abs<=0.02', '%+.4f'],
        (map { ["gr_$_", "  ... $_", 'abs<=0.02', '%+.4f'] } @bands),
        ['re', 'galaxies: median abs(Re_fit/re_true-1)', '<=0.05', '%.4f'],
        ['re_bias', 'galaxies: median Re_fit/re_true-1 (signed)', '-',
            '%+.4f'],
        ['ab', 'galaxies: median abs(ab_fit-ab_true)', '<=0.05', '%.4f'],
        ['n', 'Sersic galaxies: median abs(n_fit/n_true-1)', '<=0.10', '%.4f'],
        ['stype', 'galaxies fitted with another profile type', '-', '%d'],
    );
    print '| figure | target | ', join(' | ', map { "$_ (n)" } @labels),
        " |\n";
    print '|---|---|', join('|', map { '---' } @labels), "|\n";
    for my $row (@rows) {
        my ($key, $name, $target, $f) = @$row;
        my @cells;
        for my $l (@labels) {
            my ($v, $n, $ok) = @{ $res{$l}{$key} || [] };
            my $c = fmt($v, $f);
            $c .= " ($n)" if $key ne 'stype' && $key ne 'matched';
            $c .= ' MISSED' if defined $v && !$ok && $target ne '-';
            $c = "- ($n)" if !defined $v;
            push @cells, $c;
        }
        print "| $name | $target | ", join(' | ', @cells), " |\n";
    }
}
