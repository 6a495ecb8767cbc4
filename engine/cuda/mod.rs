//! The CUDA backend: our kernels on device 0 through the driver API.
//!
//! What runs on the GPU: the NTT (all four transforms, natural order in and out) and the whole
//! QAP quotient of the witness map, which keeps A·z, B·z, C·z resident on the device from
//! upload to the download of h: seven transforms and the pointwise step queued back to back
//! on one stream. For a shape loaded once ([`Backend::load_shape`]) the witness map starts on
//! the device too: a proof uploads its assignment, a kernel evaluates the rows straight into
//! the chain's first three buffers ([`witness_map`]), and the failing constraint, if any,
//! comes back with h. The evaluations arrive in natural order, as the prover computes them; the
//! chain's one permutation is done by the first pass of each vector's first transform, which
//! reads its tiles at bit-reversed positions and writes them out of place (see
//! [`QUOTIENT_INPUT_STEPS`](super::gpu_ntt::QUOTIENT_INPUT_STEPS)), so no pass is added for
//! it, on the device or on the host.
//!
//! The MSMs: G1 always, G2 by default (or on the CPU, concurrently with the G1 MSMs, when
//! [`MsmConfig`] says so). Bases are uploaded once per proving key ([`Backend::load_g1`]);
//! a scalar vector's schedule is built on the device once and serves every MSM over it
//! ([`Backend::prepare_scalars`]); an MSM downloads only its window sums. After a witness map
//! on a loaded shape, the schedules of z and of h are built from the device's own copies (a
//! device-to-device copy each), so a proof's host copies are z up, and h and the window sums
//! down.
//!
//! Several proofs can be in flight at once: the backend has [lanes](lane) (a stream each, with
//! its own workspace; two by default, `SPICE_CUDA_LANES` sets 1 to 8). A call over a scalar
//! vector goes to the lane that holds its schedule, so one proof's calls stay on one lane;
//! other calls take the first free lane that no proof is in the middle of ([`LanePool`]), so a
//! caller proving one at a time uses the first lane only. [`Backend::proof_lanes`] tells
//! callers how many proofs to keep in flight.
//!
//! Files: [`device`] (driver, context, stream), [`lane`] (a stream's workspace),
//! [`module`] (embedded fatbins, launches),
//! [`buffer`] (device arrays), [`ntt`] (tables and plan execution), [`witness_map`] (resident
//! shapes, the row kernel), [`msm`] (schedule and curve launches), [`msm_config`] (planner
//! overrides, G2 placement), [`timer`] (events, copy bandwidth for benchmarks); with
//! `bench-sppark`, `arith_race` (the field and G1 arithmetic raced against sppark's, for
//! benches/arith.rs).

#[cfg(feature = "bench-sppark")]
pub mod arith_race;
pub mod buffer;
pub mod device;
pub mod lane;
pub mod module;
pub mod msm;
pub mod msm_config;
pub mod ntt;
pub mod timer;
pub mod witness_map;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ark_bls12_381::{g1, g2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::short_weierstrass::Projective;
use ark_ec::AdditiveGroup;
use bytemuck::Zeroable;

use super::backend::{check_ntt_size, Backend, Bases, NttDirection};
use super::cpu::CpuBackend;
use super::error::{EngineError, Result};
use super::gpu_msm::{base_copies, MsmCurve, MsmOptions, MsmPlan};
use super::gpu_ntt::{
    ChainLaunch, NttPlan, QuotientChain, Slot, TileShape, TransformSpec, QUOTIENT_BUFFERS,
};
use super::gpu_witness::params::NO_FAILURE;
use super::gpu_witness::WitnessMapLayout;
use super::lane_pool::{LaneGuard, LanePool};
use super::scalars::MsmScalars;
use super::shape::R1csShape;
use super::transfer_times::TransferTimes;
use super::witness_map::{LoadedShape, WitnessMap};

use buffer::{fr_as_limbs, fr_as_limbs_mut, DeviceBuffer};
use device::Device;
use lane::Lane;
use msm::{CurveKernels, CurveWorkspace, DeviceBases, MsmKernels, MsmWorkspace, ScheduleWorkspace};
pub use msm_config::{G2Placement, MsmConfig};
use ntt::{queue_plan, queue_pointwise, DeviceDomain, NttKernels};
use timer::EventTimer;
use witness_map::{queue_witness_map, DeviceShape, WitnessMapArrays, WitnessMapKernels};

const NAME: &str = "cuda";

/// How the CPU emulation of the CUDA driver (tests/cuda_emulator/driver.cpp) names its device.
pub const EMULATED_DEVICE_PREFIX: &str = "spice CUDA emulator";

/// G2 bases: on the device, or on the host for the CPU backend ([`G2Placement::CpuConcurrent`]).
enum G2Bases {
    Device(DeviceBases<g2::Config>),
    Host(Bases<G2Affine>),
}

/// Device milliseconds of one MSM's two halves (CUDA events), for benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MsmDeviceTimes {
    /// Scalar upload and the schedule launches (once per scalar vector).
    pub schedule_ms: f32,
    /// The curve launches and the download of the window sums (once per MSM).
    pub curve_ms: f32,
}

