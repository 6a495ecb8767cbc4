//! `spice prove-bench`: prove a synthetic circuit of N constraints on a backend, verify, and
//! optionally compare with `ark_groth16` on the same key, circuit and randomness. With
//! `--fixed-shape`, the path of a service's fixed-shape circuits: the shape is loaded into the
//! backend once and each proof synthesizes only the assignment (on the CUDA backend the rows
//! are then evaluated on the device).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use ark_bls12_381::{Bls12_381, Fr};
use ark_ff::UniformRand;
use ark_groth16::{Groth16, ProvingKey};
use ark_serialize::CanonicalSerialize;
use ark_std::rand::{rngs::StdRng, SeedableRng};
use indicatif::{ProgressBar, ProgressStyle};

use crate::keys_dir;
use spice::engine::transfer_times::describe_copies;
use spice::engine::{
    read_proving_key, select, synthesize_assignment, write_proving_key, BackendChoice, EngineError,
    Prover, R1csShape, StageTimes, SyntheticCircuit,
};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Size of the circuit's QAP domain (constraints + public inputs + 1); a power of two
    /// gives a full domain of exactly that size.
    #[arg(long, default_value_t = 1 << 14)]
    constraints: usize,
    /// Which backend proves: auto (CUDA if available, else CPU), cpu or cuda.
    #[arg(long, default_value = "auto")]
    backend: BackendChoice,
    /// Also prove with ark_groth16 and print the ratio of times.
    #[arg(long)]
    compare_arkworks: bool,
    /// Proofs to time per prover (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Where proving keys are cached (default: $SPICE_KEYS_DIR, else ~/.cache/spice/keys).
    #[arg(long)]
    keys_dir: Option<PathBuf>,
    /// Seed of the synthetic witness and of (r, s).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Load the circuit's shape into the backend once and prove only assignments (the
    /// fixed-shape path; on CUDA the witness map's rows run on the device).
    #[arg(long)]
    fixed_shape: bool,
    /// After the timed runs, also prove --runs proofs on each of this many threads at once
    /// and report the throughput against one at a time (every proof is checked to be the
    /// same as the first). A GPU backend runs concurrent proofs on its lanes.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    in_flight: u64,
}

fn spinner(message: String) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("static template"),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Loads the cached key for `circuit`, or runs the setup and caches it. A cached file that is
/// corrupted is reported and replaced, never used.
fn load_or_setup(
    dir: &std::path::Path,
    circuit: &SyntheticCircuit,
    n: usize,
) -> Result<ProvingKey<Bls12_381>> {
    let path = dir.join(format!("synthetic-{n}.v1.pk"));
    if path.exists() {
        let started = Instant::now();
        match read_proving_key(&path) {
            Ok(pk) => {
                println!(
                    "key: loaded {} in {:.2?}",
                    path.display(),
                    started.elapsed()
                );
                return Ok(pk);
            }
            Err(e @ EngineError::KeyFile { .. }) => tracing::warn!("{e}; running the setup again"),
            Err(e) => return Err(e.into()),
        }
    }
    let bar = spinner(format!(
        "setup: generating the proving key for {n} constraints"
    ));
    let started = Instant::now();
    let pk = Groth16::<Bls12_381>::generate_random_parameters_with_reduction(
        circuit.clone(),
        &mut rand::thread_rng(),
    )
    .context("Groth16 setup failed")?;
    bar.finish_and_clear();
    println!("setup: {:.2?}", started.elapsed());
    write_proving_key(&path, &pk)
        .with_context(|| format!("caching the key in {}", path.display()))?;
    println!("key: cached in {}", path.display());
    Ok(pk)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn bytes<T: CanonicalSerialize>(t: &T) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    t.serialize_compressed(&mut v)?;
    Ok(v)
}

