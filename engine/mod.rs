//! The proving engine: backends (CPU, CUDA), MSM/NTT, and the Groth16 prover on a backend.
//!
//! ```text
//! circuit ──synthesis──▶ R1csShape + assignment ──Prover──▶ Backend (NTT, MSM) ──▶ Proof
//! ```

// sppark's GPU selection (select_gpu, in its native library) backs the comparison glue that
// build.rs links in with `bench-sppark`; naming the crate keeps its library on the link line.
#[cfg(feature = "bench-sppark")]
extern crate sppark;

pub mod backend;
pub mod constraint_eval;
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
pub mod error;
pub mod gpu_msm;
pub mod gpu_ntt;
pub mod gpu_witness;
#[doc(hidden)]
pub mod kernel_host;
pub mod key_file;
pub mod lane_pool;
pub mod prover;
#[doc(hidden)]
pub mod random_shape;
pub mod scalars;
pub mod shape;
pub mod synthetic_circuit;
pub mod transfer_times;
pub mod verifier;
pub mod witness_map;

pub use backend::{
    auto, select, Backend, BackendChoice, BackendStorage, Bases, EvaluationOrder, NttDirection,
    MAX_NTT_LOG,
};
pub use constraint_eval::{evaluate_constraints, ConstraintEvaluations};
pub use cpu::CpuBackend;
#[cfg(feature = "cuda")]
pub use cuda::CudaBackend;
pub use error::{EngineError, Result};
pub use key_file::{read_proving_key, write_proving_key};
pub use prover::{Prover, StageTimes};
pub use scalars::{MsmScalars, ScalarStats};
pub use shape::{synthesize_assignment, R1csShape};
pub use synthetic_circuit::SyntheticCircuit;
pub use transfer_times::TransferTimes;
pub use verifier::Verifier;
pub use witness_map::{LoadedShape, WitnessMap};
