//! The CUDA device: loading the driver, the primary context of device 0, one stream, and the
//! properties the kernels are sized by.
//!
//! The driver (`libcuda.so`) is opened with `dlopen` at run time (cudarc's dynamic loading),
//! so a binary built on a machine without a GPU starts anywhere. Every way opening can fail
//! (no driver library, a driver missing an entry point we call, `cuInit` failing, no device)
//! becomes [`EngineError::BackendUnavailable`] naming the reason; nothing panics.

use cudarc::driver::result::{self, DriverError};
use cudarc::driver::sys::{self, CUdevice_attribute};

use crate::engine::error::{EngineError, Result};

/// Every driver entry point this backend calls (through cudarc's `result` layer). They are
/// checked when the device is opened because cudarc panics on a missing symbol at the first
/// call; all exist in every driver since CUDA 11.8, CUDA 13's included.
const REQUIRED_SYMBOLS: &[&str] = &[
    "cuInit", "cuGetErrorString", "cuGetErrorName", "cuDeviceGetCount", "cuDeviceGet", "cuDeviceGetName",
    "cuDeviceGetAttribute", "cuDeviceTotalMem_v2", "cuDevicePrimaryCtxRetain", "cuDevicePrimaryCtxRelease_v2",
    "cuCtxSetCurrent", "cuStreamCreate", "cuStreamDestroy_v2", "cuStreamSynchronize", "cuModuleLoadData",
    "cuModuleGetFunction", "cuModuleUnload", "cuFuncSetAttribute", "cuMemAlloc_v2", "cuMemFree_v2",
    "cuMemcpyHtoDAsync_v2", "cuMemcpyDtoHAsync_v2", "cuMemcpyDtoDAsync_v2", "cuMemsetD8Async", "cuMemGetInfo_v2", "cuLaunchKernel",
    "cuEventCreate", "cuEventRecord", "cuEventSynchronize", "cuEventDestroy_v2",
];

/// `cuEventElapsedTime` and its CUDA 12.8+ successor `cuEventElapsedTime_v2` (same
/// signature); the timer calls whichever the driver exports, newest first, so it does not
/// depend on a driver keeping the old name.
pub(crate) type EventElapsed = unsafe extern "C" fn(*mut f32, sys::CUevent, sys::CUevent) -> sys::CUresult;

/// The driver's event-elapsed entry point, if it has either name.
pub(crate) fn event_elapsed() -> Option<EventElapsed> {
    // SAFETY: only called after `Device::open` found the library; the symbols have the
    // signature above in every driver that exports them.
    unsafe {
        let lib = sys::culib();
        ["cuEventElapsedTime_v2", "cuEventElapsedTime"]
            .iter()
            .find_map(|name| lib.get::<EventElapsed>(name.as_bytes()).ok().map(|f| *f))
    }
}

/// A driver error as an engine error, naming the call that failed.
pub(crate) fn driver_error(operation: &str, e: DriverError) -> EngineError {
    EngineError::Cuda { operation: operation.to_string(), reason: describe(e) }
}

/// `CUDA_ERROR_X (text)`, as far as the driver can say.
fn describe(e: DriverError) -> String {
    let name = e.error_name().ok().and_then(|s| s.to_str().ok().map(str::to_owned));
    let text = e.error_string().ok().and_then(|s| s.to_str().ok().map(str::to_owned));
    match (name, text) {
        (Some(n), Some(t)) => format!("{n} ({t})"),
        (Some(n), None) => n,
        _ => format!("{:?}", e.0),
    }
}

fn unavailable(reason: String) -> EngineError {
    EngineError::BackendUnavailable { name: "cuda".into(), reason }
}

/// Device 0 with its primary context retained and a non-blocking stream on it.
pub struct Device {
    device: sys::CUdevice,
    context: sys::CUcontext,
    stream: sys::CUstream,
    name: String,
    compute_capability: (i32, i32),
    multiprocessors: u32,
    shared_memory_optin: u32,
    total_memory: usize,
}

// SAFETY: driver API handles may be used from any thread once the context is current there
// (`bind`, called at the start of every operation); the backend serialises use of the stream.
unsafe impl Send for Device {}
// SAFETY: as above.
unsafe impl Sync for Device {}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (sm_{}{}, {} SMs)", self.name, self.compute_capability.0, self.compute_capability.1, self.multiprocessors)
    }
}

