//! Interbank payments (DESIGN §5): several banks, each holding customer accounts and a
//! reserve; a cross-bank transfer debits the payer at bank A, credits the payee at bank B and
//! moves the same amount from A's reserve to B's, in one request; a same-bank transfer moves
//! no reserve. An [`App`] over the storage gadget, and its seeded [`InterbankWorkload`].
//!
//! # Keys
//!
//! * **Customers** by [`account_id`] of their public key (as in the ledger): one account per
//!   key. The bank is a *field of the record* (set by `open`), so the payee of a transfer is
//!   named by its account key alone and the circuit reads its bank from the store instead of
//!   hashing it into the key.
//! * **Reserves** by `Poseidon(reserve tag, [bank, 0, 0])`. Banks are ids below
//!   [`MAX_BANKS`] (4 bits), so the circuit picks the key from a constant table of the 16
//!   keys by multilinear interpolation over the id's bits (5 constraints, where hashing the id
//!   would cost about 240).
//! * **The mint** (the issuer's supply and nonce, as in the ledger) by Poseidon under its own
//!   tag. Three domains: no key of one kind is a key of another.
//!
//! # Requests and their key slots
//!
//! | request    | signed by | 0: payer                | 1: payee       | 2: reserve of A | 3: reserve of B |
//! |------------|-----------|-------------------------|----------------|-----------------|-----------------|
//! | `open`     | owner     | `account_id(owner)`     | —              | —               | —               |
//! | `issue`    | issuer    | mint                    | payee (at B)   | —               | + amount        |
//! | `transfer` | payer     | `account_id(payer)` (A) | payee (at B)   | − amount if A ≠ B | + amount if A ≠ B |
//! | `balance`  | —         | `account_id(owner)`     | —              | —               | —               |
//!
//! The account logic is [`account::transition`](super::account::transition); on top of it the app requires that `open`
//! names a bank of the app (fewer than [`MAX_BANKS`] may be in use), that the payer's stored
//! bank is the request's A and the payee's stored bank its B (else the wrong reserves would
//! move), and that reserve A covers the amount and reserve B does not overflow.
//!
//! **Why reserves cannot drift.** `issue` credits a customer and its bank's reserve by the
//! same amount, a cross-bank transfer moves both a balance and a reserve from A to B, a
//! same-bank transfer moves neither reserve; so for every bank,
//! `reserve = Σ balances of its customers` in every reachable state. The reserve checks can
//! then never fail; they are kept (138 constraints) for the same reason as the ledger's
//! payee overflow check: each request is correct for any stored values, not only for states
//! the invariant describes (see [`account`](super::account)).
//!
//! # Who signs, and why banks do not
//!
//! The sending customer signs its transfer, naming both banks, the payee and the amount; a
//! customer signs its `open`, choosing its bank; the issuer signs `issue`, naming the payee's
//! bank. Banks sign nothing: a reserve moves only together with an equal change of that
//! bank's customer balances (its liabilities), by rules the circuit enforces, so no request
//! can unbalance a bank's books, and a bank's consent to each payment would add nothing the
//! proof does not already guarantee. (A system in which banks must approve payments — to
//! screen them, say — would add a second signature, about 3,500 constraints a request.)
//!
//! # Nothing public says which banks, customers or amounts
//!
//! Every slot has all four key slots and the same constraints; which are active is a private
//! function of the committed request, inactive slots add the identity to the blinded
//! digests, and the request, its response and the bank ids sit in salted commitments. A
//! same-bank transfer, a cross-bank transfer and a padding no-op are indistinguishable.
//!
//! # Encoding (7 fields) and response (status + 2)
//!
//! As in the ledger, with the banks in the word: `word = op + 2^3·amount + 2^67·nonce +
//! 2^131·(A + 16·B)` (below 2^139; the signed word adds the app tag at 2^150). Payload: the
//! payer record's `[balance, nonce]` afterwards.
//!
//! # Constraint counts (`interbank_constraint_counts_are_reported` in `tests/integration/interbank.rs`)
//!
//! | part                                                                  | constraints |
//! |-----------------------------------------------------------------------|-------------|
//! | request (op 7, amount 64, nonce 64, banks 8, A ≠ B 2, slot activity 2) | 147        |
//! | key slots (account id 258, mint select 1, two reserve lookups 5 each)  | 269        |
//! | two record decompositions (134 each), two reserve ranges (65 each)     | 398        |
//! | signature (signer select 2, is_valid on 2 elements)                    | 3,463      |
//! | transition 211, bank checks 12, reserve moves 138, validity 2          | 363        |
//! | **app, total (request, key slots, [`App::execute_var`])**              | **4,640**  |
//! | **one batch slot**                                                     | **10,937** |
//! | fixed per batch                                                        | 2,397      |
//!
//! (Measured with 3 banks; with all 16 the check that `open` names a bank of the app is
//! free, 6 constraints less.) A slot is the app, the generic layer (4 masks, 6 pairs of
//! distinct keys, 4 + 2 selects: 22), four storage operations (4,900), `t_req` (64) and the
//! leaf commitment and a tree node (1,311). The storage operations are 45 % of a slot and
//! the signature 32 %: the reserve slots cost 2,450 a request, and a same-bank transfer
//! pays for them too, because the shape may not reveal which kind of transfer it is.