/// The CUDA backend. Cheap to share (`Arc<dyn Backend>`); device work is queued on its lanes'
/// streams, one caller per lane.
pub struct CudaBackend {
    lanes: LanePool<Lane>,
    kernels: NttKernels,
    witness_kernels: WitnessMapKernels,
    msm_kernels: MsmKernels,
    msm: MsmConfig,
    /// Every lane's handle, in lane order, for reading their copy logs without the lanes; the
    /// first also answers for the device's properties ([`CudaBackend::first_device`]).
    lane_devices: Vec<Arc<Device>>,
    /// Each domain's tables, by log2 size, shared by the lanes: uploaded once (on the first
    /// lane that needs them, or when a shape is loaded) and only read after the upload waited.
    domains: Mutex<HashMap<u32, Arc<DeviceDomain>>>,
    tile: TileShape,
    cpu: CpuBackend,
}

impl std::fmt::Debug for CudaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaBackend")
            .field("device", self.first_device())
            .field("lanes", &self.lanes.len())
            .field("tile", &self.tile)
            .field("msm", &self.msm)
            .finish()
    }
}

/// A vector resident on the device, for chains of transforms that should not come back to the
/// host in between (and for timing them). Resident vectors live on the first lane, whose
/// stream [`CudaBackend::time_ms`] times.
pub struct DeviceVector {
    data: DeviceBuffer,
    scratch: Option<DeviceBuffer>,
    log_n: u32,
}

impl DeviceVector {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Never true: a device vector holds a power of two elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

impl CudaBackend {
    /// Opens device 0 with the default tile shape and the MSM settings of the environment
    /// ([`MsmConfig::from_env`]). Fails with [`EngineError::BackendUnavailable`] naming the
    /// reason when there is no driver, no device, the kernels cannot be loaded, or an MSM
    /// setting in the environment is malformed.
    pub fn new() -> Result<Self> {
        Self::with_tile(TileShape::default())
    }

    /// Opens device 0 with NTT tiles of `tile` (benchmarks compare shapes) and the
    /// environment's MSM settings.
    pub fn with_tile(tile: TileShape) -> Result<Self> {
        let msm = MsmConfig::from_env().map_err(|e| EngineError::BackendUnavailable {
            name: NAME.into(),
            reason: e.to_string(),
        })?;
        Self::with_config(tile, msm)
    }

    /// Opens device 0 with NTT tiles of `tile`, MSM settings `msm` (the planner's
    /// `resident_threads` is replaced by the device's size) and the environment's lane count
    /// ([`lane::lanes_from_env`]).
    pub fn with_config(tile: TileShape, msm: MsmConfig) -> Result<Self> {
        Self::with_lanes(tile, msm, lane::lanes_from_env()?)
    }

