// Bucket accumulation: the sum of every bucket's points, as a segmented sum over the entries
// sorted by bucket, in levels of equal-work chunks.
//
// Why not a thread per bucket: bucket sizes follow the scalars, and Groth16 scalars are not
// uniform (a witness of small values fills the low buckets of window 0; the ones bucket holds
// every +-1 scalar). Cutting the sorted entries into chunks of equal length gives every thread
// the same number of mixed additions whatever the distribution.
//
// One level. Chunk k (elements [kT, kT + T)) is walked by one thread, summing each run of equal
// keys. A run strictly inside the chunk (another run before and after it) is a whole bucket:
// the keys are sorted, so its key appears nowhere else; it is stored in `buckets`. The chunk's
// first and last runs may continue into the neighbouring chunks, so they go to the next level
// as partial sums with their keys (slots 2k and 2k + 1; a chunk of one run sends it and an
// identity with the same key). A bucket is therefore either whole at this level or entirely
// passed on; the next level's input is again sorted by key, 2/T of this level's length, and the
// level with a single chunk stores all its runs. Every bucket is written exactly once, by the
// level where it becomes whole; buckets without entries keep the identity they were zeroed to.
//
// Level 0 adds (signed) affine bases into XYZZ sums (mixed addition, 8M + 2S); later levels add
// XYZZ partial sums (12M + 2S), 2/T as many.
#pragma once

#include <stdint.h>

#include "../include/spice_layout.h"
#include "points.cuh"

namespace spice {
namespace msm {

template <class C, bool FROM_BASES>
SPICE_HD xyzz_t<C> add_element(const xyzz_t<C>& acc, const spice_msm_level& p, uint32_t j) {
    if (FROM_BASES) return acc.add_affine(signed_base<C>(p.bases, p.entries[j]));
    return acc + load_point<xyzz_t<C>>(p.partials, j);
}

// Chunk `chunk` of `chunks` over an input of `len` elements.
template <class C, bool FROM_BASES>
SPICE_HD void accumulate_chunk(const spice_msm_level& p, uint32_t len, uint32_t chunk, uint32_t chunks) {
    using X = xyzz_t<C>;
    const uint32_t start = chunk * p.chunk;
    const uint32_t end = len - start < p.chunk ? len : start + p.chunk;
    const bool last_level = chunks == 1;
    uint32_t key = p.keys[start];
    X acc = X::identity();
    bool first_run = true;
    for (uint32_t j = start; j < end; j++) {
        const uint32_t k = p.keys[j];
        if (k != key) {
            if (last_level || !first_run) {
                store_point(p.buckets, key, acc);  // bounded on both sides: a whole bucket
            } else {
                p.next_keys[2 * chunk] = key;
                store_point(p.next_partials, 2 * chunk, acc);
            }
            first_run = false;
            key = k;
            acc = X::identity();
        }
        acc = add_element<C, FROM_BASES>(acc, p, j);
    }
    if (last_level) {
        store_point(p.buckets, key, acc);
    } else if (first_run) {
        p.next_keys[2 * chunk] = key;
        store_point(p.next_partials, 2 * chunk, acc);
        p.next_keys[2 * chunk + 1] = key;
        store_point(p.next_partials, 2 * chunk + 1, X::identity());
    } else {
        p.next_keys[2 * chunk + 1] = key;
        store_point(p.next_partials, 2 * chunk + 1, acc);
    }
}

// Chunks of a level's input.
SPICE_HD uint32_t level_chunks(uint32_t len, uint32_t chunk) {
    return len / chunk + (len % chunk != 0 ? 1 : 0);
}

// One thread's share of a level (grid-stride over the chunks). Thread 0 also writes the next
// level's length, which only the next launch reads.
template <class C, bool FROM_BASES>
SPICE_HD void accumulate_phase(const spice_msm_level& p, uint32_t thread, uint32_t threads) {
    const uint32_t len = *p.count;
    const uint32_t chunks = level_chunks(len, p.chunk);
    if (thread == 0) *p.next_count = chunks > 1 ? 2 * chunks : 0;
    for (uint32_t k = thread; k < chunks; k += threads) accumulate_chunk<C, FROM_BASES>(p, len, k, chunks);
}

}  // namespace msm
}  // namespace spice
