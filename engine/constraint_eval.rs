//! The first step of the witness map: A·z, B·z and C·z evaluated row by row, laid out on the
//! QAP domain in the order the backend's quotient reads, and the check that every constraint
//! holds.
//!
//! # Terms that need no product
//!
//! A row is a sparse sum `Σ coeff·z[var]`, a product per term by definition. Two kinds of
//! term need none: a coefficient of ±1 (sums of variables, the linear forms of a
//! permutation's lanes) is an addition or a subtraction, and a value of 0 or 1 (the bits of a
//! range check or a scalar decomposition, whose coefficients are powers of two) is nothing
//! or the coefficient. `ValueKinds` classifies z once per proof, one comparison per
//! variable, and each term looks its variable up before it decides whether to multiply; the
//! lookup is also the term's bounds check. Coefficients are compared with the constants as
//! Montgomery limbs, with no conversion per term.
//!
//! On an 8-slot batch (`benches/synthesis.rs` prints the mix) 22% of the ledger's 938k terms
//! and 29% of the dark pool's 1.65M sit on a 0 or a 1, and another 13% and 10% have a ±1
//! coefficient; the value lookup made the dark pool's evaluation 5% faster and the
//! ledger's no slower than the coefficient test alone.
//!
//! # Rows that need no evaluation
//!
//! A B row equal to the A row of its own constraint (a squaring) or of one of the two before
//! it (the x⁵ = x⁴·x row of an S-box repeats the squaring's input) takes that value
//! (`reused_a_row`). On an 8-slot batch that is a third of the products, and evaluation got
//! 1.25–1.5x faster.
//!
//! # Layout
//!
//! The rows are evaluated in their own order, the layout both built-in backends take. A
//! bit-reversed layout, for a backend that asks for one, is made by a tiled copy afterwards
//! (`bit_reversed`): 1.7–2.2 ms on top of a ledger batch's evaluation on 2 cores, which is
//! why the CUDA backend permutes on the device instead, inside a pass it runs anyway.

use ark_bls12_381::Fr;
use ark_ff::{AdditiveGroup, Field};
use ark_relations::gr1cs::Matrix;
use rayon::prelude::*;

use super::backend::EvaluationOrder;
use super::error::{EngineError, Result};
use super::shape::R1csShape;

/// What a variable's value is, as far as a term's cost is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum ValueKind {
    Zero,
    One,
    Other,
}

/// The kind of every value of an assignment.
struct ValueKinds(Vec<ValueKind>);

impl ValueKinds {
    fn of(z: &[Fr]) -> Self {
        Self(
            z.par_iter()
                .with_min_len(1 << 12)
                .map(|value| {
                    if *value == Fr::ZERO {
                        ValueKind::Zero
                    } else if *value == Fr::ONE {
                        ValueKind::One
                    } else {
                        ValueKind::Other
                    }
                })
                .collect(),
        )
    }
}

/// Rows one task evaluates in turn (enough to amortise a task, few enough to balance them).
const ROWS_PER_TASK: usize = 256;

/// How many rows back B of row `i` may find its linear combination in A; `k` is the row's
/// place in its task's run, which bounds the look-back.
///
/// Squarings (x·x = x²: every S-box of a Poseidon hash) have B = A (`0`). The S-box's third
/// row, x⁵ = x⁴·x, has the squaring's linear combination again in B, two rows after it
/// (`2`). Those are a third of the products in a batch (200k of the ledger's 610k), each
/// row a dense combination of the permutation's lanes. Comparing a row with two others
/// costs a length check when they differ and a memory compare when they match, far less than
/// evaluating it again; the comparison is exact, so any shape is evaluated correctly.
#[inline]
fn reused_a_row(shape: &R1csShape, i: usize, k: usize) -> Option<usize> {
    let b = &shape.b[i];
    if b.is_empty() {
        return None;
    }
    (0..=REUSE_LOOK_BACK.min(k)).find(|&back| shape.a[i - back] == *b)
}

/// Rows before the current one whose A a B row is compared with.
const REUSE_LOOK_BACK: usize = 2;

/// One row's value `Σ coeff·z[var]`, or `None` if it names a variable beyond the
/// assignment. `kinds` must be [`ValueKinds::of`] `z`.
#[inline]
fn row_value(row: &[(Fr, usize)], z: &[Fr], kinds: &ValueKinds) -> Option<Fr> {
    let minus_one = -Fr::ONE;
    let mut sum = Fr::ZERO;
    for &(coeff, var) in row {
        // The kind's lookup is the bounds check of the whole term: the shape is the caller's,
        // and checking it in a pass of its own cost more than evaluating it.
        match kinds.0.get(var)? {
            ValueKind::Zero => {}
            ValueKind::One => sum += coeff,
            ValueKind::Other => {
                if coeff == Fr::ONE {
                    sum += z[var];
                } else if coeff == minus_one {
                    sum -= z[var];
                } else {
                    sum += coeff * z[var];
                }
            }
        }
    }
    Some(sum)
}

