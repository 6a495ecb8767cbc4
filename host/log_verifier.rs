//! The verifier of a service's proof log (DESIGN §4, "the verifier replays this log"): checks
//! every proof, sums the batch contributions of each epoch, checks each epoch's audit, and
//! accepts — or rejects with the first failure and where it is.
//!
//! # What a log must look like
//!
//! Entries are numbered 0, 1, 2, … in order (the `sequence` field). Epochs come in order from
//! 0, each as
//!
//! ```text
//! batch proof*   audit chunk proof+   audit closing proof   epoch end
//! ```
//!
//! and every entry's epoch field equals the epoch of its public inputs. The last epoch may
//! be *open* (batches, or part of an audit, with no epoch end yet): a running service always
//! has one. Its batch proofs are verified, but nothing in them is vouched for until its audit
//! is in the log, and the report says so ([`VerifiedLog::open_epoch`]).
//!
//! # What is checked, and what each check stops
//!
//! * Every proof verifies against its kind's verifying key, with exactly that key's number of
//!   public inputs (`ark_groth16` 0.6 does not check the count; [`Verifier`] does): altered
//!   public inputs, tampered proofs, proofs of another circuit.
//! * Public inputs decode: u64 epochs and ids, digests that are points of Jubjub's prime-order
//!   subgroup (the circuits take the coordinates as given).
//! * Batch ids are unique over the log: a batch **replayed** (the same proof appended twice,
//!   in the same or, impossible anyway, another epoch — the epoch is a public input) would
//!   count its contributions twice.
//! * The epoch's audit is checked by [`check_epoch`] against the sums of *this log's* batch
//!   contributions and the previous epoch's final digest: a batch **omitted** from the log, a
//!   batch added, an audit of another epoch or state, a broken chunk chain — all fail there.
//! * Sequence numbers and entry order: a log spliced from pieces, with entries reordered or
//!   dropped, is rejected even where the proofs alone would not show it.
//! * The log's own framing (checksums, versions, torn tails): [`super::proof_log`].
//!
//! # The verifying keys
//!
//! Verification is only as good as the keys: whoever made the setup can forge proofs.
//! [`LogVerifier::from_dir`] reads the keys the service wrote next to its log, which is right
//! for checking a log's integrity and for a demo; a verifier who does not trust the service
//! gets the keys from the setup itself ([`LogVerifier::new`], `spice verify --keys`) and can
//! compare [`LogVerifier::fingerprints`] with the published ones.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use ark_bls12_381::{Bls12_381, Fr};
use ark_groth16::{Proof, VerifyingKey};
use ark_serialize::CanonicalSerialize;
use sha2::{Digest, Sha256};

use crate::engine::{EngineError, Verifier};

use super::{
    audit::{
        check_epoch, genesis_final_digest, ChunkPublicInputs, ClosingPublicInputs, EpochCheckError,
    },
    batch::BatchPublicInputs,
    field_encoding::PublicInputError,
    proof_log::{
        read_verifying_key, EntryKind, EntryPosition, LogEntry, LogError, LogFollower, ProofLog,
    },
    request_commitment::verify_receipt,
    service::ClientReceipt,
    set_digest::BlindedDigest,
    writer_lock::{WriterLock, WRITER_LOCK_FILE},
};

