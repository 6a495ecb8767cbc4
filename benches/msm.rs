//! MSM on the CPU: spice's batch-affine Pippenger vs arkworks' `VariableBaseMSM` vs blst's
//! Pippenger (G1), on uniform random scalars and on a Groth16-like witness (half 0/1, half
//! full-width). Sizes 2^12..2^SPICE_BENCH_MAX_LOG (default 16).

use ark_bls12_381::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::{BigInteger, PrimeField, UniformRand};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use spice::engine::{Backend, CpuBackend, MsmScalars};

fn max_log() -> u32 {
    std::env::var("SPICE_BENCH_MAX_LOG").ok().and_then(|v| v.parse().ok()).unwrap_or(16)
}

fn scalars(n: usize, witness_like: bool, rng: &mut StdRng) -> Vec<Fr> {
    (0..n)
        .map(|_| if witness_like && rng.gen::<bool>() { Fr::from(rng.gen::<bool>() as u64) } else { Fr::rand(rng) })
        .collect()
}

fn points<G: CurveGroup>(n: usize, rng: &mut StdRng) -> Vec<G::Affine> {
    // Random multiples of one random point: cheap to make, as good as independent points here.
    let p = G::rand(rng);
    let mut acc = p;
    let v: Vec<G> = (0..n).map(|_| { acc += p; acc.double() }).collect();
    G::normalize_batch(&v)
}

fn to_blst(points: &[G1Affine]) -> blst::p1_affines {
    let projective: Vec<blst::blst_p1> = points
        .iter()
        .map(|p| {
            let mut bytes = Vec::new();
            p.serialize_compressed(&mut bytes).expect("serialize");
            let mut affine = blst::blst_p1_affine::default();
            let mut out = blst::blst_p1::default();
            // arkworks' BLS12-381 compressed encoding is the zcash one that blst reads.
            assert_eq!(unsafe { blst::blst_p1_uncompress(&mut affine, bytes.as_ptr()) }, blst::BLST_ERROR::BLST_SUCCESS);
            unsafe { blst::blst_p1_from_affine(&mut out, &affine) };
            out
        })
        .collect();
    blst::p1_affines::from(&projective)
}

fn blst_scalars(s: &[Fr]) -> Vec<u8> {
    s.iter().flat_map(|x| x.into_bigint().to_bytes_le()).collect()
}

fn from_blst(p: &blst::blst_p1) -> G1Affine {
    let mut bytes = [0u8; 48];
    unsafe { blst::blst_p1_compress(bytes.as_mut_ptr(), p) };
    G1Affine::deserialize_compressed(&bytes[..]).expect("blst output")
}

fn bench_g1(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let cpu = CpuBackend::new();
    for witness_like in [false, true] {
        let mut group = c.benchmark_group(if witness_like { "msm_g1_witness" } else { "msm_g1_random" });
        group.sample_size(10);
        for log in (12..=max_log()).step_by(2) {
            let n = 1usize << log;
            let bases = points::<G1Projective>(n, &mut rng);
            let s = scalars(n, witness_like, &mut rng);
            let handle = cpu.load_g1(bases.clone()).expect("load");
            let blst_bases = to_blst(&bases);
            let blst_s = blst_scalars(&s);
            // The three must agree before their times mean anything.
            let ours = cpu.msm_g1(&handle, &MsmScalars::new(&s)).expect("msm").into_affine();
            assert_eq!(ours, G1Projective::msm(&bases, &s).expect("ark").into_affine());
            assert_eq!(ours, from_blst(&blst_bases.mult(&blst_s, 255)));
            group.bench_with_input(BenchmarkId::new("spice", n), &n, |b, _| {
                b.iter(|| cpu.msm_g1(&handle, &MsmScalars::new(&s)).expect("msm"))
            });
            group.bench_with_input(BenchmarkId::new("arkworks", n), &n, |b, _| {
                b.iter(|| G1Projective::msm(&bases, &s).expect("ark"))
            });
            group.bench_with_input(BenchmarkId::new("blst", n), &n, |b, _| b.iter(|| blst_bases.mult(&blst_s, 255)));
        }
        group.finish();
    }
}

fn bench_g2(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(2);
    let cpu = CpuBackend::new();
    let mut group = c.benchmark_group("msm_g2_witness");
    group.sample_size(10);
    for log in (12..=max_log().min(16)).step_by(2) {
        let n = 1usize << log;
        let bases: Vec<G2Affine> = points::<G2Projective>(n, &mut rng);
        let s = scalars(n, true, &mut rng);
        let handle = cpu.load_g2(bases.clone()).expect("load");
        assert_eq!(
            cpu.msm_g2(&handle, &MsmScalars::new(&s)).expect("msm").into_affine(),
            G2Projective::msm(&bases, &s).expect("ark").into_affine()
        );
        group.bench_with_input(BenchmarkId::new("spice", n), &n, |b, _| {
            b.iter(|| cpu.msm_g2(&handle, &MsmScalars::new(&s)).expect("msm"))
        });
        group.bench_with_input(BenchmarkId::new("arkworks", n), &n, |b, _| {
            b.iter(|| G2Projective::msm(&bases, &s).expect("ark"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_g1, bench_g2);
criterion_main!(benches);
