//! What the dark pool keeps in the store: accounts, account-number claims, and per market
//! and side a sorted linked list of resting orders behind a head record — their keys and
//! their packed values, natively and in the circuit.
//!
//! # Keys
//!
//! | record          | key                                                       |
//! |-----------------|-----------------------------------------------------------|
//! | account         | `account_id(pk)` (a Poseidon hash of the owner's key)     |
//! | number claim    | `1·2^120 + number`                                        |
//! | head of a side  | `2·2^120 + 2·market + side`                               |
//! | order node      | `3·2^120 + 2^65·market + 2^64·side + id`                  |
//!
//! The last three are injective packings of range-checked fields (market < 2^16, side a
//! bit, id < 2^64, number < 2^32) under distinct kind tags, so they are free in the circuit
//! and cannot collide with each other at all. An account key collides with one of them only
//! if a Poseidon output lands in a fixed set of fewer than 2^82 integers: probability below
//! 2^-172 per public key tried. That is as strong as hashing every key under its own domain tag
//! (which would cost ~260 constraints a key, a whole Poseidon permutation, for the six keys
//! of every request).
//!
//! # Values
//!
//! | record | fields, least significant first (bits)                              |
//! |--------|---------------------------------------------------------------------|
//! | account| number 32, nonce 32                                                 |
//! | claim  | 1 once the number is taken                                          |
//! | head   | first 64, first_rank 32                                             |
//! | node   | next 64, next_rank 32, rank 32, quantity 64                         |
//!
//! A head is laid out as the prefix of a node (a node with rank and quantity 0), so the slot
//! that holds the predecessor of an insertion or a cancel reads either with one
//! decomposition. Ids are `2^32·account number + nonce` of the request that placed the
//! order, and id 0 (account number 0 is never opened) marks the end of a list.
//!
//! # Ranks
//!
//! A bid of price p has rank p, an ask rank `2^32 − p`; prices are 1 … 2^32 − 1, so real
//! ranks are 1 … 2^32 − 1 and rank 0 marks the end of a list. Both sides are then sorted by
//! rank *descending* (best first), and a taker of rank `r` crosses a maker of rank `m`
//! exactly when `r + m ≥ 2^32` (a buy at p meets an ask at a ≤ p: `p + 2^32 − a ≥ 2^32`;
//! a sell at s meets a bid at b ≥ s likewise). One comparison, the same for both sides, and
//! the end marker never crosses.

use ark_bls12_381::Fr;
use ark_r1cs_std::{
    boolean::Boolean,
    fields::{fp::FpVar, FieldVar},
};
use ark_relations::gr1cs::SynthesisError;

use super::layout::{power_of_two, Layout};
use crate::host::{eddsa, integer_gadget::bounded_bits_le};

/// Bits of a price (prices are 1 … 2^32 − 1).
pub const PRICE_BITS: usize = 32;
/// Bits of a quantity.
pub const QUANTITY_BITS: usize = 64;
/// Bits of an account number (numbers are 1 … 2^32 − 1).
pub const ACCOUNT_BITS: usize = 32;
/// Bits of a request nonce.
pub const NONCE_BITS: usize = 32;
/// Bits of a market number.
pub const MARKET_BITS: usize = 16;
/// Bits of an order id (`2^32·account + nonce`).
pub const ORDER_ID_BITS: usize = ACCOUNT_BITS + NONCE_BITS;
/// Bits of a rank.
pub const RANK_BITS: usize = PRICE_BITS;

/// Where the kind tag of a packed key sits.
const KIND_SHIFT: usize = 120;
/// Kind tag of number-claim keys.
const CLAIM_KIND: u64 = 1;
/// Kind tag of head keys.
const HEAD_KIND: u64 = 2;
/// Kind tag of order-node keys.
const NODE_KIND: u64 = 3;

/// `2^32`: the rank of an ask is `2^32 − price`, and ranks cross at `2^32`.
pub fn rank_modulus() -> u64 {
    1 << RANK_BITS
}

/// A side of the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// Bids: buy orders.
    Buy,
    /// Asks: sell orders.
    Sell,
}

