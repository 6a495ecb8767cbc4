//! A verifiable service: one [`App`] over the concurrent [`Store`], with its requests executed
//! by worker threads, proved in fixed-size batches, audited at the end of every epoch, and
//! every proof appended to the log that [`super::log_verifier`] replays.
//!
//! ```text
//!            execute (W workers)          prove_batches               close_epoch
//! streams ─▶ Store::transact ─▶ Executed ─▶ BatchCircuit ─▶ log ─ … ─▶ EpochAudit ─▶ log
//!                                          (+ receipts)                (chunks, closing, end)
//! ```
//!
//! # Nothing proved is lost, nothing executed goes unproved
//!
//! Every request the store executed in an epoch must be in one of the epoch's batch proofs,
//! or the epoch's audit cannot balance. The service counts executed requests that are not
//! proved yet and refuses to close an epoch while any are outstanding
//! ([`ServiceError::Unproven`]); before it proves an audit it checks, natively, that the
//! epoch balances ([`ServiceError::Unbalanced`]) — which fails if the state was changed by
//! anything but proved requests. Log appends are durable when they return
//! ([`super::proof_log`]), so a proof the service reported is in the log.
//!
//! # Batches are pipelined
//!
//! A batch proof starts with CPU work that no backend does: building the witness (hashing
//! every tuple, the commitment tree) and synthesizing the circuit's assignment, which is
//! single-threaded. [`Service::prove_batches`] does that for the next batches on other
//! threads while the backend proves the current ones, so a GPU is not left idle between
//! proofs. Where the backend gains from several proofs at once ([`Backend::proof_lanes`]: a
//! GPU's lanes), that many batches (and audit chunks) are proved concurrently
//! ([`ServiceConfig::proofs_in_flight`]) and still logged strictly in order
//! ([`super::ordered_proving`]); each proof's randomness is drawn in order before it starts,
//! so the log does not depend on how many were in flight.
//!
//! # Surviving a restart
//!
//! The store and the service's secrets (the blindings behind every published digest, which
//! the next audit needs) live in memory. A service made with [`Service::new`] that stops
//! mid-epoch cannot resume that epoch: its log stays valid up to the last audited epoch, and
//! the verifier reports the open one as pending. A service made with [`Service::create`]
//! also keeps a [journal](super::service_journal) in a directory of its own: a checkpoint
//! at every epoch boundary, before each proof is logged what that proof needs later, and
//! within a long epoch a progress record now and then that replaces the batch records so far
//! ([`Service::set_journal_progress_every`]). After a crash at any point, [`Service::resume`]
//! rebuilds exactly the state the log vouches for (the last checkpoint, the epoch's progress
//! record, then the requests of the logged batches after it replayed in `t_req` order),
//! finishes an audit that was interrupted part-way, and continues the same log.
//! Requests that were executed but not logged are not in the rebuilt state: they got no
//! receipt, and their clients submit them again. A batch that reached the log just before the
//! crash may not have handed out its receipts: the resume returns them
//! ([`ResumeReport::receipts`]), so that its clients do not submit those requests twice.

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ark_bls12_381::Fr;
use ark_ed_on_bls12_381::Fr as JubjubScalar;
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use rayon::prelude::*;

use crate::engine::{Backend, StageTimes};

use super::{
    audit::{
        AuditBuildError, AuditedFinal, ChunkCircuit, ClosingCircuit, EpochAudit, EpochBatches,
    },
    batch::{build_batch, BatchCircuit, BatchError, BatchPublicInputs},
    circuit_prover::{Assignment, CircuitProver, CircuitProverError},
    log_writer::{LogWriter, ServiceVerifyingKeys},
    ordered_proving::prove_in_order,
    proof_log::{read_verifying_key, EntryKind, LogEntry, LogError, TornTail},
    request_commitment::Receipt,
    service_journal::{
        AuditRecord, BatchRecord, Checkpoint, EpochProgress, JournalError, ServiceJournal,
    },
    set_digest::Tuple,
    storage_gadget::{execute, App, AppError, Executed},
    store::{key_order, ReplayError, Store, StoreError, TxRecord, FIRST_TIMESTAMP},
    workload::Stream,
};

/// The shape of a service: how many requests a batch proof holds, how many keys an audit
/// chunk proof holds, how many worker threads execute requests, how many proofs are in
/// flight at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceConfig {
    /// Request slots per batch proof.
    pub batch_capacity: usize,
    /// Keys per audit chunk proof.
    pub keys_per_chunk: usize,
    /// Worker threads that execute requests.
    pub workers: usize,
    /// Batch (and audit chunk) proofs made concurrently, each on its own thread; `None`: as
    /// many as the backend runs to advantage ([`Backend::proof_lanes`]: 1 on the CPU, the
    /// lane count on a GPU). Proofs are still logged in order, and the log's contents do not
    /// depend on this.
    pub proofs_in_flight: Option<usize>,
}

/// Most proofs a service keeps in flight at once.
pub const MAX_PROOFS_IN_FLIGHT: usize = 16;

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            batch_capacity: 16,
            keys_per_chunk: 64,
            workers: 8,
            proofs_in_flight: None,
        }
    }
}

impl ServiceConfig {
    /// Checks every count is at least 1, and proofs in flight at most
    /// [`MAX_PROOFS_IN_FLIGHT`].
    pub fn validate(&self) -> Result<(), ServiceError> {
        for (name, value) in [
            ("batch capacity", self.batch_capacity),
            ("keys per chunk", self.keys_per_chunk),
            ("workers", self.workers),
            ("proofs in flight", self.proofs_in_flight.unwrap_or(1)),
        ] {
            if value == 0 {
                return Err(ServiceError::Config(format!("{name} must be at least 1")));
            }
        }
        if let Some(n) = self.proofs_in_flight.filter(|&n| n > MAX_PROOFS_IN_FLIGHT) {
            return Err(ServiceError::Config(format!(
                "{n} proofs in flight asked for: at most {MAX_PROOFS_IN_FLIGHT}"
            )));
        }
        Ok(())
    }
}

