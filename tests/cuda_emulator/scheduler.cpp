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

thread_local spice_emulator_builtins spice_emulator_current;

#if defined(__SANITIZE_THREAD__)
__attribute__((no_sanitize("thread"))) spice_emulator_builtins spice_emulator_builtins_now() {
    return spice_emulator_current;
}
#endif

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

#if defined(__SANITIZE_THREAD__)
}  // namespace
}  // namespace spice_emulator
#include <sanitizer/tsan_interface.h>
namespace spice_emulator {
namespace {
// ThreadSanitizer (SPICE_CUDA_EMULATOR_SANITIZE=thread) sees every emulated thread as a fiber
// of its own, grid kernels' threads included. The scheduler switches to a fiber without a
// happens-before edge, so what one thread of a block did is not ordered before what the next
// one does, whatever order they ran in: two threads touching the same word between barriers,
// one of them writing, without an atomic, are reported as a race, as compute-sanitizer's
// racecheck would on the device. The edges a GPU does have are drawn by hand: the block's set-up
// (its shared memory's pattern) before each of its threads, each barrier between the rounds it
// separates, and each thread before the scheduler (a switch back to it synchronises).
//
// The switch itself must not be instrumented: an instrumented wrapper would record its return
// on the stack of the fiber switched to, not on its own.
constexpr bool kRaceChecked = true;
void* race_fiber_new() { return __tsan_create_fiber(0); }
void* race_fiber_current() { return __tsan_get_current_fiber(); }
__attribute__((no_sanitize("thread"), noinline)) void race_switch_to(void* fiber, bool synchronise) {
    __tsan_switch_to_fiber(fiber, synchronise ? 0 : __tsan_switch_to_fiber_no_sync);
}
void race_release(void* token) { __tsan_release(token); }
void race_acquire(void* token) { __tsan_acquire(token); }
#else
constexpr bool kRaceChecked = false;
void* race_fiber_new() { return nullptr; }
void* race_fiber_current() { return nullptr; }
void race_switch_to(void*, bool) {}
void race_release(void*) {}
void race_acquire(void*) {}
#endif

// A suspended fiber (or the scheduler): its saved stack pointer, the callee-saved registers
// being on that stack (see switch_stacks), and AddressSanitizer's fake stack while it is away.
struct Context {
    void* sp = nullptr;
    void* fake_stack = nullptr;
};

// The block an OS thread is running (null between blocks).
struct BlockRun {
    const Grid* grid = nullptr;
    // Whether its threads run as fibers: a block kernel's always, every kernel's under
    // ThreadSanitizer.
    bool fibers = false;
    // Written by the scheduler, read by the fiber it switches to: atomic, so ThreadSanitizer
    // (which orders nothing from the scheduler to a fiber) does not call them races.
    std::atomic<uint32_t> current{0};
    std::atomic<uint32_t> round{0};
    // What the block's threads release at a barrier of round r and acquire when round r + 1
    // resumes them (ThreadSanitizer only; round r + 2 reuses the token, its releases long
    // acquired).
    char barrier_tokens[2] = {};
    void* shared = nullptr;
    Context scheduler;
    void* scheduler_fiber = nullptr;
    // The scheduler's stack, for AddressSanitizer's switch annotations.
    const void* scheduler_bottom = nullptr;
    size_t scheduler_size = 0;
    std::vector<Context> contexts;
    // Set by each fiber as it returns (with relaxed atomics, as `current`).
    std::vector<uint8_t> finished;
};

thread_local BlockRun* active = nullptr;
thread_local std::vector<Stack> stacks;
// ThreadSanitizer's fiber for each stack (the same emulated thread index on this OS thread).
thread_local std::vector<void*> race_fibers;
// Released by the scheduler when a block is set up, acquired first thing by each of its threads.
thread_local char block_start_token;

void enter(const BlockRun& b, uint32_t t) {
    spice_emulator_current.thread_index = unflatten(t, b.grid->threads);
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
    b.current.store(t, std::memory_order_relaxed);
    enter(b, t);
    before_switch(&b.scheduler.fake_stack, stacks[t].bottom(), kStackBytes);
    // Read before ThreadSanitizer is told of the switch: from then on it counts every access
    // as the fiber's.
    void* sp = b.contexts[t].sp;
    race_switch_to(race_fibers[t], false);
    spice_emulator_switch_stacks(&b.scheduler.sp, sp);
    after_switch(b.scheduler.fake_stack, nullptr, nullptr);
}

// Back to the scheduler from thread b.current: at a barrier (it is resumed later), or for good.
// Neither this nor fiber_entry is instrumented by ThreadSanitizer: a fiber's last call here
// never returns, and instrumented, each block would leave two frames on the fiber's shadow call
// stack (a fiber serves one thread index of every block on its OS thread) until it overflowed.
__attribute__((no_sanitize("thread"))) void yield(BlockRun& b, bool done) {
    Context& self = b.contexts[b.current.load(std::memory_order_relaxed)];
    before_switch(done ? nullptr : &self.fake_stack, b.scheduler_bottom, b.scheduler_size);
    void* sp = b.scheduler.sp;
    race_switch_to(b.scheduler_fiber, true);
    spice_emulator_switch_stacks(&self.sp, sp);
    after_switch(self.fake_stack, nullptr, nullptr);
}

// Where a fiber starts (switch_stacks "returns" into it): runs the thread, then leaves.
[[noreturn]] __attribute__((no_sanitize("thread"))) void fiber_entry() {
    race_acquire(&block_start_token);
    BlockRun* b = active;
    after_switch(nullptr, &b->scheduler_bottom, &b->scheduler_size);
    b->grid->body();
    __atomic_store_n(&b->finished[b->current.load(std::memory_order_relaxed)], 1, __ATOMIC_RELAXED);
    yield(*b, true);
    __builtin_unreachable();
}

// A fresh fiber for each of the block's n threads: a stack whose top holds six zero registers
// and fiber_entry as the return address, 16-byte aligned as at a call.
void prepare_fibers(BlockRun& b, uint32_t n) {
    while (stacks.size() < n) stacks.emplace_back();
    if (kRaceChecked) {
        while (race_fibers.size() < n) race_fibers.push_back(race_fiber_new());
        b.scheduler_fiber = race_fiber_current();
    }
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
    b.fibers = g.kernel->block_kernel || kRaceChecked;
    spice_emulator_current.block_index = unflatten(block, g.blocks);
    spice_emulator_current.block_dim = g.threads;
    spice_emulator_current.grid_dim = g.blocks;
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
            b.current.store(t, std::memory_order_relaxed);
            enter(b, t);
            g.body();
        }
    } else {
        prepare_fibers(b, n);
        race_release(&block_start_token);
        // Rounds: every thread still running runs up to its next barrier (or returns).
        std::vector<uint32_t> live = order;
        while (!live.empty()) {
            for (uint32_t t : live) resume(b, t);
            auto finished = [&](uint32_t t) { return __atomic_load_n(&b.finished[t], __ATOMIC_RELAXED) != 0; };
            live.erase(std::remove_if(live.begin(), live.end(), finished), live.end());
            shuffle(live, state);
            b.round.fetch_add(1, std::memory_order_relaxed);
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
            // Relaxed: under ThreadSanitizer a stronger order would order each block before
            // the blocks other OS threads take after it, and hide races between blocks.
            uint32_t i = next_.fetch_add(1, std::memory_order_relaxed);
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
    if (!b->grid->kernel->block_kernel) {
        fatal("__syncthreads in a kernel registered as a grid kernel (SPICE_EMULATED_KERNEL)", b->grid->kernel->name);
    }
    // Everything the block's threads did in this round happens before what any of them does
    // in the next one.
    uint32_t round = b->round.load(std::memory_order_relaxed);
    race_release(&b->barrier_tokens[round % 2]);
    yield(*b, false);
    race_acquire(&b->barrier_tokens[round % 2]);
}

void* spice_emulator_dynamic_shared() {
    using namespace spice_emulator;
    if (active == nullptr) fatal("dynamic shared memory outside a kernel", "?");
    return active->shared;
}
