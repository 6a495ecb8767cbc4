//! A prover for one fixed-shape circuit of the service (a batch circuit, an audit chunk, the
//! audit closing): its R1CS shape computed once, its proving key set up once — or loaded from
//! a cache keyed by the shape's fingerprint — and loaded into the backend once.
//!
//! # Why the cache is keyed by a fingerprint of the shape
//!
//! A proving key fits exactly one constraint system. A cache keyed by a name ("batch circuit
//! of 64 slots") would hand a stale key to a build whose circuit changed, and every proof
//! would then fail the prover's self-check. The file name carries the SHA-256 of the circuit's
//! matrices and variable counts instead, so a changed circuit simply misses the cache.
//!
//! # Trust in the setup
//!
//! Groth16 keys come from a trusted setup: whoever knows its randomness can forge proofs. Here
//! the service runs the setup itself with fresh OS randomness that is dropped right away,
//! which is what a demo or a benchmark needs; a deployment would run a multi-party ceremony
//! and give the verifying keys to verifiers out of band (`spice verify --keys`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ark_bls12_381::{Bls12_381, Fr};
use ark_ff::{BigInteger, PrimeField, UniformRand};
use ark_groth16::{Groth16, Proof, ProvingKey, VerifyingKey};
use ark_relations::gr1cs::{ConstraintSynthesizer, Matrix};
use ark_std::rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

use crate::engine::{
    read_proving_key, synthesize_assignment, write_proving_key, Backend, EngineError, LoadedShape,
    Prover, R1csShape, StageTimes, Verifier,
};

/// A circuit's full assignment `z = (1, public inputs, witness)`, synthesized by
/// [`CircuitProver::synthesize`] and waiting to be proved.
#[derive(Clone, Debug)]
pub struct Assignment {
    z: Vec<Fr>,
    synthesis: Duration,
}

impl Assignment {
    /// Time the synthesis took.
    pub fn synthesis_time(&self) -> Duration {
        self.synthesis
    }
}

/// Errors of setting up or using a [`CircuitProver`].
#[derive(Debug, thiserror::Error)]
pub enum CircuitProverError {
    /// The engine failed (synthesis, an unsatisfied witness, a key that does not fit, …).
    #[error("{circuit}: {source}")]
    Engine {
        /// The circuit's name.
        circuit: String,
        /// What went wrong.
        #[source]
        source: EngineError,
    },
    /// The Groth16 setup failed.
    #[error("{circuit}: Groth16 setup failed: {reason}")]
    Setup {
        /// The circuit's name.
        circuit: String,
        /// arkworks' error.
        reason: String,
    },
    /// A circuit to prove has another number of variables than the circuit's shape.
    #[error("{circuit}: the assignment has {got} variables, the circuit's shape {expected}")]
    ShapeMismatch {
        /// The circuit's name.
        circuit: String,
        /// Variables of the shape.
        expected: usize,
        /// Variables of the assignment.
        got: usize,
    },
}

/// Where a proving key came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyOrigin {
    /// Loaded from this cache file.
    Cached(PathBuf),
    /// Generated now (and cached in this file, if a cache directory was given).
    Generated(Option<PathBuf>),
}

/// The fingerprint of a circuit's shape: SHA-256 over its variable counts and its A, B, C
/// matrices (every entry's coefficient and variable index).
pub fn shape_fingerprint(shape: &R1csShape) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"spice/r1cs-shape/v1");
    hasher.update((shape.num_instance as u64).to_le_bytes());
    hasher.update((shape.num_witness as u64).to_le_bytes());
    for matrix in [&shape.a, &shape.b, &shape.c] {
        hash_matrix(&mut hasher, matrix);
    }
    hasher.finalize().into()
}

fn hash_matrix(hasher: &mut Sha256, matrix: &Matrix<Fr>) {
    hasher.update((matrix.len() as u64).to_le_bytes());
    for row in matrix {
        hasher.update((row.len() as u64).to_le_bytes());
        for (coefficient, variable) in row {
            hasher.update(coefficient.into_bigint().to_bytes_le());
            hasher.update((*variable as u64).to_le_bytes());
        }
    }
}

