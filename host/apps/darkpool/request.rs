//! The dark pool's requests: what a client signs ([`SignedInstruction`]), the hints the
//! service adds ([`Hints`]: where the order meets the book), the encoding the batch commits
//! to, and its circuit twin ([`DarkPoolRequestVar`]).
//!
//! # Encoding (`6 + hint_fields(F)` field elements)
//!
//! `[A.x, A.y, R.x, R.y, S, instruction, hints…]`: the owner's public key, the signature, the
//! signed instruction packed as below, and the hints.
//!
//! * **instruction** (213 bits, least significant first): open 1, place 1, cancel 1,
//!   status 1 (at most one set; none: the no-op), market 16, side 1 (1 = sell), price 32,
//!   quantity 64, order 32 (the nonce of the order a cancel or status names), nonce 32,
//!   account number 32. The client signs `[message tag, instruction]`, so every field that
//!   decides what the request does is signed; fields a kind does not use are signed too and
//!   ignored.
//! * **hints** (unsigned, chosen by the service): F "touched" bits (the request fills
//!   against the first k orders of the opposite side, bits 0 … k − 1 set), a link bit (the
//!   order rests / the cancel names its predecessor), a head bit (the link is the head of the
//!   side), then 64-bit order ids: the link's predecessor, and the F ids the fills claim to
//!   touch. Three ids and the flags share the first field; further ids go three to a field.
//!
//! Every field is allocated bit by bit (its range is then a fact of the allocation), which is
//! what makes the encoding injective and the keys derived from it (linear packings, see
//! `records`) unambiguous. Allocation also enforces the three facts the native types make
//! unrepresentable: at most one kind bit, touched bits form a prefix, head implies link.

use std::{borrow::Borrow, sync::OnceLock};

use ark_bls12_381::Fr;
use ark_ff::Zero;
use ark_r1cs_std::{
    alloc::{AllocVar, AllocationMode},
    boolean::Boolean,
    fields::{fp::FpVar, FieldVar},
};
use ark_relations::gr1cs::{Namespace, SynthesisError};

use super::{
    layout::{Layout, MAX_LAYOUT_BITS},
    records::{
        OrderId, Side, ACCOUNT_BITS, MARKET_BITS, NONCE_BITS, ORDER_ID_BITS, PRICE_BITS,
        QUANTITY_BITS,
    },
};
use crate::host::{
    eddsa::{PublicKey, SecretKey, Signature},
    eddsa_gadget::{PublicKeyVar, SignatureVar},
    poseidon,
};

/// Label of the domain tag that opens every signed dark-pool message (so that no signature
/// made for another application or purpose is a valid instruction).
pub const MESSAGE_LABEL: &str = "spice/darkpool/instruction/v1";

/// Most fills per request a [`DarkPoolApp`](super::DarkPoolApp) supports (the hint flags
/// must share a field with three ids).
pub const MAX_FILLS: usize = 16;

/// The tag that opens every signed message (cached).
pub fn message_domain() -> Fr {
    static TAG: OnceLock<Fr> = OnceLock::new();
    *TAG.get_or_init(|| poseidon::domain_tag(MESSAGE_LABEL))
}

/// A limit order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Order {
    /// Buy or sell.
    pub side: Side,
    /// The limit price (1 … 2^32 − 1; 0 is rejected).
    pub price: u32,
    /// The quantity (0 is rejected).
    pub quantity: u64,
}

/// What a client asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Instruction {
    /// Opens the signer's account under the account number of the request (1 … 2^32 − 1,
    /// not yet taken).
    Open,
    /// Places a limit order: it fills against the opposite side by price-time priority, up
    /// to F fills, and what remains rests in the book unless it still crosses (then it is
    /// dropped: the fill limit was reached).
    Place(Order),
    /// Cancels the signer's resting order placed with nonce `order` on `side`.
    Cancel {
        /// The order's side.
        side: Side,
        /// The nonce of the request that placed it.
        order: u32,
    },
    /// Reports the quantity still resting of the signer's order placed with nonce `order`
    /// (how a maker learns of its fills).
    Status {
        /// The order's side.
        side: Side,
        /// The nonce of the request that placed it.
        order: u32,
    },
}

