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

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

/// The lock file's name in a locked directory. Its name matches no segment or record name,
/// so listings of segments and records pass over it.
pub const WRITER_LOCK_FILE: &str = "writer.lock";

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
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(LockRefused::Held { path }),
            Err(TryLockError::Error(source)) => Err(LockRefused::Io { path, source }),
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
}
