//! MSM benchmarks.
//!
//! CPU (always, criterion): spice's batch-affine Pippenger vs arkworks' `VariableBaseMSM` vs
//! blst's Pippenger (G1), on uniform random scalars and on a Groth16-like witness (half 0/1,
//! half full-width). Sizes 2^12..2^SPICE_BENCH_MAX_LOG (default 16). Then the host's cost of
//! building window copies of the bases (G1 at 2^12 and 2^16, G2 at 2^12).
//!
//! GPU (feature `cuda`, when a device is present; first, as a table): our MSM on the CUDA
//! backend, G1 at 2^16, 2^20, 2^22, 2^24 and G2 at 2^16, 2^20 (override with
//! SPICE_BENCH_MSM_G1_LOGS / SPICE_BENCH_MSM_G2_LOGS=16,20), uniform and witness-like scalars,
//! bases resident, next to
//! * sppark's MSM over the same resident bases and host scalars (feature `bench-sppark`), its
//!   result compared with ours before any time is printed;
//! * the CPU backend on the same input (up to 2^SPICE_BENCH_CPU_MAX_LOG, default 22 for G1 and
//!   20 for G2; beyond it sppark is the reference, and without sppark the CPU still is).
//!
//! Our times: "full" is one MSM from host scalars (upload, schedule, curve launches, the host's
//! window combination: what the first MSM over a scalar vector costs); "shared" one over
//! scalars whose schedule is held (what the B, B-in-G2 and L MSMs of a proof cost after A);
//! "schedule" and "curve" the device time (CUDA events) of the two halves. Medians of
//! SPICE_BENCH_MSM_RUNS (default 5) runs after a warm-up. SPICE_BENCH_GPU_ONLY=1 skips the CPU
//! criterion part; SPICE_REQUIRE_GPU=1 makes a missing GPU an error instead of a skip.
//!
//! Then a second GPU table, the chunk sweep: G1 over uniform scalars at the planner's chunk and
//! at 2, 4 and 8 times it, at 2^16 and 2^20 (SPICE_BENCH_MSM_CHUNK_LOGS), to check the
//! planner's rule against kernels/msm/PERFORMANCE.md's prediction (lever 2).
//!
//! And a third, window copies against the plain plan (lever 1): G1 at 2^16 and 2^20
//! (SPICE_BENCH_MSM_COPIES_G1_LOGS) and G2 at 2^16 (SPICE_BENCH_MSM_COPIES_G2_LOGS), uniform
//! and witness-like scalars, each on a backend with `MsmOptions::window_copies` (one copy a
//! window and four copies; SPICE_BENCH_MSM_COPIES=all,4) next to the plain one, results checked against each other, with the seconds the copies took to build
//! and upload; and the copies' curve time with one tree block a window instead of the
//! planner's several (`MsmOptions::tree_groups`), the reduction's last step.

use ark_bls12_381::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::{BigInteger, PrimeField, UniformRand};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use criterion::{criterion_group, BenchmarkId, Criterion};
use spice::engine::{Backend, CpuBackend, MsmScalars};

fn max_log() -> u32 {
    std::env::var("SPICE_BENCH_MAX_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16)
}

fn scalars(n: usize, witness_like: bool, rng: &mut StdRng) -> Vec<Fr> {
    (0..n)
        .map(|_| {
            if witness_like && rng.gen::<bool>() {
                Fr::from(rng.gen::<bool>() as u64)
            } else {
                Fr::rand(rng)
            }
        })
        .collect()
}

fn points<G: CurveGroup>(n: usize, rng: &mut StdRng) -> Vec<G::Affine> {
    // Random multiples of one random point: cheap to make, as good as independent points here.
    let p = G::rand(rng);
    let mut acc = p;
    let v: Vec<G> = (0..n)
        .map(|_| {
            acc += p;
            acc.double()
        })
        .collect();
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
            assert_eq!(
                unsafe { blst::blst_p1_uncompress(&mut affine, bytes.as_ptr()) },
                blst::BLST_ERROR::BLST_SUCCESS
            );
            unsafe { blst::blst_p1_from_affine(&mut out, &affine) };
            out
        })
        .collect();
    blst::p1_affines::from(&projective)
}

