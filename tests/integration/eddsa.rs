//! EdDSA on Jubjub: native signing and verification, and the gadget ≡ native on valid and
//! tampered inputs. Every rejection is checked three ways: the native verifier says no,
//! `is_valid` gives `false` with the constraint system still satisfied, and `enforce_valid`
//! leaves it unsatisfied.
//!
//! Run with `cargo test --release --test integration eddsa:: -- --nocapture` to see the constraint count.

use ark_bls12_381::Fr;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ed_on_bls12_381::{EdwardsAffine, EdwardsProjective, Fr as JubjubScalar};
use ark_ff::{BigInteger, PrimeField, Zero};
use ark_r1cs_std::{
    alloc::AllocVar,
    fields::{fp::FpVar, FieldVar},
    GR1CSVar,
};
use ark_relations::gr1cs::{ConstraintSystem, ConstraintSystemRef, SynthesisError, SynthesisMode};
use proptest::prelude::*;
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

use spice::host::{
    eddsa::{
        account_id, challenge, cofactor_generator, generator, is_valid, verify, EddsaError,
        PublicKey, SecretKey, Signature, CHALLENGE_BITS,
    },
    eddsa_gadget::{self, account_id_var, PublicKeyVar, SignatureVar},
};

/// Each circuit case synthesises two ~3,700-constraint systems; keep case counts modest.
const CIRCUIT_CASES: u32 = 12;

fn fr() -> impl Strategy<Value = Fr> {
    any::<[u8; 32]>().prop_map(|bytes| Fr::from_le_bytes_mod_order(&bytes))
}

fn secret_key() -> impl Strategy<Value = SecretKey> {
    any::<[u8; 32]>().prop_map(|seed| SecretKey::from_seed(&seed).expect("non-degenerate seed"))
}

/// Messages shaped like the apps' ([domain tag, from, to, amount, nonce]).
fn message() -> impl Strategy<Value = Vec<Fr>> {
    prop::collection::vec(fr(), 5)
}

/// ℓ as an element of the circuit field.
fn subgroup_order() -> Fr {
    Fr::from_bigint(JubjubScalar::MODULUS).expect("ℓ < p")
}

/// What the circuit says about `(pk, msg, sig)`.
#[derive(Debug, PartialEq, Eq)]
struct CircuitVerdict {
    /// The value of `is_valid`.
    valid: bool,
    /// Whether the system with `is_valid` is satisfied (it always must be).
    boolean_form_satisfied: bool,
    /// Whether the system with `enforce_valid` is satisfied.
    enforced_form_satisfied: bool,
}

fn allocate(
    cs: &ConstraintSystemRef<Fr>,
    pk: &PublicKey,
    msg: &[Fr],
    sig: &Signature,
) -> (PublicKeyVar, Vec<FpVar<Fr>>, SignatureVar) {
    let pk_var = PublicKeyVar::new_witness(cs.clone(), || Ok(*pk)).expect("allocate key");
    let msg_vars = msg
        .iter()
        .map(|m| FpVar::new_witness(cs.clone(), || Ok(*m)).expect("allocate message"))
        .collect();
    let sig_var = SignatureVar::new_witness(cs.clone(), || Ok(*sig)).expect("allocate signature");
    (pk_var, msg_vars, sig_var)
}

fn satisfied(cs: &ConstraintSystemRef<Fr>) -> bool {
    cs.is_satisfied().expect("constraint system has all values")
}

fn circuit_verdict(pk: &PublicKey, msg: &[Fr], sig: &Signature) -> CircuitVerdict {
    let cs = ConstraintSystem::<Fr>::new_ref();
    let (pk_var, msg_vars, sig_var) = allocate(&cs, pk, msg, sig);
    let valid = eddsa_gadget::is_valid(&pk_var, &msg_vars, &sig_var).expect("synthesise is_valid");
    let valid = valid.value().expect("verdict value");
    let boolean_form_satisfied = satisfied(&cs);

    let cs = ConstraintSystem::<Fr>::new_ref();
    let (pk_var, msg_vars, sig_var) = allocate(&cs, pk, msg, sig);
    eddsa_gadget::enforce_valid(&pk_var, &msg_vars, &sig_var).expect("synthesise enforce_valid");
    CircuitVerdict {
        valid,
        boolean_form_satisfied,
        enforced_form_satisfied: satisfied(&cs),
    }
}

