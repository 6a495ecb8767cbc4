//! The GPU NTT's algorithm on the host side: which passes to launch ([`plan`]), the tables they
//! read ([`tables`]), the launch parameters shared with the kernels ([`pass`]), and a host
//! simulation that runs the kernels' own pass bodies over every block and thread
//! ([`host_simulation`]), so the algorithm is tested against arkworks on machines without a
//! GPU. The CUDA backend (`engine/cuda`, feature `cuda`) executes the same plans on a device.
//!
//! None of this needs CUDA: it is compiled and tested in every build.

pub mod host_simulation;
pub mod pass;
pub mod plan;
pub mod tables;

pub use plan::{NttPlan, PlannedPass, Scale, Slot, TileShape, TransformSpec, QUOTIENT_INPUT_STEPS, QUOTIENT_OUTPUT_STEP};
pub use tables::DomainTables;
