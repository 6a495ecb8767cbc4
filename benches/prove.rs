//! Groth16 proof of the synthetic circuit (half range-check bits, half multiplication chains):
//! spice on the CPU backend (circuit path and fixed-shape fast path) vs `ark_groth16`, same
//! key, circuit and (r, s). Sizes 2^12..2^SPICE_BENCH_MAX_LOG (default 16); keys are cached in
//! target/spice-bench-keys.

use std::path::PathBuf;
use std::sync::Arc;

use ark_bls12_381::{Bls12_381, Fr};
use ark_groth16::Groth16;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use spice::engine::{read_proving_key, synthesize_assignment, write_proving_key, CpuBackend, Prover, R1csShape, SyntheticCircuit};

fn key(n: usize, circuit: &SyntheticCircuit) -> ark_groth16::ProvingKey<Bls12_381> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("target/spice-bench-keys/synthetic-{n}.v1.pk"));
    if let Ok(pk) = read_proving_key(&path) {
        return pk;
    }
    let pk = Groth16::<Bls12_381>::generate_random_parameters_with_reduction(circuit.clone(), &mut rand::thread_rng())
        .expect("setup");
    write_proving_key(&path, &pk).expect("cache key");
    pk
}

fn bench(c: &mut Criterion) {
    let max_log: u32 = std::env::var("SPICE_BENCH_MAX_LOG").ok().and_then(|v| v.parse().ok()).unwrap_or(16);
    let mut group = c.benchmark_group("prove");
    group.sample_size(10);
    let (r, s) = (Fr::from(7u64), Fr::from(11u64));
    for log in (12..=max_log).step_by(2) {
        let n = 1usize << log;
        let circuit = SyntheticCircuit::new(n, 1).expect("circuit");
        let pk = key(n, &circuit);
        let prover = Prover::new(Arc::new(CpuBackend::new()), pk.clone()).expect("prover");
        let (shape, _) = R1csShape::from_circuit(circuit.clone()).expect("shape");
        group.bench_with_input(BenchmarkId::new("spice", n), &n, |b, _| {
            b.iter(|| prover.prove_with_randomness(circuit.clone(), r, s).expect("prove"))
        });
        group.bench_with_input(BenchmarkId::new("spice_fixed_shape", n), &n, |b, _| {
            b.iter(|| {
                let z = synthesize_assignment(circuit.clone()).expect("assignment");
                prover.prove_with_shape(&shape, &z, r, s).expect("prove")
            })
        });
        group.bench_with_input(BenchmarkId::new("arkworks", n), &n, |b, _| {
            b.iter(|| Groth16::<Bls12_381>::create_proof_with_reduction(circuit.clone(), &pk, r, s).expect("prove"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
