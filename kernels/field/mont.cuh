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
//   m0_word()    -p^{-1} mod 2^32, M0's low word (the factor of the 32-bit word reduction)
//   p(i)         limb i of the modulus
//   one(i)       limb i of R mod p (1 in Montgomery form)
//   r2(i)        limb i of R^2 mod p (multiplying by it converts into Montgomery form)
// Constants are functions, not arrays: nvcc lets device code read a constexpr scalar but not
// index a host constexpr array; after unrolling these calls fold to immediates.
#pragma once

#include "carry_chain.cuh"
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

    // Montgomery product a*b/R mod p: CIOS (operand scanning, one reduction step per word of
    // b) on W = 2N 32-bit words, with the word products paired into multiply-adds on 64-bit
    // register pairs (carry_chain.cuh). The "no-carry" form: p's top word is below 2^31 - 1, so
    // each row's value T stays below 2p and everything fits in W + 1 words (the condition of
    // gnark-crypto that arkworks also checks before taking this path).
    //
    // Why two accumulators. Row i adds a_j*b_i, whose two halves land on words j and j + 1. A
    // register pair holds an even word and the odd word above it, so only the products with j
    // even can be paired in place in one accumulator. X takes those (its pairs start at even
    // word positions of T), and Y takes the products with j odd (its pairs start at odd
    // positions); T = X + Y. The reduction m*p is split the same way, and then word 0 of T is
    // zero and T shifts down a word, which turns X's pairs into odd-positioned ones and Y's into
    // even ones: the two accumulators swap roles every row, which in unrolled code is only a
    // renaming. The one word of X that has no partner after the shift (its old word 1, now at
    // position 0) is L; the next row adds it into the new X's word 0, and that add's carry
    // (weight 2^32, word 1) goes straight into the Y chain, which starts at word 1.
    //
    // Word positions: X[k] is T's word k (k < W); Y[k] is word k (1 <= k <= W); L is word 0.
    // X's carry out of word W - 1 goes into Y[W]; nothing ever carries out of word W, because
    // each accumulator is at most the row's whole value, which is below 2p * 2^32 < 2^(32(W+1)).
    SPICE_HD friend mont_t operator*(const mont_t& a, const mont_t& b) {
        constexpr int W = 2 * N;
        uint32_t x[W], y[W];
        to_words(a.l, x);
        to_words(b.l, y);
        const uint32_t m0 = P::m0_word();
        uint32_t X[W], Y[W + 1], L = 0;
        carry_chain ch;
        SPICE_UNROLL
        for (int i = 0; i < W; i++) {
            const uint32_t bi = y[i];
            if (i == 0) {
                SPICE_UNROLL
                for (int j = 0; j < W; j += 2) ch.mul_wide(X[j], X[j + 1], x[j], bi);
                SPICE_UNROLL
                for (int j = 1; j < W; j += 2) ch.mul_wide(Y[j], Y[j + 1], x[j], bi);
            } else {
                ch.add_cc(X[0], L);
                SPICE_UNROLL
                for (int j = 1; j < W - 1; j += 2) ch.madc_wide_cc(Y[j], Y[j + 1], x[j], bi);
                ch.madc_wide(Y[W - 1], Y[W], x[W - 1], bi);
                ch.mad_wide_cc(X[0], X[1], x[0], bi);
                SPICE_UNROLL
                for (int j = 2; j < W; j += 2) ch.madc_wide_cc(X[j], X[j + 1], x[j], bi);
                ch.addc(Y[W], 0);
            }
            // m makes word 0 of T + m*p zero.
            const uint32_t m = X[0] * m0;
            ch.mad_wide_cc(X[0], X[1], m, p_word(0));
            SPICE_UNROLL
            for (int j = 2; j < W; j += 2) ch.madc_wide_cc(X[j], X[j + 1], m, p_word(j));
            ch.addc(Y[W], 0);
            ch.mad_wide_cc(Y[1], Y[2], m, p_word(1));
            SPICE_UNROLL
            for (int j = 3; j < W - 1; j += 2) ch.madc_wide_cc(Y[j], Y[j + 1], m, p_word(j));
            ch.madc_wide(Y[W - 1], Y[W], m, p_word(W - 1));
            // T /= 2^32: Y becomes the even-positioned accumulator, X the odd one.
            L = X[1];
            uint32_t shifted_x[W];
            SPICE_UNROLL
            for (int k = 0; k < W; k++) shifted_x[k] = Y[k + 1];
            SPICE_UNROLL
            for (int k = 1; k < W - 1; k++) Y[k] = X[k + 1];
            Y[W - 1] = 0;
            Y[W] = 0;
            SPICE_UNROLL
            for (int k = 0; k < W; k++) X[k] = shifted_x[k];
        }
        // T = X + Y + L < 2p < 2^(32W): the sum has no word W.
        ch.add_cc(X[0], L);
        SPICE_UNROLL
        for (int k = 1; k < W - 1; k++) ch.addc_cc(X[k], Y[k]);
        ch.addc(X[W - 1], Y[W - 1]);
        // Subtract p unless that borrows.
        uint32_t s[W], borrow;
        ch.sub_cc(s[0], X[0], p_word(0));
        SPICE_UNROLL
        for (int k = 1; k < W; k++) ch.subc_cc(s[k], X[k], p_word(k));
        ch.subc(borrow, 0, 0);
        SPICE_UNROLL
        for (int k = 0; k < W; k++) s[k] = borrow ? X[k] : s[k];
        mont_t r;
        from_words(s, r.l);
        return r;
    }

    // Word k (32 bits) of the modulus.
    SPICE_HD static constexpr uint32_t p_word(int k) {
        return (uint32_t)(P::p(k / 2) >> (32 * (k % 2)));
    }
    // Limbs as 32-bit words, low word first, and back (free on the device: a 64-bit register
    // is a pair of 32-bit ones).
    SPICE_HD static void to_words(const uint64_t l[N], uint32_t w[2 * N]) {
        SPICE_UNROLL
        for (int i = 0; i < N; i++) {
            w[2 * i] = (uint32_t)l[i];
            w[2 * i + 1] = (uint32_t)(l[i] >> 32);
        }
    }
    SPICE_HD static void from_words(const uint32_t w[2 * N], uint64_t l[N]) {
        SPICE_UNROLL
        for (int i = 0; i < N; i++) l[i] = (uint64_t)w[2 * i] | ((uint64_t)w[2 * i + 1] << 32);
    }

    // Squaring goes through the multiplier. A dedicated squaring (each cross product once,
    // doubled, then a separate reduction) saves products but pays for the doubling and for
    // merging the accumulators: sppark's is 377 SASS instructions for Fq against its own
    // multiplication's 404, and this multiplication with equal operands is already 381
    // (scripts/sass-vs-sppark.sh), so it is not worth the second code path.
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
