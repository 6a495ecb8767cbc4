//! Soundness of the whole system: for every way a service could cheat — a stale read, a value
//! tampered in the store, a timestamp rolled back, a key duplicated or skipped in the audit, a
//! sign-flipped set element, a forged blinding, an audit over another final state — the
//! cheating prover's witness does not satisfy the circuit, a proof forced through anyway
//! (arkworks' prover, which does not check the witness) does not verify, and the log verifier
//! does not accept the epoch. And for every way a log could be doctored — a batch omitted,
//! replayed twice, public inputs altered, proof bytes tampered, entries from another epoch or
//! out of order — the verifier rejects it, naming the first failure.
//!
//! Run with `cargo test --release --test integration soundness::`.

use std::sync::{Arc, OnceLock};

use ark_bls12_381::{Bls12_381, Fr};
use ark_ed_on_bls12_381::Fr as JubjubScalar;
use ark_ff::{One, UniformRand};
use ark_groth16::{Groth16, Proof, ProvingKey};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
use ark_std::rand::{rngs::StdRng, SeedableRng};

use spice::{
    engine::{synthesize_assignment, CpuBackend, R1csShape},
    host::{
        apps::transfer::{account_key, TransferApp, TransferRequest},
        audit::{
            AuditedFinal, AuditedKey, ChunkCircuit, ChunkWitness, ClosingCircuit, EpochAudit,
            EpochBatches, EpochCheckError,
        },
        batch::{build_batch, BatchCircuit, ProvableBatch},
        circuit_prover::CircuitProver,
        log_verifier::{LogVerifier, Rejection, VerifiedLog},
        proof_log::{read_entries, EntryKind, LogEntry, Payload},
        service::{Service, ServiceConfig, ServiceProvers},
        storage_gadget::{execute, Executed},
        store::{EpochSnapshot, Store},
        workload::Workload,
    },
};

use crate::temp_dir::TempDir;

const APP: TransferApp = TransferApp;
const CONFIG: ServiceConfig = ServiceConfig {
    batch_capacity: 2,
    keys_per_chunk: 4,
    workers: 4,
    proofs_in_flight: None,
};

/// Proving keys (kept, so that a cheater can force proofs with arkworks' prover) and the
/// service's provers made from them.
pub(super) struct Keys {
    batch: ProvingKey<Bls12_381>,
    chunk: ProvingKey<Bls12_381>,
    closing: ProvingKey<Bls12_381>,
    provers: Arc<ServiceProvers>,
    pub(super) verifier: LogVerifier,
}

pub(super) fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let rng = &mut StdRng::seed_from_u64(0x5eed);
        let blank_batch = BatchCircuit::blank(APP, CONFIG.batch_capacity).unwrap();
        let blank_chunk = ChunkCircuit::blank(CONFIG.keys_per_chunk).unwrap();
        let batch = setup(blank_batch.clone(), rng);
        let chunk = setup(blank_chunk.clone(), rng);
        let closing = setup(ClosingCircuit::blank(), rng);
        let backend = Arc::new(CpuBackend::new());
        let provers = ServiceProvers {
            batch: CircuitProver::from_key("batch", blank_batch, batch.clone(), backend.clone())
                .unwrap(),
            chunk: CircuitProver::from_key("chunk", blank_chunk, chunk.clone(), backend.clone())
                .unwrap(),
            closing: CircuitProver::from_key(
                "closing",
                ClosingCircuit::blank(),
                closing.clone(),
                backend.clone(),
            )
            .unwrap(),
        };
        let verifier = LogVerifier::new(&batch.vk, &chunk.vk, &closing.vk).unwrap();
        Keys {
            batch,
            chunk,
            closing,
            provers: Arc::new(provers),
            verifier,
        }
    })
}

fn setup<C: ConstraintSynthesizer<Fr>>(circuit: C, rng: &mut StdRng) -> ProvingKey<Bls12_381> {
    Groth16::<Bls12_381>::generate_random_parameters_with_reduction(circuit, rng).expect("setup")
}

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn satisfied<C: ConstraintSynthesizer<Fr>>(circuit: C) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    circuit.generate_constraints(cs.clone()).expect("synthesis");
    cs.is_satisfied().expect("all values assigned")
}

