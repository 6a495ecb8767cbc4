//! The service end to end: random concurrent workloads (8 workers, hot keys, rejected requests
//! mixed in) over several epochs produce logs the verifier accepts; every receipt checks and a
//! doctored one does not; the final state and every response equal a sequential replay in
//! `t_req` order; and the service refuses to close an epoch it could not audit.
//!
//! Run with `cargo test --release --test integration service::`.

use std::sync::{Arc, OnceLock};

use ark_bls12_381::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ff::One;
use proptest::prelude::*;

use spice::{
    engine::{Backend, Bases, CpuBackend, MsmScalars, NttDirection, Result as EngineResult},
    host::{
        apps::transfer::{account_key, TransferApp, TransferRequest, TransferWorkload},
        log_verifier::{LogVerifier, ReceiptError},
        service::{ClientReceipt, Service, ServiceConfig, ServiceError, ServiceProvers},
        storage_gadget::{execute, Executed},
        store::Store,
        workload::Workload,
    },
};

use crate::temp_dir::TempDir;

pub(crate) const CONFIG: ServiceConfig = ServiceConfig {
    batch_capacity: 4,
    keys_per_chunk: 8,
    workers: 8,
    proofs_in_flight: None,
};

/// The provers of every test here (one setup per test binary; keys cached under cargo's
/// target tmp dir, keyed by the circuits' fingerprints).
pub(crate) fn provers() -> Arc<ServiceProvers> {
    static PROVERS: OnceLock<Arc<ServiceProvers>> = OnceLock::new();
    PROVERS
        .get_or_init(|| {
            let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("spice-test-keys");
            Arc::new(
                ServiceProvers::setup(
                    "transfer",
                    &TransferApp,
                    &CONFIG,
                    Arc::new(CpuBackend::new()),
                    Some(&cache),
                )
                .expect("provers set up"),
            )
        })
        .clone()
}

fn service(dir: &TempDir) -> Service<TransferApp> {
    Service::new(TransferApp, CONFIG, provers(), dir.path()).expect("service")
}

fn service_in_flight(dir: &TempDir, proofs_in_flight: usize) -> Service<TransferApp> {
    let config = ServiceConfig {
        proofs_in_flight: Some(proofs_in_flight),
        ..CONFIG
    };
    Service::new(TransferApp, config, provers(), dir.path()).expect("service")
}

/// Every file of a log directory, by name, with its bytes.
fn log_files(dir: &TempDir) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir.path())
        .expect("log dir")
        .map(|entry| {
            let path = entry.expect("entry").path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).expect("log file"),
            )
        })
        .collect()
}

/// Runs `epochs` epochs of `per_epoch` requests (the first epoch also runs the setup);
/// returns everything executed and every receipt.
fn run(
    service: &mut Service<TransferApp>,
    workload: &mut TransferWorkload,
    epochs: usize,
    per_epoch: usize,
) -> (Vec<Executed<TransferApp>>, Vec<ClientReceipt>) {
    let mut executed = Vec::new();
    let mut receipts = Vec::new();
    for epoch in 0..epochs {
        if epoch == 0 {
            let setup = service.execute(workload.setup());
            assert!(setup.refused.is_empty());
            receipts.extend(
                service
                    .prove_batches(&setup.executed, |_| {})
                    .expect("setup proves"),
            );
            executed.extend(setup.executed);
        }
        let report = service.execute(workload.streams(per_epoch, 8));
        assert!(report.refused.is_empty(), "{:?}", report.refused);
        receipts.extend(
            service
                .prove_batches(&report.executed, |_| {})
                .expect("batches prove"),
        );
        executed.extend(report.executed);
        service.close_epoch(|_, _| {}).expect("audit proves");
    }
    (executed, receipts)
}

