// Host simulation of the MSM kernels: each entry point runs one launch's bodies (kernels/msm/)
// exactly as the kernel would, over every thread of the launch in an order drawn from
// `order_seed`, with the barrier-separated phases of block kernels run phase by phase. Nothing
// here runs on the GPU; engine/gpu_msm/host_simulation.rs drives these launches in the order
// the CUDA backend queues them, and tests/kernel_msm.rs checks the result against arkworks.
//
// Every entry point returns 1, or 0 (doing nothing) for parameters the kernels cannot run.
#include <stddef.h>
#include <stdint.h>

#include <vector>

#include "curve/g1.cuh"
#include "curve/g2.cuh"
#include "host_order.hpp"
#include "include/spice_layout.h"
#include "msm/accumulate.cuh"
#include "msm/bucket_reduce.cuh"
#include "msm/schedule.cuh"
#include "msm/window_copy.cuh"

using namespace spice;

namespace {

bool window_is_valid(uint32_t c, uint32_t windows) {
    return c >= SPICE_MSM_MIN_WINDOW_BITS && c <= SPICE_MSM_MAX_WINDOW_BITS && windows == (255 + c - 1) / c;
}

// With k window copies, every entry names one of n * k bases below the negate flag.
bool schedule_is_valid(const spice_msm_schedule& p) {
    return window_is_valid(p.window_bits, p.windows) && p.scan_segment > 0 && p.copies >= 1 &&
           p.copies <= p.windows && (uint64_t)p.n * p.copies < (1ull << 31);
}

// The reduction runs every window apart, or ceil(windows / k) of them with k window copies.
bool reduce_is_valid(const spice_msm_reduce& p) {
    const uint32_t c = p.window_bits;
    return c >= SPICE_MSM_MIN_WINDOW_BITS && c <= SPICE_MSM_MAX_WINDOW_BITS && p.windows >= 1 &&
           p.windows <= (255 + c - 1) / c && p.segment_log <= c - 1 &&
           p.tree_groups_log <= msm::reduce_segments_log(p);
}

// Runs body(thread, threads) for every thread of a grid-stride launch, in a shuffled order.
template <class Body>
void grid(uint32_t threads, uint64_t seed, Body body) {
    uint64_t state = seed;
    for (uint32_t t : host::shuffled(threads, state)) body(t, threads);
}

template <class C>
int accumulate(const spice_msm_level* p, uint32_t threads, uint64_t seed) {
    if (p->chunk < SPICE_MSM_MIN_CHUNK || threads == 0) return 0;
    if (p->level == 0) {
        grid(threads, seed, [&](uint32_t t, uint32_t n) { msm::accumulate_phase<C, true>(*p, t, n); });
    } else {
        grid(threads, seed, [&](uint32_t t, uint32_t n) { msm::accumulate_phase<C, false>(*p, t, n); });
    }
    return 1;
}

template <class C>
int reduce(const spice_msm_reduce* p, uint32_t threads, uint64_t seed) {
    if (!reduce_is_valid(*p) || threads == 0) return 0;
    grid(threads, seed, [&](uint32_t t, uint32_t n) { msm::reduce_phase<C>(*p, t, n); });
    return 1;
}

// One block a tree, blocks and the threads of each round in a shuffled order.
template <class C>
int window_tree(const spice_msm_reduce* p, uint32_t threads, uint64_t seed) {
    if (!reduce_is_valid(*p) || threads == 0 || threads > 1024) return 0;
    uint64_t state = seed;
    for (uint32_t b : host::shuffled(msm::tree_blocks(*p), state)) {
        for (uint32_t round = 0; round < msm::tree_segments_log(*p); round++) {
            for (uint32_t t : host::shuffled(threads, state)) msm::window_tree_phase<C>(*p, b, round, t, threads);
        }
        for (uint32_t t : host::shuffled(threads, state)) msm::window_tree_finish<C>(*p, b, t);
    }
    return 1;
}

// A chunk of points a thread, in a shuffled order.
template <class C>
int window_copy(const spice_msm_copy* p, uint32_t threads, uint64_t seed) {
    if (p->window_bits == 0 || p->chunk == 0 || threads == 0) return 0;
    grid(threads, seed, [&](uint32_t t, uint32_t n) { msm::window_copy_phase<C>(*p, t, n); });
    return 1;
}

}  // namespace

