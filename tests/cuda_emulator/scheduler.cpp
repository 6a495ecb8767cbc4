// See scheduler.hpp. The order of blocks and of each block's threads is drawn per launch, and a
// block kernel's threads are drawn again after every barrier, so a kernel whose result depends
// on the order its threads run in (a missing atomic, a read of a tile before the barrier that
// publishes it) gives different results from run to run instead of passing by luck.
#include "scheduler.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

thread_local uint3 threadIdx;
thread_local uint3 blockIdx;
thread_local dim3 blockDim;
thread_local dim3 gridDim;

namespace spice_emulator {
namespace {

[[noreturn]] void fatal(const char* what, const char* kernel) {
    std::fprintf(stderr, "spice CUDA emulator: %s (kernel %s)\n", what, kernel);
    std::abort();
}

uint64_t splitmix(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void shuffle(std::vector<uint32_t>& v, uint64_t& state) {
    for (size_t i = v.size(); i > 1; i--) std::swap(v[i - 1], v[splitmix(state) % i]);
}

uint3 unflatten(uint32_t i, dim3 d) {
    return uint3{i % d.x, (i / d.x) % d.y, i / (d.x * d.y)};
}

// A fiber's stack, with a guard page below it so an overflow faults instead of corrupting a
// neighbour. Host builds of the G2 formulas keep a few KiB of field elements on the stack.
constexpr size_t kStackBytes = 256 << 10;
constexpr size_t kGuardBytes = 4096;

struct Stack {
    void* base = nullptr;
    Stack() {
        base = mmap(nullptr, kStackBytes + kGuardBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (base == MAP_FAILED) {
            std::perror("spice CUDA emulator: mmap of a fiber stack");
            std::abort();
        }
        mprotect(base, kGuardBytes, PROT_NONE);
    }
    Stack(const Stack&) = delete;
    Stack(Stack&& o) noexcept : base(o.base) { o.base = nullptr; }
    ~Stack() {
        if (base) munmap(base, kStackBytes + kGuardBytes);
    }
    void* bottom() const { return static_cast<char*>(base) + kGuardBytes; }
};

// A suspended fiber (or the scheduler): its saved stack pointer, the callee-saved registers
// being on that stack (see switch_stacks), and AddressSanitizer's fake stack while it is away.
struct Context {
    void* sp = nullptr;
    void* fake_stack = nullptr;
};

// The block an OS thread is running (null between blocks).
struct BlockRun {
    const Grid* grid = nullptr;
    bool fibers = false;
    uint32_t current = 0;
    void* shared = nullptr;
    Context scheduler;
    // The scheduler's stack, for AddressSanitizer's switch annotations.
    const void* scheduler_bottom = nullptr;
    size_t scheduler_size = 0;
    std::vector<Context> contexts;
    std::vector<uint8_t> finished;
};

thread_local BlockRun* active = nullptr;
thread_local std::vector<Stack> stacks;

void enter(const BlockRun& b, uint32_t t) {
    threadIdx = unflatten(t, b.grid->threads);
}

// Saves the callee-saved registers on the current stack and its pointer in *save, then loads
// `load` and pops its registers: a switch costs a dozen instructions and no system call
// (glibc's swapcontext saves the signal mask with one, twice a barrier a thread).
extern "C" void spice_emulator_switch_stacks(void** save, void* load);
#if !defined(__x86_64__)
#error "the emulator's fiber switch is written for x86-64"
#endif
asm(R"(
    .text
    .p2align 4
    .type spice_emulator_switch_stacks, @function
spice_emulator_switch_stacks:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size spice_emulator_switch_stacks, .-spice_emulator_switch_stacks
)");

#if defined(__SANITIZE_ADDRESS__)
}  // namespace
}  // namespace spice_emulator
#include <sanitizer/common_interface_defs.h>
namespace spice_emulator {
namespace {
// AddressSanitizer tracks which stack is live: it is told before a switch where the next one
// is, and after it that the switch is done (a dying fiber passes no fake-stack slot).
void before_switch(void** fake_stack, const void* bottom, size_t size) {
    __sanitizer_start_switch_fiber(fake_stack, bottom, size);
}
void after_switch(void* fake_stack, const void** old_bottom, size_t* old_size) {
    __sanitizer_finish_switch_fiber(fake_stack, old_bottom, old_size);
}
#else
void before_switch(void**, const void*, size_t) {}
void after_switch(void*, const void**, size_t*) {}
#endif

// Runs thread t of the block until it reaches a barrier or returns.
void resume(BlockRun& b, uint32_t t) {
    b.current = t;
    enter(b, t);
    before_switch(&b.scheduler.fake_stack, stacks[t].bottom(), kStackBytes);
    spice_emulator_switch_stacks(&b.scheduler.sp, b.contexts[t].sp);
    after_switch(b.scheduler.fake_stack, nullptr, nullptr);
}

// Back to the scheduler from thread b.current: at a barrier (it is resumed later), or for good.
void yield(BlockRun& b, bool done) {
    Context& self = b.contexts[b.current];
    before_switch(done ? nullptr : &self.fake_stack, b.scheduler_bottom, b.scheduler_size);
    spice_emulator_switch_stacks(&self.sp, b.scheduler.sp);
    after_switch(self.fake_stack, nullptr, nullptr);
}

// Where a fiber starts (switch_stacks "returns" into it): runs the thread, then leaves.
[[noreturn]] void fiber_entry() {
    BlockRun* b = active;
    after_switch(nullptr, &b->scheduler_bottom, &b->scheduler_size);
    b->grid->body();
    b->finished[b->current] = 1;
    yield(*b, true);
    __builtin_unreachable();
}

// A fresh fiber for each of the block's n threads: a stack whose top holds six zero registers
// and fiber_entry as the return address, 16-byte aligned as at a call.
void prepare_fibers(BlockRun& b, uint32_t n) {
    while (stacks.size() < n) stacks.emplace_back();
    b.contexts.assign(n, Context{});
    b.finished.assign(n, 0);
    for (uint32_t t = 0; t < n; t++) {
        void** top = reinterpret_cast<void**>(static_cast<char*>(stacks[t].bottom()) + kStackBytes);
        void** sp = top - 8;
        for (int i = 0; i < 6; i++) sp[i] = nullptr;
        sp[6] = reinterpret_cast<void*>(&fiber_entry);
        sp[7] = nullptr;
        b.contexts[t].sp = sp;
    }
}

void run_block(const Grid& g, uint32_t block, uint64_t seed) {
    BlockRun b;
    b.grid = &g;
    b.fibers = g.kernel->block_kernel;
    blockIdx = unflatten(block, g.blocks);
    blockDim = g.threads;
    gridDim = g.blocks;
    // Exactly the launch's size (at least one byte, so every block has its own address), in a
    // pattern: the hardware leaves shared memory uninitialised.
    b.shared = std::malloc(g.shared_bytes ? g.shared_bytes : 1);
    std::memset(b.shared, 0xa5, g.shared_bytes ? g.shared_bytes : 1);
    const uint32_t n = g.threads.x * g.threads.y * g.threads.z;
    std::vector<uint32_t> order(n);
    for (uint32_t i = 0; i < n; i++) order[i] = i;
    uint64_t state = seed ^ (uint64_t(block) * 0xd1342543de82ef95ull);
    shuffle(order, state);
    active = &b;
    if (!b.fibers) {
        for (uint32_t t : order) {
            b.current = t;
            enter(b, t);
            g.body();
        }
    } else {
        prepare_fibers(b, n);
        // Rounds: every thread still running runs up to its next barrier (or returns).
        std::vector<uint32_t> live = order;
        while (!live.empty()) {
            for (uint32_t t : live) resume(b, t);
            live.erase(std::remove_if(live.begin(), live.end(), [&](uint32_t t) { return b.finished[t] != 0; }),
                       live.end());
            shuffle(live, state);
        }
    }
    active = nullptr;
    std::free(b.shared);
}

// OS threads that run blocks; the launching thread runs blocks too.
class Pool {
public:
    // Never destroyed: its workers wait on its condition variables until the process exits.
    static Pool& get() {
        static Pool* pool = new Pool;
        return *pool;
    }

