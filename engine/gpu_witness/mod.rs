//! The GPU witness map's first step on the host side: the R1CS matrices in the layout the
//! kernel reads ([`layout`]), its launch parameters ([`params`]), and a host simulation that
//! runs the kernel's own body (`kernels/witness_map/rows.cuh`) over every point
//! ([`host_simulation`]), tested against the CPU evaluator
//! ([`evaluate_constraints`](crate::engine::evaluate_constraints)) on machines without a GPU.
//! The CUDA backend (`engine/cuda/witness_map.rs`, feature `cuda`) uploads the same layout once
//! per shape and launches the same body.
//!
//! None of this needs CUDA: it is compiled and tested in every build.

pub mod host_simulation;
pub mod layout;
pub mod params;

pub use layout::{ShapeDims, WitnessMapLayout, WitnessTerm};
pub use params::WitnessMapParams;
