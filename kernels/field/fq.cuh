// The BLS12-381 base field Fq (p = 0x1a0111ea...ffffaaab, 381 bits): coordinates of G1, and
// the base of Fq2 for G2.
#pragma once

#include "mont.cuh"

namespace spice {

#ifdef __CUDACC__
// M0's low word in constant memory, as for Fr (fr.cuh says why).
static __constant__ uint32_t fq_m0_word = 0xfffcfffdu;
#endif

struct fq_params {
    static constexpr int N = 6;
    // -p^{-1} mod 2^64
    static constexpr uint64_t M0 = 0x89f3fffcfffcfffdULL;
    SPICE_HD static uint32_t m0_word() {
#ifdef __CUDA_ARCH__
        return fq_m0_word;
#else
        return (uint32_t)M0;
#endif
    }
    SPICE_HD static constexpr uint64_t p(int i) {
        constexpr uint64_t v[N] = {0xb9feffffffffaaabULL, 0x1eabfffeb153ffffULL,
                                   0x6730d2a0f6b0f624ULL, 0x64774b84f38512bfULL,
                                   0x4b1ba7b6434bacd7ULL, 0x1a0111ea397fe69aULL};
        return v[i];
    }
    // 2^384 mod p
    SPICE_HD static constexpr uint64_t one(int i) {
        constexpr uint64_t v[N] = {0x760900000002fffdULL, 0xebf4000bc40c0002ULL,
                                   0x5f48985753c758baULL, 0x77ce585370525745ULL,
                                   0x5c071a97a256ec6dULL, 0x15f65ec3fa80e493ULL};
        return v[i];
    }
    // 2^768 mod p
    SPICE_HD static constexpr uint64_t r2(int i) {
        constexpr uint64_t v[N] = {0xf4df1f341c341746ULL, 0x0a76e6a609d104f1ULL,
                                   0x8de5476c4c95b6d5ULL, 0x67eb88a9939d83c0ULL,
                                   0x9a793e85b519952dULL, 0x11988fe592cae3aaULL};
        return v[i];
    }
};

using fq_t = mont_t<fq_params>;

}  // namespace spice
