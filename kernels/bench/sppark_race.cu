// sppark's side of the arithmetic race (see race.cuh), with sppark's headers: Fr and Fq
// (mont_t), Fq2 (fp2_t, which keeps an element in two adjacent lanes, one coordinate each, so
// its chains run two threads an element) and the G1 XYZZ bucket's mixed addition.
#include <ff/bls12-381-fp2.hpp>
#include <ec/xyzz_t.hpp>

#include "race.cuh"

using spice_race::THREADS;

namespace {

typedef xyzz_t<fp_t> bucket_t;
typedef bucket_t::affine_t affine_t;

static_assert(sizeof(fr_t) == 32 && sizeof(fp_t) == 48 && sizeof(fp2_t::mem_t) == 96, "field layouts");
static_assert(sizeof(affine_t) == 96 && sizeof(bucket_t) == 192, "point layouts");

struct sppark_sqr {
    template <class F>
    __device__ static F of(const F& x) { return sqr(x); }
};

// Thread 2i + c holds coordinate c of element i: mem_t picks it by threadIdx.x & 1, and the
// product's shuffles pair lanes 2i and 2i + 1, which THREADS (even) keeps in one block.
__global__ void __launch_bounds__(THREADS) fq2_chain(const fp2_t::mem_t* a, const fp2_t::mem_t* b, fp2_t::mem_t* out,
                                                     uint32_t n, uint32_t rounds, bool square) {
#ifdef __CUDA_ARCH__  // fp2_t is the two-lane class only in device code
    uint32_t t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= 2 * n) return;
    fp2_t x = a[t / 2];
    const fp2_t y = b[t / 2];
    if (square) {
        for (uint32_t r = 0; r < rounds; r++) x.sqr();  // fp2_t's own; the free sqr() is Fq's
    } else {
        for (uint32_t r = 0; r < rounds; r++) x = x * y;
    }
    out[t / 2] = x;
#endif
}

struct g1_madd_op {
    __device__ static bucket_t start(const affine_t& a) {
        bucket_t x;
        x = a;
        return x;
    }
    __device__ static void step(bucket_t& x, const affine_t& q) { x.add(q); }
};

template <class F>
bool field_chain(bool square, const void* a, const void* b, void* out, uint32_t n, uint32_t rounds) {
    return spice_race::field_chain<F, sppark_sqr>(square, a, b, out, n, rounds);
}

bool launch(uint32_t op, const void* a, const void* b, void* out, uint32_t n, uint32_t rounds) {
    switch (op) {
        case spice_race::FR_MUL: return field_chain<fr_t>(false, a, b, out, n, rounds);
        case spice_race::FR_SQR: return field_chain<fr_t>(true, a, b, out, n, rounds);
        case spice_race::FQ_MUL: return field_chain<fp_t>(false, a, b, out, n, rounds);
        case spice_race::FQ_SQR: return field_chain<fp_t>(true, a, b, out, n, rounds);
        case spice_race::FQ2_MUL:
        case spice_race::FQ2_SQR:
            fq2_chain<<<spice_race::blocks_for(2 * (uint64_t)n), THREADS>>>(
                (const fp2_t::mem_t*)a, (const fp2_t::mem_t*)b, (fp2_t::mem_t*)out, n, rounds,
                op == spice_race::FQ2_SQR);
            return true;
        case spice_race::G1_MADD:
            return spice_race::launch_chain<affine_t, affine_t, bucket_t, g1_madd_op>(a, b, out, n, rounds);
        default: return false;
    }
}

}  // namespace

// One race run on sppark's arithmetic; see spice_race::race for the arguments. The output
// XYZZ point is sppark's layout: X, Y, ZZZ, ZZ.
extern "C" int spice_race_sppark(uint32_t op, uint32_t n, uint32_t rounds, uint32_t runs, const void* a,
                                 size_t a_bytes, const void* b, size_t b_bytes, void* out, size_t out_bytes,
                                 float* median_ms, char* err, size_t err_len) {
    return spice_race::race(launch, op, n, rounds, runs, a, a_bytes, b, b_bytes, out, out_bytes, median_ms, err,
                            err_len);
}
