//! What every GPU proof test compares with: a fresh proving key for the circuit and
//! `ark_groth16`'s proof for the same (r, s). A proof from any backend must be that proof, byte
//! for byte, and verify with the key.

use ark_bls12_381::{Bls12_381, Fr};
use ark_groth16::{Groth16, Proof, ProvingKey};
use ark_relations::gr1cs::ConstraintSynthesizer;
use ark_snark::SNARK;
use ark_std::rand::{CryptoRng, RngCore};

use crate::common::bytes;

/// A key for one circuit and `ark_groth16`'s proof of it.
pub struct Reference {
    /// The proving key, set up from the circuit.
    pub pk: ProvingKey<Bls12_381>,
    proof: Vec<u8>,
    inputs: Vec<Fr>,
}

impl Reference {
    /// Sets up a key for `circuit` with `rng` and proves it with `ark_groth16` and (r, s).
    pub fn new<C: ConstraintSynthesizer<Fr> + Clone, R: RngCore + CryptoRng>(
        circuit: &C,
        inputs: Vec<Fr>,
        r: Fr,
        s: Fr,
        rng: &mut R,
    ) -> Self {
        let pk = Groth16::<Bls12_381>::circuit_specific_setup(circuit.clone(), rng)
            .unwrap()
            .0;
        let proof =
            Groth16::<Bls12_381>::create_proof_with_reduction(circuit.clone(), &pk, r, s).unwrap();
        Self {
            proof: bytes(&proof),
            pk,
            inputs,
        }
    }

    /// Asserts `proof` is byte-identical to `ark_groth16`'s and verifies; `what` names its
    /// prover in the failure message.
    pub fn assert_matches(&self, proof: &Proof<Bls12_381>, what: &str) {
        assert!(
            bytes(proof) == self.proof,
            "{what}: the proof differs from ark_groth16's"
        );
        let pvk = ark_groth16::prepare_verifying_key(&self.pk.vk);
        assert!(
            Groth16::<Bls12_381>::verify_proof(&pvk, proof, &self.inputs).unwrap(),
            "{what}: the proof does not verify"
        );
    }
}
