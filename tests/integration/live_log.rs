//! A log read while it is written: the follower yields each entry once, as soon as it is
//! complete, across segments, with appends split at any byte and a crashed append replaced by
//! the next; the verifier accepts what is complete while a writer holds the log (naming the
//! append in progress), calls the same bytes a torn tail once no writer does, follows a
//! writer to its end epoch by epoch, and rejects a doctored entry the moment it is complete,
//! with the writer still running. With a restart grace it waits for a crashed writer's
//! successor and reads on from the repaired tail; asked for an epoch, it stops there.
//!
//! The writer here is a stand-in that copies a real log's bytes into place in pieces (under
//! the directory's writer lock, new segments made whole and renamed in, as `ProofLog` does),
//! so a test can stop it anywhere inside a frame.
//!
//! Run with `cargo test --release --test integration live_log::`.

use std::{
    fs::{self, OpenOptions},
    io::Write,
    path::{Path, PathBuf},
    sync::mpsc,
    thread,
    time::Duration,
};

use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use proptest::prelude::*;

use spice::host::{
    log_verifier::{FollowEvent, FollowOptions, Rejection},
    proof_log::{
        read_entries, segment_path, EntryKind, EntryPosition, LogEntry, LogError, LogFollower,
        ProofLog, SEGMENT_HEADER_BYTES,
    },
    writer_lock::WriterLock,
};

use crate::proof_log::build_log;
use crate::soundness::{honest_log, keys};
use crate::temp_dir::TempDir;

/// A log's bytes, cut where a writer's appends begin: per segment, its header and frames.
struct LogBytes {
    segments: Vec<(Vec<u8>, Vec<Vec<u8>>)>,
    positions: Vec<EntryPosition>,
}

impl LogBytes {
    fn of(dir: &Path) -> Self {
        let positions: Vec<EntryPosition> = read_entries(dir)
            .unwrap()
            .positioned()
            .map(|item| item.unwrap().0)
            .collect();
        let mut segments = Vec::new();
        for index in 0.. {
            let path = segment_path(dir, index);
            if !path.exists() {
                break;
            }
            let bytes = fs::read(&path).unwrap();
            let mut starts: Vec<usize> = positions
                .iter()
                .filter(|p| p.segment == index)
                .map(|p| p.offset as usize)
                .collect();
            starts.push(bytes.len());
            let frames = starts
                .windows(2)
                .map(|w| bytes[w[0]..w[1]].to_vec())
                .collect();
            segments.push((bytes[..SEGMENT_HEADER_BYTES as usize].to_vec(), frames));
        }
        Self {
            segments,
            positions,
        }
    }

    /// The log of `entries`, as `ProofLog` writes it with `segment_limit`.
    fn write(entries: &[LogEntry], segment_limit: u64) -> Self {
        let dir = TempDir::new("live-log-source");
        let mut log = ProofLog::create(dir.path()).unwrap();
        log.set_segment_limit(segment_limit);
        for entry in entries {
            log.append(entry).unwrap();
        }
        drop(log);
        Self::of(dir.path())
    }

    fn frame(&self, k: usize) -> &[u8] {
        let p = self.positions[k];
        let segment = &self.segments[p.segment as usize].1;
        let first = self
            .positions
            .iter()
            .position(|q| q.segment == p.segment)
            .unwrap();
        &segment[k - first]
    }
}

/// A writer that puts a log's bytes into `dir` a piece at a time, holding its writer lock.
struct StandInWriter {
    dir: PathBuf,
    lock: Option<WriterLock>,
    segment: Option<u64>,
}

impl StandInWriter {
    fn new(dir: &Path) -> Self {
        fs::create_dir_all(dir).unwrap();
        Self {
            dir: dir.to_path_buf(),
            lock: Some(WriterLock::try_acquire(dir).unwrap()),
            segment: None,
        }
    }

    /// Segment `index`, header and all, renamed into place (never seen without its header);
    /// nothing if it is the current one already.
    fn new_segment(&mut self, index: u64, header: &[u8]) {
        if self.segment == Some(index) {
            return;
        }
        let tmp = self.dir.join(format!(".segment-{index:08}.tmp"));
        fs::write(&tmp, header).unwrap();
        fs::rename(&tmp, segment_path(&self.dir, index)).unwrap();
        self.segment = Some(index);
    }

