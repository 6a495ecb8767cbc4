//! Keys compared in the circuit, in the order of [`key_order`] (the
//! integer order on `[0, r)`): the audit proves its final state strictly increasing with it.
//!
//! # Halves, not a canonical decomposition
//!
//! A key is allocated as 255 bits, `K = hi·2^128 + lo` with `hi < 2^127` and `lo < 2^128`,
//! and the field element is `K mod r`. Comparisons are on K (two 128-bit halves, so every
//! difference of halves is far from wrapping around r). K < r is **not** implied by the bits
//! (2^255 > r): [`enforce_canonical`] checks it, and a caller that compares a strictly
//! increasing sequence needs it only for the sequence's *last* element — every earlier K is
//! smaller, hence below r too, hence the canonical integer of its key. This is what makes a
//! key cost its 255 bits and no more (arkworks' strict `to_bits_le` costs 568 constraints).

use std::cmp::Ordering;

use ark_bls12_381::Fr;
use ark_ff::{BigInteger, Field, PrimeField};
use ark_r1cs_std::{
    alloc::AllocVar,
    boolean::Boolean,
    eq::EqGadget,
    fields::{fp::FpVar, FieldVar},
    GR1CSVar,
};
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};

use super::{integer_gadget::bounded_bits_le, store::key_order};

/// Bits in the low half of a key, `K = hi·2^128 + lo`.
pub const KEY_LOW_BITS: usize = 128;
/// Bits in the high half of a key: 127 + 128 = 255 = bits of r.
pub const KEY_HIGH_BITS: usize = Fr::MODULUS_BIT_SIZE as usize - KEY_LOW_BITS;

/// A key in the circuit with its integer halves (255 boolean constraints). The halves are
/// below 2^128 by construction, which [`enforce_key_order`] relies on; K < r is not implied
/// (see the module docs).
#[derive(Clone, Debug)]
pub struct KeyVar {
    /// `K mod r`, the key itself.
    pub key: FpVar<Fr>,
    /// `K >> 128`, below 2^127.
    pub hi: FpVar<Fr>,
    /// `K mod 2^128`.
    pub lo: FpVar<Fr>,
}

impl KeyVar {
    /// Allocates `key`'s canonical bits as a witness (a cheating prover may instead supply the
    /// bits of `key + r`, which is why [`enforce_canonical`] exists).
    pub fn new_witness(cs: &ConstraintSystemRef<Fr>, key: Fr) -> Result<Self, SynthesisError> {
        let bits = key.into_bigint();
        let alloc = |range: std::ops::Range<usize>| {
            range
                .map(|i| Boolean::new_witness(cs.clone(), || Ok(bits.get_bit(i))))
                .collect::<Result<Vec<_>, _>>()
        };
        // Two halves, each shorter than r's 255 bits: `le_bits_to_fp` then adds no in-field
        // check (which is what we want: see the module docs).
        let lo = super::matrix_free::le_bits_to_fp(&alloc(0..KEY_LOW_BITS)?)?;
        let hi =
            super::matrix_free::le_bits_to_fp(&alloc(KEY_LOW_BITS..KEY_LOW_BITS + KEY_HIGH_BITS)?)?;
        Ok(Self {
            key: recompose(&hi, &lo),
            hi,
            lo,
        })
    }

    /// The halves, as [`enforce_key_order`] takes them.
    pub fn halves(&self) -> (&FpVar<Fr>, &FpVar<Fr>) {
        (&self.hi, &self.lo)
    }
}

/// `hi·2^128 + lo` (free: a linear combination).
pub fn recompose(hi: &FpVar<Fr>, lo: &FpVar<Fr>) -> FpVar<Fr> {
    hi * Fr::from(2u64).pow([KEY_LOW_BITS as u64]) + lo
}

/// r's halves `(r >> 128, r mod 2^128)`.
fn modulus_halves() -> (Fr, Fr) {
    let limbs = Fr::MODULUS.0;
    let lo = Fr::from(u128::from(limbs[0]) | (u128::from(limbs[1]) << 64));
    let hi = Fr::from(u128::from(limbs[2]) | (u128::from(limbs[3]) << 64));
    (hi, lo)
}

/// Where `enabled` holds, enforces `a < b` on the integers `hi·2^128 + lo` — or `a ≤ b`
/// where also `allow_equal` holds (130 constraints; fewer with constant operands). Every
/// half must be below 2^128 (as [`KeyVar`]'s are).
///
/// The prover supplies `s = [a_hi < b_hi]`; the circuit enforces
/// `enabled·(s ? b_hi − a_hi − 1 : b_lo − a_lo − 1 + allow_equal) ∈ [0, 2^128)` and
/// `enabled·(1 − s)·(b_hi − a_hi) = 0`.
///
/// Soundness (enabled): every half is below 2^128 and r > 2^254, so a "negative" difference
/// wraps to at least `r − 2^128 > 2^128` and has no 128-bit decomposition. With s = 1 this
/// forces `b_hi > a_hi`; with s = 0, `b_hi = a_hi` and `b_lo ≥ a_lo + 1 − allow_equal`.
/// Either way the integer order holds. Disabled, both constraints are vacuous.
pub fn enforce_key_order(
    (a_hi, a_lo): (&FpVar<Fr>, &FpVar<Fr>),
    (b_hi, b_lo): (&FpVar<Fr>, &FpVar<Fr>),
    enabled: &Boolean<Fr>,
    allow_equal: &Boolean<Fr>,
) -> Result<(), SynthesisError> {
    let cs = a_hi.cs().or(b_hi.cs()).or(enabled.cs());
    let high_is_less = Boolean::new_witness(cs, || {
        Ok(key_order(&a_hi.value()?, &b_hi.value()?) == Ordering::Less)
    })?;
    let one = Fr::from(1u64);
    let high_gap = b_hi - a_hi - one;
    let low_gap = b_lo - a_lo - one + FpVar::from(allow_equal.clone());
    let gap = high_is_less.select(&high_gap, &low_gap)?;
    bounded_bits_le(&(gap * FpVar::from(enabled.clone())), KEY_LOW_BITS)?;
    (b_hi - a_hi).conditional_enforce_equal(&FpVar::zero(), &(!high_is_less & enabled))
}

/// Enforces `hi·2^128 + lo < r`: the halves are a key's canonical integer.
pub fn enforce_canonical(halves: (&FpVar<Fr>, &FpVar<Fr>)) -> Result<(), SynthesisError> {
    let (r_hi, r_lo) = modulus_halves();
    enforce_key_order(
        halves,
        (&FpVar::constant(r_hi), &FpVar::constant(r_lo)),
        &Boolean::TRUE,
        &Boolean::FALSE,
    )
}