extern "C" {

// ---- the scalar schedule (kernels/msm_schedule.cu) ----

int spice_host_msm_prepare(const spice_msm_schedule* p, uint32_t threads, uint64_t order_seed) {
    if (!schedule_is_valid(*p) || threads == 0) return 0;
    grid(threads, order_seed, [&](uint32_t t, uint32_t n) { msm::prepare_phase(*p, t, n); });
    return 1;
}

int spice_host_msm_scan_reduce(const spice_msm_schedule* p, uint32_t threads, uint64_t order_seed) {
    if (!schedule_is_valid(*p) || threads == 0) return 0;
    grid(threads, order_seed, [&](uint32_t t, uint32_t n) { msm::scan_reduce_phase(*p, t, n); });
    return 1;
}

// One block of `threads` threads with a barrier between the three phases.
int spice_host_msm_scan_segments(const spice_msm_schedule* p, uint32_t threads, uint64_t order_seed) {
    if (!schedule_is_valid(*p) || threads == 0 || threads > 1024) return 0;
    std::vector<uint32_t> shared(threads, 0xdeadbeef);  // poisoned: every phase must write before it reads
    uint64_t state = order_seed;
    for (uint32_t t : host::shuffled(threads, state)) msm::scan_segments_sum_phase(*p, t, threads, shared.data());
    for (uint32_t t : host::shuffled(threads, state)) msm::scan_segments_spine_phase(*p, t, threads, shared.data());
    for (uint32_t t : host::shuffled(threads, state)) msm::scan_segments_write_phase(*p, t, threads, shared.data());
    return 1;
}

int spice_host_msm_scan_apply(const spice_msm_schedule* p, uint32_t threads, uint64_t order_seed) {
    if (!schedule_is_valid(*p) || threads == 0) return 0;
    grid(threads, order_seed, [&](uint32_t t, uint32_t n) { msm::scan_apply_phase(*p, t, n); });
    return 1;
}

int spice_host_msm_scatter(const spice_msm_schedule* p, uint32_t threads, uint64_t order_seed) {
    if (!schedule_is_valid(*p) || threads == 0) return 0;
    grid(threads, order_seed, [&](uint32_t t, uint32_t n) { msm::scatter_phase(*p, t, n); });
    return 1;
}

// The normalisation and the `windows` signed digits of one scalar (Montgomery form), as the
// prepare and scatter bodies compute them; `normalised` gets the normalised canonical limbs
// with the negate flag in bit 255.
int spice_host_msm_booth_digits(const spice_fr* x, uint32_t window_bits, uint32_t windows, int32_t* digits, uint64_t* normalised) {
    if (!window_is_valid(window_bits, windows)) return 0;
    fr_t v;
    msm::load_scalar(v.l, *x);
    msm::normalise(normalised, v);
    for (uint32_t w = 0; w < windows; w++) digits[w] = msm::booth_digit(normalised, w, window_bits);
    return 1;
}

// ---- the curve kernels (kernels/msm_g1.cu, kernels/msm_g2.cu) ----

#define SPICE_HOST_MSM_CURVE(NAME, PARAMS)                                                        \
    int spice_host_##NAME##_msm_accumulate(const spice_msm_level* p, uint32_t threads, uint64_t s) { \
        return accumulate<PARAMS>(p, threads, s);                                                 \
    }                                                                                             \
    int spice_host_##NAME##_msm_bucket_reduce(const spice_msm_reduce* p, uint32_t threads, uint64_t s) { \
        return reduce<PARAMS>(p, threads, s);                                                     \
    }                                                                                             \
    int spice_host_##NAME##_msm_window_tree(const spice_msm_reduce* p, uint32_t threads, uint64_t s) { \
        return window_tree<PARAMS>(p, threads, s);                                                \
    }                                                                                             \
    int spice_host_##NAME##_msm_window_copy(const spice_msm_copy* p, uint32_t threads, uint64_t s) { \
        return window_copy<PARAMS>(p, threads, s);                                                \
    }

SPICE_HOST_MSM_CURVE(g1, g1_params)
SPICE_HOST_MSM_CURVE(g2, g2_params)

}  // extern "C"