/// Everything a service can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A configuration value is out of range.
    #[error("bad service configuration: {0}")]
    Config(String),
    /// Setting up or running a prover failed.
    #[error(transparent)]
    Prover(#[from] CircuitProverError),
    /// A batch could not be built from the executed requests.
    #[error("batch {batch_id}: {source}")]
    Batch {
        /// The batch's id.
        batch_id: u64,
        /// Why.
        #[source]
        source: BatchError,
    },
    /// The epoch's audit could not be built.
    #[error("audit of epoch {epoch}: {source}")]
    Audit {
        /// The epoch.
        epoch: u64,
        /// Why.
        #[source]
        source: AuditBuildError,
    },
    /// The proof log could not be written.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The journal could not be written, or does not agree with the log on resume.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// On resume, the journal's records do not rebuild a state (see [`Store::replay`]).
    #[error("cannot rebuild the state of epoch {epoch} from the journal: {source}")]
    Replay {
        /// The epoch being rebuilt.
        epoch: u64,
        /// Why.
        #[source]
        source: ReplayError,
    },
    /// Requests executed in the epoch are not all proved yet.
    #[error("epoch {epoch} cannot close: {count} executed requests are not in a batch proof yet")]
    Unproven {
        /// The epoch.
        epoch: u64,
        /// Executed requests without a batch proof.
        count: usize,
    },
    /// The previous epoch's audit is not completely in the log yet: call
    /// [`Service::close_epoch`] again before proving batches of the next epoch.
    #[error("the audit of epoch {epoch} is not complete in the log; close the epoch again first")]
    AuditPending {
        /// The epoch whose audit is pending.
        epoch: u64,
    },
    /// The batch pipeline of [`Service::prove_batches`] lost its order or its builder (a bug:
    /// nothing a caller passes causes it).
    #[error("batch pipeline: {0}")]
    Pipeline(String),
    /// The epoch's digests do not balance: the state was changed by something other than
    /// the proved requests (or a proved record did not come from this store).
    #[error("epoch {epoch} does not balance: the state is not what the proved requests produced")]
    Unbalanced {
        /// The epoch.
        epoch: u64,
    },
}

/// The three provers of a service.
#[derive(Debug)]
pub struct ServiceProvers {
    /// The batch circuit of the app at the configured capacity.
    pub batch: CircuitProver,
    /// The audit chunk circuit at the configured keys per chunk.
    pub chunk: CircuitProver,
    /// The audit closing circuit.
    pub closing: CircuitProver,
}

impl ServiceProvers {
    /// Sets up (or loads from `cache_dir`) the three provers of `app` under `config` on
    /// `backend`. `name` prefixes the batch key's cache file (e.g. the app's name).
    pub fn setup<A: App>(
        name: &str,
        app: &A,
        config: &ServiceConfig,
        backend: Arc<dyn Backend>,
        cache_dir: Option<&Path>,
    ) -> Result<Self, ServiceError> {
        config.validate()?;
        let mut rng = StdRng::from_entropy();
        let blank_batch =
            BatchCircuit::blank(app.clone(), config.batch_capacity).map_err(|source| {
                ServiceError::Batch {
                    batch_id: 0,
                    source,
                }
            })?;
        let blank_chunk = ChunkCircuit::blank(config.keys_per_chunk)
            .map_err(|source| ServiceError::Audit { epoch: 0, source })?;
        Ok(Self {
            batch: CircuitProver::setup(
                &format!("{name}-batch-{}", config.batch_capacity),
                blank_batch,
                backend.clone(),
                cache_dir,
                &mut rng,
            )?,
            chunk: CircuitProver::setup(
                &format!("audit-chunk-{}", config.keys_per_chunk),
                blank_chunk,
                backend.clone(),
                cache_dir,
                &mut rng,
            )?,
            closing: CircuitProver::setup(
                "audit-closing",
                ClosingCircuit::blank(),
                backend,
                cache_dir,
                &mut rng,
            )?,
        })
    }

    /// The verifying keys, as the log stores them.
    pub fn verifying_keys(&self) -> ServiceVerifyingKeys {
        ServiceVerifyingKeys {
            batch: self.batch.vk().clone(),
            chunk: self.chunk.vk().clone(),
            closing: self.closing.vk().clone(),
        }
    }
}

/// A request the store refused to execute (not the app's rejection, which is executed and
/// proved): too many keys, a repeated key, an exhausted clock, an app breaking its contract.
#[derive(Debug)]
pub struct Refused<A: App> {
    /// The request.
    pub request: A::Request,
    /// Why.
    pub error: StoreError<AppError>,
}

/// What one call to [`Service::execute`] did.
#[derive(Debug)]
pub struct ExecutionReport<A: App> {
    /// Executed requests (accepted or rejected by the app), in `t_req` order.
    pub executed: Vec<Executed<A>>,
    /// Requests the store refused; nothing of them is in the state.
    pub refused: Vec<Refused<A>>,
    /// Wall-clock time of the execution.
    pub elapsed: Duration,
}

/// What a client keeps to check that its request and response are in a verified batch:
/// the batch, its slot's opening, and what was committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientReceipt {
    /// The batch's epoch.
    pub epoch: u64,
    /// The batch's id.
    pub batch_id: u64,
    /// The opening of the request's slot in the batch's commitment tree.
    pub receipt: Receipt,
    /// The request, encoded as committed.
    pub request: Vec<Fr>,
    /// The response, encoded as committed.
    pub response: Vec<Fr>,
}

/// The timing of one batch proof.
#[derive(Clone, Debug)]
pub struct BatchReport {
    /// The batch's id.
    pub batch_id: u64,
    /// Requests in the batch (the rest of its slots are padding).
    pub requests: usize,
    /// Building the witness (hashing every tuple, the commitment tree).
    pub witness: Duration,
    /// The prover's stages.
    pub stages: StageTimes,
    /// Appending to the log (with a journal, after writing the batch's record there).
    pub log: Duration,
    /// The receipts of the batch's requests, in order: handed out as soon as the batch is in
    /// the log, so a later batch's failure loses none of them.
    pub receipts: Vec<ClientReceipt>,
}

/// What one epoch's audit did.
#[derive(Clone, Debug)]
pub struct AuditReport {
    /// The audited epoch.
    pub epoch: u64,
    /// Keys in the final state.
    pub keys: usize,
    /// Keys first written in this epoch.
    pub new_keys: usize,
    /// Chunk proofs.
    pub chunks: usize,
    /// Building the audit's witnesses.
    pub witness: Duration,
    /// Proving every chunk and the closing proof.
    pub proving: Duration,
}

/// Most batches [`Service::prove_batches`] prepares ahead of the ones being proved.
pub const MAX_BATCHES_AHEAD: usize = 8;

/// A batch whose witness is built and whose assignment is synthesized, waiting for its proof.
struct PreparedBatch {
    batch_id: u64,
    public: BatchPublicInputs,
    blindings: (JubjubScalar, JubjubScalar),
    receipts: Vec<Receipt>,
    assignment: Assignment,
    /// Building the witness (before synthesis).
    witness: Duration,
    /// The batch's own randomness, continued for its proof's r and s.
    rng: StdRng,
}

/// Builds batch `batch_id`'s witness from `executed` and synthesizes its assignment: all of a
/// batch proof's CPU work that comes before the backend.
fn prepare_batch<A: App>(
    app: &A,
    prover: &CircuitProver,
    epoch: u64,
    batch_id: u64,
    capacity: usize,
    executed: &[Executed<A>],
    mut rng: StdRng,
) -> Result<PreparedBatch, ServiceError> {
    let started = Instant::now();
    let built = build_batch(app, epoch, batch_id, capacity, executed, &mut rng)
        .map_err(|source| ServiceError::Batch { batch_id, source })?;
    let witness = started.elapsed();
    let public = *built.public_inputs();
    let blindings = built.blindings();
    let assignment = prover.synthesize(built.circuit)?;
    Ok(PreparedBatch {
        batch_id,
        public,
        blindings,
        receipts: built.receipts,
        assignment,
        witness,
        rng,
    })
}

