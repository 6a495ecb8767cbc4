//! EdDSA verification as an R1CS gadget: the predicate of [`super::eddsa::verify`] on the
//! same raw inputs, as a [`Boolean`] ([`is_valid`]) or as a constraint ([`enforce_valid`]).
//!
//! # Two forms
//!
//! Apps answer a request with a bad signature by a committed error response, so the batch
//! must stay satisfiable: [`is_valid`] is satisfiable for *every* assignment of the public
//! key, message and signature variables, and its output is a *function* of them (every
//! witness it allocates is uniquely determined), so a prover can neither forge a `true` nor
//! turn a valid signature into `false`. [`enforce_valid`] is `is_valid(..) == true`.
//!
//! How garbage stays satisfiable: no check is ever *enforced* on the inputs. Curve membership
//! of A and R is computed as a Boolean; a point that fails it is replaced (A by G, R by the
//! identity) before any group arithmetic, so all arithmetic runs on curve points, where the
//! twisted Edwards formulas are complete and the Montgomery steps below are exception-free.
//! S < ℓ is a Boolean too, computed from a decomposition that exists for every field element.
//!
//! # The equation `S·(8G) − 8·R' = c·P`, with `P = 8·A'` (or 8G when 8A' = O)
//!
//! * **S·(8G)**, fixed base: 3-bit windows over S's 252 bits with constant tables
//!   `w·8^j·(8G)` (w < 8). A window costs 1 (b₀b₁) + 2 (one product per coordinate) for the
//!   lookup and 6 for a complete Edwards addition: 84 windows, 750 constraints.
//! * **c·P**, variable base: P has prime order ℓ, so it runs on the birationally equivalent
//!   Montgomery curve with incomplete formulas and signed digits: starting at 3P, each of the
//!   249 challenge bits b does `acc ← 2·acc + (2b−1)·P`, computed as `(acc ± P) + acc` without
//!   the middle point's v (6 constraints a bit, where an Edwards double-and-add costs 13).
//!   After j steps the multiple is `k_j = 2^{j+1} + 1 + 2·(the j bits so far)`, so
//!   `2^{j+1} < k_j < 2^{j+2}`, ending at the challenge `c = 2^250 + 1 + 2·(h mod 2^249)`
//!   of [`super::eddsa`].
//!
//!   *Why no exceptional case ever occurs* (each formula's denominator is a difference of
//!   u-coordinates, zero only when adding a point to ± itself): with P of prime order ℓ and
//!   every multiple below ℓ, the step's additions are `k_j·P + d·P` (exceptional iff
//!   `k_j ≡ ±1 mod ℓ`, but `3 ≤ k_j < 2^250 < ℓ − 1`) and `(k_j + d)·P + k_j·P` (exceptional
//!   iff `2k_j + d ≡ 0`, but `0 < 2k_j + d = k_{j+1} < 2^251 < ℓ`); the middle point
//!   `(k_j + d)·P` is never the identity (`0 < k_j + d < ℓ`). The start `3P = 2P + P` needs
//!   `v(P) ≠ 0` (P has odd order) and `2 ≢ ±1`. The conversions need `x, v ≠ 0` and
//!   `y ≠ 1, u ≠ −1`: true for any point of order ℓ. Hence every intermediate value is the
//!   unique solution of its constraints, and the result is exactly `c·P`.
//! * **8·A', 8·R'**: three Edwards doublings each (5 constraints a doubling).
//!
//! # Canonical bits
//!
//! The challenge bits are the canonical bits of h: 255 boolean bits whose value is checked
//! to be below p (else `h + p` would give the prover a second challenge to pick from). S is
//! decomposed as `V = S − ℓ + lt·ℓ` with the claimed Boolean `lt` and `V < (lt ? ℓ : p − ℓ)`:
//! with lt = 1 that proves S = V < ℓ, with lt = 0 it proves S = V + ℓ ≥ ℓ (V + ℓ < p, so no
//! wrap-around); exactly one claim is satisfiable, so lt = 1 exactly when S < ℓ. Both comparisons go limb
//! by limb (32-bit limbs, [`LIMB_BITS`]): the highest limb where the value differs from the
//! bound decides, and one 32-bit range check proves it is smaller there (54 constraints
//! where arkworks' `enforce_in_field_le` costs about 310).
//!
//! # Cost (measured by `constraint_count_is_reported` in `tests/integration/eddsa.rs`)
//!
//! | part                                          | constraints |
//! |-----------------------------------------------|-------------|
//! | A, R on the curve (Booleans), fallbacks       | 14          |
//! | 8A', small-order test, choice of P            | 19          |
//! | S < ℓ and S's bits                            | 311         |
//! | challenge hash, 5-element message (3 perms)   | 789         |
//! | canonical bits of h                           | 310         |
//! | S·(8G) (fixed base, 84 windows)               | 750         |
//! | 8R', subtraction                              | 21          |
//! | c·P (Montgomery ladder, 249 bits, conversions)| 1,505       |
//! | comparison, final AND                         | 6           |
//! | **[`is_valid`], 5-element message**           | **3,725**   |
//!
//! The hash costs one permutation (≈ 263 constraints) per 3 absorbed elements,
//! `⌈(4 + n)/3⌉` for n message elements: a 2-element message costs 3,461 in all.
//! [`enforce_valid`] costs one more. For comparison, the same check with arkworks' generic
//! variable-base multiplication (13 constraints a bit), arkworks' 2-bit fixed-base
//! windows and `to_bits_le` would cost about 6,500.

