//! The proof log: an append-only record of every proof the service produces, with its public
//! inputs, which the verifier replays (DESIGN §4: "the verifier replays this log").
//!
//! This file is the *container* only: it stores entries durably and hands them back exactly,
//! or reports precisely where and why it cannot. It does not interpret epochs, sequence
//! numbers or public inputs; checking those is the verifier's job.
//!
//! # Layout on disk
//!
//! A log is a directory holding numbered segment files `segment-00000000.spicelog`,
//! `segment-00000001.spicelog`, … (indices contiguous from 0, at least one), plus one
//! verifying-key file per proof kind (`batch-proof.vk`, …, see [`write_verifying_key`]).
//! Only the last segment is ever written; a new one starts when the next entry would take the
//! current one past the segment limit ([`DEFAULT_SEGMENT_BYTES`]), so finished segments can
//! be archived or copied while the service runs.
//!
//! Every segment starts with a 20-byte header, then holds frames back to back:
//!
//! ```text
//! segment header   magic "SPICELOG" (8) | format version u32 LE (4) | segment index u64 LE (8)
//! frame            n: u32 LE (4) | !n: u32 LE (4) | SHA-256(n ‖ !n ‖ payload) (32) | payload (n)
//! payload          ark-serialize, compressed, in this order:
//!                  kind tag u8 | epoch u64 | sequence u64 | public inputs Vec<Fr>
//!                  | Proof<Bls12_381> (kinds that carry a proof) or Vec<u8> (the others)
//! ```
//!
//! Every byte is checked: the magic, the version and the segment index (which must match the
//! file name) by comparison, the length by its complement, everything else by the checksum,
//! and a payload that passes its checksum must still decode completely (points on the curve
//! and in the subgroup, field elements canonical, no trailing bytes). A flipped byte is
//! therefore always an error, never a different entry.
//!
//! # Durability and torn tails
//!
//! [`ProofLog::append`] writes a whole frame with one `write` and returns only after
//! `fdatasync`, so an entry it acknowledged survives a crash. New segments are written to a
//! temporary file and renamed into place, so a segment never exists without its header.
//! A crash *during* an append can leave a partial frame at the end of the last segment — a
//! **torn tail**. Readers report it as [`LogError::Truncated`] naming the file and the
//! offset of the incomplete frame, after yielding every complete entry before it.
//!
//! **Opening for append refuses a torn tail** ([`ProofLog::open`] returns the error);
//! truncating is an explicit, separate step ([`ProofLog::repair`]) that an operator or the
//! service's start-up code chooses to run. We refuse rather than truncate silently because
//! the same symptom — a bad last frame — can also be damage to an acknowledged proof, and
//! dropping that should never happen without someone asking for it.
//!
//! The length's complement is what keeps a damaged length field from posing as a torn tail:
//! a length that disagrees with its complement is [`LogError::CorruptFrame`], which `repair`
//! does not touch (unless everything from there to the end is zero bytes: see `repair`).
//!
//! # One writer
//!
//! A log has one writer at a time: the service shares one [`ProofLog`] behind a `Mutex`.
//! Every [`ProofLog`] holds the directory's writer lock ([`super::writer_lock`], the file
//! `writer.lock`) for as long as it lives, and [`ProofLog::repair`] holds it while it cuts,
//! so a second writer — a second service on the same directory, in this process or another,
//! or a repair of a log that is being written — is refused with [`LogError::Locked`] instead
//! of interleaving its appends. Readers take no lock; a reader of a log that is being written
//! ([`LogFollower`]) reads each entry once it is complete, and asks the lock
//! ([`super::writer_lock::WriterLock::is_held`]) whether an incomplete last frame is an append
//! in progress or a torn tail.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::iter::FusedIterator;
use std::path::{Path, PathBuf};

use ark_bls12_381::{Bls12_381, Fr};
use ark_groth16::{Proof, VerifyingKey};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, SerializationError};
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::checked_file::{read_checked, write_checked, CHECKED_HEADER_BYTES};
use super::writer_lock::{LockRefused, WriterLock};

/// First bytes of every segment file.
pub const SEGMENT_MAGIC: &[u8; 8] = b"SPICELOG";
/// Version of the segment and frame format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes of a segment header: magic, version, segment index.
pub const SEGMENT_HEADER_BYTES: u64 = 8 + 4 + 8;
/// Bytes of a frame header: length, its complement, SHA-256.
pub const FRAME_HEADER_BYTES: u64 = 4 + 4 + 32;
/// Largest payload of one entry. It bounds what a reader allocates for a frame whose length
/// field is damaged in a way the complement cannot catch; real entries (a 192-byte proof and
/// a handful of public inputs) are far smaller.
pub const MAX_ENTRY_BYTES: u32 = 16 << 20;
/// Segment size at which [`ProofLog::append`] starts a new segment, unless changed with
/// [`ProofLog::set_segment_limit`].
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;

/// First bytes of a verifying-key file.
pub const VERIFYING_KEY_MAGIC: &[u8; 8] = b"SPICEVK\0";

/// What an entry records.
///
/// To add a kind: add a variant, give it a **new** tag in [`EntryKind::tag`] (never reuse
/// one: old logs keep their meaning), a file-name-safe name, say whether it carries a proof,
/// and list it in [`EntryKind::ALL`]. The format version does not change; a build that does
/// not know the kind reports its entries as [`LogError::BadEncoding`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    /// A batch proof: requests executed against the store, with their RS/WS contributions.
    BatchProof,
    /// A proof for one key-range chunk of an epoch's audit.
    AuditChunkProof,
    /// The proof that closes an epoch's audit (chains the chunks, checks the digest balance).
    AuditClosingProof,
    /// Marks the end of an epoch: no batch of this epoch follows. Carries opaque bytes.
    EpochEnd,
}

