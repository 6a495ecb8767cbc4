//! The launch parameters of the witness-map kernel: the Rust mirror of `spice_witness_map` in
//! `kernels/include/spice_layout.h` (checked against bindgen's reading of the header by
//! `tests/gpu_layout.rs`, `cuda` feature).

use crate::engine::kernel_host::FrLimbs;

use super::layout::WitnessTerm;

/// Coefficient-table index of 1 (`SPICE_WITNESS_COEFF_ONE`).
pub const COEFF_ONE: u32 = 0;
/// Coefficient-table index of −1 (`SPICE_WITNESS_COEFF_MINUS_ONE`).
pub const COEFF_MINUS_ONE: u32 = 1;
/// `first_failure` when every constraint holds (`SPICE_WITNESS_NO_FAILURE`).
pub const NO_FAILURE: u32 = u32::MAX;

/// `spice_witness_map`: one launch of the witness-map kernel. Pointers are device addresses on
/// the GPU and host addresses in the host simulation.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct WitnessMapParams {
    /// `3·rows + 1` term offsets: matrix m's row i is `terms[offsets[m·rows + i]..offsets[m·rows + i + 1]]`.
    pub offsets: *const u32,
    /// The terms of A, then B, then C, row by row.
    pub terms: *const WitnessTerm,
    /// Distinct coefficients, starting with 1 and −1.
    pub coeff_table: *const FrLimbs,
    /// The assignment (one, public inputs, witness).
    pub z: *const FrLimbs,
    /// A·z over the domain (`domain` elements).
    pub a: *mut FrLimbs,
    /// B·z over the domain.
    pub b: *mut FrLimbs,
    /// C·z over the domain.
    pub c: *mut FrLimbs,
    /// The smallest failing constraint; [`NO_FAILURE`] before the launch.
    pub first_failure: *mut u32,
    /// Constraints.
    pub rows: u32,
    /// Instance values (the one and the public inputs), placed in `a` after the rows.
    pub instance: u32,
    /// Points of the domain.
    pub domain: u32,
}