/// A prepared batch with its proof, waiting for its turn in the log.
struct ProvedBatch {
    batch_id: u64,
    public: BatchPublicInputs,
    blindings: (JubjubScalar, JubjubScalar),
    receipts: Vec<Receipt>,
    witness: Duration,
    proof: ark_groth16::Proof<ark_bls12_381::Bls12_381>,
    stages: StageTimes,
}

/// Proves a prepared batch: the backend's part, on any thread.
fn prove_prepared(
    prover: &CircuitProver,
    mut prepared: PreparedBatch,
) -> Result<ProvedBatch, ServiceError> {
    let (proof, stages) = prover.prove_assignment(&prepared.assignment, &mut prepared.rng)?;
    Ok(ProvedBatch {
        batch_id: prepared.batch_id,
        public: prepared.public,
        blindings: prepared.blindings,
        receipts: prepared.receipts,
        witness: prepared.witness,
        proof,
        stages,
    })
}

/// How many batches a journal holds records of, by default, before a progress record
/// replaces them ([`Service::set_journal_progress_every`]).
pub const DEFAULT_PROGRESS_EVERY: u64 = 256;

/// A verifiable service (see the module docs).
pub struct Service<A: App> {
    app: A,
    config: ServiceConfig,
    provers: Arc<ServiceProvers>,
    store: Store,
    log: LogWriter,
    rng: StdRng,
    next_batch_id: u64,
    batches: EpochBatches,
    previous_final: AuditedFinal,
    /// Requests executed in the current epoch and not yet in a batch proof.
    unproven: AtomicUsize,
    /// The previous epoch's audit, if its proofs are not all in the log yet.
    pending: Option<PendingAudit>,
    /// Where a service made by [`Service::create`] keeps what a restart needs.
    journal: Option<ServiceJournal>,
    /// How many batches the journal may hold records of before a progress record replaces
    /// them ([`Service::set_journal_progress_every`]).
    progress_every: Option<NonZeroU64>,
    /// The first batch the journal's checkpoint or progress record does not cover.
    covered_batch_id: u64,
    /// With a journal: what the epoch's logged batches wrote (each key's last tuple) and the
    /// clock after them — the state a progress record holds, which the store (ahead of the
    /// log by whatever is executed and not yet logged) cannot give.
    logged: LoggedWrites,
    /// Where durable writes (journal records, log appends) start to fail, for tests that
    /// crash the service at each point ([`Service::fail_at_write`]).
    crash: Option<CrashPoint>,
}

impl<A: App> std::fmt::Debug for Service<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("app", &self.app)
            .field("config", &self.config)
            .field("epoch", &self.store.epoch())
            .field("log", &self.log.dir())
            .finish()
    }
}

impl<A: App> Service<A> {
    /// A service with an empty store in epoch 0, writing a new log in `log_dir` (which must
    /// not hold one already). `provers` must have been set up for `app` and `config` (they
    /// are shared: several services of one shape can use one set). It keeps its state in
    /// memory only: see [`Service::create`] for one that survives a restart.
    pub fn new(
        app: A,
        config: ServiceConfig,
        provers: Arc<ServiceProvers>,
        log_dir: &Path,
    ) -> Result<Self, ServiceError> {
        config.validate()?;
        let log = LogWriter::create(log_dir, &provers.verifying_keys())?;
        let store = Store::with_max_keys_per_request(A::KEYS.max(1));
        Ok(Self::assemble(
            app,
            config,
            provers,
            log,
            store,
            &Checkpoint::genesis(FIRST_TIMESTAMP),
            None,
        ))
    }

    /// Like [`Service::new`], and keeps a journal in `journal_dir` (a new directory, or one
    /// without a journal; keep it apart from the log, which is public, while the journal holds
    /// secrets): after a crash, [`Service::resume`] continues from the log and the journal.
    pub fn create(
        app: A,
        config: ServiceConfig,
        provers: Arc<ServiceProvers>,
        log_dir: &Path,
        journal_dir: &Path,
    ) -> Result<Self, ServiceError> {
        config.validate()?;
        let start = Checkpoint::genesis(FIRST_TIMESTAMP);
        if same_dir(log_dir, journal_dir) {
            return Err(ServiceError::Config(
                "the journal holds secrets: keep it out of the (public) log's directory".into(),
            ));
        }
        // Both directories are checked before either is written: a refusal leaves neither.
        if ServiceJournal::exists(journal_dir) {
            return Err(JournalError::AlreadyExists {
                dir: journal_dir.to_path_buf(),
            }
            .into());
        }
        let log = LogWriter::create(log_dir, &provers.verifying_keys())?;
        let journal = ServiceJournal::create(journal_dir, &start)?;
        let store = Store::with_max_keys_per_request(A::KEYS.max(1));
        Ok(Self::assemble(
            app,
            config,
            provers,
            log,
            store,
            &start,
            Some(journal),
        ))
    }

