//! The service's journal: what a restart needs that the public proof log does not hold.
//!
//! The log holds every proof and its public inputs, but not the state behind them (the
//! tuples, which only their blinded digests reveal) nor the secrets the next audit needs (the
//! blindings behind each published digest). A service that keeps a journal
//! ([`super::service::Service::create`]) writes those here, so that after a crash
//! [`super::service::Service::resume`] can rebuild exactly the state the log vouches for and
//! carry on: the next audit balances, and the log stays one valid log.
//!
//! # What is written, and when
//!
//! * A **checkpoint** at every epoch boundary, once the epoch's end is in the log: the state
//!   the next epoch starts from (every tuple, the clock, the audited final digest and its
//!   blinding, the next batch id). Writing it removes the records of the epochs before it.
//! * A **batch record** before each batch proof is appended to the log: its public inputs,
//!   its two blindings, the storage operations of its requests and their receipts (which a
//!   crash just after the append kept from their clients). A record whose batch never
//!   reached the log (the crash came in between) is dropped on resume: its requests got no
//!   receipt, and the rebuilt state does not contain them.
//! * An **audit record** before an epoch's audit starts: the seed its witnesses (salts,
//!   blindings, chunk boundaries) are drawn from, so that an audit interrupted part-way is
//!   rebuilt identical to the chunks already in the log and finished where it stopped.
//! * A **progress record** now and then within an epoch ([`EpochProgress`]): what the
//!   epoch's logged batches wrote so far (each key's last tuple), the clock after them, and
//!   their summed contributions and blindings. It replaces the batch records it
//!   covers, which are removed, so the journal holds one file per batch only since the last
//!   one, and a resume starts from it instead of replaying the whole epoch.
//!
//! Every file is written whole or not at all ([`super::checked_file`]) and fsynced before the
//! log append it precedes, so whatever the log holds, the journal holds what explains it.
//!
//! # Secrets
//!
//! Whoever reads the journal can open every blinded digest in the log, which the zero-
//! knowledge of the proofs otherwise hides, and learns the whole state. Keep it where the
//! store's data would be kept; [`ServiceJournal::create`] makes its directory readable by its
//! owner only (on Unix).
//!
//! # One writer
//!
//! Like the log, a journal has one writer: a [`ServiceJournal`] holds the directory's writer
//! lock ([`super::writer_lock`]) for as long as it lives, so a second service creating or
//! resuming from the same directory, in this process or another, is refused with
//! [`JournalError::Locked`] before it reads or writes a record.

use std::fs;
use std::path::{Path, PathBuf};

use ark_bls12_381::Fr;
use ark_ed_on_bls12_381::{EdwardsAffine, Fr as JubjubScalar};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use thiserror::Error;

use super::audit::{AuditedFinal, EpochBatches};
use super::batch::BatchPublicInputs;
use super::checked_file::{read_checked, write_checked, CHECKED_HEADER_BYTES};
use super::proof_log::{io_error, LogError};
use super::request_commitment::{MerklePath, Receipt};
use super::service::ClientReceipt;
use super::set_digest::{BlindedDigest, Tuple};
use super::store::{StorageOp, TxRecord};
use super::writer_lock::{LockRefused, WriterLock};

/// First bytes of every journal file.
pub const JOURNAL_MAGIC: &[u8; 8] = b"SPICEJNL";

const CHECKPOINT_FILE: &str = "checkpoint.spicejournal";
const BATCH_PREFIX: &str = "batch-";
const AUDIT_PREFIX: &str = "audit-";
const PROGRESS_PREFIX: &str = "progress-";
const SUFFIX: &str = ".spicejournal";

/// Payload tags: a record filed under the wrong name is an error, not another record.
const CHECKPOINT_TAG: u8 = 1;
const BATCH_TAG: u8 = 2;
const AUDIT_TAG: u8 = 3;
const PROGRESS_TAG: u8 = 4;

/// The state an epoch starts from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The epoch that starts here.
    pub epoch: u64,
    /// The id of the epoch's first batch.
    pub next_batch_id: u64,
    /// The store's clock: every tuple's timestamp is below it.
    pub next_timestamp: u64,
    /// The previous epoch's audited final digest and its blinding (genesis for epoch 0).
    pub previous_final: AuditedFinal,
    /// Every written key's tuple, in key order (the audited final state).
    pub state: Vec<Tuple>,
}