/// An instruction signed by the owner of an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedInstruction {
    /// The signer's public key (the account is keyed by its account id).
    pub owner: PublicKey,
    /// The signer's account number (chosen at [`Instruction::Open`]).
    pub account: u32,
    /// The market the instruction is about (ignored by `Open`).
    pub market: u16,
    /// Strictly above the account's last accepted nonce (any value for `Open`).
    pub nonce: u32,
    /// What to do.
    pub instruction: Instruction,
    /// The owner's signature on [`SignedInstruction::message`].
    pub signature: Signature,
}

impl SignedInstruction {
    /// `instruction` signed by `key`.
    pub fn sign(
        key: &SecretKey,
        account: u32,
        market: u16,
        nonce: u32,
        instruction: Instruction,
    ) -> Self {
        let mut signed = Self {
            owner: key.public_key(),
            account,
            market,
            nonce,
            instruction,
            signature: Signature::from_fields([Fr::zero(); 3]),
        };
        signed.signature = key.sign(&signed.message());
        signed
    }

    /// The signed message `[message tag, instruction]`.
    pub fn message(&self) -> [Fr; 2] {
        [message_domain(), self.packed_instruction()]
    }

    /// The id the order of a `Place` gets: `(account, nonce)`.
    pub fn order_id(&self) -> OrderId {
        OrderId {
            account: self.account,
            nonce: self.nonce,
        }
    }

    fn packed_instruction(&self) -> Fr {
        let mut fields = RequestFields::noop(0);
        fields.set_instruction(self);
        instruction_layout().pack(&fields.instruction_values())
    }
}

/// Where a resting order goes, or which record precedes the order a cancel removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// The head of the side (the order becomes / is the best).
    Head,
    /// The order with this id.
    After(OrderId),
}

/// The service's hints for one request: the orders its fills touch, and its link.
///
/// Hints only say *where* to look; the circuit checks them against the book, and hints that
/// do not match the book make the request rejected (see the module docs of `darkpool`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hints<const F: usize> {
    fills: Vec<OrderId>,
    link: Option<Link>,
}

/// Hints that no request of the app can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HintError {
    /// More fills than the app's F.
    #[error("{given} fills named, a request fills at most {most}")]
    TooManyFills {
        /// Fills named.
        given: usize,
        /// The app's F.
        most: usize,
    },
}

impl<const F: usize> Hints<F> {
    /// Hints touching `fills` (in order, at most F) with link `link`.
    pub fn new(fills: Vec<OrderId>, link: Option<Link>) -> Result<Self, HintError> {
        if fills.len() > F {
            return Err(HintError::TooManyFills {
                given: fills.len(),
                most: F,
            });
        }
        Ok(Self { fills, link })
    }

    /// No fill, no link (what `Open` and `Status` carry).
    pub fn none() -> Self {
        Self {
            fills: Vec::new(),
            link: None,
        }
    }

    /// The orders the fills touch, best first.
    pub fn fills(&self) -> &[OrderId] {
        &self.fills
    }

    /// The link.
    pub fn link(&self) -> Option<Link> {
        self.link
    }
}

/// A request of the dark pool: a signed instruction with the service's hints, or the no-op
/// that pads batches.
// Nearly every request is `Signed`; the no-op only pads batches, so boxing the large variant
// would cost an allocation per real request to save space on padding.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DarkPoolRequest<const F: usize> {
    /// Does nothing (pads batches).
    Noop,
    /// A client's instruction.
    Signed {
        /// The instruction and its signature.
        instruction: SignedInstruction,
        /// Where it meets the book.
        hints: Hints<F>,
    },
}

