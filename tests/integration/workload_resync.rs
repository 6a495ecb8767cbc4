//! Workloads picked up from a resumed service's state (`Workload::resync`): a generator
//! rebuilt from its seed after a crash reads its clients' nonces, balances and resting orders
//! from the store, gets back exactly the part of its setup the crash cut off, and then
//! generates traffic that behaves as its mix intends (what it expects accepted is accepted),
//! where without the resync it would replay the crashed run's nonces.
//!
//! The crashed run is simulated natively: its requests in one serial order (streams
//! interleaved round-robin, the setup before the traffic, as the demo runs them), cut after a
//! random number of them — the state of a log holding a prefix of the run's batches.
//!
//! Run with `cargo test --release --test integration workload_resync::`.

use std::collections::HashMap;

use ark_bls12_381::Fr;
use ark_ff::{Field, One};
use proptest::prelude::*;

use spice::host::{
    apps::{
        clients::{AccountRequests, Mix, Population},
        darkpool::{records::account_key as darkpool_account_key, DarkPoolWorkload},
        interbank::InterbankWorkload,
        ledger::LedgerWorkload,
        transfer::{account_key as transfer_account_key, TransferRequest, TransferWorkload},
    },
    storage_gadget::{execute, App, Executed},
    store::Store,
    workload::{ResyncError, ResyncState, Workload},
};

use crate::app_harness::run_streams;

/// The requests of `streams` in one serial order that keeps each stream's order.
fn interleave<T: Clone>(streams: &[Vec<T>]) -> Vec<T> {
    let longest = streams.iter().map(Vec::len).max().unwrap_or(0);
    (0..longest)
        .flat_map(|i| {
            streams
                .iter()
                .filter_map(move |stream| stream.get(i).cloned())
        })
        .collect()
}

fn run_serially<A: App>(store: &Store, app: &A, requests: Vec<A::Request>) -> Vec<Executed<A>> {
    requests
        .into_iter()
        .map(|request| execute(store, app, request).expect("request executes"))
        .collect()
}

fn state_of(store: &Store) -> ResyncState {
    ResyncState::new(
        store
            .snapshot()
            .final_state
            .iter()
            .map(|t| (t.key, t.value)),
    )
}

fn values(store: &Store) -> HashMap<Fr, Fr> {
    state_of(store).values().clone()
}

/// A crashed run of `make(seed)`: its setup, then `traffic` requests in `streams` streams,
/// cut after `cut` requests (of setup and traffic together). Returns the store as the log
/// left it, the length of the setup, and the state a complete setup alone makes.
fn crashed_run<W: Workload>(
    make: &dyn Fn() -> W,
    traffic: usize,
    streams: usize,
    cut: usize,
) -> (Store, usize, HashMap<Fr, Fr>) {
    let mut crashed = make();
    let app = crashed.app();
    let setup = interleave(&crashed.setup());
    let setup_len = setup.len();
    let complete = Store::new();
    run_serially(&complete, &app, setup.clone());
    let store = Store::new();
    run_serially(&store, &app, setup.into_iter().take(cut).collect());
    if cut > setup_len {
        let requests = interleave(&crashed.streams(traffic, streams));
        run_serially(
            &store,
            &app,
            requests.into_iter().take(cut - setup_len).collect(),
        );
    }
    (store, setup_len, values(&complete))
}

/// The resumed generator: rebuilt from the seed, its setup's model made, resynced from
/// `store`; the setup requests it returns are executed (as the demo does) and checked: exactly
/// the ones the cut dropped, and with them the setup is complete.
fn resumed<W: Workload>(
    make: &dyn Fn() -> W,
    store: &Store,
    setup_len: usize,
    complete_setup: &HashMap<Fr, Fr>,
    cut: usize,
) -> Result<W, TestCaseError> {
    let mut workload = make();
    workload.setup();
    let missing = workload.resync(&state_of(store)).expect("resync");
    let missing_len: usize = missing.iter().map(Vec::len).sum();
    prop_assert_eq!(missing_len, setup_len.saturating_sub(cut));
    let executed = run_streams(store, &workload.app(), missing);
    prop_assert!(
        executed.iter().all(|ex| ex.response.accepted),
        "a missing setup request was rejected"
    );
    if cut <= setup_len {
        prop_assert_eq!(&values(store), complete_setup);
    }
    Ok(workload)
}

