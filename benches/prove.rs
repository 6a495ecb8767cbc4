//! Groth16 proof of the synthetic circuit (half range-check bits, half multiplication chains).
//!
//! CPU (always, criterion): spice on the CPU backend (circuit path and fixed-shape fast path)
//! vs `ark_groth16`, same key, circuit and (r, s). Sizes 2^12..2^SPICE_BENCH_MAX_LOG (default
//! 16).
//!
//! GPU (feature `cuda`, when a device is present; first, as a table): the fixed-shape prover
//! on the CUDA backend with the shape loaded (matrices resident, rows evaluated on the device;
//! G2 on the GPU, and G2 on the CPU alongside the G1 MSMs), the same with the rows evaluated on
//! the host, and the CPU backend, for 2^16, 2^18, 2^20, 2^22 constraints (override with
//! SPICE_BENCH_PROVE_LOGS=16,18).
//! Every backend's proof is compared byte for byte with the CPU backend's before any time is
//! printed; medians of SPICE_BENCH_PROVE_RUNS (default 3) GPU proofs, one CPU proof; then the
//! stage breakdown of one GPU proof per size. Then throughput with several proofs in flight:
//! backends of 1, 2 and 4 lanes, each proving from as many threads at once, at Spice's batch
//! sizes 2^16 and 2^18 (SPICE_BENCH_THROUGHPUT_LOGS=16,18), every proof compared with the
//! CPU's. SPICE_BENCH_GPU_ONLY=1 skips the criterion part.
//!
//! Keys are cached in target/spice-bench-keys (set up with arkworks on first use).

use std::path::PathBuf;
use std::sync::Arc;

use ark_bls12_381::{Bls12_381, Fr};
use ark_groth16::Groth16;
use criterion::{criterion_group, BenchmarkId, Criterion};
use spice::engine::{
    read_proving_key, synthesize_assignment, write_proving_key, CpuBackend, Prover, R1csShape,
    SyntheticCircuit,
};

fn key(n: usize, circuit: &SyntheticCircuit) -> ark_groth16::ProvingKey<Bls12_381> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("target/spice-bench-keys/synthetic-{n}.v1.pk"));
    if let Ok(pk) = read_proving_key(&path) {
        return pk;
    }
    let pk = Groth16::<Bls12_381>::generate_random_parameters_with_reduction(
        circuit.clone(),
        &mut rand::thread_rng(),
    )
    .expect("setup");
    write_proving_key(&path, &pk).expect("cache key");
    pk
}

