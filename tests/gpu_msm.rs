//! The CUDA backend's MSMs give exactly the CPU backend's results (G1 and G2, every size where
//! the plan's structure changes, every kind of scalar, bases containing the identity, planner
//! overrides that force many accumulation levels), a schedule shared by several MSMs and
//! rebuilt for new scalars stays right, and a whole proof on the CUDA backend is byte-identical
//! to the CPU backend's and to `ark_groth16`'s, with G2 on the GPU or on the CPU alongside.
//! The same with window copies (bases loaded with a copy a window, or with three), and bases
//! loaded without them (or with another number) are refused by a backend that plans with them,
//! and the other way round.
//! A timed GPU proof reports the host↔device copies it made.
//!
//! Without a usable GPU every test prints `skipped: <reason>` and returns, unless
//! `SPICE_REQUIRE_GPU=1` is set (the device script sets it), in which case it fails. Inputs
//! are fresh random values each run; the seed is printed (`SPICE_TEST_SEED` replays it).
#![cfg(feature = "cuda")]

mod common;
#[path = "support/gpu_backend.rs"]
mod gpu_backend;
#[path = "support/reference_proof.rs"]
mod reference_proof;
#[path = "support/test_seed.rs"]
mod test_seed;

use std::sync::Arc;

use ark_bls12_381::{Bls12_381, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{One, UniformRand, Zero};
use ark_groth16::Groth16;
use ark_snark::SNARK;
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use common::MixedCircuit;
use gpu_backend::gpu;
use reference_proof::Reference;
use test_seed::seed;
#[path = "support/scalar_kinds.rs"]
mod scalar_kinds;
use rayon::prelude::*;
use scalar_kinds::{scalar, Kind, KINDS};
use spice::engine::cuda::{G2Placement, MsmConfig};
use spice::engine::gpu_msm::{MsmOptions, MsmPlan, ALL_WINDOW_COPIES};
use spice::engine::gpu_ntt::TileShape;
use spice::engine::{
    Backend, Bases, CpuBackend, CudaBackend, EngineError, MsmScalars, Prover, SyntheticCircuit,
};

/// `n` scalars of `kind`, generated in parallel.
fn scalars(kind: Kind, n: usize, seed: u64) -> Vec<Fr> {
    let mut v = vec![Fr::zero(); n];
    v.par_chunks_mut(1 << 14)
        .enumerate()
        .for_each(|(i, chunk)| {
            let mut rng =
                StdRng::seed_from_u64(seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            chunk.iter_mut().for_each(|x| *x = scalar(kind, &mut rng));
        });
    v
}

/// `n` points in parallel chunks (consecutive multiples of a random point per chunk), with the
/// identity, repeats and negations mixed in.
fn bases<G: CurveGroup>(n: usize, seed: u64) -> Vec<G::Affine> {
    let mut points = vec![G::zero(); n];
    points
        .par_chunks_mut(1 << 12)
        .enumerate()
        .for_each(|(i, chunk)| {
            let mut rng =
                StdRng::seed_from_u64(seed ^ (i as u64).wrapping_mul(0xd1b5_4a32_d192_ed03));
            let step = G::rand(&mut rng);
            let mut acc = G::rand(&mut rng);
            for k in 0..chunk.len() {
                acc += step;
                let point = match rng.gen_range(0..16) {
                    0 => G::zero(),
                    1 if k > 0 => chunk[rng.gen_range(0..k)],
                    2 if k > 0 => -chunk[rng.gen_range(0..k)],
                    _ => acc,
                };
                chunk[k] = point;
            }
        });
    G::normalize_batch(&points)
}

fn cpu_g1(points: &[G1Affine], s: &MsmScalars) -> G1Affine {
    let cpu = CpuBackend::new();
    cpu.msm_g1(&cpu.load_g1(points.to_vec()).unwrap(), s)
        .unwrap()
        .into_affine()
}

fn cpu_g2(points: &[G2Affine], s: &MsmScalars) -> G2Affine {
    let cpu = CpuBackend::new();
    cpu.msm_g2(&cpu.load_g2(points.to_vec()).unwrap(), s)
        .unwrap()
        .into_affine()
}

/// One group's loading and MSMs, so that one test loop serves G1 and G2.
trait Group {
    type Projective: CurveGroup<Affine = Self::Affine>;
    type Affine: AffineRepr;
    const NAME: &'static str;
    fn load(backend: &CudaBackend, points: Vec<Self::Affine>) -> Bases<Self::Affine>;
    fn gpu(backend: &CudaBackend, handle: &Bases<Self::Affine>, s: &MsmScalars) -> Self::Affine;
    fn cpu(points: &[Self::Affine], s: &MsmScalars) -> Self::Affine;
}

struct G1;
struct G2;

impl Group for G1 {
    type Projective = G1Projective;
    type Affine = G1Affine;
    const NAME: &'static str = "G1";
    fn load(backend: &CudaBackend, points: Vec<G1Affine>) -> Bases<G1Affine> {
        backend.load_g1(points).unwrap()
    }
    fn gpu(backend: &CudaBackend, handle: &Bases<G1Affine>, s: &MsmScalars) -> G1Affine {
        backend.msm_g1(handle, s).unwrap().into_affine()
    }
    fn cpu(points: &[G1Affine], s: &MsmScalars) -> G1Affine {
        cpu_g1(points, s)
    }
}

impl Group for G2 {
    type Projective = G2Projective;
    type Affine = G2Affine;
    const NAME: &'static str = "G2";
    fn load(backend: &CudaBackend, points: Vec<G2Affine>) -> Bases<G2Affine> {
        backend.load_g2(points).unwrap()
    }
    fn gpu(backend: &CudaBackend, handle: &Bases<G2Affine>, s: &MsmScalars) -> G2Affine {
        backend.msm_g2(handle, s).unwrap().into_affine()
    }
    fn cpu(points: &[G2Affine], s: &MsmScalars) -> G2Affine {
        cpu_g2(points, s)
    }
}

/// `backend`'s MSM in group `G` equals the CPU backend's at each of `sizes` (fresh bases with
/// the identity, repeats and negations in them), for every kind of scalar up to
/// `all_kinds_up_to` points and beyond it for the three kinds that cover every path (the
/// CPU reference takes a second a kind at 2^20); `check_plan` sees each MSM's plan.
fn assert_matches_cpu<G: Group>(
    backend: &CudaBackend,
    sizes: &[usize],
    all_kinds_up_to: usize,
    s: u64,
    what: &str,
    check_plan: impl Fn(&MsmPlan),
) {
    for (i, &n) in sizes.iter().enumerate() {
        let points = bases::<G::Projective>(n, s ^ i as u64);
        let handle = G::load(backend, points.clone());
        for (k, kind) in KINDS.into_iter().enumerate() {
            if n > all_kinds_up_to
                && ![Kind::Random, Kind::PlusMinusOne, Kind::WitnessLike].contains(&kind)
            {
                continue;
            }
            let sc = MsmScalars::new(&scalars(kind, n, s ^ ((i * 16 + k) as u64) << 8));
            check_plan(&backend.msm_plan(&sc).unwrap());
            assert_eq!(
                G::gpu(backend, &handle, &sc),
                G::cpu(&points, &sc),
                "{} {what}, n = {n}, {kind:?}",
                G::NAME
            );
        }
    }
}

/// Sizes where the plan changes: empty, tiny, the window size's steps, powers of two and one
/// past them.
const G1_SIZES: [usize; 13] = [
    0,
    1,
    2,
    3,
    1000,
    1 << 4,
    (1 << 4) + 1,
    1 << 10,
    (1 << 10) + 1,
    1 << 16,
    (1 << 16) + 1,
    1 << 20,
    (1 << 20) + 1,
];
const G2_SIZES: [usize; 9] = [
    0,
    1,
    2,
    3,
    1000,
    1 << 10,
    (1 << 10) + 1,
    1 << 16,
    (1 << 16) + 1,
];

#[test]
fn gpu_g1_msm_matches_cpu_at_every_size_and_kind() {
    let Some(gpu) = gpu("gpu_g1_msm_matches_cpu_at_every_size_and_kind") else {
        return;
    };
    let s = seed("gpu_g1_msm_matches_cpu_at_every_size_and_kind");
    assert_matches_cpu::<G1>(&gpu, &G1_SIZES, 1 << 16, s, "", |_| ());
}

#[test]
fn gpu_g2_msm_matches_cpu_at_every_size_and_kind() {
    let Some(gpu) = gpu("gpu_g2_msm_matches_cpu_at_every_size_and_kind") else {
        return;
    };
    assert_eq!(
        gpu.msm_config().g2,
        G2Placement::Gpu,
        "run the G2 tests with G2 on the GPU (unset SPICE_CUDA_G2_MSM)"
    );
    let s = seed("gpu_g2_msm_matches_cpu_at_every_size_and_kind");
    assert_matches_cpu::<G2>(&gpu, &G2_SIZES, 1 << 10, s, "", |_| ());
}

#[test]
fn gpu_msm_is_right_for_bases_that_are_all_the_identity() {
    let Some(gpu) = gpu("gpu_msm_is_right_for_bases_that_are_all_the_identity") else {
        return;
    };
    let s = seed("gpu_msm_is_right_for_bases_that_are_all_the_identity");
    let handle = gpu.load_g1(vec![G1Affine::zero(); 5000]).unwrap();
    let sc = MsmScalars::new(&scalars(Kind::Random, 5000, s));
    assert!(gpu.msm_g1(&handle, &sc).unwrap().is_zero());
}

#[test]
fn planner_overrides_give_the_same_result_on_the_gpu() {
    let Some(_) = gpu("planner_overrides_give_the_same_result_on_the_gpu") else {
        return;
    };
    let s = seed("planner_overrides_give_the_same_result_on_the_gpu");
    let n = 50_000;
    let points = bases::<G1Projective>(n, s);
    let sc = MsmScalars::new(&scalars(Kind::WitnessLike, n, s ^ 1));
    let expected = cpu_g1(&points, &sc);
    // Small chunks: six or more levels of partial sums; small and large windows; one bucket a
    // segment and one segment a window; tiny scan segments; one tree a window, one a segment,
    // and several in between.
    for (window_bits, chunk, segment_log, scan_segment, tree_groups) in [
        (4, 4, 0, 1, 8),
        (8, 5, 7, 3, 1),
        (13, 64, 3, 32, 4),
        (16, 1024, 15, 32, 1),
        (18, 9, 6, 1024, 64),
        (18, 9, 6, 1024, 1),
    ] {
        let options = MsmOptions {
            window_bits: Some(window_bits),
            chunk: Some(chunk),
            segment_log: Some(segment_log),
            scan_segment: Some(scan_segment),
            tree_groups: Some(tree_groups),
            ..MsmOptions::default()
        };
        let backend = CudaBackend::with_config(
            TileShape::default(),
            MsmConfig {
                options,
                g2: G2Placement::Gpu,
            },
        )
        .unwrap();
        let handle = backend.load_g1(points.clone()).unwrap();
        let ours = backend
            .msm_g1(&handle, &MsmScalars::new(sc.values()))
            .unwrap()
            .into_affine();
        assert_eq!(ours, expected, "{options:?}");
    }
}

/// A backend like the shared one, with `k` window copies (`MsmOptions::window_copies`).
fn with_window_copies(gpu: &CudaBackend, k: u32) -> Arc<CudaBackend> {
    let config = gpu.msm_config();
    Arc::new(
        CudaBackend::with_config(
            TileShape::default(),
            MsmConfig {
                options: MsmOptions {
                    window_copies: k,
                    ..config.options
                },
                g2: G2Placement::Gpu,
            },
        )
        .unwrap(),
    )
}

#[test]
fn gpu_msm_with_window_copies_matches_cpu_and_proves_byte_identical() {
    let Some(gpu) = gpu("gpu_msm_with_window_copies_matches_cpu_and_proves_byte_identical") else {
        return;
    };
    let s = seed("gpu_msm_with_window_copies_matches_cpu_and_proves_byte_identical");
    // The emulator runs a thread at a time: its sizes stop where the plan's shape stops
    // changing; a GPU adds a Spice batch and one past it.
    let mut g1_sizes = vec![0, 1, 2, 3, 1000, (1 << 10) + 1, 1 << 14];
    if !gpu.is_emulated() {
        g1_sizes.extend([1 << 16, (1 << 16) + 1, 1 << 20]);
    }
    // One copy a window (one bucket window), and three (windows three apart share buckets;
    // the last bucket window is short).
    for k in [ALL_WINDOW_COPIES, 3] {
        let copies = with_window_copies(&gpu, k);
        let copied_plan = |plan: &MsmPlan| {
            assert_eq!(plan.copies, k.min(plan.windows), "{plan:?}");
            assert_eq!(
                plan.bucket_windows,
                plan.windows.div_ceil(plan.copies),
                "{plan:?}"
            );
        };
        let what = if k == ALL_WINDOW_COPIES {
            "with one window copy a window".to_string()
        } else {
            format!("with {k} window copies")
        };
        assert_matches_cpu::<G1>(
            &copies,
            &g1_sizes,
            1 << 14,
            s ^ u64::from(k),
            &what,
            copied_plan,
        );
        assert_matches_cpu::<G2>(
            &copies,
            &[0, 1, 3, 1000, 1 << 10],
            0,
            s ^ 100 ^ u64::from(k),
            &what,
            copied_plan,
        );
        // A whole proof over a key loaded with window copies: the same bytes as ark_groth16's.
        let c = MixedCircuit::new(3, 40, 7, 300, s);
        let mut rng = StdRng::seed_from_u64(s ^ u64::from(k));
        let (r, t) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
        let reference = Reference::new(&c, c.public_inputs(), r, t, &mut rng);
        let proof = Prover::new(copies.clone(), reference.pk.clone())
            .unwrap()
            .prove_with_randomness(c.clone(), r, t)
            .unwrap();
        reference.assert_matches(&proof, &format!("the CUDA backend {what}"));
    }
}

#[test]
fn bases_without_window_copies_are_refused_by_a_backend_that_plans_with_them() {
    let Some(gpu) =
        gpu("bases_without_window_copies_are_refused_by_a_backend_that_plans_with_them")
    else {
        return;
    };
    let s = seed("bases_without_window_copies_are_refused_by_a_backend_that_plans_with_them");
    let copies = with_window_copies(&gpu, ALL_WINDOW_COPIES);
    let n = 300;
    let points = bases::<G1Projective>(n, s);
    let sc = MsmScalars::new(&scalars(Kind::Random, n, s ^ 1));
    // Each backend's bases carry what its own plans index, and only that.
    let plain = gpu.load_g1(points.clone()).unwrap();
    let copied = copies.load_g1(points.clone()).unwrap();
    for (backend, handle, what) in [
        (&copies, &plain, "plain bases, copies plan"),
        (&gpu, &copied, "copied bases, plain plan"),
    ] {
        let err = backend.msm_g1(handle, &sc).unwrap_err();
        assert!(matches!(err, EngineError::BadMsmPlan(_)), "{what}: {err:?}");
    }
    // A window override that differs from the one the bases were copied for is refused too.
    let other_window = CudaBackend::with_config(
        TileShape::default(),
        MsmConfig {
            options: MsmOptions {
                window_copies: ALL_WINDOW_COPIES,
                window_bits: Some(copies.msm_plan(&sc).unwrap().window_bits + 1),
                ..gpu.msm_config().options
            },
            g2: G2Placement::Gpu,
        },
    )
    .unwrap();
    let err = other_window.msm_g1(&copied, &sc).unwrap_err();
    assert!(matches!(err, EngineError::BadMsmPlan(_)), "{err:?}");
    // So are bases with another number of copies for the same window, both ways round.
    let window = copies.msm_plan(&sc).unwrap().window_bits;
    let three = CudaBackend::with_config(
        TileShape::default(),
        MsmConfig {
            options: MsmOptions {
                window_copies: 3,
                window_bits: Some(window),
                ..gpu.msm_config().options
            },
            g2: G2Placement::Gpu,
        },
    )
    .unwrap();
    let three_copies = three.load_g1(points.clone()).unwrap();
    for (backend, handle, what) in [
        (&three, &copied, "one copy a window, a plan with three"),
        (
            &copies,
            &three_copies,
            "three copies, a plan with one a window",
        ),
    ] {
        let err = backend.msm_g1(handle, &sc).unwrap_err();
        assert!(matches!(err, EngineError::BadMsmPlan(_)), "{what}: {err:?}");
    }
    assert_eq!(
        three.msm_g1(&three_copies, &sc).unwrap().into_affine(),
        cpu_g1(&points, &sc)
    );
    // And each still gives the right result over its own bases.
    assert_eq!(
        copies.msm_g1(&copied, &sc).unwrap().into_affine(),
        cpu_g1(&points, &sc)
    );
    assert_eq!(
        gpu.msm_g1(&plain, &sc).unwrap().into_affine(),
        cpu_g1(&points, &sc)
    );
}

#[test]
fn a_schedule_serves_several_msms_and_is_rebuilt_for_new_scalars() {
    let Some(gpu) = gpu("a_schedule_serves_several_msms_and_is_rebuilt_for_new_scalars") else {
        return;
    };
    let s = seed("a_schedule_serves_several_msms_and_is_rebuilt_for_new_scalars");
    let n = 1 << 14;
    let (p1, q1) = (bases::<G1Projective>(n, s), bases::<G1Projective>(n, s ^ 1));
    let p2 = bases::<G2Projective>(n, s ^ 2);
    let (h1, k1, h2) = (
        gpu.load_g1(p1.clone()).unwrap(),
        gpu.load_g1(q1.clone()).unwrap(),
        gpu.load_g2(p2.clone()).unwrap(),
    );
    let first = MsmScalars::new(&scalars(Kind::WitnessLike, n, s ^ 3));
    let second = MsmScalars::new(&scalars(Kind::Random, n, s ^ 4));
    gpu.prepare_scalars(&first).unwrap();
    // Groth16's order (A, B in G1, B in G2, L) over one schedule, then other scalars, then
    // back: each MSM must use the schedule of its own scalars.
    assert_eq!(
        gpu.msm_g1(&h1, &first).unwrap().into_affine(),
        cpu_g1(&p1, &first)
    );
    assert_eq!(
        gpu.msm_g1(&k1, &first).unwrap().into_affine(),
        cpu_g1(&q1, &first)
    );
    assert_eq!(
        gpu.msm_g2(&h2, &first).unwrap().into_affine(),
        cpu_g2(&p2, &first)
    );
    assert_eq!(
        gpu.msm_g1(&h1, &second).unwrap().into_affine(),
        cpu_g1(&p1, &second)
    );
    assert_eq!(
        gpu.msm_g1(&k1, &first).unwrap().into_affine(),
        cpu_g1(&q1, &first)
    );
}

#[test]
fn gpu_msm_results_do_not_change_between_runs() {
    // The scatter's atomics place entries in a different order each run; a race would show as
    // results that differ.
    let Some(gpu) = gpu("gpu_msm_results_do_not_change_between_runs") else {
        return;
    };
    let s = seed("gpu_msm_results_do_not_change_between_runs");
    let n = 1 << 18;
    let points = bases::<G1Projective>(n, s);
    let handle = gpu.load_g1(points).unwrap();
    let values = scalars(Kind::WitnessLike, n, s ^ 1);
    let first = gpu
        .msm_g1(&handle, &MsmScalars::new(&values))
        .unwrap()
        .into_affine();
    for _ in 0..3 {
        assert_eq!(
            gpu.msm_g1(&handle, &MsmScalars::new(&values))
                .unwrap()
                .into_affine(),
            first
        );
    }
    let (timed, times) = gpu
        .msm_g1_timed(&handle, &MsmScalars::new(&values))
        .unwrap();
    assert_eq!(timed.into_affine(), first);
    assert!(times.schedule_ms > 0.0 && times.curve_ms > 0.0, "{times:?}");
}

#[test]
fn gpu_msm_rejects_mismatched_and_foreign_inputs() {
    let Some(gpu) = gpu("gpu_msm_rejects_mismatched_and_foreign_inputs") else {
        return;
    };
    let handle = gpu.load_g1(vec![G1Affine::generator(); 4]).unwrap();
    let err = gpu
        .msm_g1(&handle, &MsmScalars::new(&[Fr::one(); 3]))
        .unwrap_err();
    assert!(matches!(err, EngineError::MsmLength { .. }), "{err:?}");
    let cpu = CpuBackend::new();
    let foreign = cpu.load_g1(vec![G1Affine::generator(); 3]).unwrap();
    let err = gpu
        .msm_g1(&foreign, &MsmScalars::new(&[Fr::one(); 3]))
        .unwrap_err();
    assert!(matches!(err, EngineError::ForeignHandle { .. }), "{err:?}");
}

#[test]
fn proof_on_the_cuda_backend_is_byte_identical_to_the_cpu_proof() {
    let Some(gpu) = gpu("proof_on_the_cuda_backend_is_byte_identical_to_the_cpu_proof") else {
        return;
    };
    let s = seed("proof_on_the_cuda_backend_is_byte_identical_to_the_cpu_proof");
    let g2_on_cpu = Arc::new(
        CudaBackend::with_config(
            TileShape::default(),
            MsmConfig {
                g2: G2Placement::CpuConcurrent,
                ..gpu.msm_config()
            },
        )
        .unwrap(),
    );
    assert!(g2_on_cpu.overlaps_g2_msm());
    let mixed = MixedCircuit::new(3, 40, 7, 300, s);
    let synthetic = SyntheticCircuit::new(1 << 14, s).unwrap();
    let mut rng = StdRng::seed_from_u64(s);
    let (r, t) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
    macro_rules! check {
        ($c:expr, $inputs:expr) => {{
            let c = $c;
            let reference = Reference::new(&c, $inputs, r, t, &mut rng);
            let pk = &reference.pk;
            let on_cpu = Prover::new(Arc::new(CpuBackend::new()), pk.clone())
                .unwrap()
                .prove_with_randomness(c.clone(), r, t)
                .unwrap();
            let on_gpu = Prover::new(gpu.clone(), pk.clone())
                .unwrap()
                .prove_with_randomness(c.clone(), r, t)
                .unwrap();
            let split = Prover::new(g2_on_cpu.clone(), pk.clone())
                .unwrap()
                .prove_with_randomness(c.clone(), r, t)
                .unwrap();
            reference.assert_matches(&on_cpu, "the CPU backend");
            reference.assert_matches(&on_gpu, "the CUDA backend");
            reference.assert_matches(&split, "G2 on the CPU alongside");
        }};
    }
    check!(mixed.clone(), mixed.public_inputs());
    check!(synthetic.clone(), synthetic.public_inputs());
    // r = s = 0: the prover skips the B-in-G1 MSM; still identical.
    let zero = Fr::zero();
    let reference = Reference::new(&mixed, mixed.public_inputs(), zero, zero, &mut rng);
    let ours = Prover::new(gpu.clone(), reference.pk.clone())
        .unwrap()
        .prove_with_randomness(mixed, zero, zero)
        .unwrap();
    reference.assert_matches(&ours, "the CUDA backend with r = s = 0");
}

#[test]
fn a_gpu_proof_reports_its_host_device_copies() {
    let Some(gpu) = gpu("a_gpu_proof_reports_its_host_device_copies") else {
        return;
    };
    let s = seed("a_gpu_proof_reports_its_host_device_copies");
    let c = SyntheticCircuit::new(1 << 12, s).unwrap();
    let mut rng = StdRng::seed_from_u64(s);
    let pk = Groth16::<Bls12_381>::circuit_specific_setup(c.clone(), &mut rng)
        .unwrap()
        .0;
    let prover = Prover::new(gpu.clone(), pk).unwrap();
    let n = prover.domain_size() as u64;
    let (r, t) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
    for run in 0..2 {
        let (_, times) = prover.prove_timed(c.clone(), r, t).unwrap();
        let copies = times.transfers.expect("the CUDA backend times its copies");
        // At least: A·z, B·z, C·z and the n − 1 coefficients of h up, h down; the
        // assignment's upload and each MSM's window sums come on top.
        assert!(
            copies.to_device_bytes >= 32 * (4 * n - 1),
            "run {run}: {copies:?}"
        );
        assert!(copies.from_device_bytes >= 32 * n, "run {run}: {copies:?}");
        assert!(copies.copies >= 4 + 1 + 1 + 5, "run {run}: {copies:?}");
        assert!(
            !copies.to_device.is_zero() && !copies.from_device.is_zero(),
            "run {run}: {copies:?}"
        );
        // Copies happen inside the stages, so they cannot exceed them.
        assert!(
            copies.to_device + copies.from_device <= times.total(),
            "run {run}: {copies:?} vs {:?}",
            times.total()
        );
    }
}
