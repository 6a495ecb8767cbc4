//! The interbank app: a seeded workload over several banks with rejected requests mixed in,
//! run by several threads on one store, gives honest batches that satisfy the circuit and
//! close the audit, keeps every bank's reserve equal to its customers' balances, and ends in
//! the state of a sequential replay; cross-bank transfers move both reserves and same-bank
//! transfers none; native and circuit logic agree on random requests; cheats — a forged
//! signature, a replay, a wrong bank, a forged validity bit, a tampered reserve — are
//! rejected or unprovable; batches have one shape whatever the banks; a one-slot batch
//! proves and verifies.
//!
//! Run with `cargo test --release --test integration interbank:: -- --nocapture` to see constraint counts.

use std::{collections::HashSet, mem::discriminant, sync::Arc};

use ark_bls12_381::{Bls12_381, Fr};
use ark_ff::{PrimeField, Zero};
use ark_groth16::Groth16;
use ark_r1cs_std::{alloc::AllocVar, boolean::Boolean, fields::fp::FpVar, GR1CSVar};
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
            account::{power_of_two, Account, AccountReject, BALANCE_BITS},
            clients::Mix,
            interbank::{
                lookup_var, reserve_key, BankId, InterbankApp, InterbankError, InterbankReject,
                InterbankRequest, InterbankRequestVar, InterbankWorkload, LAYOUT, MAX_BANKS,
            },
        },
        batch::{BatchCircuit, NUM_PUBLIC_INPUTS},
        eddsa::{account_id, SecretKey, Signature},
        set_digest::Tuple,
        storage_gadget::{execute, App, AppError, Executed, Response, StorageVar},
        store::{EpochSnapshot, Store, FIRST_TIMESTAMP},
        workload::Workload,
    },
};

fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32]).expect("non-degenerate seed")
}

fn issuer() -> SecretKey {
    key(210)
}

fn bank(id: u8) -> BankId {
    BankId::new(id).expect("bank id below 16")
}

/// Three banks.
fn app() -> InterbankApp {
    InterbankApp::new(issuer().public_key(), 3).expect("valid app")
}

fn account(client: &SecretKey) -> Fr {
    account_id(&client.public_key())
}

fn run(store: &Store, app: &InterbankApp, request: InterbankRequest) -> Executed<InterbankApp> {
    execute(store, app, request).expect("request executes")
}

fn value_at(store: &Store, key: Fr) -> Fr {
    store
        .snapshot()
        .final_state
        .iter()
        .find(|tuple| tuple.key == key)
        .map_or(Fr::zero(), |tuple| tuple.value)
}

fn record(store: &Store, key: Fr) -> Account {
    InterbankApp::account(value_at(store, key)).expect("a record")
}

fn reserve(store: &Store, id: u8) -> u64 {
    let value = value_at(store, reserve_key(bank(id)));
    let [low, high @ ..] = value.into_bigint().0;
    assert!(high.iter().all(|&limb| limb == 0), "a reserve is a u64");
    low
}

/// Alice and Bob at bank 0, Carol at bank 1, 1,000 each, issued in epoch 0 (nonces: every
/// client 1, the mint 3); then epoch 1.
struct Funded {
    app: InterbankApp,
    store: Store,
    clients: [SecretKey; 3],
    genesis: Vec<Tuple>,
}

fn funded() -> Funded {
    let app = app();
    let store = Store::new();
    let clients = [key(1), key(2), key(3)];
    let banks = [bank(0), bank(0), bank(1)];
    for (client, &at) in clients.iter().zip(&banks) {
        assert!(run(&store, &app, app.open(client, at, 1)).response.accepted);
    }
    for (i, (client, &at)) in clients.iter().zip(&banks).enumerate() {
        let issue = app.issue(&issuer(), account(client), at, 1_000, i as u64 + 1);
        assert!(run(&store, &app, issue).response.accepted);
    }
    let genesis = store.close_epoch().final_state;
    Funded {
        app,
        store,
        clients,
        genesis,
    }
}