/// A proof of `circuit` from arkworks' prover *from the matrices*, which computes a proof
/// for any assignment, satisfying or not: what a cheater who skips every check would submit.
fn force_proof<C: ConstraintSynthesizer<Fr> + Clone>(
    pk: &ProvingKey<Bls12_381>,
    circuit: C,
) -> Proof<Bls12_381> {
    let (shape, z) = R1csShape::from_circuit(circuit.clone()).expect("synthesis");
    assert_eq!(z, synthesize_assignment(circuit).unwrap());
    let mut r = rng(77);
    Groth16::<Bls12_381>::create_proof_with_reduction_and_matrices(
        pk,
        Fr::rand(&mut r),
        Fr::rand(&mut r),
        &[shape.a.clone(), shape.b.clone(), shape.c.clone()],
        shape.num_instance,
        shape.num_constraints(),
        &z,
    )
    .expect("arkworks computes a proof")
}

fn run(store: &Store, request: TransferRequest) -> Executed<TransferApp> {
    execute(store, &APP, request).expect("executes")
}

fn deposit(i: u64, amount: u64) -> TransferRequest {
    TransferRequest::Deposit {
        to: account_key(i),
        amount,
    }
}

fn transfer(from: u64, to: u64, amount: u64) -> TransferRequest {
    TransferRequest::Transfer {
        from: account_key(from),
        to: account_key(to),
        amount,
    }
}

// ------------------------------------------------------------------------------------------
// A cheating service: the honest service's steps, taken by hand so that any can be bent.
// ------------------------------------------------------------------------------------------

/// A service that proves what it likes and logs it in memory.
struct Cheater {
    entries: Vec<LogEntry>,
    next_batch_id: u64,
    batches: EpochBatches,
    previous: AuditedFinal,
    epoch: u64,
}

impl Cheater {
    fn new() -> Self {
        Self {
            entries: Vec::new(),
            next_batch_id: 0,
            batches: EpochBatches::empty(),
            previous: AuditedFinal::genesis(),
            epoch: 0,
        }
    }

    fn log(&mut self, kind: EntryKind, inputs: Vec<Fr>, proof: Proof<Bls12_381>) {
        self.entries.push(LogEntry::with_proof(
            kind,
            self.epoch,
            self.entries.len() as u64,
            inputs,
            proof,
        ));
    }

    /// Builds the honest batch of `executed` (the builder checks records against the app).
    fn build(&mut self, executed: &[Executed<TransferApp>]) -> ProvableBatch<TransferApp> {
        build_batch(
            &APP,
            self.epoch,
            self.next_batch_id,
            CONFIG.batch_capacity,
            executed,
            &mut rng(self.next_batch_id),
        )
        .expect("batch builds")
    }

    /// Proves `circuit` (forced, whatever its witness) and logs it as the next batch.
    fn log_batch(&mut self, circuit: BatchCircuit<TransferApp>) {
        let witness = &circuit.witness;
        self.batches.add_batch(
            circuit.public_inputs.read_set,
            circuit.public_inputs.write_set,
            witness.read_blinding,
            witness.write_blinding,
        );
        let inputs = circuit.public_inputs.to_field_elements();
        let proof = force_proof(&keys().batch, circuit);
        self.log(EntryKind::BatchProof, inputs, proof);
        self.next_batch_id += 1;
    }

    /// The audit the cheater would prove for `snapshot`.
    fn audit(&self, snapshot: &EpochSnapshot) -> EpochAudit {
        EpochAudit::build(
            snapshot,
            CONFIG.keys_per_chunk,
            &self.previous,
            &self.batches,
            &mut rng(1000 + self.epoch),
        )
        .expect("audit builds")
    }

