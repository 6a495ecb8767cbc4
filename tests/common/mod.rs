//! Test circuits shared by the integration tests.
#![allow(dead_code)]

use ark_bls12_381::Fr;
use ark_ff::{Field, UniformRand};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError, Variable};
use ark_serialize::CanonicalSerialize;
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};

/// A configurable R1CS circuit: `inputs` public inputs, `bits` boolean witness values
/// (b·b = b), `zeros` zero witness values (z·z = z), and a chain of `muls` multiplications
/// w ← w·(w + xᵢ) mixing in the inputs. Values come from `seed`; the shape from the counts.
#[derive(Clone, Debug)]
pub struct MixedCircuit {
    pub inputs: usize,
    pub bits: usize,
    pub zeros: usize,
    pub muls: usize,
    pub seed: u64,
    /// Replaces the value of the chain's last element (a witness that does not satisfy).
    pub tamper: bool,
}

impl MixedCircuit {
    pub fn new(inputs: usize, bits: usize, zeros: usize, muls: usize, seed: u64) -> Self {
        Self {
            inputs,
            bits,
            zeros,
            muls,
            seed,
            tamper: false,
        }
    }

    pub fn num_constraints(&self) -> usize {
        self.bits + self.zeros + self.muls
    }

    pub fn public_inputs(&self) -> Vec<Fr> {
        let mut rng = StdRng::seed_from_u64(self.seed);
        (0..self.inputs).map(|_| Fr::rand(&mut rng)).collect()
    }
}

impl ConstraintSynthesizer<Fr> for MixedCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let mut rng = StdRng::seed_from_u64(self.seed);
        let xs: Vec<(Fr, Variable)> = (0..self.inputs)
            .map(|_| {
                let v = Fr::rand(&mut rng);
                cs.new_input_variable(|| Ok(v)).map(|var| (v, var))
            })
            .collect::<Result<_, _>>()?;
        for _ in 0..self.bits {
            let v = Fr::from(rng.gen::<bool>() as u64);
            let b = cs.new_witness_variable(|| Ok(v))?;
            cs.enforce_r1cs_constraint(|| b.into(), || b.into(), || b.into())?;
        }
        for _ in 0..self.zeros {
            let z = cs.new_witness_variable(|| Ok(Fr::from(0u64)))?;
            cs.enforce_r1cs_constraint(|| z.into(), || z.into(), || z.into())?;
        }
        let mut w_val = Fr::rand(&mut rng);
        let mut w = cs.new_witness_variable(|| Ok(w_val))?;
        for k in 0..self.muls {
            let (x_val, x) = if xs.is_empty() {
                (Fr::from(1u64), Variable::One)
            } else {
                xs[k % xs.len()]
            };
            let mut next_val = w_val * (w_val + x_val);
            if self.tamper && k + 1 == self.muls {
                next_val += Fr::from(1u64);
            }
            let next = cs.new_witness_variable(|| Ok(next_val))?;
            cs.enforce_r1cs_constraint(
                || w.into(),
                || ark_relations::lc!() + w + x,
                || next.into(),
            )?;
            w = next;
            w_val = next_val;
        }
        let _ = w_val.square();
        Ok(())
    }
}

/// `t` compressed, for byte-for-byte comparisons of proofs and keys.
pub fn bytes<T: CanonicalSerialize>(t: &T) -> Vec<u8> {
    let mut v = Vec::new();
    t.serialize_compressed(&mut v).unwrap();
    v
}
