//! The CPU work of a batch proof that comes before any backend: building the batch witness
//! (`build_batch`: every tuple hashed, the commitment tree) and synthesizing the circuit's
//! assignment (`synthesize_assignment`, single-threaded arkworks gadget code), per app, on a
//! batch of `SPICE_BENCH_SLOTS` (8) executed requests. Throughput is in requests, so
//! `1 / (synthesis time per request)` is the most requests one core can prepare a second: the
//! ceiling this work puts on a service whose proofs run on a GPU.
//!
//! The third bench, `evaluate_constraints`, is the prover's first step on the batch's
//! matrices (A·z, B·z, C·z and the satisfaction check, on all cores): with synthesis, the CPU
//! work a GPU backend waits on when the rows are evaluated on the host. With the shape loaded
//! into the CUDA backend the rows run on the device instead; `witness_map_layout` times
//! building the device layout (once per shape), and the printed `layout:` line gives its size
//! and what a proof uploads either way.
//!
//! `cargo bench --bench synthesis`.

use ark_bls12_381::Fr;
use ark_ff::{AdditiveGroup, Field};
use ark_std::rand::{rngs::StdRng, SeedableRng};
use criterion::{BenchmarkId, Criterion, Throughput};
use spice::engine::gpu_witness::params::{COEFF_MINUS_ONE, COEFF_ONE};
use spice::engine::gpu_witness::WitnessMapLayout;
use spice::engine::{evaluate_constraints, synthesize_assignment, EvaluationOrder, R1csShape};
use spice::host::{
    apps::{
        clients::Mix, darkpool::DarkPoolWorkload, interbank::InterbankWorkload,
        ledger::LedgerWorkload, transfer::TransferWorkload,
    },
    batch::build_batch,
    storage_gadget::{execute, Executed},
    store::Store,
    workload::Workload,
};

/// `slots` requests of `workload`'s mix executed (after its setup) on a fresh store, in
/// `t_req` order.
fn executed<W: Workload>(workload: &mut W, slots: usize) -> (W::App, Vec<Executed<W::App>>) {
    let app = workload.app();
    let store = Store::new();
    for stream in workload.setup() {
        for request in stream {
            execute(&store, &app, request).expect("setup executes");
        }
    }
    let mut done = Vec::new();
    while done.len() < slots {
        for stream in workload.streams(slots, 4) {
            for request in stream {
                if let Ok(ex) = execute(&store, &app, request) {
                    done.push(ex);
                }
            }
        }
    }
    done.truncate(slots);
    (app, done)
}

fn bench_app<W: Workload>(c: &mut Criterion, name: &str, mut workload: W, slots: usize) {
    let (app, executed) = executed(&mut workload, slots);
    let mut rng = StdRng::seed_from_u64(3);
    let batch = build_batch(&app, 0, 0, slots, &executed, &mut rng).expect("batch builds");
    let variables = synthesize_assignment(batch.circuit.clone())
        .expect("synthesis")
        .len();
    println!("synthesis: {name}, {slots} slots, {variables} variables");
    let mut group = c.benchmark_group("batch_cpu_work");
    group.sample_size(10);
    group.throughput(Throughput::Elements(slots as u64));
    group.bench_function(BenchmarkId::new("build_batch", name), |b| {
        b.iter(|| build_batch(&app, 0, 0, slots, &executed, &mut rng).expect("batch builds"))
    });
    group.bench_function(BenchmarkId::new("synthesize", name), |b| {
        b.iter_batched(
            || batch.circuit.clone(),
            |circuit| synthesize_assignment(circuit).expect("synthesis"),
            criterion::BatchSize::LargeInput,
        )
    });
    // The first step of the prover's witness map on the batch's matrices: what a GPU
    // backend still leaves to the CPU.
    let (shape, z) = R1csShape::from_circuit(batch.circuit.clone()).expect("shape");
    let domain = (shape.num_constraints() + shape.num_instance).next_power_of_two();
    print_term_mix(name, &shape, &z);
    // The CPU backend's quotient reads natural order, the CUDA backend's bit-reversed.
    for (order, label) in [
        (EvaluationOrder::Natural, "natural"),
        (EvaluationOrder::BitReversed, "bit_reversed"),
    ] {
        group.bench_function(
            BenchmarkId::new(format!("evaluate_constraints_{label}"), name),
            |b| b.iter(|| evaluate_constraints(&shape, &z, domain, order).expect("satisfied")),
        );
    }
    print_layout(name, &shape, domain);
    group.bench_function(BenchmarkId::new("witness_map_layout", name), |b| {
        b.iter(|| WitnessMapLayout::new(&shape).expect("layout"))
    });
    group.finish();
}

/// The device layout of the batch's matrices: its size, its products, and the bytes a proof
/// uploads with the shape loaded (z) against those it uploads with host rows (A·z, B·z, C·z).
fn print_layout(name: &str, shape: &R1csShape, domain: usize) {
    let layout = WitnessMapLayout::new(shape).expect("layout");
    let products = layout
        .terms
        .iter()
        .filter(|t| t.coeff != COEFF_ONE && t.coeff != COEFF_MINUS_ONE)
        .count();
    println!(
        "layout: {name}, {} terms, {} distinct coefficients, {:.1} MB on a device ({:.1} MB with a coefficient per term); \
         {products} products on the device; a proof uploads {:.2} MB of z, {:.2} MB of evaluations with host rows",
        layout.terms.len(),
        layout.coeff_table.len(),
        layout.device_bytes() as f64 / 1e6,
        (layout.terms.len() * 36 + layout.offsets.len() * 4) as f64 / 1e6,
        32.0 * layout.dims.variables as f64 / 1e6,
        3.0 * 32.0 * domain as f64 / 1e6,
    );
}

/// How the batch's matrix terms split: coefficient ±1, value 0 or 1 (the cases that need no
/// product), and the rest.
fn print_term_mix(name: &str, shape: &R1csShape, z: &[Fr]) {
    let (mut terms, mut unit_coeff, mut bit_value, mut products) = (0usize, 0usize, 0usize, 0usize);
    for m in [&shape.a, &shape.b, &shape.c] {
        for &(coeff, var) in m.iter().flatten() {
            terms += 1;
            if z[var] == Fr::ZERO || z[var] == Fr::ONE {
                bit_value += 1;
            } else if coeff == Fr::ONE || coeff == -Fr::ONE {
                unit_coeff += 1;
            } else {
                products += 1;
            }
        }
    }
    println!(
        "terms: {name}, {} constraints, {terms} terms: {bit_value} on a 0/1 value, {unit_coeff} more with coefficient ±1, {products} products",
        shape.num_constraints()
    );
}

fn main() {
    let slots: usize = std::env::var("SPICE_BENCH_SLOTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8)
        .max(1);
    let mut c = Criterion::default().configure_from_args();
    bench_app(&mut c, "transfer", TransferWorkload::new(16, 1), slots);
    bench_app(
        &mut c,
        "ledger",
        LedgerWorkload::ledger(1, 16, Mix::default()).expect("ledger"),
        slots,
    );
    bench_app(
        &mut c,
        "interbank",
        InterbankWorkload::interbank(1, 16, 4, Mix::default()).expect("interbank"),
        slots,
    );
    bench_app(
        &mut c,
        "darkpool",
        DarkPoolWorkload::<2>::new(1, 16, 4).expect("darkpool"),
        slots,
    );
    c.final_summary();
}