/// Runs `request` and checks it was rejected for `reason` with no value changed.
fn assert_rejected(
    store: &Store,
    app: &InterbankApp,
    request: InterbankRequest,
    reason: InterbankReject,
) {
    let values = |store: &Store| {
        store
            .snapshot()
            .final_state
            .iter()
            .filter(|t| !t.value.is_zero())
            .map(|t| (t.key, t.value))
            .collect::<Vec<_>>()
    };
    let before = values(store);
    let ex = run(store, app, request);
    assert_eq!(ex.rejection, Some(reason));
    assert_eq!(ex.response, Response::rejected(2));
    assert!(ex.record.ops.iter().all(|op| op.old.value == op.new.value));
    assert_eq!(before, values(store));
}

// ------------------------------------------------------------------------------------------
// A workload, concurrently.
// ------------------------------------------------------------------------------------------

#[test]
fn concurrent_workload_keeps_reserves_satisfies_batches_and_equals_sequential_replay() {
    let mix = Mix {
        invalid_percent: 20,
        ..Mix::default()
    };
    let mut workload = InterbankWorkload::interbank(21, 10, 3, mix).expect("workload");
    let app = workload.app();
    let store = Store::new();
    let setup = run_streams(&store, &app, workload.setup());
    assert_eq!(setup.len(), 20);
    assert!(setup.iter().all(|ex| ex.response.accepted));
    let traffic = run_streams(&store, &app, workload.streams(44, 4));
    assert_eq!(traffic.len(), 44);

    let rejected: Vec<InterbankReject> = traffic.iter().filter_map(|ex| ex.rejection).collect();
    assert_eq!(rejected.len(), workload.planned_rejections());
    assert!(rejected.len() < traffic.len() / 2);
    let kinds: HashSet<_> = rejected.iter().map(discriminant).collect();
    for expected in [
        InterbankReject::Account(AccountReject::BadSignature),
        InterbankReject::Account(AccountReject::PayeeNotOpen),
        InterbankReject::WrongPayeeBank {
            named: 0,
            actual: 0,
        },
    ] {
        assert!(kinds.contains(&discriminant(&expected)), "no {expected:?}");
    }
    let account_kinds: HashSet<_> = rejected
        .iter()
        .filter_map(|r| match r {
            InterbankReject::Account(a) => Some(discriminant(a)),
            _ => None,
        })
        .collect();
    for expected in [
        AccountReject::StaleNonce {
            stored: 0,
            given: 0,
        },
        AccountReject::Overdraft {
            balance: 0,
            amount: 0,
        },
    ] {
        assert!(
            account_kinds.contains(&discriminant(&expected)),
            "no {expected:?}"
        );
    }
    // Both kinds of transfer happened: same-bank ones touch 2 keys, cross-bank ones 4.
    let accepted_transfers: Vec<usize> = traffic
        .iter()
        .filter(|ex| ex.response.accepted && ex.record.ops.len() > 1)
        .map(|ex| ex.record.ops.len())
        .collect();
    assert!(accepted_transfers.contains(&2) && accepted_transfers.contains(&4));

    let closing = store.close_epoch();
    let value = |key: Fr| {
        closing
            .final_state
            .iter()
            .find(|t| t.key == key)
            .map_or(Fr::zero(), |t| t.value)
    };
    for client in workload.clients() {
        let held = InterbankApp::account(value(client.account)).expect("record");
        assert_eq!(held.balance, client.balance);
        assert_eq!(held.bank, client.bank.id());
    }
    // Every bank's reserve is what its customers hold.
    for id in app.banks() {
        let held: u64 = workload
            .clients()
            .iter()
            .filter(|c| c.bank == id)
            .map(|c| c.balance)
            .sum();
        assert_eq!(value(reserve_key(id)), Fr::from(held), "bank {id:?}");
    }
    let mint = InterbankApp::account(value(app.mint_key())).expect("record");
    assert_eq!(mint.balance, workload.supply());

    let mut executed: Vec<_> = setup.into_iter().chain(traffic).collect();
    executed.sort_by_key(|ex| ex.record.t_req);
    let t_reqs: Vec<u64> = executed.iter().map(|ex| ex.record.t_req).collect();
    assert_eq!(
        t_reqs,
        (FIRST_TIMESTAMP..FIRST_TIMESTAMP + 64).collect::<Vec<_>>()
    );
    let (replayed_store, replayed) = replay(&app, &executed);
    for (original, again) in executed.iter().zip(&replayed) {
        assert_eq!(original.response, again.response);
        assert_eq!(original.record, again.record);
    }
    assert_eq!(replayed_store.snapshot().final_state, closing.final_state);

    let built = batches(&app, 0, 8, &executed, 900);
    for batch in &built {
        assert!(
            satisfied(batch.circuit.clone()),
            "batch {} unsatisfied",
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
        let mut workload = InterbankWorkload::interbank(seed, 6, 4, Mix::default()).unwrap();
        let setup = workload.setup();
        (setup, workload.streams(10, 3))
    };
    assert_eq!(generate(5), generate(5));
    assert_ne!(generate(5).1, generate(6).1);
}

// ------------------------------------------------------------------------------------------
// Reserves, banks, rejections.
// ------------------------------------------------------------------------------------------

#[test]
fn cross_bank_transfer_moves_reserves_and_same_bank_transfer_does_not() {
    let Funded {
        app,
        store,
        clients: [alice, bob, carol],
        ..
    } = funded();
    assert_eq!((reserve(&store, 0), reserve(&store, 1)), (2_000, 1_000));

    let same = run(
        &store,
        &app,
        app.transfer(&alice, bank(0), account(&bob), bank(0), 100, 2),
    );
    assert!(same.response.accepted);
    let keys: Vec<Fr> = same.record.ops.iter().map(|op| op.key()).collect();
    assert_eq!(
        keys,
        vec![account(&alice), account(&bob)],
        "no reserve touched"
    );
    assert_eq!((reserve(&store, 0), reserve(&store, 1)), (2_000, 1_000));

    let cross = run(
        &store,
        &app,
        app.transfer(&alice, bank(0), account(&carol), bank(1), 300, 3),
    );
    assert!(cross.response.accepted);
    let keys: Vec<Fr> = cross.record.ops.iter().map(|op| op.key()).collect();
    assert_eq!(
        keys,
        vec![
            account(&alice),
            account(&carol),
            reserve_key(bank(0)),
            reserve_key(bank(1))
        ]
    );
    assert_eq!((reserve(&store, 0), reserve(&store, 1)), (1_700, 1_300));
    assert_eq!(record(&store, account(&alice)).balance, 600);
    assert_eq!(record(&store, account(&bob)).balance, 1_100);
    assert_eq!(record(&store, account(&carol)).balance, 1_300);
    assert_eq!(
        cross.response,
        Response::accepted(vec![Fr::from(600u64), Fr::from(3u64)])
    );
    // Back from bank 1 to bank 0.
    let back = app.transfer(&carol, bank(1), account(&bob), bank(0), 1_300, 2);
    assert!(run(&store, &app, back).response.accepted);
    assert_eq!((reserve(&store, 0), reserve(&store, 1)), (3_000, 0));
}

#[test]
fn wrong_banks_and_unknown_banks_are_rejected() {
    let Funded {
        app,
        store,
        clients: [alice, _, carol],
        ..
    } = funded();
    // Carol banks with 1, not 0: crediting her and bank 0's reserve would unbalance both.
    assert_rejected(
        &store,
        &app,
        app.transfer(&alice, bank(0), account(&carol), bank(0), 10, 2),
        InterbankReject::WrongPayeeBank {
            named: 0,
            actual: 1,
        },
    );
    assert_rejected(
        &store,
        &app,
        app.transfer(&alice, bank(2), account(&carol), bank(1), 10, 3),
        InterbankReject::WrongPayerBank {
            named: 2,
            actual: 0,
        },
    );
    assert_rejected(
        &store,
        &app,
        app.issue(&issuer(), account(&carol), bank(2), 10, 4),
        InterbankReject::WrongPayeeBank {
            named: 2,
            actual: 1,
        },
    );
    // The app has banks 0, 1, 2: no account opens at bank 5.
    assert_rejected(
        &store,
        &app,
        app.open(&key(7), bank(5), 1),
        InterbankReject::UnknownBank { bank: 5, banks: 3 },
    );
    assert!(
        run(&store, &app, app.open(&key(7), bank(2), 1))
            .response
            .accepted
    );
    assert_eq!(
        BankId::new(16),
        Err(InterbankError::BankOutOfRange { id: 16 })
    );
    assert_eq!(
        InterbankApp::new(issuer().public_key(), 17),
        Err(InterbankError::BankCount { banks: 17 })
    );
    // A reserve is nobody's account.
    assert_rejected(
        &store,
        &app,
        app.transfer(&alice, bank(0), reserve_key(bank(2)), bank(1), 10, 5),
        InterbankReject::Account(AccountReject::PayeeNotOpen),
    );
}

#[test]
fn forged_signatures_and_replays_are_rejected() {
    let Funded {
        app,
        store,
        clients: [alice, bob, carol],
        ..
    } = funded();
    let honest = app.transfer(&alice, bank(0), account(&carol), bank(1), 250, 2);
    // Carol signs Alice's transfer; then the banks are changed under Alice's signature.
    assert_rejected(
        &store,
        &app,
        app.sign(honest, &carol),
        InterbankReject::Account(AccountReject::BadSignature),
    );
    let InterbankRequest::Transfer { signature, .. } = honest else {
        unreachable!()
    };
    let rerouted = InterbankRequest::Transfer {
        from: alice.public_key(),
        from_bank: bank(0),
        to: account(&bob),
        to_bank: bank(0),
        amount: 250,
        nonce: 2,
        signature,
    };
    assert_rejected(
        &store,
        &app,
        rerouted,
        InterbankReject::Account(AccountReject::BadSignature),
    );
    // An issue signed by a customer.
    assert_rejected(
        &store,
        &app,
        app.issue(&alice, account(&alice), bank(0), 1_000_000, 9),
        InterbankReject::Account(AccountReject::BadSignature),
    );
    assert!(run(&store, &app, honest).response.accepted);
    assert_rejected(
        &store,
        &app,
        honest,
        InterbankReject::Account(AccountReject::StaleNonce {
            stored: 2,
            given: 2,
        }),
    );
    assert_eq!((reserve(&store, 0), reserve(&store, 1)), (1_750, 1_250));
}

// ------------------------------------------------------------------------------------------
// Native and in-circuit logic in lockstep.
// ------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Signing {
    Required,
    OtherKey,
    TamperedScalar,
}

