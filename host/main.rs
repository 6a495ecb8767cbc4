//! The `spice` command line.

mod prove_bench;

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
}

#[derive(clap::Args, Debug)]
struct CostArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn cost(args: CostArgs) -> Result<bool> {
    let table = spice::host::cost::CostTable::measure()?;
    let text = if args.json { table.to_json() } else { table.to_text() };
    print!("{text}");
    Ok(true)
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let outcome: Result<bool> = match cli.command {
        Command::ProveBench(args) => prove_bench::run(args),
        Command::Cost(args) => cost(args),
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
