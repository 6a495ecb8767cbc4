//! The launch parameters of the MSM kernels: Rust mirrors of `spice_msm_schedule`,
//! `spice_msm_level` and `spice_msm_reduce` in `kernels/include/spice_layout.h` (bindgen's
//! reading of the header is checked against them by `tests/gpu_layout.rs`, `cuda` feature).

use std::ffi::c_void;

use crate::engine::kernel_host::FrLimbs;

/// Entry flag: the base enters its bucket negated (`SPICE_MSM_NEGATE`).
pub const NEGATE: u32 = 0x8000_0000;
/// Smallest window the kernels take (`SPICE_MSM_MIN_WINDOW_BITS`).
pub const MIN_WINDOW_BITS: u32 = 2;
/// Largest window the kernels take (`SPICE_MSM_MAX_WINDOW_BITS`).
pub const MAX_WINDOW_BITS: u32 = 22;
/// Smallest accumulation chunk (`SPICE_MSM_MIN_CHUNK`).
pub const MIN_CHUNK: u32 = 4;

/// `spice_msm_schedule`: the scalar side of an MSM. Pointers are device addresses on the GPU
/// and host addresses in the host simulation.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ScheduleParams {
    /// Scalars: Montgomery form in, normalised canonical form (negate flag in bit 255) after
    /// the prepare launch.
    pub scalars: *mut FrLimbs,
    /// One counter a bucket: histogram, then exclusive offsets, then end cursors.
    pub bucket_counts: *mut u32,
    /// One a scan segment.
    pub segment_sums: *mut u32,
    /// Base index | [`NEGATE`], sorted by bucket.
    pub entries: *mut u32,
    /// The bucket of each entry.
    pub keys: *mut u32,
    /// The number of entries (one value, written by the scan).
    pub entry_count: *mut u32,
    /// Scalars.
    pub n: u32,
    /// Window size c.
    pub window_bits: u32,
    /// Windows.
    pub windows: u32,
    /// Counters per scan segment.
    pub scan_segment: u32,
    /// Room in `entries` and `keys` (the scatter writes nothing past it).
    pub entry_capacity: u32,
    /// k: the bases hold copies 2^(j·c)·Pᵢ for j < k at `j·n + i`, and window w's digits add
    /// copy w mod k into the buckets of window w / k; 1: the bases alone, buckets per window.
    pub copies: u32,
}

/// `spice_msm_level`: one level of the bucket accumulation.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LevelParams {
    /// Elements of this level's input (one value on the device).
    pub count: *const u32,
    /// Elements of the next level's input (written by the launch).
    pub next_count: *mut u32,
    /// Input keys, sorted.
    pub keys: *const u32,
    /// Level 0: the schedule's entries.
    pub entries: *const u32,
    /// Level 0: affine bases.
    pub bases: *const c_void,
    /// Later levels: XYZZ partial sums.
    pub partials: *const c_void,
    /// XYZZ bucket sums (zeroed before level 0).
    pub buckets: *mut c_void,
    /// Keys of the next level's input.
    pub next_keys: *mut u32,
    /// Partial sums of the next level's input.
    pub next_partials: *mut c_void,
    /// Elements per chunk.
    pub chunk: u32,
    /// 0 for the level that reads the bases.
    pub level: u32,
}

/// `spice_msm_copy`: one window copy of the bases from the one before it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CopyParams {
    /// Affine: the previous copy.
    pub source: *const c_void,
    /// Affine: this copy.
    pub target: *mut c_void,
    /// XYZZ scratch, `count` points.
    pub doubled: *mut c_void,
    /// Field-element scratch, `count` of them.
    pub prefix: *mut c_void,
    /// The first point of the launch.
    pub first: u32,
    /// Points of the launch.
    pub count: u32,
    /// Doublings (c), at least 1.
    pub window_bits: u32,
    /// Points a thread brings back to affine with one inversion, at least 1.
    pub chunk: u32,
}

/// `spice_msm_reduce`: the bucket reduction and the windows' trees.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ReduceParams {
    /// XYZZ bucket sums.
    pub buckets: *const c_void,
    /// XYZZ, one a segment.
    pub segment_sums: *mut c_void,
    /// XYZZ, one a tree (window by window) and then the ones bucket.
    pub window_sums: *mut c_void,
    /// Window size c.
    pub window_bits: u32,
    /// Windows whose buckets are kept apart: all of them, or 1 with window copies.
    pub windows: u32,
    /// log2 of the buckets a thread sums.
    pub segment_log: u32,
    /// log2 of the trees (blocks) a window's segment sums are added in.
    pub tree_groups_log: u32,
}
