//! A circuit's R1CS matrices and its assignment, from an arkworks `ConstraintSynthesizer`.
//!
//! Synthesis happens the way `ark_groth16` does it (same optimisation goal, same variable
//! order), so a key made by `ark_groth16` fits our prover and vice versa.

use ark_bls12_381::Fr;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, Matrix, OptimizationGoal,
    SynthesisError, SynthesisMode, R1CS_PREDICATE_LABEL,
};

use super::error::{EngineError, Result};

/// The fixed shape of an R1CS circuit: its A, B, C matrices (row i = constraint i, entries
/// `(coefficient, variable index)`) and its variable counts. Variable 0 is the constant one,
/// followed by the public inputs, then the witness.
#[derive(Clone, Debug)]
pub struct R1csShape {
    /// A matrix.
    pub a: Matrix<Fr>,
    /// B matrix.
    pub b: Matrix<Fr>,
    /// C matrix.
    pub c: Matrix<Fr>,
    /// Instance variables, counting the leading constant one.
    pub num_instance: usize,
    /// Witness (auxiliary) variables.
    pub num_witness: usize,
}

impl R1csShape {
    /// Number of constraints.
    pub fn num_constraints(&self) -> usize {
        self.a.len()
    }

    /// Total variables: one + public inputs + witness.
    pub fn num_variables(&self) -> usize {
        self.num_instance + self.num_witness
    }

    /// Synthesizes `circuit` and returns its shape and full assignment (one, inputs, witness).
    pub fn from_circuit<C: ConstraintSynthesizer<Fr>>(circuit: C) -> Result<(Self, Vec<Fr>)> {
        let cs = synthesize(circuit, true)?;
        let shape = Self::from_constraint_system(&cs)?;
        Ok((shape, full_assignment(&cs)?))
    }

    /// Reads the shape of an already synthesized and finalized constraint system.
    pub fn from_constraint_system(cs: &ConstraintSystemRef<Fr>) -> Result<Self> {
        let mut by_label = cs.to_matrices()?;
        if let Some(other) = by_label.keys().find(|l| l.as_str() != R1CS_PREDICATE_LABEL) {
            return Err(EngineError::KeyMismatch(format!(
                "the circuit uses the non-R1CS predicate `{other}`; Groth16 proves R1CS only"
            )));
        }
        let mut matrices = by_label
            .remove(R1CS_PREDICATE_LABEL)
            .unwrap_or_default()
            .into_iter();
        let (a, b, c) = (
            matrices.next().unwrap_or_default(),
            matrices.next().unwrap_or_default(),
            matrices.next().unwrap_or_default(),
        );
        let n = cs.num_constraints();
        if a.len() != n || b.len() != n || c.len() != n {
            return Err(EngineError::KeyMismatch(format!(
                "R1CS matrices have {}/{}/{} rows for {n} constraints",
                a.len(),
                b.len(),
                c.len()
            )));
        }
        Ok(Self {
            a,
            b,
            c,
            num_instance: cs.num_instance_variables(),
            num_witness: cs.num_witness_variables(),
        })
    }
}

/// Runs `generate_constraints` in prove mode, optionally building the matrices, and finalizes.
pub(crate) fn synthesize<C: ConstraintSynthesizer<Fr>>(
    circuit: C,
    construct_matrices: bool,
) -> Result<ConstraintSystemRef<Fr>> {
    let cs = ConstraintSystem::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Prove {
        construct_matrices,
        generate_lc_assignments: false,
    });
    circuit.generate_constraints(cs.clone())?;
    cs.finalize();
    Ok(cs)
}

/// One, the public inputs, then the witness, as the prover's MSMs index them: copied once
/// out of the system (a batch's witness is a few MiB).
pub(crate) fn full_assignment(cs: &ConstraintSystemRef<Fr>) -> Result<Vec<Fr>> {
    let inner = cs.borrow().ok_or(SynthesisError::AssignmentMissing)?;
    let (instance, witness) = (inner.instance_assignment()?, inner.witness_assignment()?);
    let mut z = Vec::with_capacity(instance.len() + witness.len());
    z.extend_from_slice(instance);
    z.extend_from_slice(witness);
    Ok(z)
}

/// Only the assignment of `circuit` (no matrices: cheaper), for the fixed-shape fast path.
pub fn synthesize_assignment<C: ConstraintSynthesizer<Fr>>(circuit: C) -> Result<Vec<Fr>> {
    full_assignment(&synthesize(circuit, false)?)
}