use std::{borrow::Borrow, sync::OnceLock};

use ark_bls12_381::Fr;
use ark_ec::{
    twisted_edwards::{MontCurveConfig, TECurveConfig},
    AdditiveGroup,
};
use ark_ed_on_bls12_381::{
    constraints::EdwardsVar, EdwardsAffine, EdwardsConfig, EdwardsProjective, Fr as JubjubScalar,
};
use ark_ff::{BigInteger, Field, PrimeField, Zero};
use ark_r1cs_std::{
    alloc::{AllocVar, AllocationMode},
    boolean::Boolean,
    eq::EqGadget,
    fields::{fp::FpVar, FieldVar},
    groups::CurveVar,
    GR1CSVar,
};
use ark_relations::gr1cs::{ConstraintSystemRef, Namespace, SynthesisError};

use super::{
    eddsa::{
        self, account_domain, challenge_domain, cofactor_generator, generator, PublicKey,
        Signature, CHALLENGE_BITS, COFACTOR_DOUBLINGS,
    },
    edwards_gadget::{doublings_var, invert_serially},
    fixed_base_gadget::{three_bit_windows, WindowTables},
    poseidon_gadget,
};

/// Bits of a limb in the limb-by-limb comparisons (see the module doc).
pub const LIMB_BITS: usize = 32;
/// Bits of a canonical decomposition of a field element (p < 2^255).
const FIELD_BITS: usize = Fr::MODULUS_BIT_SIZE as usize;
/// Bits of S used by the scalar multiplication (ℓ < 2^252).
const SCALAR_BITS: usize = JubjubScalar::MODULUS_BIT_SIZE as usize;
/// Window of the fixed-base multiplication.
const WINDOW_BITS: usize = 3;

/// A public key in the circuit: raw coordinates, checked only by [`is_valid`].
#[derive(Clone, Debug)]
pub struct PublicKeyVar {
    /// A.x
    pub x: FpVar<Fr>,
    /// A.y
    pub y: FpVar<Fr>,
}

impl PublicKeyVar {
    /// The key with coordinates `(x, y)` (e.g. taken from a request's fields).
    pub fn new(x: FpVar<Fr>, y: FpVar<Fr>) -> Self {
        Self { x, y }
    }

    /// In-circuit [`account_id`](super::eddsa::account_id) (one permutation).
    pub fn account_id(&self) -> Result<FpVar<Fr>, SynthesisError> {
        account_id_var(self)
    }
}

impl AllocVar<PublicKey, Fr> for PublicKeyVar {
    /// Allocates the two coordinates: no constraints (validity is part of [`is_valid`]).
    fn new_variable<T: Borrow<PublicKey>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let cs = cs.into().cs();
        let fields = f().map(|pk| pk.borrow().to_fields());
        Ok(Self {
            x: FpVar::new_variable(cs.clone(), || fields.map(|f| f[0]), mode)?,
            y: FpVar::new_variable(cs, || fields.map(|f| f[1]), mode)?,
        })
    }
}

/// A signature in the circuit: `(R.x, R.y, S)` as field elements, checked only by
/// [`is_valid`].
#[derive(Clone, Debug)]
pub struct SignatureVar {
    /// R.x
    pub r_x: FpVar<Fr>,
    /// R.y
    pub r_y: FpVar<Fr>,
    /// S (its canonical integer is what must be below ℓ).
    pub s: FpVar<Fr>,
}

impl SignatureVar {
    /// The signature with fields `(r_x, r_y, s)`.
    pub fn new(r_x: FpVar<Fr>, r_y: FpVar<Fr>, s: FpVar<Fr>) -> Self {
        Self { r_x, r_y, s }
    }
}

