//! `spice demo`: run one application end to end — set up its keys (cached), execute a seeded
//! workload through concurrent workers, prove every batch, audit every epoch, verify the
//! log — and print what it took. `spice bench` ([`super::throughput_bench`]) runs the same
//! thing over several apps and sizes and prints one row each.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use spice::engine::{select, BackendChoice};
use spice::host::{
    apps::{
        clients::Mix, darkpool::DarkPoolWorkload, interbank::InterbankWorkload,
        ledger::LedgerWorkload, transfer::TransferWorkload,
    },
    circuit_prover::KeyOrigin,
    circuit_size::{batch_capacity_for_domain, keys_per_chunk_for_domain},
    log_verifier::LogVerifier,
    proof_log::ProofLog,
    service::{BatchReport, ClientReceipt, Service, ServiceConfig, ServiceProvers},
    service_journal::ServiceJournal,
    storage_gadget::{App, Executed},
    workload::{ResyncState, Workload},
};

use crate::keys_dir;

/// Which application runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AppChoice {
    /// A ledger: accounts by public key, issue, signed transfers, balances.
    Ledger,
    /// Inter-bank payments: customer accounts at several banks, reserves moved atomically.
    Interbank,
    /// A dark pool: hidden limit orders matched by price-time priority (2 fills a request).
    Darkpool,
    /// Unsigned u64 balances: the storage layer alone, no signatures.
    Transfer,
}

impl AppChoice {
    /// The name `--app` takes.
    pub fn name(self) -> &'static str {
        match self {
            AppChoice::Ledger => "ledger",
            AppChoice::Interbank => "interbank",
            AppChoice::Darkpool => "darkpool",
            AppChoice::Transfer => "transfer",
        }
    }
}

/// What a run does, whatever the app (the options `demo` and `bench` share).
#[derive(clap::Args, Clone, Debug)]
pub struct RunOptions {
    /// Requests of the workload, spread over the epochs (account setup comes on top).
    #[arg(long, default_value_t = 96)]
    pub requests: usize,
    /// Epochs: each ends with an audit of the whole state.
    #[arg(long, default_value_t = 2)]
    pub epochs: usize,
    /// Worker threads executing requests.
    #[arg(long, default_value_t = 8)]
    pub workers: usize,
    /// Accounts (or clients, or traders) of the workload.
    #[arg(long, default_value_t = 32)]
    pub accounts: u64,
    /// Banks (interbank only; the dark pool has one market per worker instead).
    #[arg(long, default_value_t = 3)]
    pub banks: u8,
    /// Request slots per batch proof (default: as many as fit a QAP domain of
    /// 2^--domain-log points).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Keys per audit chunk proof (default: as many as fit 2^--domain-log points).
    #[arg(long)]
    pub chunk_keys: Option<usize>,
    /// log2 of the QAP domain the batch and chunk circuits are sized to fill.
    #[arg(long, default_value_t = 17)]
    pub domain_log: u32,
    /// Which backend proves: auto (CUDA if available, else CPU), cpu or cuda.
    #[arg(long, default_value = "auto")]
    pub backend: BackendChoice,
    /// Batch and audit chunk proofs made at once, each on its own thread, still logged in
    /// order (default: what the backend gains from: 1 on the CPU, the CUDA backend's lane
    /// count, `SPICE_CUDA_LANES`, on a GPU).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=spice::host::service::MAX_PROOFS_IN_FLIGHT as u64))]
    pub proofs_in_flight: Option<u64>,
    /// Where proving keys are cached (default: $SPICE_KEYS_DIR, else ~/.cache/spice/keys).
    #[arg(long)]
    pub keys_dir: Option<PathBuf>,
    /// Seed of the workload.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The application.
    #[arg(long, value_enum, default_value = "ledger")]
    app: AppChoice,
    #[command(flatten)]
    run: RunOptions,
    #[command(flatten)]
    logs: LogOptions,
}