/// Native verifier and both circuit forms accept.
fn assert_accepted_everywhere(pk: &PublicKey, msg: &[Fr], sig: &Signature) {
    assert_eq!(verify(pk, msg, sig), Ok(()));
    assert_eq!(
        circuit_verdict(pk, msg, sig),
        CircuitVerdict {
            valid: true,
            boolean_form_satisfied: true,
            enforced_form_satisfied: true,
        }
    );
}

/// Native verifier rejects (with `reason`, when given); `is_valid` is false with the system
/// satisfied; `enforce_valid` is unsatisfied.
fn assert_rejected_everywhere(
    pk: &PublicKey,
    msg: &[Fr],
    sig: &Signature,
    reason: Option<EddsaError>,
) {
    let native = verify(pk, msg, sig);
    assert!(native.is_err(), "native verifier accepted");
    if let Some(reason) = reason {
        assert_eq!(native, Err(reason));
    }
    assert_eq!(
        circuit_verdict(pk, msg, sig),
        CircuitVerdict {
            valid: false,
            boolean_form_satisfied: true,
            enforced_form_satisfied: false,
        }
    );
}

fn nonzero_scalar() -> impl Strategy<Value = JubjubScalar> {
    any::<[u8; 32]>()
        .prop_map(|bytes| JubjubScalar::from_le_bytes_mod_order(&bytes))
        .prop_filter("nonzero", |s| !s.is_zero())
}

/// A signature made by hand with secret `a` for the key `pk` (which need not be `a·G`: that
/// is the point of the torsion tests), nonce r and nonce point `r_point`.
fn sign_with_scalar(
    a: JubjubScalar,
    pk: &PublicKey,
    r: JubjubScalar,
    r_point: EdwardsAffine,
    msg: &[Fr],
) -> Signature {
    let s = r + challenge(pk, &r_point, msg) * a;
    Signature {
        r: r_point,
        s: Fr::from_bigint(s.into_bigint()).expect("S < ℓ < p"),
    }
}

