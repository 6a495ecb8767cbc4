// The one atomic operation the MSM schedule needs, written once for the device and the host
// simulation. Which thread of a launch gets which slot is unspecified on the device; the host
// simulation runs threads one after another in a shuffled order, under which a plain
// read-modify-write is the same operation. Nothing may depend on the order either way: the
// tests run the host simulation under many orders and compare results. The CPU emulation of
// the driver (tests/cuda_emulator/) runs blocks on several OS threads, so it takes the
// device's path with a real atomic.
#pragma once

#include <stdint.h>

#include "../field/limb.cuh"

namespace spice {
namespace msm {

// *counter += v; returns the value before.
SPICE_HD uint32_t fetch_add(uint32_t* counter, uint32_t v) {
#if defined(__CUDA_ARCH__) || defined(SPICE_CUDA_EMULATOR)
    return atomicAdd(counter, v);
#else
    uint32_t old = *counter;
    *counter = old + v;
    return old;
#endif
}

}  // namespace msm
}  // namespace spice
