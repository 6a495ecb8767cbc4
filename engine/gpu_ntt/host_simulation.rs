//! The GPU NTT run on the host: the plan of [`super::plan`], the tables of [`super::tables`],
//! and for each pass the kernels' own phase bodies (`kernels/ntt/ntt_pass.cuh`) executed over
//! every block and thread by `spice_host_ntt_pass` in `kernels/host_arith.cpp`. Blocks and the
//! threads of each phase run in an order drawn from a seed, so a result that depends on
//! scheduling (a race) shows up as a difference between seeds.
//!
//! For tests: it is a faithful model of the kernels, not a fast NTT.

use ark_bls12_381::Fr;
use ark_ff::{Field, One};

use crate::engine::backend::{check_ntt_size, NttDirection};
use crate::engine::error::{EngineError, Result};
use crate::engine::kernel_host::FrLimbs;

use super::pass::{NttPassParams, PassArrays};
use super::plan::{NttPlan, Slot, TileShape, TransformSpec, QUOTIENT_INPUT_STEPS, QUOTIENT_OUTPUT_STEP};
use super::tables::DomainTables;

extern "C" {
    fn spice_host_ntt_pass(p: *const NttPassParams, order_seed: u64) -> i32;
    fn spice_host_quotient_pointwise(a: *mut FrLimbs, b: *const FrLimbs, c: *const FrLimbs, z_inv: *const FrLimbs, n: usize);
}

/// What unwritten elements hold: limbs above the modulus, so an element no pass wrote fails the
/// conversion back instead of passing for a value.
const POISON: FrLimbs = FrLimbs { l: [u64::MAX; 4] };

fn to_limbs(data: &[Fr]) -> Vec<FrLimbs> {
    data.iter().map(|&x| FrLimbs::from(x)).collect()
}

fn from_limbs(limbs: &[FrLimbs], out: &mut [Fr]) -> Result<()> {
    for (o, l) in out.iter_mut().zip(limbs) {
        *o = Fr::try_from(*l)
            .map_err(|_| EngineError::BadNttPlan("the simulated kernels left an element unwritten or unreduced".into()))?;
    }
    Ok(())
}

/// Runs the passes of `plan` over `data` (and a poisoned scratch buffer); returns the buffer
/// holding the result.
fn run_plan(plan: &NttPlan, tables: &DomainTables, data: Vec<FrLimbs>, order_seed: u64) -> Result<Vec<FrLimbs>> {
    let mut buffers = [data, if plan.uses_scratch() { vec![POISON; 1 << plan.log_n] } else { Vec::new() }];
    let roots = tables.roots(plan.spec.roots);
    let scale = tables.scale_tables(plan.spec.scale);
    let lambda = FrLimbs::from(tables.lambda(plan.spec.scale));
    for (i, pass) in plan.passes.iter().enumerate() {
        let index = |s: Slot| if s == Slot::Data { 0 } else { 1 };
        let (src, dst) = (index(pass.src), index(pass.dst));
        let output = buffers[dst].as_mut_ptr();
        let input = if src == dst { output as *const FrLimbs } else { buffers[src].as_ptr() };
        let arrays = PassArrays {
            input,
            output,
            roots: roots.roots.as_ptr(),
            twiddle_lo: roots.twiddle_lo.as_ptr(),
            twiddle_hi: roots.twiddle_hi.as_ptr(),
            scale_lo: scale.map_or(std::ptr::null(), |s| s.lo.as_ptr()),
            scale_hi: scale.map_or(std::ptr::null(), |s| s.hi.as_ptr()),
        };
        let params = NttPassParams::new(plan, pass, arrays, lambda);
        // SAFETY: every pointer addresses a live vector of the size the pass indexes (2^log_n
        // for data and scratch, the table sizes documented in tables.rs); the C side only
        // reads the inputs and tables and writes `output`.
        let ok = unsafe { spice_host_ntt_pass(&params, order_seed.wrapping_add(i as u64)) };
        if ok != 1 {
            return Err(EngineError::BadNttPlan(format!("the kernels reject pass {i} of {plan:?}")));
        }
    }
    let [data, scratch] = buffers;
    Ok(if plan.result == Slot::Data { data } else { scratch })
}

