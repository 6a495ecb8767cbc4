// Host simulations run the threads of a launch one at a time, in an order drawn from a seed, so
// that a result depending on the order (a race on the device) shows up as a difference between
// seeds. Shared by host_arith.cpp (NTT passes) and host_msm.cpp (MSM phases).
#pragma once

#include <stdint.h>

#include <vector>

namespace spice {
namespace host {

// A permutation of 0..n-1 from `state` (splitmix64 driving Fisher-Yates); advances `state`.
inline std::vector<uint32_t> shuffled(uint32_t n, uint64_t& state) {
    std::vector<uint32_t> order(n);
    for (uint32_t i = 0; i < n; i++) order[i] = i;
    for (uint32_t i = n; i > 1; i--) {
        state += 0x9e3779b97f4a7c15ULL;
        uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        uint32_t j = (uint32_t)(z % i);
        uint32_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    return order;
}

}  // namespace host
}  // namespace spice
