//! The native multi-writer store: concurrent execution is a serial execution in `t_req`
//! order, its records balance the native audit equation, and tampered record sets do not.
//!
//! Run with `cargo test --release --test integration store::`.

use std::{
    collections::HashMap,
    panic::{catch_unwind, AssertUnwindSafe},
    thread,
};

use ark_bls12_381::Fr;
use ark_ff::{PrimeField, Zero};
use proptest::{prelude::*, sample::Index};

use spice::host::{
    set_digest::Tuple,
    store::{
        audit_balances, key_order, EpochDigests, EpochSnapshot, ReplayError, Store, StoreError,
        TxRecord, DEFAULT_MAX_KEYS_PER_REQUEST, FIRST_TIMESTAMP,
    },
};

/// Worker threads sharing the store.
const WORKERS: usize = 8;
/// Accounts of the ledger workload.
const ACCOUNTS: usize = 32;
/// The hot accounts most requests touch.
const HOT_ACCOUNTS: usize = 3;

/// Account `i`'s key. Odd accounts get keys near the modulus, so that lock and snapshot order
/// really is the canonical integer order and not, say, the order of small limbs.
fn account_key(i: usize) -> Fr {
    let small = Fr::from(i as u64 + 1);
    if i % 2 == 0 {
        small
    } else {
        -small
    }
}

/// A balance stored as an Fr; every value the ledger writes is a u64.
fn balance(value: Fr) -> u64 {
    let limbs = value.into_bigint().0;
    assert!(
        limbs[1..].iter().all(|&l| l == 0),
        "balance {value} is not a u64"
    );
    limbs[0]
}

/// The ledger's requests (a stand-in for the real app: enough to make values depend on
/// earlier writes, and to fail sometimes).
#[derive(Clone, Copy, Debug)]
enum Request {
    Mint { to: usize, amount: u64 },
    Transfer { from: usize, to: usize, amount: u64 },
    Read { account: usize },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rejected {
    InsufficientFunds,
    Overflow,
}

impl Request {
    fn keys(&self) -> Vec<Fr> {
        match *self {
            Request::Mint { to, .. } => vec![account_key(to)],
            Request::Transfer { from, to, .. } => vec![account_key(from), account_key(to)],
            Request::Read { account } => vec![account_key(account)],
        }
    }

    /// The app logic: old values (in `keys()` order) → new values.
    fn apply(&self, values: &[Fr]) -> Result<Vec<Fr>, Rejected> {
        match *self {
            Request::Mint { amount, .. } => {
                let to = balance(values[0])
                    .checked_add(amount)
                    .ok_or(Rejected::Overflow)?;
                Ok(vec![Fr::from(to)])
            }
            Request::Transfer { amount, .. } => {
                let from = balance(values[0])
                    .checked_sub(amount)
                    .ok_or(Rejected::InsufficientFunds)?;
                let to = balance(values[1])
                    .checked_add(amount)
                    .ok_or(Rejected::Overflow)?;
                Ok(vec![Fr::from(from), Fr::from(to)])
            }
            Request::Read { .. } => Ok(values.to_vec()),
        }
    }
}

type Outcome = (Request, Result<TxRecord, StoreError<Rejected>>);

/// An account index skewed towards the hot accounts.
fn account() -> impl Strategy<Value = usize> {
    prop_oneof![7 => 0..HOT_ACCOUNTS, 3 => 0..ACCOUNTS]
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        2 => (account(), 1..1_000u64).prop_map(|(to, amount)| Request::Mint { to, amount }),
        6 => (account(), 1..ACCOUNTS, 1..400u64).prop_map(|(from, offset, amount)| {
            Request::Transfer { from, to: (from + offset) % ACCOUNTS, amount }
        }),
        1 => account().prop_map(|account| Request::Read { account }),
    ]
}