proptest! {
    // Every case sets up nothing (shared keys) but proves ~11 batches and 2 audits. One case
    // per run: `service_resume`'s proptest checks the same properties (the log verifies, every
    // receipt checks, the state is the sequential replay) on other random workloads too.
    #![proptest_config(ProptestConfig::with_cases(1))]

    #[test]
    fn concurrent_workloads_verify_and_equal_a_sequential_replay(
        seed in any::<u64>(),
        accounts in 3u64..12,
    ) {
        let dir = TempDir::new("service");
        let mut service = service(&dir);
        let mut workload = TransferWorkload::new(accounts, seed);
        let (mut executed, receipts) = run(&mut service, &mut workload, 2, 16);

        let log = LogVerifier::from_dir(dir.path())
            .expect("keys")
            .verify_dir(dir.path(), |_| {})
            .expect("the log is accepted");
        prop_assert_eq!(log.epochs.len(), 2);
        prop_assert!(log.open_epoch.is_none());
        let batches: std::collections::HashSet<u64> = receipts.iter().map(|r| r.batch_id).collect();
        prop_assert_eq!(log.audited_batches(), batches.len());
        for receipt in &receipts {
            prop_assert_eq!(log.check_receipt(receipt), Ok(()));
        }
        // A receipt for another response than the committed one does not check.
        let mut doctored = receipts[receipts.len() - 1].clone();
        doctored.response[0] += Fr::one();
        prop_assert_eq!(
            log.check_receipt(&doctored),
            Err(ReceiptError::BadOpening { batch_id: doctored.batch_id })
        );

        // Sequential replay in t_req order: the same responses, the same final state
        // (timestamps included: failed requests consume none, so the replay's clock agrees).
        executed.sort_by_key(|ex| ex.record.t_req);
        let replay = Store::new();
        for ex in &executed {
            let again = execute(&replay, &TransferApp, ex.request).expect("replays");
            prop_assert_eq!(&again.response, &ex.response);
            // Same reads and writes at the same timestamps (the replay runs in one epoch).
            prop_assert_eq!(again.record.t_req, ex.record.t_req);
            prop_assert_eq!(&again.record.ops, &ex.record.ops);
        }
        prop_assert_eq!(replay.snapshot().final_state, service.store().snapshot().final_state);
    }
}

proptest! {
    // Each case proves ~10 batches and 2 audits twice.
    #![proptest_config(ProptestConfig::with_cases(1))]

    /// The same seed and the same requests give the same log byte for byte, whether the
    /// batches and audit chunks were proved one at a time or several at once: proofs are
    /// logged in order, and each one's randomness was drawn before any started.
    #[test]
    fn the_log_does_not_depend_on_how_many_proofs_are_in_flight(
        seed in any::<u64>(),
        accounts in 10u64..16,
        in_flight in 2usize..5,
    ) {
        let mut logs = Vec::new();
        let mut all_receipts = Vec::new();
        for proofs in [1, in_flight] {
            let dir = TempDir::new("service-in-flight");
            let mut service = service_in_flight(&dir, proofs).with_seed(seed);
            prop_assert_eq!(service.proofs_in_flight(), proofs);
            // One stream each time (the setup's deposits too): execution order, and so every
            // timestamp, is the same in both runs.
            let mut workload = TransferWorkload::new(accounts, seed);
            let mut receipts = Vec::new();
            let mut order = Vec::new();
            let setup = service.execute(vec![workload.setup().into_iter().flatten().collect()]);
            receipts.extend(service.prove_batches(&setup.executed, |b| order.push(b.batch_id)).expect("setup proves"));
            let mut chunks = 0;
            for _ in 0..2 {
                let report = service.execute(workload.streams(12, 1));
                prop_assert!(report.refused.is_empty(), "{:?}", report.refused);
                receipts.extend(service.prove_batches(&report.executed, |b| order.push(b.batch_id)).expect("batches prove"));
                chunks = chunks.max(service.close_epoch(|_, _| {}).expect("audit proves").chunks);
            }
            prop_assert!(chunks >= 2, "the audits should have several chunks to prove at once");
            prop_assert_eq!(&order, &(0..order.len() as u64).collect::<Vec<_>>(), "reported in order");
            let log = LogVerifier::from_dir(dir.path()).expect("keys").verify_dir(dir.path(), |_| {}).expect("the log is accepted");
            for receipt in &receipts {
                prop_assert_eq!(log.check_receipt(receipt), Ok(()));
            }
            logs.push(log_files(&dir));
            all_receipts.push(receipts);
        }
        prop_assert_eq!(logs[0].keys().collect::<Vec<_>>(), logs[1].keys().collect::<Vec<_>>());
        for (name, bytes) in &logs[0] {
            prop_assert!(&logs[1][name] == bytes, "log file {} differs with {} proofs in flight", name, in_flight);
        }
        prop_assert_eq!(&all_receipts[0], &all_receipts[1]);
    }
}

/// The CPU backend, claiming lanes: a stand-in for a GPU backend's hint.
#[derive(Debug)]
struct CpuWithLanes(CpuBackend);

