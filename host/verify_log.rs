//! `spice verify --log DIR`: replay a service's proof log and print `accept` or
//! `reject: <first failure>`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use spice::host::log_verifier::LogVerifier;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The log's directory.
    #[arg(long)]
    log: PathBuf,
    /// A directory holding the verifying keys to trust (`batch-proof.vk`,
    /// `audit-chunk-proof.vk`, `audit-closing-proof.vk`); default: the ones in the log's
    /// directory, written by the service itself.
    #[arg(long)]
    keys: Option<PathBuf>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Prints the verdict; `Ok(true)` for accept, `Ok(false)` for reject, `Err` when the log
/// cannot be verified at all (no keys).
pub fn run(args: Args) -> Result<bool> {
    let keys = args.keys.as_ref().unwrap_or(&args.log);
    let verifier = LogVerifier::from_dir(keys)
        .with_context(|| format!("reading the verifying keys in {}", keys.display()))?;
    for (kind, fingerprint) in verifier.fingerprints() {
        println!("key {kind}: sha256 {}", hex(&fingerprint));
    }
    let progress = ProgressBar::new_spinner().with_message("verifying");
    progress.set_style(
        ProgressStyle::with_template("{spinner} {msg} {pos} entries [{elapsed}]")
            .expect("static template"),
    );
    let verdict = verifier.verify_dir(&args.log, |done| progress.set_position(done));
    progress.finish_and_clear();
    match verdict {
        Ok(log) => {
            for epoch in &log.epochs {
                println!(
                    "epoch {}: {} batch proofs, audit in {} chunk proofs: ok",
                    epoch.epoch, epoch.batches, epoch.chunks
                );
            }
            if let Some(open) = log.open_epoch {
                println!(
                    "epoch {}: open — {} batch proofs and {} audit chunk proofs verified, {}; not vouched for until its audit is in the log",
                    open.epoch,
                    open.batches,
                    open.chunks,
                    if open.closed { "closing proof in, epoch end missing" } else { "audit incomplete" }
                );
            }
            println!(
                "{} entries, {} epochs audited",
                log.entries,
                log.epochs.len()
            );
            println!("accept");
            Ok(true)
        }
        Err(rejection) => {
            println!("reject: {rejection}");
            Ok(false)
        }
    }
}
