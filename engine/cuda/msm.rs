//! The MSM on the device: bases resident per proving key, the scalar schedule built once per
//! scalar vector and kept while MSMs over the same scalars follow (Groth16's A, B in G1 and
//! G2, L), and the curve launches of an [`MsmPlan`] queued back to back on the backend's
//! stream. The only transfers are the scalars' upload (once per vector) and the download of
//! the W + 1 window sums (a few KiB), which the host combines (`gpu_msm::combine`).
//!
//! The launches are those of the host simulation (`engine/gpu_msm/host_simulation.rs`), with
//! device buffers in place of host vectors; buffers are kept and grown, so proofs of one size
//! allocate nothing after the first.

use std::ffi::c_void;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Instant;

use ark_bls12_381::Fr;
use ark_ec::short_weierstrass::{Affine, Projective};
use bytemuck::Pod;

use crate::engine::error::{EngineError, Result};
use crate::engine::gpu_msm::combine::combine_windows;
use crate::engine::gpu_msm::params::{
    CopyParams, LevelParams, ReduceParams, ScheduleParams, NEGATE,
};
use crate::engine::gpu_msm::plan::{SCAN_BLOCK_THREADS, TREE_THREADS};
use crate::engine::gpu_msm::window_copies::{copy_tiles, DEVICE_COPY_CHUNK, DEVICE_COPY_TILE};
use crate::engine::gpu_msm::{BaseCopies, MsmCurve, MsmPlan};
use crate::engine::kernel_host::FrLimbs;

use super::buffer::{fr_as_limbs, DeviceBuffer};
use super::device::Device;
use super::module::{Kernel, LaunchShape, Module, MSM_G1_IMAGE, MSM_G2_IMAGE, MSM_SCHEDULE_IMAGE};

/// Threads a block of the grid-stride schedule launches.
const SCHEDULE_BLOCK: u32 = 256;

/// The curve kernels of one group.
pub struct CurveKernels {
    accumulate_bases: Kernel,
    accumulate_partials: Kernel,
    bucket_reduce: Kernel,
    window_tree: Kernel,
    window_copy: Kernel,
    /// The kernels' launch bound (256 for G1, 128 for G2).
    block_threads: u32,
    _module: Module,
}

impl CurveKernels {
    fn load(device: &Arc<Device>, prefix: &str, block_threads: u32) -> Result<Self> {
        let module = Module::load(
            device,
            if prefix == "spice_g1" {
                &MSM_G1_IMAGE
            } else {
                &MSM_G2_IMAGE
            },
        )?;
        let kernel = |stage: &str, threads: u32| {
            module.kernel(&format!("{prefix}_msm_{stage}_kernel"), threads)
        };
        Ok(Self {
            accumulate_bases: kernel("accumulate_bases", block_threads)?,
            accumulate_partials: kernel("accumulate_partials", block_threads)?,
            bucket_reduce: kernel("bucket_reduce", block_threads)?,
            window_tree: kernel("window_tree", TREE_THREADS)?,
            window_copy: kernel("window_copy", block_threads)?,
            block_threads,
            _module: module,
        })
    }

    /// A grid-stride launch of at least `threads` threads.
    fn grid(&self, threads: u32) -> LaunchShape {
        LaunchShape {
            blocks: threads.div_ceil(self.block_threads).max(1),
            threads: self.block_threads,
            shared_bytes: 0,
        }
    }
}

/// Every MSM kernel, with the modules that hold them.
pub struct MsmKernels {
    prepare: Kernel,
    scan_reduce: Kernel,
    scan_segments: Kernel,
    scan_apply: Kernel,
    scatter: Kernel,
    /// G1's curve kernels.
    pub g1: CurveKernels,
    /// G2's curve kernels.
    pub g2: CurveKernels,
    _schedule: Module,
}

