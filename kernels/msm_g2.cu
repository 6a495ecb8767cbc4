// G2 MSM kernels (bucket accumulation and reduction over Fq2); see msm/curve_kernels.cuh.
// An XYZZ point over Fq2 is 384 bytes (96 registers); the formulas do not fit 255 registers,
// so blocks are smaller (128 threads) and the compiler's spills are the GPU session's to
// measure (sppark splits an Fq2 point over cooperating threads instead).
#include <stdint.h>

#include "curve/g2.cuh"
#include "include/spice_layout.h"
#include "msm/curve_kernels.cuh"

static_assert(sizeof(spice::g2_affine_t) == sizeof(spice_g2_affine), "g2 affine layout");
static_assert(sizeof(spice::g2_xyzz_t) == sizeof(spice_g2_xyzz), "g2 xyzz layout");

SPICE_MSM_CURVE_KERNELS(spice_g2, spice::g2_params, 128)