impl Side {
    /// The other side.
    pub fn opposite(self) -> Self {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    /// The side's bit in keys and requests: 0 buy, 1 sell.
    pub fn is_sell(self) -> bool {
        self == Side::Sell
    }

    /// The side of bit `sell`.
    pub fn from_sell_bit(sell: bool) -> Self {
        if sell {
            Side::Sell
        } else {
            Side::Buy
        }
    }
}

/// The rank of a price on a side (`price ≤ 2^32`; see the module docs).
pub fn rank(sell: bool, price: u64) -> u64 {
    if sell {
        rank_modulus().wrapping_sub(price)
    } else {
        price
    }
}

/// In-circuit [`rank`] (1 constraint).
pub fn rank_var(sell: &Boolean<Fr>, price: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    let ask = FpVar::constant(Fr::from(rank_modulus())) - price;
    sell.select(&ask, price)
}

/// The price of a rank on a side (the inverse of [`rank`]).
pub fn price_of_rank(sell: bool, rank: u64) -> u64 {
    self::rank(sell, rank)
}

/// In-circuit [`price_of_rank`] (1 constraint).
pub fn price_of_rank_var(
    sell: &Boolean<Fr>,
    rank: &FpVar<Fr>,
) -> Result<FpVar<Fr>, SynthesisError> {
    rank_var(sell, rank)
}

/// Whether a taker of rank `taker` (≤ 2^32) crosses a maker of rank `maker` (< 2^32).
pub fn crosses(taker: u64, maker: u64) -> bool {
    taker + maker >= rank_modulus()
}

/// In-circuit [`crosses`]: bit 32 of the 33-bit sum (34 constraints).
pub fn crosses_var(taker: &FpVar<Fr>, maker: &FpVar<Fr>) -> Result<Boolean<Fr>, SynthesisError> {
    let bits = bounded_bits_le(&(taker + maker), RANK_BITS + 1)?;
    Ok(bits[RANK_BITS].clone())
}

/// An order's id: the account number and the nonce of the request that placed it (unique:
/// numbers are claimed once, and an account's nonces strictly increase).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderId {
    /// The owner's account number.
    pub account: u32,
    /// The nonce of the placing request.
    pub nonce: u32,
}

impl OrderId {
    /// `2^32·account + nonce`, as stored in next pointers and heads.
    pub fn to_u64(self) -> u64 {
        (u64::from(self.account) << NONCE_BITS) | u64::from(self.nonce)
    }

    /// The id packed as [`OrderId::to_u64`], or `None` for 0 (the end of a list).
    pub fn from_u64(packed: u64) -> Option<Self> {
        (packed != 0).then_some(Self {
            account: (packed >> NONCE_BITS) as u32,
            nonce: packed as u32,
        })
    }
}

/// In-circuit order id `2^32·account + nonce` (linear).
pub fn order_id_var(account: &FpVar<Fr>, nonce: &FpVar<Fr>) -> FpVar<Fr> {
    account * power_of_two(NONCE_BITS) + nonce
}

fn kind(tag: u64) -> Fr {
    Fr::from(tag) * power_of_two(KIND_SHIFT)
}

/// The key of the account of `owner`.
pub fn account_key(owner: &eddsa::PublicKey) -> Fr {
    eddsa::account_id(owner)
}

/// The key of the claim on account number `number`.
pub fn claim_key(number: u64) -> Fr {
    kind(CLAIM_KIND) + Fr::from(number)
}

/// In-circuit [`claim_key`] (linear).
pub fn claim_key_var(number: &FpVar<Fr>) -> FpVar<Fr> {
    number + kind(CLAIM_KIND)
}

/// The key of the head of `market`'s side `sell`.
pub fn head_key(market: u64, sell: bool) -> Fr {
    kind(HEAD_KIND) + Fr::from(market) * Fr::from(2u64) + Fr::from(sell)
}

/// In-circuit [`head_key`] (linear).
pub fn head_key_var(market: &FpVar<Fr>, sell: &FpVar<Fr>) -> FpVar<Fr> {
    market * Fr::from(2u64) + sell + kind(HEAD_KIND)
}

/// The key of order `id` on `market`'s side `sell`.
pub fn node_key(market: u64, sell: bool, id: u64) -> Fr {
    kind(NODE_KIND)
        + Fr::from(market) * power_of_two(ORDER_ID_BITS + 1)
        + Fr::from(sell) * power_of_two(ORDER_ID_BITS)
        + Fr::from(id)
}

/// In-circuit [`node_key`] (linear).
pub fn node_key_var(market: &FpVar<Fr>, sell: &FpVar<Fr>, id: &FpVar<Fr>) -> FpVar<Fr> {
    market * power_of_two(ORDER_ID_BITS + 1)
        + sell * power_of_two(ORDER_ID_BITS)
        + id
        + kind(NODE_KIND)
}

fn account_layout() -> Layout {
    Layout::new(&[ACCOUNT_BITS, NONCE_BITS])
}

fn node_layout() -> Layout {
    Layout::new(&[ORDER_ID_BITS, RANK_BITS, RANK_BITS, QUANTITY_BITS])
}

fn head_layout() -> Layout {
    Layout::new(&[ORDER_ID_BITS, RANK_BITS])
}

/// An account record: its number (0: no account) and the last accepted nonce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Account {
    /// The account number (claimed when the account was opened; 0 while unopened).
    pub number: u64,
    /// The nonce of the last accepted request.
    pub nonce: u64,
}

impl Account {
    /// The packed value.
    pub fn pack(&self) -> Fr {
        account_layout().pack(&[self.number, self.nonce])
    }

    /// The record stored as `value`, if it is laid out as one.
    pub fn unpack(value: Fr) -> Option<Self> {
        let f = account_layout().unpack(value)?;
        Some(Self {
            number: f[0],
            nonce: f[1],
        })
    }
}

/// In-circuit [`Account`].
#[derive(Clone, Debug)]
pub struct AccountVar {
    /// The account number.
    pub number: FpVar<Fr>,
    /// The last accepted nonce.
    pub nonce: FpVar<Fr>,
}

