// A block kernel's dynamic shared memory (sized by the launch), as a typed array `name`.
// nvcc spells it `extern __shared__`; the CPU emulation of the CUDA driver that runs these
// kernels in CI (tests/cuda_emulator/) has no shared storage class and hands each block an
// allocation of exactly the launch's size instead, so a kernel reading past it is caught.
#pragma once

#ifdef SPICE_CUDA_EMULATOR
#define SPICE_DYNAMIC_SHARED(type, name) type* const name = static_cast<type*>(spice_emulator_dynamic_shared())
#else
#define SPICE_DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#endif
