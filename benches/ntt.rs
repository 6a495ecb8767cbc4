//! NTT on the CPU: spice's backend call (arkworks' radix-2 transform behind the `Backend`
//! trait, plus one copy) vs calling arkworks directly. Sizes 2^12..2^SPICE_BENCH_MAX_LOG (20).

use ark_bls12_381::Fr;
use ark_ff::UniformRand;
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use ark_std::rand::{rngs::StdRng, SeedableRng};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use spice::engine::{Backend, CpuBackend, NttDirection};

fn bench(c: &mut Criterion) {
    let max_log: u32 = std::env::var("SPICE_BENCH_MAX_LOG").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let mut rng = StdRng::seed_from_u64(1);
    let cpu = CpuBackend::new();
    let mut group = c.benchmark_group("ntt_forward");
    group.sample_size(10);
    for log in (12..=max_log).step_by(4) {
        let n = 1usize << log;
        let data: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        let domain = Radix2EvaluationDomain::<Fr>::new(n).expect("domain");
        group.bench_with_input(BenchmarkId::new("spice", n), &n, |b, _| {
            let mut v = data.clone();
            b.iter(|| cpu.ntt(&mut v, NttDirection::Forward).expect("ntt"))
        });
        group.bench_with_input(BenchmarkId::new("arkworks", n), &n, |b, _| {
            let mut v = data.clone();
            b.iter(|| domain.fft_in_place(&mut v))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
