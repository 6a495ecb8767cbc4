//! The storage abstraction of Spice apps: an application writes its request logic once per
//! side — natively against [`Storage`], in-circuit against [`StorageVar`], the same `read` /
//! `write` calls in the same order — and gets the store transaction ([`execute`]), the
//! witness and the batch circuit ([`super::batch`]) for free.
//!
//! ```text
//! App::execute(request, authorized, &mut Storage) ──apply──▶ new values + Response (native)
//! App::execute_var(request, &mut StorageVar) ──apply_var──▶ new values + ResponseVar (circuit)
//! ```
//!
//! # What the generic layer ([`apply`] / [`apply_var`]) adds around the app's logic
//!
//! A request has a fixed number [`App::KEYS`] of *key slots*; each slot is a key and an
//! `active` flag, both functions of the request ([`App::keys`] / [`App::keys_var`]). Around the
//! app's own logic the generic layer, identically on both sides:
//!
//! 1. **masks** the old value of every inactive slot to 0 — an inactive slot is not read from
//!    the store, so its prover-supplied value is unauthenticated and the app must never see it;
//! 2. checks that the **active keys are distinct** (DESIGN §4: a request's touches of one key
//!    are one read-modify-write). Two writes `(k, ·, t_req)` of one key in one request would
//!    put two tuples with the same timestamp on k's chain — a fork the audit's chain argument
//!    does not cover (e.g. a transfer from k to k that debits and credits the same old balance
//!    creates money). In-circuit: `(k_i − k_j)·w = active_i ∧ active_j` for every pair (2
//!    constraints a pair);
//! 3. runs the app, which returns a **validity bit** (natively: `Ok` / `Err`). An invalid
//!    request is still executed — its active keys are read and rewritten *unchanged* at
//!    `t_req` — and commits the response `[0, 0, …, 0]`; a valid one commits
//!    `[1, payload…]`. The circuit selects `new = valid ? written : old` per slot and
//!    `payload = valid ? payload : 0` (1 constraint each), so an invalid request provably
//!    changes nothing. Rejected requests must still touch the store: validity usually depends
//!    on stored values (overdraft), and a decision about a value is only as good as the
//!    read that produced it, which must be in RS like any other.
//!
//! # The contract an [`App`] must keep
//!
//! * [`App::encode_request_var`] determines everything [`App::keys_var`] and
//!   [`App::execute_var`] depend on (the request commitment binds only the encoding).
//! * `execute` (given `authorized = App::authorized(request)`) and `execute_var` agree: same
//!   writes, same payload, `Ok` ⇔ valid bit 1, on every request and every old values the
//!   circuit can satisfy (`tests/integration/batch_circuit.rs`
//!   checks this on random inputs for [`transfer::TransferApp`]).
//! * [`App::noop`] has no active key (it pads batches and never touches state).
//! * Every value the app writes is one its own circuit accepts when read back (TransferApp
//!   writes only u64 balances and range-checks them on read).

use std::fmt::Debug;

use ark_bls12_381::Fr;
use ark_ff::Zero;
use ark_r1cs_std::{
    alloc::AllocVar,
    boolean::Boolean,
    eq::EqGadget,
    fields::{fp::FpVar, FieldVar},
};
use ark_relations::gr1cs::SynthesisError;

use super::store::{Store, StoreError, TxRecord};

/// One key slot of a request: the key and whether the request really touches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeySlot {
    /// The key (for an inactive slot: whatever the request encodes, never used for state).
    pub key: Fr,
    /// Whether the request reads and writes this key.
    pub active: bool,
}

impl KeySlot {
    /// A slot the request touches.
    pub fn active(key: Fr) -> Self {
        Self { key, active: true }
    }

    /// A slot the request does not touch (key 0).
    pub fn inactive() -> Self {
        Self {
            key: Fr::zero(),
            active: false,
        }
    }
}

/// In-circuit twin of [`KeySlot`].
#[derive(Clone, Debug)]
pub struct KeySlotVar {
    /// The key.
    pub key: FpVar<Fr>,
    /// Whether the request touches it.
    pub active: Boolean<Fr>,
}

