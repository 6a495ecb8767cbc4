//! The dark pool: a workload with invalid requests, executed concurrently, gives batches
//! that satisfy the circuit and close the audit, and the final state is a sequential replay;
//! its native replay agrees with a sorted-vector reference order book; native and circuit
//! logic agree on random (also invalid) requests; the book's edge cases are provable; every
//! cheat of a service (skip the best order, fill at a worse price or more than an order's
//! quantity, reorder equal prices, rest at the wrong place, cancel another owner's order,
//! forge a signature or the valid bit, replay, tamper a stored value) is rejected or
//! unprovable; a one-slot batch proves and verifies; constraint counts are reported.
//!
//! Run with `cargo test --release --test integration darkpool:: -- --nocapture` to see constraint counts.

use std::{
    collections::{HashMap, HashSet},
    fmt,
    sync::Arc,
    thread,
};

use ark_bls12_381::{Bls12_381, Fr};
use ark_ff::{Field, One, Zero};
use ark_groth16::Groth16;
use ark_r1cs_std::{alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::fp::FpVar, GR1CSVar};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, SynthesisError,
};
use ark_snark::SNARK;
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use proptest::prelude::*;

use spice::{
    engine::{CpuBackend, Prover},
    host::{
        apps::darkpool::{
            link_slot,
            records::{head_key, node_key, price_of_rank, rank, Account, Head, Node},
            DarkPoolApp, DarkPoolReject, DarkPoolRequest, DarkPoolRequestVar, DarkPoolWorkload,
            Fill, Hints, Instruction, Link, Order, OrderId, Report, Side, SignedInstruction,
            ACCOUNT_SLOT, BOOK_SLOT, FIRST_FILL_SLOT,
        },
        batch::{build_batch, BatchCircuit, NUM_PUBLIC_INPUTS},
        eddsa::{self, SecretKey},
        eddsa_gadget::{self, PublicKeyVar, SignatureVar},
        storage_gadget::{
            apply, apply_var, execute, App, AppError, Executed, KeySlot, KeySlotVar, Storage,
            StorageVar,
        },
        store::{EpochSnapshot, Store},
        workload::{Stream, Workload},
    },
};

const F: usize = 2;
type Pool = DarkPoolApp<F>;
type Request = DarkPoolRequest<F>;
const APP: Pool = DarkPoolApp::new();
/// The market of the hand-written scenarios.
const MARKET: u16 = 7;

// ------------------------------------------------------------------------------------------
// Harness.
// ------------------------------------------------------------------------------------------

fn satisfied<A: App>(circuit: BatchCircuit<A>) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    circuit.generate_constraints(cs.clone()).expect("synthesis");
    cs.is_satisfied().expect("all values assigned")
}

fn batch<A: App>(app: &A, executed: &[Executed<A>], seed: u64) -> BatchCircuit<A> {
    build_batch(
        app,
        executed.first().map_or(0, |ex| ex.record.epoch),
        seed,
        executed.len().max(1),
        executed,
        &mut StdRng::seed_from_u64(seed),
    )
    .expect("batch builds")
    .circuit
}

fn report(ex: &Executed<Pool>) -> Option<Report> {
    Report::decode(&ex.request, &ex.response).expect("a dark-pool payload")
}

fn placed(fills: &[(u64, u64)], rested: u64) -> Option<Report> {
    Some(Report::Placed {
        fills: fills
            .iter()
            .map(|&(price, quantity)| Fill { price, quantity })
            .collect(),
        rested,
    })
}

/// The side `sell` of `market` in `state`, best first, as `(id, price, quantity)`; asserts
/// the list's invariant on the way (positive quantities, ranks non-increasing, each stored
/// successor rank the successor's rank).
fn walk(state: &dyn Fn(&Fr) -> Fr, market: u16, side: Side) -> Vec<(OrderId, u64, u64)> {
    let sell = side.is_sell();
    let head = Head::unpack(state(&head_key(u64::from(market), sell))).expect("a head");
    let (mut next, mut next_rank) = (head.first, head.first_rank);
    let mut out = Vec::new();
    let mut previous_rank = u64::MAX;
    while let Some(id) = OrderId::from_u64(next) {
        let node = Node::unpack(state(&node_key(u64::from(market), sell, next))).expect("a node");
        assert!(node.quantity > 0, "a linked node rests");
        assert_eq!(node.rank, next_rank, "stored successor rank");
        assert!(node.rank <= previous_rank, "sorted by rank");
        previous_rank = node.rank;
        out.push((id, price_of_rank(sell, node.rank), node.quantity));
        next = node.next;
        next_rank = node.next_rank;
        assert!(out.len() < 100_000, "the list ends");
    }
    assert_eq!(next_rank, 0, "the end has rank 0");
    out
}

/// One market with a store, a replica of its state (for planning), and named traders.
struct Market {
    store: Store,
    state: HashMap<Fr, Fr>,
    keys: Vec<SecretKey>,
    nonces: Vec<u32>,
    executed: Vec<Executed<Pool>>,
}

impl Market {
    /// `traders` traders with open accounts (numbers 1 …).
    fn new(traders: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut market = Self {
            store: Store::new(),
            state: HashMap::new(),
            keys: (0..traders)
                .map(|_| SecretKey::generate(&mut rng))
                .collect(),
            nonces: vec![0; traders],
            executed: Vec::new(),
        };
        for trader in 0..traders {
            let ex = market.submit(trader, Instruction::Open);
            assert_eq!(report(&ex), Some(Report::Opened));
        }
        market
    }

    fn account(&self, trader: usize) -> u32 {
        trader as u32 + 1
    }

    fn sign(&mut self, trader: usize, instruction: Instruction) -> SignedInstruction {
        let nonce = self.nonces[trader];
        self.nonces[trader] += 1;
        SignedInstruction::sign(
            &self.keys[trader],
            self.account(trader),
            MARKET,
            nonce,
            instruction,
        )
    }

    fn value(&self, key: &Fr) -> Fr {
        self.state.get(key).copied().unwrap_or_else(Fr::zero)
    }

    fn plan(&self, signed: SignedInstruction) -> Request {
        APP.plan(signed, &|key| self.value(key))
            .expect("the book is well formed")
    }

    fn submit(&mut self, trader: usize, instruction: Instruction) -> Executed<Pool> {
        let signed = self.sign(trader, instruction);
        let request = self.plan(signed);
        self.run(request)
    }

    fn run(&mut self, request: Request) -> Executed<Pool> {
        let ex = self.run_as(&APP, request);
        self.executed.push(ex.clone());
        ex
    }

