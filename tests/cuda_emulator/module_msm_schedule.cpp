// Part of the CPU emulation of the CUDA driver (see driver.cpp): the host build of one kernel
// file, and its entry points by name.
#include "../../kernels/msm_schedule.cu"
#include "registry.hpp"

SPICE_EMULATED_KERNELS("kernels/msm_schedule.cu", SPICE_EMULATED_KERNEL(spice_msm_prepare_kernel),
                       SPICE_EMULATED_KERNEL(spice_msm_scan_reduce_kernel),
                       SPICE_EMULATED_BLOCK_KERNEL(spice_msm_scan_segments_kernel),
                       SPICE_EMULATED_KERNEL(spice_msm_scan_apply_kernel),
                       SPICE_EMULATED_KERNEL(spice_msm_scatter_kernel));
