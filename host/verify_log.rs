//! `spice verify --log DIR`: replay a service's proof log and print `accept` or
//! `reject: <first failure>`. The log may be being written: `--follow` verifies each entry as
//! it is appended, until the service stops.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use spice::host::log_verifier::{EpochSummary, FollowEvent, LogVerifier};

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
    /// Keep verifying while a service writes the log: each entry as it is appended, each
    /// epoch as its audit checks, until the service lets go of the log (or an entry is
    /// rejected). Without it, a log being written is verified as far as it is complete.
    #[arg(long)]
    follow: bool,
    /// With `--follow`: how often to look for new entries, in milliseconds.
    #[arg(long, default_value_t = 500, requires = "follow", value_parser = clap::value_parser!(u64).range(1..=60_000))]
    poll_ms: u64,
}

fn print_epoch(epoch: &EpochSummary) {
    println!(
        "epoch {}: {} batch proofs, audit in {} chunk proofs: ok",
        epoch.epoch, epoch.batches, epoch.chunks
    );
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
    let verdict = if args.follow {
        verifier.follow_dir(
            &args.log,
            Duration::from_millis(args.poll_ms),
            |event| match event {
                FollowEvent::Entry { entries } => {
                    progress.set_position(entries);
                    progress.set_message("verifying");
                }
                // Printed as it happens: a follower may run for as long as the service.
                FollowEvent::EpochAudited(epoch) => progress.suspend(|| print_epoch(epoch)),
                FollowEvent::Waiting { .. } => {
                    progress.set_message("verified; waiting for the service's next append:")
                }
            },
        )
    } else {
        verifier.verify_dir(&args.log, |done| progress.set_position(done))
    };
    progress.finish_and_clear();
    match verdict {
        Ok(log) => {
            if !args.follow {
                log.epochs.iter().for_each(print_epoch);
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
            if let Some(writer) = log.writer {
                let appending = match writer.appending {
                    Some(at) => format!("; the frame at {at} is an append in progress"),
                    None => String::new(),
                };
                println!(
                    "log: being written (a service holds {}){appending}; entries after these {} are not verified yet (--follow verifies them as they come)",
                    args.log.join(spice::host::writer_lock::WRITER_LOCK_FILE).display(),
                    log.entries
                );
            }
            println!("accept");
            Ok(true)
        }
        Err(rejection) => {
            println!("reject: {rejection}");
            Ok(false)
        }
    }
}