impl MsmKernels {
    /// Loads the three MSM modules.
    pub fn load(device: &Arc<Device>) -> Result<Self> {
        let schedule = Module::load(device, &MSM_SCHEDULE_IMAGE)?;
        Ok(Self {
            prepare: schedule.kernel("spice_msm_prepare_kernel", SCHEDULE_BLOCK)?,
            scan_reduce: schedule.kernel("spice_msm_scan_reduce_kernel", SCHEDULE_BLOCK)?,
            scan_segments: schedule.kernel("spice_msm_scan_segments_kernel", SCAN_BLOCK_THREADS)?,
            scan_apply: schedule.kernel("spice_msm_scan_apply_kernel", SCHEDULE_BLOCK)?,
            scatter: schedule.kernel("spice_msm_scatter_kernel", SCHEDULE_BLOCK)?,
            g1: CurveKernels::load(device, "spice_g1", 256)?,
            g2: CurveKernels::load(device, "spice_g2", 128)?,
            _schedule: schedule,
        })
    }
}

fn schedule_grid(threads: u32) -> LaunchShape {
    LaunchShape {
        blocks: threads.div_ceil(SCHEDULE_BLOCK).max(1),
        threads: SCHEDULE_BLOCK,
        shared_bytes: 0,
    }
}

/// Launches a kernel whose one parameter is `params`, by value.
///
/// # Safety
/// `P` must be the kernel's parameter type, and every device address in it valid for what the
/// kernel accesses until the stream is synchronised.
unsafe fn launch<P>(
    device: &Device,
    kernel: &Kernel,
    shape: LaunchShape,
    params: &mut P,
) -> Result<()> {
    let mut args = [params as *mut P as *mut c_void];
    // SAFETY: forwarded to the caller.
    unsafe { kernel.launch(device, shape, &mut args) }
}

/// A device array of at least `len` elements in `slot`, reallocated only to grow.
pub(super) fn sized<'a, T: Pod>(
    slot: &'a mut Option<DeviceBuffer<T>>,
    device: &Arc<Device>,
    len: usize,
) -> Result<&'a DeviceBuffer<T>> {
    let len = len.max(1);
    if slot.as_ref().map_or(true, |b| b.len() < len) {
        *slot = None; // free the old one first: device memory may not hold both
        *slot = Some(DeviceBuffer::new(device, len)?);
    }
    slot.as_ref().ok_or_else(|| EngineError::Cuda {
        operation: "allocation".into(),
        reason: "no buffer".into(),
    })
}

/// Bases of one group resident on the device, with their window copies when the backend
/// plans with them ([`crate::engine::gpu_msm::MsmOptions::window_copies`]).
pub struct DeviceBases<C: MsmCurve> {
    points: DeviceBuffer<C::AffineLimbs>,
    len: usize,
    /// The window copies they hold, if any.
    copies: Option<BaseCopies>,
    _curve: PhantomData<C>,
}

