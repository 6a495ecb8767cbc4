// The kernels the emulator can launch, registered by name from the translation units that
// compile kernels/*.cu for the host (module_*.cpp). cuLaunchKernel hands over an array of
// pointers to the arguments; a registered kernel copies them out by its own parameter types at
// launch (the caller's locals they point at are gone when a queued launch runs).
#pragma once

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <tuple>
#include <type_traits>
#include <utility>

namespace spice_emulator {

// One thread's body of a launch, its arguments bound; the scheduler sets the built-ins first.
using BoundKernel = std::function<void()>;

struct KernelEntry {
    const char* name;
    // May call __syncthreads: its threads run as fibers, one block at a time.
    bool block_kernel;
    BoundKernel (*bind)(void** params);
};

// Adds a kernel file's entry points; returns true (for a static initialiser).
bool register_kernels(const char* source, std::initializer_list<KernelEntry> kernels);

// The registered entry named `name`, or nullptr.
const KernelEntry* find_kernel(const char* name);

template <class... A, std::size_t... I>
std::tuple<std::decay_t<A>...> copy_arguments(void** params, std::index_sequence<I...>) {
    return std::tuple<std::decay_t<A>...>(*static_cast<const std::decay_t<A>*>(params[I])...);
}

template <auto Kernel, class F = decltype(Kernel)>
struct Binder;

template <auto Kernel, class... A>
struct Binder<Kernel, void (*)(A...)> {
    static BoundKernel bind(void** params) {
        return [arguments = copy_arguments<A...>(params, std::index_sequence_for<A...>{})]() {
            std::apply(Kernel, arguments);
        };
    }
};

}  // namespace spice_emulator

// A grid kernel (no __syncthreads): its threads run one after another, in a shuffled order.
#define SPICE_EMULATED_KERNEL(name) \
    spice_emulator::KernelEntry { #name, false, &spice_emulator::Binder<&name>::bind }
// A block kernel: its threads are fibers that __syncthreads suspends.
#define SPICE_EMULATED_BLOCK_KERNEL(name) \
    spice_emulator::KernelEntry { #name, true, &spice_emulator::Binder<&name>::bind }
#define SPICE_EMULATED_KERNELS(source, ...) \
    static const bool spice_emulated_kernels_registered = spice_emulator::register_kernels(source, {__VA_ARGS__})
