//! EdDSA on Jubjub with Poseidon challenges: the signatures that authorise spending requests
//! (DESIGN §4 "Authorisation", §5: ledger transfers, dark-pool orders and cancels).
//!
//! The circuit twin is [`super::eddsa_gadget`]; both compute exactly the same predicate on
//! every input (public key, message, signature as raw field elements), which
//! `tests/integration/eddsa.rs` checks on random valid and tampered inputs.
//!
//! # Keys
//!
//! A secret key is a 32-byte seed expanded with SHA-512 into a scalar `a` of Jubjub's
//! prime-order subgroup (order ℓ ≈ 2^251.86) and a 32-byte nonce prefix. The public key is
//! `A = a·G`, with G the generator of the prime-order subgroup. Accounts are keyed by
//! [`account_id`]`(A) = Poseidon(account tag, [A.x, A.y, 0])`.
//!
//! # Signing a message `m = [m₀, …, m_{n−1}]` of field elements
//!
//! 1. `r = SHA-512(nonce label ‖ prefix ‖ n ‖ m₀ ‖ … ‖ counter) mod ℓ` — deterministic
//!    (RFC 8032 style: no RNG at signing time, so a bad RNG cannot leak the key through
//!    nonce reuse). SHA-512 rather than Poseidon: the nonce never enters a circuit, and a
//!    64-byte digest reduced mod ℓ is within 2^-260 of uniform. `counter` only moves past
//!    r = 0 (probability 2^-252), which would reveal `a = S/c`.
//! 2. `R = r·G`.
//! 3. `c = challenge(A, R, m)` (below).
//! 4. `S = r + c·a mod ℓ`. The signature is `(R, S)`: three field elements.
//!
//! # The challenge: `c = 2^250 + 1 + 2·(h mod 2^249)`
//!
//! `h = Poseidon sponge(capacity = tag(n); absorb R.x, R.y, A.x, A.y, m₀ … m_{n−1})`. The
//! capacity tag is derived from the message length n (as in the request commitments), because
//! sponge absorption is not injective across lengths on its own (`[m₀]` and `[m₀, 0]` load the
//! same state). R and A enter as *raw coordinates*, so every bit of both is bound.
//!
//! **Why this reduction is sound.** The challenge space is the 2^249 odd integers in
//! `[2^250 + 1, 2^251)`, all below ℓ (> 2^251):
//! * No modular reduction happens, so distinct challenges are distinct mod ℓ. That is what
//!   the forking-lemma extractor needs: two accepting signatures with the same R and
//!   challenges c ≠ c' give `8(S − S')·G = (c − c')·8A`, i.e. the key `a = (S−S')/(c−c') mod ℓ`.
//! * The challenge has almost full entropy: with Poseidon a random oracle, h is uniform in Fr,
//!   and each value of `h mod 2^249` has 57 or 58 preimages in Fr, so every challenge has
//!   probability at most 58/p < 2^-248.9. A forger guessing the challenge before the hash
//!   succeeds with probability ≤ q·2^-248.9 after q hash queries — far below the 2^-128
//!   target, which is all the (lossy) Schnorr reduction needs.
//! * It is free in the circuit: truncation is choosing bits of h, whereas `h mod ℓ` would need
//!   non-native arithmetic. The form `2^250 + 1 + 2B` is exactly what the circuit's
//!   signed-digit Montgomery ladder computes from 3P, and `c < 2^251 < ℓ` is what keeps
//!   that ladder's incomplete formulas exception-free (see [`super::eddsa_gadget`]). The circuit uses the *canonical* bits of h (it checks they
//!   encode an integer below p): with a non-canonical decomposition (h + p) a prover could
//!   choose between two challenges and so flip the verdict on a valid signature.
//!
//! # Verification (cofactored), identical natively and in-circuit
//!
//! `(A, m, (R, S))` is valid iff
//! 1. A is on the curve, 2. `8·A ≠ O` (A is not of small order), 3. R is on the curve,
//! 4. `S < ℓ` (as an integer), 5. `S·(8G) − 8·R = c·(8·A)`.
//!
//! **Why cofactored, and why no subgroup checks on A and R.** Checking that A and R lie in
//! the prime-order subgroup costs a ~252-bit scalar multiplication each in the circuit
//! (≈ 3,000 constraints apiece); multiplying by the cofactor costs three doublings. The
//! cofactored equation is Schnorr in the order-ℓ subgroup on `(8R, 8A)`, with the challenge
//! binding the full coordinates of R and A:
//! * *Unforgeability* is that of Schnorr with key `8A` (ℓ prime, 8 invertible mod ℓ).
//! * *Small-order keys must be rejected* (check 2): if `8A = O`, the equation no longer
//!   involves c and anyone "signs" with `R = S·G`.
//! * *Torsion in R* (R + T, T of order dividing 8) changes the challenge, so it needs a new
//!   S = r + c'·a, which only the key owner can compute: no third-party malleability.
//! * *Torsion in A*: `A + T` is a different account id whose signatures only the owner of `a`
//!   can produce — the owner merely holds a second account. Keys parsed by
//!   [`PublicKey::from_bytes`] / [`PublicKey::from_fields`] are subgroup-checked anyway;
//!   verification itself does not rely on it.
//! * *S < ℓ* (check 4) makes S unique for a given (A, R, m): without it, S + ℓ also
//!   verifies. Apps must still not use a signature as a unique identifier — a key owner can
//!   sign the same message twice with different nonces; replay protection is the request
//!   nonce inside the message.
//! * The known cofactored/cofactorless discrepancy of Ed25519 implementations is a
//!   disagreement *between* verifiers; here native code and circuit use the same equation.