impl<C: MsmCurve> DeviceBases<C> {
    /// Uploads `bases` (arkworks' bytes, no conversion) and, with `copies`, builds their
    /// window copies on the device (`kernels/msm/window_copy.cuh`, each copy from the one
    /// before, in tiles of [`DEVICE_COPY_TILE`] points); waits for them.
    pub fn upload(
        device: &Arc<Device>,
        kernels: &CurveKernels,
        bases: &[Affine<C>],
        copies: Option<BaseCopies>,
    ) -> Result<Self> {
        let n = bases.len();
        let count = copies.map_or(1, |c| c.copies) as usize;
        let total = n
            .checked_mul(count)
            .filter(|&t| copies.is_none() || (t as u64) < u64::from(NEGATE))
            .ok_or_else(|| {
                EngineError::BadMsmPlan(format!(
                    "{n} bases in {count} window copies: base indices must stay below 2^31; use fewer copies or a larger window"
                ))
            })?;
        let points = DeviceBuffer::new(device, total)?;
        let started = Instant::now();
        let limbs: Vec<C::AffineLimbs> = bases.iter().map(|&p| p.into()).collect();
        points.upload_prefix(&limbs)?;
        // No bases, nothing to copy: an empty MSM launches nothing.
        if let Some(c) = copies.filter(|_| n > 0) {
            let n32 = n as u32; // below 2^31, checked above
            let scratch = DEVICE_COPY_TILE.min(n32) as usize;
            let doubled = DeviceBuffer::<C::XyzzLimbs>::new(device, scratch)?;
            let prefix = DeviceBuffer::<C::FieldLimbs>::new(device, scratch)?;
            let point_bytes = std::mem::size_of::<C::AffineLimbs>() as u64;
            let copy_at = |j: usize| (points.ptr() + j as u64 * n as u64 * point_bytes) as usize;
            for j in 1..count {
                for (first, len) in copy_tiles(n32, DEVICE_COPY_TILE) {
                    let mut params = CopyParams {
                        source: copy_at(j - 1) as *const c_void,
                        target: copy_at(j) as *mut c_void,
                        doubled: doubled.as_param() as *mut c_void,
                        prefix: prefix.as_param() as *mut c_void,
                        first,
                        count: len,
                        window_bits: c.window_bits,
                        chunk: DEVICE_COPY_CHUNK,
                    };
                    // SAFETY: one spice_msm_copy by value; copies j − 1 and j are n points of
                    // `points` (n·count of them), the scratch holds `scratch ≥ len` each; the
                    // kernel reads source[first..first + len) and writes target's and the
                    // scratch's first `len`. The stream runs the launches in order, so copy
                    // j − 1 is complete before copy j reads it, and the scratch of one tile
                    // is free before the next; everything lives until the synchronize below.
                    unsafe {
                        launch(
                            device,
                            &kernels.window_copy,
                            kernels.grid(len.div_ceil(DEVICE_COPY_CHUNK)),
                            &mut params,
                        )?
                    };
                }
            }
            // Before the scratch is freed.
            device.synchronize()?;
        }
        device.synchronize()?;
        if let Some(c) = copies {
            tracing::info!(
                "{} bases: {n} points in {count} window copies for windows of {} bits ({} MiB on the device), uploaded and built on the device in {:.3} s",
                C::NAME,
                c.window_bits,
                (total * std::mem::size_of::<C::AffineLimbs>()) >> 20,
                started.elapsed().as_secs_f64()
            );
        }
        Ok(Self {
            points,
            len: n,
            copies,
            _curve: PhantomData,
        })
    }

    /// Number of bases (not counting their window copies).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for no bases (the buffer still holds one unused element).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The window copies the bases hold, if they do.
    pub fn copies(&self) -> Option<BaseCopies> {
        self.copies
    }

    /// Fails unless these bases hold what `plan` indexes: its window copies (as many, for its
    /// window) exactly when it plans with copies, and at least its points.
    fn check_serves(&self, plan: &MsmPlan) -> Result<()> {
        let wanted = plan.base_copies();
        if self.copies != wanted {
            let describe = |c: Option<BaseCopies>| match c {
                Some(c) => format!(
                    "{} window copies for {}-bit windows",
                    c.copies, c.window_bits
                ),
                None => "no window copies".to_string(),
            };
            return Err(EngineError::BadMsmPlan(format!(
                "the {} bases were loaded with {}, but the MSM's plan needs {}: load the bases with the backend that runs the MSM",
                C::NAME,
                describe(self.copies),
                describe(wanted)
            )));
        }
        if (self.points.len() as u64) < plan.base_points() {
            return Err(EngineError::MsmLength {
                bases: self.len,
                scalars: plan.len as usize,
            });
        }
        Ok(())
    }
}

/// The device arrays of one scalar schedule, and which scalars and plan they hold.
#[derive(Default)]
pub struct ScheduleWorkspace {
    built_for: Option<(u64, MsmPlan)>,
    scalars: Option<DeviceBuffer<FrLimbs>>,
    bucket_counts: Option<DeviceBuffer<u32>>,
    segment_sums: Option<DeviceBuffer<u32>>,
    entries: Option<DeviceBuffer<u32>>,
    keys: Option<DeviceBuffer<u32>>,
    entry_count: Option<DeviceBuffer<u32>>,
}