/// Runs `spec` over `data` (length `2^log_n`) exactly as the GPU would, with tiles of `tile`.
pub fn transform(data: &mut [Fr], spec: TransformSpec, tile: TileShape, order_seed: u64) -> Result<()> {
    let log_n = check_ntt_size(data.len())?;
    let plan = NttPlan::new(log_n, spec, tile)?;
    let tables = DomainTables::new(log_n, plan.root_log, plan.split)?;
    let out = run_plan(&plan, &tables, to_limbs(data), order_seed)?;
    from_limbs(&out, data)
}

/// One of the backend's natural-order transforms, as the GPU runs it.
pub fn ntt(data: &mut [Fr], direction: NttDirection, tile: TileShape, order_seed: u64) -> Result<()> {
    transform(data, TransformSpec::natural(direction), tile, order_seed)
}

/// The QAP quotient as the CUDA backend computes it: `a`, `b`, `c` are the evaluations of A·z,
/// B·z, C·z on ⟨ω⟩ in **bit-reversed** order (as the prover lays them out for the GPU);
/// returns the natural-order coefficients of h = (A·B − C)/Z.
pub fn quotient(a: &[Fr], b: &[Fr], c: &[Fr], tile: TileShape, order_seed: u64) -> Result<Vec<Fr>> {
    let log_n = check_ntt_size(a.len())?;
    if b.len() != a.len() || c.len() != a.len() {
        return Err(EngineError::MsmLength { bases: a.len(), scalars: b.len().min(c.len()) });
    }
    let mut vectors = Vec::with_capacity(3);
    for (v, input) in [a, b, c].into_iter().enumerate() {
        let mut limbs = to_limbs(input);
        for (s, spec) in QUOTIENT_INPUT_STEPS.iter().enumerate() {
            let plan = NttPlan::new(log_n, *spec, tile)?;
            let tables = DomainTables::new(log_n, plan.root_log, plan.split)?;
            limbs = run_plan(&plan, &tables, limbs, order_seed ^ ((v as u64) << 32 | s as u64))?;
        }
        vectors.push(limbs);
    }
    let z_inv = coset_vanishing_inverse(log_n)?;
    let (mut va, rest) = vectors.split_first_mut().map(|(a, r)| (std::mem::take(a), r)).unwrap_or_default();
    let (vb, vc) = (&rest[0], &rest[1]);
    // SAFETY: the three vectors have 2^log_n elements each; the C side writes only `va`.
    unsafe { spice_host_quotient_pointwise(va.as_mut_ptr(), vb.as_ptr(), vc.as_ptr(), &FrLimbs::from(z_inv), va.len()) };
    let plan = NttPlan::new(log_n, QUOTIENT_OUTPUT_STEP, tile)?;
    let tables = DomainTables::new(log_n, plan.root_log, plan.split)?;
    let out = run_plan(&plan, &tables, va, order_seed ^ 0xff)?;
    let mut h = vec![Fr::one(); out.len()];
    from_limbs(&out, &mut h)?;
    Ok(h)
}

/// `1 / Z(x)` on the coset `g·⟨ω⟩`, where `Z = Xⁿ − 1` is the constant `gⁿ − 1` (nonzero:
/// `g` is not an n-th root of unity).
pub fn coset_vanishing_inverse(log_n: u32) -> Result<Fr> {
    use ark_ff::FftField;
    (Fr::GENERATOR.pow([1u64 << log_n]) - Fr::one())
        .inverse()
        .ok_or(EngineError::BadNttSize { size: 1usize << log_n, max_log: crate::engine::backend::MAX_NTT_LOG })
}
