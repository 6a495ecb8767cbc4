//! The proof log: entries round-trip exactly, every corrupted byte and every truncation is
//! reported (as a typed error naming file and offset, after the intact entries only), torn
//! tails are refused on open and cut only by an explicit repair, and concurrent appends
//! through a Mutex give a readable log. A log has one writer: a second one is refused while
//! the first holds it.
//!
//! Run with `cargo test --release --test integration proof_log::`.

use std::{
    fs,
    path::Path,
    sync::{Arc, Mutex},
    thread,
};

use ark_bls12_381::{Bls12_381, Fr, G1Projective, G2Projective};
use ark_ec::CurveGroup;
use ark_ff::{PrimeField, UniformRand};
use ark_groth16::{Proof, VerifyingKey};
use ark_serialize::CanonicalSerialize;
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

use crate::temp_dir::TempDir;

use spice::host::proof_log::{
    read_entries, read_verifying_key, segment_path, verifying_key_path, write_verifying_key,
    EntryKind, EntryPosition, LogEntry, LogError, Payload, ProofLog, TornTail, FORMAT_VERSION,
    SEGMENT_HEADER_BYTES,
};

fn random_proof(rng: &mut StdRng) -> Proof<Bls12_381> {
    Proof {
        a: G1Projective::rand(rng).into_affine(),
        b: G2Projective::rand(rng).into_affine(),
        c: G1Projective::rand(rng).into_affine(),
    }
}

/// A random entry of a random kind; every field is drawn fresh.
fn random_entry(rng: &mut StdRng) -> LogEntry {
    let kind = EntryKind::ALL[rng.gen_range(0..EntryKind::ALL.len())];
    let inputs = (0..rng.gen_range(0..8)).map(|_| Fr::rand(rng)).collect();
    let (epoch, sequence) = (rng.gen(), rng.gen());
    if kind.carries_proof() {
        LogEntry::with_proof(kind, epoch, sequence, inputs, random_proof(rng))
    } else {
        let bytes = (0..rng.gen_range(0..64)).map(|_| rng.gen()).collect();
        LogEntry {
            kind,
            epoch,
            sequence,
            public_inputs: inputs,
            payload: Payload::Bytes(bytes),
        }
    }
}

fn read_all(dir: &Path) -> (Vec<LogEntry>, Option<LogError>) {
    let mut entries = Vec::new();
    let mut error = None;
    for item in read_entries(dir).expect("list segments") {
        match item {
            Ok(entry) => {
                assert!(error.is_none(), "an entry came after an error");
                entries.push(entry);
            }
            Err(e) => {
                assert!(error.is_none(), "two errors");
                error = Some(e);
            }
        }
    }
    (entries, error)
}

/// The file and offset an error names (every error about file contents names both).
fn where_(error: &LogError) -> (&Path, u64) {
    match error {
        LogError::BadMagic { file, offset, .. }
        | LogError::UnsupportedVersion { file, offset, .. }
        | LogError::SegmentMismatch { file, offset, .. }
        | LogError::CorruptFrame { file, offset, .. }
        | LogError::ChecksumMismatch { file, offset, .. }
        | LogError::Truncated { file, offset, .. }
        | LogError::BadEncoding { file, offset, .. } => (file, *offset),
        other => panic!("expected an error about file contents, got {other}"),
    }
}

/// A log of `count` random entries, with a segment limit that puts about `per_segment` in
/// each segment. Returns the entries and their positions.
pub(super) fn build_log(
    dir: &Path,
    seed: u64,
    count: usize,
    segment_limit: u64,
) -> (Vec<LogEntry>, Vec<EntryPosition>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut log = ProofLog::create(dir).expect("create");
    log.set_segment_limit(segment_limit);
    let entries: Vec<LogEntry> = (0..count).map(|_| random_entry(&mut rng)).collect();
    let positions = entries
        .iter()
        .map(|e| log.append(e).expect("append"))
        .collect();
    (entries, positions)
}

