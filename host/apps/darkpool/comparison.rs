//! Integer comparison in the circuit, with its native twin: `a ≥ b` for bounded integers
//! carried as field elements.

use ark_bls12_381::Fr;
use ark_r1cs_std::{
    boolean::Boolean,
    fields::{fp::FpVar, FieldVar},
};
use ark_relations::gr1cs::SynthesisError;

use super::layout::power_of_two;
use crate::host::storage_gadget::bounded_bits_le;

/// Whether `a ≥ b` (native twin of [`at_least_var`]).
pub fn at_least(a: u64, b: u64) -> bool {
    a >= b
}

/// Whether `a ≥ b`, for `a, b < 2^bits` (`bits + 2` constraints).
///
/// `a − b + 2^bits` lies in `(0, 2^(bits+1))`, so it decomposes into `bits + 1` bits and its
/// top bit is set exactly when `a ≥ b`. The decomposition is unique (below 2^254, no
/// wrap-around), so the Boolean is determined by `a` and `b`: a prover cannot flip it. When
/// the precondition fails the decomposition may not exist: callers pass only values whose
/// range the circuit has already established (unpacked fields, request fields, their sums).
pub fn at_least_var(
    a: &FpVar<Fr>,
    b: &FpVar<Fr>,
    bits: usize,
) -> Result<Boolean<Fr>, SynthesisError> {
    let shifted = a - b + FpVar::constant(power_of_two(bits));
    let decomposition = bounded_bits_le(&shifted, bits + 1)?;
    decomposition
        .get(bits)
        .cloned()
        .ok_or(SynthesisError::Unsatisfiable)
}
