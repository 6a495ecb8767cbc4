//! The NTT on the device: per-domain tables uploaded once and cached, and the passes of an
//! [`NttPlan`] queued as kernel launches on the backend's stream, without waiting in between.

use std::ffi::c_void;
use std::sync::Arc;

use ark_bls12_381::Fr;

use crate::engine::backend::NttDirection;
use crate::engine::error::{EngineError, Result};
use crate::engine::gpu_ntt::pass::{NttPassParams, PassArrays};
use crate::engine::gpu_ntt::plan::Roots;
use crate::engine::gpu_ntt::tables::{RootTables, ScaleTables};
use crate::engine::gpu_ntt::{DomainTables, NttPlan, Scale, Slot, TileShape, TransformSpec};
use crate::engine::kernel_host::FrLimbs;

use super::buffer::DeviceBuffer;
use super::device::Device;
use super::module::{Kernel, LaunchShape, Module, NTT_IMAGE};

/// Threads a block of the quotient's pointwise kernel.
const POINTWISE_THREADS: u32 = 256;

/// The kernels of `kernels/ntt.cu`, with the module that holds them.
pub struct NttKernels {
    pass: Kernel,
    pointwise: Kernel,
    _module: Module,
}

impl NttKernels {
    /// Loads the module and prepares the pass kernel for tiles of `tile`.
    pub fn load(device: &Arc<Device>, tile: TileShape) -> Result<Self> {
        let module = Module::load(device, &NTT_IMAGE)?;
        let pass = module.kernel("spice_ntt_pass_kernel", tile.max_threads)?;
        let pointwise = module.kernel("spice_quotient_pointwise_kernel", POINTWISE_THREADS)?;
        let tile_bytes = (std::mem::size_of::<FrLimbs>() as u32) << tile.tile_log;
        if tile_bytes > device.shared_memory_optin() {
            return Err(EngineError::BadNttPlan(format!(
                "a tile of 2^{} elements needs {tile_bytes} bytes of shared memory; {} allows {}",
                tile.tile_log,
                device.name(),
                device.shared_memory_optin()
            )));
        }
        if tile_bytes > 48 * 1024 {
            pass.allow_shared_memory(device, tile_bytes)?;
        }
        Ok(Self {
            pass,
            pointwise,
            _module: module,
        })
    }
}

/// Root tables of one direction, on the device.
struct DeviceRoots {
    roots: DeviceBuffer,
    twiddle_lo: DeviceBuffer,
    twiddle_hi: DeviceBuffer,
}

/// Powers of the coset offset, on the device.
struct DeviceScale {
    lo: DeviceBuffer,
    hi: DeviceBuffer,
}

/// Everything a transform of one size reads, resident on the device.
pub struct DeviceDomain {
    /// The host tables it was uploaded from (kept: they are small, and the uploads read them
    /// asynchronously).
    tables: DomainTables,
    forward: DeviceRoots,
    inverse: DeviceRoots,
    coset: DeviceScale,
    coset_inv: DeviceScale,
}

impl DeviceDomain {
    /// Computes the tables of `2^log_n` points for `tile` on the host and uploads them; waits
    /// for the uploads (once per size and backend).
    pub fn new(device: &Arc<Device>, log_n: u32, tile: TileShape) -> Result<Self> {
        // Every transform of one size and tile has the same stage split, hence the same tables.
        let probe = NttPlan::new(log_n, TransformSpec::natural(NttDirection::Forward), tile)?;
        let tables = DomainTables::new(log_n, probe.root_log, probe.split)?;
        let roots = |t: &RootTables| -> Result<DeviceRoots> {
            Ok(DeviceRoots {
                roots: DeviceBuffer::from_host(device, &t.roots)?,
                twiddle_lo: DeviceBuffer::from_host(device, &t.twiddle_lo)?,
                twiddle_hi: DeviceBuffer::from_host(device, &t.twiddle_hi)?,
            })
        };
        let scale = |t: &ScaleTables| -> Result<DeviceScale> {
            Ok(DeviceScale {
                lo: DeviceBuffer::from_host(device, &t.lo)?,
                hi: DeviceBuffer::from_host(device, &t.hi)?,
            })
        };
        let domain = Self {
            forward: roots(&tables.forward)?,
            inverse: roots(&tables.inverse)?,
            coset: scale(&tables.coset)?,
            coset_inv: scale(&tables.coset_inv)?,
            tables,
        };
        device.synchronize()?;
        Ok(domain)
    }

    /// log2 of the size.
    pub fn log_n(&self) -> u32 {
        self.tables.log_n
    }