/// (start, end) of every frame in `segment`, from the positions and the file's length.
fn frames_of(dir: &Path, positions: &[EntryPosition], segment: u64) -> Vec<(u64, u64)> {
    let len = fs::metadata(segment_path(dir, segment))
        .expect("metadata")
        .len();
    let starts: Vec<u64> = positions
        .iter()
        .filter(|p| p.segment == segment)
        .map(|p| p.offset)
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(i, &start)| (start, starts.get(i + 1).copied().unwrap_or(len)))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Many fresh random entries, appended over two sessions (create, then reopen), read
    /// back identical and in order, across segment boundaries.
    #[test]
    fn entries_round_trip_across_reopens_and_segments(
        seed in any::<u64>(),
        first in 0usize..24,
        second in 0usize..24,
        segment_limit in prop_oneof![Just(600u64), Just(2_000), Just(u64::MAX)],
    ) {
        let dir = TempDir::new("round-trip");
        let mut rng = StdRng::seed_from_u64(seed);
        let entries: Vec<LogEntry> = (0..first + second).map(|_| random_entry(&mut rng)).collect();
        let mut positions = Vec::new();
        {
            let mut log = ProofLog::create(dir.path()).expect("create");
            log.set_segment_limit(segment_limit);
            for e in &entries[..first] {
                positions.push(log.append(e).expect("append"));
            }
            let read: Vec<LogEntry> = log.entries().collect::<Result<_, _>>().expect("read");
            prop_assert_eq!(&read[..], &entries[..first]);
        }
        let mut log = ProofLog::open(dir.path()).expect("reopen");
        log.set_segment_limit(segment_limit);
        for e in &entries[first..] {
            positions.push(log.append(e).expect("append"));
        }
        let (read, error) = read_all(dir.path());
        prop_assert!(error.is_none(), "{:?}", error);
        prop_assert_eq!(&read, &entries);
        prop_assert!(positions.windows(2).all(|w| w[0] < w[1]), "positions increase");
        let read_positions: Vec<EntryPosition> = read_entries(dir.path())
            .expect("list")
            .positioned()
            .map(|item| item.expect("entry").0)
            .collect();
        prop_assert_eq!(read_positions, positions);
    }
}

/// Flips every byte of a multi-segment log in turn (a different bit per offset): reading
/// never yields an entry that differs from what was written, always ends in an error, the
/// error names the flipped file and an offset at or before the flipped byte, and `repair`
/// never takes the damage for a torn tail.
#[test]
fn flipping_any_byte_is_detected_and_never_yields_a_wrong_entry() {
    let dir = TempDir::new("flip");
    let (entries, positions) = build_log(dir.path(), 7, 5, 700);
    let segments = positions.last().expect("entries").segment + 1;
    assert!(segments >= 2, "the test wants more than one segment");
    for segment in 0..segments {
        let path = segment_path(dir.path(), segment);
        let original = fs::read(&path).expect("read segment");
        for at in 0..original.len() {
            let mut damaged = original.clone();
            // A different mask per offset, never zero, so every bit position gets flipped.
            damaged[at] ^= 1u8 << (at % 8) | 0x01;
            fs::write(&path, &damaged).expect("write damaged");
            let (read, error) = read_all(dir.path());
            let error =
                error.unwrap_or_else(|| panic!("flip at {} of segment {segment} undetected", at));
            assert_eq!(
                &read[..],
                &entries[..read.len()],
                "a wrong entry after a flip at {at}"
            );
            let (file, offset) = where_(&error);
            assert_eq!(file, path, "{error}");
            assert!(offset <= at as u64, "{error} (flipped byte {at})");
            // Entries before the damaged frame all came back.
            let intact = positions
                .iter()
                .filter(|p| p.segment < segment || (p.segment == segment && p.offset < offset))
                .count();
            assert_eq!(read.len(), intact, "{error}");
            // Damage is never mistaken for a torn tail: repair refuses (or, for an earlier
            // segment, finds the last one intact) and removes nothing.
            assert!(
                !matches!(ProofLog::repair(dir.path()), Ok(Some(_))),
                "repair after a flip at {at}"
            );
            assert_eq!(
                fs::read(&path).expect("read"),
                damaged,
                "repair changed the file"
            );
        }
        fs::write(&path, &original).expect("restore");
    }
    assert!(read_all(dir.path()).1.is_none());
}