/// A workload that always starts with two mints to account 0, so that at least one read in
/// it returns an earlier request's write.
fn workload(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Request>> {
    prop::collection::vec(request(), len).prop_map(|mut requests| {
        let seed = [
            Request::Mint { to: 0, amount: 5 },
            Request::Mint { to: 0, amount: 7 },
        ];
        requests.splice(0..0, seed);
        requests
    })
}

/// Runs `requests` on `store` from `WORKERS` threads (round-robin split).
fn run_concurrently(store: &Store, requests: &[Request]) -> Vec<Outcome> {
    thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                scope.spawn(move || {
                    requests
                        .iter()
                        .skip(w)
                        .step_by(WORKERS)
                        .map(|request| {
                            let result = store.transact(&request.keys(), |v| request.apply(v));
                            (*request, result)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("worker thread panicked"))
            .collect()
    })
}

/// The records of the successful requests.
fn records(outcomes: &[Outcome]) -> Vec<TxRecord> {
    outcomes
        .iter()
        .filter_map(|(_, result)| result.as_ref().ok().cloned())
        .collect()
}

/// The tuple of `key` in a replayed state (`(k, 0, 0)` if never written).
fn current(state: &HashMap<Fr, Tuple>, key: Fr) -> Tuple {
    state
        .get(&key)
        .copied()
        .unwrap_or(Tuple::new(key, Fr::zero(), 0))
}

/// A state map as the sorted final state the store reports.
fn sorted_state(state: &HashMap<Fr, Tuple>) -> Vec<Tuple> {
    let mut tuples: Vec<Tuple> = state.values().copied().collect();
    tuples.sort_by(|a, b| key_order(&a.key, &b.key));
    tuples
}

fn assert_strictly_increasing(snapshot: &EpochSnapshot) {
    for pair in snapshot.final_state.windows(2) {
        assert!(pair[0].key.into_bigint() < pair[1].key.into_bigint());
    }
    for pair in snapshot.new_keys.windows(2) {
        assert!(pair[0].into_bigint() < pair[1].into_bigint());
    }
}

/// Runs one epoch of `requests` concurrently, closes it, and returns records and snapshot.
fn run_epoch(store: &Store, requests: &[Request]) -> (Vec<TxRecord>, EpochSnapshot) {
    let records = records(&run_concurrently(store, requests));
    (records, store.close_epoch())
}

/// A finished single-epoch concurrent workload with its audit inputs, for tampering.
fn audited_workload(requests: &[Request]) -> (Vec<TxRecord>, EpochSnapshot) {
    let store = Store::new();
    let (records, snapshot) = run_epoch(&store, requests);
    assert_eq!(
        audit_balances(&[], &snapshot.new_keys, &records, &snapshot.final_state),
        Ok(true),
        "the untampered workload must balance"
    );
    (records, snapshot)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn concurrent_transfers_conserve_total_and_match_sequential_replay(
        requests in workload(100..400),
    ) {
        let store = Store::new();
        let outcomes = run_concurrently(&store, &requests);
        let snapshot = store.snapshot();
        assert_strictly_increasing(&snapshot);

        // Conservation: the balances add up to what the successful mints created.
        let minted: u64 = outcomes
            .iter()
            .filter(|(_, result)| result.is_ok())
            .filter_map(|(request, _)| match request {
                Request::Mint { amount, .. } => Some(*amount),
                _ => None,
            })
            .sum();
        let total: u64 = snapshot.final_state.iter().map(|t| balance(t.value)).sum();
        prop_assert_eq!(total, minted);

        // Replay the successful requests one by one in t_req order from the empty state:
        // every read must be the latest write, the app logic must compute the same new
        // values, and the end state must be the store's.
        let mut committed: Vec<(Request, TxRecord)> = outcomes
            .iter()
            .filter_map(|(request, result)| result.as_ref().ok().map(|r| (*request, r.clone())))
            .collect();
        committed.sort_by_key(|(_, record)| record.t_req);
        for pair in committed.windows(2) {
            prop_assert!(pair[0].1.t_req < pair[1].1.t_req, "t_req must be unique");
        }
        let mut state: HashMap<Fr, Tuple> = HashMap::new();
        for (request, record) in &committed {
            let keys = request.keys();
            prop_assert_eq!(record.ops.iter().map(|op| op.key()).collect::<Vec<_>>(), keys.clone());
            let old: Vec<Fr> = keys.iter().map(|&k| current(&state, k).value).collect();
            let new = request.apply(&old).expect("a committed request succeeds on replay");
            for ((op, &key), value) in record.ops.iter().zip(&keys).zip(new) {
                prop_assert_eq!(op.old, current(&state, key), "read is not the latest write");
                prop_assert_eq!(op.new, Tuple::new(key, value, record.t_req));
                state.insert(key, op.new);
            }
        }
        prop_assert_eq!(&sorted_state(&state), &snapshot.final_state);

        // A failed request consumes no timestamp, so the committed ones are dense from 1.
        let t_reqs: Vec<u64> = committed.iter().map(|(_, r)| r.t_req).collect();
        let expected: Vec<u64> = (FIRST_TIMESTAMP..).take(t_reqs.len()).collect();
        prop_assert_eq!(t_reqs, expected);
        prop_assert_eq!(snapshot.next_timestamp, FIRST_TIMESTAMP + committed.len() as u64);
    }

    #[test]
    fn timestamps_strictly_increase_along_each_key(requests in workload(100..400)) {
        let store = Store::new();
        let records = records(&run_concurrently(&store, &requests));
        let snapshot = store.snapshot();

        let mut chains: HashMap<Fr, Vec<(u64, u64)>> = HashMap::new();
        for record in &records {
            for op in &record.ops {
                prop_assert_eq!(op.new.timestamp, record.t_req);
                prop_assert!(op.old.timestamp < op.new.timestamp);
                chains.entry(op.key()).or_default().push((op.old.timestamp, op.new.timestamp));
            }
        }
        let last: HashMap<Fr, u64> =
            snapshot.final_state.iter().map(|t| (t.key, t.timestamp)).collect();
        prop_assert_eq!(chains.len(), last.len());
        for (key, mut chain) in chains {
            chain.sort_by_key(|&(_, new)| new);
            // Each op reads the timestamp the previous op on the key wrote, starting at 0.
            let mut previous = 0;
            for (old, new) in chain {
                prop_assert_eq!(old, previous);
                prop_assert!(new > previous);
                previous = new;
            }
            prop_assert_eq!(last.get(&key).copied(), Some(previous));
        }
    }

    #[test]
    fn failed_request_leaves_store_unchanged(
        requests in workload(10..60),
        account in 0..ACCOUNTS,
        fresh_key in any::<u64>().prop_map(|x| Fr::from(x) + Fr::from(1u64 << 40)),
    ) {
        let store = Store::new();
        run_concurrently(&store, &requests);
        let before = store.snapshot();
        let keys = [account_key(account), fresh_key];

        // The application rejects.
        let result = store.transact(&keys, |_| Err::<Vec<Fr>, _>(Rejected::InsufficientFunds));
        prop_assert_eq!(result, Err(StoreError::App(Rejected::InsufficientFunds)));
        prop_assert_eq!(&store.snapshot(), &before);

        // The application returns the wrong number of values.
        let result = store.transact(&keys, |_| Ok::<_, Rejected>(vec![Fr::from(1u64)]));
        prop_assert_eq!(result, Err(StoreError::ValueCount { expected: 2, returned: 1 }));
        prop_assert_eq!(&store.snapshot(), &before);

        // The application panics while the locks are held: nothing is written, and the
        // (poisoned) slots stay usable.
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            store.transact(&keys, |_| -> Result<Vec<Fr>, Rejected> { panic!("app bug") })
        }));
        prop_assert!(panicked.is_err());
        prop_assert_eq!(&store.snapshot(), &before);

        // No failure consumed a timestamp: the next success gets the one the clock had.
        let record = store
            .transact(&keys, |values| Ok::<_, Rejected>(values.to_vec()))
            .expect("a read succeeds");
        prop_assert_eq!(record.t_req, before.next_timestamp);
        let old = before
            .final_state
            .iter()
            .find(|t| t.key == keys[0])
            .copied()
            .unwrap_or(Tuple::new(keys[0], Fr::zero(), 0));
        prop_assert_eq!(record.ops[0].old, old);
        prop_assert_eq!(record.ops[1].old, Tuple::new(fresh_key, Fr::zero(), 0));
    }

    #[test]
    fn duplicate_keys_are_rejected(
        keys in prop::collection::vec(0..ACCOUNTS, 1..8),
        repeat in any::<Index>(),
        position in any::<Index>(),
    ) {
        let store = Store::new();
        let mut keys: Vec<Fr> = keys.into_iter().map(account_key).collect();
        let repeated = keys[repeat.index(keys.len())];
        keys.insert(position.index(keys.len() + 1), repeated);
        let before = store.snapshot();

        let mut called = false;
        let result = store.transact(&keys, |values| {
            called = true;
            Ok::<_, Rejected>(values.to_vec())
        });
        // Which repeated key is reported is unspecified when several repeat.
        let reported = match result {
            Err(StoreError::DuplicateKey { key }) => key,
            other => panic!("expected a duplicate-key error, got {other:?}"),
        };
        prop_assert!(keys.iter().filter(|&&k| k == reported).count() > 1);
        prop_assert!(!called, "the app logic must not run on a rejected request");
        prop_assert_eq!(store.snapshot(), before);
    }
}

