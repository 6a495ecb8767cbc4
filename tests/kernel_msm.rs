//! The GPU MSM's algorithm — the plan of `engine/gpu_msm/plan.rs` and the kernels' own bodies
//! (`kernels/msm/*.cuh`), run over every thread on the host in a shuffled order — computes
//! exactly arkworks' MSM: at the sizes where the structure changes (0, 1, 2, 3, 1000, 2^k and
//! 2^k + 1), for every kind of scalar a Groth16 witness has (random, all zero, all ±1, tiny,
//! maximal, mixed), with bases that contain the identity, in G1 and G2, and for plans forced
//! into many accumulation levels; and its pieces (signed digits, the sorted schedule, the plan)
//! have the properties the kernels rely on. Inputs are fresh random values from proptest seeds
//! or a printed seed (`SPICE_TEST_SEED` replays one).

use ark_bls12_381::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{BigInteger, Field, One, PrimeField, UniformRand, Zero};
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use proptest::prelude::*;
#[path = "support/test_seed.rs"]
mod test_seed;
use test_seed::seed;
#[path = "support/scalar_kinds.rs"]
mod scalar_kinds;
use scalar_kinds::{half, scalar, Kind, KINDS};

use spice::engine::gpu_msm::host_simulation::{self as sim, POISON_U32};
use spice::engine::gpu_msm::params::{MAX_WINDOW_BITS, MIN_WINDOW_BITS, NEGATE};
use spice::engine::gpu_msm::window_copies::window_copies;
use spice::engine::gpu_msm::{
    base_copies, parse_window_copies, BaseCopies, MsmOptions, MsmPlan, ALL_WINDOW_COPIES,
};
use spice::engine::{EngineError, ScalarStats};

fn scalars(kind: Kind, n: usize, rng: &mut StdRng) -> Vec<Fr> {
    (0..n).map(|_| scalar(kind, rng)).collect()
}

/// Random points (consecutive multiples of a random point: cheap, and as good as independent
/// ones here) with the identity, repeated points and opposite points mixed in, so that buckets
/// meet P + P, P + (−P) and O.
fn bases<G: CurveGroup>(n: usize, rng: &mut StdRng) -> Vec<G::Affine> {
    let step = G::rand(rng);
    let mut acc = G::rand(rng);
    let mut points: Vec<G> = (0..n)
        .map(|_| {
            acc += step;
            acc
        })
        .collect();
    for i in 0..n {
        match rng.gen_range(0..16) {
            0 => points[i] = G::zero(),
            1 if i > 0 => points[i] = points[rng.gen_range(0..i)],
            2 if i > 0 => points[i] = -points[rng.gen_range(0..i)],
            _ => {}
        }
    }
    G::normalize_batch(&points)
}

/// Options that keep the simulation's grids small (a few hundred threads, like a small device).
fn small_device() -> MsmOptions {
    MsmOptions {
        resident_threads: 256,
        ..MsmOptions::default()
    }
}

fn check_g1(points: &[G1Affine], s: &[Fr], options: MsmOptions, order_seed: u64, what: &str) {
    let ours = sim::msm(points, s, options, order_seed).unwrap_or_else(|e| panic!("{what}: {e}"));
    let theirs = G1Projective::msm(points, s).unwrap();
    assert_eq!(ours.into_affine(), theirs.into_affine(), "{what}");
}

fn check_g2(points: &[G2Affine], s: &[Fr], options: MsmOptions, order_seed: u64, what: &str) {
    let ours = sim::msm(points, s, options, order_seed).unwrap_or_else(|e| panic!("{what}: {e}"));
    let theirs = G2Projective::msm(points, s).unwrap();
    assert_eq!(ours.into_affine(), theirs.into_affine(), "{what}");
}

const SIZES_G1: [usize; 11] = [0, 1, 2, 3, 16, 17, 256, 257, 1000, 2048, 2049];
const SIZES_G2: [usize; 8] = [0, 1, 2, 3, 64, 65, 1000, 1025];

#[test]
fn g1_simulation_matches_arkworks_at_every_size_and_kind() {
    let s = seed("g1_simulation_matches_arkworks_at_every_size_and_kind");
    let mut rng = StdRng::seed_from_u64(s);
    for n in SIZES_G1 {
        let points = bases::<G1Projective>(n, &mut rng);
        for kind in KINDS {
            let sc = scalars(kind, n, &mut rng);
            check_g1(
                &points,
                &sc,
                small_device(),
                rng.gen(),
                &format!("G1, n = {n}, {kind:?}"),
            );
        }
    }
}

#[test]
fn g2_simulation_matches_arkworks_at_every_size_and_kind() {
    let s = seed("g2_simulation_matches_arkworks_at_every_size_and_kind");
    let mut rng = StdRng::seed_from_u64(s);
    for n in SIZES_G2 {
        let points = bases::<G2Projective>(n, &mut rng);
        for kind in KINDS {
            // The G2 kernels are the G1 ones over Fq2; three kinds cover their paths at the
            // larger sizes (digits in every window, the ones bucket, a mixture).
            if n > 65 && ![Kind::Random, Kind::PlusMinusOne, Kind::WitnessLike].contains(&kind) {
                continue;
            }
            let sc = scalars(kind, n, &mut rng);
            check_g2(
                &points,
                &sc,
                small_device(),
                rng.gen(),
                &format!("G2, n = {n}, {kind:?}"),
            );
        }
    }
}