impl EntryKind {
    /// Every kind, in tag order.
    pub const ALL: [EntryKind; 4] = [
        EntryKind::BatchProof,
        EntryKind::AuditChunkProof,
        EntryKind::AuditClosingProof,
        EntryKind::EpochEnd,
    ];

    /// The byte that identifies the kind on disk. Tags are permanent.
    pub fn tag(self) -> u8 {
        match self {
            EntryKind::BatchProof => 1,
            EntryKind::AuditChunkProof => 2,
            EntryKind::AuditClosingProof => 3,
            EntryKind::EpochEnd => 4,
        }
    }

    /// The kind with tag `tag`, if this build knows one.
    pub fn from_tag(tag: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.tag() == tag)
    }

    /// A short name, usable in file names (the verifying-key files are named after it).
    pub fn name(self) -> &'static str {
        match self {
            EntryKind::BatchProof => "batch-proof",
            EntryKind::AuditChunkProof => "audit-chunk-proof",
            EntryKind::AuditClosingProof => "audit-closing-proof",
            EntryKind::EpochEnd => "epoch-end",
        }
    }

    /// Whether entries of this kind carry a Groth16 proof ([`Payload::Proof`]); the others
    /// carry opaque bytes ([`Payload::Bytes`]).
    pub fn carries_proof(self) -> bool {
        match self {
            EntryKind::BatchProof | EntryKind::AuditChunkProof | EntryKind::AuditClosingProof => {
                true
            }
            EntryKind::EpochEnd => false,
        }
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an entry carries besides its public inputs.
// Proofs are the common payload; boxing them to shrink the rare `Bytes` case would cost an
// allocation per entry for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    /// A Groth16 proof (stored compressed: 192 bytes).
    Proof(Proof<Bls12_381>),
    /// Opaque bytes, for kinds that carry no proof.
    Bytes(Vec<u8>),
}

/// One record of the log.
#[derive(Clone, Debug, PartialEq)]
pub struct LogEntry {
    /// What the entry records; decides the form of `payload`.
    pub kind: EntryKind,
    /// The epoch the entry belongs to.
    pub epoch: u64,
    /// The writer's sequence number (the log stores it; the verifier interprets it).
    pub sequence: u64,
    /// The public inputs the proof is verified against.
    pub public_inputs: Vec<Fr>,
    /// The proof, or opaque bytes.
    pub payload: Payload,
}

impl LogEntry {
    /// An entry carrying `proof`. `kind` must be one that [carries a
    /// proof](EntryKind::carries_proof), or [`ProofLog::append`] refuses the entry.
    pub fn with_proof(
        kind: EntryKind,
        epoch: u64,
        sequence: u64,
        public_inputs: Vec<Fr>,
        proof: Proof<Bls12_381>,
    ) -> Self {
        Self {
            kind,
            epoch,
            sequence,
            public_inputs,
            payload: Payload::Proof(proof),
        }
    }

    /// An end-of-epoch marker with opaque `bytes` (may be empty).
    pub fn epoch_end(epoch: u64, sequence: u64, bytes: Vec<u8>) -> Self {
        Self {
            kind: EntryKind::EpochEnd,
            epoch,
            sequence,
            public_inputs: Vec::new(),
            payload: Payload::Bytes(bytes),
        }
    }

    /// The proof, if the entry carries one.
    pub fn proof(&self) -> Option<&Proof<Bls12_381>> {
        match &self.payload {
            Payload::Proof(proof) => Some(proof),
            Payload::Bytes(_) => None,
        }
    }

    /// The payload in the documented encoding (see the module docs).
    fn encode(&self) -> Result<Vec<u8>, LogError> {
        match (&self.payload, self.kind.carries_proof()) {
            (Payload::Proof(_), true) | (Payload::Bytes(_), false) => {}
            (_, carries_proof) => {
                return Err(LogError::WrongPayload {
                    kind: self.kind,
                    expected: if carries_proof {
                        "a proof"
                    } else {
                        "opaque bytes"
                    },
                })
            }
        }
        let mut out = Vec::new();
        self.kind.tag().serialize_compressed(&mut out)?;
        self.epoch.serialize_compressed(&mut out)?;
        self.sequence.serialize_compressed(&mut out)?;
        self.public_inputs.serialize_compressed(&mut out)?;
        match &self.payload {
            Payload::Proof(proof) => proof.serialize_compressed(&mut out)?,
            Payload::Bytes(bytes) => bytes.serialize_compressed(&mut out)?,
        }
        Ok(out)
    }

    /// Decodes a payload that passed its checksum; the error is the reason it does not decode.
    fn decode(mut bytes: &[u8]) -> Result<Self, String> {
        let reader = &mut bytes;
        let field = |what: &str, e: SerializationError| format!("{what}: {e}");
        let tag = u8::deserialize_compressed(&mut *reader).map_err(|e| field("kind", e))?;
        let kind =
            EntryKind::from_tag(tag).ok_or_else(|| format!("unknown entry kind tag {tag}"))?;
        let epoch = u64::deserialize_compressed(&mut *reader).map_err(|e| field("epoch", e))?;
        let sequence =
            u64::deserialize_compressed(&mut *reader).map_err(|e| field("sequence", e))?;
        let public_inputs = Vec::<Fr>::deserialize_compressed(&mut *reader)
            .map_err(|e| field("public inputs", e))?;
        // Checked deserialization: a proof point off the curve or outside the subgroup is an
        // encoding error here rather than a confusing verification failure later.
        let payload = if kind.carries_proof() {
            Payload::Proof(
                Proof::deserialize_compressed(&mut *reader).map_err(|e| field("proof", e))?,
            )
        } else {
            Payload::Bytes(
                Vec::<u8>::deserialize_compressed(&mut *reader).map_err(|e| field("bytes", e))?,
            )
        };
        if !reader.is_empty() {
            return Err(format!("{} trailing bytes after the entry", reader.len()));
        }
        Ok(Self {
            kind,
            epoch,
            sequence,
            public_inputs,
            payload,
        })
    }
}

