//! `spice cost`: the table's numbers are the constraint counts of the circuits it names, and
//! the audit's key-order gadget accepts exactly the increasing pairs of canonical keys.
//!
//! Run with `cargo test --release --test integration cost:: -- --nocapture` to see the table.

use std::sync::OnceLock;

use ark_bls12_381::Fr;
use ark_ff::{BigInteger, Field, PrimeField};
use ark_r1cs_std::{alloc::AllocVar, boolean::Boolean, fields::fp::FpVar};
use ark_relations::gr1cs::{ConstraintSystem, ConstraintSystemRef, SynthesisMode};
use proptest::prelude::*;

use spice::host::{
    cost::{self, AppName, CostItem, CostTable},
    key_order_gadget::{enforce_canonical, enforce_key_order, KeyVar},
    set_digest::{hash_tuple_with_hint, Tuple},
    set_digest_gadget::{HashHintVar, SetDigestVar, TupleVar},
    store::key_order,
};

/// The table, measured once per test binary: measuring synthesises every circuit it names
/// (seconds), and the tests here only read it.
fn table() -> &'static CostTable {
    static TABLE: OnceLock<CostTable> = OnceLock::new();
    TABLE.get_or_init(|| CostTable::measure().expect("measure the cost table"))
}

fn count(table: &CostTable, item: CostItem) -> usize {
    table
        .constraints(item)
        .unwrap_or_else(|| panic!("the table has no row {item:?}"))
}

#[test]
fn table_prints_every_row_and_merkle_costs_more_than_spice() {
    let table = table();
    println!("{}", table.to_text());
    println!("{}", table.to_json());
    assert_eq!(table.rows.len(), cost::items().len());
    let spice = count(table, CostItem::SpiceRmw);
    let depth_20 = count(table, CostItem::MerkleRmw { depth: 20 });
    let depth_32 = count(table, CostItem::MerkleRmw { depth: 32 });
    assert!(
        depth_32 > depth_20,
        "depth 32 ({depth_32}) must cost more than depth 20 ({depth_20})"
    );
    assert!(
        depth_20 > spice,
        "Merkle depth 20 ({depth_20}) must cost more than Spice ({spice})"
    );
    let spice_row = table
        .rows
        .iter()
        .find(|row| row.item == CostItem::SpiceRmw)
        .expect("row");
    assert_eq!(spice_row.ratio_vs_spice_rmw, 1.0);
}

/// Re-synthesises one insert into a non-empty digest, independently of `cost.rs`, and checks
/// the table reports exactly that.
#[test]
fn set_element_row_equals_a_freshly_synthesised_insert() {
    let tuple = Tuple::new(Fr::from(123u64), Fr::from(456u64), 789);
    let hint = hash_tuple_with_hint(&tuple).expect("hash").1;
    let seed = Tuple::new(Fr::from(9u64), Fr::from(8u64), 7);
    let seed_hint = hash_tuple_with_hint(&seed).expect("hash").1;

    let cs = ConstraintSystem::<Fr>::new_ref();
    let mut digest = SetDigestVar::empty();
    let seed_var = TupleVar::new_witness(cs.clone(), || Ok(seed)).expect("seed");
    let seed_hint_var = HashHintVar::new_witness(cs.clone(), || Ok(seed_hint)).expect("hint");
    digest
        .insert(&seed_var, &seed_hint_var)
        .expect("insert seed");
    let tuple_var = TupleVar::new_witness(cs.clone(), || Ok(tuple)).expect("tuple");
    let before = cs.num_constraints();
    let hint_var = HashHintVar::new_witness(cs.clone(), || Ok(hint)).expect("hint");
    digest.insert(&tuple_var, &hint_var).expect("insert");
    let insert = cs.num_constraints() - before;
    assert!(cs.is_satisfied().expect("values"));

    assert_eq!(count(table(), CostItem::SetElement), insert);
}

#[test]
fn every_row_is_what_its_function_measures() {
    let table = table();
    for row in &table.rows {
        assert_eq!(
            row.item.measure().expect("measure"),
            row.constraints,
            "{:?}",
            row.item
        );
    }
    // The read-modify-write is built from two set elements plus the timestamp checks.
    let element = count(table, CostItem::SetElement);
    let rmw = count(table, CostItem::SpiceRmw);
    assert!(rmw > 2 * element, "RMW {rmw} vs 2 x element {element}");
}

#[test]
fn json_lists_every_item_with_its_count() {
    let table = table();
    let json = table.to_json();
    for row in &table.rows {
        let needle = format!("\"item\": \"{}\", ", row.item.id());
        let at = json
            .find(&needle)
            .unwrap_or_else(|| panic!("{needle} missing from {json}"));
        let rest = &json[at..];
        assert!(
            rest.contains(&format!("\"constraints\": {},", row.constraints)),
            "{rest}"
        );
    }
}

