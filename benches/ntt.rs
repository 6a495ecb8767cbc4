//! NTT benchmarks.
//!
//! CPU (always, criterion): spice's backend call (arkworks' radix-2 transform behind the
//! `Backend` trait, plus one copy) vs calling arkworks directly, 2^12..2^SPICE_BENCH_MAX_LOG (20).
//!
//! GPU (feature `cuda`, when a device is present; first, as a table): our forward NTT on data
//! resident on the device at 2^16, 2^20, 2^24, 2^26 (override with SPICE_BENCH_GPU_LOGS=16,20),
//! for several tile shapes, next to
//! * the bandwidth floor: the bytes that must cross DRAM (read the input once, write the output
//!   once: 64 bytes a point) over the device-to-device copy bandwidth measured in the same run,
//!   and the share of twice that floor (two round trips: the least an array several times the
//!   chip's memory allows, see kernels/ntt/PERFORMANCE.md);
//! * sppark's NTT on the same resident input (feature `bench-sppark`), whose output must equal
//!   ours byte for byte before its time is printed;
//! * the CPU backend on the same input (up to 2^24, where it is also the correctness check).
//!
//! Device times are medians of CUDA-event timings after warm-up. SPICE_BENCH_GPU_ONLY=1 skips
//! the CPU criterion part; SPICE_REQUIRE_GPU=1 makes a missing GPU an error instead of a skip.

use ark_bls12_381::Fr;
use ark_ff::UniformRand;
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use ark_std::rand::{rngs::StdRng, SeedableRng};
use criterion::{BenchmarkId, Criterion};
use spice::engine::{Backend, CpuBackend, NttDirection};

