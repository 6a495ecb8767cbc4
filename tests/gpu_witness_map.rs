//! The witness map on the device (a loaded shape's rows evaluated by
//! `kernels/witness_map.cu`, then the quotient chain) gives exactly the CPU backend's h, reports
//! the same first failing constraint, and a proof that uses it is byte-identical to the CPU's
//! and to `ark_groth16`'s.
//!
//! Without a usable GPU every test prints `skipped: <reason>` and returns, unless
//! `SPICE_REQUIRE_GPU=1` is set (the device script sets it), in which case it fails. Inputs
//! are fresh random values each run; the seed is printed so a failure can be replayed with
//! `SPICE_TEST_SEED=<seed>`.
#![cfg(feature = "cuda")]

mod common;
#[path = "support/gpu_backend.rs"]
mod gpu_backend;
#[path = "support/reference_proof.rs"]
mod reference_proof;
#[path = "support/test_seed.rs"]
mod test_seed;

use std::sync::Arc;

use ark_bls12_381::{Fr, G1Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{Field, UniformRand};
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use common::MixedCircuit;
use gpu_backend::gpu;
use reference_proof::Reference;
use spice::engine::gpu_ntt::TileShape;
use spice::engine::random_shape::satisfied_shape;
use spice::engine::{
    Backend, CpuBackend, CudaBackend, EngineError, MsmScalars, Prover, R1csShape, SyntheticCircuit,
};
use test_seed::seed;

#[test]
fn gpu_witness_map_matches_the_cpu_at_many_sizes() {
    let Some(gpu) = gpu("gpu_witness_map_matches_the_cpu_at_many_sizes") else {
        return;
    };
    let s = seed("gpu_witness_map_matches_the_cpu_at_many_sizes");
    let mut rng = StdRng::seed_from_u64(s);
    let cpu = CpuBackend::new();
    // Empty, tiny, odd, a domain filled exactly (2^k − inputs − 1 rows), one row past a power
    // of two, and a few thousand rows over many blocks.
    for (constraints, inputs) in [
        (0, 0),
        (1, 0),
        (2, 1),
        (3, 2),
        (1000, 3),
        (1021, 2),
        (1025, 0),
        (4093, 2),
        (20_000, 5),
    ] {
        let (shape, z) = satisfied_shape(&mut rng, constraints, inputs);
        let z = MsmScalars::new(&z);
        let domain = (constraints + 1 + inputs).next_power_of_two();
        let shape = Arc::new(shape);
        let on_cpu = cpu
            .witness_map(&cpu.load_shape(shape.clone()).unwrap(), &z, domain)
            .unwrap();
        let loaded = gpu.load_shape(shape.clone()).unwrap();
        for run in 0..2 {
            let on_gpu = gpu.witness_map(&loaded, &z, domain).unwrap();
            assert_eq!(
                on_gpu.h.values(),
                on_cpu.h.values(),
                "{constraints} constraints, {inputs} inputs, run {run}"
            );
        }
        // The witness map built the schedule of the MSMs over z from its device copy of z: an
        // MSM over z that follows uses it and must equal the CPU's.
        if constraints == 1000 {
            let points: Vec<G1Affine> = (0..z.len())
                .map(|_| (G1Affine::generator() * Fr::rand(&mut rng)).into_affine())
                .collect();
            let (gpu_bases, cpu_bases) = (
                gpu.load_g1(points.clone()).unwrap(),
                cpu.load_g1(points).unwrap(),
            );
            gpu.witness_map(&loaded, &z, domain).unwrap();
            assert_eq!(
                gpu.msm_g1(&gpu_bases, &z).unwrap().into_affine(),
                cpu.msm_g1(&cpu_bases, &z).unwrap().into_affine()
            );
        }
        // A larger domain than needed pads with zeros on both.
        let on_cpu = cpu
            .witness_map(&cpu.load_shape(shape).unwrap(), &z, 2 * domain)
            .unwrap();
        assert_eq!(
            gpu.witness_map(&loaded, &z, 2 * domain).unwrap().h.values(),
            on_cpu.h.values(),
            "{constraints} constraints, doubled domain"
        );
    }
}

#[test]
fn gpu_witness_map_reports_the_first_failing_constraint() {
    let Some(gpu) = gpu("gpu_witness_map_reports_the_first_failing_constraint") else {
        return;
    };
    let s = seed("gpu_witness_map_reports_the_first_failing_constraint");
    let mut rng = StdRng::seed_from_u64(s);
    let (shape, mut z) = satisfied_shape(&mut rng, 5000, 2);
    let domain = 8192;
    // Break rows in different blocks, the later ones first: the smallest must be reported.
    let broken: Vec<usize> = (0..4).map(|_| rng.gen_range(0..5000)).collect();
    for &row in broken.iter().rev() {
        z[shape.c[row][0].1] += Fr::ONE;
    }
    let z = MsmScalars::new(&z);
    let cpu = CpuBackend::new();
    let shape = Arc::new(shape);
    let expected = cpu
        .witness_map(&cpu.load_shape(shape.clone()).unwrap(), &z, domain)
        .unwrap_err();
    let EngineError::Unsatisfied { index, total, .. } = expected else {
        panic!("expected Unsatisfied on the CPU, got {expected:?}")
    };
    let loaded = gpu.load_shape(shape).unwrap();
    match gpu.witness_map(&loaded, &z, domain) {
        Err(EngineError::Unsatisfied {
            index: i, total: t, ..
        }) => assert_eq!((i, t), (index, total), "broken rows {broken:?}"),
        other => panic!("expected Unsatisfied, got {:?}", other.map(|m| m.h.len())),
    }
    // The failure slot is reset for the next call: an honest assignment passes again.
    let (honest_shape, honest_z) = satisfied_shape(&mut rng, 100, 1);
    let honest = gpu.load_shape(Arc::new(honest_shape)).unwrap();
    assert!(gpu
        .witness_map(&honest, &MsmScalars::new(&honest_z), 128)
        .is_ok());
}

#[test]
fn gpu_witness_map_refuses_what_does_not_fit() {
    let Some(gpu) = gpu("gpu_witness_map_refuses_what_does_not_fit") else {
        return;
    };
    let mut rng = StdRng::seed_from_u64(seed("gpu_witness_map_refuses_what_does_not_fit"));
    let (mut shape, values) = satisfied_shape(&mut rng, 30, 1);
    let z = MsmScalars::new(&values);
    let loaded = gpu.load_shape(Arc::new(shape.clone())).unwrap();
    let short = MsmScalars::new(&values[..values.len() - 1]);
    assert!(matches!(
        gpu.witness_map(&loaded, &short, 32),
        Err(EngineError::KeyMismatch(_))
    ));
    assert!(matches!(
        gpu.witness_map(&loaded, &z, 16),
        Err(EngineError::KeyMismatch(_))
    ));
    let cpu = CpuBackend::new();
    let foreign = cpu.load_shape(Arc::new(shape.clone())).unwrap();
    assert!(matches!(
        gpu.witness_map(&foreign, &z, 32),
        Err(EngineError::ForeignHandle {
            handle: "shape",
            ..
        })
    ));
    shape.a[3].push((Fr::ONE, values.len()));
    assert!(matches!(
        gpu.load_shape(Arc::new(shape)),
        Err(EngineError::KeyMismatch(_))
    ));
}

#[test]
fn proof_with_a_loaded_shape_on_the_gpu_is_byte_identical_to_the_cpu_proof() {
    let Some(shared) =
        gpu("proof_with_a_loaded_shape_on_the_gpu_is_byte_identical_to_the_cpu_proof")
    else {
        return;
    };
    // A backend of its own: the copy counts below would include other tests' copies on the
    // shared one, which run at the same time.
    let gpu =
        Arc::new(CudaBackend::with_lanes(TileShape::default(), shared.msm_config(), 1).unwrap());
    let s = seed("proof_with_a_loaded_shape_on_the_gpu_is_byte_identical_to_the_cpu_proof");
    let mut rng = StdRng::seed_from_u64(s);
    let (r, t) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
    macro_rules! check {
        ($c:expr, $inputs:expr) => {{
            let c = $c;
            let reference = Reference::new(&c, $inputs, r, t, &mut rng);
            let (shape, z) = R1csShape::from_circuit(c.clone()).unwrap();
            let on_cpu = Prover::new(Arc::new(CpuBackend::new()), reference.pk.clone())
                .unwrap()
                .prove_with_shape(&shape, &z, r, t)
                .unwrap();
            let prover = Prover::new(gpu.clone(), reference.pk.clone()).unwrap();
            let loaded = prover.load_shape(shape).unwrap();
            let (on_gpu, first) = prover
                .prove_with_loaded_shape_timed(&loaded, &z, r, t)
                .unwrap();
            let (again, times) = prover
                .prove_with_loaded_shape_timed(&loaded, &z, r, t)
                .unwrap();
            reference.assert_matches(&on_cpu, "the CPU backend");
            reference.assert_matches(&on_gpu, "the device witness map");
            reference.assert_matches(&again, "the device witness map, a second time");
            // Up go z, once (the rows and the schedule of the A, B, L MSMs read the same device
            // copy), and the failure slot: no evaluations, no second z, and h's scalars are
            // copied on the device for the H MSM. Down come h and the failure slot, then
            // the MSMs' window sums. Loading the shape uploaded its domain's twiddle tables,
            // so the first proof moves no more than the second.
            let copies = times.transfers.expect("the CUDA backend times its copies");
            let first = first.transfers.expect("the CUDA backend times its copies");
            let (z_bytes, h_bytes) = (32 * z.len() as u64, 32 * (prover.domain_size() as u64 - 1));
            assert_eq!(copies.to_device_bytes, z_bytes + 4, "{copies:?}");
            assert!(copies.from_device_bytes > h_bytes + 4, "{copies:?}");
            assert_eq!(
                first.to_device_bytes, copies.to_device_bytes,
                "{first:?}: the first proof uploaded its domain's tables?"
            );
            assert_eq!(
                first.from_device_bytes, copies.from_device_bytes,
                "{first:?}"
            );
        }};
    }
    let mixed = MixedCircuit::new(3, 40, 7, 300, s);
    check!(mixed.clone(), mixed.public_inputs());
    let synthetic = SyntheticCircuit::new(1 << 14, s).unwrap();
    check!(synthetic.clone(), synthetic.public_inputs());
    // A tampered witness: the device reports the CPU's constraint and no proof comes back.
    let tampered = MixedCircuit {
        tamper: true,
        ..mixed.clone()
    };
    let pk = Reference::new(&mixed, mixed.public_inputs(), r, t, &mut rng).pk;
    let (shape, z) = R1csShape::from_circuit(tampered).unwrap();
    let cpu_err = Prover::new(Arc::new(CpuBackend::new()), pk.clone())
        .unwrap()
        .prove_with_shape(&shape, &z, r, t)
        .unwrap_err();
    let prover = Prover::new(gpu.clone(), pk).unwrap();
    let gpu_err = prover
        .prove_with_loaded_shape(&prover.load_shape(shape).unwrap(), &z, r, t)
        .unwrap_err();
    assert_eq!(gpu_err.to_string(), cpu_err.to_string());
    assert!(
        matches!(gpu_err, EngineError::Unsatisfied { .. }),
        "{gpu_err:?}"
    );
}
