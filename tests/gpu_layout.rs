//! bindgen's reading of `kernels/include/spice_layout.h` agrees with the hand-written Rust
//! mirrors the engine passes to the kernels: limb and point layouts (`engine/kernel_host.rs`),
//! the NTT pass parameters (`engine/gpu_ntt/pass.rs`), the MSM launch parameters
//! (`engine/gpu_msm/params.rs`) and the witness map's (`engine/gpu_witness/params.rs`), with
//! their flags and limits. Needs the `cuda` feature (for bindgen's output), not a GPU.
#![cfg(feature = "cuda")]

#[allow(non_camel_case_types, non_upper_case_globals, dead_code, clippy::all)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/spice_layout.rs"));
}

use std::mem::{align_of, offset_of, size_of};

use spice::engine::gpu_msm::params::{
    CopyParams, LevelParams, ReduceParams, ScheduleParams, MAX_WINDOW_BITS, MIN_CHUNK,
    MIN_WINDOW_BITS, NEGATE,
};
use spice::engine::gpu_ntt::pass::{
    NttPassParams, FLAG_BITREV_IO, FLAG_DIT, FLAG_LAMBDA, FLAG_SCALE, MAX_TILE_LOG,
};
use spice::engine::gpu_witness::params::{
    WitnessMapParams, COEFF_MINUS_ONE, COEFF_ONE, NO_FAILURE,
};
use spice::engine::gpu_witness::WitnessTerm;
use spice::engine::kernel_host::{
    Fq2Limbs, FqLimbs, FrLimbs, G1AffineLimbs, G1JacobianLimbs, G1XyzzLimbs, G2AffineLimbs,
    G2JacobianLimbs, G2XyzzLimbs,
};

/// Same size and alignment, and each named field at the same offset.
macro_rules! same_layout {
    ($c:ty, $r:ty $(, $field:ident)*) => {
        assert_eq!(size_of::<$c>(), size_of::<$r>(), "size of {}", stringify!($c));
        assert_eq!(align_of::<$c>(), align_of::<$r>(), "alignment of {}", stringify!($c));
        $(assert_eq!(offset_of!($c, $field), offset_of!($r, $field), "{}.{}", stringify!($c), stringify!($field));)*
    };
}

#[test]
fn limb_and_point_layouts_match_the_rust_mirrors() {
    same_layout!(generated::spice_fr, FrLimbs);
    same_layout!(generated::spice_fq, FqLimbs);
    same_layout!(generated::spice_fq2, Fq2Limbs);
    same_layout!(generated::spice_g1_affine, G1AffineLimbs);
    same_layout!(generated::spice_g2_affine, G2AffineLimbs);
    same_layout!(generated::spice_g1_jacobian, G1JacobianLimbs);
    same_layout!(generated::spice_g2_jacobian, G2JacobianLimbs);
    same_layout!(generated::spice_g1_xyzz, G1XyzzLimbs);
    same_layout!(generated::spice_g2_xyzz, G2XyzzLimbs);
    assert_eq!(generated::SPICE_FR_LIMBS, 4);
    assert_eq!(generated::SPICE_FQ_LIMBS, 6);
}

#[test]
fn ntt_pass_parameters_match_the_rust_mirror() {
    same_layout!(generated::spice_ntt_pass, NttPassParams, lambda, threads);
    assert_eq!(generated::SPICE_NTT_DIT, FLAG_DIT);
    assert_eq!(generated::SPICE_NTT_BITREV_IO, FLAG_BITREV_IO);
    assert_eq!(generated::SPICE_NTT_SCALE, FLAG_SCALE);
    assert_eq!(generated::SPICE_NTT_LAMBDA, FLAG_LAMBDA);
    assert_eq!(generated::SPICE_NTT_MAX_TILE_LOG, MAX_TILE_LOG);
}

#[test]
fn msm_parameters_match_the_rust_mirrors() {
    same_layout!(
        generated::spice_msm_schedule,
        ScheduleParams,
        scalars,
        entry_count,
        n,
        window_bits,
        windows,
        scan_segment,
        entry_capacity,
        copies
    );
    same_layout!(
        generated::spice_msm_level,
        LevelParams,
        count,
        next_partials,
        chunk,
        level
    );
    same_layout!(
        generated::spice_msm_reduce,
        ReduceParams,
        buckets,
        window_sums,
        window_bits,
        windows,
        segment_log,
        tree_groups_log
    );
    same_layout!(
        generated::spice_msm_copy,
        CopyParams,
        source,
        target,
        doubled,
        prefix,
        first,
        count,
        window_bits,
        chunk
    );
    assert_eq!(generated::SPICE_MSM_NEGATE, NEGATE);
    assert_eq!(generated::SPICE_MSM_MIN_WINDOW_BITS, MIN_WINDOW_BITS);
    assert_eq!(generated::SPICE_MSM_MAX_WINDOW_BITS, MAX_WINDOW_BITS);
    assert_eq!(generated::SPICE_MSM_MIN_CHUNK, MIN_CHUNK);
}

#[test]
fn witness_map_parameters_match_the_rust_mirror() {
    same_layout!(generated::spice_witness_term, WitnessTerm, var, coeff);
    same_layout!(
        generated::spice_witness_map,
        WitnessMapParams,
        offsets,
        terms,
        coeff_table,
        z,
        a,
        b,
        c,
        first_failure,
        rows,
        instance,
        domain
    );
    assert_eq!(generated::SPICE_WITNESS_COEFF_ONE, COEFF_ONE);
    assert_eq!(generated::SPICE_WITNESS_COEFF_MINUS_ONE, COEFF_MINUS_ONE);
    assert_eq!(generated::SPICE_WITNESS_NO_FAILURE, NO_FAILURE);
}