impl AllocVar<Signature, Fr> for SignatureVar {
    /// Allocates the three fields: no constraints.
    fn new_variable<T: Borrow<Signature>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let cs = cs.into().cs();
        let fields = f().map(|sig| sig.borrow().to_fields());
        Ok(Self {
            r_x: FpVar::new_variable(cs.clone(), || fields.map(|f| f[0]), mode)?,
            r_y: FpVar::new_variable(cs.clone(), || fields.map(|f| f[1]), mode)?,
            s: FpVar::new_variable(cs, || fields.map(|f| f[2]), mode)?,
        })
    }
}

/// In-circuit [`account_id`](super::eddsa::account_id):
/// `Poseidon(account tag, [A.x, A.y, 0])`.
pub fn account_id_var(pk: &PublicKeyVar) -> Result<FpVar<Fr>, SynthesisError> {
    poseidon_gadget::hash_var(
        account_domain(),
        [pk.x.clone(), pk.y.clone(), FpVar::constant(Fr::from(0u64))],
    )
}

/// In-circuit [`challenge_hash`](super::eddsa::challenge_hash): the same sponge, lane for lane.
pub fn challenge_hash_var(
    pk: &PublicKeyVar,
    sig: &SignatureVar,
    msg: &[FpVar<Fr>],
) -> Result<FpVar<Fr>, SynthesisError> {
    let input: Vec<FpVar<Fr>> = [&sig.r_x, &sig.r_y, &pk.x, &pk.y]
        .into_iter()
        .chain(msg)
        .cloned()
        .collect();
    poseidon_gadget::sponge_hash_var(challenge_domain(msg.len()), &input)
}

/// Whether `sig` is a valid signature on `msg` under `pk`: the Boolean twin of
/// [`eddsa::is_valid`]. Satisfiable for every assignment of the inputs, and the output is
/// determined by them (see the module doc).
pub fn is_valid(
    pk: &PublicKeyVar,
    msg: &[FpVar<Fr>],
    sig: &SignatureVar,
) -> Result<Boolean<Fr>, SynthesisError> {
    let cs = [&pk.x, &pk.y, &sig.r_x, &sig.r_y, &sig.s]
        .into_iter()
        .chain(msg)
        .fold(ConstraintSystemRef::None, |cs, x| cs.or(x.cs()));
    if cs.is_none() {
        // Everything is a constant: the answer is too.
        return is_valid_constant(pk, msg, sig).map(Boolean::constant);
    }

    // 1–3. Curve membership as Booleans; failing points are replaced before any arithmetic
    // (A by G, R by the identity), so the group operations below only ever see curve points.
    let a_on_curve = is_on_curve_var(&pk.x, &pk.y)?;
    let r_on_curve = is_on_curve_var(&sig.r_x, &sig.r_y)?;
    let g = generator();
    let a = EdwardsVar::new(
        a_on_curve.select(&pk.x, &FpVar::constant(g.x))?,
        a_on_curve.select(&pk.y, &FpVar::constant(g.y))?,
    );
    let r = EdwardsVar::new(
        r_on_curve.select(&sig.r_x, &FpVar::constant(Fr::from(0u64)))?,
        r_on_curve.select(&sig.r_y, &FpVar::constant(Fr::from(1u64)))?,
    );
    let a8 = clear_cofactor_var(a)?;
    // 8A' lies in the order-ℓ subgroup, whose only point with x = 0 is the identity
    // ((0, −1) has order 2): so x = 0 is exactly "A has small order".
    let a_small = a8.x.is_zero()?;
    // The ladder needs a point of order ℓ; a small-order key is already invalid, so any
    // such point will do.
    let p = a_small.select(&EdwardsVar::constant(cofactor_generator().into()), &a8)?;

    // 4. S < ℓ, with S's bits.
    let (s_below_order, s_bits) = scalar_bits_var(&cs, &sig.s)?;

    // 5. S·(8G) − 8R' = c·P.
    let h = challenge_hash_var(pk, sig, msg)?;
    let h_bits = canonical_bits_var(&cs, &h)?;
    let lhs = fixed_base_mul_var(&s_bits)? + clear_cofactor_var(r)?.negate()?;
    let rhs = challenge_mul_var(&p, &h_bits[..CHALLENGE_BITS])?;
    let equation = [lhs.x.is_eq(&rhs.x)?, lhs.y.is_eq(&rhs.y)?];

    Boolean::kary_and(&[
        a_on_curve,
        !a_small,
        r_on_curve,
        s_below_order,
        equation[0].clone(),
        equation[1].clone(),
    ])
}

/// Enforces that `sig` is a valid signature on `msg` under `pk` (`is_valid(..) == true`).
pub fn enforce_valid(
    pk: &PublicKeyVar,
    msg: &[FpVar<Fr>],
    sig: &SignatureVar,
) -> Result<(), SynthesisError> {
    is_valid(pk, msg, sig)?.enforce_equal(&Boolean::TRUE)
}

