//! Accounts: what the ledger ([`super::ledger`]) and the interbank app ([`super::interbank`])
//! share — the packed account record, u64 arithmetic with range checks, the signed request
//! with its replay nonce, and the one state transition both apps are built around.
//!
//! # The transition
//!
//! Every request of both apps names two records: the **payer** (key slot 0) and the **payee**
//! (key slot 1). The payer is the signer's own account — or, for `issue`, the issuer's *mint*
//! record, whose "balance" is the money issued so far. [`transition`] (native) and
//! [`transition_var`] (circuit) compute, for each [`Op`]:
//!
//! | op         | signed by | requires                                              | writes                         |
//! |------------|-----------|-------------------------------------------------------|--------------------------------|
//! | `open`     | owner     | fresh nonce, payer not opened                         | payer: opened, nonce, bank     |
//! | `issue`    | issuer    | fresh nonce, supply + amount < 2^64, payee opened, no overflow | mint: supply + amount, nonce; payee + amount |
//! | `transfer` | owner     | fresh nonce, payer opened, no overdraft, payee opened, no overflow | payer − amount, nonce; payee + amount |
//! | `balance`  | nobody    | payer opened                                          | nothing                        |
//!
//! "Fresh" is `nonce > stored nonce` (not `= stored + 1`): a rejected request leaves the stored
//! nonce alone, and a client's later requests, with larger nonces, still go through. The
//! payload of an accepted request is the payer record's `[balance, nonce]` afterwards (for
//! `balance` the answer itself; for `issue` the total supply and the issuer's nonce).
//!
//! # Why each check is there
//!
//! * **Signature** (signed ops): the service must not invent requests (DESIGN §4). The signer
//!   is bound to the payer record because the payer's key *is* `account_id(signer)`, computed
//!   in the circuit from the very coordinates the signature is checked against; for `issue`
//!   the signer is the app's issuer key, a circuit constant, and the payer is its mint key,
//!   also a constant.
//! * **Fresh nonce**: without it a signed transfer could be executed twice.
//! * **Payer not opened** (`open`): opening resets nothing, but re-opening must not be a
//!   second way to bump the nonce or change an account's bank.
//! * **Payer opened** (`transfer`, `balance`): only accounts have owners; `balance` of an
//!   unopened key answers "rejected" rather than a misleading zero.
//! * **Payee opened**: money sent to a key nobody opened (a typo, a mint, a bank's reserve) is
//!   lost for good; and it keeps the mint's and the reserves' records, which never carry the
//!   opened flag, from being credited as if they were accounts.
//! * **No overdraft / supply below 2^64** (one range check of the payer's new balance): what
//!   makes money conserved. Since every balance is at most the supply, the payee's
//!   overflow check can never fail in a reachable state; it is kept (66 constraints) so that
//!   each request's meaning is local — correct for any stored record, not only for states
//!   the global invariant describes — which is also what lets native ≡ circuit be tested on
//!   arbitrary records.
//! * **Range checks on read** (the record's decomposition): the packing is injective only for
//!   in-range fields, and every comparison above is meaningful only for u64 operands.
//!
//! # The record (one field element)
//!
//! `balance + 2^64·nonce + 2^128·bank + 2^(128 + b)·opened`, with `b` = [`AccountLayout`]'s
//! bank bits (0 for the ledger, which has no banks). All fields are below their bounds, so
//! the sum is below `2^(129 + b)` < r and distinct records are distinct field elements. A key
//! never written reads 0: an unopened account with nothing in it. A mint record uses the
//! same layout (balance = supply, bank 0, never opened).
//!
//! # The signed message (two field elements)
//!
//! `[to, word + 2^150·tag]`, where `word = op + 8·amount + 2^67·nonce (+ app fields from
//! 2^131 on)` and `tag` is 96 bits of SHA-256 of the app's label and issuer key
//! ([`message_tag`]). The signer's key is bound by the signature's challenge itself, so it
//! needs no place in the message. Two elements keep the challenge hash at two Poseidon
//! permutations (with the key and R it absorbs six elements); a third element — a full-width
//! domain tag — would cost a third permutation (≈ 263 constraints) a request. The tag makes
//! signatures of one app instance (label, issuer) worthless in another; a clash needs a
//! 96-bit second preimage of SHA-256.
//!
//! # Cost (constraints, measured in `tests/integration/ledger.rs` and `tests/integration/interbank.rs`)
//!
//! Request fields ([`RequestFieldsVar`]) 135: the op 7 (five bits, their sum, issue ∨
//! transfer), amount 64, nonce 64. A record decomposition `130 + b`. [`transition_var`] 210
//! (211 with a bank field): fresh nonce 66, the payer's new balance 68, the payee's credit
//! 68, products and violations 8 (9); [`all_clear`] 2.

