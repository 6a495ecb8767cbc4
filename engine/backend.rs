//! The `Backend` trait: the two heavy kernels of a Groth16 prover (MSM over G1/G2, NTT over Fr)
//! behind one object-safe interface, so the prover runs unchanged on the CPU or a GPU.

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use ark_bls12_381::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ff::{FftField, Field, One};

use super::error::{EngineError, Result};
use super::scalars::MsmScalars;
use super::shape::R1csShape;
use super::transfer_times::TransferTimes;
use super::witness_map::{evaluate_then_quotient, LoadedShape, WitnessMap};

/// Largest NTT the engine supports (Fr has two-adicity 32; 2^28 elements is 8 GiB).
pub const MAX_NTT_LOG: u32 = 28;

/// Which transform [`Backend::ntt`] computes, over the multiplicative subgroup of size `n`
/// (generator ω = arkworks' radix-2 root) or its coset `g·⟨ω⟩` with `g = Fr::GENERATOR`
/// (the coset arkworks' Groth16 prover uses, so our quotient equals theirs bit for bit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NttDirection {
    /// Coefficients → evaluations on ⟨ω⟩ (natural order in and out).
    Forward,
    /// Evaluations on ⟨ω⟩ → coefficients.
    Inverse,
    /// Coefficients → evaluations on the coset g·⟨ω⟩.
    CosetForward,
    /// Evaluations on the coset g·⟨ω⟩ → coefficients.
    CosetInverse,
}

/// The order of a vector indexed by the points of a domain of size `n = 2^k`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum EvaluationOrder {
    /// Element `i` belongs to point `ωⁱ`.
    #[default]
    Natural,
    /// Element `i` belongs to point `ω^rev_k(i)` (the k-bit reversal of i): the order a
    /// decimation-in-time transform reads without permuting.
    BitReversed,
}

impl EvaluationOrder {
    /// Position of point `i` (natural index) in a vector of `n` elements in this order.
    pub fn position(self, i: usize, n: usize) -> usize {
        match self {
            Self::Natural => i,
            Self::BitReversed if n <= 1 => i,
            Self::BitReversed => i.reverse_bits() >> (usize::BITS - n.trailing_zeros()),
        }
    }
}

/// Bases of one group loaded into a backend once, to be used by many MSMs (a proving key is
/// uploaded once, then proves many times). Cheap to clone; the backend owns the storage.
pub struct Bases<G> {
    storage: BackendStorage,
    len: usize,
    _group: PhantomData<fn() -> G>,
}

impl<G> Clone for Bases<G> {
    fn clone(&self) -> Self {
        Self {
            storage: self.storage.clone(),
            len: self.len,
            _group: PhantomData,
        }
    }
}

impl<G> fmt::Debug for Bases<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Bases<{}>({} points on {})",
            std::any::type_name::<G>(),
            self.len,
            self.storage.backend
        )
    }
}

impl<G: 'static> Bases<G> {
    /// Wraps backend-owned storage. Only backends call this.
    pub fn new(backend: &'static str, len: usize, storage: Arc<dyn Any + Send + Sync>) -> Self {
        Self {
            storage: BackendStorage::new(backend, storage),
            len,
            _group: PhantomData,
        }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no points.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The backend's storage, if this handle was loaded by backend `name` with storage type `T`.
    pub fn storage<T: Any + Send + Sync>(&self, name: &'static str) -> Result<&T> {
        self.storage.get("bases", std::any::type_name::<G>(), name)
    }
}

/// Data a backend keeps resident for a handle it gave out ([`Bases`], a
/// [`LoadedShape`]): the storage and the name of the backend
/// that made it, so that a handle used with another backend is an error, not a wrong cast.
#[derive(Clone)]
pub struct BackendStorage {
    inner: Arc<dyn Any + Send + Sync>,
    backend: &'static str,
}

impl BackendStorage {
    /// Wraps storage made by backend `backend`.
    pub fn new(backend: &'static str, inner: Arc<dyn Any + Send + Sync>) -> Self {
        Self { inner, backend }
    }

    /// The backend that made it.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// The storage as a `T`, if backend `used_with` made it with that type; otherwise
    /// [`EngineError::ForeignHandle`] naming the `handle` kind and what it holds (`group`).
    pub fn get<T: Any + Send + Sync>(
        &self,
        handle: &'static str,
        group: &'static str,
        used_with: &'static str,
    ) -> Result<&T> {
        let foreign = || EngineError::ForeignHandle {
            handle,
            loaded_by: self.backend,
            group,
            used_with,
            expected: std::any::type_name::<T>(),
        };
        if self.backend != used_with {
            return Err(foreign());
        }
        self.inner.downcast_ref::<T>().ok_or_else(foreign)
    }
}

