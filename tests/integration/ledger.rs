//! The ledger app: a seeded workload with rejected requests mixed in, run by several threads
//! on one store, gives honest batches that satisfy the circuit and close the audit, and its
//! final state is that of a sequential replay in `t_req` order; native and circuit logic
//! agree on random (valid and invalid) requests; cheats — a forged signature, a replay, a
//! forged validity bit, a tampered stored record — are rejected or unprovable; a one-slot
//! batch proves and verifies.
//!
//! Run with `cargo test --release --test integration ledger:: -- --nocapture` to see constraint counts.

use std::{collections::HashSet, mem::discriminant, sync::Arc};

use ark_bls12_381::{Bls12_381, Fr};
use ark_ff::{PrimeField, Zero};
use ark_groth16::Groth16;
use ark_r1cs_std::{alloc::AllocVar, fields::fp::FpVar};
use ark_relations::gr1cs::ConstraintSystem;
use ark_snark::SNARK;
use ark_std::rand::{rngs::StdRng, SeedableRng};
use proptest::prelude::*;

use crate::app_harness::{
    audit_balances, batches, claimed, lockstep, replay, run_streams, satisfied, synthesized,
    with_consistent_inputs,
};
use spice::{
    engine::{CpuBackend, Prover},
    host::{
        apps::{
            account::{power_of_two, signer_var, Account, AccountReject, BALANCE_BITS, NONCE_BITS},
            clients::Mix,
            ledger::{LedgerApp, LedgerRequest, LedgerRequestVar, LedgerWorkload, LAYOUT},
        },
        batch::{BatchCircuit, NUM_PUBLIC_INPUTS},
        eddsa::{account_id, SecretKey, Signature},
        eddsa_gadget,
        storage_gadget::{execute, App, AppError, Executed, Response, StorageVar},
        store::{Store, FIRST_TIMESTAMP},
        workload::Workload,
    },
};

fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32]).expect("non-degenerate seed")
}

fn issuer() -> SecretKey {
    key(200)
}

fn app() -> LedgerApp {
    LedgerApp::new(issuer().public_key()).expect("valid issuer")
}

fn run(store: &Store, app: &LedgerApp, request: LedgerRequest) -> Executed<LedgerApp> {
    execute(store, app, request).expect("request executes")
}

fn record(store: &Store, key: Fr) -> Account {
    let snapshot = store.snapshot();
    snapshot
        .final_state
        .iter()
        .find(|tuple| tuple.key == key)
        .map(|tuple| LedgerApp::account(tuple.value).expect("a record"))
        .unwrap_or_default()
}

/// Three opened accounts (keys 1, 2, 3) funded with 1,000 each in epoch 0, then epoch 1
/// starts. Every account has used nonce 1 (its open).
struct Funded {
    app: LedgerApp,
    store: Store,
    clients: [SecretKey; 3],
    genesis: Vec<spice::host::set_digest::Tuple>,
}

fn funded() -> Funded {
    let app = app();
    let store = Store::new();
    let clients = [key(1), key(2), key(3)];
    for client in &clients {
        assert!(run(&store, &app, app.open(client, 1)).response.accepted);
    }
    for (i, client) in clients.iter().enumerate() {
        let to = account_id(&client.public_key());
        let issued = run(&store, &app, app.issue(&issuer(), to, 1_000, i as u64 + 1));
        assert!(issued.response.accepted);
    }
    let genesis = store.close_epoch().final_state;
    Funded {
        app,
        store,
        clients,
        genesis,
    }
}

fn account(client: &SecretKey) -> Fr {
    account_id(&client.public_key())
}

// ------------------------------------------------------------------------------------------
// A workload, concurrently.
// ------------------------------------------------------------------------------------------

