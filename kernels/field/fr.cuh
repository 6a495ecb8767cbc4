// The BLS12-381 scalar field Fr (r = 0x73eda753...00000001, 255 bits): the field of
// witnesses, MSM scalars and NTT values.
#pragma once

#include "mont.cuh"

namespace spice {

#ifdef __CUDACC__
// M0's low word, read from constant memory rather than folded into the code: ptxas turns a
// product by a known 0xffffffff into a negation, and the reduction's products then no longer
// fuse into wide multiply-adds (one Fr multiplication is 255 SASS instructions with the
// constant folded, 208 without; scripts/sass-vs-sppark.sh).
static __constant__ uint32_t fr_m0_word = 0xffffffffu;
#endif

struct fr_params {
    static constexpr int N = 4;
    // -r^{-1} mod 2^64
    static constexpr uint64_t M0 = 0xfffffffeffffffffULL;
    SPICE_HD static uint32_t m0_word() {
#ifdef __CUDA_ARCH__
        return fr_m0_word;
#else
        return (uint32_t)M0;
#endif
    }
    SPICE_HD static constexpr uint64_t p(int i) {
        constexpr uint64_t v[N] = {0xffffffff00000001ULL, 0x53bda402fffe5bfeULL,
                                   0x3339d80809a1d805ULL, 0x73eda753299d7d48ULL};
        return v[i];
    }
    // 2^256 mod r
    SPICE_HD static constexpr uint64_t one(int i) {
        constexpr uint64_t v[N] = {0x00000001fffffffeULL, 0x5884b7fa00034802ULL,
                                   0x998c4fefecbc4ff5ULL, 0x1824b159acc5056fULL};
        return v[i];
    }
    // 2^512 mod r
    SPICE_HD static constexpr uint64_t r2(int i) {
        constexpr uint64_t v[N] = {0xc999e990f3f29c6dULL, 0x2b6cedcb87925c23ULL,
                                   0x05d314967254398fULL, 0x0748d9d99f59ff11ULL};
        return v[i];
    }
};

using fr_t = mont_t<fr_params>;

}  // namespace spice