    /// Opens device 0 with `lanes` streams (1 to [`lane::MAX_LANES`]): that many proofs can
    /// be in flight at once. Otherwise as [`CudaBackend::with_config`].
    pub fn with_lanes(tile: TileShape, msm: MsmConfig, lanes: usize) -> Result<Self> {
        if !(1..=lane::MAX_LANES).contains(&lanes) {
            return Err(EngineError::BackendUnavailable {
                name: NAME.into(),
                reason: format!(
                    "{lanes} lanes asked for: from 1 to {} are supported",
                    lane::MAX_LANES
                ),
            });
        }
        let device = Arc::new(Device::open()?);
        let unusable = |what: &str, e: EngineError| EngineError::BackendUnavailable {
            name: NAME.into(),
            reason: format!("the {what} kernels cannot run on {}: {e}", device.name()),
        };
        let kernels = NttKernels::load(&device, tile).map_err(|e| unusable("NTT", e))?;
        let witness_kernels =
            WitnessMapKernels::load(&device).map_err(|e| unusable("witness-map", e))?;
        let msm_kernels = MsmKernels::load(&device).map_err(|e| unusable("MSM", e))?;
        let msm = MsmConfig {
            options: MsmOptions {
                resident_threads: MsmOptions::for_device(device.multiprocessors()).resident_threads,
                ..msm.options
            },
            ..msm
        };
        let g2 = match msm.g2 {
            G2Placement::Gpu => "G2 on the GPU",
            G2Placement::CpuConcurrent => "G2 on the CPU backend, concurrently with the G1 MSMs",
        };
        let mut streams = vec![Lane::new(device.clone())];
        for _ in 1..lanes {
            let another = device
                .another_stream()
                .map_err(|e| EngineError::BackendUnavailable {
                    name: NAME.into(),
                    reason: format!("cannot open lane {} of {lanes}: {e}", streams.len() + 1),
                })?;
            streams.push(Lane::new(Arc::new(another)));
        }
        tracing::info!(
            "CUDA backend on {device:?}: witness map (loaded shapes), NTT, QAP quotient and MSMs on the GPU (G1; {g2}); {lanes} lane(s); MSM planner overrides {:?}",
            msm.options
        );
        let lane_devices = streams.iter().map(|lane| lane.device.clone()).collect();
        Ok(Self {
            lanes: LanePool::new(streams),
            lane_devices,
            kernels,
            witness_kernels,
            msm_kernels,
            msm,
            domains: Mutex::new(HashMap::new()),
            tile,
            cpu: CpuBackend::new(),
        })
    }

    /// The MSM settings in use.
    pub fn msm_config(&self) -> MsmConfig {
        self.msm
    }

    /// The plan this backend runs an MSM over `scalars` with.
    pub fn msm_plan(&self, scalars: &MsmScalars) -> Result<MsmPlan> {
        MsmPlan::new(scalars.stats(), self.msm.options)
    }

    /// The device's name.
    pub fn device_name(&self) -> &str {
        self.first_device().name()
    }

    /// True when the "device" is the CPU emulation of the CUDA driver that the GPU tests run
    /// on without a GPU (tests/cuda_emulator/): it runs the kernels, but nothing it times is
    /// a GPU figure.
    pub fn is_emulated(&self) -> bool {
        self.device_name().starts_with(EMULATED_DEVICE_PREFIX)
    }

    /// `self` on a real GPU, or why not: benchmarks and [`crate::engine::backend::auto`] refuse the CPU
    /// emulation of the driver (see [`CudaBackend::is_emulated`]) as they refuse a missing GPU.
    pub fn not_emulated(self) -> Result<Self> {
        if self.is_emulated() {
            return Err(EngineError::BackendUnavailable {
                name: NAME.into(),
                reason: format!(
                    "the CUDA device is {}: the CPU emulation of the driver runs the kernels for tests, it gives no GPU timings and proves slower than the CPU backend",
                    self.device_name()
                ),
            });
        }
        Ok(self)
    }

    /// (major, minor) compute capability of the device.
    pub fn compute_capability(&self) -> (i32, i32) {
        self.first_device().compute_capability()
    }

    /// The NTT tile shape in use.
    pub fn tile(&self) -> TileShape {
        self.tile
    }

    /// Device memory in bytes (total, free now).
    pub fn memory(&self) -> Result<(usize, usize)> {
        let device = self.first_device();
        Ok((device.total_memory(), device.free_memory()?))
    }

    /// Number of lanes (streams with their own workspace).
    pub fn lanes(&self) -> usize {
        self.lanes.len()
    }

    /// How many lanes hold device arrays of their own: callers that prove one at a time use
    /// one lane, and only concurrent proofs make the others allocate. A diagnostic; waits for
    /// each lane in turn.
    pub fn lanes_in_use(&self) -> usize {
        (0..self.lanes.len())
            .filter(|&i| self.lanes.lock(i).holds_arrays())
            .count()
    }