    /// `1 / (gⁿ − 1)`: the inverse of the vanishing polynomial on the coset.
    pub fn coset_vanishing_inverse(&self) -> Result<Fr> {
        crate::engine::gpu_ntt::host_simulation::coset_vanishing_inverse(self.tables.log_n)
    }

    fn roots(&self, roots: Roots) -> &DeviceRoots {
        match roots {
            Roots::Forward => &self.forward,
            Roots::Inverse => &self.inverse,
        }
    }

    fn scale(&self, scale: Scale) -> Option<&DeviceScale> {
        match scale {
            Scale::None | Scale::InvN => None,
            Scale::Coset | Scale::InvNCoset => Some(&self.coset),
            Scale::InvNCosetInv => Some(&self.coset_inv),
        }
    }
}

/// Queues the passes of `plan` over `data` (and `scratch`, which plans with a bit-reversing
/// pass need) on the device's stream. Returns where the result is; nothing waits.
pub fn queue_plan(
    device: &Device,
    kernels: &NttKernels,
    plan: &NttPlan,
    domain: &DeviceDomain,
    data: &DeviceBuffer,
    scratch: Option<&DeviceBuffer>,
) -> Result<Slot> {
    let n = 1usize << plan.log_n;
    if domain.log_n() != plan.log_n || data.len() != n || scratch.is_some_and(|s| s.len() != n) {
        return Err(EngineError::BadNttPlan(format!(
            "buffers or domain do not match a plan of 2^{} points",
            plan.log_n
        )));
    }
    let scratch_ptr = match (plan.uses_scratch(), scratch) {
        (true, Some(s)) => s.as_param(),
        (true, None) => {
            return Err(EngineError::BadNttPlan(
                "this plan needs a scratch buffer".into(),
            ))
        }
        (false, _) => std::ptr::null_mut(),
    };
    let slot = |s: Slot| {
        if s == Slot::Data {
            data.as_param()
        } else {
            scratch_ptr
        }
    };
    let roots = domain.roots(plan.spec.roots);
    let scale = domain.scale(plan.spec.scale);
    let lambda = FrLimbs::from(domain.tables.lambda(plan.spec.scale));
    for pass in &plan.passes {
        let arrays = PassArrays {
            input: slot(pass.src),
            output: slot(pass.dst),
            roots: roots.roots.as_param(),
            twiddle_lo: roots.twiddle_lo.as_param(),
            twiddle_hi: roots.twiddle_hi.as_param(),
            scale_lo: scale.map_or(std::ptr::null(), |s| s.lo.as_param()),
            scale_hi: scale.map_or(std::ptr::null(), |s| s.hi.as_param()),
        };
        let mut params = NttPassParams::new(plan, pass, arrays, lambda);
        let shape = LaunchShape {
            blocks: params.blocks(),
            threads: params.threads,
            shared_bytes: params.shared_bytes(),
        };
        let mut args = [&mut params as *mut NttPassParams as *mut c_void];
        // SAFETY: the one parameter is a spice_ntt_pass by value (the mirror is checked against
        // bindgen's reading of the header); its addresses are device buffers of 2^log_n
        // elements and the domain's tables, all owned by the caller until it synchronises.
        unsafe { kernels.pass.launch(device, shape, &mut args)? };
    }
    Ok(plan.result)
}

/// Queues `a[i] ← (a[i]·b[i] − c[i])·z_inv` over the three buffers.
pub fn queue_pointwise(
    device: &Device,
    kernels: &NttKernels,
    a: &DeviceBuffer,
    b: &DeviceBuffer,
    c: &DeviceBuffer,
    z_inv: Fr,
) -> Result<()> {
    let n = a.len();
    if b.len() != n || c.len() != n || n > u32::MAX as usize {
        return Err(EngineError::BadNttPlan(format!(
            "pointwise over {n}/{}/{} elements",
            b.len(),
            c.len()
        )));
    }
    let shape = LaunchShape {
        blocks: (n as u32).div_ceil(POINTWISE_THREADS),
        threads: POINTWISE_THREADS,
        shared_bytes: 0,
    };
    let (mut pa, mut pb, mut pc) = (a.ptr(), b.ptr(), c.ptr());
    let mut z = FrLimbs::from(z_inv);
    let mut count = n as u32;
    let mut args = [
        &mut pa as *mut u64 as *mut c_void,
        &mut pb as *mut u64 as *mut c_void,
        &mut pc as *mut u64 as *mut c_void,
        &mut z as *mut FrLimbs as *mut c_void,
        &mut count as *mut u32 as *mut c_void,
    ];
    // SAFETY: (spice_fr*, const spice_fr*, const spice_fr*, spice_fr, uint32_t) in that order,
    // the three buffers of n elements living until the caller synchronises.
    unsafe { kernels.pointwise.launch(device, shape, &mut args) }
}
