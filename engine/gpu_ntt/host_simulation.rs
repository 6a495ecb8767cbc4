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
use super::plan::{NttPlan, Slot, TileShape, TransformSpec};
use super::quotient_chain::{ChainLaunch, QuotientChain, QUOTIENT_BUFFERS};
use super::tables::DomainTables;

extern "C" {
    fn spice_host_ntt_pass(p: *const NttPassParams, order_seed: u64) -> i32;
    fn spice_host_quotient_pointwise(
        a: *mut FrLimbs,
        b: *const FrLimbs,
        c: *const FrLimbs,
        z_inv: *const FrLimbs,
        n: usize,
    );
}

/// What unwritten elements hold: limbs above the modulus, so an element no pass wrote fails the
/// conversion back instead of passing for a value.
const POISON: FrLimbs = FrLimbs { l: [u64::MAX; 4] };

fn to_limbs(data: &[Fr]) -> Vec<FrLimbs> {
    data.iter().map(|&x| FrLimbs::from(x)).collect()
}

fn from_limbs(limbs: &[FrLimbs], out: &mut [Fr]) -> Result<()> {
    for (o, l) in out.iter_mut().zip(limbs) {
        *o = Fr::try_from(*l).map_err(|_| {
            EngineError::BadNttPlan(
                "the simulated kernels left an element unwritten or unreduced".into(),
            )
        })?;
    }
    Ok(())
}

/// Runs the passes of `plan` with `buffers[data]` as its data and `buffers[scratch]` as its
/// scratch; returns the index of the buffer holding the result.
fn run_plan(
    plan: &NttPlan,
    tables: &DomainTables,
    buffers: &mut [Vec<FrLimbs>],
    (data, scratch): (usize, usize),
    order_seed: u64,
) -> Result<usize> {
    let n = 1usize << plan.log_n;
    if buffers[data].len() != n
        || (plan.uses_scratch() && (data == scratch || buffers[scratch].len() != n))
    {
        return Err(EngineError::BadNttPlan(format!(
            "buffers do not match a plan of 2^{} points",
            plan.log_n
        )));
    }
    let roots = tables.roots(plan.spec.roots);
    let scale = tables.scale_tables(plan.spec.scale);
    let lambda = FrLimbs::from(tables.lambda(plan.spec.scale));
    let index = |s: Slot| if s == Slot::Data { data } else { scratch };
    for (i, pass) in plan.passes.iter().enumerate() {
        let (src, dst) = (index(pass.src), index(pass.dst));
        let output = buffers[dst].as_mut_ptr();
        let input = if src == dst {
            output as *const FrLimbs
        } else {
            buffers[src].as_ptr()
        };
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
        // for data and scratch, checked above, and the table sizes documented in tables.rs);
        // the C side only reads the inputs and tables and writes `output`.
        let ok = unsafe { spice_host_ntt_pass(&params, order_seed.wrapping_add(i as u64)) };
        if ok != 1 {
            return Err(EngineError::BadNttPlan(format!(
                "the kernels reject pass {i} of {plan:?}"
            )));
        }
    }
    Ok(index(plan.result))
}

/// Runs `spec` over `data` (length `2^log_n`) exactly as the GPU would, with tiles of `tile`.
pub fn transform(
    data: &mut [Fr],
    spec: TransformSpec,
    tile: TileShape,
    order_seed: u64,
) -> Result<()> {
    let log_n = check_ntt_size(data.len())?;
    let plan = NttPlan::new(log_n, spec, tile)?;
    let tables = DomainTables::new(log_n, plan.root_log, plan.split)?;
    let mut buffers = [
        to_limbs(data),
        if plan.uses_scratch() {
            vec![POISON; data.len()]
        } else {
            Vec::new()
        },
    ];
    let at = run_plan(&plan, &tables, &mut buffers, (0, 1), order_seed)?;
    from_limbs(&buffers[at], data)
}

/// One of the backend's natural-order transforms, as the GPU runs it.
pub fn ntt(
    data: &mut [Fr],
    direction: NttDirection,
    tile: TileShape,
    order_seed: u64,
) -> Result<()> {
    transform(data, TransformSpec::natural(direction), tile, order_seed)
}

/// The QAP quotient as the CUDA backend computes it: `a`, `b`, `c` are the evaluations of A·z,
/// B·z, C·z on ⟨ω⟩ in natural order (as the prover lays them out); returns the natural-order
/// coefficients of h = (A·B − C)/Z.
pub fn quotient(a: &[Fr], b: &[Fr], c: &[Fr], tile: TileShape, order_seed: u64) -> Result<Vec<Fr>> {
    let log_n = check_ntt_size(a.len())?;
    if b.len() != a.len() || c.len() != a.len() {
        return Err(EngineError::MsmLength {
            bases: a.len(),
            scalars: b.len().min(c.len()),
        });
    }
    let chain = QuotientChain::new(log_n, tile)?;
    // Every plan of the chain has the same stage split, hence the same tables.
    let tables = DomainTables::new(log_n, chain.output.root_log, chain.output.split)?;
    let z_inv = FrLimbs::from(coset_vanishing_inverse(log_n)?);
    let mut buffers: [Vec<FrLimbs>; QUOTIENT_BUFFERS] =
        [to_limbs(a), to_limbs(b), to_limbs(c), vec![POISON; a.len()]];
    for (i, launch) in chain.launches.iter().enumerate() {
        match *launch {
            ChainLaunch::Transform {
                step,
                data,
                scratch,
            } => {
                run_plan(
                    chain.plan(step),
                    &tables,
                    &mut buffers,
                    (data, scratch),
                    order_seed ^ ((i as u64) << 32),
                )?;
            }
            ChainLaunch::Pointwise { a, b, c } => {
                if a == b
                    || a == c
                    || [a, b, c]
                        .iter()
                        .any(|&v| buffers[v].len() != buffers[a].len())
                {
                    return Err(EngineError::BadNttPlan(format!(
                        "pointwise step over buffers {a}, {b}, {c}"
                    )));
                }
                let (pb, pc) = (buffers[b].as_ptr(), buffers[c].as_ptr());
                let va = &mut buffers[a];
                // SAFETY: three vectors of 2^log_n elements; `a` differs from `b` and `c`, and
                // the C side writes only `a`.
                unsafe { spice_host_quotient_pointwise(va.as_mut_ptr(), pb, pc, &z_inv, va.len()) };
            }
        }
    }
    let mut h = vec![Fr::one(); a.len()];
    from_limbs(&buffers[chain.result], &mut h)?;
    Ok(h)
}

/// `1 / Z(x)` on the coset `g·⟨ω⟩`, where `Z = Xⁿ − 1` is the constant `gⁿ − 1` (nonzero:
/// `g` is not an n-th root of unity).
pub fn coset_vanishing_inverse(log_n: u32) -> Result<Fr> {
    use ark_ff::FftField;
    (Fr::GENERATOR.pow([1u64 << log_n]) - Fr::one())
        .inverse()
        .ok_or(EngineError::BadNttSize {
            size: 1usize << log_n,
            max_log: crate::engine::backend::MAX_NTT_LOG,
        })
}
