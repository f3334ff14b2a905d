#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The ABI guard of libcfutures.so.0: the C ABI recorded in abi/ is checked against a built library.
#
#   scripts/abi.sh check  <libcfutures.so.X.Y.Z>   fails on any change to the recorded C ABI
#   scripts/abi.sh update <libcfutures.so.X.Y.Z>   records the library's C ABI as the new baseline
#
# What is recorded: abi/symbols.txt, every exported C function with its symbol version (cf_submit@@CFUTURES_0.1),
# and abi/libcfutures.so.0.abi, the functions' types as abidw (abigail-tools) reads them from the debug
# information (so the library must be built with -g: the dev, asan and tsan presets are). C++ symbols
# (CFUTURES_CXX_*) are not part of the checked ABI.
#
# check fails when a recorded function is gone or changed its version node (an incompatible change), or when
# abidiff finds any change in the recorded functions' types. Functions added since the baseline pass; they must sit
# in a version node of their own release (cmake/cfutures.map). A release that changes the ABI compatibly (a new
# function, options structs grown at their end, new enumerators) runs `scripts/abi.sh update` on a Debug build
# and commits abi/ with the change.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
abi_dir=$here/abi
baseline=$abi_dir/libcfutures.so.0.abi
symbols=$abi_dir/symbols.txt
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

case $mode in
  update)
    mkdir -p "$abi_dir"
    c_symbols "$lib" >"$symbols"
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
    # 3. New functions: each in a version node the baseline does not use (the new release's).
    comm -13 "$symbols" "$work/now" >"$work/new"
    recorded_nodes=$(sed 's/.*@@//' "$symbols" | sort -u)
    while IFS= read -r sym; do
      node=${sym##*@@}
      if grep -qxF "$node" <<<"$recorded_nodes"; then
        echo "abi: FAIL: new function $sym is in the already released node $node: give it a node of its own release"
        status=1
      fi
    done <"$work/new"
    [[ -s $work/new ]] && echo "abi: $(wc -l <"$work/new") function(s) added since the baseline: $(sed 's/@@.*//' "$work/new" | tr '\n' ' ')"
    exit $status
    ;;
  *) usage ;;
esac