/// Cuts the last segment at every offset: the entries whose frames end before the cut read
/// back, then exactly one `Truncated` error at the torn frame (none at a frame boundary);
/// `open` refuses the torn log, `repair` cuts exactly the torn frame, and the repaired log
/// takes new appends.
#[test]
fn truncation_at_any_offset_loses_only_the_torn_tail() {
    let dir = TempDir::new("truncate");
    let (entries, positions) = build_log(dir.path(), 11, 6, 900);
    let last = positions.last().expect("entries").segment;
    let path = segment_path(dir.path(), last);
    let original = fs::read(&path).expect("read");
    let frames = frames_of(dir.path(), &positions, last);
    let before_last = positions.iter().filter(|p| p.segment < last).count();
    let mut rng = StdRng::seed_from_u64(99);
    for cut in 0..original.len() as u64 {
        fs::write(&path, &original[..cut as usize]).expect("truncate");
        let complete = frames.iter().filter(|&&(_, end)| end <= cut).count();
        let (read, error) = read_all(dir.path());
        assert_eq!(
            &read[..],
            &entries[..before_last + complete],
            "cut at {cut}"
        );
        let at_boundary = cut == SEGMENT_HEADER_BYTES || frames.iter().any(|&(_, end)| end == cut);
        match (&error, at_boundary) {
            (None, true) => {}
            (
                Some(LogError::Truncated {
                    file,
                    offset,
                    available,
                    ..
                }),
                false,
            ) => {
                assert_eq!(file, &path);
                let torn_start = if cut < SEGMENT_HEADER_BYTES {
                    0
                } else {
                    frames
                        .iter()
                        .find(|&&(start, end)| start <= cut && cut < end)
                        .expect("frame")
                        .0
                };
                assert_eq!(*offset, torn_start, "cut at {cut}");
                assert_eq!(*available, cut - torn_start);
            }
            other => panic!("cut at {cut}: unexpected {other:?}"),
        }

        match ProofLog::open(dir.path()) {
            Ok(_) => assert!(at_boundary, "open accepted a torn tail at {cut}"),
            Err(LogError::Truncated { .. }) => assert!(!at_boundary),
            Err(e) => panic!("cut at {cut}: open failed with {e}"),
        }
        if cut < SEGMENT_HEADER_BYTES {
            // A torn segment header is never the trace of an append (segments are created
            // by rename), so repair refuses it.
            assert!(matches!(
                ProofLog::repair(dir.path()),
                Err(LogError::Truncated { .. })
            ));
            continue;
        }
        let repaired = ProofLog::repair(dir.path()).expect("repair");
        if at_boundary {
            assert_eq!(repaired, None);
        } else {
            let TornTail {
                file,
                offset,
                dropped_bytes,
            } = repaired.expect("a torn tail");
            assert_eq!(file, path);
            let kept = frames.get(complete).map_or(cut, |&(start, _)| start);
            assert_eq!((offset, dropped_bytes), (kept, cut - kept));
        }
        let extra = random_entry(&mut rng);
        ProofLog::open(dir.path())
            .expect("open after repair")
            .append(&extra)
            .expect("append");
        let (read, error) = read_all(dir.path());
        assert!(error.is_none(), "cut at {cut}: {error:?}");
        assert_eq!(read.len(), before_last + complete + 1);
        assert_eq!(&read[..read.len() - 1], &entries[..before_last + complete]);
        assert_eq!(read.last(), Some(&extra));
    }
}