use crate::host::field_encoding::u64_of;
use std::borrow::Borrow;

use ark_bls12_381::Fr;
use ark_ff::Zero;
use ark_r1cs_std::{
    alloc::{AllocVar, AllocationMode},
    boolean::Boolean,
    eq::EqGadget,
    fields::{fp::FpVar, FieldVar},
};
use ark_relations::gr1cs::{Namespace, SynthesisError};

use super::{
    account::{
        all_clear, message, message_tag, message_var, mint_key, offset_u64, offset_u64_var,
        power_of_two, signer, signer_var, transition, transition_var, Account, AccountLayout,
        AccountReject, Op, RequestFields, RequestFieldsVar, BALANCE_BITS, WORD_EXTENSION_SHIFT,
    },
    clients::{
        issuer_key, AccountRequests, Mischief, Mix, Payee, Population, PopulationError,
        TransferOrder,
    },
};
use crate::host::{
    eddsa::{self, account_id, EddsaError, PublicKey, SecretKey, Signature},
    eddsa_gadget::{self, account_id_var},
    integer_gadget::bounded_bits_le,
    poseidon,
    storage_gadget::{App, KeySlot, KeySlotVar, Storage, StorageVar},
};

/// Bits of a bank id.
pub const BANK_BITS: usize = 4;
/// Bank ids are below this.
pub const MAX_BANKS: u8 = 1 << BANK_BITS;
/// Customer records carry a 4-bit bank field.
pub const LAYOUT: AccountLayout = AccountLayout::new(BANK_BITS);
/// Label of the mint's key domain.
pub const MINT_LABEL: &str = "spice/interbank/mint/v1";
/// Label of the reserves' key domain.
pub const RESERVE_LABEL: &str = "spice/interbank/reserve/v1";
/// Label of the signed-message tag.
pub const MESSAGE_LABEL: &str = "spice/interbank/message/v1";

/// A bank id, below [`MAX_BANKS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BankId(u8);

impl BankId {
    /// The bank with id `id`, if `id < MAX_BANKS`.
    pub fn new(id: u8) -> Result<Self, InterbankError> {
        if id < MAX_BANKS {
            Ok(Self(id))
        } else {
            Err(InterbankError::BankOutOfRange { id })
        }
    }

    /// The id.
    pub fn id(self) -> u8 {
        self.0
    }
}

/// The key of `bank`'s reserve: `Poseidon(reserve tag, [bank, 0, 0])`.
pub fn reserve_key(bank: BankId) -> Fr {
    poseidon::hash(
        poseidon::domain_tag(RESERVE_LABEL),
        [Fr::from(bank.0), Fr::zero(), Fr::zero()],
    )
}

