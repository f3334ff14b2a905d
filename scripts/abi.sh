#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The ABI guard of libcfutures.so.0: the C ABI recorded in abi/ is checked against a built library.
#
#   scripts/abi.sh check  <libcfutures.so.X.Y.Z>   fails on any change to the recorded C ABI
#   scripts/abi.sh update <libcfutures.so.X.Y.Z>   records the library's C ABI as the new baseline
#
# What is recorded: abi/symbols.txt, every exported C function with its symbol version (cf_submit@@CFUTURES_0.1),
# and abi/libcfutures.abi, the functions' types as abidw (abigail-tools) reads them from the debug
# information (so the library must be built with -g: the dev, asan and tsan presets are). C++ symbols
# (CFUTURES_CXX_*) are not part of the checked ABI.
#
# abi/released names the last release ("0.1"): its version nodes (CFUTURES_0.1 and older) are frozen.
#
# check fails when a recorded function is gone or changed its version node (an incompatible change), when
# abidiff finds any change in the recorded functions' types, or when a function not recorded sits in a frozen
# node. Functions added since the baseline pass when their node is newer than the release (cmake/cfutures.map).
# A compatible change (a new function, an options struct grown at its end, a new enumerator) is recorded with
# `scripts/abi.sh update` on a Debug build and committed with the change, so that the diff of abi/ shows it for
# review; update refuses a new function in a frozen node.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
abi_dir=$here/abi
baseline=$abi_dir/libcfutures.abi
symbols=$abi_dir/symbols.txt
released=$(cat "$abi_dir/released" 2>/dev/null || echo 0.0)
headers=$here/include/cfutures

usage() { echo "usage: $0 check|update <path to libcfutures.so.X.Y.Z>" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
mode=$1
lib=$2
[[ -f $lib ]] || { echo "abi: no library at $lib" >&2; exit 2; }
for tool in abidw abidiff nm; do
  command -v "$tool" >/dev/null || { echo "abi: $tool is missing (apt-get install abigail-tools binutils)"; exit 77; }
done

# The library's C functions as name@@version, sorted.
c_symbols() { nm -D --defined-only "$1" | awk '$NF ~ /^cf_/ { print $NF }' | sort; }
whitelist() {
  echo "[abi_whitelist]"
  sed 's/@.*//; s/^/  /' "$1"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Functions in $1 that $2 (the baseline) lacks and that sit in a node of the released version or older.
in_frozen_nodes() {
  comm -13 "$2" "$1" | while IFS= read -r sym; do
    node=${sym##*@@}
    version=${node#CFUTURES_}
    if [[ $(printf '%s\n%s\n' "$version" "$released" | sort -V | head -1) == "$version" ]]; then echo "$sym"; fi
  done
}

case $mode in
  update)
    mkdir -p "$abi_dir"
    c_symbols "$lib" >"$work/now"
    touch "$symbols"
    in_frozen_nodes "$work/now" "$symbols" >"$work/frozen"
    if [[ -s $work/frozen ]]; then
      echo "abi: refused: new functions in nodes of release $released or older (give them a newer node):"
      sed 's/^/  /' "$work/frozen"
      exit 1
    fi
    cp "$work/now" "$symbols"
    whitelist "$symbols" >"$work/whitelist"
    abidw --no-corpus-path --short-locs --type-id-style hash --headers-dir "$headers" --drop-private-types \
      -w "$work/whitelist" "$lib" >"$baseline"
    echo "abi: recorded $(wc -l <"$symbols") C functions in $symbols and their types in $baseline"
    ;;
  check)
    [[ -f $baseline && -f $symbols ]] || { echo "abi: no baseline in $abi_dir (scripts/abi.sh update)"; exit 1; }
    c_symbols "$lib" >"$work/now"
    status=0
    # 1. Nothing recorded may disappear or move to another version node.
    comm -23 "$symbols" "$work/now" >"$work/gone"
    if [[ -s $work/gone ]]; then
      echo "abi: FAIL: recorded functions missing from $lib (removed, or moved to another version node):"
      sed 's/^/  /' "$work/gone"
      status=1
    else
      echo "abi: all $(wc -l <"$symbols") recorded C functions are exported with their recorded versions"
    fi
    # 2. Their types: abidiff against the recorded ones.
    whitelist "$symbols" >"$work/whitelist"
    set +e
    abidiff --no-added-syms --hd2 "$headers" --drop-private-types -w "$work/whitelist" "$baseline" "$lib" \
      >"$work/diff" 2>&1
    rc=$?
    set -e
    if ((rc == 0)); then
      echo "abi: abidiff finds no change in the recorded functions' types"
    else
      echo "abi: FAIL: abidiff exit status $rc ($( ((rc & 8)) && echo "incompatible change" || echo "ABI change")):"
      sed 's/^/  /' "$work/diff"
      echo "abi: if the change is compatible (see the README's ABI section), record it: scripts/abi.sh update $lib"
      status=1
    fi
    # 3. New functions: each in a node newer than the last release.
    comm -13 "$symbols" "$work/now" >"$work/new"
    in_frozen_nodes "$work/now" "$symbols" >"$work/frozen"
    if [[ -s $work/frozen ]]; then
      echo "abi: FAIL: new functions in nodes of release $released or older (give them a newer node):"
      sed 's/^/  /' "$work/frozen"
      status=1
    fi
    [[ -s $work/new ]] && echo "abi: $(wc -l <"$work/new") function(s) not yet recorded: $(sed 's/@@.*//' "$work/new" | tr '\n' ' ')"
    exit $status
    ;;
  *) usage ;;
esac
