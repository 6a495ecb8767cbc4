//! The native multi-writer store of Spice (DESIGN §4): a concurrent map key → `(k, v, t)`
//! shared by many worker threads, whose every transaction leaves a [`TxRecord`] for the
//! prover, plus the native twin of the epoch audit ([`EpochDigests`]).
//!
//! # One request, step by step ([`Store::transact`])
//!
//! 1. Check the keys: at least one, at most [`Store::max_keys_per_request`], all distinct.
//! 2. Lock every key's slot, in increasing canonical key order ([`key_order`]).
//! 3. Read the current tuples `(k, v_old, t_old)` (a never-written key reads `(k, 0, 0)`).
//! 4. Run the application's logic on the old values; it returns the new values.
//! 5. Take `t_req` from the shared clock — *while every lock is still held*.
//! 6. Write `(k, v_new, t_req)` for every key (a pure read writes `v_new = v_old`), unlock.
//!
//! # Why this is a serial execution in `t_req` order
//!
//! The audit's chain argument needs, for every key, that each read returns the latest write
//! in `t_req` order and that timestamps strictly increase along the key's history. Both
//! follow from taking `t_req` inside the critical section:
//!
//! * Two requests that share a key k hold k's lock over disjoint intervals, so one critical
//!   section — including its draw from the clock — ends before the other begins. The clock
//!   is monotone, so the earlier request has the smaller `t_req`, and the later one reads
//!   exactly the tuple the earlier one wrote (nobody else can write k in between). Hence
//!   `t_old < t_req` along every key and every read sees the latest write by `t_req`.
//! * Had `t_req` been drawn *before* locking, a request could draw 5, be overtaken by a
//!   request drawing 6 that writes k, then lock k and write `(k, ·, 5)` over a tuple with
//!   timestamp 6: the in-circuit check `t_old < t_req` would fail — an honest service
//!   unable to prove its own history.
//! * Requests that share no key commute, so their relative `t_req` order is irrelevant.
//!
//! Drawing `t_req` after the application logic (step 5, not right after step 2) is equally
//! sound — any instant inside the critical section works — and it means a **failed request
//! consumes no timestamp**: it leaves no trace at all, neither in the state nor in the clock.
//!
//! # Why sorted locks
//!
//! A request holds several slot locks at once. If every request acquires them in one global
//! total order, the wait-for graph can have no cycle, so there is no deadlock. The order is
//! the canonical integer order of keys (the same order the audit requires of `final`).
//! The other locks never close a cycle: a shard lock is held only briefly to find or create
//! a slot and never while waiting for a slot; the epoch gate is taken by transactions in
//! shared mode only, and its exclusive holder ([`Store::snapshot`], [`Store::close_epoch`])
//! runs when no transaction holds any slot.
//!
//! # Repeated keys are rejected, not merged
//!
//! DESIGN §4 requires the keys of one request to be distinct. The store rejects a repeated
//! key with [`StoreError::DuplicateKey`] instead of merging it: merging would change what
//! the application's logic sees (one value for two positions) and which new value wins,
//! a semantic choice that belongs to the application, which knows what its touches mean.
//!
//! # Epochs
//!
//! Every transaction runs inside one epoch (recorded in [`TxRecord::epoch`]). The epoch
//! gate makes [`Store::close_epoch`] a consistent cut: it waits for in-flight transactions,
//! reads the final state and the keys first written in the epoch, and starts the next epoch
//! in one step, so every record belongs to exactly one epoch's audit. A separate
//! "begin epoch" call would race with transactions and is deliberately not offered.
//!
//! # Hashing is the caller's job
//!
//! Records carry plain tuples, not hashes: H costs about 0.1 ms per tuple, far longer than a
//! critical section, so hashing belongs outside the locks — in the witness builder, in
//! parallel over a batch ([`BatchDigests::of`] does it with rayon and returns what RS and WS
//! contribute; the gadget hints come from [`crate::host::set_digest::hash_tuple_with_hint`]).

use std::{
    cmp::Ordering,
    collections::{hash_map::RandomState, HashMap},
    hash::BuildHasher,
    sync::{
        atomic::{AtomicU64, Ordering as AtomicOrdering},
        Arc, Mutex, MutexGuard, PoisonError, RwLock,
    },
};

use ark_bls12_381::Fr;
use ark_ff::{PrimeField, Zero};
use rayon::prelude::*;

use super::set_digest::{SetDigest, SetDigestError, Tuple};