use std::{fmt, sync::OnceLock};

use ark_bls12_381::Fr;
use ark_ec::{twisted_edwards::TECurveConfig, AffineRepr, CurveGroup};
use ark_ed_on_bls12_381::{EdwardsAffine, EdwardsConfig, EdwardsProjective, Fr as JubjubScalar};
use ark_ff::{AdditiveGroup, BigInteger, PrimeField, Zero};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_std::rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256, Sha512};

use super::poseidon;

/// Bits of h kept in the challenge (`c = 2^250 + 1 + 2·(h mod 2^249)`).
pub const CHALLENGE_BITS: usize = 249;
/// Doublings that clear Jubjub's cofactor (8 = 2^3) in the verification equation.
pub const COFACTOR_DOUBLINGS: usize = 3;
/// Bytes of a secret-key seed.
pub const SEED_BYTES: usize = 32;
/// Bytes of an encoded public key (compressed Edwards point).
pub const PUBLIC_KEY_BYTES: usize = 32;
/// Bytes of an encoded signature: R.x, R.y, S, each 32 bytes little-endian.
pub const SIGNATURE_BYTES: usize = 96;

/// Label of the challenge hash's domain tag (combined with the message length).
pub const CHALLENGE_DOMAIN_LABEL: &str = "spice/eddsa/challenge/v1";
/// Label of the account-id hash's domain tag.
pub const ACCOUNT_DOMAIN_LABEL: &str = "spice/eddsa/account-id/v1";
/// SHA-512 label expanding a seed into the secret scalar.
const SCALAR_LABEL: &[u8] = b"spice/eddsa/secret-scalar/v1";
/// SHA-256 label expanding a seed into the nonce prefix.
const PREFIX_LABEL: &[u8] = b"spice/eddsa/nonce-prefix/v1";
/// SHA-512 label of the deterministic nonce.
const NONCE_LABEL: &[u8] = b"spice/eddsa/nonce/v1";

/// Errors of key handling and verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EddsaError {
    /// The seed expands to the zero scalar (probability 2^-252): use another seed.
    #[error("the seed expands to the zero secret scalar")]
    DegenerateSeed,
    /// Bytes that are not the canonical encoding of a point of the prime-order subgroup.
    #[error("not the canonical encoding of a Jubjub public key")]
    InvalidPublicKeyEncoding,
    /// Coordinates of a point that is off the curve, outside the prime-order subgroup, or the
    /// identity.
    #[error("public key is not a non-identity point of Jubjub's prime-order subgroup")]
    InvalidPublicKey,
    /// A signature encoding of the wrong length or with a non-canonical field element.
    #[error("not the canonical encoding of a signature")]
    InvalidSignatureEncoding,
    /// Verification: the public key is not on the curve.
    #[error("public key is not on Jubjub")]
    PublicKeyOffCurve,
    /// Verification: the public key has small order (8·A = O), so anyone could sign for it.
    #[error("public key has small order")]
    SmallOrderPublicKey,
    /// Verification: the signature's R is not on the curve.
    #[error("signature point R is not on Jubjub")]
    NonceOffCurve,
    /// Verification: S ≥ ℓ (a malleated or garbage S).
    #[error("signature scalar S is not below the subgroup order")]
    NonCanonicalScalar,
    /// Verification: the equation `S·8G − 8R = c·8A` fails.
    #[error("signature equation does not hold")]
    EquationFails,
}

