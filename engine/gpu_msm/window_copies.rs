//! The bases of an MSM with k window copies ([`super::MsmOptions::window_copies`]): for
//! windows of c bits, copy j of the bases is 2^(j·c)·Pᵢ, so that the digit of window w of
//! scalar i adds copy w mod k of Pᵢ into the buckets of window w / k, and windows k apart share
//! buckets (all of them with one copy a window).
//!
//! Each copy is the one before it doubled c times. The doublings are Jacobian (arkworks'),
//! and each chunk of points is brought back to affine with one inversion
//! (`normalize_batch`): the kernels add affine bases. On the host's cores this is c·(k − 1)
//! doublings a point, about 255 with one copy a window: the reference, and what the host
//! simulation runs. The CUDA backend builds the same copies on the device
//! (`kernels/msm/window_copy.cuh`), in the tiles and chunks set here, and the tests hold the
//! two byte for byte equal.

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AdditiveGroup, CurveGroup};
use rayon::prelude::*;

/// Points a task doubles and normalises together: one inversion for this many points.
const CHUNK: usize = 1 << 10;

/// Points a thread of the device's window copy kernel (`kernels/msm/window_copy.cuh`) brings
/// back to affine with one inversion: the inversion's ~570 products shared by 32 points is
/// ~10% of their doublings at c = 20, and a tile is then 32,768 threads, about one wave of an
/// H100.
pub const DEVICE_COPY_CHUNK: u32 = 32;

/// Most points one launch of the window copy kernel covers: its scratch (an XYZZ point and a
/// field element a point) is then 240 MiB for G1, 480 MiB for G2, whatever the key's size.
pub const DEVICE_COPY_TILE: u32 = 1 << 20;

/// The launches of the window copy kernel over `n` points in tiles of `tile`: (first, count).
pub fn copy_tiles(n: u32, tile: u32) -> impl Iterator<Item = (u32, u32)> {
    let tile = tile.max(1);
    (0..n.div_ceil(tile)).map(move |t| (t * tile, tile.min(n - t * tile)))
}

/// The next window's copy: every point of `copy` times 2^`window_bits`. The identity stays
/// the identity.
fn next_window_copy<C: SWCurveConfig>(copy: &[Affine<C>], window_bits: u32) -> Vec<Affine<C>> {
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
