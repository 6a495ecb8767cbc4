//! A service with a journal survives a crash at any durable write: resumed from its log and
//! journal, it finishes what was interrupted, and the whole run is one log the verifier
//! accepts, every receipt checks, and the final state is the sequential replay of exactly the
//! requests that got a receipt. A journal that does not match the log, or was tampered with,
//! yields no resumed service or no audit.
//!
//! Run with `cargo test --release --test integration service_resume::`.

use std::collections::BTreeMap;
use std::num::NonZeroU64;

use ark_bls12_381::Fr;
use ark_ff::{BigInteger, One, PrimeField};
use proptest::prelude::*;

use spice::host::{
    apps::transfer::{TransferApp, TransferRequest, TransferWorkload},
    log_verifier::LogVerifier,
    proof_log::{LogError, ProofLog},
    service::{ClientReceipt, ResumeReport, Service, ServiceError},
    service_journal::{JournalError, ServiceJournal},
    storage_gadget::{execute, App},
    store::Store,
    workload::Workload,
};

use crate::service::{provers, CONFIG};
use crate::temp_dir::TempDir;

/// What the clients do, in order.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// The accounts' deposits.
    Setup,
    /// This many requests from 4 streams.
    Requests(usize),
    /// The epoch's audit.
    Close,
}

const PLAN: [Step; 5] = [
    Step::Setup,
    Step::Requests(8),
    Step::Close,
    Step::Requests(8),
    Step::Close,
];

/// The first epoch of [`PLAN`] alone, for crash points inside it.
const FIRST_EPOCH: [Step; 3] = [Step::Setup, Step::Requests(8), Step::Close];

/// The clients' side: what they submitted, what got a receipt, what to submit again.
struct Clients {
    workload: TransferWorkload,
    plan: &'static [Step],
    /// The next step of the plan, and whether its requests were submitted already.
    step: usize,
    started: bool,
    /// Requests executed but without a receipt when the service stopped, in `t_req` order.
    resubmit: Vec<TransferRequest>,
    /// Requests with a receipt, in log order, and the receipts.
    proved: Vec<TransferRequest>,
    receipts: Vec<ClientReceipt>,
}

impl Clients {
    fn new(plan: &'static [Step], accounts: u64, seed: u64) -> Self {
        Self {
            workload: TransferWorkload::new(accounts, seed),
            plan,
            step: 0,
            started: false,
            resubmit: Vec::new(),
            proved: Vec::new(),
            receipts: Vec::new(),
        }
    }

    /// Runs the plan from where it stopped to its end, or to the service's first error.
    fn run(&mut self, service: &mut Service<TransferApp>) -> Result<(), ServiceError> {
        while self.step < self.plan.len() {
            match self.plan[self.step] {
                Step::Close => {
                    service.close_epoch(|_, _| {})?;
                }
                step => {
                    let streams = if self.started {
                        vec![std::mem::take(&mut self.resubmit)]
                    } else {
                        self.started = true;
                        match step {
                            Step::Requests(n) => self.workload.streams(n, 4),
                            _ => self.workload.setup(),
                        }
                    };
                    let report = service.execute(streams);
                    assert!(report.refused.is_empty(), "{:?}", report.refused);
                    let mut logged = 0;
                    let result = service.prove_batches(&report.executed, |batch| {
                        self.proved.extend(
                            report.executed[logged..logged + batch.requests]
                                .iter()
                                .map(|ex| ex.request),
                        );
                        self.receipts.extend(batch.receipts.iter().cloned());
                        logged += batch.requests;
                    });
                    if let Err(error) = result {
                        self.resubmit = report.executed[logged..]
                            .iter()
                            .map(|ex| ex.request)
                            .collect();
                        return Err(error);
                    }
                }
            }
            self.step += 1;
            self.started = false;
        }
        Ok(())
    }
}

impl Clients {
    /// A crash after an epoch's checkpoint is written (the audit's last write) leaves a
    /// service resumed in the next epoch: the `Close` step that failed is done, and running
    /// it again would close (and audit) the next, empty, epoch.
    fn skip_a_finished_close(&mut self, service_epoch: u64) {
        if let Some(Step::Close) = self.plan.get(self.step) {
            let closing = self.plan[..self.step]
                .iter()
                .filter(|step| matches!(step, Step::Close))
                .count() as u64;
            if service_epoch > closing {
                self.step += 1;
                self.started = false;
            }
        }
    }

