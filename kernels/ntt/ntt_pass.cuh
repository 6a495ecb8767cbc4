// One pass of the GPU NTT over Fr, written as per-thread phase bodies that the kernel
// (kernels/ntt.cu) runs between barriers and the host simulation (kernels/host_arith.cpp)
// runs over every block and thread in turn. Both run these exact functions.
//
// The algorithm. A radix-2 decimation-in-frequency (DIF) transform of n = 2^L points takes
// natural order in and leaves bit-reversed order out; its transpose, decimation in time
// (DIT), takes bit-reversed in and leaves natural out. A pass covers `k` consecutive stages,
// i.e. index bits [s, s + k): it mixes only elements that agree on every other bit, so one
// block can load such a group of 2^k elements into shared memory, run the k stages there,
// and write them back. The stages are regrouped as a four-step transform (Bailey): for a
// sub-transform of size N = 2^(s+k) whose index is split as i = 2^s * i1 + i2 (i1: the k
// pass bits, i2 = g_low: the s bits below),
//     X[f1 + 2^k f2] = sum_i2 w_{2^s}^(i2 f2) * [ w_N^(i2 f1) * sum_i1 x[2^s i1 + i2] w_{2^k}^(i1 f1) ],
// so a DIF pass is a plain 2^k-point DIF on each group (roots of order 2^k only, a small
// table) followed by one "element twiddle" w_N^(g_low * f1) per element, f1 = rev_k(j) being
// the frequency that in-place DIF leaves at group position j. The DIT pass is the exact
// transpose: element twiddle first, then the 2^k-point DIT, and passes run bottom-up.
//
// Order. The quotient of the prover chains DIT (bit-reversed -> natural) and DIF (natural ->
// bit-reversed) so no permutation is ever needed. A transform that must be natural on both
// sides does its bit reversal inside the pass that touches index bits [0, k) (flag
// SPICE_NTT_BITREV_IO, out of place): the block's groups are g = rev_{L-k}(u) for
// consecutive counters u, and element j of group g has natural index rev_L(j + 2^k g) =
// rev_k(j) * 2^(L-k) + u; so the permuted side moves runs of 2^columns consecutive elements
// while the group side stays contiguous.
//
// Tiles. A block holds 2^columns groups side by side (smem index j * 2^columns + col):
// for a pass with s > 0 the columns are consecutive g_low, so a warp reading one row reads
// consecutive addresses although the group itself is strided by 2^s.
#pragma once

#include <stdint.h>

#include "../field/fr.cuh"
#include "../field/fr_array.cuh"
#include "../include/spice_layout.h"

namespace spice {
namespace ntt {

// x with its low `bits` bits reversed (bits <= 32); 0 for bits == 0.
SPICE_HD uint32_t bit_reverse(uint32_t x, uint32_t bits) {
    if (bits == 0) return 0;
#ifdef __CUDA_ARCH__
    return __brev(x) >> (32 - bits);
#else
    uint32_t r = 0;
    for (uint32_t i = 0; i < bits; i++) r = (r << 1) | ((x >> i) & 1u);
    return r;
#endif
}

// Element moves shared with the other kernels over Fr arrays.
using fr_array::from_layout;
using fr_array::load;
using fr_array::store;

// Whether a parameter block describes a pass these bodies can run (the host simulation
// refuses anything else; the Rust planner only builds valid ones).
SPICE_HD bool pass_is_valid(const spice_ntt_pass& p) {
    const uint32_t k = p.stages, c = p.log_columns, s = p.lo_bit;
    if (p.log_n > 31 || k == 0 || s + k > p.log_n) return false;
    if (k + c > SPICE_NTT_MAX_TILE_LOG) return false;
    if (c > (s > 0 ? s : p.log_n - k)) return false;  // the columns must exist
    if (p.root_log < k || p.root_log > p.log_n || p.split > p.log_n) return false;
    const uint32_t t = p.threads;
    if (t == 0 || (t & (t - 1)) != 0 || t > (1u << (k + c - 1))) return false;
    if ((p.flags & SPICE_NTT_BITREV_IO) && (s != 0 || p.input == p.output)) return false;
    return true;
}

// Where a block's tile lives in the array.
struct tile_t {
    uint32_t log_n, s, k, c, hi;
    bool dit, bitrev;
    uint32_t low_base;   // s > 0: first g_low of the block
    uint32_t high;       // s > 0: the g_high shared by the block's groups
    uint32_t group_base; // s == 0: counter of the block's first group

