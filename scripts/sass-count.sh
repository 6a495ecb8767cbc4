#!/usr/bin/env bash
# Compiles kernels for one GPU architecture and prints, per kernel, its registers and its SASS
# instruction count (padding NOPs left out): a static measurement that needs nvcc and cuobjdump
# but no GPU. Use it to compare two versions of the arithmetic (fewer instructions per field
# multiplication is what an arithmetic-bound kernel turns into time), never as a substitute for
# a timing on the device.
#
#   scripts/sass-count.sh [-a sm_90] [-o DIR] [kernels/FILE.cu ...]   (default: every kernels/*.cu)
#
# Prints `file kernel registers instructions`, one line a kernel, sorted by file.
set -euo pipefail
arch=sm_90
out=""
while getopts "a:o:" opt; do
  case $opt in
    a) arch=$OPTARG ;;
    o) out=$OPTARG ;;
    *) echo "usage: $0 [-a sm_NN] [-o DIR] [kernels/FILE.cu ...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
cd "$(dirname "$0")/.."
for tool in nvcc cuobjdump; do
  command -v "$tool" >/dev/null || { echo "$0: $tool is not on PATH" >&2; exit 1; }
done
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(kernels/*.cu)
dir=${out:-$(mktemp -d)}
mkdir -p "$dir"
pids=()
for f in "${files[@]}"; do
  stem=$(basename "$f" .cu)
  nvcc -cubin -std=c++17 -O3 -Ikernels -arch="$arch" ${NVCC_CCBIN:+-ccbin "$NVCC_CCBIN"} \
    "$f" -o "$dir/$stem.cubin" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
for f in "${files[@]}"; do
  stem=$(basename "$f" .cu)
  cuobjdump -sass "$dir/$stem.cubin" >"$dir/$stem.sass"
  cuobjdump -res-usage "$dir/$stem.cubin" 2>/dev/null >"$dir/$stem.res" || true
  awk -v file="$stem" '
    FNR == NR { if ($1 == "Function") { fn = $2; sub(/:$/, "", fn) }
                else if (fn != "" && $1 ~ /^REG:/) { r = $1; sub(/^REG:/, "", r); regs[fn] = r; fn = "" }
                next }
    /Function :/ { name = $3 }
    /^ +\/\*[0-9a-f]+\*\// && !/ NOP *;/ { count[name]++ }
    END { for (k in count) printf "%s %s %s %d\n", file, k, (k in regs ? regs[k] : "?"), count[k] }
  ' "$dir/$stem.res" "$dir/$stem.sass" | sort -k2
done
