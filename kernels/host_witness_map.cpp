// Host build of the witness map's kernel body (witness_map/rows.cuh), for the engine's host
// simulation (engine/gpu_witness/host_simulation.rs) and through it the tests that check it
// against the CPU evaluator on machines without a GPU.
#include <stdint.h>

#include "host_order.hpp"
#include "include/spice_layout.h"
#include "witness_map/rows.cuh"

using namespace spice;

extern "C" {

// Runs spice_witness_map_kernel's body for every point of the domain, one at a time in an
// order drawn from `order_seed`, lowering *first_failure as the kernel's atomicMin does (the
// caller sets it to SPICE_WITNESS_NO_FAILURE first). Points write only their own elements, so
// any order must give the same vectors and the same first failure; the tests run several.
void spice_host_witness_map(const spice_witness_map* p, uint64_t order_seed) {
    uint64_t state = order_seed;
    for (uint32_t i : host::shuffled(p->domain, state)) {
        if (witness::evaluate_point(*p, i) && i < *p->first_failure) *p->first_failure = i;
    }
}

}  // extern "C"