    /// Executes `request` with `app`'s native logic (a cheating service's, in the negative
    /// tests) in the store.
    fn run_as<A: App<Request = Request>>(&mut self, app: &A, request: Request) -> Executed<A> {
        let ex = execute(&self.store, app, request).expect("the store executes the request");
        for op in &ex.record.ops {
            self.state.insert(op.new.key, op.new.value);
        }
        ex
    }

    fn place(
        &mut self,
        trader: usize,
        side: Side,
        price: u32,
        quantity: u64,
    ) -> (Executed<Pool>, OrderId) {
        let id = OrderId {
            account: self.account(trader),
            nonce: self.nonces[trader],
        };
        let ex = self.submit(
            trader,
            Instruction::Place(Order {
                side,
                price,
                quantity,
            }),
        );
        (ex, id)
    }

    fn book(&self, side: Side) -> Vec<(OrderId, u64, u64)> {
        walk(&|key| self.value(key), MARKET, side)
    }

    fn ids(&self, side: Side) -> Vec<OrderId> {
        self.book(side).into_iter().map(|(id, _, _)| id).collect()
    }
}

// ------------------------------------------------------------------------------------------
// A cheating service: native logic run on a doctored view of the slots (or on another
// request), recorded and committed as if honest; the circuit runs the honest logic.
// ------------------------------------------------------------------------------------------

type Pretence = dyn Fn(&Request, &mut [Fr]) -> Request + Send + Sync;

#[derive(Clone)]
struct Cheating {
    pretend: Arc<Pretence>,
}

impl fmt::Debug for Cheating {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cheating")
    }
}

impl Cheating {
    fn new(pretend: impl Fn(&Request, &mut [Fr]) -> Request + Send + Sync + 'static) -> Self {
        Self {
            pretend: Arc::new(pretend),
        }
    }

    /// The harness itself, with nothing doctored.
    fn honest() -> Self {
        Self::new(|request, _| request.clone())
    }
}

impl App for Cheating {
    type Request = Request;
    type RequestVar = DarkPoolRequestVar;
    type Reject = DarkPoolReject;
    const KEYS: usize = Pool::KEYS;
    const REQUEST_FIELDS: usize = Pool::REQUEST_FIELDS;
    const PAYLOAD_FIELDS: usize = Pool::PAYLOAD_FIELDS;

    fn noop(&self) -> Request {
        APP.noop()
    }
    fn keys(&self, request: &Request) -> Vec<KeySlot> {
        APP.keys(request)
    }
    fn encode_request(&self, request: &Request) -> Vec<Fr> {
        APP.encode_request(request)
    }
    fn execute(
        &self,
        request: &Request,
        _authorized: bool,
        storage: &mut Storage,
    ) -> Result<Vec<Fr>, DarkPoolReject> {
        let mut view: Vec<Fr> = (0..Pool::KEYS).map(|slot| storage.read(slot)).collect();
        let pretended = (self.pretend)(request, &mut view);
        let mut doctored = Storage::new(view);
        // The pretended request's own signature verdict, as the honest app would compute it.
        let payload = APP.execute(&pretended, APP.authorized(&pretended), &mut doctored)?;
        for (slot, value) in doctored.into_values().into_iter().enumerate() {
            storage.write(slot, value);
        }
        Ok(payload)
    }
    fn keys_var(&self, request: &DarkPoolRequestVar) -> Result<Vec<KeySlotVar>, SynthesisError> {
        APP.keys_var(request)
    }
    fn encode_request_var(
        &self,
        request: &DarkPoolRequestVar,
    ) -> Result<Vec<FpVar<Fr>>, SynthesisError> {
        APP.encode_request_var(request)
    }
    fn execute_var(
        &self,
        request: &DarkPoolRequestVar,
        storage: &mut StorageVar,
    ) -> Result<(Vec<FpVar<Fr>>, Boolean<Fr>), SynthesisError> {
        APP.execute_var(request, storage)
    }
}

/// `request` with its hints replaced.
fn with_hints(request: &Request, fills: Vec<OrderId>, link: Option<Link>) -> Request {
    match request {
        DarkPoolRequest::Signed { instruction, .. } => DarkPoolRequest::Signed {
            instruction: *instruction,
            hints: Hints::new(fills, link).expect("at most F fills"),
        },
        DarkPoolRequest::Noop => DarkPoolRequest::Noop,
    }
}

fn signed_place(
    market: &mut Market,
    trader: usize,
    side: Side,
    price: u32,
    quantity: u64,
) -> Request {
    let signed = market.sign(
        trader,
        Instruction::Place(Order {
            side,
            price,
            quantity,
        }),
    );
    market.plan(signed)
}

/// On the book as it is, the circuit computes "rejected" for `request`, and a prover that
/// forces the valid bit to 1 has no satisfying assignment (every other witness of the slot
/// logic is determined by the request and the old values).
fn assert_circuit_rejects(m: &Market, request: &Request, what: &str) {
    let old: Vec<Fr> = APP
        .keys(request)
        .iter()
        .map(|slot| {
            if slot.active {
                m.value(&slot.key)
            } else {
                Fr::zero()
            }
        })
        .collect();
    let cs = ConstraintSystem::<Fr>::new_ref();
    let request_var = DarkPoolRequestVar::new_witness(cs.clone(), || Ok(request.clone())).unwrap();
    let old_vars: Vec<FpVar<Fr>> = old
        .iter()
        .map(|v| FpVar::new_witness(cs.clone(), || Ok(*v)).unwrap())
        .collect();
    let applied = apply_var(&APP, &request_var, &old_vars).unwrap();
    assert!(
        cs.is_satisfied().unwrap(),
        "{what}: the rejection is provable"
    );
    assert!(
        !applied.response.accepted.value().unwrap(),
        "{what}: the circuit accepts"
    );
    applied
        .response
        .accepted
        .enforce_equal(&Boolean::TRUE)
        .unwrap();
    assert!(
        !cs.is_satisfied().unwrap(),
        "{what}: a forged valid bit satisfies the circuit"
    );
}

/// The cheat's record, accepted natively by the cheater, must be unprovable; the same record
/// made by the honest harness is provable.
fn assert_cheat_unprovable(market: &mut Market, request: Request, cheat: Cheating, what: &str) {
    let cheated = market.run_as(&cheat, request);
    assert!(
        cheated.response.accepted,
        "{what}: the cheater claims acceptance"
    );
    assert!(
        !satisfied(batch(&cheat, &[cheated], 41)),
        "{what}: the cheated batch satisfies the circuit"
    );
}