/// [`is_valid`] on constants: the native verifier on their values.
fn is_valid_constant(
    pk: &PublicKeyVar,
    msg: &[FpVar<Fr>],
    sig: &SignatureVar,
) -> Result<bool, SynthesisError> {
    let pk =
        PublicKey::from_point_unchecked(EdwardsAffine::new_unchecked(pk.x.value()?, pk.y.value()?));
    let msg = msg
        .iter()
        .map(|m| m.value())
        .collect::<Result<Vec<_>, _>>()?;
    let sig = Signature::from_fields([sig.r_x.value()?, sig.r_y.value()?, sig.s.value()?]);
    Ok(eddsa::is_valid(&pk, &msg, &sig))
}

/// `a·x² + y² = 1 + d·x²·y²` as a Boolean (5 constraints); twin of [`eddsa::is_on_curve`].
fn is_on_curve_var(x: &FpVar<Fr>, y: &FpVar<Fr>) -> Result<Boolean<Fr>, SynthesisError> {
    let x2 = x.square()?;
    let y2 = y.square()?;
    let residue = &x2 * <EdwardsConfig as TECurveConfig>::COEFF_A + &y2
        - Fr::from(1u64)
        - (&x2 * &y2) * <EdwardsConfig as TECurveConfig>::COEFF_D;
    residue.is_zero()
}

/// `8·P` by three doublings (15 constraints). P must be on the curve (then the doubling
/// formulas' denominators never vanish).
fn clear_cofactor_var(point: EdwardsVar) -> Result<EdwardsVar, SynthesisError> {
    doublings_var(&point, COFACTOR_DOUBLINGS)
}

/// Allocates `count` boolean witnesses: the low bits of `value` (when it is known).
fn witness_bits(
    cs: &ConstraintSystemRef<Fr>,
    value: Option<Fr>,
    count: usize,
) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    let bits = value.map(|v| v.into_bigint().to_bits_le());
    (0..count)
        .map(|i| {
            Boolean::new_witness(cs.clone(), || {
                bits.as_ref()
                    .map(|b| b[i])
                    .ok_or(SynthesisError::AssignmentMissing)
            })
        })
        .collect()
}

/// The [`LIMB_BITS`]-bit limbs of a little-endian bit string (free: linear combinations).
fn limbs_var(bits: &[Boolean<Fr>]) -> Result<Vec<FpVar<Fr>>, SynthesisError> {
    bits.chunks(LIMB_BITS)
        .map(super::matrix_free::le_bits_to_fp)
        .collect()
}

/// Σ limbⱼ·2^(32·j) (free). Not `Boolean::le_bits_to_fp` on all 255 bits: that would add
/// arkworks' own in-field check, which [`enforce_limbs_below`] replaces.
fn recompose(limbs: &[FpVar<Fr>]) -> FpVar<Fr> {
    let mut weight = Fr::from(1u64);
    let mut sum = FpVar::zero();
    for limb in limbs {
        sum += limb * weight;
        weight *= Fr::from(1u64 << LIMB_BITS);
    }
    sum
}

/// The [`LIMB_BITS`]-bit limbs of a constant (as many as `count`).
fn constant_limbs(value: &<Fr as PrimeField>::BigInt, count: usize) -> Vec<Fr> {
    let bits = value.to_bits_le();
    (0..count)
        .map(|j| {
            let limb = bits
                .iter()
                .skip(j * LIMB_BITS)
                .take(LIMB_BITS)
                .rev()
                .fold(0u64, |acc, &bit| (acc << 1) | u64::from(bit));
            Fr::from(limb)
        })
        .collect()
}

/// Enforces `value < bound` as integers, both given as limbs (least significant first), every
/// limb below 2^LIMB_BITS. Costs 3 per limb above the lowest, plus a 33-constraint range check.
///
/// Soundness: let j* be the highest limb where value and bound differ (or 0). The select
/// chain leaves `d = bound_{j*} − value_{j*} − 1`, an integer in (−2^32 − 1, 2^32 − 1); its
/// field value lies in [0, 2^32) exactly when it is non-negative (negative integers wrap to
/// ≥ p − 2^32 − 1), i.e. when bound_{j*} > value_{j*}, i.e. when value < bound. If all limbs
/// are equal, d = −1: rejected, as value = bound must be.
fn enforce_limbs_below(
    cs: &ConstraintSystemRef<Fr>,
    value: &[FpVar<Fr>],
    bound: &[FpVar<Fr>],
) -> Result<(), SynthesisError> {
    let mut d = &bound[0] - &value[0] - Fr::from(1u64);
    for (v, b) in value.iter().zip(bound).skip(1) {
        let equal = v.is_eq(b)?;
        let here = b - v - Fr::from(1u64);
        d = equal.select(&d, &here)?;
    }
    let bits = witness_bits(cs, d.value().ok(), LIMB_BITS)?;
    super::matrix_free::le_bits_to_fp(&bits)?.enforce_equal(&d)
}