    /// The first lane's handle: the device's properties, and the stream resident vectors and
    /// [`CudaBackend::time_ms`] use.
    fn first_device(&self) -> &Arc<Device> {
        &self.lane_devices[0]
    }

    /// A lane chosen by `take`, with the context current on this thread.
    fn bound<'p>(&self, lane: LaneGuard<'p, Lane>) -> Result<LaneGuard<'p, Lane>> {
        lane.device.bind()?;
        Ok(lane)
    }

    /// A free lane, for work that finds nothing of its own on any lane.
    fn any_lane(&self) -> Result<LaneGuard<'_, Lane>> {
        self.bound(self.lanes.lock_any())
    }

    /// The lane holding the schedule or the h of `scalars`, if one does; else a free one.
    fn lane_for(&self, scalars: &MsmScalars) -> Result<LaneGuard<'_, Lane>> {
        self.bound(self.lanes.lock_holding(scalars.id()))
    }

    /// The first lane, where resident vectors live.
    fn first_lane(&self) -> Result<LaneGuard<'_, Lane>> {
        self.bound(self.lanes.lock(0))
    }

    fn domain(&self, device: &Arc<Device>, log_n: u32) -> Result<Arc<DeviceDomain>> {
        // Held while a missing domain uploads (first use of a size only): a second lane that
        // needs it waits for that upload instead of making its own.
        let mut domains = self
            .domains
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(d) = domains.get(&log_n) {
            return Ok(d.clone());
        }
        let d = Arc::new(DeviceDomain::new(device, log_n, self.tile)?);
        domains.insert(log_n, d.clone());
        Ok(d)
    }

    /// At least `count` workspace arrays of `len` elements.
    fn workspace<'s>(
        &self,
        lane: &'s mut Lane,
        len: usize,
        count: usize,
    ) -> Result<&'s [DeviceBuffer]> {
        lane.resident_h = None; // whatever a caller writes, h may no longer be there
        if lane.workspace_len != len {
            lane.workspace.clear();
            lane.workspace_len = len;
        }
        while lane.workspace.len() < count {
            lane.workspace.push(DeviceBuffer::new(&lane.device, len)?);
        }
        Ok(&lane.workspace[..count])
    }

    /// Queues the quotient chain's launches over `buffers` (A·z, B·z, C·z in the first three,
    /// natural order); returns the buffer that will hold h. Nothing waits.
    fn queue_chain(
        &self,
        device: &Arc<Device>,
        chain: &QuotientChain,
        domain: &DeviceDomain,
        buffers: &[DeviceBuffer],
    ) -> Result<usize> {
        let z_inv = domain.coset_vanishing_inverse()?;
        for launch in &chain.launches {
            match *launch {
                ChainLaunch::Transform {
                    step,
                    data,
                    scratch,
                } => {
                    queue_plan(
                        device,
                        &self.kernels,
                        chain.plan(step),
                        domain,
                        &buffers[data],
                        Some(&buffers[scratch]),
                    )?;
                }
                ChainLaunch::Pointwise { a, b, c } => {
                    queue_pointwise(
                        device,
                        &self.kernels,
                        &buffers[a],
                        &buffers[b],
                        &buffers[c],
                        z_inv,
                    )?;
                }
            }
        }
        Ok(chain.result)
    }

    /// Copies `values` (length a power of two) to the device and waits for the copy.
    pub fn upload(&self, values: &[Fr]) -> Result<DeviceVector> {
        let log_n = check_ntt_size(values.len())?;
        let lane = self.first_lane()?;
        let data = DeviceBuffer::from_host(&lane.device, fr_as_limbs(values)?)?;
        lane.device.synchronize()?;
        Ok(DeviceVector {
            data,
            scratch: None,
            log_n,
        })
    }

    /// Queues a transform of a resident vector; returns without waiting for the device.
    pub fn ntt_resident(&self, v: &mut DeviceVector, direction: NttDirection) -> Result<()> {
        let lane = self.first_lane()?;
        let plan = NttPlan::new(v.log_n, TransformSpec::natural(direction), self.tile)?;
        let domain = self.domain(&lane.device, v.log_n)?;
        if plan.uses_scratch() && v.scratch.is_none() {
            v.scratch = Some(DeviceBuffer::new(&lane.device, v.len())?);
        }
        if queue_plan(
            &lane.device,
            &self.kernels,
            &plan,
            &domain,
            &v.data,
            v.scratch.as_ref(),
        )? == Slot::Scratch
        {
            if let Some(s) = v.scratch.as_mut() {
                std::mem::swap(&mut v.data, s);
            }
        }
        Ok(())
    }

    /// Copies a resident vector back, waiting for everything queued before.
    pub fn download(&self, v: &DeviceVector) -> Result<Vec<Fr>> {
        let lane = self.first_lane()?;
        let mut out = vec![Fr::from(0u64); v.len()];
        v.data.download(fr_as_limbs_mut(&mut out)?)?;
        lane.device.synchronize()?;
        Ok(out)
    }

    /// Waits for all queued work on every lane; a failed kernel is reported here.
    pub fn synchronize(&self) -> Result<()> {
        self.lanes.for_each(|lane| {
            lane.device.bind()?;
            lane.device.synchronize()
        })
    }

    /// Milliseconds of device time spent on the work `work` queues on the first lane, where
    /// resident vectors live (CUDA events around it).
    pub fn time_ms(&self, work: impl FnOnce(&Self) -> Result<()>) -> Result<f32> {
        let timer = EventTimer::new(self.first_device())?;
        timer.time(|| work(self))
    }

    /// Measured device-to-device copy bandwidth (bytes read + written per second) over arrays
    /// of `elements` Fr elements, the median of `runs` copies.
    pub fn copy_bandwidth(&self, elements: usize, runs: usize) -> Result<f64> {
        let lane = self.first_lane()?;
        timer::copy_bandwidth(&lane.device, elements, runs)
    }
}

