//! Set digests over Jubjub: `H` hashes a stored tuple to the prime-order subgroup, and
//! `MH(S) = Σ_{e∈S} H(e)` digests a multiset (DESIGN §4).
//!
//! # The hash `H(k, v, t)`
//!
//! For counters c = 0, 1, …, 255:
//! 1. `x = Poseidon(domain, [k, v, t·2^8 + c])` (one permutation, see [`poseidon::hash`]);
//! 2. if `a·x² + y² = 1 + d·x²·y²` has a root y below 2^253 (the *canonical* root), stop;
//! 3. `H = 8·(x, y)` — three doublings clear Jubjub's cofactor 8.
//!
//! The first counter that works is used; [`hash_tuple_with_hint`] returns it together with
//! y, which is exactly what the circuit gadget needs as its witness ([`HashHint`]).
//!
//! **Why a canonical root.** With x fixed, (x, y) and (x, −y) clear to 8P and −8P (since
//! (x, −y) = −((x, y) + (0, −1)) and (0, −1) has order 2). A free sign would let a prover
//! add −H(e) to a digest, i.e. *remove* a tuple it never read — enough to read a stale tuple
//! three times (+H, +H, −H) and still balance. Of the roots y and r − y at most one is below
//! 2^253 because 2^254 < r; when neither is, the counter moves on. Per counter the chance of
//! success is about ½ (x² term is a square) × 2^254/r (one root small) ≈ 0.28, so 256
//! counters all failing has probability ≈ 0.72^256 < 2^-119.
//!
//! **Why packing t and c is injective.** t < 2^64 and c < 2^8, so t·2^8 + c < 2^72 < r:
//! distinct (t, c) give distinct field elements. The gadget enforces both ranges.
//!
//! # The counter is not required to be minimal — and that is sound
//!
//! The circuit accepts *any* counter c for which the witness y checks out, not only the
//! smallest one. Enforcing minimality would mean proving, for every c' < c, that the x it
//! yields has no canonical root (a Poseidon permutation plus a non-residue proof each), for
//! no gain:
//!
//! * H is a deterministic function of the *extended* tuple (k, v, t, c): x is fixed by
//!   Poseidon, the canonical y by x, and the output by (x, y). So a digest balance
//!   `init + ΣWS = ΣRS + final` is, by discrete log hardness in Jubjub with Poseidon as a
//!   random oracle, a multiset equality over extended tuples.
//! * The Spice chain argument (every tuple written is read exactly once; timestamps strictly
//!   increase along each key's chain; one tuple per key in `final`) never looks inside a
//!   tuple beyond "equal or not". Treat c as an opaque tag carried next to v: the argument
//!   goes through verbatim, and each read still returns the latest write's (k, v, t) — its
//!   c comes along but is never used by the application.
//! * A writer and a reader using different c for the same (k, v, t) produce different
//!   points, so the digests *fail* to balance: the mismatch costs the prover, never the
//!   verifier. An honest prover uses the minimal counter everywhere (this module), so
//!   completeness is unaffected.
//!
//! What c must not do is change the hashed *meaning* of (k, v, t): that is the injectivity
//! of the packing above, which the range checks guarantee.
//!
//! # Blinding
//!
//! Published digest contributions are blinded: `D = MH(S) + ρ·B`. The generator
//! [`blinding_generator`] is H of a fixed tuple under a *different* domain tag, so, with
//! Poseidon modelled as a random oracle, nobody knows its discrete log with respect to any
//! H output.

use std::{
    iter::Sum,
    ops::{Add, AddAssign},
    sync::OnceLock,
};

use ark_bls12_381::Fr;
use ark_ec::{twisted_edwards::TECurveConfig, CurveGroup};
use ark_ed_on_bls12_381::{EdwardsAffine, EdwardsConfig, EdwardsProjective, Fr as JubjubScalar};
use ark_ff::{AdditiveGroup, BigInteger, Field, PrimeField, Zero};

use super::poseidon;

/// Bits of the hash counter c (so c < 256).
pub const COUNTER_BITS: usize = 8;
/// Bits of a timestamp (so t < 2^64).
pub const TIMESTAMP_BITS: usize = 64;
/// A root y is canonical when y < 2^CANONICAL_ROOT_BITS.
pub const CANONICAL_ROOT_BITS: usize = 253;
/// Doublings that clear Jubjub's cofactor (8 = 2^3).
pub const COFACTOR_DOUBLINGS: usize = 3;

