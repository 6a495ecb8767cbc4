//! The GPU MSM run on the host: the plan of [`super::plan`], and for each launch the kernels'
//! own bodies (`kernels/msm/*.cuh`) executed over every thread by the entry points of
//! `kernels/host_msm.cpp`, in the order the CUDA backend queues them, on buffers poisoned
//! where the device's would hold garbage. Threads run in an order drawn from a seed, so a
//! result that depends on scheduling (which thread wins an atomic, a race) shows up as a
//! difference between seeds.
//!
//! For tests: a faithful model of the kernels, not a fast MSM.

use ark_bls12_381::Fr;
use ark_ec::short_weierstrass::{Affine, Projective};
use bytemuck::Zeroable;
use std::ffi::c_void;

use crate::engine::error::{EngineError, Result};
use crate::engine::kernel_host::FrLimbs;
use crate::engine::scalars::ScalarStats;

use super::combine::combine_windows;
use super::curve::MsmCurve;
use super::params::{CopyParams, LevelParams, ReduceParams, ScheduleParams};
use super::plan::{MsmOptions, MsmPlan};
use super::window_copies::{copy_tiles, window_copies};

extern "C" {
    fn spice_host_msm_prepare(p: *const ScheduleParams, threads: u32, order_seed: u64) -> i32;
    fn spice_host_msm_scan_reduce(p: *const ScheduleParams, threads: u32, order_seed: u64) -> i32;
    fn spice_host_msm_scan_segments(p: *const ScheduleParams, threads: u32, order_seed: u64)
        -> i32;
    fn spice_host_msm_scan_apply(p: *const ScheduleParams, threads: u32, order_seed: u64) -> i32;
    fn spice_host_msm_scatter(p: *const ScheduleParams, threads: u32, order_seed: u64) -> i32;
    fn spice_host_msm_booth_digits(
        x: *const FrLimbs,
        window_bits: u32,
        windows: u32,
        digits: *mut i32,
        normalised: *mut u64,
    ) -> i32;
    fn spice_host_g1_msm_accumulate(p: *const LevelParams, threads: u32, order_seed: u64) -> i32;
    fn spice_host_g1_msm_bucket_reduce(
        p: *const ReduceParams,
        threads: u32,
        order_seed: u64,
    ) -> i32;
    fn spice_host_g1_msm_window_tree(p: *const ReduceParams, threads: u32, order_seed: u64) -> i32;
    fn spice_host_g2_msm_accumulate(p: *const LevelParams, threads: u32, order_seed: u64) -> i32;
    fn spice_host_g2_msm_bucket_reduce(
        p: *const ReduceParams,
        threads: u32,
        order_seed: u64,
    ) -> i32;
    fn spice_host_g2_msm_window_tree(p: *const ReduceParams, threads: u32, order_seed: u64) -> i32;
    fn spice_host_g1_msm_window_copy(p: *const CopyParams, threads: u32, order_seed: u64) -> i32;
    fn spice_host_g2_msm_window_copy(p: *const CopyParams, threads: u32, order_seed: u64) -> i32;
}

/// What unwritten `u32` slots hold, so that a read of one shows (an entry past every base, a
/// key past every bucket).
pub const POISON_U32: u32 = u32::MAX;

/// A group whose MSM kernels the host can run.
pub trait SimulatedCurve: MsmCurve {
    /// One accumulation level.
    unsafe fn accumulate(p: *const LevelParams, threads: u32, order_seed: u64) -> i32;
    /// The segment reduction.
    unsafe fn bucket_reduce(p: *const ReduceParams, threads: u32, order_seed: u64) -> i32;
    /// The windows' trees.
    unsafe fn window_tree(p: *const ReduceParams, threads: u32, order_seed: u64) -> i32;
    /// One launch of the window copy kernel.
    unsafe fn window_copy(p: *const CopyParams, threads: u32, order_seed: u64) -> i32;
}

impl SimulatedCurve for ark_bls12_381::g1::Config {
    unsafe fn accumulate(p: *const LevelParams, threads: u32, order_seed: u64) -> i32 {
        // SAFETY: forwarded to the caller.
        unsafe { spice_host_g1_msm_accumulate(p, threads, order_seed) }
    }
    unsafe fn bucket_reduce(p: *const ReduceParams, threads: u32, order_seed: u64) -> i32 {
        // SAFETY: forwarded to the caller.
        unsafe { spice_host_g1_msm_bucket_reduce(p, threads, order_seed) }
    }
    unsafe fn window_tree(p: *const ReduceParams, threads: u32, order_seed: u64) -> i32 {
        // SAFETY: forwarded to the caller.
        unsafe { spice_host_g1_msm_window_tree(p, threads, order_seed) }
    }
    unsafe fn window_copy(p: *const CopyParams, threads: u32, order_seed: u64) -> i32 {
        // SAFETY: forwarded to the caller.
        unsafe { spice_host_g1_msm_window_copy(p, threads, order_seed) }
    }
}