    fn append(&mut self, bytes: &[u8]) {
        let path = segment_path(&self.dir, self.segment.expect("a segment"));
        let mut file = OpenOptions::new().append(true).open(path).unwrap();
        file.write_all(bytes).unwrap();
    }

    /// Cuts the current segment back to `len` bytes (what a repair does to a torn tail).
    fn cut(&mut self, len: u64) {
        let path = segment_path(&self.dir, self.segment.expect("a segment"));
        OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(len)
            .unwrap();
    }

    fn segment_len(&self) -> u64 {
        fs::metadata(segment_path(&self.dir, self.segment.unwrap()))
            .unwrap()
            .len()
    }

    /// Lets go of the log, as a writer that stops or dies does.
    fn stop(&mut self) {
        self.lock = None;
    }

    /// Writes all of `bytes`, frame by frame, each frame in pieces cut at random, calling
    /// `between` after each piece.
    fn write_in_pieces(&mut self, bytes: &LogBytes, rng: &mut StdRng, between: impl FnMut()) {
        self.write_frames(bytes, 0..bytes.positions.len(), rng, between);
    }

    /// Writes frames `frames` of `bytes` (indices in the log), making each segment as the
    /// first of its frames comes, each frame in pieces cut at random, calling `between` after
    /// each new segment and each piece.
    fn write_frames(
        &mut self,
        bytes: &LogBytes,
        frames: std::ops::Range<usize>,
        rng: &mut StdRng,
        mut between: impl FnMut(),
    ) {
        for k in frames {
            let segment = bytes.positions[k].segment;
            if self.segment != Some(segment) {
                self.new_segment(segment, &bytes.segments[segment as usize].0);
                between();
            }
            let frame = bytes.frame(k);
            let mut at = 0;
            while at < frame.len() {
                let end = if rng.gen_bool(0.3) {
                    frame.len()
                } else {
                    rng.gen_range(at + 1..=frame.len())
                };
                self.append(&frame[at..end]);
                at = end;
                between();
            }
        }
    }
}

/// Every entry the follower finds complete now.
fn drain(follower: &mut LogFollower) -> Vec<(EntryPosition, LogEntry)> {
    let mut out = Vec::new();
    while let Some(item) = follower.next_entry().expect("no damage") {
        out.push(item);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Appends split at random bytes, over segments of random size: the follower, asked
    /// after every piece, yields exactly the log's entries in order, each once, and stops at
    /// an incomplete frame exactly when the file ends inside one.
    #[test]
    fn a_follower_yields_each_entry_once_as_soon_as_it_is_complete(
        seed in any::<u64>(),
        count in 1usize..24,
        segment_limit in 200u64..3000,
    ) {
        let source = TempDir::new("live-log-entries");
        let (entries, positions) = build_log(source.path(), seed, count, segment_limit);
        let bytes = LogBytes::of(source.path());
        prop_assert_eq!(&bytes.positions, &positions);
        let dir = TempDir::new("live-log-follow");
        let mut writer = StandInWriter::new(dir.path());
        let mut rng = StdRng::seed_from_u64(seed ^ 0x11fe);
        let mut follower: Option<LogFollower> = None;
        let mut seen = Vec::new();
        let mut complete = 0usize;
        writer.write_in_pieces(&bytes, &mut rng, || {
            let follower = follower.get_or_insert_with(|| LogFollower::new(dir.path()).unwrap());
            seen.extend(drain(follower));
            // Entries whose frames are all written by now.
            let segment = writer_segment(dir.path());
            let len = fs::metadata(segment_path(dir.path(), segment)).unwrap().len();
            while complete < positions.len()
                && (positions[complete].segment < segment
                    || (positions[complete].segment == segment
                        && positions[complete].offset + bytes.frame(complete).len() as u64 <= len))
            {
                complete += 1;
            }
            assert_eq!(seen.len(), complete, "every complete entry, and only those");
            let inside = complete < positions.len()
                && positions[complete].segment == segment
                && positions[complete].offset < len;
            assert_eq!(follower.incomplete(), inside.then(|| positions[complete]));
        });
        let mut follower = follower.unwrap();
        seen.extend(drain(&mut follower));
        prop_assert_eq!(seen.len(), entries.len());
        for ((position, entry), (expected_position, expected)) in seen.iter().zip(positions.iter().zip(&entries)) {
            prop_assert_eq!(position, expected_position);
            prop_assert_eq!(entry, expected);
        }
        prop_assert!(follower.incomplete().is_none());
        writer.stop();
    }
}

/// The highest segment index present in `dir`.
fn writer_segment(dir: &Path) -> u64 {
    (0..)
        .take_while(|&i| segment_path(dir, i).exists())
        .last()
        .unwrap()
}

#[test]
fn an_append_a_crash_cut_short_is_replaced_by_the_next() {
    let source = TempDir::new("live-log-crash-source");
    let (entries, _) = build_log(source.path(), 7, 3, 1 << 20);
    let bytes = LogBytes::of(source.path());
    let dir = TempDir::new("live-log-crash");
    let mut writer = StandInWriter::new(dir.path());
    writer.new_segment(0, &bytes.segments[0].0);
    writer.append(bytes.frame(0));
    let mut follower = LogFollower::new(dir.path()).unwrap();
    assert_eq!(drain(&mut follower).len(), 1);
    // The next append dies half-way; the resumed writer cuts it and appends another entry.
    let start = writer.segment_len();
    writer.append(&bytes.frame(1)[..bytes.frame(1).len() / 2]);
    assert!(drain(&mut follower).is_empty());
    assert_eq!(follower.incomplete().map(|p| p.offset), Some(start));
    writer.cut(start);
    writer.append(bytes.frame(2));
    let next = drain(&mut follower);
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].1, entries[2], "the replacement, not the torn frame");
    assert_eq!(next[0].0.offset, start);
    // Cutting under an entry already read is damage, reported once.
    writer.cut(start - 1);
    assert!(matches!(
        follower.next_entry(),
        Err(LogError::Shrank { .. })
    ));
    assert!(follower.next_entry().unwrap().is_none());
}