/// The first 8 bytes of a fingerprint in hex: enough to tell cache files apart.
pub fn short_hex(fingerprint: &[u8; 32]) -> String {
    fingerprint[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A prover for one fixed-shape circuit (see the module docs).
pub struct CircuitProver {
    name: String,
    /// The shape, loaded into the prover's backend once (on a GPU: its matrices resident).
    shape: LoadedShape,
    fingerprint: [u8; 32],
    prover: Prover,
    origin: KeyOrigin,
    setup_time: Duration,
}

impl std::fmt::Debug for CircuitProver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitProver")
            .field("name", &self.name)
            .field("constraints", &self.shape.shape().num_constraints())
            .field("fingerprint", &short_hex(&self.fingerprint))
            .field("origin", &self.origin)
            .finish()
    }
}

impl CircuitProver {
    /// Computes the shape of `blank` (a satisfiable instance of the circuit: its values do
    /// not matter, its shape is every instance's), then loads the proving key from
    /// `cache_dir/<name>-<fingerprint>.pk` if it is there and intact, or runs the setup with
    /// `rng` and writes that file. A damaged cache file is reported in the log and replaced,
    /// never used.
    pub fn setup<C, R>(
        name: &str,
        blank: C,
        backend: Arc<dyn Backend>,
        cache_dir: Option<&Path>,
        rng: &mut R,
    ) -> Result<Self, CircuitProverError>
    where
        C: ConstraintSynthesizer<Fr> + Clone,
        R: RngCore + CryptoRng,
    {
        let engine = |source| CircuitProverError::Engine {
            circuit: name.to_string(),
            source,
        };
        let started = Instant::now();
        let (shape, _) = R1csShape::from_circuit(blank.clone()).map_err(engine)?;
        let fingerprint = shape_fingerprint(&shape);
        let path = cache_dir.map(|dir| dir.join(format!("{name}-{}.pk", short_hex(&fingerprint))));
        let cached = match &path {
            Some(path) if path.exists() => match read_proving_key(path) {
                Ok(pk) => Some(pk),
                Err(error) => {
                    tracing::warn!("{name}: ignoring the cached key: {error}; running the setup");
                    None
                }
            },
            _ => None,
        };
        let (pk, origin) = match cached {
            Some(pk) => (pk, KeyOrigin::Cached(path.clone().unwrap_or_default())),
            None => {
                tracing::info!(
                    "{name}: Groth16 setup for {} constraints",
                    shape.num_constraints()
                );
                let pk =
                    Groth16::<Bls12_381>::generate_random_parameters_with_reduction(blank, rng)
                        .map_err(|e| CircuitProverError::Setup {
                            circuit: name.to_string(),
                            reason: e.to_string(),
                        })?;
                if let Some(path) = &path {
                    // A cache that cannot be written costs the next run a setup, nothing more.
                    if let Err(error) = write_proving_key(path, &pk) {
                        tracing::warn!(
                            "{name}: cannot cache the key in {}: {error}",
                            path.display()
                        );
                    }
                }
                (pk, KeyOrigin::Generated(path))
            }
        };
        Self::with_key(name, shape, fingerprint, pk, backend, origin, started)
    }

    /// A prover from a proving key the caller already has (e.g. made by an earlier
    /// [`CircuitProver::setup`] in the same process), for the shape of `blank`.
    pub fn from_key<C: ConstraintSynthesizer<Fr>>(
        name: &str,
        blank: C,
        pk: ProvingKey<Bls12_381>,
        backend: Arc<dyn Backend>,
    ) -> Result<Self, CircuitProverError> {
        let started = Instant::now();
        let (shape, _) =
            R1csShape::from_circuit(blank).map_err(|source| CircuitProverError::Engine {
                circuit: name.to_string(),
                source,
            })?;
        let fingerprint = shape_fingerprint(&shape);
        Self::with_key(
            name,
            shape,
            fingerprint,
            pk,
            backend,
            KeyOrigin::Generated(None),
            started,
        )
    }