use std::borrow::Borrow;

use ark_bls12_381::Fr;
use ark_ff::{BigInteger, PrimeField, Zero};
use ark_r1cs_std::{
    alloc::{AllocVar, AllocationMode},
    boolean::Boolean,
    eq::EqGadget,
    fields::{fp::FpVar, FieldVar},
    uint64::UInt64,
};
use ark_relations::gr1cs::{Namespace, SynthesisError};
use sha2::{Digest, Sha256};

use crate::host::{
    eddsa::{PublicKey, Signature},
    eddsa_gadget::{PublicKeyVar, SignatureVar},
    integer_gadget::{at_least_var, bounded_bits_le},
    poseidon,
};

/// Bits of a balance, a supply and an amount.
pub const BALANCE_BITS: usize = 64;
/// Bits of a nonce.
pub const NONCE_BITS: usize = 64;
/// Bit position of the amount in the request word (below it: the op code, < 8).
pub const AMOUNT_SHIFT: usize = 3;
/// Bit position of the nonce in the request word.
pub const NONCE_SHIFT: usize = AMOUNT_SHIFT + BALANCE_BITS;
/// Bit position from which apps put their own fields into the request word.
pub const WORD_EXTENSION_SHIFT: usize = NONCE_SHIFT + NONCE_BITS;
/// Bit position of the app tag in the signed word (app fields must stay below it).
pub const TAG_SHIFT: usize = 150;
/// Bits of the app tag (`2^(150 + 96)` < r, so the signed word is injective).
pub const TAG_BITS: usize = 96;

pub use crate::host::integer_gadget::power_of_two;

/// What a request does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Nothing (pads batches).
    Noop,
    /// Opens the signer's account.
    Open,
    /// Creates money into an account (signed by the issuer).
    Issue,
    /// Moves money from the signer's account to another.
    Transfer,
    /// Reads an account's balance and nonce.
    Balance,
}

impl Op {
    /// The op's code in the request word (0 … 4).
    pub fn code(self) -> u64 {
        match self {
            Op::Noop => 0,
            Op::Open => 1,
            Op::Issue => 2,
            Op::Transfer => 3,
            Op::Balance => 4,
        }
    }

    /// Whether the op is authorised by a signature (and consumes a nonce).
    pub fn is_signed(self) -> bool {
        matches!(self, Op::Open | Op::Issue | Op::Transfer)
    }

    /// Whether the op credits the payee (key slot 1 is active).
    pub fn moves_money(self) -> bool {
        matches!(self, Op::Issue | Op::Transfer)
    }
}

/// An [`Op`] in the circuit: one bit per op, exactly one set (the no-op has its own bit).
#[derive(Clone, Debug)]
pub struct OpVar {
    /// No-op.
    pub noop: Boolean<Fr>,
    /// Open.
    pub open: Boolean<Fr>,
    /// Issue.
    pub issue: Boolean<Fr>,
    /// Transfer.
    pub transfer: Boolean<Fr>,
    /// Balance.
    pub balance: Boolean<Fr>,
    /// `issue ∨ transfer`, as a Boolean (for key-slot activity).
    pub moves_money: Boolean<Fr>,
}