    /// Takes the receipts of batches the service logged without handing them out (a crash
    /// just after the append): their requests are the first ones waiting to be submitted
    /// again, which they no longer are.
    fn recover(&mut self, receipts: &[ClientReceipt]) {
        let known: std::collections::HashSet<u64> =
            self.receipts.iter().map(|r| r.batch_id).collect();
        let missing: Vec<&ClientReceipt> = receipts
            .iter()
            .filter(|r| !known.contains(&r.batch_id))
            .collect();
        assert!(
            missing.len() <= self.resubmit.len(),
            "more receipts recovered than requests lost"
        );
        for (receipt, request) in missing
            .iter()
            .zip(self.resubmit.drain(..missing.len()).collect::<Vec<_>>())
        {
            assert_eq!(receipt.request, TransferApp.encode_request(&request));
            self.proved.push(request);
            self.receipts.push((*receipt).clone());
        }
    }
}

fn injected(error: &ServiceError) -> bool {
    matches!(error, ServiceError::Log(LogError::Io { source, .. }) if source.to_string().contains("injected"))
}

/// Every written key's value.
fn values(store: &Store) -> BTreeMap<Vec<u8>, Fr> {
    store
        .snapshot()
        .final_state
        .iter()
        .map(|t| (t.key.into_bigint().to_bytes_le(), t.value))
        .collect()
}

/// The transfer service of `log_dir` and `journal_dir`, resumed.
fn resume(
    log_dir: &std::path::Path,
    journal_dir: &std::path::Path,
) -> Result<(Service<TransferApp>, ResumeReport), ServiceError> {
    Service::resume(TransferApp, CONFIG, provers(), log_dir, journal_dir)
}

/// The log in `dir`, verified with the keys beside it.
fn verified(dir: &std::path::Path) -> spice::host::log_verifier::VerifiedLog {
    LogVerifier::from_dir(dir)
        .expect("keys")
        .verify_dir(dir, |_| {})
        .expect("the log is accepted")
}

/// Runs `plan` on a service with a journal that dies at durable write `crash_at` (after
/// making it, with `performed`), resumes it from its directories, and runs the plan to its
/// end; checks the log, the receipts and the final state. Returns what the resume reported
/// (`None` if the plan ended before the crash). The journal holds batch records until the
/// epoch's checkpoint: see [`crash_and_resume_with`] for progress records.
fn crash_and_resume(
    plan: &'static [Step],
    seed: u64,
    accounts: u64,
    crash_at: u64,
    performed: bool,
) -> Option<ResumeReport> {
    crash_and_resume_with(plan, seed, accounts, crash_at, performed, None)
}

/// [`crash_and_resume`] with a progress record written once the journal holds
/// `progress_every` batch records (and nothing executed is unproven), before and after the
/// crash.
fn crash_and_resume_with(
    plan: &'static [Step],
    seed: u64,
    accounts: u64,
    crash_at: u64,
    performed: bool,
    progress_every: Option<NonZeroU64>,
) -> Option<ResumeReport> {
    let (log_dir, journal_dir) = (TempDir::new("resume-log"), TempDir::new("resume-journal"));
    let mut service = create(&log_dir, &journal_dir, progress_every);
    service.fail_at_write(crash_at, performed);
    let mut clients = Clients::new(plan, accounts, seed);
    let mut resumed = None;
    while let Err(error) = clients.run(&mut service) {
        assert!(injected(&error), "{error}");
        assert!(
            resumed.is_none(),
            "a second failure after resuming: {error}"
        );
        drop(service); // the crash: nothing of the service's memory survives
        let (again, report) = resume(log_dir.path(), journal_dir.path()).expect("resumes");
        let mut again = again;
        again.set_journal_progress_every(progress_every);
        assert!(report.dropped_batches <= 1, "{report:?}");
        assert_eq!(report.audit_pending, again.audit_pending());
        clients.recover(&report.receipts);
        if again.audit_pending().is_none() {
            clients.skip_a_finished_close(again.epoch());
        }
        service = again;
        resumed = Some(report);
    }

    let log = verified(log_dir.path());
    assert_eq!(
        log.epochs.len(),
        plan.iter()
            .filter(|step| matches!(step, Step::Close))
            .count()
    );
    assert!(log.open_epoch.is_none());
    for receipt in &clients.receipts {
        assert_eq!(log.check_receipt(receipt), Ok(()));
    }
    let replay = Store::new();
    for request in &clients.proved {
        execute(&replay, &TransferApp, *request).expect("replays");
    }
    assert_eq!(values(service.store()), values(&replay));
    resumed
}