/// Why a log is rejected: the first failure, with the entry's sequence number where there is
/// one.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    /// The log cannot be read to its end (a damaged frame, a segment cut short before the
    /// last, a missing segment).
    #[error("the log is damaged: {0}")]
    Log(#[from] LogError),
    /// The log ends in an incomplete frame and no writer holds it: the last append of a
    /// writer that crashed. Resuming the service (or [`super::proof_log::ProofLog::repair`])
    /// cuts it; everything before it was verified.
    #[error("the log ends in a torn tail and no writer holds it (a crashed writer's last append, cut when the service resumes): {0}")]
    TornTail(LogError),
    /// An entry's sequence number is not its position.
    #[error("entry {position} carries sequence number {sequence}: entries are missing, added or reordered")]
    Sequence {
        /// Its position in the log.
        position: u64,
        /// Its sequence number.
        sequence: u64,
    },
    /// An entry belongs to another epoch than the one the log is in.
    #[error("entry {sequence} ({kind}) is for epoch {got}, the log is in epoch {expected}")]
    EpochOrder {
        /// The entry.
        sequence: u64,
        /// Its kind.
        kind: EntryKind,
        /// The epoch the log is in.
        expected: u64,
        /// The entry's epoch.
        got: u64,
    },
    /// An entry comes where the order of an epoch does not allow it.
    #[error("entry {sequence}: a {kind} cannot follow a {after}")]
    Order {
        /// The entry.
        sequence: u64,
        /// Its kind.
        kind: EntryKind,
        /// What came before it in the epoch.
        after: &'static str,
    },
    /// An entry's epoch field disagrees with the epoch in its public inputs.
    #[error("entry {sequence}: its epoch field says {field}, its public inputs say {inputs}")]
    EpochField {
        /// The entry.
        sequence: u64,
        /// The entry's epoch field.
        field: u64,
        /// The epoch in its public inputs.
        inputs: u64,
    },
    /// A proof's public inputs do not decode.
    #[error("entry {sequence}: {kind} public inputs: {source}")]
    Inputs {
        /// The entry.
        sequence: u64,
        /// Its kind.
        kind: EntryKind,
        /// Why.
        #[source]
        source: PublicInputError,
    },
    /// A proof does not verify.
    #[error("entry {sequence}: the {kind} does not verify")]
    BadProof {
        /// The entry.
        sequence: u64,
        /// Its kind.
        kind: EntryKind,
    },
    /// A proof could not be checked (e.g. the wrong number of public inputs for its key).
    #[error("entry {sequence}: the {kind} cannot be checked: {source}")]
    Unverifiable {
        /// The entry.
        sequence: u64,
        /// Its kind.
        kind: EntryKind,
        /// Why.
        #[source]
        source: EngineError,
    },
    /// An entry that should carry a proof carries none (or the other way round).
    #[error("entry {sequence}: a {kind} without its payload")]
    Payload {
        /// The entry.
        sequence: u64,
        /// Its kind.
        kind: EntryKind,
    },
    /// A batch id appears twice.
    #[error("entry {sequence}: batch {batch_id} was already in the log (entry {first}): a replayed batch")]
    DuplicateBatch {
        /// The entry.
        sequence: u64,
        /// The batch id.
        batch_id: u64,
        /// Where it appeared first.
        first: u64,
    },
    /// An epoch's audit does not check.
    #[error("epoch {epoch}: the audit does not check: {source}")]
    Audit {
        /// The epoch.
        epoch: u64,
        /// Why.
        #[source]
        source: EpochCheckError,
    },
}

/// Errors of setting up a verifier (before any entry is looked at).
#[derive(Debug, thiserror::Error)]
pub enum VerifierSetupError {
    /// A verifying key cannot be read.
    #[error("verifying key: {0}")]
    Key(#[from] LogError),
    /// A verifying key has the wrong number of public inputs for its kind.
    #[error("the {kind} verifying key takes {got} public inputs, a {kind} has {expected}")]
    KeyShape {
        /// The kind.
        kind: EntryKind,
        /// Public inputs of the kind.
        expected: usize,
        /// Public inputs of the key.
        got: usize,
    },
}

/// What a verified, audited epoch amounts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochSummary {
    /// The epoch.
    pub epoch: u64,
    /// Batch proofs in it.
    pub batches: usize,
    /// Audit chunk proofs.
    pub chunks: usize,
    /// The blinded final digest its audit established.
    pub final_digest: BlindedDigest,
}

/// The epoch at the end of the log that has no complete audit yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenEpoch {
    /// The epoch.
    pub epoch: u64,
    /// Batch proofs verified so far (not vouched for until the audit is in).
    pub batches: usize,
    /// Audit chunk proofs verified so far.
    pub chunks: usize,
    /// Whether the closing proof is in (only the epoch end is missing).
    pub closed: bool,
}

