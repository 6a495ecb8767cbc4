//! The Groth16 prover on a [`Backend`].
//!
//! Same algebra as `ark_groth16` (libsnark's R1CS→QAP reduction, the same coset), so for the
//! same key, circuit and (r, s) the proof is byte-identical to `ark_groth16`'s. What differs is
//! where the work runs (the backend), that the scalars of the A, B-in-G1, B-in-G2 and L MSMs are
//! prepared once and shared, and that every proof is checked before it is returned: a witness
//! that does not satisfy the circuit is an error naming the constraint, and a produced proof
//! that does not verify (a key of another circuit with the same shape, a faulty device) is an
//! error, never a returned proof.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ark_bls12_381::{Bls12_381, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{UniformRand, Zero};
use ark_groth16::{Proof, ProvingKey, VerifyingKey};
use ark_relations::gr1cs::ConstraintSynthesizer;
use ark_std::rand::Rng;

use super::backend::{Backend, Bases, MAX_NTT_LOG};
use super::error::{EngineError, Result};
use super::scalars::MsmScalars;
use super::shape::{full_assignment, synthesize, R1csShape};
use super::transfer_times::TransferTimes;
use super::verifier::Verifier;
use super::witness_map::{evaluate_then_quotient, LoadedShape, WitnessMap};

/// Wall-clock time of each stage of one proof.
#[derive(Clone, Debug, Default)]
pub struct StageTimes {
    /// Running the circuit's `generate_constraints` (zero on the matrices fast path).
    pub synthesis: Duration,
    /// Evaluating A·z, B·z, C·z and checking the witness satisfies every constraint (with the
    /// matrices resident on a GPU, [`Prover::prove_with_loaded_shape`]: the kernel's device
    /// time).
    pub constraint_eval: Duration,
    /// The rest of the witness map: the seven NTTs and pointwise steps of the QAP quotient (on
    /// a GPU backend also the uploads and the download of h).
    pub quotient: Duration,
    /// Converting and scheduling the assignment's scalars (shared by four MSMs).
    pub scalar_prep: Duration,
    /// A-query MSM (G1).
    pub msm_a: Duration,
    /// B-query MSM in G1.
    pub msm_b_g1: Duration,
    /// B-query MSM in G2; on a backend that runs it concurrently with the G1 MSMs
    /// ([`Backend::overlaps_g2_msm`]), only the wait for it after they finish.
    pub msm_b_g2: Duration,
    /// L-query MSM (G1).
    pub msm_l: Duration,
    /// H-query MSM (G1), including its scalars' preparation.
    pub msm_h: Duration,
    /// Verifying the proof before returning it.
    pub self_check: Duration,
    /// Host↔device copies made during the proof, on a backend with a device
    /// ([`Backend::transfer_totals`]); they happen inside the stages above, so they are not
    /// part of [`StageTimes::total`]. Copies of other proofs sharing the backend at the same
    /// time are counted too.
    pub transfers: Option<TransferTimes>,
}

impl StageTimes {
    /// Sum of all stages.
    pub fn total(&self) -> Duration {
        self.rows().iter().map(|(_, d)| *d).sum()
    }

    /// `(stage name, time)` pairs in execution order.
    pub fn rows(&self) -> [(&'static str, Duration); 10] {
        [
            ("synthesis", self.synthesis),
            ("constraint eval", self.constraint_eval),
            ("quotient (7 NTTs)", self.quotient),
            ("scalar prep", self.scalar_prep),
            ("msm A (G1)", self.msm_a),
            ("msm B (G1)", self.msm_b_g1),
            ("msm B (G2)", self.msm_b_g2),
            ("msm L (G1)", self.msm_l),
            ("msm H (G1)", self.msm_h),
            ("self-check", self.self_check),
        ]
    }
}

/// A Groth16 prover for one proving key, with the key's bases resident in the backend.
pub struct Prover {
    backend: Arc<dyn Backend>,
    verifier: Verifier,
    beta_g1: G1Affine,
    delta_g1: G1Affine,
    a_query: Bases<G1Affine>,
    b_g1_query: Bases<G1Affine>,
    b_g2_query: Bases<G2Affine>,
    h_query: Bases<G1Affine>,
    /// The L query, preceded by one identity point per instance variable so that it is indexed
    /// like the full assignment and shares its scalar schedule with A and B.
    l_query: Bases<G1Affine>,
    num_instance: usize,
    num_witness: usize,
    domain_size: usize,
    self_check: bool,
}

impl std::fmt::Debug for Prover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prover")
            .field("backend", &self.backend.name())
            .field("num_instance", &self.num_instance)
            .field("num_witness", &self.num_witness)
            .field("domain_size", &self.domain_size)
            .finish()
    }
}

