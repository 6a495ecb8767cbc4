//! The kernels compiled into the binary (build.rs embeds one fatbin per `kernels/*.cu`), loaded
//! into the device's context, and their launches.

use std::ffi::{c_void, CString};
use std::sync::Arc;

use cudarc::driver::result;
use cudarc::driver::sys::{self, CUfunction_attribute};

use crate::engine::error::{EngineError, Result};

use super::device::{driver_error, Device};

/// A fatbin embedded at build time: SASS for sm_80/90, PTX for sm_70/75 and for later GPUs.
pub struct KernelImage {
    /// The `kernels/*.cu` file it was compiled from.
    pub source: &'static str,
    bytes: &'static [u8],
}

/// `kernels/ntt.cu`: the NTT pass and the quotient's pointwise step.
pub static NTT_IMAGE: KernelImage = KernelImage {
    source: "kernels/ntt.cu",
    bytes: include_bytes!(env!("SPICE_FATBIN_NTT")),
};

/// `kernels/msm_schedule.cu`: the MSM's scalar schedule (curve-independent).
pub static MSM_SCHEDULE_IMAGE: KernelImage = KernelImage {
    source: "kernels/msm_schedule.cu",
    bytes: include_bytes!(env!("SPICE_FATBIN_MSM_SCHEDULE")),
};

/// `kernels/msm_g1.cu`: bucket accumulation and reduction over G1.
pub static MSM_G1_IMAGE: KernelImage = KernelImage {
    source: "kernels/msm_g1.cu",
    bytes: include_bytes!(env!("SPICE_FATBIN_MSM_G1")),
};

/// `kernels/msm_g2.cu`: bucket accumulation and reduction over G2.
pub static MSM_G2_IMAGE: KernelImage = KernelImage {
    source: "kernels/msm_g2.cu",
    bytes: include_bytes!(env!("SPICE_FATBIN_MSM_G2")),
};

/// `kernels/witness_map.cu`: A·z, B·z, C·z over the QAP domain and the constraint check.
pub static WITNESS_MAP_IMAGE: KernelImage = KernelImage {
    source: "kernels/witness_map.cu",
    bytes: include_bytes!(env!("SPICE_FATBIN_WITNESS_MAP")),
};

/// `kernels/arith_selftest.cu`: element-wise field and curve operations, so tests can compare
/// the device build of the arithmetic (its PTX carry chains) with the host build.
pub static ARITH_SELFTEST_IMAGE: KernelImage = KernelImage {
    source: "kernels/arith_selftest.cu",
    bytes: include_bytes!(env!("SPICE_FATBIN_ARITH_SELFTEST")),
};

/// A loaded module, unloaded on drop.
pub struct Module {
    device: Arc<Device>,
    module: sys::CUmodule,
    source: &'static str,
}

// SAFETY: module and function handles are plain driver handles, valid on any thread that has
// the context current (every launch binds it first).
unsafe impl Send for Module {}
// SAFETY: as above; the driver synchronises its own module state.
unsafe impl Sync for Module {}

/// A kernel of a [`Module`].
#[derive(Clone, Copy)]
pub struct Kernel {
    function: sys::CUfunction,
}

// SAFETY: see Module.
unsafe impl Send for Kernel {}
// SAFETY: see Module.
unsafe impl Sync for Kernel {}

/// Grid, block and dynamic shared memory of a launch.
#[derive(Clone, Copy, Debug)]
pub struct LaunchShape {
    /// Blocks.
    pub blocks: u32,
    /// Threads per block.
    pub threads: u32,
    /// Dynamic shared memory per block, bytes.
    pub shared_bytes: u32,
}

