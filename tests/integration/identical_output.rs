//! Our prover's output is byte-identical to `ark_groth16`'s for the same key, circuit and
//! randomness, on circuits of every awkward shape, and on a fresh random circuit each run.

use std::sync::Arc;

use crate::common::{bytes, MixedCircuit};
use ark_bls12_381::{Bls12_381, Fr};
use ark_ff::UniformRand;
use ark_groth16::{Groth16, ProvingKey};
use ark_relations::gr1cs::ConstraintSynthesizer;
use ark_snark::SNARK;
use ark_std::rand::{rngs::StdRng, SeedableRng};
use proptest::prelude::*;
use spice::engine::{CpuBackend, Prover, R1csShape, SyntheticCircuit};

fn setup<C: ConstraintSynthesizer<Fr>>(c: C, seed: u64) -> ProvingKey<Bls12_381> {
    Groth16::<Bls12_381>::circuit_specific_setup(c, &mut StdRng::seed_from_u64(seed))
        .unwrap()
        .0
}

/// Proves `c` with arkworks and with us (circuit path and matrices fast path), same (r, s), and
/// asserts identical bytes and that the proof verifies for `inputs`.
fn assert_identical<C: ConstraintSynthesizer<Fr> + Clone>(c: C, inputs: &[Fr], seed: u64) {
    let pk = setup(c.clone(), seed);
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let (r, s) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
    let theirs = Groth16::<Bls12_381, ark_groth16::r1cs_to_qap::LibsnarkReduction>::create_proof_with_reduction(
        c.clone(),
        &pk,
        r,
        s,
    )
    .unwrap();
    let prover = Prover::new(Arc::new(CpuBackend::new()), pk.clone()).unwrap();
    let ours = prover.prove_with_randomness(c.clone(), r, s).unwrap();
    assert_eq!(
        bytes(&ours),
        bytes(&theirs),
        "circuit path differs from ark_groth16"
    );

    let (shape, z) = R1csShape::from_circuit(c).unwrap();
    let fast = prover.prove_with_shape(&shape, &z, r, s).unwrap();
    assert_eq!(
        bytes(&fast),
        bytes(&theirs),
        "matrices fast path differs from ark_groth16"
    );

    let pvk = ark_groth16::prepare_verifying_key(&pk.vk);
    assert!(Groth16::<Bls12_381>::verify_proof(&pvk, &ours, inputs).unwrap());
}

#[test]
fn identical_without_public_inputs() {
    let c = MixedCircuit::new(0, 5, 2, 9, 1);
    assert_identical(c.clone(), &c.public_inputs(), 1);
}

#[test]
fn identical_with_one_public_input() {
    let c = MixedCircuit::new(1, 3, 0, 12, 2);
    assert_identical(c.clone(), &c.public_inputs(), 2);
}

#[test]
fn identical_with_many_public_inputs() {
    let c = MixedCircuit::new(37, 10, 3, 40, 3);
    assert_identical(c.clone(), &c.public_inputs(), 3);
}

#[test]
fn identical_on_witness_of_zeros_and_ones() {
    let c = MixedCircuit::new(1, 200, 100, 1, 4);
    assert_identical(c.clone(), &c.public_inputs(), 4);
}

#[test]
fn identical_when_constraint_count_is_not_a_power_of_two() {
    let c = MixedCircuit::new(2, 301, 17, 679, 5);
    assert_eq!(c.num_constraints(), 997);
    assert_identical(c.clone(), &c.public_inputs(), 5);
}

#[test]
fn identical_on_a_single_constraint() {
    let c = MixedCircuit::new(0, 1, 0, 0, 6);
    assert_eq!(c.num_constraints(), 1);
    assert_identical(c.clone(), &c.public_inputs(), 6);
}

#[test]
fn identical_on_the_synthetic_benchmark_circuit() {
    let c = SyntheticCircuit::new(1 << 10, 7).unwrap();
    assert_identical(c.clone(), &c.public_inputs(), 7);
}

#[test]
fn identical_with_zero_randomness() {
    let c = MixedCircuit::new(2, 8, 1, 20, 8);
    let pk = setup(c.clone(), 8);
    let zero = Fr::from(0u64);
    let theirs =
        Groth16::<Bls12_381>::create_proof_with_reduction(c.clone(), &pk, zero, zero).unwrap();
    let ours = Prover::new(Arc::new(CpuBackend::new()), pk)
        .unwrap()
        .prove_with_randomness(c, zero, zero)
        .unwrap();
    assert_eq!(bytes(&ours), bytes(&theirs));
}

#[test]
fn same_seeded_rng_gives_the_same_proof_as_ark_groth16_prove() {
    let c = MixedCircuit::new(3, 20, 5, 30, 9);
    let pk = setup(c.clone(), 9);
    let theirs =
        Groth16::<Bls12_381>::prove(&pk, c.clone(), &mut StdRng::seed_from_u64(99)).unwrap();
    let prover = Prover::new(Arc::new(CpuBackend::new()), pk).unwrap();
    let ours = prover.prove(c, &mut StdRng::seed_from_u64(99)).unwrap();
    assert_eq!(bytes(&ours), bytes(&theirs));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
    #[test]
    fn identical_on_random_circuits(
        inputs in 0usize..6, bits in 0usize..80, zeros in 0usize..20, muls in 1usize..120, seed in any::<u64>()
    ) {
        let c = MixedCircuit::new(inputs, bits, zeros, muls, seed);
        assert_identical(c.clone(), &c.public_inputs(), seed);
    }
}