    /// Reopens a service made by [`Service::create`] after it stopped, at any point: from the
    /// journal's last checkpoint and the epoch's progress record, if one was written (checked
    /// against the log's batches it covers), replays the requests of the batches in the log
    /// since then, rebuilds an audit the log holds part of, and continues the log. `app`, `config` and
    /// `provers` must be the ones the service ran with (the log's verifying keys are checked
    /// against the provers', every logged batch and audit proof against the journal).
    ///
    /// A torn tail of the log (an append the crash interrupted, never acknowledged) is cut
    /// off, and journal records of batches that never reached the log are removed; the report
    /// says what was. If an audit was interrupted, [`Service::audit_pending`] names its epoch
    /// and [`Service::close_epoch`] finishes it.
    pub fn resume(
        app: A,
        config: ServiceConfig,
        provers: Arc<ServiceProvers>,
        log_dir: &Path,
        journal_dir: &Path,
    ) -> Result<(Self, ResumeReport), ServiceError> {
        config.validate()?;
        let (journal, checkpoint) = ServiceJournal::open(journal_dir)?;
        let keys = provers.verifying_keys();
        for (kind, vk) in [
            (EntryKind::BatchProof, &keys.batch),
            (EntryKind::AuditChunkProof, &keys.chunk),
            (EntryKind::AuditClosingProof, &keys.closing),
        ] {
            if read_verifying_key(log_dir, kind)? != *vk {
                return Err(journal.inconsistent(format!("the log's {kind} verifying key is not the provers' (another app or configuration?)")).into());
            }
        }
        // The keys are checked first: a log of another service is not repaired.
        let (log, entries, torn_tail) = LogWriter::open_repairing(log_dir)?;
        let epoch = checkpoint.epoch;
        let open = EpochEntries::of(&journal, &entries, epoch)?;

        // The batches the journal's progress record covers: in the log, one after another
        // from the checkpoint's first, summing to what the record says.
        let progress = journal.progress(epoch)?;
        let covered_to = progress
            .as_ref()
            .map_or(checkpoint.next_batch_id, |p| p.next_batch_id);
        let covered = covered_to
            .checked_sub(checkpoint.next_batch_id)
            .filter(|&covered| covered <= open.batches.len() as u64)
            .ok_or_else(|| {
                journal.inconsistent(format!(
                    "the progress record of epoch {epoch} covers the batches before {covered_to}; the epoch's batches in the log are {} to {}",
                    checkpoint.next_batch_id,
                    checkpoint.next_batch_id + open.batches.len() as u64
                ))
            })? as usize;
        if let Some(progress) = &progress {
            let mut sums = EpochBatches::empty();
            for (k, entry) in open.batches[..covered].iter().enumerate() {
                let batch_id = checkpoint.next_batch_id + k as u64;
                let public = BatchPublicInputs::from_field_elements(&entry.public_inputs)
                    .ok()
                    .filter(|public| public.batch_id == batch_id)
                    .ok_or_else(|| {
                        journal.inconsistent(format!(
                            "the log's entry for batch {batch_id} is not that batch's"
                        ))
                    })?;
                // The blindings are the record's to vouch for: the audit checks them.
                sums.add_batch(
                    public.read_set,
                    public.write_set,
                    JubjubScalar::default(),
                    JubjubScalar::default(),
                );
            }
            if (sums.read_sum, sums.write_sum)
                != (progress.batches.read_sum, progress.batches.write_sum)
            {
                return Err(journal
                    .inconsistent(format!(
                        "the progress record of epoch {epoch} does not sum the log's batches before {covered_to}"
                    ))
                    .into());
            }
        }

        // The batches in the log after those, each explained by its journal record. Records
        // of covered batches are a crash's leftovers from writing the progress record.
        let mut records = journal.batches(epoch)?;
        let before = records.len();
        records.retain(|record| record.public.batch_id >= covered_to);
        if records.len() < before {
            journal.remove_covered(epoch, covered_to)?;
        }
        let uncovered = &open.batches[covered..];
        let unlogged = records.split_off(uncovered.len().min(records.len()));
        for (k, entry) in uncovered.iter().enumerate() {
            let batch_id = covered_to + k as u64;
            match records.get(k) {
                Some(record) if record.public.batch_id == batch_id => {
                    if record.public.to_field_elements() != entry.public_inputs {
                        return Err(journal
                            .inconsistent(format!(
                                "batch {batch_id}'s public inputs in the journal are not the log's"
                            ))
                            .into());
                    }
                }
                _ => {
                    return Err(journal
                        .inconsistent(format!(
                            "batch {batch_id} is in the log, its record is not in the journal"
                        ))
                        .into())
                }
            }
        }
        for record in &unlogged {
            journal.remove_batch(epoch, record.public.batch_id)?;
        }

        let replay = |source| ServiceError::Replay { epoch, source };
        let store = Store::restored(
            A::KEYS.max(1),
            epoch,
            checkpoint.next_timestamp,
            &checkpoint.state,
        )
        .map_err(replay)?;
        if let Some(progress) = &progress {
            store
                .restore_progress(&progress.written, progress.next_timestamp)
                .map_err(replay)?;
        }
        let mut txs: Vec<&TxRecord> = records.iter().flat_map(|record| &record.records).collect();
        txs.sort_by_key(|tx| tx.t_req);
        for tx in &txs {
            store.replay(tx).map_err(replay)?;
        }
        let mut service = Self::assemble(app, config, provers, log, store, &checkpoint, None);
        if let Some(progress) = &progress {
            service.batches = progress.batches;
        }
        service.covered_batch_id = covered_to;
        if let Some(progress) = &progress {
            service
                .logged
                .restore(&progress.written, progress.next_timestamp);
        }
        service.logged.add(txs.iter().copied());
        for record in &records {
            service.batches.add_batch(
                record.public.read_set,
                record.public.write_set,
                record.read_blinding,
                record.write_blinding,
            );
        }
        service.next_batch_id = covered_to + records.len() as u64;

        match journal.audit(epoch)? {
            Some(record) => service.pending = Some(service.rebuild_audit(&journal, record, &open)?),
            None if open.audit.is_empty() && !open.ended => {}
            None => {
                return Err(journal
                    .inconsistent(format!(
                        "the log holds audit entries of epoch {epoch}, the journal no audit record"
                    ))
                    .into())
            }
        }
        service.journal = Some(journal);
        let report = ResumeReport {
            epoch,
            progress_batches: covered,
            batches: records.len(),
            requests: txs.len(),
            receipts: progress
                .iter()
                .flat_map(|progress| progress.receipts.iter().cloned())
                .chain(
                    records
                        .iter()
                        .flat_map(|record| record.receipts.iter().cloned()),
                )
                .collect(),
            dropped_batches: unlogged.len(),
            torn_tail,
            audit_pending: service.audit_pending(),
        };
        tracing::info!(
            "resumed the service in epoch {epoch}: {} logged batches from the progress record, {} replayed ({} requests), {} unlogged dropped, torn tail {:?}, audit pending {:?}",
            report.progress_batches,
            report.batches,
            report.requests,
            report.dropped_batches,
            report.torn_tail,
            report.audit_pending
        );
        Ok((service, report))
    }

    /// The service around its parts, in the epoch `start` begins, nothing pending.
    fn assemble(
        app: A,
        config: ServiceConfig,
        provers: Arc<ServiceProvers>,
        log: LogWriter,
        store: Store,
        start: &Checkpoint,
        journal: Option<ServiceJournal>,
    ) -> Self {
        Self {
            store,
            app,
            config,
            provers,
            log,
            rng: StdRng::from_entropy(),
            next_batch_id: start.next_batch_id,
            batches: EpochBatches::empty(),
            previous_final: start.previous_final,
            unproven: AtomicUsize::new(0),
            pending: None,
            journal,
            progress_every: NonZeroU64::new(DEFAULT_PROGRESS_EVERY),
            covered_batch_id: start.next_batch_id,
            logged: LoggedWrites::starting(start.next_timestamp),
            crash: None,
        }
    }

