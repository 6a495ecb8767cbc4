//! The tables the NTT kernels read for one domain of `2^log_n` points, computed once on the
//! host with arkworks and then kept (on the device, by the CUDA backend) for every transform of
//! that size. They are small: the split tables hold `2^⌈L/2⌉ + 2^⌊L/2⌋` entries, so even 2^28
//! points need 32 Ki elements (1 MiB) per table pair.

use ark_bls12_381::Fr;
use ark_ff::{FftField, Field, One};

use crate::engine::backend::MAX_NTT_LOG;
use crate::engine::error::{EngineError, Result};
use crate::engine::kernel_host::FrLimbs;

use super::plan::{Roots, Scale};

/// Roots of one direction (`ω` or `ω⁻¹`).
#[derive(Clone, Debug)]
pub struct RootTables {
    /// `w^m` for `m < 2^(root_log − 1)`, `w` of order `2^root_log`: every pass's butterfly roots.
    pub roots: Vec<FrLimbs>,
    /// `w_n^e` for `e < 2^split`.
    pub twiddle_lo: Vec<FrLimbs>,
    /// `w_n^(e·2^split)` for `e < 2^(log_n − split)`.
    pub twiddle_hi: Vec<FrLimbs>,
}

/// Powers `σ^i` split like the twiddles.
#[derive(Clone, Debug)]
pub struct ScaleTables {
    /// `σ^i` for `i < 2^split`.
    pub lo: Vec<FrLimbs>,
    /// `σ^(i·2^split)` for `i < 2^(log_n − split)`.
    pub hi: Vec<FrLimbs>,
}

/// Everything the passes of any transform of one size read.
#[derive(Clone, Debug)]
pub struct DomainTables {
    /// log2 of the size.
    pub log_n: u32,
    /// Order (log2) of the butterfly root tables.
    pub root_log: u32,
    /// Split bit of the twiddle and scale tables.
    pub split: u32,
    /// Tables for `ω`.
    pub forward: RootTables,
    /// Tables for `ω⁻¹`.
    pub inverse: RootTables,
    /// `g^i`, with `g = Fr::GENERATOR` (arkworks' coset offset).
    pub coset: ScaleTables,
    /// `g^(−i)`.
    pub coset_inv: ScaleTables,
    /// `n⁻¹`.
    pub n_inv: Fr,
}

fn powers(base: Fr, count: usize) -> Vec<FrLimbs> {
    let mut out = Vec::with_capacity(count);
    let mut acc = Fr::one();
    for _ in 0..count {
        out.push(FrLimbs::from(acc));
        acc *= base;
    }
    out
}

fn split_powers(base: Fr, log_n: u32, split: u32) -> (Vec<FrLimbs>, Vec<FrLimbs>) {
    (
        powers(base, 1 << split),
        powers(base.pow([1u64 << split]), 1 << (log_n - split)),
    )
}

impl DomainTables {
    /// Tables for `2^log_n` points with butterfly roots of order `2^root_log` (the plan's) and
    /// exponent split at `split`.
    pub fn new(log_n: u32, root_log: u32, split: u32) -> Result<Self> {
        let bad = || EngineError::BadNttSize {
            size: 1usize << log_n.min(62),
            max_log: MAX_NTT_LOG,
        };
        if log_n > MAX_NTT_LOG || root_log > log_n || split > log_n {
            return Err(bad());
        }
        let omega = Fr::get_root_of_unity(1u64 << log_n).ok_or_else(bad)?;
        let omega_inv = omega.inverse().ok_or_else(bad)?;
        let g_inv = Fr::GENERATOR.inverse().ok_or_else(bad)?;
        let n_inv = Fr::from(1u64 << log_n).inverse().ok_or_else(bad)?;
        let root_count = if root_log == 0 {
            1
        } else {
            1usize << (root_log - 1)
        };
        let direction = |w: Fr| {
            // The root of order 2^root_log as a power of w itself, so that every table of the
            // transform is built from the one root arkworks' domain uses.
            let small = w.pow([1u64 << (log_n - root_log)]);
            let (twiddle_lo, twiddle_hi) = split_powers(w, log_n, split);
            RootTables {
                roots: powers(small, root_count),
                twiddle_lo,
                twiddle_hi,
            }
        };
        let scale = |sigma: Fr| {
            let (lo, hi) = split_powers(sigma, log_n, split);
            ScaleTables { lo, hi }
        };
        Ok(Self {
            log_n,
            root_log,
            split,
            forward: direction(omega),
            inverse: direction(omega_inv),
            coset: scale(Fr::GENERATOR),
            coset_inv: scale(g_inv),
            n_inv,
        })
    }

    /// The root tables of a direction.
    pub fn roots(&self, roots: Roots) -> &RootTables {
        match roots {
            Roots::Forward => &self.forward,
            Roots::Inverse => &self.inverse,
        }
    }

    /// The `σ^i` tables of a scale, if it has any.
    pub fn scale_tables(&self, scale: Scale) -> Option<&ScaleTables> {
        match scale {
            Scale::None | Scale::InvN => None,
            Scale::Coset | Scale::InvNCoset => Some(&self.coset),
            Scale::InvNCosetInv => Some(&self.coset_inv),
        }
    }

    /// The constant factor of a scale (one where it has none).
    pub fn lambda(&self, scale: Scale) -> Fr {
        match scale {
            Scale::None | Scale::Coset => Fr::one(),
            Scale::InvN | Scale::InvNCoset | Scale::InvNCosetInv => self.n_inv,
        }
    }
}