/// The schedule and one group's buffers of the MSM workspace, borrowed together.
type Split<C> = fn(&mut MsmWorkspace) -> (&ScheduleWorkspace, &mut CurveWorkspace<C>);

fn split_g1(w: &mut MsmWorkspace) -> (&ScheduleWorkspace, &mut CurveWorkspace<g1::Config>) {
    (&w.schedule, &mut w.g1)
}

fn split_g2(w: &mut MsmWorkspace) -> (&ScheduleWorkspace, &mut CurveWorkspace<g2::Config>) {
    (&w.schedule, &mut w.g2)
}

/// Device milliseconds of what `work` queues when there is a timer; without one, queues it
/// and returns 0.
fn maybe_time(timer: Option<&EventTimer<'_>>, work: impl FnOnce() -> Result<()>) -> Result<f32> {
    match timer {
        Some(t) => t.time(work),
        None => work().map(|()| 0.0),
    }
}

impl CudaBackend {
    /// The plan of the schedule held for `scalars`, building it (upload and schedule
    /// launches, queued) unless it is held already or `rebuild` is set.
    fn schedule(&self, lane: &mut Lane, scalars: &MsmScalars, rebuild: bool) -> Result<MsmPlan> {
        if !rebuild {
            if let Some(plan) = lane.msm.schedule.holds(scalars.id()) {
                return Ok(plan.clone());
            }
        }
        let plan = self.msm_plan(scalars)?;
        let Lane {
            device,
            msm,
            workspace,
            resident_h,
            ..
        } = lane;
        match *resident_h {
            Some((id, k)) if id == scalars.id() => {
                msm.schedule.queue_from_device(
                    device,
                    &self.msm_kernels,
                    &plan,
                    id,
                    &workspace[k],
                )?;
                // The schedule holds h now: the proof that left it here needs the lane no more.
                *resident_h = None;
            }
            _ => msm.schedule.queue(
                device,
                &self.msm_kernels,
                &plan,
                scalars.id(),
                scalars.values(),
            )?,
        }
        Ok(plan)
    }

