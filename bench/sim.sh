#!/bin/sh
# bench/sim.sh - pp-sim's time and peak memory (the demo field and a
# 40-band 4000x4000 field) and an independent check of its truth fluxes:
# SEP aperture sums of isolated bright stars, corrected with the Moffat
# profile's analytic aperture fraction, against truth.csv (within 1% in
# every band).  The check (bench/simcheck.c) uses SEP and cfitsio, no code
# of pp-sim.  Writes bench/reports/sim.md (or $PP_REPORT).
#
#     bench/sim.sh [DIR]          (default /tmp/pp-bench-sim)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-/tmp/pp-bench-sim}
report=${PP_REPORT:-$top/bench/reports/sim.md}
csv="perl $top/tests/cli/csvcol.pl"
beta=3.5

make -C "$top" -s all
mkdir -p "$dir"
cc -std=c11 -O2 -Wall -Wextra -Werror "$top/bench/simcheck.c" \
    $(pkg-config --cflags --libs cfitsio) -lsep -lm -o "$dir/simcheck"

# run NAME ARGS...: pp-sim with /usr/bin/time; sets secs and rss_mb.
run() {
    name=$1
    shift
    rm -rf "${dir:?}/$name"
    /usr/bin/time -v "$top/bin/pp-sim" --out "$dir/$name" "$@" \
        2>"$dir/$name.err"
    secs=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' \
        "$dir/$name.err" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++)
        s = s * 60 + $i; print s }')
    rss_mb=$(( $(sed -n 's/.*Maximum resident set size (kbytes): //p' \
        "$dir/$name.err") / 1024 ))
}

# Isolated, unsaturated, unpaired stars brighter than mag 19.5 in band b,
# their aperture at least 5 px inside the image: "x y fwhm flux" lines.
select_stars() {
    f=$1
    b=$2
    $csv "$f/truth.csv" type x_full y_full "fwhm_$b" "FLUX_$b" "mag_$b" \
        saturated pair | perl -F'\t' -lane '
        push @all, [@F];
        END {
            for $s (@all) {
                ($t, $x, $y, $fw, $fl, $m, $sat, $pair) = @$s;
                next if $t ne "star" || $sat eq "True" || $pair eq "True"
                        || $m > 19.5;
                $r = 3 * $fw + 5;
                next if $x < $r || $y < $r || $x > $ENV{W} - 1 - $r
                        || $y > $ENV{H} - 1 - $r;
                $ok = 1;
                for $o (@all) {
                    next if $o == $s;
                    $d = sqrt(($o->[1] - $x)**2 + ($o->[2] - $y)**2);
                    $ok = 0 if $d < 12 * $fw;
                }
                print "$x $y $fw $fl" if $ok;
            }
        }'
}

check() {
    name=$1
    W=$2
    H=$3
    export W H
    for img in $(sed -e '/^#/d' -e '/^$/d' "$dir/$name/image_list.txt"); do
        b=${img%.fits}
        select_stars "$dir/$name" "$b" >"$dir/$name.$b.stars"
        set -- $("$dir/simcheck" "$dir/$name/$img" $beta \
            "$dir/$name.$b.stars")
        ok=$(awk "BEGIN { print ($2 - 1 < 0.01 && 1 - $2 < 0.01) ? \"yes\" : \"**no**\" }")
        echo "| $name | $b | $1 | $2 | $3 | $4 | $ok |"
    done
}

run demo
demo_s=$secs demo_rss=$rss_mb
run big --nbands 40 --size 4000x4000
big_s=$secs big_rss=$rss_mb
{
    echo "# pp-sim: time, memory and an independent check of the truth"
    echo
    echo "Command: \`bench/sim.sh $dir\` ($(date -u +%Y-%m-%d), $(nproc)"
    echo "cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM)."
    echo
    echo "| field | command | wall time | peak RSS |"
    echo "|---|---|---|---|"
    echo "| demo: 8 bands, 2000x2000, ~600 sources | \`pp-sim --out demo\` | $demo_s s | $demo_rss MiB |"
    echo "| 40 bands, 4000x4000 | \`pp-sim --out big --nbands 40 --size 4000x4000\` | $big_s s | $big_rss MiB |"
    echo
    echo "## Truth fluxes against SEP aperture photometry"
    echo
    echo "Isolated (no source within 12 FWHM), unsaturated, unpaired stars"
    echo "brighter than magnitude 19.5; SEP sum in a circle of 3 FWHM (exact"
    echo "overlap) divided by the Moffat (beta = $beta) enclosed fraction and"
    echo "by the truth flux (bench/simcheck.c: SEP and cfitsio only)."
    echo "Target: the mean ratio within 1% of 1 in every band."
    echo
    echo "| field | band | stars | mean ratio | std. error | median | within 1% |"
    echo "|---|---|---|---|---|---|---|"
    check demo 2000 2000
    check big 4000 4000
} >"$report"
cat "$report"