    fn with_key(
        name: &str,
        shape: R1csShape,
        fingerprint: [u8; 32],
        pk: ProvingKey<Bls12_381>,
        backend: Arc<dyn Backend>,
        origin: KeyOrigin,
        started: Instant,
    ) -> Result<Self, CircuitProverError> {
        let engine = |source| CircuitProverError::Engine {
            circuit: name.to_string(),
            source,
        };
        let prover = Prover::new(backend, pk).map_err(engine)?;
        let shape = prover.load_shape(shape).map_err(engine)?;
        Ok(Self {
            name: name.to_string(),
            shape,
            fingerprint,
            prover,
            origin,
            setup_time: started.elapsed(),
        })
    }

    /// The circuit's name (also the cache file's prefix).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Constraints of the circuit.
    pub fn num_constraints(&self) -> usize {
        self.shape.shape().num_constraints()
    }

    /// The shape's fingerprint ([`shape_fingerprint`]).
    pub fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    /// Where the proving key came from.
    pub fn origin(&self) -> &KeyOrigin {
        &self.origin
    }

    /// How long [`CircuitProver::setup`] took (shape, key, loading into the backend).
    pub fn setup_time(&self) -> Duration {
        self.setup_time
    }

    /// The verifying key.
    pub fn vk(&self) -> &VerifyingKey<Bls12_381> {
        self.prover.vk()
    }

    /// A verifier for this circuit's proofs.
    pub fn verifier(&self) -> &Verifier {
        self.prover.verifier()
    }

    /// Proves `circuit` (an instance of this prover's circuit) with fresh randomness from
    /// `rng`, on the fixed-shape fast path: only the assignment is synthesized, the matrices
    /// are the ones computed and loaded into the backend at setup. The proof is verified before it is returned; an
    /// unsatisfied witness is an error naming the constraint.
    pub fn prove<C, R>(
        &self,
        circuit: C,
        rng: &mut R,
    ) -> Result<(Proof<Bls12_381>, StageTimes), CircuitProverError>
    where
        C: ConstraintSynthesizer<Fr>,
        R: RngCore + CryptoRng,
    {
        let assignment = self.synthesize(circuit)?;
        self.prove_assignment(&assignment, rng)
    }

    /// The backend this prover runs on.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        self.prover.backend()
    }

    /// The first half of [`Self::prove`]: synthesizes `circuit`'s full assignment (single
    /// threaded, all CPU), checked to fit the shape. Independent of the backend, so a caller
    /// can synthesize the next circuits on other threads while one is proved.
    pub fn synthesize<C: ConstraintSynthesizer<Fr>>(
        &self,
        circuit: C,
    ) -> Result<Assignment, CircuitProverError> {
        let started = Instant::now();
        let z = synthesize_assignment(circuit).map_err(|source| self.engine_error(source))?;
        if z.len() != self.shape.shape().num_variables() {
            return Err(CircuitProverError::ShapeMismatch {
                circuit: self.name.clone(),
                expected: self.shape.shape().num_variables(),
                got: z.len(),
            });
        }
        Ok(Assignment {
            z,
            synthesis: started.elapsed(),
        })
    }

    /// The second half of [`Self::prove`]: proves a synthesized assignment with fresh (r, s)
    /// from `rng`; the stage times include the assignment's synthesis time.
    pub fn prove_assignment<R: RngCore + CryptoRng>(
        &self,
        assignment: &Assignment,
        rng: &mut R,
    ) -> Result<(Proof<Bls12_381>, StageTimes), CircuitProverError> {
        let r = Fr::rand(rng);
        let s = Fr::rand(rng);
        let (proof, mut times) = self
            .prover
            .prove_with_loaded_shape_timed(&self.shape, &assignment.z, r, s)
            .map_err(|source| self.engine_error(source))?;
        times.synthesis = assignment.synthesis;
        Ok((proof, times))
    }

    fn engine_error(&self, source: EngineError) -> CircuitProverError {
        CircuitProverError::Engine {
            circuit: self.name.clone(),
            source,
        }
    }
}
