//! The epoch audit: an honest audit over several chunks satisfies every circuit and passes
//! `check_epoch` across epochs; every way of auditing a state other than the true one — a
//! key duplicated, skipped or marked new wrongly, a value changed, a forged blinding, a
//! sign-flipped hash root, a chunk dropped, reordered or replayed from another epoch — makes a
//! circuit unsatisfiable or `check_epoch` reject.
//!
//! Run with `cargo test --release --test integration audit:: -- --nocapture` to see constraint counts.

use std::sync::Arc;

use ark_bls12_381::{Bls12_381, Fr};
use ark_ed_on_bls12_381::Fr as JubjubScalar;
use ark_ff::{One, Zero};
use ark_groth16::Groth16;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
use ark_std::rand::{rngs::StdRng, SeedableRng};

use spice::{
    engine::{CpuBackend, Prover},
    host::{
        audit::{
            chain_start, check_epoch, AuditBuildError, AuditedFinal, AuditedKey, ChunkCircuit,
            ChunkWitness, ClosingCircuit, EpochAudit, EpochBatches, EpochCheckError,
        },
        batch::build_batch,
        set_digest::{hash_tuple_with_hint, Tuple},
        storage_gadget::{
            execute,
            transfer::{TransferApp, TransferRequest},
            Executed,
        },
        store::{EpochSnapshot, Store},
    },
};

const APP: TransferApp = TransferApp;

fn key(i: u64) -> Fr {
    // Keys near both ends of the field, so the order check sees large integers too.
    if i % 2 == 0 {
        Fr::from(i + 1)
    } else {
        -Fr::from(i + 1)
    }
}

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn satisfied<C: ConstraintSynthesizer<Fr>>(circuit: C) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    circuit.generate_constraints(cs.clone()).expect("synthesis");
    cs.is_satisfied().expect("all values assigned")
}

fn run(store: &Store, request: TransferRequest) -> Executed<TransferApp> {
    execute(store, &APP, request).expect("request executes")
}

/// Proves nothing, but builds every batch of `executed` (capacity 3) and sums its blinded
/// contributions the way the service does.
fn batches_of(epoch: u64, executed: &[Executed<TransferApp>], seed: u64) -> EpochBatches {
    let mut sums = EpochBatches::empty();
    for (id, chunk) in executed.chunks(3).enumerate() {
        let built = build_batch(&APP, epoch, id as u64, 3, chunk, &mut rng(seed + id as u64))
            .expect("batch builds");
        let public = built.public_inputs();
        let (rho_r, rho_w) = built.blindings();
        sums.add_batch(public.read_set, public.write_set, rho_r, rho_w);
    }
    sums
}

/// One honest epoch: its snapshot and batch sums.
struct Epoch {
    snapshot: EpochSnapshot,
    batches: EpochBatches,
}

/// Epoch 0 deposits to keys 0..7; epoch 1 transfers among them, deposits to two new keys
/// (7, 8) and reads one.
fn two_epochs() -> (Epoch, Epoch) {
    let store = Store::new();
    let first: Vec<_> = (0..7)
        .map(|i| {
            run(
                &store,
                TransferRequest::Deposit {
                    to: key(i),
                    amount: 100 + i,
                },
            )
        })
        .collect();
    let snapshot0 = store.close_epoch();
    let second = vec![
        run(
            &store,
            TransferRequest::Transfer {
                from: key(0),
                to: key(3),
                amount: 40,
            },
        ),
        run(
            &store,
            TransferRequest::Deposit {
                to: key(7),
                amount: 5,
            },
        ),
        run(
            &store,
            TransferRequest::Transfer {
                from: key(3),
                to: key(8),
                amount: 140,
            },
        ),
        // Rejected (overdraft): still read and rewritten unchanged.
        run(
            &store,
            TransferRequest::Transfer {
                from: key(1),
                to: key(2),
                amount: 1_000,
            },
        ),
        run(&store, TransferRequest::Read { key: key(5) }),
    ];
    let snapshot1 = store.close_epoch();
    assert_eq!(
        snapshot1.new_keys.len(),
        2,
        "keys 7 and 8 are new in epoch 1"
    );
    (
        Epoch {
            snapshot: snapshot0,
            batches: batches_of(0, &first, 10),
        },
        Epoch {
            snapshot: snapshot1,
            batches: batches_of(1, &second, 20),
        },
    )
}