/// An interbank request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterbankRequest {
    /// Does nothing (pads batches).
    Noop,
    /// Opens `owner`'s account at `bank`.
    Open {
        /// The owner.
        owner: PublicKey,
        /// The bank.
        bank: BankId,
        /// Above the stored nonce.
        nonce: u64,
        /// By `owner`.
        signature: Signature,
    },
    /// Creates `amount` into account `to` at `bank` (and into `bank`'s reserve).
    Issue {
        /// The payee's account key.
        to: Fr,
        /// The payee's bank.
        bank: BankId,
        /// The amount.
        amount: u64,
        /// Above the mint's stored nonce.
        nonce: u64,
        /// By the issuer.
        signature: Signature,
    },
    /// Moves `amount` from `from`'s account at `from_bank` to account `to` at `to_bank`.
    Transfer {
        /// The payer.
        from: PublicKey,
        /// The payer's bank.
        from_bank: BankId,
        /// The payee's account key.
        to: Fr,
        /// The payee's bank.
        to_bank: BankId,
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

/// An interbank request as fields: the account fields and the two banks (0 when unused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterbankFields {
    /// The fields shared with the ledger.
    pub account: RequestFields,
    /// Bank A: the payer's (transfer) or the one an account opens at.
    pub from_bank: u8,
    /// Bank B: the payee's (issue, transfer).
    pub to_bank: u8,
}

impl InterbankFields {
    /// `RequestFields::word + 2^131·(A + 16·B)`.
    pub fn word(&self) -> Fr {
        self.account.word()
            + Fr::from(u64::from(self.from_bank) + u64::from(MAX_BANKS) * u64::from(self.to_bank))
                * power_of_two(WORD_EXTENSION_SHIFT)
    }

    /// Whether the request moves money between two banks' reserves (reserve A's slot).
    pub fn debits_reserve(&self) -> bool {
        self.account.op == Op::Transfer && self.from_bank != self.to_bank
    }

    /// Whether it credits bank B's reserve (reserve B's slot).
    pub fn credits_reserve(&self) -> bool {
        self.account.op == Op::Issue || self.debits_reserve()
    }
}

impl InterbankRequest {
    /// The request's fields (unused ones zero).
    pub fn fields(&self) -> InterbankFields {
        let mut account = RequestFields::noop();
        let (mut from_bank, mut to_bank) = (0, 0);
        match *self {
            InterbankRequest::Noop => {}
            InterbankRequest::Open {
                owner,
                bank,
                nonce,
                signature,
            } => {
                account.op = Op::Open;
                account.owner = owner.to_fields();
                account.nonce = nonce;
                account.signature = signature.to_fields();
                from_bank = bank.0;
            }
            InterbankRequest::Issue {
                to,
                bank,
                amount,
                nonce,
                signature,
            } => {
                account.op = Op::Issue;
                account.to = to;
                account.amount = amount;
                account.nonce = nonce;
                account.signature = signature.to_fields();
                to_bank = bank.0;
            }
            InterbankRequest::Transfer {
                from,
                from_bank: a,
                to,
                to_bank: b,
                amount,
                nonce,
                signature,
            } => {
                account.op = Op::Transfer;
                account.owner = from.to_fields();
                account.to = to;
                account.amount = amount;
                account.nonce = nonce;
                account.signature = signature.to_fields();
                from_bank = a.0;
                to_bank = b.0;
            }
            InterbankRequest::Balance { owner } => {
                account.op = Op::Balance;
                account.owner = owner.to_fields();
            }
        }
        InterbankFields {
            account,
            from_bank,
            to_bank,
        }
    }

    /// The request with `new` in place of its signature (no-op and balance: unchanged).
    fn with_signature(self, new: Signature) -> Self {
        match self {
            InterbankRequest::Open {
                owner, bank, nonce, ..
            } => InterbankRequest::Open {
                owner,
                bank,
                nonce,
                signature: new,
            },
            InterbankRequest::Issue {
                to,
                bank,
                amount,
                nonce,
                ..
            } => InterbankRequest::Issue {
                to,
                bank,
                amount,
                nonce,
                signature: new,
            },
            InterbankRequest::Transfer {
                from,
                from_bank,
                to,
                to_bank,
                amount,
                nonce,
                ..
            } => InterbankRequest::Transfer {
                from,
                from_bank,
                to,
                to_bank,
                amount,
                nonce,
                signature: new,
            },
            other => other,
        }
    }
}

