// A CPU emulation of the part of the CUDA driver API that engine/cuda/ calls, built as a
// `libcuda.so` (scripts/cuda-emulator.sh) so the GPU tests run the real CUDA backend, with
// the kernels of kernels/*.cu compiled for the host, on a machine without a GPU. It tests our
// glue and the kernels' indexing, barriers and launch shapes, not the device: it has no PTX
// carry chains (the host arithmetic runs instead), no timing worth reading and no memory model
// beyond what is described here. Its device calls itself "spice CUDA emulator (CPU, not a
// GPU)", and nothing measured on it is a GPU figure.
//
// What it refuses or breaks on, as the device would:
// - calls before cuInit or without a current context; handles never made or destroyed
//   (streams, events, modules, functions);
// - copies and memsets that leave the allocation they start in, or that reach an allocation
//   freed since they were queued; frees of unknown pointers; allocations beyond the emulated
//   memory (SPICE_CUDA_EMULATOR_MEMORY_MIB, default 2048);
// - launches with empty or oversized grids or blocks, more dynamic shared memory than the
//   kernel was allowed (48 KiB without cuFuncSetAttribute, the device's opt-in at most), or a
//   kernel that the loaded image does not contain;
// - a block with more threads than the kernel's registers or launch bound allow ("too many
//   resources requested for launch"): the registers, launch bounds, stack and static shared
//   memory come from the image's sm_90 cubin (cubin.hpp), and an image without one is refused,
//   where the driver would compile the PTX;
// - ordering: work queued on a stream runs only when the host must see it (a synchronisation
//   of the stream or of an event recorded on it, a copy into host memory, a free, an unload),
//   so host code that reads results before waiting for them sees stale data. New device memory
//   and shared memory are filled with a pattern, not zeros.
// Built with a sanitizer (scripts/cuda-emulator.sh), the kernels run under it: AddressSanitizer
// bounds each block's shared memory to the launch's size; ThreadSanitizer sees each emulated
// thread as a fiber and reports races between them (scheduler.cpp).
#include <cuda.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cubin.hpp"
#include "registry.hpp"
#include "scheduler.hpp"