impl OpVar {
    /// `1` for open, issue and transfer (a linear combination: free).
    pub fn signed(&self) -> FpVar<Fr> {
        FpVar::from(self.open.clone())
            + FpVar::from(self.issue.clone())
            + FpVar::from(self.transfer.clone())
    }

    /// `1` for issue and transfer (free).
    pub fn moves(&self) -> FpVar<Fr> {
        FpVar::from(self.issue.clone()) + FpVar::from(self.transfer.clone())
    }

    /// The op code, as [`Op::code`] (free).
    pub fn code(&self) -> FpVar<Fr> {
        FpVar::from(self.open.clone())
            + FpVar::from(self.issue.clone()) * Fr::from(2u64)
            + FpVar::from(self.transfer.clone()) * Fr::from(3u64)
            + FpVar::from(self.balance.clone()) * Fr::from(4u64)
    }
}

impl AllocVar<Op, Fr> for OpVar {
    /// Five bits with sum 1 (6 constraints), plus `issue ∨ transfer` (1).
    fn new_variable<T: Borrow<Op>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let cs = cs.into().cs();
        let op = f().map(|op| *op.borrow());
        let bit = |which: Op| Boolean::new_variable(cs.clone(), || op.map(|o| o == which), mode);
        let noop = bit(Op::Noop)?;
        let open = bit(Op::Open)?;
        let issue = bit(Op::Issue)?;
        let transfer = bit(Op::Transfer)?;
        let balance = bit(Op::Balance)?;
        // Exactly one bit set: the code is then a function of the bits and the bits of the
        // code, so the committed word names one op.
        [&noop, &open, &issue, &transfer, &balance]
            .into_iter()
            .map(|b| FpVar::from(b.clone()))
            .sum::<FpVar<Fr>>()
            .enforce_equal(&FpVar::one())?;
        let moves_money = &issue | &transfer;
        Ok(Self {
            noop,
            open,
            issue,
            transfer,
            balance,
            moves_money,
        })
    }
}

/// The fields every request of an account app has; the apps' request types convert to it
/// (an unused field is zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestFields {
    /// What the request does.
    pub op: Op,
    /// The owner's public key `[x, y]` (open, transfer, balance: the payer's account is
    /// `account_id` of it).
    pub owner: [Fr; 2],
    /// The payee's key (issue, transfer).
    pub to: Fr,
    /// The amount (issue, transfer).
    pub amount: u64,
    /// The nonce (signed ops).
    pub nonce: u64,
    /// The signature `[R.x, R.y, S]` (signed ops).
    pub signature: [Fr; 3],
}

impl RequestFields {
    /// The no-op.
    pub fn noop() -> Self {
        Self {
            op: Op::Noop,
            owner: [Fr::zero(); 2],
            to: Fr::zero(),
            amount: 0,
            nonce: 0,
            signature: [Fr::zero(); 3],
        }
    }

    /// `op + 2^3·amount + 2^67·nonce`: below `2^131`, injective (each part below its shift).
    pub fn word(&self) -> Fr {
        Fr::from(self.op.code())
            + Fr::from(self.amount) * power_of_two(AMOUNT_SHIFT)
            + Fr::from(self.nonce) * power_of_two(NONCE_SHIFT)
    }

    /// The owner key (unchecked coordinates: verification checks what it needs).
    pub fn owner_key(&self) -> PublicKey {
        PublicKey::from_point_unchecked(ark_ed_on_bls12_381::EdwardsAffine::new_unchecked(
            self.owner[0],
            self.owner[1],
        ))
    }

    /// The signature.
    pub fn signature(&self) -> Signature {
        Signature::from_fields(self.signature)
    }

