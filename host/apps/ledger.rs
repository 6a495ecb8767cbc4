//! The ledger (DESIGN §5, "cloud-hosted ledger"): accounts keyed by the owner's public key,
//! money created by one issuer, signed transfers, balance reads — as an [`App`] over the
//! storage gadget, and its seeded [`LedgerWorkload`].
//!
//! # Requests
//!
//! | request    | signed by | key slot 0                  | key slot 1     |
//! |------------|-----------|-----------------------------|----------------|
//! | `open`     | owner     | `account_id(owner)`         | —              |
//! | `issue`    | issuer    | the mint ([`MINT_LABEL`])   | payee account  |
//! | `transfer` | payer     | `account_id(payer)`         | payee account  |
//! | `balance`  | —         | `account_id(owner)`         | —              |
//!
//! Their logic is [`account::transition`](super::account::transition) (the table and the reason for every check are in
//! [`account`](super::account)'s docs). Accounts are keyed by [`account_id`] — Poseidon under the EdDSA
//! account tag — and the mint by Poseidon under its own tag: distinct domains, so a mint is
//! never an account. The issuer's key is a parameter of the app ([`LedgerApp::new`]) and a
//! constant of its circuit. Issuing is modelled as a "transfer from the mint": the mint's
//! record has the account layout, its balance is the supply issued so far (capped below 2^64,
//! which also bounds every account) and its nonce is the issuer's replay counter — so an
//! issue costs no third key slot.
//!
//! # `balance` is not signed, and why that loses nothing
//!
//! A balance is private to its owner, but the privacy that matters comes from the
//! commitments: the response is committed, salted, in the batch's request tree, so the
//! verifier learns nothing, and only the client holding the receipt (its salt) can open it.
//! Who *gets* a receipt is the service's decision, and the service holds every balance in
//! plaintext anyway: a signature checked in the circuit would not stop it from telling
//! anyone, so it would add no confidentiality. It would not add integrity either: a read
//! changes nothing (it rewrites the record unchanged), so an unsolicited read harms nobody.
//! Checking a signature would cost nothing extra — every slot carries a verifier for the
//! signed kinds — but it would make clients sign reads, and a signed read without a nonce
//! is replayable while one with a nonce must bump it; neither buys anything. The service
//! may still authenticate readers natively before answering; that is access control, not
//! something the proof needs to say.
//!
//! # Encoding (7 fields) and response (status + 2)
//!
//! `[owner.x, owner.y, to, word, R.x, R.y, S]` with `word = op + 2^3·amount + 2^67·nonce`
//! ([`RequestFields::word`]); unused fields are 0. The signature is committed too: the
//! verdict on a request is then a function of what the client sent, and its receipt proves
//! that *its* request got *this* answer. The payload is the payer record's
//! `[balance, nonce]` afterwards. Salt, 7 request and 3 response fields are absorbed by 4
//! Poseidon permutations; a single payload field would cost the same, only a payload-free
//! response would save one.
//!
//! # Constraint counts (`ledger_constraint_counts_are_reported` in `tests/integration/ledger.rs`)
//!
//! | part                                                   | constraints |
//! |--------------------------------------------------------|-------------|
//! | request (op 7, amount 64, nonce 64)                    | 135         |
//! | key slots (account id 258, mint select 1)              | 259         |
//! | two record decompositions                              | 260         |
//! | signature (signer select 2, is_valid on 2 elements)    | 3,463       |
//! | transition ([`account::transition_var`](super::account::transition_var)), validity     | 212         |
//! | **app, total (request, key slots, [`App::execute_var`])** | **4,329** |
//! | **one batch slot**                                     | **8,162**   |
//! | fixed per batch                                        | 2,397       |
//!
//! A slot is the app plus the generic layer (masking, distinct keys, selects: 8), two
//! storage operations (2,450), `t_req` (64), and the leaf commitment (4 permutations) and a
//! tree node (1,311). The signature is 42 % of a slot, the storage operations 30 %, the
//! account logic proper (records, transition) 6 %. A batch of B slots, B a power of two,
//! costs `8,162·B + 2,397`. The signature is 42 % of a slot and the storage operations 30 %.

use std::borrow::Borrow;

use ark_bls12_381::Fr;
use ark_ff::Zero;
use ark_r1cs_std::{
    alloc::{AllocVar, AllocationMode},
    boolean::Boolean,
    fields::{fp::FpVar, FieldVar},
};
use ark_relations::gr1cs::{Namespace, SynthesisError};

