//! The arithmetic race on the GPU: our field and G1 arithmetic against sppark's, one operation
//! at a time (feature `bench-sppark`; kernels/bench/race.cuh says how).
//!
//! Every thread runs a dependent chain of one operation (x = x·b, x = x², or x = x + b for a
//! G1 XYZZ point and an affine b) over its own element; both sides get the same inputs, the
//! same launch shape (256 threads a block) and the same CUDA-event timer, and their outputs
//! must match arkworks on sampled elements (and, for the fields, each other on every element)
//! before any time is printed. What it tells: whether the static comparison of
//! `scripts/sass-vs-sppark.sh` (instructions) holds as time on the device, and how many
//! operations a second the MSM's and NTT's inner loops can have at most.
//!
//! Env: SPICE_BENCH_ARITH_LOG (log2 of the elements, default 20), SPICE_BENCH_ARITH_RUNS
//! (timed runs after one untimed, default 10), SPICE_REQUIRE_GPU=1 (a missing GPU is an
//! error, not a skip).

use ark_bls12_381::{Fq, Fq2, Fr, G1Affine, G1Projective};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{Field, UniformRand, Zero};
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use bytemuck::{Pod, Zeroable};
use rayon::prelude::*;
use spice::engine::cuda::arith_race::{race, RaceError, RaceOp, Side};
use spice::engine::kernel_host::{Fq2Limbs, FqLimbs, FrLimbs, G1AffineLimbs, G1XyzzLimbs};
use spice::engine::CudaBackend;

fn name(op: RaceOp) -> &'static str {
    match op {
        RaceOp::FrMul => "Fr mul",
        RaceOp::FrSqr => "Fr sqr",
        RaceOp::FqMul => "Fq mul",
        RaceOp::FqSqr => "Fq sqr",
        RaceOp::Fq2Mul => "Fq2 mul",
        RaceOp::Fq2Sqr => "Fq2 sqr",
        RaceOp::G1Madd => "G1 XYZZ + affine",
    }
}

/// Chain length: about 10^8..10^9 operations a run, a few milliseconds on an H100.
fn rounds(op: RaceOp) -> u32 {
    match op {
        RaceOp::FrMul | RaceOp::FrSqr | RaceOp::FqMul | RaceOp::FqSqr => 256,
        RaceOp::Fq2Mul | RaceOp::Fq2Sqr => 64,
        RaceOp::G1Madd => 16,
    }
}

fn random_vec<T: Send, F: Fn(&mut StdRng) -> T + Sync>(n: usize, seed: u64, f: F) -> Vec<T> {
    (0..n)
        .into_par_iter()
        .chunks(1 << 14)
        .flat_map_iter(|chunk| {
            let mut rng = StdRng::seed_from_u64(seed ^ ((chunk[0] as u64) << 20));
            chunk.into_iter().map(|_| f(&mut rng)).collect::<Vec<_>>()
        })
        .collect()
}

/// n distinct points P, P + Q, P + 2Q, ... for a random P and Q: one addition each instead of
/// a scalar multiplication each, then one batch normalisation.
fn g1_points(n: usize, rng: &mut StdRng) -> Vec<G1Affine> {
    let p = G1Projective::rand(rng);
    let q = G1Projective::rand(rng);
    let mut points = Vec::with_capacity(n);
    let mut acc = p;
    for _ in 0..n {
        points.push(acc);
        acc += q;
    }
    G1Projective::normalize_batch(&points)
}

/// Elements checked against arkworks: the first, the last and some in between.
fn samples(n: usize, rng: &mut StdRng) -> Vec<usize> {
    let mut s = vec![0, n - 1];
    s.extend((0..30).map(|_| rng.gen_range(0..n)));
    s
}

/// One row of the table.
struct Row {
    op: RaceOp,
    n: usize,
    ours_ms: f32,
    sppark_ms: f32,
    note: &'static str,
}

