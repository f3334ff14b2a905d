#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The consumer test: install libcfutures into a fresh prefix and use it the way a downstream project would.
#
#   run.sh <project-binary-dir> <work-dir> <c-compiler> <cxx-compiler> "<C flags>" "<CXX flags>"
#
# Steps: install; (a) build and run a C99 program with the flags pkg-config gives; (b) configure, build and run a
# CMake project through find_package(cfutures CONFIG), and probe the package's version compatibility; (c) inspect
# the installed files: SONAME, symlinks, exported symbols, pkg-config version, headers.
# The flags (which carry -fsanitize=... under the asan/tsan presets) go to every compile and link.
# Prints "N passed, M failed" at the end; exits 0 only when nothing failed.
set -euo pipefail

# Bump together with the project version (include/cfutures/cfutures.h).
readonly EXPECTED_VERSION=0.1.0
readonly EXPECTED_MAJOR=${EXPECTED_VERSION%%.*}

if [[ $# -lt 4 ]]; then
  echo "usage: $0 <project-binary-dir> <work-dir> <c-compiler> <cxx-compiler> [C flags] [CXX flags]" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
work=$2
cc=$3
cxx=$4
c_flags=${5:-}
cxx_flags=${6:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src_root=$(cd "$here/../.." && pwd)
cmake_cmd=${CMAKE:-cmake}

# shellcheck source=../checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/../checks.sh"

case $work in
  "" | / | "$HOME" | "$src_root" | "$build_dir") echo "refusing to use '$work' as the work directory" >&2; exit 2 ;;
esac

missing_tools=()
for tool in "$cmake_cmd" "$cc" "$cxx" pkg-config readelf nm c++filt ldd; do
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
prefix=$work/prefix
logs=$work/logs
mkdir -p "$logs"

# ---------------------------------------------------------------------------------------------------------------
step "install $build_dir into $prefix"
if run_logged "$logs/install.log" "$cmake_cmd" --install "$build_dir" --prefix "$prefix"; then
  pass "cmake --install into a fresh prefix"
else
  abort "cmake --install into a fresh prefix" "$logs/install.log"
fi

# GNUInstallDirs picks lib, lib64 or lib/<multiarch>: find the directory that holds the library.
mapfile -t found < <(find "$prefix" -name "libcfutures.so" \( -type f -o -type l \) | sort)
if [[ ${#found[@]} -ne 1 ]]; then
  printf '%s\n' "${found[@]:-(none)}" >"$logs/libdir.log"
  abort "exactly one libcfutures.so installed under the prefix" "$logs/libdir.log"
fi
libdir=$(dirname "${found[0]}")
pcdir=$libdir/pkgconfig
echo "libdir: $libdir"
pkgconf() { PKG_CONFIG_PATH=$pcdir pkg-config "$@"; }

# ---------------------------------------------------------------------------------------------------------------
step "(c) installed files"

# Headers: every public header of the source tree is installed under <prefix>/include/cfutures/.
missing=()
while IFS= read -r h; do
  [[ -f $prefix/include/cfutures/$h ]] || missing+=("$h")
done < <(cd "$src_root/include/cfutures" && find . -type f -name '*.h*' | sed 's|^\./||' | sort)
if [[ ! -f $prefix/include/cfutures/cfutures.h ]]; then missing+=("cfutures.h"); fi
if ((${#missing[@]} == 0)); then
  pass "headers installed under $prefix/include/cfutures/ ($(cd "$prefix/include/cfutures" && echo *))"
else
  printf 'missing: %s\n' "${missing[@]}" >"$logs/headers.log"
  fail "headers installed under $prefix/include/cfutures/" "$logs/headers.log"
fi

# The SONAME link chain: libcfutures.so -> libcfutures.so.<major> -> libcfutures.so.<version> (a real file).
so=$libdir/libcfutures.so
so_major=libcfutures.so.$EXPECTED_MAJOR
so_full=libcfutures.so.$EXPECTED_VERSION
ls -l "$libdir"/libcfutures.so* >"$logs/links.log" 2>&1 || true
if [[ -L $so && $(readlink "$so") == "$so_major" && -L $libdir/$so_major &&
      $(readlink "$libdir/$so_major") == "$so_full" && -f $libdir/$so_full && ! -L $libdir/$so_full ]]; then
  pass "symlinks libcfutures.so -> $so_major -> $so_full"
else
  fail "symlinks libcfutures.so -> $so_major -> $so_full" "$logs/links.log"
fi

lib=$libdir/$so_full
[[ -f $lib ]] || lib=$so
readelf -d "$lib" >"$logs/readelf.log" 2>&1 || true
soname=$(sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p' "$logs/readelf.log")
if [[ $soname == "$so_major" ]]; then
  pass "readelf -d: SONAME $soname"
else
  fail "readelf -d: SONAME is '$soname', expected $so_major" "$logs/readelf.log"
fi

# cmake --install drops the build tree's RPATH; an installed library pointing into a build tree is a packaging bug.
if grep -E '\((RPATH|RUNPATH)\)' "$logs/readelf.log" | grep -qF "$build_dir"; then
  fail "installed library has no RPATH/RUNPATH into the build tree" "$logs/readelf.log"
else
  pass "installed library has no RPATH/RUNPATH into the build tree"
fi

# Exported symbols: the C ABI (cf_*) and nothing else (the hourglass: the C++ API is header-only over it), each
# in a named version node (CFUTURES_*); the nodes themselves show up as absolute symbols of their own names.
nm -D --defined-only "$lib" >"$logs/nm.raw" 2>&1 || true
awk 'NF >= 3 && !($2 == "A" && $3 ~ /^CFUTURES_/) { print $NF }' "$logs/nm.raw" | sed 's/@.*//' | c++filt | sort -u \
  >"$logs/exports.txt"
grep -vE '^cf_' "$logs/exports.txt" >"$logs/offenders.txt" || true
n_exports=$(wc -l <"$logs/exports.txt")
: >"$logs/missing-exports.txt"
for name in cf_future_new cf_version_string cf_future_set_result_object cf_task_current; do
  grep -qxF "$name" "$logs/exports.txt" || echo "$name" >>"$logs/missing-exports.txt"
done
if [[ -s $logs/offenders.txt ]]; then
  printf 'symbols exported outside cf_* (%d):\n' "$(wc -l <"$logs/offenders.txt")"
  fail "nm -D --defined-only exports only cf_* symbols" "$logs/offenders.txt"
elif [[ -s $logs/missing-exports.txt ]]; then
  fail "nm -D exports cf_future_new, cf_version_string, cf_future_set_result_object, cf_task_current (missing:)" \
    "$logs/missing-exports.txt"
else
  pass "nm -D --defined-only exports only cf_* symbols ($n_exports C functions; no C++ symbol)"
fi
# Every C function carries a named version (CFUTURES_0.1 or a later node), the default one (@@).
awk 'NF >= 3 && $NF ~ /^cf_/ && $NF !~ /@@CFUTURES_[0-9]+\.[0-9]+$/ { print $NF }' "$logs/nm.raw" \
  >"$logs/unversioned.txt"
n_c=$(awk 'NF >= 3 && $NF ~ /^cf_/' "$logs/nm.raw" | wc -l)
if [[ $n_c -gt 0 && ! -s $logs/unversioned.txt ]]; then
  pass "all $n_c C functions are in a named version node (e.g. $(awk '$NF ~ /^cf_submit@/ { print $NF }' "$logs/nm.raw"))"
else
  fail "all C functions are in a named version node CFUTURES_<major>.<minor>" "$logs/unversioned.txt"
fi

# pkg-config: the version, and paths that lead into this prefix (the .pc must follow the install prefix).
if [[ ! -f $pcdir/cfutures.pc ]]; then
  find "$prefix" >"$logs/tree.log"
  abort "cfutures.pc installed in $pcdir" "$logs/tree.log"
fi
modversion=$(pkgconf --modversion cfutures 2>"$logs/pkgconfig.log" || true)
if [[ $modversion == "$EXPECTED_VERSION" ]]; then
  pass "pkg-config --modversion cfutures: $modversion"
else
  fail "pkg-config --modversion cfutures is '$modversion', expected $EXPECTED_VERSION" "$logs/pkgconfig.log"
fi
pc_includedir=$(pkgconf --variable=includedir cfutures 2>>"$logs/pkgconfig.log" || true)
pc_libdir=$(pkgconf --variable=libdir cfutures 2>>"$logs/pkgconfig.log" || true)
canon() { readlink -m -- "$1"; }
{
  echo "cfutures.pc:"
  cat "$pcdir/cfutures.pc"
  echo "includedir resolves to: $pc_includedir (expected $prefix/include)"
  echo "libdir resolves to: $pc_libdir (expected $libdir)"
} >>"$logs/pkgconfig.log"
if [[ -n $pc_includedir && $(canon "$pc_includedir") == "$(canon "$prefix/include")" &&
      -n $pc_libdir && $(canon "$pc_libdir") == "$(canon "$libdir")" ]]; then
  pass "cfutures.pc includedir/libdir point into the install prefix"
else
  fail "cfutures.pc includedir/libdir point into the install prefix (a .pc fixed to the configure-time prefix breaks 'cmake --install --prefix')" \
    "$logs/pkgconfig.log"
fi

# ---------------------------------------------------------------------------------------------------------------
step "(a) C99 program built with pkg-config flags"
cdir=$work/c
mkdir -p "$cdir"
if pc_flags=$(pkgconf --cflags --libs cfutures 2>"$logs/c-build.log"); then
  # shellcheck disable=SC2086  # the flags are meant to be split into words
  if run_logged "$logs/c-build.log" "$cc" $c_flags -std=c99 -Wall -Wextra -Wpedantic -Werror -pthread \
       -DEXPECTED_VERSION="\"$EXPECTED_VERSION\"" "$here/consumer.c" -o "$cdir/consumer" $pc_flags \
       "-Wl,-rpath,$libdir"; then
    pass "consumer.c compiles and links as C99 against the installed package"
  else
    fail "consumer.c compiles and links as C99 against the installed package" "$logs/c-build.log"
  fi
else
  fail "pkg-config --cflags --libs cfutures" "$logs/c-build.log"
fi
if [[ -x $cdir/consumer ]]; then
  # It must load the installed library, not one from the build tree.
  ldd "$cdir/consumer" >"$logs/c-ldd.log" 2>&1 || true
  if grep -E '^\s*libcfutures\.so' "$logs/c-ldd.log" | grep -qF "=> $libdir/"; then
    pass "consumer resolves libcfutures.so.$EXPECTED_MAJOR from the prefix"
  else
    fail "consumer resolves libcfutures.so.$EXPECTED_MAJOR from the prefix" "$logs/c-ldd.log"
  fi
  if run_logged "$logs/c-run.log" "$cdir/consumer"; then
    sed '1d; s/^/    /' "$logs/c-run.log"
    if grep -qx "version: $EXPECTED_VERSION" "$logs/c-run.log" &&
       grep -qx "as_completed order: alpha charlie bravo (end: CF_DONE)" "$logs/c-run.log" &&
       grep -qx "consumer.c: all checks passed" "$logs/c-run.log"; then
      pass "consumer runs: version $EXPECTED_VERSION, cf_wait, cf_as_completed, pthread completion"
    else
      fail "consumer output has the expected version, as_completed order and final line" "$logs/c-run.log"
    fi
  else
    fail "consumer exits 0" "$logs/c-run.log"
  fi
fi

# The core's flags name no Boost: a C program needs none of it. The serialization component's do.
core_flags=$(pkgconf --cflags --libs --static cfutures 2>&1 || true)
ser_flags=$(pkgconf --cflags --libs cfutures-serialization 2>&1 || true)
printf 'cfutures: %s\ncfutures-serialization: %s\n' "$core_flags" "$ser_flags" >"$logs/pc-boost.log"
if [[ -n $core_flags && $core_flags != *boost* && $ser_flags == *-lboost_serialization* && $ser_flags == *-lcfutures* ]]
then
  pass "pkg-config: cfutures names no Boost ($core_flags); cfutures-serialization adds -lboost_serialization"
else
  fail "pkg-config: cfutures names no Boost; cfutures-serialization adds -lboost_serialization" "$logs/pc-boost.log"
fi

step "(a2) the static library, through pkg-config --static"
# A prefix as a static-only install leaves it (BUILD_SHARED_LIBS=OFF): the same files without the shared library.
if [[ -f $libdir/libcfutures.a ]]; then
  sprefix=$work/static-prefix
  cp -a "$prefix" "$sprefix"
  slibdir=$sprefix/${libdir#"$prefix"/}
  rm -f "$slibdir"/libcfutures.so*
  if sflags=$(PKG_CONFIG_PATH=$slibdir/pkgconfig pkg-config --static --cflags --libs cfutures 2>"$logs/static.log") &&
     run_logged "$logs/static.log" "$cc" $c_flags -std=c99 -Wall -Wextra -Wpedantic -Werror -pthread \
       -DEXPECTED_VERSION="\"$EXPECTED_VERSION\"" "$here/consumer.c" -o "$cdir/consumer-static" $sflags; then
    ldd "$cdir/consumer-static" >"$logs/static-ldd.log" 2>&1 || true
    if grep -q libcfutures "$logs/static-ldd.log"; then
      fail "the static consumer does not load libcfutures.so" "$logs/static-ldd.log"
    elif run_logged "$logs/static.log" "$cdir/consumer-static" &&
         grep -qx "consumer.c: all checks passed" "$logs/static.log"; then
      pass "consumer.c linked with pkg-config --static against libcfutures.a (flags: $sflags) runs"
    else
      fail "consumer.c linked against libcfutures.a runs" "$logs/static.log"
    fi
  else
    fail "consumer.c links with pkg-config --static against libcfutures.a" "$logs/static.log"
  fi
else
  fail "libcfutures.a is installed beside the shared library"
fi

# ---------------------------------------------------------------------------------------------------------------
step "(b0) a C-only CMake project, with Boost hidden from it"
if run_logged "$logs/c-cmake.log" "$cmake_cmd" -S "$here/c_project" -B "$work/c_project" \
     -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_DISABLE_FIND_PACKAGE_Boost=ON \
     -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$c_flags" -DCMAKE_EXE_LINKER_FLAGS="$c_flags" &&
   run_logged "$logs/c-cmake.log" "$cmake_cmd" --build "$work/c_project" &&
   run_logged "$logs/c-cmake.log" "$work/c_project/c_app" &&
   grep -qx "consumer.c: all checks passed" "$logs/c-cmake.log"; then
  if grep -qi boost "$work/c_project/CMakeFiles/c_app.dir/link.txt"; then
    fail "the C-only project's link line names no Boost" "$work/c_project/CMakeFiles/c_app.dir/link.txt"
  else
    pass "project(x C) finds cfutures without Boost, links with no Boost on its link line, and runs"
  fi
else
  fail "project(x C) finds cfutures without Boost, builds and runs" "$logs/c-cmake.log"
fi

# ---------------------------------------------------------------------------------------------------------------
step "(b) CMake project through find_package(cfutures CONFIG)"
proj=$here/cmake_project
pbuild=$work/cmake_project
common=(-DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
        -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx"
        -DCMAKE_C_FLAGS="$c_flags" -DCMAKE_CXX_FLAGS="$cxx_flags" -DCMAKE_EXE_LINKER_FLAGS="$cxx_flags")
if run_logged "$logs/cmake-configure.log" "$cmake_cmd" -S "$proj" -B "$pbuild" "${common[@]}"; then
  found_dir=$(sed -n 's/^-- cf-found: cfutures [^ ]* in //p' "$logs/cmake-configure.log")
  if [[ -n $found_dir && $(canon "$found_dir") == "$(canon "$libdir")"/* ]]; then
    pass "find_package(cfutures 0.1 CONFIG REQUIRED) finds the package in the prefix ($found_dir)"
  else
    fail "find_package(cfutures 0.1 CONFIG REQUIRED) finds the package in the prefix (found: '$found_dir')" \
      "$logs/cmake-configure.log"
  fi
  if run_logged "$logs/cmake-build.log" "$cmake_cmd" --build "$pbuild"; then
    pass "app builds and links against cfutures::cfutures"
    if run_logged "$logs/cmake-run.log" "$pbuild/app"; then
      sed '1d; s/^/    /' "$logs/cmake-run.log"
      if grep -q "^caught cf::CancelledError" "$logs/cmake-run.log" &&
         grep -q "^caught cf::TimeoutError" "$logs/cmake-run.log" &&
         grep -qx "as_completed order: f1 f3 f2" "$logs/cmake-run.log" &&
         grep -qx "main.cpp: all checks passed" "$logs/cmake-run.log"; then
        pass "app runs: cf::wait, cf::as_completed, catches cf::CancelledError and cf::TimeoutError (thrown by the header-only C++ API)"
      else
        fail "app output has the caught exceptions, as_completed order and final line" "$logs/cmake-run.log"
      fi
    else
      fail "app exits 0" "$logs/cmake-run.log"
    fi
  else
    fail "app builds and links against cfutures::cfutures" "$logs/cmake-build.log"
  fi
  if [[ -x $pbuild/typed_app ]] && run_logged "$logs/cmake-typed.log" "$pbuild/typed_app" &&
     grep -qx "typed result: typed-task-ok" "$logs/cmake-typed.log"; then
    pass "typed_app (COMPONENTS serialization, cfutures::serialization) runs a typed task on a process pool"
  else
    fail "typed_app (COMPONENTS serialization, cfutures::serialization) builds and runs" "$logs/cmake-typed.log"
  fi
else
  fail "configure the consumer CMake project" "$logs/cmake-configure.log"
fi

# SameMajorVersion: 0.1.x satisfies a request for 0.1 but neither 1.0 (another major) nor 0.2 (a newer minor).
for wanted in 1.0 0.2; do
  log=$logs/cmake-probe-$wanted.log
  if run_logged "$log" "$cmake_cmd" -S "$proj" -B "$work/probe-$wanted" "${common[@]}" -DCF_PROBE_VERSION="$wanted"; then
    if grep -q "^-- cf-probe: cfutures $wanted not satisfied" "$log"; then
      pass "find_package(cfutures $wanted CONFIG) is not satisfied by $EXPECTED_VERSION"
    else
      fail "find_package(cfutures $wanted CONFIG) is not satisfied by $EXPECTED_VERSION" "$log"
    fi
  else
    fail "configure the version probe for $wanted" "$log"
  fi
done

finish