#[test]
fn concurrent_workload_with_rejections_satisfies_batches_and_equals_sequential_replay() {
    let mix = Mix {
        invalid_percent: 20,
        ..Mix::default()
    };
    let mut workload = LedgerWorkload::ledger(11, 8, mix).expect("workload");
    let app = workload.app();
    let store = Store::new();
    let setup = run_streams(&store, &app, workload.setup());
    assert_eq!(setup.len(), 16);
    assert!(
        setup.iter().all(|ex| ex.response.accepted),
        "setup is all valid"
    );
    let traffic = run_streams(&store, &app, workload.streams(48, 4));
    assert_eq!(traffic.len(), 48);

    // Exactly the planned requests are rejected, for each kind of mischief.
    let rejected: Vec<AccountReject> = traffic.iter().filter_map(|ex| ex.rejection).collect();
    assert_eq!(rejected.len(), workload.planned_rejections());
    assert!(
        rejected.len() < traffic.len() / 2,
        "most requests are valid"
    );
    let kinds: HashSet<_> = rejected.iter().map(discriminant).collect();
    for expected in [
        AccountReject::BadSignature,
        AccountReject::StaleNonce {
            stored: 0,
            given: 0,
        },
        AccountReject::Overdraft {
            balance: 0,
            amount: 0,
        },
        AccountReject::PayeeNotOpen,
    ] {
        assert!(
            kinds.contains(&discriminant(&expected)),
            "no {expected:?} in the mix"
        );
    }
    assert!(traffic
        .iter()
        .all(|ex| ex.rejection.is_none() == ex.response.accepted));

    // The balances the generator expects are the store's.
    let closing = store.close_epoch();
    let balance_of = |key: Fr| {
        closing
            .final_state
            .iter()
            .find(|t| t.key == key)
            .and_then(|t| LedgerApp::account(t.value))
            .expect("an opened account")
    };
    for client in workload.clients() {
        assert_eq!(balance_of(client.account).balance, client.balance);
    }
    let mint = balance_of(app.mint_key());
    assert_eq!(mint.balance, workload.supply());
    assert_eq!(mint.nonce, 8, "one issue per client");
    let total: u64 = workload.clients().iter().map(|c| c.balance).sum();
    assert_eq!(total, workload.supply(), "money is conserved");

    // In t_req order the history is a serial execution: a sequential replay gives the same
    // responses and the same final tuples (timestamps included).
    let mut executed: Vec<_> = setup.into_iter().chain(traffic).collect();
    executed.sort_by_key(|ex| ex.record.t_req);
    let t_reqs: Vec<u64> = executed.iter().map(|ex| ex.record.t_req).collect();
    let expected: Vec<u64> = (FIRST_TIMESTAMP..FIRST_TIMESTAMP + 64).collect();
    assert_eq!(t_reqs, expected);
    let (replayed_store, replayed) = replay(&app, &executed);
    for (original, again) in executed.iter().zip(&replayed) {
        assert_eq!(original.response, again.response);
        assert_eq!(original.record, again.record);
    }
    assert_eq!(replayed_store.snapshot().final_state, closing.final_state);

    // Honest batches satisfy the circuit, and their contributions close the epoch's audit.
    let built = batches(&app, 0, 8, &executed, 500);
    assert_eq!(built.len(), 8);
    for batch in &built {
        assert!(
            satisfied(batch.circuit.clone()),
            "batch {} is unsatisfied",
            batch.circuit.public_inputs.batch_id
        );
    }
    let circuits: Vec<_> = built.iter().map(|b| &b.circuit).collect();
    assert!(audit_balances(&[], &closing, &circuits));
    assert!(!audit_balances(&[], &closing, &circuits[1..]));
}

#[test]
fn workload_is_reproducible_from_its_seed() {
    let generate = |seed| {
        let mut workload = LedgerWorkload::ledger(seed, 4, Mix::default()).expect("workload");
        let setup = workload.setup();
        (workload.app(), setup, workload.streams(12, 2))
    };
    let (app_a, setup_a, streams_a) = generate(3);
    let (app_b, setup_b, streams_b) = generate(3);
    assert_eq!(app_a, app_b);
    assert_eq!(setup_a, setup_b);
    assert_eq!(streams_a, streams_b);
    let (app_c, _, streams_c) = generate(4);
    assert_ne!(app_a, app_c);
    assert_ne!(streams_a, streams_c);
    assert_eq!(streams_a.iter().map(Vec::len).sum::<usize>(), 12);
}

// ------------------------------------------------------------------------------------------
// Rejections natively: the committed error response, state unchanged.
// ------------------------------------------------------------------------------------------