    /// Σ sᵢ·Pᵢ on the device; with `times`, rebuilds the schedule and times both halves.
    fn device_msm<C: MsmCurve>(
        &self,
        bases: &DeviceBases<C>,
        scalars: &MsmScalars,
        kernels: &CurveKernels,
        split: Split<C>,
        times: Option<&mut MsmDeviceTimes>,
    ) -> Result<Projective<C>> {
        if bases.len() != scalars.len() {
            return Err(EngineError::MsmLength {
                bases: bases.len(),
                scalars: scalars.len(),
            });
        }
        if scalars.is_empty() {
            return Ok(Projective::<C>::ZERO);
        }
        let mut lane = self.lane_for(scalars)?;
        let device = lane.device.clone();
        // Timing measures the schedule too, so it is rebuilt rather than reused.
        let rebuild = times.is_some();
        let timer = times
            .is_some()
            .then(|| EventTimer::new(&device))
            .transpose()?;
        let mut plan = None;
        let schedule_ms = maybe_time(timer.as_ref(), || {
            plan = Some(self.schedule(&mut lane, scalars, rebuild)?);
            Ok(())
        })?;
        let plan = plan.ok_or_else(|| EngineError::Cuda {
            operation: "MSM".into(),
            reason: "no plan".into(),
        })?;
        let mut sums = vec![C::XyzzLimbs::zeroed(); plan.tree_sums() as usize];
        let mut count = [0u32];
        let curve_ms = maybe_time(timer.as_ref(), || {
            let (schedule, workspace) = split(&mut lane.msm);
            workspace.queue(
                &device, kernels, &plan, schedule, bases, &mut sums, &mut count,
            )
        })?;
        device.synchronize()?;
        drop(timer);
        if let Some(times) = times {
            times.schedule_ms = schedule_ms;
            times.curve_ms = curve_ms;
        }
        let count = count[0];
        drop(lane);
        msm::finish::<C>(&plan, &sums, count)
    }

    fn g1_bases<'b>(&self, bases: &'b Bases<G1Affine>) -> Result<&'b DeviceBases<g1::Config>> {
        bases.storage::<DeviceBases<g1::Config>>(NAME)
    }

    /// [`Backend::msm_g1`], also returning the device time of its two halves (the schedule is
    /// rebuilt, so its time is measured too). For benchmarks.
    pub fn msm_g1_timed(
        &self,
        bases: &Bases<G1Affine>,
        scalars: &MsmScalars,
    ) -> Result<(G1Projective, MsmDeviceTimes)> {
        let mut times = MsmDeviceTimes::default();
        let r = self.device_msm(
            self.g1_bases(bases)?,
            scalars,
            &self.msm_kernels.g1,
            split_g1,
            Some(&mut times),
        )?;
        Ok((r, times))
    }

    /// [`Backend::msm_g2`] on the GPU (whatever the placement), also returning the device
    /// time of its two halves. For benchmarks; fails for bases loaded for the CPU.
    pub fn msm_g2_timed(
        &self,
        bases: &Bases<G2Affine>,
        scalars: &MsmScalars,
    ) -> Result<(G2Projective, MsmDeviceTimes)> {
        let mut times = MsmDeviceTimes::default();
        match bases.storage::<G2Bases>(NAME)? {
            G2Bases::Device(b) => {
                let r =
                    self.device_msm(b, scalars, &self.msm_kernels.g2, split_g2, Some(&mut times))?;
                Ok((r, times))
            }
            G2Bases::Host(_) => Err(EngineError::BackendUnavailable {
                name: NAME.into(),
                reason: "these G2 bases were loaded for the CPU (G2Placement::CpuConcurrent)"
                    .into(),
            }),
        }
    }
}

