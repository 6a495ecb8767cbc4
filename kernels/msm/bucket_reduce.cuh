// Bucket reduction: each window's sum over its buckets j (digit magnitude j + 1) of
// (j + 1) * B_j, in parallel, and the window sums handed to the host.
//
// A window's 2^(c-1) buckets are cut into segments of L = 2^segment_log. For segment q
// (buckets qL .. qL + L - 1):
//     sum_i (qL + i + 1) B_{qL+i} = sum_i (i + 1) B_{qL+i} + qL * sum_i B_{qL+i}.
// The first term is the classic running sum from the top (running += B; total += running:
// 2L additions); the second is the running sum's final value times qL, by double-and-add
// (at most c - 1 doublings). One thread a segment, so a window's reduction is P = 2^(c-1)/L
// independent pieces instead of one sequential chain of 2^c additions. Then blocks add the P
// segment sums in trees (rounds separated by barriers), one or several a window.
//
// The trees' sums are added and the windows combined on the host (engine/gpu_msm/combine.rs):
// the combination is c(W - 1)
// sequential doublings, a latency-bound chain a GPU thread runs about ten times slower than a
// CPU core does.
#pragma once

#include <stdint.h>

#include "../include/spice_layout.h"
#include "points.cuh"

namespace spice {
namespace msm {

SPICE_HD uint32_t reduce_segments_log(const spice_msm_reduce& p) { return p.window_bits - 1 - p.segment_log; }
SPICE_HD uint32_t reduce_segments(const spice_msm_reduce& p) { return 1u << reduce_segments_log(p); }

// k * q by double-and-add, most significant bit first. Out of line: it runs once a segment,
// after the running-sum loop, and inlined its own additions and doublings competed with the
// loop's two live sums for registers (G1: 516 bytes of spill stores in the kernel inlined,
// none out of line; G2: 3,508 -> 1,576; nvcc 11.8, sm_90, `-Xptxas -v`).
template <class C>
SPICE_HD_NOINLINE xyzz_t<C> times_small(const xyzz_t<C>& q, uint32_t k) {
    xyzz_t<C> acc = xyzz_t<C>::identity();
    uint32_t top = 0;
    while (top < 31 && (k >> (top + 1)) != 0) top++;
    for (uint32_t b = top + 1; b-- > 0;) {
        acc = acc.dbl();
        if ((k >> b) & 1) acc = acc + q;
    }
    return acc;
}

// Segment g (window g / P, segment g % P): its weighted sum into segment_sums[g].
template <class C>
SPICE_HD void reduce_segment(const spice_msm_reduce& p, uint32_t g) {
    using X = xyzz_t<C>;
    const uint32_t len = 1u << p.segment_log;
    const uint32_t window = g >> reduce_segments_log(p);
    const uint32_t q = g & (reduce_segments(p) - 1);
    const uint32_t first = (window << (p.window_bits - 1)) + q * len;
    X running = X::identity(), total = X::identity();
    for (uint32_t i = len; i-- > 0;) {
        running = running + load_point<X>(p.buckets, first + i);
        total = total + running;
    }
    store_point(p.segment_sums, g, total + times_small<C>(running, q * len));
}

template <class C>
SPICE_HD void reduce_phase(const spice_msm_reduce& p, uint32_t thread, uint32_t threads) {
    const uint32_t segments = p.windows * reduce_segments(p);
    for (uint32_t g = thread; g < segments; g += threads) reduce_segment<C>(p, g);
}

// The trees: 2^tree_groups_log blocks a window, block t over the 2^tree_segments_log
// contiguous segment sums from t << tree_segments_log (so within window t >> tree_groups_log).
// One block a window would leave a single window (window copies) to one multiprocessor: at
// 2^20 its 128 threads added 8,192 segment sums in ~70 dependent additions.
SPICE_HD uint32_t tree_segments_log(const spice_msm_reduce& p) { return reduce_segments_log(p) - p.tree_groups_log; }
SPICE_HD uint32_t tree_blocks(const spice_msm_reduce& p) { return p.windows << p.tree_groups_log; }

// Tree round `round` of tree block `block` (`threads` threads): segment sums 2^(round+1)
// apart absorb their neighbour 2^round above.
template <class C>
SPICE_HD void window_tree_phase(const spice_msm_reduce& p, uint32_t block, uint32_t round, uint32_t thread, uint32_t threads) {
    using X = xyzz_t<C>;
    const uint32_t stride = 1u << round;
    const uint32_t pairs = (1u << tree_segments_log(p)) >> (round + 1);
    const uint32_t base = block << tree_segments_log(p);
    for (uint32_t k = thread; k < pairs; k += threads) {
        const uint32_t a = base + 2 * k * stride;
        store_point(p.segment_sums, a, load_point<X>(p.segment_sums, a) + load_point<X>(p.segment_sums, a + stride));
    }
}

// After the last round: the tree's sum, and (block 0) the ones bucket, into window_sums.
template <class C>
SPICE_HD void window_tree_finish(const spice_msm_reduce& p, uint32_t block, uint32_t thread) {
    using X = xyzz_t<C>;
    if (thread != 0) return;
    store_point(p.window_sums, block, load_point<X>(p.segment_sums, block << tree_segments_log(p)));
    if (block == 0) store_point(p.window_sums, tree_blocks(p), load_point<X>(p.buckets, p.windows << (p.window_bits - 1)));
}

}  // namespace msm
}  // namespace spice
