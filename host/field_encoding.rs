//! How integers and Jubjub points travel as elements of Fr — in stored values, in witnesses
//! and in public inputs — and the checks that decode them.
//!
//! A u64 is the field element of the same integer, so `0 ≤ x < 2^64` is the whole range
//! check. A point is its two affine coordinates; a published digest must be a point of
//! Jubjub's prime-order subgroup (sums of H outputs and multiples of B all are), and since
//! the circuits take coordinates as given, the decoder is where that is checked.

use ark_bls12_381::Fr;
use ark_ed_on_bls12_381::EdwardsAffine;
use ark_ff::PrimeField;

use super::set_digest::BlindedDigest;

/// The integer of `value`, if it is below 2^64.
pub fn u64_of(value: Fr) -> Option<u64> {
    let [low, high @ ..] = value.into_bigint().0;
    high.iter().all(|&limb| limb == 0).then_some(low)
}

/// `(x, y)` as a point, if it is on Jubjub and in the prime-order subgroup.
pub fn subgroup_point(x: Fr, y: Fr) -> Option<EdwardsAffine> {
    let point = EdwardsAffine::new_unchecked(x, y);
    (point.is_on_curve() && point.is_in_correct_subgroup_assuming_on_curve()).then_some(point)
}

/// Why public inputs do not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublicInputError {
    /// Wrong number of field elements.
    #[error("{got} public inputs, expected {expected}")]
    Count {
        /// Expected count.
        expected: usize,
        /// Given count.
        got: usize,
    },
    /// An epoch or id is not a 64-bit integer.
    #[error("public input {index} is not a 64-bit integer")]
    Range {
        /// Its index.
        index: usize,
    },
    /// A digest is not a point of Jubjub's prime-order subgroup.
    #[error("public inputs {index}, {} are not a point of Jubjub's prime-order subgroup", index + 1)]
    NotASubgroupPoint {
        /// Index of its x coordinate.
        index: usize,
    },
}

/// Public input `index` as a u64.
pub fn decode_u64(value: Fr, index: usize) -> Result<u64, PublicInputError> {
    u64_of(value).ok_or(PublicInputError::Range { index })
}

/// Public inputs `index` and `index + 1` as a published digest.
pub fn decode_digest(x: Fr, y: Fr, index: usize) -> Result<BlindedDigest, PublicInputError> {
    subgroup_point(x, y)
        .map(BlindedDigest::from_point)
        .ok_or(PublicInputError::NotASubgroupPoint { index })
}