    /// The committed encoding `[owner.x, owner.y, to, word, R.x, R.y, S]`, `word` being
    /// [`RequestFields::word`] plus the app's own fields.
    pub fn encode(&self, word: Fr) -> Vec<Fr> {
        vec![
            self.owner[0],
            self.owner[1],
            self.to,
            word,
            self.signature[0],
            self.signature[1],
            self.signature[2],
        ]
    }
}

/// [`RequestFields`] in the circuit.
#[derive(Clone, Debug)]
pub struct RequestFieldsVar {
    /// The op.
    pub op: OpVar,
    /// The owner's key.
    pub owner: PublicKeyVar,
    /// The payee's key.
    pub to: FpVar<Fr>,
    /// The amount (64 boolean-constrained bits).
    pub amount: FpVar<Fr>,
    /// The nonce (64 boolean-constrained bits).
    pub nonce: FpVar<Fr>,
    /// The signature.
    pub signature: SignatureVar,
}

impl RequestFieldsVar {
    /// In-circuit [`RequestFields::word`] (free).
    pub fn word(&self) -> FpVar<Fr> {
        self.op.code()
            + &self.amount * power_of_two(AMOUNT_SHIFT)
            + &self.nonce * power_of_two(NONCE_SHIFT)
    }

    /// In-circuit [`RequestFields::encode`] (free).
    pub fn encode(&self, word: FpVar<Fr>) -> Vec<FpVar<Fr>> {
        vec![
            self.owner.x.clone(),
            self.owner.y.clone(),
            self.to.clone(),
            word,
            self.signature.r_x.clone(),
            self.signature.r_y.clone(),
            self.signature.s.clone(),
        ]
    }
}

impl AllocVar<RequestFields, Fr> for RequestFieldsVar {
    /// The op (7 constraints), amount and nonce as 64 bits each (128), the rest unconstrained.
    fn new_variable<T: Borrow<RequestFields>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let cs = cs.into().cs();
        let fields = f().map(|r| *r.borrow());
        let field = |pick: fn(&RequestFields) -> Fr| {
            FpVar::new_variable(cs.clone(), || fields.map(|r| pick(&r)), mode)
        };
        Ok(Self {
            op: OpVar::new_variable(cs.clone(), || fields.map(|r| r.op), mode)?,
            owner: PublicKeyVar::new(field(|r| r.owner[0])?, field(|r| r.owner[1])?),
            to: field(|r| r.to)?,
            amount: UInt64::new_variable(cs.clone(), || fields.map(|r| r.amount), mode)?.to_fp()?,
            nonce: UInt64::new_variable(cs.clone(), || fields.map(|r| r.nonce), mode)?.to_fp()?,
            signature: SignatureVar::new(
                field(|r| r.signature[0])?,
                field(|r| r.signature[1])?,
                field(|r| r.signature[2])?,
            ),
        })
    }
}

/// 96 bits of `SHA-256(label ‖ issuer's encoding)`: what separates the signed messages of
/// one app instance from those of every other (see the module docs).
pub fn message_tag(label: &str, issuer: &PublicKey) -> u128 {
    let digest = Sha256::new_with_prefix(label.as_bytes())
        .chain_update(issuer.to_bytes())
        .finalize();
    let mut low = [0u8; 16];
    low[..TAG_BITS / 8].copy_from_slice(&digest[..TAG_BITS / 8]);
    u128::from_le_bytes(low)
}

/// The signed message `[to, word + 2^150·tag]`. `word` must be below `2^150` (it is: the
/// apps' words end at bit 139).
pub fn message(tag: u128, to: Fr, word: Fr) -> [Fr; 2] {
    [to, word + Fr::from(tag) * power_of_two(TAG_SHIFT)]
}

/// In-circuit [`message`] (free).
pub fn message_var(tag: u128, to: &FpVar<Fr>, word: &FpVar<Fr>) -> [FpVar<Fr>; 2] {
    [to.clone(), word + Fr::from(tag) * power_of_two(TAG_SHIFT)]
}

