//! The scalar distributions the MSM tests draw from (host simulation and GPU alike): the
//! edge cases of the kernels' normalisation and digit logic, and what a witness looks like.

use ark_bls12_381::Fr;
use ark_ff::{Field, One, PrimeField, UniformRand, Zero};
use ark_std::rand::{rngs::StdRng, Rng};

/// Scalar distributions a Groth16 witness produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Random,
    AllZero,
    AllOne,
    /// 1 and −1.
    PlusMinusOne,
    /// Below 2^16, and their negations.
    Tiny,
    /// r − 1, r − 2, (r − 1)/2 and (r + 1)/2 (the normalisation's boundary), r − 2^k.
    Maximal,
    /// Half 0/1, a quarter small, a quarter random: what a witness looks like.
    WitnessLike,
}

pub const KINDS: [Kind; 7] = [
    Kind::Random,
    Kind::AllZero,
    Kind::AllOne,
    Kind::PlusMinusOne,
    Kind::Tiny,
    Kind::Maximal,
    Kind::WitnessLike,
];

pub fn half() -> Fr {
    Fr::from_bigint(Fr::MODULUS_MINUS_ONE_DIV_TWO).unwrap()
}

pub fn scalar(kind: Kind, rng: &mut StdRng) -> Fr {
    match kind {
        Kind::Random => Fr::rand(rng),
        Kind::AllZero => Fr::zero(),
        Kind::AllOne => Fr::one(),
        Kind::PlusMinusOne => {
            if rng.gen() {
                Fr::one()
            } else {
                -Fr::one()
            }
        }
        Kind::Tiny => {
            let v = Fr::from(rng.gen_range(0u64..1 << 16));
            if rng.gen() {
                v
            } else {
                -v
            }
        }
        Kind::Maximal => match rng.gen_range(0..5) {
            0 => -Fr::one(),
            1 => -Fr::from(2u64),
            2 => half(),
            3 => half() + Fr::one(),
            _ => -Fr::from(2u64).pow([rng.gen_range(0u64..254)]),
        },
        Kind::WitnessLike => match rng.gen_range(0..8) {
            0..=1 => Fr::zero(),
            2..=3 => Fr::one(),
            4 => -Fr::one(),
            5 => Fr::from(rng.gen::<u32>() as u64),
            _ => Fr::rand(rng),
        },
    }
}
