//! Seeded workload generators: the requests a demo or a benchmark feeds to a service.
//!
//! A workload is a set of **streams**. One worker executes a stream's requests one after
//! another, in order; different streams run concurrently. A client whose requests depend on
//! each other (an account's signed requests with increasing nonces, an order and its
//! cancel) keeps them in one stream, the way a real client waits for one response before it
//! sends the next request. Requests of different streams still meet on shared keys (hot
//! accounts, the order book), which is where the store's locks are exercised.

use std::collections::HashMap;

use ark_bls12_381::Fr;
use ark_ff::Zero;
use ark_std::rand::Rng;

use super::storage_gadget::App;

/// The requests of one stream, executed in order by one worker.
pub type Stream<A> = Vec<<A as App>::Request>;

/// A seeded generator of requests for one application.
///
/// The same seed gives the same requests (so a demo or benchmark run can be repeated). The
/// mix includes requests the application rejects (overdrafts, bad signatures, replays, …):
/// the service must prove those too, with a committed error response.
pub trait Workload: Send {
    /// The application the requests are for.
    type App: App;

    /// The application instance (its parameters, e.g. the issuer's public key).
    fn app(&self) -> Self::App;

    /// Requests that bring an empty state to a usable start (open accounts, fund them), as
    /// streams. The service executes and proves them like any other requests, before the
    /// first [`Workload::streams`].
    fn setup(&mut self) -> Vec<Stream<Self::App>>;

    /// About `requests` requests of the application's mix, split into at most `streams`
    /// streams (fewer when the workload has fewer independent clients).
    fn streams(&mut self, requests: usize, streams: usize) -> Vec<Stream<Self::App>>;

    /// Picks up from `state`, the store of a service that was resumed after a crash (every
    /// written key's value; see [`ResyncState`]), and returns the requests of the setup that
    /// `state` lacks, as streams to execute before the next [`Workload::streams`].
    ///
    /// Call it on a generator made from the same parameters and seed as the one that fed
    /// the crashed run, once its [`Workload::setup`] has been called (that call only builds
    /// the generator's model; the service holds the setup already, or part of it). The
    /// generator's model of its clients — nonces, balances, resting orders — is then read
    /// from the records instead, so its next requests are what its mix intends (the ones
    /// it expects to be accepted are), not replays of nonces the crashed run consumed.
    ///
    /// A crash can cut the setup short: the log holds a prefix of its batches, so each
    /// setup stream is in the state up to some request. The rest of each is returned, in
    /// order, with the nonces the state expects; nothing that is in the state is repeated.
    fn resync(&mut self, state: &ResyncState) -> Result<Vec<Stream<Self::App>>, ResyncError>;
}

/// The state a workload resyncs from: every written key's current value (a key never
/// written reads 0, as in the store).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResyncState(HashMap<Fr, Fr>);

impl ResyncState {
    /// The state of `(key, value)` pairs.
    pub fn new(values: impl IntoIterator<Item = (Fr, Fr)>) -> Self {
        Self(values.into_iter().collect())
    }

    /// The value of `key` (0 if it was never written).
    pub fn get(&self, key: &Fr) -> Fr {
        self.0.get(key).copied().unwrap_or_else(Fr::zero)
    }

    /// Whether `key` was written.
    pub fn contains(&self, key: &Fr) -> bool {
        self.0.contains_key(key)
    }

    /// Every written key's value.
    pub fn values(&self) -> &HashMap<Fr, Fr> {
        &self.0
    }
}

/// Why a workload cannot pick up from a state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResyncError {
    /// A record of the workload's clients holds a value that is not a record of the app.
    #[error("the state's {what} is not a record this app writes")]
    BadRecord {
        /// Which record ("the account of client 3", …).
        what: String,
    },
    /// The state holds something this workload's setup and traffic cannot have made: the
    /// service ran another workload (another seed, other clients), or the state is damaged.
    #[error("the state is not one this workload made: {what}")]
    NotThisWorkload {
        /// What gives it away.
        what: String,
    },
}

/// A seeded sampler of ranks `0 … n − 1` with `P(k) ∝ 1/(k + 1)^s`.
#[derive(Clone, Debug)]
pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    /// The law over `n` ranks with exponent `s` (s = 0: uniform).
    pub fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (0..n)
            .map(|k| {
                total += 1.0 / ((k + 1) as f64).powf(s);
                total
            })
            .collect();
        Self { cumulative }
    }

    /// One rank (0 for an empty law).
    pub fn sample<R: Rng>(&self, rng: &mut R) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let u = rng.gen::<f64>() * total;
        self.cumulative
            .partition_point(|&c| c <= u)
            .min(self.cumulative.len().saturating_sub(1))
    }
}
