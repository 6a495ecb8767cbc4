//! The one-writer rule of a directory (a proof log, a service journal), enforced.
//!
//! A log or journal with two writers is two histories interleaved: their appends number the
//! same sequence twice, and a repair by one can cut a frame the other is writing. Each writer
//! therefore holds an exclusive advisory lock on a file of the directory
//! ([`WRITER_LOCK_FILE`]) for as long as it may write, and a second writer — in this process
//! or another — is refused at once instead of waiting.
//!
//! The lock is `flock`-style (std's [`File::try_lock`]): it belongs to the open file, so the
//! kernel releases it when the holder closes it or dies, and a crash never leaves a stale
//! lock behind (the file itself stays, empty, and means nothing on its own). Readers (the
//! verifier) take no lock: they read only complete frames and records. A file system that
//! cannot lock is an error, never an unlocked writer.
//!
//! A reader may ask whether a writer is there ([`WriterLock::is_held`], which `spice verify`
//! uses to tell an append in progress from a crash's torn tail). The question is asked by
//! taking a shared lock and letting go at once, so for those microseconds a writer's
//! exclusive lock would be refused: [`WriterLock::try_acquire`] therefore tries again for
//! [`PROBE_GRACE`] before it calls the lock held.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The lock file's name in a locked directory. Its name matches no segment or record name,
/// so listings of segments and records pass over it.
pub const WRITER_LOCK_FILE: &str = "writer.lock";

/// How long [`WriterLock::try_acquire`] retries a lock that is held, in case the holder is a
/// reader's [`WriterLock::is_held`] rather than a writer. A writer holds it far longer.
pub const PROBE_GRACE: Duration = Duration::from_millis(100);

/// An exclusive lock on a directory's [`WRITER_LOCK_FILE`], released when dropped.
#[derive(Debug)]
pub struct WriterLock {
    /// Held open for the lock; closing it releases the lock.
    _file: File,
}

/// Why a [`WriterLock`] could not be taken.
#[derive(Debug)]
pub enum LockRefused {
    /// Another open handle holds the lock: a writer in this process or another.
    Held {
        /// The lock file.
        path: PathBuf,
    },
    /// Opening or locking the file failed (including a file system without locks).
    Io {
        /// The lock file.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
}

impl WriterLock {
    /// Takes the lock of `dir` (which must exist), without waiting.
    pub fn try_acquire(dir: &Path) -> Result<Self, LockRefused> {
        let path = dir.join(WRITER_LOCK_FILE);
        let file = match OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
        {
            Ok(file) => file,
            Err(source) => return Err(LockRefused::Io { path, source }),
        };
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(TryLockError::WouldBlock) if started.elapsed() < PROBE_GRACE => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(TryLockError::WouldBlock) => return Err(LockRefused::Held { path }),
                Err(TryLockError::Error(source)) => return Err(LockRefused::Io { path, source }),
            }
        }
    }

    /// Whether a writer holds the lock of `dir` now. A directory without a lock file has
    /// never had a writer of this build (or is a copy without it): not held. Takes no lock
    /// that outlives the call and never creates the file, so it works on a read-only copy.
    pub fn is_held(dir: &Path) -> io::Result<bool> {
        let file = match File::open(dir.join(WRITER_LOCK_FILE)) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        match file.try_lock_shared() {
            // Dropping the file releases the shared lock at once.
            Ok(()) => Ok(false),
            Err(TryLockError::WouldBlock) => Ok(true),
            Err(TryLockError::Error(e)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh, empty directory of this test's own (removed when dropped).
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let nonce: u64 = rand::random();
            let dir = std::env::temp_dir().join(format!(
                "spice-writer-lock-{name}-{}-{nonce:016x}",
                std::process::id()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_second_writer_is_refused_until_the_first_lets_go() {
        let dir = Scratch::new("second");
        let first = WriterLock::try_acquire(dir.path()).expect("first lock");
        // A second open of the same file is a second writer, even in this process.
        match WriterLock::try_acquire(dir.path()) {
            Err(LockRefused::Held { path }) => assert_eq!(path, dir.path().join(WRITER_LOCK_FILE)),
            other => panic!("second lock: {other:?}"),
        }
        drop(first);
        WriterLock::try_acquire(dir.path()).expect("lock after the first is dropped");
    }

    #[test]
    fn a_missing_directory_is_an_io_error() {
        let dir = Scratch::new("missing");
        let missing = dir.path().join("nowhere");
        assert!(matches!(
            WriterLock::try_acquire(&missing),
            Err(LockRefused::Io { .. })
        ));
    }

    #[test]
    fn is_held_sees_a_writer_and_only_a_writer() {
        let dir = Scratch::new("held");
        assert!(
            !WriterLock::is_held(dir.path()).unwrap(),
            "no lock file yet"
        );
        assert!(
            !dir.path().join(WRITER_LOCK_FILE).exists(),
            "a probe creates nothing"
        );
        let writer = WriterLock::try_acquire(dir.path()).unwrap();
        assert!(WriterLock::is_held(dir.path()).unwrap());
        drop(writer);
        assert!(
            !WriterLock::is_held(dir.path()).unwrap(),
            "released with its holder"
        );
        // A probe lets go: a writer gets in right after one.
        WriterLock::try_acquire(dir.path()).expect("a writer after a probe");
    }

    #[test]
    fn a_writer_waits_out_a_probe_but_not_a_writer() {
        let dir = Scratch::new("probe");
        WriterLock::try_acquire(dir.path()).unwrap();
        // A reader's probe holding its shared lock for a while (far longer than a real one).
        let probe = File::open(dir.path().join(WRITER_LOCK_FILE)).unwrap();
        probe.try_lock_shared().unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(PROBE_GRACE / 4);
            drop(probe);
        });
        WriterLock::try_acquire(dir.path()).expect("the writer retries past the probe");
        release.join().unwrap();
        // A writer that stays is refused once the grace is over, not waited for.
        let _writer = WriterLock::try_acquire(dir.path()).unwrap();
        let started = Instant::now();
        assert!(matches!(
            WriterLock::try_acquire(dir.path()),
            Err(LockRefused::Held { .. })
        ));
        assert!(started.elapsed() < PROBE_GRACE * 10);
    }
}
