//! The last step of a GPU MSM, on the host: Σ_w 2^(c·w)·Wᵥ over the window sums the device
//! hands back, plus the ones bucket. Horner's rule is c·(W − 1) doublings in one dependent
//! chain: about 70 µs on a CPU core, and latency-bound on a GPU thread (about ten times slower),
//! so the device downloads W + 1 points instead (a few KiB) and the host finishes.

use ark_ec::short_weierstrass::Projective;
use ark_ec::AdditiveGroup;

use crate::engine::error::{EngineError, Result};

use super::curve::MsmCurve;

/// `window_sums[w]` for w < W are the windows' Σ (j + 1)·B_j, `window_sums[W]` the ones
/// bucket; returns `Σ_w 2^(c·w)·window_sums[w] + window_sums[W]`.
pub fn combine_windows<C: MsmCurve>(
    window_sums: &[C::XyzzLimbs],
    window_bits: u32,
) -> Result<Projective<C>> {
    let (ones, windows) = window_sums
        .split_last()
        .ok_or_else(|| EngineError::KernelOutput("no window sums to combine".into()))?;
    let point = |p: &C::XyzzLimbs| {
        C::projective_from_xyzz(p).map_err(|_| {
            EngineError::KernelOutput(format!(
                "a {} window sum has unreduced coordinates",
                C::NAME
            ))
        })
    };
    let mut acc = Projective::<C>::ZERO;
    for w in windows.iter().rev() {
        for _ in 0..window_bits {
            acc.double_in_place();
        }
        acc += point(w)?;
    }
    Ok(acc + point(ones)?)
}