/// `a < b` enforced on fresh witnesses; whether the system is satisfied.
fn key_lt_satisfied(a: Fr, b: Fr) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    let (a, b) = (
        KeyVar::new_witness(&cs, a).expect("key"),
        KeyVar::new_witness(&cs, b).expect("key"),
    );
    enforce_key_order(a.halves(), b.halves(), &Boolean::TRUE, &Boolean::FALSE).expect("synthesise");
    cs.is_satisfied().expect("values")
}

fn fr_from_bytes(bytes: [u8; 32]) -> Fr {
    Fr::from_le_bytes_mod_order(&bytes)
}

/// Keys that differ only in the low half, only in the high half, and at the ends of [0, r).
#[test]
fn key_order_check_accepts_increasing_and_rejects_the_rest_at_the_edges() {
    let two_128 = Fr::from(2u64).pow([128]);
    let max = -Fr::from(1u64);
    let edges = [
        Fr::from(0u64),
        Fr::from(1u64),
        two_128 - Fr::from(1u64),
        two_128,
        two_128 + Fr::from(1u64),
        two_128 * Fr::from(3u64) + Fr::from(5u64),
        two_128 * Fr::from(3u64) + Fr::from(6u64),
        max - Fr::from(1u64),
        max,
    ];
    for a in edges {
        for b in edges {
            let expected = key_order(&a, &b).is_lt();
            assert_eq!(key_lt_satisfied(a, b), expected, "a = {a}, b = {b}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn key_order_check_matches_key_order(a in any::<[u8; 32]>(), b in any::<[u8; 32]>(), same_high in any::<bool>()) {
        let a = fr_from_bytes(a);
        let mut b = fr_from_bytes(b);
        if same_high {
            // Force equal high halves so the low-half branch is exercised as often.
            let mut bits = a.into_bigint().to_bits_le();
            let b_bits = b.into_bigint().to_bits_le();
            bits[..128].copy_from_slice(&b_bits[..128]);
            b = Fr::from_bigint(<Fr as PrimeField>::BigInt::from_bits_le(&bits)).expect("below r");
        }
        prop_assert_eq!(key_lt_satisfied(a, b), key_order(&a, &b).is_lt());
        prop_assert_eq!(key_lt_satisfied(b, a), key_order(&b, &a).is_lt());
    }
}

/// Key generation synthesises without witness values; the order check must not need them.
#[test]
fn key_order_check_shape_does_not_depend_on_witness_values() {
    let shape = |setup: bool| {
        let cs: ConstraintSystemRef<Fr> = ConstraintSystem::new_ref();
        if setup {
            cs.set_mode(SynthesisMode::Setup);
        }
        let (a, b) = (
            KeyVar::new_witness(&cs, Fr::from(1u64)).expect("key"),
            KeyVar::new_witness(&cs, Fr::from(2u64)).expect("key"),
        );
        enforce_key_order(a.halves(), b.halves(), &Boolean::TRUE, &Boolean::FALSE)
            .expect("synthesise");
        cs.num_constraints()
    };
    assert_eq!(shape(true), shape(false));
}

/// Halves that encode r − 1 are canonical; r itself (the key 0 in disguise) and above are not.
#[test]
fn canonicity_check_accepts_below_r_and_rejects_r_and_above() {
    let limbs = Fr::MODULUS.0;
    let r_lo = u128::from(limbs[0]) | (u128::from(limbs[1]) << 64);
    let r_hi = u128::from(limbs[2]) | (u128::from(limbs[3]) << 64);
    let canonical = |hi: u128, lo: u128| {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let hi = FpVar::new_witness(cs.clone(), || Ok(Fr::from(hi))).unwrap();
        let lo = FpVar::new_witness(cs.clone(), || Ok(Fr::from(lo))).unwrap();
        enforce_canonical((&hi, &lo)).expect("synthesise");
        cs.is_satisfied().expect("values")
    };
    assert!(canonical(r_hi, r_lo - 1));
    assert!(canonical(r_hi - 1, u128::MAX));
    assert!(canonical(0, 0));
    assert!(!canonical(r_hi, r_lo));
    assert!(!canonical(r_hi, r_lo + 1));
    assert!(!canonical(r_hi + 1, 0));
}

/// The audit rows are the audit circuits' own figures (as `tests/integration/audit.rs` measures them),
/// and every app's request costs at least its storage operations.
#[test]
fn audit_and_app_rows_are_the_real_circuits() {
    let table = table();
    assert_eq!(count(table, CostItem::AuditedKey), 1_552);
    assert_eq!(count(table, CostItem::AuditChunkFixed), 3_496);
    assert_eq!(count(table, CostItem::AuditClosing), 1_345);
    let rmw = count(table, CostItem::SpiceRmw);
    for (app, keys) in [
        (AppName::Transfer, 2),
        (AppName::Ledger, 2),
        (AppName::Interbank, 4),
        (AppName::Darkpool, 6),
    ] {
        let request = count(table, CostItem::AppRequest { app });
        assert!(request > keys * rmw, "{app:?}: {request} vs {keys} x {rmw}");
    }
    // The batch circuit's own test pins the transfer app's slot at 3,645.
    assert_eq!(
        count(
            table,
            CostItem::AppRequest {
                app: AppName::Transfer
            }
        ),
        3_645
    );
}
