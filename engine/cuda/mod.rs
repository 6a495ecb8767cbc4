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
//! Files: [`device`] (driver, context, stream), [`module`] (embedded fatbins, launches),
//! [`buffer`] (device arrays), [`ntt`] (tables and plan execution), [`witness_map`] (resident
//! shapes, the row kernel), [`msm`] (schedule and curve launches), [`msm_config`] (planner
//! overrides, G2 placement), [`timer`] (events, copy bandwidth for benchmarks).

pub mod buffer;
pub mod device;
pub mod module;
pub mod msm;
pub mod msm_config;
pub mod ntt;
pub mod timer;
pub mod witness_map;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ark_bls12_381::{g1, g2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::short_weierstrass::Projective;
use ark_ec::AdditiveGroup;
use bytemuck::Zeroable;

use super::backend::{check_ntt_size, Backend, Bases, NttDirection};
use super::cpu::CpuBackend;
use super::error::{EngineError, Result};
use super::gpu_msm::{MsmCurve, MsmOptions, MsmPlan};
use super::gpu_ntt::{ChainLaunch, NttPlan, QuotientChain, Slot, TileShape, TransformSpec, QUOTIENT_BUFFERS};
use super::gpu_witness::params::NO_FAILURE;
use super::gpu_witness::WitnessMapLayout;
use super::scalars::MsmScalars;
use super::shape::R1csShape;
use super::transfer_times::TransferTimes;
use super::witness_map::{LoadedShape, WitnessMap};

use buffer::{fr_as_limbs, fr_as_limbs_mut, DeviceBuffer};
use device::Device;
use msm::{CurveKernels, CurveWorkspace, DeviceBases, MsmKernels, MsmWorkspace, ScheduleWorkspace};
pub use msm_config::{G2Placement, MsmConfig};
use ntt::{queue_plan, queue_pointwise, DeviceDomain, NttKernels};
use timer::EventTimer;
use witness_map::{queue_witness_map, DeviceShape, WitnessMapArrays, WitnessMapKernels};

const NAME: &str = "cuda";

/// Device state behind one lock: the lock also serialises use of the stream, so concurrent
/// callers (the backend is `Sync`) queue whole operations one after another.
#[derive(Default)]
struct State {
    /// Tables per log2 size, uploaded on first use.
    domains: HashMap<u32, Arc<DeviceDomain>>,
    /// Reused device arrays of `workspace_len` elements (allocation waits for the device,
    /// so proofs of one size reuse them).
    workspace: Vec<DeviceBuffer>,
    workspace_len: usize,
    /// MSM schedule and buffers, kept between calls.
    msm: MsmWorkspace,
    /// The assignment of the witness map (the largest so far) and its failure slot.
    assignment: Option<DeviceBuffer>,
    first_failure: Option<DeviceBuffer<u32>>,
    /// The last witness map's h: the id of the scalars it returned and the workspace array
    /// that still holds them, so that the H MSM's schedule copies them on the device instead
    /// of uploading them again. Cleared whenever the workspace is handed out for writing.
    resident_h: Option<(u64, usize)>,
}

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

/// The CUDA backend. Cheap to share (`Arc<dyn Backend>`); all device work goes through one
/// stream.
pub struct CudaBackend {
    state: Mutex<State>,
    kernels: NttKernels,
    witness_kernels: WitnessMapKernels,
    msm_kernels: MsmKernels,
    msm: MsmConfig,
    device: Arc<Device>,
    tile: TileShape,
    cpu: CpuBackend,
}

impl std::fmt::Debug for CudaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaBackend").field("device", &self.device).field("tile", &self.tile).field("msm", &self.msm).finish()
    }
}

