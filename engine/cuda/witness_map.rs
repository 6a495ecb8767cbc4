//! The witness map's first step on the device: a shape's matrices uploaded once in the
//! kernel's layout ([`WitnessMapLayout`]), and the launch that evaluates A·z, B·z, C·z at
//! every point of the domain into the buffers the quotient chain starts from.

use std::ffi::c_void;
use std::sync::Arc;

use crate::engine::error::Result;
use crate::engine::gpu_witness::params::WitnessMapParams;
use crate::engine::gpu_witness::{ShapeDims, WitnessMapLayout, WitnessTerm};
use crate::engine::kernel_host::FrLimbs;

use super::buffer::DeviceBuffer;
use super::device::Device;
use super::module::{Kernel, LaunchShape, Module, WITNESS_MAP_IMAGE};

/// Threads per block of the witness-map kernel (its `__launch_bounds__`).
const THREADS: u32 = 256;

/// The kernel of `kernels/witness_map.cu`, with the module that holds it.
pub struct WitnessMapKernels {
    rows: Kernel,
    _module: Module,
}

impl WitnessMapKernels {
    /// Loads the module.
    pub fn load(device: &Arc<Device>) -> Result<Self> {
        let module = Module::load(device, &WITNESS_MAP_IMAGE)?;
        Ok(Self {
            rows: module.kernel("spice_witness_map_kernel", THREADS)?,
            _module: module,
        })
    }
}

/// A shape's layout resident on the device (the storage of a CUDA
/// [`LoadedShape`](crate::engine::LoadedShape)).
pub struct DeviceShape {
    offsets: DeviceBuffer<u32>,
    terms: DeviceBuffer<WitnessTerm>,
    coeff_table: DeviceBuffer<FrLimbs>,
    /// The sizes each call is checked against.
    pub dims: ShapeDims,
}

impl DeviceShape {
    /// Uploads `layout` and waits for the copies (once per shape).
    pub fn upload(device: &Arc<Device>, layout: &WitnessMapLayout) -> Result<Self> {
        let shape = Self {
            offsets: upload_all(device, &layout.offsets)?,
            terms: upload_all(device, &layout.terms)?,
            coeff_table: upload_all(device, &layout.coeff_table)?,
            dims: layout.dims,
        };
        device.synchronize()?;
        Ok(shape)
    }
}

/// A device copy of `data`; an empty one is allocated and not copied.
fn upload_all<T: bytemuck::Pod>(device: &Arc<Device>, data: &[T]) -> Result<DeviceBuffer<T>> {
    if data.is_empty() {
        DeviceBuffer::new(device, 0)
    } else {
        DeviceBuffer::from_host(device, data)
    }
}

/// The arrays one launch reads and writes besides the shape.
pub struct WitnessMapArrays<'a> {
    /// The assignment (at least the shape's variables).
    pub z: &'a DeviceBuffer,
    /// A·z, B·z, C·z: `domain` elements each.
    pub a: &'a DeviceBuffer,
    /// B·z.
    pub b: &'a DeviceBuffer,
    /// C·z.
    pub c: &'a DeviceBuffer,
    /// One slot, set to the no-failure value before the launch.
    pub first_failure: &'a DeviceBuffer<u32>,
}

/// Queues the kernel over the `domain` points (checked by the caller with
/// [`ShapeDims::check_call`]); nothing waits.
pub fn queue_witness_map(
    device: &Device,
    kernels: &WitnessMapKernels,
    shape: &DeviceShape,
    arrays: WitnessMapArrays<'_>,
    domain: u32,
) -> Result<()> {
    let n = domain as usize;
    let sizes_fit = arrays.z.len() >= shape.dims.variables
        && [arrays.a, arrays.b, arrays.c].iter().all(|v| v.len() == n)
        && !arrays.first_failure.is_empty();
    if !sizes_fit {
        return Err(crate::engine::EngineError::Cuda {
            operation: "witness map".into(),
            reason: format!(
                "device buffers do not fit a domain of {n} points and {} variables",
                shape.dims.variables
            ),
        });
    }
    let mut params = WitnessMapParams {
        offsets: shape.offsets.as_param(),
        terms: shape.terms.as_param(),
        coeff_table: shape.coeff_table.as_param(),
        z: arrays.z.as_param(),
        a: arrays.a.as_param(),
        b: arrays.b.as_param(),
        c: arrays.c.as_param(),
        first_failure: arrays.first_failure.as_param(),
        rows: shape.dims.rows,
        instance: shape.dims.instance,
        domain,
    };
    let launch = LaunchShape {
        blocks: domain.div_ceil(THREADS),
        threads: THREADS,
        shared_bytes: 0,
    };
    let mut args = [&mut params as *mut WitnessMapParams as *mut c_void];
    // SAFETY: the one parameter is a spice_witness_map by value (the mirror is checked against
    // bindgen's reading of the header). Its shape arrays were built together by
    // WitnessMapLayout::new, which checked every variable against `dims.variables`; z holds at
    // least that many elements, a, b and c `domain` each, and the failure slot one (checked
    // above). The caller keeps them alive until it synchronises.
    unsafe { kernels.rows.launch(device, launch, &mut args) }
}
