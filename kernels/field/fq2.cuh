// Fq2 = Fq[u]/(u^2 + 1), the field of G2 coordinates; c0 + c1*u laid out as arkworks'
// `QuadExtField { c0, c1 }`. Same operator interface as mont_t, so the curve code is
// written once for G1 and G2.
#pragma once

#include "fq.cuh"

namespace spice {

struct fq2_t {
    fq_t c0, c1;

    SPICE_HD static fq2_t zero() { return {fq_t::zero(), fq_t::zero()}; }
    SPICE_HD static fq2_t one() { return {fq_t::one(), fq_t::zero()}; }

    SPICE_HD bool is_zero() const { return c0.is_zero() & c1.is_zero(); }
    SPICE_HD bool operator==(const fq2_t& b) const { return (c0 == b.c0) & (c1 == b.c1); }
    SPICE_HD bool operator!=(const fq2_t& b) const { return !(*this == b); }

    SPICE_HD friend fq2_t operator+(const fq2_t& a, const fq2_t& b) {
        return {a.c0 + b.c0, a.c1 + b.c1};
    }
    SPICE_HD friend fq2_t operator-(const fq2_t& a, const fq2_t& b) {
        return {a.c0 - b.c0, a.c1 - b.c1};
    }
    SPICE_HD fq2_t operator-() const { return {-c0, -c1}; }
    SPICE_HD fq2_t& operator+=(const fq2_t& b) { return *this = *this + b; }
    SPICE_HD fq2_t& operator-=(const fq2_t& b) { return *this = *this - b; }
    SPICE_HD fq2_t& operator*=(const fq2_t& b) { return *this = *this * b; }
    SPICE_HD fq2_t dbl() const { return {c0.dbl(), c1.dbl()}; }

    // Karatsuba, 3 Fq products: (a0 + a1 u)(b0 + b1 u) = (a0b0 - a1b1) + (a0b1 + a1b0) u and
    // a0b1 + a1b0 = (a0 + a1)(b0 + b1) - a0b0 - a1b1. Not inlined on the device (see
    // SPICE_HD_NOINLINE): the call costs little next to three 6-limb products.
    SPICE_HD_NOINLINE static fq2_t mul(const fq2_t& a, const fq2_t& b) {
        fq_t v0 = a.c0 * b.c0;
        fq_t v1 = a.c1 * b.c1;
        fq_t s = (a.c0 + a.c1) * (b.c0 + b.c1);
        return {v0 - v1, s - v0 - v1};
    }
    SPICE_HD friend fq2_t operator*(const fq2_t& a, const fq2_t& b) { return mul(a, b); }

    // 2 Fq products: (a0 + a1 u)^2 = (a0 + a1)(a0 - a1) + 2 a0 a1 u, using u^2 = -1.
    SPICE_HD_NOINLINE static fq2_t square(const fq2_t& a) {
        fq_t t = a.c0 * a.c1;
        return {(a.c0 + a.c1) * (a.c0 - a.c1), t.dbl()};
    }
    SPICE_HD fq2_t sqr() const { return square(*this); }

    // (a0 + a1 u)^{-1} = (a0 - a1 u) / (a0^2 + a1^2): the norm is in Fq, so one Fq inversion.
    // Zero maps to zero.
    SPICE_HD fq2_t inverse() const {
        fq_t inv = (c0.sqr() + c1.sqr()).inverse();
        return {c0 * inv, -(c1 * inv)};
    }
};

}  // namespace spice
