#!/bin/sh
# make-crop3.sh - regenerate the committed test field tests/data/crop3/.
#
# Builds mkfield (tests/data/mkfield.c) into a temporary directory and
# runs it with the options the committed field was made with; the output
# is deterministic, so an unchanged mkfield.c gives the same bytes.
# Usage: sh tests/data/make-crop3.sh      (from any directory)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/mkfield-XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

${CC:-gcc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror \
    -Wno-unused-parameter "$here/mkfield.c" \
    $(pkg-config --cflags --libs cfitsio) -lm -o "$tmp/mkfield"

# Start clean so that no file of an older layout is left behind.
rm -rf "$here/crop3"
"$tmp/mkfield" --out "$here/crop3" --bands g,r,i --size 200x160 \
    --nsrc 60 --seed 1 --margin 20 --sat-radius 5.0 --tile crop3
ls -l "$here/crop3"
