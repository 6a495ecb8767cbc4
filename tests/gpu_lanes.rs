//! Several proofs in flight on one device: the CUDA backend's lanes (a stream each, with its
//! own workspace) give every proof the CPU's result whatever interleaves with it, a proof's
//! calls find their schedules on the lane that holds them, the lanes share each domain's
//! tables, and callers that prove one at a time use one lane only.
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
use ark_ff::UniformRand;
use ark_std::rand::{rngs::StdRng, SeedableRng};
use common::{bytes, MixedCircuit};
use gpu_backend::gpu;
use reference_proof::Reference;
use spice::engine::gpu_ntt::TileShape;
use spice::engine::random_shape::satisfied_shape;
use spice::engine::{Backend, CpuBackend, CudaBackend, MsmScalars, Prover, R1csShape};
use test_seed::seed;

/// A backend of its own with `lanes` lanes, so that other tests' work does not land on it.
fn backend(shared: &CudaBackend, lanes: usize) -> Arc<CudaBackend> {
    Arc::new(
        CudaBackend::with_lanes(TileShape::default(), shared.msm_config(), lanes)
            .expect("a CUDA backend with lanes"),
    )
}

#[test]
fn two_witness_maps_in_progress_keep_their_state_on_two_lanes() {
    let Some(shared) = gpu("two_witness_maps_in_progress_keep_their_state_on_two_lanes") else {
        return;
    };
    let mut rng = StdRng::seed_from_u64(seed(
        "two_witness_maps_in_progress_keep_their_state_on_two_lanes",
    ));
    let gpu = backend(&shared, 2);
    let cpu = CpuBackend::new();
    // Two proofs' first halves, interleaved from one thread: P's witness map claims lane 0,
    // so Q's takes lane 1; then their MSMs over z and h in crossed order. Each must find its
    // own schedule (built from the device copies) and equal the CPU's.
    let mut proofs = Vec::new();
    for (constraints, inputs) in [(1000, 2), (1500, 1)] {
        let (shape, z) = satisfied_shape(&mut rng, constraints, inputs);
        let domain = (constraints + 1 + inputs).next_power_of_two();
        let shape = Arc::new(shape);
        let z = MsmScalars::new(&z);
        let on_cpu = cpu
            .witness_map(&cpu.load_shape(shape.clone()).unwrap(), &z, domain)
            .unwrap();
        let loaded = gpu.load_shape(shape).unwrap();
        proofs.push((z, loaded, domain, on_cpu));
    }
    let maps: Vec<_> = proofs
        .iter()
        .map(|(z, loaded, domain, _)| gpu.witness_map(loaded, z, *domain).unwrap())
        .collect();
    assert_eq!(
        gpu.lanes_in_use(),
        2,
        "the second witness map should have passed over the claimed lane"
    );
    let random_bases = |n: usize, rng: &mut StdRng| -> Vec<G1Affine> {
        (0..n)
            .map(|_| (G1Affine::generator() * Fr::rand(rng)).into_affine())
            .collect()
    };
    let mut checks = Vec::new();
    for ((z, _, _, on_cpu), map) in proofs.iter().zip(&maps) {
        assert_eq!(map.h.values(), on_cpu.h.values());
        let (z_points, h_points) = (
            random_bases(z.len(), &mut rng),
            random_bases(map.h.len(), &mut rng),
        );
        checks.push((
            gpu.load_g1(z_points.clone()).unwrap(),
            cpu.load_g1(z_points).unwrap(),
            gpu.load_g1(h_points.clone()).unwrap(),
            cpu.load_g1(h_points).unwrap(),
        ));
    }
    for order in [[1usize, 0], [0, 1]] {
        for &i in &order {
            let (gz, cz, _, _) = &checks[i];
            let z = &proofs[i].0;
            assert_eq!(
                gpu.msm_g1(gz, z).unwrap().into_affine(),
                cpu.msm_g1(cz, z).unwrap().into_affine(),
                "MSM over z of proof {i}"
            );
        }
    }
    for &i in &[1usize, 0] {
        let (_, _, gh, ch) = &checks[i];
        let h = &maps[i].h;
        assert_eq!(
            gpu.msm_g1(gh, h).unwrap().into_affine(),
            cpu.msm_g1(ch, h).unwrap().into_affine(),
            "MSM over h of proof {i}"
        );
    }
    assert_eq!(gpu.lanes_in_use(), 2);
}

