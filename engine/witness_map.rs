//! Groth16's witness map as one backend operation: from a circuit's shape and an assignment
//! z to the coefficients of the QAP quotient h, with the check that z satisfies every
//! constraint on the way.
//!
//! A fixed-shape circuit (every proof of a Spice batch, an audit chunk, a benchmark circuit)
//! has the same matrices for every proof, so they are loaded into the backend once
//! ([`Backend::load_shape`], usually through [`Prover::load_shape`](super::Prover::load_shape))
//! and each proof brings only z. On the CPU backend loading keeps the host shape and the map
//! is [`evaluate_constraints`] then [`Backend::quotient`]. The CUDA backend uploads the
//! matrices in the kernel's layout ([`gpu_witness`](super::gpu_witness)) and evaluates the
//! rows on the device, straight into the buffers its quotient chain starts from: a proof
//! uploads z instead of three domain-sized vectors and leaves the host's cores to synthesis,
//! and the schedules of the MSMs over z and h are built from the device's own copies.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ark_bls12_381::Fr;

use super::backend::{Backend, BackendStorage};
use super::constraint_eval::{evaluate_constraints, ConstraintEvaluations};
use super::error::{EngineError, Result};
use super::scalars::MsmScalars;
use super::shape::R1csShape;

/// A circuit's shape loaded into a backend ([`Backend::load_shape`]). Cheap to clone; the
/// backend owns whatever it keeps resident. The host shape is always kept, for the checks
/// and errors that name constraints.
#[derive(Clone)]
pub struct LoadedShape {
    shape: Arc<R1csShape>,
    backend: &'static str,
    resident: Option<BackendStorage>,
}

impl fmt::Debug for LoadedShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LoadedShape({} constraints, {} variables on {}{})",
            self.shape.num_constraints(),
            self.shape.num_variables(),
            self.backend,
            if self.resident.is_some() {
                ", resident"
            } else {
                ""
            }
        )
    }
}

impl LoadedShape {
    /// A shape whose backend needs nothing but the host shape (the default of
    /// [`Backend::load_shape`]).
    pub fn on_host(backend: &'static str, shape: Arc<R1csShape>) -> Self {
        Self {
            shape,
            backend,
            resident: None,
        }
    }

    /// A shape with backend-owned resident storage. Only backends call this.
    pub fn resident(
        backend: &'static str,
        shape: Arc<R1csShape>,
        storage: Arc<dyn Any + Send + Sync>,
    ) -> Self {
        Self {
            shape,
            backend,
            resident: Some(BackendStorage::new(backend, storage)),
        }
    }

    /// The host shape.
    pub fn shape(&self) -> &R1csShape {
        &self.shape
    }

    /// The backend that loaded it.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// The backend's resident storage, if backend `name` loaded it with storage type `T`;
    /// [`EngineError::ForeignHandle`] otherwise (another
    /// backend's shape, or one loaded without resident storage).
    pub fn storage<T: Any + Send + Sync>(&self, name: &'static str) -> Result<&T> {
        match &self.resident {
            Some(storage) => storage.get("shape", "an R1CS shape", name),
            None => Err(EngineError::ForeignHandle {
                handle: "shape",
                loaded_by: self.backend,
                group: "an R1CS shape kept on the host",
                used_with: name,
                expected: std::any::type_name::<T>(),
            }),
        }
    }
}

/// What [`Backend::witness_map`] returns: h, and where its time went.
#[derive(Debug)]
pub struct WitnessMap {
    /// The coefficients of h = (A·B − C) / Z below the top one (n − 1 of them, natural order;
    /// h has degree at most n − 2 when z satisfies the constraints), as the scalars of the
    /// H-query MSM. A GPU backend may keep them resident for that MSM.
    pub h: MsmScalars,
    /// Evaluating A·z, B·z, C·z and checking the constraints (on a device: the kernel's
    /// device time).
    pub constraint_eval: Duration,
    /// The rest: the quotient's transforms and pointwise step, and every copy.
    pub quotient: Duration,
}

/// The witness map on the host: [`evaluate_constraints`] in the backend's
/// [`Backend::quotient_input_order`], then [`Backend::quotient`]. The default of
/// [`Backend::witness_map`], and the path of a shape that was never loaded.
pub fn evaluate_then_quotient<B: Backend + ?Sized>(
    backend: &B,
    shape: &R1csShape,
    z: &[Fr],
    domain_size: usize,
) -> Result<WitnessMap> {
    let start = Instant::now();
    let ConstraintEvaluations { a, b, c } =
        evaluate_constraints(shape, z, domain_size, backend.quotient_input_order())?;
    let constraint_eval = start.elapsed();
    let mut h = backend.quotient(a, b, c)?;
    h.truncate(domain_size.saturating_sub(1));
    Ok(WitnessMap {
        h: MsmScalars::from_values(h),
        constraint_eval,
        quotient: start.elapsed() - constraint_eval,
    })
}
