//! `spice verify --log DIR`: replay a service's proof log and print `accept` or
//! `reject: <first failure>`. The log may be being written: `--follow` verifies each entry as
//! it is appended, until the service stops (waiting for the log to be created first, and with
//! `--restart-grace`, for a restarted service to take it again), or until `--until-epoch`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use spice::host::log_verifier::{EpochSummary, FollowEvent, FollowOptions, LogVerifier};
use spice::host::proof_log::ProofLog;

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
    /// rejected). If there is no log yet, wait for one to be created (the log's directory, or
    /// the directory it is to be created in, must exist). Without it, a log being written is
    /// verified as far as it is complete.
    #[arg(long)]
    follow: bool,
    /// With `--follow`: how often to look for new entries, in milliseconds.
    #[arg(long, default_value_t = 500, requires = "follow", value_parser = clap::value_parser!(u64).range(1..=60_000))]
    poll_ms: u64,
    /// With `--follow`: when the service lets go of the log, wait this many seconds for one
    /// to take it again (a supervisor restarting it; a resumed service cuts a crash's torn
    /// tail and appends from there) before concluding.
    #[arg(long, value_name = "SECONDS", requires = "follow", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    restart_grace: Option<u64>,
    /// With `--follow`: stop as soon as the audit of this epoch checks, whether or not the
    /// service is still writing; fail if the log ends before it.
    #[arg(long, value_name = "EPOCH", requires = "follow")]
    until_epoch: Option<u64>,
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
    let poll = Duration::from_millis(args.poll_ms);
    if args.follow && !ProofLog::exists(&args.log) {
        wait_for_log(&args.log, poll)?;
    }
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
        let options = FollowOptions {
            poll,
            restart_grace: args.restart_grace.map(Duration::from_secs),
            until_epoch: args.until_epoch,
        };
        verifier.follow_dir(&args.log, &options, |event| match event {
            FollowEvent::Entry { entries } => {
                progress.set_position(entries);
                progress.set_message("verifying");
            }
            // Printed as it happens: a follower may run for as long as the service.
            FollowEvent::EpochAudited(epoch) => progress.suspend(|| print_epoch(epoch)),
            FollowEvent::Waiting { .. } => {
                progress.set_message("verified; waiting for the service's next append:")
            }
            // Not set_message inside suspend: both take the bar's lock.
            FollowEvent::WriterGone { entries, torn } => {
                let torn = match torn {
                    Some(at) => format!(", with an incomplete frame at {at}"),
                    None => String::new(),
                };
                let grace = args.restart_grace.unwrap_or(0);
                // Not set_message inside suspend: both take the bar's lock.
                progress.set_message("waiting for a service to take the log again:");
                progress.suspend(|| {
                    println!(
                        "log: the service let go of the log after {entries} entries{torn}; waiting up to {grace} s for a service to take it again"
                    )
                })
            }
            FollowEvent::WriterBack { entries } => progress.suspend(|| {
                println!("log: a service holds the log again after {entries} entries; following on")
            }),
        })
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
            if let Some(epoch) = log.stopped_at_epoch {
                println!(
                    "stopped after the audit of epoch {epoch} (--until-epoch); entries after these {} were not read",
                    log.entries
                );
            }
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
            if let Some(epoch) = args.until_epoch.filter(|_| log.stopped_at_epoch.is_none()) {
                bail!(
                    "--until-epoch {epoch}: the log ended with {} epochs audited, before the audit of epoch {epoch}",
                    log.epochs.len()
                );
            }
            Ok(true)
        }
        Err(rejection) => {
            println!("reject: {rejection}");
            Ok(false)
        }
    }
}

/// Waits until a log exists in `dir` (its first segment; the verifying keys are written before
/// it), looking every `poll`. Refuses at once when not even the directory's parent exists:
/// that is a wrong path, not a service yet to start.
fn wait_for_log(dir: &std::path::Path, poll: Duration) -> Result<()> {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if !dir.is_dir() && !parent.is_dir() {
        bail!(
            "there is no log at {} and no directory {} to create it in",
            dir.display(),
            parent.display()
        );
    }
    let spinner = ProgressBar::new_spinner().with_message(format!(
        "waiting for a log to be created in {}",
        dir.display()
    ));
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("static template"),
    );
    println!(
        "log: none in {} yet; waiting for a service to create it",
        dir.display()
    );
    while !ProofLog::exists(dir) {
        spinner.tick();
        std::thread::sleep(poll);
    }
    spinner.finish_and_clear();
    Ok(())
}
