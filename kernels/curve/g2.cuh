// BLS12-381 G2: y^2 = x^3 + 4(1 + u) over Fq2 (the M-type sextic twist).
#pragma once

#include "../field/fq2.cuh"
#include "sw_curve.cuh"

namespace spice {

struct g2_params {
    using field = fq2_t;
    // b' = 4 + 4u: both coefficients are 4 in Montgomery form, as in g1_params::b().
    SPICE_HD static fq2_t b() {
        fq_t four = {{0xaa270000000cfff3ULL, 0x53cc0032fc34000aULL, 0x478fe97a6b0a807fULL,
                      0xb1d37ebee6ba24d7ULL, 0x8ec9733bbf78ab2fULL, 0x09d645513d83de7eULL}};
        return {four, four};
    }
};

using g2_affine_t = affine_t<g2_params>;
using g2_jacobian_t = jacobian_t<g2_params>;
using g2_xyzz_t = xyzz_t<g2_params>;

}  // namespace spice