impl AccountVar {
    /// The packed value (linear).
    pub fn pack(&self) -> FpVar<Fr> {
        account_layout().pack_var(&[self.number.clone(), self.nonce.clone()])
    }

    /// Unpacks `value` (65 constraints).
    pub fn unpack(value: &FpVar<Fr>) -> Result<Self, SynthesisError> {
        let mut f = account_layout().unpack_var(value)?.into_iter();
        Ok(Self {
            number: f.next().ok_or(SynthesisError::Unsatisfiable)?,
            nonce: f.next().ok_or(SynthesisError::Unsatisfiable)?,
        })
    }
}

/// The head of one side of one market's book: the best order and its rank (0, 0 when the
/// side is empty).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Head {
    /// The id of the first order (0: none).
    pub first: u64,
    /// Its rank (0: none).
    pub first_rank: u64,
}

impl Head {
    /// The packed value.
    pub fn pack(&self) -> Fr {
        head_layout().pack(&[self.first, self.first_rank])
    }

    /// The record stored as `value`, if it is laid out as one.
    pub fn unpack(value: Fr) -> Option<Self> {
        let f = head_layout().unpack(value)?;
        Some(Self {
            first: f[0],
            first_rank: f[1],
        })
    }
}

/// In-circuit [`Head`].
#[derive(Clone, Debug)]
pub struct HeadVar {
    /// The first order's id.
    pub first: FpVar<Fr>,
    /// Its rank.
    pub first_rank: FpVar<Fr>,
}

impl HeadVar {
    /// The packed value (linear).
    pub fn pack(&self) -> FpVar<Fr> {
        head_layout().pack_var(&[self.first.clone(), self.first_rank.clone()])
    }

    /// Unpacks `value` (97 constraints).
    pub fn unpack(value: &FpVar<Fr>) -> Result<Self, SynthesisError> {
        let mut f = head_layout().unpack_var(value)?.into_iter();
        Ok(Self {
            first: f.next().ok_or(SynthesisError::Unsatisfiable)?,
            first_rank: f.next().ok_or(SynthesisError::Unsatisfiable)?,
        })
    }
}

/// A resting (quantity > 0) or finished (quantity 0) order: its successor in the list, the
/// successor's rank, its own rank and its remaining quantity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Node {
    /// The next order's id (0: end of the list).
    pub next: u64,
    /// The next order's rank (0: end of the list).
    pub next_rank: u64,
    /// This order's rank.
    pub rank: u64,
    /// The quantity still resting (0: filled or cancelled, out of the book).
    pub quantity: u64,
}

impl Node {
    /// The packed value.
    pub fn pack(&self) -> Fr {
        node_layout().pack(&[self.next, self.next_rank, self.rank, self.quantity])
    }

    /// The record stored as `value`, if it is laid out as one (a head value reads as a node
    /// of rank and quantity 0).
    pub fn unpack(value: Fr) -> Option<Self> {
        let f = node_layout().unpack(value)?;
        Some(Self {
            next: f[0],
            next_rank: f[1],
            rank: f[2],
            quantity: f[3],
        })
    }
}

/// In-circuit [`Node`].
#[derive(Clone, Debug)]
pub struct NodeVar {
    /// The packed value it was read from.
    pub value: FpVar<Fr>,
    /// The next order's id.
    pub next: FpVar<Fr>,
    /// The next order's rank.
    pub next_rank: FpVar<Fr>,
    /// This order's rank.
    pub rank: FpVar<Fr>,
    /// The remaining quantity.
    pub quantity: FpVar<Fr>,
}

impl NodeVar {
    /// Unpacks `value` (193 constraints).
    pub fn unpack(value: &FpVar<Fr>) -> Result<Self, SynthesisError> {
        let mut f = node_layout().unpack_var(value)?.into_iter();
        let mut next = || f.next().ok_or(SynthesisError::Unsatisfiable);
        Ok(Self {
            value: value.clone(),
            next: next()?,
            next_rank: next()?,
            rank: next()?,
            quantity: next()?,
        })
    }

    /// The packed value of a node with these fields (linear).
    pub fn pack(
        next: &FpVar<Fr>,
        next_rank: &FpVar<Fr>,
        rank: &FpVar<Fr>,
        quantity: &FpVar<Fr>,
    ) -> FpVar<Fr> {
        node_layout().pack_var(&[
            next.clone(),
            next_rank.clone(),
            rank.clone(),
            quantity.clone(),
        ])
    }

    /// This node's value with the quantity lowered by `amount` (linear).
    pub fn less_quantity(&self, amount: &FpVar<Fr>) -> FpVar<Fr> {
        &self.value - amount * power_of_two(ORDER_ID_BITS + 2 * RANK_BITS)
    }

    /// This node's value with its successor replaced by `next` of rank `next_rank`
    /// (linear).
    pub fn relinked(&self, next: &FpVar<Fr>, next_rank: &FpVar<Fr>) -> FpVar<Fr> {
        &self.value
            + (next - &self.next)
            + (next_rank - &self.next_rank) * power_of_two(ORDER_ID_BITS)
    }
}
