// Scalars of an MSM, from arkworks' Montgomery form to the signed window digits Pippenger
// sums by.
//
// Normalisation. A scalar s (canonical, < r) is replaced by r - s when s > (r - 1) / 2, and the
// base is negated instead: witness values such as -1 or -2 then cost what 1 and 2 cost, and
// every normalised scalar is below 2^254. The "negate" flag is kept in bit 255 (always clear
// in a normalised magnitude), so a normalised scalar is still 32 bytes.
//
// Signed (Booth) digits. With v_w the c + 1 bits [wc - 1, wc + c) of s (bit -1 reads as 0),
//     d_w = floor((v_w + 1) / 2) - 2^c * bit(wc + c - 1),
// each digit in [-2^(c-1), 2^(c-1)], and the sum telescopes: sum_w d_w 2^(wc) = s whenever
// s < 2^(Wc - 1). With s < 2^254 that needs Wc >= 255, so W = ceil(255 / c) windows. Each digit
// reads only its own c + 1 bits, with no carry from the window below, so any window's digit is
// computed independently (the scatter recomputes them instead of storing W digits a scalar),
// and the 2^(c-1) magnitudes need 2^(c-1) buckets a window: half of what unsigned digits need.
#pragma once

#include <stdint.h>

#include "../field/fr.cuh"

namespace spice {
namespace msm {

// Bit 63 of limb 3: the base of this scalar enters negated.
constexpr uint64_t NEGATE_BIT = 1ULL << 63;

enum : uint32_t { SCALAR_ZERO = 0, SCALAR_ONE = 1, SCALAR_GENERAL = 2 };

// Limb i of s (i < 4) without indexing the array at a run-time index, which would move it to
// local memory on the device.
SPICE_HD uint64_t limb_at(const uint64_t s[4], uint32_t i) {
    uint64_t v = s[0];
    v = i == 1 ? s[1] : v;
    v = i == 2 ? s[2] : v;
    v = i == 3 ? (s[3] & ~NEGATE_BIT) : v;
    return i < 4 ? v : 0;
}

// Canonical form of x, normalised: s = x or r - x, whichever is at most (r - 1) / 2, with
// NEGATE_BIT set in the second case. (r - 1) / 2 is r >> 1 since r is odd.
SPICE_HD void normalise(uint64_t s[4], const fr_t& x) {
    x.from_mont(s);
    uint64_t half[4], r[4], t[4];
    fr_t::modulus(r);
    SPICE_UNROLL
    for (int i = 0; i < 4; i++) half[i] = (r[i] >> 1) | (i < 3 ? r[i + 1] << 63 : 0);
    if (sub_n<4>(t, half, s)) {  // borrow: s > (r - 1) / 2
        sub_n<4>(s, r, s);
        s[3] |= NEGATE_BIT;
    }
}

SPICE_HD bool is_negated(const uint64_t s[4]) { return (s[3] & NEGATE_BIT) != 0; }

// Zero, +-1, or anything else (after normalisation, so -1 is "one" with the negate flag).
SPICE_HD uint32_t scalar_class(const uint64_t s[4]) {
    if ((s[1] | s[2] | (s[3] & ~NEGATE_BIT)) != 0) return SCALAR_GENERAL;
    return s[0] == 0 ? SCALAR_ZERO : s[0] == 1 ? SCALAR_ONE : SCALAR_GENERAL;
}

// Bits [offset, offset + count) of the magnitude, count <= 32; bits past 255 read as 0.
SPICE_HD uint32_t bits_at(const uint64_t s[4], uint32_t offset, uint32_t count) {
    const uint32_t limb = offset >> 6, shift = offset & 63;
    uint64_t v = limb_at(s, limb) >> shift;
    if (shift + count > 64) v |= limb_at(s, limb + 1) << (64 - shift);  // shift > 0 here
    return (uint32_t)(v & ((1ULL << count) - 1));
}

// The signed digit of window w for windows of c bits (see the top of the file).
SPICE_HD int32_t booth_digit(const uint64_t s[4], uint32_t w, uint32_t c) {
    const uint32_t v = w == 0 ? bits_at(s, 0, c) << 1 : bits_at(s, w * c - 1, c + 1);
    return (int32_t)((v + 1) >> 1) - (int32_t)((v >> c) << c);
}

}  // namespace msm
}  // namespace spice