pub fn run(args: Args) -> Result<bool> {
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let n = args.constraints;
    let circuit = SyntheticCircuit::new(n, args.seed)?;
    let backend = select(args.backend)?;
    println!(
        "prove-bench: domain {n} ({} constraints), backend {}, {} threads",
        circuit.num_constraints(),
        backend.name(),
        rayon::current_num_threads()
    );
    let pk = load_or_setup(&keys_dir(args.keys_dir), &circuit, n)?;
    let ark_pk = if args.compare_arkworks {
        Some(pk.clone())
    } else {
        None
    };
    let started = Instant::now();
    let prover = Prover::new(backend, pk)?;
    println!("load key into backend: {:.2?}", started.elapsed());
    let loaded = if args.fixed_shape {
        let started = Instant::now();
        let (shape, _) = R1csShape::from_circuit(circuit.clone())?;
        let loaded = prover.load_shape(shape)?;
        println!(
            "load shape into backend: {:.2?} ({loaded:?})",
            started.elapsed()
        );
        Some(loaded)
    } else {
        None
    };
    let prove = |r: Fr, s: Fr| -> Result<_> {
        let Some(loaded) = &loaded else {
            return Ok(prover.prove_timed(circuit.clone(), r, s)?);
        };
        let started = Instant::now();
        let z = synthesize_assignment(circuit.clone())?;
        let synthesis = started.elapsed();
        let (proof, times) = prover.prove_with_loaded_shape_timed(loaded, &z, r, s)?;
        Ok((proof, StageTimes { synthesis, ..times }))
    };

    let mut rng = StdRng::seed_from_u64(args.seed);
    let (r, s) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
    let bar = ProgressBar::new(args.runs as u64).with_message("proving");
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} [{elapsed}]")
            .expect("static template"),
    );
    let mut ours = Vec::new();
    let mut last = None;
    for run in 0..args.runs {
        let started = Instant::now();
        let (proof, times) = prove(r, s)?;
        let took = started.elapsed();
        bar.suspend(|| {
            println!("prove run {}: {:.1} ms", run + 1, took.as_secs_f64() * 1e3);
            if run + 1 == args.runs {
                for (stage, d) in times.rows() {
                    println!("  stage {stage:<18} {:>9.1} ms", d.as_secs_f64() * 1e3);
                }
                // Copies happen inside the stages above (quotient, scalar prep, each MSM).
                for (name, d, bytes) in times.transfers.iter().flat_map(|c| c.rows()) {
                    println!("  within: {name:<18} {}", describe_copies(d, bytes));
                }
            }
        });
        bar.inc(1);
        ours.push(took);
        last = Some(proof);
    }
    bar.finish_and_clear();
    let proof = last.context("no proof produced")?;
    let ours = median(ours);
    println!(
        "prove (spice, median of {}): {:.1} ms",
        args.runs,
        ours.as_secs_f64() * 1e3
    );

    let verified = prover.verifier().verify(&circuit.public_inputs(), &proof)?;

    if args.in_flight > 1 {
        let threads = args.in_flight as usize;
        let total = threads * args.runs;
        let expected = bytes(&proof)?;
        let bar =
            ProgressBar::new(total as u64).with_message(format!("proving, {threads} at a time"));
        bar.set_style(
            ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} [{elapsed}]")
                .expect("static template"),
        );
        let started = Instant::now();
        std::thread::scope(|scope| -> Result<()> {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| -> Result<()> {
                        for _ in 0..args.runs {
                            let (p, _) = prove(r, s)?;
                            if bytes(&p)? != expected {
                                bail!(
                                    "a proof made alongside others differs from the one made alone"
                                );
                            }
                            bar.inc(1);
                        }
                        Ok(())
                    })
                })
                .collect();
            for worker in workers {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            }
            Ok(())
        })?;
        let wall = started.elapsed();
        bar.finish_and_clear();
        let concurrent = total as f64 / wall.as_secs_f64();
        let alone = 1.0 / ours.as_secs_f64();
        println!(
            "throughput: {concurrent:.2} proofs/s with {threads} in flight ({total} proofs in {:.1} ms, all identical to the first), {alone:.2} proofs/s one at a time: {:.2}x (backend lanes: {})",
            wall.as_secs_f64() * 1e3,
            concurrent / alone,
            prover.backend().proof_lanes()
        );
    }

    if let Some(ark_pk) = ark_pk {
        let mut theirs = Vec::new();
        let mut ark_proof = None;
        let bar = ProgressBar::new(args.runs as u64).with_message("proving with ark_groth16");
        for run in 0..args.runs {
            let started = Instant::now();
            let p =
                Groth16::<Bls12_381>::create_proof_with_reduction(circuit.clone(), &ark_pk, r, s)
                    .context("ark_groth16 failed to prove")?;
            let took = started.elapsed();
            bar.suspend(|| {
                println!(
                    "ark_groth16 run {}: {:.1} ms",
                    run + 1,
                    took.as_secs_f64() * 1e3
                )
            });
            bar.inc(1);
            theirs.push(took);
            ark_proof = Some(p);
        }
        bar.finish_and_clear();
        let theirs = median(theirs);
        println!(
            "prove (ark_groth16, median of {}): {:.1} ms",
            args.runs,
            theirs.as_secs_f64() * 1e3
        );
        let identical = bytes(&proof)? == bytes(&ark_proof.context("no arkworks proof")?)?;
        println!("identical to ark_groth16: {identical}");
        println!(
            "ratio ours/arkworks: {:.2}",
            ours.as_secs_f64() / theirs.as_secs_f64()
        );
        if !identical {
            println!("verified: {verified}");
            bail!("our proof differs from ark_groth16's for the same key, circuit and (r, s)");
        }
    }
    println!("verified: {verified}");
    Ok(verified)
}