proptest! {
    // Each case hashes a few hundred tuples (~0.1 ms each): keep the case counts small.
    #![proptest_config(ProptestConfig::with_cases(4))]

    #[test]
    fn audit_balances_on_concurrent_workload(
        epochs in prop::collection::vec(workload(20..80), 2..4),
    ) {
        let store = Store::new();
        let mut previous_final: Vec<Tuple> = Vec::new();
        for (epoch, requests) in epochs.iter().enumerate() {
            let (records, snapshot) = run_epoch(&store, requests);
            prop_assert_eq!(snapshot.epoch, epoch as u64);
            prop_assert!(records.iter().all(|r| r.epoch == epoch as u64));
            // new keys = keys of final that were not in the previous final.
            let expected_new: Vec<Fr> = snapshot
                .final_state
                .iter()
                .map(|t| t.key)
                .filter(|k| !previous_final.iter().any(|t| t.key == *k))
                .collect();
            prop_assert_eq!(&snapshot.new_keys, &expected_new);

            let digests = EpochDigests::compute(
                &previous_final,
                &snapshot.new_keys,
                &records,
                &snapshot.final_state,
            )
            .expect("digests");
            prop_assert!(digests.balances(), "epoch {} does not balance", epoch);
            previous_final = snapshot.final_state;
        }
    }

    #[test]
    fn stale_read_breaks_the_balance(requests in workload(20..80), pick in any::<Index>()) {
        let (mut records, snapshot) = audited_workload(&requests);
        // Reads that returned an earlier request's write (there is one: the two seed mints).
        let candidates: Vec<(usize, usize)> = records
            .iter()
            .enumerate()
            .flat_map(|(r, record)| {
                record.ops.iter().enumerate().filter(|(_, op)| op.old.timestamp > 0).map(move |(o, _)| (r, o))
            })
            .collect();
        prop_assert!(!candidates.is_empty());
        let (r, o) = candidates[pick.index(candidates.len())];
        // The version before the one read: what the writer of `old` itself read.
        let read = records[r].ops[o].old;
        let older = records
            .iter()
            .flat_map(|record| &record.ops)
            .find(|op| op.new == read)
            .expect("every read tuple was written by a record")
            .old;
        prop_assert!(older.timestamp < read.timestamp);
        records[r].ops[o].old = older;
        prop_assert_eq!(
            audit_balances(&[], &snapshot.new_keys, &records, &snapshot.final_state),
            Ok(false)
        );
    }

    #[test]
    fn dropped_record_breaks_the_balance(requests in workload(20..80), pick in any::<Index>()) {
        let (mut records, snapshot) = audited_workload(&requests);
        records.remove(pick.index(records.len()));
        prop_assert_eq!(
            audit_balances(&[], &snapshot.new_keys, &records, &snapshot.final_state),
            Ok(false)
        );
    }

    #[test]
    fn duplicated_record_breaks_the_balance(requests in workload(20..80), pick in any::<Index>()) {
        let (mut records, snapshot) = audited_workload(&requests);
        let duplicate = records[pick.index(records.len())].clone();
        records.push(duplicate);
        prop_assert_eq!(
            audit_balances(&[], &snapshot.new_keys, &records, &snapshot.final_state),
            Ok(false)
        );
    }
}

