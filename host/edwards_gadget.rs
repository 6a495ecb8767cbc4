//! Jubjub point addition and doubling in the circuit with exactly the constraints of
//! arkworks' `AffineVar` (`+` and `double_in_place`), but with the result's coordinates
//! supplied by the caller, so that a whole chain of operations can be evaluated natively
//! first, with one batched inversion, instead of two field inversions per operation.
//!
//! Why the constraints stay arkworks': what the circuits prove rests on those formulas
//! (complete on Jubjub, whose d is a non-square), and with the same matrices nothing about
//! it changes and existing proving keys stay valid. `tests` compare the matrices and the
//! assignment with arkworks' gadgets on random chains.
//!
//! Why a supplied value cannot change what is proved: each result coordinate is constrained
//! by one product `x3·(1 + v2) = v0 + v1` (and likewise for y3, and for doubling), whose
//! solution is unique when the factor is non-zero; where it is zero arkworks would fail too.
//! A wrong value only leaves the circuit unsatisfied.
//!
//! The native evaluation ([`running_sums`], [`repeated_doublings`]) uses the same affine
//! formulas multiplied through by the denominators, so it gives the same field elements as
//! arkworks' witness closures for *any* inputs (on the curve or not) and fails with
//! `DivisionByZero` exactly where they would.

use ark_bls12_381::Fr;
use ark_ec::twisted_edwards::TECurveConfig;
use ark_ed_on_bls12_381::{constraints::EdwardsVar, EdwardsConfig};
use ark_ff::{AdditiveGroup, Field, One, Zero};
use ark_r1cs_std::{
    alloc::AllocVar,
    fields::{fp::FpVar, FieldVar},
    groups::CurveVar,
    GR1CSVar,
};
use ark_relations::{gr1cs::SynthesisError, ns};

/// Affine coordinates of a point.
pub type Coordinates = (Fr, Fr);

/// The value a result coordinate pair takes: computed ahead, or why it could not be.
pub type Supplied = Result<Coordinates, SynthesisError>;

/// `p + q` with the constraints of `AffineVar`'s addition; the result's coordinates take
/// the value `sum` (which those constraints then check). With both inputs constant the
/// result is the constant sum and `sum` is not used.
pub fn add_var(
    p: &EdwardsVar,
    q: &EdwardsVar,
    sum: Supplied,
) -> Result<EdwardsVar, SynthesisError> {
    if p.is_constant() && q.is_constant() {
        return Ok(p + q);
    }
    let cs = p.cs().or(q.cs());
    let a = EdwardsConfig::COEFF_A;
    let d = EdwardsConfig::COEFF_D;
    let one = Fr::one();
    // The same operations, operands and order as arkworks, so that every product allocates
    // the same variable and constraint: u = (y1 − a·x1)(x2 + y2), v0 = x1·y2, v1 = x2·y1,
    // v2 = d·v0·v1.
    let u = ((&p.x * -a) + &p.y) * &(&q.x + &q.y);
    let v0 = &q.y * &p.x;
    let v1 = &q.x * &p.y;
    let v2 = &v0 * &v1 * d;
    // x3 = (v0 + v1)/(1 + v2)
    let x3 = FpVar::new_witness(ns!(cs, "x3"), || sum.map(|(x, _)| x))?;
    x3.mul_equals(&(&v2 + one), &(&v0 + &v1))?;
    // y3 = (u + a·v0 − v1)/(1 − v2)
    let y3 = FpVar::new_witness(ns!(cs, "y3"), || sum.map(|(_, y)| y))?;
    let one_minus_v2 = (&v2 - one).negate()?;
    y3.mul_equals(&one_minus_v2, &(&u + &(&v0 * a) - &v1))?;
    Ok(EdwardsVar::new(x3, y3))
}

/// `2·p` with the constraints of `AffineVar::double_in_place`; the result's coordinates take
/// the value `double`. A constant `p` gives the constant double.
pub fn double_var(p: &EdwardsVar, double: Supplied) -> Result<EdwardsVar, SynthesisError> {
    if p.is_constant() {
        let mut p = p.clone();
        p.double_in_place()?;
        return Ok(p);
    }
    let cs = p.cs();
    let a = EdwardsConfig::COEFF_A;
    let two = Fr::one().double();
    let xy = &p.x * &p.y;
    let x2 = p.x.square()?;
    let y2 = p.y.square()?;
    let a_x2 = &x2 * a;
    // x3 = 2xy/(a·x² + y²)
    let x3 = FpVar::new_witness(ns!(cs, "x3"), || double.map(|(x, _)| x))?;
    x3.mul_equals(&(&a_x2 + &y2), &xy.double()?)?;
    // y3 = (y² − a·x²)/(2 − a·x² − y²)
    let y3 = FpVar::new_witness(ns!(cs, "y3"), || double.map(|(_, y)| y))?;
    let denominator = (&a_x2 + &y2).negate()? + two;
    y3.mul_equals(&denominator, &(&y2 - &a_x2))?;
    Ok(EdwardsVar::new(x3, y3))
}

