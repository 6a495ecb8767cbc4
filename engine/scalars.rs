//! Scalars of an MSM, shared by every MSM that uses them: Groth16's A, B-in-G1, B-in-G2 and L
//! queries all take the same assignment, so whatever a backend derives from the scalars (the
//! CPU's canonical integers and bucket schedule, a GPU's sorted schedule on the device) is
//! computed once per proof, not four times.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use ark_bls12_381::Fr;
use ark_ff::{BigInt, One, PrimeField, Zero};
use rayon::prelude::*;

use super::cpu::msm::ScalarPlan;

/// Canonical (non-Montgomery) little-endian limbs of a scalar.
pub type ScalarLimbs = BigInt<4>;

/// How many scalars are 0, ±1, or anything else: what a witness-aware MSM plans by (zeros cost
/// nothing, ±1 one addition, the rest a digit in every window).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ScalarStats {
    /// Scalars equal to 0.
    pub zeros: u64,
    /// Scalars equal to 1 or −1.
    pub ones: u64,
    /// All others.
    pub general: u64,
}

impl ScalarStats {
    /// Counts the classes of `scalars` (in parallel).
    pub fn of(scalars: &[Fr]) -> Self {
        let minus_one = -Fr::one();
        scalars
            .par_iter()
            .fold(Self::default, |mut s, x| {
                if x.is_zero() {
                    s.zeros += 1;
                } else if x.is_one() || *x == minus_one {
                    s.ones += 1;
                } else {
                    s.general += 1;
                }
                s
            })
            .reduce(Self::default, |a, b| Self {
                zeros: a.zeros + b.zeros,
                ones: a.ones + b.ones,
                general: a.general + b.general,
            })
    }

    /// Every scalar counted.
    pub fn len(&self) -> u64 {
        self.zeros + self.ones + self.general
    }

    /// True when no scalar was counted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Distinguishes scalar vectors for the lifetime of the process, so a backend can tell whether
/// the schedule it holds was built from these scalars without comparing them.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A vector of MSM scalars (arkworks' Montgomery form, as given), with what backends derive
/// from it cached on first use.
#[derive(Debug)]
pub struct MsmScalars {
    values: Vec<Fr>,
    id: u64,
    limbs: OnceLock<Vec<ScalarLimbs>>,
    stats: OnceLock<ScalarStats>,
    plan: OnceLock<Arc<ScalarPlan>>,
}

impl MsmScalars {
    /// Wraps field elements; nothing is converted until a backend asks.
    pub fn new(scalars: &[Fr]) -> Self {
        Self::from_values(scalars.to_vec())
    }

    /// Like [`Self::new`], taking the vector without a copy.
    pub fn from_values(values: Vec<Fr>) -> Self {
        Self {
            values,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            limbs: OnceLock::new(),
            stats: OnceLock::new(),
            plan: OnceLock::new(),
        }
    }

    /// Wraps canonical integers; an integer not below the Fr modulus is reduced modulo it.
    pub fn from_limbs(limbs: Vec<ScalarLimbs>) -> Self {
        let values: Vec<Fr> = limbs
            .par_iter()
            .map(|l| {
                Fr::from_bigint(*l).unwrap_or_else(|| {
                    Fr::from_le_bytes_mod_order(&ark_ff::BigInteger::to_bytes_le(l))
                })
            })
            .collect();
        Self::new(&values)
    }

    /// Number of scalars.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when there are no scalars.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The scalars as given (Montgomery form): what a GPU uploads.
    pub fn values(&self) -> &[Fr] {
        &self.values
    }

    /// A number no other `MsmScalars` of this process has.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The canonical integers, converted (in parallel) on first use.
    pub fn limbs(&self) -> &[ScalarLimbs] {
        self.limbs
            .get_or_init(|| self.values.par_iter().map(|s| s.into_bigint()).collect())
    }

    /// How many scalars are 0, ±1 or other, counted on first use.
    pub fn stats(&self) -> ScalarStats {
        *self.stats.get_or_init(|| ScalarStats::of(&self.values))
    }

    /// The CPU bucket schedule for these scalars, built on first use.
    pub(crate) fn cpu_plan(&self) -> Arc<ScalarPlan> {
        self.plan
            .get_or_init(|| Arc::new(ScalarPlan::new(self.limbs())))
            .clone()
    }
}