fn audit_of(
    epoch: &Epoch,
    keys_per_chunk: usize,
    previous: &AuditedFinal,
    seed: u64,
) -> EpochAudit {
    EpochAudit::build(
        &epoch.snapshot,
        keys_per_chunk,
        previous,
        &epoch.batches,
        &mut rng(seed),
    )
    .expect("audit builds")
}

/// Every circuit of `audit` satisfied.
fn all_satisfied(audit: &EpochAudit) -> bool {
    audit.chunks.iter().all(|c| satisfied(c.clone())) && satisfied(audit.closing.clone())
}

/// `check_epoch` on the audit's own public inputs.
fn checked(
    audit: &EpochAudit,
    previous: &AuditedFinal,
    batches: &EpochBatches,
) -> Result<spice::host::set_digest::BlindedDigest, EpochCheckError> {
    check_epoch(
        audit.epoch,
        &previous.digest,
        &batches.read_sum,
        &batches.write_sum,
        &audit.chunk_public_inputs(),
        &audit.closing.public,
    )
}

/// The audited keys of `snapshot` (what `EpochAudit::build` hashes), for hand-made chunks.
fn audited_keys(snapshot: &EpochSnapshot) -> Vec<AuditedKey> {
    snapshot
        .final_state
        .iter()
        .map(|t| AuditedKey::new(*t, snapshot.new_keys.contains(&t.key)).expect("hash"))
        .collect()
}

/// An audit of `epoch` from hand-made chunks of `keys`, sized `keys_per_chunk`.
fn audit_from(
    epoch: &Epoch,
    keys_per_chunk: usize,
    previous: &AuditedFinal,
    chunks: Vec<Vec<AuditedKey>>,
) -> EpochAudit {
    let mut r = rng(99);
    let witnesses = chunks
        .into_iter()
        .map(|keys| ChunkWitness::new(keys, &mut r))
        .collect();
    EpochAudit::from_witnesses(
        epoch.snapshot.epoch,
        keys_per_chunk,
        previous,
        &epoch.batches,
        witnesses,
    )
    .expect("chunks fit")
}

// ------------------------------------------------------------------------------------------
// Honest audits.
// ------------------------------------------------------------------------------------------

#[test]
fn honest_audits_over_several_chunks_satisfy_every_circuit_and_chain_across_epochs() {
    let (epoch0, epoch1) = two_epochs();
    let genesis = AuditedFinal::genesis();
    // 7 keys in chunks of 3: 3 + 3 + 1 (the last chunk padded).
    let audit0 = audit_of(&epoch0, 3, &genesis, 1);
    assert_eq!(audit0.chunks.len(), 3);
    assert!(audit0.balances());
    assert!(all_satisfied(&audit0));
    let final0 = checked(&audit0, &genesis, &epoch0.batches).expect("epoch 0 checks");
    assert_eq!(final0, audit0.new_final.digest);

    // 9 keys in chunks of 3: exactly full chunks; two keys are new.
    let audit1 = audit_of(&epoch1, 3, &audit0.new_final, 2);
    assert_eq!(audit1.chunks.len(), 3);
    assert!(audit1.balances());
    assert!(all_satisfied(&audit1));
    let final1 = checked(&audit1, &audit0.new_final, &epoch1.batches).expect("epoch 1 checks");
    assert_eq!(final1, audit1.new_final.digest);

    // The same epoch in one chunk, or in one chunk per key, checks just as well.
    for keys_per_chunk in [1, 16] {
        let other = audit_of(&epoch1, keys_per_chunk, &audit0.new_final, 3);
        assert!(all_satisfied(&other), "chunks of {keys_per_chunk}");
        assert!(checked(&other, &audit0.new_final, &epoch1.batches).is_ok());
    }
}

#[test]
fn empty_state_is_audited_by_one_empty_chunk() {
    let store = Store::new();
    let epoch = Epoch {
        snapshot: store.close_epoch(),
        batches: EpochBatches::empty(),
    };
    let genesis = AuditedFinal::genesis();
    let audit = audit_of(&epoch, 4, &genesis, 5);
    assert_eq!(audit.chunks.len(), 1);
    assert!(all_satisfied(&audit));
    assert!(checked(&audit, &genesis, &epoch.batches).is_ok());
}