#[test]
fn bases_that_are_all_the_identity_give_the_identity() {
    let mut rng = StdRng::seed_from_u64(seed("bases_that_are_all_the_identity_give_the_identity"));
    let points = vec![G1Affine::zero(); 300];
    for kind in [Kind::Random, Kind::WitnessLike] {
        let sc = scalars(kind, points.len(), &mut rng);
        let ours = sim::msm(&points, &sc, small_device(), rng.gen()).unwrap();
        assert!(ours.is_zero(), "{kind:?}");
    }
}

#[test]
fn the_default_plan_for_a_large_device_matches_arkworks() {
    // The planner's own choices for an H100-sized device (large chunks: one level) rather
    // than the small device the other tests simulate.
    let mut rng =
        StdRng::seed_from_u64(seed("the_default_plan_for_a_large_device_matches_arkworks"));
    let points = bases::<G1Projective>(4097, &mut rng);
    for kind in [Kind::Random, Kind::WitnessLike] {
        let sc = scalars(kind, points.len(), &mut rng);
        check_g1(
            &points,
            &sc,
            MsmOptions::default(),
            rng.gen(),
            &format!("{kind:?}"),
        );
    }
}

#[test]
fn one_bucket_spread_over_many_chunks_is_summed_across_levels() {
    // Every scalar 3: one bucket holds all 600 entries; chunks of 4 give 5 levels of partial
    // sums before one chunk is left.
    let mut rng = StdRng::seed_from_u64(seed(
        "one_bucket_spread_over_many_chunks_is_summed_across_levels",
    ));
    let points = bases::<G1Projective>(600, &mut rng);
    let sc = vec![Fr::from(3u64); points.len()];
    let options = MsmOptions {
        chunk: Some(4),
        ..small_device()
    };
    let plan = MsmPlan::new(ScalarStats::of(&sc), options).unwrap();
    assert!(plan.levels.len() >= 5, "{:?}", plan.levels);
    check_g1(&points, &sc, options, rng.gen(), "all scalars 3");
    // The ones bucket the same way (a witness of 0/1 values).
    let sc: Vec<Fr> = (0..points.len())
        .map(|_| Fr::from(rng.gen::<bool>() as u64))
        .collect();
    check_g1(&points, &sc, options, rng.gen(), "0/1 scalars");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any window, chunk, segment, tree and scan shape the planner accepts gives arkworks'
    /// result, with and without window copies: small chunks force many levels, small windows
    /// many windows (and copies), every segment size the weighting by offsets, every number of
    /// trees a window (one to one a segment) the host's adding of the trees' sums, tiny scan
    /// segments a long scan.
    #[test]
    fn any_plan_shape_matches_arkworks(
        n in 0usize..200,
        window_bits in MIN_WINDOW_BITS..=10,
        chunk in 4u32..40,
        segment_frac in 0.0f64..=1.0,
        tree_frac in 0.0f64..=1.0,
        scan_segment in 1u32..70,
        kind in 0usize..KINDS.len(),
        window_copies in copies(),
        seed in any::<u64>(),
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let points = bases::<G1Projective>(n, &mut rng);
        let sc = scalars(KINDS[kind], n, &mut rng);
        let segment_log = ((window_bits - 1) as f64 * segment_frac).round() as u32;
        let segments_log = window_bits - 1 - segment_log;
        let options = MsmOptions {
            window_bits: Some(window_bits),
            chunk: Some(chunk),
            segment_log: Some(segment_log),
            scan_segment: Some(scan_segment),
            tree_groups: Some(1 << (segments_log as f64 * tree_frac).round() as u32),
            resident_threads: rng.gen_range(1..300),
            window_copies,
        };
        let ours = sim::msm(&points, &sc, options, seed).unwrap();
        prop_assert_eq!(ours.into_affine(), G1Projective::msm(&points, &sc).unwrap().into_affine());
    }

    /// Normalised scalars are at most (r − 1)/2 with the sign in bit 255, and their signed
    /// digits are at most 2^(c−1) in magnitude and add up to the scalar: Σ d_w·2^(c·w) = ±x.
    #[test]
    fn signed_digits_rebuild_the_scalar(
        x in prop_oneof![
            1 => Just(Fr::zero()), 1 => Just(Fr::one()), 1 => Just(-Fr::one()),
            1 => Just(half()), 1 => Just(half() + Fr::one()),
            8 => any::<u64>().prop_map(|s| Fr::rand(&mut StdRng::seed_from_u64(s))),
        ],
        window_bits in MIN_WINDOW_BITS..=MAX_WINDOW_BITS,
    ) {
        let (normalised, digits) = sim::booth_digits(x, window_bits).unwrap();
        let negated = normalised[3] >> 63 == 1;
        let mut magnitude = ark_ff::BigInt(normalised);
        magnitude.0[3] &= !(1 << 63);
        prop_assert!(magnitude <= Fr::MODULUS_MINUS_ONE_DIV_TWO);
        prop_assert_eq!(negated, x.into_bigint() > Fr::MODULUS_MINUS_ONE_DIV_TWO);
        let radix = Fr::from(2u64).pow([window_bits as u64]);
        let mut sum = Fr::zero();
        for d in digits.iter().rev() {
            prop_assert!(d.unsigned_abs() <= 1 << (window_bits - 1), "digit {}", d);
            sum = sum * radix + Fr::from(d.unsigned_abs() as u64) * if *d < 0 { -Fr::one() } else { Fr::one() };
        }
        prop_assert_eq!(if negated { -sum } else { sum }, x);
        prop_assert_eq!(Fr::from_bigint(magnitude).unwrap(), if negated { -x } else { x });
    }

    /// The schedule holds exactly one entry for each nonzero digit of each scalar other than
    /// 0 and ±1 (with the sign of digit times scalar) and one ones-bucket entry for each ±1,
    /// sorted by bucket, each bucket ending where the counts say, nothing written past the end.
    /// With k window copies, digit d of window w of scalar i is base (w mod k)·n + i in bucket
    /// (w / k)·2^(c−1) + |d| − 1 (windows k apart share buckets; k = 1 is the plain layout),
    /// and a ±1 names the base itself.
    #[test]
    fn the_schedule_sorts_every_nonzero_digit_into_its_bucket(
        n in 0usize..300,
        window_bits in MIN_WINDOW_BITS..=12,
        scan_segment in 1u32..100,
        kind in 0usize..KINDS.len(),
        window_copies in copies(),
        seed in any::<u64>(),
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let sc = scalars(KINDS[kind], n, &mut rng);
        let options = MsmOptions { window_bits: Some(window_bits), scan_segment: Some(scan_segment), window_copies, ..small_device() };
        let plan = MsmPlan::new(ScalarStats::of(&sc), options).unwrap();
        let schedule = sim::schedule(&sc, &plan, seed).unwrap();
        let mut expected: Vec<(u32, u32)> = Vec::new();
        for (i, x) in sc.iter().enumerate() {
            let (normalised, digits) = sim::booth_digits(*x, window_bits).unwrap();
            let negated = normalised[3] >> 63 == 1;
            if x.is_zero() {
                continue;
            }
            if x.is_one() || *x == -Fr::one() {
                expected.push((plan.ones_bucket(), i as u32 | if negated { NEGATE } else { 0 }));
                continue;
            }
            for (w, d) in digits.iter().enumerate() {
                if *d != 0 {
                    let k = plan.copies as usize;
                    let (window_key, base) = ((w / k) as u32 * plan.window_buckets(), ((w % k) * n + i) as u32);
                    let key = window_key + d.unsigned_abs() - 1;
                    expected.push((key, base | if (*d < 0) != negated { NEGATE } else { 0 }));
                }
            }
        }
        let count = schedule.entry_count as usize;
        prop_assert_eq!(count, expected.len());
        prop_assert!(count <= plan.entry_capacity as usize);
        let keys = &schedule.keys[..count];
        prop_assert!(keys.windows(2).all(|w| w[0] <= w[1]), "keys not sorted");
        for (k, &end) in schedule.bucket_ends.iter().enumerate() {
            prop_assert_eq!(end as usize, keys.partition_point(|&key| key <= k as u32), "end of bucket {}", k);
        }
        let mut got: Vec<(u32, u32)> = keys.iter().copied().zip(schedule.entries[..count].iter().copied()).collect();
        got.sort_unstable();
        expected.sort_unstable();
        prop_assert_eq!(got, expected);
        prop_assert!(schedule.entries[count..].iter().all(|&e| e == POISON_U32));
    }

    /// The plan's sizes: windows cover 255 bits, the segments a window's buckets, every level
    /// shrinks the input until one chunk is left, the partial buffers hold every level's output,
    /// and the entry bound holds for the counts given. With window copies, the window is the
    /// one the bases were copied for (their number's alone) and one window's buckets serve all.
    #[test]
    fn plans_are_consistent(
        zeros in 0u64..1 << 24, ones in 0u64..1 << 24, general in 0u64..1 << 24,
        resident in 1u32..1 << 17,
        window_copies in copies(),
    ) {
        let stats = ScalarStats { zeros, ones, general };
        let options = MsmOptions { resident_threads: resident, window_copies, ..MsmOptions::default() };
        let plan = MsmPlan::new(stats, options).unwrap();
        prop_assert!(plan.windows * plan.window_bits >= 255);
        prop_assert!((plan.windows - 1) * plan.window_bits < 255);
        prop_assert_eq!(plan.copies, window_copies.clamp(1, plan.windows));
        prop_assert_eq!(plan.bucket_windows, plan.windows.div_ceil(plan.copies));
        prop_assert_eq!(plan.buckets, plan.bucket_windows * plan.window_buckets() + 1);
        prop_assert_eq!(plan.reduce_threads, plan.bucket_windows * plan.segments);
        let len = zeros + ones + general;
        prop_assert_eq!(plan.base_points(), len * u64::from(plan.copies));
        prop_assert_eq!(plan.bucket_window_bits(), plan.window_bits * plan.copies);
        // The bases are loaded with exactly the copies the plan indexes.
        prop_assert_eq!(plan.base_copies(), base_copies(len, &options).unwrap());
        prop_assert_eq!(
            plan.base_copies(),
            (plan.copies > 1).then_some(BaseCopies { window_bits: plan.window_bits, copies: plan.copies })
        );
        prop_assert_eq!(plan.segments << plan.segment_log, plan.window_buckets());
        // Trees: whole powers of two of a window's segments, a block each, every block in
        // flight at once when there is more than one a window, and a sum each handed back.
        prop_assert!(plan.tree_groups.is_power_of_two() && plan.tree_groups <= plan.segments);
        let tree_segments = plan.segments / plan.tree_groups;
        prop_assert_eq!(plan.tree_threads, (tree_segments / 2).clamp(1, 128));
        prop_assert!(
            plan.tree_groups == 1
                || plan.bucket_windows * plan.tree_groups * plan.tree_threads <= resident,
            "{} trees of {} threads on {} resident threads", plan.bucket_windows * plan.tree_groups, plan.tree_threads, resident
        );
        prop_assert_eq!(plan.tree_sums(), plan.bucket_windows * plan.tree_groups + 1);
        prop_assert_eq!(u64::from(plan.entry_capacity), ones + general * u64::from(plan.windows));
        prop_assert!(plan.scan_segments * plan.scan_segment >= plan.buckets);
        let mut capacity = plan.entry_capacity;
        for (l, level) in plan.levels.iter().enumerate() {
            prop_assert_eq!(level.input_capacity, capacity);
            let chunks = capacity.div_ceil(plan.chunk);
            prop_assert!(level.threads >= 1);
            if l + 1 == plan.levels.len() {
                prop_assert!(chunks <= 1, "the last level has {} chunks", chunks);
            } else {
                prop_assert!(2 * chunks < capacity, "level {} does not shrink", l);
                capacity = 2 * chunks;
            }
        }
        let [a, b] = plan.partial_capacities();
        for (l, level) in plan.levels.iter().enumerate().skip(1) {
            let room = if l % 2 == 1 { a } else { b };
            prop_assert!(level.input_capacity <= room, "level {} input {} > buffer {}", l, level.input_capacity, room);
        }
    }
}

