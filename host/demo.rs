//! `spice demo`: run one application end to end — set up its keys (cached), execute a seeded
//! workload through concurrent workers, prove every batch, audit every epoch, verify the
//! log — and print what it took.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use spice::engine::{select, BackendChoice};
use spice::host::{
    apps::{
        clients::Mix, darkpool::DarkPoolWorkload, interbank::InterbankWorkload,
        ledger::LedgerWorkload,
        transfer::TransferWorkload,
    },
    log_verifier::LogVerifier,
    service::{BatchReport, ClientReceipt, Service, ServiceConfig, ServiceProvers},
    storage_gadget::App,
    workload::Workload,
};

use crate::keys_dir;

/// Which application `spice demo` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AppChoice {
    /// Unsigned u64 balances: the storage layer alone, no signatures.
    Transfer,
    /// A ledger: accounts by public key, issue, signed transfers, balances.
    Ledger,
    /// Inter-bank payments: customer accounts at several banks, reserves moved atomically.
    Interbank,
    /// A dark pool: hidden limit orders matched by price-time priority (2 fills a request).
    Darkpool,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The application.
    #[arg(long, value_enum, default_value = "transfer")]
    app: AppChoice,
    /// Requests of the workload, spread over the epochs (account setup comes on top).
    #[arg(long, default_value_t = 96)]
    requests: usize,
    /// Epochs: each ends with an audit of the whole state.
    #[arg(long, default_value_t = 2)]
    epochs: usize,
    /// Worker threads executing requests.
    #[arg(long, default_value_t = 8)]
    workers: usize,
    /// Accounts (or clients) of the workload.
    #[arg(long, default_value_t = 32)]
    accounts: u64,
    /// Banks (interbank only; the dark pool has one market per worker instead).
    #[arg(long, default_value_t = 3)]
    banks: u8,
    /// Request slots per batch proof.
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// Keys per audit chunk proof.
    #[arg(long, default_value_t = 64)]
    chunk_keys: usize,
    /// Which backend proves: auto (CUDA if available, else CPU), cpu or cuda.
    #[arg(long, default_value = "auto")]
    backend: BackendChoice,
    /// Where proving keys are cached (default: $SPICE_KEYS_DIR, else ~/.cache/spice/keys).
    #[arg(long)]
    keys_dir: Option<PathBuf>,
    /// Directory for the proof log (must not hold a log yet; default: a new directory under
    /// the system's temporary directory).
    #[arg(long)]
    log: Option<PathBuf>,
    /// Seed of the workload.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub fn run(args: Args) -> Result<bool> {
    if args.epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    let accounts = usize::try_from(args.accounts).context("--accounts is too large")?;
    match args.app {
        AppChoice::Transfer => {
            let workload = TransferWorkload::new(args.accounts, args.seed);
            run_workload("transfer", workload, &args)
        }
        AppChoice::Ledger => {
            let workload = LedgerWorkload::ledger(args.seed, accounts, Mix::default())?;
            run_workload("ledger", workload, &args)
        }
        AppChoice::Interbank => {
            let workload =
                InterbankWorkload::interbank(args.seed, accounts, args.banks, Mix::default())?;
            run_workload("interbank", workload, &args)
        }
        AppChoice::Darkpool => {
            // One stream per market (orders of one market must be planned in order), at
            // least two traders in each.
            let markets = u16::try_from(args.workers.clamp(1, (accounts / 2).max(1)))
                .context("too many markets")?;
            let workload = DarkPoolWorkload::<2>::new(args.seed, accounts, markets)?;
            run_workload("darkpool", workload, &args)
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

fn bar(len: u64, message: &str) -> ProgressBar {
    let bar = ProgressBar::new(len).with_message(message.to_string());
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} [{elapsed}]")
            .expect("static template"),
    );
    bar
}

