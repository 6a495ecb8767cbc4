//! The last step of a GPU MSM, on the host: each window's sum is its trees' sums added, then
//! Σ_w 2^(c·w)·Wᵥ over the windows plus the ones bucket. Horner's rule is c·(W − 1) doublings
//! in one dependent chain: about 70 µs on a CPU core, and latency-bound on a GPU thread (about
//! ten times slower), so the device downloads the trees' sums instead (a few KiB) and the host
//! finishes.

use ark_ec::short_weierstrass::Projective;
use ark_ec::AdditiveGroup;

use crate::engine::error::{EngineError, Result};

use super::curve::MsmCurve;

/// `tree_sums[w·G + g]` for w < W and g < G = `tree_groups` are tree g of window w's part of
/// that window's Σ (j + 1)·B_j, `tree_sums[W·G]` the ones bucket; returns
/// `Σ_w 2^(c·w)·Σ_g tree_sums[w·G + g] + tree_sums[W·G]`.
pub fn combine_windows<C: MsmCurve>(
    tree_sums: &[C::XyzzLimbs],
    window_bits: u32,
    tree_groups: u32,
) -> Result<Projective<C>> {
    let (ones, trees) = tree_sums
        .split_last()
        .ok_or_else(|| EngineError::KernelOutput("no window sums to combine".into()))?;
    let groups = tree_groups as usize;
    if groups == 0 || trees.len() % groups != 0 {
        return Err(EngineError::KernelOutput(format!(
            "{} tree sums do not make whole windows of {tree_groups} trees",
            trees.len()
        )));
    }
    let point = |p: &C::XyzzLimbs| {
        C::projective_from_xyzz(p).map_err(|_| {
            EngineError::KernelOutput(format!(
                "a {} window sum has unreduced coordinates",
                C::NAME
            ))
        })
    };
    let mut acc = Projective::<C>::ZERO;
    for window in trees.chunks_exact(groups).rev() {
        for _ in 0..window_bits {
            acc.double_in_place();
        }
        for tree in window {
            acc += point(tree)?;
        }
    }
    Ok(acc + point(ones)?)
}
