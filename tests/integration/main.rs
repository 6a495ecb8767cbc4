//! The integration tests of the engine and of Spice, one module per concern, in one test
//! binary: linked once, and the arkworks code they share (Groth16 setup and proving, the
//! gadgets, the service over each app) compiled once rather than once per file, which
//! halves the suite's build time.
//!
//! Run one module with `cargo test --release --test integration ledger::` (add
//! `-- --nocapture` to see the constraint counts and tables some of them print).
//!
//! The tests of the CUDA backend (`gpu_*`), of the host-compiled kernels (`kernel_*`) and of
//! bad input (`bad_input`, also built with `--features cuda` in CI) stay binaries of their
//! own: they are what the GPU check runs on a device.

#[path = "../common/mod.rs"]
mod common;
#[path = "../support/test_seed.rs"]
mod test_seed;

mod app_harness;
mod temp_dir;

// Engine.
mod cpu_kernels;
mod identical_output;
mod simulated_gpu_prover;

// Spice: storage, digests and the batch circuit.
mod batch_circuit;
mod set_digest;
mod store;

// The epoch audit, the proof log and the service around them.
mod audit;
mod live_log;
mod proof_log;
mod service;
mod service_resume;
mod soundness;

// Circuit costs, signatures and the applications.
mod cost;
mod darkpool;
mod eddsa;
mod interbank;
mod ledger;
mod workload_resync;