impl SimulatedCurve for ark_bls12_381::g2::Config {
    unsafe fn accumulate(p: *const LevelParams, threads: u32, order_seed: u64) -> i32 {
        // SAFETY: forwarded to the caller.
        unsafe { spice_host_g2_msm_accumulate(p, threads, order_seed) }
    }
    unsafe fn bucket_reduce(p: *const ReduceParams, threads: u32, order_seed: u64) -> i32 {
        // SAFETY: forwarded to the caller.
        unsafe { spice_host_g2_msm_bucket_reduce(p, threads, order_seed) }
    }
    unsafe fn window_tree(p: *const ReduceParams, threads: u32, order_seed: u64) -> i32 {
        // SAFETY: forwarded to the caller.
        unsafe { spice_host_g2_msm_window_tree(p, threads, order_seed) }
    }
    unsafe fn window_copy(p: *const CopyParams, threads: u32, order_seed: u64) -> i32 {
        // SAFETY: forwarded to the caller.
        unsafe { spice_host_g2_msm_window_copy(p, threads, order_seed) }
    }
}

fn rejected(launch: &str) -> EngineError {
    EngineError::BadMsmPlan(format!(
        "the kernels reject the {launch} launch of this plan"
    ))
}

/// The scalar schedule as the kernels leave it.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// The plan it was built for.
    pub plan: MsmPlan,
    /// Normalised canonical scalars (negate flag in bit 255).
    pub scalars: Vec<FrLimbs>,
    /// Each bucket's end offset in `entries`.
    pub bucket_ends: Vec<u32>,
    /// Base index | `NEGATE` for each entry, sorted by bucket (capacity-long; slots past
    /// `entry_count` hold [`POISON_U32`]).
    pub entries: Vec<u32>,
    /// The bucket of each entry.
    pub keys: Vec<u32>,
    /// Entries written.
    pub entry_count: u32,
}

/// Runs the schedule launches (prepare, the three scan launches, scatter) over `scalars`.
pub fn schedule(scalars: &[Fr], plan: &MsmPlan, order_seed: u64) -> Result<Schedule> {
    if scalars.len() != plan.len as usize {
        return Err(EngineError::MsmLength {
            bases: plan.len as usize,
            scalars: scalars.len(),
        });
    }
    let mut limbs: Vec<FrLimbs> = scalars.iter().map(|&s| FrLimbs::from(s)).collect();
    let capacity = plan.entry_capacity.max(1) as usize;
    let mut counts = vec![0u32; plan.buckets as usize];
    let mut segment_sums = vec![POISON_U32; plan.scan_segments as usize];
    let mut entries = vec![POISON_U32; capacity];
    let mut keys = vec![POISON_U32; capacity];
    let mut entry_count = POISON_U32;
    let params = ScheduleParams {
        scalars: limbs.as_mut_ptr(),
        bucket_counts: counts.as_mut_ptr(),
        segment_sums: segment_sums.as_mut_ptr(),
        entries: entries.as_mut_ptr(),
        keys: keys.as_mut_ptr(),
        entry_count: &mut entry_count,
        n: plan.len,
        window_bits: plan.window_bits,
        windows: plan.windows,
        scan_segment: plan.scan_segment,
        entry_capacity: plan.entry_capacity,
        copies: plan.copies,
    };
    let launches: [(
        &str,
        unsafe extern "C" fn(*const ScheduleParams, u32, u64) -> i32,
        u32,
    ); 5] = [
        ("prepare", spice_host_msm_prepare, plan.scalar_threads),
        (
            "scan reduce",
            spice_host_msm_scan_reduce,
            plan.scan_segments,
        ),
        (
            "scan segments",
            spice_host_msm_scan_segments,
            plan.scan_block_threads,
        ),
        ("scan apply", spice_host_msm_scan_apply, plan.scan_segments),
        ("scatter", spice_host_msm_scatter, plan.scalar_threads),
    ];
    for (i, (name, launch, threads)) in launches.into_iter().enumerate() {
        // SAFETY: every pointer addresses a live vector of the size the plan gives it (scalars
        // n, counts `buckets`, segment sums `scan_segments`, entries and keys the capacity);
        // the C side touches nothing else.
        if unsafe { launch(&params, threads, order_seed.wrapping_add(i as u64)) } != 1 {
            return Err(rejected(name));
        }
    }
    if entry_count > plan.entry_capacity {
        return Err(EngineError::KernelOutput(format!(
            "the schedule counted {entry_count} entries, more than the plan's bound {}",
            plan.entry_capacity
        )));
    }
    Ok(Schedule {
        plan: plan.clone(),
        scalars: limbs,
        bucket_ends: counts,
        entries,
        keys,
        entry_count,
    })
}