    /// Proves (forced) and logs `audit`, and ends the epoch.
    fn log_audit(&mut self, audit: &EpochAudit) {
        for chunk in &audit.chunks {
            let proof = force_proof(&keys().chunk, chunk.clone());
            self.log(
                EntryKind::AuditChunkProof,
                chunk.public.to_field_elements(),
                proof,
            );
        }
        let proof = force_proof(&keys().closing, audit.closing.clone());
        self.log(
            EntryKind::AuditClosingProof,
            audit.closing.public.to_field_elements(),
            proof,
        );
        self.entries.push(LogEntry::epoch_end(
            self.epoch,
            self.entries.len() as u64,
            Vec::new(),
        ));
        self.previous = audit.new_final;
        self.batches = EpochBatches::empty();
        self.epoch += 1;
    }

    fn verdict(&self) -> Result<VerifiedLog, Rejection> {
        keys().verifier.verify_entries(&self.entries)
    }
}

/// Asserts the log of `cheater` is rejected because a proof of `kind` does not verify.
fn assert_bad_proof(cheater: &Cheater, kind: EntryKind) {
    match cheater.verdict() {
        Err(Rejection::BadProof { kind: bad, .. }) => assert_eq!(bad, kind),
        other => panic!("expected a bad {kind}, got {other:?}"),
    }
}

/// Epoch 0 of an honest store: deposits into accounts 0..4, proved and audited by the
/// cheater honestly; returns the store (now in epoch 1).
fn honest_start(cheater: &mut Cheater) -> Store {
    let store = Store::new();
    let executed: Vec<_> = (0..4).map(|i| run(&store, deposit(i, 100))).collect();
    for pair in executed.chunks(2) {
        let built = cheater.build(pair);
        assert!(satisfied(built.circuit.clone()));
        cheater.log_batch(built.circuit);
    }
    let snapshot = store.close_epoch();
    let audit = cheater.audit(&snapshot);
    assert!(audit.balances());
    cheater.log_audit(&audit);
    assert!(cheater.verdict().is_ok(), "the honest epoch is accepted");
    store
}

// ------------------------------------------------------------------------------------------
// Cheating provers.
// ------------------------------------------------------------------------------------------

#[test]
fn stale_read_is_rejected() {
    let mut cheater = Cheater::new();
    let store = honest_start(&mut cheater);
    // A stale replica of the store, as it was after epoch 0.
    let stale = Store::new();
    for i in 0..4 {
        run(&stale, deposit(i, 100));
    }
    stale.close_epoch();
    // Account 0 pays 80 to account 1; then, reading account 0's stale balance (100) again,
    // pays another 80 to account 2: money created from a stale read.
    let first = run(&store, transfer(0, 1, 80));
    let replayed = run(&stale, transfer(0, 2, 80));
    assert!(replayed.response.accepted, "the stale balance covers it");
    // Each batch alone is a satisfied circuit: the batch cannot see staleness…
    let built = cheater.build(&[first, replayed]);
    assert!(satisfied(built.circuit.clone()));
    cheater.log_batch(built.circuit);
    // …the audit can: no final state closes the epoch, neither the store's nor one that
    // takes account 2's balance from the replica (what the cheater told its client).
    let real = store.snapshot();
    let mut merged = real.clone();
    let from_replica = stale.snapshot();
    let account2 = |s: &EpochSnapshot| {
        s.final_state
            .iter()
            .position(|t| t.key == account_key(2))
            .unwrap()
    };
    merged.final_state[account2(&real)] = from_replica.final_state[account2(&from_replica)];
    for snapshot in [&merged, &real] {
        let audit = cheater.audit(snapshot);
        assert!(!audit.balances());
        assert!(!satisfied(audit.closing.clone()));
    }
    let audit = cheater.audit(&real);
    cheater.log_audit(&audit);
    assert_bad_proof(&cheater, EntryKind::AuditClosingProof);
}