fn cpu_bench(c: &mut Criterion) {
    let max_log: u32 = std::env::var("SPICE_BENCH_MAX_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
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

#[cfg(feature = "cuda")]
mod gpu {
    use std::time::Instant;

    use ark_bls12_381::Fr;
    use ark_ff::{UniformRand, Zero};
    use ark_std::rand::{rngs::StdRng, SeedableRng};
    use rayon::prelude::*;
    use spice::engine::gpu_ntt::TileShape;
    use spice::engine::{Backend, CpuBackend, CudaBackend, NttDirection};

    /// Timed runs per measurement (after two warm-up runs).
    const RUNS: usize = 20;

    /// Tile shapes compared: the default (32 KiB of shared memory), and the larger tiles
    /// Ampere and Hopper allow (64 and 128 KiB), which need fewer passes at large sizes.
    const TILES: [TileShape; 3] = [
        TileShape {
            tile_log: 10,
            columns_log: 2,
            max_threads: 256,
        },
        TileShape {
            tile_log: 11,
            columns_log: 2,
            max_threads: 256,
        },
        TileShape {
            tile_log: 12,
            columns_log: 2,
            max_threads: 512,
        },
    ];

    fn random(n: usize, seed: u64) -> Vec<Fr> {
        let mut v = vec![Fr::zero(); n];
        v.par_chunks_mut(1 << 16)
            .enumerate()
            .for_each(|(i, chunk)| {
                let mut rng = StdRng::seed_from_u64(seed ^ (i as u64) << 20);
                chunk.iter_mut().for_each(|x| *x = Fr::rand(&mut rng));
            });
        v
    }

    fn median(mut v: Vec<f32>) -> f32 {
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    }

    #[cfg(feature = "bench-sppark")]
    mod sppark {
        use ark_bls12_381::Fr;
        use ark_ff::Zero;
        use spice::engine::kernel_host::FrLimbs;

        extern "C" {
            fn spice_sppark_ntt_forward(
                lg_n: u32,
                runs: u32,
                input: *const FrLimbs,
                output: *mut FrLimbs,
                median_ms: *mut f32,
                err: *mut u8,
                err_len: usize,
            ) -> i32;
        }

        /// sppark's forward NTT of `data` (resident on the device): its output and median time.
        pub fn forward(data: &[Fr], runs: usize) -> Result<(Vec<Fr>, f32), String> {
            let input: Vec<FrLimbs> = data.iter().map(|&x| x.into()).collect();
            let mut output = vec![FrLimbs::default(); data.len()];
            let mut ms = 0f32;
            let mut err = [0u8; 512];
            // SAFETY: input and output hold 2^lg_n elements in the layout sppark's fr_t uses
            // (Montgomery form, R = 2^256, little-endian limbs); err has err.len() bytes.
            let code = unsafe {
                spice_sppark_ntt_forward(
                    data.len().trailing_zeros(),
                    runs as u32,
                    input.as_ptr(),
                    output.as_mut_ptr(),
                    &mut ms,
                    err.as_mut_ptr(),
                    err.len(),
                )
            };
            if code != 0 {
                let end = err.iter().position(|&b| b == 0).unwrap_or(err.len());
                return Err(format!(
                    "sppark failed ({code}): {}",
                    String::from_utf8_lossy(&err[..end])
                ));
            }
            let out = output
                .into_iter()
                .map(|l| Fr::try_from(l).unwrap_or(Fr::zero()))
                .collect();
            Ok((out, ms))
        }
    }

    fn gpu_logs() -> Vec<u32> {
        std::env::var("SPICE_BENCH_GPU_LOGS")
            .ok()
            .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
            .unwrap_or_else(|| vec![16, 20, 24, 26])
    }

    fn fmt_ms(ms: Option<f32>) -> String {
        ms.map_or_else(|| "-".into(), |m| format!("{m:.3}"))
    }

    /// Prints the GPU table; returns false when there is no GPU (after saying why).
    pub fn report() -> bool {
        let probe = match CudaBackend::new().and_then(CudaBackend::not_emulated) {
            Ok(b) => b,
            Err(e) => {
                assert!(
                    std::env::var("SPICE_REQUIRE_GPU").as_deref() != Ok("1"),
                    "SPICE_REQUIRE_GPU=1 but: {e}"
                );
                println!("gpu ntt benchmark skipped: {e}");
                return false;
            }
        };
        let (total, _) = probe.memory().expect("device memory");
        // 2^25 elements (1 GiB) a side: far beyond the L2 cache, so DRAM is what is measured.
        let bandwidth = probe.copy_bandwidth(1 << 25, RUNS).expect("copy bandwidth");
        println!(
            "gpu ntt: device {} (sm_{}{}, {} GiB); measured copy bandwidth {:.0} GB/s (read + write)",
            probe.device_name(),
            probe.compute_capability().0,
            probe.compute_capability().1,
            total >> 30,
            bandwidth / 1e9
        );
        drop(probe);
        let cpu = CpuBackend::new();
        let mut rows = Vec::new();
        for log in gpu_logs() {
            let n = 1usize << log;
            let data = random(n, u64::from(log));
            // The reference: the CPU backend where it is quick enough, else sppark below.
            let (reference, cpu_ms) = if log <= 24 {
                let mut times = Vec::new();
                let mut out = Vec::new();
                for _ in 0..3 {
                    let mut v = data.clone();
                    let start = Instant::now();
                    cpu.ntt(&mut v, NttDirection::Forward).expect("cpu ntt");
                    times.push(start.elapsed().as_secs_f32() * 1e3);
                    out = v;
                }
                (Some(out), Some(median(times)))
            } else {
                (None, None)
            };
            #[cfg(feature = "bench-sppark")]
            let sppark = match sppark::forward(&data, RUNS) {
                Ok((out, ms)) => {
                    if let Some(r) = &reference {
                        assert!(out == *r, "sppark's NTT of 2^{log} differs from the CPU's");
                    }
                    Some((out, ms))
                }
                Err(e) => {
                    println!("gpu ntt 2^{log}: sppark unavailable: {e}");
                    None
                }
            };
            #[cfg(not(feature = "bench-sppark"))]
            let sppark: Option<(Vec<Fr>, f32)> = None;
            let reference = reference.or_else(|| sppark.as_ref().map(|(o, _)| o.clone()));
            let sppark_ms = sppark.map(|(_, ms)| ms);
            let floor_ms = (64.0 * n as f64 / bandwidth * 1e3) as f32;
            for tile in TILES {
                let gpu = match CudaBackend::with_tile(tile) {
                    Ok(g) => g,
                    Err(e) => {
                        println!(
                            "gpu ntt 2^{log} tile 2^{}: not runnable here: {e}",
                            tile.tile_log
                        );
                        continue;
                    }
                };
                let mut v = gpu.upload(&data).expect("upload");
                gpu.ntt_resident(&mut v, NttDirection::Forward)
                    .expect("ntt");
                let out = gpu.download(&v).expect("download");
                let checked = match &reference {
                    Some(r) => {
                        assert!(
                            out == *r,
                            "our GPU NTT of 2^{log} (tile 2^{}) differs from the reference",
                            tile.tile_log
                        );
                        "yes"
                    }
                    None => "no reference",
                };
                let mut v = gpu.upload(&data).expect("upload");
                for _ in 0..2 {
                    gpu.ntt_resident(&mut v, NttDirection::Forward)
                        .expect("warm-up");
                }
                gpu.synchronize().expect("sync");
                let times: Vec<f32> = (0..RUNS)
                    .map(|_| {
                        gpu.time_ms(|g| g.ntt_resident(&mut v, NttDirection::Forward))
                            .expect("timed ntt")
                    })
                    .collect();
                let ours = median(times);
                rows.push(format!(
                    "| 2^{log} | 2^{}/{}c/{}t | {ours:.3} | {floor_ms:.3} | {:.0}% | {:.0}% | {} | {} | {} | {} | {checked} |",
                    tile.tile_log,
                    1 << tile.columns_log,
                    tile.max_threads,
                    100.0 * floor_ms / ours,
                    200.0 * floor_ms / ours,
                    fmt_ms(sppark_ms),
                    sppark_ms.map_or_else(|| "-".into(), |s| format!("{:.2}", ours / s)),
                    fmt_ms(cpu_ms),
                    cpu_ms.map_or_else(|| "-".into(), |c| format!("{:.1}", c / ours)),
                ));
            }
        }
        // "2 trips": the share of twice the floor, the least traffic a transform of an array
        // several times the chip's memory can make (kernels/ntt/PERFORMANCE.md).
        println!("\n| size | tile/columns/threads | ours ms | floor ms | floor/ours | 2 trips/ours | sppark ms | ours/sppark | cpu ms | cpu/ours | checked |");
        println!("|---|---|---|---|---|---|---|---|---|---|---|");
        for r in rows {
            println!("{r}");
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
    let mut c = Criterion::default().configure_from_args();
    cpu_bench(&mut c);
    c.final_summary();
}