/// The native storage a request sees: one value per key slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Storage {
    values: Vec<Fr>,
}

impl Storage {
    /// Storage holding `values` (one per key slot).
    pub fn new(values: Vec<Fr>) -> Self {
        Self { values }
    }

    /// The current value of key slot `slot`.
    ///
    /// # Panics
    /// If `slot ≥ App::KEYS`: slot indices are constants of the app's code, so this is a bug
    /// in the app, never a property of a request.
    pub fn read(&self, slot: usize) -> Fr {
        self.values[slot]
    }

    /// Sets key slot `slot` to `value`. Unwritten slots keep their old value (a read is a
    /// read-modify-write with `v_new = v_old`).
    ///
    /// # Panics
    /// If `slot ≥ App::KEYS` (see [`Storage::read`]).
    pub fn write(&mut self, slot: usize, value: Fr) {
        self.values[slot] = value;
    }

    /// The values, one per key slot.
    pub fn into_values(self) -> Vec<Fr> {
        self.values
    }
}

/// In-circuit twin of [`Storage`].
#[derive(Clone, Debug)]
pub struct StorageVar {
    values: Vec<FpVar<Fr>>,
}

impl StorageVar {
    /// Storage holding `values` (one per key slot).
    pub fn new(values: Vec<FpVar<Fr>>) -> Self {
        Self { values }
    }

    /// The current value of key slot `slot`.
    ///
    /// # Panics
    /// If `slot ≥ App::KEYS` (an app bug, as in [`Storage::read`]).
    pub fn read(&self, slot: usize) -> FpVar<Fr> {
        self.values[slot].clone()
    }

    /// Sets key slot `slot` to `value` (free: no constraint).
    ///
    /// # Panics
    /// If `slot ≥ App::KEYS`.
    pub fn write(&mut self, slot: usize, value: FpVar<Fr>) {
        self.values[slot] = value;
    }

    /// The values, one per key slot.
    pub fn into_values(self) -> Vec<FpVar<Fr>> {
        self.values
    }
}

/// A Spice application: its requests, their key slots, and their logic, natively and
/// in-circuit. See the module docs for the contract.
pub trait App: Clone + Debug + Send + Sync {
    /// A client request.
    type Request: Clone + Debug + Send + Sync;
    /// A request in the circuit. Allocation must enforce whatever ranges the encoding relies
    /// on (e.g. an amount's 64 bits).
    type RequestVar: AllocVar<Self::Request, Fr>;
    /// Why the native logic rejects a request (not committed: the committed response of a
    /// rejected request is `[0, 0, …]`).
    type Reject: std::error::Error + Clone + Debug + PartialEq + Send + Sync + 'static;

    /// Key slots of every request (fixed: the batch circuit has one shape per app).
    const KEYS: usize;
    /// Field elements of [`App::encode_request`].
    const REQUEST_FIELDS: usize;
    /// Field elements of a response payload (the committed response is one status element
    /// followed by the payload).
    const PAYLOAD_FIELDS: usize;

    /// The no-op request that pads batches: no active key, always valid.
    fn noop(&self) -> Self::Request;

    /// The request's [`App::KEYS`] key slots.
    fn keys(&self, request: &Self::Request) -> Vec<KeySlot>;

    /// The request as [`App::REQUEST_FIELDS`] field elements, as committed.
    fn encode_request(&self, request: &Self::Request) -> Vec<Fr>;

    /// The part of the request's validity that does not depend on storage: whether its
    /// signature verifies (`true` for an app that signs nothing, the default). [`execute`]
    /// computes it once, *before* locking the request's keys, and hands it to
    /// [`App::execute`], so a hot key is held for the storage logic only, not for the curve
    /// arithmetic of a signature check; the batch witness reuses the recorded value. The
    /// circuit does not trust it: [`App::execute_var`] verifies the signature itself, so a
    /// wrong value makes the native response disagree with the circuit's, and no proof exists.
    fn authorized(&self, _request: &Self::Request) -> bool {
        true
    }

