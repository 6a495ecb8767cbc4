#!/usr/bin/env bash
# Checks that the carry flag threads through the PTX of every kernel exactly as our asm wrote
# it (kernels/field/carry_chain.cuh explains why this is the one thing to check):
#   * no instruction outside our inline asm reads or writes the carry flag (the front end
#     would emit such instructions for 128-bit integer arithmetic, between our statements);
#   * inside it, every instruction that reads the carry (addc, subc, madc) comes after one that
#     wrote it (a `.cc` instruction), with no label, branch or call in between and no
#     carry-ending instruction (a reader without `.cc`) since.
# Needs nvcc, no GPU. Generates PTX for each architecture that build.rs embeds PTX or SASS for.
#
#   scripts/ptx-carry-lint.sh [kernels/FILE.cu ...]   (default: every kernels/*.cu)
#   scripts/ptx-carry-lint.sh --selftest   (the lint fails on two broken chains, passes a sound one)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nvcc >/dev/null || { echo "$0: nvcc is not on PATH" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
archs=(compute_70 compute_80 compute_90)

if [ "${1:-}" = "--selftest" ]; then
  mkdir "$dir/cases"
  # 128-bit arithmetic: the front end's own carry instructions.
  cat >"$dir/cases/wide.cu" <<'CU'
extern "C" __global__ void k(unsigned __int128* a) { a[threadIdx.x] += a[threadIdx.x + 1]; }
CU
  # A chain read again after the instruction that ended it.
  cat >"$dir/cases/reread.cu" <<'CU'
#include <stdint.h>
extern "C" __global__ void k(uint32_t* a) {
    uint32_t x = a[0], y = a[1];
    asm volatile("add.cc.u32 %0, %0, %1;" : "+r"(x) : "r"(y));
    asm volatile("addc.u32 %0, %0, %1;" : "+r"(x) : "r"(y));
    asm volatile("addc.u32 %0, %0, %1;" : "+r"(y) : "r"(x));
    a[0] = x; a[1] = y;
}
CU
  cat >"$dir/cases/sound.cu" <<'CU'
#include <stdint.h>
extern "C" __global__ void k(uint32_t* a) {
    uint32_t x = a[0], y = a[1];
    asm volatile("add.cc.u32 %0, %0, %1;" : "+r"(x) : "r"(y));
    asm volatile("addc.u32 %0, %0, %1;" : "+r"(y) : "r"(x));
    a[0] = x; a[1] = y;
}
CU
  self="$0"
  for c in wide reread; do
    if "$self" "$dir/cases/$c.cu" >"$dir/$c.log" 2>&1; then
      echo "$0 --selftest: the lint passed $c.cu, which breaks a carry chain" >&2; exit 1
    fi
  done
  "$self" "$dir/cases/sound.cu" >"$dir/sound.log" 2>&1 || {
    cat "$dir/sound.log" >&2; echo "$0 --selftest: the lint failed a sound chain" >&2; exit 1; }
  echo "ptx-carry-lint selftest: fails 128-bit arithmetic and a re-read carry, passes a sound chain"
  exit 0
fi

files=("$@")
[ ${#files[@]} -gt 0 ] || files=(kernels/*.cu)
pids=()
for f in "${files[@]}"; do
  for a in "${archs[@]}"; do
    nvcc -ptx -std=c++17 -O3 -Ikernels -arch="$a" ${NVCC_CCBIN:+-ccbin "$NVCC_CCBIN"} \
      "$f" -o "$dir/$(basename "$f" .cu).$a.ptx" &
    pids+=($!)
  done
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
[ $status -eq 0 ] || { echo "$0: nvcc failed" >&2; exit 1; }
fail=0
for ptx in "$dir"/*.ptx; do
  if ! awk -v name="$(basename "$ptx")" '
    function bad(why) { printf "%s:%d: %s: %s\n", name, FNR, why, $0; errors++ }
    /\/\/ begin inline asm/ { inasm = 1; next }
    /\/\/ end inline asm/ { inasm = 0; next }
    { sub(/\/\/.*/, "") }
    /^[ \t]*$/ { next }
    # A label, a branch, a call, a return or a function boundary ends straight-line code.
    /^[ \t]*[$A-Za-z0-9_]+:/ || /(^|[ \t;{}])(bra|call|ret|exit)(\.[a-z]+)*[ \t;]/ || /^[ \t]*[{}]/ || /\.entry|\.func/ {
      open = 0
    }
    {
      n = split($0, ins, ";")
      for (i = 1; i <= n; i++) {
        t = ins[i]; sub(/^[ \t{]+/, "", t)
        split(t, w, /[ \t]/); op = w[1]; sub(/^@!?%[a-z0-9]+$/, "", op)
        if (op == "" && w[2] != "") op = w[2]
        reads = (op ~ /^(addc|subc|madc)(\.|$)/)
        writes = (op ~ /\.cc(\.|$)/)
        if (!reads && !writes) continue
        if (!inasm) { bad("carry instruction outside our inline asm"); continue }
        if (reads && !open) bad("reads a carry that no instruction before it wrote")
        open = writes
      }
    }
    END { exit errors > 0 }
  ' "$ptx"; then
    fail=1
  fi
done
if [ $fail -ne 0 ]; then
  echo "$0: the carry flag does not thread through the kernels as written (see above)" >&2
  exit 1
fi
echo "ptx-carry-lint: ${#files[@]} files x ${#archs[@]} architectures: every carry chain intact"