#[derive(Clone, Debug)]
enum Stored {
    Record(Account),
    Reserve(u64),
    /// A value no slot accepts: at least 2^133 (beyond a record with a 4-bit bank).
    Corrupt(u64),
}

impl Stored {
    fn value(&self) -> Fr {
        match self {
            Stored::Record(account) => LAYOUT.pack(account),
            Stored::Reserve(value) => Fr::from(*value),
            Stored::Corrupt(low) => Fr::from(*low) + power_of_two(133),
        }
    }
}

fn small_or_edge() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..4, Just(u64::MAX), any::<u64>()]
}

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..2_000,
        Just(u64::MAX),
        (u64::MAX - 2_000)..=u64::MAX,
        any::<u64>()
    ]
}

fn stored_record() -> impl Strategy<Value = Stored> {
    prop_oneof![
        9 => (amount(), small_or_edge(), 0u8..4, any::<bool>()).prop_map(
            |(balance, nonce, bank, opened)| Stored::Record(Account { balance, nonce, bank, opened })
        ),
        1 => any::<u64>().prop_map(Stored::Corrupt),
    ]
}

fn stored_reserve() -> impl Strategy<Value = Stored> {
    prop_oneof![
        9 => amount().prop_map(Stored::Reserve),
        1 => any::<u64>().prop_map(Stored::Corrupt),
    ]
}