/// Runs `request` and checks it was rejected for `reason` with nothing changed but the
/// timestamps of its keys.
fn assert_rejected(store: &Store, app: &LedgerApp, request: LedgerRequest, reason: AccountReject) {
    let before = store.snapshot().final_state;
    let ex = run(store, app, request);
    assert_eq!(ex.rejection, Some(reason));
    assert_eq!(ex.response, Response::rejected(2));
    for op in &ex.record.ops {
        assert_eq!(
            op.old.value, op.new.value,
            "a rejected request changed a value"
        );
    }
    let after = store.snapshot().final_state;
    // A key holding 0 is a key never written (it reads (k, 0, 0)): a rejected request may
    // rewrite a never-opened account as 0 at its t_req, which changes no value.
    let values = |state: &[spice::host::set_digest::Tuple]| {
        state
            .iter()
            .filter(|t| !t.value.is_zero())
            .map(|t| (t.key, t.value))
            .collect::<Vec<_>>()
    };
    assert_eq!(values(&before), values(&after));
}

#[test]
fn forged_signature_is_rejected_and_changes_nothing() {
    let Funded {
        app,
        store,
        clients: [alice, bob, carol],
        ..
    } = funded();
    // Carol signs a transfer out of Alice's account.
    let forged = app.sign(
        LedgerRequest::Transfer {
            from: alice.public_key(),
            to: account(&carol),
            amount: 500,
            nonce: 2,
            signature: Signature::from_fields([Fr::zero(); 3]),
        },
        &carol,
    );
    assert_rejected(&store, &app, forged, AccountReject::BadSignature);
    // Alice's own signature on another ledger's message: wrong app tag.
    let other_ledger = LedgerApp::new(key(201).public_key()).unwrap();
    let foreign = other_ledger.transfer(&alice, account(&bob), 500, 2);
    assert_rejected(&store, &app, foreign, AccountReject::BadSignature);
    // A valid signature with the amount changed afterwards.
    let LedgerRequest::Transfer { signature, .. } = app.transfer(&alice, account(&bob), 5, 2)
    else {
        unreachable!()
    };
    let altered = LedgerRequest::Transfer {
        from: alice.public_key(),
        to: account(&bob),
        amount: 500,
        nonce: 2,
        signature,
    };
    assert_rejected(&store, &app, altered, AccountReject::BadSignature);
    // The honest request still goes through (nonce 2 was never consumed).
    assert!(
        run(&store, &app, app.transfer(&alice, account(&bob), 5, 2))
            .response
            .accepted
    );
    assert_eq!(record(&store, account(&alice)).balance, 995);
}

#[test]
fn replayed_request_is_rejected_and_later_nonces_still_work() {
    let Funded {
        app,
        store,
        clients: [alice, bob, _],
        ..
    } = funded();
    let transfer = app.transfer(&alice, account(&bob), 100, 5);
    assert!(run(&store, &app, transfer).response.accepted);
    assert_rejected(
        &store,
        &app,
        transfer,
        AccountReject::StaleNonce {
            stored: 5,
            given: 5,
        },
    );
    // A smaller nonce is stale too; any larger one is accepted (gaps are fine).
    assert_rejected(
        &store,
        &app,
        app.transfer(&alice, account(&bob), 1, 4),
        AccountReject::StaleNonce {
            stored: 5,
            given: 4,
        },
    );
    assert!(
        run(&store, &app, app.transfer(&alice, account(&bob), 1, 9))
            .response
            .accepted
    );
    assert_eq!(
        record(&store, account(&alice)),
        Account {
            balance: 899,
            nonce: 9,
            bank: 0,
            opened: true,
        }
    );
    // The issuer's nonce protects issues the same way.
    let issue = app.issue(&issuer(), account(&bob), 10, 4);
    assert!(run(&store, &app, issue).response.accepted);
    assert_rejected(
        &store,
        &app,
        issue,
        AccountReject::StaleNonce {
            stored: 4,
            given: 4,
        },
    );
}