/// Default bound on the keys of one request (the batch circuit has a fixed shape per app;
/// the store refuses what no circuit could prove).
pub const DEFAULT_MAX_KEYS_PER_REQUEST: usize = 16;

/// The first timestamp the clock hands out (0 is reserved for "never written").
pub const FIRST_TIMESTAMP: u64 = 1;

/// Number of shards of the key → slot map: enough that 8–64 workers rarely meet on a shard
/// lock when they create slots for new keys.
const SHARDS: usize = 64;

/// The order of keys everywhere in Spice: the canonical integer `k.into_bigint()` in
/// `[0, r)`. The audit checks `final` strictly increasing in this order in-circuit, and the
/// store takes locks in it. (`Fr`'s own `Ord` happens to agree, but arkworks documents it
/// only as "some order"; this function pins the one we depend on.)
pub fn key_order(a: &Fr, b: &Fr) -> Ordering {
    a.into_bigint().cmp(&b.into_bigint())
}

/// Errors of a store transaction; `E` is the application's error type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError<E> {
    /// A request must touch at least one key.
    #[error("a request must touch at least one key")]
    NoKeys,
    /// The request touches more keys than the store allows.
    #[error("request touches {requested} keys, the limit is {max}")]
    TooManyKeys {
        /// Keys in the request.
        requested: usize,
        /// The store's limit.
        max: usize,
    },
    /// A key appears twice in one request (keys of a request must be distinct).
    #[error("key {key} appears more than once in one request")]
    DuplicateKey {
        /// The repeated key.
        key: Fr,
    },
    /// The application's logic returned a number of new values different from the keys'.
    #[error("application logic returned {returned} values for {expected} keys")]
    ValueCount {
        /// Keys in the request.
        expected: usize,
        /// Values returned.
        returned: usize,
    },
    /// The clock reached `u64::MAX` (timestamps are 64-bit in the circuit).
    #[error("the store's clock is exhausted: no timestamp below 2^64 is left")]
    ClockExhausted,
    /// The application's logic rejected the request; nothing was written.
    #[error("request rejected by the application: {0}")]
    App(E),
}

/// Why a state cannot be restored, or a record cannot be replayed onto it
/// ([`Store::restored`], [`Store::replay`]): the records do not describe a serial execution
/// from that state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// A restored tuple is not a written one (timestamp 0), is not below the clock, or
    /// repeats a key; or there are tuples before the first epoch.
    #[error("restored state: {0}")]
    BadState(String),
    /// A record belongs to another epoch than the store's.
    #[error("the record of t_req {t_req} is from epoch {record}, the store is in epoch {store}")]
    WrongEpoch {
        /// The record's timestamp.
        t_req: u64,
        /// The record's epoch.
        record: u64,
        /// The store's epoch.
        store: u64,
    },
    /// A record read a tuple the state does not hold (a request it depended on is missing,
    /// or the records are out of order).
    #[error("the record of t_req {t_req} read {read:?}, the state holds the key with timestamp {current_timestamp}{}", if read.timestamp == *current_timestamp { " and another value" } else { "" })]
    StaleRead {
        /// The record's timestamp.
        t_req: u64,
        /// The tuple it read.
        read: Tuple,
        /// The timestamp of the key's tuple in the state.
        current_timestamp: u64,
    },
    /// A record's written tuple is not `(k, v, t_req)` for the key it read.
    #[error("the record of t_req {t_req} wrote {written:?}")]
    BadWrite {
        /// The record's timestamp.
        t_req: u64,
        /// The tuple it wrote.
        written: Tuple,
    },
}

/// One key's read-modify-write inside a transaction: the tuple read and the tuple written.
/// RS receives `H(old)`, WS receives `H(new)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StorageOp {
    /// The tuple read: `(k, v_old, t_old)`, `(k, 0, 0)` for a key never written.
    pub old: Tuple,
    /// The tuple written: `(k, v_new, t_req)`.
    pub new: Tuple,
}

impl StorageOp {
    /// The key this operation touched (`old.key == new.key` by construction).
    pub fn key(&self) -> Fr {
        self.old.key
    }
}

/// What one committed transaction did, for the prover.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TxRecord {
    /// The epoch the transaction ran in.
    pub epoch: u64,
    /// The request's timestamp (unique over the store's life, ≥ [`FIRST_TIMESTAMP`]).
    pub t_req: u64,
    /// One operation per key, in the order the caller listed the keys.
    pub ops: Vec<StorageOp>,
}

