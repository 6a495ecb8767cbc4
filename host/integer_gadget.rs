//! Integers carried as field elements, in the circuit: range checks and comparisons, each
//! with its native twin where the native side needs one.
//!
//! Every gadget here rests on one fact: a value decomposed into `bits < 254` boolean bits
//! whose weighted sum equals it is below 2^bits as an integer (the sum is below r, so it
//! cannot wrap). A comparison shifts a difference into the positive range and reads the top
//! bit of its decomposition.

use ark_bls12_381::Fr;
use ark_ff::{BigInteger, Field, PrimeField};
use ark_r1cs_std::{
    alloc::AllocVar,
    boolean::Boolean,
    eq::EqGadget,
    fields::{fp::FpVar, FieldVar},
    GR1CSVar,
};
use ark_relations::gr1cs::SynthesisError;

/// `2^bits` as a field element.
pub fn power_of_two(bits: usize) -> Fr {
    Fr::from(2u64).pow([bits as u64])
}

/// Decomposes `x` into `bits` little-endian bits, enforcing `x < 2^bits` (`bits` + 1
/// constraints). Unsatisfiable when `x ≥ 2^bits`; apps use it for range checks and
/// comparisons ([`at_least_var`]).
///
/// Requires `bits < 254` (so that `Σ bᵢ·2^i < 2^bits < r` cannot wrap); larger requests are
/// [`SynthesisError::Unsatisfiable`].
pub fn bounded_bits_le(x: &FpVar<Fr>, bits: usize) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    if bits >= Fr::MODULUS_BIT_SIZE as usize - 1 {
        return Err(SynthesisError::Unsatisfiable);
    }
    if let FpVar::Constant(value) = x {
        let value = value.into_bigint();
        if value.num_bits() as usize > bits {
            return Err(SynthesisError::Unsatisfiable);
        }
        return Ok((0..bits)
            .map(|i| Boolean::constant(value.get_bit(i)))
            .collect());
    }
    let cs = x.cs();
    let value = x.value().ok().map(|v| v.into_bigint());
    let decomposition = (0..bits)
        .map(|i| {
            Boolean::new_witness(cs.clone(), || {
                value
                    .map(|v| v.get_bit(i))
                    .ok_or(SynthesisError::AssignmentMissing)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Σ bᵢ·2^i < 2^bits < r: no wrap-around, so equality with x means x < 2^bits.
    super::matrix_free::le_bits_to_fp(&decomposition)?.enforce_equal(x)?;
    Ok(decomposition)
}

/// Whether `a ≥ b`: the native twin of [`at_least_var`].
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