fn field_row<F, L>(
    op: RaceOp,
    square: bool,
    n: usize,
    runs: u32,
    seed: u64,
) -> Result<Row, RaceError>
where
    F: Field + UniformRand + Send + Sync,
    L: Pod + From<F> + PartialEq + Send + Sync + std::fmt::Debug,
{
    let a: Vec<F> = random_vec(n, seed, |r| F::rand(r));
    let b: Vec<F> = random_vec(n, seed + 1, |r| F::rand(r));
    let al: Vec<L> = a.par_iter().map(|&x| L::from(x)).collect();
    let bl: Vec<L> = b.par_iter().map(|&x| L::from(x)).collect();
    let (ours, ours_ms) = race::<L, L, L>(Side::Ours, op, rounds(op), runs, &al, &bl)?;
    let (theirs, sppark_ms) = race::<L, L, L>(Side::Sppark, op, rounds(op), runs, &al, &bl)?;
    let mut rng = StdRng::seed_from_u64(seed + 2);
    for i in samples(n, &mut rng) {
        let mut x = a[i];
        for _ in 0..rounds(op) {
            x = if square { x.square() } else { x * b[i] };
        }
        let expected = L::from(x);
        assert_eq!(
            ours[i],
            expected,
            "{}: ours differs from arkworks at {i}",
            name(op)
        );
        assert_eq!(
            theirs[i],
            expected,
            "{}: sppark differs from arkworks at {i}",
            name(op)
        );
    }
    let first_difference = ours.par_iter().zip(&theirs).position_first(|(x, y)| x != y);
    assert_eq!(
        first_difference,
        None,
        "{}: ours and sppark differ",
        name(op)
    );
    Ok(Row {
        op,
        n,
        ours_ms,
        sppark_ms,
        note: "all equal",
    })
}

/// sppark's XYZZ bucket as it lies in memory: X, Y, ZZZ, ZZ.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct SpparkXyzz {
    x: FqLimbs,
    y: FqLimbs,
    zzz: FqLimbs,
    zz: FqLimbs,
}

fn fq(l: FqLimbs) -> Fq {
    Fq::try_from(l).expect("a reduced coordinate")
}

/// (X/ZZ, Y/ZZZ); ZZ = 0 is the identity.
fn xyzz_to_affine(x: FqLimbs, y: FqLimbs, zz: FqLimbs, zzz: FqLimbs) -> G1Affine {
    let (zz, zzz) = (fq(zz), fq(zzz));
    if zz.is_zero() {
        return G1Affine::zero();
    }
    let zz_inv = zz.inverse().expect("nonzero");
    let zzz_inv = zzz.inverse().expect("ZZ^3 = ZZZ^2, so ZZZ is nonzero too");
    G1Affine::new_unchecked(fq(x) * zz_inv, fq(y) * zzz_inv)
}

fn g1_row(n: usize, runs: u32, seed: u64) -> Result<Row, RaceError> {
    let op = RaceOp::G1Madd;
    let mut rng = StdRng::seed_from_u64(seed);
    let a = g1_points(n, &mut rng);
    let b = g1_points(n, &mut rng);
    let al: Vec<G1AffineLimbs> = a.iter().map(|&p| p.into()).collect();
    let bl: Vec<G1AffineLimbs> = b.iter().map(|&p| p.into()).collect();
    let (ours, ours_ms) = race::<_, _, G1XyzzLimbs>(Side::Ours, op, rounds(op), runs, &al, &bl)?;
    let (theirs, sppark_ms) =
        race::<_, _, SpparkXyzz>(Side::Sppark, op, rounds(op), runs, &al, &bl)?;
    for i in samples(n, &mut rng) {
        let expected = (a[i] + b[i] * Fr::from(rounds(op))).into_affine();
        let o = ours[i];
        let t = theirs[i];
        assert_eq!(
            xyzz_to_affine(o.x, o.y, o.zz, o.zzz),
            expected,
            "G1: ours differs from arkworks at {i}"
        );
        assert_eq!(
            xyzz_to_affine(t.x, t.y, t.zz, t.zzz),
            expected,
            "G1: sppark differs from arkworks at {i}"
        );
    }
    // Both run madd-2008-s on fully reduced coordinates, so equal coordinates are expected;
    // projectively equal ones would be as correct, hence a note rather than a failure.
    let same = ours
        .par_iter()
        .zip(&theirs)
        .all(|(o, t)| o.x == t.x && o.y == t.y && o.zz == t.zz && o.zzz == t.zzz);
    Ok(Row {
        op,
        n,
        ours_ms,
        sppark_ms,
        note: if same {
            "sampled; coordinates all equal"
        } else {
            "sampled; coordinates differ (projectively equal on the samples)"
        },
    })
}

