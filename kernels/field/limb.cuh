// Multi-precision primitives on little-endian 64-bit limbs (additions, subtractions, selects;
// the multiplication's 32-bit chains are in carry_chain.cuh): with that file, the only place
// where the device (PTX carry chains) and host (unsigned __int128) paths differ. Everything
// above these two files is written once and compiled for both, so the host build that the Rust
// tests exercise is the same algorithm the GPU runs; only these few primitives have two
// implementations, and each pair computes the same function (documented on each).
#pragma once

#include <stdint.h>

#ifdef __CUDACC__
#define SPICE_HD __host__ __device__ __forceinline__
#else
#define SPICE_HD inline
#endif

// For the few large operations that kernels call from many places (Fq2 products): one copy
// in the device code instead of one a call site. Inlining all of them makes the G2 MSM kernels
// hundreds of thousands of instructions, which ptxas takes tens of minutes to allocate.
#ifdef __CUDACC__
#define SPICE_HD_NOINLINE __host__ __device__ __noinline__
#else
#define SPICE_HD_NOINLINE inline
#endif

// Fixed-trip limb loops must unroll so limbs live in registers (and, on the device, so the
// constant functions of the field parameters fold to immediates). nvcc's host pass (the
// benchmark glue, kernels/bench/race_ours.cu, compiles these headers' host side too, and runs
// none of it) gets nothing: its front end rejects GCC's spelling and GCC rejects nvcc's.
#if defined(__CUDA_ARCH__) || (defined(__clang__) && !defined(__CUDACC__))
#define SPICE_UNROLL _Pragma("unroll")
#elif defined(__CUDACC__)
#define SPICE_UNROLL
#elif defined(__GNUC__)
#define SPICE_UNROLL _Pragma("GCC unroll 16")
#else
#define SPICE_UNROLL
#endif

// Long loops with heavy bodies (exponentiation) stay rolled: unrolling them multiplies code
// size (and ptxas time) for no gain.
#if defined(__CUDA_ARCH__) || (defined(__clang__) && !defined(__CUDACC__))
#define SPICE_NO_UNROLL _Pragma("unroll 1")
#elif defined(__CUDACC__)
#define SPICE_NO_UNROLL
#elif defined(__GNUC__)
#define SPICE_NO_UNROLL _Pragma("GCC unroll 1")
#else
#define SPICE_NO_UNROLL
#endif

namespace spice {

// r = a + b over N limbs; returns the carry out (0 or 1). r may alias a or b.
template <int N>
SPICE_HD uint64_t add_n(uint64_t r[N], const uint64_t a[N], const uint64_t b[N]) {
#ifdef __CUDA_ARCH__
    static_assert(N == 4 || N == 6, "write the PTX carry chain for this limb count");
    if constexpr (N == 4) {
        uint64_t c;
        asm("add.cc.u64  %0, %5, %9;\n\t"
            "addc.cc.u64 %1, %6, %10;\n\t"
            "addc.cc.u64 %2, %7, %11;\n\t"
            "addc.cc.u64 %3, %8, %12;\n\t"
            "addc.u64    %4, 0, 0;"
            : "=l"(r[0]), "=l"(r[1]), "=l"(r[2]), "=l"(r[3]), "=l"(c)
            : "l"(a[0]), "l"(a[1]), "l"(a[2]), "l"(a[3]),
              "l"(b[0]), "l"(b[1]), "l"(b[2]), "l"(b[3]));
        return c;
    } else {
        uint64_t c;
        asm("add.cc.u64  %0, %7, %13;\n\t"
            "addc.cc.u64 %1, %8, %14;\n\t"
            "addc.cc.u64 %2, %9, %15;\n\t"
            "addc.cc.u64 %3, %10, %16;\n\t"
            "addc.cc.u64 %4, %11, %17;\n\t"
            "addc.cc.u64 %5, %12, %18;\n\t"
            "addc.u64    %6, 0, 0;"
            : "=l"(r[0]), "=l"(r[1]), "=l"(r[2]), "=l"(r[3]), "=l"(r[4]), "=l"(r[5]), "=l"(c)
            : "l"(a[0]), "l"(a[1]), "l"(a[2]), "l"(a[3]), "l"(a[4]), "l"(a[5]),
              "l"(b[0]), "l"(b[1]), "l"(b[2]), "l"(b[3]), "l"(b[4]), "l"(b[5]));
        return c;
    }
#else
    uint64_t carry = 0;
    SPICE_UNROLL
    for (int i = 0; i < N; i++) {
        unsigned __int128 t = (unsigned __int128)a[i] + b[i] + carry;
        r[i] = (uint64_t)t;
        carry = (uint64_t)(t >> 64);
    }
    return carry;
#endif
}

// r = a - b over N limbs; returns the borrow out (0 or 1). r may alias a or b.
template <int N>
SPICE_HD uint64_t sub_n(uint64_t r[N], const uint64_t a[N], const uint64_t b[N]) {
#ifdef __CUDA_ARCH__
    static_assert(N == 4 || N == 6, "write the PTX carry chain for this limb count");
    if constexpr (N == 4) {
        uint64_t m;  // 0 - 0 - borrow: 0, or all ones after a borrow
        asm("sub.cc.u64  %0, %5, %9;\n\t"
            "subc.cc.u64 %1, %6, %10;\n\t"
            "subc.cc.u64 %2, %7, %11;\n\t"
            "subc.cc.u64 %3, %8, %12;\n\t"
            "subc.u64    %4, 0, 0;"
            : "=l"(r[0]), "=l"(r[1]), "=l"(r[2]), "=l"(r[3]), "=l"(m)
            : "l"(a[0]), "l"(a[1]), "l"(a[2]), "l"(a[3]),
              "l"(b[0]), "l"(b[1]), "l"(b[2]), "l"(b[3]));
        return m & 1;
    } else {
        uint64_t m;
        asm("sub.cc.u64  %0, %7, %13;\n\t"
            "subc.cc.u64 %1, %8, %14;\n\t"
            "subc.cc.u64 %2, %9, %15;\n\t"
            "subc.cc.u64 %3, %10, %16;\n\t"
            "subc.cc.u64 %4, %11, %17;\n\t"
            "subc.cc.u64 %5, %12, %18;\n\t"
            "subc.u64    %6, 0, 0;"
            : "=l"(r[0]), "=l"(r[1]), "=l"(r[2]), "=l"(r[3]), "=l"(r[4]), "=l"(r[5]), "=l"(m)
            : "l"(a[0]), "l"(a[1]), "l"(a[2]), "l"(a[3]), "l"(a[4]), "l"(a[5]),
              "l"(b[0]), "l"(b[1]), "l"(b[2]), "l"(b[3]), "l"(b[4]), "l"(b[5]));
        return m & 1;
    }
#else
    uint64_t borrow = 0;
    SPICE_UNROLL
    for (int i = 0; i < N; i++) {
        unsigned __int128 t = (unsigned __int128)a[i] - b[i] - borrow;
        r[i] = (uint64_t)t;
        borrow = (uint64_t)(t >> 64) & 1;  // the high half is all ones after a wrap
    }
    return borrow;
#endif
}

// r = mask ? a : b, limb-wise without a branch (mask is 0 or all ones), so threads of a warp
// never diverge on data-dependent reductions.
template <int N>
SPICE_HD void select_n(uint64_t r[N], uint64_t mask, const uint64_t a[N], const uint64_t b[N]) {
    SPICE_UNROLL
    for (int i = 0; i < N; i++) r[i] = b[i] ^ ((a[i] ^ b[i]) & mask);
}

}  // namespace spice
