#!/bin/sh
# bench/speed.sh - pp-fit's seconds per patch through the whole program
# (read, PSF, init, fit, errors, write) and its peak RSS, on the SPEC
# §10.7 patch (the centre patch of a 3x3 grid): a 270x270 ROI, 40 bands, ~30 base sources (about half
# stars), the 55x55 true-PSF ePSFs of pp-sim --true-psf, at most 20
# iterations, one core.  Writes bench/reports/speed.md (or $PP_REPORT).
#
#     bench/speed.sh [DIR]           (default /tmp/pp-bench-speed)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-/tmp/pp-bench-speed}
report=${PP_REPORT:-$top/bench/reports/speed.md}
bin=$top/bin
make -C "$top" -s all

# 676x676 with a 20 px crop margin: working frame 636, 3x3 patches of
# 212 px; the centre patch has the 29 px halo on every side, a 270 px
# ROI.  270 catalogued sources in the field = ~30 base sources a patch.
f=$dir/field
if [ ! -f "$f/work/patches/patches.json" ]; then
    rm -rf "$f"
    "$bin/pp-sim" --out "$f" --nbands 40 --size 676x676 --nstars 135 \
        --ngals 135 --true-psf --seed 7 2>/dev/null
    "$bin/pp-crop" -c "$f/config.yaml" 2>/dev/null
    "$bin/pp-patchify" -c "$f/config.yaml" --set epsf.ngrid=3 2>/dev/null
fi
set -- "$f"/work/patch_payloads/r00_c00_pr01_pc01.fits
rows=""
for p in "$@"; do
    t=$(basename "$p" .fits)
    /usr/bin/time -v taskset -c 0 "$bin/pp-fit" -c "$f/config.yaml" \
        --set epsf.ngrid=3 \
        --set "outputs.epsf_dir=$f/EPSFs_true" --outdir "$dir/out/$t" "$p" \
        2>"$dir/$t.err"
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' \
        "$dir/$t.err" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++)
        s = s * 60 + $i; print s }')
    rss=$(( $(sed -n 's/.*Maximum resident set size (kbytes): //p' \
        "$dir/$t.err") / 1024 ))
    stats=$(perl -MJSON::PP -e '
        my $j = JSON::PP->new->decode(do { local $/; <> });
        my $t = $j->{timing_s};
        printf "%d | %d+%d | %d | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f",
            ($j->{roi_bbox}[1] - $j->{roi_bbox}[0]), $j->{n_sources},
            $j->{n_halo_sources}, $j->{niters},
            $j->{converged} ? "yes" : "no",
            map { $t->{$_} } qw(read psf init fit errors write);
    ' "$dir/out/$t/meta.json")
    rows="$rows| $t | $stats | $wall | $rss |
"
done
{
    echo "# pp-fit seconds per patch (SPEC §10.7)"
    echo
    echo "Command: \`bench/speed.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores,"
    echo "$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1));"
    echo "each patch on one core (taskset), /usr/bin/time -v."
    echo "Field: pp-sim 676x676, 40 bands, 135 stars + 135 galaxies, true-PSF"
    echo "ePSFs (55x55), default config (20 iterations max, pixelized PSF,"
    echo "Fourier shift, bilinear interpolation, marginal errors)."
    echo
    echo "| patch | ROI px | base+halo | iterations | converged | read s | psf s | init s | fit s | errors s | write s | wall s | peak RSS MiB |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    printf '%s' "$rows"
    echo
    echo "Targets: <= 3 s and <= 300 MB per patch."
} >"$report"
echo "wrote $report"