impl ScheduleWorkspace {
    /// The id of the scalars whose schedule is held, if any.
    pub fn held_id(&self) -> Option<u64> {
        self.built_for.as_ref().map(|(id, _)| *id)
    }

    /// The plan of the schedule built for the scalars with this id, if that is the one held.
    pub fn holds(&self, scalars_id: u64) -> Option<&MsmPlan> {
        self.built_for
            .as_ref()
            .filter(|(id, _)| *id == scalars_id)
            .map(|(_, plan)| plan)
    }

    /// Queues the upload of `scalars` and the schedule launches of `plan` (prepare, scan,
    /// scatter). `scalars` must stay in place until the stream is synchronised.
    pub fn queue(
        &mut self,
        device: &Arc<Device>,
        kernels: &MsmKernels,
        plan: &MsmPlan,
        scalars_id: u64,
        scalars: &[Fr],
    ) -> Result<()> {
        if scalars.len() != plan.len as usize {
            return Err(EngineError::MsmLength {
                bases: plan.len as usize,
                scalars: scalars.len(),
            });
        }
        self.built_for = None; // until the launches are queued
        sized(&mut self.scalars, device, scalars.len())?.upload_prefix(fr_as_limbs(scalars)?)?;
        self.queue_launches(device, kernels, plan, scalars_id)
    }

    /// Like [`Self::queue`] for scalars already on the device: the first `plan.len` elements of
    /// `source` (Montgomery form, left unchanged) are copied on the device, not uploaded. The
    /// witness map builds the schedule of z this way from the copy its rows read.
    pub fn queue_from_device(
        &mut self,
        device: &Arc<Device>,
        kernels: &MsmKernels,
        plan: &MsmPlan,
        scalars_id: u64,
        source: &DeviceBuffer<FrLimbs>,
    ) -> Result<()> {
        self.built_for = None; // until the launches are queued
        let n = plan.len as usize;
        sized(&mut self.scalars, device, n)?.copy_prefix_from(source, n)?;
        self.queue_launches(device, kernels, plan, scalars_id)
    }

    /// The schedule launches of `plan` over the scalars in `self.scalars`.
    fn queue_launches(
        &mut self,
        device: &Arc<Device>,
        kernels: &MsmKernels,
        plan: &MsmPlan,
        scalars_id: u64,
    ) -> Result<()> {
        let capacity = plan.entry_capacity as usize;
        let d_scalars = sized(&mut self.scalars, device, plan.len as usize)?;
        let counts = sized(&mut self.bucket_counts, device, plan.buckets as usize)?;
        counts.zero_prefix(plan.buckets as usize)?;
        let mut params = ScheduleParams {
            scalars: d_scalars.as_param(),
            bucket_counts: counts.as_param(),
            segment_sums: sized(&mut self.segment_sums, device, plan.scan_segments as usize)?
                .as_param(),
            entries: sized(&mut self.entries, device, capacity)?.as_param(),
            keys: sized(&mut self.keys, device, capacity)?.as_param(),
            entry_count: sized(&mut self.entry_count, device, 1)?.as_param(),
            n: plan.len,
            window_bits: plan.window_bits,
            windows: plan.windows,
            scan_segment: plan.scan_segment,
            entry_capacity: plan.entry_capacity,
            copies: plan.copies,
        };
        let scan_block = LaunchShape {
            blocks: 1,
            threads: plan.scan_block_threads,
            shared_bytes: 4 * plan.scan_block_threads,
        };
        // SAFETY: each launch takes one spice_msm_schedule by value (the mirror is checked
        // against bindgen's reading of the header); its arrays are the buffers above, sized
        // by the plan (scalars n, counts `buckets`, segment sums `scan_segments`, entries and
        // keys the entry capacity), owned by `self` until the caller synchronises.
        unsafe {
            launch(
                device,
                &kernels.prepare,
                schedule_grid(plan.scalar_threads),
                &mut params,
            )?;
            launch(
                device,
                &kernels.scan_reduce,
                schedule_grid(plan.scan_segments),
                &mut params,
            )?;
            launch(device, &kernels.scan_segments, scan_block, &mut params)?;
            launch(
                device,
                &kernels.scan_apply,
                schedule_grid(plan.scan_segments),
                &mut params,
            )?;
            launch(
                device,
                &kernels.scatter,
                schedule_grid(plan.scalar_threads),
                &mut params,
            )?;
        }
        self.built_for = Some((scalars_id, plan.clone()));
        Ok(())
    }