impl<const F: usize> DarkPoolRequest<F> {
    /// The request's fields as the circuit sees them.
    pub(super) fn fields(&self) -> RequestFields {
        let mut fields = RequestFields::noop(F);
        if let DarkPoolRequest::Signed { instruction, hints } = self {
            fields.set_instruction(instruction);
            // `Hints::new` keeps at most F fills, so every one has its slot.
            let slots = fields.touched.iter_mut().zip(fields.fills.iter_mut());
            for ((touched, slot), id) in slots.zip(&hints.fills) {
                *touched = true;
                *slot = id.to_u64();
            }
            match hints.link {
                None => {}
                Some(Link::Head) => {
                    fields.link = true;
                    fields.head = true;
                }
                Some(Link::After(id)) => {
                    fields.link = true;
                    fields.pred = id.to_u64();
                }
            }
        }
        fields
    }

    /// The signed instruction, unless this is the no-op.
    pub fn instruction(&self) -> Option<&SignedInstruction> {
        match self {
            DarkPoolRequest::Noop => None,
            DarkPoolRequest::Signed { instruction, .. } => Some(instruction),
        }
    }
}

/// The instruction's layout (see the module docs).
pub fn instruction_layout() -> Layout {
    Layout::new(&[
        1,
        1,
        1,
        1,
        MARKET_BITS,
        1,
        PRICE_BITS,
        QUANTITY_BITS,
        NONCE_BITS,
        NONCE_BITS,
        ACCOUNT_BITS,
    ])
}

/// Ids the first hint field holds next to the flags.
const IDS_IN_FIRST_FIELD: usize = 3;
/// Ids in each further hint field.
const IDS_PER_FIELD: usize = 3;

/// Field elements of the hints of an app with `fills` fills: the flags and the first three
/// ids, then three ids per field (`fills + 1` ids: the link's and one per fill).
pub const fn hint_fields(fills: usize) -> usize {
    let ids = fills + 1;
    if ids <= IDS_IN_FIRST_FIELD {
        1
    } else {
        1 + (ids - IDS_IN_FIRST_FIELD).div_ceil(IDS_PER_FIELD)
    }
}

/// The hint fields' layouts for `fills` fills: flags (`fills` touched bits, link, head) and
/// ids, as in the module docs.
pub fn hint_layouts(fills: usize) -> Vec<Layout> {
    let ids = fills + 1;
    let first_ids = ids.min(IDS_IN_FIRST_FIELD);
    let mut first = vec![1; fills + 2];
    first.extend(std::iter::repeat(ORDER_ID_BITS).take(first_ids));
    debug_assert!(first.iter().sum::<usize>() <= MAX_LAYOUT_BITS);
    let mut layouts = vec![Layout::new(&first)];
    let mut rest = ids - first_ids;
    while rest > 0 {
        let here = rest.min(IDS_PER_FIELD);
        layouts.push(Layout::new(&vec![ORDER_ID_BITS; here]));
        rest -= here;
    }
    layouts
}

/// Every field of a request, flat, exactly as the circuit allocates them: the native twin of
/// [`DarkPoolRequestVar`], on which the native logic runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct RequestFields {
    pub owner: PublicKey,
    pub signature: Signature,
    pub open: bool,
    pub place: bool,
    pub cancel: bool,
    pub status: bool,
    pub market: u64,
    pub sell: bool,
    pub price: u64,
    pub quantity: u64,
    pub order: u64,
    pub nonce: u64,
    pub account: u64,
    pub touched: Vec<bool>,
    pub link: bool,
    pub head: bool,
    pub pred: u64,
    pub fills: Vec<u64>,
}

