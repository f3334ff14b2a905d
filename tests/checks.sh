# SPDX-License-Identifier: MIT
# The shell tests' shared checker (tests/consumer/run.sh, tests/package/run.sh source it): step headings, PASS and
# FAIL lines with the log of a failure, a summary that sets the exit status, and commands run into a log.

passed=0
failed=0
failures=()

step() { printf '\n==> %s\n' "$*"; }
pass() { passed=$((passed + 1)); printf 'PASS: %s\n' "$1"; }
# fail <what> [<log file shown under it>]
fail() {
  failed=$((failed + 1))
  failures+=("$1")
  printf 'FAIL: %s\n' "$1"
  if [[ $# -gt 1 && -s $2 ]]; then
    sed 's/^/    | /' "$2"
  fi
}
# Prints "N passed, M failed" (and the failed checks) and exits: 0 only when nothing failed.
finish() {
  printf '\n'
  if ((failed)); then
    printf 'failed checks:\n'
    printf '  - %s\n' "${failures[@]}"
  fi
  printf '%d passed, %d failed\n' "$passed" "$failed"
  ((failed == 0)) && exit 0
  exit 1
}
# A failure that leaves nothing sensible to check after it.
abort() { fail "$@"; printf 'stopping: later checks depend on this one\n'; finish; }

# Runs a command with its output in a log file; echoes the command first. Returns the command's status.
run_logged() {
  local log=$1
  shift
  printf '$ %s\n' "$*" >>"$log"
  printf '  $ %s\n' "$*"
  "$@" >>"$log" 2>&1
}