/// Why a receipt does not check.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// No batch of that id is in the log.
    #[error("batch {batch_id} is not in the log")]
    UnknownBatch {
        /// The id.
        batch_id: u64,
    },
    /// The batch is in another epoch than the receipt says.
    #[error("batch {batch_id} is in epoch {actual}, the receipt says {claimed}")]
    WrongEpoch {
        /// The id.
        batch_id: u64,
        /// The receipt's epoch.
        claimed: u64,
        /// The batch's epoch.
        actual: u64,
    },
    /// The batch's epoch is not audited yet.
    #[error("batch {batch_id} is in epoch {epoch}, which is not audited yet")]
    NotAudited {
        /// The id.
        batch_id: u64,
        /// Its epoch.
        epoch: u64,
    },
    /// The opening does not lead to the batch's root.
    #[error(
        "the receipt does not open batch {batch_id}'s commitment to this request and response"
    )]
    BadOpening {
        /// The id.
        batch_id: u64,
    },
}

/// An accepted log: what it vouches for.
#[derive(Clone, Debug)]
pub struct VerifiedLog {
    /// Every audited epoch, in order.
    pub epochs: Vec<EpochSummary>,
    /// The open epoch at the end, if any.
    pub open_epoch: Option<OpenEpoch>,
    /// Entries in the log.
    pub entries: u64,
    /// Set when a writer held the log as the verification ended ([`LogVerifier::verify_dir`],
    /// or a follow stopped by [`FollowOptions::until_epoch`]): whatever it appends after
    /// [`VerifiedLog::entries`] is not verified yet.
    pub writer: Option<LiveWriter>,
    /// Set when a follow stopped at [`FollowOptions::until_epoch`], as asked, rather than at
    /// the end of the log: entries after [`VerifiedLog::entries`] were not read.
    pub stopped_at_epoch: Option<u64>,
    /// Batch id → (epoch, commitment root).
    batch_roots: HashMap<u64, (u64, Fr)>,
}

/// A writer that held the log when its verification ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveWriter {
    /// Where the frame lies that it was appending, if the log ended in part of one (an
    /// append in progress, not a torn tail: the writer is there to finish it).
    pub appending: Option<EntryPosition>,
}

/// What [`LogVerifier::follow_dir`] reports as it goes.
#[derive(Clone, Copy, Debug)]
pub enum FollowEvent<'a> {
    /// An entry was verified; `entries` have been so far.
    Entry {
        /// Entries verified.
        entries: u64,
    },
    /// The audit of an epoch is complete and checks: what is in the epoch is vouched for.
    EpochAudited(&'a EpochSummary),
    /// Every complete entry is verified and a writer holds the log: waiting for its next.
    Waiting {
        /// Entries verified.
        entries: u64,
        /// The frame being appended, if part of it is there.
        appending: Option<EntryPosition>,
    },
    /// The writer let go of the log, and the follow waits up to
    /// [`FollowOptions::restart_grace`] for one to take it again.
    WriterGone {
        /// Entries verified.
        entries: u64,
        /// The incomplete frame it left, if any: a torn tail, unless a writer comes back and
        /// replaces it.
        torn: Option<EntryPosition>,
    },
    /// A writer holds the log again after [`FollowEvent::WriterGone`] (a restarted service).
    WriterBack {
        /// Entries verified.
        entries: u64,
    },
}

/// How [`LogVerifier::follow_dir`] follows a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowOptions {
    /// How often to look for new entries and for the writer.
    pub poll: Duration,
    /// When the writer lets go of the log, how long to wait for a writer to take it again
    /// (a supervisor restarting a service that stopped or crashed; a resumed service cuts a
    /// torn tail and appends from there, and the follow reads on) before concluding. `None`:
    /// conclude at once.
    pub restart_grace: Option<Duration>,
    /// Stop as soon as the audit of this epoch checks, with the writer still running or not.
    pub until_epoch: Option<u64>,
}

impl FollowOptions {
    /// Follows until the writer lets go, looking every `poll`.
    pub fn new(poll: Duration) -> Self {
        Self {
            poll,
            restart_grace: None,
            until_epoch: None,
        }
    }
}