impl Prover {
    /// Checks that `pk` is well formed and loads its queries into `backend` (once).
    pub fn new(backend: Arc<dyn Backend>, pk: ProvingKey<Bls12_381>) -> Result<Self> {
        let num_instance = pk.vk.gamma_abc_g1.len();
        let num_variables = pk.a_query.len();
        let num_witness = pk.l_query.len();
        let domain_size = pk.h_query.len() + 1;
        let malformed = |what: String| {
            Err(EngineError::KeyMismatch(format!(
                "malformed proving key: {what}"
            )))
        };
        if num_instance == 0 {
            return malformed("the verifying key has no gamma_abc_g1 entries".into());
        }
        if num_variables != num_instance + num_witness {
            return malformed(format!(
                "a_query has {num_variables} points, but {num_instance} instance + {num_witness} witness variables"
            ));
        }
        if pk.b_g1_query.len() != num_variables || pk.b_g2_query.len() != num_variables {
            return malformed(format!(
                "b queries have {}/{} points for {num_variables} variables",
                pk.b_g1_query.len(),
                pk.b_g2_query.len()
            ));
        }
        if !domain_size.is_power_of_two() || domain_size < 2 {
            return malformed(format!(
                "h_query has {} points; expected 2^k − 1",
                pk.h_query.len()
            ));
        }
        if domain_size > 1usize << MAX_NTT_LOG {
            return Err(EngineError::DomainTooLarge {
                needed: domain_size,
                max_log: MAX_NTT_LOG,
            });
        }
        let ProvingKey {
            vk,
            beta_g1,
            delta_g1,
            a_query,
            b_g1_query,
            b_g2_query,
            h_query,
            l_query,
        } = pk;
        let mut padded_l = vec![G1Affine::zero(); num_instance];
        padded_l.extend(l_query);
        Ok(Self {
            verifier: Verifier::new(&vk),
            beta_g1,
            delta_g1,
            a_query: backend.load_g1(a_query)?,
            b_g1_query: backend.load_g1(b_g1_query)?,
            b_g2_query: backend.load_g2(b_g2_query)?,
            h_query: backend.load_g1(h_query)?,
            l_query: backend.load_g1(padded_l)?,
            backend,
            num_instance,
            num_witness,
            domain_size,
            self_check: true,
        })
    }

    /// Turns the verification of every proof before it is returned on (the default) or off.
    /// Off saves one pairing check per proof (a few ms) and gives up the guarantee that a
    /// returned proof verifies.
    pub fn with_self_check(mut self, on: bool) -> Self {
        self.self_check = on;
        self
    }

    /// The backend this prover runs on.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// Points of the QAP domain (a power of two): the length of the quotient's vectors.
    pub fn domain_size(&self) -> usize {
        self.domain_size
    }

    /// The verifying key that matches this prover's proving key.
    pub fn vk(&self) -> &VerifyingKey<Bls12_381> {
        self.verifier.vk()
    }

    /// A verifier for this key.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Proves `circuit` with fresh randomness r, s drawn from `rng` (r first, then s, as
    /// `ark_groth16` draws them: the same seeded rng gives the same proof).
    pub fn prove<C: ConstraintSynthesizer<Fr>, R: Rng>(
        &self,
        circuit: C,
        rng: &mut R,
    ) -> Result<Proof<Bls12_381>> {
        let r = Fr::rand(rng);
        let s = Fr::rand(rng);
        self.prove_with_randomness(circuit, r, s)
    }

    /// Proves `circuit` with the given randomness (r = s = 0 gives a proof that is not
    /// zero-knowledge; use only for testing).
    pub fn prove_with_randomness<C: ConstraintSynthesizer<Fr>>(
        &self,
        circuit: C,
        r: Fr,
        s: Fr,
    ) -> Result<Proof<Bls12_381>> {
        self.prove_timed(circuit, r, s).map(|(proof, _)| proof)
    }

    /// Like [`Self::prove_with_randomness`], also reporting the time of each stage.
    pub fn prove_timed<C: ConstraintSynthesizer<Fr>>(
        &self,
        circuit: C,
        r: Fr,
        s: Fr,
    ) -> Result<(Proof<Bls12_381>, StageTimes)> {
        let start = Instant::now();
        let cs = synthesize(circuit, true)?;
        let shape = R1csShape::from_constraint_system(&cs)?;
        let z = full_assignment(&cs)?;
        drop(cs);
        let synthesis = start.elapsed();
        let (proof, mut times) = self.prove_with_shape_timed(&shape, &z, r, s)?;
        times.synthesis = synthesis;
        Ok((proof, times))
    }