proptest! {
    /// What a resumed service does: the epoch's starting state (the previous epoch's final
    /// state and clock), then the epoch's records in `t_req` order.
    #[test]
    fn replaying_an_epochs_records_onto_its_start_rebuilds_the_store(
        first in workload(10..60),
        second in workload(10..60),
    ) {
        let store = Store::new();
        let (_, start) = run_epoch(&store, &first);
        let mut records = records(&run_concurrently(&store, &second));
        let live = store.snapshot();
        let rebuilt = Store::restored(DEFAULT_MAX_KEYS_PER_REQUEST, 1, start.next_timestamp, &start.final_state)
            .expect("a snapshot restores");
        records.sort_by_key(|record| record.t_req);
        for record in &records {
            rebuilt.replay(record).expect("the records replay");
        }
        prop_assert_eq!(rebuilt.snapshot(), live);
    }

    /// What a resume from a progress record does: the epoch's start, then the tuples written
    /// in the epoch up to a point (the rest replayed): the same store, new keys included, as
    /// the live one.
    #[test]
    fn restoring_an_epochs_progress_onto_its_start_rebuilds_the_store(
        first in workload(10..60),
        second in workload(10..60),
        third in workload(0..30),
    ) {
        let store = Store::new();
        let (_, start) = run_epoch(&store, &first);
        run_concurrently(&store, &second);
        let midway = store.snapshot();
        let mut later = records(&run_concurrently(&store, &third));
        let live = store.snapshot();
        let written: Vec<Tuple> = midway
            .final_state
            .iter()
            .filter(|t| t.timestamp >= start.next_timestamp)
            .copied()
            .collect();
        let rebuilt = Store::restored(DEFAULT_MAX_KEYS_PER_REQUEST, 1, start.next_timestamp, &start.final_state)
            .expect("a snapshot restores");
        rebuilt.restore_progress(&written, midway.next_timestamp).expect("the progress restores");
        prop_assert_eq!(rebuilt.snapshot(), midway);
        later.sort_by_key(|record| record.t_req);
        for record in &later {
            rebuilt.replay(record).expect("the later records replay");
        }
        prop_assert_eq!(rebuilt.snapshot(), live);
    }

    #[test]
    fn a_replay_missing_a_record_a_later_one_read_is_refused(requests in workload(20..80), pick in any::<Index>()) {
        let store = Store::new();
        let mut records = records(&run_concurrently(&store, &requests));
        records.sort_by_key(|record| record.t_req);
        // Records whose writes a later record read (there is one: the two seed mints).
        let read: std::collections::HashSet<Tuple> = records.iter().flat_map(|r| r.reads().copied()).collect();
        let candidates: Vec<usize> = (0..records.len()).filter(|&i| records[i].writes().any(|w| read.contains(w))).collect();
        prop_assert!(!candidates.is_empty());
        let dropped = records.remove(candidates[pick.index(candidates.len())]);
        let rebuilt = Store::restored(DEFAULT_MAX_KEYS_PER_REQUEST, 0, FIRST_TIMESTAMP, &[]).expect("empty");
        let refused = records.iter().map(|record| rebuilt.replay(record)).find_map(Result::err);
        prop_assert!(
            matches!(refused, Some(ReplayError::StaleRead { ref read, .. }) if dropped.writes().any(|w| w == read)),
            "{:?}", refused
        );
    }
}

