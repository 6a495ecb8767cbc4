//! Bad input gets a typed error naming the problem: never a panic, never a proof that does not
//! verify, never `true` for a wrong statement.

mod common;

use std::sync::Arc;

use ark_bls12_381::{Bls12_381, Fr};
use ark_groth16::{Groth16, ProvingKey};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use ark_snark::SNARK;
use ark_std::rand::{rngs::StdRng, SeedableRng};
use common::MixedCircuit;
use spice::engine::{
    backend::check_ntt_size, read_proving_key, write_proving_key, Backend, CpuBackend, EngineError,
    NttDirection, Prover, SyntheticCircuit,
};

fn setup<C: ConstraintSynthesizer<Fr>>(c: C) -> ProvingKey<Bls12_381> {
    Groth16::<Bls12_381>::circuit_specific_setup(c, &mut StdRng::seed_from_u64(1))
        .unwrap()
        .0
}

fn prover(pk: ProvingKey<Bls12_381>) -> Prover {
    Prover::new(Arc::new(CpuBackend::new()), pk).unwrap()
}

fn rs() -> (Fr, Fr) {
    (Fr::from(3u64), Fr::from(5u64))
}

#[test]
fn key_for_another_shape_is_a_key_mismatch() {
    let p = prover(setup(MixedCircuit::new(1, 4, 0, 10, 1)));
    let (r, s) = rs();
    for other in [
        MixedCircuit::new(2, 4, 0, 10, 1),
        MixedCircuit::new(1, 5, 0, 10, 1),
        MixedCircuit::new(1, 4, 0, 40, 1),
    ] {
        let err = p.prove_with_randomness(other, r, s).unwrap_err();
        assert!(matches!(err, EngineError::KeyMismatch(_)), "{err}");
    }
}

/// x·y = z versus x·x = z: same shape (variables, constraints), different circuit.
#[derive(Clone)]
struct Product {
    square: bool,
}

impl ConstraintSynthesizer<Fr> for Product {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        // x = 3, y = 4; z = x·x for the squaring circuit, x·y otherwise, so each witness
        // satisfies its own circuit only.
        let (xv, yv) = (Fr::from(3u64), Fr::from(4u64));
        let zv = if self.square { xv * xv } else { xv * yv };
        let z = cs.new_input_variable(|| Ok(zv))?;
        let x = cs.new_witness_variable(|| Ok(xv))?;
        let y = cs.new_witness_variable(|| Ok(yv))?;
        let rhs = if self.square { x } else { y };
        cs.enforce_r1cs_constraint(|| x.into(), || rhs.into(), || z.into())?;
        cs.enforce_r1cs_constraint(
            || y.into(),
            || ark_relations::gr1cs::Variable::One.into(),
            || y.into(),
        )?;
        Ok(())
    }
}

#[test]
fn key_for_another_circuit_of_the_same_shape_returns_no_proof() {
    let p = prover(setup(Product { square: false }));
    let (r, s) = rs();
    assert!(p
        .prove_with_randomness(Product { square: false }, r, s)
        .is_ok());
    let err = p
        .prove_with_randomness(Product { square: true }, r, s)
        .unwrap_err();
    assert!(matches!(err, EngineError::SelfCheckFailed(_)), "{err}");
}

#[test]
fn unsatisfied_witness_names_the_constraint() {
    let c = MixedCircuit::new(1, 4, 2, 10, 2);
    let p = prover(setup(c.clone()));
    let (r, s) = rs();
    let err = p
        .prove_with_randomness(MixedCircuit { tamper: true, ..c }, r, s)
        .unwrap_err();
    match err {
        // The tampered value is the last multiplication: constraint 4 + 2 + 9.
        EngineError::Unsatisfied { index, total, .. } => assert_eq!((index, total), (15, 16)),
        other => panic!("expected Unsatisfied, got {other}"),
    }
}

#[test]
fn oversized_or_odd_ntt_is_an_error() {
    assert!(matches!(
        check_ntt_size(1 << 29),
        Err(EngineError::BadNttSize { .. })
    ));
    assert!(matches!(
        check_ntt_size(0),
        Err(EngineError::BadNttSize { .. })
    ));
    let mut odd = vec![Fr::from(1u64); 12];
    let err = CpuBackend::new()
        .ntt(&mut odd, NttDirection::Forward)
        .unwrap_err();
    assert!(err.to_string().contains("12"), "{err}");
    assert!(SyntheticCircuit::new(4, 0).is_err());
}

#[test]
fn malformed_key_is_rejected_at_load() {
    let mut pk = setup(MixedCircuit::new(1, 4, 0, 10, 3));
    pk.h_query.pop();
    let err = Prover::new(Arc::new(CpuBackend::new()), pk).unwrap_err();
    assert!(
        matches!(err, EngineError::KeyMismatch(ref m) if m.contains("h_query")),
        "{err}"
    );
}

