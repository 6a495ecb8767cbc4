// Prime field arithmetic in Montgomery form over N 64-bit limbs, for any modulus p whose top
// limb is below 2^63 - 1 (both BLS12-381 fields: 255 and 381 bits).
//
// Representation: a is stored as a*R mod p with R = 2^(64N), fully reduced, limbs little
// endian -- exactly arkworks' `Fp<MontBackend<_, N>, N>`, so values are exchanged by copy.
// Every operation takes and returns fully reduced values; results are therefore canonical and
// compare bit-for-bit with arkworks.
//
// P supplies the constants (see fr.cuh, fq.cuh):
//   N            number of limbs
//   M0           -p^{-1} mod 2^64 (the Montgomery reduction factor)
//   p(i)         limb i of the modulus
//   one(i)       limb i of R mod p (1 in Montgomery form)
//   r2(i)        limb i of R^2 mod p (multiplying by it converts into Montgomery form)
// Constants are functions, not arrays: nvcc lets device code read a constexpr scalar but not
// index a host constexpr array; after unrolling these calls fold to immediates.
#pragma once

#include "limb.cuh"

namespace spice {

template <class P>
struct mont_t {
    static constexpr int N = P::N;
    uint64_t l[N];

    SPICE_HD static mont_t zero() {
        mont_t r;
        SPICE_UNROLL
        for (int i = 0; i < N; i++) r.l[i] = 0;
        return r;
    }
    SPICE_HD static mont_t one() {
        mont_t r;
        SPICE_UNROLL
        for (int i = 0; i < N; i++) r.l[i] = P::one(i);
        return r;
    }
    SPICE_HD static void modulus(uint64_t m[N]) {
        SPICE_UNROLL
        for (int i = 0; i < N; i++) m[i] = P::p(i);
    }

    SPICE_HD bool is_zero() const {
        uint64_t acc = 0;
        SPICE_UNROLL
        for (int i = 0; i < N; i++) acc |= l[i];
        return acc == 0;
    }
    SPICE_HD bool operator==(const mont_t& b) const {
        uint64_t acc = 0;
        SPICE_UNROLL
        for (int i = 0; i < N; i++) acc |= l[i] ^ b.l[i];
        return acc == 0;
    }
    SPICE_HD bool operator!=(const mont_t& b) const { return !(*this == b); }

    // Subtracts p from t if t >= p. Callers guarantee t < 2p, so the result is < p.
    SPICE_HD static void reduce_once(uint64_t t[N]) {
        uint64_t p[N], s[N];
        modulus(p);
        uint64_t borrow = sub_n<N>(s, t, p);
        select_n<N>(t, 0 - borrow, t, s);  // borrow: t < p already
    }

    // a + b < 2p < 2^(64N) (p's top bit is clear), so the sum never carries out of N limbs.
    SPICE_HD friend mont_t operator+(mont_t a, const mont_t& b) {
        add_n<N>(a.l, a.l, b.l);
        reduce_once(a.l);
        return a;
    }
    // a - b, adding p back when it borrowed (a - b + p is then in (0, p)).
    SPICE_HD friend mont_t operator-(mont_t a, const mont_t& b) {
        uint64_t borrow = sub_n<N>(a.l, a.l, b.l);
        uint64_t p[N];
        SPICE_UNROLL
        for (int i = 0; i < N; i++) p[i] = P::p(i) & (0 - borrow);
        add_n<N>(a.l, a.l, p);
        return a;
    }
    SPICE_HD mont_t& operator+=(const mont_t& b) { return *this = *this + b; }
    SPICE_HD mont_t& operator-=(const mont_t& b) { return *this = *this - b; }
    SPICE_HD mont_t& operator*=(const mont_t& b) { return *this = *this * b; }

    SPICE_HD mont_t dbl() const { return *this + *this; }

    // -a; zero stays zero (p - 0 = p would not be reduced).
    SPICE_HD mont_t operator-() const {
        uint64_t p[N];
        modulus(p);
        mont_t r;
        sub_n<N>(r.l, p, l);
        uint64_t nz = 0 - (uint64_t)!is_zero();
        SPICE_UNROLL
        for (int i = 0; i < N; i++) r.l[i] &= nz;
        return r;
    }

