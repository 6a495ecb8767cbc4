// The CUDA language as far as kernels/*.cu use it, for a host C++ compiler: the emulator
// (tests/cuda_emulator/driver.cpp) compiles each kernel file with this header forced in
// (`-include`), so the kernels it runs are the same sources nvcc compiles, with the host paths
// of the arithmetic headers (the ones tests/kernel_*.rs check against arkworks).
//
// Built-in variables are per OS thread and set by the scheduler for each emulated thread it
// switches to; __syncthreads suspends the emulated thread until its whole block has arrived.
#pragma once

#include <stdint.h>

#ifdef __CUDACC__
#error "cuda_lang.hpp is for a host compiler; nvcc has the real thing"
#endif

#define SPICE_CUDA_EMULATOR 1

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __restrict__ __restrict

struct uint3 {
    unsigned x, y, z;
};
struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};

struct spice_emulator_builtins {
    uint3 thread_index;
    uint3 block_index;
    dim3 block_dim;
    dim3 grid_dim;
};
extern thread_local spice_emulator_builtins spice_emulator_current;
#if defined(__SANITIZE_THREAD__)
// Under ThreadSanitizer each emulated thread is a fiber of its own, but the built-ins belong to
// the OS thread and the scheduler rewrites them between fibers: kernels read them through a
// function ThreadSanitizer does not instrument, so those writes are not reported as races.
spice_emulator_builtins spice_emulator_builtins_now();
#define threadIdx (spice_emulator_builtins_now().thread_index)
#define blockIdx (spice_emulator_builtins_now().block_index)
#define blockDim (spice_emulator_builtins_now().block_dim)
#define gridDim (spice_emulator_builtins_now().grid_dim)
#else
#define threadIdx (spice_emulator_current.thread_index)
#define blockIdx (spice_emulator_current.block_index)
#define blockDim (spice_emulator_current.block_dim)
#define gridDim (spice_emulator_current.grid_dim)
#endif

// Waits until every thread of the block that has not returned has called it. Only kernels
// the emulator's registry marks as block kernels may call it (it aborts otherwise).
void __syncthreads();

// The block's dynamic shared memory (see kernels/dynamic_shared.cuh): an allocation of exactly
// the launch's size, filled with a pattern, as the hardware's is left uninitialised.
void* spice_emulator_dynamic_shared();

// Blocks run on several OS threads, so atomics are real ones.
inline unsigned atomicMin(unsigned* address, unsigned value) {
    unsigned old = __atomic_load_n(address, __ATOMIC_RELAXED);
    while (value < old && !__atomic_compare_exchange_n(address, &old, value, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    return old;
}
inline unsigned atomicAdd(unsigned* address, unsigned value) {
    return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
}
inline unsigned long long atomicAdd(unsigned long long* address, unsigned long long value) {
    return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
}