/// A point of order 8 (a generator of Jubjub's torsion subgroup).
fn torsion_point_of_order_8() -> EdwardsAffine {
    // For any curve point Q, ℓ·Q has order dividing 8; scan small hash-to-curve candidates
    // until one has order exactly 8.
    (1u64..)
        .filter_map(|x| EdwardsAffine::get_point_from_y_unchecked(Fr::from(x), false))
        .filter(|q| q.is_on_curve())
        .map(|q| (q.mul_bigint(JubjubScalar::MODULUS)).into_affine())
        .find(|t| {
            let t4 = (EdwardsProjective::from(*t) * JubjubScalar::from(4u64)).into_affine();
            !t4.is_zero()
        })
        .expect("Jubjub has points of order 8")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CIRCUIT_CASES))]

    #[test]
    fn valid_signature_verifies_natively_and_in_circuit(key in secret_key(), msg in message()) {
        let sig = key.sign(&msg);
        assert_accepted_everywhere(&key.public_key(), &msg, &sig);
    }

    #[test]
    fn wrong_message_element_is_rejected(
        key in secret_key(),
        msg in message(),
        index in 0usize..5,
        delta in fr(),
    ) {
        prop_assume!(!delta.is_zero());
        let sig = key.sign(&msg);
        let mut wrong = msg.clone();
        wrong[index] += delta;
        assert_rejected_everywhere(&key.public_key(), &wrong, &sig, Some(EddsaError::EquationFails));
    }

    #[test]
    fn longer_message_is_rejected(key in secret_key(), msg in message()) {
        // The length is bound by the challenge's domain tag: appending a zero changes c.
        let sig = key.sign(&msg);
        let mut longer = msg.clone();
        longer.push(Fr::zero());
        assert_rejected_everywhere(&key.public_key(), &longer, &sig, Some(EddsaError::EquationFails));
    }

    #[test]
    fn wrong_public_key_is_rejected(key in secret_key(), other in secret_key(), msg in message()) {
        prop_assume!(key.public_key() != other.public_key());
        let sig = key.sign(&msg);
        assert_rejected_everywhere(&other.public_key(), &msg, &sig, Some(EddsaError::EquationFails));
    }

    #[test]
    fn signature_by_another_key_is_rejected(
        key in secret_key(),
        other in secret_key(),
        msg in message(),
    ) {
        prop_assume!(key.public_key() != other.public_key());
        let forged = other.sign(&msg);
        assert_rejected_everywhere(&key.public_key(), &msg, &forged, Some(EddsaError::EquationFails));
    }

    #[test]
    fn tampered_r_on_the_curve_is_rejected(
        key in secret_key(),
        msg in message(),
        k in 1u64..1_000,
    ) {
        let mut sig = key.sign(&msg);
        sig.r = (sig.r + generator() * JubjubScalar::from(k)).into_affine();
        assert_rejected_everywhere(&key.public_key(), &msg, &sig, Some(EddsaError::EquationFails));
    }

    #[test]
    fn tampered_r_off_the_curve_is_rejected(key in secret_key(), msg in message(), delta in fr()) {
        let mut sig = key.sign(&msg);
        sig.r = EdwardsAffine::new_unchecked(sig.r.x, sig.r.y + delta);
        prop_assume!(!sig.r.is_on_curve());
        assert_rejected_everywhere(&key.public_key(), &msg, &sig, Some(EddsaError::NonceOffCurve));
    }

    #[test]
    fn r_with_torsion_added_is_rejected(key in secret_key(), msg in message()) {
        // Cofactored verification ignores torsion in the equation, but R + T changes the
        // challenge, so the old S no longer fits.
        let mut sig = key.sign(&msg);
        sig.r = (sig.r + torsion_point_of_order_8()).into_affine();
        assert_rejected_everywhere(&key.public_key(), &msg, &sig, Some(EddsaError::EquationFails));
    }

    #[test]
    fn tampered_s_is_rejected(key in secret_key(), msg in message(), delta in fr()) {
        let mut sig = key.sign(&msg);
        sig.s += delta;
        prop_assume!(!delta.is_zero());
        assert_rejected_everywhere(&key.public_key(), &msg, &sig, None);
    }

    #[test]
    fn malleated_s_plus_order_is_rejected(key in secret_key(), msg in message()) {
        // S + ℓ satisfies the group equation; only the range check stops it.
        let mut sig = key.sign(&msg);
        sig.s += subgroup_order();
        assert_rejected_everywhere(
            &key.public_key(),
            &msg,
            &sig,
            Some(EddsaError::NonCanonicalScalar),
        );
    }

    #[test]
    fn off_curve_public_key_is_rejected(key in secret_key(), msg in message(), delta in fr()) {
        let sig = key.sign(&msg);
        let a = key.public_key().point();
        let pk = PublicKey::from_point_unchecked(EdwardsAffine::new_unchecked(a.x + delta, a.y));
        prop_assume!(!pk.point().is_on_curve());
        assert_rejected_everywhere(&pk, &msg, &sig, Some(EddsaError::PublicKeyOffCurve));
    }

    #[test]
    fn garbage_inputs_give_false_without_breaking_the_circuit(
        pk in (fr(), fr()),
        msg in message(),
        sig in (fr(), fr(), fr()),
    ) {
        // The Boolean form must stay satisfiable whatever the prover puts in the witness.
        let pk = PublicKey::from_point_unchecked(EdwardsAffine::new_unchecked(pk.0, pk.1));
        let sig = Signature::from_fields([sig.0, sig.1, sig.2]);
        assert_rejected_everywhere(&pk, &msg, &sig, None);
    }

    #[test]
    fn torsion_shifted_key_is_its_owners_second_account(
        a in nonzero_scalar(),
        r in nonzero_scalar(),
        msg in message(),
    ) {
        // Documented consequence of cofactored verification: A + T is a different account id
        // that accepts signatures the owner of `a` makes *for A + T* — natively and in-circuit
        // alike — but not signatures made for A.
        let t = torsion_point_of_order_8();
        let honest = PublicKey::from_point_unchecked((generator() * a).into_affine());
        let shifted = PublicKey::from_point_unchecked((honest.point() + t).into_affine());
        prop_assert_ne!(account_id(&shifted), account_id(&honest));
        let for_honest = sign_with_scalar(a, &honest, r, (generator() * r).into_affine(), &msg);
        assert_accepted_everywhere(&honest, &msg, &for_honest);
        assert_rejected_everywhere(&shifted, &msg, &for_honest, Some(EddsaError::EquationFails));
        let for_shifted = sign_with_scalar(a, &shifted, r, (generator() * r).into_affine(), &msg);
        assert_accepted_everywhere(&shifted, &msg, &for_shifted);
    }

    #[test]
    fn signer_chosen_torsion_in_r_verifies_consistently(
        a in nonzero_scalar(),
        r in nonzero_scalar(),
        msg in message(),
    ) {
        // A signer may put torsion into R and sign for that R: cofactored verification
        // accepts, in both worlds. (It needs `a`, so it is no third-party malleability.)
        let pk = PublicKey::from_point_unchecked((generator() * a).into_affine());
        let r_point = (generator() * r + torsion_point_of_order_8()).into_affine();
        let sig = sign_with_scalar(a, &pk, r, r_point, &msg);
        assert_accepted_everywhere(&pk, &msg, &sig);
    }

    #[test]
    fn account_id_gadget_matches_native(key in secret_key()) {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let pk = key.public_key();
        let pk_var = PublicKeyVar::new_witness(cs.clone(), || Ok(pk)).expect("allocate key");
        let id = account_id_var(&pk_var).expect("synthesise account id");
        prop_assert_eq!(id.value().expect("value"), account_id(&pk));
        prop_assert_eq!(pk_var.account_id().expect("method").value().expect("value"), account_id(&pk));
        prop_assert!(satisfied(&cs));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn challenge_is_odd_and_between_2_pow_250_and_2_pow_251(
        key in secret_key(),
        msg in message(),
    ) {
        let sig = key.sign(&msg);
        let c = challenge(&key.public_key(), &sig.r, &msg).into_bigint();
        prop_assert!(c.is_odd());
        prop_assert_eq!(c.num_bits() as usize, CHALLENGE_BITS + 2);
    }

    #[test]
    fn signing_is_deterministic(key in secret_key(), msg in message()) {
        prop_assert_eq!(key.sign(&msg), key.sign(&msg));
    }

    #[test]
    fn different_messages_get_different_nonces(key in secret_key(), msg in message(), delta in fr()) {
        prop_assume!(!delta.is_zero());
        let mut other = msg.clone();
        other[0] += delta;
        prop_assert_ne!(key.sign(&msg).r, key.sign(&other).r);
    }

    #[test]
    fn public_key_encodings_round_trip(key in secret_key()) {
        let pk = key.public_key();
        prop_assert_eq!(PublicKey::from_bytes(&pk.to_bytes()), Ok(pk));
        prop_assert_eq!(PublicKey::from_fields(pk.to_fields()), Ok(pk));
        prop_assert!(pk.point().is_in_correct_subgroup_assuming_on_curve());
    }

    #[test]
    fn signature_encoding_round_trips(key in secret_key(), msg in message()) {
        let sig = key.sign(&msg);
        prop_assert_eq!(Signature::from_bytes(&sig.to_bytes()), Ok(sig));
        prop_assert_eq!(Signature::from_fields(sig.to_fields()), sig);
    }

    #[test]
    fn distinct_keys_have_distinct_account_ids(key in secret_key(), other in secret_key()) {
        prop_assume!(key.public_key() != other.public_key());
        prop_assert_ne!(account_id(&key.public_key()), account_id(&other.public_key()));
    }

    #[test]
    fn keys_outside_the_subgroup_do_not_parse(key in secret_key()) {
        let shifted = (key.public_key().point() + torsion_point_of_order_8()).into_affine();
        prop_assert_eq!(
            PublicKey::from_fields([shifted.x, shifted.y]),
            Err(EddsaError::InvalidPublicKey)
        );
        let mut bytes = Vec::new();
        ark_serialize::CanonicalSerialize::serialize_compressed(&shifted, &mut bytes)
            .expect("serialise");
        prop_assert_eq!(PublicKey::from_bytes(&bytes), Err(EddsaError::InvalidPublicKeyEncoding));
    }
}