/// Durable writes of [`PLAN`] with 3 accounts: per epoch, its batches' journal records and
/// log appends (epoch 0: the setup's batch and two of requests; epoch 1: two), then the audit
/// (its seed, one chunk, the closing proof, the epoch's end, the checkpoint).
const WRITES_WITH_3_ACCOUNTS: u64 = 2 * 3 + 5 + 2 * 2 + 5;

/// The points a few random crashes may miss: inside an audit, after its chunk is in the log
/// (the audit is rebuilt from its seed and must match it); after the epoch's end is in the
/// log but before the checkpoint; just after the checkpoint; and just after a batch reached
/// the log, before its receipts reached their clients (they come back with the resume, and
/// the requests are not run twice).
#[test]
fn a_crash_inside_an_audit_or_just_after_an_append_is_resumed_where_it_stopped() {
    for crash_at in [8, 10] {
        let report = crash_and_resume(&FIRST_EPOCH, crash_at, 3, crash_at, false).expect("crashed");
        assert_eq!(
            (report.epoch, report.batches, report.audit_pending),
            (0, 3, Some(0)),
            "{report:?}"
        );
    }
    // Write 10 is the checkpoint that ends the audit: made, the resume is in the next epoch
    // with nothing pending, and the clients do not close an epoch twice.
    let report = crash_and_resume(&PLAN, 10, 3, 10, true).expect("crashed");
    assert_eq!(
        (report.epoch, report.audit_pending),
        (1, None),
        "{report:?}"
    );
    // Write 3 is the log append of the second batch (of the 8 requests).
    let report = crash_and_resume(&FIRST_EPOCH, 3, 3, 3, true).expect("crashed");
    assert_eq!(
        (
            report.batches,
            report.dropped_batches,
            report.receipts.len()
        ),
        (2, 0, 3 + 4),
        "{report:?}"
    );
}

/// Durable writes of [`PLAN`] with 3 accounts and a progress record after every batch:
/// epoch 0: the setup's batch (record, append, progress), two batches of requests (3 each),
/// the audit (5); epoch 1: two batches (3 each), the audit (5).
const WRITES_WITH_PROGRESS: u64 = 3 + 6 + 5 + 6 + 5;

fn every_batch() -> Option<NonZeroU64> {
    NonZeroU64::new(1)
}

/// A new transfer service with a journal that writes a progress record every
/// `progress_every` batches (`None`: never).
fn create(
    log_dir: &TempDir,
    journal_dir: &TempDir,
    progress_every: Option<NonZeroU64>,
) -> Service<TransferApp> {
    let mut service = Service::create(
        TransferApp,
        CONFIG,
        provers(),
        log_dir.path(),
        journal_dir.path(),
    )
    .expect("service");
    service.set_journal_progress_every(progress_every);
    service
}

proptest! {
    // Each case makes about 12 proofs, plus what the crash makes it redo; the deterministic
    // tests beside this one cover the crash points a few random cases reach least often.
    #![proptest_config(ProptestConfig::with_cases(4))]

    /// With batch records only until the epoch's checkpoint, or a progress record after
    /// every batch.
    #[test]
    fn a_service_resumed_after_a_crash_at_any_write_continues_one_valid_log(
        seed in any::<u64>(),
        accounts in 3u64..7,
        crash_at in any::<prop::sample::Index>(),
        performed in any::<bool>(),
        progress in any::<bool>(),
    ) {
        let (every, writes) = match progress {
            true => (every_batch(), WRITES_WITH_PROGRESS),
            false => (None, WRITES_WITH_3_ACCOUNTS),
        };
        // More accounts only add writes: every crash point is reached.
        let crash_at = crash_at.index(writes as usize) as u64;
        prop_assert!(crash_and_resume_with(&PLAN, seed, accounts, crash_at, performed, every).is_some());
    }
}