    /// The request's logic on `storage` (old values, inactive slots reading 0), given
    /// [`App::authorized`]'s verdict on it: writes the new values and returns the response
    /// payload ([`App::PAYLOAD_FIELDS`] elements), or rejects. A rejection discards every
    /// write.
    fn execute(
        &self,
        request: &Self::Request,
        authorized: bool,
        storage: &mut Storage,
    ) -> Result<Vec<Fr>, Self::Reject>;

    /// In-circuit [`App::keys`].
    fn keys_var(&self, request: &Self::RequestVar) -> Result<Vec<KeySlotVar>, SynthesisError>;

    /// In-circuit [`App::encode_request`].
    fn encode_request_var(
        &self,
        request: &Self::RequestVar,
    ) -> Result<Vec<FpVar<Fr>>, SynthesisError>;

    /// In-circuit [`App::execute`]: writes `storage` and returns the payload and the validity
    /// bit (1 exactly when `execute` returns `Ok`). It must be satisfiable for every request
    /// and old values the app can meet; an invalid request is a 0 bit, never an
    /// unsatisfiable system. Writes of an invalid request are discarded by the caller.
    fn execute_var(
        &self,
        request: &Self::RequestVar,
        storage: &mut StorageVar,
    ) -> Result<(Vec<FpVar<Fr>>, Boolean<Fr>), SynthesisError>;
}

/// Field elements of a committed response of `A`: status + payload.
pub fn response_fields<A: App>() -> usize {
    1 + A::PAYLOAD_FIELDS
}

/// The committed response of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Whether the request was executed (`false`: rejected, nothing changed).
    pub accepted: bool,
    /// The app's payload; all zero when rejected.
    pub payload: Vec<Fr>,
}

impl Response {
    /// The response of an accepted request.
    pub fn accepted(payload: Vec<Fr>) -> Self {
        Self {
            accepted: true,
            payload,
        }
    }

    /// The response of a rejected request (`payload_fields` zeros).
    pub fn rejected(payload_fields: usize) -> Self {
        Self {
            accepted: false,
            payload: vec![Fr::zero(); payload_fields],
        }
    }

    /// `[status, payload…]` with status 1 (accepted) or 0 (rejected), as committed.
    pub fn encode(&self) -> Vec<Fr> {
        std::iter::once(Fr::from(self.accepted))
            .chain(self.payload.iter().copied())
            .collect()
    }
}

/// In-circuit twin of [`Response`].
#[derive(Clone, Debug)]
pub struct ResponseVar {
    /// The validity bit.
    pub accepted: Boolean<Fr>,
    /// The payload, zero when rejected.
    pub payload: Vec<FpVar<Fr>>,
}

impl ResponseVar {
    /// `[status, payload…]`, as committed (free).
    pub fn encode(&self) -> Vec<FpVar<Fr>> {
        std::iter::once(FpVar::from(self.accepted.clone()))
            .chain(self.payload.iter().cloned())
            .collect()
    }
}

/// An application that broke the [`App`] contract, or inputs of the wrong shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// `App::keys` returned a number of slots other than `App::KEYS`.
    #[error("the app listed {got} key slots, its shape has {expected}")]
    KeyCount {
        /// `App::KEYS`.
        expected: usize,
        /// Slots returned.
        got: usize,
    },
    /// The number of old values differs from `App::KEYS`.
    #[error("{got} old values given for {expected} key slots")]
    ValueCount {
        /// `App::KEYS`.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// The app's payload has the wrong length.
    #[error("the app returned a payload of {got} fields, its shape has {expected}")]
    PayloadLength {
        /// `App::PAYLOAD_FIELDS`.
        expected: usize,
        /// Fields returned.
        got: usize,
    },
    /// `App::encode_request` returned the wrong number of fields.
    #[error("the app encoded a request in {got} fields, its shape has {expected}")]
    RequestLength {
        /// `App::REQUEST_FIELDS`.
        expected: usize,
        /// Fields returned.
        got: usize,
    },
    /// Two active key slots of one request hold the same key.
    #[error("key {key} is touched twice by one request")]
    DuplicateKey {
        /// The repeated key.
        key: Fr,
    },
    /// The app's no-op request has an active key slot.
    #[error("the app's no-op request touches key slot {slot}")]
    NoopTouchesState {
        /// The active slot.
        slot: usize,
    },
    /// A request with no active key cannot be executed in the store (only the no-op has
    /// none, and it only pads batches).
    #[error("the request touches no key")]
    NoActiveKey,
}

