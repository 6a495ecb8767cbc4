//! The CUDA device: loading the driver, the primary context of device 0, a stream, and the
//! properties the kernels are sized by.
//!
//! The driver (`libcuda.so`) is opened with `dlopen` at run time (cudarc's dynamic loading),
//! so a binary built on a machine without a GPU starts anywhere. Every way opening can fail
//! (no driver library, a driver missing an entry point we call, `cuInit` failing, no device)
//! becomes [`EngineError::BackendUnavailable`] naming the reason; nothing panics.

use std::sync::Mutex;
use std::time::Duration;

use cudarc::driver::result::{self, DriverError};
use cudarc::driver::sys::{self, CUdevice_attribute, CUevent_flags};

use crate::engine::error::{EngineError, Result};
use crate::engine::transfer_times::TransferTimes;

/// Every driver entry point this backend calls (through cudarc's `result` layer). They are
/// checked when the device is opened because cudarc panics on a missing symbol at the first
/// call; all exist in every driver since CUDA 11.8, CUDA 13's included.
const REQUIRED_SYMBOLS: &[&str] = &[
    "cuInit",
    "cuGetErrorString",
    "cuGetErrorName",
    "cuDeviceGetCount",
    "cuDeviceGet",
    "cuDeviceGetName",
    "cuDeviceGetAttribute",
    "cuDeviceTotalMem_v2",
    "cuDevicePrimaryCtxRetain",
    "cuDevicePrimaryCtxRelease_v2",
    "cuCtxSetCurrent",
    "cuStreamCreate",
    "cuStreamDestroy_v2",
    "cuStreamSynchronize",
    "cuModuleLoadData",
    "cuModuleGetFunction",
    "cuModuleUnload",
    "cuFuncSetAttribute",
    "cuFuncGetAttribute",
    "cuMemAlloc_v2",
    "cuMemFree_v2",
    "cuMemcpyHtoDAsync_v2",
    "cuMemcpyDtoHAsync_v2",
    "cuMemcpyDtoDAsync_v2",
    "cuMemsetD8Async",
    "cuMemGetInfo_v2",
    "cuLaunchKernel",
    "cuEventCreate",
    "cuEventRecord",
    "cuEventSynchronize",
    "cuEventDestroy_v2",
];

/// `cuEventElapsedTime` and its CUDA 12.8+ successor `cuEventElapsedTime_v2` (same
/// signature); the timer calls whichever the driver exports, newest first, so it does not
/// depend on a driver keeping the old name.
pub(crate) type EventElapsed =
    unsafe extern "C" fn(*mut f32, sys::CUevent, sys::CUevent) -> sys::CUresult;

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
    EngineError::Cuda {
        operation: operation.to_string(),
        reason: describe(e),
    }
}

/// `CUDA_ERROR_X (text)`, as far as the driver can say.
fn describe(e: DriverError) -> String {
    let name = e
        .error_name()
        .ok()
        .and_then(|s| s.to_str().ok().map(str::to_owned));
    let text = e
        .error_string()
        .ok()
        .and_then(|s| s.to_str().ok().map(str::to_owned));
    match (name, text) {
        (Some(n), Some(t)) => format!("{n} ({t})"),
        (Some(n), None) => n,
        _ => format!("{:?}", e.0),
    }
}

fn unavailable(reason: String) -> EngineError {
    EngineError::BackendUnavailable {
        name: "cuda".into(),
        reason,
    }
}

/// Which way a host↔device copy goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyDirection {
    /// Host memory into device memory.
    ToDevice,
    /// Device memory into host memory.
    FromDevice,
}

/// A queued copy between its two events, waiting for the stream to pass its stop event.
struct QueuedCopy {
    direction: CopyDirection,
    bytes: u64,
    start: sys::CUevent,
    stop: sys::CUevent,
}

/// Every host↔device copy is bracketed by an event pair, so the backend can say how much
/// device time a proof spent on the bus ([`crate::engine::Backend::transfer_totals`]). The
/// elapsed times are read, and the events freed, at the next [`Device::synchronize`], when
/// the copies are known to be done; reading them then costs no extra wait.
#[derive(Default)]
struct CopyLog {
    queued: Vec<QueuedCopy>,
    totals: TransferTimes,
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
    copies: Mutex<CopyLog>,
}

// SAFETY: driver API handles may be used from any thread once the context is current there
// (`bind`, called at the start of every operation); the backend serialises use of each stream
// (one caller per lane).
unsafe impl Send for Device {}
// SAFETY: as above.
unsafe impl Sync for Device {}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (sm_{}{}, {} SMs)",
            self.name, self.compute_capability.0, self.compute_capability.1, self.multiprocessors
        )
    }
}