/// The canonical 255 little-endian bits of `x` (the bits of its integer in [0, p)):
/// 255 boolean constraints, the recomposition, and a limb comparison with p (310 in all).
fn canonical_bits_var(
    cs: &ConstraintSystemRef<Fr>,
    x: &FpVar<Fr>,
) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    let bits = witness_bits(cs, x.value().ok(), FIELD_BITS)?;
    let limbs = limbs_var(&bits)?;
    recompose(&limbs).enforce_equal(x)?;
    let p = constant_limbs(&Fr::MODULUS, limbs.len())
        .into_iter()
        .map(FpVar::constant)
        .collect::<Vec<_>>();
    // Without this, x + p (when below 2^255) would be a second decomposition.
    enforce_limbs_below(cs, &limbs, &p)?;
    Ok(bits)
}

/// `[S < ℓ]` and the low 252 bits of S (meaningful when S < ℓ); 311 constraints.
///
/// Allocates lt and 255 bits of `V = S − ℓ + lt·ℓ`, and enforces `V < (lt ? ℓ : p − ℓ)`:
/// lt = 1 then says S = V < ℓ; lt = 0 says S = V + ℓ with V + ℓ < p, i.e. S ≥ ℓ. Exactly one
/// of the two is satisfiable for any S, so lt is determined — a prover cannot flip it.
fn scalar_bits_var(
    cs: &ConstraintSystemRef<Fr>,
    s: &FpVar<Fr>,
) -> Result<(Boolean<Fr>, Vec<Boolean<Fr>>), SynthesisError> {
    let order = JubjubScalar::MODULUS;
    let order_fr = Fr::from_bigint(order).ok_or(SynthesisError::Unsatisfiable)?;
    let s_value = s.value().ok();
    let below = s_value.map(|s| s.into_bigint() < order);
    let lt = Boolean::new_witness(cs.clone(), || {
        below.ok_or(SynthesisError::AssignmentMissing)
    })?;
    let v_value = s_value
        .zip(below)
        .map(|(s, below)| if below { s } else { s - order_fr });
    let bits = witness_bits(cs, v_value, FIELD_BITS)?;
    let limbs = limbs_var(&bits)?;
    // V = S − ℓ + lt·ℓ: linear in lt, so a single constraint.
    let lt_fp = FpVar::from(lt.clone());
    recompose(&limbs).enforce_equal(&(s - order_fr + &lt_fp * order_fr))?;

    // bound = lt ? ℓ : p − ℓ, limb by limb (linear in lt, each limb below 2^32 either way).
    let mut p_minus_order = Fr::MODULUS;
    p_minus_order.sub_with_borrow(&order);
    let bound = constant_limbs(&order, limbs.len())
        .into_iter()
        .zip(constant_limbs(&p_minus_order, limbs.len()))
        .map(|(if_below, if_not)| &lt_fp * (if_below - if_not) + if_not)
        .collect::<Vec<_>>();
    enforce_limbs_below(cs, &limbs, &bound)?;
    Ok((lt, bits[..SCALAR_BITS].to_vec()))
}

/// `S·(8G)` from S's little-endian bits: 3-bit windows over constant tables, built once
/// (9 constraints a window, the first one 3; see [`three_bit_windows`]).
fn fixed_base_mul_var(bits: &[Boolean<Fr>]) -> Result<EdwardsVar, SynthesisError> {
    static TABLES: OnceLock<WindowTables> = OnceLock::new();
    let tables = TABLES.get_or_init(|| {
        WindowTables::new(
            cofactor_generator(),
            WINDOW_BITS,
            SCALAR_BITS.div_ceil(WINDOW_BITS),
        )
    });
    three_bit_windows(bits, tables)
}

/// A point of Jubjub's Montgomery form `B·v² = u³ + A·u² + u` (A = 40962, B = −40964).
#[derive(Clone, Debug)]
struct MontgomeryVar {
    u: FpVar<Fr>,
    v: FpVar<Fr>,
}

/// A new coordinate computed by `value`: a witness, or a constant when `cs` is none (all
/// inputs constant). The caller constrains it.
fn new_coordinate(
    cs: &ConstraintSystemRef<Fr>,
    value: impl FnOnce() -> Result<Fr, SynthesisError>,
) -> Result<FpVar<Fr>, SynthesisError> {
    if cs.is_none() {
        value().map(FpVar::constant)
    } else {
        FpVar::new_witness(cs.clone(), value)
    }
}

