// Host build of the kernels' field and curve arithmetic, exposed through `extern "C"` entry
// points for the Rust property tests (tests/kernel_arith.rs, via engine/kernel_host.rs).
// Nothing here runs on the GPU: it is the portable twin of the device code, compiled from the
// same headers, so the tests pin down the algorithms the kernels use.
//
// Conventions: every value is in the layouts of include/spice_layout.h. Functions that can
// fail return 1 on success and 0 on failure (and then write nothing meaningful): inverse of
// zero, a non-canonical integer, a zero Z, an unknown point form. Curve operations take affine
// points, lift each projective input with a caller-chosen Z (so the formulas see Z != 1, as
// they do in an MSM), run the operation in the chosen form and convert back to affine.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <type_traits>
#include <vector>

#include "include/spice_layout.h"
#include "curve/g1.cuh"
#include "curve/g2.cuh"
#include "field/fr.cuh"
#include "host_order.hpp"
#include "ntt/ntt_pass.cuh"

using namespace spice;

namespace {

// Our C++ types and the C layouts are the same bytes by construction; the asserts keep it so.
template <class T, class L>
T load(const L& l) {
    static_assert(sizeof(T) == sizeof(L), "layout mismatch");
    static_assert(std::is_trivially_copyable<T>::value, "not a plain value");
    T t;
    memcpy(&t, &l, sizeof t);
    return t;
}
template <class L, class T>
void store(L* out, const T& t) {
    static_assert(sizeof(T) == sizeof(L), "layout mismatch");
    memcpy(out, &t, sizeof t);
}

// Point forms selectable by the tests; the values are mirrored in engine/kernel_host.rs.
enum : uint32_t { FORM_JACOBIAN = 0, FORM_XYZZ = 1 };

// The affine point a, written with Z = z (z != 0): (x z^2, y z^3, z) or (x z^2, y z^3, z^2, z^3).
template <class C>
jacobian_t<C> lift(const affine_t<C>& a, const typename C::field& z, jacobian_t<C>*) {
    if (a.is_identity()) return jacobian_t<C>::identity();
    auto z2 = z.sqr();
    return {a.x * z2, a.y * z2 * z, z};
}
template <class C>
xyzz_t<C> lift(const affine_t<C>& a, const typename C::field& z, xyzz_t<C>*) {
    if (a.is_identity()) return xyzz_t<C>::identity();
    auto z2 = z.sqr();
    auto z3 = z2 * z;
    return {a.x * z2, a.y * z3, z2, z3};
}
template <class Proj, class C>
Proj lift(const affine_t<C>& a, const typename C::field& z) {
    return lift(a, z, static_cast<Proj*>(nullptr));
}

// Runs op with the projective type for `form`, the way a kernel would be instantiated.
template <class C, class Op>
int with_form(uint32_t form, Op op) {
    switch (form) {
        case FORM_JACOBIAN: return op(static_cast<jacobian_t<C>*>(nullptr));
        case FORM_XYZZ: return op(static_cast<xyzz_t<C>*>(nullptr));
        default: return 0;
    }
}

template <class C, class A, class Z>
int curve_add(uint32_t form, const A* a, const Z* za, const A* b, const Z* zb, A* out) {
    using F = typename C::field;
    F fa = load<F>(*za), fb = load<F>(*zb);
    if (fa.is_zero() || fb.is_zero()) return 0;
    return with_form<C>(form, [&](auto* tag) {
        using P = std::remove_pointer_t<decltype(tag)>;
        P p = lift<P>(load<affine_t<C>>(*a), fa);
        P q = lift<P>(load<affine_t<C>>(*b), fb);
        store(out, (p + q).to_affine());
        return 1;
    });
}

template <class C, class A, class Z>
int curve_add_mixed(uint32_t form, const A* a, const Z* za, const A* b, A* out) {
    using F = typename C::field;
    F fa = load<F>(*za);
    if (fa.is_zero()) return 0;
    return with_form<C>(form, [&](auto* tag) {
        using P = std::remove_pointer_t<decltype(tag)>;
        P p = lift<P>(load<affine_t<C>>(*a), fa);
        store(out, p.add_affine(load<affine_t<C>>(*b)).to_affine());
        return 1;
    });
}

template <class C, class A, class Z>
int curve_double(uint32_t form, const A* a, const Z* za, A* out) {
    using F = typename C::field;
    F fa = load<F>(*za);
    if (fa.is_zero()) return 0;
    return with_form<C>(form, [&](auto* tag) {
        using P = std::remove_pointer_t<decltype(tag)>;
        store(out, lift<P>(load<affine_t<C>>(*a), fa).dbl().to_affine());
        return 1;
    });
}

template <class C, class A, class Z>
int curve_neg(uint32_t form, const A* a, const Z* za, A* out) {
    using F = typename C::field;
    F fa = load<F>(*za);
    if (fa.is_zero()) return 0;
    return with_form<C>(form, [&](auto* tag) {
        using P = std::remove_pointer_t<decltype(tag)>;
        store(out, (-lift<P>(load<affine_t<C>>(*a), fa)).to_affine());
        return 1;
    });
}

// Accumulates n affine points by mixed addition from the identity: an MSM bucket's loop.
template <class C, class A>
int curve_sum_mixed(uint32_t form, const A* pts, size_t n, A* out) {
    return with_form<C>(form, [&](auto* tag) {
        using P = std::remove_pointer_t<decltype(tag)>;
        P acc = P::identity();
        for (size_t i = 0; i < n; i++) acc = acc.add_affine(load<affine_t<C>>(pts[i]));
        store(out, acc.to_affine());
        return 1;
    });
}

}  // namespace

