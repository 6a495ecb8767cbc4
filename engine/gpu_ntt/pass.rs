//! The launch parameters of one NTT pass: the Rust mirror of `spice_ntt_pass` in
//! `kernels/include/spice_layout.h` (bindgen's reading of the header is checked against it by
//! `tests/gpu_layout.rs`, `cuda` feature).

use crate::engine::kernel_host::FrLimbs;

use super::plan::{NttPlan, PlannedPass};

/// Decimation in time (bit-reversed in, natural out); without it, decimation in frequency.
pub const FLAG_DIT: u32 = 1;
/// The pass touching index bits `[0, k)` also performs the bit reversal (out of place).
pub const FLAG_BITREV_IO: u32 = 2;
/// Multiply element `i` (natural index) by `σ^i` from the scale tables.
pub const FLAG_SCALE: u32 = 4;
/// Multiply every element by `lambda`.
pub const FLAG_LAMBDA: u32 = 8;
/// Largest log2 of the tile one block holds (`SPICE_NTT_MAX_TILE_LOG`).
pub const MAX_TILE_LOG: u32 = 12;

/// `spice_ntt_pass`: one launch of the NTT kernel. Pointers are device addresses on the GPU
/// and host addresses in the host simulation.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NttPassParams {
    /// Array read by the pass.
    pub input: *const FrLimbs,
    /// Array written by the pass (equal to `input` unless the pass bit-reverses).
    pub output: *mut FrLimbs,
    /// `ω_{2^root_log}^m` for `m < 2^(root_log − 1)`.
    pub roots: *const FrLimbs,
    /// `ω^e` for `e < 2^split`.
    pub twiddle_lo: *const FrLimbs,
    /// `ω^(e·2^split)` for `e < 2^(log_n − split)`.
    pub twiddle_hi: *const FrLimbs,
    /// `σ^i` for `i < 2^split` (null without [`FLAG_SCALE`]).
    pub scale_lo: *const FrLimbs,
    /// `σ^(i·2^split)` (null without [`FLAG_SCALE`]).
    pub scale_hi: *const FrLimbs,
    /// Constant factor (used with [`FLAG_LAMBDA`]).
    pub lambda: FrLimbs,
    /// log2 of the transform size.
    pub log_n: u32,
    /// Lowest index bit the pass's stages touch.
    pub lo_bit: u32,
    /// Number of stages in the pass.
    pub stages: u32,
    /// log2 of the groups side by side in one block's tile.
    pub log_columns: u32,
    /// log2 of the order of the root table.
    pub root_log: u32,
    /// Bit at which twiddle and scale exponents are split between the lo and hi tables.
    pub split: u32,
    /// `FLAG_*` bits.
    pub flags: u32,
    /// Threads per block.
    pub threads: u32,
}

/// The arrays one pass reads and writes (device or host addresses).
#[derive(Clone, Copy, Debug)]
pub struct PassArrays {
    /// The pass's source buffer.
    pub input: *const FrLimbs,
    /// The pass's destination buffer.
    pub output: *mut FrLimbs,
    /// Root table of the plan's direction.
    pub roots: *const FrLimbs,
    /// Low twiddle table of the plan's direction.
    pub twiddle_lo: *const FrLimbs,
    /// High twiddle table of the plan's direction.
    pub twiddle_hi: *const FrLimbs,
    /// Low scale table (null when the plan has no `σ^i` factor).
    pub scale_lo: *const FrLimbs,
    /// High scale table (null when the plan has no `σ^i` factor).
    pub scale_hi: *const FrLimbs,
}

impl NttPassParams {
    /// The parameters of `pass` of `plan` over `arrays`, with `lambda` the plan's constant factor.
    pub fn new(plan: &NttPlan, pass: &PlannedPass, arrays: PassArrays, lambda: FrLimbs) -> Self {
        Self {
            input: arrays.input,
            output: arrays.output,
            roots: arrays.roots,
            twiddle_lo: arrays.twiddle_lo,
            twiddle_hi: arrays.twiddle_hi,
            scale_lo: arrays.scale_lo,
            scale_hi: arrays.scale_hi,
            lambda,
            log_n: plan.log_n,
            lo_bit: pass.lo_bit,
            stages: pass.stages,
            log_columns: pass.log_columns,
            root_log: plan.root_log,
            split: plan.split,
            flags: pass.flags,
            threads: pass.threads,
        }
    }

    /// Blocks the pass launches: the array holds `2^(log_n − stages − log_columns)` tiles.
    pub fn blocks(&self) -> u32 {
        1 << (self.log_n - self.stages - self.log_columns)
    }

    /// Bytes of shared memory one block needs for its tile.
    pub fn shared_bytes(&self) -> u32 {
        (std::mem::size_of::<FrLimbs>() as u32) << (self.stages + self.log_columns)
    }
}