fn spinner(message: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message.to_string());
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("static template"));
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Sums of the work over the whole run.
#[derive(Default)]
struct Totals {
    requests: usize,
    accepted: usize,
    rejected: usize,
    refused: usize,
    execution: Duration,
    batches: usize,
    batch_witness: Duration,
    stages: Vec<(&'static str, Duration)>,
    batch_log: Duration,
    proving: Duration,
    audits: usize,
    chunks: usize,
    audit_witness: Duration,
    audit_proving: Duration,
}

impl Totals {
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
}

fn run_workload<W: Workload>(name: &str, mut workload: W, args: &Args) -> Result<bool> {
    let config = ServiceConfig {
        batch_capacity: args.batch_size,
        keys_per_chunk: args.chunk_keys,
        workers: args.workers,
    };
    config.validate()?;
    let backend = select(args.backend)?;
    println!(
        "demo: app {name}, {} requests over {} epochs, {} workers, batches of {}, audit chunks of {} keys, backend {}, {} threads",
        args.requests,
        args.epochs,
        args.workers,
        args.batch_size,
        args.chunk_keys,
        backend.name(),
        rayon::current_num_threads()
    );
    let app = workload.app();
    let keys = keys_dir(args.keys_dir.clone());
    let setup = spinner("setup: proving keys (batch, audit chunk, audit closing)");
    let provers = ServiceProvers::setup(name, &app, &config, backend, Some(&keys))
        .context("setting up the provers")?;
    setup.finish_and_clear();
    for prover in [&provers.batch, &provers.chunk, &provers.closing] {
        println!(
            "circuit {}: {} constraints, key {} ({:.1?})",
            prover.name(),
            prover.num_constraints(),
            match prover.origin() {
                spice::host::circuit_prover::KeyOrigin::Cached(path) => format!("loaded from {}", path.display()),
                spice::host::circuit_prover::KeyOrigin::Generated(_) => "generated".to_string(),
            },
            prover.setup_time()
        );
    }
    let per_request = provers.batch.num_constraints() as f64 / args.batch_size as f64;
    let log_dir = args.log.clone().unwrap_or_else(|| fresh_log_dir(name));
    let mut service = Service::new(app, config, Arc::new(provers), &log_dir)
        .with_context(|| format!("creating the log in {}", log_dir.display()))?;
    println!("log: {}", log_dir.display());

    let mut totals = Totals::default();
    let mut receipts: Vec<ClientReceipt> = Vec::new();
    let started = Instant::now();
    let setup_streams = workload.setup();
    let setup_requests: usize = setup_streams.iter().map(Vec::len).sum();
    let per_epoch = args.requests.div_ceil(args.epochs);
    let mut remaining = args.requests;
    for epoch in 0..args.epochs {
        let mut streams = if epoch == 0 { setup_streams.clone() } else { Vec::new() };
        let count = per_epoch.min(remaining);
        remaining -= count;
        let workload_streams = workload.streams(count, args.workers * 2);
        // Setup first: its streams are executed before the epoch's workload.
        if !streams.is_empty() {
            let report = service.execute(std::mem::take(&mut streams));
            totals.refused += report.refused.len();
            totals.execution += report.elapsed;
            prove(&mut service, &report.executed, &mut totals, &mut receipts, "setup batches")?;
        }
        let report = service.execute(workload_streams);
        totals.requests += report.executed.len() + report.refused.len();
        totals.accepted += report.executed.iter().filter(|ex| ex.response.accepted).count();
        totals.rejected += report.executed.iter().filter(|ex| !ex.response.accepted).count();
        totals.refused += report.refused.len();
        totals.execution += report.elapsed;
        for refused in report.refused.iter().take(3) {
            tracing::warn!("refused {:?}: {}", refused.request, refused.error);
        }
        prove(&mut service, &report.executed, &mut totals, &mut receipts, "batches")?;
        let chunks = bar(0, &format!("epoch {epoch}: audit"));
        let audit = service
            .close_epoch(|done, total| {
                chunks.set_length(total as u64);
                chunks.set_position(done as u64);
            })
            .with_context(|| format!("auditing epoch {epoch}"))?;
        chunks.finish_and_clear();
        println!(
            "epoch {epoch}: {} executed, audit of {} keys ({} new) in {} chunk proofs: {:.2?}",
            report.executed.len(),
            audit.keys,
            audit.new_keys,
            audit.chunks,
            audit.witness + audit.proving
        );
        totals.audits += 1;
        totals.chunks += audit.chunks;
        totals.audit_witness += audit.witness;
        totals.audit_proving += audit.proving;
    }
    let end_to_end = started.elapsed();

    let verifying = spinner("verifying the log");
    let verifier = LogVerifier::from_dir(&log_dir).context("reading the verifying keys")?;
    let verdict = verifier.verify_dir(&log_dir, |_| {});
    verifying.finish_and_clear();
    let verified = match &verdict {
        Ok(log) => {
            let bad_receipts = receipts.iter().filter(|r| log.check_receipt(r).is_err()).count();
            println!(
                "verify: {} entries, {} epochs audited, {} batch proofs; receipts: {} checked, {} bad",
                log.entries,
                log.epochs.len(),
                log.audited_batches(),
                receipts.len(),
                bad_receipts
            );
            bad_receipts == 0 && log.open_epoch.is_none()
        }
        Err(rejection) => {
            println!("verify: reject: {rejection}");
            false
        }
    };

    print_summary(&totals, setup_requests, per_request, end_to_end);
    println!("verified: {verified}");
    Ok(verified)
}

/// Proves `executed` in batches with a progress bar, adding to the totals and receipts.
fn prove<A: App>(
    service: &mut Service<A>,
    executed: &[spice::host::storage_gadget::Executed<A>],
    totals: &mut Totals,
    receipts: &mut Vec<ClientReceipt>,
    label: &str,
) -> Result<()> {
    let batches = executed.len().div_ceil(service.config().batch_capacity);
    let progress = bar(batches as u64, &format!("epoch {}: {label}", service.epoch()));
    let started = Instant::now();
    let proved = service.prove_batches(executed, |report| {
        totals.add_batch(report);
        progress.inc(1);
    })?;
    totals.proving += started.elapsed();
    progress.finish_and_clear();
    receipts.extend(proved);
    Ok(())
}

fn rate(count: usize, time: Duration) -> f64 {
    count as f64 / time.as_secs_f64().max(1e-9)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn print_summary(totals: &Totals, setup_requests: usize, per_request: f64, end_to_end: Duration) {
    println!(
        "requests: {} (+{setup_requests} setup): {} accepted, {} rejected by the app (proved, state unchanged), {} refused by the store",
        totals.requests, totals.accepted, totals.rejected, totals.refused
    );
    println!(
        "proofs: {} batch, {} audit chunk, {} audit closing; constraints per request slot: {per_request:.0}",
        totals.batches, totals.chunks, totals.audits
    );
    let all = totals.requests + setup_requests;
    let proving = totals.proving + totals.audit_witness + totals.audit_proving;
    println!(
        "tx/s: execution {:.1}, proving {:.2}, end to end {:.2} ({} requests incl. setup, {:.1?})",
        rate(all, totals.execution),
        rate(all, proving),
        rate(all, end_to_end),
        all,
        end_to_end
    );
    if totals.batches > 0 {
        let n = totals.batches as u32;
        println!("stage breakdown, mean per batch proof:");
        println!("  {:<20} {:>9.1} ms", "witness build", ms(totals.batch_witness / n));
        for (stage, total) in &totals.stages {
            println!("  {stage:<20} {:>9.1} ms", ms(*total / n));
        }
        println!("  {:<20} {:>9.1} ms", "log append", ms(totals.batch_log / n));
        println!(
            "  {:<20} {:>9.1} ms (audits amortised over the batches)",
            "audit",
            ms((totals.audit_witness + totals.audit_proving) / n)
        );
    }
}
