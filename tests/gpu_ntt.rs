//! The CUDA backend's NTT and quotient give exactly the CPU backend's results, and a proof
//! whose witness map ran on the GPU is byte-identical to the CPU's and to `ark_groth16`'s.
//!
//! Without a usable GPU every test prints `skipped: <reason>` and returns, unless
//! `SPICE_REQUIRE_GPU=1` is set (the device script sets it), in which case it fails: a broken
//! device setup must not look like a pass. Inputs are fresh random values each run; the seed
//! is printed so a failure can be replayed with `SPICE_TEST_SEED=<seed>`.
#![cfg(feature = "cuda")]

mod common;
#[path = "support/gpu_backend.rs"]
mod gpu_backend;
#[path = "support/reference_proof.rs"]
mod reference_proof;
#[path = "support/test_seed.rs"]
mod test_seed;

use std::sync::Arc;

use ark_bls12_381::Fr;
use ark_ff::{FftField, Field, One, UniformRand, Zero};
use ark_std::rand::{rngs::StdRng, SeedableRng};
use common::MixedCircuit;
use gpu_backend::gpu;
use rayon::prelude::*;
use reference_proof::Reference;
use spice::engine::{
    select, Backend, BackendChoice, CpuBackend, CudaBackend, EngineError, NttDirection, Prover,
    SyntheticCircuit,
};
use test_seed::seed;

const DIRECTIONS: [NttDirection; 4] = [
    NttDirection::Forward,
    NttDirection::Inverse,
    NttDirection::CosetForward,
    NttDirection::CosetInverse,
];

/// `n` random elements, generated in parallel (2^28 of them take seconds, not minutes).
fn random(n: usize, seed: u64) -> Vec<Fr> {
    const CHUNK: usize = 1 << 16;
    let mut v = vec![Fr::zero(); n];
    v.par_chunks_mut(CHUNK).enumerate().for_each(|(i, chunk)| {
        let mut rng = StdRng::seed_from_u64(seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        chunk.iter_mut().for_each(|x| *x = Fr::rand(&mut rng));
    });
    v
}

fn cpu_ntt(data: &[Fr], direction: NttDirection) -> Vec<Fr> {
    let mut v = data.to_vec();
    CpuBackend::new().ntt(&mut v, direction).unwrap();
    v
}

fn gpu_ntt(gpu: &CudaBackend, data: &[Fr], direction: NttDirection) -> Vec<Fr> {
    let mut v = data.to_vec();
    gpu.ntt(&mut v, direction).unwrap();
    v
}

#[test]
fn gpu_ntt_matches_cpu_on_random_inputs_at_every_small_size() {
    let Some(gpu) = gpu("gpu_ntt_matches_cpu_on_random_inputs_at_every_small_size") else {
        return;
    };
    let s = seed("gpu_ntt_matches_cpu_on_random_inputs_at_every_small_size");
    for log in 0..=16u32 {
        let data = random(1 << log, s ^ u64::from(log));
        for direction in DIRECTIONS {
            assert_eq!(
                gpu_ntt(&gpu, &data, direction),
                cpu_ntt(&data, direction),
                "2^{log} {direction:?}"
            );
        }
    }
}

#[test]
fn gpu_ntt_matches_cpu_at_odd_sizes_and_pass_boundaries() {
    let Some(gpu) = gpu("gpu_ntt_matches_cpu_at_odd_sizes_and_pass_boundaries") else {
        return;
    };
    let s = seed("gpu_ntt_matches_cpu_at_odd_sizes_and_pass_boundaries");
    // The default tile changes pass count at 2^11, 2^17 and 2^25.
    for log in [17u32, 19, 21, 23, 24, 25] {
        let data = random(1 << log, s ^ u64::from(log));
        for direction in [NttDirection::Forward, NttDirection::CosetInverse] {
            assert_eq!(
                gpu_ntt(&gpu, &data, direction),
                cpu_ntt(&data, direction),
                "2^{log} {direction:?}"
            );
        }
    }
}

#[test]
fn gpu_coset_ntt_matches_cpu_coset() {
    let Some(gpu) = gpu("gpu_coset_ntt_matches_cpu_coset") else {
        return;
    };
    let s = seed("gpu_coset_ntt_matches_cpu_coset");
    for log in [1u32, 2, 5, 10, 11, 13, 18, 20] {
        let data = random(1 << log, s ^ u64::from(log));
        for direction in [NttDirection::CosetForward, NttDirection::CosetInverse] {
            assert_eq!(
                gpu_ntt(&gpu, &data, direction),
                cpu_ntt(&data, direction),
                "2^{log} {direction:?}"
            );
        }
    }
}

#[test]
fn gpu_forward_then_inverse_is_identity() {
    let Some(gpu) = gpu("gpu_forward_then_inverse_is_identity") else {
        return;
    };
    let s = seed("gpu_forward_then_inverse_is_identity");
    for log in [1u32, 3, 9, 12, 15, 20, 22] {
        let data = random(1 << log, s ^ u64::from(log));
        for (fwd, inv) in [
            (NttDirection::Forward, NttDirection::Inverse),
            (NttDirection::CosetForward, NttDirection::CosetInverse),
        ] {
            let mut v = data.clone();
            gpu.ntt(&mut v, fwd).unwrap();
            assert_ne!(v, data, "2^{log}: the forward transform changed nothing");
            gpu.ntt(&mut v, inv).unwrap();
            assert_eq!(v, data, "2^{log} {fwd:?} then {inv:?}");
        }
    }
}

/// Σ xᵢ·pointⁱ, in parallel.
fn evaluate(coeffs: &[Fr], point: Fr) -> Fr {
    const CHUNK: usize = 1 << 16;
    coeffs
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(i, chunk)| {
            let mut power = point.pow([(i * CHUNK) as u64]);
            let mut acc = Fr::zero();
            for c in chunk {
                acc += *c * power;
                power *= point;
            }
            acc
        })
        .sum()
}