extern "C" {

// ---- NTT: the kernels' pass bodies run over every block and thread ----

// Runs one NTT pass exactly as spice_ntt_pass_kernel would, block by block, with a barrier
// between phases. Blocks, and threads within each phase, run in an order drawn from
// `order_seed`: a pass whose result depended on that order (a race between threads of a
// phase, or between blocks of an in-place pass) would give different results for different
// seeds, which the tests look for. Returns 0 (doing nothing) for an invalid pass.
int spice_host_ntt_pass(const spice_ntt_pass* p, uint64_t order_seed) {
    if (!ntt::pass_is_valid(*p)) return 0;
    uint64_t state = order_seed;
    std::vector<fr_t> tile(size_t(1) << (p->stages + p->log_columns));
    const bool dit = (p->flags & SPICE_NTT_DIT) != 0;
    for (uint32_t block : host::shuffled(ntt::pass_blocks(*p), state)) {
        for (uint32_t t : host::shuffled(p->threads, state)) ntt::load_phase(*p, block, t, tile.data());
        for (uint32_t i = 0; i < p->stages; i++) {
            uint32_t stage = dit ? i : p->stages - 1 - i;
            for (uint32_t t : host::shuffled(p->threads, state)) ntt::stage_phase(*p, stage, block, t, tile.data());
        }
        for (uint32_t t : host::shuffled(p->threads, state)) ntt::store_phase(*p, block, t, tile.data());
    }
    return 1;
}

// spice_quotient_pointwise_kernel's body over i < n.
void spice_host_quotient_pointwise(spice_fr* a, const spice_fr* b, const spice_fr* c, const spice_fr* z_inv, size_t n) {
    for (size_t i = 0; i < n; i++) ntt::quotient_pointwise(a, b, c, *z_inv, (uint32_t)i);
}

// ---- prime fields: fr (4 limbs) and fq (6 limbs) ----

#define SPICE_HOST_PRIME_FIELD(NAME, CTYPE, T)                                              \
    void spice_host_##NAME##_add(const CTYPE* a, const CTYPE* b, CTYPE* out) {              \
        store(out, load<T>(*a) + load<T>(*b));                                              \
    }                                                                                       \
    void spice_host_##NAME##_sub(const CTYPE* a, const CTYPE* b, CTYPE* out) {              \
        store(out, load<T>(*a) - load<T>(*b));                                              \
    }                                                                                       \
    void spice_host_##NAME##_mul(const CTYPE* a, const CTYPE* b, CTYPE* out) {              \
        store(out, load<T>(*a) * load<T>(*b));                                              \
    }                                                                                       \
    void spice_host_##NAME##_sqr(const CTYPE* a, CTYPE* out) { store(out, load<T>(*a).sqr()); } \
    void spice_host_##NAME##_neg(const CTYPE* a, CTYPE* out) { store(out, -load<T>(*a)); }  \
    int spice_host_##NAME##_inverse(const CTYPE* a, CTYPE* out) {                           \
        T x = load<T>(*a);                                                                  \
        if (x.is_zero()) return 0;                                                          \
        store(out, x.inverse());                                                            \
        return 1;                                                                           \
    }                                                                                       \
    /* x: T::N limbs of a canonical integer (< modulus), little endian. */                  \
    int spice_host_##NAME##_to_mont(const uint64_t* x, CTYPE* out) {                        \
        if (!T::is_canonical(x)) return 0;                                                  \
        store(out, T::to_mont(x));                                                          \
        return 1;                                                                           \
    }                                                                                       \
    void spice_host_##NAME##_from_mont(const CTYPE* a, uint64_t* x) { load<T>(*a).from_mont(x); }

