//! Executing signed ledger transfers against the concurrent store: 8 worker threads, one
//! stream of transfers per client, payees drawn by a Zipf law (client 0 the hottest), so the
//! streams meet on a few hot keys.
//!
//! Two placements of the signature check, measured in the same run on the same requests:
//! * `before_locks`: as the service does (`App::authorized` runs before `Store::transact`
//!   locks the request's keys; the locks are held for the storage logic only);
//! * `under_locks`: the check inside the transaction, the placement before `App::authorized`
//!   existed, so a hot key stays locked for the curve arithmetic of each check.
//!
//! Each sample executes the same 256 transfers on a fresh store funded by the workload's
//! setup (not timed). `cargo bench --bench execute`.

use std::thread;

use ark_bls12_381::Fr;
use ark_r1cs_std::{boolean::Boolean, fields::fp::FpVar};
use ark_relations::gr1cs::SynthesisError;
use criterion::{BatchSize, Criterion, Throughput};
use spice::host::{
    apps::{
        clients::Mix,
        ledger::{LedgerApp, LedgerRequest, LedgerRequestVar, LedgerWorkload},
    },
    storage_gadget::{execute, App, KeySlot, KeySlotVar, Storage, StorageVar},
    store::Store,
    workload::{Stream, Workload},
};

const TRANSFERS: usize = 256;
const WORKERS: usize = 8;
const ACCOUNTS: usize = 16;

/// The ledger with its signature check moved back inside the transaction.
#[derive(Clone, Debug)]
struct CheckedUnderLocks(LedgerApp);

impl App for CheckedUnderLocks {
    type Request = LedgerRequest;
    type RequestVar = LedgerRequestVar;
    type Reject = <LedgerApp as App>::Reject;
    const KEYS: usize = LedgerApp::KEYS;
    const REQUEST_FIELDS: usize = LedgerApp::REQUEST_FIELDS;
    const PAYLOAD_FIELDS: usize = LedgerApp::PAYLOAD_FIELDS;

    fn noop(&self) -> LedgerRequest {
        self.0.noop()
    }
    fn keys(&self, request: &LedgerRequest) -> Vec<KeySlot> {
        self.0.keys(request)
    }
    fn encode_request(&self, request: &LedgerRequest) -> Vec<Fr> {
        self.0.encode_request(request)
    }
    // `authorized` keeps the default (true, nothing checked before the locks) ...
    fn execute(
        &self,
        request: &LedgerRequest,
        _authorized: bool,
        storage: &mut Storage,
    ) -> Result<Vec<Fr>, Self::Reject> {
        // ... and the check runs here, inside `Store::transact`'s critical section.
        self.0.execute(request, self.0.authorized(request), storage)
    }
    fn keys_var(&self, request: &LedgerRequestVar) -> Result<Vec<KeySlotVar>, SynthesisError> {
        self.0.keys_var(request)
    }
    fn encode_request_var(
        &self,
        request: &LedgerRequestVar,
    ) -> Result<Vec<FpVar<Fr>>, SynthesisError> {
        self.0.encode_request_var(request)
    }
    fn execute_var(
        &self,
        request: &LedgerRequestVar,
        storage: &mut StorageVar,
    ) -> Result<(Vec<FpVar<Fr>>, Boolean<Fr>), SynthesisError> {
        self.0.execute_var(request, storage)
    }
}

/// Runs `streams` on `WORKERS` threads (each takes whole streams, in order); returns how many
/// requests the app accepted.
fn run<A: App>(store: &Store, app: &A, streams: &[Stream<A>]) -> usize {
    let next = std::sync::atomic::AtomicUsize::new(0);
    thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                scope.spawn(|| {
                    let mut accepted = 0;
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(stream) = streams.get(i) else {
                            return accepted;
                        };
                        for request in stream {
                            let done = execute(store, app, request.clone())
                                .expect("a ledger request executes");
                            accepted += usize::from(done.response.accepted);
                        }
                    }
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker")).sum()
    })
}

fn main() {
    let mut workload = LedgerWorkload::ledger(1, ACCOUNTS, Mix::default()).expect("workload");
    let app = workload.app();
    let setup = workload.setup();
    let transfers = workload.streams(TRANSFERS, ACCOUNTS);
    let requests: usize = transfers.iter().map(Vec::len).sum();
    let funded = || {
        let store = Store::new();
        run(&store, &app, &setup);
        store
    };
    // Both placements accept exactly the same requests.
    let accepted = run(&funded(), &app, &transfers);
    let under = CheckedUnderLocks(app.clone());
    assert_eq!(
        run(&funded(), &under, &transfers),
        accepted,
        "the two placements disagree"
    );
    println!("execute: {requests} signed ledger requests ({accepted} accepted) on {WORKERS} workers, {ACCOUNTS} clients");

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("execute_ledger");
    group.sample_size(10);
    group.throughput(Throughput::Elements(requests as u64));
    group.bench_function("before_locks", |b| {
        b.iter_batched(
            funded,
            |store| run(&store, &app, &transfers),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("under_locks", |b| {
        b.iter_batched(
            funded,
            |store| run(&store, &under, &transfers),
            BatchSize::PerIteration,
        )
    });
    group.finish();
    c.final_summary();
}