/// A proving backend. Implementations must give results identical to the CPU backend:
/// group elements are canonical, so MSM outputs compare exactly, and NTTs are exact.
pub trait Backend: Send + Sync + fmt::Debug {
    /// Short name for logs and reports (`"cpu"`, `"cuda"`).
    fn name(&self) -> &'static str;

    /// Makes G1 bases resident (for a GPU: uploads them once).
    fn load_g1(&self, bases: Vec<G1Affine>) -> Result<Bases<G1Affine>>;
    /// Makes G2 bases resident.
    fn load_g2(&self, bases: Vec<G2Affine>) -> Result<Bases<G2Affine>>;

    /// Σ sᵢ·Pᵢ over G1. `scalars.len()` must equal `bases.len()`.
    fn msm_g1(&self, bases: &Bases<G1Affine>, scalars: &MsmScalars) -> Result<G1Projective>;
    /// Σ sᵢ·Qᵢ over G2. `scalars.len()` must equal `bases.len()`.
    fn msm_g2(&self, bases: &Bases<G2Affine>, scalars: &MsmScalars) -> Result<G2Projective>;

    /// Whether the prover should run the G2 MSM concurrently with the G1 MSMs, because this
    /// backend runs them on different hardware (a GPU backend that leaves G2 to the CPU).
    /// Default: no, every MSM in turn.
    fn overlaps_g2_msm(&self) -> bool {
        false
    }

    /// Precomputes whatever the backend needs for `scalars` before several MSMs share them
    /// (the CPU's bucket schedule, a GPU's upload). Optional: MSMs prepare on demand.
    fn prepare_scalars(&self, _scalars: &MsmScalars) -> Result<()> {
        Ok(())
    }

    /// Running totals of this backend's host↔device copies since it was created, timed on
    /// the device; `None` for a backend without device memory (the CPU). A copy is counted
    /// once the operation that queued it has returned. The difference of two readings
    /// ([`TransferTimes::since`]) is the copies in between, from every thread using the
    /// backend. Default: `None`.
    fn transfer_totals(&self) -> Option<TransferTimes> {
        None
    }

    /// How many independent proofs callers should keep in flight on this backend at once
    /// (from as many threads): more than one where the hardware would otherwise sit idle
    /// during one proof's narrower steps and copies (a GPU backend's lanes). The service
    /// proves this many batches concurrently, still logging them in order. Results never
    /// depend on it. Default: 1, every proof in turn (the CPU's MSMs already use every core).
    fn proof_lanes(&self) -> usize {
        1
    }

    /// Loads a circuit's shape for [`Backend::witness_map`], once for many proofs (for a GPU:
    /// uploads its matrices). Default: keeps the host shape, which the default witness map
    /// evaluates on the CPU.
    fn load_shape(&self, shape: Arc<R1csShape>) -> Result<LoadedShape> {
        Ok(LoadedShape::on_host(self.name(), shape))
    }

    /// Groth16's witness map over a loaded shape: evaluates A·z, B·z and C·z on the domain of
    /// `domain_size` points, checks every constraint, and returns the quotient h (see
    /// [`Backend::quotient`]) without its top coefficient, which is zero: the scalars of the
    /// H-query MSM ([`WitnessMap::h`]).
    /// [`EngineError::Unsatisfied`] names the first constraint `z` does not satisfy, as the CPU
    /// evaluator does; an assignment or a domain that does not fit the shape is
    /// [`EngineError::KeyMismatch`]. `z` comes as the scalars of the MSMs that follow, so a
    /// backend may prepare them on the way (a GPU builds their schedule from the copy of z it
    /// uploaded for the rows; [`Backend::prepare_scalars`] then finds it built). Default:
    /// [`evaluate_then_quotient`] over the host shape, so a backend that keeps nothing resident
    /// accepts a shape loaded by any backend.
    fn witness_map(
        &self,
        shape: &LoadedShape,
        z: &MsmScalars,
        domain_size: usize,
    ) -> Result<WitnessMap> {
        evaluate_then_quotient(self, shape.shape(), z.values(), domain_size)
    }

    /// In-place NTT of `data` (length a power of two, at most 2^[`MAX_NTT_LOG`]).
    fn ntt(&self, data: &mut [Fr], direction: NttDirection) -> Result<()>;

    /// The order in which [`Backend::quotient`] takes its evaluations. Default: natural, the
    /// order the prover computes them in. A backend whose chain of transforms would otherwise
    /// need a permutation pass may ask for bit-reversed order instead; the prover then pays for
    /// the permutation on the host (a tiled copy, see [`crate::engine::evaluate_constraints`]).
    /// Both built-in backends take natural order: the CUDA backend folds the permutation into
    /// the first pass of its first transform.
    fn quotient_input_order(&self) -> EvaluationOrder {
        EvaluationOrder::Natural
    }

