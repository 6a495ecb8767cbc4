//! A seeded dark-pool workload: traders in several markets placing, cancelling and querying
//! limit orders around a mid price, with a few per cent of invalid requests mixed in.
//!
//! # Streams and exact hints
//!
//! A request's hints depend on the book at the moment it executes ([`super::planner`]).
//! Every market's requests — and every request of its traders, who trade in that market only
//! — go into one stream, and streams share no key: the service executes a stream in order,
//! so the book a request meets is exactly the one the generator's own replica of the state
//! had when it planned the request. The generator keeps that replica by running the app's
//! native logic ([`apply`]) on every request it emits; its hints are then never stale, and
//! the requests it expects to be rejected are exactly those that are. Markets run
//! concurrently; a market's book is a serial resource anyway (every order of it reads the
//! same head).
//!
//! # The mix
//!
//! Markets are chosen uniformly (so streams stay balanced); within a market the trader is
//! drawn from a Zipf-like law (exponent [`TRADER_SKEW`]): a few traders send most requests
//! and their account records are the hot keys, besides the book heads, which every order
//! of a market reads. Prices are drawn around a mid price, bids a little below, asks a
//! little above, with an overlap of nine ticks, so that orders regularly cross. Of the requests:
//! places 62 %, cancels of one's own resting order 20 %, status queries 12 %, and invalid
//! requests 6 %: a bad signature, a verbatim replay of an earlier request, a cancel of
//! another trader's order, an order of quantity 0 (1.5 % each).

use std::collections::HashMap;

use ark_bls12_381::Fr;
use ark_ff::{One, Zero};
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};

use super::{
    records::{account_key, node_key, Account, Node, OrderId, Side},
    report::Report,
    request::{DarkPoolRequest, Instruction, Order, SignedInstruction},
    DarkPoolApp,
};
use crate::host::{
    eddsa::SecretKey,
    storage_gadget::{apply, App},
    workload::{ResyncError, ResyncState, Stream, Workload, Zipf},
};

/// Exponent of the Zipf-like law over a market's traders.
pub const TRADER_SKEW: f64 = 1.1;
/// The mid price of every market.
pub const MID_PRICE: u32 = 1_000;
/// Largest quantity of a generated order.
pub const MAX_QUANTITY: u64 = 50;
/// Resting orders each side of each market gets in [`Workload::setup`].
pub const SEED_ORDERS_PER_SIDE: usize = 3;

/// Parameters a workload cannot run with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WorkloadError {
    /// No market.
    #[error("a workload needs at least one market")]
    NoMarket,
    /// Fewer than two traders in some market (a foreign cancel needs a victim).
    #[error("{traders} traders for {markets} markets: each market needs at least two")]
    TooFewTraders {
        /// Traders asked for.
        traders: usize,
        /// Markets asked for.
        markets: u16,
    },
    /// More traders than account numbers.
    #[error("{traders} traders exceed the 2^32 − 1 account numbers")]
    TooManyTraders {
        /// Traders asked for.
        traders: usize,
    },
}

/// One trader: its key, account, market, next nonce and the orders it placed that may still
/// rest.
#[derive(Clone, Debug)]
struct Trader {
    key: SecretKey,
    account: u32,
    market: u16,
    next_nonce: u32,
    orders: Vec<(Side, u32)>,
}

/// What the generator emits next for a trader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Move {
    Place,
    Cancel,
    Status,
    BadSignature,
    Replay,
    ForeignCancel,
    EmptyOrder,
}

/// The seeded dark-pool workload (see the module docs).
#[derive(Debug)]
pub struct DarkPoolWorkload<const F: usize = 2> {
    rng: StdRng,
    markets: u16,
    traders: Vec<Trader>,
    /// Indices into `traders`, per market.
    by_market: Vec<Vec<usize>>,
    /// The generator's replica of the state (key → value; absent keys read 0).
    state: HashMap<Fr, Fr>,
    /// Requests emitted per market (replays are drawn from them).
    history: Vec<Vec<DarkPoolRequest<F>>>,
    /// Requests emitted, and how many the app rejects.
    emitted: usize,
    rejected: usize,
}