impl Checkpoint {
    /// The start of a new service: epoch 0, nothing written.
    pub fn genesis(next_timestamp: u64) -> Self {
        Self {
            epoch: 0,
            next_batch_id: 0,
            next_timestamp,
            previous_final: AuditedFinal::genesis(),
            state: Vec::new(),
        }
    }
}

/// A batch proof's secrets and storage operations, written before the proof is logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchRecord {
    /// The batch's public inputs, as the log holds them.
    pub public: BatchPublicInputs,
    /// ρ_R, the blinding of the published RS contribution. Secret.
    pub read_blinding: JubjubScalar,
    /// ρ_W, the blinding of the published WS contribution. Secret.
    pub write_blinding: JubjubScalar,
    /// What the batch's requests read and wrote, in the batch's order.
    pub records: Vec<TxRecord>,
    /// The requests' receipts, in the same order: a batch that reached the log just before a
    /// crash may never have handed them out.
    pub receipts: Vec<ClientReceipt>,
}

/// How far an epoch has come, recorded in place of its batch records so far
/// ([`ServiceJournal::write_progress`]): what a resume starts from instead of replaying them.
/// It holds what those batches wrote, not the store's state, which runs ahead of the log by
/// whatever is executed and not logged yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochProgress {
    /// The epoch.
    pub epoch: u64,
    /// The first batch it does not cover: it covers every batch of the epoch before this id.
    pub next_batch_id: u64,
    /// The clock after those batches: one past their last request's timestamp.
    pub next_timestamp: u64,
    /// Their published contributions, summed, and the summed blindings behind them. Secret.
    pub batches: EpochBatches,
    /// The tuple of every key the covered batches wrote (its last), in key order.
    pub written: Vec<Tuple>,
    /// The receipts of covered batches that were not handed out yet when it was written (a
    /// batch `Service::prove_batch` returns after the record): a crash can have kept them
    /// from their clients, as with a batch record's.
    pub receipts: Vec<ClientReceipt>,
}

/// The seed an epoch's audit witnesses are drawn from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// The audited epoch.
    pub epoch: u64,
    /// The seed of the generator passed to [`super::audit::EpochAudit::build`]. Secret.
    pub seed: [u8; 32],
}