#[test]
fn value_tampered_in_the_store_is_rejected() {
    let mut cheater = Cheater::new();
    let store = honest_start(&mut cheater);
    // The untrusted store raises account 3's balance outside any request…
    store
        .transact::<(), _>(&[account_key(3)], |_| Ok(vec![Fr::from(1_000_000u64)]))
        .unwrap();
    // …and a proved transfer spends it.
    let spend = run(&store, transfer(3, 0, 900_000));
    assert!(spend.response.accepted);
    let built = cheater.build(&[spend]);
    assert!(satisfied(built.circuit.clone()));
    cheater.log_batch(built.circuit);
    let audit = cheater.audit(&store.snapshot());
    assert!(!satisfied(audit.closing.clone()));
    cheater.log_audit(&audit);
    assert_bad_proof(&cheater, EntryKind::AuditClosingProof);
    // Without the audit the epoch stays open: nothing of it is vouched for.
    cheater.entries.truncate(cheater.entries.len() - 3);
    let open = cheater.verdict().expect("the batches alone verify");
    assert_eq!(open.epochs.len(), 1);
    assert_eq!(open.open_epoch.map(|e| e.epoch), Some(1));
}

#[test]
fn timestamp_rollback_is_rejected() {
    let mut cheater = Cheater::new();
    let store = honest_start(&mut cheater);
    let honest = run(&store, transfer(0, 1, 10));
    let mut built = cheater.build(&[honest]);
    // Write the new tuples with the timestamp of the tuples read (t_req = t_old).
    let slot = &mut built.circuit.witness.slots[0];
    slot.t_req = slot.ops[0].old_timestamp;
    built.circuit.witness.recompute_hints(&APP).unwrap();
    built.circuit.public_inputs = built.circuit.witness.public_inputs(&APP).unwrap();
    assert!(!satisfied(built.circuit.clone()));
    cheater.log_batch(built.circuit);
    assert_bad_proof(&cheater, EntryKind::BatchProof);
}

#[test]
fn sign_flipped_set_element_is_rejected() {
    let mut cheater = Cheater::new();
    let store = honest_start(&mut cheater);
    let honest = run(&store, transfer(1, 2, 10));
    let mut built = cheater.build(&[honest]);
    // The read's root with the other sign: H(e) would enter RS as −H(e).
    let op = &mut built.circuit.witness.slots[0].ops[0];
    op.read_hint.y = -op.read_hint.y;
    assert!(
        built.circuit.witness.public_inputs(&APP).is_err(),
        "no canonical point"
    );
    assert!(!satisfied(built.circuit.clone()));
    cheater.log_batch(built.circuit);
    assert_bad_proof(&cheater, EntryKind::BatchProof);
}

#[test]
fn key_duplicated_in_the_audit_is_rejected() {
    let mut cheater = Cheater::new();
    let store = honest_start(&mut cheater);
    let executed = run(&store, transfer(0, 1, 10));
    let built = cheater.build(&[executed]);
    cheater.log_batch(built.circuit);
    let snapshot = store.close_epoch();
    let mut keys: Vec<AuditedKey> = snapshot
        .final_state
        .iter()
        .map(|t| AuditedKey::new(*t, false).unwrap())
        .collect();
    keys.insert(1, keys[1]);
    let mut r = rng(5);
    let witnesses = keys
        .chunks(CONFIG.keys_per_chunk)
        .map(|chunk| ChunkWitness::new(chunk.to_vec(), &mut r))
        .collect();
    let audit = EpochAudit::from_witnesses(
        1,
        CONFIG.keys_per_chunk,
        &cheater.previous,
        &cheater.batches,
        witnesses,
    )
    .unwrap();
    assert!(!satisfied(audit.chunks[0].clone()));
    cheater.log_audit(&audit);
    assert_bad_proof(&cheater, EntryKind::AuditChunkProof);
}

