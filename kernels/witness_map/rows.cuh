// The first step of Groth16's witness map, per point of the QAP domain: A*z, B*z and C*z of
// one constraint and whether it holds. The kernel (kernels/witness_map.cu) runs this body
// once per thread; the host simulation (kernels/host_witness_map.cpp) runs it for every
// point in a shuffled order. Both run this exact function, and engine/constraint_eval.rs is
// the reference both are tested against.
//
// A row is a sparse sum of coeff * z[var]. Terms with coefficient 1 or -1 (sums of variables,
// the linear forms of a permutation's lanes) are an addition or a subtraction; every other
// term is one Montgomery product. The CPU evaluator's other shortcuts (values 0 and 1, a B row
// that repeats an earlier A row) save products that a GPU has to spare: an 8-slot ledger
// batch is 739k products this way (610k on the CPU), a few microseconds of an H100's integer
// throughput, below the upload of its 2.2 MB of z. The shape is validated when it is loaded (every var below the assignment's
// length), so the body does no bounds checks.
#pragma once

#include <stdint.h>

#include "../field/fr.cuh"
#include "../field/fr_array.cuh"
#include "../include/spice_layout.h"

namespace spice {
namespace witness {

// Row `row` of matrix `m` (0: A, 1: B, 2: C) evaluated at z.
SPICE_HD fr_t row_value(const spice_witness_map& p, uint32_t m, uint32_t row) {
    const uint32_t begin = p.offsets[m * p.rows + row], end = p.offsets[m * p.rows + row + 1];
    fr_t sum = fr_t::zero();
    for (uint32_t t = begin; t < end; t++) {
        const spice_witness_term term = p.terms[t];
        const fr_t value = fr_array::load(p.z, term.var);
        if (term.coeff == SPICE_WITNESS_COEFF_ONE) {
            sum += value;
        } else if (term.coeff == SPICE_WITNESS_COEFF_MINUS_ONE) {
            sum -= value;
        } else {
            sum += fr_array::load(p.coeff_table, term.coeff) * value;
        }
    }
    return sum;
}

// Writes a[i], b[i], c[i] for point i < domain; returns whether i is a constraint that does
// not hold (the caller lowers first_failure to i).
SPICE_HD bool evaluate_point(const spice_witness_map& p, uint32_t i) {
    fr_t a = fr_t::zero(), b = fr_t::zero(), c = fr_t::zero();
    bool fails = false;
    if (i < p.rows) {
        a = row_value(p, 0, i);
        b = row_value(p, 1, i);
        c = row_value(p, 2, i);
        fails = a * b != c;
    } else if (i - p.rows < p.instance) {
        a = fr_array::load(p.z, i - p.rows);
    }
    fr_array::store(p.a, i, a);
    fr_array::store(p.b, i, b);
    fr_array::store(p.c, i, c);
    return fails;
}

}  // namespace witness
}  // namespace spice