#[test]
fn builder_refuses_an_unsorted_final_state_and_a_new_key_outside_it() {
    let (epoch0, _) = two_epochs();
    let genesis = AuditedFinal::genesis();
    let mut unsorted = epoch0.snapshot.clone();
    unsorted.final_state.swap(0, 1);
    assert!(matches!(
        EpochAudit::build(&unsorted, 3, &genesis, &epoch0.batches, &mut rng(1)),
        Err(AuditBuildError::FinalNotSorted { index: 1 })
    ));
    let mut stray = epoch0.snapshot.clone();
    stray.new_keys.push(key(50));
    assert!(matches!(
        EpochAudit::build(&stray, 3, &genesis, &epoch0.batches, &mut rng(1)),
        Err(AuditBuildError::NewKeyNotInFinal { .. })
    ));
    assert!(matches!(
        EpochAudit::build(&epoch0.snapshot, 0, &genesis, &epoch0.batches, &mut rng(1)),
        Err(AuditBuildError::ZeroChunkSize)
    ));
}

// ------------------------------------------------------------------------------------------
// Cheating provers.
// ------------------------------------------------------------------------------------------

#[test]
fn key_duplicated_in_a_chunk_is_rejected() {
    let (epoch0, _) = two_epochs();
    let keys = audited_keys(&epoch0.snapshot);
    // The same tuple twice in one chunk (e.g. to cover a stale read of it).
    let mut chunk = keys.clone();
    chunk.insert(1, keys[1]);
    let audit = audit_from(&epoch0, 8, &AuditedFinal::genesis(), vec![chunk]);
    assert!(!satisfied(audit.chunks[0].clone()));
}

#[test]
fn key_duplicated_across_a_chunk_boundary_is_rejected() {
    let (epoch0, _) = two_epochs();
    let keys = audited_keys(&epoch0.snapshot);
    // Chunk 1 starts again with chunk 0's last key.
    let audit = audit_from(
        &epoch0,
        4,
        &AuditedFinal::genesis(),
        vec![keys[..4].to_vec(), keys[3..].to_vec()],
    );
    assert!(satisfied(audit.chunks[0].clone()));
    assert!(!satisfied(audit.chunks[1].clone()));
}

#[test]
fn keys_out_of_order_are_rejected() {
    let (epoch0, _) = two_epochs();
    let mut keys = audited_keys(&epoch0.snapshot);
    keys.swap(2, 3);
    let audit = audit_from(&epoch0, 8, &AuditedFinal::genesis(), vec![keys]);
    assert!(!satisfied(audit.chunks[0].clone()));
}

#[test]
fn skipped_key_does_not_close_the_epoch() {
    let (epoch0, _) = two_epochs();
    let mut keys = audited_keys(&epoch0.snapshot);
    // Delete a tuple from the state: the chunk is internally fine, the epoch is not.
    keys.remove(4);
    let audit = audit_from(&epoch0, 8, &AuditedFinal::genesis(), vec![keys]);
    assert!(satisfied(audit.chunks[0].clone()));
    assert!(!audit.balances());
    assert!(!satisfied(audit.closing.clone()));
}

#[test]
fn audit_over_a_different_final_state_does_not_close() {
    let (epoch0, _) = two_epochs();
    let genesis = AuditedFinal::genesis();
    // A value changed in the store (the untrusted storage tampered with it, or the service
    // claims a state its batches did not produce).
    let mut tampered = epoch0.snapshot.clone();
    tampered.final_state[2].value += Fr::one();
    let audit = audit_of(
        &Epoch {
            snapshot: tampered,
            batches: epoch0.batches,
        },
        3,
        &genesis,
        7,
    );
    assert!(audit.chunks.iter().all(|c| satisfied(c.clone())));
    assert!(!audit.balances());
    assert!(!satisfied(audit.closing.clone()));
    // A timestamp rolled back in final: same outcome.
    let mut rolled_back = epoch0.snapshot.clone();
    rolled_back.final_state[0].timestamp -= 1;
    let audit = audit_of(
        &Epoch {
            snapshot: rolled_back,
            batches: epoch0.batches,
        },
        3,
        &genesis,
        8,
    );
    assert!(!satisfied(audit.closing.clone()));
}