/// What one request did to its key slots, natively: the twin of [`AppliedVar`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied<R> {
    /// The request's key slots.
    pub keys: Vec<KeySlot>,
    /// Old values, inactive slots masked to 0 (what the app saw; what RS hashes).
    pub old_values: Vec<Fr>,
    /// New values (= `old_values` when rejected; what WS hashes).
    pub new_values: Vec<Fr>,
    /// The committed response.
    pub response: Response,
    /// Why the request was rejected, if it was.
    pub rejection: Option<R>,
}

/// Runs `request` on `old_values` (one per key slot) the way the circuit does: masks
/// inactive slots, checks the active keys distinct, runs the app (with `authorized`, the
/// request's [`App::authorized`]), and discards the writes of a rejected request.
pub fn apply<A: App>(
    app: &A,
    request: &A::Request,
    authorized: bool,
    old_values: &[Fr],
) -> Result<Applied<A::Reject>, AppError> {
    let keys = app.keys(request);
    if keys.len() != A::KEYS {
        return Err(AppError::KeyCount {
            expected: A::KEYS,
            got: keys.len(),
        });
    }
    if old_values.len() != A::KEYS {
        return Err(AppError::ValueCount {
            expected: A::KEYS,
            got: old_values.len(),
        });
    }
    for (i, a) in keys.iter().enumerate() {
        if let Some(b) = keys[i + 1..]
            .iter()
            .find(|b| a.active && b.active && a.key == b.key)
        {
            return Err(AppError::DuplicateKey { key: b.key });
        }
    }
    let old_values: Vec<Fr> = keys
        .iter()
        .zip(old_values)
        .map(|(slot, &value)| if slot.active { value } else { Fr::zero() })
        .collect();
    let mut storage = Storage::new(old_values.clone());
    let (new_values, response, rejection) = match app.execute(request, authorized, &mut storage) {
        Ok(payload) => {
            if payload.len() != A::PAYLOAD_FIELDS {
                return Err(AppError::PayloadLength {
                    expected: A::PAYLOAD_FIELDS,
                    got: payload.len(),
                });
            }
            (storage.into_values(), Response::accepted(payload), None)
        }
        Err(reject) => (
            old_values.clone(),
            Response::rejected(A::PAYLOAD_FIELDS),
            Some(reject),
        ),
    };
    Ok(Applied {
        keys,
        old_values,
        new_values,
        response,
        rejection,
    })
}

/// What one request did to its key slots, in the circuit (see [`apply_var`]).
#[derive(Clone, Debug)]
pub struct AppliedVar {
    /// The request's key slots.
    pub keys: Vec<KeySlotVar>,
    /// Old values, inactive slots masked to 0.
    pub old_values: Vec<FpVar<Fr>>,
    /// New values (= old when the request is invalid).
    pub new_values: Vec<FpVar<Fr>>,
    /// The committed response.
    pub response: ResponseVar,
}