    /// Rebuilds the audit of the current epoch that `record` started, checks the proofs of it
    /// the log holds are its own, and moves the store to the next epoch, as starting it did.
    fn rebuild_audit(
        &mut self,
        journal: &ServiceJournal,
        record: AuditRecord,
        open: &EpochEntries<'_>,
    ) -> Result<PendingAudit, ServiceError> {
        let epoch = record.epoch;
        let pending = self.build_audit(&mut StdRng::from_seed(record.seed))?;
        let expected: Vec<(EntryKind, Vec<Fr>)> = pending
            .audit
            .chunks
            .iter()
            .map(|chunk| (EntryKind::AuditChunkProof, chunk.public.to_field_elements()))
            .chain(std::iter::once((
                EntryKind::AuditClosingProof,
                pending.audit.closing.public.to_field_elements(),
            )))
            .collect();
        if open.audit.len() > expected.len() || (open.ended && open.audit.len() < expected.len()) {
            return Err(journal
                .inconsistent(format!(
                    "the log holds {} audit proofs of epoch {epoch}, its audit has {}",
                    open.audit.len(),
                    expected.len()
                ))
                .into());
        }
        for (k, (entry, (kind, inputs))) in open.audit.iter().zip(&expected).enumerate() {
            if entry.kind != *kind || entry.public_inputs != *inputs {
                return Err(journal
                    .inconsistent(format!(
                        "audit proof {k} of epoch {epoch} in the log is not the rebuilt audit's"
                    ))
                    .into());
            }
        }
        self.store.close_epoch();
        Ok(PendingAudit {
            logged: open.audit.len(),
            ended: open.ended,
            ..pending
        })
    }

    /// The epoch whose audit is started but not all in the log (after a failed or interrupted
    /// [`Service::close_epoch`]): batches cannot be proved until `close_epoch` finishes it.
    pub fn audit_pending(&self) -> Option<u64> {
        self.pending.as_ref().map(|pending| pending.audit.epoch)
    }

    /// The journal's directory, for a service made by [`Service::create`] or
    /// [`Service::resume`].
    pub fn journal_dir(&self) -> Option<&Path> {
        self.journal.as_ref().map(ServiceJournal::dir)
    }

    /// Once the journal holds the records of `every` batches of the epoch (default
    /// [`DEFAULT_PROGRESS_EVERY`]), the service writes a progress record in their place as
    /// soon as the last of them has handed out its receipts: what the epoch's logged batches
    /// wrote so far and the epoch's sums ([`EpochProgress`]). A resume then starts from it
    /// instead of replaying every batch of the epoch, and the journal stays at about `every`
    /// files.
    /// `None`: records pile up until the epoch's checkpoint. Not kept across a restart: set it
    /// again on the resumed service.
    pub fn set_journal_progress_every(&mut self, every: Option<NonZeroU64>) {
        self.progress_every = every;
    }

    /// Makes durable write number `index` (journal records and log appends, counted from 0)
    /// and every one after it fail, as if the process had died there; with `performed`, write
    /// `index` itself is made before its failure is reported (the process died just after
    /// it). For tests that crash the service at each point and resume it.
    #[doc(hidden)]
    pub fn fail_at_write(&mut self, index: u64, performed: bool) {
        self.crash = Some(CrashPoint {
            writes_left: index,
            perform_next: performed,
            log_dir: self.log.dir().to_path_buf(),
            journal_dir: self.journal_dir().map(Path::to_path_buf),
        });
    }

