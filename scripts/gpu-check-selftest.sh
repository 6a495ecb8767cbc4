#!/usr/bin/env bash
# Checks scripts/gpu-check.sh without a GPU (CI runs it): a bundle of stand-in executables
# that pass, fail, hang and print benchmark rows, under a budget too small for all of them.
# The device call is rare and short, so the script that spends it must not be what breaks.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bundle=$work/bundle
mkdir -p "$bundle/tests" "$bundle/benches"
echo selftest > "$bundle/COMMIT"
stand_in() { printf '#!/bin/sh\n%s\n' "$2" > "$1"; chmod +x "$1"; }
stand_in "$bundle/tests/passes" 'echo "test result: ok. 2 passed; 0 failed; 0 ignored"'
stand_in "$bundle/tests/fails" 'echo "thread main panicked at x"; echo "test result: FAILED. 1 passed; 1 failed"; exit 101'
stand_in "$bundle/tests/hangs" 'echo "started"; sleep 60'
stand_in "$bundle/benches/ntt" 'echo "gpu ntt: stand-in"; echo "| 2^16 | 1 us |"'

fail() { echo "gpu-check-selftest: $*" >&2; exit 1; }

# A budget of 8 s: the first hang is stopped at its own 3 s limit, the second at what is left
# of the budget, and the two steps after it are skipped.
out=$work/out
set +e
OUT=$out SPICE_GPU_BUNDLE=$bundle SPICE_GPU_CHECK_BUDGET_S=8 SPICE_GPU_CHECK_MIN_STEP_S=2 \
  SPICE_GPU_CHECK_STEPS="passes:5 fails:5 bench:ntt:5 hangs:3 hangs:30 passes:5 absent:5" \
  bash scripts/gpu-check.sh > "$work/stdout" 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a failing, hanging and skipped step must make the check fail"
files=$(find "$out" -type f | wc -l)
[ "$files" -le 8 ] || fail "$files files under \$OUT; the device tool brings back 8"
for f in device.txt tests.log summary.txt bench-ntt.log; do
  [ -f "$out/$f" ] || fail "no $f under \$OUT"
done
summary=$out/summary.txt
expect() { grep -qE -- "$1" "$summary" || { cat "$summary" >&2; fail "summary lacks: $1"; }; }
expect '^\| passes:5 \| rc 0, [0-9]+ s: test result: ok\. 2 passed'
expect '^\| fails:5 \| rc 101, '
expect '^\| bench:ntt:5 \| rc 0, '
expect '^\| hangs:3 \| rc 124, [0-9]+ s: timed out after 3 s'
expect '^\| hangs:30 \| rc 124, [0-9]+ s: timed out after [1-6] s'
expect '^\| passes:5 \| skipped: -?[0-9]+ s of the 8 s budget left'
expect '^\| absent:5 \| skipped'
expect '^rerun the skipped steps: SPICE_GPU_CHECK_STEPS="passes:5 absent:5" bash scripts/gpu-check.sh$'
expect '^gpu ntt: stand-in$'
expect '^\| 2\^16 \| 1 us \|$'
grep -q "===== fails (rc 101)" "$out/tests.log" || fail "tests.log lacks the failing test's output"
grep -q "panicked" "$work/stdout" || fail "a panic is not echoed while the check runs"
# The summary is what the device tool's output tail shows: it must be printed last.
tail -n "$(wc -l < "$summary")" "$work/stdout" | cmp -s - "$summary" || fail "the summary is not the last thing printed"

# The default steps, each a passing stand-in: status 0, nothing skipped, and still at most 8
# files (a default step this list lacks shows up as missing and fails here).
for t in gpu_arith gpu_ntt gpu_msm gpu_witness_map gpu_lanes kernel_ntt kernel_msm; do
  stand_in "$bundle/tests/$t" 'echo "test result: ok. 1 passed; 0 failed"'
done
for b in arith ntt msm prove; do stand_in "$bundle/benches/$b" "echo '| $b | 1 us |'"; done
out=$work/out-ok
OUT=$out SPICE_GPU_BUNDLE=$bundle bash scripts/gpu-check.sh > "$work/stdout-ok" 2>&1 \
  || { cat "$work/stdout-ok" >&2; fail "a check whose default steps all pass must exit 0"; }
! grep -q "skipped" "$out/summary.txt" || fail "nothing should be skipped with the default budget"
files=$(find "$out" -type f | wc -l)
[ "$files" -le 8 ] || fail "the default steps leave $files files under \$OUT; the device tool brings back 8"
[ "$(grep -c '^| ' "$out/summary.txt")" -eq 15 ] || { cat "$out/summary.txt" >&2; fail "want 11 step rows and 4 bench rows"; }
echo "gpu-check-selftest: ok (budget cuts, time limits, failures, skips, at most 8 files, summary last)"
