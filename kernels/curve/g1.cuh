// BLS12-381 G1: y^2 = x^3 + 4 over Fq.
#pragma once

#include "../field/fq.cuh"
#include "sw_curve.cuh"

namespace spice {

struct g1_params {
    using field = fq_t;
    // b = 4, in Montgomery form (4 * 2^384 mod p).
    SPICE_HD static fq_t b() {
        return {{0xaa270000000cfff3ULL, 0x53cc0032fc34000aULL, 0x478fe97a6b0a807fULL,
                 0xb1d37ebee6ba24d7ULL, 0x8ec9733bbf78ab2fULL, 0x09d645513d83de7eULL}};
    }
};

using g1_affine_t = affine_t<g1_params>;
using g1_jacobian_t = jacobian_t<g1_params>;
using g1_xyzz_t = xyzz_t<g1_params>;

}  // namespace spice
