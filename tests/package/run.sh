#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The package test: make the Debian packages with scripts/package.sh, check them, unpack them into a throwaway root
# (dpkg -x, no root install) and build and run programs against that root.
#
#   run.sh <work-dir> <c-compiler> <cxx-compiler> ["<C flags>" ["<CXX flags>"]]
#
# Steps: (1) scripts/package.sh into <work-dir>/build (lintian must report no errors); (2) the package files, their
# control fields and control files (symbols, shlibs, triggers; Depends from dpkg-shlibdeps); (3) what each package
# holds, and the library in it; (4) consumers built against <work-dir>/root: a C99 program through pkg-config (also
# linked against libcfutures.a), the C-only CMake project, the C++ CMake project with COMPONENTS serialization.
# Exits 77 (skipped) where the Debian package tools are missing, and under a sanitizer build: the packages are made
# from a release configuration of their own, so such a build would check nothing of its own.
# Prints "N passed, M failed" at the end; exits 0 only when nothing failed.
set -euo pipefail

# Bump together with the project version (include/cfutures/cfutures.h).
readonly EXPECTED_VERSION=0.1.0
readonly EXPECTED_MAJOR=${EXPECTED_VERSION%%.*}
readonly RUNTIME_PKG=libcfutures$EXPECTED_MAJOR
readonly DEV_PKG=libcfutures-dev

