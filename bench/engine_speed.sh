#!/bin/sh
# bench/engine_speed.sh - seconds per patch of pp-fit's engine on the SPEC
# §10.7 patch (270x270 ROI, 40 bands, 15 stars + 15 exp/dev galaxies,
# 55x55 pixelized PSF, at most 20 iterations), one core, with a perf
# profile of where the time goes.  The data are rendered by pp-sim's
# renderer (bench/engine_speed.c).  Writes bench/reports/engine.md (or
# $PP_REPORT).
#
#     bench/engine_speed.sh [DIR]        (default /tmp/pp-bench-engine)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-/tmp/pp-bench-engine}
report=${PP_REPORT:-$top/bench/reports/engine.md}
mkdir -p "$dir"
cd "$top"
# The same flags as the Makefile's plain build.
cc -std=c11 -D_GNU_SOURCE -DPP_VERSION='"bench"' -O2 -g \
    -fno-trapping-math -fvect-cost-model=dynamic -fopenmp-simd \
    -Wall -Wextra -Werror -Wno-unused-parameter \
    -Ilibcommon -Itools/pp-fit -Itools/pp-sim libcommon/*.c tools/pp-fit/*.c \
    $(ls tools/pp-sim/*.c | grep -v /main.c) bench/engine_speed.c \
    $(pkg-config --cflags --libs cfitsio wcslib yaml-0.1 jansson gsl fftw3) \
    -lsep -lcsv -lm -pthread -o "$dir/engine_speed"

taskset -c 0 "$dir/engine_speed" 40 20 pixel >"$dir/pixel.out" 2>"$dir/pixel.log"
taskset -c 0 "$dir/engine_speed" 40 20 mog >"$dir/mog.out" 2>"$dir/mog.log"
val() { sed -n "s/^$2 //p" "$dir/$1.out"; }

profile=""
if command -v perf >/dev/null 2>&1; then
    perf record -q -F 499 -o "$dir/perf.data" "$dir/engine_speed" 40 20 pixel \
        >/dev/null 2>&1 || true
    profile=$(perf report -i "$dir/perf.data" --no-children --stdio \
        --sort sym 2>/dev/null | grep -E '^ +[0-9]' | head -15 || true)
fi

{
    echo "# pp-fit engine speed (SPEC §10.7 patch)"
    echo
    echo "Command: \`bench/engine_speed.sh\` ($(date -u +%Y-%m-%d),"
    echo "$(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1))."
    echo "One core (taskset), thread CPU time of \`fit_run()\` only: the"
    echo "engine's renders, normal equations, solves and errors; no I/O."
    echo
    echo "| PSF | iterations | converged | s per patch | s per iteration | median abs(F/F_true - 1) stars | galaxies |"
    echo "|---|---|---|---|---|---|---|"
    for k in pixel mog; do
        echo "| $(val $k psf) | $(val $k niters) | $(val $k converged) |" \
             "$(val $k fit_s) | $(val $k per_iteration_s) |" \
             "$(val $k median_abs_dev_stars) | $(val $k median_abs_dev_galaxies) |"
    done
    echo
    echo "Target: <= 3 s per patch (SPEC §10.7)."
    echo
    echo "Iterations (pixelized):"
    echo
    echo '```'
    cat "$dir/pixel.log"
    echo '```'
    if [ -n "$profile" ]; then
        echo
        echo "perf profile of the whole benchmark run (truth rendering by"
        echo "pp-sim and the PSF mixtures' EM fits included; \`fill_half\`,"
        echo "\`fill_row_fast\`, libfftw3, \`assemble\`, \`place_wrapped\` are"
        echo "the engine):"
        echo
        echo '```'
        echo "$profile"
        echo '```'
    fi
} >"$report"
echo "wrote $report"