/// Label of the domain tag for set elements (H).
pub const ELEMENT_DOMAIN_LABEL: &str = "spice/set-digest/element/v1";
/// Label of the domain tag for the blinding generator B.
pub const BLINDING_DOMAIN_LABEL: &str = "spice/set-digest/blinding-generator/v1";

/// Errors of the set digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetDigestError {
    /// No counter below 256 gave a curve point with a canonical root (probability < 2^-119
    /// for a random tuple; reported, never a panic).
    #[error("no hash counter below 256 maps tuple {tuple:?} to Jubjub with a canonical root")]
    NoCounter {
        /// The tuple that could not be hashed.
        tuple: Tuple,
    },
}

/// A stored entry of the Spice state: key, value and the timestamp of the write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Tuple {
    /// The key.
    pub key: Fr,
    /// The value (applications pack their fields into it).
    pub value: Fr,
    /// The request timestamp of the write that produced this tuple (0 for never written).
    pub timestamp: u64,
}

impl Tuple {
    /// The tuple `(key, value, timestamp)`.
    pub fn new(key: Fr, value: Fr, timestamp: u64) -> Self {
        Self {
            key,
            value,
            timestamp,
        }
    }
}

/// The prover's witness for one hash: the counter and the canonical root it found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct HashHint {
    /// The hash counter c.
    pub counter: u8,
    /// The canonical root y (y < 2^253) of the curve equation at x = Poseidon(…, c).
    pub y: Fr,
}

/// The domain tag of H (cached).
pub fn element_domain() -> Fr {
    static TAG: OnceLock<Fr> = OnceLock::new();
    *TAG.get_or_init(|| poseidon::domain_tag(ELEMENT_DOMAIN_LABEL))
}

/// The domain tag of the blinding generator (cached).
pub fn blinding_domain() -> Fr {
    static TAG: OnceLock<Fr> = OnceLock::new();
    *TAG.get_or_init(|| poseidon::domain_tag(BLINDING_DOMAIN_LABEL))
}

/// `t·2^8 + c`: the third rate lane. Injective on `u64 × u8` because the result is < 2^72 < r.
pub fn pack_timestamp_counter(timestamp: u64, counter: u8) -> Fr {
    Fr::from((u128::from(timestamp) << COUNTER_BITS) | u128::from(counter))
}

/// The x-coordinate candidate for `tuple` at `counter` under `domain`.
pub fn candidate_x(domain: Fr, tuple: &Tuple, counter: u8) -> Fr {
    poseidon::hash(
        domain,
        [
            tuple.key,
            tuple.value,
            pack_timestamp_counter(tuple.timestamp, counter),
        ],
    )
}

/// Whether `y` is a canonical root, i.e. `y < 2^253`.
pub fn is_canonical_root(y: &Fr) -> bool {
    y.into_bigint().num_bits() as usize <= CANONICAL_ROOT_BITS
}

/// The canonical y with `(x, y)` on Jubjub, if there is one.
///
/// From `a·x² + y² = 1 + d·x²·y²`: `y² = (1 − a·x²) / (1 − d·x²)`. The denominator never
/// vanishes (d is a non-square, so d·x² ≠ 1), but it is checked rather than assumed.
pub fn canonical_root(x: Fr) -> Option<Fr> {
    let x2 = x.square();
    let y2 = (Fr::ONE - EdwardsConfig::COEFF_A * x2)
        * (Fr::ONE - EdwardsConfig::COEFF_D * x2).inverse()?;
    let y = y2.sqrt()?;
    // At most one of y, r − y is below 2^253 (2^254 < r); if neither is, there is no
    // canonical root and the caller moves to the next counter.
    [y, -y].into_iter().find(is_canonical_root)
}

/// H at a given counter: `8·(x, y)` if `x = candidate_x(domain, tuple, counter)` has a
/// canonical root, `None` otherwise. Exposed so that tests and tools can reproduce what the
/// circuit accepts for a non-minimal counter.
pub fn hash_at_counter(
    domain: Fr,
    tuple: &Tuple,
    counter: u8,
) -> Option<(EdwardsAffine, HashHint)> {
    let x = candidate_x(domain, tuple, counter);
    let y = canonical_root(x)?;
    let mut point = EdwardsProjective::from(EdwardsAffine::new_unchecked(x, y));
    // Three doublings, exactly as the gadget does them: 8 is Jubjub's cofactor.
    for _ in 0..COFACTOR_DOUBLINGS {
        point.double_in_place();
    }
    Some((point.into_affine(), HashHint { counter, y }))
}