impl VerifiedLog {
    /// Batch proofs in audited epochs.
    pub fn audited_batches(&self) -> usize {
        self.epochs.iter().map(|e| e.batches).sum()
    }

    /// Checks that `receipt` opens a batch of an audited epoch to exactly its request and
    /// response.
    pub fn check_receipt(&self, receipt: &ClientReceipt) -> Result<(), ReceiptError> {
        let batch_id = receipt.batch_id;
        let &(epoch, root) = self
            .batch_roots
            .get(&batch_id)
            .ok_or(ReceiptError::UnknownBatch { batch_id })?;
        if epoch != receipt.epoch {
            return Err(ReceiptError::WrongEpoch {
                batch_id,
                claimed: receipt.epoch,
                actual: epoch,
            });
        }
        if !self.epochs.iter().any(|e| e.epoch == epoch) {
            return Err(ReceiptError::NotAudited { batch_id, epoch });
        }
        if !verify_receipt(root, &receipt.request, &receipt.response, &receipt.receipt) {
            return Err(ReceiptError::BadOpening { batch_id });
        }
        Ok(())
    }
}

/// The verifier of a service's log (see the module docs).
#[derive(Clone, Debug)]
pub struct LogVerifier {
    batch: Verifier,
    chunk: Verifier,
    closing: Verifier,
}

/// Where the current epoch stands while the log is replayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Batches,
    Chunks,
    Closed,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Batches => "batch proof (or an epoch start)",
            Phase::Chunks => "audit chunk proof",
            Phase::Closed => "audit closing proof",
        }
    }
}

/// The replay's running state.
struct Replay {
    epoch: u64,
    phase: Phase,
    previous_final: BlindedDigest,
    read_sum: BlindedDigest,
    write_sum: BlindedDigest,
    batches: usize,
    chunks: Vec<ChunkPublicInputs>,
    /// Batch id → sequence number of its entry.
    batch_ids: HashMap<u64, u64>,
    batch_roots: HashMap<u64, (u64, Fr)>,
    epochs: Vec<EpochSummary>,
    closing_final: Option<BlindedDigest>,
}

impl Replay {
    fn new() -> Self {
        let identity = genesis_final_digest();
        Self {
            epoch: 0,
            phase: Phase::Batches,
            previous_final: identity,
            read_sum: identity,
            write_sum: identity,
            batches: 0,
            chunks: Vec::new(),
            batch_ids: HashMap::new(),
            batch_roots: HashMap::new(),
            epochs: Vec::new(),
            closing_final: None,
        }
    }

    /// What the replay of `entries` entries vouches for, with the writer found holding the log
    /// and the epoch a follow stopped at, if either.
    fn finish(
        self,
        entries: u64,
        writer: Option<LiveWriter>,
        stopped_at_epoch: Option<u64>,
    ) -> VerifiedLog {
        let open_epoch = match (self.phase, self.batches, self.chunks.len()) {
            (Phase::Batches, 0, 0) => None,
            (phase, batches, chunks) => Some(OpenEpoch {
                epoch: self.epoch,
                batches,
                chunks,
                closed: phase == Phase::Closed,
            }),
        };
        VerifiedLog {
            epochs: self.epochs,
            open_epoch,
            entries,
            writer,
            stopped_at_epoch,
            batch_roots: self.batch_roots,
        }
    }

    /// Resets the per-epoch sums for the next epoch.
    fn next_epoch(&mut self) {
        let identity = genesis_final_digest();
        self.epoch += 1;
        self.phase = Phase::Batches;
        self.read_sum = identity;
        self.write_sum = identity;
        self.batches = 0;
        self.chunks.clear();
        self.closing_final = None;
    }
}

