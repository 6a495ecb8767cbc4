// One window copy of the bases from the one before it, on the device: copy j is copy j - 1
// with every point doubled c times (engine/gpu_msm/window_copies.rs builds the same on the
// host, which is what the tests compare it with).
//
// The kernels add affine bases, so each doubled point goes back to affine. One inversion a
// point would cost ~570 products against the doublings' ~9c; Montgomery's trick shares one
// inversion among a thread's `chunk` consecutive points: a forward pass doubles each point
// (XYZZ), keeps it in `doubled` and the running product of the ZZ * ZZZ in `prefix`; one
// inversion of the last product; a backward pass peels each point's 1 / (ZZ * ZZZ) off it, so
// 1/ZZ = that * ZZZ and 1/ZZZ = that * ZZ, and writes x = X/ZZ, y = Y/ZZZ. The identity
// (ZZ = 0) takes no part in the products and stays (0, 0).
//
// A launch covers points first .. first + count of the copy; `doubled` and `prefix` hold
// `count` entries indexed from `first` (the host tiles a long vector to bound them).
#pragma once

#include <stdint.h>

#include "../include/spice_layout.h"
#include "points.cuh"

namespace spice {
namespace msm {

template <class C>
SPICE_HD void window_copy_chunk(const spice_msm_copy& p, uint32_t t) {
    using X = xyzz_t<C>;
    using A = affine_t<C>;
    using F = typename C::field;
    const uint32_t begin = t * p.chunk;
    const uint32_t end = begin + p.chunk < p.count ? begin + p.chunk : p.count;
    F running = F::one();
    for (uint32_t k = begin; k < end; k++) {
        const A a = load_point<A>(p.source, p.first + k);
        X q = X::dbl_affine(a);
        for (uint32_t d = 1; d < p.window_bits; d++) q = q.dbl();
        store_point(p.doubled, k, q);
        if (!q.is_identity()) running = running * (q.zz * q.zzz);
        store_point(p.prefix, k, running);
    }
    F inverse = running.inverse();
    for (uint32_t k = end; k-- > begin;) {
        const X q = load_point<X>(p.doubled, k);
        A out = A::identity();
        if (!q.is_identity()) {
            // 1 / (ZZ * ZZZ) of this point: the inverse of the product up to it times the
            // product before it.
            const F before = k > begin ? load_point<F>(p.prefix, k - 1) : F::one();
            const F own = inverse * before;
            inverse = inverse * (q.zz * q.zzz);
            out = A{q.x * (own * q.zzz), q.y * (own * q.zz)};
        }
        store_point(p.target, p.first + k, out);
    }
}

template <class C>
SPICE_HD void window_copy_phase(const spice_msm_copy& p, uint32_t thread, uint32_t threads) {
    const uint32_t chunks = (p.count + p.chunk - 1) / p.chunk;
    for (uint32_t t = thread; t < chunks; t += threads) window_copy_chunk<C>(p, t);
}

}  // namespace msm
}  // namespace spice