#[test]
fn gpu_ntt_at_the_largest_size_that_fits() {
    let Some(gpu) = gpu("gpu_ntt_at_the_largest_size_that_fits") else {
        return;
    };
    let s = seed("gpu_ntt_at_the_largest_size_that_fits");
    let (_, free) = gpu.memory().unwrap();
    // Data and scratch on the device, with room to spare; host RAM limits the test too.
    let log = (20..=28u32)
        .rev()
        .find(|&l| 3usize << (l + 5) < free)
        .expect("at least 2^20 fits");
    println!(
        "gpu_ntt_at_the_largest_size_that_fits: 2^{log} ({} MiB free on the device)",
        free >> 20
    );
    let n = 1usize << log;
    let data = random(n, s);
    let mut v = data.clone();
    gpu.ntt(&mut v, NttDirection::Forward).unwrap();
    // Spot-check evaluations directly (a CPU transform of 2^28 points takes too long).
    let omega = Fr::get_root_of_unity(n as u64).unwrap();
    let mut rng = StdRng::seed_from_u64(s);
    for k in [0usize, 1, n - 1, rand::Rng::gen_range(&mut rng, 0..n)] {
        assert_eq!(
            v[k],
            evaluate(&data, omega.pow([k as u64])),
            "2^{log}: evaluation {k}"
        );
    }
    gpu.ntt(&mut v, NttDirection::Inverse).unwrap();
    assert!(v == data, "2^{log}: inverse did not undo forward");
}

#[test]
fn gpu_quotient_matches_cpu_quotient() {
    let Some(gpu) = gpu("gpu_quotient_matches_cpu_quotient") else {
        return;
    };
    let s = seed("gpu_quotient_matches_cpu_quotient");
    for log in [0u32, 1, 2, 4, 10, 11, 16, 17, 20] {
        let n = 1usize << log;
        let (a, b, c) = (random(n, s ^ 1), random(n, s ^ 2), random(n, s ^ 3));
        let expected = CpuBackend::new()
            .quotient(a.clone(), b.clone(), c.clone())
            .unwrap();
        let ours = gpu.quotient(a, b, c).unwrap();
        assert_eq!(ours, expected, "2^{log}");
    }
}

#[test]
fn resident_transforms_chain_on_the_device() {
    let Some(gpu) = gpu("resident_transforms_chain_on_the_device") else {
        return;
    };
    let s = seed("resident_transforms_chain_on_the_device");
    let data = random(1 << 18, s);
    let mut v = gpu.upload(&data).unwrap();
    let mut expected = data.clone();
    for direction in [
        NttDirection::Forward,
        NttDirection::CosetInverse,
        NttDirection::CosetForward,
        NttDirection::Inverse,
    ] {
        gpu.ntt_resident(&mut v, direction).unwrap();
        expected = cpu_ntt(&expected, direction);
    }
    assert_eq!(gpu.download(&v).unwrap(), expected);
}