#[test]
fn key_skipped_in_the_audit_is_rejected() {
    let mut cheater = Cheater::new();
    let store = honest_start(&mut cheater);
    let executed = run(&store, transfer(2, 3, 10));
    let built = cheater.build(&[executed]);
    cheater.log_batch(built.circuit);
    let mut snapshot = store.close_epoch();
    // Account 2 (just debited) disappears from the state.
    let gone = account_key(2);
    snapshot.final_state.retain(|t| t.key != gone);
    let audit = cheater.audit(&snapshot);
    assert!(audit.chunks.iter().all(|c| satisfied(c.clone())));
    assert!(!satisfied(audit.closing.clone()));
    cheater.log_audit(&audit);
    assert_bad_proof(&cheater, EntryKind::AuditClosingProof);
}

#[test]
fn forged_blinding_is_rejected() {
    let mut cheater = Cheater::new();
    let store = honest_start(&mut cheater);
    let executed = run(&store, transfer(3, 0, 10));
    let built = cheater.build(&[executed]);
    cheater.log_batch(built.circuit);
    let mut audit = cheater.audit(&store.close_epoch());
    assert!(satisfied(audit.closing.clone()));
    audit.closing.delta += JubjubScalar::one();
    assert!(!satisfied(audit.closing.clone()));
    cheater.log_audit(&audit);
    assert_bad_proof(&cheater, EntryKind::AuditClosingProof);
}

#[test]
fn audit_over_a_different_final_state_is_rejected() {
    let mut cheater = Cheater::new();
    let store = honest_start(&mut cheater);
    let executed = run(&store, transfer(0, 3, 10));
    let built = cheater.build(&[executed]);
    cheater.log_batch(built.circuit);
    let honest = store.close_epoch();
    // Another value for account 3 (the receiver) in the audited state.
    let mut other = honest.clone();
    let at = other
        .final_state
        .iter()
        .position(|t| t.key == account_key(3))
        .unwrap();
    other.final_state[at].value += Fr::from(1_000u64);
    let audit = cheater.audit(&other);
    assert!(!satisfied(audit.closing.clone()));
    cheater.log_audit(&audit);
    assert_bad_proof(&cheater, EntryKind::AuditClosingProof);
}

#[test]
fn closing_proof_of_another_history_is_rejected() {
    // Two honest histories from the same start; the cheater logs history A's batches and
    // history B's audit (every proof valid on its own).
    let mut a = Cheater::new();
    let store_a = honest_start(&mut a);
    let mut b = Cheater::new();
    let store_b = honest_start(&mut b);
    let batch_a = a.build(&[run(&store_a, transfer(0, 1, 10))]);
    a.log_batch(batch_a.circuit);
    let batch_b = b.build(&[run(&store_b, transfer(0, 1, 20))]);
    b.log_batch(batch_b.circuit);
    let audit_b = b.audit(&store_b.close_epoch());
    assert!(audit_b.balances());
    // B's chunks and closing are valid proofs, but of B's batch sums. (Both cheaters draw
    // the same seeded randomness, so epoch 0 and the read sets agree: the transfers read the
    // same tuples and differ in what they write.)
    a.log_audit(&audit_b);
    match a.verdict() {
        Err(Rejection::Audit { epoch: 1, source }) => {
            assert_eq!(source, EpochCheckError::WriteSumMismatch)
        }
        other => panic!("expected an audit mismatch, got {other:?}"),
    }
}

// ------------------------------------------------------------------------------------------
// Doctored logs: an honest log, edited.
// ------------------------------------------------------------------------------------------

/// An honest service's log of three epochs (in memory).
pub(super) fn honest_log() -> &'static Vec<LogEntry> {
    static LOG: OnceLock<Vec<LogEntry>> = OnceLock::new();
    LOG.get_or_init(|| {
        let dir = TempDir::new("soundness-honest");
        let mut service =
            Service::new(APP, CONFIG, keys().provers.clone(), dir.path()).expect("service");
        let mut workload = spice::host::apps::transfer::TransferWorkload::new(5, 42);
        for epoch in 0..3 {
            let mut streams = workload.streams(6, 4);
            if epoch == 0 {
                streams = workload.setup();
            }
            let report = service.execute(streams);
            service
                .prove_batches(&report.executed, |_| {})
                .expect("proves");
            service.close_epoch(|_, _| {}).expect("audits");
        }
        let entries: Vec<LogEntry> = read_entries(dir.path())
            .expect("log")
            .collect::<Result<_, _>>()
            .expect("entries");
        entries
    })
}