    /// Draws the service's randomness (salts, blindings, every proof's r and s) from `seed`
    /// instead of the operating system's entropy, so that a run can be reproduced exactly.
    /// For tests only: whoever knows the seed can open every blinded digest in the log.
    #[doc(hidden)]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.rng = StdRng::seed_from_u64(seed);
        self
    }

    /// The application.
    pub fn app(&self) -> &A {
        &self.app
    }

    /// The configuration.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// The provers (for their constraint counts and keys).
    pub fn provers(&self) -> &ServiceProvers {
        &self.provers
    }

    /// The store. It is *untrusted*: anything written here other than through
    /// [`Service::execute`] makes the epoch's audit fail.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.store.epoch()
    }

    /// The log's directory.
    pub fn log_dir(&self) -> &Path {
        self.log.dir()
    }

    /// Executes `streams` with the configured number of workers: each worker takes a whole
    /// stream and runs its requests in order; streams run concurrently. Requests the app
    /// rejects are executed (and will be proved) like the others.
    pub fn execute(&self, streams: Vec<Stream<A>>) -> ExecutionReport<A> {
        let started = Instant::now();
        let queue = Mutex::new(VecDeque::from(streams));
        let workers = self.config.workers.min(queue_len(&queue)).max(1);
        let results: Vec<(Vec<Executed<A>>, Vec<Refused<A>>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| scope.spawn(|| self.work(&queue)))
                .collect();
            handles
                .into_iter()
                .map(|handle| {
                    handle
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        let mut executed = Vec::new();
        let mut refused = Vec::new();
        for (done, failed) in results {
            executed.extend(done);
            refused.extend(failed);
        }
        executed.sort_by_key(|ex| ex.record.t_req);
        ExecutionReport {
            executed,
            refused,
            elapsed: started.elapsed(),
        }
    }

    /// One worker: takes streams off `queue` until it is empty.
    fn work(&self, queue: &Mutex<VecDeque<Stream<A>>>) -> (Vec<Executed<A>>, Vec<Refused<A>>) {
        let mut executed = Vec::new();
        let mut refused = Vec::new();
        loop {
            // The queue's lock is held only to pop: a panicking worker cannot poison it
            // while holding a request.
            let stream = match queue.lock() {
                Ok(mut queue) => queue.pop_front(),
                Err(poisoned) => poisoned.into_inner().pop_front(),
            };
            let Some(stream) = stream else { break };
            for request in stream {
                match execute(&self.store, &self.app, request.clone()) {
                    Ok(done) => {
                        self.unproven.fetch_add(1, Ordering::SeqCst);
                        executed.push(done);
                    }
                    Err(error) => refused.push(Refused { request, error }),
                }
            }
        }
        (executed, refused)
    }

    /// Proves `executed` (requests this service executed in the current epoch) in batches
    /// of the configured capacity, in the order given, appending each proof to the log;
    /// `on_batch` is told about each batch (and given its receipts) once it is in the log:
    /// that is where the receipts are handed out (the journal keeps a batch's until
    /// `on_batch` has returned, not until this call does). Returns one receipt per request,
    /// in the order given.
    ///
    /// Batches are pipelined: while some are proved, the next ones (up to one per thread, at
    /// most [`MAX_BATCHES_AHEAD`]) have their witnesses built and their assignments
    /// synthesized on other threads. Synthesis is single-threaded CPU work that would
    /// otherwise stall a GPU between proofs. [`Service::proofs_in_flight`] batches are proved
    /// at once, each on its own thread, and logged strictly in order as they finish. At most
    /// twice the look-ahead plus twice the proofs in flight of prepared batches are held in
    /// memory at once (one assignment is 32 bytes per variable).
    ///
    /// On an error, the batches already in the log stay there (their requests count as
    /// proved, and their receipts went to `on_batch`); the rest are not logged, including any
    /// later batch whose proof was already made.
    pub fn prove_batches(
        &mut self,
        executed: &[Executed<A>],
        mut on_batch: impl FnMut(&BatchReport),
    ) -> Result<Vec<ClientReceipt>, ServiceError> {
        self.check_no_pending_audit()?;
        let chunks: Vec<&[Executed<A>]> = executed.chunks(self.config.batch_capacity).collect();
        let ahead = rayon::current_num_threads()
            .clamp(1, MAX_BATCHES_AHEAD)
            .min(chunks.len().max(1));
        let in_flight = self.proofs_in_flight().min(chunks.len().max(1));
        // Each batch's randomness (salts, blindings, r and s) is drawn from its own generator,
        // seeded in batch order from the service's, so batches can be built and proved on any
        // thread and the log does not depend on which.
        let jobs: Vec<(u64, &[Executed<A>], StdRng)> = chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                (
                    self.next_batch_id + i as u64,
                    *chunk,
                    StdRng::from_seed(self.rng.gen()),
                )
            })
            .collect();
        let (app, provers, epoch, capacity) = (
            self.app.clone(),
            self.provers.clone(),
            self.epoch(),
            self.config.batch_capacity,
        );
        let mut receipts = Vec::with_capacity(executed.len());
        let mut committed = 0;
        std::thread::scope(|scope| {
            let (ready, next) =
                std::sync::mpsc::sync_channel::<Result<PreparedBatch, ServiceError>>(ahead);
            let (app, provers) = (&app, &provers);
            scope.spawn(move || {
                let mut jobs = jobs.into_iter();
                loop {
                    let window: Vec<_> = jobs.by_ref().take(ahead).collect();
                    if window.is_empty() {
                        return;
                    }
                    let prepared: Vec<_> = window
                        .into_par_iter()
                        .map(|(batch_id, chunk, rng)| {
                            prepare_batch(
                                app,
                                &provers.batch,
                                epoch,
                                batch_id,
                                capacity,
                                chunk,
                                rng,
                            )
                        })
                        .collect();
                    for batch in prepared {
                        let failed = batch.is_err();
                        // A closed channel means the committer stopped at an error: stop too.
                        if ready.send(batch).is_err() || failed {
                            return;
                        }
                    }
                }
            });
            prove_in_order(
                next,
                in_flight,
                |prepared| prove_prepared(&provers.batch, prepared),
                |proved| {
                    let chunk = chunks[committed];
                    let report = self.log_batch(chunk, proved)?;
                    committed += 1;
                    on_batch(&report);
                    receipts.extend(report.receipts);
                    // Every covered batch's receipts are out through `on_batch`.
                    self.write_progress_if_due(&[])
                },
            )
        })?;
        if committed < chunks.len() {
            return Err(ServiceError::Pipeline(format!(
                "the batch builder stopped after {committed} of {} batches",
                chunks.len()
            )));
        }
        Ok(receipts)
    }

    /// How many proofs this service makes at once: the configured number, or the backend's
    /// [`Backend::proof_lanes`].
    pub fn proofs_in_flight(&self) -> usize {
        self.config
            .proofs_in_flight
            .unwrap_or_else(|| self.provers.batch.backend().proof_lanes())
            .clamp(1, MAX_PROOFS_IN_FLIGHT)
    }

    /// Proves one batch of at most the configured capacity and appends it to the log; the
    /// report holds the requests' receipts.
    pub fn prove_batch(&mut self, executed: &[Executed<A>]) -> Result<BatchReport, ServiceError> {
        self.check_no_pending_audit()?;
        let rng = StdRng::from_seed(self.rng.gen());
        let prepared = prepare_batch(
            &self.app,
            &self.provers.batch,
            self.epoch(),
            self.next_batch_id,
            self.config.batch_capacity,
            executed,
            rng,
        )?;
        let proved = prove_prepared(&self.provers.batch, prepared)?;
        let report = self.log_batch(executed, proved)?;
        self.write_progress_if_due(&report.receipts)?;
        Ok(report)
    }

    /// Batches cannot be proved while an epoch's audit is not all in the log.
    fn check_no_pending_audit(&self) -> Result<(), ServiceError> {
        match &self.pending {
            Some(pending) => Err(ServiceError::AuditPending {
                epoch: pending.audit.epoch,
            }),
            None => Ok(()),
        }
    }

    /// Appends a proved batch (the next one: its id is the next batch id) to the log.
    fn log_batch(
        &mut self,
        executed: &[Executed<A>],
        proved: ProvedBatch,
    ) -> Result<BatchReport, ServiceError> {
        let batch_id = self.next_batch_id;
        if proved.batch_id != batch_id {
            return Err(ServiceError::Pipeline(format!(
                "batch {} proved out of turn (next is {batch_id})",
                proved.batch_id
            )));
        }
        let epoch = self.epoch();
        let public = proved.public;
        let (read_blinding, write_blinding) = proved.blindings;
        let receipts: Vec<ClientReceipt> = executed
            .iter()
            .zip(proved.receipts)
            .map(|(ex, receipt)| ClientReceipt {
                epoch,
                batch_id,
                receipt,
                request: self.app.encode_request(&ex.request),
                response: ex.response.encode(),
            })
            .collect();
        let logged = Instant::now();
        // The journal's record first: whatever the log holds, the journal can explain.
        let receipts = match &self.journal {
            Some(journal) => {
                let records = executed.iter().map(|ex| ex.record.clone()).collect();
                // The receipts go into the record and come back out of it, uncopied.
                let record = BatchRecord {
                    public,
                    read_blinding,
                    write_blinding,
                    records,
                    receipts,
                };
                durable(&mut self.crash, Durable::Journal, || {
                    Ok(journal.write_batch(&record)?)
                })?;
                record.receipts
            }
            None => receipts,
        };
        durable(&mut self.crash, Durable::Log, || {
            Ok(self.log.append_batch(&public, proved.proof)?)
        })?;
        let log = logged.elapsed();
        // In the log: from here on the batch counts for the epoch.
        self.next_batch_id += 1;
        if self.journal.is_some() {
            self.logged.add(executed.iter().map(|ex| &ex.record));
        }
        self.batches.add_batch(
            public.read_set,
            public.write_set,
            read_blinding,
            write_blinding,
        );
        self.unproven.fetch_sub(
            executed.len().min(self.unproven.load(Ordering::SeqCst)),
            Ordering::SeqCst,
        );
        Ok(BatchReport {
            batch_id,
            requests: executed.len(),
            witness: proved.witness,
            stages: proved.stages,
            log,
            receipts,
        })
    }

    /// Writes the journal's progress record if enough batch records piled up since the last
    /// one. `receipts` are those of the covered batches not handed out yet (by
    /// [`Service::prove_batch`], which returns its batch's after this), which the record
    /// keeps: a crash before they reach their clients leaves them in the journal, as the
    /// batch records it replaces would have.
    fn write_progress_if_due(&mut self, receipts: &[ClientReceipt]) -> Result<(), ServiceError> {
        let (Some(journal), Some(every)) = (&self.journal, self.progress_every) else {
            return Ok(());
        };
        if self.next_batch_id - self.covered_batch_id < every.get() || self.pending.is_some() {
            return Ok(());
        }
        let progress = EpochProgress {
            epoch: self.epoch(),
            next_batch_id: self.next_batch_id,
            next_timestamp: self.logged.next_timestamp,
            batches: self.batches,
            written: self.logged.tuples(),
            receipts: receipts.to_vec(),
        };
        durable(&mut self.crash, Durable::Journal, || {
            Ok(journal.write_progress(&progress)?)
        })?;
        self.covered_batch_id = progress.next_batch_id;
        Ok(())
    }

    /// Ends the current epoch: takes the store's snapshot, checks the epoch balances, proves
    /// the audit (chunk proofs, then the closing proof), appends them and the epoch's end to
    /// the log, and starts the next epoch. `on_chunk(done, total)` reports progress.
    ///
    /// If proving or logging fails part-way, the audit stays pending with the proofs already
    /// in the log, and the next call resumes it; batches cannot be proved meanwhile
    /// ([`ServiceError::AuditPending`]), since the log must hold the audit before the next
    /// epoch's batches. If the epoch does not balance, nothing changes (the store stays in
    /// the epoch): the state is not what the proved requests produced, which no retry fixes.
    pub fn close_epoch(
        &mut self,
        mut on_chunk: impl FnMut(usize, usize),
    ) -> Result<AuditReport, ServiceError> {
        let mut pending = match self.pending.take() {
            Some(pending) => pending,
            None => self.start_audit()?,
        };
        let total = pending.audit.chunks.len() + 1;
        let proving = Instant::now();
        let result = self.finish_audit(&mut pending, &mut on_chunk);
        pending.proving += proving.elapsed();
        if let Err(error) = result {
            self.pending = Some(pending);
            return Err(error);
        }
        on_chunk(total, total);
        self.previous_final = pending.audit.new_final;
        self.batches = EpochBatches::empty();
        Ok(AuditReport {
            epoch: pending.audit.epoch,
            keys: pending.keys,
            new_keys: pending.new_keys,
            chunks: pending.audit.chunks.len(),
            witness: pending.witness,
            proving: pending.proving,
        })
    }

    /// Builds and checks the current epoch's audit (its seed in the journal, if there is one),
    /// then moves the store to the next epoch.
    fn start_audit(&mut self) -> Result<PendingAudit, ServiceError> {
        let epoch = self.epoch();
        let count = self.unproven.load(Ordering::SeqCst);
        if count > 0 {
            return Err(ServiceError::Unproven { epoch, count });
        }
        // One seed for the audit's witnesses, so that a resumed service rebuilds the same.
        let seed: [u8; 32] = self.rng.gen();
        // `&mut self`: no request can run between the snapshot and the epoch change below.
        let pending = self.build_audit(&mut StdRng::from_seed(seed))?;
        if let Some(journal) = &self.journal {
            durable(&mut self.crash, Durable::Journal, || {
                Ok(journal.write_audit(&AuditRecord { epoch, seed })?)
            })?;
        }
        self.store.close_epoch();
        Ok(pending)
    }

    /// The current epoch's audit over the store's snapshot, its witnesses drawn from `rng`,
    /// checked to balance; nothing of it logged yet.
    fn build_audit(&self, rng: &mut StdRng) -> Result<PendingAudit, ServiceError> {
        let epoch = self.epoch();
        let started = Instant::now();
        let snapshot = self.store.snapshot();
        let audit = EpochAudit::build(
            &snapshot,
            self.config.keys_per_chunk,
            &self.previous_final,
            &self.batches,
            rng,
        )
        .map_err(|source| ServiceError::Audit { epoch, source })?;
        if !audit.balances() {
            return Err(ServiceError::Unbalanced { epoch });
        }
        Ok(PendingAudit {
            audit,
            keys: snapshot.final_state.len(),
            new_keys: snapshot.new_keys.len(),
            final_state: snapshot.final_state,
            next_timestamp: snapshot.next_timestamp,
            logged: 0,
            ended: false,
            witness: started.elapsed(),
            proving: Duration::ZERO,
        })
    }

    /// Proves and logs what `pending` still lacks: its chunks, the closing proof, the end.
    fn finish_audit(
        &mut self,
        pending: &mut PendingAudit,
        on_chunk: &mut impl FnMut(usize, usize),
    ) -> Result<(), ServiceError> {
        let chunks = pending.audit.chunks.len();
        let total = chunks + 1;
        // The chunks not in the log yet, each with its own randomness drawn in order, proved
        // several at once and logged in order.
        let from = pending.logged.min(chunks);
        let rngs: Vec<StdRng> = (from..chunks)
            .map(|_| StdRng::from_seed(self.rng.gen()))
            .collect();
        let in_flight = self.proofs_in_flight().min((chunks - from).max(1));
        let provers = self.provers.clone();
        let PendingAudit { audit, logged, .. } = pending;
        let (log, crash) = (&mut self.log, &mut self.crash);
        prove_in_order(
            audit.chunks[from..].iter().zip(rngs).map(Ok),
            in_flight,
            |(chunk, mut rng)| {
                let (proof, _) = provers.chunk.prove(chunk.clone(), &mut rng)?;
                Ok::<_, ServiceError>((chunk, proof))
            },
            |(chunk, proof)| {
                durable(crash, Durable::Log, || {
                    Ok(log.append_chunk(&chunk.public, proof)?)
                })?;
                *logged += 1;
                on_chunk(*logged, total);
                Ok(())
            },
        )?;
        if pending.logged == chunks {
            let closing = &pending.audit.closing;
            let (proof, _) = self.provers.closing.prove(closing.clone(), &mut self.rng)?;
            durable(&mut self.crash, Durable::Log, || {
                Ok(self.log.append_closing(&closing.public, proof)?)
            })?;
            pending.logged += 1;
        }
        if !pending.ended {
            durable(&mut self.crash, Durable::Log, || {
                Ok(self.log.end_epoch(pending.audit.epoch)?)
            })?;
            pending.ended = true;
        }
        if let Some(journal) = &self.journal {
            let checkpoint = Checkpoint {
                epoch: pending.audit.epoch + 1,
                next_batch_id: self.next_batch_id,
                next_timestamp: pending.next_timestamp,
                previous_final: pending.audit.new_final,
                state: pending.final_state.clone(),
            };
            durable(&mut self.crash, Durable::Journal, || {
                Ok(journal.write_checkpoint(&checkpoint)?)
            })?;
        }
        self.covered_batch_id = self.next_batch_id;
        self.logged = LoggedWrites::starting(pending.next_timestamp);
        Ok(())
    }
}