#[test]
fn issue_by_another_key_is_rejected() {
    let Funded {
        app,
        store,
        clients: [alice, bob, _],
        ..
    } = funded();
    // Alice signs an issue: only the app's issuer may.
    assert_rejected(
        &store,
        &app,
        app.issue(&alice, account(&bob), 1_000_000, 10),
        AccountReject::BadSignature,
    );
    let supply = record(&store, app.mint_key()).balance;
    assert_eq!(supply, 3_000);
}

#[test]
fn overdraft_overflow_and_unopened_accounts_are_rejected() {
    let Funded {
        app,
        store,
        clients: [alice, bob, _],
        ..
    } = funded();
    assert_rejected(
        &store,
        &app,
        app.transfer(&alice, account(&bob), 1_001, 2),
        AccountReject::Overdraft {
            balance: 1_000,
            amount: 1_001,
        },
    );
    // The whole balance may go.
    assert!(
        run(&store, &app, app.transfer(&alice, account(&bob), 1_000, 3))
            .response
            .accepted
    );
    // Issuing up to 2^64 − 1 in total is fine, one more unit is not.
    let rest = u64::MAX - 3_000;
    let to_bob = app.issue(&issuer(), account(&bob), rest, 4);
    let ex = run(&store, &app, to_bob);
    assert!(ex.response.accepted, "{:?}", ex.rejection);
    assert_rejected(
        &store,
        &app,
        app.issue(&issuer(), account(&alice), 1, 5),
        AccountReject::SupplyExhausted {
            supply: u64::MAX,
            amount: 1,
        },
    );
    // Unopened payee, unopened payer, balance of an unopened account, double open.
    let stranger = key(9);
    assert_rejected(
        &store,
        &app,
        app.transfer(&bob, account(&stranger), 1, 2),
        AccountReject::PayeeNotOpen,
    );
    assert_rejected(
        &store,
        &app,
        app.transfer(&stranger, account(&bob), 0, 1),
        AccountReject::NotOpen,
    );
    assert_rejected(
        &store,
        &app,
        LedgerApp::balance(stranger.public_key()),
        AccountReject::NotOpen,
    );
    assert_rejected(
        &store,
        &app,
        app.open(&alice, 7),
        AccountReject::AlreadyOpen,
    );
    // Money sent to the mint would vanish from circulation: the mint is nobody's account.
    assert_rejected(
        &store,
        &app,
        app.transfer(&bob, app.mint_key(), 1, 3),
        AccountReject::PayeeNotOpen,
    );
    // The balance read answers the owner's balance and nonce.
    let read = run(&store, &app, LedgerApp::balance(bob.public_key()));
    assert_eq!(
        read.response,
        Response::accepted(vec![
            Fr::from(u64::MAX - 3_000 + 1_000 + 1_000),
            Fr::from(1u64)
        ])
    );
}

#[test]
fn overflowing_credit_is_rejected() {
    // A payee at 2^64 − 1 cannot be reached from a reachable state (balances ≤ supply <
    // 2^64), so the check is exercised on stored records directly.
    let app = app();
    let alice = key(1);
    let request = app.transfer(&alice, account(&key(2)), 2, 3);
    let payer = Account {
        balance: 10,
        nonce: 1,
        bank: 0,
        opened: true,
    };
    let payee = Account {
        balance: u64::MAX - 1,
        nonce: 1,
        bank: 0,
        opened: true,
    };
    let old = [LAYOUT.pack(&payer), LAYOUT.pack(&payee)];
    let step = lockstep(&app, &request, &old);
    let applied = step.native.expect("applies");
    assert_eq!(
        applied.rejection,
        Some(AccountReject::Overflow {
            balance: u64::MAX - 1,
            amount: 2,
        })
    );
    assert!(step.satisfied);
    assert_eq!(step.response, vec![Fr::zero(); 3]);
    assert_eq!(step.new_values, old.to_vec());
}

#[test]
fn transfer_to_oneself_is_refused_before_the_store() {
    let Funded {
        app,
        store,
        clients: [alice, _, _],
        ..
    } = funded();
    // Both key slots would hold Alice's account: the generic layer refuses it (a debit and
    // a credit of one old balance would fork the key's chain).
    assert!(execute(&store, &app, app.transfer(&alice, account(&alice), 1, 2)).is_err());
}