/// A resume starts from the progress record that reached the journal and replays only the
/// batches after it: crashed at a progress record (before and after it is written), at an
/// audit's start after one, and at the next epoch's first batch (whose progress record the
/// checkpoint removed).
#[test]
fn a_resume_starts_from_the_last_progress_record_and_replays_only_what_came_after() {
    // (crash at, performed) → (progress batches, replayed batches, audit pending)
    let cases = [
        ((2, false), (0, 1, None)),
        ((2, true), (1, 0, None)),
        ((5, true), (2, 0, None)),
        ((8, false), (2, 1, None)),
        ((8, true), (3, 0, None)),
        ((9, true), (3, 0, Some(0))),
        ((13, true), (0, 0, None)),
        ((14, true), (0, 0, None)),
        ((15, true), (0, 1, None)),
        ((16, true), (1, 0, None)),
        ((19, false), (1, 1, None)),
    ];
    for ((crash_at, performed), expected) in cases {
        let report = crash_and_resume_with(&PLAN, crash_at, 3, crash_at, performed, every_batch())
            .expect("crashed");
        assert_eq!(
            (
                report.progress_batches,
                report.batches,
                report.audit_pending
            ),
            expected,
            "crash at {crash_at}, performed {performed}: {report:?}"
        );
    }
}

/// A progress record holds what the log holds, not the store: written while requests beyond
/// the logged batches are executed (and unproven), it resumes to the state of the logged
/// requests alone, which audits.
#[test]
fn a_progress_record_written_with_requests_unproven_holds_only_what_the_log_holds() {
    let (log_dir, journal_dir) = (TempDir::new("ahead-log"), TempDir::new("ahead-journal"));
    let mut service = create(&log_dir, &journal_dir, every_batch());
    let mut workload = TransferWorkload::new(4, 12);
    let setup = service.execute(workload.setup());
    service
        .prove_batches(&setup.executed, |_| {})
        .expect("proves");
    let report = service.execute(workload.streams(3 * CONFIG.batch_capacity, 3));
    let logged = &report.executed[..CONFIG.batch_capacity];
    service.prove_batch(logged).expect("proves");
    // The rest is executed, in the store, and in no batch.
    drop(service);
    let (mut service, resumed) = resume(log_dir.path(), journal_dir.path()).expect("resumes");
    let setup_batches = setup.executed.len().div_ceil(CONFIG.batch_capacity);
    assert_eq!(
        (resumed.progress_batches, resumed.batches),
        (setup_batches + 1, 0),
        "{resumed:?}"
    );
    let replay = Store::new();
    for request in setup.executed.iter().chain(logged).map(|ex| ex.request) {
        execute(&replay, &TransferApp, request).expect("replays");
    }
    assert_eq!(values(service.store()), values(&replay));
    service.close_epoch(|_, _| {}).expect("the epoch audits");
    assert_eq!(verified(log_dir.path()).epochs.len(), 1);
}