/// `numerator / denominator` on values, `DivisionByZero` when the denominator vanishes
/// (which the exception-freeness argument rules out for the points used here).
fn divide(numerator: Fr, denominator: Fr) -> Result<Fr, SynthesisError> {
    denominator
        .inverse()
        .map(|inv| numerator * inv)
        .ok_or(SynthesisError::DivisionByZero)
}

/// The Montgomery coefficients (A, B).
fn montgomery_coefficients() -> (Fr, Fr) {
    (
        <EdwardsConfig as MontCurveConfig>::COEFF_A,
        <EdwardsConfig as MontCurveConfig>::COEFF_B,
    )
}

impl MontgomeryVar {
    /// `u = (1 + y)/(1 − y)`, `v = u/x` (2 constraints). Needs y ≠ 1, x ≠ 0: any point of
    /// order ℓ.
    fn from_edwards(p: &EdwardsVar) -> Result<Self, SynthesisError> {
        let cs = p.cs();
        let one = Fr::from(1u64);
        let u = new_coordinate(&cs, || divide(one + p.y.value()?, one - p.y.value()?))?;
        u.mul_equals(&(FpVar::one() - &p.y), &(&p.y + one))?;
        let v = new_coordinate(&cs, || divide(u.value()?, p.x.value()?))?;
        v.mul_equals(&p.x, &u)?;
        Ok(Self { u, v })
    }

    /// `x = u/v`, `y = (u − 1)/(u + 1)` (2 constraints). Needs v ≠ 0, u ≠ −1: any point of
    /// order ℓ.
    fn to_edwards(&self) -> Result<EdwardsVar, SynthesisError> {
        let cs = self.cs();
        let one = Fr::from(1u64);
        let x = new_coordinate(&cs, || divide(self.u.value()?, self.v.value()?))?;
        x.mul_equals(&self.v, &self.u)?;
        let y = new_coordinate(&cs, || divide(self.u.value()? - one, self.u.value()? + one))?;
        y.mul_equals(&(&self.u + one), &(&self.u - one))?;
        Ok(EdwardsVar::new(x, y))
    }

    fn cs(&self) -> ConstraintSystemRef<Fr> {
        self.u.cs().or(self.v.cs())
    }

    /// `2·self` (4 constraints). Needs v ≠ 0 (self not of order 2).
    fn double(&self) -> Result<Self, SynthesisError> {
        let (a, b) = montgomery_coefficients();
        let cs = self.cs();
        let u2 = self.u.square()?;
        // λ = (3u² + 2Au + 1) / (2Bv)
        let slope_numerator = &u2 * Fr::from(3u64) + &self.u * (a + a) + Fr::from(1u64);
        let slope_denominator = &self.v * (b + b);
        let slope = new_coordinate(&cs, || {
            divide(slope_numerator.value()?, slope_denominator.value()?)
        })?;
        slope.mul_equals(&slope_denominator, &slope_numerator)?;
        self.finish_line(&slope, &self.u)
    }

    /// `self + other` (3 constraints). Needs self ≠ ±other.
    fn add(&self, other: &Self) -> Result<Self, SynthesisError> {
        let cs = self.cs().or(other.cs());
        let slope = new_coordinate(&cs, || {
            divide(
                other.v.value()? - self.v.value()?,
                other.u.value()? - self.u.value()?,
            )
        })?;
        slope.mul_equals(&(&other.u - &self.u), &(&other.v - &self.v))?;
        self.finish_line(&slope, &other.u)
    }

    /// The third point on the line of slope λ through `self` and a point with u-coordinate
    /// `other_u`, negated: `u₃ = B·λ² − A − u₁ − u₂`, `v₃ = λ·(u₁ − u₃) − v₁` (2 constraints).
    fn finish_line(&self, slope: &FpVar<Fr>, other_u: &FpVar<Fr>) -> Result<Self, SynthesisError> {
        let (a, b) = montgomery_coefficients();
        let cs = self.cs().or(slope.cs());
        let u = new_coordinate(&cs, || {
            Ok(b * slope.value()?.square() - a - self.u.value()? - other_u.value()?)
        })?;
        (slope * b).mul_equals(slope, &(&u + a + &self.u + other_u))?;
        let v = new_coordinate(&cs, || {
            Ok(slope.value()? * (self.u.value()? - u.value()?) - self.v.value()?)
        })?;
        slope.mul_equals(&(&self.u - &u), &(&v + &self.v))?;
        Ok(Self { u, v })
    }