#[test]
fn small_order_public_keys_are_rejected() {
    // With 8A = O the equation does not involve c: anyone could sign as R = S·G. Each such
    // key, with exactly that trivial forgery, must be rejected.
    let msg = vec![Fr::from(1u64), Fr::from(2u64)];
    let t = torsion_point_of_order_8();
    for k in 0u64..8 {
        let a = (EdwardsProjective::from(t) * JubjubScalar::from(k)).into_affine();
        let pk = PublicKey::from_point_unchecked(a);
        let s = JubjubScalar::from(12_345u64);
        let sig = Signature {
            r: (generator() * s).into_affine(),
            s: Fr::from_bigint(s.into_bigint()).expect("s < p"),
        };
        assert_rejected_everywhere(&pk, &msg, &sig, Some(EddsaError::SmallOrderPublicKey));
    }
}

#[test]
fn empty_and_long_messages_verify() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let key = SecretKey::generate(&mut rng);
    for len in [0usize, 1, 3, 8] {
        let msg: Vec<Fr> = (0..len as u64).map(Fr::from).collect();
        let sig = key.sign(&msg);
        assert_accepted_everywhere(&key.public_key(), &msg, &sig);
    }
}

#[test]
fn constant_public_key_verifies_like_a_witness() {
    // An issuer key is a circuit constant; the gadget must treat it exactly like a witness.
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let key = SecretKey::generate(&mut rng);
    let msg = vec![Fr::from(3u64), Fr::from(4u64), Fr::from(5u64)];
    let good = key.sign(&msg);
    let mut bad = good;
    bad.s += Fr::from(1u64);
    for (sig, expected) in [(good, true), (bad, false)] {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let pk_var = PublicKeyVar::new_constant(cs.clone(), key.public_key()).expect("constant");
        let msg_vars: Vec<FpVar<Fr>> = msg
            .iter()
            .map(|m| FpVar::new_witness(cs.clone(), || Ok(*m)).expect("witness"))
            .collect();
        let sig_var = SignatureVar::new_witness(cs.clone(), || Ok(sig)).expect("witness");
        let valid = eddsa_gadget::is_valid(&pk_var, &msg_vars, &sig_var).expect("synthesise");
        assert_eq!(valid.value().expect("value"), expected);
        assert!(satisfied(&cs));
    }
    // All constants: the verdict is a constant, computed natively.
    let pk_var =
        PublicKeyVar::new_constant(ConstraintSystemRef::None, key.public_key()).expect("constant");
    let msg_vars: Vec<FpVar<Fr>> = msg.iter().map(|m| FpVar::constant(*m)).collect();
    let sig_var = SignatureVar::new_constant(ConstraintSystemRef::None, good).expect("constant");
    let valid = eddsa_gadget::is_valid(&pk_var, &msg_vars, &sig_var).expect("synthesise");
    assert_eq!(valid.value(), Ok(true));
}