/// In-circuit [`apply`]: `old_values` are the prover's claimed old values, one per key slot
/// (the caller binds the active ones to RS). Costs, beyond the app's own logic, one
/// constraint per slot to mask, two per pair of slots for distinctness, one per slot to
/// select the new value and one per payload field to mask it.
///
/// An app that breaks the shape contract (wrong number of slots, of payload fields) is
/// reported as [`SynthesisError::Unsatisfiable`]: no proof of such a circuit can exist.
pub fn apply_var<A: App>(
    app: &A,
    request: &A::RequestVar,
    old_values: &[FpVar<Fr>],
) -> Result<AppliedVar, SynthesisError> {
    let keys = app.keys_var(request)?;
    if keys.len() != A::KEYS || old_values.len() != A::KEYS {
        return Err(SynthesisError::Unsatisfiable);
    }
    // Distinct active keys: (k_i − k_j)·w = active_i ∧ active_j. When both are active the
    // right side is 1, so k_i − k_j must be invertible, i.e. k_i ≠ k_j; otherwise w = 0 works.
    for (i, a) in keys.iter().enumerate() {
        for b in &keys[i + 1..] {
            let both = &a.active & &b.active;
            a.key.conditional_enforce_not_equal(&b.key, &both)?;
        }
    }
    // Mask: the app must not see an unauthenticated value (inactive slots are not in RS).
    let zero = FpVar::zero();
    let old_values = keys
        .iter()
        .zip(old_values)
        .map(|(slot, value)| slot.active.select(value, &zero))
        .collect::<Result<Vec<_>, _>>()?;
    let mut storage = StorageVar::new(old_values.clone());
    let (payload, valid) = app.execute_var(request, &mut storage)?;
    let written = storage.into_values();
    if payload.len() != A::PAYLOAD_FIELDS || written.len() != A::KEYS {
        return Err(SynthesisError::Unsatisfiable);
    }
    // An invalid request changes nothing and reveals nothing but its status.
    let new_values = written
        .iter()
        .zip(&old_values)
        .map(|(new, old)| valid.select(new, old))
        .collect::<Result<Vec<_>, _>>()?;
    let payload = payload
        .iter()
        .map(|field| valid.select(field, &zero))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AppliedVar {
        keys,
        old_values,
        new_values,
        response: ResponseVar {
            accepted: valid,
            payload,
        },
    })
}

/// A request executed in the store: what the witness builder needs.
#[derive(Clone, Debug)]
pub struct Executed<A: App> {
    /// The request.
    pub request: A::Request,
    /// [`App::authorized`] of the request, as execution used it.
    pub authorized: bool,
    /// The store's record: one op per *active* key slot, in slot order.
    pub record: TxRecord,
    /// The committed response.
    pub response: Response,
    /// Why the app rejected it, if it did (a rejected request is still executed: it reads
    /// and rewrites its keys unchanged, and its response says so).
    pub rejection: Option<A::Reject>,
}

/// Executes `request` in `store`: locks its active keys, runs [`apply`] on their current
/// values, writes the new values (unchanged ones if the app rejects) at a fresh `t_req`.
///
/// Errors are the store's (no key, too many keys, repeated key, clock exhausted) or an
/// [`AppError`]; on any error nothing is written. An app *rejection* is not an error: it is
/// recorded, proved, and answered with a rejected [`Response`].
pub fn execute<A: App>(
    store: &Store,
    app: &A,
    request: A::Request,
) -> Result<Executed<A>, StoreError<AppError>> {
    let slots = app.keys(&request);
    if slots.len() != A::KEYS {
        return Err(StoreError::App(AppError::KeyCount {
            expected: A::KEYS,
            got: slots.len(),
        }));
    }
    let active: Vec<usize> = (0..A::KEYS).filter(|&i| slots[i].active).collect();
    if active.is_empty() {
        return Err(StoreError::App(AppError::NoActiveKey));
    }
    let keys: Vec<Fr> = active.iter().map(|&i| slots[i].key).collect();
    // Outside the store's locks: it reads no state, and a signature check is the most
    // expensive part of most requests.
    let authorized = app.authorized(&request);
    let mut applied = None;
    let record = store.transact(&keys, |current| {
        let mut old = vec![Fr::zero(); A::KEYS];
        for (&slot, &value) in active.iter().zip(current) {
            old[slot] = value;
        }
        let result = apply(app, &request, authorized, &old)?;
        let new_active = active.iter().map(|&slot| result.new_values[slot]).collect();
        applied = Some(result);
        Ok(new_active)
    })?;
    // `transact` returned Ok, so the closure ran to its end and set `applied`.
    let applied = applied.ok_or(StoreError::App(AppError::NoActiveKey))?;
    Ok(Executed {
        request,
        authorized,
        record,
        response: applied.response,
        rejection: applied.rejection,
    })
}

