#!/bin/sh
# bench/merge.sh - pp-merge's time and peak memory on a big catalogue
# (SPEC §17: pp-merge on 100 000 rows in <= 5 s; peak RSS <= 2 GB).
#
#     bench/merge.sh [DIR] [NROWS] [NBANDS] [NGRID]
#         (defaults /tmp/pp-bench-merge 100000 40 20)
#
# frames.json and wcs.fits come from a small pp-sim field of NBANDS bands
# cropped by pp-crop; bench/mkmerge.c (built here with cc) then writes a
# base catalogue of NROWS rows, an NGRID x NGRID patches.json and one fit
# CSV per patch, in multi-band and then in single-band mode, and pp-merge
# is timed on each with /usr/bin/time -v (warm page cache).
# PP_BIN names the directory of the programs (default: `make all`, then
# bin/).  Writes the section "## pp-merge" of bench/reports/merge_zp.md
# (or $PP_REPORT), leaving the file's other sections as they are.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-/tmp/pp-bench-merge}
nrows=${2:-100000}
nb=${3:-40}
ngrid=${4:-20}
report=${PP_REPORT:-$top/bench/reports/merge_zp.md}
if [ -z "${PP_BIN:-}" ]; then
    make -C "$top" -s all
    PP_BIN=$top/bin
fi

mkdir -p "$dir"
cc -std=c11 -O2 -o "$dir/mkmerge" "$top/bench/mkmerge.c" -lm
if [ ! -f "$dir/f/work/wcs.fits" ]; then
    rm -rf "$dir/f"
    "$PP_BIN/pp-sim" --out "$dir/f" --nbands "$nb" --size 300x300 \
        --nstars 5 --ngals 2 2>"$dir/sim.log"
    "$PP_BIN/pp-crop" -c "$dir/f/config.yaml" --set logging.file=null \
        2>"$dir/crop.log"
fi
work=$dir/f/work
bands=$(sed -n 's/^ *"band": "\(.*\)",*$/\1/p' "$work/frames.json" |
        paste -sd, -)
ww=$(sed -n '/"work"/,/}/s/.*"width": \([0-9]*\).*/\1/p' "$work/frames.json")
wh=$(sed -n '/"work"/,/}/s/.*"height": \([0-9]*\).*/\1/p' "$work/frames.json")