impl RequestFields {
    /// The no-op's fields (everything zero) for an app of `fills` fills.
    fn noop(fills: usize) -> Self {
        use ark_ed_on_bls12_381::EdwardsAffine;
        Self {
            owner: PublicKey::from_point_unchecked(EdwardsAffine::new_unchecked(
                Fr::zero(),
                Fr::zero(),
            )),
            signature: Signature::from_fields([Fr::zero(); 3]),
            open: false,
            place: false,
            cancel: false,
            status: false,
            market: 0,
            sell: false,
            price: 0,
            quantity: 0,
            order: 0,
            nonce: 0,
            account: 0,
            touched: vec![false; fills],
            link: false,
            head: false,
            pred: 0,
            fills: vec![0; fills],
        }
    }

    fn set_instruction(&mut self, signed: &SignedInstruction) {
        self.owner = signed.owner;
        self.signature = signed.signature;
        self.market = u64::from(signed.market);
        self.nonce = u64::from(signed.nonce);
        self.account = u64::from(signed.account);
        match signed.instruction {
            Instruction::Open => self.open = true,
            Instruction::Place(order) => {
                self.place = true;
                self.sell = order.side.is_sell();
                self.price = u64::from(order.price);
                self.quantity = order.quantity;
            }
            Instruction::Cancel { side, order } => {
                self.cancel = true;
                self.sell = side.is_sell();
                self.order = u64::from(order);
            }
            Instruction::Status { side, order } => {
                self.status = true;
                self.sell = side.is_sell();
                self.order = u64::from(order);
            }
        }
    }

    fn instruction_values(&self) -> Vec<u64> {
        vec![
            u64::from(self.open),
            u64::from(self.place),
            u64::from(self.cancel),
            u64::from(self.status),
            self.market,
            u64::from(self.sell),
            self.price,
            self.quantity,
            self.order,
            self.nonce,
            self.account,
        ]
    }

    fn hint_values(&self) -> Vec<Vec<u64>> {
        let fills = self.touched.len();
        let flags = self
            .touched
            .iter()
            .chain([&self.link, &self.head])
            .map(|&bit| u64::from(bit));
        let ids: Vec<u64> = std::iter::once(self.pred)
            .chain(self.fills.iter().copied())
            .collect();
        let first_ids = ids.len().min(IDS_IN_FIRST_FIELD);
        let mut values = vec![flags.chain(ids[..first_ids].iter().copied()).collect()];
        values.extend(ids[first_ids..].chunks(IDS_PER_FIELD).map(<[u64]>::to_vec));
        debug_assert_eq!(values.len(), hint_fields(fills));
        values
    }

    /// The committed encoding (see the module docs).
    pub fn encode(&self) -> Vec<Fr> {
        let [owner_x, owner_y] = self.owner.to_fields();
        let mut encoded = vec![owner_x, owner_y];
        encoded.extend(self.signature.to_fields());
        encoded.push(instruction_layout().pack(&self.instruction_values()));
        let layouts = hint_layouts(self.touched.len());
        encoded.extend(
            layouts
                .iter()
                .zip(self.hint_values())
                .map(|(layout, values)| layout.pack(&values)),
        );
        encoded
    }

    /// The signed message `[message tag, instruction]`.
    pub fn message(&self) -> [Fr; 2] {
        [
            message_domain(),
            instruction_layout().pack(&self.instruction_values()),
        ]
    }

    /// Whether the request is one of the four kinds (not the no-op).
    pub fn is_signed_kind(&self) -> bool {
        self.open || self.place || self.cancel || self.status
    }

    /// Whether fill slot `i` is touched: a place whose hints touch its i-th order.
    pub fn fill_active(&self, i: usize) -> bool {
        self.place && self.touched[i]
    }

    /// Whether the link slot is touched: a place that rests, or a cancel, with a link.
    pub fn link_active(&self) -> bool {
        (self.place || self.cancel) && self.link
    }

    /// Whether the own-order slot is touched: the new node of a resting place, the order a
    /// cancel or status names.
    pub fn own_active(&self) -> bool {
        (self.place && self.link) || self.cancel || self.status
    }

