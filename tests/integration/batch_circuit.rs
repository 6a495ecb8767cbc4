//! The batch circuit: honest batches from a concurrent store satisfy it and their blinded
//! contributions close the epoch's audit; native and in-circuit app logic agree; a two-slot
//! batch proves and verifies with our Groth16 prover; and every cheat the batch circuit is
//! responsible for makes it unsatisfiable (or, for a public input, the proof fail).
//!
//! Run with `cargo test --release --test integration batch_circuit:: -- --nocapture` to see constraint counts.

use std::{sync::Arc, thread};

use ark_bls12_381::{Bls12_381, Fr};
use ark_ec::CurveGroup;
use ark_ed_on_bls12_381::{EdwardsAffine, EdwardsProjective, Fr as JubjubScalar};
use ark_ff::Zero;
use ark_groth16::Groth16;
use ark_r1cs_std::{alloc::AllocVar, boolean::Boolean, fields::fp::FpVar, GR1CSVar};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef};
use ark_snark::SNARK;
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use proptest::prelude::*;

use spice::{
    engine::{CpuBackend, Prover},
    host::{
        batch::{
            build_batch, storage_op_var, BatchCircuit, BatchDigestsVar, BatchError,
            BatchPublicInputs, BatchWitness, OpWitness, ProvableBatch, SlotWitness,
            NUM_PUBLIC_INPUTS,
        },
        field_encoding::PublicInputError,
        request_commitment::{commit, verify_receipt, MerkleTree},
        set_digest::{
            blinding_generator, element_domain, hash_at_counter, hash_tuple_with_hint,
            BlindedDigest, SetDigest, Tuple,
        },
        set_digest_gadget::TimestampVar,
        storage_gadget::{
            apply, apply_var, execute,
            transfer::{TransferApp, TransferRequest, TransferRequestVar},
            App, AppError, Executed, KeySlotVar, Response,
        },
        store::{EpochSnapshot, Store},
    },
};

type Batch = ProvableBatch<TransferApp>;

const APP: TransferApp = TransferApp;

fn key(i: u64) -> Fr {
    // Odd keys near the modulus, so nothing depends on keys being small.
    if i % 2 == 0 {
        Fr::from(i + 1)
    } else {
        -Fr::from(i + 1)
    }
}

fn satisfied(circuit: BatchCircuit<TransferApp>) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    circuit.generate_constraints(cs.clone()).expect("synthesis");
    cs.is_satisfied().expect("all values assigned")
}

/// Synthesises `circuit` and returns the constraint system (for counts and instances).
fn synthesized(circuit: BatchCircuit<TransferApp>) -> ConstraintSystemRef<Fr> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    circuit.generate_constraints(cs.clone()).expect("synthesis");
    cs
}

/// Funds `balances` at keys 0.. in epoch 0 (raw store writes: genesis, not proved here) and
/// starts epoch 1.
fn genesis(store: &Store, balances: &[u64]) -> EpochSnapshot {
    for (i, &balance) in balances.iter().enumerate() {
        store
            .transact::<(), _>(&[key(i as u64)], |_| Ok(vec![Fr::from(balance)]))
            .expect("genesis write");
    }
    store.close_epoch()
}

fn run(store: &Store, request: TransferRequest) -> Executed<TransferApp> {
    execute(store, &APP, request).expect("request executes")
}

fn batch(
    epoch: u64,
    id: u64,
    capacity: usize,
    executed: &[Executed<TransferApp>],
    seed: u64,
) -> Batch {
    build_batch(
        &APP,
        epoch,
        id,
        capacity,
        executed,
        &mut StdRng::seed_from_u64(seed),
    )
    .expect("batch builds")
}

/// The epoch audit the way the verifier will run it on the published contributions:
/// `MH(init) + Σ(WS − ρ_W·B) = Σ(RS − ρ_R·B) + MH(final)`. (The real audit proves knowledge
/// of the total blinding in zero knowledge; here the test knows it.)
fn audit_balances(
    previous: &EpochSnapshot,
    closing: &EpochSnapshot,
    batches: &[&BatchCircuit<TransferApp>],
) -> bool {
    crate::app_harness::audit_balances(&previous.final_state, closing, batches)
}

/// A single-threaded history with a known shape: epoch 1 runs two transfers from key 0 to
/// key 1, then a read of key 0 (slot 2), in one batch of 4 (slot 3 is padding).
struct History {
    genesis: EpochSnapshot,
    closing: EpochSnapshot,
    executed: Vec<Executed<TransferApp>>,
    batch: Batch,
}