/// Errors of building an interbank app or its bank ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InterbankError {
    /// The issuer key is not a non-identity point of Jubjub's prime-order subgroup.
    #[error("invalid issuer key: {0}")]
    InvalidIssuer(#[from] EddsaError),
    /// Between 1 and [`MAX_BANKS`] banks.
    #[error("{banks} banks: an interbank app has 1 to {MAX_BANKS}")]
    BankCount {
        /// Banks asked for.
        banks: u8,
    },
    /// A bank id of [`MAX_BANKS`] or more.
    #[error("bank id {id} is not below {MAX_BANKS}")]
    BankOutOfRange {
        /// The id.
        id: u8,
    },
}

/// Why an interbank request is rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InterbankReject {
    /// The account logic rejects it (shared with the ledger).
    #[error(transparent)]
    Account(#[from] AccountReject),
    /// `open` at a bank id the app does not have.
    #[error("bank {bank} is not one of the app's {banks} banks")]
    UnknownBank {
        /// The id named.
        bank: u8,
        /// The app's banks.
        banks: u8,
    },
    /// The payer does not bank with the request's bank A.
    #[error("the payer banks with {actual}, the request names {named}")]
    WrongPayerBank {
        /// Bank A of the request.
        named: u8,
        /// The payer's bank.
        actual: u8,
    },
    /// The payee does not bank with the request's bank B.
    #[error("the payee banks with {actual}, the request names {named}")]
    WrongPayeeBank {
        /// Bank B of the request.
        named: u8,
        /// The payee's bank.
        actual: u8,
    },
    /// Bank A's reserve is below the amount (unreachable: see the module docs).
    #[error("reserve {reserve} does not cover {amount}")]
    ReserveShortfall {
        /// Bank A's reserve.
        reserve: u64,
        /// The amount.
        amount: u64,
    },
    /// Bank B's reserve would reach 2^64 (unreachable: see the module docs).
    #[error("reserve {reserve} + {amount} overflows 64 bits")]
    ReserveOverflow {
        /// Bank B's reserve.
        reserve: u64,
        /// The amount.
        amount: u64,
    },
    /// A reserve slot holds a value that is not a u64 (unreachable, as
    /// [`AccountReject::CorruptRecord`]; unprovable in the circuit).
    #[error("stored value {value} is not a reserve")]
    CorruptReserve {
        /// The value.
        value: Fr,
    },
}

/// The interbank app: its issuer, its banks, and the constants derived from them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterbankApp {
    issuer: PublicKey,
    banks: u8,
    mint: Fr,
    tag: u128,
    /// The reserve key of every id below [`MAX_BANKS`], by id.
    reserves: Vec<Fr>,
}

/// A placeholder signature (verifies under no key) until the request is signed.
fn unsigned() -> Signature {
    Signature::from_fields([Fr::zero(); 3])
}

/// The value of a reserve slot as a u64.
fn reserve(value: Fr) -> Result<u64, InterbankReject> {
    u64_of(value).ok_or(InterbankReject::CorruptReserve { value })
}

impl InterbankApp {
    /// An app with banks `0 … banks − 1` whose money `issuer` creates.
    pub fn new(issuer: PublicKey, banks: u8) -> Result<Self, InterbankError> {
        if banks == 0 || banks > MAX_BANKS {
            return Err(InterbankError::BankCount { banks });
        }
        let issuer = PublicKey::from_fields(issuer.to_fields())?;
        Ok(Self {
            mint: mint_key(MINT_LABEL, &issuer),
            tag: message_tag(MESSAGE_LABEL, &issuer),
            reserves: (0..MAX_BANKS).map(|id| reserve_key(BankId(id))).collect(),
            issuer,
            banks,
        })
    }

    /// The issuer's key.
    pub fn issuer(&self) -> PublicKey {
        self.issuer
    }

    /// The banks `0 … banks − 1`.
    pub fn banks(&self) -> Vec<BankId> {
        (0..self.banks).map(BankId).collect()
    }

