#!/usr/bin/env bash
# Runs a command (a gpu_* test executable) on the CPU emulation of the CUDA driver built in DIR
# by scripts/cuda-emulator.sh, with SPICE_REQUIRE_GPU=1 so that a test that cannot open it
# fails. A build with a sanitizer (DIR/sanitize, written by the build) gets its runtime
# preloaded into the process, which the Rust test executable does not link:
#   address: AddressSanitizer stops a kernel or a launch that leaves its buffer or its shared
#            memory (about 3x slower);
#   thread:  ThreadSanitizer reports two threads of a launch that touch the same word without a
#            barrier or an atomic between them, one of them writing (exit status 66; 5 to 10x
#            slower). Give the test executable --test-threads 1: the Rust side is not
#            instrumented, so what orders two test threads' host buffers is invisible to it.
#   scripts/with-cuda-emulator.sh DIR COMMAND [ARGS...]
set -euo pipefail
dir=$(cd "$1" && pwd)
shift
[ -f "$dir/libcuda.so" ] || { echo "with-cuda-emulator: no libcuda.so in $dir (run scripts/cuda-emulator.sh $dir)" >&2; exit 2; }
sanitize=$(cat "$dir/sanitize" 2>/dev/null || true)
export LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" SPICE_REQUIRE_GPU=1
case "$sanitize" in
  "") ;;
  address)
    export LD_PRELOAD="$(${CXX:-g++} -print-file-name=libasan.so)" ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
    ;;
  thread)
    # Interceptors (malloc, memcpy) called from the Rust side are not checked: its accesses
    # are invisible, so checking them would only report what it cannot see ordered.
    export LD_PRELOAD="$(${CXX:-g++} -print-file-name=libtsan.so)" \
      TSAN_OPTIONS=${TSAN_OPTIONS:-ignore_noninstrumented_modules=1 halt_on_error=1 exitcode=66}
    ;;
  *) echo "with-cuda-emulator: $dir was built with SPICE_CUDA_EMULATOR_SANITIZE=$sanitize, which this script does not know" >&2; exit 2 ;;
esac
exec "$@"