/// Where an entry lies: its segment and the offset of its frame in that segment's file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryPosition {
    /// Index of the segment file.
    pub segment: u64,
    /// Byte offset of the entry's frame in the segment file.
    pub offset: u64,
}

impl fmt::Display for EntryPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "segment {}, offset {}", self.segment, self.offset)
    }
}

/// A torn tail that [`ProofLog::repair`] cut off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// The segment file that was truncated.
    pub file: PathBuf,
    /// Where the incomplete frame began (the file's new length).
    pub offset: u64,
    /// How many bytes were removed.
    pub dropped_bytes: u64,
}

/// Everything that can go wrong with a proof log or a verifying-key file. Errors about file
/// contents name the file and the byte offset of the damaged frame or field.
#[derive(Debug, Error)]
pub enum LogError {
    /// An I/O operation on `path` failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The file does not start with the expected magic bytes.
    #[error("{}: bad magic at offset {offset}: not a spice {expected}", file.display())]
    BadMagic {
        /// The file.
        file: PathBuf,
        /// Offset of the magic (0).
        offset: u64,
        /// What the file should have been.
        expected: &'static str,
    },
    /// The file is of a format version this build does not read.
    #[error("{}: format version {found} at offset {offset}; this build reads version {supported}", file.display())]
    UnsupportedVersion {
        /// The file.
        file: PathBuf,
        /// Offset of the version field.
        offset: u64,
        /// The version the file declares.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// A segment's header names another segment index than its file name (a misplaced or
    /// corrupted segment).
    #[error("{}: segment header at offset {offset} says segment {found}, the file name says {expected}", file.display())]
    SegmentMismatch {
        /// The file.
        file: PathBuf,
        /// Offset of the index field.
        offset: u64,
        /// The index from the file name.
        expected: u64,
        /// The index in the header.
        found: u64,
    },
    /// A frame's length field disagrees with its complement, or exceeds [`MAX_ENTRY_BYTES`].
    #[error("{}: corrupt frame header at offset {offset}: {reason}", file.display())]
    CorruptFrame {
        /// The file.
        file: PathBuf,
        /// Offset of the frame.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The bytes covered by a checksum do not match it.
    #[error("{}: checksum mismatch in the {what} at offset {offset}: the file is corrupted", file.display())]
    ChecksumMismatch {
        /// The file.
        file: PathBuf,
        /// Offset of the frame (or of the key file's payload).
        offset: u64,
        /// What the checksum covers ("entry", "verifying key").
        what: &'static str,
    },
    /// The file ends inside a header or a frame: a torn tail if it is the last frame of the
    /// last segment, see [`ProofLog::repair`].
    #[error("{}: truncated at offset {offset}: the {what} there needs {needed} bytes, the file has {available}", file.display())]
    Truncated {
        /// The file.
        file: PathBuf,
        /// Offset of the incomplete header or frame.
        offset: u64,
        /// What is incomplete ("segment header", "entry", …).
        what: &'static str,
        /// Bytes it needs (for a frame whose length is unreadable: the frame header's).
        needed: u64,
        /// Bytes the file has from `offset` on.
        available: u64,
    },
    /// A payload passed its checksum but does not decode (written by a buggy or newer
    /// writer: an unknown kind, a point not on the curve, trailing bytes, …).
    #[error("{}: the {what} at offset {offset} does not decode: {reason}", file.display())]
    BadEncoding {
        /// The file.
        file: PathBuf,
        /// Offset of the frame (or of the key file's payload).
        offset: u64,
        /// "entry" or "verifying key".
        what: &'static str,
        /// Why it does not decode.
        reason: String,
    },
    /// Segment `index` is absent although a later one exists.
    #[error("{}: segment {index} is missing (the last segment is {last})", dir.display())]
    MissingSegment {
        /// The log directory.
        dir: PathBuf,
        /// The missing index.
        index: u64,
        /// The highest index present.
        last: u64,
    },
    /// A segment is shorter than entries already read from it (by a [`LogFollower`]): bytes
    /// that were a complete entry are gone.
    #[error("{}: the file shrank to {len} bytes under entries read up to offset {offset}", file.display())]
    Shrank {
        /// The file.
        file: PathBuf,
        /// The end of the entries already read.
        offset: u64,
        /// The file's length now.
        len: u64,
    },
    /// The directory holds no segment file.
    #[error("{}: no proof log here (no segment files)", dir.display())]
    NotALog {
        /// The directory.
        dir: PathBuf,
    },
    /// Another writer holds the log (its [`super::writer_lock::WRITER_LOCK_FILE`]): a service or repair in this
    /// process or another. A log has one writer; stop the other one first.
    #[error("{}: the proof log is in use by another writer, which holds {}", dir.display(), lock.display())]
    Locked {
        /// The log directory.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// [`ProofLog::create`] found segment files already.
    #[error("{}: a proof log already exists here", dir.display())]
    AlreadyExists {
        /// The directory.
        dir: PathBuf,
    },
    /// An entry's encoding is larger than [`MAX_ENTRY_BYTES`].
    #[error("entry of {bytes} bytes exceeds the limit of {max} bytes")]
    EntryTooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        max: u32,
    },
    /// An entry's payload does not fit its kind.
    #[error("a {kind} entry must carry {expected}")]
    WrongPayload {
        /// The entry's kind.
        kind: EntryKind,
        /// What it must carry.
        expected: &'static str,
    },
    /// An entry could not be serialized.
    #[error("cannot serialize the entry: {0}")]
    Serialize(#[from] SerializationError),
    /// An earlier append failed part-way; this handle writes nothing more. Reopen the log
    /// with [`ProofLog::open`] (which checks the tail) to continue.
    #[error("an earlier append failed; reopen the log to continue appending")]
    Poisoned,
    /// Asked for the verifying key of a kind that carries no proof.
    #[error("{kind} entries carry no proof, so they have no verifying key")]
    NoVerifyingKey {
        /// The kind.
        kind: EntryKind,
    },
    /// A verifying-key file holds the key of another kind than its name says.
    #[error("{}: holds the verifying key for kind tag {found}, expected {expected}", file.display())]
    WrongKeyKind {
        /// The file.
        file: PathBuf,
        /// The kind tag in the file.
        found: u8,
        /// The kind asked for.
        expected: EntryKind,
    },
}

impl LogError {
    /// Whether a read found fewer bytes than the frame needs: the frame's end is not in the
    /// file (yet), or the file is shorter than the length the reader took (cut back since).
    fn is_short_read(&self) -> bool {
        match self {
            LogError::Truncated { .. } => true,
            LogError::Io { source, .. } => source.kind() == io::ErrorKind::UnexpectedEof,
            _ => false,
        }
    }
}

pub(crate) fn io_error(path: &Path) -> impl FnOnce(io::Error) -> LogError + '_ {
    move |source| LogError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The file of segment `index` in `dir`.
pub fn segment_path(dir: &Path, index: u64) -> PathBuf {
    dir.join(format!("segment-{index:08}.spicelog"))
}

/// The segment index a file name stands for, if it is exactly a segment name (so that
/// `segment-1.spicelog` and `segment-00000001.spicelog` cannot both count as segment 1).
fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("segment-")?.strip_suffix(".spicelog")?;
    let index = digits.parse::<u64>().ok()?;
    (format!("{index:08}") == digits).then_some(index)
}

/// Indices of the segment files in `dir`, sorted.
fn segment_indices(dir: &Path) -> Result<Vec<u64>, LogError> {
    let mut indices = Vec::new();
    for item in fs::read_dir(dir).map_err(io_error(dir))? {
        let item = item.map_err(io_error(dir))?;
        if let Some(index) = item.file_name().to_str().and_then(parse_segment_name) {
            indices.push(index);
        }
    }
    indices.sort_unstable();
    Ok(indices)
}

/// Number of segments of the log in `dir`, checking that they are numbered 0, 1, … without
/// a gap (a lost segment would otherwise silently drop its entries).
fn segment_count(dir: &Path) -> Result<u64, LogError> {
    let indices = segment_indices(dir)?;
    let Some(&last) = indices.last() else {
        return Err(LogError::NotALog {
            dir: dir.to_path_buf(),
        });
    };
    for (expected, &found) in (0u64..).zip(&indices) {
        if found != expected {
            return Err(LogError::MissingSegment {
                dir: dir.to_path_buf(),
                index: expected,
                last,
            });
        }
    }
    Ok(last + 1)
}

/// fsyncs a directory, so that a file created or renamed in it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

/// Takes the writer lock of the log in `dir` (see [`super::writer_lock`]).
fn lock_log(dir: &Path) -> Result<WriterLock, LogError> {
    WriterLock::try_acquire(dir).map_err(|refused| match refused {
        LockRefused::Held { path } => LogError::Locked {
            dir: dir.to_path_buf(),
            lock: path,
        },
        LockRefused::Io { path, source } => LogError::Io { path, source },
    })
}

/// Creates segment `index` with its header, atomically (temporary file, fsync, rename,
/// fsync of the directory), and opens it for appending.
fn create_segment(dir: &Path, index: u64) -> Result<File, LogError> {
    let path = segment_path(dir, index);
    // A leading dot keeps the temporary out of `parse_segment_name`: a crash here leaves
    // an ignored file, never a headerless segment.
    let tmp = dir.join(format!(".segment-{index:08}.tmp"));
    let mut header = Vec::with_capacity(SEGMENT_HEADER_BYTES as usize);
    header.extend_from_slice(SEGMENT_MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&index.to_le_bytes());
    let mut file = File::create(&tmp).map_err(io_error(&tmp))?;
    file.write_all(&header)
        .and_then(|()| file.sync_all())
        .map_err(io_error(&tmp))?;
    drop(file);
    fs::rename(&tmp, &path).map_err(io_error(&path))?;
    sync_dir(dir)?;
    OpenOptions::new()
        .append(true)
        .open(&path)
        .map_err(io_error(&path))
}

/// The frame of `entry`: length, complement, checksum, payload.
fn encode_frame(entry: &LogEntry) -> Result<Vec<u8>, LogError> {
    let payload = entry.encode()?;
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&len| len <= MAX_ENTRY_BYTES)
        .ok_or(LogError::EntryTooLarge {
            bytes: payload.len(),
            max: MAX_ENTRY_BYTES,
        })?;
    let mut frame = Vec::with_capacity(FRAME_HEADER_BYTES as usize + payload.len());
    frame.extend_from_slice(&len.to_le_bytes());
    frame.extend_from_slice(&(!len).to_le_bytes());
    frame.extend_from_slice(&frame_checksum(&frame[..8], &payload));
    frame.extend_from_slice(&payload);
    Ok(frame)
}

/// SHA-256 over the length fields and the payload: every frame byte but the checksum itself.
fn frame_checksum(length_fields: &[u8], payload: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(length_fields);
    hasher.update(payload);
    hasher.finalize().into()
}

/// An open segment being read front to back.
#[derive(Debug)]
struct SegmentReader {
    path: PathBuf,
    index: u64,
    reader: BufReader<File>,
    /// Offset of the next frame.
    offset: u64,
    /// The file's length when it was opened.
    len: u64,
}

impl SegmentReader {
    /// Opens segment `index` of `dir` and checks its header.
    fn open(dir: &Path, index: u64) -> Result<Self, LogError> {
        let path = segment_path(dir, index);
        let file = File::open(&path).map_err(io_error(&path))?;
        let len = file.metadata().map_err(io_error(&path))?.len();
        let mut segment = Self {
            path,
            index,
            reader: BufReader::new(file),
            offset: 0,
            len,
        };
        segment.read_header()?;
        Ok(segment)
    }

