//! The dark pool (DESIGN §5): hidden limit orders matched by price-time priority, proved
//! request by request with a fixed-shape circuit that reveals nothing about the side, price,
//! quantity or owner of an order, nor whether it matched.
//!
//! ```text
//! client: SignedInstruction ─▶ service: planner::plan (hints) ─▶ DarkPoolRequest
//!   ─▶ storage_gadget::execute (Store) ─▶ batch circuit (DarkPoolApp::execute_var) ─▶ proof
//! ```
//!
//! # Requests
//!
//! Every request but the no-op is an [`Instruction`] signed (EdDSA on Jubjub, verified
//! in-circuit) by the owner of an account, with the account number and a nonce:
//!
//! * **Open** claims an account number for the signer's key.
//! * **Place** a limit order (side, price, quantity): it fills against the opposite side,
//!   best first, at most F times (F is the app's const parameter, default 2); what remains
//!   rests in the book if it no longer crosses, and is dropped otherwise (the fill limit was
//!   reached: the client sends the rest again). Fills execute at the resting order's price.
//! * **Cancel** removes the signer's resting order from the book.
//! * **Status** reports how much of the signer's order still rests: how a maker learns of the
//!   fills against it.
//!
//! Responses ([`report`]) carry the fills, the quantity rested / cancelled / remaining, and
//! are committed salted, so only the client with the receipt sees them. The pool matches;
//! it does not settle (no balances move), which keeps every request to F + 4 key slots.
//!
//! # The book in the store ([`records`])
//!
//! Per market and side, the resting orders form a **singly linked list sorted by rank**
//! (best first; see `records` for ranks, which make bids and asks the same problem) behind a
//! **head** record. A node stores its successor's id *and rank*, its own rank and its
//! remaining quantity, in one field element; the head stores the first id and rank. Storing
//! the successor's rank is what lets a request check a position from one record: the
//! insertion point is *between* a record and its successor, and both ranks are in the
//! record. Ids are `(account number, nonce)` of the placing request; a node is in the book
//! exactly when its quantity is positive.
//!
//! # Key slots (F + 4, the same for every request)
//!
//! | slot        | open          | place                         | cancel        | status |
//! |-------------|---------------|-------------------------------|---------------|--------|
//! | 0           | account       | account                       | account       | account|
//! | 1           | number claim  | opposite head                 | –             | –      |
//! | 2 … F + 1   | –             | the orders filled (hinted)    | –             | –      |
//! | F + 2       | –             | the new order (if it rests)   | the order     | the order |
//! | F + 3       | –             | its predecessor (if it rests) | its predecessor | –    |
//!
//! The orders filled and the predecessors are state, not functions of the instruction, and
//! the store locks a request's keys before it reads them; so the service names them in the
//! request as **hints** ([`planner`]) and the circuit checks them against what it reads.
//!
//! **Distinct keys.** The storage gadget requires a request's active keys to be distinct;
//! here they are by construction. The account key is a Poseidon output, the others are
//! injective packings under distinct kind tags (`records`). Opposite-side records (head,
//! fills) and own-side records (new order, predecessor) differ in the side bit. Two fills
//! are consecutive nodes of an acyclic list. The new order's key has never been written (its
//! nonce is fresh, below) while a predecessor must be in the book. The cases the brief
//! warns about: an **empty side** is a head with first id 0 and no fill slot active;
//! **inserting at the head** uses the own side's head, which never meets the opposite head;
//! **matching the last order** writes its successor (id 0, rank 0) into the opposite head and
//! touches no further node. A service that names one key twice anyway cannot execute the
//! request at all (the store refuses it, the circuit is unsatisfiable).
//!
//! # What the circuit checks, and why each check is there
//!
//! *Every request.* The instruction's fields are allocated bit by bit (ranges make the
//! encoding and the keys injective). The signature is verified on `[tag, instruction]`
//! (`eddsa_gadget::is_valid`, a Boolean: a bad signature is a rejected request). The account
//! record must exist and carry the request's account number (this is what binds the
//! number, and so every order id the request names, to the signer), and the nonce must be
//! strictly greater than the stored one, which it replaces (no replay; a rejected request
//! does not consume its nonce, so the client's later requests are not blocked).
//!
//! *Open.* The account record and the number's claim must be empty and the number non-zero.
//! The claim makes numbers unique, which order ids, and so ownership, rest on.
//!
//! *Place.* Price and quantity non-zero. The matching runs over the fill slots with a cursor
//! starting at the opposite head (id, rank) and a remaining quantity q:
//! 1. a touched slot must be the cursor's order (its hinted id equals the cursor id), must
//!    cross (`r + rank ≥ 2^32`, the rank taken from the cursor — i.e. from the authenticated
//!    predecessor record) and must find q > 0;
//! 2. it fills `min(q, quantity)` at the maker's price (computed from its rank, never
//!    supplied), lowers the maker's quantity by that much and, if the maker is used up,
//!    advances the cursor to the maker's successor;
//! 3. after the slots, the matching must have stopped for a reason: q = 0, or the cursor's
//!    order does not cross, or all F slots were used; the remainder rests exactly when
//!    q > 0 and the cursor does not cross — the link bit must say so;
//! 4. a resting remainder is linked after a predecessor that is the own side's head or a node
//!    in the book (quantity > 0) with `pred.rank ≥ r > pred.next_rank`;
//! 5. writes: the opposite head := the cursor; the new node := (pred's successor and its
//!    rank, r, q); pred's successor := the new order (rank r).
//!
//! *Cancel.* The named order (key from the signer's account number and the named nonce)
//! must rest (quantity > 0), and the predecessor must be the head or a resting node whose
//! successor is the order; then pred's successor := the order's successor (with its rank)
//! and the order's quantity := 0. *Status* reads the order and changes nothing but the nonce.
//!
//! A check that fails makes the request **rejected**, never the circuit unsatisfiable: wrong
//! hints included, because an honest but concurrent service can hold stale hints, and an
//! unprovable record would make the whole epoch unprovable.
//!
//! # Soundness: what a cheating service cannot do
//!
//! The storage layer gives a serial execution in `t_req` order in which every read returns
//! the latest write (DESIGN §4). Over that execution the following **invariant** holds for
//! every market and side, by induction (the empty store satisfies it, and each accepted
//! request preserves it by the checks above; rejected requests change nothing): the nodes with
//! positive quantity are exactly those reachable from the head by successor ids; along the
//! list ranks never increase, equal ranks appear in the order their orders were placed, each
//! record's stored successor rank is its successor's rank (0 and id 0 at the end); every node
//! was created by an accepted place signed by the owner of its account number; and every
//! node id `(n, k)` has `k ≤` the stored nonce of account number n.
//!
//! * **Skip a better order.** The first fill must be the head's order and each further one
//!   the successor of a used-up one; the head and successor ids are authenticated reads. A
//!   cursor that could still fill (q > 0, crossing, slots left) cannot be abandoned: step 3.
//! * **Fill at a worse price.** The price is computed from the maker's rank, which is its
//!   predecessor's stored successor rank — no field of the request or hint enters it.
//! * **Fill more than an order's quantity, or more than the taker asked.** A fill is
//!   `min(q, maker quantity)`, both authenticated or signed, and both are lowered by it.
//! * **Reorder equal prices / insert at the wrong place.** A list sorted by rank with equal
//!   ranks in arrival order has exactly one record with `rank ≥ r > successor's rank` (the
//!   head counting as rank +∞): the one after the last order of rank ≥ r. A predecessor out
//!   of the book (quantity 0: filled or cancelled, or never written) is refused, and the node
//!   key carries market and side, so a record of another list cannot stand in. Hence the new
//!   order goes exactly behind the older orders of its price, and matching, which pops from
//!   the head, serves equal prices first come first served.
//! * **Rest a crossing remainder, or drop one that should rest.** Step 3 fixes the link bit.
//! * **Cancel someone else's order.** The order's key is derived from the account number of
//!   the request, which must be the signer's (account record check); numbers are unique
//!   (claims), so the key can only name one of the signer's own orders. The predecessor check
//!   unlinks exactly that node and nothing else.
//! * **Invent or replay an order.** A node is written only by an accepted place, which needs
//!   the owner's signature on every field of it, with a nonce above the stored one. The new
//!   node's key (account number, fresh nonce) has therefore never been written — the circuit
//!   does not even need to check that its old value is 0.
//! * **Forge a response.** Responses are computed in-circuit from the same values and
//!   committed; an invalid request's payload is zero (storage gadget).
//!
//! What the service *can* do is what no proof prevents: refuse or delay a request — including
//! by executing it with hints that do not match the book, which rejects it without changing
//! anything (the client can resend the same signed instruction; its nonce is not consumed) —
//! and choose the order in which requests execute. Self-trades are allowed.
//!
//! # Checks that are not there, on purpose
//!
//! * No in-circuit check that a touched maker has positive quantity, or that the new
//!   order's slot was empty: the invariant implies both.
//! * Written fields are not range-checked: each is an unpacked field, a request field, or a
//!   difference/sum the logic bounds (fills ≤ both quantities, ranks of valid prices). Values
//!   are range-checked once, when read.
//!
//! # Constraint counts (F = 2, 6 key slots; `constraint_counts_are_reported` in
//! `tests/integration/darkpool.rs`)
//!
//! | part                                                        | constraints |
//! |-------------------------------------------------------------|-------------|
//! | request allocation (instruction 213 bits, hints 196, flags) | 420         |
//! | signature (`is_valid` on a 2-element message)               | 3,461       |
//! | the rest of the app (below)                                 | 1,676       |
//! | **app, total (request, key slots, `apply_var`)**            | **5,557**   |
//! | six storage operations (`batch.rs`: 1,225 each)             | 7,350       |
//! | `t_req`                                                     | 64          |
//! | leaf commitment (4 permutations) and a tree node            | 1,311       |
//! | **one batch slot**                                          | **14,282**  |
//! | fixed per batch                                             | 2,397       |
//! | one batch slot with F = 3 (7 key slots)                     | 16,160      |
//!
//! The rest of the app: the account id (one permutation, 258); the record decompositions
//! 934 (account 65, head 97, four nodes 193 each); the comparisons 339 (nonce 35, three
//! crossing tests 34 each, two quantity comparisons 66 each, the insertion point's two rank
//! comparisons 35 each); the generic layer 45 (masking 6, distinct keys 30, selects 9); zero
//! and equality tests, selects and Boolean gates about 100. The storage operations are half
//! of a slot, the signature a quarter; the book logic proper (decompositions, comparisons,
//! tests) is 10 %. A fill slot more costs 1,878: a storage operation, a node decomposition,
//! its hint id and test logic, and a fifth commitment permutation (the payload grows by a
//! field). A batch of B slots, B a power of two, costs `14,282·B + 2,397`.

