//! The CPU work of a batch proof that comes before any backend: building the batch witness
//! (`build_batch`: every tuple hashed, the commitment tree) and synthesizing the circuit's
//! assignment (`synthesize_assignment`, single-threaded arkworks gadget code), per app, on a
//! batch of `SPICE_BENCH_SLOTS` (8) executed requests. Throughput is in requests, so
//! `1 / (synthesis time per request)` is the most requests one core can prepare a second: the
//! ceiling this work puts on a service whose proofs run on a GPU.
//!
//! `cargo bench --bench synthesis`.

use ark_std::rand::{rngs::StdRng, SeedableRng};
use criterion::{BenchmarkId, Criterion, Throughput};
use spice::engine::synthesize_assignment;
use spice::host::{
    apps::{
        clients::Mix, darkpool::DarkPoolWorkload, interbank::InterbankWorkload, ledger::LedgerWorkload,
        transfer::TransferWorkload,
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
    let variables = synthesize_assignment(batch.circuit.clone()).expect("synthesis").len();
    println!("synthesis: {name}, {slots} slots, {variables} variables");
    let mut group = c.benchmark_group("batch_cpu_work");
    group.sample_size(10);
    group.throughput(Throughput::Elements(slots as u64));
    group.bench_function(BenchmarkId::new("build_batch", name), |b| {
        b.iter(|| build_batch(&app, 0, 0, slots, &executed, &mut rng).expect("batch builds"))
    });
    group.bench_function(BenchmarkId::new("synthesize", name), |b| {
        b.iter_batched(|| batch.circuit.clone(), |circuit| synthesize_assignment(circuit).expect("synthesis"), criterion::BatchSize::LargeInput)
    });
    group.finish();
}

fn main() {
    let slots: usize = std::env::var("SPICE_BENCH_SLOTS").ok().and_then(|v| v.parse().ok()).unwrap_or(8).max(1);
    let mut c = Criterion::default().configure_from_args();
    bench_app(&mut c, "transfer", TransferWorkload::new(16, 1), slots);
    bench_app(&mut c, "ledger", LedgerWorkload::ledger(1, 16, Mix::default()).expect("ledger"), slots);
    bench_app(&mut c, "interbank", InterbankWorkload::interbank(1, 16, 4, Mix::default()).expect("interbank"), slots);
    bench_app(&mut c, "darkpool", DarkPoolWorkload::<2>::new(1, 16, 4).expect("darkpool"), slots);
    c.final_summary();
}
