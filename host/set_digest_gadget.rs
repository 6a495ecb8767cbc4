//! The set digest as an R1CS gadget: the same operations as [`super::set_digest`], in the
//! same order, producing exactly the same points.
//!
//! | native ([`set_digest`](super::set_digest))      | gadget (this file)  | constraints       |
//! |-------------------------------------------------|---------------------|-------------------|
//! | `u64` timestamp                                 | [`TimestampVar`]    | 64 (allocation)   |
//! | [`Tuple`]                                       | [`TupleVar`]        | 64 (its timestamp)|
//! | [`HashHint`]                                    | [`HashHintVar`]     | 8 + 253           |
//! | [`hash_tuple`](super::set_digest::hash_tuple)   | [`hash_tuple_var`]  | 261 + 3 + 15      |
//! | [`SetDigest::insert`](super::set_digest::SetDigest::insert) | [`SetDigestVar::insert`] | hint + H + 6 = 546 |
//! | [`SetDigest::blind`](super::set_digest::SetDigest::blind) | [`SetDigestVar::blind`]  | 252 (ρ bits) + 1,008 |
//!
//! Measured by `constraint_counts_are_reported` in `tests/integration/set_digest.rs`. A read-modify-write
//! of one key (t_old range, `t_old < t_req`, two set elements) costs 1,221, plus 64 per
//! request for t_req.
//!
//! Every check is written next to the reason it is needed; the overall argument (why a
//! canonical root, why the counter need not be minimal) is in [`super::set_digest`].

use ark_bls12_381::Fr;
use ark_ec::twisted_edwards::TECurveConfig;
use ark_ed_on_bls12_381::{constraints::EdwardsVar, EdwardsConfig, Fr as JubjubScalar};
use ark_ff::{BigInteger, PrimeField};
use ark_r1cs_std::{
    alloc::{AllocVar, AllocationMode},
    boolean::Boolean,
    convert::ToBitsGadget,
    eq::EqGadget,
    fields::{fp::FpVar, FieldVar},
    groups::CurveVar,
    uint64::UInt64,
    uint8::UInt8,
    GR1CSVar,
};
use ark_relations::gr1cs::{Namespace, SynthesisError};
use std::{borrow::Borrow, sync::OnceLock};

use super::edwards_gadget::doublings_var;
use super::field_encoding::u64_of;
use super::fixed_base_gadget::{add_two_bit_windows, WindowTables};
use super::{
    poseidon_gadget,
    set_digest::{
        blinding_generator, element_domain, HashHint, Tuple, CANONICAL_ROOT_BITS,
        COFACTOR_DOUBLINGS, COUNTER_BITS, TIMESTAMP_BITS,
    },
};

/// A Jubjub point in the circuit (twisted Edwards affine coordinates over BLS12-381's Fr).
pub type JubjubVar = EdwardsVar;

/// A timestamp in the circuit: a 64-bit unsigned integer, range-checked when allocated.
///
/// The range is part of the type: every `TimestampVar` is built from 64 boolean-constrained
/// bits, so code that receives one may rely on `t < 2^64` without re-checking. That keeps
/// the bound in one place: the packing `t·2^8 + c` is injective only because t < 2^64, and
/// `t_old < t_req` via a 64-bit difference is sound only because both are < 2^64.
#[derive(Clone, Debug)]
pub struct TimestampVar(UInt64<Fr>);