impl Device {
    /// Opens device 0, or says precisely why it cannot.
    pub fn open() -> Result<Self> {
        // SAFETY: only tries to dlopen the library names; no driver call is made.
        if !unsafe { sys::is_culib_present() } {
            return Err(unavailable("no CUDA driver: libcuda.so could not be loaded (is the NVIDIA driver installed?)".into()));
        }
        // SAFETY: culib() succeeds now that the library loads; `get` only looks a symbol up.
        let lib = unsafe { sys::culib() };
        for symbol in REQUIRED_SYMBOLS {
            // SAFETY: looking a symbol up has no side effect; the pointer is not called.
            if unsafe { lib.get::<*const ()>(symbol.as_bytes()) }.is_err() {
                return Err(unavailable(format!("the CUDA driver has no entry point {symbol} (driver too old)")));
            }
        }
        result::init().map_err(|e| unavailable(format!("cuInit failed: {} (no usable GPU or driver)", describe(e))))?;
        let count = result::device::get_count().map_err(|e| unavailable(format!("cuDeviceGetCount: {}", describe(e))))?;
        if count < 1 {
            return Err(unavailable("the CUDA driver reports no device".into()));
        }
        let device = result::device::get(0).map_err(|e| unavailable(format!("cuDeviceGet(0): {}", describe(e))))?;
        let attr = |a: CUdevice_attribute| -> Result<i32> {
            // SAFETY: `device` came from cuDeviceGet.
            unsafe { result::device::get_attribute(device, a) }.map_err(|e| unavailable(format!("cuDeviceGetAttribute: {}", describe(e))))
        };
        let compute_capability = (
            attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?,
            attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?,
        );
        if compute_capability.0 < 7 {
            return Err(unavailable(format!(
                "device 0 has compute capability {}.{}; the kernels need 7.0 (Volta) or newer",
                compute_capability.0, compute_capability.1
            )));
        }
        let multiprocessors = attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)? as u32;
        let shared_memory_optin = attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)? as u32;
        let name = result::device::get_name(device).unwrap_or_else(|_| "unnamed CUDA device".into());
        // SAFETY: `device` came from cuDeviceGet.
        let total_memory = unsafe { result::device::total_mem(device) }.map_err(|e| unavailable(format!("cuDeviceTotalMem: {}", describe(e))))?;
        // SAFETY: `device` came from cuDeviceGet; released in Drop.
        let context = unsafe { result::primary_ctx::retain(device) }
            .map_err(|e| unavailable(format!("cannot create a context on {name}: {}", describe(e))))?;
        let mut opened = Self { device, context, stream: std::ptr::null_mut(), name, compute_capability, multiprocessors, shared_memory_optin, total_memory };
        opened.bind().map_err(|e| unavailable(e.to_string()))?;
        opened.stream = result::stream::create(result::stream::StreamKind::NonBlocking)
            .map_err(|e| unavailable(format!("cannot create a stream: {}", describe(e))))?;
        Ok(opened)
    }

    /// Makes the context current on the calling thread (driver calls act on the current one).
    pub fn bind(&self) -> Result<()> {
        // SAFETY: the context is retained for the lifetime of `self`.
        unsafe { result::ctx::set_current(self.context) }.map_err(|e| driver_error("cuCtxSetCurrent", e))
    }

    /// The stream every operation of the backend is queued on.
    pub fn stream(&self) -> sys::CUstream {
        self.stream
    }

    /// Waits for everything queued on the stream; a kernel fault surfaces here.
    pub fn synchronize(&self) -> Result<()> {
        // SAFETY: the stream lives as long as `self`.
        unsafe { result::stream::synchronize(self.stream) }.map_err(|e| driver_error("cuStreamSynchronize (a kernel or copy failed)", e))
    }

    /// The device's name, e.g. "NVIDIA H100 80GB HBM3".
    pub fn name(&self) -> &str {
        &self.name
    }

    /// (major, minor) compute capability.
    pub fn compute_capability(&self) -> (i32, i32) {
        self.compute_capability
    }

    /// Streaming multiprocessors.
    pub fn multiprocessors(&self) -> u32 {
        self.multiprocessors
    }

    /// Most dynamic shared memory one block may opt into, in bytes.
    pub fn shared_memory_optin(&self) -> u32 {
        self.shared_memory_optin
    }

    /// Device memory, in bytes.
    pub fn total_memory(&self) -> usize {
        self.total_memory
    }

    /// Free device memory now, in bytes.
    pub fn free_memory(&self) -> Result<usize> {
        self.bind()?;
        result::mem_get_info().map(|(free, _)| free).map_err(|e| driver_error("cuMemGetInfo", e))
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        // Errors cannot be reported from drop; the process keeps running either way.
        if self.bind().is_ok() && !self.stream.is_null() {
            // SAFETY: the stream was created on this context and is not used after this.
            let _ = unsafe { result::stream::destroy(self.stream) };
        }
        // SAFETY: balances the retain in `open`.
        let _ = unsafe { result::primary_ctx::release(self.device) };
    }
}