#[test]
fn ones_skip_the_windows_and_zeros_have_no_entries() {
    let mut rng = StdRng::seed_from_u64(seed("ones_skip_the_windows_and_zeros_have_no_entries"));
    let sc = scalars(Kind::PlusMinusOne, 500, &mut rng);
    let mut sc: Vec<Fr> = sc
        .into_iter()
        .enumerate()
        .map(|(i, x)| if i % 3 == 0 { Fr::zero() } else { x })
        .collect();
    sc[1] = -Fr::one();
    let plan = MsmPlan::new(ScalarStats::of(&sc), small_device()).unwrap();
    let schedule = sim::schedule(&sc, &plan, rng.gen()).unwrap();
    let ones = sc.iter().filter(|x| !x.is_zero()).count();
    assert_eq!(schedule.entry_count as usize, ones);
    assert!(schedule.keys[..ones]
        .iter()
        .all(|&k| k == plan.ones_bucket()));
    let negated: Vec<u32> = schedule.entries[..ones]
        .iter()
        .filter(|&&e| e & NEGATE != 0)
        .map(|&e| e & !NEGATE)
        .collect();
    assert!(negated.contains(&1));
    assert!(negated.iter().all(|&i| sc[i as usize] == -Fr::one()));
}

#[test]
fn slot_order_within_a_bucket_varies_with_thread_order_but_the_result_does_not() {
    // The scatter's atomics hand out slots in the order threads arrive; the simulation shuffles
    // that order, and the MSM must not care.
    let s = seed("slot_order_within_a_bucket_varies_with_thread_order_but_the_result_does_not");
    let mut rng = StdRng::seed_from_u64(s);
    let points = bases::<G1Projective>(400, &mut rng);
    let sc = scalars(Kind::Tiny, points.len(), &mut rng);
    let options = MsmOptions {
        window_bits: Some(4),
        chunk: Some(5),
        ..small_device()
    };
    let plan = MsmPlan::new(ScalarStats::of(&sc), options).unwrap();
    let first = sim::schedule(&sc, &plan, 1).unwrap();
    let second = sim::schedule(&sc, &plan, 2).unwrap();
    assert_eq!(first.keys, second.keys);
    assert_ne!(
        first.entries, second.entries,
        "the shuffled thread orders placed every entry the same way"
    );
    let a = sim::msm_with_schedule(&points, &first, 3)
        .unwrap()
        .into_affine();
    let b = sim::msm_with_schedule(&points, &second, 4)
        .unwrap()
        .into_affine();
    assert_eq!(a, b);
    assert_eq!(a, G1Projective::msm(&points, &sc).unwrap().into_affine());
}

