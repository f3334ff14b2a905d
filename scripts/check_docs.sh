#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks the built reference documentation: Doxygen warned of nothing (every public function, type and constant
# is documented), and every C function of the header has its manual page with a description.
#
#   check_docs.sh <docs build dir> <path to cfutures.h>
set -euo pipefail
out=$1
header=$2
status=0
if [[ ! -f $out/warnings.log || ! -d $out/man3 ]]; then
  echo "docs: not built in $out (the 'docs' target)"; exit 1
fi
if [[ -s $out/warnings.log ]]; then
  echo "docs: FAIL: Doxygen warnings ($(wc -l <"$out/warnings.log")), each an undocumented or misdocumented name:"
  sed 's/^/  /' "$out/warnings.log"
  status=1
else
  echo "docs: Doxygen reports every public name documented"
fi
mapfile -t functions < <(grep -oE '^CF_API [^(]*\bcf_[a-z0-9_]+\(' "$header" | grep -oE 'cf_[a-z0-9_]+\($' | tr -d '(' | sort -u)
missing=()
for f in "${functions[@]}"; do
  page=$out/man3/$f.3
  if [[ ! -f $page ]] || ! grep -q '^\.SH DESCRIPTION' "$page" || grep -qE "^$f \\\\- $f\$" "$page"; then
    missing+=("$f")
  fi
done
if ((${#missing[@]})); then
  echo "docs: FAIL: functions without a manual page that describes them: ${missing[*]}"
  status=1
else
  echo "docs: all ${#functions[@]} C functions have a manual page (man 3 ${functions[0]}, ...)"
fi
exit $status