    /// Fast path for circuits whose shape never changes: the matrices are computed once
    /// ([`R1csShape::from_circuit`]) and each proof needs only the full assignment
    /// `z = (1, public inputs, witness)` (e.g. from [`super::shape::synthesize_assignment`]).
    /// The constraints are evaluated on the host; [`Self::load_shape`] and
    /// [`Self::prove_with_loaded_shape`] also keep the matrices resident in the backend.
    pub fn prove_with_shape(
        &self,
        shape: &R1csShape,
        z: &[Fr],
        r: Fr,
        s: Fr,
    ) -> Result<Proof<Bls12_381>> {
        self.prove_with_shape_timed(shape, z, r, s)
            .map(|(proof, _)| proof)
    }

    /// Like [`Self::prove_with_shape`], also reporting the time of each stage.
    pub fn prove_with_shape_timed(
        &self,
        shape: &R1csShape,
        z: &[Fr],
        r: Fr,
        s: Fr,
    ) -> Result<(Proof<Bls12_381>, StageTimes)> {
        self.check_shape(shape)?;
        self.check_assignment(shape, z)?;
        self.prove_from(z, r, s, |_| {
            evaluate_then_quotient(self.backend.as_ref(), shape, z, self.domain_size)
        })
    }

    /// Checks that `shape` fits this prover's key and loads it into the backend once
    /// ([`Backend::load_shape`]: on a GPU its matrices are uploaded, and every proof's witness
    /// map runs on the device). For circuits whose shape never changes.
    pub fn load_shape(&self, shape: impl Into<Arc<R1csShape>>) -> Result<LoadedShape> {
        let shape = shape.into();
        self.check_shape(&shape)?;
        self.backend.load_shape(shape)
    }

    /// Proves the assignment `z = (1, public inputs, witness)` of a shape loaded with
    /// [`Self::load_shape`]: the fixed-shape fast path with the matrices resident in the
    /// backend. Same proof as [`Self::prove_with_shape`] for the same z, r and s.
    pub fn prove_with_loaded_shape(
        &self,
        shape: &LoadedShape,
        z: &[Fr],
        r: Fr,
        s: Fr,
    ) -> Result<Proof<Bls12_381>> {
        self.prove_with_loaded_shape_timed(shape, z, r, s)
            .map(|(proof, _)| proof)
    }

    /// Like [`Self::prove_with_loaded_shape`], also reporting the time of each stage.
    pub fn prove_with_loaded_shape_timed(
        &self,
        shape: &LoadedShape,
        z: &[Fr],
        r: Fr,
        s: Fr,
    ) -> Result<(Proof<Bls12_381>, StageTimes)> {
        // The shape was checked against the key when it was loaded, but a handle may come
        // from another prover's `load_shape`.
        self.check_shape(shape.shape())?;
        self.check_assignment(shape.shape(), z)?;
        self.prove_from(z, r, s, |z_scalars| {
            self.backend.witness_map(shape, z_scalars, self.domain_size)
        })
    }