/// Where the demo's service keeps its log, and its journal if it keeps one.
#[derive(clap::Args, Debug, Default)]
pub struct LogOptions {
    /// Directory for the proof log (must not hold a log yet, unless --resume; default: a new
    /// directory under the system's temporary directory).
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Keep a journal in this directory (not inside the log's: it holds the state and the
    /// blindings), so that a demo stopped at any point can be resumed with --resume.
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// Resume the service of --log and --journal (stopped or killed at any point): rebuild
    /// its state, finish an interrupted audit, pick the workload's clients up from that state
    /// (and run the part of its setup the log lacks), then run --epochs more epochs of the
    /// workload on the same log.
    #[arg(long, requires_all = ["log", "journal"])]
    pub resume: bool,
    /// With --journal: once it holds this many batch records of an epoch, a progress record
    /// replaces them (the epoch's state so far), so the journal stays small and a resume
    /// replays only what came after it; 0: keep every record until the epoch's audit.
    #[arg(long, default_value_t = spice::host::service::DEFAULT_PROGRESS_EVERY, requires = "journal")]
    pub journal_progress_every: u64,
}

impl LogOptions {
    /// Refuses, before the minutes of key setup, what the service would refuse after them:
    /// a log or journal that exists already for a new service, and for --resume a journal
    /// that is missing or held by a running service (probed by opening it; the service
    /// takes it for good in `Service::resume`).
    fn preflight(&self, log_dir: &std::path::Path) -> Result<()> {
        match (&self.journal, self.resume) {
            (Some(journal), true) => {
                ServiceJournal::open(journal).context("cannot resume")?;
            }
            (journal, false) => {
                if ProofLog::exists(log_dir) {
                    bail!(
                        "{}: a proof log exists here already (resume it with --resume and its --journal, or choose another --log)",
                        log_dir.display()
                    );
                }
                if let Some(journal) = journal.as_deref().filter(|j| ServiceJournal::exists(j)) {
                    bail!(
                        "{}: a service journal exists here already (resume it with --resume, or choose another --journal)",
                        journal.display()
                    );
                }
            }
            (None, true) => bail!("--resume needs the --journal of the service to resume"),
        }
        Ok(())
    }
}

pub fn run(args: Args) -> Result<bool> {
    let summary = run_app(args.app, &args.run, args.logs, true)?;
    summary.print();
    println!("verified: {}", summary.verified);
    Ok(summary.verified)
}

/// Runs `app` with `options`, logging to `logs.log` (or a fresh directory); `chatty` prints the
/// setup and one line per epoch as it goes, and shows progress bars.
pub fn run_app(
    app: AppChoice,
    options: &RunOptions,
    log: LogOptions,
    chatty: bool,
) -> Result<RunSummary> {
    if options.epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    let accounts = usize::try_from(options.accounts).context("--accounts is too large")?;
    let seed = options.seed;
    match app {
        AppChoice::Transfer => run_workload(
            app,
            TransferWorkload::new(options.accounts, seed),
            options,
            log,
            chatty,
        ),
        AppChoice::Ledger => run_workload(
            app,
            LedgerWorkload::ledger(seed, accounts, Mix::default())?,
            options,
            log,
            chatty,
        ),
        AppChoice::Interbank => run_workload(
            app,
            InterbankWorkload::interbank(seed, accounts, options.banks, Mix::default())?,
            options,
            log,
            chatty,
        ),
        AppChoice::Darkpool => {
            // One stream per market (a market's orders are planned in order), at least two
            // traders in each.
            let markets = u16::try_from(options.workers.clamp(1, (accounts / 2).max(1)))
                .context("too many markets")?;
            run_workload(
                app,
                DarkPoolWorkload::<2>::new(seed, accounts, markets)?,
                options,
                log,
                chatty,
            )
        }
    }
}

/// A default log directory that does not exist yet.
fn fresh_log_dir(app: &str) -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    std::env::temp_dir().join(format!("spice-demo-{app}-{}-{stamp}", std::process::id()))
}

fn bar(len: u64, message: String, chatty: bool) -> ProgressBar {
    let bar = ProgressBar::new(len).with_message(message);
    if !chatty {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} [{elapsed}]")
            .expect("static template"),
    );
    bar
}