    // Montgomery product a*b/R mod p: CIOS (operand scanning, reduction interleaved row by
    // row) without the extra carry word. Dropping that word is valid because p's top limb is
    // below 2^63 - 1: each row's running value then stays below 2p < 2^(64N), so the final
    // "C + A" of a row cannot overflow one limb (the "no-carry" condition of gnark-crypto,
    // which arkworks also checks before taking this path). With a, b < p the result is < 2p
    // before the last conditional subtraction.
    SPICE_HD friend mont_t operator*(const mont_t& a, const mont_t& b) {
        uint64_t t[N];
        SPICE_UNROLL
        for (int i = 0; i < N; i++) t[i] = 0;
        SPICE_UNROLL
        for (int i = 0; i < N; i++) {
            uint64_t A, C, discard;
            mac(A, t[0], a.l[0], b.l[i], t[0], 0);
            // m makes t[0] + m*p[0] divisible by 2^64: that limb is shifted out.
            uint64_t m = t[0] * P::M0;
            mac(C, discard, m, P::p(0), t[0], 0);
            SPICE_UNROLL
            for (int j = 1; j < N; j++) {
                mac(A, t[j], a.l[j], b.l[i], t[j], A);
                mac(C, t[j - 1], m, P::p(j), t[j], C);
            }
            t[N - 1] = C + A;
        }
        reduce_once(t);
        mont_t r;
        SPICE_UNROLL
        for (int i = 0; i < N; i++) r.l[i] = t[i];
        return r;
    }

    // Squaring goes through the multiplier. A dedicated squaring (each cross product once,
    // then doubled) saves about N(N-1)/2 limb products; worth it once the MSM profile says so.
    SPICE_HD mont_t sqr() const { return *this * *this; }

    // a^e for an exponent given as E little-endian limbs; left-to-right square and multiply.
    // Exponents used here are public constants, so the branch is uniform across a warp.
    template <int E>
    SPICE_HD mont_t pow(const uint64_t e[E]) const {
        mont_t r = one();
        bool started = false;
        SPICE_UNROLL  // E is small; a constant limb index keeps e[] in registers
        for (int i = E - 1; i >= 0; i--) {
            SPICE_NO_UNROLL
            for (int b = 63; b >= 0; b--) {
                if (started) r = r.sqr();
                if ((e[i] >> b) & 1) {
                    r = started ? r * *this : *this;
                    started = true;
                }
            }
        }
        return r;
    }

    // a^{-1} = a^(p-2) (Fermat); zero maps to zero, so callers test is_zero() when it
    // matters. Costs about log2(p) squarings: meant for the few inversions at the end of an
    // MSM (to affine), not for inner loops (batch them there with Montgomery's trick).
    SPICE_HD mont_t inverse() const {
        uint64_t e[N];
        modulus(e);
        e[0] -= 2;  // p is odd and p[0] > 2 for our moduli: no borrow into limb 1
        return pow<N>(e);
    }

    // Canonical integer x (< p, not checked here) into Montgomery form: x * R^2 / R.
    SPICE_HD static mont_t to_mont(const uint64_t x[N]) {
        mont_t a, r2;
        SPICE_UNROLL
        for (int i = 0; i < N; i++) {
            a.l[i] = x[i];
            r2.l[i] = P::r2(i);
        }
        return a * r2;
    }
    // Montgomery form back to the canonical integer: a * 1 / R.
    SPICE_HD void from_mont(uint64_t x[N]) const {
        mont_t unit = zero();
        unit.l[0] = 1;
        mont_t r = *this * unit;
        SPICE_UNROLL
        for (int i = 0; i < N; i++) x[i] = r.l[i];
    }
    // Whether the integer x is below p (a valid canonical representative).
    SPICE_HD static bool is_canonical(const uint64_t x[N]) {
        uint64_t p[N], s[N];
        modulus(p);
        return sub_n<N>(s, x, p) == 1;
    }
};

}  // namespace spice