impl Module {
    /// Loads `image` into the device's context.
    pub fn load(device: &Arc<Device>, image: &KernelImage) -> Result<Self> {
        device.bind()?;
        // The driver reads the fatbin's header as 8-byte words; include_bytes! only promises
        // byte alignment, so hand it an aligned copy.
        let mut aligned = vec![0u64; image.bytes.len().div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut aligned)[..image.bytes.len()]
            .copy_from_slice(image.bytes);
        // SAFETY: `aligned` holds a complete fatbin produced by nvcc and outlives the call
        // (the driver copies what it keeps).
        let module = unsafe { result::module::load_data(aligned.as_ptr() as *const c_void) }.map_err(|e| {
            driver_error(&format!("loading {} (built as sm_80/90 SASS + compute_70/90 PTX; is the driver older than the toolkit?)", image.source), e)
        })?;
        Ok(Self {
            device: device.clone(),
            module,
            source: image.source,
        })
    }

    /// The kernel named `name` (an `extern "C" __global__` function of the source), which the
    /// caller launches with blocks of up to `most_threads` threads.
    ///
    /// The driver says how many threads a block of this kernel may have on this device (its
    /// registers and launch bound decide). A larger block would fail at its first launch with
    /// "too many resources requested for launch", in the middle of a proof; this fails here,
    /// when the backend opens, with [`EngineError::KernelLimit`].
    pub fn kernel(&self, name: &str, most_threads: u32) -> Result<Kernel> {
        let c_name = CString::new(name).map_err(|_| EngineError::Cuda {
            operation: "cuModuleGetFunction".into(),
            reason: format!("bad name {name:?}"),
        })?;
        self.device.bind()?;
        // SAFETY: the module is loaded for the lifetime of `self`.
        let function = unsafe { result::module::get_function(self.module, c_name) }
            .map_err(|e| driver_error(&format!("finding kernel {name} in {}", self.source), e))?;
        let kernel = Kernel { function };
        let allowed = kernel.max_threads_per_block(&self.device)?;
        if most_threads > allowed {
            return Err(EngineError::KernelLimit {
                kernel: name.to_string(),
                source_file: self.source.to_string(),
                device: self.device.name().to_string(),
                allowed,
                threads: most_threads,
            });
        }
        Ok(kernel)
    }
}

impl Drop for Module {
    fn drop(&mut self) {
        if self.device.bind().is_ok() {
            // SAFETY: loaded in `load`, unloaded once; no launch is in flight after the
            // backend synchronised.
            let _ = unsafe { result::module::unload(self.module) };
        }
    }
}

impl Kernel {
    /// The most threads a block of this kernel may have on `device`
    /// (`CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK`: the device's limit, cut by the kernel's
    /// launch bound and by what its registers leave of the register file).
    pub fn max_threads_per_block(&self, device: &Device) -> Result<u32> {
        device.bind()?;
        // SAFETY: the function handle is valid while its module is loaded.
        let most = unsafe {
            result::function::get_function_attribute(
                self.function,
                CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK,
            )
        }
        .map_err(|e| driver_error("cuFuncGetAttribute(MAX_THREADS_PER_BLOCK)", e))?;
        Ok(most.max(0) as u32)
    }

    /// Lets launches use up to `bytes` of dynamic shared memory (beyond 48 KiB it must be
    /// asked for explicitly).
    pub fn allow_shared_memory(&self, device: &Device, bytes: u32) -> Result<()> {
        device.bind()?;
        // SAFETY: the function handle is valid while its module is loaded.
        unsafe {
            result::function::set_function_attribute(
                self.function,
                CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                bytes as i32,
            )
        }
        .map_err(|e| driver_error(&format!("allowing {bytes} bytes of shared memory"), e))
    }

    /// Queues a launch on the device's stream.
    ///
    /// # Safety
    /// `params` must point to values whose types and order are those of the kernel's
    /// parameters, and every device address among them must be valid for what the kernel
    /// accesses until the stream is synchronised.
    pub unsafe fn launch(
        &self,
        device: &Device,
        shape: LaunchShape,
        params: &mut [*mut c_void],
    ) -> Result<()> {
        device.bind()?;
        // SAFETY: forwarded to the caller's contract.
        unsafe {
            result::launch_kernel(
                self.function,
                (shape.blocks, 1, 1),
                (shape.threads, 1, 1),
                shape.shared_bytes,
                device.stream(),
                params,
            )
        }
        .map_err(|e| driver_error(&format!("launching a kernel with {shape:?}"), e))
    }
}