    /// The own order's id: the new order's `(account, nonce)` for a place, the named
    /// `(account, order)` otherwise.
    pub fn own_id(&self) -> u64 {
        let nonce = if self.place { self.nonce } else { self.order };
        (self.account << NONCE_BITS) + nonce
    }
}

/// A [`DarkPoolRequest`] in the circuit: every field of the encoding, plus the packed
/// fields and the slot activity flags computed once at allocation.
#[derive(Clone, Debug)]
pub struct DarkPoolRequestVar {
    /// The signer's public key.
    pub owner: PublicKeyVar,
    /// The signature.
    pub signature: SignatureVar,
    /// Kind bit: open.
    pub open: Boolean<Fr>,
    /// Kind bit: place.
    pub place: Boolean<Fr>,
    /// Kind bit: cancel.
    pub cancel: Boolean<Fr>,
    /// Kind bit: status.
    pub status: Boolean<Fr>,
    /// The market (16 bits).
    pub market: FpVar<Fr>,
    /// The side bit (1 = sell).
    pub sell: Boolean<Fr>,
    /// The price (32 bits).
    pub price: FpVar<Fr>,
    /// The quantity (64 bits).
    pub quantity: FpVar<Fr>,
    /// The named order's nonce (32 bits).
    pub order: FpVar<Fr>,
    /// The request nonce (32 bits).
    pub nonce: FpVar<Fr>,
    /// The account number (32 bits).
    pub account: FpVar<Fr>,
    /// Touched bits of the fills (a prefix).
    pub touched: Vec<Boolean<Fr>>,
    /// The link bit.
    pub link: Boolean<Fr>,
    /// The link is the head.
    pub head: Boolean<Fr>,
    /// The link's predecessor id (64 bits).
    pub pred: FpVar<Fr>,
    /// The ids the fills claim (64 bits each).
    pub fills: Vec<FpVar<Fr>>,
    /// The packed instruction (what is signed).
    pub instruction: FpVar<Fr>,
    /// The packed hint fields.
    pub hints: Vec<FpVar<Fr>>,
    /// `place ∧ touchedᵢ`: fill slot i is active.
    pub fill_active: Vec<Boolean<Fr>>,
    /// `(place ∨ cancel) ∧ link`: the link slot is active.
    pub link_active: Boolean<Fr>,
    /// `(place ∧ link) ∨ cancel ∨ status`: the own-order slot is active.
    pub own_active: Boolean<Fr>,
    /// The own order's id (new order for a place, the named one otherwise).
    pub own_id: FpVar<Fr>,
}

impl<const F: usize> AllocVar<DarkPoolRequest<F>, Fr> for DarkPoolRequestVar {
    /// Allocates every field bit by bit (one constraint a bit) and enforces the three
    /// structural facts of the module docs (1 + (F − 1) + 1 constraints); the activity flags
    /// cost F + 5 more.
    fn new_variable<T: Borrow<DarkPoolRequest<F>>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let cs = cs.into().cs();
        let fields = f().map(|request| request.borrow().fields());
        let owner = PublicKeyVar::new_variable(
            cs.clone(),
            || fields.as_ref().map(|f| f.owner).map_err(|e| *e),
            mode,
        )?;
        let signature = SignatureVar::new_variable(
            cs.clone(),
            || fields.as_ref().map(|f| f.signature).map_err(|e| *e),
            mode,
        )?;
        let instruction_layout = instruction_layout();
        let bits = instruction_layout.alloc_bits(
            cs.clone(),
            fields
                .as_ref()
                .map(RequestFields::instruction_values)
                .map_err(|e| *e),
            mode,
        )?;
        let number = |i: usize| Boolean::le_bits_to_fp(&bits[i]);
        let bit = |i: usize| bits[i][0].clone();
        let (open, place, cancel, status) = (bit(0), bit(1), bit(2), bit(3));
        // At most one kind: the sum of the four bits is itself a bit (1 constraint).
        let kinds = [&open, &place, &cancel, &status]
            .into_iter()
            .fold(FpVar::zero(), |sum, b| sum + FpVar::from(b.clone()));
        kinds.mul_equals(&(&kinds - Fr::from(1u64)), &FpVar::zero())?;
        let market = number(4)?;
        let sell = bit(5);
        let price = number(6)?;
        let quantity = number(7)?;
        let order = number(8)?;
        let nonce = number(9)?;
        let account = number(10)?;
        let instruction = Boolean::le_bits_to_fp(&bits.concat())?;