impl LogVerifier {
    /// A verifier for the given keys; checks that each takes its kind's number of public
    /// inputs.
    pub fn new(
        batch: &VerifyingKey<Bls12_381>,
        chunk: &VerifyingKey<Bls12_381>,
        closing: &VerifyingKey<Bls12_381>,
    ) -> Result<Self, VerifierSetupError> {
        let checked = |kind, vk: &VerifyingKey<Bls12_381>, expected| {
            let verifier = Verifier::new(vk);
            let got = verifier.num_public_inputs();
            if got != expected {
                return Err(VerifierSetupError::KeyShape {
                    kind,
                    expected,
                    got,
                });
            }
            Ok(verifier)
        };
        Ok(Self {
            batch: checked(
                EntryKind::BatchProof,
                batch,
                super::batch::NUM_PUBLIC_INPUTS,
            )?,
            chunk: checked(
                EntryKind::AuditChunkProof,
                chunk,
                super::audit::CHUNK_PUBLIC_INPUTS,
            )?,
            closing: checked(
                EntryKind::AuditClosingProof,
                closing,
                super::audit::CLOSING_PUBLIC_INPUTS,
            )?,
        })
    }

    /// A verifier for the keys stored in `dir` (a log directory, or any directory holding
    /// the three `.vk` files).
    pub fn from_dir(dir: &Path) -> Result<Self, VerifierSetupError> {
        Self::new(
            &read_verifying_key(dir, EntryKind::BatchProof)?,
            &read_verifying_key(dir, EntryKind::AuditChunkProof)?,
            &read_verifying_key(dir, EntryKind::AuditClosingProof)?,
        )
    }

    /// SHA-256 of each verifying key (compressed encoding), batch, chunk, closing: what a
    /// verifier compares with the setup's published fingerprints.
    pub fn fingerprints(&self) -> [(EntryKind, [u8; 32]); 3] {
        let hash = |verifier: &Verifier| {
            let mut bytes = Vec::new();
            // Serializing a verifying key into a Vec cannot fail.
            let _ = verifier.vk().serialize_compressed(&mut bytes);
            Sha256::digest(&bytes).into()
        };
        [
            (EntryKind::BatchProof, hash(&self.batch)),
            (EntryKind::AuditChunkProof, hash(&self.chunk)),
            (EntryKind::AuditClosingProof, hash(&self.closing)),
        ]
    }

    /// Replays the log in `dir`; `on_entry(done)` is called after each entry (for progress).
    ///
    /// The log may be being written: what a reader finds complete is verified, and if a
    /// writer holds the log ([`WriterLock::is_held`]) the result says so
    /// ([`VerifiedLog::writer`]), with the frame it is appending if the log ends in part of
    /// one. The same incomplete frame with no writer there is a crash's torn tail:
    /// [`Rejection::TornTail`].
    pub fn verify_dir(
        &self,
        dir: &Path,
        mut on_entry: impl FnMut(u64),
    ) -> Result<VerifiedLog, Rejection> {
        self.replay_dir(dir, None, |event| {
            if let FollowEvent::Entry { entries } = event {
                on_entry(entries)
            }
        })
    }

