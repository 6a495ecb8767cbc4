//! The bases of an MSM with k window copies ([`super::MsmOptions::window_copies`]): for
//! windows of c bits, copy j of the bases is 2^(j·c)·Pᵢ, so that the digit of window w of
//! scalar i adds copy w mod k of Pᵢ into the buckets of window w / k, and windows k apart share
//! buckets (all of them with one copy a window).
//!
//! Each copy is the one before it doubled c times. The doublings are Jacobian (arkworks'),
//! and each chunk of points is brought back to affine with one inversion
//! (`normalize_batch`): the kernels add affine bases. Built once per proving key, on the
//! host's cores: c·(k − 1) doublings a point, about 255 with one copy a window.

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AdditiveGroup, CurveGroup};
use rayon::prelude::*;

/// Points a task doubles and normalises together: one inversion for this many points.
const CHUNK: usize = 1 << 10;

/// The next window's copy: every point of `copy` times 2^`window_bits`. The identity stays
/// the identity.
pub fn next_window_copy<C: SWCurveConfig>(copy: &[Affine<C>], window_bits: u32) -> Vec<Affine<C>> {
    copy.par_chunks(CHUNK)
        .flat_map_iter(|chunk| {
            let doubled: Vec<Projective<C>> = chunk
                .iter()
                .map(|p| {
                    let mut q = Projective::<C>::from(*p);
                    for _ in 0..window_bits {
                        q.double_in_place();
                    }
                    q
                })
                .collect();
            Projective::<C>::normalize_batch(&doubled)
        })
        .collect()
}

/// `copies` copies of `bases` one after another: copy j (2^(j·c)·Pᵢ) at `j·n + i`, copy 0
/// being the bases themselves. The layout the kernels index with window copies.
pub fn window_copies<C: SWCurveConfig>(
    bases: &[Affine<C>],
    window_bits: u32,
    copies: u32,
) -> Vec<Affine<C>> {
    let mut all = Vec::with_capacity(bases.len() * copies as usize);
    all.extend_from_slice(bases);
    for w in 1..copies as usize {
        let next = next_window_copy(&all[(w - 1) * bases.len()..], window_bits);
        all.extend(next);
    }
    all
}
