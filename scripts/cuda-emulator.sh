#!/usr/bin/env bash
# Builds the CPU emulation of the CUDA driver (tests/cuda_emulator/) as OUT/libcuda.so, for
# running the GPU tests on a machine without a GPU (and OUT/kernel-resources, which prints what
# it reads from a fatbin's sm_90 cubin):
#   scripts/cuda-emulator.sh [OUT]          (OUT defaults to target/cuda-emulator)
#   LD_LIBRARY_PATH=OUT cargo test --release --features cuda --test gpu_ntt
# The kernels are kernels/*.cu compiled by the host C++ compiler (CXX, default g++); the
# driver's declarations come from the toolkit's cuda.h (CUDA_PATH, else the system's).
# SPICE_CUDA_EMULATOR_SANITIZE=address or =thread builds everything with AddressSanitizer or
# ThreadSanitizer; scripts/with-cuda-emulator.sh OUT runs a test on it, preloading the runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/cuda-emulator}
cxx=${CXX:-g++}
mkdir -p "$out/obj"
flags=(-std=c++17 -O2 -g1 -fPIC -fvisibility=hidden -fvisibility-inlines-hidden -Wall -Wextra -Wno-unused-parameter -Werror)
if [ -n "${SPICE_CUDA_EMULATOR_SANITIZE:-}" ]; then
  flags+=("-fsanitize=$SPICE_CUDA_EMULATOR_SANITIZE" -fno-omit-frame-pointer)
fi
include=()
for dir in "${CUDA_PATH:-}" /usr/local/cuda /usr/lib/cuda; do
  if [ -n "$dir" ] && [ -f "$dir/include/cuda.h" ]; then include=(-I "$dir/include"); break; fi
done
src=tests/cuda_emulator
pids=()
objs=()
for f in "$src"/*.cpp; do
  obj="$out/obj/$(basename "${f%.cpp}").o"
  objs+=("$obj")
  extra=()
  case "$f" in
    */module_*) extra=(-include "$src/cuda_lang.hpp") ;;
  esac
  "$cxx" "${flags[@]}" "${include[@]}" "${extra[@]}" -c "$f" -o "$obj" &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
[ "$status" = 0 ] || { echo "cuda-emulator: a compile failed" >&2; exit 1; }
"$cxx" "${flags[@]}" -shared -Wl,-soname,libcuda.so -Wl,-Bsymbolic -o "$out/libcuda.so" "${objs[@]}" -lpthread
# What the emulator reads from a fatbin's cubin, printed (scripts/cuda-emulator-selftest.sh
# holds it to cuobjdump's reading).
"$cxx" "${flags[@]}" -o "$out/kernel-resources" "$src/tools/kernel_resources.cpp" "$out/obj/cubin.o"
# Which sanitizer runtime scripts/with-cuda-emulator.sh must preload.
echo "${SPICE_CUDA_EMULATOR_SANITIZE:-}" > "$out/sanitize"
echo "cuda-emulator: $out/libcuda.so, $out/kernel-resources"
