//! A fresh directory under the system's temporary directory, removed when dropped: for
//! tests that write logs or keys. A module of the integration test binary.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A directory that does not exist yet (its parent does), removed with everything in it
/// when this value is dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new path `spice-<label>-<pid>-<n>` under the temporary directory.
    pub fn new(label: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("spice-{label}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        Self(dir)
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
