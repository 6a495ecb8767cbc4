//! The `spice` command line.

mod demo;
mod prove_bench;
mod throughput_bench;
mod verify_log;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// spice: GPU-accelerated Groth16 proving and a verifiable state machine.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Set up a synthetic circuit (keys cached on disk), prove it, verify, report timings.
    ProveBench(prove_bench::Args),
    /// Print the R1CS constraints of Spice's building blocks (measured by synthesising
    /// them) next to a Poseidon Merkle tree's read-modify-write.
    Cost(CostArgs),
    /// Run an application end to end: keys, a concurrent workload, batch proofs, audits,
    /// and the verification of the resulting log.
    Demo(demo::Args),
    /// Verify a proof log: every proof, the batch sums and every epoch's audit.
    Verify(verify_log::Args),
    /// End-to-end throughput (tx/s) of the applications, one row per app and batch size,
    /// with the stage breakdown.
    Bench(throughput_bench::Args),
}

/// Where proving keys are cached: the flag, else $SPICE_KEYS_DIR, else ~/.cache/spice/keys.
pub(crate) fn keys_dir(arg: Option<PathBuf>) -> PathBuf {
    arg.or_else(|| std::env::var_os("SPICE_KEYS_DIR").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/spice/keys")))
        .unwrap_or_else(|| PathBuf::from(".spice-keys"))
}

#[derive(clap::Args, Debug)]
struct CostArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn cost(args: CostArgs) -> Result<bool> {
    let table = spice::host::cost::CostTable::measure()?;
    let text = if args.json {
        table.to_json()
    } else {
        table.to_text()
    };
    print!("{text}");
    Ok(true)
}

/// Our logs at `info`; arkworks' constraint-system spans (targets `gr1cs` and `r1cs`) off.
/// Those spans are at `info` level and record their arguments with `Debug`, and many
/// arguments (a `Boolean`, an `FpVar`) print the *whole* constraint system they belong to:
/// enabled, they make synthesis quadratic in time and memory (tens of GiB for a batch
/// circuit). Anyone who sets `RUST_LOG` should keep `gr1cs=off,r1cs=off` in it.
const DEFAULT_LOG_FILTER: &str = "info,gr1cs=off,r1cs=off";

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER)),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let outcome: Result<bool> = match cli.command {
        Command::ProveBench(args) => prove_bench::run(args),
        Command::Cost(args) => cost(args),
        Command::Demo(args) => demo::run(args),
        Command::Verify(args) => verify_log::run(args),
        Command::Bench(args) => throughput_bench::run(args),
    };
    match outcome {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
