// The scalar schedule of an MSM: a counting sort of (scalar, window) pairs by bucket, written
// as per-thread bodies that the kernels (kernels/msm_schedule.cu) run on the device and the host
// simulation (kernels/host_msm.cpp) runs over every thread in a shuffled order.
//
//   prepare   normalise each scalar in place (digits.cuh) and count the entries of each bucket;
//   scan      exclusive prefix sums of the counts: reduce per segment, scan the segment sums
//             in one block, apply per segment (three launches, no global synchronisation);
//   scatter   recompute the digits and place each entry at its bucket's cursor.
//
// Placement within a bucket depends on the order threads reach the cursor (an atomic on the
// device). Bucket sums do not: the group law is commutative and every addition formula is
// exact, so the MSM's result is the same for every order (which the tests check).
//
// The witness-aware part: a zero scalar has no entry at all, and a scalar +-1 has exactly one,
// in the "ones" bucket after the windows, whose sum enters the result with weight 1. So a
// Groth16 witness of mostly 0/1 values costs a plain sum of the bases of its ones, and only
// the remaining scalars pay for digits in every window.
#pragma once

#include <stdint.h>

#include "../include/spice_layout.h"
#include "atomic.cuh"
#include "digits.cuh"

namespace spice {
namespace msm {

SPICE_HD uint32_t window_buckets(uint32_t window_bits) { return 1u << (window_bits - 1); }
// Windows whose buckets are kept apart: all of them, or ceil(windows / k) when windows k apart
// share buckets (k window copies, see spice_layout.h).
SPICE_HD uint32_t bucket_windows(const spice_msm_schedule& p) { return (p.windows + p.copies - 1) / p.copies; }
// The bucket of the scalars +-1, after every window's buckets.
SPICE_HD uint32_t ones_bucket(const spice_msm_schedule& p) { return bucket_windows(p) * window_buckets(p.window_bits); }
SPICE_HD uint32_t bucket_count(const spice_msm_schedule& p) { return ones_bucket(p) + 1; }
SPICE_HD uint32_t scan_segments(const spice_msm_schedule& p) {
    return (bucket_count(p) + p.scan_segment - 1) / p.scan_segment;
}

// Key of a nonzero digit d of window w: in the buckets of window w / k. The divisions run once
// a digit in prepare and scatter, not in the accumulation.
SPICE_HD uint32_t digit_bucket(const spice_msm_schedule& p, uint32_t w, int32_t d) {
    return (w / p.copies) * window_buckets(p.window_bits) + (uint32_t)(d < 0 ? -d : d) - 1;
}

// The base a digit of window w of scalar i adds: copy w mod k of P_i (P_i itself when k = 1).
SPICE_HD uint32_t digit_base(const spice_msm_schedule& p, uint32_t w, uint32_t i) {
    return (w % p.copies) * p.n + i;
}

SPICE_HD void load_scalar(uint64_t s[4], const spice_fr& x) {
    SPICE_UNROLL
    for (int i = 0; i < 4; i++) s[i] = x.l[i];
}
SPICE_HD void store_scalar(spice_fr& x, const uint64_t s[4]) {
    SPICE_UNROLL
    for (int i = 0; i < 4; i++) x.l[i] = s[i];
}

// prepare: scalar i from Montgomery form to its normalised canonical form, in place, and one
// count for each of its entries. The counts must be zero before the launch.
SPICE_HD void prepare_scalar(const spice_msm_schedule& p, uint32_t i) {
    fr_t x;
    load_scalar(x.l, p.scalars[i]);
    uint64_t s[4];
    normalise(s, x);
    store_scalar(p.scalars[i], s);
    const uint32_t cls = scalar_class(s);
    if (cls == SCALAR_ZERO) return;
    if (cls == SCALAR_ONE) {
        fetch_add(&p.bucket_counts[ones_bucket(p)], 1);
        return;
    }
    for (uint32_t w = 0; w < p.windows; w++) {
        const int32_t d = booth_digit(s, w, p.window_bits);
        if (d != 0) fetch_add(&p.bucket_counts[digit_bucket(p, w, d)], 1);
    }
}

SPICE_HD void prepare_phase(const spice_msm_schedule& p, uint32_t thread, uint32_t threads) {
    for (uint32_t i = thread; i < p.n; i += threads) prepare_scalar(p, i);
}

// scan, launch 1 (any grid): segment_sums[g] = the sum of segment g's counts.
SPICE_HD void scan_reduce_phase(const spice_msm_schedule& p, uint32_t thread, uint32_t threads) {
    const uint32_t buckets = bucket_count(p), segments = scan_segments(p);
    for (uint32_t g = thread; g < segments; g += threads) {
        const uint32_t end = g + 1 == segments ? buckets : (g + 1) * p.scan_segment;
        uint32_t sum = 0;
        for (uint32_t k = g * p.scan_segment; k < end; k++) sum += p.bucket_counts[k];
        p.segment_sums[g] = sum;
    }
}

// scan, launch 2 (one block of `threads` threads, `shared` one u32 a thread), in three phases
// separated by barriers: each thread sums a contiguous run of segments; thread 0 scans those
// sums and writes the total entry count; each thread turns its run into exclusive offsets.
SPICE_HD uint32_t segments_per_thread(const spice_msm_schedule& p, uint32_t threads) {
    return (scan_segments(p) + threads - 1) / threads;
}
SPICE_HD void scan_segments_sum_phase(const spice_msm_schedule& p, uint32_t thread, uint32_t threads, uint32_t* shared) {
    const uint32_t segments = scan_segments(p), per = segments_per_thread(p, threads);
    uint32_t sum = 0;
    for (uint32_t g = thread * per; g < segments && g < (thread + 1) * per; g++) sum += p.segment_sums[g];
    shared[thread] = sum;
}
SPICE_HD void scan_segments_spine_phase(const spice_msm_schedule& p, uint32_t thread, uint32_t threads, uint32_t* shared) {
    if (thread != 0) return;
    uint32_t running = 0;
    for (uint32_t t = 0; t < threads; t++) {
        const uint32_t v = shared[t];
        shared[t] = running;
        running += v;
    }
    *p.entry_count = running;
}
SPICE_HD void scan_segments_write_phase(const spice_msm_schedule& p, uint32_t thread, uint32_t threads, const uint32_t* shared) {
    const uint32_t segments = scan_segments(p), per = segments_per_thread(p, threads);
    uint32_t running = shared[thread];
    for (uint32_t g = thread * per; g < segments && g < (thread + 1) * per; g++) {
        const uint32_t v = p.segment_sums[g];
        p.segment_sums[g] = running;
        running += v;
    }
}

// scan, launch 3 (any grid): each segment's counts become exclusive offsets.
SPICE_HD void scan_apply_phase(const spice_msm_schedule& p, uint32_t thread, uint32_t threads) {
    const uint32_t buckets = bucket_count(p), segments = scan_segments(p);
    for (uint32_t g = thread; g < segments; g += threads) {
        const uint32_t end = g + 1 == segments ? buckets : (g + 1) * p.scan_segment;
        uint32_t running = p.segment_sums[g];
        for (uint32_t k = g * p.scan_segment; k < end; k++) {
            const uint32_t v = p.bucket_counts[k];
            p.bucket_counts[k] = running;
            running += v;
        }
    }
}

// scatter: scalar i's entries at their buckets' cursors (the offsets from the scan, which end
// as each bucket's end). The capacity is a bound the planner derives from the same scalars
// (one entry a +-1 scalar, `windows` for any other), so the check never fires unless the
// host's counts and the device's scalars disagree; it keeps such a bug from writing past the
// arrays, and the host sees it in entry_count.
SPICE_HD void place(const spice_msm_schedule& p, uint32_t bucket, uint32_t entry) {
    const uint32_t at = fetch_add(&p.bucket_counts[bucket], 1);
    if (at >= p.entry_capacity) return;
    p.entries[at] = entry;
    p.keys[at] = bucket;
}

SPICE_HD void scatter_scalar(const spice_msm_schedule& p, uint32_t i) {
    uint64_t s[4];
    load_scalar(s, p.scalars[i]);
    const bool negated = is_negated(s);
    const uint32_t cls = scalar_class(s);
    if (cls == SCALAR_ZERO) return;
    if (cls == SCALAR_ONE) {
        place(p, ones_bucket(p), i | (negated ? SPICE_MSM_NEGATE : 0));
        return;
    }
    for (uint32_t w = 0; w < p.windows; w++) {
        const int32_t d = booth_digit(s, w, p.window_bits);
        if (d != 0) place(p, digit_bucket(p, w, d), digit_base(p, w, i) | (((d < 0) != negated) ? SPICE_MSM_NEGATE : 0));
    }
}

SPICE_HD void scatter_phase(const spice_msm_schedule& p, uint32_t thread, uint32_t threads) {
    for (uint32_t i = thread; i < p.n; i += threads) scatter_scalar(p, i);
}

}  // namespace msm
}  // namespace spice