    fn read_header(&mut self) -> Result<(), LogError> {
        let file = &self.path;
        if self.len < SEGMENT_HEADER_BYTES {
            return Err(LogError::Truncated {
                file: file.clone(),
                offset: 0,
                what: "segment header",
                needed: SEGMENT_HEADER_BYTES,
                available: self.len,
            });
        }
        let mut header = [0u8; SEGMENT_HEADER_BYTES as usize];
        self.reader
            .read_exact(&mut header)
            .map_err(io_error(file))?;
        if &header[..8] != SEGMENT_MAGIC {
            return Err(LogError::BadMagic {
                file: file.clone(),
                offset: 0,
                expected: "proof log segment",
            });
        }
        let version = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes"));
        if version != FORMAT_VERSION {
            return Err(LogError::UnsupportedVersion {
                file: file.clone(),
                offset: 8,
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let found = u64::from_le_bytes(header[12..20].try_into().expect("8 bytes"));
        if found != self.index {
            return Err(LogError::SegmentMismatch {
                file: file.clone(),
                offset: 12,
                expected: self.index,
                found,
            });
        }
        self.offset = SEGMENT_HEADER_BYTES;
        Ok(())
    }

    fn at_end(&self) -> bool {
        self.offset == self.len
    }

    /// Takes the file's current length, for a segment that may have grown since it was
    /// opened (or been cut back to its last complete entry by a repair).
    fn refresh_len(&mut self) -> Result<(), LogError> {
        let len = self
            .reader
            .get_ref()
            .metadata()
            .map_err(io_error(&self.path))?
            .len();
        if len < self.offset {
            return Err(LogError::Shrank {
                file: self.path.clone(),
                offset: self.offset,
                len,
            });
        }
        self.len = len;
        Ok(())
    }

    /// Goes back to the frame at `offset` (the current one, after a read that found it
    /// incomplete), dropping whatever was buffered of it.
    fn rewind_to(&mut self, offset: u64) -> Result<(), LogError> {
        self.reader
            .seek(SeekFrom::Start(offset))
            .map_err(io_error(&self.path))?;
        self.offset = offset;
        Ok(())
    }

    /// Reads, checks and decodes the frame at the current offset, and moves past it.
    fn next_entry(&mut self) -> Result<(EntryPosition, LogEntry), LogError> {
        let (file, offset) = (&self.path, self.offset);
        let available = self.len - offset;
        let truncated = |needed| LogError::Truncated {
            file: file.clone(),
            offset,
            what: "entry",
            needed,
            available,
        };
        if available < 8 {
            return Err(truncated(FRAME_HEADER_BYTES));
        }
        let mut length_fields = [0u8; 8];
        self.reader
            .read_exact(&mut length_fields)
            .map_err(io_error(file))?;
        let len = u32::from_le_bytes(length_fields[..4].try_into().expect("4 bytes"));
        let complement = u32::from_le_bytes(length_fields[4..].try_into().expect("4 bytes"));
        if complement != !len {
            return Err(LogError::CorruptFrame {
                file: file.clone(),
                offset,
                reason: format!(
                    "length {len} does not match its complement field {complement:#010x}"
                ),
            });
        }
        if len > MAX_ENTRY_BYTES {
            return Err(LogError::CorruptFrame {
                file: file.clone(),
                offset,
                reason: format!("length {len} exceeds the limit of {MAX_ENTRY_BYTES} bytes"),
            });
        }
        let needed = FRAME_HEADER_BYTES + u64::from(len);
        if available < needed {
            return Err(truncated(needed));
        }
        let mut checksum = [0u8; 32];
        let mut payload = vec![0u8; len as usize];
        self.reader
            .read_exact(&mut checksum)
            .and_then(|()| self.reader.read_exact(&mut payload))
            .map_err(io_error(file))?;
        if frame_checksum(&length_fields, &payload) != checksum {
            return Err(LogError::ChecksumMismatch {
                file: file.clone(),
                offset,
                what: "entry",
            });
        }
        let entry = LogEntry::decode(&payload).map_err(|reason| LogError::BadEncoding {
            file: file.clone(),
            offset,
            what: "entry",
            reason,
        })?;
        self.offset += needed;
        Ok((
            EntryPosition {
                segment: self.index,
                offset,
            },
            entry,
        ))
    }
}

/// The entries of a log, in order, each with its position. Stops after the first error.
pub struct PositionedEntries {
    dir: PathBuf,
    segments: u64,
    next_segment: u64,
    current: Option<SegmentReader>,
    finished: bool,
}

impl Iterator for PositionedEntries {
    type Item = Result<(EntryPosition, LogEntry), LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.finished {
            match &mut self.current {
                Some(segment) if segment.at_end() => self.current = None,
                Some(segment) => {
                    let item = segment.next_entry();
                    // After a damaged frame nothing later can be located reliably: stop, so
                    // the error is the last item and the caller never skips over damage.
                    self.finished = item.is_err();
                    return Some(item);
                }
                None if self.next_segment == self.segments => self.finished = true,
                None => match SegmentReader::open(&self.dir, self.next_segment) {
                    Ok(segment) => {
                        self.current = Some(segment);
                        self.next_segment += 1;
                    }
                    Err(e) => {
                        self.finished = true;
                        return Some(Err(e));
                    }
                },
            }
        }
        None
    }
}

impl FusedIterator for PositionedEntries {}

/// The entries of a log, in order ([`PositionedEntries`] without the positions). Yields
/// every complete entry, then, if the log is damaged, one error saying where, and stops.
pub struct Entries(PositionedEntries);

impl Entries {
    /// The same entries with their positions.
    pub fn positioned(self) -> PositionedEntries {
        self.0
    }
}

impl Iterator for Entries {
    type Item = Result<LogEntry, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|item| item.map(|(_, entry)| entry))
    }
}

impl FusedIterator for Entries {}

/// Reads the log in `dir` without opening it for append (what a verifier does).
///
/// Fails at once if `dir` holds no segments or a segment is missing; damage inside the
/// segments is reported by the iterator, after the entries before it.
pub fn read_entries(dir: &Path) -> Result<Entries, LogError> {
    let segments = segment_count(dir)?;
    Ok(entries_of(dir, segments))
}

fn entries_of(dir: &Path, segments: u64) -> Entries {
    Entries(PositionedEntries {
        dir: dir.to_path_buf(),
        segments,
        next_segment: 0,
        current: None,
        finished: false,
    })
}

/// Reads segment `index` of `dir` to its end; returns its length, or the first error.
fn scan_segment(dir: &Path, index: u64) -> Result<u64, LogError> {
    let mut segment = SegmentReader::open(dir, index)?;
    while !segment.at_end() {
        segment.next_entry()?;
    }
    Ok(segment.len)
}

/// Reads a log that may still be written, from its first entry on, each entry once.
///
/// [`LogFollower::next_entry`] returns the next complete entry, or `None` when there is none
/// yet: the reader is at the end of the last segment, or at a frame that is not all there.
/// Such a frame is an append in progress if a writer holds the log
/// ([`super::writer_lock::WriterLock::is_held`]), a crash's torn tail if not; the follower
/// cannot tell, so it says where the frame is ([`LogFollower::incomplete`]) and reads it
/// again on the next call, by which time it may be complete (or, after a repair, replaced by
/// the next append). It moves to the next segment only once that segment exists, and reads
/// the one it is leaving to its end again first: the writer finishes a segment before it
/// creates the next, so nothing appended in between is skipped.
///
/// Damage is reported as by [`read_entries`]: once, after every entry before it.
#[derive(Debug)]
pub struct LogFollower {
    dir: PathBuf,
    /// The segment being read (or to be opened next).
    segment: u64,
    current: Option<SegmentReader>,
    /// The incomplete frame the last call stopped at, if it did, and what a reader says of it.
    incomplete: Option<(EntryPosition, LogError)>,
    failed: bool,
}

impl LogFollower {
    /// A follower of the log in `dir`, before its first entry. Fails if `dir` holds no log.
    pub fn new(dir: &Path) -> Result<Self, LogError> {
        segment_count(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            segment: 0,
            current: None,
            incomplete: None,
            failed: false,
        })
    }

