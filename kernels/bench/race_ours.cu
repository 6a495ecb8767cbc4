// Our side of the arithmetic race (see race.cuh): the chains with spice's field and curve
// headers, compiled like the sppark glue (CUDA runtime, Hopper), not one of our kernels.
// Relative includes: the glue's include path is sppark's, whose msm/ and ntt/ would shadow ours.
#include "../curve/g1.cuh"
#include "../field/fq2.cuh"
#include "../field/fr.cuh"
#include "race.cuh"

using namespace spice;

namespace {

static_assert(sizeof(fr_t) == 32 && sizeof(fq_t) == 48 && sizeof(fq2_t) == 96, "field layouts");
static_assert(sizeof(g1_affine_t) == 96 && sizeof(g1_xyzz_t) == 192, "point layouts");

struct our_sqr {
    template <class F>
    __device__ static F of(const F& x) { return x.sqr(); }
};

struct g1_madd_op {
    __device__ static g1_xyzz_t start(const g1_affine_t& a) { return g1_xyzz_t::from_affine(a); }
    __device__ static void step(g1_xyzz_t& x, const g1_affine_t& q) { x = x.add_affine(q); }
};

template <class F>
bool field_chain(bool square, const void* a, const void* b, void* out, uint32_t n, uint32_t rounds) {
    return spice_race::field_chain<F, our_sqr>(square, a, b, out, n, rounds);
}

bool launch(uint32_t op, const void* a, const void* b, void* out, uint32_t n, uint32_t rounds) {
    switch (op) {
        case spice_race::FR_MUL: return field_chain<fr_t>(false, a, b, out, n, rounds);
        case spice_race::FR_SQR: return field_chain<fr_t>(true, a, b, out, n, rounds);
        case spice_race::FQ_MUL: return field_chain<fq_t>(false, a, b, out, n, rounds);
        case spice_race::FQ_SQR: return field_chain<fq_t>(true, a, b, out, n, rounds);
        case spice_race::FQ2_MUL: return field_chain<fq2_t>(false, a, b, out, n, rounds);
        case spice_race::FQ2_SQR: return field_chain<fq2_t>(true, a, b, out, n, rounds);
        case spice_race::G1_MADD:
            return spice_race::launch_chain<g1_affine_t, g1_affine_t, g1_xyzz_t, g1_madd_op>(a, b, out, n, rounds);
        default: return false;
    }
}

}  // namespace

// One race run on our arithmetic; see spice_race::race for the arguments.
extern "C" int spice_race_ours(uint32_t op, uint32_t n, uint32_t rounds, uint32_t runs, const void* a, size_t a_bytes,
                               const void* b, size_t b_bytes, void* out, size_t out_bytes, float* median_ms, char* err,
                               size_t err_len) {
    return spice_race::race(launch, op, n, rounds, runs, a, a_bytes, b, b_bytes, out, out_bytes, median_ms, err,
                            err_len);
}