/// The honest three-epoch log's bytes, in one segment or in several.
fn honest_bytes(segment_limit: u64) -> LogBytes {
    LogBytes::write(honest_log(), segment_limit)
}

#[test]
fn a_log_being_written_is_accepted_as_far_as_it_is_complete_and_a_dead_writers_tail_is_not() {
    let bytes = honest_bytes(1 << 20);
    let k = 5;
    let dir = TempDir::new("live-log-verify");
    let mut writer = StandInWriter::new(dir.path());
    writer.new_segment(0, &bytes.segments[0].0);
    for frame in &bytes.segments[0].1[..k] {
        writer.append(frame);
    }
    let verifier = &keys().verifier;
    // Complete frames only, writer there: accepted so far, nothing being appended.
    let log = verifier.verify_dir(dir.path(), |_| {}).expect("accepted");
    assert_eq!(log.entries, k as u64);
    assert_eq!(log.writer.map(|w| w.appending), Some(None));
    // Part of the next frame: an append in progress, named.
    let partial = &bytes.frame(k)[..bytes.frame(k).len() - 1];
    writer.append(partial);
    let log = verifier.verify_dir(dir.path(), |_| {}).expect("accepted");
    assert_eq!(log.entries, k as u64);
    assert_eq!(log.writer.unwrap().appending, Some(bytes.positions[k]));
    // The same bytes with no writer: the torn tail of a crash.
    writer.stop();
    match verifier.verify_dir(dir.path(), |_| {}) {
        Err(Rejection::TornTail(LogError::Truncated { offset, .. })) => {
            assert_eq!(offset, bytes.positions[k].offset)
        }
        other => panic!("expected a torn tail, got {other:?}"),
    }
    // And a finished log (no writer, nothing partial) is accepted with no writer named.
    let dir = TempDir::new("live-log-finished");
    let mut writer = StandInWriter::new(dir.path());
    writer.write_in_pieces(&bytes, &mut StdRng::seed_from_u64(1), || {});
    writer.stop();
    let log = verifier.verify_dir(dir.path(), |_| {}).expect("accepted");
    assert!(log.writer.is_none());
    assert_eq!(log.epochs.len(), 3);
}

/// What a follower saw: each entry count, each audited epoch, each time the writer went (with
/// the incomplete frame it left) and came back.
#[derive(Debug, Default)]
struct Seen {
    entries: Vec<u64>,
    epochs: Vec<u64>,
    gone: Vec<(u64, Option<EntryPosition>)>,
    back: Vec<u64>,
}

/// What the follower tells the writer's side as it goes.
#[derive(Debug, PartialEq, Eq)]
enum Note {
    /// It saw the writer let go of the log.
    WriterGone,
    /// It saw a writer hold the log again.
    WriterBack,
    /// It has its verdict.
    Answered,
}

