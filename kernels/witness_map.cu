// The witness map's first step on the device: one thread per point of the QAP domain writes
// A*z, B*z and C*z there (natural order, the order the quotient chain of kernels/ntt.cu
// takes) and reports a failing constraint. The body is kernels/witness_map/rows.cuh, shared
// with the host simulation that the engine's tests check against the CPU evaluator.
#include <stdint.h>

#include "include/spice_layout.h"
#include "witness_map/rows.cuh"

using namespace spice;

static_assert(sizeof(spice_witness_term) == 8, "term layout");

// Grid: ceil(domain / blockDim.x) blocks. A thread per point, not per row of one matrix: the
// three values of a constraint are at hand together for its check, and the padding points
// are written by the same launch, so the quotient's buffers need no memset.
extern "C" __global__ void __launch_bounds__(256) spice_witness_map_kernel(const spice_witness_map p) {
    const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < p.domain && witness::evaluate_point(p, i)) atomicMin(p.first_failure, i);
}