/// What can go wrong with a journal.
#[derive(Debug, Error)]
pub enum JournalError {
    /// Reading or writing one of its files failed, or a file is damaged.
    #[error(transparent)]
    File(#[from] LogError),
    /// [`ServiceJournal::create`] found a journal already.
    #[error("{}: a service journal exists here already", dir.display())]
    AlreadyExists {
        /// The directory.
        dir: PathBuf,
    },
    /// Another service holds the journal (its writer lock, see [`super::writer_lock`]).
    #[error("{}: the service journal is in use by another service, which holds {}", dir.display(), lock.display())]
    Locked {
        /// The journal's directory.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The directory holds no checkpoint: it is not a service's journal.
    #[error("{}: no service journal here (no checkpoint)", dir.display())]
    NotAJournal {
        /// The directory.
        dir: PathBuf,
    },
    /// The journal and the proof log do not tell one story, so the state cannot be rebuilt.
    #[error("cannot resume from the journal in {}: {reason}", dir.display())]
    Inconsistent {
        /// The journal's directory.
        dir: PathBuf,
        /// What disagrees.
        reason: String,
    },
}

/// A service's journal directory (see the module docs).
#[derive(Debug)]
pub struct ServiceJournal {
    dir: PathBuf,
    /// The directory's writer lock, held while this handle may write.
    _lock: WriterLock,
}

impl ServiceJournal {
    /// Creates a journal in `dir` (refusing one that holds a journal already) starting from
    /// `first`.
    pub fn create(dir: &Path, first: &Checkpoint) -> Result<Self, JournalError> {
        if Self::exists(dir) {
            return Err(JournalError::AlreadyExists {
                dir: dir.to_path_buf(),
            });
        }
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        restrict_to_owner(dir)?;
        let lock = lock_journal(dir)?;
        // Looked at again under the lock: another creator may have won the race.
        if Self::exists(dir) {
            return Err(JournalError::AlreadyExists {
                dir: dir.to_path_buf(),
            });
        }
        let journal = Self {
            dir: dir.to_path_buf(),
            _lock: lock,
        };
        journal.write_checkpoint(first)?;
        Ok(journal)
    }

    /// Whether `dir` holds a journal (a checkpoint).
    pub fn exists(dir: &Path) -> bool {
        dir.join(CHECKPOINT_FILE).exists()
    }

    /// Opens the journal in `dir` and reads its checkpoint.
    pub fn open(dir: &Path) -> Result<(Self, Checkpoint), JournalError> {
        if !Self::exists(dir) {
            return Err(JournalError::NotAJournal {
                dir: dir.to_path_buf(),
            });
        }
        let lock = lock_journal(dir)?;
        let path = dir.join(CHECKPOINT_FILE);
        let payload = read_checked(&path, JOURNAL_MAGIC, "journal record")?;
        let checkpoint = decode(&path, &payload, CHECKPOINT_TAG, decode_checkpoint)?;
        Ok((
            Self {
                dir: dir.to_path_buf(),
                _lock: lock,
            },
            checkpoint,
        ))
    }

    /// The journal's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Replaces the checkpoint, then removes the batch and audit records of the epochs before
    /// it (a crash in between leaves records that [`ServiceJournal::batches`] callers skip by
    /// epoch).
    pub fn write_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), JournalError> {
        let mut payload = vec![CHECKPOINT_TAG];
        encode_checkpoint(&mut payload, checkpoint)?;
        write_checked(&self.dir, CHECKPOINT_FILE, JOURNAL_MAGIC, &payload)?;
        self.remove_records(|_, epoch| epoch < checkpoint.epoch)
    }

    /// Writes a batch's record (durable when this returns).
    pub fn write_batch(&self, record: &BatchRecord) -> Result<(), JournalError> {
        let mut payload = vec![BATCH_TAG];
        encode_batch(&mut payload, record)?;
        write_checked(
            &self.dir,
            &batch_file(record.public.epoch, record.public.batch_id),
            JOURNAL_MAGIC,
            &payload,
        )?;
        Ok(())
    }

    /// The batch records of `epoch`, by batch id.
    pub fn batches(&self, epoch: u64) -> Result<Vec<BatchRecord>, JournalError> {
        let mut batches = Vec::new();
        for (name, record_epoch) in self.records()? {
            if record_epoch != epoch || !name.starts_with(BATCH_PREFIX) {
                continue;
            }
            let path = self.dir.join(&name);
            let payload = read_checked(&path, JOURNAL_MAGIC, "journal record")?;
            let record = decode(&path, &payload, BATCH_TAG, decode_batch)?;
            if name != batch_file(record.public.epoch, record.public.batch_id) {
                return Err(self.inconsistent(format!(
                    "{name} holds the record of batch {} of epoch {}",
                    record.public.batch_id, record.public.epoch
                )));
            }
            batches.push(record);
        }
        batches.sort_by_key(|record| record.public.batch_id);
        Ok(batches)
    }

    /// Removes the record of a batch that never reached the log.
    pub fn remove_batch(&self, epoch: u64, batch_id: u64) -> Result<(), JournalError> {
        let path = self.dir.join(batch_file(epoch, batch_id));
        fs::remove_file(&path).map_err(io_error(&path))?;
        Ok(())
    }

    /// Writes `progress` (durable when this returns) in place of the epoch's progress record
    /// before it, then removes the batch records it covers (a crash in between leaves records
    /// that a resume passes over and removes with [`ServiceJournal::remove_covered`]).
    pub fn write_progress(&self, progress: &EpochProgress) -> Result<(), JournalError> {
        let mut payload = vec![PROGRESS_TAG];
        encode_progress(&mut payload, progress)?;
        write_checked(
            &self.dir,
            &progress_file(progress.epoch),
            JOURNAL_MAGIC,
            &payload,
        )?;
        self.remove_covered(progress.epoch, progress.next_batch_id)
    }

    /// Removes the batch records of `epoch` before batch `next_batch_id`: those a progress
    /// record covers.
    pub fn remove_covered(&self, epoch: u64, next_batch_id: u64) -> Result<(), JournalError> {
        self.remove_records(|name, record_epoch| {
            record_epoch == epoch && batch_id_of(name).is_some_and(|id| id < next_batch_id)
        })
    }

    /// Removes every batch, audit and progress record `doomed` picks (by file name and the
    /// epoch it gives).
    fn remove_records(&self, doomed: impl Fn(&str, u64) -> bool) -> Result<(), JournalError> {
        for (name, epoch) in self.records()? {
            if doomed(&name, epoch) {
                let path = self.dir.join(name);
                fs::remove_file(&path).map_err(io_error(&path))?;
            }
        }
        Ok(())
    }

    /// The progress record of `epoch`, if one was written.
    pub fn progress(&self, epoch: u64) -> Result<Option<EpochProgress>, JournalError> {
        self.epoch_record(
            epoch,
            &progress_file(epoch),
            PROGRESS_TAG,
            decode_progress,
            |p| p.epoch,
        )
    }

    /// The record of `epoch` in `file`, if there is one, decoded and checked to be that
    /// epoch's.
    fn epoch_record<T>(
        &self,
        epoch: u64,
        file: &str,
        tag: u8,
        body: impl FnOnce(&mut &[u8]) -> Decoded<T>,
        epoch_of: impl Fn(&T) -> u64,
    ) -> Result<Option<T>, JournalError> {
        let path = self.dir.join(file);
        if !path.exists() {
            return Ok(None);
        }
        let payload = read_checked(&path, JOURNAL_MAGIC, "journal record")?;
        let record = decode(&path, &payload, tag, body)?;
        if epoch_of(&record) != epoch {
            return Err(self.inconsistent(format!(
                "{} holds a record of epoch {}",
                path.display(),
                epoch_of(&record)
            )));
        }
        Ok(Some(record))
    }

    /// Writes an audit's record (durable when this returns).
    pub fn write_audit(&self, record: &AuditRecord) -> Result<(), JournalError> {
        let mut payload = vec![AUDIT_TAG];
        record
            .epoch
            .serialize_compressed(&mut payload)
            .map_err(LogError::from)?;
        payload.extend_from_slice(&record.seed);
        write_checked(
            &self.dir,
            &audit_file(record.epoch),
            JOURNAL_MAGIC,
            &payload,
        )?;
        Ok(())
    }

    /// The audit record of `epoch`, if its audit was started.
    pub fn audit(&self, epoch: u64) -> Result<Option<AuditRecord>, JournalError> {
        self.epoch_record(
            epoch,
            &audit_file(epoch),
            AUDIT_TAG,
            |bytes| {
                let epoch = u64::deserialize_compressed(&mut *bytes).map_err(|e| e.to_string())?;
                let seed: [u8; 32] = bytes
                    .get(..32)
                    .and_then(|s| s.try_into().ok())
                    .ok_or("the seed is cut short")?;
                *bytes = &bytes[32..];
                Ok(AuditRecord { epoch, seed })
            },
            |record| record.epoch,
        )
    }

    /// An [`JournalError::Inconsistent`] about this journal.
    pub fn inconsistent(&self, reason: String) -> JournalError {
        JournalError::Inconsistent {
            dir: self.dir.clone(),
            reason,
        }
    }

    /// Every batch, audit and progress record's file name, with the epoch its name gives.
    fn records(&self) -> Result<Vec<(String, u64)>, JournalError> {
        let mut records = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io_error(&self.dir))? {
            let entry = entry.map_err(io_error(&self.dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(epoch) = record_epoch(&name) {
                records.push((name, epoch));
            }
        }
        Ok(records)
    }
}

fn batch_file(epoch: u64, batch_id: u64) -> String {
    format!("{BATCH_PREFIX}{epoch:016}-{batch_id:016}{SUFFIX}")
}

fn audit_file(epoch: u64) -> String {
    format!("{AUDIT_PREFIX}{epoch:016}{SUFFIX}")
}

fn progress_file(epoch: u64) -> String {
    format!("{PROGRESS_PREFIX}{epoch:016}{SUFFIX}")
}

/// The epoch of a batch, audit or progress record's file name; `None` for any other file.
fn record_epoch(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(SUFFIX)?;
    let rest = stem
        .strip_prefix(BATCH_PREFIX)
        .or_else(|| stem.strip_prefix(AUDIT_PREFIX))
        .or_else(|| stem.strip_prefix(PROGRESS_PREFIX))?;
    rest.get(..16)?.parse().ok()
}

/// The batch id of a batch record's file name; `None` for any other file.
fn batch_id_of(name: &str) -> Option<u64> {
    let rest = name.strip_suffix(SUFFIX)?.strip_prefix(BATCH_PREFIX)?;
    rest.get(17..)?.parse().ok()
}

/// Takes the writer lock of the journal in `dir`.
fn lock_journal(dir: &Path) -> Result<WriterLock, JournalError> {
    WriterLock::try_acquire(dir).map_err(|refused| match refused {
        LockRefused::Held { path } => JournalError::Locked {
            dir: dir.to_path_buf(),
            lock: path,
        },
        LockRefused::Io { path, source } => LogError::Io { path, source }.into(),
    })
}

#[cfg(unix)]
fn restrict_to_owner(dir: &Path) -> Result<(), JournalError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_error(dir))?;
    Ok(())
}