    /// The key of the mint record.
    pub fn mint_key(&self) -> Fr {
        self.mint
    }

    /// The record stored at a customer account (or the mint), if `value` is one.
    pub fn account(value: Fr) -> Option<Account> {
        LAYOUT.unpack(value)
    }

    /// What the signer of `request` signs.
    pub fn message(&self, request: &InterbankRequest) -> [Fr; 2] {
        let fields = request.fields();
        message(self.tag, fields.account.to, fields.word())
    }

    /// `request` signed by `signer`.
    pub fn sign(&self, request: InterbankRequest, signer: &SecretKey) -> InterbankRequest {
        let signature = signer.sign(&self.message(&request));
        request.with_signature(signature)
    }

    /// `owner` opens its account at `bank`.
    pub fn open(&self, owner: &SecretKey, bank: BankId, nonce: u64) -> InterbankRequest {
        let request = InterbankRequest::Open {
            owner: owner.public_key(),
            bank,
            nonce,
            signature: unsigned(),
        };
        self.sign(request, owner)
    }

    /// The issuer creates `amount` into account `to` at `bank`.
    pub fn issue(
        &self,
        issuer: &SecretKey,
        to: Fr,
        bank: BankId,
        amount: u64,
        nonce: u64,
    ) -> InterbankRequest {
        let request = InterbankRequest::Issue {
            to,
            bank,
            amount,
            nonce,
            signature: unsigned(),
        };
        self.sign(request, issuer)
    }

    /// `payer`, banking with `from_bank`, sends `amount` to account `to` at `to_bank`.
    pub fn transfer(
        &self,
        payer: &SecretKey,
        from_bank: BankId,
        to: Fr,
        to_bank: BankId,
        amount: u64,
        nonce: u64,
    ) -> InterbankRequest {
        let request = InterbankRequest::Transfer {
            from: payer.public_key(),
            from_bank,
            to,
            to_bank,
            amount,
            nonce,
            signature: unsigned(),
        };
        self.sign(request, payer)
    }

    /// A read of `owner`'s account.
    pub fn balance(owner: PublicKey) -> InterbankRequest {
        InterbankRequest::Balance { owner }
    }

    fn signature_ok(&self, fields: &InterbankFields) -> bool {
        let account = &fields.account;
        account.op.is_signed()
            && eddsa::is_valid(
                &signer(account.op, account.owner_key(), &self.issuer),
                &message(self.tag, account.to, fields.word()),
                &account.signature(),
            )
    }

    /// The reserve key of bank id `id` (ids are below [`MAX_BANKS`] by construction).
    fn reserve_of(&self, id: u8) -> Fr {
        self.reserves[usize::from(id) % self.reserves.len()]
    }
}

/// A bank id in the circuit: 4 boolean-constrained bits.
#[derive(Clone, Debug)]
pub struct BankVar {
    /// Little-endian bits.
    pub bits: Vec<Boolean<Fr>>,
    /// Their value (free).
    pub id: FpVar<Fr>,
}

impl BankVar {
    fn new_variable(
        cs: &ark_relations::gr1cs::ConstraintSystemRef<Fr>,
        id: Result<u8, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let bits = (0..BANK_BITS)
            .map(|i| Boolean::new_variable(cs.clone(), || id.map(|v| (v >> i) & 1 == 1), mode))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            id: Boolean::le_bits_to_fp(&bits)?,
            bits,
        })
    }
}

/// An [`InterbankRequest`] in the circuit, with the slot-activity bits it implies.
#[derive(Clone, Debug)]
pub struct InterbankRequestVar {
    /// The account fields.
    pub account: RequestFieldsVar,
    /// Bank A.
    pub from_bank: BankVar,
    /// Bank B.
    pub to_bank: BankVar,
    /// Transfer between two different banks (reserve A's slot is active).
    pub debits_reserve: Boolean<Fr>,
    /// Issue, or a transfer between banks (reserve B's slot is active).
    pub credits_reserve: Boolean<Fr>,
}

