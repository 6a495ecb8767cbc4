// Part of the CPU emulation of the CUDA driver (see driver.cpp): the host build of one kernel
// file, and its entry points by name.
#include "../../kernels/arith_selftest.cu"
#include "registry.hpp"

SPICE_EMULATED_KERNELS("kernels/arith_selftest.cu", SPICE_EMULATED_KERNEL(spice_fr_mul_kernel),
                       SPICE_EMULATED_KERNEL(spice_fr_add_sub_kernel), SPICE_EMULATED_KERNEL(spice_fq_mul_kernel),
                       SPICE_EMULATED_KERNEL(spice_fq_inverse_kernel),
                       SPICE_EMULATED_KERNEL(spice_g1_add_mixed_kernel),
                       SPICE_EMULATED_KERNEL(spice_g2_add_mixed_kernel));
