#!/usr/bin/env bash
# Our field and G1 arithmetic against sppark's, instruction for instruction: one kernel per
# operation (load two elements, apply it once, store), built by the same nvcc for the same GPU
# from our headers and from sppark's (the version in Cargo.lock), and the SASS instructions of
# each counted. A static comparison, no GPU needed: for arithmetic-bound kernels (the MSM's
# point additions, the NTT's butterflies) instructions are what becomes time, and a ratio from
# one compiler in one run does not drift with the toolchain the way an absolute count does.
#
# Static counts include branches that rarely run (the doubling inside a mixed addition), so
# they measure code size as much as the common path; the common path of both libraries' mixed
# addition is the same formula (8M + 2S).
#
# sppark spreads an Fq2 element over two lanes of a warp (each holds one Fq coordinate and they
# trade halves by shuffles), so its per-lane count is half of what one element costs; the
# table compares per element, i.e. against twice sppark's count for those kernels.
#
#   scripts/sass-vs-sppark.sh [-a sm_90] [-m MAX_RATIO]
#
# Prints a table; fails when one of our multiplications or mixed additions takes more than
# MAX_RATIO (default 1.10) times sppark's instructions an element.
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
#include "curve/g1.cuh"
#include "field/fq2.cuh"
#include "field/fr.cuh"
using namespace spice;
extern "C" __global__ void fr_mul(fr_t* a, const fr_t* b) { a[threadIdx.x] = a[threadIdx.x] * b[threadIdx.x]; }
extern "C" __global__ void fq_mul(fq_t* a, const fq_t* b) { a[threadIdx.x] = a[threadIdx.x] * b[threadIdx.x]; }
extern "C" __global__ void fr_add(fr_t* a, const fr_t* b) { a[threadIdx.x] = a[threadIdx.x] + b[threadIdx.x]; }
extern "C" __global__ void fq_add(fq_t* a, const fq_t* b) { a[threadIdx.x] = a[threadIdx.x] + b[threadIdx.x]; }
extern "C" __global__ void fr_sub(fr_t* a, const fr_t* b) { a[threadIdx.x] = a[threadIdx.x] - b[threadIdx.x]; }
extern "C" __global__ void fr_sqr(fr_t* a, const fr_t*) { a[threadIdx.x] = a[threadIdx.x].sqr(); }
extern "C" __global__ void fq_sqr(fq_t* a, const fq_t*) { a[threadIdx.x] = a[threadIdx.x].sqr(); }
extern "C" __global__ void fq2_mul(fq2_t* a, const fq2_t* b) { a[threadIdx.x] = a[threadIdx.x] * b[threadIdx.x]; }
extern "C" __global__ void fq2_sqr(fq2_t* a, const fq2_t*) { a[threadIdx.x] = a[threadIdx.x].sqr(); }
extern "C" __global__ void g1_madd(g1_xyzz_t* a, const g1_affine_t* b) { a[threadIdx.x] = a[threadIdx.x].add_affine(b[threadIdx.x]); }
extern "C" __global__ void g1_add(g1_xyzz_t* a, const g1_xyzz_t* b) { a[threadIdx.x] = a[threadIdx.x] + b[threadIdx.x]; }
CU
# fp2_t's own sqr() is the member; the free sqr() would resolve to its Fq base class.
cat >"$dir/sppark.cu" <<'CU'
#include <ff/bls12-381-fp2.hpp>
#include <ec/xyzz_t.hpp>
typedef xyzz_t<fp_t> bucket_t;
typedef bucket_t::affine_t affine_t;
extern "C" __global__ void fr_mul(fr_t* a, const fr_t* b) { a[threadIdx.x] = a[threadIdx.x] * b[threadIdx.x]; }
extern "C" __global__ void fq_mul(fp_t* a, const fp_t* b) { a[threadIdx.x] = a[threadIdx.x] * b[threadIdx.x]; }
extern "C" __global__ void fr_add(fr_t* a, const fr_t* b) { a[threadIdx.x] = a[threadIdx.x] + b[threadIdx.x]; }
extern "C" __global__ void fq_add(fp_t* a, const fp_t* b) { a[threadIdx.x] = a[threadIdx.x] + b[threadIdx.x]; }
extern "C" __global__ void fr_sub(fr_t* a, const fr_t* b) { a[threadIdx.x] = a[threadIdx.x] - b[threadIdx.x]; }
extern "C" __global__ void fr_sqr(fr_t* a, const fr_t*) { a[threadIdx.x] = sqr(a[threadIdx.x]); }
extern "C" __global__ void fq_sqr(fp_t* a, const fp_t*) { a[threadIdx.x] = sqr(a[threadIdx.x]); }
extern "C" __global__ void fq2_mul(fp2_t* a, const fp2_t* b) { a[threadIdx.x] = a[threadIdx.x] * b[threadIdx.x]; }
extern "C" __global__ void fq2_sqr(fp2_t* a, const fp2_t*) { fp2_t x = a[threadIdx.x]; x.sqr(); a[threadIdx.x] = x; }
extern "C" __global__ void g1_madd(bucket_t* a, const affine_t* b) { bucket_t p = a[threadIdx.x]; p.add(b[threadIdx.x]); a[threadIdx.x] = p; }
extern "C" __global__ void g1_add(bucket_t* a, const bucket_t* b) { bucket_t p = a[threadIdx.x]; p.add(b[threadIdx.x]); a[threadIdx.x] = p; }
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
echo "| kernel | ours | sppark (lanes an element) | ours/sppark an element |"
echo "|---|---|---|---|"
join "$dir/ours.txt" "$dir/sppark.txt" | awk -v max="$max_ratio" '
  { lanes = $1 ~ /^fq2_/ ? 2 : 1; r = $2 / ($3 * lanes)
    printf "| %s | %d | %d (%d) | %.2f |\n", $1, $2, $3, lanes, r
    if ($1 ~ /_(mul|madd)$/ && r > max) { worse = worse " " $1 } }
  END { if (NR < 11) { print "expected 11 kernels on both sides, joined " NR; exit 1 }
        if (worse != "") { printf "over %s times sppark:%s\n", max, worse; exit 1 } }'
