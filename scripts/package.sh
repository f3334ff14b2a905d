#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Makes the Debian packages libcfutures0 and libcfutures-dev and checks them with lintian.
#
#   scripts/package.sh [build-dir]        (default: build/package)
#
# Configures a release build that installs into /usr (so that GNUInstallDirs gives Debian's multiarch libdir),
# with Debian's hardening flags from dpkg-buildflags, builds the library, runs `cpack -G DEB` and then lintian on
# both packages, failing when lintian reports an error. The last lines it prints are the paths of the .deb files.
# CFUTURES_JOBS sets the build's parallelism (default 2).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build/package}
[[ $build == /* ]] || build=$PWD/$build
cd "$root"
jobs=${CFUTURES_JOBS:-2}

missing=()
for tool in cmake cpack dpkg dpkg-shlibdeps dpkg-deb lintian file readelf nm gzip; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "package.sh: missing tools: ${missing[*]} (scripts/setup-debian.sh installs them)" >&2
  exit 1
fi

# The changelog's date (and so the packages) follows the last commit rather than the clock, where there is one.
if [[ -z ${SOURCE_DATE_EPOCH:-} ]] && epoch=$(git -C "$root" log -1 --format=%ct 2>/dev/null) && [[ -n $epoch ]]; then
  export SOURCE_DATE_EPOCH=$epoch
fi

# Debian's build flags (stack protector, _FORTIFY_SOURCE, format checks, RELRO), as a Debian build would use. -g is
# left out: the shared library is stripped anyway, and debug information would only swell libcfutures.a.
export DEB_CFLAGS_MAINT_STRIP=-g DEB_CXXFLAGS_MAINT_STRIP=-g
cppflags=$(dpkg-buildflags --get CPPFLAGS)
cflags="$cppflags $(dpkg-buildflags --get CFLAGS)"
cxxflags="$cppflags $(dpkg-buildflags --get CXXFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)

echo "==> configure $build"
cmake -S "$root" -B "$build" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX=/usr \
  -DCFUTURES_BUILD_TESTS=OFF \
  -DCFUTURES_BUILD_EXAMPLES=OFF \
  -DCFUTURES_BUILD_BINDINGS=OFF \
  -DCFUTURES_BUILD_BENCH=OFF \
  -DCMAKE_C_FLAGS="$cflags" \
  -DCMAKE_CXX_FLAGS="$cxxflags" \
  -DCMAKE_SHARED_LINKER_FLAGS="$ldflags"

echo "==> build"
cmake --build "$build" -j "$jobs"

echo "==> cpack -G DEB"
rm -f "$build"/*.deb
(cd "$build" && cpack -G DEB)

debs=()
for deb in "$build"/*.deb; do
  [[ -f $deb ]] && debs+=("$deb")
done
if ((${#debs[@]} != 2)); then
  echo "package.sh: expected 2 packages in $build, found ${#debs[@]}" >&2
  exit 1
fi

echo "==> lintian"
# Warnings are shown but only errors fail. Run as root, lintian prints a notice about it; that is all.
if lintian --fail-on error --tag-display-limit 0 "${debs[@]}"; then
  echo "lintian: no errors"
else
  echo "package.sh: lintian reports errors" >&2
  exit 1
fi

echo "==> packages"
printf '%s\n' "${debs[@]}"