/// What an epoch's logged batches wrote: each key's last tuple, and the clock after them.
#[derive(Debug)]
struct LoggedWrites {
    written: HashMap<Fr, Tuple>,
    next_timestamp: u64,
}

impl LoggedWrites {
    /// Nothing written yet in an epoch whose clock starts at `next_timestamp`.
    fn starting(next_timestamp: u64) -> Self {
        Self {
            written: HashMap::new(),
            next_timestamp,
        }
    }

    /// Adds the writes of `records`, in `t_req` order (as batches are logged).
    fn add<'a>(&mut self, records: impl IntoIterator<Item = &'a TxRecord>) {
        for record in records {
            for op in &record.ops {
                self.written.insert(op.new.key, op.new);
            }
            self.next_timestamp = self.next_timestamp.max(record.t_req + 1);
        }
    }

    /// Takes a progress record's state.
    fn restore(&mut self, written: &[Tuple], next_timestamp: u64) {
        self.written = written.iter().map(|tuple| (tuple.key, *tuple)).collect();
        self.next_timestamp = self.next_timestamp.max(next_timestamp);
    }

    /// The tuples, in key order.
    fn tuples(&self) -> Vec<Tuple> {
        let mut tuples: Vec<Tuple> = self.written.values().copied().collect();
        tuples.sort_unstable_by(|a, b| key_order(&a.key, &b.key));
        tuples
    }
}

