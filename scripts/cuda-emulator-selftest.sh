#!/usr/bin/env bash
# Checks that the CPU emulation of the CUDA driver catches what it is for.
# 1. It reads each kernel's registers, stack and static shared memory from the sm_90 cubin as
#    cuobjdump -res-usage does, for every kernel of every fatbin the cuda build made (under
#    target/release/build/spice-*/out): the launch checks rest on these numbers.
# 2. A block kernel that lost a barrier fails: it builds the emulator once more from a copy of
#    kernels/ whose NTT pass has no __syncthreads between its stages, and runs GPU_NTT_TEST
#    (the gpu_ntt test executable) on the small sizes against it (must fail on a wrong result)
#    and against a build of the real kernels (must pass).
# 3. ThreadSanitizer reports that mutant's race itself, in the NTT's stage, whatever the thread
#    order: the same mutant built with SPICE_CUDA_EMULATOR_SANITIZE=thread must exit 66 with a
#    data race in kernels/ntt/. (The real kernels under it are CI's to run.)
#   scripts/cuda-emulator-selftest.sh GPU_NTT_TEST
set -euo pipefail
cd "$(dirname "$0")/.."
test_bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tests" "$work/scripts"
cp -r kernels "$work/"
cp -r tests/cuda_emulator "$work/tests/"
cp scripts/cuda-emulator.sh scripts/with-cuda-emulator.sh "$work/scripts/"
SPICE_CUDA_EMULATOR_SANITIZE= bash "$work/scripts/cuda-emulator.sh" "$work/real" > /dev/null

command -v cuobjdump > /dev/null || { echo "cuda-emulator selftest: needs cuobjdump (the CUDA toolkit's)" >&2; exit 1; }
shopt -s nullglob
fatbins=(target/release/build/spice-*/out/*.fatbin)
shopt -u nullglob
[ "${#fatbins[@]}" -ge 6 ] || { echo "cuda-emulator selftest: found ${#fatbins[@]} fatbins under target/release/build; build --features cuda first" >&2; exit 1; }
kernels=0
for f in "${fatbins[@]}"; do
  "$work/real/kernel-resources" "$f" | awk '{print $2, $3, $4, $5}' | sort > "$work/ours.txt"
  cuobjdump -res-usage -arch sm_90 "$f" \
    | awk '/^ Function / {name = $2; sub(/:$/, "", name)} /^  REG:/ {print name, $1, $2, $3}' | sort > "$work/cuobjdump.txt"
  if ! diff "$work/cuobjdump.txt" "$work/ours.txt" > "$work/diff.txt"; then
    echo "cuda-emulator selftest: $f: the emulator's reading of the cubin differs from cuobjdump's (< cuobjdump, > emulator):" >&2
    cat "$work/diff.txt" >&2
    exit 1
  fi
  [ -s "$work/ours.txt" ] || { echo "cuda-emulator selftest: $f: no kernel read" >&2; exit 1; }
  kernels=$((kernels + $(wc -l < "$work/ours.txt")))
done
echo "cuda-emulator selftest: registers, stack and shared memory of $kernels kernels in ${#fatbins[@]} fatbins read as cuobjdump reads them"
python3 - "$work/kernels/ntt.cu" <<'PY'
import sys
path = sys.argv[1]
src = open(path).read()
stage = "ntt::stage_phase(p, stage, blockIdx.x, threadIdx.x, tile);\n        __syncthreads();"
assert stage in src, "kernels/ntt.cu's stage loop changed: update the selftest's mutation"
open(path, "w").write(src.replace(stage, "ntt::stage_phase(p, stage, blockIdx.x, threadIdx.x, tile);"))
PY
SPICE_CUDA_EMULATOR_SANITIZE= bash "$work/scripts/cuda-emulator.sh" "$work/out" > /dev/null
SPICE_CUDA_EMULATOR_SANITIZE=thread bash "$work/scripts/cuda-emulator.sh" "$work/out-thread" > /dev/null
on() { bash "$work/scripts/with-cuda-emulator.sh" "$@"; }
small=gpu_ntt_matches_cpu_on_random_inputs_at_every_small_size
if on "$work/out" "$test_bin" --exact "$small" > "$work/mutant.log" 2>&1; then
  echo "cuda-emulator selftest: an NTT pass without its barrier passed $small" >&2
  exit 1
fi
grep -q "assertion .* failed" "$work/mutant.log" || { cat "$work/mutant.log" >&2; echo "cuda-emulator selftest: the mutant failed, but not on a wrong result" >&2; exit 1; }
on "$work/real" "$test_bin" --exact "$small" > "$work/real.log" 2>&1 || { cat "$work/real.log" >&2; exit 1; }
set +e
on "$work/out-thread" "$test_bin" --exact "$small" --test-threads 1 > "$work/mutant-thread.log" 2>&1
rc=$?
set -e
if [ "$rc" -ne 66 ] || ! grep -A4 "WARNING: ThreadSanitizer: data race" "$work/mutant-thread.log" | grep -q "kernels/ntt/"; then
  tail -40 "$work/mutant-thread.log" >&2
  echo "cuda-emulator selftest: ThreadSanitizer did not report the mutant's race in kernels/ntt/ (exit status $rc)" >&2
  exit 1
fi
echo "cuda-emulator selftest: a missing barrier fails $small, and ThreadSanitizer reports its race; the real kernels pass it"
