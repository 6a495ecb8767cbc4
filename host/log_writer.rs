//! The service's side of the proof log: typed appends in the order the verifier replays
//! ([`super::log_verifier`] states the order), with sequence numbers, and the verifying keys
//! written next to the log when it is created.

use std::path::Path;

use ark_bls12_381::{Bls12_381, Fr};
use ark_groth16::{Proof, VerifyingKey};

use super::{
    audit::{ChunkPublicInputs, ClosingPublicInputs},
    batch::BatchPublicInputs,
    proof_log::{
        write_verifying_key, EntryKind, EntryPosition, LogEntry, LogError, Payload, ProofLog,
        TornTail,
    },
};

/// The verifying keys of a service's three proof kinds.
#[derive(Clone, Debug)]
pub struct ServiceVerifyingKeys {
    /// Batch proofs.
    pub batch: VerifyingKey<Bls12_381>,
    /// Audit chunk proofs.
    pub chunk: VerifyingKey<Bls12_381>,
    /// Audit closing proofs.
    pub closing: VerifyingKey<Bls12_381>,
}

/// Appends a service's proofs to its log, numbering entries 0, 1, 2, … in append order.
#[derive(Debug)]
pub struct LogWriter {
    log: ProofLog,
    next_sequence: u64,
}

impl LogWriter {
    /// Creates a new log in `dir` (refusing a directory that already holds one) and writes
    /// the three verifying keys next to it, before its first segment (so a log that exists
    /// always has them).
    pub fn create(dir: &Path, keys: &ServiceVerifyingKeys) -> Result<Self, LogError> {
        // The keys before the first segment: a log that exists has its keys.
        let log = ProofLog::create_with(dir, |dir| {
            write_verifying_key(dir, EntryKind::BatchProof, &keys.batch)?;
            write_verifying_key(dir, EntryKind::AuditChunkProof, &keys.chunk)?;
            write_verifying_key(dir, EntryKind::AuditClosingProof, &keys.closing)?;
            Ok(())
        })?;
        Ok(Self {
            log,
            next_sequence: 0,
        })
    }

    /// Opens the existing log in `dir` to continue it (refusing a torn tail, see
    /// [`ProofLog::open`]); returns the writer, numbering on from the last entry, and every
    /// entry the log holds.
    pub fn open(dir: &Path) -> Result<(Self, Vec<LogEntry>), LogError> {
        Self::continuing(ProofLog::open(dir)?)
    }

    /// Like [`LogWriter::open`], after cutting a torn tail off (see
    /// [`ProofLog::open_repairing`]: one hold of the writer lock for both); returns what was
    /// cut too.
    pub fn open_repairing(dir: &Path) -> Result<(Self, Vec<LogEntry>, Option<TornTail>), LogError> {
        let (log, torn) = ProofLog::open_repairing(dir)?;
        let (writer, entries) = Self::continuing(log)?;
        Ok((writer, entries, torn))
    }

    fn continuing(log: ProofLog) -> Result<(Self, Vec<LogEntry>), LogError> {
        let entries = log.entries().collect::<Result<Vec<_>, _>>()?;
        let next_sequence = entries.len() as u64;
        Ok((Self { log, next_sequence }, entries))
    }

    /// The log's directory.
    pub fn dir(&self) -> &Path {
        self.log.dir()
    }

    /// Entries appended so far (the next entry's sequence number).
    pub fn len(&self) -> u64 {
        self.next_sequence
    }

    /// Whether nothing was appended yet.
    pub fn is_empty(&self) -> bool {
        self.next_sequence == 0
    }

    /// Appends a batch proof with its public inputs.
    pub fn append_batch(
        &mut self,
        public: &BatchPublicInputs,
        proof: Proof<Bls12_381>,
    ) -> Result<EntryPosition, LogError> {
        self.append(
            EntryKind::BatchProof,
            public.epoch,
            public.to_field_elements(),
            Payload::Proof(proof),
        )
    }

    /// Appends an audit chunk proof with its public inputs.
    pub fn append_chunk(
        &mut self,
        public: &ChunkPublicInputs,
        proof: Proof<Bls12_381>,
    ) -> Result<EntryPosition, LogError> {
        self.append(
            EntryKind::AuditChunkProof,
            public.epoch,
            public.to_field_elements(),
            Payload::Proof(proof),
        )
    }

    /// Appends an audit closing proof with its public inputs.
    pub fn append_closing(
        &mut self,
        public: &ClosingPublicInputs,
        proof: Proof<Bls12_381>,
    ) -> Result<EntryPosition, LogError> {
        self.append(
            EntryKind::AuditClosingProof,
            public.epoch,
            public.to_field_elements(),
            Payload::Proof(proof),
        )
    }

    /// Marks the end of `epoch`: its audit is complete, the next entries belong to the next
    /// epoch.
    pub fn end_epoch(&mut self, epoch: u64) -> Result<EntryPosition, LogError> {
        self.append(
            EntryKind::EpochEnd,
            epoch,
            Vec::new(),
            Payload::Bytes(Vec::new()),
        )
    }

    /// Appends an entry as given, with the next sequence number. The typed appends above are
    /// what a service uses; this is for tools and for tests that write malformed logs.
    pub fn append(
        &mut self,
        kind: EntryKind,
        epoch: u64,
        public_inputs: Vec<Fr>,
        payload: Payload,
    ) -> Result<EntryPosition, LogError> {
        let entry = LogEntry {
            kind,
            epoch,
            sequence: self.next_sequence,
            public_inputs,
            payload,
        };
        let position = self.log.append(&entry)?;
        self.next_sequence += 1;
        Ok(position)
    }
}