impl InterbankRequestVar {
    /// In-circuit [`InterbankFields::word`] (free).
    pub fn word(&self) -> FpVar<Fr> {
        self.account.word()
            + (&self.from_bank.id + &self.to_bank.id * Fr::from(MAX_BANKS))
                * power_of_two(WORD_EXTENSION_SHIFT)
    }
}

impl AllocVar<InterbankRequest, Fr> for InterbankRequestVar {
    /// The account fields (135), two banks (8), A ≠ B (2) and the two activity bits (2).
    fn new_variable<T: Borrow<InterbankRequest>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let cs = cs.into().cs();
        let fields = f().map(|r| r.borrow().fields());
        let account =
            RequestFieldsVar::new_variable(cs.clone(), || fields.map(|f| f.account), mode)?;
        let from_bank = BankVar::new_variable(&cs, fields.map(|f| f.from_bank), mode)?;
        let to_bank = BankVar::new_variable(&cs, fields.map(|f| f.to_bank), mode)?;
        // These bits are functions of the committed request, computed once here because both
        // the key slots and the logic need them.
        let cross = from_bank.id.is_neq(&to_bank.id)?;
        let debits_reserve = &account.op.transfer & &cross;
        let credits_reserve = &account.op.issue | &debits_reserve;
        Ok(Self {
            account,
            from_bank,
            to_bank,
            debits_reserve,
            credits_reserve,
        })
    }
}

/// `table[bits]` for a constant table of `2^|bits|` entries: the multilinear extension of
/// the table at the bits. The monomials of all bits but the top one are shared by both
/// halves of the table, so it costs `2^(n−1) − n` products plus one (5 for 4 bits).
pub fn lookup_var(bits: &[Boolean<Fr>], table: &[Fr]) -> Result<FpVar<Fr>, SynthesisError> {
    if table.len() != 1 << bits.len() {
        return Err(SynthesisError::Unsatisfiable);
    }
    let Some((top, low)) = bits.split_last() else {
        return Ok(FpVar::constant(table[0]));
    };
    // monomials[mask] = Π_{i ∈ mask} low[i]; products with the constant 1 are free.
    let mut monomials = vec![FpVar::<Fr>::one()];
    for bit in low {
        let bit = FpVar::from(bit.clone());
        let extended = monomials.iter().map(|m| m * &bit).collect::<Vec<_>>();
        monomials.extend(extended);
    }
    let interpolate = |values: &[Fr]| -> FpVar<Fr> {
        // Möbius transform: the coefficient of each monomial.
        let mut coefficients = values.to_vec();
        for i in 0..low.len() {
            for mask in 0..coefficients.len() {
                if mask & (1 << i) != 0 {
                    let lower = coefficients[mask ^ (1 << i)];
                    coefficients[mask] -= lower;
                }
            }
        }
        coefficients
            .iter()
            .zip(&monomials)
            .filter(|(c, _)| !c.is_zero())
            .map(|(c, m)| m * *c)
            .fold(FpVar::zero(), |acc, term| acc + term)
    };
    let half = table.len() / 2;
    let lower = interpolate(&table[..half]);
    let upper = interpolate(&table[half..]);
    Ok(&lower + FpVar::from(top.clone()) * (upper - &lower))
}

impl App for InterbankApp {
    type Request = InterbankRequest;
    type RequestVar = InterbankRequestVar;
    type Reject = InterbankReject;

    const KEYS: usize = 4;
    const REQUEST_FIELDS: usize = 7;
    const PAYLOAD_FIELDS: usize = 2;

    fn noop(&self) -> InterbankRequest {
        InterbankRequest::Noop
    }

    fn keys(&self, request: &InterbankRequest) -> Vec<KeySlot> {
        let fields = request.fields();
        let op = fields.account.op;
        let account = account_id(&fields.account.owner_key());
        vec![
            KeySlot {
                key: if op == Op::Issue { self.mint } else { account },
                active: op != Op::Noop,
            },
            KeySlot {
                key: fields.account.to,
                active: op.moves_money(),
            },
            KeySlot {
                key: self.reserve_of(fields.from_bank),
                active: fields.debits_reserve(),
            },
            KeySlot {
                key: self.reserve_of(fields.to_bank),
                active: fields.credits_reserve(),
            },
        ]
    }