/// Who must have signed: the issuer for `issue`, the owner otherwise.
pub fn signer(op: Op, owner: PublicKey, issuer: &PublicKey) -> PublicKey {
    if op == Op::Issue {
        *issuer
    } else {
        owner
    }
}

/// In-circuit [`signer`] (2 constraints: the issuer key is a constant of the app).
pub fn signer_var(
    op: &OpVar,
    owner: &PublicKeyVar,
    issuer: &PublicKey,
) -> Result<PublicKeyVar, SynthesisError> {
    let [x, y] = issuer.to_fields();
    Ok(PublicKeyVar::new(
        op.issue.select(&FpVar::constant(x), &owner.x)?,
        op.issue.select(&FpVar::constant(y), &owner.y)?,
    ))
}

/// The key of the issuer's mint record: `Poseidon(tag(label), [issuer.x, issuer.y, 0])`.
/// A domain of its own, so it is nobody's account.
pub fn mint_key(label: &str, issuer: &PublicKey) -> Fr {
    let [x, y] = issuer.to_fields();
    poseidon::hash(poseidon::domain_tag(label), [x, y, Fr::zero()])
}

/// An account record (see the module docs for the packing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Account {
    /// The balance (for a mint record: the money issued so far).
    pub balance: u64,
    /// The largest nonce of an accepted signed request.
    pub nonce: u64,
    /// The bank holding the account (interbank; always 0 in the ledger).
    pub bank: u8,
    /// Whether the account has been opened.
    pub opened: bool,
}

/// How an app packs [`Account`]s: the width of the bank field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountLayout {
    bank_bits: usize,
}

impl AccountLayout {
    /// A layout with a `bank_bits`-bit bank field (at most 8: banks are `u8`).
    pub const fn new(bank_bits: usize) -> Self {
        assert!(bank_bits <= 8, "bank ids are u8");
        Self { bank_bits }
    }

    /// Bits of a packed record: `129 + bank bits`.
    pub fn bits(&self) -> usize {
        BALANCE_BITS + NONCE_BITS + self.bank_bits + 1
    }

    /// The packed record. Requires `account.bank < 2^bank_bits` (banks come from checked
    /// bank ids or from [`AccountLayout::unpack`], so they always are).
    pub fn pack(&self, account: &Account) -> Fr {
        Fr::from(account.balance)
            + Fr::from(account.nonce) * power_of_two(BALANCE_BITS)
            + Fr::from(account.bank) * power_of_two(BALANCE_BITS + NONCE_BITS)
            + Fr::from(account.opened) * power_of_two(BALANCE_BITS + NONCE_BITS + self.bank_bits)
    }

    /// The record packed in `value`, if it is one (below `2^bits`).
    pub fn unpack(&self, value: Fr) -> Option<Account> {
        let bits = value.into_bigint().to_bits_le();
        if bits[self.bits()..].iter().any(|&bit| bit) {
            return None;
        }
        let number = |range: std::ops::Range<usize>| {
            bits[range]
                .iter()
                .rev()
                .fold(0u64, |acc, &bit| (acc << 1) | u64::from(bit))
        };
        let bank_start = BALANCE_BITS + NONCE_BITS;
        Some(Account {
            balance: number(0..BALANCE_BITS),
            nonce: number(BALANCE_BITS..bank_start),
            bank: number(bank_start..bank_start + self.bank_bits) as u8,
            opened: bits[bank_start + self.bank_bits],
        })
    }