/// An account app's population crashed after `cut` requests and resumed: its next traffic
/// has exactly the rejections it planned.
fn accepted_as_planned<A: AccountRequests>(
    make: &dyn Fn() -> Population<A>,
    cut: usize,
) -> Result<(), TestCaseError> {
    let (store, setup_len, complete) = crashed_run(make, 24, 3, cut);
    let mut workload = resumed(make, &store, setup_len, &complete, cut)?;
    let planned = workload.planned_rejections();
    let executed = run_streams(&store, &workload.app(), workload.streams(24, 3));
    let rejected = executed.iter().filter(|ex| !ex.response.accepted).count();
    prop_assert_eq!(rejected, workload.planned_rejections() - planned);
    Ok(())
}

fn mix() -> Mix {
    Mix {
        invalid_percent: 10,
        ..Mix::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3))]

    /// Ledger: after the resync, exactly the requests the generator planned as rejections are
    /// rejected — its transfers carry nonces above the stored ones and amounts the balances
    /// cover. Without the resync, every signed request of the crashed run's clients would
    /// reuse a consumed nonce.
    #[test]
    fn a_resynced_ledger_workload_is_accepted_as_planned(seed in any::<u64>(), cut in 0usize..40) {
        accepted_as_planned(&|| LedgerWorkload::ledger(seed, 6, mix()).expect("workload"), cut)?;
    }

    /// Interbank: the same, with banks and reserves.
    #[test]
    fn a_resynced_interbank_workload_is_accepted_as_planned(seed in any::<u64>(), cut in 0usize..40) {
        accepted_as_planned(
            &|| InterbankWorkload::interbank(seed, 6, 3, mix()).expect("workload"),
            cut,
        )?;
    }

    /// Transfer: every transfer the generator sized from its floors (the balances it read)
    /// is accepted; only its deliberate overdrafts and overflows are rejected.
    #[test]
    fn a_resynced_transfer_workload_is_accepted_as_planned(seed in any::<u64>(), cut in 0usize..40) {
        let make = || TransferWorkload::new(8, seed);
        let (store, setup_len, complete) = crashed_run(&make, 32, 4, cut);
        let mut workload = resumed(&make, &store, setup_len, &complete, cut)?;
        let executed = run_streams(&store, &workload.app(), workload.streams(32, 4));
        for ex in &executed {
            let deliberate = matches!(
                ex.request,
                TransferRequest::Transfer { amount: u64::MAX, .. }
                    | TransferRequest::Deposit { amount: u64::MAX, .. }
            );
            prop_assert_eq!(ex.response.accepted, !deliberate, "{:?}", ex.request);
        }
    }

    /// Dark pool: the generator's replica of the book is the store's again, so its hints
    /// match and its predictions hold: after its next traffic the store equals its replica,
    /// and exactly the requests it expected to be rejected are.
    #[test]
    fn a_resynced_darkpool_workload_predicts_the_book(seed in any::<u64>(), cut in 0usize..60) {
        let make = || DarkPoolWorkload::<2>::new(seed, 6, 2).expect("workload");
        let (store, setup_len, complete) = crashed_run(&make, 30, 2, cut);
        let mut workload = resumed(&make, &store, setup_len, &complete, cut)?;
        prop_assert_eq!(&values(&store), workload.expected_state());
        let (_, rejected_before) = workload.counts();
        let executed = run_streams(&store, &workload.app(), workload.streams(30, 2));
        let rejected = executed.iter().filter(|ex| !ex.response.accepted).count();
        prop_assert_eq!(rejected, workload.counts().1 - rejected_before);
        prop_assert_eq!(&values(&store), workload.expected_state());
    }
}

/// The transfer generator's floors are the balances it reads: with every account down to 5,
/// what it sizes still never overdraws (from its own setup's floors it would send up to
/// 100,000).
#[test]
fn a_resynced_transfer_workload_sizes_from_the_balances_it_reads() {
    let mut workload = TransferWorkload::new(6, 9);
    let app = workload.app();
    let store = Store::new();
    let low: Vec<TransferRequest> = (0..6)
        .map(|i| TransferRequest::Deposit {
            to: transfer_account_key(i),
            amount: 5,
        })
        .collect();
    run_serially(&store, &app, low);
    workload.setup();
    assert!(workload
        .resync(&state_of(&store))
        .expect("resync")
        .is_empty());
    let executed = run_streams(&store, &app, workload.streams(60, 3));
    let sized: Vec<&Executed<_>> = executed
        .iter()
        .filter(|ex| {
            matches!(ex.request, TransferRequest::Transfer { amount, .. } if amount != u64::MAX)
        })
        .collect();
    assert!(sized.len() > 20, "{} sized transfers", sized.len());
    assert!(sized.iter().all(|ex| ex.response.accepted));
}

