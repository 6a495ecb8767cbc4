//! How many request slots (or audited keys) fill a QAP domain.
//!
//! A Groth16 proof's cost is set by its QAP domain — the next power of two above the
//! constraints plus the instance variables — more than by the constraints themselves: the
//! seven NTTs and the H-query MSM run over the whole domain. A batch of 16 ledger requests
//! (132,989 constraints) needs a domain of 2^18 and pays for 262,144 points; 15 requests fit
//! 2^17 and pay for half as many. So the service sizes its circuits to fill a chosen domain.

use ark_bls12_381::Fr;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem, SynthesisMode};

use super::{audit::ChunkCircuit, batch::BatchCircuit, storage_gadget::App};

/// Why a size cannot be found.
#[derive(Debug, thiserror::Error)]
pub enum CircuitSizeError {
    /// Not even one slot fits the domain.
    #[error("a {what} of one slot needs {needed} domain points, more than 2^{log_domain}")]
    TooSmall {
        /// What was sized.
        what: &'static str,
        /// Points one slot needs.
        needed: usize,
        /// The domain asked for.
        log_domain: u32,
    },
    /// The circuit could not be built or synthesised.
    #[error("sizing the {what}: {reason}")]
    Circuit {
        /// What was sized.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

/// The QAP domain points a circuit needs: its constraints plus its instance variables (the
/// constant one and the public inputs), as the R1CS-to-QAP reduction lays them out.
fn points<C: ConstraintSynthesizer<Fr>>(
    what: &'static str,
    circuit: C,
) -> Result<usize, CircuitSizeError> {
    // arkworks' gadgets record their arguments in INFO spans; counting needs no tracing.
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::new(), || {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_mode(SynthesisMode::Setup);
        circuit
            .generate_constraints(cs.clone())
            .map_err(|e| CircuitSizeError::Circuit {
                what,
                reason: e.to_string(),
            })?;
        Ok(cs.num_constraints() + cs.num_instance_variables())
    })
}

/// The largest n ≥ 1 with `points(n) ≤ 2^log_domain`, for a size function that grows about
/// linearly: estimated from n = 1 and 2, then corrected by synthesising.
fn largest_fitting(
    what: &'static str,
    log_domain: u32,
    points_of: impl Fn(usize) -> Result<usize, CircuitSizeError>,
) -> Result<usize, CircuitSizeError> {
    let limit = 1usize << log_domain;
    let one = points_of(1)?;
    if one > limit {
        return Err(CircuitSizeError::TooSmall {
            what,
            needed: one,
            log_domain,
        });
    }
    let per = points_of(2)?.saturating_sub(one).max(1);
    let mut n = 1 + (limit - one) / per;
    // Slots after the first may cost a little less than the estimate (a padded commitment
    // tree has fewer hashed nodes than slots), never more: walk up, then down, to the edge.
    while points_of(n + 1)? <= limit {
        n += 1;
    }
    while n > 1 && points_of(n)? > limit {
        n -= 1;
    }
    Ok(n)
}

/// The most request slots of `app` whose batch circuit fits a domain of 2^log_domain.
pub fn batch_capacity_for_domain<A: App>(
    app: &A,
    log_domain: u32,
) -> Result<usize, CircuitSizeError> {
    const WHAT: &str = "batch circuit";
    largest_fitting(WHAT, log_domain, |capacity| {
        let circuit =
            BatchCircuit::blank(app.clone(), capacity).map_err(|e| CircuitSizeError::Circuit {
                what: WHAT,
                reason: e.to_string(),
            })?;
        points(WHAT, circuit)
    })
}

/// The most keys an audit chunk circuit holds within a domain of 2^log_domain.
pub fn keys_per_chunk_for_domain(log_domain: u32) -> Result<usize, CircuitSizeError> {
    const WHAT: &str = "audit chunk circuit";
    largest_fitting(WHAT, log_domain, |keys| {
        let circuit = ChunkCircuit::blank(keys).map_err(|e| CircuitSizeError::Circuit {
            what: WHAT,
            reason: e.to_string(),
        })?;
        points(WHAT, circuit)
    })
}
