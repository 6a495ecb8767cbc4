#!/usr/bin/env bash
# The GPU check of issues 3 and 4 (NTT, MSM, whole prover), for the device machine. It needs
# no Rust toolchain: it runs the test and bench executables built here by
# ../shared/scripts/gpu-bundle (see the README's CUDA section) from .gpu-bundle/, with
# SPICE_REQUIRE_GPU=1 so that a missing or broken GPU fails instead of skipping.
#
#   bash scripts/gpu-check.sh                                  # every step, most telling first
#   SPICE_GPU_CHECK_STEPS="bench:prove gpu_lanes" bash ...     # only these (the rerun line)
#   SPICE_GPU_CHECK_BUDGET_S=300 bash ...                      # a shorter call
#
# A session has 15 minutes of device time in all, the machine's start (a minute or two)
# included, so the whole check is one call: the steps run in order of what they tell us
# (arithmetic, NTT, MSM, their benchmarks, then the rest), each under its own time limit cut
# to what is left of SPICE_GPU_CHECK_BUDGET_S (default 500 s, for run(timeout_s=560)). Steps
# the budget leaves out are listed as skipped, with the line that runs just them on the warm
# machine in a second call. A step is `NAME[:LIMIT_S]` for tests/NAME, `bench:NAME[:LIMIT_S]`
# for benches/NAME.
#
# $OUT (or ./gpu-check-out) gets at most 8 files, the most the device tool brings back:
# device.txt, tests.log (every test executable's output, appended as each finishes),
# bench-{arith,ntt,msm,prove}.log, summary.txt. The last lines printed are the summary: a row per
# step, then each benchmark's result rows.
#
# Exit status: 0 when every step ran and passed.
set -uo pipefail
cd "$(dirname "$0")/.."
bundle=${SPICE_GPU_BUNDLE:-.gpu-bundle}
out=${OUT:-gpu-check-out}
budget=${SPICE_GPU_CHECK_BUDGET_S:-500}
# A step given less than this is skipped rather than started: it could not finish.
min_step=${SPICE_GPU_CHECK_MIN_STEP_S:-20}
# gpu_arith: the field and curve arithmetic's PTX paths; bench:arith: the same arithmetic
# raced against sppark's, operation by operation (seconds); gpu_ntt: the NTT and quotient;
# gpu_msm: the MSMs and the whole proof on the GPU; gpu_witness_map: the rows of a loaded
# shape evaluated on the device, and its proofs; gpu_lanes: several proofs in flight on one
# device; kernel_ntt, kernel_msm: the host simulation of the same kernels (they tell a broken
# bundle from a broken GPU). prove: 2^16..2^20 by default (2^22's key setup alone takes
# minutes on 16 cores).
default_steps="gpu_arith:60 bench:arith:60 gpu_ntt:150 gpu_msm:150 bench:ntt:120 bench:msm:150 gpu_witness_map:60 gpu_lanes:60 bench:prove:150 kernel_ntt:60 kernel_msm:60"
steps=${SPICE_GPU_CHECK_STEPS:-$default_steps}
case "$budget" in '' | *[!0-9]*)
  echo "gpu-check: SPICE_GPU_CHECK_BUDGET_S must be a whole number of seconds, not '$budget'" >&2
  exit 2
  ;;
esac

mkdir -p "$out"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export SPICE_REQUIRE_GPU=1 RUST_BACKTRACE=1
: > "$out/tests.log"

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(cat "$bundle/COMMIT" 2>/dev/null || git rev-parse HEAD 2>/dev/null || echo unknown)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv 2>&1
  command -v nvcc >/dev/null && nvcc --version | tail -2
} > "$out/device.txt"
cat "$out/device.txt"

status=0
rows=()
skipped=()
start_all=$SECONDS
for step in $steps; do
  kind=test
  spec=$step
  case "$spec" in bench:*) kind=bench; spec=${spec#bench:} ;; esac
  name=${spec%%:*}
  limit=150
  [ "$name" = "$spec" ] || limit=${spec#*:}
  case "$limit" in '' | *[!0-9]*)
    rows+=("| $step | bad step: its limit must be whole seconds |")
    status=1
    continue
    ;;
  esac
  left=$((budget - (SECONDS - start_all)))
  if [ "$left" -lt "$min_step" ]; then
    rows+=("| $step | skipped: ${left} s of the ${budget} s budget left |")
    skipped+=("$step")
    status=1
    continue
  fi
  [ "$limit" -le "$left" ] || limit=$left
  if [ "$kind" = test ]; then exe="$bundle/tests/$name"; else exe="$bundle/benches/$name"; fi
  if [ ! -x "$exe" ]; then
    rows+=("| $step | missing: $exe (run gpu-bundle here first) |")
    status=1
    continue
  fi
  echo "== gpu-check [$((SECONDS - start_all)) s]: $step, limit ${limit} s"
  began=$SECONDS
  if [ "$kind" = test ]; then
    log="$scratch/$name.log"
    timeout "$limit" "$exe" --test-threads 4 --nocapture > "$log" 2>&1
    rc=$?
    summary=$(grep -E "^test result" "$log" | tail -1)
    { echo "===== $name (rc $rc)"; cat "$log"; } >> "$out/tests.log"
    grep -E "FAILED|panicked" "$log" | head -20
  else
    log="$out/bench-$name.log"
    SPICE_BENCH_GPU_ONLY=1 SPICE_BENCH_PROVE_LOGS=${SPICE_BENCH_PROVE_LOGS:-16,18,20} \
      timeout "$limit" "$exe" --bench > "$log" 2>&1
    rc=$?
    summary="output in bench-$name.log"
  fi
  [ "$rc" -eq 124 ] && summary="timed out after ${limit} s (what it printed is in the log)"
  rows+=("| $step | rc $rc, $((SECONDS - began)) s: ${summary:-no summary (see tests.log)} |")
  [ "$rc" -eq 0 ] || status=1
done

{
  echo "== gpu-check: $(sed -n 4p "$out/device.txt"), $(sed -n 2p "$out/device.txt"), $((SECONDS - start_all)) s"
  printf '%s\n' "${rows[@]}"
  if [ "${#skipped[@]}" -gt 0 ]; then
    echo "rerun the skipped steps: SPICE_GPU_CHECK_STEPS=\"${skipped[*]}\" bash scripts/gpu-check.sh"
  fi
  for b in arith ntt msm prove; do
    [ -f "$out/bench-$b.log" ] || continue
    grep -E "^(gpu (ntt|msm|prove)|arith race)" "$out/bench-$b.log"
    grep -E "^\|" "$out/bench-$b.log"
  done
} > "$out/summary.txt"
echo
cat "$out/summary.txt"
exit "$status"