#[test]
fn key_marked_new_wrongly_does_not_close() {
    let (epoch0, epoch1) = two_epochs();
    let audit0 = audit_of(&epoch0, 3, &AuditedFinal::genesis(), 1);
    // An old key claimed new (init would hold two tuples for it)…
    let mut extra = epoch1.snapshot.clone();
    extra.new_keys.push(key(0));
    extra.new_keys.sort_by(spice::host::store::key_order);
    let wrong = audit_of(
        &Epoch {
            snapshot: extra,
            batches: epoch1.batches,
        },
        3,
        &audit0.new_final,
        4,
    );
    assert!(wrong.chunks.iter().all(|c| satisfied(c.clone())));
    assert!(!satisfied(wrong.closing.clone()));
    // …or a new key claimed old (init would hold none for it).
    let mut missing = epoch1.snapshot.clone();
    missing.new_keys.pop();
    let wrong = audit_of(
        &Epoch {
            snapshot: missing,
            batches: epoch1.batches,
        },
        3,
        &audit0.new_final,
        5,
    );
    assert!(!satisfied(wrong.closing.clone()));
}

#[test]
fn forged_closing_blinding_is_rejected() {
    let (epoch0, _) = two_epochs();
    let mut audit = audit_of(&epoch0, 3, &AuditedFinal::genesis(), 1);
    assert!(satisfied(audit.closing.clone()));
    audit.closing.delta += JubjubScalar::one();
    assert!(!satisfied(audit.closing.clone()));
}

#[test]
fn sign_flipped_root_in_a_chunk_is_rejected() {
    let (epoch0, _) = two_epochs();
    let audit = audit_of(&epoch0, 3, &AuditedFinal::genesis(), 1);
    // The chunk's hint is private to the crate's builder; rebuild the chunk's keys with the
    // other root of the first key's hash (H(e) → −H(e) would subtract a tuple).
    let tuple: Tuple = audit.chunks[0].witness.keys[0].tuple();
    let (_, hint) = hash_tuple_with_hint(&tuple).expect("hash");
    let mut flipped = hint;
    flipped.y = -hint.y;
    let forged = AuditedKey::with_hint_unchecked(tuple, false, flipped).expect("on the curve");
    let mut chunk = audit.chunks[0].clone();
    chunk.witness.keys[0] = forged;
    assert!(!satisfied(chunk));
}

#[test]
fn broken_chains_are_rejected_by_check_epoch() {
    let (epoch0, _) = two_epochs();
    let genesis = AuditedFinal::genesis();
    let audit = audit_of(&epoch0, 3, &genesis, 1);
    let check = |chunks: &[_]| {
        check_epoch(
            0,
            &genesis.digest,
            &epoch0.batches.read_sum,
            &epoch0.batches.write_sum,
            chunks,
            &audit.closing.public,
        )
    };
    let chunks = audit.chunk_public_inputs();
    assert!(check(&chunks).is_ok());
    assert_eq!(check(&[]), Err(EpochCheckError::NoChunks));
    // A middle chunk dropped, two chunks swapped.
    assert_eq!(
        check(&[chunks[0], chunks[2]]),
        Err(EpochCheckError::BrokenChain { position: 1 })
    );
    assert_eq!(
        check(&[chunks[1], chunks[0], chunks[2]]),
        Err(EpochCheckError::ChainStart)
    );
    // The last chunk dropped: the chain is fine but the final digest does not add up.
    assert_eq!(
        check(&chunks[..2]),
        // Every key of epoch 0 is new, so the new-key sum (checked first) is off too.
        Err(EpochCheckError::NewKeysMismatch)
    );
    // A chunk that restarts the chain (claims the sentinel as its boundary).
    let mut restart = chunks.clone();
    restart[0].boundary = chain_start();
    assert_eq!(
        check(&restart),
        Err(EpochCheckError::SentinelBoundary { position: 0 })
    );
}