impl Backend for CpuWithLanes {
    fn name(&self) -> &'static str {
        "cpu-with-lanes"
    }
    fn load_g1(&self, bases: Vec<G1Affine>) -> EngineResult<Bases<G1Affine>> {
        self.0.load_g1(bases)
    }
    fn load_g2(&self, bases: Vec<G2Affine>) -> EngineResult<Bases<G2Affine>> {
        self.0.load_g2(bases)
    }
    fn msm_g1(&self, bases: &Bases<G1Affine>, scalars: &MsmScalars) -> EngineResult<G1Projective> {
        self.0.msm_g1(bases, scalars)
    }
    fn msm_g2(&self, bases: &Bases<G2Affine>, scalars: &MsmScalars) -> EngineResult<G2Projective> {
        self.0.msm_g2(bases, scalars)
    }
    fn ntt(&self, data: &mut [Fr], direction: NttDirection) -> EngineResult<()> {
        self.0.ntt(data, direction)
    }
    fn proof_lanes(&self) -> usize {
        3
    }
}

#[test]
fn unset_proofs_in_flight_follow_the_backend() {
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("spice-test-keys");
    let backend = Arc::new(CpuWithLanes(CpuBackend::new()));
    let provers = ServiceProvers::setup("transfer", &TransferApp, &CONFIG, backend, Some(&cache))
        .expect("provers set up");
    let dir = TempDir::new("service-backend-lanes");
    let mut service =
        Service::new(TransferApp, CONFIG, Arc::new(provers), dir.path()).expect("service");
    assert_eq!(service.proofs_in_flight(), 3);
    let mut workload = TransferWorkload::new(5, 3);
    let setup = service.execute(workload.setup());
    let receipts = service
        .prove_batches(&setup.executed, |_| {})
        .expect("setup proves");
    service.close_epoch(|_, _| {}).expect("audit proves");
    let log = LogVerifier::from_dir(dir.path())
        .unwrap()
        .verify_dir(dir.path(), |_| {})
        .expect("the log is accepted");
    for receipt in &receipts {
        assert_eq!(log.check_receipt(receipt), Ok(()));
    }
}

#[test]
fn a_service_refuses_zero_or_too_many_proofs_in_flight() {
    for bad in [0, spice::host::service::MAX_PROOFS_IN_FLIGHT + 1] {
        let config = ServiceConfig {
            proofs_in_flight: Some(bad),
            ..CONFIG
        };
        let dir = TempDir::new("service-bad-in-flight");
        let error = Service::new(TransferApp, config, provers(), dir.path()).expect_err("refused");
        assert!(matches!(error, ServiceError::Config(_)), "{error}");
    }
    // Unset: the backend's choice, 1 on the CPU.
    let dir = TempDir::new("service-default-in-flight");
    assert_eq!(service(&dir).proofs_in_flight(), 1);
}

#[test]
fn close_epoch_refuses_requests_that_are_not_proved() {
    let dir = TempDir::new("service-unproven");
    let mut service = service(&dir);
    let report = service.execute(vec![vec![TransferRequest::Deposit {
        to: account_key(1),
        amount: 5,
    }]]);
    assert_eq!(report.executed.len(), 1);
    assert!(matches!(
        service.close_epoch(|_, _| {}),
        Err(ServiceError::Unproven { epoch: 0, count: 1 })
    ));
    // Once proved, the epoch closes.
    service
        .prove_batches(&report.executed, |_| {})
        .expect("proves");
    service.close_epoch(|_, _| {}).expect("closes");
    assert_eq!(service.epoch(), 1);
}

#[test]
fn a_state_changed_outside_proved_requests_does_not_close() {
    let dir = TempDir::new("service-tampered");
    let mut service = service(&dir);
    let report = service.execute(vec![vec![TransferRequest::Deposit {
        to: account_key(1),
        amount: 5,
    }]]);
    service
        .prove_batches(&report.executed, |_| {})
        .expect("proves");
    // The untrusted store changes a balance behind the service's back.
    service
        .store()
        .transact::<(), _>(&[account_key(1)], |_| Ok(vec![Fr::from(1_000_000u64)]))
        .expect("raw write");
    assert!(matches!(
        service.close_epoch(|_, _| {}),
        Err(ServiceError::Unbalanced { epoch: 0 })
    ));
    // Nothing was logged for the audit and the epoch did not advance.
    assert_eq!(service.epoch(), 0);
    let log = LogVerifier::from_dir(dir.path())
        .unwrap()
        .verify_dir(dir.path(), |_| {})
        .expect("what is in the log verifies");
    assert!(log.epochs.is_empty());
    assert_eq!(log.open_epoch.map(|open| open.batches), Some(1));
}