/// `2^count·p` by `count` doublings, each with `double_in_place`'s constraints, their values
/// evaluated together ([`repeated_doublings`]).
pub fn doublings_var(p: &EdwardsVar, count: usize) -> Result<EdwardsVar, SynthesisError> {
    let values = coordinates_of(p).and_then(|start| repeated_doublings(start, count));
    let mut acc = p.clone();
    for i in 0..count {
        acc = double_var(&acc, values.as_ref().map(|v| v[i]).map_err(|e| *e))?;
    }
    Ok(acc)
}

/// The coordinates of `p` when it has them (`AssignmentMissing` in setup mode).
pub fn coordinates_of(p: &EdwardsVar) -> Supplied {
    Ok((p.x.value()?, p.y.value()?))
}

/// The values of `start + t₀`, `(start + t₀) + t₁`, …, as `AffineVar`'s addition computes
/// them, with one field inversion for the whole chain. `DivisionByZero` when a denominator
/// vanishes (never for points on Jubjub).
pub fn running_sums(
    start: Coordinates,
    terms: &[Coordinates],
) -> Result<Vec<Coordinates>, SynthesisError> {
    let mut acc = Fraction::from(start);
    let chain = terms
        .iter()
        .map(|&term| {
            acc = acc.plus(term);
            acc
        })
        .collect();
    to_affine(chain)
}

/// The values of `2·start`, `4·start`, … (`count` doublings), as
/// `AffineVar::double_in_place` computes them, with one field inversion.
pub fn repeated_doublings(
    start: Coordinates,
    count: usize,
) -> Result<Vec<Coordinates>, SynthesisError> {
    let mut acc = Fraction::from(start);
    let chain = (0..count)
        .map(|_| {
            acc = acc.doubled();
            acc
        })
        .collect();
    to_affine(chain)
}

/// Inverts every element of `values` in place with one inversion, serially: arkworks'
/// `batch_inversion` (and `normalize_batch`) split the work over the thread pool, which for
/// the few hundred values of a synthesis step costs more in wake-ups than it saves, and
/// competes with the other batches being synthesized at the same time. Zeros stay zero.
pub fn invert_serially(values: &mut [Fr]) {
    ark_ff::serial_batch_inversion_and_mul(values, &Fr::one());
}

/// A point `(nx/dx, ny/dy)` whose divisions are deferred.
#[derive(Clone, Copy, Debug)]
struct Fraction {
    nx: Fr,
    dx: Fr,
    ny: Fr,
    dy: Fr,
}

impl From<Coordinates> for Fraction {
    fn from((x, y): Coordinates) -> Self {
        Self {
            nx: x,
            dx: Fr::one(),
            ny: y,
            dy: Fr::one(),
        }
    }
}

impl Fraction {
    /// `self + (x2, y2)`: with x1 = nx/dx, y1 = ny/dy the addition's
    /// x3 = (x1y2 + x2y1)/(1 + d·x1x2y1y2) and y3 = (y1y2 − a·x1x2)/(1 − d·x1x2y1y2),
    /// both multiplied through by dx·dy (non-zero while every earlier step was defined).
    fn plus(self, (x2, y2): Coordinates) -> Self {
        let Self { nx, dx, ny, dy } = self;
        let a = EdwardsConfig::COEFF_A;
        let d = EdwardsConfig::COEFF_D;
        let dxdy = dx * dy;
        let d_term = d * nx * ny * x2 * y2;
        let nx_dy = nx * dy;
        let ny_dx = ny * dx;
        Self {
            nx: nx_dy * y2 + ny_dx * x2,
            dx: dxdy + d_term,
            ny: ny_dx * y2 - a * nx_dy * x2,
            dy: dxdy - d_term,
        }
    }