/// `values` (a power-of-two count) permuted by bit reversal of the index.
///
/// A plain gather `out[p] = values[rev(p)]` reads one element per cache line; here the index
/// is split as `(hi, mid, lo)` with `TILE_BITS` bits in `hi` and `lo`, and for each `mid` the
/// `2^TILE_BITS × 2^TILE_BITS` tile is copied with both sides in runs of `2^TILE_BITS`
/// contiguous elements, since `rev(hi, mid, lo) = (rev lo, rev mid, rev hi)`. Evaluating the
/// rows in bit-reversed order instead would read them (each a separate allocation) at
/// random: 2.7x slower on a ledger batch and 3.4x on a dark-pool batch, this copy included
/// (`batch_cpu_work/evaluate_constraints_*` in `benches/synthesis.rs`).
fn bit_reversed(values: &[Fr]) -> Vec<Fr> {
    const TILE_BITS: u32 = 4;
    const SIDE: usize = 1 << TILE_BITS;
    let reversed = EvaluationOrder::BitReversed;
    let n = values.len();
    let log = n.trailing_zeros();
    if log < 2 * TILE_BITS {
        return (0..n).map(|p| values[reversed.position(p, n)]).collect();
    }
    let mids = 1usize << (log - 2 * TILE_BITS);
    let hi_shift = log - TILE_BITS;
    let tile_rev: [usize; SIDE] = std::array::from_fn(|x| reversed.position(x, SIDE));
    let mut out = vec![Fr::ZERO; n];
    for mid in 0..mids {
        let mid_rev = reversed.position(mid, mids) << TILE_BITS;
        for (hi, hi_rev) in tile_rev.iter().enumerate() {
            let from = (hi << hi_shift) | (mid << TILE_BITS);
            let to = mid_rev | hi_rev;
            for (lo, lo_rev) in tile_rev.iter().enumerate() {
                out[(lo_rev << hi_shift) | to] = values[from | lo];
            }
        }
    }
    out
}

/// The three vectors the quotient starts from: A·z, B·z and C·z at every point of the domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConstraintEvaluations {
    /// A·z, with the public inputs after the constraints.
    pub a: Vec<Fr>,
    /// B·z.
    pub b: Vec<Fr>,
    /// C·z.
    pub c: Vec<Fr>,
}