#[test]
fn one_schedule_serves_g1_and_g2() {
    schedule_serves_g1_and_g2("one_schedule_serves_g1_and_g2", small_device());
}

/// One schedule over witness-like scalars, planned with `options`, gives arkworks' MSM over
/// G1 and over G2 bases (loaded as the plan needs them: with their window copies when it has
/// them); returns the schedule, the plan and the plain G1 bases for more checks.
fn schedule_serves_g1_and_g2(
    test: &str,
    options: MsmOptions,
) -> (sim::Schedule, MsmPlan, Vec<G1Affine>) {
    let mut rng = StdRng::seed_from_u64(seed(test));
    let sc = scalars(Kind::WitnessLike, 333, &mut rng);
    let plan = MsmPlan::new(ScalarStats::of(&sc), options).unwrap();
    let schedule = sim::schedule(&sc, &plan, rng.gen()).unwrap();
    let p1 = bases::<G1Projective>(sc.len(), &mut rng);
    let p2 = bases::<G2Projective>(sc.len(), &mut rng);
    // One copy is the bases themselves.
    let c1 = window_copies(&p1, plan.window_bits, plan.copies);
    let c2 = window_copies(&p2, plan.window_bits, plan.copies);
    assert_eq!(
        sim::msm_with_schedule(&c1, &schedule, 1)
            .unwrap()
            .into_affine(),
        G1Projective::msm(&p1, &sc).unwrap().into_affine(),
        "{plan:?}"
    );
    assert_eq!(
        sim::msm_with_schedule(&c2, &schedule, 2)
            .unwrap()
            .into_affine(),
        G2Projective::msm(&p2, &sc).unwrap().into_affine(),
        "{plan:?}"
    );
    (schedule, plan, p1)
}