    /// In-circuit [`AccountLayout::unpack`]: one decomposition into `bits` bits
    /// (`130 + bank bits` constraints), unsatisfiable for a value that is not a record.
    pub fn unpack_var(&self, value: &FpVar<Fr>) -> Result<AccountVar, SynthesisError> {
        let bits = bounded_bits_le(value, self.bits())?;
        let bank_start = BALANCE_BITS + NONCE_BITS;
        let bank = if self.bank_bits == 0 {
            FpVar::zero()
        } else {
            Boolean::le_bits_to_fp(&bits[bank_start..bank_start + self.bank_bits])?
        };
        Ok(AccountVar {
            balance: Boolean::le_bits_to_fp(&bits[..BALANCE_BITS])?,
            nonce: Boolean::le_bits_to_fp(&bits[BALANCE_BITS..bank_start])?,
            bank,
            opened: bits[bank_start + self.bank_bits].clone(),
        })
    }

    /// The packed record from its fields, in the circuit (free). The caller guarantees the
    /// ranges (a written record is only kept when the request is valid, and validity
    /// includes every range the packing needs).
    pub fn pack_var(
        &self,
        balance: &FpVar<Fr>,
        nonce: &FpVar<Fr>,
        bank: &FpVar<Fr>,
        opened: &FpVar<Fr>,
    ) -> FpVar<Fr> {
        balance
            + nonce * power_of_two(BALANCE_BITS)
            + bank * power_of_two(BALANCE_BITS + NONCE_BITS)
            + opened * power_of_two(BALANCE_BITS + NONCE_BITS + self.bank_bits)
    }
}

/// A record read in the circuit: its fields, range-checked by the decomposition.
#[derive(Clone, Debug)]
pub struct AccountVar {
    /// The balance (< 2^64).
    pub balance: FpVar<Fr>,
    /// The nonce (< 2^64).
    pub nonce: FpVar<Fr>,
    /// The bank (< 2^bank_bits; the constant 0 without a bank field).
    pub bank: FpVar<Fr>,
    /// The opened flag.
    pub opened: Boolean<Fr>,
}

/// `x + delta` if it is a u64 (`delta` is any integer of magnitude below 2^64).
pub fn offset_u64(x: u64, delta: i128) -> Option<u64> {
    u64::try_from(i128::from(x) + delta).ok()
}

/// In-circuit [`offset_u64`]: `(x + δ, whether it is a u64)` for a u64 `x` and `|δ| < 2^64`
/// (68 constraints). Then `x + δ + 2^64 ∈ (0, 3·2^64)` always has a 66-bit decomposition, so
/// the gadget is satisfiable for every such input, and `x + δ ∈ [0, 2^64)` exactly when bit
/// 64 is set and bit 65 is not.
pub fn offset_u64_var(
    x: &FpVar<Fr>,
    delta: &FpVar<Fr>,
) -> Result<(FpVar<Fr>, Boolean<Fr>), SynthesisError> {
    let result = x + delta;
    let bits = bounded_bits_le(&(&result + power_of_two(BALANCE_BITS)), BALANCE_BITS + 2)?;
    let in_range = &bits[BALANCE_BITS] & &!bits[BALANCE_BITS + 1].clone();
    Ok((result, in_range))
}

/// `a > b` for u64s `a`, `b` in the circuit (66 constraints): `a − b − 1 + 2^64` lies in
/// `[0, 2^65 − 1)`, and its bit 64 is set exactly when `a − b − 1 ≥ 0`.
pub fn exceeds_var(a: &FpVar<Fr>, b: &FpVar<Fr>) -> Result<Boolean<Fr>, SynthesisError> {
    // a > b ⇔ a ≥ b + 1, and b + 1 ≤ 2^64 keeps at_least_var's shifted value in range.
    at_least_var(a, &(b + Fr::from(1u64)), NONCE_BITS)
}

