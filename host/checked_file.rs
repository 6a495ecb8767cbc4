//! Small files written whole and read back checked: the verifying keys next to a proof log
//! ([`super::proof_log::write_verifying_key`]) and the service's journal
//! ([`super::service_journal`]).
//!
//! ```text
//! file     magic (8) | format version u32 LE (4) | payload length u64 LE (8)
//!          | SHA-256(payload) (32) | payload
//! ```
//!
//! A file is written to a temporary name, fsynced, renamed into place and its directory
//! fsynced, so it exists either whole or not at all, and survives a crash once written.
//! Reading rejects a wrong magic or version, a file shorter or longer than its header says,
//! and any flipped byte.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::proof_log::{io_error, sync_dir, LogError, FORMAT_VERSION};

/// Bytes of the header: magic, version, payload length, SHA-256.
pub const CHECKED_HEADER_BYTES: u64 = 8 + 4 + 8 + 32;

/// Writes `payload` to `dir/name` atomically (temporary file, fsync, rename, fsync of the
/// directory), replacing an older file of that name. Returns the file's path.
pub fn write_checked(
    dir: &Path,
    name: &str,
    magic: &[u8; 8],
    payload: &[u8],
) -> Result<PathBuf, LogError> {
    let path = dir.join(name);
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    // A leading dot keeps a temporary left by a crash out of every listing that reads names.
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut bytes = Vec::with_capacity(CHECKED_HEADER_BYTES as usize + payload.len());
    bytes.extend_from_slice(magic);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&Sha256::digest(payload));
    bytes.extend_from_slice(payload);
    let mut file = File::create(&tmp).map_err(io_error(&tmp))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_error(&tmp))?;
    drop(file);
    fs::rename(&tmp, &path).map_err(io_error(&path))?;
    sync_dir(dir)?;
    Ok(path)
}

/// The payload of a file written by [`write_checked`] with `magic`; `what` names the file's
/// kind in errors ("verifying key", "journal record").
pub fn read_checked(path: &Path, magic: &[u8; 8], what: &'static str) -> Result<Vec<u8>, LogError> {
    let mut bytes = fs::read(path).map_err(io_error(path))?;
    let header = CHECKED_HEADER_BYTES as usize;
    let file = || path.to_path_buf();
    if bytes.len() < header {
        return Err(LogError::Truncated {
            file: file(),
            offset: 0,
            what: "file header",
            needed: CHECKED_HEADER_BYTES,
            available: bytes.len() as u64,
        });
    }
    if &bytes[..8] != magic {
        return Err(LogError::BadMagic {
            file: file(),
            offset: 0,
            expected: what,
        });
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(LogError::UnsupportedVersion {
            file: file(),
            offset: 8,
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
    let available = (bytes.len() - header) as u64;
    if available != len {
        // Longer than declared is as wrong as shorter: a damaged length or appended bytes.
        return Err(LogError::Truncated {
            file: file(),
            offset: CHECKED_HEADER_BYTES,
            what: "payload (the length field disagrees with the file)",
            needed: len,
            available,
        });
    }
    if Sha256::digest(&bytes[header..]).as_slice() != &bytes[20..52] {
        return Err(LogError::ChecksumMismatch {
            file: file(),
            offset: CHECKED_HEADER_BYTES,
            what,
        });
    }
    Ok(bytes.split_off(header))
}
