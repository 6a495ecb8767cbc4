// Point arrays of the MSM, addressed through the untyped pointers of spice_layout.h so one
// parameter block serves G1 and G2. The element types are the layouts' own bytes (affine:
// spice_g*_affine, buckets and partial sums: spice_g*_xyzz), so these are plain typed accesses.
#pragma once

#include <stdint.h>

#include "../curve/sw_curve.cuh"
#include "../include/spice_layout.h"

namespace spice {
namespace msm {

template <class T>
SPICE_HD T load_point(const void* base, uint32_t i) {
    return static_cast<const T*>(base)[i];
}

template <class T>
SPICE_HD void store_point(void* base, uint32_t i, const T& v) {
    static_cast<T*>(base)[i] = v;
}

// The base an entry names, negated when the entry says so (the identity stays the identity:
// its y is 0 and -0 = 0).
template <class C>
SPICE_HD affine_t<C> signed_base(const void* bases, uint32_t entry) {
    affine_t<C> p = load_point<affine_t<C>>(bases, entry & ~SPICE_MSM_NEGATE);
    return (entry & SPICE_MSM_NEGATE) ? -p : p;
}

}  // namespace msm
}  // namespace spice
