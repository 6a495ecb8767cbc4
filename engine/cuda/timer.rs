//! Device-side timing for benchmarks: CUDA events around queued work, so the numbers are what
//! the GPU spent, not what the host waited; and the device's measured copy bandwidth, the
//! denominator of every bandwidth floor.

use cudarc::driver::result;
use cudarc::driver::sys::{self, CUevent_flags};

use crate::engine::error::{EngineError, Result};

use super::buffer::DeviceBuffer;
use super::device::{driver_error, event_elapsed, Device};

/// A pair of events bracketing work on the device's stream.
pub struct EventTimer<'a> {
    device: &'a Device,
    start: sys::CUevent,
    stop: sys::CUevent,
}

impl<'a> EventTimer<'a> {
    /// Creates the two events.
    pub fn new(device: &'a Device) -> Result<Self> {
        device.bind()?;
        let start = result::event::create(CUevent_flags::CU_EVENT_DEFAULT)
            .map_err(|e| driver_error("cuEventCreate", e))?;
        let stop = match result::event::create(CUevent_flags::CU_EVENT_DEFAULT) {
            Ok(e) => e,
            Err(e) => {
                // SAFETY: created just above, destroyed once.
                let _ = unsafe { result::event::destroy(start) };
                return Err(driver_error("cuEventCreate", e));
            }
        };
        Ok(Self {
            device,
            start,
            stop,
        })
    }

    /// Milliseconds the device spends on what `work` queues.
    pub fn time(&self, work: impl FnOnce() -> Result<()>) -> Result<f32> {
        self.device.bind()?;
        let stream = self.device.stream();
        // SAFETY: both events belong to this context; the stream is the device's.
        unsafe { result::event::record(self.start, stream) }
            .map_err(|e| driver_error("cuEventRecord", e))?;
        work()?;
        let elapsed = event_elapsed().ok_or_else(|| EngineError::Cuda {
            operation: "timing".into(),
            reason: "the driver exports neither cuEventElapsedTime_v2 nor cuEventElapsedTime"
                .into(),
        })?;
        let mut ms = 0f32;
        // SAFETY: as above; `elapsed` has the driver's signature and writes only `ms`.
        unsafe {
            result::event::record(self.stop, stream)
                .map_err(|e| driver_error("cuEventRecord", e))?;
            result::event::synchronize(self.stop)
                .map_err(|e| driver_error("cuEventSynchronize (the timed work failed)", e))?;
            elapsed(&mut ms, self.start, self.stop)
                .result()
                .map_err(|e| driver_error("cuEventElapsedTime", e))?;
        }
        Ok(ms)
    }
}

impl Drop for EventTimer<'_> {
    fn drop(&mut self) {
        if self.device.bind().is_ok() {
            // SAFETY: created in `new`, destroyed once.
            unsafe {
                let _ = result::event::destroy(self.start);
                let _ = result::event::destroy(self.stop);
            }
        }
    }
}

/// Device-to-device copy bandwidth in bytes per second (bytes read plus bytes written), the
/// median of `runs` copies of `elements` Fr elements (32 bytes each).
pub fn copy_bandwidth(
    device: &std::sync::Arc<Device>,
    elements: usize,
    runs: usize,
) -> Result<f64> {
    let src: DeviceBuffer = DeviceBuffer::new(device, elements)?;
    let dst: DeviceBuffer = DeviceBuffer::new(device, elements)?;
    let timer = EventTimer::new(device)?;
    dst.copy_from(&src)?; // warm-up: first touch of the pages
    let mut times: Vec<f32> = (0..runs.max(1))
        .map(|_| timer.time(|| dst.copy_from(&src)))
        .collect::<Result<_>>()?;
    times.sort_by(f32::total_cmp);
    let median_s = f64::from(times[times.len() / 2]) / 1e3;
    Ok(2.0 * (elements * 32) as f64 / median_s)
}