fn env_u32(name: &str, default: u32) -> u32 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v}: expected a whole number")),
        Err(_) => default,
    }
}

fn main() {
    let log = env_u32("SPICE_BENCH_ARITH_LOG", 20);
    assert!(
        (1..=24).contains(&log),
        "SPICE_BENCH_ARITH_LOG={log}: expected 1..=24"
    );
    let runs = env_u32("SPICE_BENCH_ARITH_RUNS", 10).max(1);
    let require = std::env::var("SPICE_REQUIRE_GPU").as_deref() == Ok("1");
    match CudaBackend::new().and_then(CudaBackend::not_emulated) {
        Ok(gpu) => println!(
            "arith race: device {} (sm_{}{}), 2^{log} elements, median of {runs} runs",
            gpu.device_name(),
            gpu.compute_capability().0,
            gpu.compute_capability().1
        ),
        Err(e) => {
            assert!(!require, "SPICE_REQUIRE_GPU=1 but: {e}");
            println!("arith race skipped: {e}");
            return;
        }
    }
    let n = 1usize << log;
    let mut rows = Vec::new();
    for (i, op) in RaceOp::ALL.into_iter().enumerate() {
        let seed = 1000 * i as u64;
        let row = match op {
            RaceOp::FrMul => field_row::<Fr, FrLimbs>(op, false, n, runs, seed),
            RaceOp::FrSqr => field_row::<Fr, FrLimbs>(op, true, n, runs, seed),
            RaceOp::FqMul => field_row::<Fq, FqLimbs>(op, false, n, runs, seed),
            RaceOp::FqSqr => field_row::<Fq, FqLimbs>(op, true, n, runs, seed),
            RaceOp::Fq2Mul => field_row::<Fq2, Fq2Limbs>(op, false, n, runs, seed),
            RaceOp::Fq2Sqr => field_row::<Fq2, Fq2Limbs>(op, true, n, runs, seed),
            RaceOp::G1Madd => g1_row(n, runs, seed),
        };
        match row {
            Ok(r) => {
                println!(
                    "arith race {}: ours {:.3} ms, sppark {:.3} ms",
                    name(op),
                    r.ours_ms,
                    r.sppark_ms
                );
                rows.push(r);
            }
            Err(e @ RaceError::NoGpu(_)) if !require => {
                println!("arith race skipped: {e}");
                return;
            }
            Err(e) => panic!("arith race {}: {e}", name(op)),
        }
    }
    println!("\n| operation | elements × rounds | ours ms | sppark ms | ours Gop/s | sppark Gop/s | ours/sppark (time) | checked |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in rows {
        let ops = r.n as f64 * f64::from(rounds(r.op));
        let rate = |ms: f32| ops / (f64::from(ms) * 1e-3) / 1e9;
        println!(
            "| {} | 2^{log} × {} | {:.3} | {:.3} | {:.2} | {:.2} | {:.2} | {} |",
            name(r.op),
            rounds(r.op),
            r.ours_ms,
            r.sppark_ms,
            rate(r.ours_ms),
            rate(r.sppark_ms),
            r.ours_ms / r.sppark_ms,
            r.note
        );
    }
}