impl TxRecord {
    /// The tuples read (RS's elements).
    pub fn reads(&self) -> impl Iterator<Item = &Tuple> + '_ {
        self.ops.iter().map(|op| &op.old)
    }

    /// The tuples written (WS's elements).
    pub fn writes(&self) -> impl Iterator<Item = &Tuple> + '_ {
        self.ops.iter().map(|op| &op.new)
    }
}

/// The state at an epoch boundary: what the audit of the epoch consumes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochSnapshot {
    /// The epoch this snapshot closes (or, for [`Store::snapshot`], is inside).
    pub epoch: u64,
    /// Every written key's current tuple, keys strictly increasing in [`key_order`].
    pub final_state: Vec<Tuple>,
    /// Keys first written in this epoch, strictly increasing in [`key_order`]; the audit's
    /// `init` adds `(k, 0, 0)` for each of them to the previous epoch's final state.
    pub new_keys: Vec<Fr>,
    /// The clock's next timestamp: every record of this epoch has `t_req` below it.
    pub next_timestamp: u64,
}

/// Per-key state behind the slot's lock.
#[derive(Debug, Default)]
struct Slot {
    value: Fr,
    /// 0 until the first successful write; a slot left at 0 (created by a request that then
    /// failed) is "never written" and is not part of the state.
    timestamp: u64,
    /// The epoch of the first write; meaningful only when `timestamp > 0`.
    first_written_epoch: u64,
}

impl Slot {
    fn tuple(&self, key: Fr) -> Tuple {
        Tuple::new(key, self.value, self.timestamp)
    }
}

type SlotRef = Arc<Mutex<Slot>>;

/// Recovers a guard from a poisoned lock.
///
/// Poisoning is harmless here: the only code that can panic while a slot lock is held is the
/// application's logic, and it runs before anything is written (steps 4 → 6 of a request), so
/// a panicking request leaves every slot exactly as it found it. The exclusive holders of the
/// gate and of the shard maps do not run caller code.
fn recover<G>(result: Result<G, PoisonError<G>>) -> G {
    result.unwrap_or_else(PoisonError::into_inner)
}

/// The concurrent store. Share it between threads by reference (`&Store` is `Send + Sync`)
/// or in an `Arc`.
#[derive(Debug)]
pub struct Store {
    /// The next `t_req`.
    clock: AtomicU64,
    /// The current epoch. Transactions hold it shared for their whole duration; snapshots
    /// and epoch changes hold it exclusively, which makes them consistent cuts.
    gate: RwLock<u64>,
    /// key → slot, sharded by a keyed hash of the key. Slots are never removed, so an `Arc`
    /// taken from a shard stays the key's slot forever.
    shards: Box<[RwLock<HashMap<Fr, SlotRef>>]>,
    hasher: RandomState,
    max_keys_per_request: usize,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// An empty store in epoch 0, clock at [`FIRST_TIMESTAMP`], accepting up to
    /// [`DEFAULT_MAX_KEYS_PER_REQUEST`] keys per request.
    pub fn new() -> Self {
        Self::with_max_keys_per_request(DEFAULT_MAX_KEYS_PER_REQUEST)
    }

    /// An empty store accepting up to `max` keys per request.
    pub fn with_max_keys_per_request(max: usize) -> Self {
        Self {
            clock: AtomicU64::new(FIRST_TIMESTAMP),
            gate: RwLock::new(0),
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            hasher: RandomState::new(),
            max_keys_per_request: max,
        }
    }

    /// A store in `epoch` holding `state` (the tuples written in the epochs before it, keys
    /// distinct), its clock at `next_timestamp`: an epoch's start as a checkpoint recorded it.
    pub fn restored(
        max: usize,
        epoch: u64,
        next_timestamp: u64,
        state: &[Tuple],
    ) -> Result<Self, ReplayError> {
        if epoch == 0 && !state.is_empty() {
            return Err(ReplayError::BadState(format!(
                "{} tuples before the first epoch",
                state.len()
            )));
        }
        let store = Self::with_max_keys_per_request(max);
        *recover(store.gate.write()) = epoch;
        store
            .clock
            .store(next_timestamp.max(FIRST_TIMESTAMP), AtomicOrdering::SeqCst);
        for tuple in state {
            if tuple.timestamp == 0 || tuple.timestamp >= next_timestamp {
                return Err(ReplayError::BadState(format!(
                    "{tuple:?} is not a write below the clock {next_timestamp}"
                )));
            }
            let slot = store.slot(&tuple.key);
            let mut slot = recover(slot.lock());
            if slot.timestamp != 0 {
                return Err(ReplayError::BadState(format!(
                    "key {} appears twice",
                    tuple.key
                )));
            }
            *slot = Slot {
                value: tuple.value,
                timestamp: tuple.timestamp,
                first_written_epoch: epoch - 1,
            };
        }
        Ok(store)
    }