    /// The QAP quotient of Groth16's witness map: given the evaluations of A·z, B·z and C·z on
    /// the domain ⟨ω⟩ of size n, in [`Backend::quotient_input_order`], returns the n
    /// coefficients (natural order) of h = (A·B − C) / Z, where Z = Xⁿ − 1. A backend may
    /// override it to keep the three vectors resident on a device between steps; the default
    /// runs seven NTTs through [`Backend::ntt`] on natural-order input.
    fn quotient(&self, mut a: Vec<Fr>, mut b: Vec<Fr>, mut c: Vec<Fr>) -> Result<Vec<Fr>> {
        use rayon::prelude::*;
        let n = a.len();
        if b.len() != n || c.len() != n {
            return Err(EngineError::MsmLength {
                bases: n,
                scalars: b.len().min(c.len()),
            });
        }
        for v in [&mut a, &mut b, &mut c] {
            self.ntt(v, NttDirection::Inverse)?;
            self.ntt(v, NttDirection::CosetForward)?;
        }
        // On the coset Z is the constant gⁿ − 1, nonzero because g is not an n-th root of unity.
        let z_inv = (Fr::GENERATOR.pow([n as u64]) - Fr::one())
            .inverse()
            .ok_or(EngineError::BadNttSize {
                size: n,
                max_log: MAX_NTT_LOG,
            })?;
        a.par_iter_mut()
            .zip(b.par_iter())
            .zip(c.par_iter())
            .for_each(|((a, b), c)| {
                *a = (*a * b - c) * z_inv;
            });
        drop((b, c));
        self.ntt(&mut a, NttDirection::CosetInverse)?;
        Ok(a)
    }
}

/// Checks an NTT length: a power of two in `1..=2^MAX_NTT_LOG`.
pub fn check_ntt_size(n: usize) -> Result<u32> {
    if n == 0 || !n.is_power_of_two() || n > (1usize << MAX_NTT_LOG) {
        return Err(EngineError::BadNttSize {
            size: n,
            max_log: MAX_NTT_LOG,
        });
    }
    Ok(n.trailing_zeros())
}

/// Which backend to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// CUDA when compiled in and a device is present, else the CPU (with a log line saying why).
    #[default]
    Auto,
    /// The CPU backend.
    Cpu,
    /// The CUDA backend; an error if it is unavailable.
    Cuda,
}

impl std::str::FromStr for BackendChoice {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda),
            other => Err(EngineError::BackendUnavailable {
                name: other.to_string(),
                reason: "unknown backend (expected auto, cpu or cuda)".into(),
            }),
        }
    }
}

/// The CUDA backend, or why it cannot be used in this process.
fn cuda_backend() -> Result<Arc<dyn Backend>> {
    #[cfg(feature = "cuda")]
    {
        super::cuda::CudaBackend::new().map(|b| Arc::new(b) as Arc<dyn Backend>)
    }
    #[cfg(not(feature = "cuda"))]
    {
        Err(EngineError::BackendUnavailable {
            name: "cuda".into(),
            reason: "spice was built without the `cuda` feature".into(),
        })
    }
}

/// Returns the backend for `choice`. `Auto` never fails: it falls back to the CPU and logs why.
/// `Cuda` fails with [`EngineError::BackendUnavailable`] naming the reason (not compiled in,
/// no driver, no device, kernels not loadable).
pub fn select(choice: BackendChoice) -> Result<Arc<dyn Backend>> {
    match choice {
        BackendChoice::Cpu => Ok(Arc::new(super::cpu::CpuBackend::new())),
        BackendChoice::Cuda => cuda_backend(),
        BackendChoice::Auto => Ok(auto()),
    }
}

/// CUDA when compiled in and a GPU is present, otherwise the CPU backend, with an `info`
/// log line that says why the GPU is not used. The CPU emulation of the CUDA driver
/// (tests/cuda_emulator/) is not a GPU: `auto` passes it by; only `Cuda` selects it.
pub fn auto() -> Arc<dyn Backend> {
    #[cfg(feature = "cuda")]
    let gpu = super::cuda::CudaBackend::new()
        .and_then(super::cuda::CudaBackend::not_emulated)
        .map(|b| Arc::new(b) as Arc<dyn Backend>);
    #[cfg(not(feature = "cuda"))]
    let gpu = cuda_backend();
    match gpu {
        Ok(b) => b,
        Err(e) => {
            tracing::info!("using the CPU backend: {e}");
            Arc::new(super::cpu::CpuBackend::new())
        }
    }
}

impl dyn Backend {
    /// Same as [`auto`]: `<dyn Backend>::auto()`.
    pub fn auto() -> Arc<dyn Backend> {
        auto()
    }
}