fn blst_scalars(s: &[Fr]) -> Vec<u8> {
    s.iter()
        .flat_map(|x| x.into_bigint().to_bytes_le())
        .collect()
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
        let mut group = c.benchmark_group(if witness_like {
            "msm_g1_witness"
        } else {
            "msm_g1_random"
        });
        group.sample_size(10);
        for log in (12..=max_log()).step_by(2) {
            let n = 1usize << log;
            let bases = points::<G1Projective>(n, &mut rng);
            let s = scalars(n, witness_like, &mut rng);
            let handle = cpu.load_g1(bases.clone()).expect("load");
            let blst_bases = to_blst(&bases);
            let blst_s = blst_scalars(&s);
            // The three must agree before their times mean anything.
            let ours = cpu
                .msm_g1(&handle, &MsmScalars::new(&s))
                .expect("msm")
                .into_affine();
            assert_eq!(
                ours,
                G1Projective::msm(&bases, &s).expect("ark").into_affine()
            );
            assert_eq!(ours, from_blst(&blst_bases.mult(&blst_s, 255)));
            group.bench_with_input(BenchmarkId::new("spice", n), &n, |b, _| {
                b.iter(|| cpu.msm_g1(&handle, &MsmScalars::new(&s)).expect("msm"))
            });
            group.bench_with_input(BenchmarkId::new("arkworks", n), &n, |b, _| {
                b.iter(|| G1Projective::msm(&bases, &s).expect("ark"))
            });
            group.bench_with_input(BenchmarkId::new("blst", n), &n, |b, _| {
                b.iter(|| blst_bases.mult(&blst_s, 255))
            });
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
            cpu.msm_g2(&handle, &MsmScalars::new(&s))
                .expect("msm")
                .into_affine(),
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

/// Building the bases' window copies on the host (the reference the device's copy kernel is
/// tested against; the CUDA backend builds them on the device, and the copies table prints
/// that time), at the window the planner copies for.
fn bench_window_copies(c: &mut Criterion) {
    use spice::engine::gpu_msm::window_copies::window_copies;
    use spice::engine::gpu_msm::{base_copies, BaseCopies, MsmOptions, ALL_WINDOW_COPIES};
    let mut rng = StdRng::seed_from_u64(3);
    let options = MsmOptions {
        window_copies: ALL_WINDOW_COPIES,
        ..MsmOptions::default()
    };
    let mut group = c.benchmark_group("msm_window_copies_build");
    group.sample_size(10);
    let copies = |n: usize| -> BaseCopies {
        base_copies(n as u64, &options)
            .expect("window")
            .expect("copies on")
    };
    for log in [12, max_log().min(16)] {
        let n = 1usize << log;
        let bases = points::<G1Projective>(n, &mut rng);
        let k = copies(n);
        let name = format!("g1 c={}", k.window_bits);
        group.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
            b.iter(|| window_copies(&bases, k.window_bits, k.copies))
        });
    }
    let n = 1usize << 12;
    let bases = points::<G2Projective>(n, &mut rng);
    let k = copies(n);
    let name = format!("g2 c={}", k.window_bits);
    group.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
        b.iter(|| window_copies(&bases, k.window_bits, k.copies))
    });
    group.finish();
}

criterion_group!(benches, bench_g1, bench_g2, bench_window_copies);

#[cfg(feature = "cuda")]
mod gpu {
    use std::time::Instant;

    use ark_bls12_381::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
    use ark_ec::CurveGroup;
    use ark_ff::{UniformRand, Zero};
    use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
    use rayon::prelude::*;
    use spice::engine::cuda::msm_config::MsmConfig;
    use spice::engine::gpu_msm::{parse_window_copies, MsmOptions, ALL_WINDOW_COPIES};
    use spice::engine::gpu_ntt::TileShape;
    use spice::engine::{Backend, Bases, CpuBackend, CudaBackend, MsmScalars};

    fn env_logs(var: &str, default: &[u32]) -> Vec<u32> {
        std::env::var(var)
            .ok()
            .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
            .unwrap_or_else(|| default.to_vec())
    }