    /// Moves a store just [`restored`](Self::restored) to its epoch's start on to a point
    /// within the epoch: `written` is the tuple of every key written in the epoch up to then
    /// (keys distinct, each written after the start and before `next_timestamp`), which
    /// replaces the key's tuple from before, and the clock moves to `next_timestamp`. A key
    /// with no tuple from before is new in this epoch, as if its writes were replayed.
    pub fn restore_progress(
        &self,
        written: &[Tuple],
        next_timestamp: u64,
    ) -> Result<(), ReplayError> {
        let gate = recover(self.gate.write());
        let epoch = *gate;
        let start = self.clock.load(AtomicOrdering::SeqCst);
        if next_timestamp < start {
            return Err(ReplayError::BadState(format!(
                "a clock of {next_timestamp} is behind the epoch's start at {start}"
            )));
        }
        for tuple in written {
            if tuple.timestamp < start || tuple.timestamp >= next_timestamp {
                return Err(ReplayError::BadState(format!(
                    "{tuple:?} is not a write of the epoch between {start} and {next_timestamp}"
                )));
            }
            let slot = self.slot(&tuple.key);
            let mut slot = recover(slot.lock());
            if slot.timestamp >= start {
                return Err(ReplayError::BadState(format!(
                    "key {} appears twice",
                    tuple.key
                )));
            }
            if slot.timestamp == 0 {
                slot.first_written_epoch = epoch;
            }
            slot.value = tuple.value;
            slot.timestamp = tuple.timestamp;
        }
        self.clock.store(next_timestamp, AtomicOrdering::SeqCst);
        drop(gate);
        Ok(())
    }

    /// Applies a record of a transaction committed in the current epoch again, as rebuilding
    /// the state after a restart does: every key's tuple must be the one the record read, and
    /// becomes the one it wrote; the clock moves past the record's `t_req`. Replaying an
    /// epoch's records in `t_req` order onto the epoch's starting state rebuilds the state
    /// they produced. On an error the store is left part-way: discard it.
    pub fn replay(&self, record: &TxRecord) -> Result<(), ReplayError> {
        let gate = recover(self.gate.write());
        let (t_req, epoch) = (record.t_req, *gate);
        if record.epoch != epoch {
            return Err(ReplayError::WrongEpoch {
                t_req,
                record: record.epoch,
                store: epoch,
            });
        }
        for op in &record.ops {
            if op.new != Tuple::new(op.old.key, op.new.value, t_req) || op.old.timestamp >= t_req {
                return Err(ReplayError::BadWrite {
                    t_req,
                    written: op.new,
                });
            }
            let slot = self.slot(&op.old.key);
            let mut slot = recover(slot.lock());
            let current = slot.tuple(op.old.key);
            if current != op.old {
                return Err(ReplayError::StaleRead {
                    t_req,
                    read: op.old,
                    current_timestamp: current.timestamp,
                });
            }
            if slot.timestamp == 0 {
                slot.first_written_epoch = epoch;
            }
            slot.value = op.new.value;
            slot.timestamp = t_req;
        }
        self.clock
            .fetch_max(t_req.saturating_add(1), AtomicOrdering::SeqCst);
        drop(gate);
        Ok(())
    }

    /// The most keys one request may touch.
    pub fn max_keys_per_request(&self) -> usize {
        self.max_keys_per_request
    }