/// Follows `dir` with `options` on another thread while `write` runs here (given a receiver
/// of the follower's notes); returns what the follower saw and found.
fn follow_while(
    dir: &Path,
    options: FollowOptions,
    write: impl FnOnce(&mpsc::Receiver<Note>),
) -> (
    Seen,
    Result<spice::host::log_verifier::VerifiedLog, Rejection>,
) {
    let (note_tx, note_rx) = mpsc::channel();
    let follower = {
        let dir = dir.to_path_buf();
        thread::spawn(move || {
            let mut seen = Seen::default();
            let verdict = keys()
                .verifier
                .follow_dir(&dir, &options, |event| match event {
                    FollowEvent::Entry { entries } => seen.entries.push(entries),
                    FollowEvent::EpochAudited(epoch) => seen.epochs.push(epoch.epoch),
                    FollowEvent::Waiting { .. } => {}
                    FollowEvent::WriterGone { entries, torn } => {
                        seen.gone.push((entries, torn));
                        let _ = note_tx.send(Note::WriterGone);
                    }
                    FollowEvent::WriterBack { entries } => {
                        seen.back.push(entries);
                        let _ = note_tx.send(Note::WriterBack);
                    }
                });
            let _ = note_tx.send(Note::Answered);
            (seen, verdict)
        })
    };
    write(&note_rx);
    follower.join().unwrap()
}

/// Following as `spice verify --follow` does by default, looking every millisecond.
fn quick() -> FollowOptions {
    FollowOptions::new(Duration::from_millis(1))
}

#[test]
fn a_follower_verifies_a_log_as_it_is_written_until_the_writer_stops() {
    let bytes = honest_bytes(1500);
    assert!(bytes.segments.len() > 1, "several segments");
    let dir = TempDir::new("live-log-followed");
    let mut writer = StandInWriter::new(dir.path());
    writer.new_segment(0, &bytes.segments[0].0);
    let mut rng = StdRng::seed_from_u64(crate::test_seed::seed("live_log follow"));
    let (seen, verdict) = follow_while(dir.path(), quick(), |_| {
        writer.write_in_pieces(&bytes, &mut rng, || {
            thread::sleep(Duration::from_micros(300))
        });
        writer.stop();
    });
    let log = verdict.expect("the followed log is accepted");
    let n = honest_log().len() as u64;
    assert_eq!(log.entries, n);
    assert!(log.writer.is_none(), "it ended because the writer let go");
    assert_eq!(
        seen.entries,
        (1..=n).collect::<Vec<_>>(),
        "each entry once, in order"
    );
    assert_eq!(
        seen.epochs,
        vec![0, 1, 2],
        "each epoch as its audit came in"
    );
    let whole = keys().verifier.verify_entries(honest_log()).unwrap();
    assert_eq!(log.epochs, whole.epochs);
}

#[test]
fn a_follower_rejects_a_doctored_entry_at_once_with_the_writer_still_running() {
    // The honest log up to epoch 1's first batch, whose public inputs are then altered.
    let mut entries = honest_log().clone();
    let at = entries
        .iter()
        .position(|e| e.kind == EntryKind::BatchProof && e.epoch == 1)
        .unwrap();
    entries.truncate(at + 1);
    // The commitment root: no decoding constrains it, only the proof.
    entries[at].public_inputs[2] += ark_bls12_381::Fr::from(1u64);
    let bytes = LogBytes::write(&entries, 1 << 20);
    let dir = TempDir::new("live-log-doctored");
    let mut writer = StandInWriter::new(dir.path());
    writer.new_segment(0, &bytes.segments[0].0);
    let (seen, verdict) = follow_while(dir.path(), quick(), |notes| {
        writer.write_in_pieces(&bytes, &mut StdRng::seed_from_u64(3), || {});
        // The log stays held: the follower must answer without waiting for its end.
        assert_eq!(
            notes.recv_timeout(Duration::from_secs(60)),
            Ok(Note::Answered),
            "the follower answers while the writer runs"
        );
    });
    assert!(
        WriterLock::is_held(dir.path()).unwrap(),
        "the writer is still running"
    );
    assert!(
        matches!(verdict, Err(Rejection::BadProof { sequence, .. }) if sequence == at as u64),
        "{verdict:?}"
    );
    assert_eq!(
        seen.epochs,
        vec![0],
        "epoch 0 was vouched for before the doctored entry"
    );
    writer.stop();
}

