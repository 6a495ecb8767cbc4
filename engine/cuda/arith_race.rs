//! The host side of the arithmetic race (feature `bench-sppark`): one operation run as a
//! dependent chain by every thread, with our headers or with sppark's, under the same launch
//! shape and timer (`kernels/bench/race.cuh`, `race_ours.cu`, `sppark_race.cu`).
//! `benches/arith.rs` is the user; this module is only the safe call into the glue, which
//! uses the CUDA runtime, not the backend's driver-API context.

use bytemuck::Pod;

/// Whose arithmetic runs the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Our headers (`kernels/field`, `kernels/curve`).
    Ours,
    /// sppark's (`ff/`, `ec/xyzz_t.hpp`). Its XYZZ output lies as X, Y, ZZZ, ZZ.
    Sppark,
}

/// The operations, numbered as race.cuh's `op_t`. Inputs a and b and the output are arrays of
/// one element a thread: field elements in Montgomery form (both sides' layout is arkworks'),
/// and for [`RaceOp::G1Madd`] affine points in, an XYZZ point out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum RaceOp {
    /// x = x·b over Fr.
    FrMul = 0,
    /// x = x² over Fr (b unused).
    FrSqr = 1,
    /// x = x·b over Fq.
    FqMul = 2,
    /// x = x² over Fq.
    FqSqr = 3,
    /// x = x·b over Fq2.
    Fq2Mul = 4,
    /// x = x² over Fq2.
    Fq2Sqr = 5,
    /// x = x + b, x in XYZZ form starting at the affine a, b affine (G1).
    G1Madd = 6,
}

impl RaceOp {
    /// Every operation, in the order the benchmark prints them.
    pub const ALL: [RaceOp; 7] = [
        RaceOp::FrMul,
        RaceOp::FrSqr,
        RaceOp::FqMul,
        RaceOp::FqSqr,
        RaceOp::Fq2Mul,
        RaceOp::Fq2Sqr,
        RaceOp::G1Madd,
    ];
}

/// Why a race run gave no time.
#[derive(Debug, thiserror::Error)]
pub enum RaceError {
    /// The CUDA runtime sees no device.
    #[error("no usable GPU: {0}")]
    NoGpu(String),
    /// The glue refused the arguments (an unknown operation, buffers of the wrong size).
    #[error("refused: {0}")]
    Refused(String),
    /// A CUDA call failed during the run.
    #[error("CUDA error: {0}")]
    Cuda(String),
}

mod ffi {
    use std::ffi::c_void;

    /// Both sides' entry points have this signature.
    pub type RaceFn = unsafe extern "C" fn(
        u32,
        u32,
        u32,
        u32,
        *const c_void,
        usize,
        *const c_void,
        usize,
        *mut c_void,
        usize,
        *mut f32,
        *mut u8,
        usize,
    ) -> i32;

    macro_rules! race_fn {
        ($name:ident) => {
            extern "C" {
                pub fn $name(
                    op: u32,
                    n: u32,
                    rounds: u32,
                    runs: u32,
                    a: *const c_void,
                    a_bytes: usize,
                    b: *const c_void,
                    b_bytes: usize,
                    out: *mut c_void,
                    out_bytes: usize,
                    median_ms: *mut f32,
                    err: *mut u8,
                    err_len: usize,
                ) -> i32;
            }
        };
    }
    race_fn!(spice_race_ours);
    race_fn!(spice_race_sppark);
}

/// One run on raw bytes: `op` as a chain of `rounds` over `n` elements, once untimed (its
/// output into `out`), then `runs` times between CUDA events. Returns the median time in
/// milliseconds. The glue checks the byte counts against `op` and `n` before anything else
/// and leaves `out` untouched when it refuses; `op` is a raw number here so that callers can
/// check that refusal too.
#[allow(clippy::too_many_arguments)]
pub fn race_bytes(
    side: Side,
    op: u32,
    n: u32,
    rounds: u32,
    runs: u32,
    a: &[u8],
    b: &[u8],
    out: &mut [u8],
) -> Result<f32, RaceError> {
    let f: ffi::RaceFn = match side {
        Side::Ours => ffi::spice_race_ours,
        Side::Sppark => ffi::spice_race_sppark,
    };
    let mut ms = 0f32;
    let mut err = [0u8; 512];
    // SAFETY: each pointer is valid for the byte count passed with it, and the glue reads or
    // writes no more than those counts (it refuses counts that do not fit op and n); err has
    // err.len() bytes and comes back NUL-terminated.
    let code = unsafe {
        f(
            op,
            n,
            rounds,
            runs,
            a.as_ptr().cast(),
            a.len(),
            b.as_ptr().cast(),
            b.len(),
            out.as_mut_ptr().cast(),
            out.len(),
            &mut ms,
            err.as_mut_ptr(),
            err.len(),
        )
    };
    let end = err.iter().position(|&c| c == 0).unwrap_or(err.len());
    let message = String::from_utf8_lossy(&err[..end]).into_owned();
    match code {
        0 => Ok(ms),
        1 => Err(RaceError::Refused(message)),
        2 => Err(RaceError::NoGpu(message)),
        _ => Err(RaceError::Cuda(format!("code {code}: {message}"))),
    }
}

/// One run on typed arrays: the output and the median time in milliseconds. `A`, `B` and `O`
/// must have `op`'s element sizes (e.g. [`FrLimbs`](crate::engine::kernel_host::FrLimbs) for
/// the Fr operations; race.cuh's `op_sizes` is the table) and a and b the same length, or the
/// glue refuses.
pub fn race<A: Pod, B: Pod, O: Pod>(
    side: Side,
    op: RaceOp,
    rounds: u32,
    runs: u32,
    a: &[A],
    b: &[B],
) -> Result<(Vec<O>, f32), RaceError> {
    let n = u32::try_from(a.len())
        .map_err(|_| RaceError::Refused(format!("{} elements: at most 2^32 - 1", a.len())))?;
    let mut out = vec![O::zeroed(); a.len()];
    let ms = race_bytes(
        side,
        op as u32,
        n,
        rounds,
        runs,
        bytemuck::cast_slice(a),
        bytemuck::cast_slice(b),
        bytemuck::cast_slice_mut(&mut out),
    )?;
    Ok((out, ms))
}