    /// Runs one request atomically over `keys` and returns its record.
    ///
    /// `logic` receives the current values of `keys` (in the caller's order; 0 for a key
    /// never written) and returns the new values in the same order, or an application error.
    /// On success every key is written `(k, v_new, t_req)` with a fresh `t_req`; on any error
    /// (including a panic in `logic`) nothing is written and no timestamp is consumed.
    ///
    /// `logic` runs with the keys' locks held: keep it short, and never call back into the
    /// store from it (that would deadlock).
    pub fn transact<E, F>(&self, keys: &[Fr], logic: F) -> Result<TxRecord, StoreError<E>>
    where
        F: FnOnce(&[Fr]) -> Result<Vec<Fr>, E>,
    {
        if keys.is_empty() {
            return Err(StoreError::NoKeys);
        }
        if keys.len() > self.max_keys_per_request {
            return Err(StoreError::TooManyKeys {
                requested: keys.len(),
                max: self.max_keys_per_request,
            });
        }
        // Lock order: positions of `keys` sorted by canonical key (see the module docs).
        let canonical: Vec<_> = keys.iter().map(|k| k.into_bigint()).collect();
        let mut lock_order: Vec<usize> = (0..keys.len()).collect();
        lock_order.sort_unstable_by(|&i, &j| canonical[i].cmp(&canonical[j]));
        if let Some(pair) = lock_order
            .windows(2)
            .find(|pair| canonical[pair[0]] == canonical[pair[1]])
        {
            return Err(StoreError::DuplicateKey { key: keys[pair[0]] });
        }

        let gate = recover(self.gate.read());
        let epoch = *gate;
        // Find or create the slots before locking any of them: shard locks are never held
        // while waiting for a slot lock.
        let slots: Vec<SlotRef> = keys.iter().map(|key| self.slot(key)).collect();
        let mut guards: Vec<Option<MutexGuard<'_, Slot>>> = (0..keys.len()).map(|_| None).collect();
        for &i in &lock_order {
            guards[i] = Some(recover(slots[i].lock()));
        }
        let mut guards: Vec<MutexGuard<'_, Slot>> = guards.into_iter().flatten().collect();

        let old: Vec<Tuple> = keys
            .iter()
            .zip(&guards)
            .map(|(key, slot)| slot.tuple(*key))
            .collect();
        let old_values: Vec<Fr> = old.iter().map(|tuple| tuple.value).collect();
        let new_values = logic(&old_values).map_err(StoreError::App)?;
        if new_values.len() != keys.len() {
            return Err(StoreError::ValueCount {
                expected: keys.len(),
                returned: new_values.len(),
            });
        }

        // t_req inside the critical section: see "Why this is a serial execution".
        let t_req = self
            .clock
            .fetch_update(AtomicOrdering::SeqCst, AtomicOrdering::SeqCst, |t| {
                t.checked_add(1)
            })
            .map_err(|_| StoreError::ClockExhausted)?;

        let mut ops = Vec::with_capacity(keys.len());
        for ((slot, old), value) in guards.iter_mut().zip(old).zip(new_values) {
            if slot.timestamp == 0 {
                slot.first_written_epoch = epoch;
            }
            slot.value = value;
            slot.timestamp = t_req;
            ops.push(StorageOp {
                old,
                new: Tuple::new(old.key, value, t_req),
            });
        }
        drop(guards);
        drop(gate);
        Ok(TxRecord { epoch, t_req, ops })
    }

    /// The current state, consistent across keys (waits for in-flight transactions), without
    /// ending the epoch.
    pub fn snapshot(&self) -> EpochSnapshot {
        let gate = recover(self.gate.write());
        self.snapshot_locked(*gate)
    }

    /// Ends the current epoch: returns its snapshot (the audit's `final` and new keys) and
    /// starts the next epoch, atomically with respect to transactions, so that every record
    /// belongs to exactly one epoch.
    pub fn close_epoch(&self) -> EpochSnapshot {
        let mut gate = recover(self.gate.write());
        let snapshot = self.snapshot_locked(*gate);
        *gate += 1;
        snapshot
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        *recover(self.gate.read())
    }

    /// The slot of `key`, created empty if the key has none yet.
    fn slot(&self, key: &Fr) -> SlotRef {
        let shard = &self.shards[self.shard_of(key)];
        if let Some(slot) = recover(shard.read()).get(key) {
            return Arc::clone(slot);
        }
        Arc::clone(recover(shard.write()).entry(*key).or_default())
    }

    fn shard_of(&self, key: &Fr) -> usize {
        // A keyed hash: clients choose keys, and must not be able to pile them on one shard.
        (self.hasher.hash_one(key) % SHARDS as u64) as usize
    }

    /// The snapshot of `epoch`; the caller holds the gate exclusively, so no slot is locked.
    fn snapshot_locked(&self, epoch: u64) -> EpochSnapshot {
        let mut final_state = Vec::new();
        let mut new_keys = Vec::new();
        for shard in self.shards.iter() {
            for (key, slot) in recover(shard.read()).iter() {
                let slot = recover(slot.lock());
                if slot.timestamp == 0 {
                    continue;
                }
                final_state.push(slot.tuple(*key));
                if slot.first_written_epoch == epoch {
                    new_keys.push(*key);
                }
            }
        }
        final_state.sort_unstable_by(|a, b| key_order(&a.key, &b.key));
        new_keys.sort_unstable_by(key_order);
        EpochSnapshot {
            epoch,
            final_state,
            new_keys,
            next_timestamp: self.clock.load(AtomicOrdering::SeqCst),
        }
    }
}