/// A crash after a progress record is written and before the records it covers are gone
/// leaves those records behind: the resume passes over them (and removes them).
#[test]
fn records_a_progress_record_covers_are_passed_over_and_removed() {
    let (log_dir, journal_dir) = (
        TempDir::new("leftover-log"),
        TempDir::new("leftover-journal"),
    );
    let mut service = run_open_epoch(&log_dir, &journal_dir, 5);
    let journal_files = files(&journal_dir);
    let leftovers: Vec<&String> = journal_files
        .keys()
        .filter(|name| name.starts_with("batch-"))
        .collect();
    assert_eq!(leftovers.len(), 2);
    // One more batch, after which the progress record covers all three.
    service.set_journal_progress_every(every_batch());
    let mut workload = TransferWorkload::new(4, 5);
    let report = service.execute(workload.streams(2, 2));
    service
        .prove_batches(&report.executed, |_| {})
        .expect("proves");
    let expected = values(service.store());
    drop(service);
    assert!(!files(&journal_dir)
        .keys()
        .any(|name| name.starts_with("batch-")));
    for name in &leftovers {
        std::fs::write(journal_dir.path().join(name), &journal_files[*name]).expect("put back");
    }
    let (mut service, report) = resume(log_dir.path(), journal_dir.path()).expect("resumes");
    assert_eq!(
        (report.progress_batches, report.batches),
        (3, 0),
        "{report:?}"
    );
    assert!(
        !files(&journal_dir)
            .keys()
            .any(|name| name.starts_with("batch-")),
        "left-overs removed"
    );
    assert_eq!(values(service.store()), expected);
    service.close_epoch(|_, _| {}).expect("the epoch audits");
    verified(log_dir.path());
}

/// `prove_batch` hands a batch's receipts out only as it returns, after the progress record:
/// a crash at that write (once it is made) leaves them to the progress record, and they come
/// back with the resume, checking against the log.
#[test]
fn receipts_handed_out_as_a_progress_record_is_written_come_back_with_the_resume() {
    let (log_dir, journal_dir) = (TempDir::new("kept-log"), TempDir::new("kept-journal"));
    let mut service = create(&log_dir, &journal_dir, every_batch());
    let mut workload = TransferWorkload::new(3, 8);
    let report = service.execute(workload.setup());
    let executed = &report.executed[..CONFIG.batch_capacity.min(report.executed.len())];
    // Writes 0 and 1: the batch's record and its append; 2: the progress record.
    service.fail_at_write(2, true);
    let error = service.prove_batch(executed).expect_err("the crash");
    assert!(injected(&error), "{error}");
    drop(service);
    let (mut service, report) = resume(log_dir.path(), journal_dir.path()).expect("resumes");
    assert_eq!(
        (report.progress_batches, report.batches),
        (1, 0),
        "{report:?}"
    );
    assert_eq!(report.receipts.len(), executed.len());
    for (receipt, ex) in report.receipts.iter().zip(executed) {
        assert_eq!(receipt.request, TransferApp.encode_request(&ex.request));
    }
    service.close_epoch(|_, _| {}).expect("the epoch audits");
    let log = verified(log_dir.path());
    for receipt in &report.receipts {
        assert_eq!(log.check_receipt(receipt), Ok(()));
    }
}

/// A progress record that does not match the log — covering batches the log does not hold,
/// or not summing the ones it does — yields no resumed service; one whose state was altered
/// (its checksum redone) yields no audit.
#[test]
fn a_progress_record_the_log_does_not_bear_out_yields_no_resume_or_no_audit() {
    let (log_dir, journal_dir) = (
        TempDir::new("progress-log"),
        TempDir::new("progress-journal"),
    );
    let mut service = run_open_epoch(&log_dir, &journal_dir, 6);
    service.set_journal_progress_every(every_batch());
    let mut workload = TransferWorkload::new(4, 6);
    let report = service.execute(workload.streams(2, 2));
    service
        .prove_batches(&report.executed, |_| {})
        .expect("proves");
    drop(service);
    let (journal, _) = ServiceJournal::open(journal_dir.path()).expect("journal");
    let honest = journal
        .progress(0)
        .expect("read")
        .expect("a progress record");
    drop(journal);
    let altered = |edit: &dyn Fn(&mut spice::host::service_journal::EpochProgress)| {
        let (journal, _) = ServiceJournal::open(journal_dir.path()).expect("journal");
        let mut progress = honest.clone();
        edit(&mut progress);
        journal.write_progress(&progress).expect("rewritten");
        drop(journal);
        resume(log_dir.path(), journal_dir.path())
    };
    let inconsistent = |resumed: Result<(Service<TransferApp>, ResumeReport), ServiceError>| {
        matches!(
            resumed,
            Err(ServiceError::Journal(JournalError::Inconsistent { .. }))
        )
    };
    assert!(
        inconsistent(altered(&|p| p.next_batch_id += 1)),
        "covers a batch not in the log"
    );
    assert!(
        inconsistent(altered(&|p| {
            std::mem::swap(&mut p.batches.read_sum, &mut p.batches.write_sum)
        })),
        "sums that are not the log's"
    );
    // A written value changed: the state is not what the proved requests made.
    let (mut service, _) = altered(&|p| p.written[0].value += Fr::one()).expect("resumes");
    assert!(matches!(
        service.close_epoch(|_, _| {}),
        Err(ServiceError::Unbalanced { epoch: 0 })
    ));
    drop(service);
    // So is a blinding: the audit cannot close the epoch's equation.
    let (mut service, _) =
        altered(&|p| p.batches.read_blinding += ark_ed_on_bls12_381::Fr::one()).expect("resumes");
    assert!(service.close_epoch(|_, _| {}).is_err());
    drop(service);
    let log = LogVerifier::from_dir(log_dir.path())
        .expect("keys")
        .verify_dir(log_dir.path(), |_| {})
        .expect("accepted so far");
    assert!(log.epochs.is_empty(), "no audit reached the log");
}