#[cfg(not(unix))]
fn restrict_to_owner(_dir: &Path) -> Result<(), JournalError> {
    Ok(())
}

type Encoded = Result<(), LogError>;

fn put<T: CanonicalSerialize>(out: &mut Vec<u8>, value: &T) -> Encoded {
    value.serialize_compressed(out)?;
    Ok(())
}

fn put_tuple(out: &mut Vec<u8>, tuple: &Tuple) -> Encoded {
    put(out, &tuple.key)?;
    put(out, &tuple.value)?;
    put(out, &tuple.timestamp)
}

fn put_final(out: &mut Vec<u8>, previous: &AuditedFinal) -> Encoded {
    put(out, &previous.digest.point())?;
    put(out, &previous.blinding)
}

fn encode_checkpoint(out: &mut Vec<u8>, c: &Checkpoint) -> Encoded {
    put(out, &c.epoch)?;
    put(out, &c.next_batch_id)?;
    put(out, &c.next_timestamp)?;
    put_final(out, &c.previous_final)?;
    put(out, &(c.state.len() as u64))?;
    c.state.iter().try_for_each(|tuple| put_tuple(out, tuple))
}

fn encode_progress(out: &mut Vec<u8>, p: &EpochProgress) -> Encoded {
    put(out, &p.epoch)?;
    put(out, &p.next_batch_id)?;
    put(out, &p.next_timestamp)?;
    put(out, &p.batches.read_sum.point())?;
    put(out, &p.batches.write_sum.point())?;
    put(out, &p.batches.read_blinding)?;
    put(out, &p.batches.write_blinding)?;
    put(out, &(p.written.len() as u64))?;
    p.written
        .iter()
        .try_for_each(|tuple| put_tuple(out, tuple))?;
    put_receipts(out, &p.receipts)
}