#[test]
fn gadget_shape_does_not_depend_on_witness_values() {
    // Key generation synthesises without witness values; the shape must match proving.
    fn shape(witnesses: bool, sig: Signature, pk: PublicKey, msg: &[Fr]) -> usize {
        let cs = ConstraintSystem::<Fr>::new_ref();
        if !witnesses {
            cs.set_mode(SynthesisMode::Setup);
        }
        let given = |v| {
            if witnesses {
                Ok(v)
            } else {
                Err(SynthesisError::AssignmentMissing)
            }
        };
        let pk_var = PublicKeyVar::new_witness(cs.clone(), || given(pk)).expect("key");
        let msg_vars: Vec<FpVar<Fr>> = msg
            .iter()
            .map(|m| {
                FpVar::new_witness(cs.clone(), || {
                    if witnesses {
                        Ok(*m)
                    } else {
                        Err(SynthesisError::AssignmentMissing)
                    }
                })
                .expect("message")
            })
            .collect();
        let sig_var = SignatureVar::new_witness(cs.clone(), || {
            if witnesses {
                Ok(sig)
            } else {
                Err(SynthesisError::AssignmentMissing)
            }
        })
        .expect("signature");
        let _verdict = eddsa_gadget::is_valid(&pk_var, &msg_vars, &sig_var).expect("synthesise");
        cs.num_constraints()
    }
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let key = SecretKey::generate(&mut rng);
    let msg = vec![Fr::from(9u64); 5];
    let sig = key.sign(&msg);
    let garbage = Signature::from_fields([Fr::from(1u64), Fr::from(2u64), -Fr::from(3u64)]);
    let setup = shape(false, sig, key.public_key(), &msg);
    assert_eq!(setup, shape(true, sig, key.public_key(), &msg));
    assert_eq!(setup, shape(true, garbage, key.public_key(), &msg));
}