/// A service made with a journal that has proved the setup and 4 requests, a batch each
/// (epoch 0 open).
fn run_open_epoch(log_dir: &TempDir, journal_dir: &TempDir, seed: u64) -> Service<TransferApp> {
    let mut service = create(log_dir, journal_dir, None);
    let mut workload = TransferWorkload::new(4, seed);
    for streams in [workload.setup(), workload.streams(4, 4)] {
        let report = service.execute(streams);
        service
            .prove_batches(&report.executed, |_| {})
            .expect("proves");
    }
    service
}

#[test]
fn resume_refuses_the_journal_of_another_log() {
    let dirs: Vec<(TempDir, TempDir)> = (0..2)
        .map(|_| (TempDir::new("other-log"), TempDir::new("other-journal")))
        .collect();
    for (i, (log_dir, journal_dir)) in dirs.iter().enumerate() {
        drop(run_open_epoch(log_dir, journal_dir, i as u64));
    }
    let resumed = resume(dirs[0].0.path(), dirs[1].1.path());
    assert!(
        matches!(
            resumed,
            Err(ServiceError::Journal(JournalError::Inconsistent { .. }))
        ),
        "{:?}",
        resumed.map(|(_, r)| r)
    );
}

/// A journal altered by whoever can write it (its checksums redone) cannot make the service
/// publish an audit of a state the proved requests did not produce.
#[test]
fn a_tampered_journal_yields_no_audit() {
    let (log_dir, journal_dir) = (TempDir::new("tamper-log"), TempDir::new("tamper-journal"));
    drop(run_open_epoch(&log_dir, &journal_dir, 9));
    let (journal, _) = ServiceJournal::open(journal_dir.path()).expect("journal");
    let mut last = journal.batches(0).expect("records").pop().expect("a batch");
    // The last request's write: nothing later read it, so the replay itself goes through.
    let op = &mut last.records.last_mut().expect("a request").ops[0];
    op.new.value += Fr::one();
    journal.write_batch(&last).expect("rewritten");
    // Its writer lock goes with it: a resume while it is open would be refused.
    drop(journal);
    let before = std::fs::read_dir(log_dir.path()).expect("log").count();

    let (mut service, _) =
        resume(log_dir.path(), journal_dir.path()).expect("the replay goes through");
    assert!(matches!(
        service.close_epoch(|_, _| {}),
        Err(ServiceError::Unbalanced { epoch: 0 })
    ));
    let log = LogVerifier::from_dir(log_dir.path())
        .expect("keys")
        .verify_dir(log_dir.path(), |_| {})
        .expect("accepted so far");
    assert!(log.epochs.is_empty());
    assert!(log.open_epoch.is_some());
    assert_eq!(
        std::fs::read_dir(log_dir.path()).expect("log").count(),
        before
    );
}

/// Every file of a directory, by name, with its bytes.
fn files(dir: &TempDir) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|entry| {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("file"))
        })
        .collect()
}