/// The prime-order subgroup generator G (arkworks' Jubjub generator).
pub fn generator() -> EdwardsAffine {
    EdwardsAffine::generator()
}

/// `8·G`, the base of the cofactored equation (cached; the circuit's fixed-base tables are
/// built from it).
pub fn cofactor_generator() -> EdwardsAffine {
    static G8: OnceLock<EdwardsAffine> = OnceLock::new();
    *G8.get_or_init(|| clear_cofactor(&generator()).into_affine())
}

/// `8·P` by three doublings. Only meaningful for points on the curve (callers check).
fn clear_cofactor(point: &EdwardsAffine) -> EdwardsProjective {
    let mut p = EdwardsProjective::from(*point);
    for _ in 0..COFACTOR_DOUBLINGS {
        p.double_in_place();
    }
    p
}

/// Whether `(x, y)` satisfies Jubjub's equation `a·x² + y² = 1 + d·x²·y²`.
pub fn is_on_curve(point: &EdwardsAffine) -> bool {
    // Written out rather than `EdwardsAffine::is_on_curve` so that it reads exactly like the
    // gadget's check.
    let x2 = point.x * point.x;
    let y2 = point.y * point.y;
    EdwardsConfig::COEFF_A * x2 + y2 == Fr::from(1u64) + EdwardsConfig::COEFF_D * x2 * y2
}

/// Jubjub's subgroup order ℓ as an integer (the modulus of [`JubjubScalar`]).
fn subgroup_order() -> <JubjubScalar as PrimeField>::BigInt {
    JubjubScalar::MODULUS
}

/// A secret key: the scalar `a` and the nonce prefix, both derived from a 32-byte seed.
#[derive(Clone)]
pub struct SecretKey {
    scalar: JubjubScalar,
    prefix: [u8; 32],
    public: PublicKey,
}

impl fmt::Debug for SecretKey {
    /// Prints the public key only: secrets do not belong in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl SecretKey {
    /// A fresh key from `rng` (a cryptographic RNG: the key is only as secret as its seed).
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        loop {
            let mut seed = [0u8; SEED_BYTES];
            rng.fill_bytes(&mut seed);
            // Only a seed expanding to the zero scalar fails (probability 2^-252): draw again.
            if let Ok(key) = Self::from_seed(&seed) {
                return key;
            }
        }
    }

    /// The key derived from `seed`: `a = SHA-512(label ‖ seed) mod ℓ` (within 2^-260 of
    /// uniform), prefix = `SHA-256(label' ‖ seed)`.
    pub fn from_seed(seed: &[u8; SEED_BYTES]) -> Result<Self, EddsaError> {
        let expanded = Sha512::new_with_prefix(SCALAR_LABEL)
            .chain_update(seed)
            .finalize();
        let scalar = JubjubScalar::from_le_bytes_mod_order(&expanded);
        if scalar.is_zero() {
            return Err(EddsaError::DegenerateSeed);
        }
        let prefix = Sha256::new_with_prefix(PREFIX_LABEL)
            .chain_update(seed)
            .finalize()
            .into();
        let public = PublicKey((EdwardsAffine::generator() * scalar).into_affine());
        Ok(Self {
            scalar,
            prefix,
            public,
        })
    }

    /// The public key `A = a·G`.
    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    /// The deterministic nonce for `msg` (never zero).
    fn nonce(&self, msg: &[Fr]) -> JubjubScalar {
        let mut base = Sha512::new_with_prefix(NONCE_LABEL);
        base.update(self.prefix);
        base.update((msg.len() as u64).to_le_bytes());
        for element in msg {
            base.update(element.into_bigint().to_bytes_le());
        }
        // `counter` moves past r = 0 only (probability 2^-252 per try). Never fall back to a
        // fixed nonce: a known r reveals the key as a = (S − r)/c.
        let mut counter = 0u64;
        loop {
            let digest = base.clone().chain_update(counter.to_le_bytes()).finalize();
            let r = JubjubScalar::from_le_bytes_mod_order(&digest);
            if !r.is_zero() {
                return r;
            }
            counter = counter.wrapping_add(1);
        }
    }

    /// Signs `msg` (apps sign e.g. `[domain tag, from, to, amount, nonce]`).
    pub fn sign(&self, msg: &[Fr]) -> Signature {
        let r = self.nonce(msg);
        let big_r = (EdwardsAffine::generator() * r).into_affine();
        let c = challenge(&self.public, &big_r, msg);
        let s = r + c * self.scalar;
        Signature {
            r: big_r,
            // S < ℓ < p, so it is carried unchanged as an element of the circuit field.
            s: Fr::from_bigint(s.into_bigint()).expect("S < ℓ < p fits in Fr"),
        }
    }
}