    /// `2·self + (2·bit − 1)·q` as `(self ± q) + self`, skipping the middle point's v
    /// (6 constraints). Needs self ≠ ±q and self ± q ≠ ±self (see the module doc). `slopes`:
    /// the values of λ₁ and λ₂ if already known (see [`ladder_slopes`]), else they are
    /// computed here.
    fn double_add_signed(
        &self,
        q: &Self,
        bit: &Boolean<Fr>,
        slopes: Option<(Fr, Fr)>,
    ) -> Result<Self, SynthesisError> {
        let (a, b) = montgomery_coefficients();
        let cs = self.cs().or(q.cs()).or(bit.cs());
        // ±q.v = (2·bit − 1)·q.v
        let q_v = FpVar::from(bit.clone()) * q.v.double()? - &q.v;
        // λ₁: slope through self and ±q.
        let slope1 = new_coordinate(&cs, || match slopes {
            Some((slope1, _)) => Ok(slope1),
            None => divide(
                q_v.value()? - self.v.value()?,
                q.u.value()? - self.u.value()?,
            ),
        })?;
        slope1.mul_equals(&(&q.u - &self.u), &(&q_v - &self.v))?;
        // u of the middle point m = self ± q.
        let middle_u = new_coordinate(&cs, || {
            Ok(b * slope1.value()?.square() - a - self.u.value()? - q.u.value()?)
        })?;
        (&slope1 * b).mul_equals(&slope1, &(&middle_u + a + &self.u + &q.u))?;
        // λ₂: slope through m and self. With m.v = λ₁(u − m.u) − v it is
        // λ₂ = 2v/(u − m.u) − λ₁, so m.v is never materialised.
        let slope2 = new_coordinate(&cs, || match slopes {
            Some((_, slope2)) => Ok(slope2),
            None => Ok(divide(
                self.v.value()?.double(),
                self.u.value()? - middle_u.value()?,
            )? - slope1.value()?),
        })?;
        (&slope1 + &slope2).mul_equals(&(&self.u - &middle_u), &self.v.double()?)?;
        self.finish_line(&slope2, &middle_u)
    }
}

/// `c·P` for `c = 2^250 + 1 + 2·Σ bᵢ2^i` (bits little-endian, 249 of them) and P of prime
/// order ℓ: the signed-digit Montgomery ladder of the module doc (6 constraints a bit).
fn challenge_mul_var(p: &EdwardsVar, bits: &[Boolean<Fr>]) -> Result<EdwardsVar, SynthesisError> {
    // The two slopes of every step, from a native run with batched inversions (None while
    // the values are unknown, e.g. at setup).
    let slopes = ladder_slopes(p, bits);
    let p = MontgomeryVar::from_edwards(p)?;
    // k₀ = 3.
    let mut acc = p.double()?.add(&p)?;
    // Most significant bit first: k ← 2k + (2b − 1).
    for (j, bit) in bits.iter().rev().enumerate() {
        acc = acc.double_add_signed(&p, bit, slopes.as_ref().map(|s| s[j]))?;
    }
    acc.to_edwards()
}

