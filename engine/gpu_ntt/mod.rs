//! The GPU NTT's algorithm on the host side: which passes to launch ([`plan`]), the quotient's
//! launches over its device buffers ([`quotient_chain`]), the tables they read ([`tables`]),
//! the launch parameters shared with the kernels ([`pass`]), and a host simulation that runs
//! the kernels' own pass bodies over every block and thread ([`host_simulation`]), so the
//! algorithm is tested against arkworks on machines without a GPU. The CUDA backend
//! (`engine/cuda`, feature `cuda`) executes the same plans and launches on a device.
//!
//! None of this needs CUDA: it is compiled and tested in every build.

pub mod host_simulation;
pub mod pass;
pub mod plan;
pub mod quotient_chain;
pub mod tables;

pub use plan::{
    NttPlan, PlannedPass, Scale, Slot, TileShape, TransformSpec, QUOTIENT_INPUT_STEPS,
    QUOTIENT_OUTPUT_STEP,
};
pub use quotient_chain::{ChainLaunch, ChainStep, QuotientChain, QUOTIENT_BUFFERS};
pub use tables::DomainTables;