impl Device {
    /// Opens device 0, or says precisely why it cannot.
    pub fn open() -> Result<Self> {
        // SAFETY: only tries to dlopen the library names; no driver call is made.
        if !unsafe { sys::is_culib_present() } {
            return Err(unavailable(
                "no CUDA driver: libcuda.so could not be loaded (is the NVIDIA driver installed?)"
                    .into(),
            ));
        }
        // SAFETY: culib() succeeds now that the library loads; `get` only looks a symbol up.
        let lib = unsafe { sys::culib() };
        for symbol in REQUIRED_SYMBOLS {
            // SAFETY: looking a symbol up has no side effect; the pointer is not called.
            if unsafe { lib.get::<*const ()>(symbol.as_bytes()) }.is_err() {
                return Err(unavailable(format!(
                    "the CUDA driver has no entry point {symbol} (driver too old)"
                )));
            }
        }
        // Every copy is timed (see `CopyLog`), under whichever name the driver has.
        if event_elapsed().is_none() {
            return Err(unavailable(
                "the CUDA driver has neither cuEventElapsedTime_v2 nor cuEventElapsedTime".into(),
            ));
        }
        result::init().map_err(|e| {
            unavailable(format!(
                "cuInit failed: {} (no usable GPU or driver)",
                describe(e)
            ))
        })?;
        let count = result::device::get_count()
            .map_err(|e| unavailable(format!("cuDeviceGetCount: {}", describe(e))))?;
        if count < 1 {
            return Err(unavailable("the CUDA driver reports no device".into()));
        }
        let device = result::device::get(0)
            .map_err(|e| unavailable(format!("cuDeviceGet(0): {}", describe(e))))?;
        let attr = |a: CUdevice_attribute| -> Result<i32> {
            // SAFETY: `device` came from cuDeviceGet.
            unsafe { result::device::get_attribute(device, a) }
                .map_err(|e| unavailable(format!("cuDeviceGetAttribute: {}", describe(e))))
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
        let multiprocessors =
            attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)? as u32;
        let shared_memory_optin =
            attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)? as u32;
        let name =
            result::device::get_name(device).unwrap_or_else(|_| "unnamed CUDA device".into());
        if name.starts_with(super::EMULATED_DEVICE_PREFIX) {
            tracing::warn!("the CUDA driver is the CPU emulation for tests ({name}); no GPU here");
        }
        // SAFETY: `device` came from cuDeviceGet.
        let total_memory = unsafe { result::device::total_mem(device) }
            .map_err(|e| unavailable(format!("cuDeviceTotalMem: {}", describe(e))))?;
        // SAFETY: `device` came from cuDeviceGet; released in Drop.
        let context = unsafe { result::primary_ctx::retain(device) }.map_err(|e| {
            unavailable(format!(
                "cannot create a context on {name}: {}",
                describe(e)
            ))
        })?;
        let mut opened = Self {
            device,
            context,
            stream: std::ptr::null_mut(),
            name,
            compute_capability,
            multiprocessors,
            shared_memory_optin,
            total_memory,
            copies: Mutex::default(),
        };
        opened.bind().map_err(|e| unavailable(e.to_string()))?;
        opened.stream = result::stream::create(result::stream::StreamKind::NonBlocking)
            .map_err(|e| unavailable(format!("cannot create a stream: {}", describe(e))))?;
        Ok(opened)
    }

    /// Another handle on the same device and context with a stream of its own (a lane of the
    /// backend, see [`super::lane`]). Its copies are logged separately.
    pub fn another_stream(&self) -> Result<Self> {
        // SAFETY: `self.device` came from cuDeviceGet; this retain is released in Drop.
        let context = unsafe { result::primary_ctx::retain(self.device) }
            .map_err(|e| driver_error("cuDevicePrimaryCtxRetain", e))?;
        let mut opened = Self {
            device: self.device,
            context,
            stream: std::ptr::null_mut(),
            name: self.name.clone(),
            compute_capability: self.compute_capability,
            multiprocessors: self.multiprocessors,
            shared_memory_optin: self.shared_memory_optin,
            total_memory: self.total_memory,
            copies: Mutex::default(),
        };
        opened.bind()?;
        opened.stream = result::stream::create(result::stream::StreamKind::NonBlocking)
            .map_err(|e| driver_error("cuStreamCreate", e))?;
        Ok(opened)
    }

    /// Makes the context current on the calling thread (driver calls act on the current one).
    pub fn bind(&self) -> Result<()> {
        // SAFETY: the context is retained for the lifetime of `self`.
        unsafe { result::ctx::set_current(self.context) }
            .map_err(|e| driver_error("cuCtxSetCurrent", e))
    }

    /// The stream this handle's operations are queued on.
    pub fn stream(&self) -> sys::CUstream {
        self.stream
    }

    /// Waits for everything queued on the stream; a kernel fault surfaces here. Then adds the
    /// copies queued since the last call to the running totals.
    pub fn synchronize(&self) -> Result<()> {
        // SAFETY: the stream lives as long as `self`.
        unsafe { result::stream::synchronize(self.stream) }
            .map_err(|e| driver_error("cuStreamSynchronize (a kernel or copy failed)", e))?;
        self.settle_copies()
    }

    /// Queues `copy` (a `cuMemcpy*Async` of `bytes` on [`Device::stream`]) between two events.
    pub fn queue_copy(
        &self,
        direction: CopyDirection,
        bytes: usize,
        copy: impl FnOnce() -> std::result::Result<(), DriverError>,
    ) -> Result<()> {
        let operation = match direction {
            CopyDirection::ToDevice => "cuMemcpyHtoDAsync",
            CopyDirection::FromDevice => "cuMemcpyDtoHAsync",
        };
        self.bind()?;
        let start = create_event()?;
        let stop = match create_event() {
            Ok(e) => e,
            Err(e) => {
                destroy_events(&[start]);
                return Err(e);
            }
        };
        // SAFETY: both events belong to the current context; the stream is ours.
        let queued = unsafe { result::event::record(start, self.stream) }
            .map_err(|e| driver_error("cuEventRecord", e))
            .and_then(|()| copy().map_err(|e| driver_error(operation, e)))
            // SAFETY: as above.
            .and_then(|()| {
                unsafe { result::event::record(stop, self.stream) }
                    .map_err(|e| driver_error("cuEventRecord", e))
            });
        if let Err(e) = queued {
            destroy_events(&[start, stop]);
            return Err(e);
        }
        self.copy_log().queued.push(QueuedCopy {
            direction,
            bytes: bytes as u64,
            start,
            stop,
        });
        Ok(())
    }

    /// Reads the events of the copies queued so far (which the stream has passed) into the
    /// totals, and frees them.
    fn settle_copies(&self) -> Result<()> {
        let mut log = self.copy_log();
        if log.queued.is_empty() {
            return Ok(());
        }
        let queued = std::mem::take(&mut log.queued);
        // `open` checked that the driver has one of the two names.
        let elapsed = event_elapsed().ok_or_else(|| EngineError::Cuda {
            operation: "timing copies".into(),
            reason: "the driver exports neither cuEventElapsedTime_v2 nor cuEventElapsedTime"
                .into(),
        })?;
        let mut failure = None;
        for copy in queued {
            let mut ms = 0f32;
            // SAFETY: both events were recorded on our stream; `elapsed` writes only `ms`.
            match unsafe { elapsed(&mut ms, copy.start, copy.stop) }.result() {
                Ok(()) => {
                    let time = Duration::from_secs_f64(f64::from(ms.max(0.0)) / 1e3);
                    log.totals
                        .add(copy.direction == CopyDirection::ToDevice, copy.bytes, time);
                    destroy_events(&[copy.start, copy.stop]);
                }
                // Queued by another caller after our wait (callers hold the stream's lane, so
                // this should not happen): counted at the next synchronisation.
                Err(DriverError(sys::CUresult::CUDA_ERROR_NOT_READY)) => log.queued.push(copy),
                Err(e) => {
                    destroy_events(&[copy.start, copy.stop]);
                    failure.get_or_insert_with(|| driver_error("cuEventElapsedTime", e));
                }
            }
        }
        failure.map_or(Ok(()), Err)
    }

    /// The copies settled so far (each is read at the synchronisation after it was queued).
    pub fn transfer_totals(&self) -> TransferTimes {
        self.copy_log().totals
    }

    /// The log; a panic elsewhere while it was held leaves counters and handles that are
    /// still valid, so the lock is taken over rather than failing every later copy.
    fn copy_log(&self) -> std::sync::MutexGuard<'_, CopyLog> {
        self.copies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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
        result::mem_get_info()
            .map(|(free, _)| free)
            .map_err(|e| driver_error("cuMemGetInfo", e))
    }
}

fn create_event() -> Result<sys::CUevent> {
    result::event::create(CUevent_flags::CU_EVENT_DEFAULT)
        .map_err(|e| driver_error("cuEventCreate", e))
}

/// Frees events of the current context; a failure only leaks them, so it is ignored.
fn destroy_events(events: &[sys::CUevent]) {
    for &e in events {
        // SAFETY: each event was created by `create_event` and is destroyed once.
        let _ = unsafe { result::event::destroy(e) };
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        // Errors cannot be reported from drop; the process keeps running either way.
        if self.bind().is_ok() && !self.stream.is_null() {
            // SAFETY: the stream was created on this context and is not used after this.
            let _ = unsafe { result::stream::synchronize(self.stream) };
            let log = self
                .copies
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for copy in log.queued.drain(..) {
                destroy_events(&[copy.start, copy.stop]);
            }
            // SAFETY: as above.
            let _ = unsafe { result::stream::destroy(self.stream) };
        }
        // SAFETY: balances the retain in `open`.
        let _ = unsafe { result::primary_ctx::release(self.device) };
    }
}
