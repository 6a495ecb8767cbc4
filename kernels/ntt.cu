// The NTT kernels: one launch per pass of the plan built in engine/gpu_ntt/plan.rs, and the
// pointwise step of the QAP quotient. The bodies are kernels/ntt/ntt_pass.cuh, shared with
// the host simulation that tests/kernel_ntt.rs checks against arkworks.
#include <stdint.h>

#include "dynamic_shared.cuh"
#include "include/spice_layout.h"
#include "ntt/ntt_pass.cuh"

using namespace spice;

static_assert(sizeof(fr_t) == sizeof(spice_fr), "fr layout");

// The tile is dynamic shared memory (2^(stages + log_columns) elements, sized at launch).
// Blocks have at most 512 threads (engine/gpu_ntt/plan.rs keeps to it), which leaves each
// thread up to 128 registers; the default 256 threads on a 2^10 tile give each thread 4
// elements and 2 butterflies a stage.
extern "C" __global__ void __launch_bounds__(512) spice_ntt_pass_kernel(const spice_ntt_pass p) {
    SPICE_DYNAMIC_SHARED(fr_t, tile);
    const bool dit = (p.flags & SPICE_NTT_DIT) != 0;
    ntt::load_phase(p, blockIdx.x, threadIdx.x, tile);
    __syncthreads();
    for (uint32_t i = 0; i < p.stages; i++) {
        uint32_t stage = dit ? i : p.stages - 1 - i;
        ntt::stage_phase(p, stage, blockIdx.x, threadIdx.x, tile);
        __syncthreads();
    }
    ntt::store_phase(p, blockIdx.x, threadIdx.x, tile);
}

// a[i] <- (a[i] * b[i] - c[i]) * z_inv for i < n.
extern "C" __global__ void spice_quotient_pointwise_kernel(spice_fr* a, const spice_fr* b, const spice_fr* c,
                                                            const spice_fr z_inv, uint32_t n) {
    uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) ntt::quotient_pointwise(a, b, c, z_inv, i);
}