#[test]
fn a_replay_refuses_records_of_another_epoch_and_forged_writes() {
    let store = Store::new();
    let record = store
        .transact(&[account_key(0)], |_| Ok::<_, ()>(vec![Fr::from(5u64)]))
        .expect("writes");
    store.close_epoch();
    let next =
        Store::restored(DEFAULT_MAX_KEYS_PER_REQUEST, 1, record.t_req + 1, &[]).expect("empty");
    assert_eq!(
        next.replay(&record),
        Err(ReplayError::WrongEpoch {
            t_req: record.t_req,
            record: 0,
            store: 1
        })
    );
    let fresh = Store::new();
    let mut forged = record.clone();
    forged.ops[0].new.timestamp += 1; // a write not stamped with its request's t_req
    assert!(matches!(
        fresh.replay(&forged),
        Err(ReplayError::BadWrite { .. })
    ));
    assert_eq!(fresh.replay(&record), Ok(()));
    assert_eq!(fresh.snapshot().final_state, vec![record.ops[0].new]);
    assert_eq!(fresh.snapshot().next_timestamp, record.t_req + 1);
}

#[test]
fn a_restored_state_must_be_written_tuples_below_the_clock_with_distinct_keys() {
    let t = |key: usize, timestamp: u64| Tuple::new(account_key(key), Fr::from(1u64), timestamp);
    let restore =
        |state: &[Tuple]| Store::restored(DEFAULT_MAX_KEYS_PER_REQUEST, 1, 10, state).map(|_| ());
    assert_eq!(restore(&[t(0, 3), t(1, 9)]), Ok(()));
    for bad in [vec![t(0, 0)], vec![t(0, 10)], vec![t(0, 3), t(0, 4)]] {
        assert!(
            matches!(restore(&bad), Err(ReplayError::BadState(_))),
            "{bad:?}"
        );
    }
    assert!(matches!(
        Store::restored(DEFAULT_MAX_KEYS_PER_REQUEST, 0, 10, &[t(0, 3)]),
        Err(ReplayError::BadState(_))
    ));
}