    SPICE_HD tile_t(const spice_ntt_pass& p, uint32_t block) {
        log_n = p.log_n;
        s = p.lo_bit;
        k = p.stages;
        c = p.log_columns;
        hi = s + k;
        dit = (p.flags & SPICE_NTT_DIT) != 0;
        bitrev = (p.flags & SPICE_NTT_BITREV_IO) != 0;
        if (s > 0) {
            uint32_t low_blocks_log = s - c;
            low_base = (block & ((1u << low_blocks_log) - 1)) << c;
            high = block >> low_blocks_log;
            group_base = 0;
        } else {
            low_base = 0;
            high = 0;
            group_base = block << c;
        }
    }
    SPICE_HD uint32_t elements() const { return 1u << (k + c); }
    SPICE_HD uint32_t g_low(uint32_t col) const { return s > 0 ? low_base + col : 0; }
    // Array position of row j of column col in the in-place layout of the pass.
    SPICE_HD uint32_t position(uint32_t j, uint32_t col) const {
        if (s > 0) return low_base + col + (j << s) + (high << hi);
        uint32_t t = group_base + col;
        uint32_t g = bitrev ? bit_reverse(t, log_n - k) : t;
        return j + (g << k);
    }
    // Natural index of that element when the pass does the bit reversal (s == 0 only).
    SPICE_HD uint32_t permuted(uint32_t j, uint32_t col) const {
        return (bit_reverse(j, k) << (log_n - k)) | (group_base + col);
    }
    // Element e of the tile in the enumeration whose global side is contiguous: columns
    // fastest when consecutive columns are adjacent in memory (s > 0, or the permuted side
    // of a bit-reversing pass), rows fastest when a group is contiguous (s == 0).
    SPICE_HD void element(uint32_t e, bool columns_fastest, uint32_t& j, uint32_t& col) const {
        if (columns_fastest) {
            col = e & ((1u << c) - 1);
            j = e >> c;
        } else {
            j = e & ((1u << k) - 1);
            col = e >> k;
        }
    }
    SPICE_HD static uint32_t slot(uint32_t j, uint32_t col, uint32_t c) { return (j << c) | col; }
};

// omega^e from the split table.
SPICE_HD fr_t split_power(const spice_fr* lo, const spice_fr* hi, uint32_t split, uint32_t e) {
    return load(hi, e >> split) * load(lo, e & ((1u << split) - 1));
}

// The factor applied to element i (natural index) by SPICE_NTT_SCALE / SPICE_NTT_LAMBDA.
SPICE_HD fr_t scale_factor(const spice_ntt_pass& p, uint32_t i) {
    if (p.flags & SPICE_NTT_SCALE) {
        fr_t f = split_power(p.scale_lo, p.scale_hi, p.split, i);
        if (p.flags & SPICE_NTT_LAMBDA) f = f * from_layout(p.lambda);
        return f;
    }
    return from_layout(p.lambda);  // only called when SPICE_NTT_LAMBDA is set
}

// w_{2^(s+k)}^(g_low * rev_k(j)) = omega^(g_low * rev_k(j) * 2^(L-s-k)), the four-step
// twiddle between this pass and the bits below it. g_low < 2^s and rev_k(j) < 2^k, so the
// exponent stays below 2^L.
SPICE_HD fr_t element_twiddle(const spice_ntt_pass& p, const tile_t& t, uint32_t g_low, uint32_t j) {
    uint32_t e = (g_low * bit_reverse(j, t.k)) << (t.log_n - t.hi);
    return split_power(p.twiddle_lo, p.twiddle_hi, p.split, e);
}

SPICE_HD bool needs_scale(const spice_ntt_pass& p) {
    return (p.flags & (SPICE_NTT_SCALE | SPICE_NTT_LAMBDA)) != 0;
}

// Phase 1: global -> shared. DIF applies the scale here (its input is natural order, so the
// read position is the natural index); DIT applies its element twiddle before its stages.
SPICE_HD void load_phase(const spice_ntt_pass& p, uint32_t block, uint32_t thread, fr_t* tile) {
    const tile_t t(p, block);
    const bool permuted_read = t.dit && t.bitrev;
    const bool columns_fastest = t.s > 0 || permuted_read;
    for (uint32_t e = thread; e < t.elements(); e += p.threads) {
        uint32_t j, col;
        t.element(e, columns_fastest, j, col);
        uint32_t from = permuted_read ? t.permuted(j, col) : t.position(j, col);
        fr_t x = load(p.input, from);
        if (!t.dit && needs_scale(p)) x = x * scale_factor(p, from);
        if (t.dit && t.s > 0) x = x * element_twiddle(p, t, t.g_low(col), j);
        tile[tile_t::slot(j, col, t.c)] = x;
    }
}

// Phase 2 (once per stage): the butterflies of stage `stage` (0 <= stage < k) of every group
// in the tile. DIF runs stages k-1 .. 0, DIT 0 .. k-1; the caller passes them in that order.
// Each butterfly pairs rows j and j + 2^stage (bit `stage` of j clear) with the root
// w_{2^(stage+1)}^(j mod 2^stage) = roots[(j mod 2^stage) << (root_log - 1 - stage)].
SPICE_HD void stage_phase(const spice_ntt_pass& p, uint32_t stage, uint32_t block, uint32_t thread, fr_t* tile) {
    const tile_t t(p, block);
    const uint32_t butterflies = t.elements() >> 1;
    const uint32_t below = (1u << stage) - 1;
    for (uint32_t b = thread; b < butterflies; b += p.threads) {
        uint32_t col = b & ((1u << t.c) - 1);
        uint32_t q = b >> t.c;
        uint32_t ju = ((q >> stage) << (stage + 1)) | (q & below);
        uint32_t jv = ju | (1u << stage);
        fr_t w = load(p.roots, (ju & below) << (p.root_log - 1 - stage));
        fr_t& u = tile[tile_t::slot(ju, col, t.c)];
        fr_t& v = tile[tile_t::slot(jv, col, t.c)];
        if (t.dit) {
            fr_t wv = v * w;
            v = u - wv;
            u = u + wv;
        } else {
            fr_t d = u - v;
            u = u + v;
            v = d * w;
        }
    }
}

// Phase 3: shared -> global. DIF applies its element twiddle after its stages; DIT applies
// the scale (its output is natural order, so the write position is the natural index).
SPICE_HD void store_phase(const spice_ntt_pass& p, uint32_t block, uint32_t thread, fr_t* tile) {
    const tile_t t(p, block);
    const bool permuted_write = !t.dit && t.bitrev;
    const bool columns_fastest = t.s > 0 || permuted_write;
    for (uint32_t e = thread; e < t.elements(); e += p.threads) {
        uint32_t j, col;
        t.element(e, columns_fastest, j, col);
        uint32_t to = permuted_write ? t.permuted(j, col) : t.position(j, col);
        fr_t x = tile[tile_t::slot(j, col, t.c)];
        if (!t.dit && t.s > 0) x = x * element_twiddle(p, t, t.g_low(col), j);
        if (t.dit && needs_scale(p)) x = x * scale_factor(p, to);
        store(p.output, to, x);
    }
}

// Number of blocks of a pass: the array holds 2^(L - k - columns) tiles.
SPICE_HD uint32_t pass_blocks(const spice_ntt_pass& p) {
    return 1u << (p.log_n - p.stages - p.log_columns);
}

// The pointwise step of the QAP quotient on the coset: a <- (a * b - c) * z_inv, where z_inv
// is 1 / Z(g w^i) = 1 / (g^n - 1), the same for every point of the coset.
SPICE_HD void quotient_pointwise(spice_fr* a, const spice_fr* b, const spice_fr* c, const spice_fr& z_inv, uint32_t i) {
    fr_t r = (load(a, i) * load(b, i) - load(c, i)) * from_layout(z_inv);
    store(a, i, r);
}

}  // namespace ntt
}  // namespace spice