impl<const F: usize> DarkPoolWorkload<F> {
    /// `traders` traders (account numbers 1 …) spread round-robin over `markets` markets,
    /// with keys and choices drawn from `seed`.
    pub fn new(seed: u64, traders: usize, markets: u16) -> Result<Self, WorkloadError> {
        if markets == 0 {
            return Err(WorkloadError::NoMarket);
        }
        if traders < 2 * usize::from(markets) {
            return Err(WorkloadError::TooFewTraders { traders, markets });
        }
        if traders >= u32::MAX as usize {
            return Err(WorkloadError::TooManyTraders { traders });
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let mut by_market = vec![Vec::new(); usize::from(markets)];
        let traders = (0..traders)
            .map(|i| {
                let market = (i % usize::from(markets)) as u16;
                by_market[usize::from(market)].push(i);
                Trader {
                    key: SecretKey::generate(&mut rng),
                    account: i as u32 + 1,
                    market,
                    next_nonce: 0,
                    orders: Vec::new(),
                }
            })
            .collect();
        Ok(Self {
            rng,
            markets,
            traders,
            by_market,
            state: HashMap::new(),
            history: vec![Vec::new(); usize::from(markets)],
            emitted: 0,
            rejected: 0,
        })
    }

    /// The generator's replica of the state after everything emitted so far.
    pub fn expected_state(&self) -> &HashMap<Fr, Fr> {
        &self.state
    }

    /// `(emitted, rejected)`: requests emitted so far, and how many of them the app rejects.
    pub fn counts(&self) -> (usize, usize) {
        (self.emitted, self.rejected)
    }

    fn value(&self, key: &Fr) -> Fr {
        self.state.get(key).copied().unwrap_or_else(Fr::zero)
    }

    /// Plans `instruction` on the replica, runs it there, and records it.
    fn emit(&mut self, market: u16, instruction: SignedInstruction) -> DarkPoolRequest<F> {
        let app = DarkPoolApp::<F>::new();
        let state = &self.state;
        let read = |key: &Fr| state.get(key).copied().unwrap_or_else(Fr::zero);
        // The replica holds only what this app wrote, so its book is well formed.
        let request = app
            .plan(instruction, &read)
            .expect("the generator's replica of the book is well formed");
        self.run(market, request)
    }

    /// Runs `request` on the replica, updates the traders' view, and records it.
    fn run(&mut self, market: u16, request: DarkPoolRequest<F>) -> DarkPoolRequest<F> {
        let app = DarkPoolApp::<F>::new();
        let keys = app.keys(&request);
        let old: Vec<Fr> = keys
            .iter()
            .map(|slot| {
                if slot.active {
                    self.value(&slot.key)
                } else {
                    Fr::zero()
                }
            })
            .collect();
        // Planned hints name distinct keys, so the app's contract holds.
        let applied = apply(&app, &request, app.authorized(&request), &old)
            .expect("planned requests name distinct keys");
        for (slot, value) in applied.keys.iter().zip(&applied.new_values) {
            if slot.active {
                self.state.insert(slot.key, *value);
            }
        }
        self.emitted += 1;
        if applied.rejection.is_some() {
            self.rejected += 1;
        }
        if let (Some(signed), Ok(Some(report))) = (
            request.instruction(),
            Report::decode(&request, &applied.response),
        ) {
            self.observe(signed, &report);
        }
        self.history[usize::from(market)].push(request.clone());
        request
    }

    /// Updates the signer's nonce and open orders after an accepted request.
    fn observe(&mut self, signed: &SignedInstruction, report: &Report) {
        let Some(trader) = self
            .traders
            .iter_mut()
            .find(|t| t.account == signed.account && t.key.public_key() == signed.owner)
        else {
            return;
        };
        trader.next_nonce = signed.nonce.saturating_add(1);
        match (signed.instruction, report) {
            (Instruction::Place(order), Report::Placed { rested, .. }) if *rested > 0 => {
                trader.orders.push((order.side, signed.nonce));
            }
            (Instruction::Cancel { side, order }, Report::Cancelled { .. }) => {
                trader.orders.retain(|&o| o != (side, order));
            }
            _ => {}
        }
    }

    /// Forgets the trader's orders that no longer rest (filled by others).
    fn prune(&mut self, trader: usize) {
        let t = &self.traders[trader];
        let (market, account) = (u64::from(t.market), t.account);
        let resting: Vec<(Side, u32)> = t
            .orders
            .iter()
            .copied()
            .filter(|&(side, nonce)| {
                let id = OrderId { account, nonce }.to_u64();
                let value = self.value(&node_key(market, side.is_sell(), id));
                Node::unpack(value).is_some_and(|node| node.quantity > 0)
            })
            .collect();
        self.traders[trader].orders = resting;
    }

    fn sign(&mut self, trader: usize, instruction: Instruction) -> SignedInstruction {
        let t = &self.traders[trader];
        SignedInstruction::sign(&t.key, t.account, t.market, t.next_nonce, instruction)
    }

    fn random_order(&mut self) -> Order {
        let side = if self.rng.gen_bool(0.5) {
            Side::Buy
        } else {
            Side::Sell
        };
        // Bids in [mid − 8, mid + 4], asks in [mid − 4, mid + 8]: they overlap by 9 ticks.
        let offset: i64 = match side {
            Side::Buy => self.rng.gen_range(-8..=4),
            Side::Sell => self.rng.gen_range(-4..=8),
        };
        Order {
            side,
            price: (i64::from(MID_PRICE) + offset) as u32,
            quantity: self.rng.gen_range(1..=MAX_QUANTITY),
        }
    }

    fn draw_move(&mut self) -> Move {
        let x = self.rng.gen_range(0..1000);
        match x {
            0..=619 => Move::Place,
            620..=819 => Move::Cancel,
            820..=939 => Move::Status,
            940..=954 => Move::BadSignature,
            955..=969 => Move::Replay,
            970..=984 => Move::ForeignCancel,
            _ => Move::EmptyOrder,
        }
    }

    /// One request of the mix in `market`.
    fn next_request(&mut self, market: u16, zipf: &Zipf) -> DarkPoolRequest<F> {
        let members = self.by_market[usize::from(market)].clone();
        let trader = members[zipf.sample(&mut self.rng).min(members.len() - 1)];
        self.prune(trader);
        let mut chosen = self.draw_move();
        if matches!(chosen, Move::Cancel | Move::Status) && self.traders[trader].orders.is_empty() {
            chosen = Move::Place;
        }
        if chosen == Move::Replay && self.history[usize::from(market)].is_empty() {
            chosen = Move::Place;
        }
        match chosen {
            Move::Place => {
                let order = self.random_order();
                let signed = self.sign(trader, Instruction::Place(order));
                self.emit(market, signed)
            }
            Move::EmptyOrder => {
                let mut order = self.random_order();
                order.quantity = 0;
                let signed = self.sign(trader, Instruction::Place(order));
                self.emit(market, signed)
            }
            Move::Cancel | Move::Status => {
                let orders = &self.traders[trader].orders;
                let (side, order) = orders[self.rng.gen_range(0..orders.len())];
                let instruction = if chosen == Move::Cancel {
                    Instruction::Cancel { side, order }
                } else {
                    Instruction::Status { side, order }
                };
                let signed = self.sign(trader, instruction);
                self.emit(market, signed)
            }
            Move::BadSignature => {
                let order = self.random_order();
                let mut signed = self.sign(trader, Instruction::Place(order));
                signed.signature.s += Fr::one();
                self.emit(market, signed)
            }
            Move::Replay => {
                let history = &self.history[usize::from(market)];
                let replayed = history[self.rng.gen_range(0..history.len())].clone();
                self.run(market, replayed)
            }
            Move::ForeignCancel => {
                // Another trader of the market with an order: cancel it under its account
                // number, signed with this trader's key.
                let victim = members
                    .iter()
                    .copied()
                    .find(|&v| v != trader && !self.traders[v].orders.is_empty());
                let (account, side, order) = match victim {
                    Some(v) => {
                        let (side, order) = self.traders[v].orders[0];
                        (self.traders[v].account, side, order)
                    }
                    None => (self.traders[members[0]].account, Side::Buy, 0),
                };
                let t = &self.traders[trader];
                let signed = SignedInstruction::sign(
                    &t.key,
                    account,
                    t.market,
                    t.next_nonce,
                    Instruction::Cancel { side, order },
                );
                self.emit(market, signed)
            }
        }
    }

    /// [`Workload::resync`]: the replica becomes `state`; each trader's nonce and resting
    /// orders are read from its records; the suffix of each market's setup stream that the
    /// state lacks is run again on the replica and returned.
    fn resync_from(
        &mut self,
        state: &ResyncState,
    ) -> Result<Vec<Stream<DarkPoolApp<F>>>, ResyncError> {
        if self.emitted == 0 {
            // Builds the setup's requests (planned on the replica), which the state has a
            // prefix of.
            self.setup();
        }
        let mut records = Vec::with_capacity(self.traders.len());
        for (i, trader) in self.traders.iter().enumerate() {
            let value = state.get(&account_key(&trader.key.public_key()));
            let record = Account::unpack(value).ok_or_else(|| ResyncError::BadRecord {
                what: format!("account of trader {i}"),
            })?;
            if record.number != 0 && record.number != u64::from(trader.account) {
                return Err(ResyncError::NotThisWorkload {
                    what: format!(
                        "trader {i}'s account has number {}, this workload gives it {}",
                        record.number, trader.account
                    ),
                });
            }
            records.push(record);
        }
        let executed = |request: &DarkPoolRequest<F>| {
            request.instruction().is_some_and(|signed| {
                let Some(t) = self
                    .traders
                    .iter()
                    .position(|t| t.account == signed.account)
                else {
                    return false;
                };
                let record = records[t];
                record.number != 0
                    && (signed.instruction == Instruction::Open
                        || record.nonce >= u64::from(signed.nonce))
            })
        };
        // Each market's setup stream is in the state up to some request (the log holds a
        // prefix of the batches, and a stream executes in order).
        let mut pending = Vec::with_capacity(self.history.len());
        for (market, setup) in self.history.iter().enumerate() {
            let done = setup.iter().take_while(|&r| executed(r)).count();
            if let Some(later) = setup[done..].iter().position(&executed) {
                return Err(ResyncError::NotThisWorkload {
                    what: format!(
                        "market {market}'s setup request {} is in the state, request {done} before it is not",
                        done + later
                    ),
                });
            }
            pending.push((done, setup[done..].to_vec()));
        }

        self.state = state.values().clone();
        for (trader, record) in self.traders.iter_mut().zip(&records) {
            if record.number == 0 {
                trader.next_nonce = 0;
                trader.orders.clear();
                continue;
            }
            let last = u32::try_from(record.nonce).map_err(|_| ResyncError::BadRecord {
                what: format!("nonce of account {}", trader.account),
            })?;
            trader.next_nonce = last.saturating_add(1);
            // Its resting orders: every order id it can have placed (nonces up to its last),
            // either side, whose node still has quantity.
            let (market, account) = (u64::from(trader.market), trader.account);
            trader.orders = (1..=last)
                .flat_map(|nonce| [(Side::Buy, nonce), (Side::Sell, nonce)])
                .filter(|&(side, nonce)| {
                    let id = OrderId { account, nonce }.to_u64();
                    let value = state.get(&node_key(market, side.is_sell(), id));
                    Node::unpack(value).is_some_and(|node| node.quantity > 0)
                })
                .collect();
        }
        let mut per_market = Vec::with_capacity(pending.len());
        for (market, (done, requests)) in pending.into_iter().enumerate() {
            // The history is what was made; the suffix is made again below.
            self.history[market].truncate(done);
            self.emitted -= requests.len();
            let market = market as u16;
            let rerun: Vec<DarkPoolRequest<F>> = requests
                .into_iter()
                .map(|request| self.run(market, request))
                .collect();
            per_market.push(rerun);
        }
        Ok(Self::into_streams(per_market, usize::from(self.markets)))
    }

    /// Streams from per-market request lists: market m goes to stream m mod `streams`.
    fn into_streams(
        per_market: Vec<Vec<DarkPoolRequest<F>>>,
        streams: usize,
    ) -> Vec<Stream<DarkPoolApp<F>>> {
        let count = streams.clamp(1, per_market.len().max(1));
        let mut out: Vec<Stream<DarkPoolApp<F>>> = vec![Vec::new(); count];
        for (market, requests) in per_market.into_iter().enumerate() {
            out[market % count].extend(requests);
        }
        out.retain(|stream| !stream.is_empty());
        out
    }
}

impl<const F: usize> Workload for DarkPoolWorkload<F> {
    type App = DarkPoolApp<F>;

