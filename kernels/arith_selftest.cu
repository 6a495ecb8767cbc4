// Element-wise kernels over the field and curve arithmetic: the device-side twin of
// host_arith.cpp. A GPU test runs the same inputs through both and compares bytes, which
// checks the PTX paths of field/limb.cuh that the host build cannot reach.
//
// All pointers are device arrays of n elements in the layouts of include/spice_layout.h.
#include <stdint.h>

#include "include/spice_layout.h"
#include "curve/g1.cuh"
#include "curve/g2.cuh"
#include "field/fr.cuh"

using namespace spice;

static_assert(sizeof(fr_t) == sizeof(spice_fr), "fr layout");
static_assert(sizeof(fq_t) == sizeof(spice_fq), "fq layout");
static_assert(sizeof(fq2_t) == sizeof(spice_fq2), "fq2 layout");
static_assert(sizeof(g1_affine_t) == sizeof(spice_g1_affine), "g1 layout");
static_assert(sizeof(g2_affine_t) == sizeof(spice_g2_affine), "g2 layout");
static_assert(sizeof(g1_xyzz_t) == sizeof(spice_g1_xyzz), "g1 xyzz layout");
static_assert(sizeof(g2_jacobian_t) == sizeof(spice_g2_jacobian), "g2 jacobian layout");

template <class T, class L>
__device__ __forceinline__ const T& as(const L& l) {
    return *reinterpret_cast<const T*>(&l);
}
template <class T, class L>
__device__ __forceinline__ T& as(L& l) {
    return *reinterpret_cast<T*>(&l);
}

extern "C" __global__ void spice_fr_mul_kernel(const spice_fr* a, const spice_fr* b,
                                               spice_fr* out, uint32_t n) {
    uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) as<fr_t>(out[i]) = as<fr_t>(a[i]) * as<fr_t>(b[i]);
}

extern "C" __global__ void spice_fr_add_sub_kernel(const spice_fr* a, const spice_fr* b,
                                                   spice_fr* sum, spice_fr* diff, uint32_t n) {
    uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    as<fr_t>(sum[i]) = as<fr_t>(a[i]) + as<fr_t>(b[i]);
    as<fr_t>(diff[i]) = as<fr_t>(a[i]) - as<fr_t>(b[i]);
}

extern "C" __global__ void spice_fq_mul_kernel(const spice_fq* a, const spice_fq* b,
                                               spice_fq* out, uint32_t n) {
    uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) as<fq_t>(out[i]) = as<fq_t>(a[i]) * as<fq_t>(b[i]);
}

extern "C" __global__ void spice_fq_inverse_kernel(const spice_fq* a, spice_fq* out, uint32_t n) {
    uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) as<fq_t>(out[i]) = as<fq_t>(a[i]).inverse();
}

// out[i] = a[i] + b[i] through the XYZZ bucket path (mixed addition, then to affine).
extern "C" __global__ void spice_g1_add_mixed_kernel(const spice_g1_affine* a,
                                                     const spice_g1_affine* b,
                                                     spice_g1_affine* out, uint32_t n) {
    uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    g1_xyzz_t acc = g1_xyzz_t::from_affine(as<g1_affine_t>(a[i]));
    as<g1_affine_t>(out[i]) = acc.add_affine(as<g1_affine_t>(b[i])).to_affine();
}

extern "C" __global__ void spice_g2_add_mixed_kernel(const spice_g2_affine* a,
                                                     const spice_g2_affine* b,
                                                     spice_g2_affine* out, uint32_t n) {
    uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    g2_xyzz_t acc = g2_xyzz_t::from_affine(as<g2_affine_t>(a[i]));
    as<g2_affine_t>(out[i]) = acc.add_affine(as<g2_affine_t>(b[i])).to_affine();
}
