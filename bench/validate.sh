#!/bin/sh
# bench/validate.sh - pp-fit accuracy against pp-sim's truth (SPEC §10.6,
# §16).
#
# For each field pp-sim renders a sky-dominated field (--regime sky, so
# noise_model "sky" matches the data) with its true PSF (--true-psf:
# EPSFs_true/ in pp-epsf's layout, one cell per band as the written
# config's epsf.epsf_ngrid), runs pp-crop, pp-zp augment, pp-crop mask,
# pp-patchify, then pp-fit on every payload with the true PSF and
# pp-merge, twice: with the default configuration and with
# patch_run.n_opt_iters=200 (what the default 20-iteration limit costs).
# Fields: mixed (8 bands), star-rich, galaxy-rich, and a control field
# with a constant PSF (see there).
# bench/validate.pl compares the merged catalogues with truth.csv.
# Writes bench/reports/validate.md (or $PP_REPORT).
#
#     bench/validate.sh [DIR]        (default /tmp/pp-bench-validate)
#
# Re-runnable and idempotent: a field already simulated with the same
# options is reused (with its pp-crop ... pp-patchify outputs); the fit
# and merge outputs of each run are removed and rebuilt.
# PP_BIN: the programs to use (default: bin/ of this tree, not rebuilt).
# VALIDATE_JOBS: pp-fit processes at once (default 2).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-/tmp/pp-bench-validate}
report=${PP_REPORT:-$top/bench/reports/validate.md}
bin=${PP_BIN:-$top/bin}
jobs=${VALIDATE_JOBS:-2}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cmdline="bench/validate.sh $dir"
started=$(date -u '+%Y-%m-%d %H:%M UTC')
body=$dir/report.body
: >"$body"

# front NAME SIM-OPTIONS...: simulate (unless done with these options) and
# run the stages before pp-fit.
front() {
    name=$1
    shift
    f=$dir/$name
    args="--regime sky --true-psf $*"
    if [ ! -f "$f/.front-done" ] || [ "$(cat "$f/.sim-args")" != "$args" ]
    then
        rm -rf "$f"
        # shellcheck disable=SC2086
        "$bin/pp-sim" --out "$f" $args 2>"$dir/$name.sim.log"
        for step in "pp-crop" "pp-zp augment" "pp-crop mask" "pp-patchify"
        do
            # shellcheck disable=SC2086
            "$bin/"$step -c "$f/config.yaml" 2>>"$dir/$name.front.log"
        done
        printf '%s\n' "$args" >"$f/.sim-args"
        : >"$f/.front-done"
    fi
}

# fit NAME RUN [--set K=V]...: every payload, then pp-merge; the outputs
# go to work/outputs_RUN and work/output_catalog_RUN.csv.
fit() {
    name=$1
    run=$2
    shift 2
    f=$dir/$name
    out=$f/work/outputs_$run
    rm -rf "$out" "$f/work/output_catalog_$run.csv" "$f/fit_$run.failed"
    sets="--set outputs.epsf_dir=$f/EPSFs_true"
    sets="$sets --set outputs.tractor_out_dir=outputs_$run $*"
    t0=$(date +%s)
    # One pp-fit per payload; a failed fit is recorded, not fatal (pp-merge
    # counts it as a failed patch).  The inner script's $1... are its own.
    # shellcheck disable=SC2016
    find "$f/work/patch_payloads" -name '*.fits' | sort |
        xargs -P "$jobs" -I{} sh -c '
            "$1" -c "$2" $3 "$4" >/dev/null 2>&1 || echo "$4" >>"$5"' \
            sh "$bin/pp-fit" "$f/config.yaml" "$sets" {} \
            "$f/fit_$run.failed"
    t1=$(date +%s)
    # shellcheck disable=SC2086
    "$bin/pp-merge" -c "$f/config.yaml" $sets \
        --set "outputs.final_catalog=output_catalog_$run.csv" \
        2>"$f/merge_$run.log"
    npay=$(find "$f/work/patch_payloads" -name '*.fits' | wc -l)
    nfail=0
    [ -f "$f/fit_$run.failed" ] && nfail=$(wc -l <"$f/fit_$run.failed")
    echo "$name $run: $npay payloads, $nfail failed, pp-fit wall" \
        "$((t1 - t0)) s ($jobs at once)" >>"$dir/times.txt"
}

