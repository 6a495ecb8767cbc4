// Prints what the emulator reads from each fatbin's sm_90 cubin, a line a kernel:
//   FATBIN NAME REG:r STACK:s SHARED:b MAX_THREADS:t
// scripts/cuda-emulator-selftest.sh compares REG, STACK and SHARED with cuobjdump -res-usage.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <vector>

#include "../cubin.hpp"

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s FATBIN...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        std::ifstream in(argv[i], std::ios::binary);
        std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (!in.eof() && !in) {
            std::fprintf(stderr, "%s: cannot read it\n", argv[i]);
            return 1;
        }
        std::map<std::string, spice_emulator::KernelResources> kernels;
        std::string why;
        if (!spice_emulator::read_kernel_resources(bytes.data(), bytes.size(), 90, kernels, why)) {
            std::fprintf(stderr, "%s: %s\n", argv[i], why.c_str());
            return 1;
        }
        for (const auto& kv : kernels) {
            const spice_emulator::KernelResources& k = kv.second;
            std::printf("%s %s REG:%u STACK:%u SHARED:%llu MAX_THREADS:%u\n", argv[i], kv.first.c_str(), k.registers,
                        k.stack_bytes, (unsigned long long)k.static_shared, spice_emulator::max_threads_per_block(k));
        }
    }
    return 0;
}