#[test]
fn receipts_of_an_unaudited_epoch_do_not_check_yet() {
    let dir = TempDir::new("service-open");
    let mut service = service(&dir);
    let report = service.execute(vec![vec![TransferRequest::Deposit {
        to: account_key(2),
        amount: 9,
    }]]);
    let receipts = service
        .prove_batches(&report.executed, |_| {})
        .expect("proves");
    let verifier = LogVerifier::from_dir(dir.path()).unwrap();
    let open = verifier.verify_dir(dir.path(), |_| {}).expect("verifies");
    assert_eq!(
        open.check_receipt(&receipts[0]),
        Err(ReceiptError::NotAudited {
            batch_id: 0,
            epoch: 0
        })
    );
    service.close_epoch(|_, _| {}).expect("closes");
    let closed = verifier.verify_dir(dir.path(), |_| {}).expect("verifies");
    assert_eq!(closed.check_receipt(&receipts[0]), Ok(()));
    let mut unknown = receipts[0].clone();
    unknown.batch_id = 7;
    assert_eq!(
        closed.check_receipt(&unknown),
        Err(ReceiptError::UnknownBatch { batch_id: 7 })
    );
}

#[test]
fn a_second_service_cannot_take_over_an_existing_log() {
    let dir = TempDir::new("service-twice");
    let _first = service(&dir);
    assert!(matches!(
        Service::new(TransferApp, CONFIG, provers(), dir.path()),
        Err(ServiceError::Log(_))
    ));
}

#[test]
fn a_failing_batch_stops_the_pipeline_and_keeps_the_batches_before_it() {
    a_failing_batch_keeps_the_batches_before_it(1);
}

#[test]
fn a_failing_batch_keeps_the_batches_before_it_with_several_proofs_in_flight() {
    a_failing_batch_keeps_the_batches_before_it(3);
}

fn a_failing_batch_keeps_the_batches_before_it(proofs_in_flight: usize) {
    let dir = TempDir::new("service-pipeline");
    let mut service = service_in_flight(&dir, proofs_in_flight);
    let mut workload = TransferWorkload::new(6, 11);
    let setup = service.execute(workload.setup());
    let mut setup_batches = 0u64;
    service
        .prove_batches(&setup.executed, |_| setup_batches += 1)
        .expect("setup proves");
    let report = service.execute(workload.streams(20, 4));
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    let cap = CONFIG.batch_capacity;
    assert_eq!(report.executed.len(), 20, "five batches of four");
    // The third batch of the call holds a response the app did not give; the batches after
    // it are prepared alongside it and must not be proved either.
    let mut doctored = report.executed.clone();
    doctored[2 * cap].response.accepted = !doctored[2 * cap].response.accepted;
    let mut logged = Vec::new();
    let mut kept = Vec::new();
    let error = service
        .prove_batches(&doctored, |batch| {
            logged.push(batch.batch_id);
            kept.extend(batch.receipts.iter().cloned());
        })
        .expect_err("the doctored batch cannot be built");
    let third = setup_batches + 2;
    assert!(
        matches!(error, ServiceError::Batch { batch_id, .. } if batch_id == third),
        "{error}"
    );
    assert_eq!(logged, vec![setup_batches, setup_batches + 1]);
    // The receipts of the two logged batches were handed out before the failure.
    assert_eq!(kept.len(), 2 * cap);
    // The epoch cannot close with the rest unproved; proving the honest rest continues at
    // the failed batch's id, and then it closes and the whole log verifies.
    assert!(matches!(
        service.close_epoch(|_, _| {}),
        Err(ServiceError::Unproven { count: 12, .. })
    ));
    let mut resumed = Vec::new();
    let receipts = service
        .prove_batches(&report.executed[2 * cap..], |batch| {
            resumed.push(batch.batch_id)
        })
        .expect("the honest rest proves");
    assert_eq!(resumed, vec![third, third + 1, third + 2]);
    assert_eq!(receipts.len(), 12);
    kept.extend(receipts);
    service.close_epoch(|_, _| {}).expect("closes");
    let log = LogVerifier::from_dir(dir.path())
        .unwrap()
        .verify_dir(dir.path(), |_| {})
        .expect("the log is accepted");
    assert_eq!(log.audited_batches() as u64, setup_batches + 5);
    for receipt in &kept {
        assert_eq!(log.check_receipt(receipt), Ok(()));
    }
}
