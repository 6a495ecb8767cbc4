//! The engine's one error type.

use thiserror::Error;

/// Everything that can go wrong in the engine. Each variant names the problem precisely
/// enough for an operator to act on it; none of them is ever turned into a panic.
#[derive(Debug, Error)]
pub enum EngineError {
    /// An NTT was asked for a length that is not a power of two, or beyond 2^28.
    #[error("NTT size {size} is not supported: need a power of two between 1 and 2^{max_log}")]
    BadNttSize { size: usize, max_log: u32 },
    /// The constraint system needs an evaluation domain larger than the field supports.
    #[error("circuit needs a domain of {needed} points; the largest supported is 2^{max_log}")]
    DomainTooLarge { needed: usize, max_log: u32 },
    /// An MSM was given bases and scalars of different lengths.
    #[error("MSM length mismatch: {bases} bases, {scalars} scalars")]
    MsmLength { bases: usize, scalars: usize },
    /// A handle of resident data (bases, a loaded shape) was used with a backend (or group)
    /// other than the one that loaded it.
    #[error("{handle} handle was loaded by backend `{loaded_by}` for {group}, used with `{used_with}` for {expected}")]
    ForeignHandle {
        handle: &'static str,
        loaded_by: &'static str,
        group: &'static str,
        used_with: &'static str,
        expected: &'static str,
    },
    /// The proving key does not fit the circuit being proved.
    #[error("proving key does not match the circuit: {0}")]
    KeyMismatch(String),
    /// The witness does not satisfy the circuit's constraints.
    #[error("witness does not satisfy constraint #{index} of {total}{}", label.as_deref().map(|l| format!(" ({l})")).unwrap_or_default())]
    Unsatisfied {
        index: usize,
        total: usize,
        label: Option<String>,
    },
    /// The circuit could not be synthesized.
    #[error("constraint synthesis failed: {0}")]
    Synthesis(#[from] ark_relations::gr1cs::SynthesisError),
    /// A verifier was given a number of public inputs other than the key's.
    #[error("wrong number of public inputs: the verifying key expects {expected}, got {got}")]
    PublicInputCount { expected: usize, got: usize },
    /// A proof we produced failed our own verification (the self-check after proving).
    #[error("the produced proof does not verify against the key ({0}); no proof is returned")]
    SelfCheckFailed(String),
    /// A key file is missing, truncated, corrupted or of another version.
    #[error("key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    /// An I/O error outside key files.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A GPU NTT plan or tile shape that the kernels cannot run.
    #[error("invalid GPU NTT plan: {0}")]
    BadNttPlan(String),
    /// A GPU MSM plan the kernels cannot run (a window, chunk or segment out of range, or an
    /// MSM too large for the kernels' 32-bit indices).
    #[error("invalid GPU MSM plan: {0}")]
    BadMsmPlan(String),
    /// A kernel (on the device or in its host simulation) produced a value that cannot be
    /// right: an unreduced field element, more entries than its bound. A bug or a faulty
    /// device, never bad input.
    #[error("a kernel produced an invalid result: {0}")]
    KernelOutput(String),
    /// A kernel the backend launches with blocks larger than the device runs for it (found
    /// when the kernels are loaded, before any launch).
    #[error("kernel {kernel} of {source_file} runs at most {allowed} threads a block on {device} (its registers and launch bound decide), but the backend launches it with up to {threads}")]
    KernelLimit {
        kernel: String,
        source_file: String,
        device: String,
        allowed: u32,
        threads: u32,
    },
    /// A CUDA driver call failed (after the backend was set up: a lost device, out of device
    /// memory, a kernel fault).
    #[error("CUDA {operation} failed: {reason}")]
    Cuda { operation: String, reason: String },
    /// The requested backend is not available in this build or on this machine.
    #[error("backend `{name}` is not available: {reason}")]
    BackendUnavailable { name: String, reason: String },
}

/// Short alias used throughout the engine.
pub type Result<T> = std::result::Result<T, EngineError>;