    /// The next complete entry, `Ok(None)` if none is complete now, or the damage that stops
    /// the log (after which every call returns `Ok(None)`).
    pub fn next_entry(&mut self) -> Result<Option<(EntryPosition, LogEntry)>, LogError> {
        if self.failed {
            return Ok(None);
        }
        let next = self.advance();
        if next.is_err() {
            self.failed = true;
            self.current = None;
        }
        next
    }

    fn advance(&mut self) -> Result<Option<(EntryPosition, LogEntry)>, LogError> {
        // Back at a frame found incomplete: the file may have been cut back to it since (a
        // resumed writer's repair), so the length taken then is not to be trusted.
        let retrying = self.incomplete.take().is_some();
        if retrying {
            if let Some(segment) = &mut self.current {
                segment.refresh_len()?;
            }
        }
        loop {
            let segment = match &mut self.current {
                Some(segment) => segment,
                None => {
                    if self.segment > 0 && !segment_path(&self.dir, self.segment).exists() {
                        return Ok(None);
                    }
                    self.current = Some(SegmentReader::open(&self.dir, self.segment)?);
                    self.current.as_mut().expect("just set")
                }
            };
            if segment.at_end() {
                segment.refresh_len()?;
            }
            if segment.at_end() {
                if !segment_path(&self.dir, self.segment + 1).exists() {
                    return Ok(None);
                }
                // The next segment exists, so this one is finished: read what reached it
                // before the next was made, then move on.
                segment.refresh_len()?;
                if segment.at_end() {
                    self.current = None;
                    self.segment += 1;
                }
                continue;
            }
            let offset = segment.offset;
            match segment.next_entry() {
                Ok(entry) => return Ok(Some(entry)),
                // Shorter than the length taken, or cut back below it since it was taken
                // (then the read runs into the end of the file).
                Err(e) if e.is_short_read() => {
                    // Looked at before the length is taken again, as above: if the next
                    // segment exists now, this one was finished before it, and a frame still
                    // incomplete after the new length is damage, not an append in progress.
                    let finished = segment_path(&self.dir, self.segment + 1).exists();
                    segment.rewind_to(offset)?;
                    segment.refresh_len()?;
                    return match segment.next_entry() {
                        Ok(entry) => Ok(Some(entry)),
                        Err(truncated @ LogError::Truncated { .. }) if !finished => {
                            segment.rewind_to(offset)?;
                            let position = EntryPosition {
                                segment: self.segment,
                                offset,
                            };
                            self.incomplete = Some((position, truncated));
                            Ok(None)
                        }
                        Err(e) => Err(e),
                    };
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Where the incomplete frame is that the last [`next_entry`](Self::next_entry) stopped
    /// at, if it stopped at one rather than at the end of the log.
    pub fn incomplete(&self) -> Option<EntryPosition> {
        self.incomplete.as_ref().map(|(position, _)| *position)
    }

    /// What [`read_entries`] reports for that frame ([`LogError::Truncated`]): a torn tail,
    /// once no writer is there to finish it.
    pub fn into_torn_tail(self) -> Option<LogError> {
        self.incomplete.map(|(_, error)| error)
    }
}

/// A proof log opened for appending.
#[derive(Debug)]
pub struct ProofLog {
    dir: PathBuf,
    /// Segments in the log; the last one is written.
    segments: u64,
    /// The last segment, opened for appending.
    file: File,
    /// The last segment's length (where the next frame goes).
    len: u64,
    segment_limit: u64,
    /// Set when an append failed after it may have written bytes.
    poisoned: bool,
    /// The directory's writer lock, held while this handle may append.
    _lock: WriterLock,
}

impl ProofLog {
    /// Creates an empty log in `dir` (created if needed). Refuses a directory that already
    /// holds segment files.
    pub fn create(dir: &Path) -> Result<Self, LogError> {
        Self::create_with(dir, |_| Ok(()))
    }

    /// [`ProofLog::create`], with `first` run under the writer lock before the first segment
    /// is made: files that must be there whenever the log is (its verifying keys) are, for a
    /// reader who starts as soon as the log exists, and after a crash in between.
    pub fn create_with(
        dir: &Path,
        first: impl FnOnce(&Path) -> Result<(), LogError>,
    ) -> Result<Self, LogError> {
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        // Locked before looking, so that two creators cannot both find the directory empty.
        let lock = lock_log(dir)?;
        if !segment_indices(dir)?.is_empty() {
            return Err(LogError::AlreadyExists {
                dir: dir.to_path_buf(),
            });
        }
        // The directory itself may be new: make its entry in the parent durable too.
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        first(dir)?;
        let file = create_segment(dir, 0)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            segments: 1,
            file,
            len: SEGMENT_HEADER_BYTES,
            segment_limit: DEFAULT_SEGMENT_BYTES,
            poisoned: false,
            _lock: lock,
        })
    }

    /// Whether `dir` holds a log (any segment file; [`ProofLog::open`] checks the rest).
    pub fn exists(dir: &Path) -> bool {
        segment_indices(dir).is_ok_and(|indices| !indices.is_empty())
    }

    /// Opens the log in `dir` for appending.
    ///
    /// Checks every segment's header and every frame of the last segment (the only one that
    /// is written, so the only one a crash can have left torn). **Refuses a torn tail**: the
    /// error is [`LogError::Truncated`] naming the file and the offset of the incomplete
    /// frame; run [`ProofLog::repair`] to cut it off. Earlier segments' frames are not read
    /// here: they were complete when the writer moved on, and the verifier reads them all.
    pub fn open(dir: &Path) -> Result<Self, LogError> {
        // Not a log: refused before the lock, which would leave a lock file behind.
        segment_count(dir)?;
        let lock = lock_log(dir)?;
        Self::open_locked(dir, lock)
    }

    /// [`ProofLog::repair`], then [`ProofLog::open`], under one hold of the writer lock: no
    /// other writer can come in between, and a follower of the log
    /// ([`LogFollower`], `spice verify --follow`) never sees the log without its writer.
    /// What a resuming service calls.
    pub fn open_repairing(dir: &Path) -> Result<(Self, Option<TornTail>), LogError> {
        segment_count(dir)?;
        let lock = lock_log(dir)?;
        let torn = Self::repair_locked(dir)?;
        Ok((Self::open_locked(dir, lock)?, torn))
    }

    fn open_locked(dir: &Path, lock: WriterLock) -> Result<Self, LogError> {
        // Counted again under the lock: only the lock's holder adds segments.
        let segments = segment_count(dir)?;
        for index in 0..segments - 1 {
            SegmentReader::open(dir, index)?;
        }
        let last = segments - 1;
        let len = scan_segment(dir, last)?;
        let path = segment_path(dir, last);
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io_error(&path))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            segments,
            file,
            len,
            segment_limit: DEFAULT_SEGMENT_BYTES,
            poisoned: false,
            _lock: lock,
        })
    }

    /// Cuts a torn tail off the last segment of the log in `dir`, so that [`open`](Self::open)
    /// accepts it again. Returns what was cut, or `None` if the log was intact.
    ///
    /// A tail counts as torn — and only then is anything removed — when the last segment's
    /// first bad frame
    /// * is incomplete ([`LogError::Truncated`]): the file ends inside it; or
    /// * fails its length or checksum check **and** every byte from it to the end of the
    ///   file is zero: the mark of a file extended by a crashed write whose data never
    ///   reached the disk. A real frame never starts with zeros (its length's complement
    ///   would be `0xffffffff`).
    ///
    /// Any other damage — a bad checksum over non-zero bytes, a payload that does not decode,
    /// a damaged header, a damaged earlier segment — is returned as the error and nothing is
    /// changed: those may be acknowledged proofs, and dropping them is an operator's call.
    ///
    /// Holds the writer lock while it runs: a log that is open for appending is
    /// [`LogError::Locked`], since its last frame may be an append in progress, not a tear.
    pub fn repair(dir: &Path) -> Result<Option<TornTail>, LogError> {
        segment_count(dir)?;
        let _lock = lock_log(dir)?;
        Self::repair_locked(dir)
    }

    /// [`ProofLog::repair`]'s work, for a caller that holds the writer lock.
    fn repair_locked(dir: &Path) -> Result<Option<TornTail>, LogError> {
        let segments = segment_count(dir)?;
        let last = segments - 1;
        let path = segment_path(dir, last);
        let offset = match scan_segment(dir, last) {
            Ok(_) => return Ok(None),
            Err(LogError::Truncated {
                offset,
                what: "entry",
                ..
            }) => offset,
            Err(
                e @ (LogError::CorruptFrame { offset, .. }
                | LogError::ChecksumMismatch { offset, .. }),
            ) => {
                if !zeros_from(&path, offset)? {
                    return Err(e);
                }
                offset
            }
            Err(e) => return Err(e),
        };
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(io_error(&path))?;
        let len = file.metadata().map_err(io_error(&path))?.len();
        file.set_len(offset)
            .and_then(|()| file.sync_all())
            .map_err(io_error(&path))?;
        Ok(Some(TornTail {
            file: path,
            offset,
            dropped_bytes: len - offset,
        }))
    }

    /// Sets the size at which a new segment starts (default [`DEFAULT_SEGMENT_BYTES`]).
    /// An entry never spans segments and every segment holds at least one entry, so a
    /// segment exceeds the limit only when its single entry alone does.
    pub fn set_segment_limit(&mut self, bytes: u64) {
        self.segment_limit = bytes;
    }

    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends `entry` durably: when this returns `Ok`, the entry is on disk (written and
    /// `fdatasync`ed) and will be read back even after a crash. Returns where it lies.
    ///
    /// If writing fails part-way, the bytes written are removed when possible and this
    /// handle refuses further appends ([`LogError::Poisoned`]): after a failed write or
    /// fsync the file's state is not trustworthy, and [`open`](Self::open) re-checks it.
    pub fn append(&mut self, entry: &LogEntry) -> Result<EntryPosition, LogError> {
        if self.poisoned {
            return Err(LogError::Poisoned);
        }
        // Encoding errors leave the file untouched, so they do not poison the handle.
        let frame = encode_frame(entry)?;
        let frame_len = frame.len() as u64;
        if self.len > SEGMENT_HEADER_BYTES && self.len + frame_len > self.segment_limit {
            self.start_segment()?;
        }
        let offset = self.len;
        let path = segment_path(&self.dir, self.segments - 1);
        if let Err(source) = self
            .file
            .write_all(&frame)
            .and_then(|()| self.file.sync_data())
        {
            self.poisoned = true;
            // Best effort: take back a partial frame so the file ends on a frame boundary.
            // If this fails too, `open` reports the torn tail and `repair` removes it.
            let _ = self
                .file
                .set_len(offset)
                .and_then(|()| self.file.sync_data());
            return Err(LogError::Io { path, source });
        }
        self.len += frame_len;
        Ok(EntryPosition {
            segment: self.segments - 1,
            offset,
        })
    }

    /// Starts the next segment and switches appends to it.
    fn start_segment(&mut self) -> Result<(), LogError> {
        match create_segment(&self.dir, self.segments) {
            Ok(file) => {
                self.file = file;
                self.segments += 1;
                self.len = SEGMENT_HEADER_BYTES;
                Ok(())
            }
            Err(e) => {
                // The new segment may or may not exist now; only `open` can tell.
                self.poisoned = true;
                Err(e)
            }
        }
    }

    /// The log's entries, read from disk from the first one. Every acknowledged append is
    /// included.
    pub fn entries(&self) -> Entries {
        entries_of(&self.dir, self.segments)
    }
}