/// The entries renumbered 0, 1, … (so that only the edit itself is wrong).
fn renumbered(mut entries: Vec<LogEntry>) -> Vec<LogEntry> {
    for (i, entry) in entries.iter_mut().enumerate() {
        entry.sequence = i as u64;
    }
    entries
}

fn verdict(entries: &[LogEntry]) -> Result<VerifiedLog, Rejection> {
    keys().verifier.verify_entries(entries)
}

/// Position of the `n`-th entry of `kind` in epoch `epoch`.
fn find(entries: &[LogEntry], kind: EntryKind, epoch: u64, n: usize) -> usize {
    entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == kind && e.epoch == epoch)
        .nth(n)
        .map(|(i, _)| i)
        .expect("entry exists")
}

#[test]
fn honest_log_is_accepted() {
    let log = verdict(honest_log()).expect("accepted");
    assert_eq!(log.epochs.len(), 3);
    assert!(log.open_epoch.is_none());
    assert!(log.epochs.iter().all(|e| e.batches >= 1));
}

#[test]
fn batch_omitted_from_the_log_is_rejected() {
    let mut entries = honest_log().clone();
    entries.remove(find(&entries, EntryKind::BatchProof, 1, 0));
    match verdict(&renumbered(entries)) {
        Err(Rejection::Audit { epoch: 1, source }) => {
            assert_eq!(source, EpochCheckError::ReadSumMismatch)
        }
        other => panic!("expected the audit to fail, got {other:?}"),
    }
}

#[test]
fn batch_replayed_twice_is_rejected() {
    let mut entries = honest_log().clone();
    let at = find(&entries, EntryKind::BatchProof, 2, 0);
    let copy = entries[at].clone();
    entries.insert(at + 1, copy);
    assert!(matches!(
        verdict(&renumbered(entries)),
        Err(Rejection::DuplicateBatch { .. })
    ));
}

#[test]
fn altered_public_inputs_are_rejected() {
    // Field elements no decoding constrains: the batch's commitment root, a chunk's
    // boundary commitment.
    for kind in [EntryKind::BatchProof, EntryKind::AuditChunkProof] {
        let mut entries = honest_log().clone();
        let at = find(&entries, kind, 1, 0);
        entries[at].public_inputs[2] += Fr::one();
        assert!(
            matches!(verdict(&entries), Err(Rejection::BadProof { kind: bad, .. }) if bad == kind),
            "{kind}"
        );
    }
    // The closing proof's new final digest replaced by another subgroup point.
    let mut entries = honest_log().clone();
    let closing = find(&entries, EntryKind::AuditClosingProof, 1, 0);
    let some_batch = find(&entries, EntryKind::BatchProof, 1, 0);
    let (x, y) = (
        entries[some_batch].public_inputs[3],
        entries[some_batch].public_inputs[4],
    );
    entries[closing].public_inputs[9] = x;
    entries[closing].public_inputs[10] = y;
    assert!(matches!(
        verdict(&entries),
        Err(Rejection::BadProof {
            kind: EntryKind::AuditClosingProof,
            ..
        })
    ));
    // The epoch in the public inputs changed: caught before the proof.
    let mut entries = honest_log().clone();
    entries[closing].public_inputs[0] += Fr::one();
    assert!(matches!(
        verdict(&entries),
        Err(Rejection::EpochField { .. })
    ));
    // A digest replaced by another point of the subgroup (so it decodes): the proof fails.
    let mut entries = honest_log().clone();
    let batch = find(&entries, EntryKind::BatchProof, 0, 0);
    let other = find(&entries, EntryKind::BatchProof, 0, 1);
    let (x, y) = (
        entries[other].public_inputs[5],
        entries[other].public_inputs[6],
    );
    entries[batch].public_inputs[5] = x;
    entries[batch].public_inputs[6] = y;
    assert!(matches!(
        verdict(&entries),
        Err(Rejection::BadProof {
            kind: EntryKind::BatchProof,
            ..
        })
    ));
    // A public input dropped: the key's count is checked, not assumed.
    let mut entries = honest_log().clone();
    entries[batch].public_inputs.pop();
    assert!(matches!(
        verdict(&entries),
        Err(Rejection::Inputs {
            kind: EntryKind::BatchProof,
            ..
        })
    ));
}