fn bench(c: &mut Criterion) {
    let max_log: u32 = std::env::var("SPICE_BENCH_MAX_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
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
            b.iter(|| {
                prover
                    .prove_with_randomness(circuit.clone(), r, s)
                    .expect("prove")
            })
        });
        group.bench_with_input(BenchmarkId::new("spice_fixed_shape", n), &n, |b, _| {
            b.iter(|| {
                let z = synthesize_assignment(circuit.clone()).expect("assignment");
                prover.prove_with_shape(&shape, &z, r, s).expect("prove")
            })
        });
        group.bench_with_input(BenchmarkId::new("arkworks", n), &n, |b, _| {
            b.iter(|| {
                Groth16::<Bls12_381>::create_proof_with_reduction(circuit.clone(), &pk, r, s)
                    .expect("prove")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);

#[cfg(feature = "cuda")]
mod gpu {
    use std::sync::Arc;
    use std::time::Instant;

    use ark_ff::UniformRand;
    use ark_serialize::CanonicalSerialize;
    use ark_std::rand::{rngs::StdRng, SeedableRng};
    use spice::engine::cuda::{G2Placement, MsmConfig};
    use spice::engine::gpu_ntt::TileShape;
    use spice::engine::transfer_times::describe_copies;
    use spice::engine::LoadedShape;
    use spice::engine::{
        synthesize_assignment, Backend, CpuBackend, CudaBackend, Prover, R1csShape, StageTimes,
        SyntheticCircuit,
    };

    fn bytes<T: CanonicalSerialize>(t: &T) -> Vec<u8> {
        let mut v = Vec::new();
        t.serialize_compressed(&mut v).expect("serialize");
        v
    }

    fn median(mut v: Vec<f32>) -> f32 {
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    }

    /// One circuit's proof: its key, shape, assignment, (r, s) and the CPU backend's proof.
    struct Case {
        pk: ark_groth16::ProvingKey<ark_bls12_381::Bls12_381>,
        shape: R1csShape,
        z: Vec<ark_bls12_381::Fr>,
        r: ark_bls12_381::Fr,
        s: ark_bls12_381::Fr,
        reference: Vec<u8>,
    }

    /// Proofs per second with `lanes` proofs in flight (from as many threads) on a backend of
    /// `lanes` lanes, every proof checked against the CPU's.
    fn throughput(case: &Case, lanes: usize, per_lane: usize) -> f64 {
        let backend = Arc::new(
            CudaBackend::with_lanes(TileShape::default(), MsmConfig::default(), lanes)
                .expect("a CUDA backend"),
        );
        let prover = Prover::new(backend as Arc<dyn Backend>, case.pk.clone()).expect("gpu prover");
        let loaded: LoadedShape = prover
            .load_shape(case.shape.clone())
            .expect("load the shape");
        let prove = || {
            let proof = prover
                .prove_with_loaded_shape(&loaded, &case.z, case.r, case.s)
                .expect("gpu proof");
            assert!(
                bytes(&proof) == case.reference,
                "a proof with {lanes} in flight differs from the CPU backend's"
            );
        };
        // Warm every lane (workspaces, tables) before timing.
        std::thread::scope(|scope| {
            (0..lanes).for_each(|_| {
                scope.spawn(prove);
            })
        });
        let start = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..lanes {
                scope.spawn(|| (0..per_lane).for_each(|_| prove()));
            }
        });
        (lanes * per_lane) as f64 / start.elapsed().as_secs_f64()
    }

    /// Prints the GPU table; returns false when there is no GPU (after saying why).
    pub fn report() -> bool {
        let on_gpu = match CudaBackend::with_config(
            TileShape::default(),
            MsmConfig {
                g2: G2Placement::Gpu,
                ..MsmConfig::default()
            },
        )
        .and_then(CudaBackend::not_emulated)
        {
            Ok(b) => Arc::new(b),
            Err(e) => {
                assert!(
                    std::env::var("SPICE_REQUIRE_GPU").as_deref() != Ok("1"),
                    "SPICE_REQUIRE_GPU=1 but: {e}"
                );
                println!("gpu prove benchmark skipped: {e}");
                return false;
            }
        };
        let split = Arc::new(
            CudaBackend::with_config(
                TileShape::default(),
                MsmConfig {
                    g2: G2Placement::CpuConcurrent,
                    ..MsmConfig::default()
                },
            )
            .expect("a second CUDA backend"),
        );
        let runs: usize = std::env::var("SPICE_BENCH_PROVE_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3)
            .max(1);
        let logs: Vec<u32> = std::env::var("SPICE_BENCH_PROVE_LOGS")
            .ok()
            .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
            .unwrap_or_else(|| vec![16, 18, 20, 22]);
        println!(
            "gpu prove: device {}, {} host threads",
            on_gpu.device_name(),
            rayon::current_num_threads()
        );
        let mut rng = StdRng::seed_from_u64(5);
        let (r, s) = (
            ark_bls12_381::Fr::rand(&mut rng),
            ark_bls12_381::Fr::rand(&mut rng),
        );
        let mut rows = Vec::new();
        let mut stages: Vec<(u32, StageTimes)> = Vec::new();
        for log in logs {
            let n = 1usize << log;
            let circuit = SyntheticCircuit::new(n, 1).expect("circuit");
            let start = Instant::now();
            let pk = super::key(n, &circuit);
            let key_s = start.elapsed().as_secs_f32();
            let (shape, _) = R1csShape::from_circuit(circuit.clone()).expect("shape");
            let z = synthesize_assignment(circuit.clone()).expect("assignment");
            let cpu = Prover::new(Arc::new(CpuBackend::new()), pk.clone()).expect("cpu prover");
            let start = Instant::now();
            let reference = cpu.prove_with_shape(&shape, &z, r, s).expect("cpu proof");
            let cpu_ms = start.elapsed().as_secs_f32() * 1e3;
            let mut times = Vec::new();
            let mut host_rows_ms = 0.0;
            for backend in [on_gpu.clone(), split.clone()] {
                let load = Instant::now();
                let prover = Prover::new(backend.clone() as Arc<dyn Backend>, pk.clone())
                    .expect("gpu prover");
                // The fixed-shape path: the matrices resident, the rows evaluated on the device.
                let loaded = prover.load_shape(shape.clone()).expect("load the shape");
                let load_ms = load.elapsed().as_secs_f32() * 1e3;
                let proof = prover
                    .prove_with_loaded_shape(&loaded, &z, r, s)
                    .expect("gpu proof");
                assert!(
                    bytes(&proof) == bytes(&reference),
                    "2^{log}: the CUDA backend's proof differs from the CPU backend's"
                );
                let timed = |prove: &dyn Fn()| {
                    median(
                        (0..runs)
                            .map(|_| {
                                let start = Instant::now();
                                prove();
                                start.elapsed().as_secs_f32() * 1e3
                            })
                            .collect(),
                    )
                };
                let ms = timed(&|| {
                    prover
                        .prove_with_loaded_shape(&loaded, &z, r, s)
                        .expect("gpu proof");
                });
                if !backend.overlaps_g2_msm() {
                    // The same proof with the rows evaluated on the host and three vectors uploaded.
                    let proof = prover
                        .prove_with_shape(&shape, &z, r, s)
                        .expect("gpu proof, host rows");
                    assert!(
                        bytes(&proof) == bytes(&reference),
                        "2^{log}: host rows changed the CUDA proof"
                    );
                    host_rows_ms = timed(&|| {
                        prover
                            .prove_with_shape(&shape, &z, r, s)
                            .expect("gpu proof, host rows");
                    });
                    stages.push((
                        log,
                        prover
                            .prove_with_loaded_shape_timed(&loaded, &z, r, s)
                            .expect("timed proof")
                            .1,
                    ));
                }
                times.push((ms, load_ms));
            }
            let [(gpu_ms, load_ms), (split_ms, _)] = [times[0], times[1]];
            rows.push(format!(
                "| 2^{log} | {gpu_ms:.1} | {split_ms:.1} | {host_rows_ms:.1} | {cpu_ms:.0} | {:.1} | {load_ms:.0} | {key_s:.0} |",
                cpu_ms / gpu_ms.min(split_ms)
            ));
        }
        println!(
            "\n| constraints | gpu ms (G2 on GPU) | gpu ms (G2 on CPU alongside) | gpu ms (G2 on GPU, rows on the host) | cpu ms | cpu/best gpu | key + shape upload ms | key setup/load s |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        for row in rows {
            println!("{row}");
        }
        let throughput_logs: Vec<u32> = std::env::var("SPICE_BENCH_THROUGHPUT_LOGS")
            .ok()
            .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
            .unwrap_or_else(|| vec![16, 18]);
        let mut throughput_rows = Vec::new();
        for log in throughput_logs {
            let n = 1usize << log;
            let circuit = SyntheticCircuit::new(n, 1).expect("circuit");
            let pk = super::key(n, &circuit);
            let (shape, _) = R1csShape::from_circuit(circuit.clone()).expect("shape");
            let z = synthesize_assignment(circuit.clone()).expect("assignment");
            let cpu = Prover::new(Arc::new(CpuBackend::new()), pk.clone()).expect("cpu prover");
            let reference = bytes(&cpu.prove_with_shape(&shape, &z, r, s).expect("cpu proof"));
            let case = Case {
                pk,
                shape,
                z,
                r,
                s,
                reference,
            };
            let per_lane = (2 * runs).max(4);
            let rates: Vec<f64> = [1, 2, 4]
                .iter()
                .map(|&lanes| throughput(&case, lanes, per_lane))
                .collect();
            throughput_rows.push(format!(
                "| 2^{log} | {:.1} | {:.1} ({:.2}x) | {:.1} ({:.2}x) |",
                rates[0],
                rates[1],
                rates[1] / rates[0],
                rates[2],
                rates[2] / rates[0]
            ));
        }
        if !throughput_rows.is_empty() {
            println!("\n| constraints | proofs/s, 1 lane | proofs/s, 2 lanes, 2 in flight | proofs/s, 4 lanes, 4 in flight |");
            println!("|---|---|---|---|");
            for row in throughput_rows {
                println!("{row}");
            }
        }
        for (log, t) in stages {
            let breakdown: Vec<String> = t
                .rows()
                .iter()
                .map(|(name, d)| format!("{name} {:.1}", d.as_secs_f32() * 1e3))
                .collect();
            println!(
                "gpu prove stages 2^{log} (ms): {}; total {:.1}",
                breakdown.join(", "),
                t.total().as_secs_f32() * 1e3
            );
            for (name, d, bytes) in t.transfers.iter().flat_map(|c| c.rows()) {
                println!(
                    "gpu prove 2^{log}, within the stages: {name} {}",
                    describe_copies(d, bytes)
                );
            }
        }
        true
    }
}

fn main() {
    #[cfg(feature = "cuda")]
    gpu::report();
    if std::env::var("SPICE_BENCH_GPU_ONLY").as_deref() == Ok("1") {
        return;
    }
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