/// Whether every byte of `path` from `offset` to its end is zero.
fn zeros_from(path: &Path, offset: u64) -> Result<bool, LogError> {
    let mut file = File::open(path).map_err(io_error(path))?;
    file.seek(SeekFrom::Start(offset)).map_err(io_error(path))?;
    let mut reader = BufReader::new(file);
    let mut buf = [0u8; 8192];
    loop {
        let n = reader.read(&mut buf).map_err(io_error(path))?;
        if n == 0 {
            return Ok(true);
        }
        if buf[..n].iter().any(|&b| b != 0) {
            return Ok(false);
        }
    }
}

/// Where the verifying key for `kind` lives in the log directory `dir`:
/// `<dir>/<kind name>.vk`.
pub fn verifying_key_path(dir: &Path, kind: EntryKind) -> PathBuf {
    dir.join(verifying_key_file_name(kind))
}

/// The verifying key's file name for `kind`, the one place it is spelled.
fn verifying_key_file_name(kind: EntryKind) -> String {
    format!("{}.vk", kind.name())
}

/// Writes the verifying key for `kind`'s proofs next to the log in `dir`, atomically
/// (temporary file, fsync, rename), replacing an older one. Returns the file's path.
///
/// The format mirrors the proving-key files (`engine/key_file.rs`): magic `SPICEVK\0`,
/// version u32, payload length u64, SHA-256 of the payload, payload; the payload is the
/// kind's tag (u8) followed by the key, ark-serialize compressed. The tag makes a key filed
/// under the wrong name an error instead of a key for the wrong circuit.
pub fn write_verifying_key(
    dir: &Path,
    kind: EntryKind,
    vk: &VerifyingKey<Bls12_381>,
) -> Result<PathBuf, LogError> {
    if !kind.carries_proof() {
        return Err(LogError::NoVerifyingKey { kind });
    }
    let mut payload = vec![kind.tag()];
    vk.serialize_compressed(&mut payload)?;
    write_checked(
        dir,
        &verifying_key_file_name(kind),
        VERIFYING_KEY_MAGIC,
        &payload,
    )
}

