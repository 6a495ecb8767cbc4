//! A synthetic circuit with the witness profile of Spice's batch circuits, for benchmarks and
//! the CLI: blocks of a 64-bit range check (64 boolean constraints and a recomposition, as for
//! timestamps and balances) followed by a chain of multiplications with full-size values (as in
//! Poseidon's S-boxes and curve arithmetic). About half the witness is 0/1, half full-width.

use ark_bls12_381::Fr;
use ark_ff::{AdditiveGroup, Field, UniformRand};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystemRef, LinearCombination, SynthesisError, Variable,
};
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};

use super::error::{EngineError, Result};

const RANGE_BITS: usize = 64;
/// Constraints per block: the range check (64 + 1) and the multiplication chain.
const BLOCK: usize = 128;
const CHAIN: usize = BLOCK - RANGE_BITS - 1;
/// Public inputs: the chain's final value and the first range-checked value.
pub const SYNTHETIC_PUBLIC_INPUTS: usize = 2;

/// A circuit whose R1CS domain has exactly `domain_size` points (constraints + instance
/// variables), so `--constraints 65536` means a 2^16 QAP domain.
#[derive(Clone, Debug)]
pub struct SyntheticCircuit {
    domain_size: usize,
    seed: u64,
}

impl SyntheticCircuit {
    /// A circuit filling a domain of `domain_size` points (at least 8), with witness values
    /// drawn from `seed`. The shape depends only on `domain_size`.
    pub fn new(domain_size: usize, seed: u64) -> Result<Self> {
        if domain_size < 8 {
            return Err(EngineError::KeyMismatch(format!(
                "synthetic circuit needs at least 8 constraints, got {domain_size}"
            )));
        }
        Ok(Self { domain_size, seed })
    }

    /// Number of R1CS constraints (the domain minus the instance variables).
    pub fn num_constraints(&self) -> usize {
        self.domain_size - SYNTHETIC_PUBLIC_INPUTS - 1
    }

    /// The public inputs a proof of this circuit is verified against.
    pub fn public_inputs(&self) -> Vec<Fr> {
        self.witness().public_inputs()
    }

    /// The blocks: whether each starts with a range check, and its chain length. Depends on
    /// the size only, so every seed gives the same R1CS.
    fn layout(&self) -> Vec<(bool, usize)> {
        let mut remaining = self.num_constraints() - SYNTHETIC_PUBLIC_INPUTS;
        let mut blocks = Vec::new();
        while remaining > 0 {
            let range = remaining > RANGE_BITS + 1;
            if range {
                remaining -= RANGE_BITS + 1;
            }
            let chain = if range {
                CHAIN.min(remaining)
            } else {
                remaining
            };
            remaining -= chain;
            blocks.push((range, chain));
        }
        blocks
    }

    fn witness(&self) -> Witness {
        let mut rng = StdRng::seed_from_u64(self.seed);
        let start = Fr::rand(&mut rng);
        let layout = self.layout();
        let range_values = layout
            .iter()
            .filter(|(range, _)| *range)
            .map(|_| rng.gen::<u64>())
            .collect();
        let squarings: usize = layout.iter().map(|(_, chain)| chain).sum();
        let chain_out = (0..squarings).fold(start, |acc, _| acc.square());
        Witness {
            start,
            layout,
            range_values,
            chain_out,
        }
    }
}

struct Witness {
    start: Fr,
    layout: Vec<(bool, usize)>,
    range_values: Vec<u64>,
    chain_out: Fr,
}

impl Witness {
    fn public_inputs(&self) -> Vec<Fr> {
        vec![
            self.chain_out,
            self.range_values
                .first()
                .map(|&v| Fr::from(v))
                .unwrap_or_default(),
        ]
    }
}

impl ConstraintSynthesizer<Fr> for SyntheticCircuit {
    fn generate_constraints(
        self,
        cs: ConstraintSystemRef<Fr>,
    ) -> std::result::Result<(), SynthesisError> {
        let w = self.witness();
        let inputs = w.public_inputs();
        let out = cs.new_input_variable(|| Ok(inputs[0]))?;
        let first = cs.new_input_variable(|| Ok(inputs[1]))?;
        let mut acc_value = w.start;
        let mut acc = cs.new_witness_variable(|| Ok(acc_value))?;
        let mut first_range: Option<Variable> = None;
        let mut values = w.range_values.iter();
        for &(range, chain) in &w.layout {
            if let (true, Some(&value)) = (range, values.next()) {
                let v = cs.new_witness_variable(|| Ok(Fr::from(value)))?;
                first_range.get_or_insert(v);
                let mut recomposed = LinearCombination::new();
                let mut weight = Fr::from(1u64);
                for j in 0..RANGE_BITS {
                    let bit = cs.new_witness_variable(|| Ok(Fr::from((value >> j) & 1)))?;
                    // bit · bit = bit  ⇔  bit ∈ {0, 1}
                    cs.enforce_r1cs_constraint(|| bit.into(), || bit.into(), || bit.into())?;
                    recomposed += (weight, bit);
                    weight.double_in_place();
                }
                cs.enforce_r1cs_constraint(|| recomposed, || Variable::One.into(), || v.into())?;
            }
            for _ in 0..chain {
                acc_value = acc_value.square();
                let next = cs.new_witness_variable(|| Ok(acc_value))?;
                cs.enforce_r1cs_constraint(|| acc.into(), || acc.into(), || next.into())?;
                acc = next;
            }
        }
        cs.enforce_r1cs_constraint(|| acc.into(), || Variable::One.into(), || out.into())?;
        let first_lc: LinearCombination<Fr> = match first_range {
            Some(v) => v.into(),
            None => LinearCombination::new(),
        };
        cs.enforce_r1cs_constraint(|| first_lc, || Variable::One.into(), || first.into())?;
        Ok(())
    }
}
