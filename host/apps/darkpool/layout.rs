//! Bit layouts: several unsigned fields packed into one field element, natively and in the
//! circuit. Every value the dark pool stores, and two of its request fields, is such a
//! packing.
//!
//! A layout lists field widths (each at most 64 bits) from the least significant end; the
//! packed value is `Σ fieldᵢ · 2^offsetᵢ`. With every field below `2^widthᵢ` and at most
//! [`MAX_LAYOUT_BITS`] bits in all, the integer is below p and the packing is injective.
//!
//! * **Packing** is linear: free in the circuit. It is not range-checked there, and
//!   natively [`Layout::pack`] computes the same field sum for any inputs, so the two sides
//!   agree even on values an invalid request computes (and then discards).
//! * **Unpacking** ([`Layout::unpack_var`]) decomposes the value into exactly
//!   [`Layout::bits`] bits (`bits + 1` constraints) and regroups them. The decomposition is
//!   what makes the fields *the* fields: without it a prover could move weight between
//!   fields (e.g. read a quantity one higher and a next pointer 2^64 lower). A value with
//!   more bits makes the circuit unsatisfiable — natively [`Layout::unpack`] returns `None` —
//!   which is only reachable if the app wrote such a value, and it never does (see the
//!   module docs of `darkpool`).

use ark_bls12_381::Fr;
use ark_ff::{BigInteger, PrimeField, Zero};
use ark_r1cs_std::{
    alloc::{AllocVar, AllocationMode},
    boolean::Boolean,
    fields::fp::FpVar,
};
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};

use crate::host::integer_gadget::bounded_bits_le;
pub use crate::host::integer_gadget::power_of_two;

/// Most bits one layout holds: with 252 bits the packed integer is below 2^252 < p, and
/// [`bounded_bits_le`] accepts the width.
pub const MAX_LAYOUT_BITS: usize = 252;

/// Widest field of a layout (fields are carried natively as `u64`).
pub const MAX_FIELD_BITS: usize = 64;

/// A list of field widths, least significant first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    widths: Vec<usize>,
}

impl Layout {
    /// A layout of fields of `widths` bits.
    ///
    /// # Panics
    /// If a width is 0 or above [`MAX_FIELD_BITS`], or the total is above
    /// [`MAX_LAYOUT_BITS`]: layouts are constants of the app's code, so this is a bug in the
    /// app, never a property of a request.
    pub fn new(widths: &[usize]) -> Self {
        assert!(
            widths.iter().all(|&w| (1..=MAX_FIELD_BITS).contains(&w)),
            "layout field widths must be 1..=64 bits"
        );
        assert!(
            widths.iter().sum::<usize>() <= MAX_LAYOUT_BITS,
            "a layout holds at most 252 bits"
        );
        Self {
            widths: widths.to_vec(),
        }
    }

    /// Bits of the whole packing.
    pub fn bits(&self) -> usize {
        self.widths.iter().sum()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.widths.len()
    }

    /// Whether the layout has no field (never true for a layout built by [`Layout::new`] with
    /// fields; provided for completeness of `len`).
    pub fn is_empty(&self) -> bool {
        self.widths.is_empty()
    }

    /// Bit offset of each field.
    fn offsets(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.widths.iter().scan(0, |offset, &width| {
            let start = *offset;
            *offset += width;
            Some((start, width))
        })
    }

    /// `Σ fieldᵢ · 2^offsetᵢ` in Fr (missing trailing fields count as 0). Total for every
    /// input, exactly like [`Layout::pack_var`]; it is a faithful packing when each field
    /// fits its width.
    pub fn pack(&self, fields: &[u64]) -> Fr {
        self.offsets()
            .zip(fields)
            .map(|((offset, _), &field)| Fr::from(field) * power_of_two(offset))
            .sum()
    }

    /// The fields of `value`, or `None` if `value` is not below `2^bits`.
    pub fn unpack(&self, value: Fr) -> Option<Vec<u64>> {
        let integer = value.into_bigint();
        if integer.num_bits() as usize > self.bits() {
            return None;
        }
        let limbs = integer.0;
        Some(
            self.offsets()
                .map(|(offset, width)| bits_at(&limbs, offset, width))
                .collect(),
        )
    }

    /// In-circuit [`Layout::pack`] (linear: no constraint).
    pub fn pack_var(&self, fields: &[FpVar<Fr>]) -> FpVar<Fr> {
        self.offsets()
            .zip(fields)
            .map(|((offset, _), field)| field * power_of_two(offset))
            .fold(FpVar::Constant(Fr::zero()), |sum, term| sum + term)
    }

    /// In-circuit [`Layout::unpack`]: the fields of `value`, enforcing `value < 2^bits`
    /// (`bits + 1` constraints; unsatisfiable otherwise).
    pub fn unpack_var(&self, value: &FpVar<Fr>) -> Result<Vec<FpVar<Fr>>, SynthesisError> {
        let bits = bounded_bits_le(value, self.bits())?;
        self.offsets()
            .map(|(offset, width)| Boolean::le_bits_to_fp(&bits[offset..offset + width]))
            .collect()
    }

    /// Allocates the fields as bits (one constraint a bit: booleanity), so that each field is
    /// below `2^width` by construction; `fields` gives the values when the prover has them.
    /// Returns the bits of each field, least significant first.
    pub fn alloc_bits(
        &self,
        cs: ConstraintSystemRef<Fr>,
        fields: Result<Vec<u64>, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Vec<Vec<Boolean<Fr>>>, SynthesisError> {
        self.widths
            .iter()
            .enumerate()
            .map(|(index, &width)| {
                let field: Result<u64, SynthesisError> = fields
                    .as_ref()
                    .map(|f| f.get(index).copied().unwrap_or(0))
                    .map_err(|e| *e);
                (0..width)
                    .map(|bit| {
                        Boolean::new_variable(
                            cs.clone(),
                            || field.map(|value| (value >> bit) & 1 == 1),
                            mode,
                        )
                    })
                    .collect()
            })
            .collect()
    }
}

/// Bits `[offset, offset + width)` of a little-endian limb array (`width ≤ 64`).
fn bits_at(limbs: &[u64], offset: usize, width: usize) -> u64 {
    let (limb, shift) = (offset / 64, offset % 64);
    let low = limbs.get(limb).copied().unwrap_or(0) >> shift;
    let high = if shift == 0 {
        0
    } else {
        limbs.get(limb + 1).copied().unwrap_or(0) << (64 - shift)
    };
    let all = low | high;
    if width >= 64 {
        all
    } else {
        all & ((1u64 << width) - 1)
    }
}