#[test]
fn the_planner_picks_larger_windows_for_more_scalars() {
    let plan = |general: u64| {
        MsmPlan::new(
            ScalarStats {
                zeros: 0,
                ones: 0,
                general,
            },
            MsmOptions::default(),
        )
        .unwrap()
    };
    let windows: Vec<u32> = [1u64, 1 << 10, 1 << 16, 1 << 20, 1 << 24]
        .iter()
        .map(|&g| plan(g).window_bits)
        .collect();
    assert!(windows.windows(2).all(|w| w[0] <= w[1]), "{windows:?}");
    assert!(windows[4] > windows[1], "{windows:?}");
    // Zeros and ones add no entries to the windows, so they do not move the window size.
    let sparse = MsmPlan::new(
        ScalarStats {
            zeros: 1 << 20,
            ones: 1 << 20,
            general: 1 << 10,
        },
        MsmOptions::default(),
    )
    .unwrap();
    assert_eq!(sparse.window_bits, plan(1 << 10).window_bits);
    assert_eq!(
        u64::from(sparse.entry_capacity),
        (1 << 20) + (1 << 10) * u64::from(sparse.windows)
    );
}

#[test]
fn options_the_kernels_cannot_run_are_errors() {
    let stats = ScalarStats {
        zeros: 0,
        ones: 0,
        general: 100,
    };
    for options in [
        MsmOptions {
            window_bits: Some(1),
            ..MsmOptions::default()
        },
        MsmOptions {
            window_bits: Some(MAX_WINDOW_BITS + 1),
            ..MsmOptions::default()
        },
        MsmOptions {
            chunk: Some(3),
            ..MsmOptions::default()
        },
        MsmOptions {
            window_bits: Some(8),
            segment_log: Some(8),
            ..MsmOptions::default()
        },
        MsmOptions {
            scan_segment: Some(0),
            ..MsmOptions::default()
        },
        // Trees: not a power of two, and more than a window's segments (c = 8 with segments
        // of 2^4 buckets has 2^3).
        MsmOptions {
            tree_groups: Some(3),
            ..MsmOptions::default()
        },
        MsmOptions {
            tree_groups: Some(0),
            ..MsmOptions::default()
        },
        MsmOptions {
            window_bits: Some(8),
            segment_log: Some(4),
            tree_groups: Some(16),
            ..MsmOptions::default()
        },
    ] {
        assert!(
            matches!(
                MsmPlan::new(stats, options),
                Err(EngineError::BadMsmPlan(_))
            ),
            "{options:?}"
        );
    }
    // 2^31 bases cannot be indexed by the entries' 31 bits.
    let huge = ScalarStats {
        zeros: 1 << 31,
        ones: 0,
        general: 0,
    };
    assert!(matches!(
        MsmPlan::new(huge, MsmOptions::default()),
        Err(EngineError::BadMsmPlan(_))
    ));
    // Mismatched lengths are the engine's length error.
    let err = sim::msm(
        &[G1Affine::generator()],
        &[Fr::one(), Fr::one()],
        MsmOptions::default(),
        0,
    )
    .unwrap_err();
    assert!(matches!(err, EngineError::MsmLength { .. }), "{err:?}");
}

/// The host adds a window's trees: tree sums that do not make whole windows of the plan's
/// trees (or no trees at all) are the kernels' output gone wrong, an error and not a sum.
#[test]
fn tree_sums_that_do_not_make_whole_windows_are_refused() {
    use spice::engine::gpu_msm::combine::combine_windows;
    use spice::engine::gpu_msm::MsmCurve;
    type G1Config = ark_bls12_381::g1::Config;
    // Zero bytes are the XYZZ identity.
    let identity = <<G1Config as MsmCurve>::XyzzLimbs as bytemuck::Zeroable>::zeroed();
    let sums = |k: usize| vec![identity; k];
    assert!(combine_windows::<G1Config>(&sums(5), 16, 2)
        .unwrap()
        .is_zero());
    assert!(combine_windows::<G1Config>(&sums(1), 16, 4)
        .unwrap()
        .is_zero());
    for (count, groups) in [(4, 2), (6, 4), (3, 0), (0, 1)] {
        let err = combine_windows::<G1Config>(&sums(count), 16, groups).unwrap_err();
        assert!(
            matches!(err, EngineError::KernelOutput(_)),
            "{count} sums, {groups} trees: {err:?}"
        );
    }
}