/// A value that is no record of the app is an error naming the record, not a guess.
#[test]
fn a_record_the_app_never_writes_is_refused() {
    let garbage = -Fr::one();

    let mut ledger = LedgerWorkload::ledger(3, 4, mix()).expect("workload");
    let store = Store::new();
    run_serially(&store, &ledger.app(), interleave(&ledger.setup()));
    let mut state = state_of(&store).values().clone();
    let client = *state
        .iter()
        .find(|(_, value)| **value != Fr::from(0u64))
        .map(|(key, _)| key)
        .expect("a record");
    state.insert(client, garbage);
    let mut resumed = LedgerWorkload::ledger(3, 4, mix()).expect("workload");
    resumed.setup();
    assert!(matches!(
        resumed.resync(&ResyncState::new(state)),
        Err(ResyncError::BadRecord { .. })
    ));

    let mut transfer = TransferWorkload::new(4, 3);
    transfer.setup();
    let state = ResyncState::new([(transfer_account_key(2), Fr::from(2u64).pow([64]))]);
    assert!(matches!(
        transfer.resync(&state),
        Err(ResyncError::BadRecord { what }) if what.contains("account 2")
    ));

    let mut pool = DarkPoolWorkload::<2>::new(3, 4, 1).expect("workload");
    let setup = pool.setup();
    let owner = match setup[0][0].instruction() {
        Some(signed) => signed.owner,
        None => panic!("the setup opens accounts first"),
    };
    let state = ResyncState::new([(darkpool_account_key(&owner), garbage)]);
    let mut resumed = DarkPoolWorkload::<2>::new(3, 4, 1).expect("workload");
    resumed.setup();
    assert!(matches!(
        resumed.resync(&state),
        Err(ResyncError::BadRecord { .. })
    ));
}

/// A state no run of this workload can have left — a later setup request in it without an
/// earlier one of the same stream, or an issuer that issued more often than the setup does —
/// is refused rather than resumed from.
#[test]
fn a_state_this_workload_cannot_have_made_is_refused() {
    // Dark pool: the whole setup of its one market, but the first trader's open undone.
    let mut pool = DarkPoolWorkload::<2>::new(5, 4, 1).expect("workload");
    let app = pool.app();
    let setup = pool.setup();
    let store = Store::new();
    run_serially(&store, &app, interleave(&setup));
    let owner = match setup[0][0].instruction() {
        Some(signed) => signed.owner,
        None => panic!("the setup opens accounts first"),
    };
    let mut state = state_of(&store).values().clone();
    state.insert(darkpool_account_key(&owner), Fr::from(0u64));
    let mut resumed = DarkPoolWorkload::<2>::new(5, 4, 1).expect("workload");
    resumed.setup();
    assert!(matches!(
        resumed.resync(&ResyncState::new(state)),
        Err(ResyncError::NotThisWorkload { .. })
    ));

    // Ledger: the setup of 6 clients, resumed as a workload of 4 (the same seed gives the
    // same first clients and issuer): its issuer has issued 6 times, its setup issues 4.
    let mut six = LedgerWorkload::ledger(8, 6, mix()).expect("workload");
    let store = Store::new();
    run_serially(&store, &six.app(), interleave(&six.setup()));
    let mut four = LedgerWorkload::ledger(8, 4, mix()).expect("workload");
    four.setup();
    assert!(matches!(
        four.resync(&state_of(&store)),
        Err(ResyncError::NotThisWorkload { what }) if what.contains("nonce is 6")
    ));
}

/// Without the resync, the rebuilt generator's first traffic reuses the crashed run's nonces
/// and most of it is rejected: what the resync is for (and what makes the proptests above
/// able to fail).
#[test]
fn without_the_resync_a_rebuilt_ledger_workload_replays_consumed_nonces() {
    let make = || LedgerWorkload::ledger(21, 6, mix()).expect("workload");
    let (store, _, _) = crashed_run(&make, 24, 3, 12 + 24);
    let mut rebuilt = make();
    rebuilt.setup();
    let planned = rebuilt.planned_rejections();
    let executed = run_streams(&store, &rebuilt.app(), rebuilt.streams(24, 3));
    let rejected = executed.iter().filter(|ex| !ex.response.accepted).count();
    assert!(
        rejected > rebuilt.planned_rejections() - planned,
        "{rejected} rejected"
    );
}