# run MODE: inputs, then pp-merge timed; sets secs, rss_kb, cols, inbytes.
run() {
    rm -rf "$work/outputs" "$work/patches" "$work/output_catalog.csv"
    "$dir/mkmerge" "$work" "$nrows" "$bands" "$ww" "$wh" "$ngrid" "$1"
    multi=true
    [ "$1" = single ] && multi=false
    sync
    /usr/bin/time -v "$PP_BIN/pp-merge" -c "$dir/f/config.yaml" \
        --set zp.enabled=false --set logging.file=null \
        --set patch_run.enable_multi_band_simultaneous_fitting=$multi \
        2>"$dir/merge-$1.log"
    load=$(cut -d' ' -f1 /proc/loadavg)
    secs=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' \
        "$dir/merge-$1.log" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++)
        s = s * 60 + $i; print s }')
    cpu=$(sed -n 's/.*\(User\|System\) time (seconds): //p' \
        "$dir/merge-$1.log" | awk '{ s += $1 } END { print s }')
    rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' \
        "$dir/merge-$1.log")
    cols=$(sed -n "s/.*| INFO | wrote .*: \([0-9]*\) rows x \([0-9]*\) columns/\2/p" \
        "$dir/merge-$1.log")
    inbytes=$(du -cb "$work/catalog.csv" "$work"/outputs/*/*_cat_fit.csv |
              tail -n 1 | cut -f1)
    outbytes=$(stat -c %s "$work/output_catalog.csv")
    grep '| INFO | \(wrote\|rows with\|merge-missing\|fit summary\|time:\|[0-9]* fitted\)' \
        "$dir/merge-$1.log" | sed 's/.*| INFO | /    /' >"$dir/lines-$1"
}

verdict() {
    awk -v s="$1" -v r="$2" 'BEGIN {
        if (s <= 5 && r <= 2097152) print "meets"; else print "MISSES" }'
}

run multi
t_m=$secs c_m=$cpu l_m=$load rss_m=$rss_kb cols_m=$cols in_m=$inbytes
out_m=$outbytes
run single
t_s=$secs c_s=$cpu l_s=$load rss_s=$rss_kb cols_s=$cols in_s=$inbytes
out_s=$outbytes

section=$dir/section.md
{
    echo "## pp-merge"
    echo
    echo "Command: \`bench/merge.sh $dir $nrows $nb $ngrid\`"
    echo "($(date -u +%Y-%m-%d), $(nproc) cores,"
    echo "$(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(uname -r);"
    echo "warm page cache, one process)."
    echo
    echo "Inputs (bench/mkmerge.c): a base catalogue of $nrows rows with"
    echo "$nb FLUX_<b> input columns (5 % excluded, 0.5 % without"
    echo "coordinates), $((ngrid * ngrid)) patches, one fit CSV each with"
    echo "every base cell and the SPEC 10.5 fit columns for $nb bands,"
    echo "numbers at 17 digits; RA/DEC_fit empty on every 10th row, so"
    echo "pp-merge computes them through wcs.fits."
    echo
    echo "| mode | output columns | input MiB | output MiB | wall time (s) | CPU user+sys (s) | load before | peak RSS (MiB) | target <= 5 s, <= 2 GiB |"
    echo "|---|---|---|---|---|---|---|---|---|"
    echo "| multi-band | $cols_m | $((in_m / 1048576)) | $((out_m / 1048576)) | $t_m | $c_m | $l_m | $((rss_m / 1024)) | $(verdict "$t_m" "$rss_m") |"
    echo "| single-band | $cols_s | $((in_s / 1048576)) | $((out_s / 1048576)) | $t_s | $c_s | $l_s | $((rss_s / 1024)) | $(verdict "$t_s" "$rss_s") |"
    echo
    echo "Log of the multi-band run:"
    echo
    cat "$dir/lines-multi"
    echo
    echo "pp-merge ran with its default thread count (one per core) for"
    echo "parsing fit CSVs; \"load before\" is the 1-minute load average"
    echo "just before the run (other work on the machine inflates the wall"
    echo "time much more than the CPU time)."
    echo
    echo "The SPEC 17 target is for the default, multi-band mode; the"
    echo "single-band row (21 fit columns per band, 9 x 10^7 cells) shows"
    echo "how time and memory scale with the number of cells: both are"
    echo "about proportional to the bytes of CSV parsed and written."
    echo
    echo "The join is one hash lookup per fit row (keys hashed once);"
    echo "fit CSVs are parsed a few at a time and their cells copied into"
    echo "the final table, which is then written once (atomically).  Peak"
    echo "memory is that table - 8 bytes of offset per cell (the row"
    echo "stride is the column count rounded up to a power of two) plus"
    echo "the cell text - and the base catalogue.  The time line splits"
    echo "the run: inputs (frames.json, patches.json, base catalogue),"
    echo "join (parsing every fit CSV, mostly libcsv, plus the copy), and"
    echo "write (pp_csv_write, fsync and rename)."
    echo
} >"$section"

# Replace our section, keep the others (pp-zp calibrate adds its own).
if [ -f "$report" ]; then
    awk -v sec="$section" '
        /^## / { skip = ($0 == "## pp-merge") }
        skip && !done { while ((getline l < sec) > 0) print l; done = 1 }
        !skip { print }
        END { if (!done) { print ""; while ((getline l < sec) > 0) print l } }
    ' "$report" >"$report.tmp"
    mv "$report.tmp" "$report"
else
    { echo "# pp-merge and pp-zp calibrate: time and peak memory"
      echo
      cat "$section"; } >"$report"
fi
cat "$report"