// ------------------------------------------------------------------------------------------
// Native and in-circuit logic in lockstep.
// ------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Signing {
    /// By the key the request needs.
    Required,
    /// By some other key.
    OtherKey,
    /// The required signature with S + 1.
    TamperedScalar,
    /// Three arbitrary field elements.
    Garbage([u8; 32]),
}

#[derive(Clone, Debug)]
enum Stored {
    Record(Account),
    /// Not a record: at least 2^129.
    Corrupt(u64),
}

impl Stored {
    fn value(&self) -> Fr {
        match self {
            Stored::Record(account) => LAYOUT.pack(account),
            Stored::Corrupt(low) => Fr::from(*low) + power_of_two(BALANCE_BITS + NONCE_BITS + 1),
        }
    }
}

fn small_or_edge() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..4, Just(u64::MAX), Just(u64::MAX - 1), any::<u64>()]
}

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..2_000,
        Just(u64::MAX),
        (u64::MAX - 2_000)..=u64::MAX,
        any::<u64>()
    ]
}

fn stored() -> impl Strategy<Value = Stored> {
    prop_oneof![
        9 => (amount(), small_or_edge(), any::<bool>()).prop_map(|(balance, nonce, opened)| {
            Stored::Record(Account { balance, nonce, bank: 0, opened })
        }),
        1 => any::<u64>().prop_map(Stored::Corrupt),
    ]
}

fn signing() -> impl Strategy<Value = Signing> {
    prop_oneof![
        6 => Just(Signing::Required),
        1 => Just(Signing::OtherKey),
        1 => Just(Signing::TamperedScalar),
        1 => any::<[u8; 32]>().prop_map(Signing::Garbage),
    ]
}

