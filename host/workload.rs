//! Seeded workload generators: the requests a demo or a benchmark feeds to a service.
//!
//! A workload is a set of **streams**. One worker executes a stream's requests one after
//! another, in order; different streams run concurrently. A client whose requests depend on
//! each other (an account's signed requests with increasing nonces, an order and its
//! cancel) keeps them in one stream, the way a real client waits for one response before it
//! sends the next request. Requests of different streams still meet on shared keys (hot
//! accounts, the order book), which is where the store's locks are exercised.

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