fn put_receipts(out: &mut Vec<u8>, receipts: &[ClientReceipt]) -> Encoded {
    put(out, &(receipts.len() as u64))?;
    for r in receipts {
        put(out, &r.epoch)?;
        put(out, &r.batch_id)?;
        put(out, &(r.receipt.slot as u64))?;
        put(out, &r.receipt.salt)?;
        put(out, &r.receipt.path.siblings)?;
        put(out, &r.request)?;
        put(out, &r.response)?;
    }
    Ok(())
}

fn encode_batch(out: &mut Vec<u8>, b: &BatchRecord) -> Encoded {
    put(out, &b.public.to_field_elements())?;
    put(out, &b.read_blinding)?;
    put(out, &b.write_blinding)?;
    put(out, &(b.records.len() as u64))?;
    for record in &b.records {
        put(out, &record.epoch)?;
        put(out, &record.t_req)?;
        put(out, &(record.ops.len() as u64))?;
        for op in &record.ops {
            put_tuple(out, &op.old)?;
            put_tuple(out, &op.new)?;
        }
    }
    put_receipts(out, &b.receipts)
}

type Decoded<T> = Result<T, String>;

fn get<T: CanonicalDeserialize>(bytes: &mut &[u8]) -> Decoded<T> {
    T::deserialize_compressed(bytes).map_err(|e| e.to_string())
}

/// A count that cannot be more than the bytes left (each element takes at least one), so a
/// damaged count cannot make the reader allocate without bound.
fn get_len(bytes: &mut &[u8]) -> Decoded<usize> {
    let n: u64 = get(bytes)?;
    if n > bytes.len() as u64 {
        return Err(format!("a count of {n} with {} bytes left", bytes.len()));
    }
    Ok(n as usize)
}

fn get_tuple(bytes: &mut &[u8]) -> Decoded<Tuple> {
    Ok(Tuple::new(get(bytes)?, get(bytes)?, get(bytes)?))
}

fn decode_checkpoint(bytes: &mut &[u8]) -> Decoded<Checkpoint> {
    let epoch = get(bytes)?;
    let next_batch_id = get(bytes)?;
    let next_timestamp = get(bytes)?;
    let digest = BlindedDigest::from_point(get::<EdwardsAffine>(bytes)?);
    let blinding = get(bytes)?;
    let state = (0..get_len(bytes)?)
        .map(|_| get_tuple(bytes))
        .collect::<Decoded<_>>()?;
    Ok(Checkpoint {
        epoch,
        next_batch_id,
        next_timestamp,
        previous_final: AuditedFinal { digest, blinding },
        state,
    })
}

