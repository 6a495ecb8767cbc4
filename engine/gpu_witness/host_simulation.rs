//! The witness-map kernel run on the host: `kernels/host_witness_map.cpp` runs the kernel's
//! body (`kernels/witness_map/rows.cuh`) for every point of the domain, in an order drawn
//! from a seed, and lowers the first failure as the kernel's `atomicMin` does. Its results are
//! checked against the CPU evaluator ([`evaluate_constraints`](crate::engine::evaluate_constraints)),
//! so the algorithm the CUDA backend launches is tested on every build, GPU or not.

use ark_bls12_381::Fr;
use ark_ff::AdditiveGroup;

use crate::engine::constraint_eval::ConstraintEvaluations;
use crate::engine::error::{EngineError, Result};
use crate::engine::kernel_host::FrLimbs;

use super::layout::WitnessMapLayout;
use super::params::{WitnessMapParams, NO_FAILURE};

extern "C" {
    fn spice_host_witness_map(p: *const WitnessMapParams, order_seed: u64);
}

/// A·z, B·z and C·z over a domain of `domain_size` points in natural order, as the kernel
/// writes them, and the same errors as the CPU evaluator: [`EngineError::Unsatisfied`] naming
/// the first constraint that fails, [`EngineError::KeyMismatch`] for an assignment or a domain
/// that does not fit the layout. `order_seed` picks the order the points run in.
pub fn evaluate(
    layout: &WitnessMapLayout,
    z: &[Fr],
    domain_size: usize,
    order_seed: u64,
) -> Result<ConstraintEvaluations> {
    let domain = layout.dims.check_call(z.len(), domain_size)?;
    let (mut a, mut b, mut c) = (
        vec![Fr::ZERO; domain_size],
        vec![Fr::ZERO; domain_size],
        vec![Fr::ZERO; domain_size],
    );
    let mut first_failure = NO_FAILURE;
    let limbs = |v: &mut Vec<Fr>| v.as_mut_ptr() as *mut FrLimbs;
    let params = WitnessMapParams {
        offsets: layout.offsets.as_ptr(),
        terms: layout.terms.as_ptr(),
        coeff_table: layout.coeff_table.as_ptr(),
        z: z.as_ptr() as *const FrLimbs,
        a: limbs(&mut a),
        b: limbs(&mut b),
        c: limbs(&mut c),
        first_failure: &mut first_failure,
        rows: layout.dims.rows,
        instance: layout.dims.instance,
        domain,
    };
    // SAFETY: Fr and FrLimbs are the same bytes (the limbs of a Montgomery-form element; see
    // engine/kernel_host.rs). The call reads `offsets` (3·rows + 1 entries, built with the
    // terms they index), the terms (whose variables `WitnessMapLayout::new` checked against
    // `dims.variables`, which `check_call` matched to `z`) and their coefficient indices (into the
    // table built with them), and writes `domain` elements of a, b and c and the one failure
    // slot, all alive for the call.
    unsafe { spice_host_witness_map(&params, order_seed) };
    if first_failure != NO_FAILURE {
        return Err(EngineError::Unsatisfied {
            index: first_failure as usize,
            total: layout.dims.rows as usize,
            label: None,
        });
    }
    Ok(ConstraintEvaluations { a, b, c })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::backend::EvaluationOrder;
    use crate::engine::constraint_eval::evaluate_constraints;
    use crate::engine::gpu_witness::layout::WitnessMapLayout;
    use crate::engine::gpu_witness::params::{COEFF_MINUS_ONE, COEFF_ONE};
    use crate::engine::random_shape::satisfied_shape;
    use ark_ff::{Field, Zero};
    use ark_std::rand::{rngs::StdRng, SeedableRng};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// The kernel's body gives the CPU evaluator's vectors, padding and public inputs
        /// included, whatever order its points run in.
        #[test]
        fn kernel_body_equals_the_cpu_evaluator(seed in any::<u64>(), constraints in prop_oneof![0usize..40, 200usize..600], inputs in 0usize..4, extra_log in 0u32..2, order_seed in any::<u64>()) {
            let mut rng = StdRng::seed_from_u64(seed);
            let (shape, z) = satisfied_shape(&mut rng, constraints, inputs);
            let size = (constraints + shape.num_instance).next_power_of_two() << extra_log;
            let layout = WitnessMapLayout::new(&shape).unwrap();
            let expected = evaluate_constraints(&shape, &z, size, EvaluationOrder::Natural).unwrap();
            prop_assert_eq!(evaluate(&layout, &z, size, order_seed).unwrap(), expected);
        }

        /// Changing witness values makes the kernel report the same first failing constraint as
        /// the CPU evaluator, in any order of the points (the smallest index wins, not the last
        /// writer).
        #[test]
        fn first_failure_is_the_cpu_evaluators(seed in any::<u64>(), constraints in 2usize..120, picks in prop::collection::vec(any::<prop::sample::Index>(), 1..4), order_seed in any::<u64>()) {
            let mut rng = StdRng::seed_from_u64(seed);
            let (shape, mut z) = satisfied_shape(&mut rng, constraints, 1);
            for pick in &picks {
                z[shape.c[pick.index(constraints)][0].1] += Fr::ONE;
            }
            let size = (constraints + shape.num_instance).next_power_of_two();
            let layout = WitnessMapLayout::new(&shape).unwrap();
            let cpu = evaluate_constraints(&shape, &z, size, EvaluationOrder::Natural).unwrap_err();
            let EngineError::Unsatisfied { index, total, .. } = cpu else { panic!("expected Unsatisfied, got {cpu:?}") };
            match evaluate(&layout, &z, size, order_seed) {
                Err(EngineError::Unsatisfied { index: i, total: t, .. }) => prop_assert_eq!((i, t), (index, total)),
                other => prop_assert!(false, "expected Unsatisfied, got {:?}", other.map(|_| ())),
            }
        }
    }

    /// The table holds each coefficient once, 1 and −1 first; the terms point at their own.
    #[test]
    fn coefficient_table_is_distinct_and_terms_find_their_coefficients() {
        let mut rng = StdRng::seed_from_u64(7);
        let (shape, _) = satisfied_shape(&mut rng, 300, 2);
        let layout = WitnessMapLayout::new(&shape).unwrap();
        assert_eq!(
            layout.coeff_table[COEFF_ONE as usize],
            FrLimbs::from(Fr::ONE)
        );
        assert_eq!(
            layout.coeff_table[COEFF_MINUS_ONE as usize],
            FrLimbs::from(-Fr::ONE)
        );
        let distinct: std::collections::HashSet<_> = layout.coeff_table.iter().collect();
        assert_eq!(distinct.len(), layout.coeff_table.len());
        let rows = shape.num_constraints();
        assert_eq!(layout.offsets.len(), 3 * rows + 1);
        for (m, matrix) in [&shape.a, &shape.b, &shape.c].into_iter().enumerate() {
            for (i, row) in matrix.iter().enumerate() {
                let (begin, end) = (
                    layout.offsets[m * rows + i] as usize,
                    layout.offsets[m * rows + i + 1] as usize,
                );
                let terms = &layout.terms[begin..end];
                assert_eq!(terms.len(), row.len());
                for (&(coeff, var), term) in row.iter().zip(terms) {
                    assert_eq!(term.var as usize, var);
                    assert_eq!(
                        layout.coeff_table[term.coeff as usize],
                        FrLimbs::from(coeff)
                    );
                }
            }
        }
    }

    /// A row naming a variable beyond the shape is refused when the layout is built (the
    /// kernel does no bounds checks), naming the row and the matrix.
    #[test]
    fn a_variable_beyond_the_shape_is_refused_at_load() {
        let mut rng = StdRng::seed_from_u64(2);
        let (mut shape, z) = satisfied_shape(&mut rng, 9, 1);
        shape.c[5].push((Fr::from(3u64), z.len()));
        match WitnessMapLayout::new(&shape) {
            Err(EngineError::KeyMismatch(message)) => {
                assert!(message.contains("row 5 of C"), "{message}")
            }
            other => panic!("expected a key mismatch, got {other:?}"),
        }
    }

    /// An assignment of another length, or a domain that is too small or not a power of two,
    /// is an error before anything runs.
    #[test]
    fn calls_that_do_not_fit_the_layout_are_errors() {
        let mut rng = StdRng::seed_from_u64(3);
        let (shape, z) = satisfied_shape(&mut rng, 12, 2);
        let layout = WitnessMapLayout::new(&shape).unwrap();
        let size = (12 + shape.num_instance).next_power_of_two();
        assert!(evaluate(&layout, &z, size, 1).is_ok());
        for (z_len, domain) in [
            (z.len() - 1, size),
            (z.len(), size / 2),
            (z.len(), size + 1),
            (z.len(), 0),
        ] {
            let mut short = z.clone();
            short.resize(z_len, Fr::zero());
            assert!(
                matches!(
                    evaluate(&layout, &short, domain, 1),
                    Err(EngineError::KeyMismatch(_))
                ),
                "z {z_len}, domain {domain}"
            );
        }
    }
}
