//! The CUDA backend: our kernels on device 0 through the driver API.
//!
//! What runs on the GPU: the NTT (all four transforms, natural order in and out) and the whole
//! QAP quotient of the witness map, which keeps A·z, B·z, C·z resident on the device from
//! upload to the download of h: seven transforms and the pointwise step queued back to back
//! on one stream, with no permutation pass (the prover lays the evaluations out in
//! bit-reversed order, see [`Backend::quotient_input_order`]).
//!
//! What does not yet: the MSMs (issue 4). They run on the CPU backend, explicitly: the backend
//! logs it when it is created and at debug level on every MSM.
//!
//! Files: [`device`] (driver, context, stream), [`module`] (embedded fatbins, launches),
//! [`buffer`] (device arrays), [`ntt`] (tables and plan execution), [`timer`] (events, copy
//! bandwidth for benchmarks).

pub mod buffer;
pub mod device;
pub mod module;
pub mod ntt;
pub mod timer;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use ark_bls12_381::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};

use super::backend::{check_ntt_size, Backend, Bases, EvaluationOrder, NttDirection};
use super::cpu::CpuBackend;
use super::error::{EngineError, Result};
use super::gpu_ntt::{NttPlan, Slot, TileShape, TransformSpec, QUOTIENT_INPUT_STEPS, QUOTIENT_OUTPUT_STEP};
use super::scalars::MsmScalars;

use buffer::{fr_as_limbs, fr_as_limbs_mut, DeviceBuffer};
use device::Device;
use ntt::{queue_plan, queue_pointwise, DeviceDomain, NttKernels};
use timer::EventTimer;

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
}

/// The CUDA backend. Cheap to share (`Arc<dyn Backend>`); all device work goes through one
/// stream.
pub struct CudaBackend {
    state: Mutex<State>,
    kernels: NttKernels,
    device: Arc<Device>,
    tile: TileShape,
    cpu: CpuBackend,
}

impl std::fmt::Debug for CudaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaBackend").field("device", &self.device).field("tile", &self.tile).finish()
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
    /// Opens device 0 with the default tile shape. Fails with
    /// [`EngineError::BackendUnavailable`] naming the reason when there is no driver, no
    /// device, or the kernels cannot be loaded.
    pub fn new() -> Result<Self> {
        Self::with_tile(TileShape::default())
    }

    /// Opens device 0 with NTT tiles of `tile` (benchmarks compare shapes).
    pub fn with_tile(tile: TileShape) -> Result<Self> {
        let device = Arc::new(Device::open()?);
        let kernels = NttKernels::load(&device, tile).map_err(|e| EngineError::BackendUnavailable {
            name: NAME.into(),
            reason: format!("the NTT kernels cannot run on {}: {e}", device.name()),
        })?;
        tracing::info!(
            "CUDA backend on {device:?}: NTT and QAP quotient on the GPU; MSMs on the CPU backend (GPU MSM is not implemented yet)"
        );
        Ok(Self { state: Mutex::new(State::default()), kernels, device, tile, cpu: CpuBackend::new() })
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
        if state.workspace_len != len {
            state.workspace.clear();
            state.workspace_len = len;
        }
        while state.workspace.len() < count {
            state.workspace.push(DeviceBuffer::new(&self.device, len)?);
        }
        Ok(&state.workspace[..count])
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

impl Backend for CudaBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn load_g1(&self, bases: Vec<G1Affine>) -> Result<Bases<G1Affine>> {
        let len = bases.len();
        Ok(Bases::new(NAME, len, Arc::new(self.cpu.load_g1(bases)?)))
    }

    fn load_g2(&self, bases: Vec<G2Affine>) -> Result<Bases<G2Affine>> {
        let len = bases.len();
        Ok(Bases::new(NAME, len, Arc::new(self.cpu.load_g2(bases)?)))
    }

    fn msm_g1(&self, bases: &Bases<G1Affine>, scalars: &MsmScalars) -> Result<G1Projective> {
        tracing::debug!("G1 MSM of {} points on the CPU backend (no GPU MSM yet)", bases.len());
        self.cpu.msm_g1(bases.storage::<Bases<G1Affine>>(NAME)?, scalars)
    }

    fn msm_g2(&self, bases: &Bases<G2Affine>, scalars: &MsmScalars) -> Result<G2Projective> {
        tracing::debug!("G2 MSM of {} points on the CPU backend (no GPU MSM yet)", bases.len());
        self.cpu.msm_g2(bases.storage::<Bases<G2Affine>>(NAME)?, scalars)
    }

    fn prepare_scalars(&self, scalars: &MsmScalars) -> Result<()> {
        self.cpu.prepare_scalars(scalars)
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

    fn quotient_input_order(&self) -> EvaluationOrder {
        EvaluationOrder::BitReversed
    }

    fn quotient(&self, mut a: Vec<Fr>, b: Vec<Fr>, c: Vec<Fr>) -> Result<Vec<Fr>> {
        let n = a.len();
        if b.len() != n || c.len() != n {
            return Err(EngineError::MsmLength { bases: n, scalars: b.len().min(c.len()) });
        }
        let log_n = check_ntt_size(n)?;
        let input_plans = [
            NttPlan::new(log_n, QUOTIENT_INPUT_STEPS[0], self.tile)?,
            NttPlan::new(log_n, QUOTIENT_INPUT_STEPS[1], self.tile)?,
        ];
        let output_plan = NttPlan::new(log_n, QUOTIENT_OUTPUT_STEP, self.tile)?;
        let mut state = self.lock()?;
        let domain = self.domain(&mut state, log_n)?;
        let z_inv = domain.coset_vanishing_inverse()?;
        let buffers = self.workspace(&mut state, n, 3)?;
        for (buffer, host) in buffers.iter().zip([&a, &b, &c]) {
            buffer.upload(fr_as_limbs(host)?)?;
        }
        for buffer in buffers {
            for plan in &input_plans {
                queue_plan(&self.device, &self.kernels, plan, &domain, buffer, None)?;
            }
        }
        queue_pointwise(&self.device, &self.kernels, &buffers[0], &buffers[1], &buffers[2], z_inv)?;
        queue_plan(&self.device, &self.kernels, &output_plan, &domain, &buffers[0], None)?;
        buffers[0].download(fr_as_limbs_mut(&mut a)?)?;
        // b and c are read by queued uploads until this returns.
        self.device.synchronize()?;
        drop((b, c));
        Ok(a)
    }
}
