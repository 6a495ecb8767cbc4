// The MSM's scalar schedule (kernels/msm/schedule.cuh), curve-independent: launched once per
// scalar vector, shared by every MSM over it (G1 and G2 alike). Grid-stride kernels run any
// grid; the plan (engine/gpu_msm/plan.rs) sizes them.
#include <stdint.h>

#include "dynamic_shared.cuh"
#include "include/spice_layout.h"
#include "msm/schedule.cuh"

using namespace spice;

static_assert(sizeof(fr_t) == sizeof(spice_fr), "fr layout");

__device__ __forceinline__ uint32_t global_thread() { return blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ uint32_t global_threads() { return gridDim.x * blockDim.x; }

extern "C" __global__ void spice_msm_prepare_kernel(const spice_msm_schedule p) {
    msm::prepare_phase(p, global_thread(), global_threads());
}

extern "C" __global__ void spice_msm_scan_reduce_kernel(const spice_msm_schedule p) {
    msm::scan_reduce_phase(p, global_thread(), global_threads());
}

// One block; dynamic shared memory of one u32 per thread.
extern "C" __global__ void __launch_bounds__(1024) spice_msm_scan_segments_kernel(const spice_msm_schedule p) {
    SPICE_DYNAMIC_SHARED(uint32_t, shared);
    msm::scan_segments_sum_phase(p, threadIdx.x, blockDim.x, shared);
    __syncthreads();
    msm::scan_segments_spine_phase(p, threadIdx.x, blockDim.x, shared);
    __syncthreads();
    msm::scan_segments_write_phase(p, threadIdx.x, blockDim.x, shared);
}

extern "C" __global__ void spice_msm_scan_apply_kernel(const spice_msm_schedule p) {
    msm::scan_apply_phase(p, global_thread(), global_threads());
}

extern "C" __global__ void spice_msm_scatter_kernel(const spice_msm_schedule p) {
    msm::scatter_phase(p, global_thread(), global_threads());
}
