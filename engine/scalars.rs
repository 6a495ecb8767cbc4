//! Scalars of an MSM, converted once out of Montgomery form and shared by every MSM that uses
//! them: Groth16's A, B-in-G1 and B-in-G2 queries all take the same assignment, so the
//! conversion and the CPU backend's bucket schedule are computed once per proof, not three times.

use std::sync::{Arc, OnceLock};

use ark_bls12_381::Fr;
use ark_ff::{BigInt, PrimeField};
use rayon::prelude::*;

use super::cpu::msm::ScalarPlan;

/// Canonical (non-Montgomery) little-endian limbs of a scalar.
pub type ScalarLimbs = BigInt<4>;

/// A vector of MSM scalars in canonical form, with backend-specific schedules cached on first use.
#[derive(Debug)]
pub struct MsmScalars {
    limbs: Vec<ScalarLimbs>,
    plan: OnceLock<Arc<ScalarPlan>>,
}

impl MsmScalars {
    /// Converts field elements (Montgomery form) to canonical integers, in parallel.
    pub fn new(scalars: &[Fr]) -> Self {
        Self::from_limbs(scalars.par_iter().map(|s| s.into_bigint()).collect())
    }

    /// Wraps integers that are already canonical (each below the Fr modulus).
    pub fn from_limbs(limbs: Vec<ScalarLimbs>) -> Self {
        Self { limbs, plan: OnceLock::new() }
    }

    /// Number of scalars.
    pub fn len(&self) -> usize {
        self.limbs.len()
    }

    /// True when there are no scalars.
    pub fn is_empty(&self) -> bool {
        self.limbs.is_empty()
    }

    /// The canonical integers.
    pub fn limbs(&self) -> &[ScalarLimbs] {
        &self.limbs
    }

    /// The CPU bucket schedule for these scalars, built on first use.
    pub(crate) fn cpu_plan(&self) -> Arc<ScalarPlan> {
        self.plan.get_or_init(|| Arc::new(ScalarPlan::new(&self.limbs))).clone()
    }
}