/// Reads the verifying key for `kind` written by [`write_verifying_key`], rejecting a wrong
/// magic or version, a truncated or padded file, any corruption, and a key of another kind.
///
/// Unlike proving keys, the key is deserialized *with* its subgroup checks: it is small, so
/// they are cheap, and it is what every proof in the log is checked against.
pub fn read_verifying_key(
    dir: &Path,
    kind: EntryKind,
) -> Result<VerifyingKey<Bls12_381>, LogError> {
    if !kind.carries_proof() {
        return Err(LogError::NoVerifyingKey { kind });
    }
    let path = verifying_key_path(dir, kind);
    let payload = read_checked(&path, VERIFYING_KEY_MAGIC, "verifying key")?;
    let (&tag, mut key_bytes) = payload.split_first().ok_or_else(|| LogError::BadEncoding {
        file: path.clone(),
        offset: CHECKED_HEADER_BYTES,
        what: "verifying key",
        reason: "empty payload".into(),
    })?;
    if tag != kind.tag() {
        return Err(LogError::WrongKeyKind {
            file: path,
            found: tag,
            expected: kind,
        });
    }
    let bad = |reason: String| LogError::BadEncoding {
        file: path.clone(),
        offset: CHECKED_HEADER_BYTES,
        what: "verifying key",
        reason,
    };
    let vk =
        VerifyingKey::deserialize_compressed(&mut key_bytes).map_err(|e| bad(e.to_string()))?;
    if !key_bytes.is_empty() {
        return Err(bad(format!(
            "{} trailing bytes after the key",
            key_bytes.len()
        )));
    }
    Ok(vk)
}