/// A crash can leave a file extended with zeros whose data never reached the disk: repair
/// treats all-zero bytes after the last frame as a torn tail, and nothing else.
#[test]
fn zero_filled_tail_is_repaired_but_other_damage_is_not() {
    let dir = TempDir::new("zeros");
    let (entries, _) = build_log(dir.path(), 3, 4, u64::MAX);
    let path = segment_path(dir.path(), 0);
    let original = fs::read(&path).expect("read");
    let mut zeroed = original.clone();
    zeroed.extend_from_slice(&[0u8; 300]);
    fs::write(&path, &zeroed).expect("write");
    assert!(matches!(
        ProofLog::open(dir.path()),
        Err(LogError::CorruptFrame { .. })
    ));
    let torn = ProofLog::repair(dir.path())
        .expect("repair")
        .expect("torn tail");
    assert_eq!(
        (torn.offset, torn.dropped_bytes),
        (original.len() as u64, 300)
    );
    let (read, error) = read_all(dir.path());
    assert!(error.is_none(), "{error:?}");
    assert_eq!(read, entries);

    // The same zeros followed by one non-zero byte: not a torn write, repair refuses.
    let mut garbage = original.clone();
    garbage.extend_from_slice(&[0u8; 40]);
    garbage.push(1);
    fs::write(&path, &garbage).expect("write");
    assert!(matches!(
        ProofLog::repair(dir.path()),
        Err(LogError::CorruptFrame { .. })
    ));
    assert_eq!(
        fs::read(&path).expect("read"),
        garbage,
        "repair changed a file it refused"
    );
}