mod execution;
mod layout;
pub mod planner;
pub mod records;
pub mod report;
mod request;
pub mod workload;

use ark_bls12_381::Fr;
use ark_r1cs_std::{boolean::Boolean, fields::fp::FpVar};
use ark_relations::gr1cs::SynthesisError;

pub use execution::{link_slot, own_slot, ACCOUNT_SLOT, BOOK_SLOT, FIRST_FILL_SLOT};
pub use records::{OrderId, Side};
pub use report::{Fill, Report};
pub use request::{
    hint_fields, message_domain, DarkPoolRequest, DarkPoolRequestVar, HintError, Hints,
    Instruction, Link, Order, SignedInstruction, MAX_FILLS, MESSAGE_LABEL,
};
pub use workload::DarkPoolWorkload;

use super::super::storage_gadget::{App, KeySlot, KeySlotVar, Storage, StorageVar};

/// Why the dark pool rejects a request (not committed: a rejected request's response is
/// `[0, 0, …]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DarkPoolReject {
    /// The signature does not verify under the request's public key.
    #[error("the signature does not verify")]
    BadSignature,
    /// `Open` for a key that already has an account.
    #[error("the account is already open")]
    AccountExists,
    /// `Open` of a number another account holds.
    #[error("account number {number} is taken")]
    AccountNumberTaken {
        /// The number.
        number: u64,
    },
    /// `Open` of number 0 (reserved: id 0 ends the book's lists).
    #[error("account number 0 is reserved")]
    ZeroAccountNumber,
    /// The signer has no account.
    #[error("the signer has no account")]
    NoAccount,
    /// The request names another account number than the signer's.
    #[error("the request names account {claimed}, the signer's is {actual}")]
    WrongAccount {
        /// The number in the request.
        claimed: u64,
        /// The signer's number.
        actual: u64,
    },
    /// The nonce is not above the last accepted one (a replay, or out of order).
    #[error("nonce {nonce} is not above the last accepted nonce {last}")]
    StaleNonce {
        /// The request's nonce.
        nonce: u64,
        /// The account's last accepted nonce.
        last: u64,
    },
    /// A place with price or quantity 0.
    #[error("an order needs a price and a quantity above 0")]
    EmptyOrder,
    /// The hints do not describe the book as it is (stale or wrong; nothing changed).
    #[error("the service's hints do not match the book")]
    HintsDoNotMatchBook,
    /// A cancel of an order that does not rest in the book (filled, cancelled or unknown).
    #[error("the order does not rest in the book")]
    NotResting,
    /// A stored value is not laid out as its record. Unreachable in a store written only by
    /// this app (every value it writes is laid out, see `records`); the circuit's
    /// decomposition makes such a slot unprovable, not rejected.
    #[error("slot {slot} holds a value that is not a dark-pool record")]
    ValueOutOfRange {
        /// The slot.
        slot: usize,
    },
}