#[test]
fn generators_are_in_the_prime_order_subgroup() {
    for g in [generator(), cofactor_generator()] {
        assert!(g.is_on_curve());
        assert!(g.is_in_correct_subgroup_assuming_on_curve());
        assert!(!g.is_zero());
    }
}

#[test]
fn non_canonical_encodings_are_rejected() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let key = SecretKey::generate(&mut rng);
    let sig = key.sign(&[Fr::from(1u64)]);
    // S replaced by p (≥ p: not a field element).
    let mut bytes = sig.to_bytes();
    bytes[64..].copy_from_slice(&Fr::MODULUS.to_bytes_le());
    assert_eq!(
        Signature::from_bytes(&bytes),
        Err(EddsaError::InvalidSignatureEncoding)
    );
    assert_eq!(
        Signature::from_bytes(&bytes[..95]),
        Err(EddsaError::InvalidSignatureEncoding)
    );
    assert_eq!(
        PublicKey::from_bytes(&[0u8; 31]),
        Err(EddsaError::InvalidPublicKeyEncoding)
    );
    // The identity (compressed y = 1) is not a public key.
    let identity = PublicKey::from_point_unchecked(EdwardsAffine::zero()).to_bytes();
    assert_eq!(
        PublicKey::from_bytes(&identity),
        Err(EddsaError::InvalidPublicKeyEncoding)
    );
    assert_eq!(
        PublicKey::from_fields([Fr::zero(), Fr::from(1u64)]),
        Err(EddsaError::InvalidPublicKey)
    );
}

#[test]
fn secret_key_debug_does_not_print_the_secret() {
    let key = SecretKey::from_seed(&[42u8; 32]).expect("seed");
    let printed = format!("{key:?}");
    assert!(printed.contains("public"));
    assert!(!printed.contains("scalar") && !printed.contains("prefix"));
}

#[test]
fn constraint_count_is_reported() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let key = SecretKey::generate(&mut rng);
    for len in [5usize, 2] {
        let msg: Vec<Fr> = (0..len as u64).map(Fr::from).collect();
        let sig = key.sign(&msg);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let (pk_var, msg_vars, sig_var) = allocate(&cs, &key.public_key(), &msg, &sig);
        let before = cs.num_constraints();
        let valid = eddsa_gadget::is_valid(&pk_var, &msg_vars, &sig_var).expect("synthesise");
        let total = cs.num_constraints() - before;
        assert!(valid.value().expect("value"));
        assert!(satisfied(&cs));
        println!("eddsa is_valid, {len}-element message: {total} constraints");
        assert!(total < 4_500, "{total} constraints");
    }
    assert!(is_valid(&key.public_key(), &[], &key.sign(&[])));
}