/// A service that is still running holds its log and journal: a second one resuming from the
/// same directories (as a restart script that did not wait for the old process would) is
/// refused before it touches either, and so is a plain service on the same log. Once the
/// first is gone, the resume goes through and finds everything the first wrote.
#[test]
fn a_running_service_cannot_be_resumed_or_written_by_another() {
    let (log_dir, journal_dir) = (TempDir::new("live-log"), TempDir::new("live-journal"));
    let mut running = run_open_epoch(&log_dir, &journal_dir, 5);
    let (log_before, journal_before) = (files(&log_dir), files(&journal_dir));

    let resumed = resume(log_dir.path(), journal_dir.path());
    assert!(
        matches!(
            &resumed,
            Err(ServiceError::Journal(JournalError::Locked { dir, .. })) if dir == journal_dir.path()
        ),
        "{:?}",
        resumed.map(|(_, r)| r)
    );
    let second = Service::new(TransferApp, CONFIG, provers(), log_dir.path());
    assert!(
        matches!(
            &second,
            Err(ServiceError::Log(LogError::Locked { dir, .. })) if dir == log_dir.path()
        ),
        "{second:?}"
    );
    assert!(matches!(
        ProofLog::repair(log_dir.path()),
        Err(LogError::Locked { .. })
    ));
    assert_eq!(
        files(&log_dir),
        log_before,
        "a refused writer changed the log"
    );
    assert_eq!(
        files(&journal_dir),
        journal_before,
        "a refused writer changed the journal"
    );

    // The first service is unaffected and goes on writing.
    let mut workload = TransferWorkload::new(4, 6);
    let report = running.execute(workload.streams(2, 4));
    let proved = running
        .prove_batches(&report.executed, |_| {})
        .expect("the running service still proves");
    drop(running);

    let (mut service, report) =
        resume(log_dir.path(), journal_dir.path()).expect("resumes once the first service is gone");
    assert_eq!(report.epoch, 0);
    assert_eq!(report.dropped_batches, 0);
    assert!(!proved.is_empty());
    assert!(
        proved
            .iter()
            .all(|receipt| report.receipts.contains(receipt)),
        "the receipts of the first service's last batches are not in the resumed log"
    );
    service.close_epoch(|_, _| {}).expect("audit");
    let log = LogVerifier::from_dir(log_dir.path())
        .expect("keys")
        .verify_dir(log_dir.path(), |_| {})
        .expect("the log verifies");
    assert_eq!(log.epochs.len(), 1);
    assert!(log.open_epoch.is_none());
}

#[test]
fn a_journal_is_refused_inside_the_log_and_resume_needs_one() {
    let log_dir = TempDir::new("inside-log");
    std::fs::create_dir_all(log_dir.path()).expect("dir");
    for inside in [
        log_dir.path().to_path_buf(),
        log_dir.path().join("journal"),
        log_dir.path().join("a/../journal"),
    ] {
        assert!(matches!(
            Service::create(TransferApp, CONFIG, provers(), log_dir.path(), &inside),
            Err(ServiceError::Config(_))
        ));
    }
    // A journal directory in use is refused before the log is created.
    let (used_log, used_journal, other_log) = (
        TempDir::new("used-log"),
        TempDir::new("used-journal"),
        TempDir::new("other-log"),
    );
    drop(
        Service::create(
            TransferApp,
            CONFIG,
            provers(),
            used_log.path(),
            used_journal.path(),
        )
        .expect("service"),
    );
    assert!(matches!(
        Service::create(
            TransferApp,
            CONFIG,
            provers(),
            other_log.path(),
            used_journal.path()
        ),
        Err(ServiceError::Journal(JournalError::AlreadyExists { .. }))
    ));
    assert!(!other_log.path().exists());
    let (log_dir, journal_dir) = (
        TempDir::new("nojournal-log"),
        TempDir::new("nojournal-journal"),
    );
    drop(Service::new(TransferApp, CONFIG, provers(), log_dir.path()).expect("service"));
    std::fs::create_dir_all(journal_dir.path()).expect("dir");
    assert!(matches!(
        resume(log_dir.path(), journal_dir.path()),
        Err(ServiceError::Journal(JournalError::NotAJournal { .. }))
    ));
}