pub mod transfer {
    //! `TransferApp`: the smallest useful app, used by the tests of the storage layer, by
    //! `spice demo --app transfer` and as the worked example of [`App`]. Balances are u64
    //! values at keys; a deposit credits `amount` to a key (no overflow), a transfer moves
    //! `amount` from `from` to `to` with no overdraft and no overflow, a read returns a
    //! balance. Nothing is signed: authorisation is the real apps' business (ledger,
    //! interbank, dark pool, in `host/apps/`), this one exercises the store.
    //!
    //! Key slots: 0 = `from` (or the read key), 1 = `to` (or the deposit's key). Request
    //! encoding (3 fields): `[first key, second key, kind + 4·amount]` with kind 0 no-op,
    //! 1 transfer, 2 read, 3 deposit; injective because kind < 4 and amount < 2^64, so the
    //! packed field is < 2^66 < r. Payload (1 field): the sender's new balance (transfer),
    //! the balance (read), the credited balance (deposit), 0 (no-op).
    //!
    //! In-circuit cost: request 3 + 1 + 64 (kind bits, their exclusion, amount bits), key
    //! slots 2, logic 65 + 65 (balances are u64) + 66 + 66 (the two comparisons) + 9 = 271.

    use std::borrow::Borrow;

    use ark_bls12_381::Fr;
    use ark_ff::Zero;
    use ark_r1cs_std::{
        alloc::{AllocVar, AllocationMode},
        boolean::Boolean,
        fields::{fp::FpVar, FieldVar},
        uint64::UInt64,
    };
    use ark_relations::gr1cs::{Namespace, SynthesisError};

    use super::{App, KeySlot, KeySlotVar, Storage, StorageVar};
    use crate::host::{
        field_encoding::u64_of,
        integer_gadget::{at_least_var, bounded_bits_le},
    };

    /// Bits of a balance and of an amount.
    pub const BALANCE_BITS: usize = 64;

    /// A request of [`TransferApp`].
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum TransferRequest {
        /// Does nothing (pads batches).
        Noop,
        /// Moves `amount` from `from` to `to`.
        Transfer {
            /// The debited key.
            from: Fr,
            /// The credited key (must differ from `from`).
            to: Fr,
            /// The amount.
            amount: u64,
        },
        /// Returns the balance at `key`.
        Read {
            /// The key read.
            key: Fr,
        },
        /// Credits `amount` to `to` (creates money: the storage layer's genesis).
        Deposit {
            /// The credited key.
            to: Fr,
            /// The amount.
            amount: u64,
        },
    }

    impl TransferRequest {
        /// The request's fields: its kind bits, first key, second key and amount.
        fn parts(&self) -> RequestParts {
            let (kind, first, second, amount) = match *self {
                TransferRequest::Noop => ([false; 3], Fr::zero(), Fr::zero(), 0),
                TransferRequest::Transfer { from, to, amount } => {
                    ([true, false, false], from, to, amount)
                }
                TransferRequest::Read { key } => ([false, true, false], key, Fr::zero(), 0),
                TransferRequest::Deposit { to, amount } => {
                    ([false, false, true], Fr::zero(), to, amount)
                }
            };
            RequestParts {
                is_transfer: kind[0],
                is_read: kind[1],
                is_deposit: kind[2],
                first,
                second,
                amount,
            }
        }

        /// The request's kind: 0 no-op, 1 transfer, 2 read, 3 deposit.
        fn kind(&self) -> u128 {
            let parts = self.parts();
            u128::from(parts.is_transfer)
                + 2 * u128::from(parts.is_read)
                + 3 * u128::from(parts.is_deposit)
        }
    }

    /// A [`TransferRequest`] as plain fields (at most one kind bit set).
    #[derive(Clone, Copy, Debug)]
    struct RequestParts {
        is_transfer: bool,
        is_read: bool,
        is_deposit: bool,
        first: Fr,
        second: Fr,
        amount: u64,
    }