    void run(const Grid& g) {
        const uint32_t total = g.blocks.x * g.blocks.y * g.blocks.z;
        std::vector<uint32_t> order(total);
        for (uint32_t i = 0; i < total; i++) order[i] = i;
        uint64_t state = g.seed;
        shuffle(order, state);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            grid_ = &g;
            order_ = &order;
            next_.store(0);
            done_ = 0;
            generation_++;
        }
        wake_.notify_all();
        work();
        std::unique_lock<std::mutex> lock(mutex_);
        finished_.wait(lock, [&] { return done_ == workers_.size(); });
        grid_ = nullptr;
    }

private:
    Pool() {
        unsigned n = std::thread::hardware_concurrency();
        if (const char* v = std::getenv("SPICE_CUDA_EMULATOR_THREADS")) n = unsigned(std::strtoul(v, nullptr, 10));
        if (n == 0) n = 1;
        for (unsigned i = 1; i < n; i++) {
            workers_.emplace_back([this] { loop(); });
            workers_.back().detach();
        }
    }

    void loop() {
        uint64_t seen = 0;
        for (;;) {
            {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, [&] { return generation_ != seen; });
                seen = generation_;
            }
            work();
            {
                std::lock_guard<std::mutex> lock(mutex_);
                done_++;
            }
            finished_.notify_all();
        }
    }

    void work() {
        const Grid& g = *grid_;
        for (;;) {
            uint32_t i = next_.fetch_add(1);
            if (i >= order_->size()) return;
            run_block(g, (*order_)[i], g.seed + i);
        }
    }

    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_, finished_;
    const Grid* grid_ = nullptr;
    const std::vector<uint32_t>* order_ = nullptr;
    std::atomic<uint32_t> next_{0};
    size_t done_ = 0;
    uint64_t generation_ = 0;
};

}  // namespace

void run_grid(const Grid& grid) {
    Pool::get().run(grid);
}

}  // namespace spice_emulator

void __syncthreads() {
    using namespace spice_emulator;
    BlockRun* b = active;
    if (b == nullptr) fatal("__syncthreads outside a kernel", "?");
    if (!b->fibers) fatal("__syncthreads in a kernel registered as a grid kernel (SPICE_EMULATED_KERNEL)", b->grid->kernel->name);
    yield(*b, false);
}

void* spice_emulator_dynamic_shared() {
    using namespace spice_emulator;
    if (active == nullptr) fatal("dynamic shared memory outside a kernel", "?");
    return active->shared;
}