use super::{
    account::{
        all_clear, message, message_tag, message_var, mint_key, signer, signer_var, transition,
        transition_var, Account, AccountLayout, AccountReject, Op, RequestFields, RequestFieldsVar,
    },
    clients::{
        issuer_key, AccountRequests, Mischief, Mix, Payee, Population, PopulationError,
        TransferOrder,
    },
};
use crate::host::{
    eddsa::{self, account_id, EddsaError, PublicKey, SecretKey, Signature},
    eddsa_gadget::{self, account_id_var},
    storage_gadget::{App, KeySlot, KeySlotVar, Storage, StorageVar},
};

/// Label of the mint's key domain.
pub const MINT_LABEL: &str = "spice/ledger/mint/v1";
/// Label of the signed-message tag ([`message_tag`]).
pub const MESSAGE_LABEL: &str = "spice/ledger/message/v1";
/// Ledger records have no bank field.
pub const LAYOUT: AccountLayout = AccountLayout::new(0);

/// A ledger request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LedgerRequest {
    /// Does nothing (pads batches).
    Noop,
    /// Opens `owner`'s account.
    Open {
        /// The owner.
        owner: PublicKey,
        /// Above the stored nonce (0 for an unopened account).
        nonce: u64,
        /// By `owner`.
        signature: Signature,
    },
    /// Creates `amount` into account `to`.
    Issue {
        /// The payee's account key.
        to: Fr,
        /// The amount.
        amount: u64,
        /// Above the mint's stored nonce.
        nonce: u64,
        /// By the issuer.
        signature: Signature,
    },
    /// Moves `amount` from `from`'s account to account `to`.
    Transfer {
        /// The payer.
        from: PublicKey,
        /// The payee's account key.
        to: Fr,
        /// The amount.
        amount: u64,
        /// Above the payer's stored nonce.
        nonce: u64,
        /// By `from`.
        signature: Signature,
    },
    /// Reads `owner`'s balance and nonce.
    Balance {
        /// The owner.
        owner: PublicKey,
    },
}

impl LedgerRequest {
    /// The request's fields (unused ones zero).
    pub fn fields(&self) -> RequestFields {
        let mut fields = RequestFields::noop();
        match *self {
            LedgerRequest::Noop => {}
            LedgerRequest::Open {
                owner,
                nonce,
                signature,
            } => {
                fields.op = Op::Open;
                fields.owner = owner.to_fields();
                fields.nonce = nonce;
                fields.signature = signature.to_fields();
            }
            LedgerRequest::Issue {
                to,
                amount,
                nonce,
                signature,
            } => {
                fields.op = Op::Issue;
                fields.to = to;
                fields.amount = amount;
                fields.nonce = nonce;
                fields.signature = signature.to_fields();
            }
            LedgerRequest::Transfer {
                from,
                to,
                amount,
                nonce,
                signature,
            } => {
                fields.op = Op::Transfer;
                fields.owner = from.to_fields();
                fields.to = to;
                fields.amount = amount;
                fields.nonce = nonce;
                fields.signature = signature.to_fields();
            }
            LedgerRequest::Balance { owner } => {
                fields.op = Op::Balance;
                fields.owner = owner.to_fields();
            }
        }
        fields
    }

    /// The request with `signature` in place of its own (no-op and balance: unchanged).
    fn with_signature(self, new: Signature) -> Self {
        match self {
            LedgerRequest::Open { owner, nonce, .. } => LedgerRequest::Open {
                owner,
                nonce,
                signature: new,
            },
            LedgerRequest::Issue {
                to, amount, nonce, ..
            } => LedgerRequest::Issue {
                to,
                amount,
                nonce,
                signature: new,
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
                signature: new,
            },
            other => other,
        }
    }
}

/// Errors of building a ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// The issuer key is not a non-identity point of Jubjub's prime-order subgroup.
    #[error("invalid issuer key: {0}")]
    InvalidIssuer(#[from] EddsaError),
}

/// The ledger app: its issuer, and the constants derived from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerApp {
    issuer: PublicKey,
    mint: Fr,
    tag: u128,
}

/// A signature of the right shape that verifies under no key (a placeholder until signed).
fn unsigned() -> Signature {
    Signature::from_fields([Fr::zero(); 3])
}

impl LedgerApp {
    /// The ledger whose money `issuer` creates.
    pub fn new(issuer: PublicKey) -> Result<Self, LedgerError> {
        let issuer = PublicKey::from_fields(issuer.to_fields())?;
        Ok(Self {
            mint: mint_key(MINT_LABEL, &issuer),
            tag: message_tag(MESSAGE_LABEL, &issuer),
            issuer,
        })
    }