/// The slopes (λ₁, λ₂) of each step of [`challenge_mul_var`]'s ladder, computed natively: the
/// multiples `k_j·P` and middle points `(k_j ± 1)·P` in projective Edwards coordinates, all
/// mapped to the Montgomery form together (one batched inversion), and every slope's denominator
/// inverted together, so the ladder needs a handful of field inversions instead of two a
/// step (synthesis spent about a third of its time in them). The values are the unique
/// solutions of the step's constraints, so a wrong one would leave the circuit unsatisfied,
/// never change what it proves. `None` when `p` or a bit has no value yet.
fn ladder_slopes(p: &EdwardsVar, bits: &[Boolean<Fr>]) -> Option<Vec<(Fr, Fr)>> {
    // The coordinates as they are. arkworks' `EdwardsVar::value` checks the point's subgroup
    // with a scalar multiplication, 4% of a ledger batch's synthesis; P's order is the
    // circuit's business (it is 8·A' or 8G), and these values are only the steps' hints.
    let base = EdwardsProjective::from(EdwardsAffine::new_unchecked(
        p.x.value().ok()?,
        p.y.value().ok()?,
    ));
    let signs: Vec<bool> = bits
        .iter()
        .rev()
        .map(|b| b.value().ok())
        .collect::<Option<_>>()?;
    let steps = signs.len();
    // points[2j] = k_j·P, points[2j + 1] = (k_j ± 1)·P (the middle point), j < steps; then P.
    let mut points = Vec::with_capacity(2 * steps + 1);
    let mut acc = base.double() + base;
    for &plus in &signs {
        let middle = if plus { acc + base } else { acc - base };
        points.push(acc);
        points.push(middle);
        acc = middle + acc;
    }
    points.push(base);
    // Montgomery u = (1 + y)/(1 − y) and v = u/x, straight from extended coordinates:
    // u = (Z + Y)/(Z − Y) and v = (Z + Y)·Z/((Z − Y)·X), so one inverse of (Z − Y)·X per point
    // gives both, with no affine step in between (7 multiplications a point, where making it
    // affine first and then mapping it took 13).
    let mut denominators: Vec<Fr> = points.iter().map(|q| (q.z - q.y) * q.x).collect();
    if denominators.iter().any(|d| d.is_zero()) {
        return None; // not a point of order ℓ: the circuit's own divisions will report it
    }
    invert_serially(&mut denominators);
    let sum_over = |i: usize| (points[i].z + points[i].y) * denominators[i];
    let montgomery = |i: usize| {
        let s = sum_over(i);
        (s * points[i].x, s * points[i].z)
    };
    let montgomery_u = |i: usize| sum_over(i) * points[i].x;
    let (p_u, p_v) = montgomery(2 * steps);
    let mut slope_denominators = Vec::with_capacity(2 * steps);
    let mut vs = Vec::with_capacity(steps);
    for j in 0..steps {
        let (u, v) = montgomery(2 * j);
        let middle_u = montgomery_u(2 * j + 1);
        slope_denominators.push(p_u - u);
        slope_denominators.push(u - middle_u);
        vs.push(v);
    }
    if slope_denominators.iter().any(|d| d.is_zero()) {
        return None; // an exceptional step: left to the circuit's divisions to report
    }
    invert_serially(&mut slope_denominators);
    Some(
        (0..steps)
            .map(|j| {
                let v = vs[j];
                let q_v = if signs[j] { p_v } else { -p_v };
                let slope1 = (q_v - v) * slope_denominators[2 * j];
                let slope2 = v.double() * slope_denominators[2 * j + 1] - slope1;
                (slope1, slope2)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::PrimeGroup;
    use ark_relations::gr1cs::ConstraintSystem;
    use ark_std::{
        rand::{rngs::StdRng, Rng, SeedableRng},
        UniformRand,
    };

    /// A random point of prime order ℓ and `CHALLENGE_BITS` random bits, as witnesses of `cs`.
    fn ladder_inputs(
        cs: &ConstraintSystemRef<Fr>,
        seed: u64,
    ) -> (EdwardsVar, Vec<Boolean<Fr>>, EdwardsProjective, Vec<bool>) {
        let mut rng = StdRng::seed_from_u64(seed);
        let p = EdwardsProjective::generator() * JubjubScalar::rand(&mut rng);
        let bits: Vec<bool> = (0..CHALLENGE_BITS).map(|_| rng.gen()).collect();
        let p_var = EdwardsVar::new_witness(cs.clone(), || Ok(p)).unwrap();
        let bit_vars = bits
            .iter()
            .map(|&b| Boolean::new_witness(cs.clone(), || Ok(b)).unwrap())
            .collect();
        (p_var, bit_vars, p, bits)
    }

    #[test]
    fn precomputed_ladder_slopes_satisfy_the_ladder_and_give_the_multiple() {
        for seed in 0..4 {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let (p_var, bit_vars, p, bits) = ladder_inputs(&cs, seed);
            assert!(
                ladder_slopes(&p_var, &bit_vars).is_some(),
                "the native run must cover a point of order ℓ"
            );
            let product = challenge_mul_var(&p_var, &bit_vars).unwrap();
            assert!(cs.is_satisfied().unwrap(), "seed {seed}");
            // k₀ = 3, k ← 2k ± 1, most significant bit first.
            let k = bits.iter().rev().fold(JubjubScalar::from(3u64), |k, &b| {
                k.double()
                    + if b {
                        JubjubScalar::from(1u64)
                    } else {
                        -JubjubScalar::from(1u64)
                    }
            });
            assert_eq!(product.value().unwrap(), p * k, "seed {seed}");
        }
    }

    #[test]
    fn a_wrong_precomputed_slope_leaves_the_ladder_unsatisfied() {
        for (seed, wrong_second) in [(7, false), (8, true)] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let (p_var, bit_vars, _, _) = ladder_inputs(&cs, seed);
            let (slope1, slope2) = ladder_slopes(&p_var, &bit_vars).unwrap()[0];
            let p = MontgomeryVar::from_edwards(&p_var).unwrap();
            let acc = p.double().unwrap().add(&p).unwrap();
            assert!(cs.is_satisfied().unwrap());
            let tampered = if wrong_second {
                (slope1, slope2 + Fr::from(1u64))
            } else {
                (slope1 + Fr::from(1u64), slope2)
            };
            acc.double_add_signed(&p, &bit_vars[CHALLENGE_BITS - 1], Some(tampered))
                .unwrap();
            assert!(
                !cs.is_satisfied().unwrap(),
                "a wrong λ{} was accepted",
                if wrong_second { 2 } else { 1 }
            );
        }
    }
}