/// An audit whose proofs are not all in the log yet (or whose checkpoint is not written).
struct PendingAudit {
    audit: EpochAudit,
    keys: usize,
    new_keys: usize,
    /// The audited state, and the clock after it: the next epoch's checkpoint.
    final_state: Vec<Tuple>,
    next_timestamp: u64,
    /// Proofs of `audit` already in the log: chunks first, then the closing proof.
    logged: usize,
    /// Whether the epoch's end is in the log.
    ended: bool,
    witness: Duration,
    proving: Duration,
}

/// What [`Service::resume`] found and did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResumeReport {
    /// The epoch of the journal's last checkpoint, which the service was in (or, with an
    /// audit pending, was closing).
    pub epoch: u64,
    /// That epoch's batches in the log that the journal's progress record covers: their
    /// state came from it, not from replaying their requests.
    pub progress_batches: usize,
    /// That epoch's batches in the log after those, whose requests were replayed.
    pub batches: usize,
    /// Requests replayed.
    pub requests: usize,
    /// Those batches' receipts, in log order, after the receipts the progress record kept
    /// (those of covered batches not handed out when it was written). A crash just after a
    /// batch reached the log can have kept its receipts from their clients: a client without
    /// a receipt looks here before it submits its request again.
    pub receipts: Vec<ClientReceipt>,
    /// Journal records of batches that never reached the log, removed: their requests got no
    /// receipt and are not in the rebuilt state.
    pub dropped_batches: usize,
    /// The torn tail cut off the log, if the crash interrupted an append.
    pub torn_tail: Option<TornTail>,
    /// The epoch whose audit was interrupted, if one was: [`Service::close_epoch`] finishes it.
    pub audit_pending: Option<u64>,
}

/// The log's entries of the epoch a checkpoint starts: its batches, then the proofs of its
/// audit, and whether its end is in the log.
struct EpochEntries<'a> {
    batches: Vec<&'a LogEntry>,
    audit: Vec<&'a LogEntry>,
    ended: bool,
}

impl<'a> EpochEntries<'a> {
    /// Splits `entries` at `epoch` and checks the log is where a checkpoint of `epoch` can be:
    /// the previous epoch ended, nothing of a later one.
    fn of(
        journal: &ServiceJournal,
        entries: &'a [LogEntry],
        epoch: u64,
    ) -> Result<Self, ServiceError> {
        let split = entries
            .iter()
            .position(|entry| entry.epoch >= epoch)
            .unwrap_or(entries.len());
        let previous_ended = matches!(entries[..split].last(), Some(entry) if entry.kind == EntryKind::EpochEnd && entry.epoch + 1 == epoch);
        if epoch > 0 && !previous_ended {
            return Err(journal
                .inconsistent(format!(
                    "its checkpoint starts epoch {epoch}, the log does not end epoch {}",
                    epoch - 1
                ))
                .into());
        }
        let mut open = Self {
            batches: Vec::new(),
            audit: Vec::new(),
            ended: false,
        };
        for entry in &entries[split..] {
            if entry.epoch != epoch || open.ended {
                return Err(journal.inconsistent(format!("the log holds entries after epoch {epoch}, the journal's checkpoint is older")).into());
            }
            match entry.kind {
                EntryKind::BatchProof if open.audit.is_empty() => open.batches.push(entry),
                EntryKind::BatchProof => {
                    return Err(journal
                        .inconsistent(format!(
                            "the log holds a batch of epoch {epoch} after its audit proofs"
                        ))
                        .into())
                }
                EntryKind::AuditChunkProof | EntryKind::AuditClosingProof => open.audit.push(entry),
                EntryKind::EpochEnd => open.ended = true,
            }
        }
        Ok(open)
    }
}

/// Where [`Service::fail_at_write`] makes durable writes fail.
#[derive(Clone, Debug)]
struct CrashPoint {
    /// Writes made before the failing one.
    writes_left: u64,
    /// Whether the failing write is made before its failure is reported.
    perform_next: bool,
    /// The directories an injected failure names (copied once here, not on every write).
    log_dir: PathBuf,
    journal_dir: Option<PathBuf>,
}

/// Which of the service's directories a durable write goes to.
#[derive(Clone, Copy, Debug)]
enum Durable {
    Log,
    Journal,
}

/// Makes a durable write (`write`, to `target`), unless [`Service::fail_at_write`] says the
/// process is dead by now.
fn durable<T>(
    crash: &mut Option<CrashPoint>,
    target: Durable,
    write: impl FnOnce() -> Result<T, ServiceError>,
) -> Result<T, ServiceError> {
    let Some(point) = crash else { return write() };
    if point.writes_left > 0 {
        point.writes_left -= 1;
        return write();
    }
    if std::mem::take(&mut point.perform_next) {
        write()?;
    }
    let path = match (target, &point.journal_dir) {
        (Durable::Journal, Some(journal)) => journal.clone(),
        _ => point.log_dir.clone(),
    };
    Err(ServiceError::Log(LogError::Io {
        path,
        source: std::io::Error::other("injected failure (Service::fail_at_write)"),
    }))
}

/// Whether `inner` is `outer` or inside it, compared as canonical paths (a path that does not
/// exist yet is its nearest existing ancestor's canonical path, with the rest appended).
fn same_dir(outer: &Path, inner: &Path) -> bool {
    fn canonical(path: &Path) -> std::path::PathBuf {
        let mut rest = Vec::new();
        let mut existing = path;
        loop {
            if let Ok(found) = std::fs::canonicalize(existing) {
                return rest.iter().rev().fold(found, |acc, part| acc.join(part));
            }
            match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name.to_os_string());
                    existing = if parent.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        parent
                    };
                }
                _ => return path.to_path_buf(),
            }
        }
    }
    canonical(inner).starts_with(canonical(outer))
}

fn queue_len<T>(queue: &Mutex<VecDeque<T>>) -> usize {
    match queue.lock() {
        Ok(queue) => queue.len(),
        Err(poisoned) => poisoned.into_inner().len(),
    }
}