    fn encode_request(&self, request: &InterbankRequest) -> Vec<Fr> {
        let fields = request.fields();
        fields.account.encode(fields.word())
    }

    fn authorized(&self, request: &InterbankRequest) -> bool {
        self.signature_ok(&request.fields())
    }

    fn execute(
        &self,
        request: &InterbankRequest,
        authorized: bool,
        storage: &mut Storage,
    ) -> Result<Vec<Fr>, InterbankReject> {
        let fields = request.fields();
        let account = &fields.account;
        let read = |slot: usize| {
            let value = storage.read(slot);
            LAYOUT
                .unpack(value)
                .ok_or(AccountReject::CorruptRecord { value })
        };
        let (payer, payee) = (read(0)?, read(1)?);
        let (reserve_a, reserve_b) = (reserve(storage.read(2))?, reserve(storage.read(3))?);
        let next = transition(account, &payer, &payee, fields.from_bank, authorized)?;
        if account.op == Op::Open && fields.from_bank >= self.banks {
            return Err(InterbankReject::UnknownBank {
                bank: fields.from_bank,
                banks: self.banks,
            });
        }
        if account.op == Op::Transfer && payer.bank != fields.from_bank {
            return Err(InterbankReject::WrongPayerBank {
                named: fields.from_bank,
                actual: payer.bank,
            });
        }
        if account.op.moves_money() && payee.bank != fields.to_bank {
            return Err(InterbankReject::WrongPayeeBank {
                named: fields.to_bank,
                actual: payee.bank,
            });
        }
        let amount = account.amount;
        let debit = if fields.debits_reserve() { amount } else { 0 };
        let reserve_a =
            offset_u64(reserve_a, -i128::from(debit)).ok_or(InterbankReject::ReserveShortfall {
                reserve: reserve_a,
                amount,
            })?;
        let credit = if fields.credits_reserve() { amount } else { 0 };
        let reserve_b = reserve_b
            .checked_add(credit)
            .ok_or(InterbankReject::ReserveOverflow {
                reserve: reserve_b,
                amount,
            })?;
        storage.write(0, LAYOUT.pack(&next.payer));
        storage.write(1, LAYOUT.pack(&next.payee));
        storage.write(2, Fr::from(reserve_a));
        storage.write(3, Fr::from(reserve_b));
        Ok(next.payload())
    }

    fn keys_var(&self, request: &InterbankRequestVar) -> Result<Vec<KeySlotVar>, SynthesisError> {
        let fields = &request.account;
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
            KeySlotVar {
                key: lookup_var(&request.from_bank.bits, &self.reserves)?,
                active: request.debits_reserve.clone(),
            },
            KeySlotVar {
                key: lookup_var(&request.to_bank.bits, &self.reserves)?,
                active: request.credits_reserve.clone(),
            },
        ])
    }

    fn encode_request_var(
        &self,
        request: &InterbankRequestVar,
    ) -> Result<Vec<FpVar<Fr>>, SynthesisError> {
        Ok(request.account.encode(request.word()))
    }

    fn execute_var(
        &self,
        request: &InterbankRequestVar,
        storage: &mut StorageVar,
    ) -> Result<(Vec<FpVar<Fr>>, Boolean<Fr>), SynthesisError> {
        let fields = &request.account;
        let op = &fields.op;
        let payer = LAYOUT.unpack_var(&storage.read(0))?;
        let payee = LAYOUT.unpack_var(&storage.read(1))?;
        let (reserve_a, reserve_b) = (storage.read(2), storage.read(3));
        // Reserves are u64s: what gives their comparisons below a meaning.
        bounded_bits_le(&reserve_a, BALANCE_BITS)?;
        bounded_bits_le(&reserve_b, BALANCE_BITS)?;
        let signature_ok = eddsa_gadget::is_valid(
            &signer_var(op, &fields.owner, &self.issuer)?,
            &message_var(self.tag, &fields.to, &request.word()),
            &fields.signature,
        )?;
        let next = transition_var(fields, &payer, &payee, &request.from_bank.id, &signature_ok)?;
        let mut violations = next.violations.clone();
        let one = FpVar::<Fr>::one();
        if self.banks < MAX_BANKS {
            let registered: Vec<Fr> = (0..MAX_BANKS).map(|id| Fr::from(id < self.banks)).collect();
            let known = lookup_var(&request.from_bank.bits, &registered)?;
            violations.push(FpVar::from(op.open.clone()) * (&one - known));
        }
        let payer_at_a = FpVar::from(payer.bank.is_eq(&request.from_bank.id)?);
        violations.push(FpVar::from(op.transfer.clone()) * (&one - payer_at_a));
        let payee_at_b = FpVar::from(payee.bank.is_eq(&request.to_bank.id)?);
        violations.push(op.moves() * (&one - payee_at_b));
        let debit = FpVar::from(request.debits_reserve.clone()) * &fields.amount;
        let (reserve_a, a_in_range) = offset_u64_var(&reserve_a, &debit.negate()?)?;
        violations.push(&one - FpVar::from(a_in_range));
        let credit = FpVar::from(request.credits_reserve.clone()) * &fields.amount;
        let (reserve_b, b_in_range) = offset_u64_var(&reserve_b, &credit)?;
        violations.push(&one - FpVar::from(b_in_range));
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
        storage.write(2, reserve_a);
        storage.write(3, reserve_b);
        Ok((next.payload(), all_clear(&violations)?))
    }
}

