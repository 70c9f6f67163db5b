#!/bin/sh
# install-deps.sh - install every Debian package patchphot needs (SPEC §2).
#
# Works as root or through sudo; safe to run again (apt-get skips what is
# already installed).  Set PP_SKIP_UPDATE=1 to skip `apt-get update`.
set -eu

PACKAGES="build-essential pkg-config perl make parallel
libcfitsio-dev wcslib-dev libyaml-dev libgsl-dev zlib1g-dev libpng-dev
libcsv-dev libsep-dev libfftw3-dev libplplot-dev plplot-driver-cairo
libjansson-dev"

if [ "$(id -u)" -eq 0 ]; then
    SUDO=
elif command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
else
    echo "install-deps.sh: run as root or install sudo" >&2
    exit 2
fi

missing=
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
        missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "install-deps.sh: all packages already installed"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
[ "${PP_SKIP_UPDATE:-0}" = 1 ] || $SUDO apt-get update
# shellcheck disable=SC2086
$SUDO apt-get install -y --no-install-recommends $missing