#[test]
fn a_restored_progress_must_be_the_epochs_writes_below_its_clock_with_distinct_keys() {
    let t = |key: usize, timestamp: u64| Tuple::new(account_key(key), Fr::from(1u64), timestamp);
    // The epoch started at 10 with key 0 written before it.
    let restore = |written: &[Tuple], clock: u64| {
        let store = Store::restored(DEFAULT_MAX_KEYS_PER_REQUEST, 1, 10, &[t(0, 3)]).unwrap();
        store
            .restore_progress(written, clock)
            .map(|()| store.snapshot())
    };
    let snapshot = restore(&[t(0, 10), t(1, 19)], 20).expect("restores");
    assert_eq!(snapshot.new_keys, vec![account_key(1)], "only key 1 is new");
    assert_eq!(snapshot.next_timestamp, 20);
    for (bad, clock) in [
        (vec![t(1, 9)], 20),            // written before the epoch
        (vec![t(1, 20)], 20),           // not below the clock
        (vec![t(1, 12), t(1, 14)], 20), // a key twice
        (vec![], 9),                    // a clock behind the epoch's start
    ] {
        assert!(
            matches!(restore(&bad, clock), Err(ReplayError::BadState(_))),
            "{bad:?} at {clock}"
        );
    }
}

#[test]
fn empty_and_oversized_requests_are_rejected() {
    let store = Store::with_max_keys_per_request(3);
    let ok = |values: &[Fr]| Ok::<_, Rejected>(values.to_vec());
    assert_eq!(store.transact(&[], ok), Err(StoreError::NoKeys));
    let keys: Vec<Fr> = (0..4).map(account_key).collect();
    assert_eq!(
        store.transact(&keys, ok),
        Err(StoreError::TooManyKeys {
            requested: 4,
            max: 3
        })
    );
    assert!(store.transact(&keys[..3], ok).is_ok());
}

#[test]
fn unsorted_final_state_is_rejected_by_the_audit() {
    let store = Store::new();
    for i in 0..4 {
        store
            .transact(&[account_key(i)], |_| {
                Ok::<_, Rejected>(vec![Fr::from(i as u64)])
            })
            .expect("write");
    }
    let mut snapshot = store.close_epoch();
    snapshot.final_state.swap(1, 2);
    assert!(EpochDigests::compute(&[], &snapshot.new_keys, &[], &snapshot.final_state).is_err());
}

#[test]
fn a_key_never_written_reads_zero_at_timestamp_zero() {
    let store = Store::new();
    let key = account_key(5);
    let record = store
        .transact(&[key], |values| Ok::<_, Rejected>(values.to_vec()))
        .expect("read");
    assert_eq!(record.t_req, FIRST_TIMESTAMP);
    assert_eq!(record.ops[0].old, Tuple::new(key, Fr::zero(), 0));
    assert_eq!(
        record.ops[0].new,
        Tuple::new(key, Fr::zero(), FIRST_TIMESTAMP)
    );
    // A read is a read-modify-write: the key is now part of the state and new this epoch.
    let snapshot = store.close_epoch();
    assert_eq!(snapshot.final_state, vec![record.ops[0].new]);
    assert_eq!(snapshot.new_keys, vec![key]);
}