fn history() -> History {
    let store = Store::new();
    let genesis = genesis(&store, &[100, 50]);
    let executed = vec![
        run(
            &store,
            TransferRequest::Transfer {
                from: key(0),
                to: key(1),
                amount: 30,
            },
        ),
        run(
            &store,
            TransferRequest::Transfer {
                from: key(0),
                to: key(1),
                amount: 20,
            },
        ),
        run(&store, TransferRequest::Read { key: key(0) }),
    ];
    let closing = store.close_epoch();
    let batch = batch(1, 7, 4, &executed, 1);
    History {
        genesis,
        closing,
        executed,
        batch,
    }
}

// ------------------------------------------------------------------------------------------
// Honest batches.
// ------------------------------------------------------------------------------------------

#[test]
fn honest_batches_from_a_concurrent_store_satisfy_the_circuit_and_close_the_audit() {
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 4;
    let store = Store::new();
    let genesis = genesis(&store, &[1_000, 1_000, 1_000, 1_000]);
    let mut executed: Vec<Executed<TransferApp>> = thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|worker| {
                let store = &store;
                scope.spawn(move || {
                    let mut rng = StdRng::seed_from_u64(worker);
                    (0..PER_THREAD)
                        .map(|i| {
                            let from = rng.gen_range(0..4);
                            let to = (from + rng.gen_range(1..4)) % 4;
                            let request = match (worker, i) {
                                // Certainly rejected: nobody holds 2^64 − 1.
                                (0, 0) => TransferRequest::Transfer {
                                    from: key(from),
                                    to: key(to),
                                    amount: u64::MAX,
                                },
                                (_, 3) => TransferRequest::Read { key: key(from) },
                                _ => TransferRequest::Transfer {
                                    from: key(from),
                                    to: key(to),
                                    amount: rng.gen_range(0..900),
                                },
                            };
                            run(store, request)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    let closing = store.close_epoch();
    assert!(
        executed.iter().any(|ex| ex.rejection.is_some()),
        "an invalid request is in the mix"
    );
    assert!(executed.iter().any(|ex| !ex.response.accepted));
    // Slots in t_req order (any order is sound; this one reads naturally).
    executed.sort_by_key(|ex| ex.record.t_req);
    // 16 requests in batches of 5: 5, 5, 5, 1 + 4 padding slots.
    let batches: Vec<Batch> = executed
        .chunks(5)
        .enumerate()
        .map(|(id, chunk)| batch(1, id as u64, 5, chunk, 100 + id as u64))
        .collect();
    for (chunk, built) in executed.chunks(5).zip(&batches) {
        assert!(
            satisfied(built.circuit.clone()),
            "honest batch {} unsatisfied",
            built.circuit.public_inputs.batch_id
        );
        // The blinded contributions are SetDigest::blind of exactly the records' tuples.
        let reads: Vec<Tuple> = chunk
            .iter()
            .flat_map(|ex| ex.record.reads().copied())
            .collect();
        let writes: Vec<Tuple> = chunk
            .iter()
            .flat_map(|ex| ex.record.writes().copied())
            .collect();
        let witness = &built.circuit.witness;
        assert_eq!(
            built.circuit.public_inputs.read_set,
            SetDigest::of(&reads).unwrap().blind(&witness.read_blinding)
        );
        assert_eq!(
            built.circuit.public_inputs.write_set,
            SetDigest::of(&writes)
                .unwrap()
                .blind(&witness.write_blinding)
        );
    }
    let circuits: Vec<_> = batches.iter().map(|b| &b.circuit).collect();
    assert!(audit_balances(&genesis, &closing, &circuits));
    // Dropping a batch breaks the audit.
    assert!(!audit_balances(&genesis, &closing, &circuits[1..]));
}

#[test]
fn circuit_public_inputs_equal_the_native_ones() {
    let History { batch, .. } = history();
    let public = batch.circuit.public_inputs;
    assert_eq!(
        batch
            .circuit
            .witness
            .public_inputs(&APP)
            .expect("native mirror"),
        public
    );
    let cs = synthesized(batch.circuit.clone());
    assert!(cs.is_satisfied().unwrap());
    let instance = cs.instance_assignment().expect("instance");
    assert_eq!(instance.len(), 1 + NUM_PUBLIC_INPUTS);
    assert_eq!(instance[1..], public.to_field_elements()[..]);
    assert_eq!(
        BatchPublicInputs::from_field_elements(&instance[1..]).expect("decodes"),
        public
    );
}

#[test]
fn public_inputs_decoding_rejects_malformed_input() {
    let public = history().batch.circuit.public_inputs;
    let fields = public.to_field_elements();
    assert_eq!(
        BatchPublicInputs::from_field_elements(&fields[..6]),
        Err(PublicInputError::Count {
            expected: 7,
            got: 6
        })
    );
    let mut big_epoch = fields.clone();
    big_epoch[0] = Fr::from(u128::from(u64::MAX) + 1);
    assert_eq!(
        BatchPublicInputs::from_field_elements(&big_epoch),
        Err(PublicInputError::Range { index: 0 })
    );
    let mut off_curve = fields.clone();
    off_curve[5] += Fr::from(1u64);
    assert_eq!(
        BatchPublicInputs::from_field_elements(&off_curve),
        Err(PublicInputError::NotASubgroupPoint { index: 5 })
    );
    // (0, −1) is on Jubjub but has order 2: not in the prime-order subgroup.
    let mut small_order = fields;
    small_order[3] = Fr::zero();
    small_order[4] = -Fr::from(1u64);
    assert_eq!(
        BatchPublicInputs::from_field_elements(&small_order),
        Err(PublicInputError::NotASubgroupPoint { index: 3 })
    );
}

#[test]
fn receipts_open_exactly_the_committed_request_and_response() {
    let History {
        executed, batch, ..
    } = history();
    let root = batch.circuit.public_inputs.root;
    assert_eq!(batch.receipts.len(), executed.len());
    for (ex, receipt) in executed.iter().zip(&batch.receipts) {
        let request = APP.encode_request(&ex.request);
        let response = ex.response.encode();
        assert!(verify_receipt(root, &request, &response, receipt));
        let mut other_response = response.clone();
        other_response[1] += Fr::from(1u64);
        assert!(!verify_receipt(root, &request, &other_response, receipt));
        let rejected = Response::rejected(TransferApp::PAYLOAD_FIELDS).encode();
        assert!(!verify_receipt(root, &request, &rejected, receipt));
        let mut moved = receipt.clone();
        moved.slot ^= 1;
        assert!(!verify_receipt(root, &request, &response, &moved));
        let mut beyond = receipt.clone();
        beyond.slot += 4;
        assert!(!verify_receipt(root, &request, &response, &beyond));
    }
    // The read's response is the balance after both transfers.
    assert_eq!(
        executed[2].response,
        Response::accepted(vec![Fr::from(50u64)])
    );
}

#[test]
fn builder_refuses_records_the_circuit_could_not_prove() {
    let History { executed, .. } = history();
    let mut rng = StdRng::seed_from_u64(3);
    assert_eq!(
        build_batch(&APP, 1, 0, 0, &[], &mut rng).err(),
        Some(BatchError::ZeroCapacity)
    );
    assert_eq!(
        build_batch(&APP, 1, 0, 2, &executed, &mut rng).err(),
        Some(BatchError::TooManyRequests {
            requests: 3,
            capacity: 2
        })
    );
    assert!(matches!(
        build_batch(&APP, 2, 0, 4, &executed, &mut rng).err(),
        Some(BatchError::EpochMismatch {
            slot: 0,
            record_epoch: 1,
            batch_epoch: 2
        })
    ));
    let mut lying = executed.clone();
    lying[2].response = Response::accepted(vec![Fr::from(51u64)]);
    assert_eq!(
        build_batch(&APP, 1, 0, 4, &lying, &mut rng).err(),
        Some(BatchError::InconsistentExecution { slot: 2 })
    );
    let mut rolled_back = executed.clone();
    rolled_back[1].record.ops[0].old.timestamp = rolled_back[1].record.t_req;
    assert!(matches!(
        build_batch(&APP, 1, 0, 4, &rolled_back, &mut rng).err(),
        Some(BatchError::TimestampNotIncreasing { slot: 1, op: 0, .. })
    ));
    let mut wrong_key = executed;
    wrong_key[0].record.ops[1].old.key = key(5);
    assert_eq!(
        build_batch(&APP, 1, 0, 4, &wrong_key, &mut rng).err(),
        Some(BatchError::KeyMismatch { slot: 0 })
    );
}

#[test]
fn blank_circuit_has_the_shape_of_every_batch() {
    // Capacity 3: the commitment tree is padded (constant leaf), which must not change shape.
    let History { executed, .. } = history();
    let honest = synthesized(batch(1, 0, 3, &executed, 9).circuit);
    let blank_circuit = BatchCircuit::blank(APP, 3).expect("blank");
    let blank = synthesized(blank_circuit);
    assert!(
        blank.is_satisfied().unwrap(),
        "the blank circuit is an honest all-no-op batch"
    );
    assert!(honest.is_satisfied().unwrap());
    assert_eq!(blank.num_constraints(), honest.num_constraints());
    assert_eq!(
        blank.num_instance_variables(),
        honest.num_instance_variables()
    );
    assert_eq!(
        blank.num_witness_variables(),
        honest.num_witness_variables()
    );
}

// ------------------------------------------------------------------------------------------
// Native and in-circuit app logic in lockstep.
// ------------------------------------------------------------------------------------------

fn small_key() -> impl Strategy<Value = Fr> {
    // Few keys, so that a transfer from a key to itself comes up.
    (0u64..4).prop_map(key)
}

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        0u64..1_000,
        (u64::MAX - 1_000)..=u64::MAX,
        Just(0u64),
        Just(u64::MAX)
    ]
}

fn request() -> impl Strategy<Value = TransferRequest> {
    prop_oneof![
        Just(TransferRequest::Noop),
        (small_key(), small_key(), amount())
            .prop_map(|(from, to, amount)| TransferRequest::Transfer { from, to, amount }),
        small_key().prop_map(|key| TransferRequest::Read { key }),
        (small_key(), amount()).prop_map(|(to, amount)| TransferRequest::Deposit { to, amount }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn native_and_circuit_app_logic_agree_on_random_requests(
        request in request(),
        old in [amount(), amount()],
        // Values the prover may claim for inactive slots: never seen by the app.
        junk in any::<u64>(),
    ) {
        let mut old_values = [Fr::from(old[0]), Fr::from(old[1])];
        let keys = APP.keys(&request);
        for (value, slot) in old_values.iter_mut().zip(&keys) {
            if !slot.active {
                *value = Fr::from(junk);
            }
        }
        let native = apply(&APP, &request, APP.authorized(&request), &old_values);

        let cs = ConstraintSystem::<Fr>::new_ref();
        let request_var = TransferRequestVar::new_witness(cs.clone(), || Ok(request)).unwrap();
        let old_vars: Vec<FpVar<Fr>> = old_values
            .iter()
            .map(|v| FpVar::new_witness(cs.clone(), || Ok(*v)).unwrap())
            .collect();
        let circuit = apply_var(&APP, &request_var, &old_vars).unwrap();
        let encoded = APP.encode_request_var(&request_var).unwrap();

        match native {
            Err(AppError::DuplicateKey { .. }) => prop_assert!(!cs.is_satisfied().unwrap()),
            Err(other) => prop_assert!(false, "unexpected native error {other}"),
            Ok(applied) => {
                prop_assert!(cs.is_satisfied().unwrap());
                let values = |vars: &[FpVar<Fr>]| vars.iter().map(|v| v.value().unwrap()).collect::<Vec<_>>();
                prop_assert_eq!(applied.keys.iter().map(|k| (k.key, k.active)).collect::<Vec<_>>(),
                    circuit.keys.iter().map(|k| (k.key.value().unwrap(), k.active.value().unwrap())).collect::<Vec<_>>());
                prop_assert_eq!(&applied.old_values, &values(&circuit.old_values));
                prop_assert_eq!(&applied.new_values, &values(&circuit.new_values));
                prop_assert_eq!(applied.response.encode(), values(&circuit.response.encode()));
                prop_assert_eq!(applied.rejection.is_none(), applied.response.accepted);
                prop_assert_eq!(APP.encode_request(&request), values(&encoded));
            }
        }
    }
}

#[test]
fn transfer_app_rejects_overdraft_and_overflow_and_changes_nothing() {
    let from = key(0);
    let to = key(1);
    let transfer = |amount| TransferRequest::Transfer { from, to, amount };
    let old = [Fr::from(10u64), Fr::from(u64::MAX - 5)];
    let over = apply(&APP, &transfer(11), true, &old).unwrap();
    assert!(over.rejection.is_some());
    assert_eq!(over.new_values, old);
    assert_eq!(over.response.encode(), vec![Fr::zero(), Fr::zero()]);
    let overflow = apply(&APP, &transfer(6), true, &old).unwrap();
    assert!(overflow.rejection.is_some());
    assert_eq!(overflow.new_values, old);
    let ok = apply(&APP, &transfer(5), true, &old).unwrap();
    assert_eq!(ok.new_values, vec![Fr::from(5u64), Fr::from(u64::MAX)]);
    assert_eq!(ok.response, Response::accepted(vec![Fr::from(5u64)]));
}

// ------------------------------------------------------------------------------------------
// Groth16 end to end.
// ------------------------------------------------------------------------------------------

#[test]
fn two_slot_batch_proves_and_verifies_and_altered_inputs_do_not() {
    let store = Store::new();
    genesis(&store, &[40, 0]);
    let executed = vec![run(
        &store,
        TransferRequest::Transfer {
            from: key(0),
            to: key(1),
            amount: 15,
        },
    )];
    let built = batch(1, 3, 2, &executed, 11);

    let blank = BatchCircuit::blank(APP, 2).expect("blank");
    let mut rng = StdRng::seed_from_u64(12);
    let (pk, _) = Groth16::<Bls12_381>::circuit_specific_setup(blank, &mut rng).expect("setup");
    let prover = Prover::new(Arc::new(CpuBackend::new()), pk).expect("prover");
    let proof = prover
        .prove(built.circuit.clone(), &mut rng)
        .expect("proof");

    let inputs = built.circuit.public_inputs.to_field_elements();
    let verifier = prover.verifier();
    assert_eq!(verifier.num_public_inputs(), NUM_PUBLIC_INPUTS);
    assert!(verifier.verify(&inputs, &proof).expect("verify"));
    // Every public input is bound: epoch, batch id, root, RS.x, RS.y, WS.x, WS.y.
    for index in 0..NUM_PUBLIC_INPUTS {
        let mut altered = inputs.clone();
        altered[index] += Fr::from(1u64);
        assert!(
            !verifier.verify(&altered, &proof).expect("verify"),
            "input {index} is not bound"
        );
    }
    // Another epoch's / batch's valid statement, same proof: rejected.
    let mut replayed = built.circuit.public_inputs;
    replayed.batch_id += 1;
    assert!(!verifier
        .verify(&replayed.to_field_elements(), &proof)
        .expect("verify"));
}

// ------------------------------------------------------------------------------------------
// Soundness: each cheat makes the circuit unsatisfiable.
// ------------------------------------------------------------------------------------------

/// `circuit` with its witness replaced and public inputs recomputed natively from it: what a
/// cheating prover who also publishes matching digests would submit.
fn with_consistent_inputs(mut circuit: BatchCircuit<TransferApp>) -> BatchCircuit<TransferApp> {
    circuit.witness.recompute_hints(&APP).expect("hints");
    circuit.public_inputs = circuit.witness.public_inputs(&APP).expect("inputs");
    circuit
}

#[test]
fn tampered_read_value_is_rejected() {
    let History {
        genesis,
        closing,
        batch,
        ..
    } = history();
    let honest = batch.circuit;
    assert!(satisfied(honest.clone()));
    assert!(audit_balances(&genesis, &closing, &[&honest]));

    let mut forged = honest.clone();
    forged.witness.slots[2].ops[0].old_value += Fr::from(1u64); // the read of key 0
    forged.witness.recompute_hints(&APP).expect("hints");
    // Against the published (honest) digests: unsatisfiable.
    assert!(!satisfied(forged.clone()));
    // With digests recomputed to match, the batch is self-consistent — and the epoch's
    // audit no longer balances: the forged tuple was never written.
    let forged = with_consistent_inputs(forged);
    assert!(satisfied(forged.clone()));
    assert!(!audit_balances(&genesis, &closing, &[&forged]));
}

#[test]
fn stale_tuple_is_rejected() {
    let History {
        genesis,
        closing,
        executed,
        batch,
    } = history();
    // The read (slot 2) replays key 0's tuple as the first transfer left it, (k, 70, t₁),
    // instead of the latest one, (k, 50, t₂). t₁ < t_req, so the timestamp check passes.
    let first_write = executed[0].record.ops[0].new;
    assert_eq!(first_write.value, Fr::from(70u64));
    let mut stale = batch.circuit.clone();
    let op = &mut stale.witness.slots[2].ops[0];
    op.old_value = first_write.value;
    op.old_timestamp = first_write.timestamp;
    stale.witness.recompute_hints(&APP).expect("hints");
    assert!(!satisfied(stale.clone()));
    let stale = with_consistent_inputs(stale);
    assert!(satisfied(stale.clone()));
    // (k, 70, t₁) is now read twice and written once: the audit catches it.
    assert!(!audit_balances(&genesis, &closing, &[&stale]));
}

#[test]
fn timestamp_rollback_is_rejected() {
    let History { batch, .. } = history();
    let t_old = batch.circuit.witness.slots[1].ops[0].old_timestamp;
    assert!(t_old > 0);
    // t_req = t_old and t_req < t_old, with everything else (hints, digests, root)
    // recomputed to match: only `t_old < t_req` can fail.
    for t_req in [t_old, t_old - 1] {
        let mut rolled_back = batch.circuit.clone();
        rolled_back.witness.slots[1].t_req = t_req;
        assert!(
            !satisfied(with_consistent_inputs(rolled_back)),
            "t_req = {t_req}, t_old = {t_old}"
        );
    }
    // Same through t_old: a read claiming a tuple written at (or after) its own request.
    let mut from_the_future = batch.circuit.clone();
    let t_req = from_the_future.witness.slots[1].t_req;
    from_the_future.witness.slots[1].ops[0].old_timestamp = t_req;
    assert!(!satisfied(with_consistent_inputs(from_the_future)));
}

#[test]
fn wrong_hash_hint_is_rejected() {
    let History { batch, .. } = history();
    let honest = batch.circuit;
    // Sign-flipped y: (x, −y) clears to −8P; its y is not canonical, so it cannot even be
    // represented in 253 bits.
    let mut flipped = honest.clone();
    let hint = &mut flipped.witness.slots[0].ops[1].read_hint;
    hint.y = -hint.y;
    assert!(!satisfied(flipped));
    let mut flipped_write = honest.clone();
    let hint = &mut flipped_write.witness.slots[1].ops[0].write_hint;
    hint.y = -hint.y;
    assert!(!satisfied(flipped_write));
    // Another counter with the old y: off the curve.
    let mut recounted = honest.clone();
    recounted.witness.slots[0].ops[0].read_hint.counter ^= 1;
    assert!(!satisfied(recounted));
    // A *valid* hint at a non-minimal counter hashes to another point: the digest no longer
    // matches the published one.
    let mut other_counter = honest.clone();
    let slot = &other_counter.witness.slots[0];
    let tuple = Tuple::new(key(0), slot.ops[0].old_value, slot.ops[0].old_timestamp);
    let minimal = slot.ops[0].read_hint.counter;
    let (_, hint) = (minimal + 1..=u8::MAX)
        .find_map(|c| hash_at_counter(element_domain(), &tuple, c))
        .expect("another counter works");
    other_counter.witness.slots[0].ops[0].read_hint = hint;
    assert!(!satisfied(other_counter));
}

#[test]
fn altered_public_inputs_are_rejected() {
    let History { batch, .. } = history();
    let honest = batch.circuit;
    assert!(satisfied(honest.clone()));
    let b = EdwardsProjective::from(blinding_generator());
    let shift = |d: BlindedDigest| {
        BlindedDigest::from_point((EdwardsProjective::from(d.point()) + b).into_affine())
    };
    let mut cases: Vec<(&str, BatchPublicInputs)> = Vec::new();
    let mut p = honest.public_inputs;
    p.root += Fr::from(1u64);
    cases.push(("root", p));
    let mut p = honest.public_inputs;
    p.read_set = shift(p.read_set);
    cases.push(("RS (another subgroup point)", p));
    let mut p = honest.public_inputs;
    p.write_set = shift(p.write_set);
    cases.push(("WS (another subgroup point)", p));
    let mut p = honest.public_inputs;
    p.read_set = p.write_set;
    cases.push(("RS := WS", p));
    let mut p = honest.public_inputs;
    let rs = p.read_set.point();
    p.read_set =
        BlindedDigest::from_point(EdwardsAffine::new_unchecked(rs.x + Fr::from(1u64), rs.y));
    cases.push(("RS.x + 1", p));
    for (what, public_inputs) in cases {
        let mut altered = honest.clone();
        altered.public_inputs = public_inputs;
        assert!(!satisfied(altered), "altered {what} accepted");
    }
    // The batch id and epoch take part in no other constraint: the *proof* binds them
    // (see `two_slot_batch_proves_and_verifies_and_altered_inputs_do_not`); here only their
    // range matters.
    let mut renumbered = honest.clone();
    renumbered.public_inputs.batch_id += 1;
    assert!(satisfied(renumbered));
}

#[test]
fn forged_blinding_is_rejected() {
    let History { batch, .. } = history();
    let honest = batch.circuit;
    // The witness ρ does not match the published RS.
    let mut wrong_rho = honest.clone();
    wrong_rho.witness.read_blinding += JubjubScalar::from(1u64);
    assert!(!satisfied(wrong_rho));
    let mut wrong_write_rho = honest.clone();
    wrong_write_rho.witness.write_blinding = JubjubScalar::zero();
    assert!(!satisfied(wrong_write_rho));
    // The published RS is MH + ρ'·B for some ρ' ≠ ρ.
    let mut forged = honest.clone();
    let rho_prime = honest.witness.read_blinding + JubjubScalar::from(5u64);
    let mh = crate::app_harness::unblind(
        &honest.public_inputs.read_set,
        &honest.witness.read_blinding,
    );
    forged.public_inputs.read_set = BlindedDigest::from_point(
        (mh + EdwardsProjective::from(blinding_generator()) * rho_prime).into_affine(),
    );
    assert!(!satisfied(forged));
}

/// A one-slot batch whose only request is `Transfer { from, to, amount }` with both slots
/// reading `(key, value, t_old)` tuples as given, with hints, digests and root all computed
/// by hand — bypassing the native builder, which refuses repeated keys.
fn handmade_transfer(
    from: Fr,
    to: Fr,
    old: [(Fr, u64); 2],
    amount: u64,
    t_req: u64,
) -> BatchCircuit<TransferApp> {
    let request = TransferRequest::Transfer { from, to, amount };
    let keys = [from, to];
    let (debited, credited) = (old[0].0 - Fr::from(amount), old[1].0 + Fr::from(amount));
    let reads = [
        Tuple::new(keys[0], old[0].0, old[0].1),
        Tuple::new(keys[1], old[1].0, old[1].1),
    ];
    let writes = [
        Tuple::new(keys[0], debited, t_req),
        Tuple::new(keys[1], credited, t_req),
    ];
    let mut ops = Vec::new();
    let (mut rs, mut ws) = (EdwardsProjective::zero(), EdwardsProjective::zero());
    for (read, write) in reads.iter().zip(&writes) {
        let (read_point, read_hint) = hash_tuple_with_hint(read).unwrap();
        let (write_point, write_hint) = hash_tuple_with_hint(write).unwrap();
        rs += read_point;
        ws += write_point;
        ops.push(OpWitness {
            old_value: read.value,
            old_timestamp: read.timestamp,
            read_hint,
            write_hint,
        });
    }
    let salt = Fr::from(77u64);
    let response = Response::accepted(vec![debited]).encode();
    let root = MerkleTree::new(&[commit(salt, &APP.encode_request(&request), &response)])
        .unwrap()
        .root();
    let (rho_r, rho_w) = (JubjubScalar::from(3u64), JubjubScalar::from(4u64));
    let b = EdwardsProjective::from(blinding_generator());
    let public_inputs = BatchPublicInputs {
        epoch: 1,
        batch_id: 0,
        root,
        read_set: BlindedDigest::from_point((rs + b * rho_r).into_affine()),
        write_set: BlindedDigest::from_point((ws + b * rho_w).into_affine()),
    };
    let witness = BatchWitness {
        epoch: 1,
        batch_id: 0,
        slots: vec![SlotWitness {
            authorized: APP.authorized(&request),
            request,
            t_req,
            ops,
            salt,
        }],
        read_blinding: rho_r,
        write_blinding: rho_w,
    };
    BatchCircuit::new(APP, witness, public_inputs).unwrap()
}

#[test]
fn duplicated_key_within_a_request_is_rejected() {
    let v = Fr::from(100u64);
    // Control: the handmade construction is right, so with distinct keys it is satisfied.
    assert!(satisfied(handmade_transfer(
        key(0),
        key(1),
        [(v, 3), (Fr::from(5u64), 2)],
        60,
        9
    )));
    // From k to k: both slots read (k, 100, 3); the writes (k, 40, 9) and (k, 160, 9) would
    // fork k's chain and mint 100. Everything else is consistent; distinctness fails.
    assert!(!satisfied(handmade_transfer(
        key(0),
        key(0),
        [(v, 3), (v, 3)],
        60,
        9
    )));
    // The native side refuses it before any store is touched.
    let store = Store::new();
    assert!(execute(
        &store,
        &APP,
        TransferRequest::Transfer {
            from: key(0),
            to: key(0),
            amount: 1
        }
    )
    .is_err());
}

// ------------------------------------------------------------------------------------------
// Constraint counts.
// ------------------------------------------------------------------------------------------

#[test]
fn batch_constraint_counts_are_reported() {
    // One storage op, counted after a first one so that digest additions are full price.
    let cs = ConstraintSystem::<Fr>::new_ref();
    let witness = |v: u64| FpVar::new_witness(cs.clone(), || Ok(Fr::from(v))).unwrap();
    let slot = KeySlotVar {
        key: witness(7),
        active: Boolean::new_witness(cs.clone(), || Ok(true)).unwrap(),
    };
    let (old, new) = (witness(11), witness(12));
    let t_req = TimestampVar::new_witness(cs.clone(), || Ok(9)).unwrap();
    let hints = |value: u64, t: u64| {
        hash_tuple_with_hint(&Tuple::new(Fr::from(7u64), Fr::from(value), t))
            .unwrap()
            .1
    };
    let op = OpWitness {
        old_value: Fr::from(11u64),
        old_timestamp: 3,
        read_hint: hints(11, 3),
        write_hint: hints(12, 9),
    };
    let mut digests = BatchDigestsVar::empty();
    storage_op_var(cs.clone(), &op, &slot, &old, &new, &t_req, &mut digests).unwrap();
    let before = cs.num_constraints();
    storage_op_var(cs.clone(), &op, &slot, &old, &new, &t_req, &mut digests).unwrap();
    let per_op = cs.num_constraints() - before;
    assert!(cs.is_satisfied().unwrap());

    let total =
        |capacity| synthesized(BatchCircuit::blank(APP, capacity).unwrap()).num_constraints();
    let (two, four) = (total(2), total(4));
    // Four slots have three tree nodes, two have one: the difference is two slots with one
    // node each.
    let per_slot = (four - two) / 2;
    let fixed = two - 2 * per_slot;
    println!("constraints: per storage op {per_op}, per slot {per_slot}, fixed per batch {fixed}");
    println!("             batch of 2: {two}, batch of 4: {four}");
    assert_eq!(
        (per_op, per_slot, fixed),
        (1_225, 3_645, 2_397),
        "update the table in host/batch.rs"
    );
}

/// [`TransferApp`] whose [`App::authorized`] of a deposit of [`SlowCheck::SLOW`] says it has
/// started, then waits until released (at most 20 s): a slow signature check.
#[derive(Clone, Debug, Default)]
struct SlowCheck {
    /// 0 before the slow authorization, 1 while it waits, 2 once released.
    phase: Arc<(std::sync::Mutex<u8>, std::sync::Condvar)>,
    timed_out: Arc<std::sync::atomic::AtomicBool>,
}

impl SlowCheck {
    const SLOW: u64 = 7;

    /// Sets the phase and wakes the other side.
    fn enter(&self, phase: u8) {
        let (lock, signal) = &*self.phase;
        *lock.lock().unwrap() = phase;
        signal.notify_all();
    }

    /// Waits (at most 20 s) for `phase`; false on a timeout.
    fn wait_for(&self, phase: u8) -> bool {
        let (lock, signal) = &*self.phase;
        let (_phase, wait) = signal
            .wait_timeout_while(
                lock.lock().unwrap(),
                std::time::Duration::from_secs(20),
                |p| *p != phase,
            )
            .unwrap();
        !wait.timed_out()
    }
}

impl App for SlowCheck {
    type Request = TransferRequest;
    type RequestVar = TransferRequestVar;
    type Reject = <TransferApp as App>::Reject;
    const KEYS: usize = TransferApp::KEYS;
    const REQUEST_FIELDS: usize = TransferApp::REQUEST_FIELDS;
    const PAYLOAD_FIELDS: usize = TransferApp::PAYLOAD_FIELDS;

    fn noop(&self) -> TransferRequest {
        APP.noop()
    }
    fn keys(&self, request: &TransferRequest) -> Vec<spice::host::storage_gadget::KeySlot> {
        APP.keys(request)
    }
    fn encode_request(&self, request: &TransferRequest) -> Vec<Fr> {
        APP.encode_request(request)
    }
    fn authorized(&self, request: &TransferRequest) -> bool {
        if matches!(
            request,
            TransferRequest::Deposit {
                amount: Self::SLOW,
                ..
            }
        ) {
            self.enter(1);
            let released = self.wait_for(2);
            self.timed_out
                .store(!released, std::sync::atomic::Ordering::SeqCst);
        }
        APP.authorized(request)
    }
    fn execute(
        &self,
        request: &TransferRequest,
        authorized: bool,
        storage: &mut spice::host::storage_gadget::Storage,
    ) -> Result<Vec<Fr>, Self::Reject> {
        APP.execute(request, authorized, storage)
    }
    fn keys_var(
        &self,
        request: &TransferRequestVar,
    ) -> Result<Vec<KeySlotVar>, ark_relations::gr1cs::SynthesisError> {
        APP.keys_var(request)
    }
    fn encode_request_var(
        &self,
        request: &TransferRequestVar,
    ) -> Result<Vec<FpVar<Fr>>, ark_relations::gr1cs::SynthesisError> {
        APP.encode_request_var(request)
    }
    fn execute_var(
        &self,
        request: &TransferRequestVar,
        storage: &mut spice::host::storage_gadget::StorageVar,
    ) -> Result<(Vec<FpVar<Fr>>, Boolean<Fr>), ark_relations::gr1cs::SynthesisError> {
        APP.execute_var(request, storage)
    }
}

#[test]
fn authorization_runs_before_the_keys_are_locked() {
    let app = SlowCheck::default();
    let store = Store::new();
    let k = key(3);
    let (slow, fast) = thread::scope(|scope| {
        // The slow deposit's authorization starts first and waits until the fast deposit to
        // the same key has committed. Were it run under the key's lock, the fast deposit
        // would wait for it instead, and the slow one's wait would end only by timing out.
        let slow = scope.spawn(|| {
            execute(
                &store,
                &app,
                TransferRequest::Deposit {
                    to: k,
                    amount: SlowCheck::SLOW,
                },
            )
            .unwrap()
        });
        assert!(app.wait_for(1), "the slow authorization never started");
        let fast = execute(&store, &app, TransferRequest::Deposit { to: k, amount: 5 }).unwrap();
        app.enter(2);
        (slow.join().unwrap(), fast)
    });
    assert!(
        !app.timed_out.load(std::sync::atomic::Ordering::SeqCst),
        "the fast deposit waited for the slow authorization"
    );
    assert!(slow.authorized && fast.authorized);
    // The fast deposit took the key first, so the slow one read its write.
    assert!(fast.record.t_req < slow.record.t_req);
    assert_eq!(slow.response, Response::accepted(vec![Fr::from(12u64)]));
}