fn decode_progress(bytes: &mut &[u8]) -> Decoded<EpochProgress> {
    let epoch = get(bytes)?;
    let next_batch_id = get(bytes)?;
    let next_timestamp = get(bytes)?;
    let read_sum = BlindedDigest::from_point(get::<EdwardsAffine>(bytes)?);
    let write_sum = BlindedDigest::from_point(get::<EdwardsAffine>(bytes)?);
    let batches = EpochBatches {
        read_sum,
        write_sum,
        read_blinding: get(bytes)?,
        write_blinding: get(bytes)?,
    };
    let written = (0..get_len(bytes)?)
        .map(|_| get_tuple(bytes))
        .collect::<Decoded<_>>()?;
    let receipts = get_receipts(bytes)?;
    Ok(EpochProgress {
        epoch,
        next_batch_id,
        next_timestamp,
        batches,
        written,
        receipts,
    })
}

fn get_receipts(bytes: &mut &[u8]) -> Decoded<Vec<ClientReceipt>> {
    (0..get_len(bytes)?)
        .map(|_| {
            let (epoch, batch_id, slot) = (get(bytes)?, get(bytes)?, get::<u64>(bytes)?);
            let slot = usize::try_from(slot).map_err(|_| format!("slot {slot} does not fit"))?;
            let receipt = Receipt {
                slot,
                salt: get(bytes)?,
                path: MerklePath {
                    siblings: get(bytes)?,
                },
            };
            Ok(ClientReceipt {
                epoch,
                batch_id,
                receipt,
                request: get(bytes)?,
                response: get(bytes)?,
            })
        })
        .collect()
}

fn decode_batch(bytes: &mut &[u8]) -> Decoded<BatchRecord> {
    let fields: Vec<Fr> = get(bytes)?;
    let public = BatchPublicInputs::from_field_elements(&fields).map_err(|e| e.to_string())?;
    let read_blinding = get(bytes)?;
    let write_blinding = get(bytes)?;
    let records = (0..get_len(bytes)?)
        .map(|_| {
            let epoch = get(bytes)?;
            let t_req = get(bytes)?;
            let ops = (0..get_len(bytes)?)
                .map(|_| {
                    Ok(StorageOp {
                        old: get_tuple(bytes)?,
                        new: get_tuple(bytes)?,
                    })
                })
                .collect::<Decoded<_>>()?;
            Ok(TxRecord { epoch, t_req, ops })
        })
        .collect::<Decoded<_>>()?;
    let receipts = get_receipts(bytes)?;
    Ok(BatchRecord {
        public,
        read_blinding,
        write_blinding,
        records,
        receipts,
    })
}

