// G1 MSM kernels (bucket accumulation and reduction over Fq); see msm/curve_kernels.cuh.
// 256 threads a block leave each thread up to 255 registers, which the XYZZ formulas over Fq
// fit without spilling.
#include <stdint.h>

#include "curve/g1.cuh"
#include "include/spice_layout.h"
#include "msm/curve_kernels.cuh"

static_assert(sizeof(spice::g1_affine_t) == sizeof(spice_g1_affine), "g1 affine layout");
static_assert(sizeof(spice::g1_xyzz_t) == sizeof(spice_g1_xyzz), "g1 xyzz layout");

SPICE_MSM_CURVE_KERNELS(spice_g1, spice::g1_params, 256)