    fn env_u32(var: &str, default: u32) -> u32 {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    fn median(mut v: Vec<f32>) -> f32 {
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    }

    fn ms_since(start: Instant) -> f32 {
        start.elapsed().as_secs_f32() * 1e3
    }

    /// Uniform, or witness-like (half 0/1, half uniform), in parallel.
    fn scalars(n: usize, witness_like: bool, seed: u64) -> Vec<Fr> {
        let mut v = vec![Fr::zero(); n];
        v.par_chunks_mut(1 << 14)
            .enumerate()
            .for_each(|(i, chunk)| {
                let mut rng = StdRng::seed_from_u64(seed ^ (i as u64) << 24);
                for x in chunk {
                    *x = if witness_like && rng.gen::<bool>() {
                        Fr::from(rng.gen::<bool>() as u64)
                    } else {
                        Fr::rand(&mut rng)
                    };
                }
            });
        v
    }

    /// Random points in parallel chunks (consecutive multiples of a random point per chunk).
    fn points<G: CurveGroup>(n: usize, seed: u64) -> Vec<G::Affine> {
        let mut v = vec![G::zero(); n];
        v.par_chunks_mut(1 << 12)
            .enumerate()
            .for_each(|(i, chunk)| {
                let mut rng = StdRng::seed_from_u64(seed ^ (i as u64) << 20);
                let step = G::rand(&mut rng);
                let mut acc = G::rand(&mut rng);
                for p in chunk {
                    acc += step;
                    *p = acc;
                }
            });
        G::normalize_batch(&v)
    }

    #[cfg(feature = "bench-sppark")]
    mod sppark {
        use std::ffi::c_void;

        use ark_bls12_381::{Fq, Fq2, G1Projective, G2Projective};
        use ark_ec::AdditiveGroup;
        use ark_ff::BigInt;
        use spice::engine::kernel_host::{FrLimbs, G1AffineLimbs, G2AffineLimbs};

        /// sppark's host Jacobian point over Fq (X, Y, Z; Montgomery limbs).
        #[repr(C)]
        #[derive(Clone, Copy, Default)]
        pub struct G1Jacobian([[u64; 6]; 3]);
        /// Over Fq2 (each coordinate c0, c1).
        #[repr(C)]
        #[derive(Clone, Copy, Default)]
        pub struct G2Jacobian([[[u64; 6]; 2]; 3]);

        extern "C" {
            fn spice_sppark_g1_msm_new(
                points: *const G1AffineLimbs,
                n: usize,
                handle: *mut *mut c_void,
                err: *mut u8,
                err_len: usize,
            ) -> i32;
            fn spice_sppark_g1_msm_run(
                handle: *mut c_void,
                scalars: *const FrLimbs,
                n: usize,
                out: *mut G1Jacobian,
                err: *mut u8,
                err_len: usize,
            ) -> i32;
            fn spice_sppark_g1_msm_free(handle: *mut c_void);
            fn spice_sppark_g2_msm_new(
                points: *const G2AffineLimbs,
                n: usize,
                handle: *mut *mut c_void,
                err: *mut u8,
                err_len: usize,
            ) -> i32;
            fn spice_sppark_g2_msm_run(
                handle: *mut c_void,
                scalars: *const FrLimbs,
                n: usize,
                out: *mut G2Jacobian,
                err: *mut u8,
                err_len: usize,
            ) -> i32;
            fn spice_sppark_g2_msm_free(handle: *mut c_void);
        }

        fn message(code: i32, err: &[u8]) -> String {
            let end = err.iter().position(|&b| b == 0).unwrap_or(err.len());
            format!(
                "sppark failed ({code}): {}",
                String::from_utf8_lossy(&err[..end])
            )
        }

        fn fq(l: [u64; 6]) -> Result<Fq, String> {
            let b = BigInt(l);
            (b < <Fq as ark_ff::PrimeField>::MODULUS)
                .then(|| Fq::new_unchecked(b))
                .ok_or_else(|| "sppark returned an unreduced coordinate".into())
        }

        /// Bases resident on the device for sppark.
        pub struct Msm {
            handle: *mut c_void,
            len: usize,
            g2: bool,
        }

        impl Drop for Msm {
            fn drop(&mut self) {
                // SAFETY: created by the matching _new, freed once.
                unsafe {
                    if self.g2 {
                        spice_sppark_g2_msm_free(self.handle)
                    } else {
                        spice_sppark_g1_msm_free(self.handle)
                    }
                }
            }
        }

        impl Msm {
            pub fn new_g1(points: &[G1AffineLimbs]) -> Result<Self, String> {
                let mut handle = std::ptr::null_mut();
                let mut err = [0u8; 512];
                // SAFETY: `points` holds n points in sppark's affine layout (x, y Montgomery).
                let code = unsafe {
                    spice_sppark_g1_msm_new(
                        points.as_ptr(),
                        points.len(),
                        &mut handle,
                        err.as_mut_ptr(),
                        err.len(),
                    )
                };
                if code != 0 {
                    return Err(message(code, &err));
                }
                Ok(Self {
                    handle,
                    len: points.len(),
                    g2: false,
                })
            }
            pub fn run_g1(&self, scalars: &[FrLimbs]) -> Result<G1Projective, String> {
                assert!(!self.g2 && scalars.len() == self.len);
                let mut out = G1Jacobian::default();
                let mut err = [0u8; 512];
                // SAFETY: the handle's bases are n long; `scalars` n Montgomery scalars.
                let code = unsafe {
                    spice_sppark_g1_msm_run(
                        self.handle,
                        scalars.as_ptr(),
                        scalars.len(),
                        &mut out,
                        err.as_mut_ptr(),
                        err.len(),
                    )
                };
                if code != 0 {
                    return Err(message(code, &err));
                }
                let [x, y, z] = out.0;
                let z = fq(z)?;
                if ark_ff::Zero::is_zero(&z) {
                    return Ok(G1Projective::ZERO);
                }
                Ok(G1Projective::new_unchecked(fq(x)?, fq(y)?, z))
            }

            pub fn new_g2(points: &[G2AffineLimbs]) -> Result<Self, String> {
                let mut handle = std::ptr::null_mut();
                let mut err = [0u8; 512];
                // SAFETY: as for G1, with Fq2 coordinates (c0, c1).
                let code = unsafe {
                    spice_sppark_g2_msm_new(
                        points.as_ptr(),
                        points.len(),
                        &mut handle,
                        err.as_mut_ptr(),
                        err.len(),
                    )
                };
                if code != 0 {
                    return Err(message(code, &err));
                }
                Ok(Self {
                    handle,
                    len: points.len(),
                    g2: true,
                })
            }
            pub fn run_g2(&self, scalars: &[FrLimbs]) -> Result<G2Projective, String> {
                assert!(self.g2 && scalars.len() == self.len);
                let mut out = G2Jacobian::default();
                let mut err = [0u8; 512];
                // SAFETY: as for G1.
                let code = unsafe {
                    spice_sppark_g2_msm_run(
                        self.handle,
                        scalars.as_ptr(),
                        scalars.len(),
                        &mut out,
                        err.as_mut_ptr(),
                        err.len(),
                    )
                };
                if code != 0 {
                    return Err(message(code, &err));
                }
                let f2 = |c: [[u64; 6]; 2]| -> Result<Fq2, String> {
                    Ok(Fq2::new(fq(c[0])?, fq(c[1])?))
                };
                let [x, y, z] = out.0;
                let z = f2(z)?;
                if ark_ff::Zero::is_zero(&z) {
                    return Ok(G2Projective::ZERO);
                }
                Ok(G2Projective::new_unchecked(f2(x)?, f2(y)?, z))
            }
        }
    }

    /// One group's operations, so the table code is written once for G1 and G2.
    trait Group: Sized {
        type Affine: Clone + Send + Sync + PartialEq + std::fmt::Debug;
        type Projective: CurveGroup<Affine = Self::Affine>;
        const NAME: &'static str;
        fn load(gpu: &CudaBackend, p: Vec<Self::Affine>) -> Bases<Self::Affine>;
        fn gpu_msm(gpu: &CudaBackend, b: &Bases<Self::Affine>, s: &MsmScalars) -> Self::Projective;
        fn gpu_timed(
            gpu: &CudaBackend,
            b: &Bases<Self::Affine>,
            s: &MsmScalars,
        ) -> (Self::Projective, f32, f32);
        fn cpu_msm(cpu: &CpuBackend, p: &[Self::Affine], s: &MsmScalars) -> Self::Projective;
        #[cfg(feature = "bench-sppark")]
        type Sppark;
        #[cfg(feature = "bench-sppark")]
        fn sppark_new(p: &[Self::Affine]) -> Result<Self::Sppark, String>;
        #[cfg(feature = "bench-sppark")]
        fn sppark_run(
            h: &Self::Sppark,
            s: &[spice::engine::kernel_host::FrLimbs],
        ) -> Result<Self::Projective, String>;
    }

    struct G1;
    struct G2;

    impl Group for G1 {
        type Affine = G1Affine;
        type Projective = G1Projective;
        const NAME: &'static str = "G1";
        fn load(gpu: &CudaBackend, p: Vec<G1Affine>) -> Bases<G1Affine> {
            gpu.load_g1(p).expect("load")
        }
        fn gpu_msm(gpu: &CudaBackend, b: &Bases<G1Affine>, s: &MsmScalars) -> G1Projective {
            gpu.msm_g1(b, s).expect("gpu msm")
        }
        fn gpu_timed(
            gpu: &CudaBackend,
            b: &Bases<G1Affine>,
            s: &MsmScalars,
        ) -> (G1Projective, f32, f32) {
            let (r, t) = gpu.msm_g1_timed(b, s).expect("timed msm");
            (r, t.schedule_ms, t.curve_ms)
        }
        fn cpu_msm(cpu: &CpuBackend, p: &[G1Affine], s: &MsmScalars) -> G1Projective {
            cpu.msm_g1(&cpu.load_g1(p.to_vec()).expect("load"), s)
                .expect("cpu msm")
        }
        #[cfg(feature = "bench-sppark")]
        type Sppark = sppark::Msm;
        #[cfg(feature = "bench-sppark")]
        fn sppark_new(p: &[G1Affine]) -> Result<Self::Sppark, String> {
            sppark::Msm::new_g1(&p.iter().map(|&q| q.into()).collect::<Vec<_>>())
        }
        #[cfg(feature = "bench-sppark")]
        fn sppark_run(
            h: &Self::Sppark,
            s: &[spice::engine::kernel_host::FrLimbs],
        ) -> Result<G1Projective, String> {
            h.run_g1(s)
        }
    }

    impl Group for G2 {
        type Affine = G2Affine;
        type Projective = G2Projective;
        const NAME: &'static str = "G2";
        fn load(gpu: &CudaBackend, p: Vec<G2Affine>) -> Bases<G2Affine> {
            gpu.load_g2(p).expect("load")
        }
        fn gpu_msm(gpu: &CudaBackend, b: &Bases<G2Affine>, s: &MsmScalars) -> G2Projective {
            gpu.msm_g2(b, s).expect("gpu msm")
        }
        fn gpu_timed(
            gpu: &CudaBackend,
            b: &Bases<G2Affine>,
            s: &MsmScalars,
        ) -> (G2Projective, f32, f32) {
            let (r, t) = gpu
                .msm_g2_timed(b, s)
                .expect("timed msm (G2 must be on the GPU: unset SPICE_CUDA_G2_MSM)");
            (r, t.schedule_ms, t.curve_ms)
        }
        fn cpu_msm(cpu: &CpuBackend, p: &[G2Affine], s: &MsmScalars) -> G2Projective {
            cpu.msm_g2(&cpu.load_g2(p.to_vec()).expect("load"), s)
                .expect("cpu msm")
        }
        #[cfg(feature = "bench-sppark")]
        type Sppark = sppark::Msm;
        #[cfg(feature = "bench-sppark")]
        fn sppark_new(p: &[G2Affine]) -> Result<Self::Sppark, String> {
            sppark::Msm::new_g2(&p.iter().map(|&q| q.into()).collect::<Vec<_>>())
        }
        #[cfg(feature = "bench-sppark")]
        fn sppark_run(
            h: &Self::Sppark,
            s: &[spice::engine::kernel_host::FrLimbs],
        ) -> Result<G2Projective, String> {
            h.run_g2(s)
        }
    }

    fn fmt(ms: Option<f32>) -> String {
        ms.map_or_else(|| "-".into(), |m| format!("{m:.2}"))
    }

    fn ratio(a: f32, b: Option<f32>) -> String {
        b.map_or_else(|| "-".into(), |b| format!("{:.2}", a / b))
    }

    fn rows_for<G: Group>(
        gpu: &CudaBackend,
        log: u32,
        cpu_max_log: u32,
        runs: usize,
        rows: &mut Vec<String>,
    ) {
        let n = 1usize << log;
        let cpu = CpuBackend::new();
        let bases = points::<G::Projective>(n, 0x5eed ^ u64::from(log));
        let handle = G::load(gpu, bases.clone());
        #[cfg(feature = "bench-sppark")]
        let sppark = match G::sppark_new(&bases) {
            Ok(h) => Some(h),
            Err(e) => {
                println!("gpu msm {} 2^{log}: sppark unavailable: {e}", G::NAME);
                None
            }
        };
        for witness_like in [false, true] {
            let kind = if witness_like { "witness" } else { "uniform" };
            let values = scalars(n, witness_like, u64::from(log) << 1 | witness_like as u64);
            let ours = G::gpu_msm(gpu, &handle, &MsmScalars::new(&values)).into_affine();
            // sppark's result (and time) on the same input.
            #[cfg(feature = "bench-sppark")]
            let sppark_ms = sppark.as_ref().map(|h| {
                let limbs: Vec<_> = values.iter().map(|&x| x.into()).collect();
                let theirs = G::sppark_run(h, &limbs).expect("sppark msm").into_affine();
                assert!(
                    theirs == ours,
                    "sppark's {} MSM of 2^{log} ({kind}) differs from ours",
                    G::NAME
                );
                median(
                    (0..runs)
                        .map(|_| {
                            let start = Instant::now();
                            G::sppark_run(h, &limbs).expect("sppark msm");
                            ms_since(start)
                        })
                        .collect(),
                )
            });
            #[cfg(not(feature = "bench-sppark"))]
            let sppark_ms: Option<f32> = None;
            // The CPU where it is quick enough, or when nothing else can check us.
            let cpu_ms = (log <= cpu_max_log || sppark_ms.is_none()).then(|| {
                let s = MsmScalars::new(&values);
                let start = Instant::now();
                let reference = G::cpu_msm(&cpu, &bases, &s).into_affine();
                let ms = ms_since(start);
                assert!(
                    reference == ours,
                    "our GPU {} MSM of 2^{log} ({kind}) differs from the CPU's",
                    G::NAME
                );
                ms
            });
            let full = median(
                (0..runs)
                    .map(|_| {
                        let s = MsmScalars::new(&values);
                        let start = Instant::now();
                        G::gpu_msm(gpu, &handle, &s);
                        ms_since(start)
                    })
                    .collect(),
            );
            let shared_scalars = MsmScalars::new(&values);
            gpu.prepare_scalars(&shared_scalars).expect("prepare");
            let shared = median(
                (0..runs)
                    .map(|_| {
                        let start = Instant::now();
                        G::gpu_msm(gpu, &handle, &shared_scalars);
                        ms_since(start)
                    })
                    .collect(),
            );
            let (mut schedule, mut curve) = (Vec::new(), Vec::new());
            for _ in 0..runs {
                let (r, s, c) = G::gpu_timed(gpu, &handle, &MsmScalars::new(&values));
                assert!(r.into_affine() == ours, "the timed MSM differs");
                schedule.push(s);
                curve.push(c);
            }
            let plan = gpu.msm_plan(&shared_scalars).expect("plan");
            rows.push(format!(
                "| {} | 2^{log} | {kind} | {full:.2} | {shared:.2} | {:.2} | {:.2} | {} | {} | {} | {} | c={} W={} T={} |",
                G::NAME,
                median(schedule),
                median(curve),
                fmt(sppark_ms),
                ratio(full, sppark_ms),
                fmt(cpu_ms),
                cpu_ms.map_or_else(|| "-".into(), |c| format!("{:.1}", c / full)),
                plan.window_bits,
                plan.windows,
                plan.chunk,
            ));
        }
    }

    /// Prints the GPU table; returns false when there is no GPU (after saying why).
    pub fn report() -> bool {
        let gpu = match CudaBackend::new().and_then(CudaBackend::not_emulated) {
            Ok(b) => b,
            Err(e) => {
                assert!(
                    std::env::var("SPICE_REQUIRE_GPU").as_deref() != Ok("1"),
                    "SPICE_REQUIRE_GPU=1 but: {e}"
                );
                println!("gpu msm benchmark skipped: {e}");
                return false;
            }
        };
        let runs = env_u32("SPICE_BENCH_MSM_RUNS", 5).max(1) as usize;
        println!(
            "gpu msm: device {} (sm_{}{}), {} threads of rayon on the host, MSM settings {:?}",
            gpu.device_name(),
            gpu.compute_capability().0,
            gpu.compute_capability().1,
            rayon::current_num_threads(),
            gpu.msm_config()
        );
        // Warm-up: module load is done; the first MSM allocates the workspace.
        let warm = points::<G1Projective>(1 << 12, 1);
        let h = gpu.load_g1(warm).expect("load");
        let _ = gpu
            .msm_g1(&h, &MsmScalars::new(&scalars(1 << 12, false, 1)))
            .expect("warm-up");
        let mut rows = Vec::new();
        for log in env_logs("SPICE_BENCH_MSM_G1_LOGS", &[16, 20, 22, 24]) {
            rows_for::<G1>(
                &gpu,
                log,
                env_u32("SPICE_BENCH_CPU_MAX_LOG", 22),
                runs,
                &mut rows,
            );
        }
        for log in env_logs("SPICE_BENCH_MSM_G2_LOGS", &[16, 20]) {
            rows_for::<G2>(
                &gpu,
                log,
                env_u32("SPICE_BENCH_CPU_MAX_LOG", 20),
                runs,
                &mut rows,
            );
        }
        println!("\n| group | size | scalars | ours full ms | ours shared ms | schedule ms | curve ms | sppark ms | ours/sppark | cpu ms | cpu/ours | plan |");
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
        for r in rows {
            println!("{r}");
        }
        chunk_sweep(&gpu, runs);
        let mut rows = Vec::new();
        let copies: Vec<u32> = std::env::var("SPICE_BENCH_MSM_COPIES")
            .unwrap_or_else(|_| "all,4".into())
            .split(',')
            .map(|k| parse_window_copies(k).expect("SPICE_BENCH_MSM_COPIES"))
            .collect();
        for log in env_logs("SPICE_BENCH_MSM_COPIES_G1_LOGS", &[16, 20]) {
            for &k in &copies {
                copies_rows::<G1>(&gpu, log, k, runs, &mut rows);
            }
        }
        for log in env_logs("SPICE_BENCH_MSM_COPIES_G2_LOGS", &[16]) {
            for &k in &copies {
                copies_rows::<G2>(&gpu, log, k, runs, &mut rows);
            }
        }
        println!("\ngpu msm with window copies against the plain plan (full: from host scalars; curve: device ms of the curve launches):");
        println!("| group | size | scalars | copies | plain full ms | plain curve ms | copies full ms | copies curve ms | copies/plain curve | copies curve ms, one tree a window | plain plan | copies plan | copies built + uploaded s |");
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        for r in rows {
            println!("{r}");
        }
        true
    }

    /// One group at 2^`log`: the plain backend `gpu` against one with `k` window copies
    /// ([`MsmOptions::window_copies`]), on the same bases and scalars.
    fn copies_rows<G: Group>(
        gpu: &CudaBackend,
        log: u32,
        k: u32,
        runs: usize,
        rows: &mut Vec<String>,
    ) {
        let n = 1usize << log;
        let bases = points::<G::Projective>(n, 70 + u64::from(log));
        let config = gpu.msm_config();
        let backend = |options: MsmOptions| {
            CudaBackend::with_config(TileShape::default(), MsmConfig { options, ..config })
                .expect("another backend on the same device")
        };
        let copies = backend(MsmOptions {
            window_copies: k,
            ..config.options
        });
        let one_tree = backend(MsmOptions {
            window_copies: k,
            tree_groups: Some(1),
            ..config.options
        });
        let plain_handle = G::load(gpu, bases.clone());
        let start = Instant::now();
        let copies_handle = G::load(&copies, bases);
        let load_s = start.elapsed().as_secs_f64();
        for witness_like in [false, true] {
            let kind = if witness_like { "witness" } else { "uniform" };
            let values = scalars(
                n,
                witness_like,
                80 + (u64::from(log) << 1 | witness_like as u64),
            );
            let expected = G::gpu_msm(gpu, &plain_handle, &MsmScalars::new(&values)).into_affine();
            let ours = G::gpu_msm(&copies, &copies_handle, &MsmScalars::new(&values)).into_affine();
            assert!(
                ours == expected,
                "the {} MSM of 2^{log} ({kind}) with window copies differs from the plain plan's",
                G::NAME
            );
            let time = |backend: &CudaBackend, handle: &Bases<G::Affine>| {
                let full = median(
                    (0..runs)
                        .map(|_| {
                            let s = MsmScalars::new(&values);
                            let start = Instant::now();
                            G::gpu_msm(backend, handle, &s);
                            ms_since(start)
                        })
                        .collect(),
                );
                let curve = median(
                    (0..runs)
                        .map(|_| G::gpu_timed(backend, handle, &MsmScalars::new(&values)).2)
                        .collect(),
                );
                (full, curve)
            };
            let (plain_full, plain_curve) = time(gpu, &plain_handle);
            let (copies_full, copies_curve) = time(&copies, &copies_handle);
            // The copies' handle serves the one-tree backend too: same device, same window.
            let one_tree_result =
                G::gpu_msm(&one_tree, &copies_handle, &MsmScalars::new(&values)).into_affine();
            assert!(
                one_tree_result == expected,
                "the {} MSM of 2^{log} ({kind}) with copies and one tree a window differs",
                G::NAME
            );
            let (_, one_tree_curve) = time(&one_tree, &copies_handle);
            let shape = |backend: &CudaBackend| {
                let plan = backend.msm_plan(&MsmScalars::new(&values)).expect("plan");
                format!(
                    "c={} W={} k={} buckets={} T={} trees={}x{}",
                    plan.window_bits,
                    plan.windows,
                    plan.copies,
                    plan.buckets,
                    plan.chunk,
                    plan.bucket_windows,
                    plan.tree_groups
                )
            };
            rows.push(format!(
                "| {} | 2^{log} | {kind} | {} | {plain_full:.2} | {plain_curve:.2} | {copies_full:.2} | {copies_curve:.2} | {:.2} | {one_tree_curve:.2} | {} | {} | {load_s:.1} |",
                G::NAME,
                if k == ALL_WINDOW_COPIES {
                    "all".to_string()
                } else {
                    k.to_string()
                },
                copies_curve / plain_curve,
                shape(gpu),
                shape(&copies),
            ));
        }
    }

    /// G1 over uniform scalars at the planner's chunk and at 2, 4 and 8 times it, each on a
    /// backend of its own (the same device), results checked against the planner's. The
    /// planner sizes chunks for four waves of the device; with equal chunks one wave should
    /// do, and larger chunks pass fewer partial sums to the later levels (full additions,
    /// 2 per chunk): kernels/msm/PERFORMANCE.md predicts −18% at 2^16 and −6% at 2^20 for
    /// one wave, if the occupancy holds.
    fn chunk_sweep(gpu: &CudaBackend, runs: usize) {
        let mut rows = Vec::new();
        for log in env_logs("SPICE_BENCH_MSM_CHUNK_LOGS", &[16, 20]) {
            let n = 1usize << log;
            let bases = points::<G1Projective>(n, 40 + u64::from(log));
            let values = scalars(n, false, 50 + u64::from(log));
            let reference = gpu
                .msm_g1(
                    &gpu.load_g1(bases.clone()).expect("load"),
                    &MsmScalars::new(&values),
                )
                .expect("msm")
                .into_affine();
            let planned = gpu.msm_plan(&MsmScalars::new(&values)).expect("plan").chunk;
            for chunk in [planned, 2 * planned, 4 * planned, 8 * planned] {
                let config = gpu.msm_config();
                let config = MsmConfig {
                    options: MsmOptions {
                        chunk: Some(chunk),
                        ..config.options
                    },
                    ..config
                };
                let backend = CudaBackend::with_config(TileShape::default(), config)
                    .expect("a second backend on the same device");
                let handle = backend.load_g1(bases.clone()).expect("load");
                let shared = MsmScalars::new(&values);
                let ours = backend.msm_g1(&handle, &shared).expect("msm").into_affine();
                assert!(
                    ours == reference,
                    "the MSM of 2^{log} with chunks of {chunk} differs"
                );
                let plan = backend.msm_plan(&shared).expect("plan");
                let ms = median(
                    (0..runs)
                        .map(|_| {
                            let s = MsmScalars::new(&values);
                            let start = Instant::now();
                            let _sum = backend.msm_g1(&handle, &s).expect("msm");
                            ms_since(start)
                        })
                        .collect(),
                );
                rows.push(format!(
                    "| G1 | 2^{log} | {chunk}{} | {} | {} | {} | {ms:.3} |",
                    if chunk == planned { " (planner)" } else { "" },
                    plan.levels[0].threads,
                    plan.levels.get(1).map_or(0, |l| l.input_capacity),
                    plan.levels.len(),
                ));
            }
        }
        println!("\ngpu msm chunk sweep (uniform scalars; level 0 threads, the partial sums level 1 adds, levels):");
        println!(
            "| group | size | chunk | level 0 threads | level 1 input | levels | ours full ms |"
        );
        println!("|---|---|---|---|---|---|---|");
        for r in rows {
            println!("{r}");
        }
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
