#!/usr/bin/env bash
# The GPU check of issues 3 and 4 (NTT, MSM, whole prover), for the device machine. It needs no Rust toolchain: it runs the
# test and bench executables built here by ../shared/scripts/gpu-bundle (see the README's
# CUDA section) from .gpu-bundle/, with SPICE_REQUIRE_GPU=1 so that a missing or broken GPU
# fails instead of skipping. Logs go to $OUT (or ./gpu-check-out); the last lines printed are
# a short table: each test executable's result, then each benchmark's rows.
#
#   bash scripts/gpu-check.sh                 # tests, then the benchmarks
#   SPICE_GPU_CHECK_BENCH=0 bash scripts/gpu-check.sh       # tests only
#   SPICE_GPU_CHECK_TESTS=0 bash scripts/gpu-check.sh       # benchmarks only
#   SPICE_GPU_CHECK_BENCHES="msm prove" bash ...            # a subset of ntt msm prove
#
# One device call is at most 600 s: the tests take up to ~400 s and the three benchmarks up
# to ~420 s, so a first call runs the tests and the NTT benchmark, a second the others.
#
# Exit status: 0 when every test passed and every benchmark ran.
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
# gpu_witness_map: the rows of a loaded shape evaluated on the device, and its proofs;
# gpu_msm: the MSMs and the whole proof on the GPU; gpu_lanes: several proofs in flight on
# one device; kernel_ntt, kernel_msm: the host simulation of the same kernels (cheap, and
# they tell a broken bundle from a broken GPU).
tests="gpu_arith gpu_ntt gpu_witness_map gpu_msm gpu_lanes kernel_ntt kernel_msm"
[ "${SPICE_GPU_CHECK_TESTS:-1}" = 1 ] || tests=""
for t in $tests; do
  exe="$bundle/tests/$t"
  if [ ! -x "$exe" ]; then
    rows+=("| $t | missing: $exe (run gpu-bundle here first) |")
    status=1
    continue
  fi
  start=$(date +%s)
  # Time limits keep each half (tests; benchmarks) inside one device call.
  limit=60
  [ "$t" = gpu_ntt ] && limit=150
  [ "$t" = gpu_msm ] && limit=150
  timeout "$limit" "$exe" --test-threads 4 --nocapture > "$out/test-$t.log" 2>&1
  rc=$?
  summary=$(grep -E "^test result" "$out/test-$t.log" | tail -1)
  [ "$rc" -eq 124 ] && summary="timed out after ${limit} s"
  rows+=("| $t | rc $rc, $(( $(date +%s) - start )) s: ${summary:-no summary (see test-$t.log)} |")
  [ "$rc" -eq 0 ] || status=1
  grep -E "FAILED|panicked" "$out/test-$t.log" | head -20
done

benches=${SPICE_GPU_CHECK_BENCHES:-ntt msm prove}
[ "${SPICE_GPU_CHECK_BENCH:-1}" = 1 ] || benches=""
for b in $benches; do
  exe="$bundle/benches/$b"
  if [ ! -x "$exe" ]; then
    rows+=("| bench $b | missing: $exe |")
    status=1
    continue
  fi
  start=$(date +%s)
  # prove: 2^16..2^20 by default here (2^22's key setup alone takes minutes on 16 cores).
  SPICE_BENCH_GPU_ONLY=1 SPICE_BENCH_PROVE_LOGS=${SPICE_BENCH_PROVE_LOGS:-16,18,20} \
    timeout 150 "$exe" --bench > "$out/bench-$b.log" 2>&1
  rc=$?
  rows+=("| bench $b | rc $rc, $(( $(date +%s) - start )) s (full output: bench-$b.log) |")
  [ "$rc" -eq 0 ] || status=1
done

echo
echo "== gpu-check: $(sed -n 4p "$out/device.txt"), $(sed -n 2p "$out/device.txt")"
printf '%s\n' "${rows[@]}"
for b in ntt msm prove; do
  [ -f "$out/bench-$b.log" ] || continue
  grep -E "^gpu (ntt|msm|prove)" "$out/bench-$b.log"
  grep -E "^\|" "$out/bench-$b.log"
done
exit "$status"