/// Decodes a payload of kind `tag` completely (no trailing bytes).
fn decode<T>(
    path: &Path,
    payload: &[u8],
    tag: u8,
    body: impl FnOnce(&mut &[u8]) -> Decoded<T>,
) -> Result<T, JournalError> {
    let bad = |reason: String| LogError::BadEncoding {
        file: path.to_path_buf(),
        offset: CHECKED_HEADER_BYTES,
        what: "journal record",
        reason,
    };
    let (&found, mut rest) = payload
        .split_first()
        .ok_or_else(|| bad("empty payload".into()))?;
    if found != tag {
        return Err(bad(format!("record tag {found}, expected {tag}")).into());
    }
    let value = body(&mut rest).map_err(bad)?;
    if !rest.is_empty() {
        return Err(bad(format!("{} trailing bytes", rest.len())).into());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;
    use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
    use proptest::prelude::*;

    fn tuple(rng: &mut StdRng) -> Tuple {
        Tuple::new(Fr::rand(rng), Fr::rand(rng), rng.gen())
    }

    fn batch(rng: &mut StdRng, epoch: u64, batch_id: u64, requests: usize) -> BatchRecord {
        let point = |rng: &mut StdRng| BlindedDigest::from_point(EdwardsAffine::rand(rng));
        BatchRecord {
            public: BatchPublicInputs {
                epoch,
                batch_id,
                root: Fr::rand(rng),
                read_set: point(rng),
                write_set: point(rng),
            },
            read_blinding: JubjubScalar::rand(rng),
            write_blinding: JubjubScalar::rand(rng),
            records: (0..requests)
                .map(|_| TxRecord {
                    epoch,
                    t_req: rng.gen(),
                    ops: (0..rng.gen_range(1..4))
                        .map(|_| StorageOp {
                            old: tuple(rng),
                            new: tuple(rng),
                        })
                        .collect(),
                })
                .collect(),
            receipts: (0..requests)
                .map(|slot| ClientReceipt {
                    epoch,
                    batch_id,
                    receipt: Receipt {
                        slot,
                        salt: Fr::rand(rng),
                        path: MerklePath {
                            siblings: (0..rng.gen_range(0..5)).map(|_| Fr::rand(rng)).collect(),
                        },
                    },
                    request: (0..rng.gen_range(1..6)).map(|_| Fr::rand(rng)).collect(),
                    response: (0..rng.gen_range(1..4)).map(|_| Fr::rand(rng)).collect(),
                })
                .collect(),
        }
    }

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "spice-journal-{name}-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn rand_suffix() -> u64 {
        StdRng::from_entropy().gen()
    }

    /// Flips bit `bit` of the byte at `at` in the file.
    fn flip(path: &Path, at: prop::sample::Index, bit: u8) {
        let mut bytes = fs::read(path).unwrap();
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        fs::write(path, &bytes).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        #[test]
        fn records_read_back_exactly(seed in any::<u64>(), keys in 0usize..20, requests in 0usize..6) {
            let mut rng = StdRng::seed_from_u64(seed);
            let dir = dir("roundtrip");
            let first = Checkpoint {
                epoch: rng.gen_range(0..5),
                next_batch_id: rng.gen(),
                next_timestamp: rng.gen(),
                previous_final: AuditedFinal { digest: BlindedDigest::from_point(EdwardsAffine::rand(&mut rng)), blinding: JubjubScalar::rand(&mut rng) },
                state: (0..keys).map(|_| tuple(&mut rng)).collect(),
            };
            let journal = ServiceJournal::create(&dir, &first).unwrap();
            let epoch = first.epoch;
            let mut written: Vec<BatchRecord> = (0..3u64).map(|i| batch(&mut rng, epoch, 10 - i, requests)).collect();
            for record in &written {
                journal.write_batch(record).unwrap();
            }
            let audit = AuditRecord { epoch, seed: rng.gen() };
            journal.write_audit(&audit).unwrap();
            drop(journal);
            let (journal, checkpoint) = ServiceJournal::open(&dir).unwrap();
            prop_assert_eq!(&checkpoint, &first);
            written.sort_by_key(|r| r.public.batch_id);
            prop_assert_eq!(journal.batches(epoch).unwrap(), written);
            prop_assert!(journal.batches(epoch + 1).unwrap().is_empty());
            prop_assert_eq!(journal.audit(epoch).unwrap(), Some(audit));
            prop_assert_eq!(journal.audit(epoch + 1).unwrap(), None);
            fs::remove_dir_all(&dir).unwrap();
        }

        #[test]
        fn a_flipped_byte_in_any_record_is_an_error(seed in any::<u64>(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let mut rng = StdRng::seed_from_u64(seed);
            let dir = dir("flip");
            let journal = ServiceJournal::create(&dir, &Checkpoint::genesis(1)).unwrap();
            journal.write_batch(&batch(&mut rng, 0, 0, 2)).unwrap();
            flip(&dir.join(batch_file(0, 0)), at, bit);
            prop_assert!(journal.batches(0).is_err());
            fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn a_checkpoint_removes_the_records_of_earlier_epochs_only() {
        let mut rng = StdRng::seed_from_u64(7);
        let dir = dir("compact");
        let journal = ServiceJournal::create(&dir, &Checkpoint::genesis(1)).unwrap();
        journal.write_batch(&batch(&mut rng, 0, 0, 1)).unwrap();
        journal.write_batch(&batch(&mut rng, 1, 1, 1)).unwrap();
        journal
            .write_audit(&AuditRecord {
                epoch: 0,
                seed: [3; 32],
            })
            .unwrap();
        journal
            .write_checkpoint(&Checkpoint {
                epoch: 1,
                ..Checkpoint::genesis(9)
            })
            .unwrap();
        assert!(journal.batches(0).unwrap().is_empty());
        assert_eq!(journal.audit(0).unwrap(), None);
        assert_eq!(journal.batches(1).unwrap().len(), 1);
        drop(journal);
        assert_eq!(ServiceJournal::open(&dir).unwrap().1.epoch, 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    fn progress(rng: &mut StdRng, epoch: u64, next_batch_id: u64, keys: usize) -> EpochProgress {
        let point = |rng: &mut StdRng| BlindedDigest::from_point(EdwardsAffine::rand(rng));
        EpochProgress {
            epoch,
            next_batch_id,
            next_timestamp: rng.gen(),
            batches: EpochBatches {
                read_sum: point(rng),
                write_sum: point(rng),
                read_blinding: JubjubScalar::rand(rng),
                write_blinding: JubjubScalar::rand(rng),
            },
            written: (0..keys).map(|_| tuple(rng)).collect(),
            receipts: batch(rng, epoch, next_batch_id, keys % 3).receipts,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// A progress record reads back exactly, replaces the one before it, and takes the
        /// place of exactly the batch records it covers; a flipped byte is an error.
        #[test]
        fn a_progress_record_replaces_the_batch_records_it_covers(
            seed in any::<u64>(),
            keys in 0usize..12,
            covered in 0u64..6,
            at in any::<prop::sample::Index>(),
            bit in 0u8..8,
        ) {
            let mut rng = StdRng::seed_from_u64(seed);
            let dir = dir("progress");
            let journal = ServiceJournal::create(&dir, &Checkpoint { epoch: 2, ..Checkpoint::genesis(1) }).unwrap();
            for id in 0..6 {
                journal.write_batch(&batch(&mut rng, 2, 10 + id, 1)).unwrap();
            }
            // Another epoch's record with a covered id stays: only the epoch's own go.
            journal.write_batch(&batch(&mut rng, 3, 10, 1)).unwrap();
            prop_assert_eq!(journal.progress(2).unwrap(), None);
            journal.write_progress(&progress(&mut rng, 2, 10 + covered / 2, keys)).unwrap();
            let last = progress(&mut rng, 2, 10 + covered, keys);
            journal.write_progress(&last).unwrap();
            drop(journal);
            let (journal, _) = ServiceJournal::open(&dir).unwrap();
            prop_assert_eq!(journal.progress(2).unwrap(), Some(last.clone()));
            prop_assert_eq!(journal.progress(3).unwrap(), None);
            let left: Vec<u64> = journal.batches(2).unwrap().iter().map(|b| b.public.batch_id).collect();
            prop_assert_eq!(left, (10 + covered..16).collect::<Vec<_>>());
            prop_assert_eq!(journal.batches(3).unwrap().len(), 1);
            flip(&dir.join(progress_file(2)), at, bit);
            prop_assert!(journal.progress(2).is_err());
            fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn a_checkpoint_removes_the_progress_records_of_earlier_epochs() {
        let mut rng = StdRng::seed_from_u64(8);
        let dir = dir("progress-checkpoint");
        let journal = ServiceJournal::create(&dir, &Checkpoint::genesis(1)).unwrap();
        journal
            .write_progress(&progress(&mut rng, 0, 3, 2))
            .unwrap();
        journal
            .write_checkpoint(&Checkpoint {
                epoch: 1,
                ..Checkpoint::genesis(9)
            })
            .unwrap();
        assert_eq!(journal.progress(0).unwrap(), None);
        assert!(!dir.join(progress_file(0)).exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn create_refuses_an_existing_journal_and_open_a_directory_without_one() {
        let dir = dir("exists");
        ServiceJournal::create(&dir, &Checkpoint::genesis(1)).unwrap();
        assert!(matches!(
            ServiceJournal::create(&dir, &Checkpoint::genesis(1)),
            Err(JournalError::AlreadyExists { .. })
        ));
        let empty = self::dir("empty");
        fs::create_dir_all(&empty).unwrap();
        assert!(matches!(
            ServiceJournal::open(&empty),
            Err(JournalError::NotAJournal { .. })
        ));
        fs::remove_dir_all(&dir).unwrap();
        fs::remove_dir_all(&empty).unwrap();
    }

    #[test]
    fn a_journal_has_one_writer_at_a_time() {
        let dir = dir("locked");
        let first = ServiceJournal::create(&dir, &Checkpoint::genesis(1)).unwrap();
        match ServiceJournal::open(&dir) {
            Err(JournalError::Locked { dir: locked, lock }) => {
                assert_eq!(locked, dir);
                assert_eq!(lock, dir.join(crate::host::writer_lock::WRITER_LOCK_FILE));
            }
            other => panic!("a second writer got {other:?}"),
        }
        // The lock file is no record: the journal's listings pass over it.
        assert!(first.batches(0).unwrap().is_empty());
        assert_eq!(first.audit(0).unwrap(), None);
        drop(first);
        let (second, checkpoint) = ServiceJournal::open(&dir).unwrap();
        assert_eq!(checkpoint, Checkpoint::genesis(1));
        assert!(matches!(
            ServiceJournal::open(&dir),
            Err(JournalError::Locked { .. })
        ));
        drop(second);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn the_journal_directory_is_the_owners_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = dir("mode");
        ServiceJournal::create(&dir, &Checkpoint::genesis(1)).unwrap();
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