#[test]
fn gpu_results_do_not_change_between_runs() {
    // A race between threads or blocks shows as results that differ run to run.
    let Some(gpu) = gpu("gpu_results_do_not_change_between_runs") else {
        return;
    };
    let data = random(1 << 20, seed("gpu_results_do_not_change_between_runs"));
    let first = gpu_ntt(&gpu, &data, NttDirection::CosetForward);
    for _ in 0..3 {
        assert_eq!(gpu_ntt(&gpu, &data, NttDirection::CosetForward), first);
    }
}

#[test]
fn proof_with_the_gpu_witness_map_is_byte_identical_to_the_cpu_proof() {
    let Some(gpu) = gpu("proof_with_the_gpu_witness_map_is_byte_identical_to_the_cpu_proof") else {
        return;
    };
    let s = seed("proof_with_the_gpu_witness_map_is_byte_identical_to_the_cpu_proof");
    let mixed = MixedCircuit::new(3, 40, 7, 300, s);
    let synthetic = SyntheticCircuit::new(1 << 12, s).unwrap();
    let mut rng = StdRng::seed_from_u64(s);
    let (r, t) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
    macro_rules! check {
        ($c:expr, $inputs:expr) => {{
            let c = $c;
            let reference = Reference::new(&c, $inputs, r, t, &mut rng);
            let on_cpu = Prover::new(Arc::new(CpuBackend::new()), reference.pk.clone())
                .unwrap()
                .prove_with_randomness(c.clone(), r, t)
                .unwrap();
            let on_gpu = Prover::new(gpu.clone(), reference.pk.clone())
                .unwrap()
                .prove_with_randomness(c.clone(), r, t)
                .unwrap();
            reference.assert_matches(&on_cpu, "the CPU backend");
            reference.assert_matches(&on_gpu, "the GPU quotient (host rows)");
        }};
    }
    check!(mixed.clone(), mixed.public_inputs());
    check!(synthetic.clone(), synthetic.public_inputs());
}

#[test]
fn selecting_cuda_gives_the_gpu_or_a_typed_reason() {
    match CudaBackend::new() {
        // `auto` passes the CPU emulation of the driver by: it is no GPU.
        Ok(gpu) => {
            assert_eq!(select(BackendChoice::Cuda).unwrap().name(), "cuda");
            let auto = if gpu.is_emulated() { "cpu" } else { "cuda" };
            assert_eq!(select(BackendChoice::Auto).unwrap().name(), auto);
            assert_eq!(gpu.is_emulated(), gpu.not_emulated().is_err());
        }
        Err(e) => {
            assert!(
                std::env::var("SPICE_REQUIRE_GPU").as_deref() != Ok("1"),
                "SPICE_REQUIRE_GPU=1 but: {e}"
            );
            println!("selecting_cuda_gives_the_gpu_or_a_typed_reason: no GPU here ({e}); checking the fallback");
            assert!(matches!(e, EngineError::BackendUnavailable { .. }), "{e:?}");
            let err = select(BackendChoice::Cuda).unwrap_err();
            assert!(
                matches!(&err, EngineError::BackendUnavailable { reason, .. } if !reason.is_empty()),
                "{err:?}"
            );
            assert_eq!(select(BackendChoice::Auto).unwrap().name(), "cpu");
        }
    }
}

#[test]
fn gpu_rejects_sizes_it_cannot_transform() {
    let Some(gpu) = gpu("gpu_rejects_sizes_it_cannot_transform") else {
        return;
    };
    let mut odd = vec![Fr::one(); 3];
    assert!(matches!(
        gpu.ntt(&mut odd, NttDirection::Forward),
        Err(EngineError::BadNttSize { .. })
    ));
    let err = gpu
        .quotient(vec![Fr::one(); 4], vec![Fr::one(); 4], vec![Fr::one(); 2])
        .unwrap_err();
    assert!(matches!(err, EngineError::MsmLength { .. }), "{err:?}");
}