# field NAME TITLE SIM-OPTIONS...: both runs and the report section.
field() {
    name=$1
    title=$2
    shift 2
    front "$name" "$@"
    fit "$name" default
    fit "$name" it200 --set patch_run.n_opt_iters=200
    f=$dir/$name
    {
        echo "## $title"
        echo
        echo "\`pp-sim --out $name $(cat "$f/.sim-args")\`;" \
            "$(grep "^$name " "$dir/times.txt" | sed "s/^$name //" |
                paste -sd ';' - | sed 's/;/; /g')."
        echo
        echo "Columns: default = default config (n_opt_iters 20);" \
            "it200 = --set patch_run.n_opt_iters=200."
        echo
        perl "$top/bench/validate.pl" "$f" \
            "default=$f/work/output_catalog_default.csv" \
            "it200=$f/work/output_catalog_it200.csv" >"$dir/$name.table"
        sed '/^Worst /,$d' "$dir/$name.table"
        echo
        echo '<details><summary>outliers</summary>'
        echo
        echo '```'
        sed -n '/^Worst /,$p' "$dir/$name.table"
        echo '```'
        echo
        echo '</details>'
        echo
    } >>"$body"
}

: >"$dir/times.txt"
field mixed "Field 1: mixed, 8 bands, defaults" \
    --nbands 8 --size 1000x1000 --seed 1
field stars "Field 2: star-rich, 6 bands" \
    --nbands 6 --size 1000x1000 --nstars 400 --ngals 20 --seed 2
field gals "Field 3: galaxy-rich, 6 bands" \
    --nbands 6 --size 1000x1000 --nstars 30 --ngals 300 --seed 3
# Control: pp-sim's FWHM varies across the field by up to 0.6 px while
# the ePSF grid pp-sim writes for these sizes has one cell per band
# (epsf_ngrid = round(working width / 1300)), so fields 1-3 test the
# fitter with a PSF model that is wrong away from the field centre.  A
# constant FWHM (same in every band and everywhere) makes the one-cell
# true PSF exact and isolates the fitter.
field const "Field 4: control, constant PSF FWHM 4.2 px, 6 bands" \
    --nbands 6 --size 1000x1000 --nstars 250 --ngals 120 --fwhm 4.2:4.2 \
    --seed 4
# The same mixed field as field 1 with the true PSF on a 6x6 grid of
# cells (pp-sim --epsf-ngrid): pp-fit's bilinear interpolation between
# cell centres (SPEC 10.3) against the varying PSF.
field grid6 "Field 5: field 1 with a 6x6 true-PSF grid, bilinear" \
    --nbands 8 --size 1000x1000 --seed 1 --epsf-ngrid 6

{
    echo "# pp-fit accuracy against pp-sim's truth (SPEC §10.6)"
    echo
    echo "Command: \`$cmdline\` (started $started, $(nproc) cores;"
    echo "wall times depend on what else the machine runs)."
    echo
    echo "Every figure compares pp-fit's merged catalogue with truth.csv;"
    echo "SNR is computed from the truth (see bench/validate.pl). pp-fit"
    echo "uses pp-sim's true PSF (EPSFs_true, one cell per band, at the"
    echo "field centre) and noise_model sky on --regime sky fields."
    echo "MISSED marks a figure outside its target; the reasons are in"
    echo "Findings at the end (kept across re-runs of this script)."
    echo
    cat "$body"
    # Findings written by hand after a run survive re-runs.
    if [ -f "$report" ]; then
        sed -n '/^## Findings/,$p' "$report"
    fi
} >"$report.tmp"
mv "$report.tmp" "$report"
echo "wrote $report"
