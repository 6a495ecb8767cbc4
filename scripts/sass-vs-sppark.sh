#!/usr/bin/env bash
# Our field arithmetic against sppark's, instruction for instruction: one kernel per operation
# (load two elements, apply it once, store), built by the same nvcc for the same GPU from our
# headers and from sppark's (the version in Cargo.lock), and the SASS instructions of each
# counted. A static comparison, no GPU needed: for arithmetic-bound kernels (the MSM's point
# additions, the NTT's butterflies) instructions are what becomes time, and a ratio from one
# compiler in one run does not drift with the toolchain the way an absolute count does.
#
#   scripts/sass-vs-sppark.sh [-a sm_90] [-m MAX_RATIO]
#
# Prints a table; fails when one of our multiplications takes more than MAX_RATIO (default
# 1.10) times sppark's instructions.
set -euo pipefail
arch=sm_90
max_ratio=1.10
while getopts "a:m:" opt; do
  case $opt in
    a) arch=$OPTARG ;;
    m) max_ratio=$OPTARG ;;
    *) echo "usage: $0 [-a sm_NN] [-m MAX_RATIO]" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."
for tool in nvcc cuobjdump; do
  command -v "$tool" >/dev/null || { echo "$0: $tool is not on PATH" >&2; exit 1; }
done
# The crate sources cargo fetched for the versions in Cargo.lock.
crate_dir() {
  local version
  version=$(awk -v name="$1" '$1 == "name" && $3 == "\"" name "\"" { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
  [ -n "$version" ] || { echo "$0: $1 is not in Cargo.lock" >&2; exit 1; }
  local d
  for d in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"$1-$version"; do
    [ -d "$d" ] && { echo "$d"; return; }
  done
  echo "$0: $1 $version is not in cargo's registry (run cargo fetch)" >&2
  exit 1
}
sppark=$(crate_dir sppark)/sppark
blst=$(crate_dir blst)/blst/src
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

cat >"$dir/ours.cu" <<'CU'
#include "field/fq.cuh"
#include "field/fr.cuh"
using namespace spice;
extern "C" __global__ void fr_mul(fr_t* a, const fr_t* b) { a[threadIdx.x] = a[threadIdx.x] * b[threadIdx.x]; }
extern "C" __global__ void fq_mul(fq_t* a, const fq_t* b) { a[threadIdx.x] = a[threadIdx.x] * b[threadIdx.x]; }
extern "C" __global__ void fr_add(fr_t* a, const fr_t* b) { a[threadIdx.x] = a[threadIdx.x] + b[threadIdx.x]; }
extern "C" __global__ void fq_add(fq_t* a, const fq_t* b) { a[threadIdx.x] = a[threadIdx.x] + b[threadIdx.x]; }
extern "C" __global__ void fr_sub(fr_t* a, const fr_t* b) { a[threadIdx.x] = a[threadIdx.x] - b[threadIdx.x]; }
CU
cat >"$dir/sppark.cu" <<'CU'
#include <ff/bls12-381.hpp>
extern "C" __global__ void fr_mul(fr_t* a, const fr_t* b) { a[threadIdx.x] = a[threadIdx.x] * b[threadIdx.x]; }
extern "C" __global__ void fq_mul(fp_t* a, const fp_t* b) { a[threadIdx.x] = a[threadIdx.x] * b[threadIdx.x]; }
extern "C" __global__ void fr_add(fr_t* a, const fr_t* b) { a[threadIdx.x] = a[threadIdx.x] + b[threadIdx.x]; }
extern "C" __global__ void fq_add(fp_t* a, const fp_t* b) { a[threadIdx.x] = a[threadIdx.x] + b[threadIdx.x]; }
extern "C" __global__ void fr_sub(fr_t* a, const fr_t* b) { a[threadIdx.x] = a[threadIdx.x] - b[threadIdx.x]; }
CU
ccbin=(${NVCC_CCBIN:+-ccbin "$NVCC_CCBIN"})
nvcc -cubin -std=c++17 -O3 -arch="$arch" "${ccbin[@]}" -Ikernels "$dir/ours.cu" -o "$dir/ours.cubin" &
nvcc -cubin -std=c++17 -O3 -arch="$arch" "${ccbin[@]}" -DFEATURE_BLS12_381 -I"$sppark" -I"$blst" \
  "$dir/sppark.cu" -o "$dir/sppark.cubin" &
wait %1 && wait %2
count() {
  cuobjdump -sass "$1" | awk '/Function :/ { name = $3 } /^ +\/\*[0-9a-f]+\*\// && !/ NOP *;/ { n[name]++ }
    END { for (k in n) print k, n[k] }' | sort
}
count "$dir/ours.cubin" >"$dir/ours.txt"
count "$dir/sppark.cubin" >"$dir/sppark.txt"
echo "SASS instructions per kernel ($arch, $(nvcc --version | awk '/release/ { print $5, $6 }'))"
echo "| kernel | ours | sppark | ours/sppark |"
echo "|---|---|---|---|"
join "$dir/ours.txt" "$dir/sppark.txt" | awk -v max="$max_ratio" '
  { r = $2 / $3; printf "| %s | %d | %d | %.2f |\n", $1, $2, $3, r
    if ($1 ~ /_mul$/ && r > max) { worse = worse " " $1 } }
  END { if (worse != "") { printf "over %s times sppark:%s\n", max, worse; exit 1 } }'
