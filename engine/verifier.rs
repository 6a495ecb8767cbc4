//! Groth16 verification that also checks what `ark_groth16` 0.6 does not: the number of
//! public inputs. (With fewer inputs than the key expects, `verify_proof` silently treats the
//! missing ones as zero; with more, it ignores the extra ones.)

use ark_bls12_381::{Bls12_381, Fr};
use ark_groth16::{Groth16, PreparedVerifyingKey, Proof, VerifyingKey};

use super::error::{EngineError, Result};

/// A prepared verifying key.
#[derive(Clone, Debug)]
pub struct Verifier {
    pvk: PreparedVerifyingKey<Bls12_381>,
}

impl Verifier {
    /// Prepares `vk` (one pairing, done once).
    pub fn new(vk: &VerifyingKey<Bls12_381>) -> Self {
        Self {
            pvk: ark_groth16::prepare_verifying_key(vk),
        }
    }

    /// The verifying key.
    pub fn vk(&self) -> &VerifyingKey<Bls12_381> {
        &self.pvk.vk
    }

    /// Number of public inputs the key expects (not counting the constant one).
    pub fn num_public_inputs(&self) -> usize {
        self.pvk.vk.gamma_abc_g1.len().saturating_sub(1)
    }

    /// `Ok(true)` iff `proof` proves the key's statement for `public_inputs`; an error if the
    /// number of inputs is wrong.
    pub fn verify(&self, public_inputs: &[Fr], proof: &Proof<Bls12_381>) -> Result<bool> {
        let expected = self.num_public_inputs();
        if public_inputs.len() != expected {
            return Err(EngineError::PublicInputCount {
                expected,
                got: public_inputs.len(),
            });
        }
        Ok(Groth16::<Bls12_381>::verify_proof(
            &self.pvk,
            proof,
            public_inputs,
        )?)
    }
}
