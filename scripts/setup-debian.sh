#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what building and testing libcfutures needs on Debian 12, and nothing when it is all there.
# Run as root (or with sudo available). Extra package names may be given as arguments.
set -euo pipefail

packages=(
  build-essential cmake pkg-config binutils
  libboost-dev libboost-serialization-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 libpython3.11-testsuite
  golang-go cargo rustc
  clang libclang-rt-14-dev
  abigail-tools doxygen
  lintian dpkg-dev fakeroot file man-db
  libopenmpi-dev openmpi-bin python3-mpi4py
)
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "setup: missing packages (${missing[*]}) and not root: install them, or run this as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
