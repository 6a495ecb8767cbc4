//! The GPU NTT's algorithm — the plan of `engine/gpu_ntt/plan.rs` and the kernels' own pass
//! bodies (`kernels/ntt/ntt_pass.cuh`), run over every block and thread on the host — computes
//! exactly arkworks' transforms, at every size where the pass structure changes, for tile
//! shapes from the default down to tiny ones that force many passes on small inputs, and
//! whatever order blocks and threads run in.

use ark_bls12_381::Fr;
use ark_ff::UniformRand;
use ark_std::rand::{rngs::StdRng, SeedableRng};
use proptest::prelude::*;
use spice::engine::gpu_ntt::host_simulation as sim;
use spice::engine::gpu_ntt::plan::{Network, Roots};
use spice::engine::gpu_ntt::{
    NttPlan, Scale, Slot, TileShape, TransformSpec, QUOTIENT_INPUT_STEPS,
};
use spice::engine::{Backend, CpuBackend, EngineError, NttDirection};

const DIRECTIONS: [NttDirection; 4] = [
    NttDirection::Forward,
    NttDirection::Inverse,
    NttDirection::CosetForward,
    NttDirection::CosetInverse,
];

fn random(n: usize, seed: u64) -> Vec<Fr> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| Fr::rand(&mut rng)).collect()
}

/// arkworks' transform through the CPU backend.
fn reference(data: &[Fr], direction: NttDirection) -> Vec<Fr> {
    let mut v = data.to_vec();
    CpuBackend::new().ntt(&mut v, direction).unwrap();
    v
}

/// Every tile shape the planner accepts, for tile_log up to `max_tile_log`.
fn tile_shape(max_tile_log: u32) -> impl Strategy<Value = TileShape> {
    (1..=max_tile_log)
        .prop_flat_map(|tile_log| (Just(tile_log), 0..tile_log, 0u32..=9))
        .prop_map(|(tile_log, columns_log, t)| TileShape {
            tile_log,
            columns_log,
            max_threads: 1 << t,
        })
}

fn assert_all_directions_match(data: &[Fr], tile: TileShape, seed: u64) {
    for direction in DIRECTIONS {
        let mut ours = data.to_vec();
        sim::ntt(&mut ours, direction, tile, seed).unwrap();
        assert_eq!(
            ours,
            reference(data, direction),
            "{direction:?}, n = {}, {tile:?}",
            data.len()
        );
    }
}

#[test]
fn every_size_up_to_two_passes_matches_arkworks_with_the_default_tile() {
    // The default tile (2^10, 4 columns) does 2^1..2^10 in one pass and 2^11..2^16 in two.
    for log in 1..=13u32 {
        assert_all_directions_match(
            &random(1 << log, u64::from(log)),
            TileShape::default(),
            u64::from(log) * 7,
        );
    }
}

#[test]
fn three_passes_of_the_default_tile_match_arkworks() {
    // 2^17 is the smallest size the default tile splits into three passes.
    let log = 17;
    let plan = NttPlan::new(
        log,
        TransformSpec::natural(NttDirection::Forward),
        TileShape::default(),
    )
    .unwrap();
    assert_eq!(plan.passes.len(), 3);
    let data = random(1 << log, 17);
    for direction in [NttDirection::Forward, NttDirection::CosetInverse] {
        let mut ours = data.clone();
        sim::ntt(&mut ours, direction, TileShape::default(), 3).unwrap();
        assert_eq!(ours, reference(&data, direction), "{direction:?}");
    }
}

