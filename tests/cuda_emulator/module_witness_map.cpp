// Part of the CPU emulation of the CUDA driver (see driver.cpp): the host build of one kernel
// file, and its entry points by name.
#include "../../kernels/witness_map.cu"
#include "registry.hpp"

SPICE_EMULATED_KERNELS("kernels/witness_map.cu", SPICE_EMULATED_KERNEL(spice_witness_map_kernel));