impl Backend for CudaBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn load_g1(&self, bases: Vec<G1Affine>) -> Result<Bases<G1Affine>> {
        let len = bases.len();
        let copies = base_copies(len as u64, &self.msm.options)?;
        let lane = self.any_lane()?;
        // The upload waits for its copy, so every lane may read the bases from here on.
        Ok(Bases::new(
            NAME,
            len,
            Arc::new(DeviceBases::<g1::Config>::upload(
                &lane.device,
                &self.msm_kernels.g1,
                &bases,
                copies,
            )?),
        ))
    }

    fn load_g2(&self, bases: Vec<G2Affine>) -> Result<Bases<G2Affine>> {
        let len = bases.len();
        let storage = match self.msm.g2 {
            G2Placement::Gpu => {
                let copies = base_copies(len as u64, &self.msm.options)?;
                let lane = self.any_lane()?;
                G2Bases::Device(DeviceBases::<g2::Config>::upload(
                    &lane.device,
                    &self.msm_kernels.g2,
                    &bases,
                    copies,
                )?)
            }
            G2Placement::CpuConcurrent => G2Bases::Host(self.cpu.load_g2(bases)?),
        };
        Ok(Bases::new(NAME, len, Arc::new(storage)))
    }

    fn msm_g1(&self, bases: &Bases<G1Affine>, scalars: &MsmScalars) -> Result<G1Projective> {
        self.device_msm(
            self.g1_bases(bases)?,
            scalars,
            &self.msm_kernels.g1,
            split_g1,
            None,
        )
    }

    fn msm_g2(&self, bases: &Bases<G2Affine>, scalars: &MsmScalars) -> Result<G2Projective> {
        match bases.storage::<G2Bases>(NAME)? {
            G2Bases::Device(b) => self.device_msm(b, scalars, &self.msm_kernels.g2, split_g2, None),
            G2Bases::Host(b) => self.cpu.msm_g2(b, scalars),
        }
    }

    fn overlaps_g2_msm(&self) -> bool {
        self.msm.g2 == G2Placement::CpuConcurrent
    }

    /// The copies of every lane: with several proofs in flight, a proof's share of the
    /// difference between two readings includes the others' copies.
    fn transfer_totals(&self) -> Option<TransferTimes> {
        let mut total = TransferTimes::default();
        // Reading a lane's copy log does not need the lane: the log has its own lock.
        for device in &self.lane_devices {
            total.accumulate(&device.transfer_totals());
        }
        Some(total)
    }

    fn proof_lanes(&self) -> usize {
        self.lanes.len()
    }

    /// Builds the device schedule of `scalars` (upload and schedule launches) and waits for
    /// it, so the MSMs that follow over the same scalars start from it.
    fn prepare_scalars(&self, scalars: &MsmScalars) -> Result<()> {
        if scalars.is_empty() {
            return Ok(());
        }
        let mut lane = self.lane_for(scalars)?;
        self.schedule(&mut lane, scalars, false)?;
        lane.device.synchronize()
    }

    fn ntt(&self, data: &mut [Fr], direction: NttDirection) -> Result<()> {
        let log_n = check_ntt_size(data.len())?;
        if log_n == 0 {
            return Ok(()); // every transform of one point is the identity
        }
        let plan = NttPlan::new(log_n, TransformSpec::natural(direction), self.tile)?;
        let mut lane = self.any_lane()?;
        let device = lane.device.clone();
        let domain = self.domain(&device, log_n)?;
        let buffers = self.workspace(&mut lane, data.len(), 2)?;
        buffers[0].upload(fr_as_limbs(data)?)?;
        let at = queue_plan(
            &device,
            &self.kernels,
            &plan,
            &domain,
            &buffers[0],
            Some(&buffers[1]),
        )?;
        let result = if at == Slot::Data {
            &buffers[0]
        } else {
            &buffers[1]
        };
        result.download(fr_as_limbs_mut(data)?)?;
        device.synchronize()
    }

    fn quotient(&self, mut a: Vec<Fr>, b: Vec<Fr>, c: Vec<Fr>) -> Result<Vec<Fr>> {
        let n = a.len();
        if b.len() != n || c.len() != n {
            return Err(EngineError::MsmLength {
                bases: n,
                scalars: b.len().min(c.len()),
            });
        }
        let log_n = check_ntt_size(n)?;
        let chain = QuotientChain::new(log_n, self.tile)?;
        let mut lane = self.any_lane()?;
        let device = lane.device.clone();
        let domain = self.domain(&device, log_n)?;
        let buffers = self.workspace(&mut lane, n, QUOTIENT_BUFFERS)?;
        for (buffer, host) in buffers.iter().zip([&a, &b, &c]) {
            buffer.upload(fr_as_limbs(host)?)?;
        }
        let result = self.queue_chain(&device, &chain, &domain, buffers)?;
        buffers[result].download(fr_as_limbs_mut(&mut a)?)?;
        // b and c are read by queued uploads until this returns.
        device.synchronize()?;
        drop((b, c));
        Ok(a)
    }

    /// Uploads the shape's matrices in the kernel's layout ([`WitnessMapLayout`]), once; the
    /// handle keeps them resident. A row naming a variable beyond the shape is
    /// [`EngineError::KeyMismatch`] here, so the kernel needs no bounds checks.
    fn load_shape(&self, shape: Arc<R1csShape>) -> Result<LoadedShape> {
        let layout = WitnessMapLayout::new(&shape)?;
        let lane = self.any_lane()?;
        // The upload waits for its copies, so every lane may read the shape from here on.
        let resident = DeviceShape::upload(&lane.device, &layout)?;
        // The tables of the shape's QAP domain too (the prover's, for a key made from this
        // shape: constraints plus instance variables, rounded up to a power of two), so no
        // proof pays for them. A domain the NTT cannot take is the witness map's to refuse,
        // and one point needs no tables.
        let domain_size = (shape.num_constraints() + shape.num_instance).next_power_of_two();
        match check_ntt_size(domain_size) {
            Ok(log_n) if log_n > 0 => {
                self.domain(&lane.device, log_n)?;
            }
            _ => {}
        }
        tracing::debug!(
            "loaded a shape of {} constraints onto {}: {} bytes in the witness map's layout",
            shape.num_constraints(),
            self.first_device().name(),
            layout.device_bytes()
        );
        Ok(LoadedShape::resident(NAME, shape, Arc::new(resident)))
    }

    /// The witness map on the device: uploads z, evaluates the rows into the quotient chain's
    /// first three buffers, builds the schedule of the MSMs over z from that same copy, runs
    /// the chain, and downloads h and the first failing row together, with one wait at the
    /// end. The evaluation's time is its kernel's, measured with events.
    fn witness_map(
        &self,
        shape: &LoadedShape,
        z: &MsmScalars,
        domain_size: usize,
    ) -> Result<WitnessMap> {
        static NO_FAILURE_SLOT: [u32; 1] = [NO_FAILURE];
        let start = Instant::now();
        let resident = shape.storage::<DeviceShape>(NAME)?;
        let domain_points = resident.dims.check_call(z.len(), domain_size)?;
        let log_n = check_ntt_size(domain_size)?;
        let chain = QuotientChain::new(log_n, self.tile)?;
        let z_plan = (!z.is_empty()).then(|| self.msm_plan(z)).transpose()?;
        let mut lane = self.any_lane()?;
        let device = lane.device.clone();
        let domain = self.domain(&device, log_n)?;
        self.workspace(&mut lane, domain_size, QUOTIENT_BUFFERS)?;
        let Lane {
            workspace,
            assignment,
            first_failure,
            msm,
            ..
        } = &mut *lane;
        let assignment = msm::sized(assignment, &device, z.len())?;
        let first_failure = msm::sized(first_failure, &device, 1)?;
        let buffers = &workspace[..QUOTIENT_BUFFERS];
        assignment.upload_prefix(fr_as_limbs(z.values())?)?;
        first_failure.upload_prefix(&NO_FAILURE_SLOT)?;
        let timer = EventTimer::new(&device)?;
        let arrays = WitnessMapArrays {
            z: assignment,
            a: &buffers[0],
            b: &buffers[1],
            c: &buffers[2],
            first_failure,
        };
        let eval_ms = timer.time(|| {
            queue_witness_map(
                &device,
                &self.witness_kernels,
                resident,
                arrays,
                domain_points,
            )
        })?;
        if let Some(plan) = &z_plan {
            msm.schedule
                .queue_from_device(&device, &self.msm_kernels, plan, z.id(), assignment)?;
        }
        let result = self.queue_chain(&device, &chain, &domain, buffers)?;
        // h without its top coefficient (zero when the constraints hold).
        let mut h = vec![Fr::from(0u64); domain_size - 1];
        let mut failure = [NO_FAILURE];
        buffers[result].download_prefix(fr_as_limbs_mut(&mut h)?)?;
        first_failure.download_prefix(&mut failure)?;
        // z, h and the failure slot are read or written by queued copies until this returns.
        device.synchronize()?;
        if failure[0] != NO_FAILURE {
            return Err(EngineError::Unsatisfied {
                index: failure[0] as usize,
                total: resident.dims.rows as usize,
                label: None,
            });
        }
        let h = MsmScalars::from_values(h);
        lane.resident_h = Some((h.id(), result));
        let constraint_eval = Duration::from_secs_f64(f64::from(eval_ms) / 1e3);
        let quotient = start.elapsed().saturating_sub(constraint_eval);
        Ok(WitnessMap {
            h,
            constraint_eval,
            quotient,
        })
    }
}