/// Σ sᵢ·Pᵢ through the simulated schedule and curve kernels; with
/// [`MsmOptions::window_copies`], over the bases' window copies, built here.
pub fn msm<C: SimulatedCurve>(
    bases: &[Affine<C>],
    scalars: &[Fr],
    options: MsmOptions,
    order_seed: u64,
) -> Result<Projective<C>> {
    if bases.len() != scalars.len() {
        return Err(EngineError::MsmLength {
            bases: bases.len(),
            scalars: scalars.len(),
        });
    }
    let plan = MsmPlan::new(ScalarStats::of(scalars), options)?;
    let schedule = schedule(scalars, &plan, order_seed)?;
    if plan.copies > 1 {
        let copies = window_copies(bases, plan.window_bits, plan.copies);
        return msm_with_schedule(&copies, &schedule, order_seed ^ 0x5eed);
    }
    msm_with_schedule(bases, &schedule, order_seed ^ 0x5eed)
}

/// The curve launches (accumulation levels, reduction, trees) over an existing schedule, then
/// the host's window combination. `bases` are the points the entries index: the plan's
/// [`MsmPlan::base_points`] (the window copies, when it has them).
pub fn msm_with_schedule<C: SimulatedCurve>(
    bases: &[Affine<C>],
    schedule: &Schedule,
    order_seed: u64,
) -> Result<Projective<C>> {
    let plan = &schedule.plan;
    if bases.len() as u64 != plan.base_points() {
        return Err(EngineError::MsmLength {
            bases: bases.len(),
            scalars: plan.len as usize,
        });
    }
    let bases: Vec<C::AffineLimbs> = bases.iter().map(|&p| p.into()).collect();
    let poison = poisoned::<C::XyzzLimbs>;
    // Zero bytes are the XYZZ identity (ZZ = 0), as a device memset leaves them.
    let mut buckets = vec![C::XyzzLimbs::zeroed(); plan.buckets as usize];
    let [cap_a, cap_b] = plan.partial_capacities();
    let mut partial_keys = [
        vec![POISON_U32; cap_a as usize],
        vec![POISON_U32; cap_b as usize],
    ];
    let mut partials = [
        vec![poison(); cap_a as usize],
        vec![poison(); cap_b as usize],
    ];
    let mut level_counts = vec![POISON_U32; plan.levels.len()];
    let counts = level_counts.as_mut_ptr();

    for (l, level) in plan.levels.iter().enumerate() {
        let (read, write) = ((l + 1) % 2, l % 2);
        let (next_keys, next_partials) = (
            partial_keys[write].as_mut_ptr(),
            partials[write].as_mut_ptr() as *mut c_void,
        );
        let params = LevelParams {
            // SAFETY (of the `add`s): l < levels = level_counts.len().
            count: if l == 0 {
                &schedule.entry_count
            } else {
                unsafe { counts.add(l - 1) }
            },
            next_count: unsafe { counts.add(l) },
            keys: if l == 0 {
                schedule.keys.as_ptr()
            } else {
                partial_keys[read].as_ptr()
            },
            entries: schedule.entries.as_ptr(),
            bases: bases.as_ptr() as *const c_void,
            partials: if l == 0 {
                std::ptr::null()
            } else {
                partials[read].as_ptr() as *const c_void
            },
            buckets: buckets.as_mut_ptr() as *mut c_void,
            next_keys,
            next_partials,
            chunk: plan.chunk,
            level: l as u32,
        };
        // SAFETY: the input arrays hold the level's input capacity (the schedule's entries and
        // keys, or the partial buffer the previous level wrote), the output buffers the next
        // level's capacity (plan.partial_capacities), buckets `plan.buckets`, bases n; entries
        // name bases below n. Input and output partial buffers are distinct vectors.
        if unsafe { C::accumulate(&params, level.threads, order_seed.wrapping_add(l as u64)) } != 1
        {
            return Err(rejected("accumulation"));
        }
    }

    let mut segment_sums = vec![poison(); (plan.bucket_windows * plan.segments) as usize];
    let mut window_sums = vec![poison(); plan.tree_sums() as usize];
    let params = ReduceParams {
        buckets: buckets.as_ptr() as *const c_void,
        segment_sums: segment_sums.as_mut_ptr() as *mut c_void,
        window_sums: window_sums.as_mut_ptr() as *mut c_void,
        window_bits: plan.window_bits,
        windows: plan.bucket_windows,
        segment_log: plan.segment_log,
        tree_groups_log: plan.tree_groups_log(),
    };
    // SAFETY: buckets, segment sums and window sums have the sizes the plan gives them.
    unsafe {
        if C::bucket_reduce(&params, plan.reduce_threads, order_seed ^ 0xbeef) != 1 {
            return Err(rejected("bucket reduction"));
        }
        if C::window_tree(&params, plan.tree_threads, order_seed ^ 0xfeed) != 1 {
            return Err(rejected("window tree"));
        }
    }
    combine_windows::<C>(&window_sums, plan.bucket_window_bits(), plan.tree_groups)
}