/// Why the account transition rejects a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccountReject {
    /// A stored value is not an account record. Unreachable in a store written only by the
    /// app (it writes records, never-written keys read 0, and every read returns the latest
    /// write); the circuit's decomposition makes such a slot unprovable, not rejected.
    #[error("stored value {value} is not an account record")]
    CorruptRecord {
        /// The value.
        value: Fr,
    },
    /// The signature does not verify under the required signer.
    #[error("the signature does not verify")]
    BadSignature,
    /// The nonce is not above the stored one (a replay, or an out-of-order request).
    #[error("nonce {given} is not above the stored nonce {stored}")]
    StaleNonce {
        /// The stored nonce.
        stored: u64,
        /// The request's nonce.
        given: u64,
    },
    /// `open` of an account that is already open.
    #[error("the account is already open")]
    AlreadyOpen,
    /// `transfer` or `balance` of an account that was never opened.
    #[error("the account is not open")]
    NotOpen,
    /// The payee's account was never opened.
    #[error("the payee's account is not open")]
    PayeeNotOpen,
    /// The payer's balance is below the amount.
    #[error("balance {balance} does not cover {amount}")]
    Overdraft {
        /// The payer's balance.
        balance: u64,
        /// The amount.
        amount: u64,
    },
    /// Issuing the amount would take the total supply to 2^64 or beyond.
    #[error("supply {supply} + {amount} exceeds 64 bits")]
    SupplyExhausted {
        /// Money issued so far.
        supply: u64,
        /// The amount.
        amount: u64,
    },
    /// The payee's balance would reach 2^64.
    #[error("payee balance {balance} + {amount} overflows 64 bits")]
    Overflow {
        /// The payee's balance.
        balance: u64,
        /// The amount.
        amount: u64,
    },
}

/// The records after an accepted request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The payer record (key slot 0).
    pub payer: Account,
    /// The payee record (key slot 1).
    pub payee: Account,
}

impl Transition {
    /// The payload: the payer record's `[balance, nonce]`.
    pub fn payload(&self) -> Vec<Fr> {
        vec![Fr::from(self.payer.balance), Fr::from(self.payer.nonce)]
    }
}

/// The transition of the module docs: the records after `request`, or why it is rejected.
/// `bank` is the bank an `open` puts the account at (0 in the ledger); `signature_ok` says
/// whether the request's signature verifies under [`signer`] (ignored for unsigned ops).
pub fn transition(
    request: &RequestFields,
    payer: &Account,
    payee: &Account,
    bank: u8,
    signature_ok: bool,
) -> Result<Transition, AccountReject> {
    let op = request.op;
    let amount = request.amount;
    if op.is_signed() {
        if !signature_ok {
            return Err(AccountReject::BadSignature);
        }
        if request.nonce <= payer.nonce {
            return Err(AccountReject::StaleNonce {
                stored: payer.nonce,
                given: request.nonce,
            });
        }
    }
    match op {
        Op::Open if payer.opened => return Err(AccountReject::AlreadyOpen),
        Op::Transfer | Op::Balance if !payer.opened => return Err(AccountReject::NotOpen),
        Op::Issue | Op::Transfer if !payee.opened => return Err(AccountReject::PayeeNotOpen),
        _ => {}
    }
    let delta = match op {
        Op::Issue => i128::from(amount),
        Op::Transfer => -i128::from(amount),
        _ => 0,
    };
    let payer_balance = offset_u64(payer.balance, delta).ok_or(match op {
        Op::Issue => AccountReject::SupplyExhausted {
            supply: payer.balance,
            amount,
        },
        _ => AccountReject::Overdraft {
            balance: payer.balance,
            amount,
        },
    })?;
    let credit = if op.moves_money() { amount } else { 0 };
    let payee_balance = payee
        .balance
        .checked_add(credit)
        .ok_or(AccountReject::Overflow {
            balance: payee.balance,
            amount,
        })?;
    let next_payer = Account {
        balance: payer_balance,
        nonce: if op.is_signed() {
            request.nonce
        } else {
            payer.nonce
        },
        bank: if op == Op::Open { bank } else { payer.bank },
        opened: payer.opened || op == Op::Open,
    };
    Ok(Transition {
        payer: next_payer,
        payee: Account {
            balance: payee_balance,
            ..*payee
        },
    })
}

