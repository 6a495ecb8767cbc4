// Moves of Fr elements between arrays in the C layout (spice_fr) and registers (fr_t), for
// every kernel over Fr vectors: the NTT passes, the quotient's pointwise step, the witness map.
#pragma once

#include <stdint.h>

#include "../include/spice_layout.h"
#include "fr.cuh"

namespace spice {
namespace fr_array {

// 32-byte element moves. cudaMalloc'd arrays of spice_fr are 32-byte aligned, so the device
// path can use two 16-byte accesses instead of four 8-byte ones.
SPICE_HD fr_t load(const spice_fr* base, uint32_t i) {
    fr_t r;
#ifdef __CUDA_ARCH__
    const ulonglong2* p = reinterpret_cast<const ulonglong2*>(base + i);
    ulonglong2 a = p[0], b = p[1];
    r.l[0] = a.x; r.l[1] = a.y; r.l[2] = b.x; r.l[3] = b.y;
#else
    for (int w = 0; w < 4; w++) r.l[w] = base[i].l[w];
#endif
    return r;
}
SPICE_HD void store(spice_fr* base, uint32_t i, const fr_t& v) {
#ifdef __CUDA_ARCH__
    ulonglong2* p = reinterpret_cast<ulonglong2*>(base + i);
    p[0] = make_ulonglong2(v.l[0], v.l[1]);
    p[1] = make_ulonglong2(v.l[2], v.l[3]);
#else
    for (int w = 0; w < 4; w++) base[i].l[w] = v.l[w];
#endif
}
SPICE_HD fr_t from_layout(const spice_fr& a) {
    fr_t r;
    for (int w = 0; w < 4; w++) r.l[w] = a.l[w];
    return r;
}

}  // namespace fr_array
}  // namespace spice
