// Runs one launch's grid on the CPU: blocks spread over a pool of OS threads, each block's
// threads in a shuffled order; the threads of a block kernel are fibers (a stack each) that
// __syncthreads suspends until the whole block has arrived.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cuda_lang.hpp"
#include "registry.hpp"

namespace spice_emulator {

struct Grid {
    const KernelEntry* kernel;
    BoundKernel body;
    dim3 blocks;
    dim3 threads;
    size_t shared_bytes;
    // Draws the order of blocks and threads (each launch gets its own).
    uint64_t seed;
};

// Runs every thread of `grid` and returns when all have returned.
void run_grid(const Grid& grid);

}  // namespace spice_emulator