    /// Everything after the checks: `witness_map` gives h from z (as the MSM scalars it will
    /// be), then the MSMs and the self-check.
    fn prove_from(
        &self,
        z: &[Fr],
        r: Fr,
        s: Fr,
        witness_map: impl FnOnce(&MsmScalars) -> Result<WitnessMap>,
    ) -> Result<(Proof<Bls12_381>, StageTimes)> {
        let mut times = StageTimes::default();
        let copies_before = self.backend.transfer_totals();
        let mut clock = Instant::now();
        let mut lap = |slot: &mut Duration| {
            let now = Instant::now();
            *slot = now - clock;
            clock = now;
        };

        let z_scalars = MsmScalars::new(z);
        let mut copy_z = Duration::ZERO;
        lap(&mut copy_z);
        // Witness map: A·z, B·z, C·z on the domain, then the quotient h.
        let WitnessMap {
            h, constraint_eval, ..
        } = witness_map(&z_scalars)?;
        let mut witness_map_time = Duration::ZERO;
        lap(&mut witness_map_time);
        // The backend's split of its own time; on a device the evaluation is its kernel time.
        times.constraint_eval = constraint_eval.min(witness_map_time);
        times.quotient = witness_map_time - times.constraint_eval;

        self.backend.prepare_scalars(&z_scalars)?;
        lap(&mut times.scalar_prep);
        times.scalar_prep += copy_z;
        // A backend that runs G2 elsewhere (a GPU leaving it to the CPU) gets it started first
        // and joined after the G1 MSMs; otherwise the four MSMs run in turn.
        let (a_acc, b_g1_acc, b_g2_acc, l_acc) = std::thread::scope(|scope| -> Result<_> {
            let g2 = self
                .backend
                .overlaps_g2_msm()
                .then(|| scope.spawn(|| self.backend.msm_g2(&self.b_g2_query, &z_scalars)));
            let a_acc = self.backend.msm_g1(&self.a_query, &z_scalars)?;
            lap(&mut times.msm_a);
            // As in ark_groth16: with r = 0 the B-in-G1 term is multiplied by zero.
            let b_g1_acc = if r.is_zero() {
                G1Projective::zero()
            } else {
                self.backend.msm_g1(&self.b_g1_query, &z_scalars)?
            };
            lap(&mut times.msm_b_g1);
            let mut b_g2_acc = None;
            if g2.is_none() {
                b_g2_acc = Some(self.backend.msm_g2(&self.b_g2_query, &z_scalars)?);
                lap(&mut times.msm_b_g2);
            }
            let l_acc = self.backend.msm_g1(&self.l_query, &z_scalars)?;
            lap(&mut times.msm_l);
            if let Some(handle) = g2 {
                // A panic in the G2 MSM is a bug, not an error: it continues here.
                b_g2_acc = Some(
                    handle
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?,
                );
                lap(&mut times.msm_b_g2);
            }
            let b_g2_acc = b_g2_acc
                .ok_or_else(|| EngineError::KernelOutput("the G2 MSM did not run".into()))?;
            Ok((a_acc, b_g1_acc, b_g2_acc, l_acc))
        })?;
        drop(z_scalars);
        // h has degree at most n − 2: its n − 1 coefficients meet h_query's n − 1 points.
        let h_acc = self.backend.msm_g1(&self.h_query, &h)?;
        lap(&mut times.msm_h);
        times.transfers = copies_before
            .zip(self.backend.transfer_totals())
            .map(|(before, after)| after.since(&before));

        let vk = self.verifier.vk();
        let g_a = self.delta_g1 * r + vk.alpha_g1 + a_acc;
        let g1_b = self.delta_g1 * s + self.beta_g1 + b_g1_acc;
        let g2_b = vk.delta_g2 * s + vk.beta_g2 + b_g2_acc;
        let g_c = g_a * s + g1_b * r - self.delta_g1 * (r * s) + l_acc + h_acc;
        let proof = Proof {
            a: g_a.into_affine(),
            b: g2_b.into_affine(),
            c: g_c.into_affine(),
        };

        if self.self_check {
            let inputs = &z[1..self.num_instance];
            if !self.verifier.verify(inputs, &proof)? {
                return Err(EngineError::SelfCheckFailed(
                    "the key was made for a different circuit of the same shape, or a backend computed a wrong MSM/NTT".into(),
                ));
            }
            lap(&mut times.self_check);
        }
        Ok((proof, times))
    }

    /// Whether `shape` fits the key: variable counts and domain.
    fn check_shape(&self, shape: &R1csShape) -> Result<()> {
        let mismatch = |what: String| Err(EngineError::KeyMismatch(what));
        if shape.num_instance != self.num_instance {
            return mismatch(format!(
                "circuit has {} public inputs, key expects {}",
                shape.num_instance.saturating_sub(1),
                self.num_instance - 1
            ));
        }
        if shape.num_witness != self.num_witness {
            return mismatch(format!(
                "circuit has {} witness variables, key expects {}",
                shape.num_witness, self.num_witness
            ));
        }
        let needed = shape.num_constraints() + shape.num_instance;
        if needed > 1usize << MAX_NTT_LOG {
            return Err(EngineError::DomainTooLarge {
                needed,
                max_log: MAX_NTT_LOG,
            });
        }
        if needed.next_power_of_two() != self.domain_size {
            return mismatch(format!(
                "circuit has {} constraints (domain {}), key was made for domain {}",
                shape.num_constraints(),
                needed.next_power_of_two(),
                self.domain_size
            ));
        }
        Ok(())
    }

    /// Whether `z` is a full assignment of `shape`, starting with the constant one.
    fn check_assignment(&self, shape: &R1csShape, z: &[Fr]) -> Result<()> {
        if z.len() != shape.num_variables() {
            return Err(EngineError::KeyMismatch(format!(
                "assignment has {} values for {} variables",
                z.len(),
                shape.num_variables()
            )));
        }
        if z.first() != Some(&Fr::from(1u64)) {
            return Err(EngineError::KeyMismatch(
                "assignment must start with the constant one".into(),
            ));
        }
        Ok(())
    }
}