/// Returns A·z, B·z and C·z extended to a domain of `domain_size` points (the public inputs
/// are placed after the constraints in A, libsnark's trick that makes their polynomials
/// independent; every other point is zero), laid out in `order`, and checks that every
/// constraint holds: [`EngineError::Unsatisfied`] names the first one that does not.
///
/// A domain too small for the constraints and public inputs, or a matrix naming a variable
/// beyond `z`, is [`EngineError::KeyMismatch`].
pub fn evaluate_constraints(
    shape: &R1csShape,
    z: &[Fr],
    domain_size: usize,
    order: EvaluationOrder,
) -> Result<ConstraintEvaluations> {
    let n = shape.num_constraints();
    if n + shape.num_instance > domain_size || shape.num_instance > z.len() {
        return Err(EngineError::KeyMismatch(format!(
            "{n} constraints and {} instance values do not fit a domain of {domain_size} and an assignment of {}",
            shape.num_instance,
            z.len()
        )));
    }
    let kinds = ValueKinds::of(z);
    let row = |m: &Matrix<Fr>, i: usize| {
        row_value(&m[i], z, &kinds).ok_or_else(|| {
            EngineError::KeyMismatch(format!(
                "constraint {i} refers to a variable beyond the assignment of {} values",
                z.len()
            ))
        })
    };
    let (mut a, mut b, mut c) = (
        vec![Fr::ZERO; domain_size],
        vec![Fr::ZERO; domain_size],
        vec![Fr::ZERO; domain_size],
    );
    // Rows in their own order, in runs of ROWS_PER_TASK: each matrix is read front to back, as
    // it lies in memory, each constraint is checked while its three values are at hand, and
    // a B row may take the value of an A row just before it in the same run. Each task
    // returns the first failing row of its run.
    let first_failures = a[..n]
        .par_chunks_mut(ROWS_PER_TASK)
        .zip(b[..n].par_chunks_mut(ROWS_PER_TASK))
        .zip(c[..n].par_chunks_mut(ROWS_PER_TASK))
        .enumerate()
        .map(|(task, ((a, b), c))| {
            let start = task * ROWS_PER_TASK;
            let mut first = None;
            for k in 0..a.len() {
                let i = start + k;
                a[k] = row(&shape.a, i)?;
                b[k] = match reused_a_row(shape, i, k) {
                    Some(back) => a[k - back],
                    None => row(&shape.b, i)?,
                };
                c[k] = row(&shape.c, i)?;
                if first.is_none() && a[k] * b[k] != c[k] {
                    first = Some(i);
                }
            }
            Ok::<_, EngineError>(first)
        })
        .collect::<Result<Vec<Option<usize>>>>()?;
    if let Some(index) = first_failures.into_iter().flatten().min() {
        return Err(EngineError::Unsatisfied {
            index,
            total: n,
            label: None,
        });
    }
    a[n..n + shape.num_instance].copy_from_slice(&z[..shape.num_instance]);
    if order == EvaluationOrder::BitReversed {
        let ((ra, rb), rc) = rayon::join(
            || rayon::join(|| bit_reversed(&a), || bit_reversed(&b)),
            || bit_reversed(&c),
        );
        (a, b, c) = (ra, rb, rc);
    }
    Ok(ConstraintEvaluations { a, b, c })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::random_shape::{naive_row, satisfied_shape};
    use ark_ff::{UniformRand, Zero};
    use ark_std::rand::{rngs::StdRng, SeedableRng};
    use proptest::prelude::*;

    fn naive(
        shape: &R1csShape,
        z: &[Fr],
        size: usize,
        order: EvaluationOrder,
    ) -> ConstraintEvaluations {
        let n = shape.num_constraints();
        let mut out = ConstraintEvaluations {
            a: vec![Fr::ZERO; size],
            b: vec![Fr::ZERO; size],
            c: vec![Fr::ZERO; size],
        };
        for i in 0..n {
            let p = order.position(i, size);
            out.a[p] = naive_row(&shape.a[i], z);
            out.b[p] = naive_row(&shape.b[i], z);
            out.c[p] = naive_row(&shape.c[i], z);
        }
        for j in 0..shape.num_instance {
            out.a[order.position(n + j, size)] = z[j];
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// The shortcuts (values 0 and 1, coefficients ±1, B taken from this or an earlier
        /// row's A) give the definition's vectors, in both layouts, across several tasks' runs.
        #[test]
        fn evaluations_equal_the_definition(seed in any::<u64>(), constraints in prop_oneof![0usize..40, 200usize..700], inputs in 0usize..4, reversed in any::<bool>()) {
            let mut rng = StdRng::seed_from_u64(seed);
            let (shape, z) = satisfied_shape(&mut rng, constraints, inputs);
            let size = (constraints + shape.num_instance).next_power_of_two();
            let order = if reversed { EvaluationOrder::BitReversed } else { EvaluationOrder::Natural };
            let got = evaluate_constraints(&shape, &z, size, order).expect("the witness satisfies every constraint");
            prop_assert_eq!(got, naive(&shape, &z, size, order));
        }

        /// Changing one witness value breaks the constraint that defines it, and the error
        /// names the first constraint that fails.
        #[test]
        fn a_changed_product_is_reported_at_its_constraint(seed in any::<u64>(), constraints in 1usize..60, pick in any::<prop::sample::Index>(), delta in prop_oneof![Just(Fr::ONE), Just(-Fr::ONE), any::<u64>().prop_map(Fr::from)]) {
            prop_assume!(!delta.is_zero());
            let mut rng = StdRng::seed_from_u64(seed);
            let (shape, mut z) = satisfied_shape(&mut rng, constraints, 1);
            let target = pick.index(constraints);
            z[shape.c[target][0].1] += delta;
            // A row only reads variables allocated before its product, so no earlier
            // constraint sees the change: the target is the first to fail.
            let size = (constraints + shape.num_instance).next_power_of_two();
            match evaluate_constraints(&shape, &z, size, EvaluationOrder::BitReversed) {
                Err(EngineError::Unsatisfied { index, total, .. }) => {
                    prop_assert_eq!(index, target);
                    prop_assert_eq!(total, constraints);
                }
                other => prop_assert!(false, "expected an unsatisfied constraint, got {:?}", other.map(|_| ())),
            }
        }
    }

    /// The tiled copy is the bit-reversal permutation at every size, below and above the
    /// tile's (2^8), on fresh values.
    #[test]
    fn bit_reversed_is_the_permutation() {
        let mut rng = StdRng::from_entropy();
        for log in 0..=13u32 {
            let n = 1usize << log;
            let values: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
            let expected: Vec<Fr> = (0..n)
                .map(|p| values[EvaluationOrder::BitReversed.position(p, n)])
                .collect();
            assert_eq!(bit_reversed(&values), expected, "size 2^{log}");
        }
    }

    /// A shape naming a variable the assignment does not have is an error, not a panic.
    #[test]
    fn a_variable_beyond_the_assignment_is_an_error() {
        let mut rng = StdRng::seed_from_u64(2);
        let (mut shape, z) = satisfied_shape(&mut rng, 9, 1);
        shape.b[4].push((Fr::from(3u64), z.len()));
        let size = 16;
        match evaluate_constraints(&shape, &z, size, EvaluationOrder::Natural) {
            Err(EngineError::KeyMismatch(message)) => {
                assert!(message.contains("constraint 4"), "{message}")
            }
            other => panic!("expected a key mismatch, got {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn a_domain_too_small_is_an_error_not_a_panic() {
        let mut rng = StdRng::seed_from_u64(1);
        let (shape, z) = satisfied_shape(&mut rng, 7, 2);
        assert!(matches!(
            evaluate_constraints(&shape, &z, 8, EvaluationOrder::Natural),
            Err(EngineError::KeyMismatch(_))
        ));
    }
}