/// A request of kind `op` (0 no-op … 4 balance) by client `owner` (at bank `a`) to payee
/// `to` (0–2 clients, 3 the mint, 4 bank 0's reserve) at bank `b`.
#[allow(clippy::too_many_arguments)]
fn request(
    app: &InterbankApp,
    op: u8,
    owner: u8,
    a: u8,
    to: u8,
    b: u8,
    amount: u64,
    nonce: u64,
    signing: &Signing,
) -> InterbankRequest {
    let owner_key = key(owner + 1);
    let to = match to {
        3 => app.mint_key(),
        4 => reserve_key(bank(0)),
        client => account(&key(client + 1)),
    };
    let placeholder = Signature::from_fields([Fr::zero(); 3]);
    let unsigned = match op {
        0 => return InterbankRequest::Noop,
        1 => InterbankRequest::Open {
            owner: owner_key.public_key(),
            bank: bank(a),
            nonce,
            signature: placeholder,
        },
        2 => InterbankRequest::Issue {
            to,
            bank: bank(b),
            amount,
            nonce,
            signature: placeholder,
        },
        3 => InterbankRequest::Transfer {
            from: owner_key.public_key(),
            from_bank: bank(a),
            to,
            to_bank: bank(b),
            amount,
            nonce,
            signature: placeholder,
        },
        _ => return InterbankApp::balance(owner_key.public_key()),
    };
    let required = if op == 2 { issuer() } else { owner_key };
    match signing {
        Signing::Required => app.sign(unsigned, &required),
        Signing::OtherKey => app.sign(unsigned, &key(99)),
        Signing::TamperedScalar => {
            let good = app.sign(unsigned, &required);
            let bump = |s: Signature| Signature {
                r: s.r,
                s: s.s + Fr::from(1u64),
            };
            match good {
                InterbankRequest::Open {
                    owner,
                    bank,
                    nonce,
                    signature,
                } => InterbankRequest::Open {
                    owner,
                    bank,
                    nonce,
                    signature: bump(signature),
                },
                InterbankRequest::Issue {
                    to,
                    bank,
                    amount,
                    nonce,
                    signature,
                } => InterbankRequest::Issue {
                    to,
                    bank,
                    amount,
                    nonce,
                    signature: bump(signature),
                },
                InterbankRequest::Transfer {
                    from,
                    from_bank,
                    to,
                    to_bank,
                    amount,
                    nonce,
                    signature,
                } => InterbankRequest::Transfer {
                    from,
                    from_bank,
                    to,
                    to_bank,
                    amount,
                    nonce,
                    signature: bump(signature),
                },
                other => other,
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn native_and_circuit_agree_on_random_requests(
        op in 0u8..5,
        owner in 0u8..3,
        a in 0u8..4,
        to in 0u8..5,
        b in 0u8..4,
        amount in amount(),
        nonce in small_or_edge(),
        signing in prop_oneof![4 => Just(Signing::Required), 1 => Just(Signing::OtherKey), 1 => Just(Signing::TamperedScalar)],
        records in [stored_record(), stored_record()],
        reserves in [stored_reserve(), stored_reserve()],
        junk in any::<u64>(),
    ) {
        let app = app();
        let request = request(&app, op, owner, a, to, b, amount, nonce, &signing);
        let keys = app.keys(&request);
        let stored = [&records[0], &records[1], &reserves[0], &reserves[1]];
        let old: Vec<Fr> = stored
            .iter()
            .zip(&keys)
            .map(|(s, slot)| if slot.active { s.value() } else { Fr::from(junk) })
            .collect();
        let step = lockstep(&app, &request, &old);
        match step.native {
            Err(AppError::DuplicateKey { .. }) => prop_assert!(!step.satisfied),
            Err(other) => prop_assert!(false, "unexpected native error {other}"),
            Ok(applied) => match applied.rejection {
                Some(InterbankReject::Account(AccountReject::CorruptRecord { .. }))
                | Some(InterbankReject::CorruptReserve { .. }) => prop_assert!(!step.satisfied),
                _ => {
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
            },
        }
    }

    #[test]
    fn reserve_key_lookup_matches_the_table(id in 0u8..16) {
        let table: Vec<Fr> = (0..MAX_BANKS).map(|i| reserve_key(bank(i))).collect();
        let cs = ConstraintSystem::<Fr>::new_ref();
        let bits: Vec<Boolean<Fr>> = (0..4)
            .map(|i| Boolean::new_witness(cs.clone(), || Ok((id >> i) & 1 == 1)).unwrap())
            .collect();
        let looked_up = lookup_var(&bits, &table).unwrap();
        prop_assert!(cs.is_satisfied().unwrap());
        prop_assert_eq!(looked_up.value().unwrap(), table[usize::from(id)]);
    }
}

// ------------------------------------------------------------------------------------------
// Cheating provers; one shape for every batch.
// ------------------------------------------------------------------------------------------

/// Epoch 1 of [`funded`]: Alice's cross-bank transfer of 100 to Carol forged by Carol, the
/// honest one (nonce 2), and its replay, in one batch of 4.
struct Cheats {
    app: InterbankApp,
    genesis: Vec<Tuple>,
    closing: EpochSnapshot,
    circuit: BatchCircuit<InterbankApp>,
}

fn cheats() -> Cheats {
    let Funded {
        app,
        store,
        clients: [alice, _, carol],
        genesis,
    } = funded();
    let honest = app.transfer(&alice, bank(0), account(&carol), bank(1), 100, 2);
    let executed = vec![
        run(&store, &app, app.sign(honest, &carol)),
        run(&store, &app, honest),
        run(&store, &app, honest),
    ];
    assert!(executed[0].rejection.is_some() && executed[2].rejection.is_some());
    assert!(executed[1].response.accepted);
    let closing = store.close_epoch();
    let circuit = batches(&app, 1, 4, &executed, 31).remove(0).circuit;
    Cheats {
        app,
        genesis,
        closing,
        circuit,
    }
}

/// What slot `slot`'s cross-bank transfer of 100 would write and answer if accepted.
fn accepted_outcome(circuit: &BatchCircuit<InterbankApp>, slot: usize) -> (Vec<Fr>, Response) {
    let ops = &circuit.witness.slots[slot].ops;
    let payer = InterbankApp::account(ops[0].old_value).expect("record");
    let payee = InterbankApp::account(ops[1].old_value).expect("record");
    let payer = Account {
        balance: payer.balance - 100,
        nonce: 2,
        ..payer
    };
    let payee = Account {
        balance: payee.balance + 100,
        ..payee
    };
    let hundred = Fr::from(100u64);
    (
        vec![
            LAYOUT.pack(&payer),
            LAYOUT.pack(&payee),
            ops[2].old_value - hundred,
            ops[3].old_value + hundred,
        ],
        Response::accepted(vec![Fr::from(payer.balance), Fr::from(payer.nonce)]),
    )
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
    let (new_values, response) = accepted_outcome(&circuit, 1);
    let control = claimed(&app, &circuit, 1, &new_values, &response);
    assert_eq!(control.public_inputs, circuit.public_inputs);
    assert!(satisfied(control));
    for slot in [0, 2] {
        let (new_values, response) = accepted_outcome(&circuit, slot);
        assert!(!satisfied(claimed(
            &app,
            &circuit,
            slot,
            &new_values,
            &response
        )));
    }
    // The honest transfer, with only the reserves left unmoved.
    let (mut half, response) = accepted_outcome(&circuit, 1);
    half[2] = circuit.witness.slots[1].ops[2].old_value;
    half[3] = circuit.witness.slots[1].ops[3].old_value;
    assert!(!satisfied(claimed(&app, &circuit, 1, &half, &response)));
}

#[test]
fn tampered_reserve_is_unprovable_or_unbalances_the_audit() {
    let Cheats {
        app,
        genesis,
        closing,
        circuit,
    } = cheats();
    // The prover reads bank 0's reserve (slot 1, key slot 2) as a million more.
    let mut richer = circuit.clone();
    richer.witness.slots[1].ops[2].old_value += Fr::from(1_000_000u64);
    richer.witness.recompute_hints(&app).expect("hints");
    assert!(!satisfied(richer.clone()));
    let richer = with_consistent_inputs(&app, richer);
    assert!(satisfied(richer.clone()));
    assert!(!audit_balances(&genesis, &closing, &[&richer]));
    // A reserve that is not a u64 cannot be read at all.
    let mut garbage = circuit;
    garbage.witness.slots[1].ops[3].old_value = power_of_two(BALANCE_BITS);
    assert!(!satisfied(with_consistent_inputs(&app, garbage)));
}

#[test]
fn batches_have_one_shape_whatever_the_banks() {
    let Funded {
        app,
        store,
        clients: [alice, bob, carol],
        ..
    } = funded();
    let same = run(
        &store,
        &app,
        app.transfer(&alice, bank(0), account(&bob), bank(0), 1, 2),
    );
    let cross = run(
        &store,
        &app,
        app.transfer(&alice, bank(0), account(&carol), bank(1), 1, 3),
    );
    let read = run(&store, &app, InterbankApp::balance(carol.public_key()));
    let shape = |executed: &[Executed<InterbankApp>]| {
        let cs = synthesized(batches(&app, 1, 2, executed, 3).remove(0).circuit);
        assert!(cs.is_satisfied().unwrap());
        (
            cs.num_constraints(),
            cs.num_witness_variables(),
            cs.num_instance_variables(),
        )
    };
    let blank = synthesized(BatchCircuit::blank(app.clone(), 2).unwrap());
    let expected = (
        blank.num_constraints(),
        blank.num_witness_variables(),
        1 + NUM_PUBLIC_INPUTS,
    );
    assert_eq!(shape(std::slice::from_ref(&same)), expected);
    assert_eq!(shape(std::slice::from_ref(&cross)), expected);
    assert_eq!(shape(&[same, cross]), expected);
    assert_eq!(shape(&[read]), expected);
}

// ------------------------------------------------------------------------------------------
// Groth16 end to end.
// ------------------------------------------------------------------------------------------

#[test]
fn one_slot_cross_bank_batch_proves_and_verifies() {
    let Funded {
        app,
        store,
        clients: [alice, _, carol],
        ..
    } = funded();
    let executed = vec![run(
        &store,
        &app,
        app.transfer(&alice, bank(0), account(&carol), bank(1), 400, 2),
    )];
    let built = batches(&app, 1, 1, &executed, 8).remove(0);
    let blank = BatchCircuit::blank(app.clone(), 1).expect("blank");
    let mut rng = StdRng::seed_from_u64(9);
    let (pk, _) = Groth16::<Bls12_381>::circuit_specific_setup(blank, &mut rng).expect("setup");
    let prover = Prover::new(Arc::new(CpuBackend::new()), pk).expect("prover");
    let proof = prover
        .prove(built.circuit.clone(), &mut rng)
        .expect("proof");
    let inputs = built.circuit.public_inputs.to_field_elements();
    let verifier = prover.verifier();
    assert!(verifier.verify(&inputs, &proof).expect("verify"));
    for index in 0..NUM_PUBLIC_INPUTS {
        let mut altered = inputs.clone();
        altered[index] += Fr::from(1u64);
        assert!(
            !verifier.verify(&altered, &proof).expect("verify"),
            "input {index}"
        );
    }
}

// ------------------------------------------------------------------------------------------
// Constraint counts.
// ------------------------------------------------------------------------------------------

#[test]
fn interbank_constraint_counts_are_reported() {
    let app = app();
    let request = app.transfer(&key(1), bank(0), account(&key(3)), bank(1), 5, 2);
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
            bank: 1,
            opened: true,
        }),
        Fr::from(10u64),
        Fr::from(0u64),
    ];
    let cs = ConstraintSystem::<Fr>::new_ref();
    let request_var = InterbankRequestVar::new_witness(cs.clone(), || Ok(request)).unwrap();
    let after_request = cs.num_constraints();
    let _keys = app.keys_var(&request_var).unwrap();
    let after_keys = cs.num_constraints();
    let old_vars: Vec<FpVar<Fr>> = old
        .iter()
        .map(|v| FpVar::new_witness(cs.clone(), || Ok(*v)).unwrap())
        .collect();
    let before_logic = cs.num_constraints();
    let _outcome = app
        .execute_var(&request_var, &mut StorageVar::new(old_vars))
        .unwrap();
    let logic = cs.num_constraints() - before_logic;
    let app_total = after_keys + logic;
    let total = |capacity| {
        synthesized(BatchCircuit::blank(app.clone(), capacity).unwrap()).num_constraints()
    };
    let (two, four) = (total(2), total(4));
    let per_slot = (four - two) / 2;
    let fixed = two - 2 * per_slot;
    println!("interbank constraints:");
    println!("  request        {after_request}");
    println!("  key slots      {}", after_keys - after_request);
    println!("  logic          {logic} (records, reserves, signature, transition, banks)");
    println!("  app total      {app_total}");
    println!("  per slot {per_slot}, fixed per batch {fixed}; batch of 2: {two}, of 4: {four}");
    assert_eq!(
        (
            after_request,
            after_keys - after_request,
            logic,
            app_total,
            per_slot,
            fixed
        ),
        (147, 269, 4_224, 4_640, 10_937, 2_397),
        "update the table in host/apps/interbank.rs"
    );
}