/// A writer that dies `torn` bytes into frame `k` (after writing frames `..k` in pieces),
/// leaving `dir` as a crashed service does; returns the length of its last segment before the
/// torn bytes, where a repair cuts.
fn crash_inside_frame(
    dir: &Path,
    bytes: &LogBytes,
    k: usize,
    torn: usize,
    rng: &mut StdRng,
) -> (StandInWriter, u64) {
    let mut writer = StandInWriter::new(dir);
    writer.write_frames(bytes, 0..k, rng, || {
        thread::sleep(Duration::from_micros(200))
    });
    let segment = bytes.positions[k].segment;
    if writer.segment != Some(segment) {
        writer.new_segment(segment, &bytes.segments[segment as usize].0);
    }
    let cut = writer.segment_len();
    writer.append(&bytes.frame(k)[..torn]);
    writer.stop();
    (writer, cut)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

    /// A service that crashes anywhere in the log, inside a frame, and is restarted within the
    /// grace: the follower waits, then verifies the resumed writer's appends from the cut on,
    /// and the result is the whole log's.
    #[test]
    fn a_follower_waits_out_a_restart_and_verifies_the_resumed_writers_appends(
        at in 0.0f64..1.0,
        torn_share in 0.0f64..1.0,
        seed in any::<u64>(),
    ) {
        let bytes = honest_bytes(1500);
        let n = bytes.positions.len();
        let k = ((n as f64 * at) as usize).min(n - 1);
        let torn = 1 + ((bytes.frame(k).len() - 1) as f64 * torn_share) as usize;
        let dir = TempDir::new("live-log-restart");
        let mut rng = StdRng::seed_from_u64(seed);
        // A grace far longer than the restart takes; the follow ends with the log's last
        // epoch instead of waiting it out again.
        let last = honest_log().last().unwrap();
        prop_assert!(last.kind == EntryKind::EpochEnd && last.epoch == 2);
        let mut options = quick();
        options.restart_grace = Some(Duration::from_secs(60));
        options.until_epoch = Some(2);
        let (seen, verdict) = follow_while(dir.path(), options, |notes| {
            let (mut writer, cut) = crash_inside_frame(dir.path(), &bytes, k, torn, &mut rng);
            // Restarted only once the follower has seen it go: the grace is what it waits on.
            assert_eq!(notes.recv_timeout(Duration::from_secs(60)), Ok(Note::WriterGone));
            writer.lock = Some(WriterLock::try_acquire(dir.path()).unwrap());
            writer.cut(cut);
            // And it writes on once the follower has seen it back (the whole rest could
            // otherwise come between two of its looks).
            assert_eq!(notes.recv_timeout(Duration::from_secs(60)), Ok(Note::WriterBack));
            writer.write_frames(&bytes, k..n, &mut rng, || {});
            writer.stop();
        });
        let log = verdict.expect("the followed log is accepted");
        prop_assert_eq!(log.entries, n as u64);
        prop_assert_eq!(log.stopped_at_epoch, Some(2));
        prop_assert_eq!(&seen.entries, &(1..=n as u64).collect::<Vec<_>>(), "each entry once");
        // Gone once after the crash, with its torn frame; back once, at the same entry.
        prop_assert_eq!(&seen.gone, &vec![(k as u64, Some(bytes.positions[k]))]);
        prop_assert_eq!(&seen.back, &vec![k as u64]);
        let whole = keys().verifier.verify_entries(honest_log()).unwrap();
        prop_assert_eq!(&log.epochs, &whole.epochs);
    }
}

#[test]
fn without_a_restart_the_grace_ends_in_the_crashed_writers_torn_tail() {
    let bytes = honest_bytes(1500);
    let k = bytes.positions.len() / 2;
    let dir = TempDir::new("live-log-no-restart");
    let mut rng = StdRng::seed_from_u64(crate::test_seed::seed("live_log no restart"));
    crash_inside_frame(dir.path(), &bytes, k, 3, &mut rng);
    let grace = Duration::from_millis(300);
    let mut options = quick();
    options.restart_grace = Some(grace);
    let started = std::time::Instant::now();
    let (seen, verdict) = follow_while(dir.path(), options, |_| {});
    assert!(started.elapsed() >= grace, "it waited out the grace");
    match verdict {
        Err(Rejection::TornTail(LogError::Truncated { offset, .. })) => {
            assert_eq!(offset, bytes.positions[k].offset)
        }
        other => panic!("expected the torn tail, got {other:?}"),
    }
    assert_eq!(seen.gone, vec![(k as u64, Some(bytes.positions[k]))]);
    assert!(seen.back.is_empty());
}

