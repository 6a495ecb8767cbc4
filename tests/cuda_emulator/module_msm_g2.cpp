// Part of the CPU emulation of the CUDA driver (see driver.cpp): the host build of one kernel
// file, and its entry points by name.
#include "../../kernels/msm_g2.cu"
#include "registry.hpp"

SPICE_EMULATED_KERNELS("kernels/msm_g2.cu", SPICE_EMULATED_KERNEL(spice_g2_msm_accumulate_bases_kernel),
                       SPICE_EMULATED_KERNEL(spice_g2_msm_accumulate_partials_kernel),
                       SPICE_EMULATED_KERNEL(spice_g2_msm_bucket_reduce_kernel),
                       SPICE_EMULATED_BLOCK_KERNEL(spice_g2_msm_window_tree_kernel),
                       SPICE_EMULATED_KERNEL(spice_g2_msm_window_copy_kernel));
