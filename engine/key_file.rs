//! Proving keys on disk: a small header (magic, version, payload length, SHA-256 of the
//! payload) in front of arkworks' uncompressed serialization.
//!
//! The checksum is what makes loading fast *and* safe against truncation or bit rot: with it
//! verified we can skip arkworks' per-point subgroup checks (seconds for a 2^16 key). It is an
//! integrity check, not an authenticity one: a key file is the operator's own artifact.

use std::fs;
use std::io::Write;
use std::path::Path;

use ark_bls12_381::Bls12_381;
use ark_groth16::ProvingKey;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use sha2::{Digest, Sha256};

use super::error::{EngineError, Result};

const MAGIC: &[u8; 8] = b"SPICEPK\0";
const VERSION: u32 = 1;
const HEADER: usize = 8 + 4 + 8 + 32;

fn key_error(path: &Path, reason: impl Into<String>) -> EngineError {
    EngineError::KeyFile {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// Writes `pk` to `path` atomically (a temporary file renamed into place), so a crash never
/// leaves a half-written key where a later run would find it.
pub fn write_proving_key(path: &Path, pk: &ProvingKey<Bls12_381>) -> Result<()> {
    let mut payload = Vec::with_capacity(pk.uncompressed_size());
    pk.serialize_uncompressed(&mut payload)
        .map_err(|e| key_error(path, format!("cannot serialize: {e}")))?;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut file = fs::File::create(&tmp)?;
    file.write_all(MAGIC)?;
    file.write_all(&VERSION.to_le_bytes())?;
    file.write_all(&(payload.len() as u64).to_le_bytes())?;
    file.write_all(&Sha256::digest(&payload))?;
    file.write_all(&payload)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)?;
    Ok(())
}

/// Reads a key written by [`write_proving_key`], rejecting a wrong magic or version, a
/// truncated file, trailing bytes and any corruption (checksum mismatch).
pub fn read_proving_key(path: &Path) -> Result<ProvingKey<Bls12_381>> {
    let bytes = fs::read(path).map_err(|e| key_error(path, e.to_string()))?;
    if bytes.len() < HEADER {
        return Err(key_error(
            path,
            format!(
                "truncated: {} bytes, the header alone is {HEADER}",
                bytes.len()
            ),
        ));
    }
    if &bytes[..8] != MAGIC {
        return Err(key_error(path, "not a spice proving key (bad magic)"));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(key_error(
            path,
            format!("format version {version}, this build reads {VERSION}"),
        ));
    }
    let len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes")) as usize;
    let payload = &bytes[HEADER..];
    if payload.len() != len {
        return Err(key_error(
            path,
            format!(
                "truncated or padded: payload is {} bytes, header says {len}",
                payload.len()
            ),
        ));
    }
    if Sha256::digest(payload).as_slice() != &bytes[20..52] {
        return Err(key_error(path, "checksum mismatch: the file is corrupted"));
    }
    ProvingKey::deserialize_uncompressed_unchecked(payload)
        .map_err(|e| key_error(path, format!("cannot deserialize: {e}")))
}