#[test]
fn a_follow_stops_at_the_epoch_asked_for_with_the_writer_still_running() {
    let bytes = honest_bytes(1500);
    let entries = honest_log();
    let dir = TempDir::new("live-log-until");
    let mut writer = StandInWriter::new(dir.path());
    let mut rng = StdRng::seed_from_u64(crate::test_seed::seed("live_log until"));
    writer.write_in_pieces(&bytes, &mut rng, || {});
    // Epoch 1 ends with its epoch-end entry: the follow reads up to it and no further.
    let end_of_1 = entries
        .iter()
        .position(|e| e.kind == EntryKind::EpochEnd && e.epoch == 1)
        .expect("epoch 1 ends in the log")
        + 1;
    let mut options = quick();
    options.until_epoch = Some(1);
    let (seen, verdict) = follow_while(dir.path(), options, |_| {});
    let log = verdict.expect("accepted");
    assert_eq!(log.stopped_at_epoch, Some(1));
    assert_eq!(log.entries, end_of_1 as u64);
    assert_eq!(seen.epochs, vec![0, 1]);
    assert_eq!(log.writer.map(|w| w.appending), Some(None), "still held");
    // Asking for an epoch the log never reaches: it ends with the writer, not stopped.
    writer.stop();
    options.until_epoch = Some(7);
    let (_, verdict) = follow_while(dir.path(), options, |_| {});
    let log = verdict.expect("accepted");
    assert_eq!(log.stopped_at_epoch, None);
    assert_eq!((log.entries, log.epochs.len()), (entries.len() as u64, 3));
}

#[test]
fn a_resumed_writer_cuts_a_torn_tail_and_holds_the_log_from_the_cut_on() {
    let dir = TempDir::new("live-log-resume");
    let (entries, positions) = build_log(dir.path(), 11, 4, 1 << 20);
    let bytes = LogBytes::of(dir.path());
    // A crash in the middle of a fifth append.
    let last = segment_path(dir.path(), 0);
    let torn_at = fs::metadata(&last).unwrap().len();
    let mut file = OpenOptions::new().append(true).open(&last).unwrap();
    file.write_all(&bytes.frame(1)[..7]).unwrap();
    drop(file);
    assert!(!WriterLock::is_held(dir.path()).unwrap());
    let (mut log, torn) = ProofLog::open_repairing(dir.path()).expect("repaired and opened");
    let torn = torn.expect("the torn tail is cut");
    assert_eq!((torn.offset, torn.dropped_bytes), (torn_at, 7));
    assert!(
        WriterLock::is_held(dir.path()).unwrap(),
        "the writer holds the log"
    );
    // An intact log comes back with nothing cut; a held one is refused, not repaired.
    assert!(matches!(
        ProofLog::open_repairing(dir.path()),
        Err(LogError::Locked { .. })
    ));
    let next = log.append(&entries[0]).unwrap();
    assert_eq!(next.offset, torn_at);
    drop(log);
    let (_log, torn) = ProofLog::open_repairing(dir.path()).unwrap();
    assert!(torn.is_none());
    let read: Vec<LogEntry> = read_entries(dir.path())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(read.len(), positions.len() + 1);
    assert_eq!(read[..4], entries[..]);
}

/// What must be there whenever the log is (its verifying keys, written by
/// `LogWriter::create` this way) is made under the writer lock before the first segment; if
/// making it fails, there is no log, and a later create starts afresh.
#[test]
fn files_made_before_the_first_segment_are_there_whenever_the_log_is() {
    let dir = TempDir::new("live-log-first");
    let failed = ProofLog::create_with(dir.path(), |dir| {
        assert!(!ProofLog::exists(dir), "no segment yet");
        assert!(WriterLock::is_held(dir).unwrap(), "made under the lock");
        Err(LogError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::other("disk full"),
        })
    });
    assert!(matches!(failed, Err(LogError::Io { .. })));
    assert!(
        !ProofLog::exists(dir.path()),
        "a failed create leaves no log"
    );
    let log = ProofLog::create_with(dir.path(), |dir| {
        fs::write(dir.join("keys"), b"k").map_err(|source| LogError::Io {
            path: dir.join("keys"),
            source,
        })
    })
    .expect("a later create starts afresh");
    assert!(dir.path().join("keys").exists());
    drop(log);
    assert!(LogFollower::new(dir.path()).is_ok());
}
