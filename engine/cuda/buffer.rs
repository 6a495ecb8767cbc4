//! Device arrays (Fr elements for the NTT; scalars, counters, points for the MSM; any plain
//! layout of `spice_layout.h`), and moving them to and from host memory.
//!
//! Elements keep arkworks' bytes (Montgomery form, four little-endian limbs), so a copy is a
//! plain `memcpy` with no conversion. Copies are queued on the backend's stream; the host
//! slices they read or write must stay in place until the stream is synchronised, which every
//! public operation of the backend does before returning.

use std::marker::PhantomData;
use std::sync::Arc;

use ark_bls12_381::Fr;
use bytemuck::Pod;
use cudarc::driver::result;
use cudarc::driver::sys::CUdeviceptr;

use crate::engine::error::{EngineError, Result};
use crate::engine::kernel_host::FrLimbs;

use super::device::{driver_error, CopyDirection, Device};

/// An array of `len` values of `T` (by default Fr elements) in device memory, freed on drop.
pub struct DeviceBuffer<T: Pod = FrLimbs> {
    device: Arc<Device>,
    ptr: CUdeviceptr,
    len: usize,
    _values: PhantomData<T>,
}

impl<T: Pod> std::fmt::Debug for DeviceBuffer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeviceBuffer({} elements at {:#x})", self.len, self.ptr)
    }
}

impl<T: Pod> DeviceBuffer<T> {
    /// Allocates `len` elements (uninitialised).
    pub fn new(device: &Arc<Device>, len: usize) -> Result<Self> {
        device.bind()?;
        let bytes = len
            .checked_mul(std::mem::size_of::<T>())
            .ok_or_else(|| EngineError::Cuda {
                operation: "cuMemAlloc".into(),
                reason: format!("{len} elements overflow the address space"),
            })?;
        // SAFETY: a plain allocation on the current context; freed in Drop.
        let ptr = unsafe { result::malloc_sync(bytes.max(1)) }
            .map_err(|e| driver_error(&format!("cuMemAlloc of {bytes} bytes"), e))?;
        Ok(Self {
            device: device.clone(),
            ptr,
            len,
            _values: PhantomData,
        })
    }