namespace spice_emulator {

// ---- Kernel registry (filled by the module_*.cpp static initialisers) ----

namespace {

std::map<std::string, KernelEntry>& registry() {
    static std::map<std::string, KernelEntry> kernels;
    return kernels;
}

}  // namespace

bool register_kernels(const char*, std::initializer_list<KernelEntry> kernels) {
    for (const KernelEntry& k : kernels) registry().emplace(k.name, k);
    return true;
}

const KernelEntry* find_kernel(const char* name) {
    auto it = registry().find(name);
    return it == registry().end() ? nullptr : &it->second;
}

namespace {

// ---- The device ----

// engine/cuda/mod.rs recognises the emulator by this name (EMULATED_DEVICE_PREFIX).
constexpr const char* kDeviceName = "spice CUDA emulator (CPU, not a GPU)";
constexpr int kMultiprocessors = 4;
// An H100's opt-in limit (227 KiB); 48 KiB without opting in.
constexpr int kSharedOptin = 232448;
constexpr int kSharedDefault = 48 << 10;
// The compute capability it reports, and so the cubin it reads a kernel's resources from.
constexpr int kComputeMajor = 9, kComputeMinor = 0;

size_t emulated_memory() {
    size_t mib = 2048;
    if (const char* v = std::getenv("SPICE_CUDA_EMULATOR_MEMORY_MIB")) mib = std::strtoull(v, nullptr, 10);
    return mib << 20;
}

using Op = std::function<CUresult()>;

struct Stream {
    std::mutex queue_mutex;
    std::deque<std::pair<uint64_t, Op>> queue;
    uint64_t next_seq = 1;
    // Held while queued work runs, so a stream's operations run in order.
    std::mutex run_mutex;
    // The first failure of queued work, returned by every later synchronisation (the driver's
    // errors from asynchronous work are sticky too).
    CUresult failure = CUDA_SUCCESS;
};

struct Event {
    std::mutex mutex;
    bool recorded = false;
    bool complete = false;
    std::shared_ptr<Stream> stream;
    uint64_t seq = 0;
    std::chrono::steady_clock::time_point time;
};

struct Module {
    // The cubin's kernels, each with its resources.
    std::map<std::string, KernelResources> kernels;
};

struct Function {
    const KernelEntry* kernel;
    CUmodule module;
    KernelResources resources;
    int max_dynamic_shared = kSharedDefault;
};

struct State {
    std::mutex mutex;
    bool initialised = false;
    int primary_retains = 0;
    size_t memory = emulated_memory();
    size_t allocated = 0;
    std::map<uintptr_t, size_t> allocations;
    std::map<void*, std::shared_ptr<Stream>> streams;
    std::map<void*, std::shared_ptr<Event>> events;
    std::map<void*, std::unique_ptr<Module>> modules;
    std::map<void*, std::unique_ptr<Function>> functions;
    std::shared_ptr<Stream> legacy = std::make_shared<Stream>();
    // One operation at a time runs on the emulated device (its grid uses every core).
    std::mutex device;
    std::atomic<uint64_t> launches{0};
};

State& state() {
    static State s;
    return s;
}

// The primary context's handle: any non-null address that no other handle has.
int primary_context_tag;
CUcontext primary() { return reinterpret_cast<CUcontext>(&primary_context_tag); }
thread_local CUcontext current = nullptr;

bool verbose() {
    static const bool v = std::getenv("SPICE_CUDA_EMULATOR_VERBOSE") != nullptr;
    return v;
}

// SPICE_CUDA_EMULATOR_TRACE=1 prints every copy, memset and launch as it is queued.
bool tracing() {
    static const bool v = std::getenv("SPICE_CUDA_EMULATOR_TRACE") != nullptr;
    return v;
}

// `describe` builds the message only when tracing is on: copies and launches are frequent.
template <class Describe>
void trace(const void* stream, Describe describe) {
    if (tracing()) std::fprintf(stderr, "spice CUDA emulator: stream %p: %s\n", stream, describe().c_str());
}

CUresult fail(CUresult r, const std::string& why) {
    if (verbose()) std::fprintf(stderr, "spice CUDA emulator: error %d: %s\n", int(r), why.c_str());
    return r;
}

// The thread orders differ from run to run (fresh, like the tests' inputs); the seed is
// printed once, and SPICE_CUDA_EMULATOR_SEED repeats a run's orders.
uint64_t order_seed() {
    static const uint64_t seed = [] {
        uint64_t v;
        if (const char* e = std::getenv("SPICE_CUDA_EMULATOR_SEED")) {
            v = std::strtoull(e, nullptr, 0);
        } else {
            v = uint64_t(std::chrono::steady_clock::now().time_since_epoch().count()) ^ (uint64_t(getpid()) << 32);
        }
        std::fprintf(stderr, "spice CUDA emulator: thread orders from SPICE_CUDA_EMULATOR_SEED=%llu\n", (unsigned long long)v);
        return v;
    }();
    return seed;
}

// Most calls need cuInit and a current context (the primary one, retained).
CUresult ready(State& s) {
    if (!s.initialised) return fail(CUDA_ERROR_NOT_INITIALIZED, "cuInit was not called");
    if (current != primary() || s.primary_retains == 0) return fail(CUDA_ERROR_INVALID_CONTEXT, "no current context");
    return CUDA_SUCCESS;
}

// The allocation containing [ptr, ptr + bytes), under s.mutex.
bool in_allocation(const State& s, uintptr_t ptr, size_t bytes) {
    auto it = s.allocations.upper_bound(ptr);
    if (it == s.allocations.begin()) return false;
    --it;
    return ptr >= it->first && bytes <= it->second && ptr - it->first <= it->second - bytes;
}

std::shared_ptr<Stream> find_stream(State& s, CUstream h) {
    if (h == nullptr || h == CU_STREAM_LEGACY) return s.legacy;
    auto it = s.streams.find(h);
    return it == s.streams.end() ? nullptr : it->second;
}

std::shared_ptr<Event> find_event(State& s, CUevent h) {
    auto it = s.events.find(h);
    return it == s.events.end() ? nullptr : it->second;
}

// The start of most stream and event calls, under s.mutex: a current context and a known
// handle, else the error `call` returns.
CUresult ready_stream(State& s, CUstream h, const char* call, std::shared_ptr<Stream>& out) {
    if (CUresult r = ready(s)) return r;
    out = find_stream(s, h);
    return out ? CUDA_SUCCESS : fail(CUDA_ERROR_INVALID_HANDLE, std::string(call) + " on an unknown stream");
}

CUresult ready_event(State& s, CUevent h, const char* call, std::shared_ptr<Event>& out) {
    if (CUresult r = ready(s)) return r;
    out = find_event(s, h);
    return out ? CUDA_SUCCESS : fail(CUDA_ERROR_INVALID_HANDLE, std::string(call) + " of an unknown event");
}

uint64_t enqueue(Stream& st, Op op) {
    std::lock_guard<std::mutex> lock(st.queue_mutex);
    uint64_t seq = st.next_seq++;
    st.queue.emplace_back(seq, std::move(op));
    return seq;
}

// Runs the stream's queued work up to and including `upto` (everything when 0).
CUresult flush(Stream& st, uint64_t upto = 0) {
    std::lock_guard<std::mutex> run(st.run_mutex);
    for (;;) {
        Op op;
        {
            std::lock_guard<std::mutex> lock(st.queue_mutex);
            if (st.queue.empty() || (upto != 0 && st.queue.front().first > upto)) break;
            op = std::move(st.queue.front().second);
            st.queue.pop_front();
        }
        CUresult r;
        {
            std::lock_guard<std::mutex> device(state().device);
            r = op();
        }
        if (r != CUDA_SUCCESS && st.failure == CUDA_SUCCESS) st.failure = r;
    }
    return st.failure;
}

// Every stream's queued work (before frees and unloads, which wait for the device).
CUresult flush_all(State& s) {
    std::vector<std::shared_ptr<Stream>> all;
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        all.push_back(s.legacy);
        for (auto& kv : s.streams) all.push_back(kv.second);
    }
    CUresult first = CUDA_SUCCESS;
    for (auto& st : all) {
        CUresult r = flush(*st);
        if (first == CUDA_SUCCESS) first = r;
    }
    return first;
}

// A queued copy or memset re-checks its ranges when it runs: the buffer may have been freed.
CUresult still_allocated(uintptr_t ptr, size_t bytes, const char* what) {
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (!in_allocation(s, ptr, bytes)) return fail(CUDA_ERROR_ILLEGAL_ADDRESS, std::string(what) + " reached freed memory");
    return CUDA_SUCCESS;
}

// The errors the emulator returns, by name and text (the driver's texts, marked as ours).
struct ErrorText {
    CUresult code;
    const char* name;
    const char* text;
};
constexpr ErrorText kErrors[] = {
    {CUDA_SUCCESS, "CUDA_SUCCESS", "no error"},
    {CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument (spice CUDA emulator)"},
    {CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory (spice CUDA emulator)"},
    {CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error (spice CUDA emulator)"},
    {CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal (spice CUDA emulator)"},
    {CUDA_ERROR_INVALID_IMAGE, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid (spice CUDA emulator)"},
    {CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context (spice CUDA emulator)"},
    {CUDA_ERROR_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle (spice CUDA emulator)"},
    {CUDA_ERROR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found (spice CUDA emulator)"},
    {CUDA_ERROR_NOT_READY, "CUDA_ERROR_NOT_READY", "device not ready (spice CUDA emulator)"},
    {CUDA_ERROR_ILLEGAL_ADDRESS, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered (spice CUDA emulator)"},
    {CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch (spice CUDA emulator)"},
    {CUDA_ERROR_NO_BINARY_FOR_GPU, "CUDA_ERROR_NO_BINARY_FOR_GPU", "no kernel image is available for execution on the device (spice CUDA emulator)"},
    {CUDA_ERROR_NOT_SUPPORTED, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported (spice CUDA emulator)"},
};

CUresult describe_error(CUresult error, const char** out, bool text) {
    if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
    for (const ErrorText& e : kErrors) {
        if (e.code == error) {
            *out = text ? e.text : e.name;
            return CUDA_SUCCESS;
        }
    }
    *out = nullptr;
    return CUDA_ERROR_INVALID_VALUE;
}

// The common start of a queued copy or memset: a context, a known stream, and each device
// range [ptr, ptr + bytes) inside one allocation.
CUresult queue_target(CUstream stream, std::initializer_list<uintptr_t> ranges, size_t bytes, const char* what,
                      std::shared_ptr<Stream>& st) {
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (CUresult r = ready_stream(s, stream, what, st)) return r;
    for (uintptr_t ptr : ranges) {
        if (!in_allocation(s, ptr, bytes)) return fail(CUDA_ERROR_INVALID_VALUE, std::string(what) + " leaves its allocation");
    }
    return CUDA_SUCCESS;
}

}  // namespace
}  // namespace spice_emulator

using namespace spice_emulator;

// Everything else is built hidden (scripts/cuda-emulator.sh), so the host build of the kernels
// in here never binds to the test binary's own host build (tests/kernel_*.rs), which differs in
// its atomics.
#pragma GCC visibility push(default)
extern "C" {

CUresult cuInit(unsigned int flags) {
    if (flags != 0) return fail(CUDA_ERROR_INVALID_VALUE, "cuInit flags must be 0");
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    s.initialised = true;
    return CUDA_SUCCESS;
}

CUresult cuGetErrorName(CUresult error, const char** out) {
    return describe_error(error, out, false);
}

CUresult cuGetErrorString(CUresult error, const char** out) {
    return describe_error(error, out, true);
}

CUresult cuDeviceGetCount(int* count) {
    if (count == nullptr) return CUDA_ERROR_INVALID_VALUE;
    if (!state().initialised) return fail(CUDA_ERROR_NOT_INITIALIZED, "cuDeviceGetCount before cuInit");
    *count = 1;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice* device, int ordinal) {
    if (device == nullptr) return CUDA_ERROR_INVALID_VALUE;
    if (!state().initialised) return fail(CUDA_ERROR_NOT_INITIALIZED, "cuDeviceGet before cuInit");
    if (ordinal != 0) return fail(CUDA_ERROR_INVALID_DEVICE, "only device 0");
    *device = 0;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char* name, int len, CUdevice device) {
    if (name == nullptr || len <= 0) return CUDA_ERROR_INVALID_VALUE;
    if (device != 0) return CUDA_ERROR_INVALID_DEVICE;
    std::snprintf(name, size_t(len), "%s", kDeviceName);
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetAttribute(int* value, CUdevice_attribute attribute, CUdevice device) {
    if (value == nullptr) return CUDA_ERROR_INVALID_VALUE;
    if (device != 0) return CUDA_ERROR_INVALID_DEVICE;
    switch (attribute) {
        case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *value = kComputeMajor; break;
        case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *value = kComputeMinor; break;
        case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *value = kMultiprocessors; break;
        case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: *value = kSharedOptin; break;
        case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *value = int(kMaxThreadsPerBlock); break;
        case CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK: *value = int(kRegistersPerSubPartition * kSubPartitions); break;
        case CU_DEVICE_ATTRIBUTE_WARP_SIZE: *value = 32; break;
        default: return fail(CUDA_ERROR_INVALID_VALUE, "attribute " + std::to_string(int(attribute)) + " is not emulated");
    }
    return CUDA_SUCCESS;
}

CUresult cuDeviceTotalMem_v2(size_t* bytes, CUdevice device) {
    if (bytes == nullptr) return CUDA_ERROR_INVALID_VALUE;
    if (device != 0) return CUDA_ERROR_INVALID_DEVICE;
    *bytes = state().memory;
    return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRetain(CUcontext* ctx, CUdevice device) {
    if (ctx == nullptr) return CUDA_ERROR_INVALID_VALUE;
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (!s.initialised) return fail(CUDA_ERROR_NOT_INITIALIZED, "cuDevicePrimaryCtxRetain before cuInit");
    if (device != 0) return CUDA_ERROR_INVALID_DEVICE;
    s.primary_retains++;
    *ctx = primary();
    return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRelease_v2(CUdevice device) {
    if (device != 0) return CUDA_ERROR_INVALID_DEVICE;
    State& s = state();
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        if (s.primary_retains == 0) return fail(CUDA_ERROR_INVALID_CONTEXT, "primary context released more often than retained");
    }
    flush_all(s);
    std::lock_guard<std::mutex> lock(s.mutex);
    s.primary_retains--;
    return CUDA_SUCCESS;
}

CUresult cuCtxSetCurrent(CUcontext ctx) {
    if (ctx != nullptr && ctx != primary()) return fail(CUDA_ERROR_INVALID_CONTEXT, "not the primary context");
    current = ctx;
    return CUDA_SUCCESS;
}

CUresult cuStreamCreate(CUstream* stream, unsigned int flags) {
    if (stream == nullptr || (flags & ~unsigned(CU_STREAM_NON_BLOCKING)) != 0) return CUDA_ERROR_INVALID_VALUE;
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (CUresult r = ready(s)) return r;
    auto st = std::make_shared<Stream>();
    *stream = reinterpret_cast<CUstream>(st.get());
    s.streams.emplace(st.get(), st);
    return CUDA_SUCCESS;
}

CUresult cuStreamDestroy_v2(CUstream stream) {
    State& s = state();
    std::shared_ptr<Stream> st;
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        if (CUresult r = ready(s)) return r;
        auto it = s.streams.find(stream);
        if (it == s.streams.end()) return fail(CUDA_ERROR_INVALID_HANDLE, "cuStreamDestroy of an unknown stream");
        st = it->second;
        s.streams.erase(it);
    }
    // Work queued before the destroy still completes.
    flush(*st);
    return CUDA_SUCCESS;
}

CUresult cuStreamSynchronize(CUstream stream) {
    State& s = state();
    std::shared_ptr<Stream> st;
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        if (CUresult r = ready_stream(s, stream, "cuStreamSynchronize", st)) return r;
    }
    return flush(*st);
}

CUresult cuModuleLoadData(CUmodule* module, const void* image) {
    if (module == nullptr || image == nullptr) return CUDA_ERROR_INVALID_VALUE;
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (CUresult r = ready(s)) return r;
    // A fatbin: magic 0xBA55ED50, a 16-bit version, a 16-bit header size, a 64-bit body size.
    const unsigned char* bytes = static_cast<const unsigned char*>(image);
    uint32_t magic;
    uint16_t header;
    uint64_t body;
    std::memcpy(&magic, bytes, 4);
    std::memcpy(&header, bytes + 6, 2);
    std::memcpy(&body, bytes + 8, 8);
    if (magic != 0xBA55ED50u) return fail(CUDA_ERROR_INVALID_IMAGE, "the image is not a fatbin");
    auto m = std::make_unique<Module>();
    std::string why;
    uint32_t arch = uint32_t(kComputeMajor * 10 + kComputeMinor);
    if (!read_kernel_resources(bytes, size_t(header) + size_t(body), arch, m->kernels, why)) {
        // The driver would compile the PTX; without the cubin the emulator cannot tell what the
        // device would launch (build with sm_90 in SPICE_CUDA_GENCODE).
        return fail(CUDA_ERROR_NO_BINARY_FOR_GPU, why);
    }
    if (verbose()) {
        for (const auto& kv : m->kernels) {
            std::fprintf(stderr, "spice CUDA emulator: %s: %u registers, %u bytes of stack, at most %u threads a block\n",
                         kv.first.c_str(), kv.second.registers, kv.second.stack_bytes, max_threads_per_block(kv.second));
        }
    }
    *module = reinterpret_cast<CUmodule>(m.get());
    s.modules.emplace(m.get(), std::move(m));
    return CUDA_SUCCESS;
}

CUresult cuModuleGetFunction(CUfunction* function, CUmodule module, const char* name) {
    if (function == nullptr || name == nullptr) return CUDA_ERROR_INVALID_VALUE;
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (CUresult r = ready(s)) return r;
    auto it = s.modules.find(module);
    if (it == s.modules.end()) return fail(CUDA_ERROR_INVALID_HANDLE, "cuModuleGetFunction on an unknown module");
    auto resources = it->second->kernels.find(name);
    if (resources == it->second->kernels.end()) return fail(CUDA_ERROR_NOT_FOUND, std::string("no kernel ") + name + " in the module");
    const KernelEntry* k = find_kernel(name);
    if (k == nullptr) {
        return fail(CUDA_ERROR_NOT_FOUND, std::string("kernel ") + name + " is in the image, but the emulator does not build it (add it to a module_*.cpp)");
    }
    auto f = std::make_unique<Function>(Function{k, module, resources->second});
    *function = reinterpret_cast<CUfunction>(f.get());
    s.functions.emplace(f.get(), std::move(f));
    return CUDA_SUCCESS;
}

CUresult cuModuleUnload(CUmodule module) {
    State& s = state();
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        if (CUresult r = ready(s)) return r;
        if (!s.modules.count(module)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuModuleUnload of an unknown module");
    }
    flush_all(s);
    std::lock_guard<std::mutex> lock(s.mutex);
    s.modules.erase(module);
    for (auto it = s.functions.begin(); it != s.functions.end();) {
        it = it->second->module == module ? s.functions.erase(it) : std::next(it);
    }
    return CUDA_SUCCESS;
}

CUresult cuFuncSetAttribute(CUfunction function, CUfunction_attribute attribute, int value) {
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (CUresult r = ready(s)) return r;
    auto it = s.functions.find(function);
    if (it == s.functions.end()) return fail(CUDA_ERROR_INVALID_HANDLE, "cuFuncSetAttribute on an unknown function");
    if (attribute != CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES) return fail(CUDA_ERROR_INVALID_VALUE, "attribute not emulated");
    if (value < 0 || value > kSharedOptin) return fail(CUDA_ERROR_INVALID_VALUE, "more dynamic shared memory than the device's opt-in");
    it->second->max_dynamic_shared = value;
    return CUDA_SUCCESS;
}

// What the driver reports of a kernel, from its cubin.
CUresult cuFuncGetAttribute(int* value, CUfunction_attribute attribute, CUfunction function) {
    if (value == nullptr) return CUDA_ERROR_INVALID_VALUE;
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (CUresult r = ready(s)) return r;
    auto it = s.functions.find(function);
    if (it == s.functions.end()) return fail(CUDA_ERROR_INVALID_HANDLE, "cuFuncGetAttribute on an unknown function");
    const Function& f = *it->second;
    switch (attribute) {
        case CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *value = int(max_threads_per_block(f.resources)); break;
        case CU_FUNC_ATTRIBUTE_NUM_REGS: *value = int(f.resources.registers); break;
        case CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES: *value = int(f.resources.stack_bytes); break;
        case CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES: *value = int(f.resources.static_shared); break;
        case CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES: *value = f.max_dynamic_shared; break;
        case CU_FUNC_ATTRIBUTE_BINARY_VERSION: *value = kComputeMajor * 10 + kComputeMinor; break;
        default: return fail(CUDA_ERROR_NOT_SUPPORTED, "function attribute " + std::to_string(int(attribute)) + " is not emulated");
    }
    return CUDA_SUCCESS;
}

CUresult cuMemAlloc_v2(CUdeviceptr* ptr, size_t bytes) {
    if (ptr == nullptr || bytes == 0) return CUDA_ERROR_INVALID_VALUE;
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (CUresult r = ready(s)) return r;
    if (bytes > s.memory - s.allocated) return fail(CUDA_ERROR_OUT_OF_MEMORY, std::to_string(bytes) + " bytes");
    void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
    if (p == nullptr) return fail(CUDA_ERROR_OUT_OF_MEMORY, "host allocation failed");
    std::memset(p, 0x5a, bytes);
    s.allocations.emplace(reinterpret_cast<uintptr_t>(p), bytes);
    s.allocated += bytes;
    *ptr = CUdeviceptr(reinterpret_cast<uintptr_t>(p));
    return CUDA_SUCCESS;
}

CUresult cuMemFree_v2(CUdeviceptr ptr) {
    State& s = state();
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        if (CUresult r = ready(s)) return r;
        if (!s.allocations.count(uintptr_t(ptr))) return fail(CUDA_ERROR_INVALID_VALUE, "cuMemFree of an address cuMemAlloc did not return");
    }
    // Freeing waits for the device, as the driver's does.
    flush_all(s);
    std::lock_guard<std::mutex> lock(s.mutex);
    auto it = s.allocations.find(uintptr_t(ptr));
    if (it == s.allocations.end()) return fail(CUDA_ERROR_INVALID_VALUE, "freed twice");
    s.allocated -= it->second;
    s.allocations.erase(it);
    std::free(reinterpret_cast<void*>(uintptr_t(ptr)));
    return CUDA_SUCCESS;
}

CUresult cuMemGetInfo_v2(size_t* free, size_t* total) {
    if (free == nullptr || total == nullptr) return CUDA_ERROR_INVALID_VALUE;
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (CUresult r = ready(s)) return r;
    *free = s.memory - s.allocated;
    *total = s.memory;
    return CUDA_SUCCESS;
}

// Host-to-device copies from pageable memory take the host bytes at the call (the driver
// stages them); the device write is queued.
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t bytes, CUstream stream) {
    if (bytes == 0) return CUDA_SUCCESS;
    if (src == nullptr) return CUDA_ERROR_INVALID_VALUE;
    std::shared_ptr<Stream> st;
    if (CUresult r = queue_target(stream, {uintptr_t(dst)}, bytes, "a host-to-device copy", st)) return r;
    trace(stream, [&] { return "host-to-device copy of " + std::to_string(bytes) + " bytes"; });
    auto staged = std::make_shared<std::vector<unsigned char>>(static_cast<const unsigned char*>(src),
                                                               static_cast<const unsigned char*>(src) + bytes);
    enqueue(*st, [=]() -> CUresult {
        if (CUresult r = still_allocated(uintptr_t(dst), bytes, "a host-to-device copy")) return r;
        std::memcpy(reinterpret_cast<void*>(uintptr_t(dst)), staged->data(), bytes);
        return CUDA_SUCCESS;
    });
    return CUDA_SUCCESS;
}

// Device-to-host copies into pageable memory return once the copy is done: the stream's
// earlier work runs first.
CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t bytes, CUstream stream) {
    if (bytes == 0) return CUDA_SUCCESS;
    if (dst == nullptr) return CUDA_ERROR_INVALID_VALUE;
    std::shared_ptr<Stream> st;
    if (CUresult r = queue_target(stream, {uintptr_t(src)}, bytes, "a device-to-host copy", st)) return r;
    trace(stream, [&] { return "device-to-host copy of " + std::to_string(bytes) + " bytes"; });
    uint64_t seq = enqueue(*st, [=]() -> CUresult {
        if (CUresult r = still_allocated(uintptr_t(src), bytes, "a device-to-host copy")) return r;
        std::memcpy(dst, reinterpret_cast<const void*>(uintptr_t(src)), bytes);
        return CUDA_SUCCESS;
    });
    return flush(*st, seq);
}

CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream) {
    if (bytes == 0) return CUDA_SUCCESS;
    std::shared_ptr<Stream> st;
    if (CUresult r = queue_target(stream, {uintptr_t(dst), uintptr_t(src)}, bytes, "a device-to-device copy", st)) return r;
    trace(stream, [&] { return "device-to-device copy of " + std::to_string(bytes) + " bytes"; });
    enqueue(*st, [=]() -> CUresult {
        if (CUresult r = still_allocated(uintptr_t(dst), bytes, "a device-to-device copy")) return r;
        if (CUresult r = still_allocated(uintptr_t(src), bytes, "a device-to-device copy")) return r;
        std::memmove(reinterpret_cast<void*>(uintptr_t(dst)), reinterpret_cast<const void*>(uintptr_t(src)), bytes);
        return CUDA_SUCCESS;
    });
    return CUDA_SUCCESS;
}

CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char value, size_t count, CUstream stream) {
    if (count == 0) return CUDA_SUCCESS;
    std::shared_ptr<Stream> st;
    if (CUresult r = queue_target(stream, {uintptr_t(dst)}, count, "a memset", st)) return r;
    trace(stream, [&] { return "memset of " + std::to_string(count) + " bytes"; });
    enqueue(*st, [=]() -> CUresult {
        if (CUresult r = still_allocated(uintptr_t(dst), count, "a memset")) return r;
        std::memset(reinterpret_cast<void*>(uintptr_t(dst)), value, count);
        return CUDA_SUCCESS;
    });
    return CUDA_SUCCESS;
}

CUresult cuLaunchKernel(CUfunction function, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx,
                        unsigned int by, unsigned int bz, unsigned int shared_bytes, CUstream stream, void** params,
                        void** extra) {
    State& s = state();
    std::shared_ptr<Stream> st;
    Grid grid;
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        if (CUresult r = ready(s)) return r;
        auto it = s.functions.find(function);
        if (it == s.functions.end()) return fail(CUDA_ERROR_INVALID_HANDLE, "launch of an unknown function");
        const Function& f = *it->second;
        if (CUresult r = ready_stream(s, stream, "a launch", st)) return r;
        // The messages are built only on failure: launches are frequent.
        const std::string_view name = f.kernel->name;
        auto refuse = [&](CUresult r, const std::string& why) { return fail(r, std::string(name) + ": " + why); };
        auto shape = [](unsigned x, unsigned y, unsigned z) { return std::to_string(x) + "x" + std::to_string(y) + "x" + std::to_string(z); };
        if (extra != nullptr) return refuse(CUDA_ERROR_INVALID_VALUE, "`extra` parameters are not emulated");
        if (params == nullptr) return refuse(CUDA_ERROR_INVALID_VALUE, "no kernel parameters");
        if (gx == 0 || gy == 0 || gz == 0 || gx > 0x7fffffffu || gy > 65535 || gz > 65535) {
            return refuse(CUDA_ERROR_INVALID_VALUE, "grid " + shape(gx, gy, gz));
        }
        uint64_t block = uint64_t(bx) * by * bz;
        if (bx == 0 || by == 0 || bz == 0 || bz > 64 || block > uint64_t(kMaxThreadsPerBlock)) {
            return refuse(CUDA_ERROR_INVALID_VALUE, "block " + shape(bx, by, bz));
        }
        if (block > max_threads_per_block(f.resources)) {
            return refuse(CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES,
                          "a block of " + std::to_string(block) + " threads; its " + std::to_string(f.resources.registers) +
                              " registers a thread and launch bound (" +
                              (f.resources.launch_bound ? std::to_string(f.resources.launch_bound) : std::string("none")) +
                              ") allow " + std::to_string(max_threads_per_block(f.resources)));
        }
        if (int64_t(shared_bytes) > f.max_dynamic_shared) {
            return refuse(CUDA_ERROR_INVALID_VALUE, std::to_string(shared_bytes) + " bytes of dynamic shared memory, " +
                                                        std::to_string(f.max_dynamic_shared) + " allowed");
        }
        grid.kernel = f.kernel;
        grid.body = f.kernel->bind(params);
        grid.blocks = dim3{gx, gy, gz};
        grid.threads = dim3{bx, by, bz};
        grid.shared_bytes = shared_bytes;
        grid.seed = order_seed() + s.launches.fetch_add(1) * 0x9e3779b97f4a7c15ull;
    }
    trace(stream, [&] {
        return std::string("launch of ") + grid.kernel->name + " on " + std::to_string(gx) + " blocks of " + std::to_string(bx) +
               " threads, " + std::to_string(shared_bytes) + " bytes of shared memory";
    });
    enqueue(*st, [grid]() -> CUresult {
        run_grid(grid);
        return CUDA_SUCCESS;
    });
    return CUDA_SUCCESS;
}

CUresult cuEventCreate(CUevent* event, unsigned int flags) {
    if (event == nullptr) return CUDA_ERROR_INVALID_VALUE;
    (void)flags;
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (CUresult r = ready(s)) return r;
    auto e = std::make_shared<Event>();
    *event = reinterpret_cast<CUevent>(e.get());
    s.events.emplace(e.get(), e);
    return CUDA_SUCCESS;
}

CUresult cuEventRecord(CUevent event, CUstream stream) {
    State& s = state();
    std::shared_ptr<Event> e;
    std::shared_ptr<Stream> st;
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        if (CUresult r = ready_event(s, event, "cuEventRecord", e)) return r;
        if (CUresult r = ready_stream(s, stream, "cuEventRecord", st)) return r;
    }
    std::lock_guard<std::mutex> lock(e->mutex);
    e->recorded = true;
    e->complete = false;
    e->stream = st;
    e->seq = enqueue(*st, [e]() -> CUresult {
        std::lock_guard<std::mutex> lock(e->mutex);
        e->complete = true;
        e->time = std::chrono::steady_clock::now();
        return CUDA_SUCCESS;
    });
    return CUDA_SUCCESS;
}

CUresult cuEventSynchronize(CUevent event) {
    State& s = state();
    std::shared_ptr<Event> e;
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        if (CUresult r = ready_event(s, event, "cuEventSynchronize", e)) return r;
    }
    std::shared_ptr<Stream> st;
    uint64_t seq;
    {
        std::lock_guard<std::mutex> lock(e->mutex);
        if (!e->recorded) return CUDA_SUCCESS;
        st = e->stream;
        seq = e->seq;
    }
    return flush(*st, seq);
}

CUresult cuEventQuery(CUevent event) {
    State& s = state();
    std::shared_ptr<Event> e;
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        if (CUresult r = ready_event(s, event, "cuEventQuery", e)) return r;
    }
    std::lock_guard<std::mutex> lock(e->mutex);
    return !e->recorded || e->complete ? CUDA_SUCCESS : CUDA_ERROR_NOT_READY;
}

CUresult cuEventElapsedTime(float* ms, CUevent start, CUevent stop) {
    if (ms == nullptr) return CUDA_ERROR_INVALID_VALUE;
    State& s = state();
    std::shared_ptr<Event> a, b;
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        if (CUresult r = ready_event(s, start, "cuEventElapsedTime", a)) return r;
        if (CUresult r = ready_event(s, stop, "cuEventElapsedTime", b)) return r;
    }
    std::scoped_lock lock(a->mutex, b->mutex);
    if (!a->recorded || !b->recorded) return fail(CUDA_ERROR_INVALID_HANDLE, "cuEventElapsedTime of an event never recorded");
    if (!a->complete || !b->complete) return CUDA_ERROR_NOT_READY;
    *ms = std::chrono::duration<float, std::milli>(b->time - a->time).count();
    return CUDA_SUCCESS;
}

// CUDA 12.8's name for the same call (the backend takes whichever the driver exports).
CUresult cuEventElapsedTime_v2(float* ms, CUevent start, CUevent stop) {
    return cuEventElapsedTime(ms, start, stop);
}

CUresult cuEventDestroy_v2(CUevent event) {
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (CUresult r = ready(s)) return r;
    // A record still queued keeps its event alive until it has run.
    if (s.events.erase(event) == 0) return fail(CUDA_ERROR_INVALID_HANDLE, "cuEventDestroy of an unknown event");
    return CUDA_SUCCESS;
}

}  // extern "C"
#pragma GCC visibility pop