#[test]
fn tampered_proof_is_rejected() {
    let mut entries = honest_log().clone();
    let at = find(&entries, EntryKind::BatchProof, 1, 0);
    let Payload::Proof(proof) = &mut entries[at].payload else {
        panic!("a batch entry carries a proof")
    };
    proof.a = (-proof.a).into();
    assert!(matches!(
        verdict(&entries),
        Err(Rejection::BadProof {
            kind: EntryKind::BatchProof,
            ..
        })
    ));
    // Another batch's (valid) proof under this batch's inputs.
    let mut entries = honest_log().clone();
    let other = find(&entries, EntryKind::BatchProof, 1, 1);
    entries[at].payload = entries[other].payload.clone();
    assert!(matches!(verdict(&entries), Err(Rejection::BadProof { .. })));
}

#[test]
fn proof_bytes_flipped_on_disk_are_rejected() {
    let dir = TempDir::new("soundness-flip");
    let mut service =
        Service::new(APP, CONFIG, keys().provers.clone(), dir.path()).expect("service");
    let report = service.execute(vec![vec![deposit(0, 1)]]);
    service.prove_batches(&report.executed, |_| {}).unwrap();
    service.close_epoch(|_, _| {}).unwrap();
    let segment = spice::host::proof_log::segment_path(dir.path(), 0);
    let mut bytes = std::fs::read(&segment).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 0x40;
    std::fs::write(&segment, bytes).unwrap();
    assert!(matches!(
        keys().verifier.verify_dir(dir.path(), |_| {}),
        Err(Rejection::Log(_))
    ));
}

#[test]
fn entries_from_another_epoch_or_out_of_order_are_rejected() {
    // An entry moved to another epoch by its epoch field.
    let mut entries = honest_log().clone();
    let at = find(&entries, EntryKind::BatchProof, 1, 0);
    entries[at].epoch = 2;
    assert!(matches!(
        verdict(&entries),
        Err(Rejection::EpochOrder { .. })
    ));
    // Epoch 2's first batch moved into epoch 1 (before epoch 1's audit).
    let mut entries = honest_log().clone();
    let from = find(&entries, EntryKind::BatchProof, 2, 0);
    let to = find(&entries, EntryKind::AuditChunkProof, 1, 0);
    let moved = entries.remove(from);
    entries.insert(to, moved);
    assert!(matches!(
        verdict(&renumbered(entries)),
        Err(Rejection::EpochOrder { .. })
    ));
    // Two entries swapped without renumbering: the sequence numbers give it away.
    let mut entries = honest_log().clone();
    entries.swap(0, 1);
    assert!(matches!(verdict(&entries), Err(Rejection::Sequence { .. })));
    // A batch after the epoch's audit began.
    let mut entries = honest_log().clone();
    let batch = find(&entries, EntryKind::BatchProof, 1, 0);
    let chunk = find(&entries, EntryKind::AuditChunkProof, 1, 0);
    let moved = entries.remove(batch);
    entries.insert(chunk, moved);
    assert!(matches!(
        verdict(&renumbered(entries)),
        Err(Rejection::Order { .. })
    ));
    // An epoch end without its audit.
    let mut entries = honest_log().clone();
    let closing = find(&entries, EntryKind::AuditClosingProof, 0, 0);
    entries.remove(closing);
    assert!(matches!(
        verdict(&renumbered(entries)),
        Err(Rejection::Order { .. })
    ));
}
