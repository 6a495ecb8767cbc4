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

// An SM's register file (65,536 registers on sm_70 through sm_90) is four files of 16,384, one
// a sub-partition; a block's warps are dealt to the sub-partitions in turn, and a warp's
// registers come from its own sub-partition's file, in units of 256. So a block fits when
// ceil(warps / 4) warps fit one sub-partition's file: the warps the registers allow are a
// multiple of four (the occupancy calculator's warp allocation granularity of 4 from sm_70
// on). Also the threads a block may have at all.
constexpr uint32_t kSubPartitions = 4;
constexpr uint32_t kRegistersPerSubPartition = 65536 / kSubPartitions;
constexpr uint32_t kRegisterAllocationUnit = 256;
constexpr uint32_t kMaxThreadsPerBlock = 1024;

// The most threads a block of this kernel may have: its launch bound, and the whole warps its
// registers leave room for (the number the driver reports as
// CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK).
uint32_t max_threads_per_block(const KernelResources& k);

}  // namespace spice_emulator