    /// Why a [`TransferApp`] request is rejected.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
    pub enum TransferReject {
        /// The sender's balance is below the amount.
        #[error("balance {balance} does not cover {amount}")]
        Overdraft {
            /// The sender's balance.
            balance: u64,
            /// The amount.
            amount: u64,
        },
        /// The receiver's balance would reach 2^64.
        #[error("balance {balance} + {amount} overflows 64 bits")]
        Overflow {
            /// The receiver's balance.
            balance: u64,
            /// The amount.
            amount: u64,
        },
        /// A stored value is not a u64. Unreachable in a store written only by this app (it
        /// writes u64 values, never-written keys read 0, and every read returns the latest
        /// write); the circuit's range check makes such a slot unprovable, not rejected.
        #[error("stored value {value} is not a 64-bit balance")]
        BalanceOutOfRange {
            /// The value.
            value: Fr,
        },
    }

    /// The value as a balance, if it is below 2^64.
    fn balance(value: Fr) -> Result<u64, TransferReject> {
        u64_of(value).ok_or(TransferReject::BalanceOutOfRange { value })
    }

    /// Moves u64 balances between keys; see the module docs.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct TransferApp;

    /// A [`TransferRequest`] in the circuit.
    #[derive(Clone, Debug)]
    pub struct TransferRequestVar {
        /// Kind bit: transfer.
        pub is_transfer: Boolean<Fr>,
        /// Kind bit: read.
        pub is_read: Boolean<Fr>,
        /// Kind bit: deposit (at most one kind bit is set: enforced at allocation).
        pub is_deposit: Boolean<Fr>,
        /// Slot 0's key.
        pub first: FpVar<Fr>,
        /// Slot 1's key.
        pub second: FpVar<Fr>,
        /// The amount, 64 boolean-constrained bits.
        pub amount: UInt64<Fr>,
    }

    impl AllocVar<TransferRequest, Fr> for TransferRequestVar {
        fn new_variable<T: Borrow<TransferRequest>>(
            cs: impl Into<Namespace<Fr>>,
            f: impl FnOnce() -> Result<T, SynthesisError>,
            mode: AllocationMode,
        ) -> Result<Self, SynthesisError> {
            let cs = cs.into().cs();
            let parts = f().map(|r| r.borrow().parts());
            let bit = |get: fn(&RequestParts) -> bool| {
                Boolean::new_variable(cs.clone(), || parts.map(|p| get(&p)), mode)
            };
            let is_transfer = bit(|p| p.is_transfer)?;
            let is_read = bit(|p| p.is_read)?;
            let is_deposit = bit(|p| p.is_deposit)?;
            // At most one kind (1 constraint): the bits are boolean, so their sum s is in
            // 0..=3, and s·(s − 1) = 0 leaves 0 or 1. Two bits set would encode a kind that
            // means nothing (and would collide with another kind's encoding).
            let kinds = FpVar::from(is_transfer.clone())
                + FpVar::from(is_read.clone())
                + FpVar::from(is_deposit.clone());
            kinds.mul_equals(&(&kinds - Fr::from(1u64)), &FpVar::zero())?;
            Ok(Self {
                first: FpVar::new_variable(cs.clone(), || parts.map(|p| p.first), mode)?,
                second: FpVar::new_variable(cs.clone(), || parts.map(|p| p.second), mode)?,
                amount: UInt64::new_variable(cs, || parts.map(|p| p.amount), mode)?,
                is_transfer,
                is_read,
                is_deposit,
            })
        }
    }

    impl App for TransferApp {
        type Request = TransferRequest;
        type RequestVar = TransferRequestVar;
        type Reject = TransferReject;

        const KEYS: usize = 2;
        const REQUEST_FIELDS: usize = 3;
        const PAYLOAD_FIELDS: usize = 1;

        fn noop(&self) -> TransferRequest {
            TransferRequest::Noop
        }

        fn keys(&self, request: &TransferRequest) -> Vec<KeySlot> {
            let p = request.parts();
            vec![
                KeySlot {
                    key: p.first,
                    active: p.is_transfer || p.is_read,
                },
                KeySlot {
                    key: p.second,
                    active: p.is_transfer || p.is_deposit,
                },
            ]
        }

        fn encode_request(&self, request: &TransferRequest) -> Vec<Fr> {
            let p = request.parts();
            let packed = request.kind() + (u128::from(p.amount) << 2);
            vec![p.first, p.second, Fr::from(packed)]
        }