fn spinner(message: &str, chatty: bool) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message.to_string());
    if !chatty {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("static template"),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// What one run measured.
#[derive(Clone, Debug, Default)]
pub struct RunSummary {
    /// The app.
    pub app: &'static str,
    /// Proofs in flight at once.
    pub proofs_in_flight: usize,
    /// The backend that proved.
    pub backend: &'static str,
    /// Request slots per batch proof.
    pub slots: usize,
    /// Constraints of the batch circuit.
    pub batch_constraints: usize,
    /// Keys per audit chunk.
    pub chunk_keys: usize,
    /// Requests of the workload (setup excluded).
    pub requests: usize,
    /// Setup requests (account opening, funding).
    pub setup_requests: usize,
    /// Workload requests the app accepted.
    pub accepted: usize,
    /// Workload requests the app rejected (executed and proved; state unchanged).
    pub rejected: usize,
    /// Requests the store refused (not executed).
    pub refused: usize,
    /// Storage operations (read-modify-writes of one key) of every executed request.
    pub storage_ops: usize,
    /// Executing every request.
    pub execution: Duration,
    /// Batch proofs.
    pub batches: usize,
    /// Building batch witnesses.
    pub batch_witness: Duration,
    /// The prover's stages, summed over the batch proofs.
    pub stages: Vec<(&'static str, Duration)>,
    /// Appending batch proofs to the log.
    pub batch_log: Duration,
    /// Proving every batch, wall clock.
    pub batch_proving: Duration,
    /// Epochs audited.
    pub audits: usize,
    /// Audit chunk proofs.
    pub chunks: usize,
    /// Building and proving the audits.
    pub audit: Duration,
    /// From the first execution to the last audit proof.
    pub end_to_end: Duration,
    /// Receipts checked against the verified log.
    pub receipts: usize,
    /// Whether the log verified, with every epoch audited and every receipt good.
    pub verified: bool,
}

impl RunSummary {
    fn add_batch(&mut self, report: &BatchReport) {
        self.batches += 1;
        self.batch_witness += report.witness;
        self.batch_log += report.log;
        let rows = report.stages.rows();
        if self.stages.is_empty() {
            self.stages = rows.to_vec();
        } else {
            for (total, (_, d)) in self.stages.iter_mut().zip(rows) {
                total.1 += d;
            }
        }
    }

    /// Every request executed and proved, setup included.
    pub fn all_requests(&self) -> usize {
        self.requests + self.setup_requests
    }

    /// Constraints per request slot (the batch circuit's, fixed part included).
    pub fn constraints_per_request(&self) -> f64 {
        self.batch_constraints as f64 / self.slots.max(1) as f64
    }

    /// Requests per second of execution alone.
    pub fn execution_rate(&self) -> f64 {
        rate(self.all_requests(), self.execution)
    }

    /// Requests per second of proving (batches and audits).
    pub fn proving_rate(&self) -> f64 {
        rate(self.all_requests(), self.batch_proving + self.audit)
    }

    /// Requests per second, first execution to last proof.
    pub fn end_to_end_rate(&self) -> f64 {
        rate(self.all_requests(), self.end_to_end)
    }

    /// The multi-line summary `spice demo` prints.
    pub fn print(&self) {
        println!(
            "requests: {} (+{} setup): {} accepted, {} rejected by the app (proved, state unchanged), {} refused by the store; {} storage operations",
            self.requests, self.setup_requests, self.accepted, self.rejected, self.refused, self.storage_ops
        );
        println!(
            "proofs: {} batch ({} slots, {} constraints: {:.0} per request), {} audit chunk ({} keys each), {} audit closing",
            self.batches,
            self.slots,
            self.batch_constraints,
            self.constraints_per_request(),
            self.chunks,
            self.chunk_keys,
            self.audits
        );
        println!(
            "tx/s: execution {:.1}, proving {:.2}, end to end {:.2} ({} requests incl. setup in {:.1?}, backend {})",
            self.execution_rate(),
            self.proving_rate(),
            self.end_to_end_rate(),
            self.all_requests(),
            self.end_to_end,
            self.backend
        );
        if self.batches > 0 {
            let n = self.batches as u32;
            if self.proofs_in_flight > 1 {
                println!(
                    "stage breakdown, mean per batch proof ({} in flight: the stages of concurrent proofs overlap, so they add up to more than the wall time per batch):",
                    self.proofs_in_flight
                );
            } else {
                println!("stage breakdown, mean per batch proof:");
            }
            println!(
                "  {:<20} {:>9.1} ms",
                "witness build",
                ms(self.batch_witness / n)
            );
            for (stage, total) in &self.stages {
                println!("  {stage:<20} {:>9.1} ms", ms(*total / n));
            }
            println!("  {:<20} {:>9.1} ms", "log append", ms(self.batch_log / n));
            println!(
                "  {:<20} {:>9.1} ms (the audits, amortised over the batches)",
                "audit",
                ms(self.audit / n)
            );
        }
        println!(
            "receipts: {} checked against the verified log",
            self.receipts
        );
    }
}

fn rate(count: usize, time: Duration) -> f64 {
    count as f64 / time.as_secs_f64().max(1e-9)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn run_workload<W: Workload>(
    choice: AppChoice,
    mut workload: W,
    options: &RunOptions,
    log: LogOptions,
    chatty: bool,
) -> Result<RunSummary> {
    let name = choice.name();
    let app = workload.app();
    let sizing = spinner("sizing the circuits", chatty);
    let batch_capacity = match options.batch_size {
        Some(slots) => slots,
        None => batch_capacity_for_domain(&app, options.domain_log)?,
    };
    let keys_per_chunk = match options.chunk_keys {
        Some(keys) => keys,
        None => keys_per_chunk_for_domain(options.domain_log)?,
    };
    sizing.finish_and_clear();
    let config = ServiceConfig {
        batch_capacity,
        keys_per_chunk,
        workers: options.workers,
        proofs_in_flight: options.proofs_in_flight.map(|n| n as usize),
    };
    config.validate()?;
    let backend = select(options.backend)?;
    let mut summary = RunSummary {
        app: name,
        backend: backend.name(),
        slots: batch_capacity,
        chunk_keys: keys_per_chunk,
        ..RunSummary::default()
    };
    if chatty {
        println!(
            "demo: app {name}, {} requests over {} epochs, {} workers, batches of {batch_capacity}, audit chunks of {keys_per_chunk} keys, backend {}, {} threads",
            options.requests,
            options.epochs,
            options.workers,
            backend.name(),
            rayon::current_num_threads()
        );
    }
    let log_dir = log.log.clone().unwrap_or_else(|| fresh_log_dir(name));
    log.preflight(&log_dir)?;
    let keys = keys_dir(options.keys_dir.clone());
    let setup = spinner(
        "setup: proving keys (batch, audit chunk, audit closing)",
        chatty,
    );
    let provers = ServiceProvers::setup(name, &app, &config, backend, Some(&keys))
        .context("setting up the provers")?;
    setup.finish_and_clear();
    summary.batch_constraints = provers.batch.num_constraints();
    if chatty {
        for prover in [&provers.batch, &provers.chunk, &provers.closing] {
            println!(
                "circuit {}: {} constraints, key {} ({:.1?})",
                prover.name(),
                prover.num_constraints(),
                match prover.origin() {
                    KeyOrigin::Cached(path) => format!("loaded from {}", path.display()),
                    KeyOrigin::Generated(_) => "generated".to_string(),
                },
                prover.setup_time()
            );
        }
    }
    let provers = Arc::new(provers);
    let (mut service, resumed) = match (&log.journal, log.resume) {
        (Some(journal), true) => {
            let (service, report) = Service::resume(app, config, provers, &log_dir, journal)
                .with_context(|| {
                    format!(
                        "resuming the service of {} from the journal in {}",
                        log_dir.display(),
                        journal.display()
                    )
                })?;
            (service, Some(report))
        }
        (Some(journal), false) => (
            Service::create(app, config, provers, &log_dir, journal).with_context(|| {
                format!(
                    "creating the log in {} and the journal in {}",
                    log_dir.display(),
                    journal.display()
                )
            })?,
            None,
        ),
        (None, _) => (
            Service::new(app, config, provers, &log_dir)
                .with_context(|| format!("creating the log in {}", log_dir.display()))?,
            None,
        ),
    };
    service.set_journal_progress_every(std::num::NonZeroU64::new(log.journal_progress_every));
    summary.proofs_in_flight = service.proofs_in_flight();
    if chatty {
        println!("log: {}", log_dir.display());
        if let Some(journal) = service.journal_dir() {
            println!("journal: {}", journal.display());
        }
        println!("proofs in flight: {}", summary.proofs_in_flight);
    }
    if let Some(report) = &resumed {
        if chatty {
            println!(
                "resumed: epoch {}, {} logged batches from the journal's progress record, {} replayed ({} requests), {} unlogged batches dropped{}",
                report.epoch,
                report.progress_batches,
                report.batches,
                report.requests,
                report.dropped_batches,
                match &report.torn_tail {
                    Some(tail) => format!(", a torn tail of {} bytes cut off {}", tail.dropped_bytes, tail.file.display()),
                    None => String::new(),
                }
            );
        }
        if let Some(epoch) = service.audit_pending() {
            let audit = service
                .close_epoch(|_, _| {})
                .with_context(|| format!("finishing the audit of epoch {epoch}"))?;
            if chatty {
                println!(
                    "epoch {epoch}: the interrupted audit finished ({} chunk proofs)",
                    audit.chunks
                );
            }
        }
    }

    let mut receipts: Vec<ClientReceipt> = Vec::new();
    let started = Instant::now();
    let mut setup_streams = workload.setup();
    if resumed.is_some() {
        // The service holds the setup (or the part of it that reached the log) and whatever
        // the crashed run's clients did since: the generator, rebuilt from its seed, reads
        // its clients' nonces and balances from that state instead of replaying theirs.
        let snapshot = service.store().snapshot();
        let state = ResyncState::new(snapshot.final_state.iter().map(|t| (t.key, t.value)));
        setup_streams = workload
            .resync(&state)
            .context("picking the workload up from the resumed state")?;
        if chatty {
            println!(
                "workload: resynced from the state of {} keys; {} setup requests it lacked run first",
                state.values().len(),
                setup_streams.iter().map(Vec::len).sum::<usize>()
            );
        }
    }
    summary.setup_requests = setup_streams.iter().map(Vec::len).sum();
    let per_epoch = options.requests.div_ceil(options.epochs);
    let mut remaining = options.requests;
    for round in 0..options.epochs {
        let epoch = service.epoch();
        if summary.setup_requests > 0 && round == 0 {
            // Setup first, executed and proved before the epoch's workload is generated.
            let report = service.execute(setup_streams.clone());
            summary.refused += report.refused.len();
            summary.execution += report.elapsed;
            summary.storage_ops += report
                .executed
                .iter()
                .map(|ex| ex.record.ops.len())
                .sum::<usize>();
            prove(
                &mut service,
                &report.executed,
                &mut summary,
                &mut receipts,
                "setup batches",
                chatty,
            )?;
        }
        let count = per_epoch.min(remaining);
        remaining -= count;
        let report = service.execute(workload.streams(count, options.workers * 2));
        summary.requests += report.executed.len() + report.refused.len();
        summary.accepted += report
            .executed
            .iter()
            .filter(|ex| ex.response.accepted)
            .count();
        summary.rejected += report
            .executed
            .iter()
            .filter(|ex| !ex.response.accepted)
            .count();
        summary.refused += report.refused.len();
        summary.execution += report.elapsed;
        summary.storage_ops += report
            .executed
            .iter()
            .map(|ex| ex.record.ops.len())
            .sum::<usize>();
        for refused in report.refused.iter().take(3) {
            tracing::warn!("refused {:?}: {}", refused.request, refused.error);
        }
        prove(
            &mut service,
            &report.executed,
            &mut summary,
            &mut receipts,
            "batches",
            chatty,
        )?;
        let chunks = bar(0, format!("epoch {epoch}: audit"), chatty);
        let audit = service
            .close_epoch(|done, total| {
                chunks.set_length(total as u64);
                chunks.set_position(done as u64);
            })
            .with_context(|| format!("auditing epoch {epoch}"))?;
        chunks.finish_and_clear();
        if chatty {
            println!(
                "epoch {epoch}: {} executed, audit of {} keys ({} new) in {} chunk proofs: {:.2?}",
                report.executed.len(),
                audit.keys,
                audit.new_keys,
                audit.chunks,
                audit.witness + audit.proving
            );
        }
        summary.audits += 1;
        summary.chunks += audit.chunks;
        summary.audit += audit.witness + audit.proving;
    }
    summary.end_to_end = started.elapsed();

    let verifying = spinner("verifying the log", chatty);
    let verifier = LogVerifier::from_dir(&log_dir).context("reading the verifying keys")?;
    let verdict = verifier.verify_dir(&log_dir, |_| {});
    verifying.finish_and_clear();
    summary.receipts = receipts.len();
    summary.verified = match &verdict {
        Ok(log) => {
            let bad = receipts
                .iter()
                .filter(|r| log.check_receipt(r).is_err())
                .count();
            if chatty {
                println!(
                    "verify: {} entries, {} epochs audited, {} batch proofs; {} of {} receipts bad",
                    log.entries,
                    log.epochs.len(),
                    log.audited_batches(),
                    bad,
                    receipts.len()
                );
            }
            bad == 0 && log.open_epoch.is_none() && log.epochs.len() as u64 == service.epoch()
        }
        Err(rejection) => {
            println!("verify: reject: {rejection}");
            false
        }
    };
    Ok(summary)
}

/// Proves `executed` in batches with a progress bar, adding to the summary and receipts.
fn prove<A: App>(
    service: &mut Service<A>,
    executed: &[Executed<A>],
    summary: &mut RunSummary,
    receipts: &mut Vec<ClientReceipt>,
    label: &str,
    chatty: bool,
) -> Result<()> {
    let batches = executed.len().div_ceil(service.config().batch_capacity);
    let progress = bar(
        batches as u64,
        format!("epoch {}: {label}", service.epoch()),
        chatty,
    );
    let started = Instant::now();
    // Receipts are taken as each batch lands in the log, so an error later keeps them.
    service.prove_batches(executed, |report| {
        summary.add_batch(report);
        receipts.extend(report.receipts.iter().cloned());
        progress.inc(1);
    })?;
    summary.batch_proving += started.elapsed();
    progress.finish_and_clear();
    Ok(())
}