impl TimestampVar {
    /// Range-checks a field element as a timestamp: decomposes it into 64 bits and enforces
    /// that the bits recompose to it (65 constraints). Unsatisfiable when `t ≥ 2^64`.
    pub fn from_fp(t: &FpVar<Fr>) -> Result<Self, SynthesisError> {
        if let FpVar::Constant(t) = t {
            // A constant needs no constraints, only the same range rule, checked natively.
            let t = u64_of(*t).ok_or(SynthesisError::Unsatisfiable)?;
            return Ok(Self(UInt64::constant(t)));
        }
        let cs = t.cs();
        let value = t.value().ok();
        let bits = (0..TIMESTAMP_BITS)
            .map(|i| {
                Boolean::new_witness(cs.clone(), || {
                    value
                        .map(|t| t.into_bigint().get_bit(i))
                        .ok_or(SynthesisError::AssignmentMissing)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Soundness: Σ bᵢ·2^i < 2^64 < r cannot wrap, so equality with t means t < 2^64.
        super::matrix_free::le_bits_to_fp(&bits)?.enforce_equal(t)?;
        Ok(Self(UInt64::from_bits_le(&bits)))
    }

    /// The timestamp as a field element (a linear combination of its bits: free).
    pub fn to_fp(&self) -> Result<FpVar<Fr>, SynthesisError> {
        self.0.to_fp()
    }

    /// Enforces `self < later` (64 boolean constraints + 1).
    ///
    /// Soundness: both are < 2^64, so `later − self − 1` lies in [0, 2^64) exactly when
    /// `self < later`; otherwise it is `r − (self − later) − 1 ≥ r − 2^64`, which no 64-bit
    /// decomposition reaches.
    pub fn enforce_lt(&self, later: &TimestampVar) -> Result<(), SynthesisError> {
        let gap = later.to_fp()? - self.to_fp()? - Fr::from(1u64);
        TimestampVar::from_fp(&gap).map(|_| ())
    }
}

impl AllocVar<u64, Fr> for TimestampVar {
    /// Allocates 64 boolean-constrained bits (64 constraints), so `t < 2^64` by construction.
    fn new_variable<T: Borrow<u64>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        UInt64::new_variable(cs, f, mode).map(Self)
    }
}

impl GR1CSVar<Fr> for TimestampVar {
    type Value = u64;

    fn cs(&self) -> ark_relations::gr1cs::ConstraintSystemRef<Fr> {
        self.0.cs()
    }

    fn value(&self) -> Result<u64, SynthesisError> {
        self.0.value()
    }
}

/// A stored tuple `(k, v, t)` in the circuit.
#[derive(Clone, Debug)]
pub struct TupleVar {
    /// The key.
    pub key: FpVar<Fr>,
    /// The value.
    pub value: FpVar<Fr>,
    /// The timestamp (range-checked by its type).
    pub timestamp: TimestampVar,
}

impl AllocVar<Tuple, Fr> for TupleVar {
    fn new_variable<T: Borrow<Tuple>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let cs = cs.into().cs();
        let tuple = f().map(|t| *t.borrow());
        Ok(Self {
            key: FpVar::new_variable(cs.clone(), || tuple.map(|t| t.key), mode)?,
            value: FpVar::new_variable(cs.clone(), || tuple.map(|t| t.value), mode)?,
            timestamp: TimestampVar::new_variable(cs, || tuple.map(|t| t.timestamp), mode)?,
        })
    }
}

/// The prover's hash witness in the circuit: the counter c and the root y, both allocated
/// from bits so that their ranges hold by construction.
#[derive(Clone, Debug)]
pub struct HashHintVar {
    /// c, 8 boolean-constrained bits: c < 2^8, which the packing `t·2^8 + c` needs.
    pub counter: UInt8<Fr>,
    /// y, *defined* as Σ bᵢ·2^i over 253 boolean-constrained bits: y < 2^253 with no
    /// further check (this is the canonical-root check; see [`super::set_digest`]).
    pub y: FpVar<Fr>,
}

impl AllocVar<HashHint, Fr> for HashHintVar {
    /// 8 + 253 boolean constraints. A hint whose y is not canonical (y ≥ 2^253) cannot be
    /// represented: only its low 253 bits are allocated, which then fail the curve equation.
    fn new_variable<T: Borrow<HashHint>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let cs = cs.into().cs();
        let hint = f().map(|h| *h.borrow());
        let counter = UInt8::new_variable(cs.clone(), || hint.map(|h| h.counter), mode)?;
        let y_bits = (0..CANONICAL_ROOT_BITS)
            .map(|i| {
                Boolean::new_variable(
                    cs.clone(),
                    || hint.map(|h| h.y.into_bigint().get_bit(i)),
                    mode,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        // 253 bits sum to less than 2^253 < r: no wrap-around, so y < 2^253 as an integer.
        let y = super::matrix_free::le_bits_to_fp(&y_bits)?;
        Ok(Self { counter, y })
    }
}

/// `t·2^8 + c` in the circuit: a linear combination of the 72 bits (free).
pub fn pack_timestamp_counter_var(
    timestamp: &TimestampVar,
    counter: &UInt8<Fr>,
) -> Result<FpVar<Fr>, SynthesisError> {
    // Injective because both operands come from bits: t < 2^64, c < 2^8, so the result is
    // < 2^72 < r and determines (t, c).
    let mut bits = counter.to_bits_le()?;
    bits.extend(timestamp.0.to_bits_le()?);
    debug_assert_eq!(bits.len(), COUNTER_BITS + TIMESTAMP_BITS);
    super::matrix_free::le_bits_to_fp(&bits)
}

/// In-circuit H under `domain`: the twin of
/// [`hash_at_counter`](super::set_digest::hash_at_counter), with the counter and the root
/// taken from `hint` (279 constraints: Poseidon 261, curve equation 3, doublings 15).
pub fn hash_var(
    domain: Fr,
    tuple: &TupleVar,
    hint: &HashHintVar,
) -> Result<JubjubVar, SynthesisError> {
    // x = Poseidon(domain, [k, v, t·2^8 + c]). Binding: x is a function of the tuple and c;
    // a witness y for another tuple fails the curve equation below.
    let packed = pack_timestamp_counter_var(&tuple.timestamp, &hint.counter)?;
    let x = poseidon_gadget::hash_var(domain, [tuple.key.clone(), tuple.value.clone(), packed])?;
    let y = &hint.y;

    // (x, y) on Jubjub: a·x² + y² = 1 + d·x²·y², checked as (d·x² − 1)·y² = a·x² − 1
    // (3 constraints). Without it the doublings below would run on a point of some other
    // curve and the output would be meaningless.
    let x2 = x.square()?;
    let y2 = y.square()?;
    let d_x2_minus_one = &x2 * EdwardsConfig::COEFF_D - Fr::from(1u64);
    let a_x2_minus_one = &x2 * EdwardsConfig::COEFF_A - Fr::from(1u64);
    d_x2_minus_one.mul_equals(&y2, &a_x2_minus_one)?;

    // y < 2^253 holds by construction of `HashHintVar`, so (x, y) is the canonical point.

    // 8·(x, y): three doublings (5 constraints each). The formulas' denominators
    // a·x² + y² = 1 + d·x²y² and 2 − a·x² − y² = 1 − d·x²y² never vanish on Jubjub
    // (d is a non-square), so each doubling is a function of its input.
    doublings_var(&JubjubVar::new(x, y.clone()), COFACTOR_DOUBLINGS)
}

/// In-circuit `H(tuple)`; with the honest hint it equals
/// [`hash_tuple`](super::set_digest::hash_tuple).
pub fn hash_tuple_var(tuple: &TupleVar, hint: &HashHintVar) -> Result<JubjubVar, SynthesisError> {
    hash_var(element_domain(), tuple, hint)
}

/// Allocates a blinding scalar ρ as its 252 little-endian bits (252 constraints).
///
/// The bits are not checked to be below Jubjub's group order: any integer ρ' they encode
/// is as good a blinding as ρ' mod order, and the prover, who chose it, knows it.
pub fn blinding_scalar_var(
    cs: impl Into<Namespace<Fr>>,
    rho: impl FnOnce() -> Result<JubjubScalar, SynthesisError>,
) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    let cs = cs.into().cs();
    let rho = rho().map(|r| r.into_bigint());
    (0..JubjubScalar::MODULUS_BIT_SIZE as usize)
        .map(|i| Boolean::new_witness(cs.clone(), || rho.map(|r| r.get_bit(i))))
        .collect()
}

/// `point + ρ·B`, ρ given by its little-endian bits (at most 252, see
/// [`blinding_scalar_var`]). B is a constant, so its multiples are tabulated once and ρ·B
/// costs two-bit lookups and additions only — no doublings in the circuit (8 constraints a
/// pair of bits: 1,008 for 252 bits).
pub fn blind_point_var(
    point: &JubjubVar,
    rho_bits: &[Boolean<Fr>],
) -> Result<JubjubVar, SynthesisError> {
    static TABLES: OnceLock<WindowTables> = OnceLock::new();
    let tables = TABLES.get_or_init(|| {
        WindowTables::new(
            blinding_generator(),
            2,
            (JubjubScalar::MODULUS_BIT_SIZE as usize).div_ceil(2),
        )
    });
    add_two_bit_windows(point, rho_bits, tables)
}

/// A set digest in the circuit: the running sum of in-circuit H outputs.
#[derive(Clone, Debug)]
pub struct SetDigestVar(JubjubVar);

impl SetDigestVar {
    /// The digest of the empty multiset (the constant identity).
    pub fn empty() -> Self {
        Self(JubjubVar::zero())
    }

    /// Adds `tuple` to the multiset, with the prover's `hint` for its hash.
    pub fn insert(&mut self, tuple: &TupleVar, hint: &HashHintVar) -> Result<(), SynthesisError> {
        self.0 += hash_tuple_var(tuple, hint)?;
        Ok(())
    }

    /// Adds every element of `other` (multiset union).
    pub fn merge(&mut self, other: &SetDigestVar) {
        self.0 += &other.0;
    }

    /// The digest point.
    pub fn point(&self) -> &JubjubVar {
        &self.0
    }

    /// `MH(S) + ρ·B` with ρ given by its little-endian bits ([`blind_point_var`]).
    pub fn blind(&self, rho_bits: &[Boolean<Fr>]) -> Result<JubjubVar, SynthesisError> {
        blind_point_var(&self.0, rho_bits)
    }
}