#[test]
fn verifier_rejects_wrong_number_of_public_inputs() {
    let c = MixedCircuit::new(2, 4, 0, 10, 4);
    let p = prover(setup(c.clone()));
    let (r, s) = rs();
    let proof = p.prove_with_randomness(c.clone(), r, s).unwrap();
    let inputs = c.public_inputs();
    assert!(p.verifier().verify(&inputs, &proof).unwrap());
    for wrong in [
        &inputs[..1],
        &[inputs.clone(), vec![Fr::from(0u64)]].concat()[..],
        &[][..],
    ] {
        let err = p.verifier().verify(wrong, &proof).unwrap_err();
        assert!(
            matches!(err, EngineError::PublicInputCount { expected: 2, .. }),
            "{err}"
        );
    }
    // Right count, altered value: a clean `false`.
    let mut altered = inputs.clone();
    altered[1] += Fr::from(1u64);
    assert!(!p.verifier().verify(&altered, &proof).unwrap());
}

#[test]
fn key_file_round_trips_and_rejects_truncation_and_corruption() {
    let pk = setup(MixedCircuit::new(1, 4, 0, 10, 5));
    let dir = std::env::temp_dir().join(format!("spice-keyfile-{}", std::process::id()));
    let path = dir.join("k.pk");
    write_proving_key(&path, &pk).unwrap();
    assert_eq!(read_proving_key(&path).unwrap(), pk);
    let good = std::fs::read(&path).unwrap();

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() - 7].to_vec()),
        ("truncated", good[..10].to_vec()),
        ("checksum", {
            let mut b = good.clone();
            let mid = b.len() / 2;
            b[mid] ^= 0x40;
            b
        }),
        ("magic", {
            let mut b = good.clone();
            b[0] = b'X';
            b
        }),
        ("version", {
            let mut b = good.clone();
            b[8] = 9;
            b
        }),
    ];
    for (what, bytes) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let err = read_proving_key(&path).unwrap_err();
        assert!(matches!(err, EngineError::KeyFile { .. }), "{err}");
        assert!(
            err.to_string().contains(what),
            "expected `{what}` in: {err}"
        );
    }
    let missing = read_proving_key(&dir.join("missing.pk")).unwrap_err();
    assert!(matches!(missing, EngineError::KeyFile { .. }));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unavailable_cuda_backend_is_a_typed_error_and_auto_falls_back_to_the_cpu() {
    // Without the `cuda` feature, or without a usable GPU, asking for CUDA names the reason
    // and `auto` quietly (with a log line) gives the CPU; with a GPU both give CUDA.
    match spice::engine::select(spice::engine::BackendChoice::Cuda) {
        Ok(b) => {
            assert_eq!(b.name(), "cuda");
            assert_eq!(spice::engine::auto().name(), "cuda");
        }
        Err(EngineError::BackendUnavailable { name, reason }) => {
            assert_eq!(name, "cuda");
            assert!(!reason.is_empty());
            if !cfg!(feature = "cuda") {
                assert!(reason.contains("without the `cuda` feature"), "{reason}");
            }
            assert_eq!(spice::engine::auto().name(), "cpu");
        }
        Err(other) => panic!("expected BackendUnavailable, got {other:?}"),
    }
}

/// The arithmetic race's glue (benches/arith.rs, kernels/bench/race.cuh) refuses an unknown
/// operation and buffers that do not match the operation, before touching any device, and
/// leaves the output as it was; the typed wrapper refuses element types of the wrong size.
#[cfg(feature = "bench-sppark")]
#[test]
fn arithmetic_race_refuses_unknown_operations_and_mismatched_buffers() {
    use spice::engine::cuda::arith_race::{race, race_bytes, RaceError, RaceOp, Side};
    use spice::engine::kernel_host::{FqLimbs, FrLimbs};
    // (op, n, bytes of a, b and out, expected message); op 0 is Fr mul (32-byte elements),
    // op 6 the G1 mixed addition (96-byte affine inputs, a 192-byte XYZZ output).
    let cases: [(u32, u32, [usize; 3], &str); 5] = [
        (7, 4, [128, 128, 128], "unknown operation"),
        (0, 4, [96, 128, 128], "buffer sizes do not match"),
        (0, 4, [128, 128, 64], "buffer sizes do not match"),
        (6, 4, [384, 384, 384], "buffer sizes do not match"),
        (0, 0, [0, 0, 0], "buffer sizes do not match"),
    ];
    for side in [Side::Ours, Side::Sppark] {
        for (op, n, [a_len, b_len, out_len], message) in cases {
            let mut out = vec![0xa5u8; out_len];
            match race_bytes(
                side,
                op,
                n,
                1,
                1,
                &vec![0; a_len],
                &vec![0; b_len],
                &mut out,
            ) {
                Err(RaceError::Refused(m)) => assert!(m.contains(message), "{side:?} op {op}: {m}"),
                other => panic!("{side:?} op {op}: expected a refusal, got {other:?}"),
            }
            assert!(
                out.iter().all(|&x| x == 0xa5),
                "{side:?} op {op} wrote its output"
            );
        }
        let a = vec![FrLimbs::default(); 4];
        let r = race::<FrLimbs, FrLimbs, FrLimbs>(side, RaceOp::FqMul, 1, 1, &a, &a);
        assert!(matches!(r, Err(RaceError::Refused(_))), "{r:?}");
        let q = vec![FqLimbs::default(); 3];
        let r = race::<FqLimbs, FqLimbs, FqLimbs>(side, RaceOp::FqMul, 1, 1, &q, &q[..2]);
        assert!(matches!(r, Err(RaceError::Refused(_))), "{r:?}");
    }
}