impl AccountRequests for InterbankApp {
    type Bank = BankId;

    const MISCHIEF: &'static [Mischief] = &[
        Mischief::Overdraft,
        Mischief::ForgedSignature,
        Mischief::Replay,
        Mischief::UnopenedPayee,
        Mischief::WrongBank,
    ];

    fn banks(&self) -> Vec<BankId> {
        InterbankApp::banks(self)
    }

    fn issuer(&self) -> PublicKey {
        self.issuer
    }

    fn account_key(&self, owner: &PublicKey) -> Fr {
        account_id(owner)
    }

    fn open_request(&self, owner: &SecretKey, bank: BankId, nonce: u64) -> InterbankRequest {
        self.open(owner, bank, nonce)
    }

    fn issue_request(
        &self,
        issuer: &SecretKey,
        payee: Payee<BankId>,
        amount: u64,
        nonce: u64,
    ) -> InterbankRequest {
        self.issue(issuer, payee.account, payee.bank, amount, nonce)
    }

    fn transfer_request(&self, order: &TransferOrder<'_, BankId>) -> InterbankRequest {
        let request = InterbankRequest::Transfer {
            from: order.payer.key.public_key(),
            from_bank: order.payer.bank,
            to: order.payee,
            to_bank: order.payee_bank,
            amount: order.amount,
            nonce: order.nonce,
            signature: unsigned(),
        };
        self.sign(request, order.signer)
    }

    fn balance_request(&self, owner: &PublicKey) -> InterbankRequest {
        InterbankApp::balance(*owner)
    }

    fn mint_key(&self) -> Fr {
        InterbankApp::mint_key(self)
    }

    fn account_record(&self, value: Fr) -> Option<Account> {
        InterbankApp::account(value)
    }
}

/// The interbank app's seeded workload (see [`super::clients`]).
pub type InterbankWorkload = Population<InterbankApp>;

impl Population<InterbankApp> {
    /// An interbank app with `banks` banks, an issuer and `customers` clients spread
    /// uniformly over the banks, all drawn from `seed`.
    pub fn interbank(
        seed: u64,
        customers: usize,
        banks: u8,
        mix: Mix,
    ) -> Result<Self, PopulationError> {
        let issuer = issuer_key(seed);
        let app = InterbankApp::new(issuer.public_key(), banks).map_err(|error| match error {
            InterbankError::BankCount { banks } => PopulationError::BankCount {
                banks,
                max: MAX_BANKS,
            },
            _ => PopulationError::InvalidIssuer,
        })?;
        Population::new(app, issuer, customers, mix, seed)
    }
}