SPICE_HOST_PRIME_FIELD(fr, spice_fr, fr_t)
SPICE_HOST_PRIME_FIELD(fq, spice_fq, fq_t)

// ---- fq2 ----

void spice_host_fq2_add(const spice_fq2* a, const spice_fq2* b, spice_fq2* out) {
    store(out, load<fq2_t>(*a) + load<fq2_t>(*b));
}
void spice_host_fq2_sub(const spice_fq2* a, const spice_fq2* b, spice_fq2* out) {
    store(out, load<fq2_t>(*a) - load<fq2_t>(*b));
}
void spice_host_fq2_mul(const spice_fq2* a, const spice_fq2* b, spice_fq2* out) {
    store(out, load<fq2_t>(*a) * load<fq2_t>(*b));
}
void spice_host_fq2_sqr(const spice_fq2* a, spice_fq2* out) { store(out, load<fq2_t>(*a).sqr()); }
void spice_host_fq2_neg(const spice_fq2* a, spice_fq2* out) { store(out, -load<fq2_t>(*a)); }
int spice_host_fq2_inverse(const spice_fq2* a, spice_fq2* out) {
    fq2_t x = load<fq2_t>(*a);
    if (x.is_zero()) return 0;
    store(out, x.inverse());
    return 1;
}

// ---- curves: g1 over fq, g2 over fq2 ----

#define SPICE_HOST_CURVE(NAME, PARAMS, A, Z)                                                \
    int spice_host_##NAME##_add(uint32_t form, const A* a, const Z* za, const A* b,         \
                                const Z* zb, A* out) {                                      \
        return curve_add<PARAMS>(form, a, za, b, zb, out);                                  \
    }                                                                                       \
    int spice_host_##NAME##_add_mixed(uint32_t form, const A* a, const Z* za, const A* b,   \
                                      A* out) {                                             \
        return curve_add_mixed<PARAMS>(form, a, za, b, out);                                \
    }                                                                                       \
    int spice_host_##NAME##_double(uint32_t form, const A* a, const Z* za, A* out) {        \
        return curve_double<PARAMS>(form, a, za, out);                                      \
    }                                                                                       \
    int spice_host_##NAME##_neg(uint32_t form, const A* a, const Z* za, A* out) {           \
        return curve_neg<PARAMS>(form, a, za, out);                                         \
    }                                                                                       \
    int spice_host_##NAME##_sum_mixed(uint32_t form, const A* pts, size_t n, A* out) {      \
        return curve_sum_mixed<PARAMS>(form, pts, n, out);                                  \
    }                                                                                       \
    int spice_host_##NAME##_is_on_curve(const A* a) {                                       \
        return load<affine_t<PARAMS>>(*a).is_on_curve() ? 1 : 0;                            \
    }

SPICE_HOST_CURVE(g1, g1_params, spice_g1_affine, spice_fq)
SPICE_HOST_CURVE(g2, g2_params, spice_g2_affine, spice_fq2)

}  // extern "C"