/// A ledger request of kind `op` (0 no-op … 4 balance) by client `owner`, to client `to`
/// (3: the mint), signed as `signing` says.
fn request(
    app: &LedgerApp,
    op: u8,
    owner: u8,
    to: u8,
    amount: u64,
    nonce: u64,
    signing: &Signing,
) -> LedgerRequest {
    let owner_key = key(owner + 1);
    let to = if to == 3 {
        app.mint_key()
    } else {
        account(&key(to + 1))
    };
    let placeholder = Signature::from_fields([Fr::zero(); 3]);
    let unsigned = match op {
        0 => return LedgerRequest::Noop,
        1 => LedgerRequest::Open {
            owner: owner_key.public_key(),
            nonce,
            signature: placeholder,
        },
        2 => LedgerRequest::Issue {
            to,
            amount,
            nonce,
            signature: placeholder,
        },
        3 => LedgerRequest::Transfer {
            from: owner_key.public_key(),
            to,
            amount,
            nonce,
            signature: placeholder,
        },
        _ => return LedgerApp::balance(owner_key.public_key()),
    };
    let required = if op == 2 { issuer() } else { owner_key };
    let signed = |signer: &SecretKey| app.sign(unsigned, signer);
    let with = |signature: Signature| match app.sign(unsigned, &required) {
        LedgerRequest::Open { owner, nonce, .. } => LedgerRequest::Open {
            owner,
            nonce,
            signature,
        },
        LedgerRequest::Issue {
            to, amount, nonce, ..
        } => LedgerRequest::Issue {
            to,
            amount,
            nonce,
            signature,
        },
        LedgerRequest::Transfer {
            from,
            to,
            amount,
            nonce,
            ..
        } => LedgerRequest::Transfer {
            from,
            to,
            amount,
            nonce,
            signature,
        },
        other => other,
    };
    match signing {
        Signing::Required => signed(&required),
        Signing::OtherKey => signed(&key(99)),
        Signing::TamperedScalar => {
            let sig = required.sign(&app.message(&unsigned));
            with(Signature {
                r: sig.r,
                s: sig.s + Fr::from(1u64),
            })
        }
        Signing::Garbage(bytes) => {
            let f = |i: u8| Fr::from_le_bytes_mod_order(&[bytes.as_slice(), &[i]].concat());
            with(Signature::from_fields([f(0), f(1), f(2)]))
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn native_and_circuit_agree_on_random_requests(
        op in 0u8..5,
        owner in 0u8..3,
        to in 0u8..4,
        amount in amount(),
        nonce in small_or_edge(),
        signing in signing(),
        records in [stored(), stored()],
        junk in any::<u64>(),
    ) {
        let app = app();
        let request = request(&app, op, owner, to, amount, nonce, &signing);
        let keys = app.keys(&request);
        // Inactive slots get a junk value the app must never see.
        let old: Vec<Fr> = records
            .iter()
            .zip(&keys)
            .map(|(stored, slot)| if slot.active { stored.value() } else { Fr::from(junk) })
            .collect();
        let step = lockstep(&app, &request, &old);
        match step.native {
            Err(AppError::DuplicateKey { .. }) => prop_assert!(!step.satisfied),
            Err(other) => prop_assert!(false, "unexpected native error {other}"),
            Ok(applied) => {
                if let Some(AccountReject::CorruptRecord { .. }) = applied.rejection {
                    // Not a record: unprovable rather than rejected.
                    prop_assert!(!step.satisfied);
                } else {
                    prop_assert!(step.satisfied);
                    prop_assert_eq!(
                        applied.keys.iter().map(|k| (k.key, k.active)).collect::<Vec<_>>(),
                        step.keys
                    );
                    prop_assert_eq!(&applied.old_values, &step.old_values);
                    prop_assert_eq!(&applied.new_values, &step.new_values);
                    prop_assert_eq!(applied.response.encode(), step.response);
                    prop_assert_eq!(applied.rejection.is_none(), applied.response.accepted);
                    prop_assert_eq!(app.encode_request(&request), step.encoding);
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Cheating provers.
// ------------------------------------------------------------------------------------------

/// Epoch 1 of [`funded`]: a forged transfer (Carol signs for Alice), Alice's honest transfer
/// of 100 to Bob (nonce 2), and its replay — in one batch of 4.
struct Cheats {
    app: LedgerApp,
    genesis: Vec<spice::host::set_digest::Tuple>,
    closing: spice::host::store::EpochSnapshot,
    circuit: BatchCircuit<LedgerApp>,
}

fn cheats() -> Cheats {
    let Funded {
        app,
        store,
        clients: [alice, bob, carol],
        genesis,
    } = funded();
    let honest = app.transfer(&alice, account(&bob), 100, 2);
    let forged = app.sign(honest, &carol);
    let executed = vec![
        run(&store, &app, forged),
        run(&store, &app, honest),
        run(&store, &app, honest),
    ];
    assert_eq!(executed[0].rejection, Some(AccountReject::BadSignature));
    assert!(executed[1].response.accepted);
    assert!(matches!(
        executed[2].rejection,
        Some(AccountReject::StaleNonce { .. })
    ));
    let closing = store.close_epoch();
    let circuit = batches(&app, 1, 4, &executed, 77).remove(0).circuit;
    Cheats {
        app,
        genesis,
        closing,
        circuit,
    }
}

/// What slot `slot`'s transfer of 100 would write and answer if it were accepted.
fn accepted_outcome(circuit: &BatchCircuit<LedgerApp>, slot: usize) -> (Vec<Fr>, Response) {
    let ops = &circuit.witness.slots[slot].ops;
    let payer = LedgerApp::account(ops[0].old_value).expect("record");
    let payee = LedgerApp::account(ops[1].old_value).expect("record");
    let payer = Account {
        balance: payer.balance - 100,
        nonce: 2,
        ..payer
    };
    let payee = Account {
        balance: payee.balance + 100,
        ..payee
    };
    (
        vec![LAYOUT.pack(&payer), LAYOUT.pack(&payee)],
        Response::accepted(vec![Fr::from(payer.balance), Fr::from(payer.nonce)]),
    )
}

#[test]
fn a_recorded_signature_verdict_that_lies_is_unprovable() {
    let Cheats { app, circuit, .. } = cheats();
    assert!(satisfied(circuit.clone()));
    // Slot 0 is Carol's forgery. The signature is checked once, at execution, and the
    // verdict recorded; a prover that records it as good gets a native witness in which the
    // transfer moves the money, with digests and a commitment root to match...
    assert!(!circuit.witness.slots[0].authorized);
    let mut lying = circuit.clone();
    lying.witness.slots[0].authorized = true;
    let lying = with_consistent_inputs(&app, lying);
    assert_ne!(
        lying.public_inputs, circuit.public_inputs,
        "the lie must change what is claimed"
    );
    // ...but the circuit verifies the signature itself: no assignment satisfies it.
    assert!(!satisfied(lying));
}

#[test]
fn forged_validity_bit_is_unsatisfiable() {
    let Cheats {
        app,
        genesis,
        closing,
        circuit,
    } = cheats();
    assert!(satisfied(circuit.clone()));
    assert!(audit_balances(&genesis, &closing, &[&circuit]));
    // Control: claiming what the honest transfer (slot 1) did is the honest batch.
    let (new_values, response) = accepted_outcome(&circuit, 1);
    let control = claimed(&app, &circuit, 1, &new_values, &response);
    assert_eq!(control.public_inputs, circuit.public_inputs);
    assert!(satisfied(control));
    // Claiming that the forged transfer (slot 0) or the replay (slot 2) was accepted, with
    // digests and root to match: no assignment the circuit accepts.
    for slot in [0, 2] {
        let (new_values, response) = accepted_outcome(&circuit, slot);
        assert!(
            !satisfied(claimed(&app, &circuit, slot, &new_values, &response)),
            "slot {slot} claimed accepted"
        );
        // Nor may the prover keep the state and only flip the committed status.
        let old: Vec<Fr> = circuit.witness.slots[slot]
            .ops
            .iter()
            .map(|op| op.old_value)
            .collect();
        assert!(!satisfied(claimed(&app, &circuit, slot, &old, &response)));
    }
    // And the honest transfer cannot be passed off as rejected.
    let old: Vec<Fr> = circuit.witness.slots[1]
        .ops
        .iter()
        .map(|op| op.old_value)
        .collect();
    assert!(!satisfied(claimed(
        &app,
        &circuit,
        1,
        &old,
        &Response::rejected(2)
    )));
}

#[test]
fn tampered_stored_record_is_unprovable_or_unbalances_the_audit() {
    let Cheats {
        app,
        genesis,
        closing,
        circuit,
    } = cheats();
    // The prover reads Alice's record (slot 1, payer) with a million more.
    let mut richer = circuit.clone();
    let op = &mut richer.witness.slots[1].ops[0];
    let alice = LedgerApp::account(op.old_value).expect("record");
    op.old_value = LAYOUT.pack(&Account {
        balance: alice.balance + 1_000_000,
        ..alice
    });
    richer.witness.recompute_hints(&app).expect("hints");
    assert!(!satisfied(richer.clone()), "against the published digests");
    let richer = with_consistent_inputs(&app, richer);
    assert!(satisfied(richer.clone()), "self-consistent");
    assert!(
        !audit_balances(&genesis, &closing, &[&richer]),
        "but the read tuple was never written"
    );
    // A stored value that is no record at all is unprovable even with matching digests.
    let mut garbage = circuit.clone();
    garbage.witness.slots[1].ops[1].old_value = power_of_two(200);
    assert!(!satisfied(with_consistent_inputs(&app, garbage)));
    // The replay (slot 2) reads Alice's record with its nonce rolled back to 1.
    let mut lowered = circuit;
    let op = &mut lowered.witness.slots[2].ops[0];
    let alice = LedgerApp::account(op.old_value).expect("record");
    op.old_value = LAYOUT.pack(&Account { nonce: 1, ..alice });
    let lowered = with_consistent_inputs(&app, lowered);
    // With the nonce rolled back the replay would pass the freshness check …
    assert!(satisfied(lowered.clone()));
    assert!(lowered.witness.slots[2].request == lowered.witness.slots[1].request);
    // … but that tuple is not in the store's history.
    assert!(!audit_balances(&genesis, &closing, &[&lowered]));
}

// ------------------------------------------------------------------------------------------
// Groth16 end to end.
// ------------------------------------------------------------------------------------------

#[test]
fn one_slot_batch_proves_and_verifies() {
    let Funded {
        app,
        store,
        clients: [alice, bob, _],
        ..
    } = funded();
    let executed = vec![run(
        &store,
        &app,
        app.transfer(&alice, account(&bob), 250, 2),
    )];
    let built = batches(&app, 1, 1, &executed, 5).remove(0);
    let blank = BatchCircuit::blank(app.clone(), 1).expect("blank");
    let mut rng = StdRng::seed_from_u64(6);
    let (pk, _) = Groth16::<Bls12_381>::circuit_specific_setup(blank, &mut rng).expect("setup");
    let prover = Prover::new(Arc::new(CpuBackend::new()), pk).expect("prover");
    let proof = prover
        .prove(built.circuit.clone(), &mut rng)
        .expect("proof");
    let inputs = built.circuit.public_inputs.to_field_elements();
    let verifier = prover.verifier();
    assert_eq!(verifier.num_public_inputs(), NUM_PUBLIC_INPUTS);
    assert!(verifier.verify(&inputs, &proof).expect("verify"));
    for index in 0..NUM_PUBLIC_INPUTS {
        let mut altered = inputs.clone();
        altered[index] += Fr::from(1u64);
        assert!(
            !verifier.verify(&altered, &proof).expect("verify"),
            "input {index} is not bound"
        );
    }
}

// ------------------------------------------------------------------------------------------
// Constraint counts.
// ------------------------------------------------------------------------------------------

#[test]
fn ledger_constraint_counts_are_reported() {
    let app = app();
    let request = app.transfer(&key(1), account(&key(2)), 5, 2);
    let old = [
        LAYOUT.pack(&Account {
            balance: 10,
            nonce: 1,
            bank: 0,
            opened: true,
        }),
        LAYOUT.pack(&Account {
            balance: 0,
            nonce: 1,
            bank: 0,
            opened: true,
        }),
    ];
    let cs = ConstraintSystem::<Fr>::new_ref();
    let request_var = LedgerRequestVar::new_witness(cs.clone(), || Ok(request)).unwrap();
    let after_request = cs.num_constraints();
    app.keys_var(&request_var).unwrap();
    let after_keys = cs.num_constraints();
    let old_vars: Vec<FpVar<Fr>> = old
        .iter()
        .map(|v| FpVar::new_witness(cs.clone(), || Ok(*v)).unwrap())
        .collect();
    let before_records = cs.num_constraints();
    LAYOUT.unpack_var(&old_vars[0]).unwrap();
    let per_record = cs.num_constraints() - before_records;
    let before_signature = cs.num_constraints();
    let fields = &request_var.0;
    let signer = signer_var(&fields.op, &fields.owner, &app.issuer()).unwrap();
    let message = [fields.to.clone(), fields.to.clone()];
    let _verdict = eddsa_gadget::is_valid(&signer, &message, &fields.signature).unwrap();
    let signature = cs.num_constraints() - before_signature;
    let before_logic = cs.num_constraints();
    let _outcome = app
        .execute_var(&request_var, &mut StorageVar::new(old_vars))
        .unwrap();
    let logic = cs.num_constraints() - before_logic;
    let transition = logic - 2 * per_record - signature;
    let app_total = after_keys + logic;

    let total = |capacity| {
        synthesized(BatchCircuit::blank(app.clone(), capacity).unwrap()).num_constraints()
    };
    let (two, four) = (total(2), total(4));
    let per_slot = (four - two) / 2;
    let fixed = two - 2 * per_slot;
    println!("ledger constraints:");
    println!("  request                  {after_request}");
    println!("  key slots                {}", after_keys - after_request);
    println!("  two record decompositions {}", 2 * per_record);
    println!("  signature                {signature}");
    println!("  transition, validity     {transition}");
    println!("  app total                {app_total}");
    println!("  per slot {per_slot}, fixed per batch {fixed}; batch of 2: {two}, of 4: {four}");
    assert_eq!(
        (
            after_request,
            after_keys - after_request,
            2 * per_record,
            signature,
            transition,
            app_total,
            per_slot,
            fixed
        ),
        (135, 259, 260, 3_463, 212, 4_329, 8_162, 2_397),
        "update the table in host/apps/ledger.rs"
    );
}