if [[ $# -lt 3 ]]; then
  echo "usage: $0 <work-dir> <c-compiler> <cxx-compiler> [C flags] [CXX flags]" >&2
  exit 2
fi
work=$1
cc=$2
cxx=$3
c_flags=${4:-}
cxx_flags=${5:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src_root=$(cd "$here/../.." && pwd)
consumer=$src_root/tests/consumer
cmake_cmd=${CMAKE:-cmake}

if [[ "$c_flags $cxx_flags" == *-fsanitize* ]]; then
  echo "SKIP: sanitizer build; the packages are built from a release configuration (scripts/package.sh)"
  exit 77
fi
missing_tools=()
for tool in dpkg dpkg-deb dpkg-shlibdeps lintian file; do
  command -v "$tool" >/dev/null 2>&1 || missing_tools+=("$tool")
done
if ((${#missing_tools[@]})); then
  echo "SKIP: missing Debian package tools: ${missing_tools[*]} (scripts/setup-debian.sh installs them)"
  exit 77
fi

# shellcheck source=../checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/../checks.sh"

case $work in
  "" | / | "$HOME" | "$src_root") echo "refusing to use '$work' as the work directory" >&2; exit 2 ;;
esac

missing_tools=()
for tool in "$cmake_cmd" "$cc" "$cxx" pkg-config readelf nm ldd; do
  command -v "$tool" >/dev/null 2>&1 || missing_tools+=("$tool")
done
if ((${#missing_tools[@]})); then
  echo "missing tools: ${missing_tools[*]}"
  abort "the tools this test needs are installed"
fi

step "fresh work directory $work"
rm -rf -- "$work"
mkdir -p -- "$work"
work=$(cd "$work" && pwd)
build=$work/build
root=$work/root
logs=$work/logs
mkdir -p "$logs" "$root"

arch=$(dpkg --print-architecture)
if command -v dpkg-architecture >/dev/null 2>&1; then
  multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
else
  multiarch=$("$cc" -print-multiarch)
fi
libdir_rel=usr/lib/$multiarch
echo "architecture: $arch, multiarch libdir: /$libdir_rel"

# ---------------------------------------------------------------------------------------------------------------
step "(1) scripts/package.sh $build"
if run_logged "$logs/package.log" bash "$src_root/scripts/package.sh" "$build"; then
  pass "scripts/package.sh configures, builds, runs cpack -G DEB and lintian"
else
  abort "scripts/package.sh configures, builds, runs cpack -G DEB and lintian" "$logs/package.log"
fi
# lintian's tags are lines "<E|W|I|...>: <package>...: <tag> ...".
grep -E '^[A-Z]: ' "$logs/package.log" >"$logs/lintian.txt" || true
if grep -q '^E: ' "$logs/lintian.txt"; then
  fail "lintian reports no errors" "$logs/lintian.txt"
elif grep -qx 'lintian: no errors' "$logs/package.log"; then
  pass "lintian reports no errors ($(grep -c '^W: ' "$logs/lintian.txt") warnings)"
  sed 's/^/    /' "$logs/lintian.txt"
else
  fail "lintian ran on both packages" "$logs/package.log"
fi

runtime_deb=$build/${RUNTIME_PKG}_${EXPECTED_VERSION}_$arch.deb
dev_deb=$build/${DEV_PKG}_${EXPECTED_VERSION}_$arch.deb
ls -l "$build"/*.deb >"$logs/debs.log" 2>&1 || true
if [[ -f $runtime_deb && -f $dev_deb ]]; then
  pass "packages $(basename "$runtime_deb") ($(stat -c %s "$runtime_deb") bytes) and $(basename "$dev_deb") ($(stat -c %s "$dev_deb") bytes)"
else
  abort "packages ${RUNTIME_PKG}_${EXPECTED_VERSION}_$arch.deb and ${DEV_PKG}_${EXPECTED_VERSION}_$arch.deb in $build" \
    "$logs/debs.log"
fi

# ---------------------------------------------------------------------------------------------------------------
step "(2) control fields and control files"
field() { dpkg-deb -f "$1" "$2"; }
{ dpkg-deb -I "$runtime_deb"; dpkg-deb -I "$dev_deb"; } >"$logs/control.log" 2>&1 || true
if [[ $(field "$runtime_deb" Package) == "$RUNTIME_PKG" && $(field "$runtime_deb" Version) == "$EXPECTED_VERSION" &&
      $(field "$dev_deb" Package) == "$DEV_PKG" && $(field "$dev_deb" Version) == "$EXPECTED_VERSION" ]]; then
  pass "Package and Version fields: $RUNTIME_PKG $EXPECTED_VERSION, $DEV_PKG $EXPECTED_VERSION"
else
  fail "Package and Version fields" "$logs/control.log"
fi
runtime_depends=$(field "$runtime_deb" Depends)
# Each as a whole package name: "libc6" or "libc6 (>= ...)", among others separated by commas.
has_dep() { [[ ", $1," =~ ,\ $2[\ ,] ]]; }
if has_dep "$runtime_depends" libc6 && has_dep "$runtime_depends" 'libstdc\+\+6'; then
  pass "$RUNTIME_PKG Depends (from dpkg-shlibdeps): $runtime_depends"
else
  fail "$RUNTIME_PKG Depends names libc6 and libstdc++6 (from dpkg-shlibdeps)" "$logs/control.log"
fi
dev_depends=$(field "$dev_deb" Depends)
dev_optional="$(field "$dev_deb" Recommends), $(field "$dev_deb" Suggests)"
if [[ $dev_depends == *"$RUNTIME_PKG (= $EXPECTED_VERSION)"* && $dev_depends != *boost* &&
      $dev_optional == *libboost-serialization-dev* ]]; then
  pass "$DEV_PKG Depends: $dev_depends; suggests or recommends libboost-serialization-dev"
else
  fail "$DEV_PKG Depends on $RUNTIME_PKG (= $EXPECTED_VERSION), not on Boost; suggests libboost-serialization-dev" \
    "$logs/control.log"
fi

ctl=$work/control
dpkg-deb -e "$runtime_deb" "$ctl"
ls -l "$ctl" >"$logs/control-files.log"
if [[ -f $ctl/shlibs && $(cat "$ctl/shlibs") == "libcfutures $EXPECTED_MAJOR $RUNTIME_PKG (>= $EXPECTED_VERSION)" ]]; then
  pass "shlibs: $(cat "$ctl/shlibs")"
else
  cat "$ctl/shlibs" >>"$logs/control-files.log" 2>&1 || true
  fail "shlibs is 'libcfutures $EXPECTED_MAJOR $RUNTIME_PKG (>= $EXPECTED_VERSION)'" "$logs/control-files.log"
fi
if [[ -f $ctl/triggers ]] && grep -qx 'activate-noawait ldconfig' "$ctl/triggers"; then
  pass "triggers: activate-noawait ldconfig"
else
  fail "triggers has 'activate-noawait ldconfig'" "$logs/control-files.log"
fi
if [[ -f $ctl/symbols ]] &&
   [[ $(head -n 1 "$ctl/symbols") == "libcfutures.so.$EXPECTED_MAJOR $RUNTIME_PKG #MINVER#" ]]; then
  pass "symbols file for libcfutures.so.$EXPECTED_MAJOR ($(grep -c '^ ' "$ctl/symbols") entries)"
else
  abort "symbols file in the control archive, for libcfutures.so.$EXPECTED_MAJOR $RUNTIME_PKG" "$logs/control-files.log"
fi

# ---------------------------------------------------------------------------------------------------------------
step "(3) package contents, unpacked into $root"
for deb in "$runtime_deb" "$dev_deb"; do
  if ! run_logged "$logs/extract.log" dpkg -x "$deb" "$root"; then
    abort "dpkg -x $(basename "$deb")" "$logs/extract.log"
  fi
done
pass "dpkg -x both packages into $root"
libdir=$root/$libdir_rel
pcdir=$libdir/pkgconfig
so_full=libcfutures.so.$EXPECTED_VERSION
so_major=libcfutures.so.$EXPECTED_MAJOR
lib=$libdir/$so_full

# The files and links of a package, without the leading "./", one a line.
contents() { dpkg-deb -c "$1" | awk '$1 !~ /^d/ { print $6 }' | sed 's|^\./||' | sort; }
contents "$runtime_deb" >"$logs/runtime-contents.txt"
printf '%s\n' "$libdir_rel/$so_major" "$libdir_rel/$so_full" "usr/share/doc/$RUNTIME_PKG/changelog.gz" \
  "usr/share/doc/$RUNTIME_PKG/copyright" | sort >"$logs/runtime-expected.txt"
if diff "$logs/runtime-expected.txt" "$logs/runtime-contents.txt" >"$logs/runtime-diff.txt"; then
  pass "$RUNTIME_PKG holds $so_major, $so_full, copyright and changelog, nothing else"
else
  fail "$RUNTIME_PKG holds $so_major, $so_full, copyright and changelog, nothing else (diff expected actual)" \
    "$logs/runtime-diff.txt"
fi
dpkg-deb -c "$runtime_deb" >"$logs/runtime-listing.txt"
if [[ -L $libdir/$so_major && $(readlink "$libdir/$so_major") == "$so_full" && -f $lib && ! -L $lib &&
      $(stat -c %a "$lib") == 644 ]]; then
  pass "$so_major -> $so_full, a real file of mode 0644"
else
  fail "$so_major -> $so_full, a real file of mode 0644" "$logs/runtime-listing.txt"
fi

contents "$dev_deb" >"$logs/dev-contents.txt"
: >"$logs/dev-missing.txt"
# (The MPI executor's headers, mpi.h and mpi_pool.hpp, belong to the `mpi` install component, not packaged yet.)
while IFS= read -r h; do
  echo "usr/include/cfutures/$h"
done < <(cd "$src_root/include/cfutures" && find . -type f -name '*.h*' ! -name 'mpi.h' ! -name 'mpi_pool.hpp' |
  sed 's|^\./||' | sort) >"$logs/dev-expected.txt"
printf '%s\n' "$libdir_rel/libcfutures.so" "$libdir_rel/libcfutures.a" \
  "$libdir_rel/pkgconfig/cfutures.pc" "$libdir_rel/pkgconfig/cfutures-serialization.pc" \
  "$libdir_rel/cmake/cfutures/cfuturesConfig.cmake" "$libdir_rel/cmake/cfutures/cfuturesConfigVersion.cmake" \
  "$libdir_rel/cmake/cfutures/cfuturesTargets.cmake" \
  "$libdir_rel/cmake/cfutures/cfutures-serialization-targets.cmake" \
  "usr/share/doc/$DEV_PKG/copyright" "usr/share/doc/$DEV_PKG/html/index.html" \
  "usr/share/man/man3/cf_submit.3.gz" "usr/share/man/man3/cfutures.3.gz" >>"$logs/dev-expected.txt"
while IFS= read -r f; do
  grep -qxF "$f" "$logs/dev-contents.txt" || echo "missing: $f" >>"$logs/dev-missing.txt"
done <"$logs/dev-expected.txt"
# Nothing of the runtime package, and nothing outside the headers, the libdir and its own doc directory.
grep -E "libcfutures\.so\.|^usr/share/doc/$RUNTIME_PKG/" "$logs/dev-contents.txt" | sed 's/^/unexpected: /' \
  >>"$logs/dev-missing.txt" || true
grep -vE "^(usr/include/cfutures/|$libdir_rel/|usr/share/doc/$DEV_PKG/|usr/share/man/man3/cf)" "$logs/dev-contents.txt" |
  sed 's/^/unexpected: /' >>"$logs/dev-missing.txt" || true
if [[ ! -s $logs/dev-missing.txt && -L $libdir/libcfutures.so && $(readlink "$libdir/libcfutures.so") == "$so_major" ]]
then
  pass "$DEV_PKG holds the headers, libcfutures.so -> $so_major, libcfutures.a, both .pc files, the CMake package, man pages, HTML"
else
  ls -l "$libdir" >>"$logs/dev-missing.txt" 2>&1 || true
  fail "$DEV_PKG holds the headers, libcfutures.so -> $so_major, libcfutures.a, both .pc files, the CMake package" \
    "$logs/dev-missing.txt"
fi

# man 3 cf_submit, as a user of the installed package would read it.
if MANPATH=$root/usr/share/man man -P cat 3 cf_submit >"$logs/man.txt" 2>&1 && grep -q "cf_submit" "$logs/man.txt" &&
   grep -q "DESCRIPTION" "$logs/man.txt"; then
  pass "man 3 cf_submit reads the packaged manual page"
else
  fail "man 3 cf_submit reads the packaged manual page" "$logs/man.txt"
fi

copyright=$root/usr/share/doc/$RUNTIME_PKG/copyright
if [[ -f $copyright ]] &&
   grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' "$copyright" &&
   grep -qx 'License: MIT' "$copyright" && grep -q '^ Permission is hereby granted' "$copyright"; then
  pass "copyright is in DEP-5 format and gives the MIT licence with its text"
else
  fail "copyright is in DEP-5 format and gives the MIT licence with its text" "$copyright"
fi

readelf -d "$lib" >"$logs/readelf.log" 2>&1 || true
soname=$(sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p' "$logs/readelf.log")
if [[ $soname == "$so_major" ]] && ! grep -qE '\((RPATH|RUNPATH)\)' "$logs/readelf.log"; then
  pass "readelf -d: SONAME $soname, no RPATH/RUNPATH"
else
  fail "readelf -d: SONAME $so_major, no RPATH/RUNPATH" "$logs/readelf.log"
fi
file "$lib" >"$logs/file.log" 2>&1 || true
if grep -q ', stripped' "$logs/file.log"; then
  pass "the packaged library is stripped"
else
  fail "the packaged library is stripped" "$logs/file.log"
fi

# The symbols file lists exactly the symbols of the C version nodes (CFUTURES_<major>.<minor>): every one of them,
# and no other (the library exports no C++ symbol, so there is no (symver) line for one).
nm -D --defined-only "$lib" >"$logs/nm.raw" 2>&1 || true
awk 'NF >= 3 && $NF ~ /@@?CFUTURES_[0-9]+\.[0-9]+$/ { sub(/@@/, "@", $NF); print $NF }
     NF == 3 && $2 == "A" && $3 ~ /^CFUTURES_[0-9]+\.[0-9]+$/ { print $3 "@" $3 }' "$logs/nm.raw" | sort \
  >"$logs/c-exports.txt"
awk '/^ / && $1 !~ /^\(/ { print $1 }' "$ctl/symbols" | sort >"$logs/c-symbols.txt"
n_c=$(grep -c '^cf_' "$logs/c-exports.txt" || true)
if [[ $n_c -gt 0 ]] && diff "$logs/c-exports.txt" "$logs/c-symbols.txt" >"$logs/symbols-diff.txt" &&
   ! grep -q 'CFUTURES_CXX' "$ctl/symbols" &&
   grep -qE "^ cf_submit@CFUTURES_0\.1 0\.1\.0$" "$ctl/symbols"; then
  pass "symbols lists all $n_c exported C functions with their version node (e.g. $(grep '^ cf_submit@' "$ctl/symbols" | sed 's/^ //')), and nothing else"
else
  cat "$ctl/symbols" >>"$logs/symbols-diff.txt"
  fail "symbols lists exactly the exported C functions with their node, and nothing else (diff exported listed)" \
    "$logs/symbols-diff.txt"
fi
# dpkg-gensymbols, as a Debian build would run it, compares the file with the library: -c4 fails on any difference.
if command -v dpkg-gensymbols >/dev/null 2>&1; then
  if (cd "$work" && run_logged "$logs/gensymbols.log" dpkg-gensymbols -p"$RUNTIME_PKG" -v"$EXPECTED_VERSION" \
        -P"$root" -e"$lib" -I"$ctl/symbols" -O"$work/symbols.check" -c4); then
    pass "dpkg-gensymbols -c4 finds the symbols file complete and exact"
  else
    fail "dpkg-gensymbols -c4 finds the symbols file complete and exact" "$logs/gensymbols.log"
  fi
fi

# ---------------------------------------------------------------------------------------------------------------
step "(4a) C99 program built against $root with pkg-config"
# Only the unpacked root's .pc files; their ${pcfiledir}-relative prefix leads into the root.
pkgconf() { PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_PATH='' pkg-config "$@"; }
export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
cdir=$work/c
mkdir -p "$cdir"
canon() { readlink -m -- "$1"; }
pc_includedir=$(pkgconf --variable=includedir cfutures 2>"$logs/pkgconfig.log" || true)
pc_libdir=$(pkgconf --variable=libdir cfutures 2>>"$logs/pkgconfig.log" || true)
printf 'includedir: %s\nlibdir: %s\n' "$pc_includedir" "$pc_libdir" >>"$logs/pkgconfig.log"
if [[ -n $pc_includedir && $(canon "$pc_includedir") == "$(canon "$root/usr/include")" &&
      -n $pc_libdir && $(canon "$pc_libdir") == "$(canon "$libdir")" ]]; then
  pass "cfutures.pc includedir and libdir lead into the root"
else
  fail "cfutures.pc includedir and libdir lead into the root" "$logs/pkgconfig.log"
fi
if pc_flags=$(pkgconf --cflags --libs cfutures 2>"$logs/c-build.log"); then
  # shellcheck disable=SC2086  # the flags are meant to be split into words
  if run_logged "$logs/c-build.log" "$cc" $c_flags -std=c99 -Wall -Wextra -Wpedantic -Werror -pthread \
       -DEXPECTED_VERSION="\"$EXPECTED_VERSION\"" "$consumer/consumer.c" -o "$cdir/consumer" $pc_flags; then
    pass "consumer.c compiles and links as C99 with the root's pkg-config flags"
  else
    fail "consumer.c compiles and links as C99 with the root's pkg-config flags" "$logs/c-build.log"
  fi
else
  fail "pkg-config --cflags --libs cfutures" "$logs/c-build.log"
fi
if [[ -x $cdir/consumer ]]; then
  ldd "$cdir/consumer" >"$logs/c-ldd.log" 2>&1 || true
  if grep -E '^\s*libcfutures\.so' "$logs/c-ldd.log" | grep -qF "=> $libdir/"; then
    pass "consumer resolves $so_major from the root (LD_LIBRARY_PATH)"
  else
    fail "consumer resolves $so_major from the root (LD_LIBRARY_PATH)" "$logs/c-ldd.log"
  fi
  if run_logged "$logs/c-run.log" "$cdir/consumer" && grep -qx "version: $EXPECTED_VERSION" "$logs/c-run.log" &&
     grep -qx "consumer.c: all checks passed" "$logs/c-run.log"; then
    pass "consumer runs: version $EXPECTED_VERSION, all checks passed"
  else
    fail "consumer runs and passes its checks" "$logs/c-run.log"
  fi
fi

# libcfutures.a from the -dev package, with the extra libraries that pkg-config --static names.
if sflags=$(pkgconf --static --cflags --libs cfutures 2>"$logs/static.log"); then
  sflags=${sflags//-lcfutures/$libdir/libcfutures.a}
  # shellcheck disable=SC2086
  if run_logged "$logs/static.log" "$cc" $c_flags -std=c99 -Wall -Wextra -Wpedantic -Werror -pthread \
       -DEXPECTED_VERSION="\"$EXPECTED_VERSION\"" "$consumer/consumer.c" -o "$cdir/consumer-static" $sflags &&
     ! ldd "$cdir/consumer-static" | grep -q libcfutures &&
     run_logged "$logs/static.log" "$cdir/consumer-static" &&
     grep -qx "consumer.c: all checks passed" "$logs/static.log"; then
    pass "consumer.c linked against the packaged libcfutures.a runs"
  else
    fail "consumer.c linked against the packaged libcfutures.a runs" "$logs/static.log"
  fi
else
  fail "pkg-config --static --cflags --libs cfutures" "$logs/static.log"
fi

# ---------------------------------------------------------------------------------------------------------------
step "(4b) the C-only CMake project, with Boost hidden from it"
if run_logged "$logs/c-cmake.log" "$cmake_cmd" -S "$consumer/c_project" -B "$work/c_project" \
     -DCMAKE_PREFIX_PATH="$root/usr" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_DISABLE_FIND_PACKAGE_Boost=ON \
     -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$c_flags" -DCMAKE_EXE_LINKER_FLAGS="$c_flags" &&
   run_logged "$logs/c-cmake.log" "$cmake_cmd" --build "$work/c_project" &&
   run_logged "$logs/c-cmake.log" "$work/c_project/c_app" &&
   grep -qx "consumer.c: all checks passed" "$logs/c-cmake.log"; then
  found_dir=$(sed -n 's/^-- cf-found: cfutures [^ ]* in //p' "$logs/c-cmake.log")
  if [[ -n $found_dir && $(canon "$found_dir") == "$(canon "$libdir")"/* ]]; then
    pass "project(x C) finds cfutures in the root ($found_dir) without Boost, builds and runs"
  else
    fail "project(x C) finds cfutures in the root (found: '$found_dir')" "$logs/c-cmake.log"
  fi
else
  fail "project(x C) finds cfutures in the root without Boost, builds and runs" "$logs/c-cmake.log"
fi

step "(4c) the C++ CMake project, find_package(cfutures COMPONENTS serialization)"
pbuild=$work/cmake_project
if run_logged "$logs/cmake.log" "$cmake_cmd" -S "$consumer/cmake_project" -B "$pbuild" \
     -DCMAKE_PREFIX_PATH="$root/usr" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
     -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_FLAGS="$c_flags" \
     -DCMAKE_CXX_FLAGS="$cxx_flags" -DCMAKE_EXE_LINKER_FLAGS="$cxx_flags" &&
   run_logged "$logs/cmake.log" "$cmake_cmd" --build "$pbuild"; then
  found_dir=$(sed -n 's/^-- cf-found: cfutures [^ ]* in //p' "$logs/cmake.log")
  if [[ -n $found_dir && $(canon "$found_dir") == "$(canon "$libdir")"/* ]]; then
    pass "find_package(cfutures 0.1 CONFIG REQUIRED COMPONENTS serialization) finds the root's package; app and typed_app build"
  else
    fail "find_package(cfutures ...) finds the root's package (found: '$found_dir')" "$logs/cmake.log"
  fi
  if run_logged "$logs/cmake-run.log" "$pbuild/app" && grep -qx "main.cpp: all checks passed" "$logs/cmake-run.log"
  then
    pass "app (cfutures::cfutures) runs: all checks passed"
  else
    fail "app (cfutures::cfutures) runs and passes its checks" "$logs/cmake-run.log"
  fi
  if run_logged "$logs/cmake-typed.log" "$pbuild/typed_app" &&
     grep -qx "typed result: typed-task-ok" "$logs/cmake-typed.log"; then
    pass "typed_app (cfutures::serialization) runs a typed task on a process pool"
  else
    fail "typed_app (cfutures::serialization) runs a typed task on a process pool" "$logs/cmake-typed.log"
  fi
else
  fail "the C++ consumer project configures and builds against the root" "$logs/cmake.log"
fi

finish