/// The dark pool with F fills per request (1 ≤ F ≤ [`MAX_FILLS`]); see the module docs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DarkPoolApp<const F: usize = 2>;

impl<const F: usize> DarkPoolApp<F> {
    /// Compile-time check of F (evaluated where the app is built).
    const FILLS_SUPPORTED: () = assert!(F >= 1 && F <= MAX_FILLS, "1 ≤ F ≤ 16");

    /// The app.
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::FILLS_SUPPORTED;
        Self
    }

    /// The request for `instruction` with hints that match the book in `state` (see
    /// [`planner::plan`]).
    pub fn plan(
        &self,
        instruction: SignedInstruction,
        state: &dyn Fn(&Fr) -> Fr,
    ) -> Result<DarkPoolRequest<F>, planner::PlanError> {
        planner::plan(instruction, state)
    }
}

impl<const F: usize> App for DarkPoolApp<F> {
    type Request = DarkPoolRequest<F>;
    type RequestVar = DarkPoolRequestVar;
    type Reject = DarkPoolReject;

    const KEYS: usize = F + 4;
    const REQUEST_FIELDS: usize = 6 + hint_fields(F);
    const PAYLOAD_FIELDS: usize = F + report::OUTCOME_FIELDS;

    fn noop(&self) -> DarkPoolRequest<F> {
        DarkPoolRequest::Noop
    }