/// A public key `A` (a Jubjub point).
///
/// Built by [`SecretKey::public_key`] or parsed by [`PublicKey::from_bytes`] /
/// [`PublicKey::from_fields`], it is a non-identity point of the prime-order subgroup.
/// [`PublicKey::from_point_unchecked`] wraps arbitrary coordinates (what a circuit witness
/// can hold); [`verify`] checks everything it needs itself, so it is total on such keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PublicKey(EdwardsAffine);

impl PublicKey {
    /// Wraps arbitrary coordinates without checks (for circuits and tests: see the type doc).
    pub fn from_point_unchecked(point: EdwardsAffine) -> Self {
        Self(point)
    }

    /// The point A.
    pub fn point(&self) -> EdwardsAffine {
        self.0
    }

    /// The key as the field elements `[A.x, A.y]` (how requests carry it). Canonical: a point
    /// has one pair of coordinates.
    pub fn to_fields(&self) -> [Fr; 2] {
        [self.0.x, self.0.y]
    }

    /// Parses `[A.x, A.y]`, requiring a non-identity point of the prime-order subgroup.
    pub fn from_fields(fields: [Fr; 2]) -> Result<Self, EddsaError> {
        let point = EdwardsAffine::new_unchecked(fields[0], fields[1]);
        if point.is_on_curve()
            && point.is_in_correct_subgroup_assuming_on_curve()
            && !point.is_zero()
        {
            Ok(Self(point))
        } else {
            Err(EddsaError::InvalidPublicKey)
        }
    }

    /// The canonical 32-byte encoding (arkworks' compressed form: y and the sign of x).
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_BYTES] {
        let mut bytes = [0u8; PUBLIC_KEY_BYTES];
        // A compressed Jubjub point is exactly 32 bytes, so writing into the array cannot
        // run out of space; an error would leave zeros, which `from_bytes` rejects.
        let _ = self.0.serialize_compressed(&mut bytes[..]);
        bytes
    }

    /// Parses the canonical encoding: rejects off-curve points, points outside the
    /// prime-order subgroup, the identity and non-canonical encodings (re-encoding must give
    /// back the same bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EddsaError> {
        if bytes.len() != PUBLIC_KEY_BYTES {
            return Err(EddsaError::InvalidPublicKeyEncoding);
        }
        let point = EdwardsAffine::deserialize_compressed(bytes)
            .map_err(|_| EddsaError::InvalidPublicKeyEncoding)?;
        let key = Self::from_fields([point.x, point.y])
            .map_err(|_| EddsaError::InvalidPublicKeyEncoding)?;
        if key.to_bytes()[..] != *bytes {
            return Err(EddsaError::InvalidPublicKeyEncoding);
        }
        Ok(key)
    }
}

/// The domain tag of account ids (cached).
pub fn account_domain() -> Fr {
    static TAG: OnceLock<Fr> = OnceLock::new();
    *TAG.get_or_init(|| poseidon::domain_tag(ACCOUNT_DOMAIN_LABEL))
}

/// The account id of `pk`: `Poseidon(account tag, [A.x, A.y, 0])` (one permutation).
///
/// Collision resistance of Poseidon makes it a binding name for the key: two keys share an
/// account only through a Poseidon collision.
pub fn account_id(pk: &PublicKey) -> Fr {
    poseidon::hash(account_domain(), [pk.0.x, pk.0.y, Fr::zero()])
}

/// A signature `(R, S)` as transmitted: nothing is checked until [`verify`].
///
/// S is carried as an element of the circuit field Fr, read as its canonical integer in
/// [0, p): ℓ < p, so every valid S fits, and so does a malleated S + ℓ (< 2ℓ < p), which
/// verification rejects. A signature is thus three field elements ([`Signature::to_fields`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Signature {
    /// The nonce point R (raw coordinates; may be off the curve in a forged signature).
    pub r: EdwardsAffine,
    /// The scalar S, as an integer in [0, p).
    pub s: Fr,
}

impl Signature {
    /// `[R.x, R.y, S]`.
    pub fn to_fields(&self) -> [Fr; 3] {
        [self.r.x, self.r.y, self.s]
    }

    /// The signature with fields `[R.x, R.y, S]` (unchecked; see the type doc).
    pub fn from_fields(fields: [Fr; 3]) -> Self {
        Self {
            r: EdwardsAffine::new_unchecked(fields[0], fields[1]),
            s: fields[2],
        }
    }