        fn execute(
            &self,
            request: &TransferRequest,
            _authorized: bool,
            storage: &mut Storage,
        ) -> Result<Vec<Fr>, TransferReject> {
            // Both slots are range-checked whatever the kind, as in the circuit.
            let from = balance(storage.read(0))?;
            let to = balance(storage.read(1))?;
            match *request {
                TransferRequest::Noop => Ok(vec![Fr::zero()]),
                TransferRequest::Read { .. } => Ok(vec![Fr::from(from)]),
                TransferRequest::Deposit { amount, .. } => {
                    let credited = to.checked_add(amount).ok_or(TransferReject::Overflow {
                        balance: to,
                        amount,
                    })?;
                    storage.write(1, Fr::from(credited));
                    Ok(vec![Fr::from(credited)])
                }
                TransferRequest::Transfer { amount, .. } => {
                    let debited = from.checked_sub(amount).ok_or(TransferReject::Overdraft {
                        balance: from,
                        amount,
                    })?;
                    let credited = to.checked_add(amount).ok_or(TransferReject::Overflow {
                        balance: to,
                        amount,
                    })?;
                    storage.write(0, Fr::from(debited));
                    storage.write(1, Fr::from(credited));
                    Ok(vec![Fr::from(debited)])
                }
            }
        }

        fn keys_var(
            &self,
            request: &TransferRequestVar,
        ) -> Result<Vec<KeySlotVar>, SynthesisError> {
            Ok(vec![
                KeySlotVar {
                    key: request.first.clone(),
                    active: &request.is_transfer | &request.is_read,
                },
                KeySlotVar {
                    key: request.second.clone(),
                    active: &request.is_transfer | &request.is_deposit,
                },
            ])
        }

        fn encode_request_var(
            &self,
            request: &TransferRequestVar,
        ) -> Result<Vec<FpVar<Fr>>, SynthesisError> {
            let kind = FpVar::from(request.is_transfer.clone())
                + FpVar::from(request.is_read.clone()) * Fr::from(2u64)
                + FpVar::from(request.is_deposit.clone()) * Fr::from(3u64);
            let packed = kind + request.amount.to_fp()? * Fr::from(4u64);
            Ok(vec![request.first.clone(), request.second.clone(), packed])
        }

        fn execute_var(
            &self,
            request: &TransferRequestVar,
            storage: &mut StorageVar,
        ) -> Result<(Vec<FpVar<Fr>>, Boolean<Fr>), SynthesisError> {
            let from = storage.read(0);
            let to = storage.read(1);
            // Balances are u64 (65 constraints each). This is what gives the comparisons
            // below their meaning; an out-of-range value (unreachable, see
            // `TransferReject::BalanceOutOfRange`) makes the slot unprovable.
            bounded_bits_le(&from, BALANCE_BITS)?;
            bounded_bits_le(&to, BALANCE_BITS)?;
            let amount = request.amount.to_fp()?;
            // from and amount are u64s (just checked, and by allocation).
            let covered = at_least_var(&from, &amount, BALANCE_BITS)?;
            // to + amount < 2^65; bit 64 is set exactly when the sum overflows a u64.
            let overflows =
                bounded_bits_le(&(&to + &amount), BALANCE_BITS + 1)?[BALANCE_BITS].clone();
            let debited = &from - &amount;
            let credited = &to + &amount;
            let credits = &request.is_transfer | &request.is_deposit;
            storage.write(0, request.is_transfer.select(&debited, &from)?);
            storage.write(1, credits.select(&credited, &to)?);
            // A transfer needs cover and no overflow, a deposit no overflow; reads and
            // no-ops are always valid.
            let valid = !(&(&request.is_transfer & &!covered) | &(&credits & &overflows));
            let balance = FpVar::from(request.is_read.clone()) * &from;
            let payload = request.is_deposit.select(&credited, &balance)?;
            let payload = request.is_transfer.select(&debited, &payload)?;
            Ok((vec![payload], valid))
        }
    }
}