#[test]
fn wrong_version_is_rejected_by_readers_and_by_open() {
    let dir = TempDir::new("version");
    build_log(dir.path(), 5, 2, u64::MAX);
    let path = segment_path(dir.path(), 0);
    let mut bytes = fs::read(&path).expect("read");
    bytes[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    fs::write(&path, &bytes).expect("write");
    let (read, error) = read_all(dir.path());
    assert!(read.is_empty());
    match error {
        Some(LogError::UnsupportedVersion {
            file,
            offset: 8,
            found,
            supported,
        }) => {
            assert_eq!(file, path);
            assert_eq!((found, supported), (FORMAT_VERSION + 1, FORMAT_VERSION));
        }
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
    assert!(matches!(
        ProofLog::open(dir.path()),
        Err(LogError::UnsupportedVersion { .. })
    ));
}

/// Eight threads share one log behind a Mutex (the service's arrangement) and append with
/// small segments; the log reads back complete, each thread's entries in its order.
#[test]
fn concurrent_appends_under_a_mutex_produce_a_readable_log() {
    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 40;
    let dir = TempDir::new("concurrent");
    let mut log = ProofLog::create(dir.path()).expect("create");
    log.set_segment_limit(4_000);
    let log = Arc::new(Mutex::new(log));
    let written: Vec<Vec<LogEntry>> = (0..THREADS)
        .map(|thread_id| {
            let log = Arc::clone(&log);
            thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(1_000 + thread_id);
                (0..PER_THREAD)
                    .map(|sequence| {
                        // The epoch field carries the thread id so the entries can be sorted
                        // back per thread.
                        let mut entry = random_entry(&mut rng);
                        entry.epoch = thread_id;
                        entry.sequence = sequence;
                        log.lock().expect("lock").append(&entry).expect("append");
                        entry
                    })
                    .collect()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|handle| handle.join().expect("thread"))
        .collect();
    let (read, error) = read_all(dir.path());
    assert!(error.is_none(), "{error:?}");
    assert_eq!(read.len() as u64, THREADS * PER_THREAD);
    for (thread_id, mine) in written.iter().enumerate() {
        let read_mine: Vec<&LogEntry> = read
            .iter()
            .filter(|e| e.epoch == thread_id as u64)
            .collect();
        assert_eq!(
            read_mine,
            mine.iter().collect::<Vec<_>>(),
            "thread {thread_id}"
        );
    }
    assert!(
        segment_path(dir.path(), 1).exists(),
        "the test wants several segments"
    );
}

#[test]
fn create_refuses_an_existing_log_and_open_refuses_an_empty_directory() {
    let dir = TempDir::new("exists");
    assert!(matches!(
        ProofLog::open(dir.path()),
        Err(LogError::Io { .. })
    ));
    fs::create_dir_all(dir.path()).expect("mkdir");
    assert!(matches!(
        ProofLog::open(dir.path()),
        Err(LogError::NotALog { .. })
    ));
    assert!(!ProofLog::exists(dir.path()));
    ProofLog::create(dir.path()).expect("create");
    assert!(ProofLog::exists(dir.path()));
    assert!(matches!(
        ProofLog::create(dir.path()),
        Err(LogError::AlreadyExists { .. })
    ));
}

/// While one handle may append, no other may: a second open, a create, or a repair (which
/// could cut a frame being written) of the same directory is `Locked`, naming the lock
/// file, and changes nothing. Readers are not writers and read on. Dropping the writer lets
/// the next one in, and the lock file is invisible to everything that reads the log.
#[test]
fn a_log_has_one_writer_at_a_time() {
    let dir = TempDir::new("one-writer");
    let (entries, _) = build_log(dir.path(), 41, 5, 4096);
    let mut first = ProofLog::open(dir.path()).expect("open");
    let lock = dir.path().join("writer.lock");
    let bytes_before = fs::read(segment_path(dir.path(), 0)).expect("segment");
    for refused in [
        ProofLog::open(dir.path()).map(|_| ()),
        ProofLog::create(dir.path()).map(|_| ()),
        ProofLog::repair(dir.path()).map(|_| ()),
    ] {
        match refused {
            Err(LogError::Locked {
                dir: locked,
                lock: file,
            }) => {
                assert_eq!(locked, dir.path());
                assert_eq!(file, lock);
            }
            other => panic!("a second writer got {other:?}"),
        }
    }
    assert_eq!(
        fs::read(segment_path(dir.path(), 0)).expect("segment"),
        bytes_before
    );
    let (read, error) = read_all(dir.path());
    assert!(error.is_none(), "{error:?}");
    assert_eq!(read, entries);

    let mut rng = StdRng::seed_from_u64(42);
    let last = random_entry(&mut rng);
    first.append(&last).expect("the writer appends on");
    drop(first);
    let mut second = ProofLog::open(dir.path()).expect("open once the first is dropped");
    let after = random_entry(&mut rng);
    second.append(&after).expect("append");
    let mut expected = entries;
    expected.extend([last, after]);
    let (read, error) = read_all(dir.path());
    assert!(error.is_none(), "{error:?}");
    assert_eq!(read, expected);
    assert!(lock.exists());
}

#[test]
fn a_missing_or_misplaced_segment_is_reported() {
    let dir = TempDir::new("missing");
    let (_, positions) = build_log(dir.path(), 13, 8, 600);
    let last = positions.last().expect("entries").segment;
    assert!(last >= 2);
    fs::rename(segment_path(dir.path(), 1), dir.path().join("elsewhere")).expect("move");
    assert!(matches!(
        read_entries(dir.path()),
        Err(LogError::MissingSegment { index: 1, .. })
    ));
    assert!(matches!(
        ProofLog::open(dir.path()),
        Err(LogError::MissingSegment { index: 1, .. })
    ));
    // Segment 0 filed as segment 1: its header says 0.
    fs::copy(segment_path(dir.path(), 0), segment_path(dir.path(), 1)).expect("copy");
    let (_, error) = read_all(dir.path());
    assert!(
        matches!(
            error,
            Some(LogError::SegmentMismatch {
                expected: 1,
                found: 0,
                offset: 12,
                ..
            })
        ),
        "{error:?}"
    );
}

#[test]
fn append_rejects_a_payload_that_does_not_fit_its_kind() {
    let dir = TempDir::new("payload");
    let mut log = ProofLog::create(dir.path()).expect("create");
    let mut rng = StdRng::seed_from_u64(1);
    let bytes_for_a_proof_kind = LogEntry {
        kind: EntryKind::BatchProof,
        epoch: 0,
        sequence: 0,
        public_inputs: vec![],
        payload: Payload::Bytes(vec![1, 2, 3]),
    };
    assert!(matches!(
        log.append(&bytes_for_a_proof_kind),
        Err(LogError::WrongPayload { .. })
    ));
    let proof_for_a_marker = LogEntry {
        payload: Payload::Proof(random_proof(&mut rng)),
        ..LogEntry::epoch_end(0, 0, vec![])
    };
    assert!(matches!(
        log.append(&proof_for_a_marker),
        Err(LogError::WrongPayload { .. })
    ));
    // Refused entries leave the handle usable and the log empty.
    let marker = LogEntry::epoch_end(3, 9, b"end".to_vec());
    log.append(&marker).expect("append");
    assert_eq!(read_all(dir.path()).0, vec![marker]);
}

#[test]
fn entry_kinds_have_distinct_permanent_tags() {
    for kind in EntryKind::ALL {
        assert_eq!(EntryKind::from_tag(kind.tag()), Some(kind));
    }
    let mut tags: Vec<u8> = EntryKind::ALL.iter().map(|k| k.tag()).collect();
    tags.dedup();
    assert_eq!(tags.len(), EntryKind::ALL.len());
    // The on-disk meaning of each tag never changes.
    assert_eq!(
        EntryKind::ALL.map(EntryKind::tag),
        [1, 2, 3, 4],
        "tags are part of the file format"
    );
    assert_eq!(EntryKind::from_tag(0), None);
}

/// Writes a frame by hand, following the documented format, with a valid checksum around a
/// payload that does not decode: the reader reports bad encoding (not a checksum error),
/// which also pins the documented frame layout.
#[test]
fn a_frame_with_a_valid_checksum_but_an_unknown_kind_is_bad_encoding() {
    let dir = TempDir::new("encoding");
    let marker = LogEntry::epoch_end(1, 2, vec![]);
    let position = {
        let mut log = ProofLog::create(dir.path()).expect("create");
        log.append(&marker).expect("append")
    };
    let mut payload = Vec::new();
    99u8.serialize_compressed(&mut payload).expect("tag");
    0u64.serialize_compressed(&mut payload).expect("epoch");
    0u64.serialize_compressed(&mut payload).expect("sequence");
    Vec::<Fr>::new()
        .serialize_compressed(&mut payload)
        .expect("inputs");
    Vec::<u8>::new()
        .serialize_compressed(&mut payload)
        .expect("bytes");
    let len = payload.len() as u32;
    let mut frame = Vec::new();
    frame.extend_from_slice(&len.to_le_bytes());
    frame.extend_from_slice(&(!len).to_le_bytes());
    let mut hasher = Sha256::new();
    hasher.update(&frame);
    hasher.update(&payload);
    frame.extend_from_slice(&hasher.finalize());
    frame.extend_from_slice(&payload);
    let path = segment_path(dir.path(), 0);
    let mut bytes = fs::read(&path).expect("read");
    let frame_at = bytes.len() as u64;
    bytes.extend_from_slice(&frame);
    fs::write(&path, &bytes).expect("write");

    let (read, error) = read_all(dir.path());
    assert_eq!(read, vec![marker]);
    assert_eq!(position.offset, SEGMENT_HEADER_BYTES);
    match error {
        Some(LogError::BadEncoding { offset, reason, .. }) => {
            assert_eq!(offset, frame_at);
            assert!(reason.contains("unknown entry kind tag 99"), "{reason}");
        }
        other => panic!("expected BadEncoding, got {other:?}"),
    }
    // Not a torn tail: repair refuses to drop a frame that was written completely.
    assert!(matches!(
        ProofLog::repair(dir.path()),
        Err(LogError::BadEncoding { .. })
    ));
}

fn random_verifying_key(rng: &mut StdRng, inputs: usize) -> VerifyingKey<Bls12_381> {
    VerifyingKey {
        alpha_g1: G1Projective::rand(rng).into_affine(),
        beta_g2: G2Projective::rand(rng).into_affine(),
        gamma_g2: G2Projective::rand(rng).into_affine(),
        delta_g2: G2Projective::rand(rng).into_affine(),
        gamma_abc_g1: (0..=inputs)
            .map(|_| G1Projective::rand(rng).into_affine())
            .collect(),
    }
}

#[test]
fn verifying_key_files_round_trip_and_reject_any_damage() {
    let dir = TempDir::new("vk");
    let mut rng = StdRng::seed_from_u64(17);
    let batch_vk = random_verifying_key(&mut rng, 6);
    let audit_vk = random_verifying_key(&mut rng, 4);
    let path = write_verifying_key(dir.path(), EntryKind::BatchProof, &batch_vk).expect("write");
    assert_eq!(path, verifying_key_path(dir.path(), EntryKind::BatchProof));
    write_verifying_key(dir.path(), EntryKind::AuditClosingProof, &audit_vk).expect("write");
    assert_eq!(
        read_verifying_key(dir.path(), EntryKind::BatchProof).expect("read"),
        batch_vk
    );
    assert_eq!(
        read_verifying_key(dir.path(), EntryKind::AuditClosingProof).expect("read"),
        audit_vk
    );
    assert!(matches!(
        write_verifying_key(dir.path(), EntryKind::EpochEnd, &batch_vk),
        Err(LogError::NoVerifyingKey { .. })
    ));

    // A key filed under another kind's name is refused, not used for the wrong circuit.
    fs::copy(
        &path,
        verifying_key_path(dir.path(), EntryKind::AuditChunkProof),
    )
    .expect("copy");
    assert!(matches!(
        read_verifying_key(dir.path(), EntryKind::AuditChunkProof),
        Err(LogError::WrongKeyKind {
            expected: EntryKind::AuditChunkProof,
            ..
        })
    ));

    let original = fs::read(&path).expect("read");
    for at in 0..original.len() {
        let mut damaged = original.clone();
        damaged[at] ^= 1u8 << (at % 8);
        fs::write(&path, &damaged).expect("write");
        let error = read_verifying_key(dir.path(), EntryKind::BatchProof)
            .expect_err(&format!("flip at {at} undetected"));
        assert_eq!(where_(&error).0, path, "{error}");
    }
    for cut in 0..original.len() {
        fs::write(&path, &original[..cut]).expect("write");
        let error = read_verifying_key(dir.path(), EntryKind::BatchProof)
            .expect_err(&format!("cut at {cut} undetected"));
        assert!(
            matches!(error, LogError::Truncated { .. }),
            "cut at {cut}: {error}"
        );
    }
    let mut wrong_version = original.clone();
    wrong_version[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    fs::write(&path, &wrong_version).expect("write");
    assert!(matches!(
        read_verifying_key(dir.path(), EntryKind::BatchProof),
        Err(LogError::UnsupportedVersion { .. })
    ));
}

/// Public inputs survive exactly, including the extremes of the field.
#[test]
fn public_inputs_at_the_field_edges_round_trip() {
    let dir = TempDir::new("edges");
    let mut rng = StdRng::seed_from_u64(23);
    let inputs = vec![
        Fr::from(0u64),
        Fr::from(1u64),
        -Fr::from(1u64),
        Fr::from_le_bytes_mod_order(&[0xff; 32]),
    ];
    let entry = LogEntry::with_proof(
        EntryKind::AuditChunkProof,
        u64::MAX,
        0,
        inputs,
        random_proof(&mut rng),
    );
    ProofLog::create(dir.path())
        .expect("create")
        .append(&entry)
        .expect("append");
    assert_eq!(read_all(dir.path()).0, vec![entry]);
}
