#!/usr/bin/env bash
# The GPU check of issue 3, for the device machine. It needs no Rust toolchain: it runs the
# test and bench executables built here by ../shared/scripts/gpu-bundle (see the README's
# CUDA section) from .gpu-bundle/, with SPICE_REQUIRE_GPU=1 so that a missing or broken GPU
# fails instead of skipping. Logs go to $OUT (or ./gpu-check-out); the last lines printed are
# a short table: each test executable's result, then the NTT benchmark's rows.
#
#   bash scripts/gpu-check.sh            # tests, then the benchmark
#   SPICE_GPU_CHECK_BENCH=0 bash scripts/gpu-check.sh    # tests only
#
# Exit status: 0 when every test passed and the benchmark ran.
set -uo pipefail
cd "$(dirname "$0")/.."
bundle=${SPICE_GPU_BUNDLE:-.gpu-bundle}
out=${OUT:-gpu-check-out}
mkdir -p "$out"
export SPICE_REQUIRE_GPU=1 RUST_BACKTRACE=1

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(cat "$bundle/COMMIT" 2>/dev/null || git rev-parse HEAD 2>/dev/null || echo unknown)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv 2>&1
  command -v nvcc >/dev/null && nvcc --version | tail -2
} > "$out/device.txt"
cat "$out/device.txt"

status=0
rows=()
# gpu_arith: the field and curve arithmetic's PTX paths; gpu_ntt: the NTT and quotient;
# kernel_ntt: the host simulation of the same kernels (cheap, and it tells a broken bundle
# from a broken GPU).
for t in gpu_arith gpu_ntt kernel_ntt; do
  exe="$bundle/tests/$t"
  if [ ! -x "$exe" ]; then
    rows+=("| $t | missing: $exe (run gpu-bundle here first) |")
    status=1
    continue
  fi
  start=$(date +%s)
  # Time limits keep the whole script under 500 s, inside one 540 s device call.
  limit=60
  [ "$t" = gpu_ntt ] && limit=200
  timeout "$limit" "$exe" --test-threads 4 --nocapture > "$out/test-$t.log" 2>&1
  rc=$?
  summary=$(grep -E "^test result" "$out/test-$t.log" | tail -1)
  [ "$rc" -eq 124 ] && summary="timed out after ${limit} s"
  rows+=("| $t | rc $rc, $(( $(date +%s) - start )) s: ${summary:-no summary (see test-$t.log)} |")
  [ "$rc" -eq 0 ] || status=1
  grep -E "FAILED|panicked" "$out/test-$t.log" | head -20
done

if [ "${SPICE_GPU_CHECK_BENCH:-1}" = 1 ]; then
  exe="$bundle/benches/ntt"
  if [ -x "$exe" ]; then
    SPICE_BENCH_GPU_ONLY=1 timeout 180 "$exe" --bench > "$out/bench-ntt.log" 2>&1
    rc=$?
    rows+=("| bench ntt | rc $rc (full output: bench-ntt.log) |")
    [ "$rc" -eq 0 ] || status=1
  else
    rows+=("| bench ntt | missing: $exe |")
    status=1
  fi
fi

echo
echo "== gpu-check: $(sed -n 4p "$out/device.txt"), $(sed -n 2p "$out/device.txt")"
printf '%s\n' "${rows[@]}"
if [ -f "$out/bench-ntt.log" ]; then
  grep -E "^gpu ntt" "$out/bench-ntt.log"
  grep -E "^\|" "$out/bench-ntt.log"
fi
exit "$status"
