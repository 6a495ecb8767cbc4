// The curve-dependent MSM kernels, instantiated once per curve by kernels/msm_g1.cu and
// kernels/msm_g2.cu: the levels of the bucket accumulation (accumulate.cuh), the segment
// reduction and the trees over its segments (bucket_reduce.cuh).
//
// SPICE_MSM_CURVE_KERNELS(prefix, params, threads) defines
//   <prefix>_msm_accumulate_bases_kernel     level 0 (grid-stride)
//   <prefix>_msm_accumulate_partials_kernel  later levels (grid-stride)
//   <prefix>_msm_bucket_reduce_kernel        one thread a segment (grid-stride)
//   <prefix>_msm_window_tree_kernel          one block a tree, 2^tree_groups_log trees a window
//   <prefix>_msm_window_copy_kernel          a chunk of points a thread (grid-stride)
// with `threads` the most threads a block may have (the launch bound, which caps registers).
#pragma once

#include "accumulate.cuh"
#include "bucket_reduce.cuh"
#include "window_copy.cuh"

#define SPICE_MSM_CURVE_KERNELS(prefix, params, threads)                                              \
    extern "C" __global__ void __launch_bounds__(threads)                                              \
        prefix##_msm_accumulate_bases_kernel(const spice_msm_level p) {                                \
        spice::msm::accumulate_phase<params, true>(p, blockIdx.x * blockDim.x + threadIdx.x,          \
                                                   gridDim.x * blockDim.x);                            \
    }                                                                                                  \
    extern "C" __global__ void __launch_bounds__(threads)                                              \
        prefix##_msm_accumulate_partials_kernel(const spice_msm_level p) {                             \
        spice::msm::accumulate_phase<params, false>(p, blockIdx.x * blockDim.x + threadIdx.x,         \
                                                    gridDim.x * blockDim.x);                           \
    }                                                                                                  \
    extern "C" __global__ void __launch_bounds__(threads)                                              \
        prefix##_msm_bucket_reduce_kernel(const spice_msm_reduce p) {                                  \
        spice::msm::reduce_phase<params>(p, blockIdx.x * blockDim.x + threadIdx.x,                    \
                                         gridDim.x * blockDim.x);                                      \
    }                                                                                                  \
    extern "C" __global__ void __launch_bounds__(threads) prefix##_msm_window_tree_kernel(            \
        const spice_msm_reduce p) {                                                                    \
        for (uint32_t round = 0; round < spice::msm::tree_segments_log(p); round++) {               \
            spice::msm::window_tree_phase<params>(p, blockIdx.x, round, threadIdx.x, blockDim.x);     \
            __syncthreads();                                                                           \
        }                                                                                              \
        spice::msm::window_tree_finish<params>(p, blockIdx.x, threadIdx.x);                           \
    }                                                                                                  \
    extern "C" __global__ void __launch_bounds__(threads)                                              \
        prefix##_msm_window_copy_kernel(const spice_msm_copy p) {                                      \
        spice::msm::window_copy_phase<params>(p, blockIdx.x * blockDim.x + threadIdx.x,                \
                                              gridDim.x * blockDim.x);                                 \
    }