/// The normalised scalar (canonical limbs, negate flag in bit 255) and its `⌈255 / c⌉` signed
/// digits, as the prepare and scatter bodies compute them.
pub fn booth_digits(x: Fr, window_bits: u32) -> Result<([u64; 4], Vec<i32>)> {
    let windows = super::plan::windows_for(window_bits.max(1));
    let mut digits = vec![0i32; windows as usize];
    let mut normalised = [0u64; 4];
    // SAFETY: `digits` has room for `windows` values, `normalised` for four limbs.
    let ok = unsafe {
        spice_host_msm_booth_digits(
            &FrLimbs::from(x),
            window_bits,
            windows,
            digits.as_mut_ptr(),
            normalised.as_mut_ptr(),
        )
    };
    if ok != 1 {
        return Err(EngineError::BadMsmPlan(format!(
            "the kernels take no window of {window_bits} bits"
        )));
    }
    Ok((normalised, digits))
}

/// `copies` window copies of `bases` for windows of `window_bits`, laid out as the kernels
/// index them (copy j at `j·n + i`), built as the CUDA backend builds them: copy 0 the bases,
/// each next copy from the one before by the window copy kernel's body, in launches of at most
/// `tile` points of `chunk` points a thread, over scratch poisoned between launches.
pub fn device_window_copies<C: SimulatedCurve>(
    bases: &[Affine<C>],
    window_bits: u32,
    copies: u32,
    tile: u32,
    chunk: u32,
    order_seed: u64,
) -> Result<Vec<C::AffineLimbs>> {
    let n = u32::try_from(bases.len())
        .map_err(|_| EngineError::BadMsmPlan(format!("{} bases", bases.len())))?;
    let mut all: Vec<C::AffineLimbs> = Vec::with_capacity(bases.len() * copies as usize);
    all.extend(bases.iter().map(|&p| C::AffineLimbs::from(p)));
    all.resize(bases.len() * copies.max(1) as usize, poisoned());
    let tile_len = tile.min(n).max(1) as usize;
    for j in 1..copies as usize {
        let (done, rest) = all.split_at_mut(j * bases.len());
        let source = &done[(j - 1) * bases.len()..];
        for (first, count) in copy_tiles(n, tile) {
            let mut doubled = vec![poisoned::<C::XyzzLimbs>(); tile_len];
            let mut prefix = vec![poisoned::<C::FieldLimbs>(); tile_len];
            let params = CopyParams {
                source: source.as_ptr() as *const c_void,
                target: rest.as_mut_ptr() as *mut c_void,
                doubled: doubled.as_mut_ptr() as *mut c_void,
                prefix: prefix.as_mut_ptr() as *mut c_void,
                first,
                count,
                window_bits,
                chunk,
            };
            let threads = count.div_ceil(chunk.max(1)).max(1);
            let seed = order_seed ^ ((j as u64) << 32 | u64::from(first));
            // SAFETY: source and target hold n points, the scratch `tile_len ≥ count` each;
            // the kernel reads source[first..first + count) and writes target's and the
            // scratch's first `count`.
            if unsafe { C::window_copy(&params, threads, seed) } != 1 {
                return Err(rejected("window copy"));
            }
        }
    }
    Ok(all)
}

/// A value of all ones bytes: what a slot the kernels should have written but did not holds.
fn poisoned<T: bytemuck::Pod>() -> T {
    let mut v = T::zeroed();
    bytemuck::bytes_of_mut(&mut v).fill(0xff);
    v
}