        let layouts = hint_layouts(F);
        let hint_values = fields
            .as_ref()
            .map(RequestFields::hint_values)
            .map_err(|e| *e);
        let mut hint_bits = Vec::with_capacity(layouts.len());
        for (index, layout) in layouts.iter().enumerate() {
            let values = hint_values
                .as_ref()
                .map(|v| v[index].clone())
                .map_err(|e| *e);
            hint_bits.push(layout.alloc_bits(cs.clone(), values, mode)?);
        }
        let hints = hint_bits
            .iter()
            .map(|field| Boolean::le_bits_to_fp(&field.concat()))
            .collect::<Result<Vec<_>, _>>()?;
        let flags: Vec<Boolean<Fr>> = hint_bits[0][..F + 2].iter().map(|b| b[0].clone()).collect();
        let ids = hint_bits
            .iter()
            .enumerate()
            .flat_map(|(index, field)| {
                let skip = if index == 0 { F + 2 } else { 0 };
                field[skip..].iter()
            })
            .map(|id| Boolean::le_bits_to_fp(id))
            .collect::<Result<Vec<_>, _>>()?;
        let touched = flags[..F].to_vec();
        let (link, head) = (flags[F].clone(), flags[F + 1].clone());
        // Touched bits form a prefix: touchedᵢ ⇒ touchedᵢ₋₁ (1 constraint each).
        for pair in touched.windows(2) {
            FpVar::from(pair[1].clone())
                .mul_equals(&FpVar::from(!pair[0].clone()), &FpVar::zero())?;
        }
        // head ⇒ link (1 constraint).
        FpVar::from(head.clone()).mul_equals(&FpVar::from(!link.clone()), &FpVar::zero())?;
        let pred = ids[0].clone();
        let fills = ids[1..].to_vec();

        let fill_active = touched.iter().map(|t| &place & t).collect::<Vec<_>>();
        let link_active = &(&place | &cancel) & &link;
        let own_active = &(&(&place & &link) | &cancel) | &status;
        let own_nonce = place.select(&nonce, &order)?;
        let own_id = super::records::order_id_var(&account, &own_nonce);
        Ok(Self {
            owner,
            signature,
            open,
            place,
            cancel,
            status,
            market,
            sell,
            price,
            quantity,
            order,
            nonce,
            account,
            touched,
            link,
            head,
            pred,
            fills,
            instruction,
            hints,
            fill_active,
            link_active,
            own_active,
            own_id,
        })
    }
}

impl DarkPoolRequestVar {
    /// The committed encoding `[A.x, A.y, R.x, R.y, S, instruction, hints…]` (free).
    pub fn encode(&self) -> Vec<FpVar<Fr>> {
        let mut encoded = vec![
            self.owner.x.clone(),
            self.owner.y.clone(),
            self.signature.r_x.clone(),
            self.signature.r_y.clone(),
            self.signature.s.clone(),
            self.instruction.clone(),
        ];
        encoded.extend(self.hints.iter().cloned());
        encoded
    }

    /// The signed message `[message tag, instruction]` (free).
    pub fn message(&self) -> [FpVar<Fr>; 2] {
        [FpVar::constant(message_domain()), self.instruction.clone()]
    }

    /// Whether the request is one of the four kinds.
    pub fn is_signed_kind(&self) -> Boolean<Fr> {
        &(&(&self.open | &self.place) | &self.cancel) | &self.status
    }
}