    /// Like [`LogVerifier::verify_dir`] (after waiting for a log to be created in `dir`, if
    /// there is none yet), and while a writer holds the log, waits for its appends (looking every [`FollowOptions::poll`]) and verifies each as it is complete,
    /// until the writer lets go of the log (the service stopped; with
    /// [`FollowOptions::restart_grace`], and no writer took the log again within it), the audit
    /// of [`FollowOptions::until_epoch`] checks, or an entry is rejected — at once, with the
    /// writer still running. `on_event` hears of every entry, every epoch whose audit checks,
    /// every wait, and a writer going and coming back.
    pub fn follow_dir(
        &self,
        dir: &Path,
        options: &FollowOptions,
        on_event: impl FnMut(FollowEvent<'_>),
    ) -> Result<VerifiedLog, Rejection> {
        self.replay_dir(dir, Some(options), on_event)
    }

    fn replay_dir(
        &self,
        dir: &Path,
        follow: Option<&FollowOptions>,
        mut on_event: impl FnMut(FollowEvent<'_>),
    ) -> Result<VerifiedLog, Rejection> {
        let until = follow.and_then(|f| f.until_epoch);
        if let Some(options) = follow {
            while !ProofLog::exists(dir) {
                std::thread::sleep(options.poll);
            }
        }
        let mut follower = LogFollower::new(dir)?;
        let mut replay = Replay::new();
        let mut position = 0u64;
        let mut waiting = false;
        // Since when no writer has held the log, while the follow waits out the restart grace.
        let mut gone_since: Option<Instant> = None;
        loop {
            let (more, reached) = self.drain(
                &mut follower,
                &mut replay,
                &mut position,
                until,
                &mut on_event,
            )?;
            waiting &= !more;
            let held = WriterLock::is_held(dir).map_err(|source| LogError::Io {
                path: dir.join(WRITER_LOCK_FILE),
                source,
            })?;
            let live = held.then(|| LiveWriter {
                appending: follower.incomplete(),
            });
            if reached {
                return Ok(replay.finish(position, live, until));
            }
            if let Some(live) = live {
                let Some(options) = follow else {
                    return Ok(replay.finish(position, Some(live), None));
                };
                if gone_since.take().is_some() {
                    on_event(FollowEvent::WriterBack { entries: position });
                }
                if !waiting {
                    on_event(FollowEvent::Waiting {
                        entries: position,
                        appending: live.appending,
                    });
                    waiting = true;
                }
                std::thread::sleep(options.poll);
                continue;
            }
            // No writer: what it appended before it let go is all in the files now.
            let (_, reached) = self.drain(
                &mut follower,
                &mut replay,
                &mut position,
                until,
                &mut on_event,
            )?;
            if reached {
                return Ok(replay.finish(position, None, until));
            }
            if let Some((options, grace)) =
                follow.and_then(|f| f.restart_grace.map(|grace| (f, grace)))
            {
                let since = *gone_since.get_or_insert_with(|| {
                    on_event(FollowEvent::WriterGone {
                        entries: position,
                        torn: follower.incomplete(),
                    });
                    Instant::now()
                });
                if since.elapsed() < grace {
                    waiting = false;
                    std::thread::sleep(options.poll);
                    continue;
                }
            }
            if let Some(torn) = follower.into_torn_tail() {
                return Err(Rejection::TornTail(torn));
            }
            return Ok(replay.finish(position, None, None));
        }
    }

    /// Replays every entry `follower` finds complete now, stopping after the audit of epoch
    /// `until` if it comes; whether there was any entry, and whether `until` was reached.
    fn drain(
        &self,
        follower: &mut LogFollower,
        replay: &mut Replay,
        position: &mut u64,
        until: Option<u64>,
        on_event: &mut impl FnMut(FollowEvent<'_>),
    ) -> Result<(bool, bool), Rejection> {
        let before = *position;
        let reached = |replay: &Replay| {
            until.is_some_and(|epoch| replay.epochs.last().is_some_and(|e| e.epoch >= epoch))
        };
        while !reached(replay) {
            let Some((_, entry)) = follower.next_entry()? else {
                break;
            };
            let audited = replay.epochs.len();
            self.replay_entry(replay, *position, &entry)?;
            *position += 1;
            on_event(FollowEvent::Entry { entries: *position });
            if replay.epochs.len() > audited {
                on_event(FollowEvent::EpochAudited(
                    replay.epochs.last().expect("just pushed"),
                ));
            }
        }
        Ok((*position > before, reached(replay)))
    }

    /// Replays `entries` (as read from a log) — the same checks as [`LogVerifier::verify_dir`]
    /// without the file layer.
    pub fn verify_entries(&self, entries: &[LogEntry]) -> Result<VerifiedLog, Rejection> {
        let mut replay = Replay::new();
        for (position, entry) in entries.iter().enumerate() {
            self.replay_entry(&mut replay, position as u64, entry)?;
        }
        Ok(replay.finish(entries.len() as u64, None, None))
    }

    fn replay_entry(
        &self,
        replay: &mut Replay,
        position: u64,
        entry: &LogEntry,
    ) -> Result<(), Rejection> {
        let sequence = entry.sequence;
        if sequence != position {
            return Err(Rejection::Sequence { position, sequence });
        }
        let kind = entry.kind;
        if entry.epoch != replay.epoch {
            return Err(Rejection::EpochOrder {
                sequence,
                kind,
                expected: replay.epoch,
                got: entry.epoch,
            });
        }
        let order = |after: Phase| Rejection::Order {
            sequence,
            kind,
            after: after.name(),
        };
        match kind {
            EntryKind::BatchProof => {
                if replay.phase != Phase::Batches {
                    return Err(order(replay.phase));
                }
                let public = BatchPublicInputs::from_field_elements(&entry.public_inputs).map_err(
                    |source| Rejection::Inputs {
                        sequence,
                        kind,
                        source,
                    },
                )?;
                check_epoch_field(sequence, entry.epoch, public.epoch)?;
                self.check_proof(&self.batch, entry)?;
                if let Some(&first) = replay.batch_ids.get(&public.batch_id) {
                    return Err(Rejection::DuplicateBatch {
                        sequence,
                        batch_id: public.batch_id,
                        first,
                    });
                }
                replay.batch_ids.insert(public.batch_id, sequence);
                replay
                    .batch_roots
                    .insert(public.batch_id, (public.epoch, public.root));
                replay.read_sum = replay.read_sum + public.read_set;
                replay.write_sum = replay.write_sum + public.write_set;
                replay.batches += 1;
            }
            EntryKind::AuditChunkProof => {
                if replay.phase == Phase::Closed {
                    return Err(order(replay.phase));
                }
                let public = ChunkPublicInputs::from_field_elements(&entry.public_inputs).map_err(
                    |source| Rejection::Inputs {
                        sequence,
                        kind,
                        source,
                    },
                )?;
                check_epoch_field(sequence, entry.epoch, public.epoch)?;
                self.check_proof(&self.chunk, entry)?;
                replay.chunks.push(public);
                replay.phase = Phase::Chunks;
            }
            EntryKind::AuditClosingProof => {
                if replay.phase != Phase::Chunks {
                    return Err(order(replay.phase));
                }
                let public = ClosingPublicInputs::from_field_elements(&entry.public_inputs)
                    .map_err(|source| Rejection::Inputs {
                        sequence,
                        kind,
                        source,
                    })?;
                check_epoch_field(sequence, entry.epoch, public.epoch)?;
                self.check_proof(&self.closing, entry)?;
                let final_digest = check_epoch(
                    replay.epoch,
                    &replay.previous_final,
                    &replay.read_sum,
                    &replay.write_sum,
                    &replay.chunks,
                    &public,
                )
                .map_err(|source| Rejection::Audit {
                    epoch: replay.epoch,
                    source,
                })?;
                replay.closing_final = Some(final_digest);
                replay.phase = Phase::Closed;
            }
            EntryKind::EpochEnd => {
                let final_digest = match (replay.phase, replay.closing_final) {
                    (Phase::Closed, Some(digest)) => digest,
                    (phase, _) => return Err(order(phase)),
                };
                if entry.proof().is_some() {
                    return Err(Rejection::Payload { sequence, kind });
                }
                replay.epochs.push(EpochSummary {
                    epoch: replay.epoch,
                    batches: replay.batches,
                    chunks: replay.chunks.len(),
                    final_digest,
                });
                replay.previous_final = final_digest;
                replay.next_epoch();
            }
        }
        Ok(())
    }

    fn check_proof(&self, verifier: &Verifier, entry: &LogEntry) -> Result<(), Rejection> {
        let (sequence, kind) = (entry.sequence, entry.kind);
        let proof: &Proof<Bls12_381> =
            entry.proof().ok_or(Rejection::Payload { sequence, kind })?;
        match verifier.verify(&entry.public_inputs, proof) {
            Ok(true) => Ok(()),
            Ok(false) => Err(Rejection::BadProof { sequence, kind }),
            Err(source) => Err(Rejection::Unverifiable {
                sequence,
                kind,
                source,
            }),
        }
    }
}

fn check_epoch_field(sequence: u64, field: u64, inputs: u64) -> Result<(), Rejection> {
    if field == inputs {
        Ok(())
    } else {
        Err(Rejection::EpochField {
            sequence,
            field,
            inputs,
        })
    }
}