/// H under `domain` with the smallest working counter, and the hint the gadget needs.
pub fn hash_with_hint(
    domain: Fr,
    tuple: &Tuple,
) -> Result<(EdwardsAffine, HashHint), SetDigestError> {
    (0..=u8::MAX)
        .find_map(|counter| hash_at_counter(domain, tuple, counter))
        .ok_or(SetDigestError::NoCounter { tuple: *tuple })
}

/// `H(tuple)` and the hint (counter, canonical y) a circuit needs to recompute it.
pub fn hash_tuple_with_hint(tuple: &Tuple) -> Result<(EdwardsAffine, HashHint), SetDigestError> {
    hash_with_hint(element_domain(), tuple)
}

/// `H(tuple)`: a point of Jubjub's prime-order subgroup.
pub fn hash_tuple(tuple: &Tuple) -> Result<EdwardsAffine, SetDigestError> {
    hash_tuple_with_hint(tuple).map(|(point, _)| point)
}

/// The blinding generator B: H of the tuple (0, 0, 0) under the blinding domain tag.
///
/// # Panics
/// Never in practice: the fixed input is known to hash at a small counter (a test pins it).
pub fn blinding_generator() -> EdwardsAffine {
    static B: OnceLock<EdwardsAffine> = OnceLock::new();
    *B.get_or_init(|| {
        hash_with_hint(blinding_domain(), &Tuple::default())
            .map(|(point, _)| point)
            .expect("the fixed blinding-generator input hashes at a small counter")
    })
}

/// A set digest `MH(S) = Σ_{e∈S} H(e)`: additive, order-independent, mergeable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct SetDigest(EdwardsProjective);

impl SetDigest {
    /// The digest of the empty multiset (the identity point).
    pub fn empty() -> Self {
        Self(EdwardsProjective::zero())
    }

    /// The digest of all `tuples` (with multiplicity).
    pub fn of<'a>(tuples: impl IntoIterator<Item = &'a Tuple>) -> Result<Self, SetDigestError> {
        let mut digest = Self::empty();
        for tuple in tuples {
            digest.insert(tuple)?;
        }
        Ok(digest)
    }

    /// Adds `tuple` to the multiset; returns the hint a circuit needs to do the same.
    pub fn insert(&mut self, tuple: &Tuple) -> Result<HashHint, SetDigestError> {
        let (point, hint) = hash_tuple_with_hint(tuple)?;
        self.0 += point;
        Ok(hint)
    }

    /// Adds every element of `other` (multiset union).
    pub fn merge(&mut self, other: &SetDigest) {
        self.0 += other.0;
    }

    /// The digest as an affine point.
    pub fn point(&self) -> EdwardsAffine {
        self.0.into_affine()
    }

    /// `MH(S) + ρ·B`, the form in which digests are published.
    pub fn blind(&self, rho: &JubjubScalar) -> BlindedDigest {
        BlindedDigest((self.0 + blinding_generator() * rho).into_affine())
    }
}

impl AddAssign<&SetDigest> for SetDigest {
    fn add_assign(&mut self, other: &SetDigest) {
        self.merge(other);
    }
}

impl Add for SetDigest {
    type Output = SetDigest;
    fn add(mut self, other: SetDigest) -> SetDigest {
        self.merge(&other);
        self
    }
}

impl Sum for SetDigest {
    fn sum<I: Iterator<Item = SetDigest>>(iter: I) -> Self {
        iter.fold(Self::empty(), Add::add)
    }
}

/// A blinded digest `MH(S) + ρ·B`. Blinded digests add up like digests (the blinding
/// scalars add up too), which is how batch contributions are summed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlindedDigest(EdwardsAffine);

impl BlindedDigest {
    /// Wraps a point published as a blinded digest.
    pub fn from_point(point: EdwardsAffine) -> Self {
        Self(point)
    }

    /// The published point.
    pub fn point(&self) -> EdwardsAffine {
        self.0
    }
}

impl Add for BlindedDigest {
    type Output = BlindedDigest;
    fn add(self, other: BlindedDigest) -> BlindedDigest {
        BlindedDigest((self.0 + other.0).into_affine())
    }
}

impl Sum for BlindedDigest {
    fn sum<I: Iterator<Item = BlindedDigest>>(iter: I) -> Self {
        iter.fold(Self(EdwardsAffine::zero()), Add::add)
    }
}