/// [`Transition`] in the circuit: the new records' fields, and one 0/1 *violation* per
/// requirement of the module docs (the request is valid iff all are 0, [`all_clear`]).
#[derive(Clone, Debug)]
pub struct TransitionVar {
    /// The payer's new balance.
    pub payer_balance: FpVar<Fr>,
    /// The payer's new nonce.
    pub payer_nonce: FpVar<Fr>,
    /// The payer's new bank.
    pub payer_bank: FpVar<Fr>,
    /// The payer's new opened flag (0/1 whenever the request is valid).
    pub payer_opened: FpVar<Fr>,
    /// The payee's new balance.
    pub payee_balance: FpVar<Fr>,
    /// Requirements that fail (each 0 or 1).
    pub violations: Vec<FpVar<Fr>>,
}

impl TransitionVar {
    /// In-circuit [`Transition::payload`] (free).
    pub fn payload(&self) -> Vec<FpVar<Fr>> {
        vec![self.payer_balance.clone(), self.payer_nonce.clone()]
    }
}

/// In-circuit [`transition`] (210 constraints, 211 with a bank field; see the module docs). Satisfiable for every
/// request and pair of records; `bank` is the bank an `open` assigns.
pub fn transition_var(
    request: &RequestFieldsVar,
    payer: &AccountVar,
    payee: &AccountVar,
    bank: &FpVar<Fr>,
    signature_ok: &Boolean<Fr>,
) -> Result<TransitionVar, SynthesisError> {
    let op = &request.op;
    let signed = op.signed();
    let open = FpVar::from(op.open.clone());
    let one = FpVar::one();
    // Signed ops need a valid signature and a fresh nonce: signed·(1 − ok ∧ fresh).
    let fresh = exceeds_var(&request.nonce, &payer.nonce)?;
    let authorised = FpVar::from(signature_ok & &fresh);
    let mut violations = vec![&signed * (&one - authorised)];
    let payer_opened = FpVar::from(payer.opened.clone());
    let payee_opened = FpVar::from(payee.opened.clone());
    violations.push(&open * &payer_opened);
    let needs_open_payer = FpVar::from(op.transfer.clone()) + FpVar::from(op.balance.clone());
    violations.push(needs_open_payer * (&one - &payer_opened));
    violations.push(op.moves() * (&one - &payee_opened));
    // Payer: + amount for issue (supply), − amount for transfer; in range or rejected. For
    // the other ops δ = 0 and the (decomposed, hence u64) balance is trivially in range.
    let delta =
        (FpVar::from(op.issue.clone()) - FpVar::from(op.transfer.clone())) * &request.amount;
    let (payer_balance, payer_in_range) = offset_u64_var(&payer.balance, &delta)?;
    violations.push(&one - FpVar::from(payer_in_range));
    let credit = op.moves() * &request.amount;
    let (payee_balance, payee_in_range) = offset_u64_var(&payee.balance, &credit)?;
    violations.push(&one - FpVar::from(payee_in_range));
    let payer_nonce = &payer.nonce + &signed * (&request.nonce - &payer.nonce);
    let payer_bank = &payer.bank + &open * (bank - &payer.bank);
    // open requires ¬opened when valid, so the sum is the flag "opened ∨ open".
    let payer_opened = payer_opened + open;
    Ok(TransitionVar {
        payer_balance,
        payer_nonce,
        payer_bank,
        payer_opened,
        payee_balance,
        violations,
    })
}

/// Whether no requirement fails: `Σ violations = 0` (2 constraints). Each violation is 0
/// or 1 and there are far fewer than r of them, so the sum is 0 exactly when all are.
pub fn all_clear(violations: &[FpVar<Fr>]) -> Result<Boolean<Fr>, SynthesisError> {
    violations.iter().sum::<FpVar<Fr>>().is_zero()
}