    /// The issuer's key.
    pub fn issuer(&self) -> PublicKey {
        self.issuer
    }

    /// The key of the mint record (supply issued so far, issuer's nonce).
    pub fn mint_key(&self) -> Fr {
        self.mint
    }

    /// The key of `owner`'s account.
    pub fn account_key(owner: &PublicKey) -> Fr {
        account_id(owner)
    }

    /// The record stored at an account (or the mint), if `value` is one.
    pub fn account(value: Fr) -> Option<Account> {
        LAYOUT.unpack(value)
    }

    /// What the signer of `request` signs (see [`account`](super::account)'s docs).
    pub fn message(&self, request: &LedgerRequest) -> [Fr; 2] {
        let fields = request.fields();
        message(self.tag, fields.to, fields.word())
    }

    /// `request` signed by `signer` (whether or not it is the key the app requires).
    pub fn sign(&self, request: LedgerRequest, signer: &SecretKey) -> LedgerRequest {
        let signature = signer.sign(&self.message(&request));
        request.with_signature(signature)
    }

    /// `owner` opens its account.
    pub fn open(&self, owner: &SecretKey, nonce: u64) -> LedgerRequest {
        let request = LedgerRequest::Open {
            owner: owner.public_key(),
            nonce,
            signature: unsigned(),
        };
        self.sign(request, owner)
    }

    /// The issuer creates `amount` into account `to`.
    pub fn issue(&self, issuer: &SecretKey, to: Fr, amount: u64, nonce: u64) -> LedgerRequest {
        let request = LedgerRequest::Issue {
            to,
            amount,
            nonce,
            signature: unsigned(),
        };
        self.sign(request, issuer)
    }

    /// `payer` sends `amount` to account `to`.
    pub fn transfer(&self, payer: &SecretKey, to: Fr, amount: u64, nonce: u64) -> LedgerRequest {
        let request = LedgerRequest::Transfer {
            from: payer.public_key(),
            to,
            amount,
            nonce,
            signature: unsigned(),
        };
        self.sign(request, payer)
    }

    /// A read of `owner`'s account.
    pub fn balance(owner: PublicKey) -> LedgerRequest {
        LedgerRequest::Balance { owner }
    }

    /// Whether the signature of a signed request verifies under the required signer.
    fn signature_ok(&self, fields: &RequestFields) -> bool {
        fields.op.is_signed()
            && eddsa::is_valid(
                &signer(fields.op, fields.owner_key(), &self.issuer),
                &message(self.tag, fields.to, fields.word()),
                &fields.signature(),
            )
    }
}

/// A [`LedgerRequest`] in the circuit.
#[derive(Clone, Debug)]
pub struct LedgerRequestVar(pub RequestFieldsVar);

impl AllocVar<LedgerRequest, Fr> for LedgerRequestVar {
    fn new_variable<T: Borrow<LedgerRequest>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let fields = f().map(|r| r.borrow().fields());
        RequestFieldsVar::new_variable(cs, || fields, mode).map(Self)
    }
}

impl App for LedgerApp {
    type Request = LedgerRequest;
    type RequestVar = LedgerRequestVar;
    type Reject = AccountReject;

    const KEYS: usize = 2;
    const REQUEST_FIELDS: usize = 7;
    const PAYLOAD_FIELDS: usize = 2;

    fn noop(&self) -> LedgerRequest {
        LedgerRequest::Noop
    }

    fn keys(&self, request: &LedgerRequest) -> Vec<KeySlot> {
        let fields = request.fields();
        // Slot 0's key is computed the same way for every op, as in the circuit.
        let account = account_id(&fields.owner_key());
        vec![
            KeySlot {
                key: if fields.op == Op::Issue {
                    self.mint
                } else {
                    account
                },
                active: fields.op != Op::Noop,
            },
            KeySlot {
                key: fields.to,
                active: fields.op.moves_money(),
            },
        ]
    }

    fn encode_request(&self, request: &LedgerRequest) -> Vec<Fr> {
        let fields = request.fields();
        fields.encode(fields.word())
    }

    fn authorized(&self, request: &LedgerRequest) -> bool {
        self.signature_ok(&request.fields())
    }