#[test]
fn a_one_point_transform_is_the_identity() {
    let data = random(1, 1);
    for direction in DIRECTIONS {
        let mut ours = data.clone();
        sim::ntt(&mut ours, direction, TileShape::default(), 0).unwrap();
        assert_eq!(ours, reference(&data, direction));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Tiny tiles give up to 12 passes on 2^12 points: every pass kind (top with the scale,
    /// middle with element twiddles, the bit-reversing bottom pass, columns from 1 to 2^11)
    /// is exercised at sizes that simulate in milliseconds.
    #[test]
    fn any_tile_shape_matches_arkworks(log in 1u32..=12, tile in tile_shape(6), seed in any::<u64>()) {
        assert_all_directions_match(&random(1 << log, seed), tile, seed.rotate_left(17));
    }

    #[test]
    fn inverse_undoes_forward_on_the_domain_and_the_coset(log in 1u32..=11, tile in tile_shape(5), seed in any::<u64>()) {
        let data = random(1 << log, seed);
        for (fwd, inv) in [(NttDirection::Forward, NttDirection::Inverse), (NttDirection::CosetForward, NttDirection::CosetInverse)] {
            let mut v = data.clone();
            sim::ntt(&mut v, fwd, tile, seed).unwrap();
            sim::ntt(&mut v, inv, tile, !seed).unwrap();
            prop_assert_eq!(&v, &data);
        }
    }

    /// The chain the CUDA backend runs for the prover (natural-order evaluations in, the one
    /// permutation inside the first transform's first pass) gives the coefficients of the
    /// default seven-NTT quotient.
    #[test]
    fn quotient_chain_matches_the_cpu_quotient(log in 0u32..=11, tile in tile_shape(6), seed in any::<u64>()) {
        let n = 1usize << log;
        let (a, b, c) = (random(n, seed), random(n, seed ^ 1), random(n, seed ^ 2));
        let expected = CpuBackend::new().quotient(a.clone(), b.clone(), c.clone()).unwrap();
        let ours = sim::quotient(&a, &b, &c, tile, seed).unwrap();
        prop_assert_eq!(ours, expected);
    }

    /// Running blocks, and the threads of each phase, in other orders changes nothing: no
    /// thread reads a tile slot another thread of the same phase writes, and no block of an
    /// in-place pass reads what another block writes.
    #[test]
    fn results_do_not_depend_on_block_or_thread_order(log in 2u32..=11, tile in tile_shape(6), seeds in any::<[u64; 3]>()) {
        let data = random(1 << log, seeds[0]);
        let mut first = data.clone();
        let mut second = data.clone();
        sim::ntt(&mut first, NttDirection::CosetForward, tile, seeds[1]).unwrap();
        sim::ntt(&mut second, NttDirection::CosetForward, tile, seeds[2]).unwrap();
        prop_assert_eq!(first, second);
    }

    /// Each index bit is covered by exactly one pass; DIF runs top-down, DIT bottom-up; only
    /// the natural-order transforms bit-reverse, once, out of place; tiles never exceed the
    /// shape.
    #[test]
    fn plans_cover_every_bit_once(log in 1u32..=28, tile in tile_shape(12)) {
        for spec in DIRECTIONS.map(TransformSpec::natural).into_iter().chain(QUOTIENT_INPUT_STEPS) {
            let plan = NttPlan::new(log, spec, tile).unwrap();
            let mut covered = 0u32;
            for p in &plan.passes {
                let bits = ((1u32 << p.stages) - 1) << p.lo_bit;
                prop_assert_eq!(covered & bits, 0);
                covered |= bits;
                prop_assert!(p.stages + p.log_columns <= tile.tile_log);
                prop_assert!(p.threads <= tile.max_threads);
            }
            prop_assert_eq!(covered, (1u32 << log) - 1);
            let los: Vec<u32> = plan.passes.iter().map(|p| p.lo_bit).collect();
            let mut sorted = los.clone();
            sorted.sort_unstable_by(|a, b| if spec.network == Network::Dif { b.cmp(a) } else { a.cmp(b) });
            prop_assert_eq!(los, sorted);
            let reversing = plan.passes.iter().filter(|p| p.src != p.dst).count();
            prop_assert_eq!(reversing, usize::from(spec.natural_both_sides));
            prop_assert_eq!(plan.result == Slot::Scratch, spec.natural_both_sides);
        }
    }
}

#[test]
fn pass_count_changes_where_the_default_tile_runs_out() {
    let count = |log| {
        NttPlan::new(
            log,
            TransformSpec::natural(NttDirection::Forward),
            TileShape::default(),
        )
        .unwrap()
        .passes
        .len()
    };
    assert_eq!((count(10), count(11)), (1, 2));
    assert_eq!((count(16), count(17)), (2, 3));
    assert_eq!((count(24), count(25)), (3, 4));
    assert_eq!(count(28), 4);
}

#[test]
fn sizes_and_tiles_the_kernels_cannot_run_are_errors() {
    let spec = TransformSpec::natural(NttDirection::Forward);
    for tile in [
        TileShape {
            tile_log: 0,
            ..TileShape::default()
        },
        TileShape {
            tile_log: 13,
            ..TileShape::default()
        },
        TileShape {
            columns_log: 10,
            ..TileShape::default()
        },
        TileShape {
            max_threads: 3,
            ..TileShape::default()
        },
        TileShape {
            max_threads: 1024,
            ..TileShape::default()
        },
    ] {
        assert!(
            matches!(
                NttPlan::new(10, spec, tile),
                Err(EngineError::BadNttPlan(_))
            ),
            "{tile:?}"
        );
    }
    assert!(matches!(
        NttPlan::new(29, spec, TileShape::default()),
        Err(EngineError::BadNttSize { .. })
    ));
    let mut odd = random(3, 1);
    assert!(matches!(
        sim::ntt(&mut odd, NttDirection::Forward, TileShape::default(), 0),
        Err(EngineError::BadNttSize { .. })
    ));
}

#[test]
fn the_scale_sits_on_the_natural_side_of_each_transform() {
    // A DIF reads natural order (first pass scales its input), a DIT writes it (last pass
    // scales its output): in both cases the pass over the top bits.
    let tile = TileShape {
        tile_log: 3,
        columns_log: 1,
        max_threads: 4,
    };
    for spec in [
        TransformSpec::natural(NttDirection::CosetForward),
        TransformSpec::natural(NttDirection::CosetInverse),
        TransformSpec {
            network: Network::Dit,
            roots: Roots::Inverse,
            scale: Scale::InvNCoset,
            natural_both_sides: false,
        },
    ] {
        let plan = NttPlan::new(9, spec, tile).unwrap();
        let scaled: Vec<u32> = plan
            .passes
            .iter()
            .filter(|p| p.flags & 4 != 0)
            .map(|p| p.lo_bit + p.stages)
            .collect();
        assert_eq!(scaled, vec![9], "{spec:?}");
    }
}