// ------------------------------------------------------------------------------------------
// A workload executed concurrently.
// ------------------------------------------------------------------------------------------

/// Executes `streams` concurrently, one thread a stream, in stream order.
fn run_streams(store: &Store, streams: Vec<Stream<Pool>>) -> Vec<Executed<Pool>> {
    thread::scope(|scope| {
        let workers: Vec<_> = streams
            .into_iter()
            .map(|stream| {
                scope.spawn(move || {
                    stream
                        .into_iter()
                        .map(|request| {
                            execute(store, &APP, request).expect("the store executes it")
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("worker"))
            .collect()
    })
}

/// Setup and `requests` requests of a seeded workload, executed concurrently; records in
/// `t_req` order.
fn run_workload(
    seed: u64,
    traders: usize,
    markets: u16,
    requests: usize,
) -> (Store, Vec<Executed<Pool>>, DarkPoolWorkload<F>) {
    let mut workload = DarkPoolWorkload::<F>::new(seed, traders, markets).expect("workload");
    let store = Store::new();
    let setup = workload.setup();
    assert_eq!(
        setup.len(),
        usize::from(markets),
        "one setup stream per market"
    );
    let mut executed = run_streams(&store, setup);
    let streams = workload.streams(requests, 8);
    assert!(streams.len() > 1, "markets run concurrently");
    executed.extend(run_streams(&store, streams));
    executed.sort_by_key(|ex| ex.record.t_req);
    (store, executed, workload)
}

fn state_of(snapshot: &EpochSnapshot) -> HashMap<Fr, Fr> {
    snapshot
        .final_state
        .iter()
        .map(|tuple| (tuple.key, tuple.value))
        .collect()
}

/// `MH(init) + Σ(WS − ρ_W·B) = Σ(RS − ρ_R·B) + MH(final)` for an epoch starting empty.
fn audit_balances<A: App>(closing: &EpochSnapshot, batches: &[&BatchCircuit<A>]) -> bool {
    crate::app_harness::audit_balances(&[], closing, batches)
}

#[test]
fn concurrent_workload_with_invalid_requests_is_provable_and_a_sequential_replay() {
    let (store, executed, workload) = run_workload(3, 8, 2, 40);
    let closing = store.close_epoch();
    let rejected = executed.iter().filter(|ex| ex.rejection.is_some()).count();
    assert!(rejected > 0, "invalid requests are in the mix");
    assert!(rejected * 5 < executed.len(), "most requests are valid");
    assert_eq!(workload.counts(), (executed.len(), rejected));
    assert!(
        executed.iter().any(
            |ex| matches!(report(ex), Some(Report::Placed { fills, .. }) if !fills.is_empty())
        ),
        "orders match"
    );
    for ex in &executed {
        assert_eq!(ex.response.accepted, ex.rejection.is_none());
    }

    // Batches of 4 in t_req order (any order is sound; this one reads naturally).
    let batches: Vec<BatchCircuit<Pool>> = executed
        .chunks(4)
        .enumerate()
        .map(|(id, chunk)| {
            build_batch(
                &APP,
                0,
                id as u64,
                4,
                chunk,
                &mut StdRng::seed_from_u64(id as u64),
            )
            .expect("batch builds")
            .circuit
        })
        .collect();
    for circuit in &batches {
        assert!(
            satisfied(circuit.clone()),
            "honest batch {} unsatisfied",
            circuit.public_inputs.batch_id
        );
    }
    let circuits: Vec<&BatchCircuit<Pool>> = batches.iter().collect();
    assert!(audit_balances(&closing, &circuits));
    assert!(
        !audit_balances(&closing, &circuits[1..]),
        "a missing batch breaks the audit"
    );

    // Sequential replay in t_req order from the empty state: same records, same state.
    let mut state: HashMap<Fr, Fr> = HashMap::new();
    for ex in &executed {
        let keys = APP.keys(&ex.request);
        let old: Vec<Fr> = keys
            .iter()
            .map(|slot| {
                if slot.active {
                    state.get(&slot.key).copied().unwrap_or_else(Fr::zero)
                } else {
                    Fr::zero()
                }
            })
            .collect();
        let applied = apply(&APP, &ex.request, ex.authorized, &old).expect("replays");
        assert_eq!(applied.response, ex.response);
        let written: Vec<(Fr, Fr)> = keys
            .iter()
            .zip(&applied.new_values)
            .filter(|(slot, _)| slot.active)
            .map(|(slot, value)| (slot.key, *value))
            .collect();
        let recorded: Vec<(Fr, Fr)> = ex
            .record
            .ops
            .iter()
            .map(|op| (op.new.key, op.new.value))
            .collect();
        assert_eq!(written, recorded);
        state.extend(written);
    }
    assert_eq!(state, state_of(&closing));
    assert_eq!(
        &state,
        workload.expected_state(),
        "the generator's replica is exact"
    );
}

// ------------------------------------------------------------------------------------------
// The native replay against a sorted-vector reference.
// ------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RefOrder {
    id: OrderId,
    price: u32,
    quantity: u64,
    arrival: u64,
}

/// Price-time matching the simplest way: per market and side a vector sorted best first
/// (bids by price descending, asks ascending, then arrival); accounts and nonces in a map.
#[derive(Default)]
struct ReferencePool {
    accounts: HashMap<(Fr, Fr), (u32, u32)>,
    claimed: HashSet<u32>,
    books: HashMap<(u16, Side), Vec<RefOrder>>,
    arrivals: u64,
}

impl ReferencePool {
    fn sort(book: &mut [RefOrder], side: Side) {
        match side {
            Side::Buy => book.sort_by_key(|o| (std::cmp::Reverse(o.price), o.arrival)),
            Side::Sell => book.sort_by_key(|o| (o.price, o.arrival)),
        }
    }

    fn crosses(taker: Side, limit: u32, maker: &RefOrder) -> bool {
        match taker {
            Side::Buy => maker.price <= limit,
            Side::Sell => maker.price >= limit,
        }
    }

    /// The report of `signed`, or `None` when it must be rejected.
    fn execute(&mut self, signed: &SignedInstruction) -> Option<Report> {
        eddsa::verify(&signed.owner, &signed.message(), &signed.signature).ok()?;
        let owner = (signed.owner.point().x, signed.owner.point().y);
        if signed.instruction == Instruction::Open {
            if self.accounts.contains_key(&owner)
                || self.claimed.contains(&signed.account)
                || signed.account == 0
            {
                return None;
            }
            self.accounts.insert(owner, (signed.account, signed.nonce));
            self.claimed.insert(signed.account);
            return Some(Report::Opened);
        }
        let &(number, last) = self.accounts.get(&owner)?;
        if number != signed.account || signed.nonce <= last {
            return None;
        }
        let report = match signed.instruction {
            Instruction::Open => unreachable!("handled above"),
            Instruction::Place(order) => {
                if order.price == 0 || order.quantity == 0 {
                    return None;
                }
                let opposite = self
                    .books
                    .entry((signed.market, order.side.opposite()))
                    .or_default();
                let mut remaining = order.quantity;
                let mut fills = Vec::new();
                while fills.len() < F && remaining > 0 {
                    let Some(best) = opposite.first_mut() else {
                        break;
                    };
                    if !Self::crosses(order.side, order.price, best) {
                        break;
                    }
                    let fill = remaining.min(best.quantity);
                    fills.push(Fill {
                        price: u64::from(best.price),
                        quantity: fill,
                    });
                    best.quantity -= fill;
                    remaining -= fill;
                    if best.quantity == 0 {
                        opposite.remove(0);
                    }
                }
                let still_crosses = opposite
                    .first()
                    .is_some_and(|best| Self::crosses(order.side, order.price, best));
                let rested = if remaining > 0 && !still_crosses {
                    self.arrivals += 1;
                    let own = self.books.entry((signed.market, order.side)).or_default();
                    own.push(RefOrder {
                        id: signed.order_id(),
                        price: order.price,
                        quantity: remaining,
                        arrival: self.arrivals,
                    });
                    Self::sort(own, order.side);
                    remaining
                } else {
                    0
                };
                Report::Placed { fills, rested }
            }
            Instruction::Cancel { side, order } => {
                let id = OrderId {
                    account: signed.account,
                    nonce: order,
                };
                let book = self.books.entry((signed.market, side)).or_default();
                let position = book.iter().position(|o| o.id == id)?;
                Report::Cancelled {
                    quantity: book.remove(position).quantity,
                }
            }
            Instruction::Status { side, order } => {
                let id = OrderId {
                    account: signed.account,
                    nonce: order,
                };
                let book = self.books.entry((signed.market, side)).or_default();
                Report::Remaining {
                    quantity: book.iter().find(|o| o.id == id).map_or(0, |o| o.quantity),
                }
            }
        };
        if let Some(account) = self.accounts.get_mut(&owner) {
            account.1 = signed.nonce;
        }
        Some(report)
    }
}

#[test]
fn native_replay_matches_a_sorted_vector_reference_book() {
    let markets = 3;
    let (store, executed, _) = run_workload(11, 12, markets, 400);
    let mut reference = ReferencePool::default();
    let mut seen = HashSet::new();
    for ex in &executed {
        let signed = ex.request.instruction().expect("no no-op is executed");
        let expected = reference.execute(signed);
        assert_eq!(
            report(ex),
            expected,
            "request at t_req {}: {:?}",
            ex.record.t_req,
            signed.instruction
        );
        seen.insert(match &expected {
            None => "rejected",
            Some(Report::Opened) => "opened",
            Some(Report::Placed { fills, .. }) if fills.len() == F => "filled F times",
            Some(Report::Placed { fills, rested }) if !fills.is_empty() && *rested > 0 => {
                "filled and rested"
            }
            Some(Report::Placed { .. }) => "placed",
            Some(Report::Cancelled { .. }) => "cancelled",
            Some(Report::Remaining { .. }) => "status",
        });
    }
    assert_eq!(seen.len(), 7, "every kind of outcome occurs: {seen:?}");
    let state = state_of(&store.snapshot());
    let read = |key: &Fr| state.get(key).copied().unwrap_or_else(Fr::zero);
    for market in 0..markets {
        for side in [Side::Buy, Side::Sell] {
            let ours = walk(&read, market, side);
            let theirs: Vec<(OrderId, u64, u64)> = reference
                .books
                .get(&(market, side))
                .map(|book| {
                    book.iter()
                        .map(|o| (o.id, u64::from(o.price), o.quantity))
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(ours, theirs, "market {market} {side:?}");
        }
    }
}

// ------------------------------------------------------------------------------------------
// Native and in-circuit logic in lockstep.
// ------------------------------------------------------------------------------------------

/// A laid-out record for `slot` with random fields.
fn random_record(slot: usize, rng: &mut StdRng) -> Fr {
    let rank = |rng: &mut StdRng| rng.gen::<u64>() & 0xffff_ffff;
    match slot {
        ACCOUNT_SLOT => Account {
            number: rng.gen_range(0..6),
            nonce: rng.gen::<u64>() & 0xffff_ffff,
        }
        .pack(),
        BOOK_SLOT => Head {
            first: rng.gen(),
            first_rank: rank(rng),
        }
        .pack(),
        _ => Node {
            next: rng.gen(),
            next_rank: rank(rng),
            rank: rank(rng),
            quantity: rng.gen_range(0..100),
        }
        .pack(),
    }
}

/// A request of the workload's mix on a state the workload built, mutated by `mutation`,
/// with the old values of its slots (`junk` in inactive ones).
fn random_case(seed: u64, history: usize, mutation: u8) -> (Request, Vec<Fr>) {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let mut workload = DarkPoolWorkload::<F>::new(seed, 4, 1).expect("workload");
    workload.setup();
    workload.streams(history, 1);
    let before = workload.expected_state().clone();
    let mut request = workload.streams(1, 1).remove(0).remove(0);
    let random_id = |rng: &mut StdRng| OrderId {
        account: rng.gen_range(0..6),
        nonce: rng.gen_range(0..12),
    };
    if let DarkPoolRequest::Signed { instruction, hints } = &request {
        let mut fills = hints.fills().to_vec();
        let mut link = hints.link();
        let mut instruction = *instruction;
        match mutation {
            1 => match fills.last_mut() {
                Some(last) => *last = random_id(&mut rng),
                None => fills.push(random_id(&mut rng)),
            },
            2 => {
                fills.pop();
            }
            3 if fills.len() < F => fills.push(random_id(&mut rng)),
            4 => {
                link = match link {
                    None => Some(Link::Head),
                    Some(Link::Head) => None,
                    Some(Link::After(_)) => Some(Link::Head),
                }
            }
            5 => link = Some(Link::After(random_id(&mut rng))),
            6 => instruction.signature.s += Fr::one(),
            _ => {}
        }
        request = DarkPoolRequest::Signed {
            instruction,
            hints: Hints::new(fills, link).expect("at most F"),
        };
    }
    let keys = APP.keys(&request);
    let junk_slot = rng.gen_range(0..Pool::KEYS);
    let old = keys
        .iter()
        .enumerate()
        .map(|(slot, key)| {
            if !key.active {
                Fr::from(rng.gen::<u64>())
            } else if mutation == 7 && slot == junk_slot {
                random_record(slot, &mut rng)
            } else {
                before.get(&key.key).copied().unwrap_or_else(Fr::zero)
            }
        })
        .collect();
    (request, old)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn native_and_circuit_logic_agree_on_random_requests(
        seed in any::<u64>(),
        history in 0usize..24,
        mutation in 0u8..8,
    ) {
        let (request, old) = random_case(seed, history, mutation);
        let native = apply(&APP, &request, APP.authorized(&request), &old);

        let cs = ConstraintSystem::<Fr>::new_ref();
        let request_var = DarkPoolRequestVar::new_witness(cs.clone(), || Ok(request.clone())).unwrap();
        let old_vars: Vec<FpVar<Fr>> = old.iter().map(|v| FpVar::new_witness(cs.clone(), || Ok(*v)).unwrap()).collect();
        let circuit = apply_var(&APP, &request_var, &old_vars).unwrap();
        let encoded = APP.encode_request_var(&request_var).unwrap();

        match native {
            Err(AppError::DuplicateKey { .. }) => prop_assert!(!cs.is_satisfied().unwrap()),
            Err(other) => prop_assert!(false, "unexpected native error {other}"),
            Ok(applied) => {
                let out_of_range = matches!(applied.rejection, Some(DarkPoolReject::ValueOutOfRange { .. }));
                prop_assert!(!out_of_range, "laid-out values");
                prop_assert!(cs.is_satisfied().unwrap(), "rejection {:?}", applied.rejection);
                let values = |vars: &[FpVar<Fr>]| vars.iter().map(|v| v.value().unwrap()).collect::<Vec<_>>();
                prop_assert_eq!(
                    applied.keys.iter().map(|k| (k.key, k.active)).collect::<Vec<_>>(),
                    circuit.keys.iter().map(|k| (k.key.value().unwrap(), k.active.value().unwrap())).collect::<Vec<_>>()
                );
                prop_assert_eq!(&applied.old_values, &values(&circuit.old_values));
                prop_assert_eq!(&applied.new_values, &values(&circuit.new_values));
                prop_assert_eq!(applied.response.encode(), values(&circuit.response.encode()));
                prop_assert_eq!(applied.rejection.is_none(), applied.response.accepted);
                prop_assert_eq!(APP.encode_request(&request), values(&encoded));
            }
        }
    }
}

#[test]
fn out_of_layout_stored_value_is_unprovable_not_rejected() {
    let (request, mut old) = random_case(5, 6, 0);
    let keys = APP.keys(&request);
    assert!(keys[ACCOUNT_SLOT].active);
    // An account value with a bit above its 64: no request of the app writes one.
    old[ACCOUNT_SLOT] += Fr::from(2u64).pow([70u64]);
    let applied = apply(&APP, &request, APP.authorized(&request), &old).expect("applies");
    assert_eq!(
        applied.rejection,
        Some(DarkPoolReject::ValueOutOfRange { slot: ACCOUNT_SLOT })
    );
    let cs = ConstraintSystem::<Fr>::new_ref();
    let request_var = DarkPoolRequestVar::new_witness(cs.clone(), || Ok(request.clone())).unwrap();
    let old_vars: Vec<FpVar<Fr>> = old
        .iter()
        .map(|v| FpVar::new_witness(cs.clone(), || Ok(*v)).unwrap())
        .collect();
    apply_var(&APP, &request_var, &old_vars).unwrap();
    assert!(!cs.is_satisfied().unwrap());
}

// ------------------------------------------------------------------------------------------
// The book's edge cases, honestly executed and proved.
// ------------------------------------------------------------------------------------------

#[test]
fn book_edge_cases_execute_by_price_time_priority_and_are_provable() {
    let mut m = Market::new(4, 21);
    let (alice, bob, carol, dave) = (0, 1, 2, 3);
    // An empty side: the first bid rests at the head.
    let (ex, a1) = m.place(alice, Side::Buy, 100, 5);
    assert_eq!(report(&ex), placed(&[], 5));
    // Equal price: behind the older order (time priority).
    let (_, b1) = m.place(bob, Side::Buy, 100, 4);
    // A better price: inserted at the head.
    let (_, c1) = m.place(carol, Side::Buy, 101, 2);
    // A worse price: at the tail.
    let (_, d1) = m.place(dave, Side::Buy, 99, 3);
    assert_eq!(m.ids(Side::Buy), vec![c1, a1, b1, d1]);
    // A partial fill of the best bid, which stays at the head.
    let (ex, _) = m.place(alice, Side::Sell, 101, 1);
    assert_eq!(report(&ex), placed(&[(101, 1)], 0));
    assert_eq!(m.book(Side::Buy)[0], (c1, 101, 1));
    // Using up the head exactly.
    let (ex, _) = m.place(bob, Side::Sell, 101, 1);
    assert_eq!(report(&ex), placed(&[(101, 1)], 0));
    assert_eq!(m.ids(Side::Buy), vec![a1, b1, d1]);
    // Two fills (F = 2) at one price, the second partial.
    let (ex, _) = m.place(carol, Side::Sell, 100, 7);
    assert_eq!(report(&ex), placed(&[(100, 5), (100, 2)], 0));
    assert_eq!(m.book(Side::Buy), vec![(b1, 100, 2), (d1, 99, 3)]);
    // Two fills at two prices taking the last bids, the remainder rests at the head of the
    // empty ask side: both heads in one request.
    let (ex, dv) = m.place(dave, Side::Sell, 99, 10);
    assert_eq!(report(&ex), placed(&[(100, 2), (99, 3)], 5));
    assert!(m.book(Side::Buy).is_empty());
    assert_eq!(m.book(Side::Sell), vec![(dv, 99, 5)]);
    // The fill limit: two fills, the remainder still crosses and is dropped.
    let (_, b2) = m.place(bob, Side::Sell, 100, 1);
    let (_, c2) = m.place(carol, Side::Sell, 100, 1);
    assert_eq!(m.ids(Side::Sell), vec![dv, b2, c2]);
    let (ex, _) = m.place(alice, Side::Buy, 100, 7);
    assert_eq!(report(&ex), placed(&[(99, 5), (100, 1)], 0));
    assert_eq!(m.book(Side::Sell), vec![(c2, 100, 1)]);
    assert!(
        m.book(Side::Buy).is_empty(),
        "the dropped remainder does not rest"
    );
    // Cancels: the only order (head), then the middle and the tail of three.
    let ex = m.submit(
        carol,
        Instruction::Cancel {
            side: Side::Sell,
            order: c2.nonce,
        },
    );
    assert_eq!(report(&ex), Some(Report::Cancelled { quantity: 1 }));
    assert!(m.book(Side::Sell).is_empty());
    let (_, a50) = m.place(alice, Side::Buy, 50, 1);
    let (_, b49) = m.place(bob, Side::Buy, 49, 1);
    let (_, c48) = m.place(carol, Side::Buy, 48, 1);
    let ex = m.submit(
        bob,
        Instruction::Cancel {
            side: Side::Buy,
            order: b49.nonce,
        },
    );
    assert_eq!(report(&ex), Some(Report::Cancelled { quantity: 1 }));
    let ex = m.submit(
        carol,
        Instruction::Cancel {
            side: Side::Buy,
            order: c48.nonce,
        },
    );
    assert_eq!(report(&ex), Some(Report::Cancelled { quantity: 1 }));
    assert_eq!(m.ids(Side::Buy), vec![a50]);
    // Status: resting, and filled (a maker learns of its fills).
    let ex = m.submit(
        alice,
        Instruction::Status {
            side: Side::Buy,
            order: a50.nonce,
        },
    );
    assert_eq!(report(&ex), Some(Report::Remaining { quantity: 1 }));
    let ex = m.submit(
        dave,
        Instruction::Status {
            side: Side::Sell,
            order: dv.nonce,
        },
    );
    assert_eq!(report(&ex), Some(Report::Remaining { quantity: 0 }));
    // A cancel of a filled order is rejected.
    let ex = m.submit(
        dave,
        Instruction::Cancel {
            side: Side::Sell,
            order: dv.nonce,
        },
    );
    assert_eq!(ex.rejection, Some(DarkPoolReject::NotResting));

    for (index, chunk) in m.executed.chunks(4).enumerate() {
        assert!(satisfied(batch(&APP, chunk, index as u64)), "batch {index}");
    }
}

// ------------------------------------------------------------------------------------------
// A cheating service.
// ------------------------------------------------------------------------------------------

#[test]
fn skipping_the_best_order_is_rejected_and_unprovable_as_accepted() {
    let mut m = Market::new(3, 31);
    let (_, best) = m.place(0, Side::Sell, 100, 5);
    let (_, worse) = m.place(1, Side::Sell, 101, 5);
    let honest = signed_place(&mut m, 2, Side::Buy, 101, 3);
    assert_eq!(honest, with_hints(&honest, vec![best], None));
    let skipping = with_hints(&honest, vec![worse], None);
    assert_circuit_rejects(&m, &skipping, "skip the best order");
    let ex = m.run(skipping.clone());
    assert_eq!(ex.rejection, Some(DarkPoolReject::HintsDoNotMatchBook));
    assert!(
        ex.record.ops.iter().all(|op| op.old.value == op.new.value),
        "state unchanged"
    );
    assert!(
        satisfied(batch(&APP, &[ex], 1)),
        "the rejection is provable"
    );
    // A cheater whose native logic sees the head pointing past the best order.
    let head = Head {
        first: worse.to_u64(),
        first_rank: rank(true, 101),
    }
    .pack();
    let cheat = Cheating::new(move |request, view| {
        view[BOOK_SLOT] = head;
        request.clone()
    });
    assert_cheat_unprovable(&mut m, skipping, cheat, "skip the best order");
}

#[test]
fn filling_at_a_worse_price_or_above_the_resting_quantity_is_unprovable() {
    let mut m = Market::new(3, 32);
    let (_, best) = m.place(0, Side::Sell, 100, 5);
    let taker = signed_place(&mut m, 2, Side::Buy, 102, 3);
    assert_eq!(taker, with_hints(&taker, vec![best], None));
    // The harness is sound: the honest record through it is provable.
    let control = m.run_as(&Cheating::honest(), taker.clone());
    assert!(satisfied(batch(&Cheating::honest(), &[control], 2)));

    let mut m = Market::new(3, 32);
    m.place(0, Side::Sell, 100, 5);
    let taker = signed_place(&mut m, 2, Side::Buy, 102, 3);
    // Pretend the maker's price is 102 (its rank as the head stores it).
    let head = Head {
        first: best.to_u64(),
        first_rank: rank(true, 102),
    }
    .pack();
    let worse_price = Cheating::new(move |request, view| {
        view[BOOK_SLOT] = head;
        request.clone()
    });
    assert_cheat_unprovable(&mut m, taker, worse_price, "fill at a worse price");

    let mut m = Market::new(3, 32);
    m.place(0, Side::Sell, 100, 2);
    let taker = signed_place(&mut m, 2, Side::Buy, 100, 5);
    // Pretend the maker has 5: fill 5 where only 2 rest (and so nothing rests).
    let overfill = Cheating::new(|request, view| {
        let mut maker = Node::unpack(view[FIRST_FILL_SLOT]).expect("a node");
        maker.quantity = 5;
        view[FIRST_FILL_SLOT] = maker.pack();
        let fills = match request {
            DarkPoolRequest::Signed { hints, .. } => hints.fills().to_vec(),
            DarkPoolRequest::Noop => Vec::new(),
        };
        with_hints(request, fills, None)
    });
    assert_cheat_unprovable(&mut m, taker, overfill, "fill above the resting quantity");
}

#[test]
fn reordering_equal_prices_is_rejected_and_unprovable_as_accepted() {
    let mut m = Market::new(3, 33);
    let (_, first) = m.place(0, Side::Sell, 100, 5);
    let (_, second) = m.place(1, Side::Sell, 100, 5);
    assert_eq!(m.ids(Side::Sell), vec![first, second]);
    let honest = signed_place(&mut m, 2, Side::Buy, 100, 3);
    assert_eq!(honest, with_hints(&honest, vec![first], None));
    let reordered = with_hints(&honest, vec![second], None);
    assert_circuit_rejects(&m, &reordered, "reorder equal prices");
    let ex = m.run(reordered.clone());
    assert_eq!(ex.rejection, Some(DarkPoolReject::HintsDoNotMatchBook));
    assert!(satisfied(batch(&APP, &[ex], 3)));
    let head = Head {
        first: second.to_u64(),
        first_rank: rank(true, 100),
    }
    .pack();
    let cheat = Cheating::new(move |request, view| {
        view[BOOK_SLOT] = head;
        request.clone()
    });
    assert_cheat_unprovable(&mut m, reordered, cheat, "reorder equal prices");
}

#[test]
fn resting_at_the_wrong_place_is_rejected_and_unprovable_as_accepted() {
    let mut m = Market::new(3, 34);
    let (_, b100) = m.place(0, Side::Buy, 100, 1);
    let (_, b99) = m.place(1, Side::Buy, 99, 1);
    let honest = signed_place(&mut m, 2, Side::Buy, 100, 1);
    assert_eq!(honest, with_hints(&honest, vec![], Some(Link::After(b100))));
    // Ahead of the older order of the same price, behind a worse one, or not at all.
    for (what, wrong) in [
        ("jump the queue", Some(Link::Head)),
        ("behind a worse price", Some(Link::After(b99))),
        ("drop the remainder", None),
    ] {
        assert_circuit_rejects(&m, &with_hints(&honest, vec![], wrong), what);
        let ex = m.run(with_hints(&honest, vec![], wrong));
        assert_eq!(
            ex.rejection,
            Some(DarkPoolReject::HintsDoNotMatchBook),
            "{what}"
        );
        assert!(
            satisfied(batch(&APP, &[ex], 4)),
            "{what}: the rejection is provable"
        );
    }
    assert_eq!(
        m.ids(Side::Buy),
        vec![b100, b99],
        "rejections change nothing"
    );
    // A cheater that makes "ahead of the queue" pass natively: the head's first rank lowered.
    let head = Head {
        first: b100.to_u64(),
        first_rank: rank(false, 99),
    }
    .pack();
    let slot = link_slot(F);
    let jump = Cheating::new(move |request, view| {
        view[slot] = head;
        request.clone()
    });
    assert_cheat_unprovable(
        &mut m,
        with_hints(&honest, vec![], Some(Link::Head)),
        jump,
        "jump the queue",
    );
    // … or "behind a worse price": the predecessor's rank raised.
    let mut m = Market::new(3, 34);
    m.place(0, Side::Buy, 100, 1);
    let (_, b99) = m.place(1, Side::Buy, 99, 1);
    let honest = signed_place(&mut m, 2, Side::Buy, 100, 1);
    let behind = Cheating::new(move |request, view| {
        let mut pred = Node::unpack(view[slot]).expect("a node");
        pred.rank = rank(false, 100);
        view[slot] = pred.pack();
        request.clone()
    });
    assert_cheat_unprovable(
        &mut m,
        with_hints(&honest, vec![], Some(Link::After(b99))),
        behind,
        "behind a worse price",
    );
}

#[test]
fn cancelling_another_owners_order_is_rejected_and_unprovable_as_accepted() {
    let mut m = Market::new(2, 35);
    let (alice, eve) = (0, 1);
    let (_, order) = m.place(alice, Side::Sell, 100, 5);
    // Eve names Alice's account number: her account record says otherwise.
    let nonce = m.nonces[eve];
    m.nonces[eve] += 1;
    let forged = SignedInstruction::sign(
        &m.keys[eve],
        m.account(alice),
        MARKET,
        nonce,
        Instruction::Cancel {
            side: Side::Sell,
            order: order.nonce,
        },
    );
    let request = m.plan(forged);
    assert_circuit_rejects(&m, &request, "cancel another owner's order");
    let ex = m.run(request.clone());
    assert_eq!(
        ex.rejection,
        Some(DarkPoolReject::WrongAccount {
            claimed: 1,
            actual: 2
        })
    );
    assert!(satisfied(batch(&APP, &[ex], 5)));
    // Eve names her own number and Alice's nonce: that is an order of Eve's, which does not
    // exist.
    let ex = m.submit(
        eve,
        Instruction::Cancel {
            side: Side::Sell,
            order: order.nonce,
        },
    );
    assert_eq!(ex.rejection, Some(DarkPoolReject::NotResting));
    assert_eq!(
        m.book(Side::Sell),
        vec![(order, 100, 5)],
        "Alice's order rests"
    );
    // A cheater whose native logic sees Eve's account under Alice's number.
    let eve_account = Account {
        number: u64::from(m.account(alice)),
        nonce: 0,
    }
    .pack();
    let cheat = Cheating::new(move |request, view| {
        view[ACCOUNT_SLOT] = eve_account;
        request.clone()
    });
    assert_cheat_unprovable(&mut m, request, cheat, "cancel another owner's order");
}

#[test]
fn fabricated_request_is_rejected_with_state_unchanged_and_forged_acceptance_is_unprovable() {
    let mut m = Market::new(2, 36);
    let (alice, eve) = (0, 1);
    m.place(eve, Side::Sell, 100, 5);
    let genuine = signed_place(&mut m, alice, Side::Buy, 100, 5);
    let DarkPoolRequest::Signed { instruction, hints } = genuine.clone() else {
        unreachable!()
    };
    // The service invents Alice's order: signed with Eve's key under Alice's public key.
    let mut fabricated = instruction;
    fabricated.signature = m.keys[eve].sign(&instruction.message());
    let fabricated = DarkPoolRequest::Signed {
        instruction: fabricated,
        hints,
    };
    assert_circuit_rejects(&m, &fabricated, "a fabricated order");
    let ex = m.run(fabricated.clone());
    assert_eq!(ex.rejection, Some(DarkPoolReject::BadSignature));
    assert!(!ex.response.accepted);
    assert!(ex.response.payload.iter().all(Fr::is_zero));
    assert!(
        ex.record.ops.iter().all(|op| op.old.value == op.new.value),
        "state unchanged"
    );
    assert!(satisfied(batch(&APP, &[ex], 6)));
    // A forged valid bit: the record of the genuine request under the fabricated one.
    let cheat = Cheating::new(move |_, _| genuine.clone());
    assert_cheat_unprovable(&mut m, fabricated, cheat, "accept a bad signature");
}

#[test]
fn replayed_request_is_rejected_with_state_unchanged() {
    let mut m = Market::new(2, 37);
    let request = signed_place(&mut m, 0, Side::Buy, 100, 5);
    let first = m.run(request.clone());
    assert_eq!(report(&first), placed(&[], 5));
    assert_circuit_rejects(&m, &request, "a replay");
    let replayed = m.run(request);
    assert_eq!(
        replayed.rejection,
        Some(DarkPoolReject::StaleNonce { nonce: 1, last: 1 })
    );
    assert!(replayed
        .record
        .ops
        .iter()
        .all(|op| op.old.value == op.new.value));
    assert_eq!(m.book(Side::Buy).len(), 1, "the order rests once");
    // A later request with a higher nonce still goes through: rejections consume no nonce.
    let (ex, _) = m.place(0, Side::Buy, 99, 1);
    assert!(ex.response.accepted);
    assert!(satisfied(batch(&APP, &[first, replayed, ex], 7)));
}

#[test]
fn tampered_stored_value_makes_the_batch_unsatisfiable() {
    let mut m = Market::new(2, 38);
    m.place(0, Side::Sell, 100, 5);
    let (ex, _) = m.place(1, Side::Buy, 100, 3);
    assert_eq!(report(&ex), placed(&[(100, 3)], 0));
    let closing = m.store.close_epoch();
    let honest = batch(&APP, &m.executed, 8);
    assert!(satisfied(honest.clone()));
    assert!(audit_balances(&closing, &[&honest]));
    // The maker's quantity read as 6 instead of 5 (the fill stays partial, the request
    // valid): against the published digests, unsatisfiable.
    let taker_slot = m.executed.len() - 1;
    let mut tampered = honest.clone();
    let op = &mut tampered.witness.slots[taker_slot].ops[FIRST_FILL_SLOT];
    let mut maker = Node::unpack(op.old_value).expect("a node");
    maker.quantity += 1;
    op.old_value = maker.pack();
    tampered.witness.recompute_hints(&APP).expect("hints");
    assert!(!satisfied(tampered.clone()));
    // With digests recomputed to match, the batch is self-consistent, and the audit fails:
    // the tampered tuple was never written.
    tampered.public_inputs = tampered.witness.public_inputs(&APP).expect("inputs");
    assert!(satisfied(tampered.clone()));
    assert!(!audit_balances(&closing, &[&tampered]));
}

// ------------------------------------------------------------------------------------------
// Groth16 end to end, and the constraint counts.
// ------------------------------------------------------------------------------------------

#[test]
fn one_slot_batch_proves_and_verifies_and_altered_inputs_do_not() {
    let mut m = Market::new(2, 39);
    m.place(0, Side::Buy, 100, 5);
    let (ex, _) = m.place(1, Side::Sell, 100, 7);
    assert_eq!(report(&ex), placed(&[(100, 5)], 2));
    let built = batch(&APP, &[ex], 9);

    let blank = BatchCircuit::blank(APP, 1).expect("blank");
    let mut rng = StdRng::seed_from_u64(12);
    let (pk, _) = Groth16::<Bls12_381>::circuit_specific_setup(blank, &mut rng).expect("setup");
    let prover = Prover::new(Arc::new(CpuBackend::new()), pk).expect("prover");
    let proof = prover.prove(built.clone(), &mut rng).expect("proof");
    let inputs = built.public_inputs.to_field_elements();
    let verifier = prover.verifier();
    assert_eq!(verifier.num_public_inputs(), NUM_PUBLIC_INPUTS);
    assert!(verifier.verify(&inputs, &proof).expect("verify"));
    for index in 0..NUM_PUBLIC_INPUTS {
        let mut altered = inputs.clone();
        altered[index] += Fr::one();
        assert!(
            !verifier.verify(&altered, &proof).expect("verify"),
            "input {index} is not bound"
        );
    }
}

fn synthesized<A: App>(circuit: BatchCircuit<A>) -> ConstraintSystemRef<Fr> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    circuit.generate_constraints(cs.clone()).expect("synthesis");
    cs
}

#[test]
fn constraint_counts_are_reported() {
    let total = |capacity| {
        synthesized(BatchCircuit::blank(APP, capacity).expect("blank")).num_constraints()
    };
    let (two, four) = (total(2), total(4));
    let per_slot = (four - two) / 2;
    let fixed = two - 2 * per_slot;

    // The app's part of a slot, on a place that fills and rests.
    let mut m = Market::new(2, 40);
    m.place(0, Side::Buy, 100, 5);
    let request = signed_place(&mut m, 1, Side::Sell, 100, 7);
    let keys = APP.keys(&request);
    let old: Vec<Fr> = keys
        .iter()
        .map(|slot| {
            if slot.active {
                m.value(&slot.key)
            } else {
                Fr::zero()
            }
        })
        .collect();
    let cs = ConstraintSystem::<Fr>::new_ref();
    let request_var = DarkPoolRequestVar::new_witness(cs.clone(), || Ok(request.clone())).unwrap();
    let allocation = cs.num_constraints();
    let old_vars: Vec<FpVar<Fr>> = old
        .iter()
        .map(|v| FpVar::new_witness(cs.clone(), || Ok(*v)).unwrap())
        .collect();
    let applied = apply_var(&APP, &request_var, &old_vars).unwrap();
    assert!(cs.is_satisfied().unwrap());
    assert!(applied.response.accepted.value().unwrap());
    let logic = cs.num_constraints();

    // The signature alone, on the same 2-element message.
    let DarkPoolRequest::Signed { instruction, .. } = &request else {
        unreachable!()
    };
    let cs = ConstraintSystem::<Fr>::new_ref();
    let pk = PublicKeyVar::new_witness(cs.clone(), || Ok(instruction.owner)).unwrap();
    let sig = SignatureVar::new_witness(cs.clone(), || Ok(instruction.signature)).unwrap();
    let msg: Vec<FpVar<Fr>> = instruction
        .message()
        .iter()
        .map(|v| FpVar::new_witness(cs.clone(), || Ok(*v)).unwrap())
        .collect();
    assert!(eddsa_gadget::is_valid(&pk, &msg, &sig)
        .unwrap()
        .value()
        .unwrap());
    let signature = cs.num_constraints();
    assert!(eddsa::is_valid(
        &instruction.owner,
        &instruction.message(),
        &instruction.signature
    ));

    // One more fill slot.
    let wider = |capacity| {
        synthesized(BatchCircuit::blank(DarkPoolApp::<3>::new(), capacity).expect("blank"))
            .num_constraints()
    };
    let per_slot_three = (wider(4) - wider(2)) / 2;

    println!(
        "dark pool (F = {F}, {} key slots): per slot {per_slot}, fixed per batch {fixed}",
        Pool::KEYS
    );
    println!("  app logic {logic} (request allocation {allocation}, signature {signature}); batch of 2: {two}, of 4: {four}");
    println!("  F = 3: per slot {per_slot_three}");
    assert_eq!(
        (
            per_slot,
            fixed,
            logic,
            allocation,
            signature,
            per_slot_three
        ),
        (14_282, 2_397, 5_557, 420, 3_461, 16_160),
        "update the table in host/apps/darkpool.rs"
    );
}
