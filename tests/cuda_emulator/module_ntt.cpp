// Part of the CPU emulation of the CUDA driver (see driver.cpp): the host build of one kernel
// file, and its entry points by name.
#include "../../kernels/ntt.cu"
#include "registry.hpp"

SPICE_EMULATED_KERNELS("kernels/ntt.cu", SPICE_EMULATED_BLOCK_KERNEL(spice_ntt_pass_kernel),
                       SPICE_EMULATED_KERNEL(spice_quotient_pointwise_kernel));