    /// `2·self`: x3 = 2xy/(a·x² + y²) and y3 = (y² − a·x²)/(2 − a·x² − y²), multiplied
    /// through by dx²·dy².
    fn doubled(self) -> Self {
        let Self { nx, dx, ny, dy } = self;
        let a = EdwardsConfig::COEFF_A;
        // a·x² and y² over the common denominator dx²dy².
        let a_x2 = a * (nx * dy).square();
        let y2 = (ny * dx).square();
        let dxdy = dx * dy;
        Self {
            nx: (nx * ny * dxdy).double(),
            dx: a_x2 + y2,
            ny: y2 - a_x2,
            dy: dxdy.square().double() - a_x2 - y2,
        }
    }
}

/// Divides out every fraction with one inversion (Montgomery's trick, serially: these
/// chains are short and run inside synthesis, where waking a thread pool costs more than
/// it saves).
fn to_affine(chain: Vec<Fraction>) -> Result<Vec<Coordinates>, SynthesisError> {
    let mut denominators: Vec<Fr> = chain.iter().flat_map(|f| [f.dx, f.dy]).collect();
    if denominators.iter().any(Zero::is_zero) {
        return Err(SynthesisError::DivisionByZero);
    }
    invert_serially(&mut denominators);
    Ok(chain
        .iter()
        .zip(denominators.chunks_exact(2))
        .map(|(f, inv)| (f.nx * inv[0], f.ny * inv[1]))
        .collect())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::engine::R1csShape;
    use ark_ec::CurveGroup;
    use ark_ed_on_bls12_381::{EdwardsAffine, EdwardsProjective};
    use ark_relations::gr1cs::{ConstraintSystem, ConstraintSystemRef, SynthesisMode};
    use ark_std::UniformRand;
    use proptest::prelude::*;

    /// A constraint system in prove mode that also builds its matrices.
    pub(crate) fn proving_cs() -> ConstraintSystemRef<Fr> {
        let cs = ConstraintSystem::new_ref();
        cs.set_mode(SynthesisMode::Prove {
            construct_matrices: true,
            generate_lc_assignments: false,
        });
        cs
    }

    /// Finalizes `cs` and returns its matrices and full assignment (one, inputs, witness):
    /// what two gadgets must agree on to be the same circuit.
    pub(crate) fn shape_and_assignment(cs: &ConstraintSystemRef<Fr>) -> (R1csShape, Vec<Fr>) {
        cs.finalize();
        let shape = R1csShape::from_constraint_system(cs).unwrap();
        let mut z = cs.instance_assignment().unwrap();
        z.extend(cs.witness_assignment().unwrap());
        (shape, z)
    }

    fn random_point(seed: u64) -> EdwardsAffine {
        let mut rng =
            <ark_std::rand::rngs::StdRng as ark_std::rand::SeedableRng>::seed_from_u64(seed);
        EdwardsProjective::rand(&mut rng).into_affine()
    }

    /// Allocates `start` (a witness, or a constant) and `terms` (witnesses) in `cs`, sums
    /// them left to right, then doubles the sum twice: with arkworks' `+` and
    /// `double_in_place`, or with ours and values computed ahead.
    fn chain(
        cs: &ConstraintSystemRef<Fr>,
        start: EdwardsAffine,
        start_constant: bool,
        terms: &[EdwardsAffine],
        ours: bool,
    ) -> (EdwardsVar, R1csShape, Vec<Fr>) {
        let mut acc = if start_constant {
            EdwardsVar::constant(start.into())
        } else {
            EdwardsVar::new_witness(cs.clone(), || Ok(start)).unwrap()
        };
        let values: Vec<Coordinates> = terms.iter().map(|t| (t.x, t.y)).collect();
        let sums = running_sums((start.x, start.y), &values).unwrap();
        for (i, term) in terms.iter().enumerate() {
            let term = EdwardsVar::new_witness(cs.clone(), || Ok(*term)).unwrap();
            acc = if ours {
                add_var(&acc, &term, Ok(sums[i])).unwrap()
            } else {
                &acc + &term
            };
        }
        if ours {
            acc = doublings_var(&acc, 2).unwrap();
        } else {
            acc.double_in_place().unwrap();
            acc.double_in_place().unwrap();
        }
        let (shape, z) = shape_and_assignment(cs);
        (acc, shape, z)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Same constraints, same variables, same values as arkworks' `+` and
        /// `double_in_place`, on fresh random chains, starting from a witness or a constant.
        #[test]
        fn matches_arkworks_matrices_and_assignment(seed in any::<u64>(), len in 1usize..9, start_constant in any::<bool>()) {
            let start = random_point(seed);
            let terms: Vec<EdwardsAffine> = (0..len as u64).map(|i| random_point(seed ^ (i + 1) << 32)).collect();
            let (theirs, their_shape, their_z) = chain(&proving_cs(), start, start_constant, &terms, false);
            let (ours, our_shape, our_z) = chain(&proving_cs(), start, start_constant, &terms, true);
            prop_assert_eq!(their_shape.a, our_shape.a);
            prop_assert_eq!(their_shape.b, our_shape.b);
            prop_assert_eq!(their_shape.c, our_shape.c);
            prop_assert_eq!(their_z, our_z);
            prop_assert_eq!(theirs.value().unwrap(), ours.value().unwrap());
        }

        /// The native chains give the group's own sums and doublings.
        #[test]
        fn native_chains_are_the_group_law(seed in any::<u64>(), len in 1usize..16) {
            let start = random_point(seed);
            let terms: Vec<EdwardsAffine> = (0..len as u64).map(|i| random_point(seed.wrapping_add(i + 1))).collect();
            let values: Vec<Coordinates> = terms.iter().map(|t| (t.x, t.y)).collect();
            let sums = running_sums((start.x, start.y), &values).unwrap();
            let mut acc = EdwardsProjective::from(start);
            for (term, sum) in terms.iter().zip(&sums) {
                acc += term;
                let expected = acc.into_affine();
                prop_assert_eq!((expected.x, expected.y), *sum);
            }
            let doublings = repeated_doublings((start.x, start.y), len).unwrap();
            let mut acc = EdwardsProjective::from(start);
            for doubled in doublings {
                acc.double_in_place();
                let expected = acc.into_affine();
                prop_assert_eq!((expected.x, expected.y), doubled);
            }
        }
    }

    /// A wrong supplied sum (or double) leaves the circuit unsatisfied: the constraints, not
    /// the supplied value, decide the result.
    #[test]
    fn a_wrong_supplied_value_is_unsatisfiable() {
        let (p, q) = (random_point(1), random_point(2));
        let honest = running_sums((p.x, p.y), &[(q.x, q.y)]).unwrap()[0];
        for wrong in [
            (honest.0 + Fr::one(), honest.1),
            (honest.0, honest.1 + Fr::one()),
            (-honest.0, honest.1),
        ] {
            let cs = proving_cs();
            let p_var = EdwardsVar::new_witness(cs.clone(), || Ok(p)).unwrap();
            let q_var = EdwardsVar::new_witness(cs.clone(), || Ok(q)).unwrap();
            let _sum = add_var(&p_var, &q_var, Ok(wrong)).unwrap();
            cs.finalize();
            assert!(!cs.is_satisfied().unwrap(), "sum {wrong:?} accepted");
        }
        let honest = repeated_doublings((p.x, p.y), 1).unwrap()[0];
        for wrong in [(honest.0 + Fr::one(), honest.1), (honest.0, -honest.1)] {
            let cs = proving_cs();
            let p_var = EdwardsVar::new_witness(cs.clone(), || Ok(p)).unwrap();
            let _double = double_var(&p_var, Ok(wrong)).unwrap();
            cs.finalize();
            assert!(!cs.is_satisfied().unwrap(), "double {wrong:?} accepted");
        }
        // The honest values satisfy it.
        let cs = proving_cs();
        let p_var = EdwardsVar::new_witness(cs.clone(), || Ok(p)).unwrap();
        let q_var = EdwardsVar::new_witness(cs.clone(), || Ok(q)).unwrap();
        let sum = running_sums((p.x, p.y), &[(q.x, q.y)]).unwrap()[0];
        let _sum = add_var(&p_var, &q_var, Ok(sum)).unwrap();
        cs.finalize();
        assert!(cs.is_satisfied().unwrap());
    }

    /// Off the curve the formulas can meet a zero denominator: the native chain reports
    /// it as arkworks' closures would, instead of producing a value.
    #[test]
    fn a_vanishing_denominator_is_division_by_zero() {
        let d = EdwardsConfig::COEFF_D;
        // x1 = y1 = 1, x2 = 1, y2 = −1/d: 1 + d·x1x2y1y2 = 0.
        let y2 = -d.inverse().unwrap();
        assert_eq!(
            running_sums((Fr::one(), Fr::one()), &[(Fr::one(), y2)]),
            Err(SynthesisError::DivisionByZero)
        );
        // (0, 0) doubles with a·0 + 0 = 0 in the denominator.
        assert_eq!(
            repeated_doublings((Fr::zero(), Fr::zero()), 1),
            Err(SynthesisError::DivisionByZero)
        );
    }
}
