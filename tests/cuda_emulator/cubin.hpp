// What the device's driver reads from a kernel's cubin before it launches it: its registers,
// its launch bound, its stack and static shared memory. The emulator takes them from the
// sm_90 cubin in the fatbin that the backend loads (the SASS an H100 would run), so a launch
// the device would refuse for its resources is refused here too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace spice_emulator {

struct KernelResources {
    // Registers a thread (EIATTR_REGCOUNT).
    uint32_t registers = 0;
    // __launch_bounds__'s maxThreadsPerBlock (EIATTR_MAX_THREADS), 0 when it has none.
    uint32_t launch_bound = 0;
    // Bytes of a thread's stack (EIATTR_MIN_STACK_SIZE), which the driver backs with local memory.
    uint32_t stack_bytes = 0;
    // Bytes of static shared memory a block (the .nv.shared.<kernel> section).
    uint64_t static_shared = 0;
};

// The kernels of the cubin for sm_`arch` inside `fatbin` (`size` bytes), by name. Returns false,
// with the reason in `why`, when the fatbin is malformed or holds no uncompressed cubin for
// that architecture.
bool read_kernel_resources(const unsigned char* fatbin, size_t size, uint32_t arch,
                           std::map<std::string, KernelResources>& kernels, std::string& why);

// The device's register file a block may use (65,536 on sm_70 through sm_90), the registers a
// warp is given at a time (256), and the threads a block may have at all.
constexpr uint32_t kRegistersPerBlock = 65536;
constexpr uint32_t kRegisterAllocationUnit = 256;
constexpr uint32_t kMaxThreadsPerBlock = 1024;

// The most threads a block of this kernel may have: its launch bound, and what its registers
// leave of the register file, in whole warps (the number the driver reports as
// CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK).
uint32_t max_threads_per_block(const KernelResources& k);

}  // namespace spice_emulator