/// The lanes share each domain's tables, which loading a shape uploads: a witness map on the
/// second lane moves only its z and its failure slot up, as one on the first does.
#[test]
fn lanes_share_the_domain_tables_that_loading_a_shape_uploads() {
    let test = "lanes_share_the_domain_tables_that_loading_a_shape_uploads";
    let Some(shared) = gpu(test) else {
        return;
    };
    let mut rng = StdRng::seed_from_u64(seed(test));
    let gpu = backend(&shared, 2);
    let (constraints, inputs) = (1000, 2);
    let (shape, z) = satisfied_shape(&mut rng, constraints, inputs);
    let domain = (constraints + 1 + inputs).next_power_of_two();
    let loaded = gpu.load_shape(Arc::new(shape)).unwrap();
    let z = MsmScalars::new(&z);
    let before = gpu
        .transfer_totals()
        .expect("the CUDA backend counts its copies");
    // The first leaves its h on lane 0 for the proof's H MSM, so the second takes lane 1.
    let first = gpu.witness_map(&loaded, &z, domain).unwrap();
    let second = gpu.witness_map(&loaded, &z, domain).unwrap();
    assert_eq!(
        gpu.lanes_in_use(),
        2,
        "both lanes should have run a witness map"
    );
    let moved = gpu.transfer_totals().unwrap().since(&before);
    assert_eq!(
        moved.to_device_bytes,
        2 * (32 * z.len() as u64 + 4),
        "{moved:?}: a lane uploaded the domain's tables again?"
    );
    assert_eq!(first.h.values(), second.h.values());
}

#[test]
fn proofs_one_at_a_time_use_one_lane() {
    let Some(shared) = gpu("proofs_one_at_a_time_use_one_lane") else {
        return;
    };
    let s = seed("proofs_one_at_a_time_use_one_lane");
    let mut rng = StdRng::seed_from_u64(s);
    let gpu = backend(&shared, 3);
    let circuit = MixedCircuit::new(2, 30, 5, 200, s);
    let (r, t) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
    let reference = Reference::new(&circuit, circuit.public_inputs(), r, t, &mut rng);
    let (shape, z) = R1csShape::from_circuit(circuit.clone()).unwrap();
    let prover = Prover::new(gpu.clone(), reference.pk.clone()).unwrap();
    let loaded = prover.load_shape(shape.clone()).unwrap();
    for run in 0..4 {
        reference.assert_matches(
            &prover.prove_with_loaded_shape(&loaded, &z, r, t).unwrap(),
            &format!("proof {run}"),
        );
        // NTTs and MSMs of no proof in between land on the first lane too.
        let mut data: Vec<Fr> = (0..64).map(|_| Fr::rand(&mut rng)).collect();
        gpu.ntt(&mut data, spice::engine::NttDirection::Forward)
            .unwrap();
    }
    assert_eq!(
        gpu.lanes_in_use(),
        1,
        "sequential proofs should not allocate a second lane"
    );
}

#[test]
fn concurrent_proofs_on_lanes_are_byte_identical_to_the_cpu_proofs() {
    let Some(shared) = gpu("concurrent_proofs_on_lanes_are_byte_identical_to_the_cpu_proofs")
    else {
        return;
    };
    let s = seed("concurrent_proofs_on_lanes_are_byte_identical_to_the_cpu_proofs");
    let mut rng = StdRng::seed_from_u64(s);
    let gpu = backend(&shared, 3);
    let circuit = MixedCircuit::new(3, 60, 9, 2000, s);
    let (r0, t0) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
    let reference = Reference::new(&circuit, circuit.public_inputs(), r0, t0, &mut rng);
    let (shape, z) = R1csShape::from_circuit(circuit.clone()).unwrap();
    // Each thread proves with its own (r, s): a proof that picked up another's state would
    // come out as the other's, or as garbage, and differ from the CPU's.
    let randomness: Vec<(Fr, Fr)> = (0..12)
        .map(|_| (Fr::rand(&mut rng), Fr::rand(&mut rng)))
        .collect();
    let cpu = Prover::new(Arc::new(CpuBackend::new()), reference.pk.clone()).unwrap();
    let expected: Vec<Vec<u8>> = randomness
        .iter()
        .map(|&(r, t)| bytes(&cpu.prove_with_shape(&shape, &z, r, t).unwrap()))
        .collect();
    let prover = Prover::new(gpu.clone(), reference.pk.clone()).unwrap();
    let loaded = prover.load_shape(shape).unwrap();
    reference.assert_matches(
        &prover.prove_with_loaded_shape(&loaded, &z, r0, t0).unwrap(),
        "the first GPU proof",
    );
    std::thread::scope(|scope| {
        for thread in 0..4 {
            let (prover, loaded, z, randomness, expected) =
                (&prover, &loaded, &z, &randomness, &expected);
            scope.spawn(move || {
                for i in (thread..randomness.len()).step_by(4) {
                    let (r, t) = randomness[i];
                    let proof = prover.prove_with_loaded_shape(loaded, z, r, t).unwrap();
                    assert!(
                        bytes(&proof) == expected[i],
                        "proof {i} (thread {thread}) differs from the CPU's"
                    );
                }
            });
        }
    });
    println!(
        "lanes that held arrays: {} of {}",
        gpu.lanes_in_use(),
        gpu.lanes()
    );
}
