// The arithmetic race of benches/arith.rs: the same dependent chain of one operation (x = x*b,
// x = x^2, or a G1 point x = x + b with b affine) run by every thread, once with our headers
// (race_ours.cu) and once with sppark's (sppark_race.cu), under the same launch shape and the
// same timer, for the `bench-sppark` comparison only. Each side supplies only its kernels;
// this header uploads, times and downloads, so the two sides differ in nothing else.
//
// Why chains: each thread's next operation depends on its last, so nothing is hoisted or
// merged across rounds, and with a million threads resident in turn the SMs are kept busy:
// the time is the issue rate of the operation's instructions, which is what the MSM's
// accumulation and the NTT's butterflies are bound by.
#pragma once

#include <cuda_runtime.h>
#include <stdint.h>

#include <algorithm>
#include <vector>

#include "glue_error.hpp"

namespace spice_race {

// Operations, numbered as benches/arith.rs's `Op`.
enum op_t : uint32_t {
    FR_MUL = 0,
    FR_SQR = 1,
    FQ_MUL = 2,
    FQ_SQR = 3,
    FQ2_MUL = 4,
    FQ2_SQR = 5,
    G1_MADD = 6,
    OPS = 7,
};

// Bytes of one element of a, b and out for an operation (the same on both sides: both store
// Montgomery limbs little endian; points as their coordinates in a row).
struct sizes_t {
    size_t a, b, out;
};
inline bool op_sizes(uint32_t op, sizes_t* s) {
    switch (op) {
        case FR_MUL: case FR_SQR: *s = {32, 32, 32}; return true;
        case FQ_MUL: case FQ_SQR: *s = {48, 48, 48}; return true;
        case FQ2_MUL: case FQ2_SQR: *s = {96, 96, 96}; return true;
        case G1_MADD: *s = {96, 96, 192}; return true;  // affine a, affine b, XYZZ out
        default: return false;
    }
}

using spice_glue::describe;

// Launches one chain of `rounds` over `n` elements on the default stream; returns false for
// an operation the side does not have.
typedef bool (*launch_fn)(uint32_t op, const void* a, const void* b, void* out, uint32_t n, uint32_t rounds);

// Threads a block for every kernel of both sides.
constexpr uint32_t THREADS = 256;

inline uint32_t blocks_for(uint64_t threads) { return (uint32_t)((threads + THREADS - 1) / THREADS); }

// The chain of one thread an element, for every operation but sppark's two-lane Fq2: Op
// supplies `static State start(const In&)` and `static void step(State&, const B&)`.
template <class In, class B, class State, class Op>
__global__ void __launch_bounds__(THREADS) chain_kernel(const In* a, const B* b, State* out, uint32_t n, uint32_t rounds) {
    uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    State x = Op::start(a[i]);
    const B y = b[i];
    for (uint32_t r = 0; r < rounds; r++) Op::step(x, y);
    out[i] = x;
}

template <class In, class B, class State, class Op>
bool launch_chain(const void* a, const void* b, void* out, uint32_t n, uint32_t rounds) {
    chain_kernel<In, B, State, Op><<<blocks_for(n), THREADS>>>((const In*)a, (const B*)b, (State*)out, n, rounds);
    return true;
}

// The field chains: x = x * b, and x = x^2 with the side's squaring (Sqr::of).
template <class F>
struct mul_op {
    __device__ static F start(const F& a) { return a; }
    __device__ static void step(F& x, const F& b) { x = x * b; }
};
template <class F, class Sqr>
struct sqr_op {
    __device__ static F start(const F& a) { return a; }
    __device__ static void step(F& x, const F&) { x = Sqr::of(x); }
};
template <class F, class Sqr>
bool field_chain(bool square, const void* a, const void* b, void* out, uint32_t n, uint32_t rounds) {
    return square ? launch_chain<F, F, F, sqr_op<F, Sqr>>(a, b, out, n, rounds)
                  : launch_chain<F, F, F, mul_op<F>>(a, b, out, n, rounds);
}

// Uploads a and b, runs the chain once into out (downloaded for the caller's check), then
// `runs` more times between CUDA events; the median time into *median_ms. 0, or nonzero with
// a message in err.
inline int race(launch_fn launch, uint32_t op, uint32_t n, uint32_t rounds, uint32_t runs, const void* a,
                size_t a_bytes, const void* b, size_t b_bytes, void* out, size_t out_bytes, float* median_ms,
                char* err, size_t err_len) {
    if (err_len) err[0] = 0;
    sizes_t s;
    if (!op_sizes(op, &s)) {
        describe("unknown operation", err, err_len);
        return 1;
    }
    if (n == 0 || a_bytes != s.a * n || b_bytes != s.b * n || out_bytes != s.out * n) {
        describe("buffer sizes do not match the operation and the element count", err, err_len);
        return 1;
    }
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        (void)cudaGetLastError();
        describe("no usable GPU (cudaGetDeviceCount)", err, err_len);
        return 2;
    }
    void *da = nullptr, *db = nullptr, *dout = nullptr;
    cudaEvent_t start = nullptr, stop = nullptr;
    std::vector<float> times;
    cudaError_t e = cudaSuccess;
    auto check = [&](cudaError_t r) { if (e == cudaSuccess) e = r; return e == cudaSuccess; };
    if (check(cudaMalloc(&da, a_bytes)) && check(cudaMalloc(&db, b_bytes)) && check(cudaMalloc(&dout, out_bytes)) &&
        check(cudaMemcpy(da, a, a_bytes, cudaMemcpyHostToDevice)) &&
        check(cudaMemcpy(db, b, b_bytes, cudaMemcpyHostToDevice)) && check(cudaEventCreate(&start)) &&
        check(cudaEventCreate(&stop))) {
        if (!launch(op, da, db, dout, n, rounds)) {
            describe("this side has no kernel for the operation", err, err_len);
            e = cudaErrorInvalidValue;
        } else if (check(cudaGetLastError()) && check(cudaDeviceSynchronize()) &&
                   check(cudaMemcpy(out, dout, out_bytes, cudaMemcpyDeviceToHost))) {
            for (uint32_t r = 0; r < std::max(runs, 1u); r++) {
                float ms = 0;
                if (!(check(cudaEventRecord(start)) && launch(op, da, db, dout, n, rounds) &&
                      check(cudaGetLastError()) && check(cudaEventRecord(stop)) &&
                      check(cudaEventSynchronize(stop)) && check(cudaEventElapsedTime(&ms, start, stop))))
                    break;
                times.push_back(ms);
            }
        }
    }
    if (start) (void)cudaEventDestroy(start);
    if (stop) (void)cudaEventDestroy(stop);
    (void)cudaFree(da);
    (void)cudaFree(db);
    (void)cudaFree(dout);
    if (e != cudaSuccess) {
        if (err_len && err[0] == 0) describe(cudaGetErrorString(e), err, err_len);
        return 3;
    }
    std::sort(times.begin(), times.end());
    *median_ms = times[times.size() / 2];
    return 0;
}

}  // namespace spice_race
