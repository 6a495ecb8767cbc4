//! `spice bench`: end-to-end throughput of the applications — the same run as `spice demo`
//! (keys cached, concurrent execution, batch proofs, audits, verification of the log) for
//! each app and each batch size, one table row each, so that the figures compare within one
//! run on one machine.

use std::time::Duration;

use anyhow::{bail, Result};
use spice::host::circuit_size::CircuitSizeError;

use crate::demo::{run_app, AppChoice, LogOptions, RunOptions, RunSummary};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The applications, in row order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "ledger,interbank,darkpool,transfer"
    )]
    apps: Vec<AppChoice>,
    /// log2 of the QAP domains to size the batch circuits for, one row each (overrides
    /// --domain-log; --batch-size, if given, overrides both).
    #[arg(long, value_delimiter = ',', default_value = "16")]
    domain_logs: Vec<u32>,
    /// Print the table as Markdown (for bench/RESULTS.md).
    #[arg(long)]
    markdown: bool,
    #[command(flatten)]
    run: RunOptions,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `(name, ms per batch proof)` of the columns of the breakdown.
fn breakdown(summary: &RunSummary) -> Vec<(&'static str, f64)> {
    let n = summary.batches.max(1) as u32;
    let stage = |names: &[&str]| {
        summary
            .stages
            .iter()
            .filter(|(name, _)| names.iter().any(|n| name.starts_with(n)))
            .map(|(_, d)| *d)
            .sum::<Duration>()
            / n
    };
    vec![
        (
            "witness",
            ms(summary.batch_witness / n + stage(&["synthesis", "constraint eval"])),
        ),
        ("quotient", ms(stage(&["quotient"]))),
        ("msm", ms(stage(&["msm", "scalar prep"]))),
        ("audit", ms(summary.audit / n)),
    ]
}

pub fn run(args: Args) -> Result<bool> {
    if args.apps.is_empty() || args.domain_logs.is_empty() {
        bail!("give at least one app and one domain size");
    }
    let header = [
        "app",
        "backend",
        "in flight",
        "slots",
        "constraints/req",
        "batches",
        "tx/s proving",
        "tx/s end to end",
        "witness ms",
        "quotient ms",
        "msm ms",
        "audit ms",
        "verified",
    ];
    if args.markdown {
        println!("| {} |", header.join(" | "));
        println!(
            "|{}|",
            header.iter().map(|_| "---").collect::<Vec<_>>().join("|")
        );
    } else {
        println!(
            "{:<10} {:<7} {:>9} {:>5} {:>15} {:>7} {:>12} {:>15} {:>10} {:>11} {:>8} {:>8} {:>8}",
            header[0],
            header[1],
            header[2],
            header[3],
            header[4],
            header[5],
            header[6],
            header[7],
            header[8],
            header[9],
            header[10],
            header[11],
            header[12]
        );
    }
    let mut all_verified = true;
    for &app in &args.apps {
        for &domain_log in &args.domain_logs {
            let options = RunOptions {
                domain_log,
                ..args.run.clone()
            };
            let summary = match run_app(app, &options, LogOptions::default(), false) {
                Ok(summary) => summary,
                Err(error) => match error.downcast_ref::<CircuitSizeError>() {
                    Some(too_small @ CircuitSizeError::TooSmall { .. }) => {
                        println!("{}: skipped at 2^{domain_log}: {too_small}", app.name());
                        continue;
                    }
                    _ => return Err(error),
                },
            };
            all_verified &= summary.verified;
            let parts = breakdown(&summary);
            let cells = [
                summary.app.to_string(),
                summary.backend.to_string(),
                summary.proofs_in_flight.to_string(),
                summary.slots.to_string(),
                format!("{:.0}", summary.constraints_per_request()),
                summary.batches.to_string(),
                format!("{:.2}", summary.proving_rate()),
                format!("{:.2}", summary.end_to_end_rate()),
                format!("{:.1}", parts[0].1),
                format!("{:.1}", parts[1].1),
                format!("{:.1}", parts[2].1),
                format!("{:.1}", parts[3].1),
                summary.verified.to_string(),
            ];
            if args.markdown {
                println!("| {} |", cells.join(" | "));
            } else {
                println!(
                    "{:<10} {:<7} {:>9} {:>5} {:>15} {:>7} {:>12} {:>15} {:>10} {:>11} {:>8} {:>8} {:>8}",
                    cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6],
                    cells[7], cells[8], cells[9], cells[10], cells[11], cells[12]
                );
            }
        }
    }
    println!("verified: {all_verified}");
    Ok(all_verified)
}