    fn buffer<'a>(slot: &'a Option<DeviceBuffer<u32>>) -> Result<&'a DeviceBuffer<u32>> {
        slot.as_ref().ok_or_else(|| EngineError::Cuda {
            operation: "MSM".into(),
            reason: "no schedule was built".into(),
        })
    }
}

/// The device arrays of one group's MSM (buckets, partial sums, segment and window sums).
pub struct CurveWorkspace<C: MsmCurve> {
    buckets: Option<DeviceBuffer<C::XyzzLimbs>>,
    partial_keys: [Option<DeviceBuffer<u32>>; 2],
    partials: [Option<DeviceBuffer<C::XyzzLimbs>>; 2],
    level_counts: Option<DeviceBuffer<u32>>,
    segment_sums: Option<DeviceBuffer<C::XyzzLimbs>>,
    window_sums: Option<DeviceBuffer<C::XyzzLimbs>>,
}

impl<C: MsmCurve> Default for CurveWorkspace<C> {
    fn default() -> Self {
        Self {
            buckets: None,
            partial_keys: [None, None],
            partials: [None, None],
            level_counts: None,
            segment_sums: None,
            window_sums: None,
        }
    }
}

impl<C: MsmCurve> CurveWorkspace<C> {
    /// Queues the curve launches of `plan` over the schedule `schedule` holds and `bases`,
    /// and the download of the trees' sums and the entry count into `window_sums` (length
    /// [`MsmPlan::tree_sums`]) and `entry_count`; the caller synchronises before reading them.
    #[allow(clippy::too_many_arguments)]
    pub fn queue(
        &mut self,
        device: &Arc<Device>,
        kernels: &CurveKernels,
        plan: &MsmPlan,
        schedule: &ScheduleWorkspace,
        bases: &DeviceBases<C>,
        window_sums: &mut [C::XyzzLimbs],
        entry_count: &mut [u32; 1],
    ) -> Result<()> {
        bases.check_serves(plan)?;
        if window_sums.len() != plan.tree_sums() as usize {
            return Err(EngineError::KernelOutput(format!(
                "room for {} tree sums, the plan has {}",
                window_sums.len(),
                plan.tree_sums()
            )));
        }
        let buckets = sized(&mut self.buckets, device, plan.buckets as usize)?;
        buckets.zero_prefix(plan.buckets as usize)?; // zero bytes: the XYZZ identity
        let [cap_a, cap_b] = plan.partial_capacities();
        let keys = [
            sized(&mut self.partial_keys[0], device, cap_a as usize)?.as_param(),
            sized(&mut self.partial_keys[1], device, cap_b as usize)?.as_param(),
        ];
        let partials = [
            sized(&mut self.partials[0], device, cap_a as usize)?.as_param() as *mut c_void,
            sized(&mut self.partials[1], device, cap_b as usize)?.as_param() as *mut c_void,
        ];
        let counts = sized(&mut self.level_counts, device, plan.levels.len())?;
        let schedule_count = ScheduleWorkspace::buffer(&schedule.entry_count)?;
        let schedule_keys = ScheduleWorkspace::buffer(&schedule.keys)?;
        let schedule_entries = ScheduleWorkspace::buffer(&schedule.entries)?;
        for (l, level) in plan.levels.iter().enumerate() {
            let (read, write) = ((l + 1) % 2, l % 2);
            let count_at = |i: usize| (counts.ptr() + (i * 4) as u64) as usize as *mut u32;
            let mut params = LevelParams {
                count: if l == 0 {
                    schedule_count.as_param()
                } else {
                    count_at(l - 1)
                },
                next_count: count_at(l),
                keys: if l == 0 {
                    schedule_keys.as_param()
                } else {
                    keys[read]
                },
                entries: schedule_entries.as_param(),
                bases: bases.points.as_param() as *const c_void,
                partials: if l == 0 {
                    std::ptr::null()
                } else {
                    partials[read]
                },
                buckets: buckets.as_param() as *mut c_void,
                next_keys: keys[write],
                next_partials: partials[write],
                chunk: plan.chunk,
                level: l as u32,
            };
            let kernel = if l == 0 {
                &kernels.accumulate_bases
            } else {
                &kernels.accumulate_partials
            };
            // SAFETY: one spice_msm_level by value; inputs hold the level's input capacity
            // (the schedule's entries and keys, or the partial buffer the previous level
            // wrote), outputs the next level's (plan.partial_capacities), buckets
            // `plan.buckets`, bases `plan.base_points()` (checked above); entries name bases
            // below that (the scatter's digit_base); the two partial
            // buffers are distinct allocations. All live in `self`, `schedule` and `bases`
            // until the caller synchronises.
            unsafe { launch(device, kernel, kernels.grid(level.threads), &mut params)? };
        }
        let segment_sums = sized(
            &mut self.segment_sums,
            device,
            (plan.bucket_windows * plan.segments) as usize,
        )?;
        let d_window_sums = sized(&mut self.window_sums, device, window_sums.len())?;
        let mut params = ReduceParams {
            buckets: buckets.as_param() as *const c_void,
            segment_sums: segment_sums.as_param() as *mut c_void,
            window_sums: d_window_sums.as_param() as *mut c_void,
            window_bits: plan.window_bits,
            windows: plan.bucket_windows,
            segment_log: plan.segment_log,
            tree_groups_log: plan.tree_groups_log(),
        };
        let tree = LaunchShape {
            blocks: plan.bucket_windows * plan.tree_groups,
            threads: plan.tree_threads,
            shared_bytes: 0,
        };
        // SAFETY: one spice_msm_reduce by value over the buckets, `bucket_windows · segments`
        // segment sums and `tree_sums()` tree sums above, one block a tree; tree blocks have at
        // most 128 threads (the G2 kernels' launch bound).
        unsafe {
            launch(
                device,
                &kernels.bucket_reduce,
                kernels.grid(plan.reduce_threads),
                &mut params,
            )?;
            launch(device, &kernels.window_tree, tree, &mut params)?;
        }
        d_window_sums.download_prefix(window_sums)?;
        schedule_count.download_prefix(entry_count)
    }
}

/// Everything the device keeps for MSMs between calls.
#[derive(Default)]
pub struct MsmWorkspace {
    /// The scalar schedule held.
    pub schedule: ScheduleWorkspace,
    /// G1's buffers.
    pub g1: CurveWorkspace<ark_bls12_381::g1::Config>,
    /// G2's buffers.
    pub g2: CurveWorkspace<ark_bls12_381::g2::Config>,
}

/// Combines the downloaded window sums, after checking the schedule stayed within its bound.
pub fn finish<C: MsmCurve>(
    plan: &MsmPlan,
    window_sums: &[C::XyzzLimbs],
    entry_count: u32,
) -> Result<Projective<C>> {
    if entry_count > plan.entry_capacity {
        return Err(EngineError::KernelOutput(format!(
            "the device schedule counted {entry_count} entries, more than the plan's bound {}",
            plan.entry_capacity
        )));
    }
    combine_windows::<C>(window_sums, plan.bucket_window_bits(), plan.tree_groups)
}