#[test]
fn scalars_from_limbs_reduce_and_match_the_field_elements() {
    let mut rng = StdRng::seed_from_u64(seed(
        "scalars_from_limbs_reduce_and_match_the_field_elements",
    ));
    let values: Vec<Fr> = (0..50).map(|_| Fr::rand(&mut rng)).collect();
    let mut limbs: Vec<_> = values.iter().map(|x| x.into_bigint()).collect();
    let from = spice::engine::MsmScalars::from_limbs(limbs.clone());
    assert_eq!(from.values(), &values[..]);
    // An integer at or above the modulus is reduced modulo it.
    let mut big = Fr::MODULUS;
    big.add_with_carry(&ark_ff::BigInt::from(5u64));
    limbs.push(big);
    let reduced = spice::engine::MsmScalars::from_limbs(limbs);
    assert_eq!(reduced.values()[50], Fr::from(5u64));
    assert_eq!(reduced.stats().len(), 51);
}

/// `options` with one copy of the bases a window.
fn with_copies(options: MsmOptions) -> MsmOptions {
    with_k_copies(options, ALL_WINDOW_COPIES)
}

/// `options` with `k` copies of the bases.
fn with_k_copies(options: MsmOptions, k: u32) -> MsmOptions {
    MsmOptions {
        window_copies: k,
        ..options
    }
}

/// Window copies a plan may be asked for: none, a few (windows k apart sharing buckets, the
/// last bucket window short when k does not divide the windows), one a window, and more.
fn copies() -> impl Strategy<Value = u32> {
    prop_oneof![Just(1u32), Just(ALL_WINDOW_COPIES), 2u32..8, 0u32..200,]
}

/// Window copies at the defaults a device would use and a small device's, one a window and
/// three (the windows' count is never a multiple of three at these sizes' windows, so the
/// last bucket window is short): every size and kind.

#[test]
fn simulations_with_window_copies_match_arkworks_at_every_size_and_kind() {
    let s = seed("simulations_with_window_copies_match_arkworks_at_every_size_and_kind");
    let mut rng = StdRng::seed_from_u64(s);
    for n in SIZES_G1 {
        let points = bases::<G1Projective>(n, &mut rng);
        for kind in KINDS {
            let sc = scalars(kind, n, &mut rng);
            for options in [small_device(), MsmOptions::default()] {
                for k in [ALL_WINDOW_COPIES, 3] {
                    check_g1(
                        &points,
                        &sc,
                        with_k_copies(options, k),
                        rng.gen(),
                        &format!("G1 with {k} window copies, n = {n}, {kind:?}, {options:?}"),
                    );
                }
            }
        }
    }
    for n in SIZES_G2 {
        let points = bases::<G2Projective>(n, &mut rng);
        for kind in [Kind::Random, Kind::PlusMinusOne, Kind::WitnessLike] {
            let sc = scalars(kind, n, &mut rng);
            for k in [ALL_WINDOW_COPIES, 3] {
                check_g2(
                    &points,
                    &sc,
                    with_k_copies(small_device(), k),
                    rng.gen(),
                    &format!("G2 with {k} window copies, n = {n}, {kind:?}"),
                );
            }
        }
    }
}