    fn app(&self) -> DarkPoolApp<F> {
        DarkPoolApp::new()
    }

    /// Opens every account and seeds each market with [`SEED_ORDERS_PER_SIDE`] resting
    /// orders a side (bids below the mid price, asks above: nothing crosses), one stream per
    /// market. Call it once, before [`Workload::streams`].
    fn setup(&mut self) -> Vec<Stream<DarkPoolApp<F>>> {
        let mut per_market = vec![Vec::new(); usize::from(self.markets)];
        for trader in 0..self.traders.len() {
            let market = self.traders[trader].market;
            let signed = self.sign(trader, Instruction::Open);
            let request = self.emit(market, signed);
            per_market[usize::from(market)].push(request);
        }
        for market in 0..self.markets {
            let members = self.by_market[usize::from(market)].clone();
            for k in 0..SEED_ORDERS_PER_SIDE {
                for (side, offset) in [(Side::Buy, -(k as i64) - 6), (Side::Sell, k as i64 + 6)] {
                    let trader = members[k % members.len()];
                    let order = Order {
                        side,
                        price: (i64::from(MID_PRICE) + offset) as u32,
                        quantity: MAX_QUANTITY,
                    };
                    let signed = self.sign(trader, Instruction::Place(order));
                    let request = self.emit(market, signed);
                    per_market[usize::from(market)].push(request);
                }
            }
        }
        let streams = usize::from(self.markets);
        Self::into_streams(per_market, streams)
    }

    /// About `requests` requests of the mix, markets drawn uniformly, in at most `streams`
    /// streams (one per market at most: a market's requests are serial).
    fn streams(&mut self, requests: usize, streams: usize) -> Vec<Stream<DarkPoolApp<F>>> {
        let mut per_market = vec![Vec::new(); usize::from(self.markets)];
        let zipfs: Vec<Zipf> = self
            .by_market
            .iter()
            .map(|members| Zipf::new(members.len(), TRADER_SKEW))
            .collect();
        for _ in 0..requests {
            let market = self.rng.gen_range(0..self.markets);
            let request = self.next_request(market, &zipfs[usize::from(market)]);
            per_market[usize::from(market)].push(request);
        }
        Self::into_streams(per_market, streams)
    }

    fn resync(&mut self, state: &ResyncState) -> Result<Vec<Stream<DarkPoolApp<F>>>, ResyncError> {
        self.resync_from(state)
    }
}
