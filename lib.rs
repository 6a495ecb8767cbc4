#![doc = include_str!("README.md")]
#![deny(unsafe_op_in_unsafe_fn)]

#[path = "engine/mod.rs"]
pub mod engine;
#[cfg(feature = "host")]
#[path = "host/mod.rs"]
pub mod host;

pub use engine::{Backend, CpuBackend, EngineError, Prover, Verifier};