#[test]
fn window_copies_are_the_bases_times_powers_of_two_to_the_window() {
    let mut rng = StdRng::seed_from_u64(seed(
        "window_copies_are_the_bases_times_powers_of_two_to_the_window",
    ));
    let windows_of = spice::engine::gpu_msm::plan::windows_for;
    for (n, window_bits, windows) in [
        (0usize, 5u32, windows_of(5)),
        (1, 9, windows_of(9)),
        (37, 13, windows_of(13)),
        (37, 13, 4),
        (5000, 16, windows_of(16)),
        (5000, 16, 1),
    ] {
        let mut points = bases::<G1Projective>(n, &mut rng);
        if n > 1 {
            points[1] = G1Affine::zero();
        }
        let copies = window_copies(&points, window_bits, windows);
        assert_eq!(copies.len(), n * windows as usize);
        // Spot checks of every window at random points, and the identity.
        for w in 0..windows as usize {
            for i in (0..n.min(3)).chain((0..4).filter(|_| n > 0).map(|_| rng.gen_range(0..n))) {
                let exponent = ark_ff::BigInt::<4>::from(1u64) << (w as u32 * window_bits);
                let expected = points[i].mul_bigint(exponent).into_affine();
                assert_eq!(
                    copies[w * n + i],
                    expected,
                    "n = {n}, c = {window_bits}, window {w}, base {i}"
                );
            }
        }
        if n > 1 {
            assert!((0..windows as usize).all(|w| copies[w * n + 1].is_zero()));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The device's window copies (the copy kernel's body: c doublings in XYZZ, back to affine
    /// with one inversion a chunk) are the host's (`window_copies`, arkworks' doublings and
    /// normalisation) byte for byte, for any window, number of copies, tiling and chunk, over
    /// bases with the identity, repeated and opposite points in them.
    #[test]
    fn the_device_copy_kernel_builds_the_hosts_window_copies(
        n in 0usize..150,
        window_bits in MIN_WINDOW_BITS..=MAX_WINDOW_BITS,
        copies in 1u32..5,
        tile in 1u32..200,
        chunk in 1u32..40,
        seed in any::<u64>(),
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let points = bases::<G1Projective>(n, &mut rng);
        let device = sim::device_window_copies(&points, window_bits, copies, tile, chunk, seed).unwrap();
        let host: Vec<_> = window_copies(&points, window_bits, copies)
            .into_iter()
            .map(<ark_bls12_381::g1::Config as spice::engine::gpu_msm::MsmCurve>::AffineLimbs::from)
            .collect();
        prop_assert_eq!(bytemuck::cast_slice::<_, u8>(&device), bytemuck::cast_slice::<_, u8>(&host));
    }
}

/// The same in G2 (the kernel over Fq2), at the default tile and chunk and a small one.
#[test]
fn the_device_copy_kernel_builds_the_hosts_g2_window_copies() {
    use spice::engine::gpu_msm::window_copies::{DEVICE_COPY_CHUNK, DEVICE_COPY_TILE};
    let s = seed("the_device_copy_kernel_builds_the_hosts_g2_window_copies");
    let mut rng = StdRng::seed_from_u64(s);
    for (n, window_bits, copies, tile, chunk) in [
        (0usize, 13u32, 3u32, DEVICE_COPY_TILE, DEVICE_COPY_CHUNK),
        (77, 13, 3, DEVICE_COPY_TILE, DEVICE_COPY_CHUNK),
        (77, 22, 2, 10, 3),
    ] {
        let points = bases::<G2Projective>(n, &mut rng);
        let device =
            sim::device_window_copies(&points, window_bits, copies, tile, chunk, rng.gen())
                .unwrap();
        let host: Vec<_> = window_copies(&points, window_bits, copies)
            .into_iter()
            .map(<ark_bls12_381::g2::Config as spice::engine::gpu_msm::MsmCurve>::AffineLimbs::from)
            .collect();
        assert_eq!(
            bytemuck::cast_slice::<_, u8>(&device),
            bytemuck::cast_slice::<_, u8>(&host),
            "n = {n}, c = {window_bits}, {copies} copies, tiles of {tile}, chunks of {chunk}"
        );
    }
}

/// The plan of 2^`log` scalars, none of them 0 or ±1.
fn dense(log: u32, options: MsmOptions) -> MsmPlan {
    MsmPlan::new(
        ScalarStats {
            zeros: 0,
            ones: 0,
            general: 1 << log,
        },
        options,
    )
    .unwrap()
}

/// Dependent additions one tree block of `plan` makes (each round, its share of the pairs).
fn tree_depth(plan: &MsmPlan) -> u32 {
    let segments = plan.segments / plan.tree_groups;
    (0..segments.trailing_zeros())
        .map(|round| (segments >> (round + 1)).div_ceil(plan.tree_threads))
        .sum()
}

/// With window copies the reduction has one window: the planner adds its segment sums in
/// several trees, so one multiprocessor no longer makes ~70 dependent additions while the rest
/// idle (at least halved; 2^20: 8,192 segments in 32 trees of 8 additions, against 70), and
/// the host adds the trees' sums.
/// Plain plans, with a block a window already, gain less from more and keep to a few.
#[test]
fn a_lone_window_is_added_in_several_trees() {
    for log in [16u32, 20, 24] {
        let copies = dense(log, with_copies(MsmOptions::default()));
        let one_tree = dense(
            log,
            MsmOptions {
                tree_groups: Some(1),
                ..with_copies(MsmOptions::default())
            },
        );
        assert_eq!((one_tree.tree_groups, one_tree.tree_sums()), (1, 2));
        assert!(copies.tree_groups > 1, "2^{log}: {copies:?}");
        assert!(
            2 * tree_depth(&copies) <= tree_depth(&one_tree),
            "2^{log}: {} additions a tree in {} trees against {} in one",
            tree_depth(&copies),
            copies.tree_groups,
            tree_depth(&one_tree)
        );
        let plain = dense(log, MsmOptions::default());
        assert!(plain.tree_groups <= 4, "2^{log}: {plain:?}");
        assert!(
            tree_depth(&plain)
                <= tree_depth(&dense(
                    log,
                    MsmOptions {
                        tree_groups: Some(1),
                        ..MsmOptions::default()
                    }
                ))
        );
    }
    let at_2_20 = dense(20, with_copies(MsmOptions::default()));
    assert_eq!(
        (at_2_20.segments, at_2_20.tree_groups, tree_depth(&at_2_20)),
        (8192, 32, 8)
    );
}

#[test]
fn window_copies_fix_the_window_by_the_number_of_bases() {
    let copies = with_copies(MsmOptions::default());
    let plan = |zeros: u64, ones: u64, general: u64| {
        MsmPlan::new(
            ScalarStats {
                zeros,
                ones,
                general,
            },
            copies,
        )
        .unwrap()
    };
    // Wider windows than the plain planner's, as kernels/msm/PERFORMANCE.md's model has them.
    for (log, c) in [(16u32, 16u32), (20, 20), (24, 22)] {
        let n = 1u64 << log;
        let copied = dense(log, copies);
        assert_eq!(copied.window_bits, c, "2^{log}");
        assert_eq!(
            base_copies(n, &copies).unwrap(),
            Some(BaseCopies {
                window_bits: c,
                copies: copied.windows
            })
        );
        assert!(copied.window_bits > dense(log, MsmOptions::default()).window_bits);
        // A sparse witness over the same bases must use the window they were copied for.
        let sparse = plan(n / 2, n / 2 - 7, 7);
        assert_eq!(sparse.window_bits, c, "2^{log}, sparse");
        assert_eq!(
            (sparse.bucket_windows, sparse.buckets),
            (1, (1 << (c - 1)) + 1)
        );
        assert_eq!(sparse.ones_bucket(), 1 << (c - 1));
    }
    // The override moves both the bases' copies and the plan.
    let forced = MsmOptions {
        window_bits: Some(9),
        ..copies
    };
    assert_eq!(
        base_copies(1000, &forced).unwrap(),
        Some(BaseCopies {
            window_bits: 9,
            copies: 29
        })
    );
    assert_eq!(
        MsmPlan::new(
            ScalarStats {
                zeros: 0,
                ones: 0,
                general: 1000
            },
            forced
        )
        .unwrap()
        .window_bits,
        9
    );
    assert!(matches!(
        base_copies(
            1000,
            &MsmOptions {
                window_bits: Some(1),
                ..copies
            }
        ),
        Err(EngineError::BadMsmPlan(_))
    ));
    // Without copies (one is the bases alone) there is no copy window at all.
    for k in [0, 1] {
        let options = with_k_copies(MsmOptions::default(), k);
        assert_eq!(base_copies(1000, &options).unwrap(), None);
    }
    // 2^28 bases in 12 copies need more than the entries' 31 bits, however few scalars are
    // nonzero; without copies they fit.
    let huge = ScalarStats {
        zeros: 1 << 28,
        ones: 0,
        general: 5,
    };
    assert!(matches!(
        MsmPlan::new(huge, copies),
        Err(EngineError::BadMsmPlan(_))
    ));
    assert!(MsmPlan::new(huge, MsmOptions::default()).is_ok());
    // Seven copies of 2^28 fit below 2^31, eight do not.
    assert_eq!(
        MsmPlan::new(huge, with_k_copies(MsmOptions::default(), 7))
            .unwrap()
            .base_points(),
        7 * ((1 << 28) + 5)
    );
    assert!(matches!(
        MsmPlan::new(huge, with_k_copies(MsmOptions::default(), 8)),
        Err(EngineError::BadMsmPlan(_))
    ));
}

/// Fewer copies than windows: windows k apart share buckets, ⌈windows / k⌉ bucket windows, a
/// window between the plain planner's and one copy a window's (the buckets paid for fewer
/// times than plain), the same for a sparse witness over the same bases.
#[test]
fn partial_window_copies_share_buckets_between_windows_k_apart() {
    for log in [16u32, 20, 24] {
        let plain = dense(log, MsmOptions::default());
        let all = dense(log, with_copies(MsmOptions::default()));
        let mut last = plain.window_bits;
        for k in [2u32, 4, 6] {
            let partial = dense(log, with_k_copies(MsmOptions::default(), k));
            assert_eq!(partial.copies, k, "2^{log}");
            assert_eq!(
                partial.bucket_windows,
                partial.windows.div_ceil(k),
                "2^{log}"
            );
            assert_eq!(partial.base_points(), u64::from(k) << log);
            assert!(
                (last..=all.window_bits).contains(&partial.window_bits),
                "2^{log}, {k} copies: c = {} outside {last}..={}",
                partial.window_bits,
                all.window_bits
            );
            last = partial.window_bits;
            let sparse = MsmPlan::new(
                ScalarStats {
                    zeros: 1 << (log - 1),
                    ones: (1 << (log - 1)) - 3,
                    general: 3,
                },
                with_k_copies(MsmOptions::default(), k),
            )
            .unwrap();
            assert_eq!(
                sparse.base_copies(),
                partial.base_copies(),
                "2^{log}, sparse"
            );
        }
    }
    // The page's figures: four copies take c = 17 at 2^20 and 22 at 2^24.
    let four = |log| dense(log, with_k_copies(MsmOptions::default(), 4)).window_bits;
    assert_eq!((four(20), four(24)), (17, 22));
    // More copies than windows are one a window.
    let many = dense(20, with_k_copies(MsmOptions::default(), 100));
    assert_eq!((many.copies, many.bucket_windows), (many.windows, 1));
}

/// `SPICE_MSM_WINDOW_COPIES`' values: `all`, a number (0 and 1 for none), nothing else.
#[test]
fn window_copies_parse_from_text() {
    assert_eq!(parse_window_copies("all"), Ok(ALL_WINDOW_COPIES));
    assert_eq!(parse_window_copies(" 4 "), Ok(4));
    assert_eq!(parse_window_copies("1"), Ok(1));
    assert_eq!(parse_window_copies("0"), Ok(1));
    for bad in ["", "yes", "-1", "2.5", "ALL4"] {
        assert!(parse_window_copies(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn one_schedule_with_window_copies_serves_g1_and_g2_copies_and_refuses_plain_bases() {
    let (schedule, plan, plain) = schedule_serves_g1_and_g2(
        "one_schedule_with_window_copies_serves_g1_and_g2_copies_and_refuses_plain_bases",
        with_copies(small_device()),
    );
    assert!(plan.copies > 1);
    let err = sim::msm_with_schedule(&plain, &schedule, 3).unwrap_err();
    assert!(matches!(err, EngineError::MsmLength { .. }), "{err:?}");
}