    /// `R.x ‖ R.y ‖ S`, each 32 bytes little-endian.
    pub fn to_bytes(&self) -> [u8; SIGNATURE_BYTES] {
        let mut bytes = [0u8; SIGNATURE_BYTES];
        for (chunk, field) in bytes.chunks_exact_mut(32).zip(self.to_fields()) {
            chunk.copy_from_slice(&field.into_bigint().to_bytes_le());
        }
        bytes
    }

    /// Parses [`Signature::to_bytes`]; rejects a wrong length and field encodings ≥ p.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EddsaError> {
        if bytes.len() != SIGNATURE_BYTES {
            return Err(EddsaError::InvalidSignatureEncoding);
        }
        let mut fields = [Fr::zero(); 3];
        for (field, chunk) in fields.iter_mut().zip(bytes.chunks_exact(32)) {
            *field = Fr::deserialize_compressed(chunk)
                .map_err(|_| EddsaError::InvalidSignatureEncoding)?;
        }
        Ok(Self::from_fields(fields))
    }
}

/// The challenge hash's capacity tag for an `len`-element message:
/// `Poseidon(tag(CHALLENGE_DOMAIN_LABEL), [len, 0, 0])`.
pub fn challenge_domain(len: usize) -> Fr {
    static LABEL: OnceLock<Fr> = OnceLock::new();
    let label = *LABEL.get_or_init(|| poseidon::domain_tag(CHALLENGE_DOMAIN_LABEL));
    poseidon::hash(label, [Fr::from(len as u64), Fr::zero(), Fr::zero()])
}

/// `h`: the sponge over `R.x, R.y, A.x, A.y, msg…` with [`challenge_domain`] in the capacity.
pub fn challenge_hash(pk: &PublicKey, r: &EdwardsAffine, msg: &[Fr]) -> Fr {
    let input: Vec<Fr> = [r.x, r.y, pk.0.x, pk.0.y]
        .into_iter()
        .chain(msg.iter().copied())
        .collect();
    poseidon::sponge_hash(challenge_domain(msg.len()), &input)
}

/// `c = 2^250 + 1 + 2·(h mod 2^249)`, an odd integer in `[2^250 + 1, 2^251)` (below ℓ).
/// See the module doc for why this is a sound challenge.
pub fn challenge_from_hash(h: Fr) -> JubjubScalar {
    let h_bits = h.into_bigint().to_bits_le();
    let mut c_bits = vec![true]; // the +1
    c_bits.extend_from_slice(&h_bits[..CHALLENGE_BITS]); // 2·(h mod 2^249)
    c_bits.push(true); // 2^250
    JubjubScalar::from_bigint(<JubjubScalar as PrimeField>::BigInt::from_bits_le(&c_bits))
        .expect("c < 2^251 < ℓ is a canonical scalar")
}

/// The challenge of a signature with nonce point `r` by `pk` on `msg`.
pub fn challenge(pk: &PublicKey, r: &EdwardsAffine, msg: &[Fr]) -> JubjubScalar {
    challenge_from_hash(challenge_hash(pk, r, msg))
}

/// Verifies `sig` on `msg` under `pk` (the module doc lists the checks, in this order); the
/// error names the first that fails.
pub fn verify(pk: &PublicKey, msg: &[Fr], sig: &Signature) -> Result<(), EddsaError> {
    let a = pk.0;
    if !is_on_curve(&a) {
        return Err(EddsaError::PublicKeyOffCurve);
    }
    let a8 = clear_cofactor(&a);
    if a8.is_zero() {
        return Err(EddsaError::SmallOrderPublicKey);
    }
    if !is_on_curve(&sig.r) {
        return Err(EddsaError::NonceOffCurve);
    }
    let s = sig.s.into_bigint();
    if s >= subgroup_order() {
        return Err(EddsaError::NonCanonicalScalar);
    }
    let s = JubjubScalar::from_bigint(s).ok_or(EddsaError::NonCanonicalScalar)?;
    let c = challenge(pk, &sig.r, msg);
    // S·(8G) − 8R = c·(8A). All three points are on the curve, where arkworks' twisted
    // Edwards formulas are complete, so the arithmetic is exact.
    if cofactor_generator() * s - clear_cofactor(&sig.r) == a8 * c {
        Ok(())
    } else {
        Err(EddsaError::EquationFails)
    }
}

/// Whether `sig` is a valid signature on `msg` under `pk` ([`verify`] as a Boolean).
pub fn is_valid(pk: &PublicKey, msg: &[Fr], sig: &Signature) -> bool {
    verify(pk, msg, sig).is_ok()
}
