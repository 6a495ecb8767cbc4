//! Shortcuts the gadgets take in the prover's synthesis mode, where arkworks records no linear
//! combination and no constraint (`SynthesisMode::Prove { construct_matrices: false, .. }`):
//! only the assignment is kept, so a gadget may compute its values natively, as long as it
//! allocates the same witnesses in the same order. The matrices come from setup, which always
//! runs arkworks' own code, and the prover checks the assignment against them: a shortcut that
//! computed a wrong value would make the proof fail with `Unsatisfied`, never prove something
//! else.

use ark_bls12_381::Fr;
use ark_ff::PrimeField;
use ark_r1cs_std::{
    boolean::Boolean,
    fields::fp::{AllocatedFp, FpVar},
    GR1CSVar,
};
use ark_relations::gr1cs::{ConstraintSystemRef, LinearCombination, SynthesisError};

/// Whether `cs` writes linear combinations down (setup, or a prover asked for matrices or
/// for the values of linear combinations). When it does not, nothing but the assignment
/// survives synthesis.
pub fn records_linear_combinations(cs: &ConstraintSystemRef<Fr>) -> bool {
    cs.should_construct_matrices()
        || cs
            .borrow()
            .is_some_and(|inner| inner.should_generate_lc_assignments())
}

/// `Σ bᵢ·2^i`: arkworks' [`Boolean::le_bits_to_fp`], with the same result, the same
/// witnesses (none, below 255 bits) and, wherever linear combinations are recorded, the same
/// constraints, since it is then arkworks' own code that runs.
///
/// In the prover's matrix-free mode, and for fewer than `Fr::MODULUS_BIT_SIZE` bits that all
/// have values, the value is assembled as an integer and the result is one symbolic linear
/// combination. arkworks builds a weighted copy of every bit there and sums them, with a
/// field conversion and a multiplication a bit; on a ledger batch that was about 13% of
/// synthesis. From 255 bits on, arkworks adds an in-field check with witnesses of its own, so
/// those always take arkworks' path.
pub fn le_bits_to_fp(bits: &[Boolean<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let cs = bits.cs();
    if cs.is_none()
        || records_linear_combinations(&cs)
        || bits.len() >= Fr::MODULUS_BIT_SIZE as usize
    {
        return Boolean::le_bits_to_fp(bits);
    }
    let mut value = <Fr as PrimeField>::BigInt::zero();
    for (i, bit) in bits.iter().enumerate() {
        match bit.value() {
            Ok(true) => value.0[i / 64] |= 1u64 << (i % 64),
            Ok(false) => {}
            // No value (not the prover's case): arkworks' path reports it as it would.
            Err(_) => return Boolean::le_bits_to_fp(bits),
        }
    }
    // Fewer than 255 bits: below 2^254 < r, so the integer is the field element.
    let value = Fr::from_bigint(value).ok_or(SynthesisError::Unsatisfiable)?;
    // This mode records no linear combination (arkworks never calls the closure), so, as in
    // the Poseidon gadget's matrix-free path, the variable is a placeholder for one.
    let variable = cs.new_lc(LinearCombination::zero)?;
    Ok(FpVar::Var(AllocatedFp::new(Some(value), variable, cs)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_r1cs_std::{alloc::AllocVar, eq::EqGadget, fields::FieldVar};
    use ark_relations::gr1cs::{ConstraintSystem, SynthesisMode};
    use proptest::prelude::*;

    use crate::engine::R1csShape;

    /// Bits as a circuit holds them: witnesses, inputs or constants.
    fn allocate(cs: &ConstraintSystemRef<Fr>, bits: &[(bool, u8)]) -> Vec<Boolean<Fr>> {
        bits.iter()
            .map(|&(b, kind)| match kind % 3 {
                0 => Boolean::new_witness(cs.clone(), || Ok(b)).unwrap(),
                1 => Boolean::new_input(cs.clone(), || Ok(b)).unwrap(),
                _ => Boolean::constant(b),
            })
            .collect()
    }

    /// A circuit that recomposes the bits and uses the result in a constraint and a product
    /// (so that its value reaches a witness): its output value, and its assignment.
    fn run(cs: &ConstraintSystemRef<Fr>, bits: &[(bool, u8)], ours: bool) -> (Fr, Vec<Fr>) {
        let vars = allocate(cs, bits);
        let x = if ours {
            le_bits_to_fp(&vars)
        } else {
            Boolean::le_bits_to_fp(&vars)
        }
        .unwrap();
        let square = FpVar::new_witness(cs.clone(), || Ok(x.value()? * x.value()?)).unwrap();
        x.square().unwrap().enforce_equal(&square).unwrap();
        let mut z = cs.instance_assignment().unwrap_or_default();
        z.extend(cs.witness_assignment().unwrap_or_default());
        (x.value().unwrap_or_default(), z)
    }

    fn prover_cs(construct_matrices: bool) -> ConstraintSystemRef<Fr> {
        let cs = ConstraintSystem::new_ref();
        cs.set_mode(SynthesisMode::Prove {
            construct_matrices,
            generate_lc_assignments: false,
        });
        cs
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// In the prover's matrix-free mode: arkworks' value and the same assignment, for
        /// every length up to 254 bits and any mix of witness, input and constant bits.
        #[test]
        fn matrix_free_recomposition_matches_arkworks(bits in prop::collection::vec((any::<bool>(), any::<u8>()), 0..=254)) {
            let theirs = run(&prover_cs(true), &bits, false);
            let cs = prover_cs(false);
            let ours = run(&cs, &bits, true);
            prop_assert_eq!(ours, theirs);
        }

        /// Wherever linear combinations are recorded, arkworks' own constraints; from 255
        /// bits on (arkworks' in-field check), arkworks' path in every mode.
        #[test]
        fn recorded_modes_and_long_strings_are_arkworks_own(bits in prop::collection::vec((any::<bool>(), any::<u8>()), 250..=260)) {
            // Bits from 254 up are zero, so the value is in the field and arkworks' in-field
            // check is satisfiable.
            let bits: Vec<(bool, u8)> = bits.iter().enumerate().map(|(i, &(b, kind))| (b && i < 254, kind)).collect();
            for mode in [SynthesisMode::Setup, SynthesisMode::Prove { construct_matrices: true, generate_lc_assignments: false }] {
                let shapes: Vec<R1csShape> = [false, true].into_iter().map(|ours| {
                    let cs = ConstraintSystem::new_ref();
                    cs.set_mode(mode);
                    run(&cs, &bits, ours);
                    cs.finalize();
                    R1csShape::from_constraint_system(&cs).unwrap()
                }).collect();
                prop_assert_eq!(&shapes[0].a, &shapes[1].a);
                prop_assert_eq!(&shapes[0].b, &shapes[1].b);
                prop_assert_eq!(&shapes[0].c, &shapes[1].c);
            }
            let theirs = run(&prover_cs(true), &bits, false);
            let ours = run(&prover_cs(false), &bits, true);
            prop_assert_eq!(ours, theirs);
        }
    }
}