#[test]
fn chunks_and_closing_of_another_epoch_are_rejected_by_check_epoch() {
    let (epoch0, epoch1) = two_epochs();
    let genesis = AuditedFinal::genesis();
    let audit0 = audit_of(&epoch0, 3, &genesis, 1);
    let audit1 = audit_of(&epoch1, 3, &audit0.new_final, 2);
    // Epoch 1's chunks presented as epoch 0's.
    assert_eq!(
        check_epoch(
            0,
            &genesis.digest,
            &epoch0.batches.read_sum,
            &epoch0.batches.write_sum,
            &audit1.chunk_public_inputs(),
            &audit0.closing.public,
        ),
        Err(EpochCheckError::ChunkEpoch {
            position: 0,
            expected: 0,
            got: 1
        })
    );
    // Epoch 0's closing proof presented for epoch 1.
    assert_eq!(
        check_epoch(
            1,
            &audit0.new_final.digest,
            &epoch1.batches.read_sum,
            &epoch1.batches.write_sum,
            &audit1.chunk_public_inputs(),
            &audit0.closing.public,
        ),
        Err(EpochCheckError::ClosingEpoch {
            expected: 1,
            got: 0
        })
    );
    // Epoch 1's audit checked against a previous final digest other than epoch 0's.
    assert_eq!(
        checked(&audit1, &genesis, &epoch1.batches),
        Err(EpochCheckError::PreviousFinalMismatch)
    );
    // A batch left out of the sums.
    let fewer = batches_of(1, &[], 0);
    assert_eq!(
        checked(&audit1, &audit0.new_final, &fewer),
        Err(EpochCheckError::ReadSumMismatch)
    );
}

// ------------------------------------------------------------------------------------------
// Proofs, and the cost.
// ------------------------------------------------------------------------------------------

#[test]
fn chunk_and_closing_proofs_verify_and_altered_inputs_do_not() {
    let (epoch0, _) = two_epochs();
    let audit = audit_of(&epoch0, 2, &AuditedFinal::genesis(), 1);
    let setup_rng = &mut rng(42);
    let chunk_pk = Groth16::<Bls12_381>::generate_random_parameters_with_reduction(
        ChunkCircuit::blank(2).expect("blank chunk"),
        setup_rng,
    )
    .expect("chunk setup");
    let closing_pk = Groth16::<Bls12_381>::generate_random_parameters_with_reduction(
        ClosingCircuit::blank(),
        setup_rng,
    )
    .expect("closing setup");
    let chunk_prover = Prover::new(Arc::new(CpuBackend::new()), chunk_pk).expect("chunk prover");
    let closing_prover =
        Prover::new(Arc::new(CpuBackend::new()), closing_pk).expect("closing prover");

    for chunk in &audit.chunks[..2] {
        let proof = chunk_prover
            .prove(chunk.clone(), &mut rng(7))
            .expect("chunk proves");
        let inputs = chunk.public.to_field_elements();
        assert!(chunk_prover.verifier().verify(&inputs, &proof).unwrap());
        for i in 0..inputs.len() {
            let mut altered = inputs.clone();
            altered[i] += Fr::one();
            assert!(
                !chunk_prover.verifier().verify(&altered, &proof).unwrap(),
                "chunk input {i} altered"
            );
        }
    }
    let proof = closing_prover
        .prove(audit.closing.clone(), &mut rng(8))
        .expect("closing proves");
    let inputs = audit.closing.public.to_field_elements();
    assert!(closing_prover.verifier().verify(&inputs, &proof).unwrap());
    let mut altered = inputs.clone();
    altered[0] = Fr::zero() + Fr::one();
    assert!(!closing_prover.verifier().verify(&altered, &proof).unwrap());
    // An unbalanced closing statement cannot be proved: the prover reports the unsatisfied
    // witness instead of returning a proof.
    let mut forged = audit.closing.clone();
    forged.delta += JubjubScalar::one();
    assert!(closing_prover.prove(forged, &mut rng(9)).is_err());
}

#[test]
fn constraint_counts_are_reported() {
    let count = |circuit: ChunkCircuit| {
        let cs = ConstraintSystem::<Fr>::new_ref();
        circuit.generate_constraints(cs.clone()).expect("synthesis");
        cs.num_constraints()
    };
    let (one, five) = (
        count(ChunkCircuit::blank(1).unwrap()),
        count(ChunkCircuit::blank(5).unwrap()),
    );
    let per_key = (five - one) / 4;
    let fixed = one - per_key;
    let closing = {
        let cs = ConstraintSystem::<Fr>::new_ref();
        ClosingCircuit::blank()
            .generate_constraints(cs.clone())
            .expect("synthesis");
        cs.num_constraints()
    };
    println!("audit constraints: per key {per_key}, fixed per chunk {fixed}, closing {closing}");
    assert_eq!(
        (per_key, fixed, closing),
        (PER_KEY, FIXED_PER_CHUNK, CLOSING),
        "update the table in host/audit.rs"
    );
}

/// The figures of the table in `host/audit.rs`'s module docs.
const PER_KEY: usize = 1_552;
const FIXED_PER_CHUNK: usize = 3_496;
const CLOSING: usize = 1_345;