    /// Allocates and queues the upload of `data`.
    pub fn from_host(device: &Arc<Device>, data: &[T]) -> Result<Self> {
        let buffer = Self::new(device, data.len())?;
        buffer.upload(data)?;
        Ok(buffer)
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for an empty array.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Device address of element 0.
    pub fn ptr(&self) -> CUdeviceptr {
        self.ptr
    }

    /// Device address as a kernel parameter pointer.
    pub fn as_param(&self) -> *mut T {
        self.ptr as usize as *mut T
    }

    fn check_len(&self, other: usize, what: &str) -> Result<()> {
        if other != self.len {
            return Err(EngineError::Cuda {
                operation: what.into(),
                reason: format!(
                    "host slice has {other} elements, device buffer {}",
                    self.len
                ),
            });
        }
        Ok(())
    }

    /// Queues the copy of `data` into the buffer (same length).
    pub fn upload(&self, data: &[T]) -> Result<()> {
        self.check_len(data.len(), "upload")?;
        self.queue_upload(data)
    }

    /// Queues the copy of the buffer into `out` (same length).
    pub fn download(&self, out: &mut [T]) -> Result<()> {
        self.check_len(out.len(), "download")?;
        self.queue_download(out)
    }

    /// Queues the copy of `data` into the first `data.len()` elements (at most the buffer's
    /// length): buffers sized for the largest MSM serve smaller ones.
    pub fn upload_prefix(&self, data: &[T]) -> Result<()> {
        self.check_fits(data.len(), "upload")?;
        if data.is_empty() {
            return Ok(());
        }
        self.queue_upload(data)
    }

    /// Queues the copy of the first `out.len()` elements (at most the buffer's length) into `out`.
    pub fn download_prefix(&self, out: &mut [T]) -> Result<()> {
        self.check_fits(out.len(), "download")?;
        if out.is_empty() {
            return Ok(());
        }
        self.queue_download(out)
    }

    /// The upload of `data` (checked to fit) between the device's copy events.
    fn queue_upload(&self, data: &[T]) -> Result<()> {
        let stream = self.device.stream();
        self.device
            .queue_copy(CopyDirection::ToDevice, std::mem::size_of_val(data), || {
                // SAFETY: `data` fits the allocation; callers synchronise before it may move or drop.
                unsafe { result::memcpy_htod_async(self.ptr, data, stream) }
            })
    }

    /// The download into `out` (checked to fit) between the device's copy events.
    fn queue_download(&self, out: &mut [T]) -> Result<()> {
        let stream = self.device.stream();
        self.device.queue_copy(
            CopyDirection::FromDevice,
            std::mem::size_of_val(out),
            || {
                // SAFETY: `out` fits the allocation; callers synchronise before reading or moving it.
                unsafe { result::memcpy_dtoh_async(out, self.ptr, stream) }
            },
        )
    }

    /// Queues zeroing the first `len` elements (all bytes 0).
    pub fn zero_prefix(&self, len: usize) -> Result<()> {
        self.check_fits(len, "memset")?;
        self.device.bind()?;
        // SAFETY: the first `len` elements lie inside the allocation; T is Pod, so zero bytes
        // are a valid value.
        unsafe {
            result::memset_d8_async(
                self.ptr,
                0,
                len * std::mem::size_of::<T>(),
                self.device.stream(),
            )
        }
        .map_err(|e| driver_error("cuMemsetD8Async", e))
    }

    fn check_fits(&self, other: usize, what: &str) -> Result<()> {
        if other > self.len {
            return Err(EngineError::Cuda {
                operation: what.into(),
                reason: format!(
                    "{other} elements do not fit a device buffer of {}",
                    self.len
                ),
            });
        }
        Ok(())
    }

    /// Queues a device-to-device copy of the first `len` elements of `src` into the first `len`
    /// of the buffer (both at least that long).
    pub fn copy_prefix_from(&self, src: &DeviceBuffer<T>, len: usize) -> Result<()> {
        self.check_fits(len, "device copy")?;
        src.check_fits(len, "device copy")?;
        if len == 0 {
            return Ok(());
        }
        self.device.bind()?;
        // SAFETY: both allocations hold at least `len` elements on this context.
        unsafe {
            result::memcpy_dtod_async(
                self.ptr,
                src.ptr,
                len * std::mem::size_of::<T>(),
                self.device.stream(),
            )
        }
        .map_err(|e| driver_error("cuMemcpyDtoDAsync", e))
    }

    /// Queues a device-to-device copy of all of `src` into the buffer (same length).
    pub fn copy_from(&self, src: &DeviceBuffer<T>) -> Result<()> {
        self.check_len(src.len, "device copy")?;
        self.device.bind()?;
        let bytes = self.len * std::mem::size_of::<T>();
        // SAFETY: both allocations hold `bytes` bytes on this context.
        unsafe { result::memcpy_dtod_async(self.ptr, src.ptr, bytes, self.device.stream()) }
            .map_err(|e| driver_error("cuMemcpyDtoDAsync", e))
    }
}

impl<T: Pod> Drop for DeviceBuffer<T> {
    fn drop(&mut self) {
        // A failed free leaks device memory but cannot be reported from drop.
        if self.device.bind().is_ok() {
            // SAFETY: allocated by cuMemAlloc on this context and freed once. cuMemFree waits
            // for queued work that may still use the buffer.
            let _ = unsafe { result::free_sync(self.ptr) };
        }
    }
}

/// Whether `Fr` is laid out as its four limbs and nothing else, which makes a slice of `Fr` a
/// slice of [`FrLimbs`]. Rust does not promise the layout of arkworks' `Fp(BigInt, PhantomData)`,
/// so it is checked on a live value: the same size and alignment, and the limbs at offset 0.
fn fr_is_plain_limbs() -> bool {
    let x = Fr::from(1u64);
    let base = &x as *const Fr as usize;
    let limbs = &x.0 .0 as *const [u64; 4] as usize;
    std::mem::size_of::<Fr>() == std::mem::size_of::<FrLimbs>()
        && std::mem::align_of::<Fr>() == std::mem::align_of::<FrLimbs>()
        && base == limbs
}

/// `data` viewed as limbs, without copying.
pub fn fr_as_limbs(data: &[Fr]) -> Result<&[FrLimbs]> {
    if !fr_is_plain_limbs() {
        return Err(layout_error());
    }
    // SAFETY: checked just above that Fr is exactly its [u64; 4] limbs, as FrLimbs is.
    Ok(unsafe { std::slice::from_raw_parts(data.as_ptr() as *const FrLimbs, data.len()) })
}

/// `data` viewed as limbs, mutably. Whatever the device writes is a reduced Montgomery
/// element (the kernels only produce those), so the `Fr` values stay valid.
pub fn fr_as_limbs_mut(data: &mut [Fr]) -> Result<&mut [FrLimbs]> {
    if !fr_is_plain_limbs() {
        return Err(layout_error());
    }
    // SAFETY: as in `fr_as_limbs`, and the borrow is exclusive.
    Ok(unsafe { std::slice::from_raw_parts_mut(data.as_mut_ptr() as *mut FrLimbs, data.len()) })
}

fn layout_error() -> EngineError {
    EngineError::Cuda {
        operation: "host layout check".into(),
        reason: "ark_bls12_381::Fr is not laid out as four u64 limbs in this build".into(),
    }
}