// ------------------------------------------------------------------------------------------
// The native twin of the audit.
// ------------------------------------------------------------------------------------------

/// Errors of the native audit bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// `final` is not strictly increasing by key at `index` (so some key appears twice, or
    /// the order differs from the circuit's).
    #[error("final state is not strictly increasing by key at index {index}")]
    FinalNotSorted {
        /// The first index whose key is not above its predecessor's.
        index: usize,
    },
    /// A tuple could not be hashed.
    #[error(transparent)]
    Hash(#[from] SetDigestError),
}

/// `MH` of `tuples`, hashed in parallel (H dominates the cost).
fn digest_par(tuples: &[Tuple]) -> Result<SetDigest, SetDigestError> {
    tuples
        .par_chunks(32)
        .map(SetDigest::of)
        .try_reduce(SetDigest::empty, |a, b| Ok(a + b))
}

/// What a set of transactions contributes to the digests: RS = Σ H(old), WS = Σ H(new).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct BatchDigests {
    /// The read digest RS.
    pub read_set: SetDigest,
    /// The write digest WS.
    pub write_set: SetDigest,
}

impl BatchDigests {
    /// RS and WS of `records` (unblinded), hashed in parallel.
    pub fn of(records: &[TxRecord]) -> Result<Self, SetDigestError> {
        let reads: Vec<Tuple> = records.iter().flat_map(TxRecord::reads).copied().collect();
        let writes: Vec<Tuple> = records.iter().flat_map(TxRecord::writes).copied().collect();
        Ok(Self {
            read_set: digest_par(&reads)?,
            write_set: digest_par(&writes)?,
        })
    }
}

/// The audit's `init`: the previous epoch's final state plus `(k, 0, 0)` for every key new in
/// this epoch, sorted by key. (The audit does not need `init` sorted; sorting keeps it
/// reproducible.)
pub fn audit_init(previous_final: &[Tuple], new_keys: &[Fr]) -> Vec<Tuple> {
    let mut init: Vec<Tuple> = previous_final
        .iter()
        .copied()
        .chain(new_keys.iter().map(|&key| Tuple::new(key, Fr::zero(), 0)))
        .collect();
    init.sort_unstable_by(|a, b| key_order(&a.key, &b.key));
    init
}

/// The four digests of an epoch's audit equation `MH(init) + WS = RS + MH(final)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochDigests {
    /// `MH(init)`, init as in [`audit_init`].
    pub init: SetDigest,
    /// RS and WS summed over the epoch's records.
    pub batches: BatchDigests,
    /// `MH(final)`.
    pub final_state: SetDigest,
}

impl EpochDigests {
    /// The digests of one epoch: `previous_final` and `new_keys` give `init`; `records` are
    /// all the epoch's transactions (in any order); `final_state` must be strictly increasing
    /// by key ([`key_order`]), as the in-circuit audit checks.
    pub fn compute(
        previous_final: &[Tuple],
        new_keys: &[Fr],
        records: &[TxRecord],
        final_state: &[Tuple],
    ) -> Result<Self, AuditError> {
        if let Some(index) = (1..final_state.len())
            .find(|&i| key_order(&final_state[i - 1].key, &final_state[i].key) != Ordering::Less)
        {
            return Err(AuditError::FinalNotSorted { index });
        }
        Ok(Self {
            init: digest_par(&audit_init(previous_final, new_keys))?,
            batches: BatchDigests::of(records)?,
            final_state: digest_par(final_state)?,
        })
    }

    /// Whether `MH(init) + WS = RS + MH(final)`.
    pub fn balances(&self) -> bool {
        self.init + self.batches.write_set == self.batches.read_set + self.final_state
    }
}

/// The native audit of one epoch: whether its digests balance (see [`EpochDigests`]).
pub fn audit_balances(
    previous_final: &[Tuple],
    new_keys: &[Fr],
    records: &[TxRecord],
    final_state: &[Tuple],
) -> Result<bool, AuditError> {
    EpochDigests::compute(previous_final, new_keys, records, final_state).map(|d| d.balances())
}