    fn execute(
        &self,
        request: &LedgerRequest,
        authorized: bool,
        storage: &mut Storage,
    ) -> Result<Vec<Fr>, AccountReject> {
        let fields = request.fields();
        let read = |slot: usize| {
            let value = storage.read(slot);
            LAYOUT
                .unpack(value)
                .ok_or(AccountReject::CorruptRecord { value })
        };
        let (payer, payee) = (read(0)?, read(1)?);
        let next = transition(&fields, &payer, &payee, 0, authorized)?;
        storage.write(0, LAYOUT.pack(&next.payer));
        storage.write(1, LAYOUT.pack(&next.payee));
        Ok(next.payload())
    }

    fn keys_var(&self, request: &LedgerRequestVar) -> Result<Vec<KeySlotVar>, SynthesisError> {
        let fields = &request.0;
        let account = account_id_var(&fields.owner)?;
        Ok(vec![
            KeySlotVar {
                key: fields
                    .op
                    .issue
                    .select(&FpVar::constant(self.mint), &account)?,
                active: !fields.op.noop.clone(),
            },
            KeySlotVar {
                key: fields.to.clone(),
                active: fields.op.moves_money.clone(),
            },
        ])
    }

    fn encode_request_var(
        &self,
        request: &LedgerRequestVar,
    ) -> Result<Vec<FpVar<Fr>>, SynthesisError> {
        Ok(request.0.encode(request.0.word()))
    }

    fn execute_var(
        &self,
        request: &LedgerRequestVar,
        storage: &mut StorageVar,
    ) -> Result<(Vec<FpVar<Fr>>, Boolean<Fr>), SynthesisError> {
        let fields = &request.0;
        let payer = LAYOUT.unpack_var(&storage.read(0))?;
        let payee = LAYOUT.unpack_var(&storage.read(1))?;
        let signature_ok = eddsa_gadget::is_valid(
            &signer_var(&fields.op, &fields.owner, &self.issuer)?,
            &message_var(self.tag, &fields.to, &fields.word()),
            &fields.signature,
        )?;
        let next = transition_var(fields, &payer, &payee, &FpVar::zero(), &signature_ok)?;
        storage.write(
            0,
            LAYOUT.pack_var(
                &next.payer_balance,
                &next.payer_nonce,
                &next.payer_bank,
                &next.payer_opened,
            ),
        );
        storage.write(
            1,
            LAYOUT.pack_var(
                &next.payee_balance,
                &payee.nonce,
                &payee.bank,
                &FpVar::from(payee.opened.clone()),
            ),
        );
        Ok((next.payload(), all_clear(&next.violations)?))
    }
}

impl AccountRequests for LedgerApp {
    type Bank = ();

    const MISCHIEF: &'static [Mischief] = &[
        Mischief::Overdraft,
        Mischief::ForgedSignature,
        Mischief::Replay,
        Mischief::UnopenedPayee,
    ];

    fn banks(&self) -> Vec<()> {
        vec![()]
    }

    fn issuer(&self) -> PublicKey {
        self.issuer
    }

    fn account_key(&self, owner: &PublicKey) -> Fr {
        account_id(owner)
    }

    fn open_request(&self, owner: &SecretKey, _bank: (), nonce: u64) -> LedgerRequest {
        self.open(owner, nonce)
    }

    fn issue_request(
        &self,
        issuer: &SecretKey,
        payee: Payee<()>,
        amount: u64,
        nonce: u64,
    ) -> LedgerRequest {
        self.issue(issuer, payee.account, amount, nonce)
    }

    fn transfer_request(&self, order: &TransferOrder<'_, ()>) -> LedgerRequest {
        let request = LedgerRequest::Transfer {
            from: order.payer.key.public_key(),
            to: order.payee,
            amount: order.amount,
            nonce: order.nonce,
            signature: unsigned(),
        };
        self.sign(request, order.signer)
    }

    fn balance_request(&self, owner: &PublicKey) -> LedgerRequest {
        LedgerApp::balance(*owner)
    }

    fn mint_key(&self) -> Fr {
        LedgerApp::mint_key(self)
    }

    fn account_record(&self, value: Fr) -> Option<Account> {
        LedgerApp::account(value)
    }
}

/// The ledger's seeded workload (see [`super::clients`]).
pub type LedgerWorkload = Population<LedgerApp>;

impl Population<LedgerApp> {
    /// A ledger with an issuer and `accounts` clients, all drawn from `seed`.
    pub fn ledger(seed: u64, accounts: usize, mix: Mix) -> Result<Self, PopulationError> {
        let issuer = issuer_key(seed);
        let app =
            LedgerApp::new(issuer.public_key()).map_err(|_| PopulationError::InvalidIssuer)?;
        Population::new(app, issuer, accounts, mix, seed)
    }
}