    fn keys(&self, request: &DarkPoolRequest<F>) -> Vec<KeySlot> {
        execution::keys(&request.fields())
    }

    fn encode_request(&self, request: &DarkPoolRequest<F>) -> Vec<Fr> {
        request.fields().encode()
    }

    fn authorized(&self, request: &DarkPoolRequest<F>) -> bool {
        execution::signature_verifies(&request.fields())
    }

    fn execute(
        &self,
        request: &DarkPoolRequest<F>,
        authorized: bool,
        storage: &mut Storage,
    ) -> Result<Vec<Fr>, DarkPoolReject> {
        execution::execute(&request.fields(), authorized, storage)
    }

    fn keys_var(&self, request: &DarkPoolRequestVar) -> Result<Vec<KeySlotVar>, SynthesisError> {
        execution::keys_var(request)
    }

    fn encode_request_var(
        &self,
        request: &DarkPoolRequestVar,
    ) -> Result<Vec<FpVar<Fr>>, SynthesisError> {
        Ok(request.encode())
    }

    fn execute_var(
        &self,
        request: &DarkPoolRequestVar,
        storage: &mut StorageVar,
    ) -> Result<(Vec<FpVar<Fr>>, Boolean<Fr>), SynthesisError> {
        execution::execute_var(request, storage)
    }
}