/// A vector resident on the device, for chains of transforms that should not come back to the
/// host in between (and for timing them).
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
        let msm = MsmConfig::from_env().map_err(|e| EngineError::BackendUnavailable { name: NAME.into(), reason: e.to_string() })?;
        Self::with_config(tile, msm)
    }

    /// Opens device 0 with NTT tiles of `tile` and MSM settings `msm` (the planner's
    /// `resident_threads` is replaced by the device's size).
    pub fn with_config(tile: TileShape, msm: MsmConfig) -> Result<Self> {
        let device = Arc::new(Device::open()?);
        let unusable = |what: &str, e: EngineError| EngineError::BackendUnavailable {
            name: NAME.into(),
            reason: format!("the {what} kernels cannot run on {}: {e}", device.name()),
        };
        let kernels = NttKernels::load(&device, tile).map_err(|e| unusable("NTT", e))?;
        let witness_kernels = WitnessMapKernels::load(&device).map_err(|e| unusable("witness-map", e))?;
        let msm_kernels = MsmKernels::load(&device).map_err(|e| unusable("MSM", e))?;
        let msm = MsmConfig {
            options: MsmOptions { resident_threads: MsmOptions::for_device(device.multiprocessors()).resident_threads, ..msm.options },
            ..msm
        };
        let g2 = match msm.g2 {
            G2Placement::Gpu => "G2 on the GPU",
            G2Placement::CpuConcurrent => "G2 on the CPU backend, concurrently with the G1 MSMs",
        };
        tracing::info!(
            "CUDA backend on {device:?}: witness map (loaded shapes), NTT, QAP quotient and MSMs on the GPU (G1; {g2}); MSM planner overrides {:?}",
            msm.options
        );
        Ok(Self { state: Mutex::new(State::default()), kernels, witness_kernels, msm_kernels, msm, device, tile, cpu: CpuBackend::new() })
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
        self.device.name()
    }

    /// (major, minor) compute capability of the device.
    pub fn compute_capability(&self) -> (i32, i32) {
        self.device.compute_capability()
    }

    /// The NTT tile shape in use.
    pub fn tile(&self) -> TileShape {
        self.tile
    }

    /// Device memory in bytes (total, free now).
    pub fn memory(&self) -> Result<(usize, usize)> {
        Ok((self.device.total_memory(), self.device.free_memory()?))
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        // A panic while holding the lock cannot leave device state half-updated in a way the
        // next operation would trust (every operation re-uploads what it reads), so a
        // poisoned lock is taken over rather than propagated as a panic.
        let guard = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.device.bind()?;
        Ok(guard)
    }

    fn domain(&self, state: &mut State, log_n: u32) -> Result<Arc<DeviceDomain>> {
        if let Some(d) = state.domains.get(&log_n) {
            return Ok(d.clone());
        }
        let d = Arc::new(DeviceDomain::new(&self.device, log_n, self.tile)?);
        state.domains.insert(log_n, d.clone());
        Ok(d)
    }

    /// At least `count` workspace arrays of `len` elements.
    fn workspace<'s>(&self, state: &'s mut State, len: usize, count: usize) -> Result<&'s [DeviceBuffer]> {
        state.resident_h = None; // whatever a caller writes, h may no longer be there
        if state.workspace_len != len {
            state.workspace.clear();
            state.workspace_len = len;
        }
        while state.workspace.len() < count {
            state.workspace.push(DeviceBuffer::new(&self.device, len)?);
        }
        Ok(&state.workspace[..count])
    }

    /// Queues the quotient chain's launches over `buffers` (A·z, B·z, C·z in the first three,
    /// natural order); returns the buffer that will hold h. Nothing waits.
    fn queue_chain(&self, chain: &QuotientChain, domain: &DeviceDomain, buffers: &[DeviceBuffer]) -> Result<usize> {
        let z_inv = domain.coset_vanishing_inverse()?;
        for launch in &chain.launches {
            match *launch {
                ChainLaunch::Transform { step, data, scratch } => {
                    queue_plan(&self.device, &self.kernels, chain.plan(step), domain, &buffers[data], Some(&buffers[scratch]))?;
                }
                ChainLaunch::Pointwise { a, b, c } => {
                    queue_pointwise(&self.device, &self.kernels, &buffers[a], &buffers[b], &buffers[c], z_inv)?;
                }
            }
        }
        Ok(chain.result)
    }

    /// Copies `values` (length a power of two) to the device and waits for the copy.
    pub fn upload(&self, values: &[Fr]) -> Result<DeviceVector> {
        let log_n = check_ntt_size(values.len())?;
        let _state = self.lock()?;
        let data = DeviceBuffer::from_host(&self.device, fr_as_limbs(values)?)?;
        self.device.synchronize()?;
        Ok(DeviceVector { data, scratch: None, log_n })
    }

    /// Queues a transform of a resident vector; returns without waiting for the device.
    pub fn ntt_resident(&self, v: &mut DeviceVector, direction: NttDirection) -> Result<()> {
        let mut state = self.lock()?;
        let plan = NttPlan::new(v.log_n, TransformSpec::natural(direction), self.tile)?;
        let domain = self.domain(&mut state, v.log_n)?;
        if plan.uses_scratch() && v.scratch.is_none() {
            v.scratch = Some(DeviceBuffer::new(&self.device, v.len())?);
        }
        if queue_plan(&self.device, &self.kernels, &plan, &domain, &v.data, v.scratch.as_ref())? == Slot::Scratch {
            if let Some(s) = v.scratch.as_mut() {
                std::mem::swap(&mut v.data, s);
            }
        }
        Ok(())
    }

    /// Copies a resident vector back, waiting for everything queued before.
    pub fn download(&self, v: &DeviceVector) -> Result<Vec<Fr>> {
        let _state = self.lock()?;
        let mut out = vec![Fr::from(0u64); v.len()];
        v.data.download(fr_as_limbs_mut(&mut out)?)?;
        self.device.synchronize()?;
        Ok(out)
    }

    /// Waits for all queued work; a failed kernel is reported here.
    pub fn synchronize(&self) -> Result<()> {
        let _state = self.lock()?;
        self.device.synchronize()
    }

    /// Milliseconds of device time spent on the work `work` queues (CUDA events around it).
    pub fn time_ms(&self, work: impl FnOnce(&Self) -> Result<()>) -> Result<f32> {
        let timer = EventTimer::new(&self.device)?;
        timer.time(|| work(self))
    }

    /// Measured device-to-device copy bandwidth (bytes read + written per second) over arrays
    /// of `elements` Fr elements, the median of `runs` copies.
    pub fn copy_bandwidth(&self, elements: usize, runs: usize) -> Result<f64> {
        let _state = self.lock()?;
        timer::copy_bandwidth(&self.device, elements, runs)
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
    fn schedule(&self, state: &mut State, scalars: &MsmScalars, rebuild: bool) -> Result<MsmPlan> {
        if !rebuild {
            if let Some(plan) = state.msm.schedule.holds(scalars.id()) {
                return Ok(plan.clone());
            }
        }
        let plan = self.msm_plan(scalars)?;
        match state.resident_h {
            Some((id, k)) if id == scalars.id() => {
                state.msm.schedule.queue_from_device(&self.device, &self.msm_kernels, &plan, id, &state.workspace[k])?
            }
            _ => state.msm.schedule.queue(&self.device, &self.msm_kernels, &plan, scalars.id(), scalars.values())?,
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
            return Err(EngineError::MsmLength { bases: bases.len(), scalars: scalars.len() });
        }
        if scalars.is_empty() {
            return Ok(Projective::<C>::ZERO);
        }
        let mut state = self.lock()?;
        // Timing measures the schedule too, so it is rebuilt rather than reused.
        let rebuild = times.is_some();
        let timer = times.is_some().then(|| EventTimer::new(&self.device)).transpose()?;
        let mut plan = None;
        let schedule_ms = maybe_time(timer.as_ref(), || {
            plan = Some(self.schedule(&mut state, scalars, rebuild)?);
            Ok(())
        })?;
        let plan = plan.ok_or_else(|| EngineError::Cuda { operation: "MSM".into(), reason: "no plan".into() })?;
        let mut sums = vec![C::XyzzLimbs::zeroed(); plan.windows as usize + 1];
        let mut count = [0u32];
        let curve_ms = maybe_time(timer.as_ref(), || {
            let (schedule, workspace) = split(&mut state.msm);
            workspace.queue(&self.device, kernels, &plan, schedule, bases, &mut sums, &mut count)
        })?;
        self.device.synchronize()?;
        drop(timer);
        if let Some(times) = times {
            times.schedule_ms = schedule_ms;
            times.curve_ms = curve_ms;
        }
        let count = count[0];
        drop(state);
        msm::finish::<C>(&plan, &sums, count)
    }

    fn g1_bases<'b>(&self, bases: &'b Bases<G1Affine>) -> Result<&'b DeviceBases<g1::Config>> {
        bases.storage::<DeviceBases<g1::Config>>(NAME)
    }

    /// [`Backend::msm_g1`], also returning the device time of its two halves (the schedule is
    /// rebuilt, so its time is measured too). For benchmarks.
    pub fn msm_g1_timed(&self, bases: &Bases<G1Affine>, scalars: &MsmScalars) -> Result<(G1Projective, MsmDeviceTimes)> {
        let mut times = MsmDeviceTimes::default();
        let r = self.device_msm(self.g1_bases(bases)?, scalars, &self.msm_kernels.g1, split_g1, Some(&mut times))?;
        Ok((r, times))
    }

    /// [`Backend::msm_g2`] on the GPU (whatever the placement), also returning the device
    /// time of its two halves. For benchmarks; fails for bases loaded for the CPU.
    pub fn msm_g2_timed(&self, bases: &Bases<G2Affine>, scalars: &MsmScalars) -> Result<(G2Projective, MsmDeviceTimes)> {
        let mut times = MsmDeviceTimes::default();
        match bases.storage::<G2Bases>(NAME)? {
            G2Bases::Device(b) => {
                let r = self.device_msm(b, scalars, &self.msm_kernels.g2, split_g2, Some(&mut times))?;
                Ok((r, times))
            }
            G2Bases::Host(_) => Err(EngineError::BackendUnavailable {
                name: NAME.into(),
                reason: "these G2 bases were loaded for the CPU (G2Placement::CpuConcurrent)".into(),
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
        let _state = self.lock()?;
        Ok(Bases::new(NAME, len, Arc::new(DeviceBases::<g1::Config>::upload(&self.device, &bases)?)))
    }

    fn load_g2(&self, bases: Vec<G2Affine>) -> Result<Bases<G2Affine>> {
        let len = bases.len();
        let storage = match self.msm.g2 {
            G2Placement::Gpu => {
                let _state = self.lock()?;
                G2Bases::Device(DeviceBases::<g2::Config>::upload(&self.device, &bases)?)
            }
            G2Placement::CpuConcurrent => G2Bases::Host(self.cpu.load_g2(bases)?),
        };
        Ok(Bases::new(NAME, len, Arc::new(storage)))
    }

    fn msm_g1(&self, bases: &Bases<G1Affine>, scalars: &MsmScalars) -> Result<G1Projective> {
        self.device_msm(self.g1_bases(bases)?, scalars, &self.msm_kernels.g1, split_g1, None)
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

    fn transfer_totals(&self) -> Option<TransferTimes> {
        Some(self.device.transfer_totals())
    }

    /// Builds the device schedule of `scalars` (upload and schedule launches) and waits for
    /// it, so the MSMs that follow over the same scalars start from it.
    fn prepare_scalars(&self, scalars: &MsmScalars) -> Result<()> {
        if scalars.is_empty() {
            return Ok(());
        }
        let mut state = self.lock()?;
        self.schedule(&mut state, scalars, false)?;
        self.device.synchronize()
    }

    fn ntt(&self, data: &mut [Fr], direction: NttDirection) -> Result<()> {
        let log_n = check_ntt_size(data.len())?;
        if log_n == 0 {
            return Ok(()); // every transform of one point is the identity
        }
        let plan = NttPlan::new(log_n, TransformSpec::natural(direction), self.tile)?;
        let mut state = self.lock()?;
        let domain = self.domain(&mut state, log_n)?;
        let buffers = self.workspace(&mut state, data.len(), 2)?;
        buffers[0].upload(fr_as_limbs(data)?)?;
        let at = queue_plan(&self.device, &self.kernels, &plan, &domain, &buffers[0], Some(&buffers[1]))?;
        let result = if at == Slot::Data { &buffers[0] } else { &buffers[1] };
        result.download(fr_as_limbs_mut(data)?)?;
        self.device.synchronize()
    }

    fn quotient(&self, mut a: Vec<Fr>, b: Vec<Fr>, c: Vec<Fr>) -> Result<Vec<Fr>> {
        let n = a.len();
        if b.len() != n || c.len() != n {
            return Err(EngineError::MsmLength { bases: n, scalars: b.len().min(c.len()) });
        }
        let log_n = check_ntt_size(n)?;
        let chain = QuotientChain::new(log_n, self.tile)?;
        let mut state = self.lock()?;
        let domain = self.domain(&mut state, log_n)?;
        let buffers = self.workspace(&mut state, n, QUOTIENT_BUFFERS)?;
        for (buffer, host) in buffers.iter().zip([&a, &b, &c]) {
            buffer.upload(fr_as_limbs(host)?)?;
        }
        let result = self.queue_chain(&chain, &domain, buffers)?;
        buffers[result].download(fr_as_limbs_mut(&mut a)?)?;
        // b and c are read by queued uploads until this returns.
        self.device.synchronize()?;
        drop((b, c));
        Ok(a)
    }

    /// Uploads the shape's matrices in the kernel's layout ([`WitnessMapLayout`]), once; the
    /// handle keeps them resident. A row naming a variable beyond the shape is
    /// [`EngineError::KeyMismatch`] here, so the kernel needs no bounds checks.
    fn load_shape(&self, shape: Arc<R1csShape>) -> Result<LoadedShape> {
        let layout = WitnessMapLayout::new(&shape)?;
        let _state = self.lock()?;
        let resident = DeviceShape::upload(&self.device, &layout)?;
        tracing::debug!(
            "loaded a shape of {} constraints onto {}: {} bytes in the witness map's layout",
            shape.num_constraints(),
            self.device.name(),
            layout.device_bytes()
        );
        Ok(LoadedShape::resident(NAME, shape, Arc::new(resident)))
    }

    /// The witness map on the device: uploads z, evaluates the rows into the quotient chain's
    /// first three buffers, builds the schedule of the MSMs over z from that same copy, runs
    /// the chain, and downloads h and the first failing row together, with one wait at the
    /// end. The evaluation's time is its kernel's, measured with events.
    fn witness_map(&self, shape: &LoadedShape, z: &MsmScalars, domain_size: usize) -> Result<WitnessMap> {
        static NO_FAILURE_SLOT: [u32; 1] = [NO_FAILURE];
        let start = Instant::now();
        let resident = shape.storage::<DeviceShape>(NAME)?;
        let domain_points = resident.dims.check_call(z.len(), domain_size)?;
        let log_n = check_ntt_size(domain_size)?;
        let chain = QuotientChain::new(log_n, self.tile)?;
        let z_plan = (!z.is_empty()).then(|| self.msm_plan(z)).transpose()?;
        let mut state = self.lock()?;
        let domain = self.domain(&mut state, log_n)?;
        self.workspace(&mut state, domain_size, QUOTIENT_BUFFERS)?;
        let State { workspace, assignment, first_failure, msm, .. } = &mut *state;
        let assignment = msm::sized(assignment, &self.device, z.len())?;
        let first_failure = msm::sized(first_failure, &self.device, 1)?;
        let buffers = &workspace[..QUOTIENT_BUFFERS];
        assignment.upload_prefix(fr_as_limbs(z.values())?)?;
        first_failure.upload_prefix(&NO_FAILURE_SLOT)?;
        let timer = EventTimer::new(&self.device)?;
        let arrays = WitnessMapArrays { z: assignment, a: &buffers[0], b: &buffers[1], c: &buffers[2], first_failure };
        let eval_ms = timer.time(|| queue_witness_map(&self.device, &self.witness_kernels, resident, arrays, domain_points))?;
        if let Some(plan) = &z_plan {
            msm.schedule.queue_from_device(&self.device, &self.msm_kernels, plan, z.id(), assignment)?;
        }
        let result = self.queue_chain(&chain, &domain, buffers)?;
        // h without its top coefficient (zero when the constraints hold).
        let mut h = vec![Fr::from(0u64); domain_size - 1];
        let mut failure = [NO_FAILURE];
        buffers[result].download_prefix(fr_as_limbs_mut(&mut h)?)?;
        first_failure.download_prefix(&mut failure)?;
        // z, h and the failure slot are read or written by queued copies until this returns.
        self.device.synchronize()?;
        if failure[0] != NO_FAILURE {
            return Err(EngineError::Unsatisfied { index: failure[0] as usize, total: resident.dims.rows as usize, label: None });
        }
        let h = MsmScalars::from_values(h);
        state.resident_h = Some((h.id(), result));
        let constraint_eval = Duration::from_secs_f64(f64::from(eval_ms) / 1e3);
        let quotient = start.elapsed().saturating_sub(constraint_eval);
        Ok(WitnessMap { h, constraint_eval, quotient })
    }
}
