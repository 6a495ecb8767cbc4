//! The service's half of a request: the [`Hints`] that tell the circuit where an instruction
//! meets the book, found by walking the book as the store holds it.
//!
//! A request's key slots must be known before the store locks them, and the orders a place
//! fills against are *state* (the head of the opposite side, then its successors), so the
//! service names them in the request. [`plan`] does so from a view of the state: it follows
//! the opposite side from its head exactly as the circuit's matching does, and for a
//! remainder that rests walks its own side to the last order of rank ≥ the new one (price
//! priority, then time priority among equal prices); for a cancel it finds the record whose
//! successor is the order.
//!
//! The hints are right only if the book does not change between [`plan`] and the store
//! transaction: a service plans a market's requests one after another, or under a
//! per-market lock. Stale hints are not a safety problem — the circuit rejects them and the
//! state does not change — but the request is then answered "rejected" and must be resent.
//! The walks are linear in the book's length; a production service would keep an index of
//! price levels next to the store (it does not need to be proved).

use ark_bls12_381::Fr;

use super::{
    records::{crosses, head_key, node_key, rank, Head, Node, OrderId},
    request::{DarkPoolRequest, HintError, Hints, Instruction, Link, SignedInstruction},
};

/// Most records one walk visits before it concludes the book is corrupt (a cycle cannot
/// arise from this app's writes; the bound turns a corrupted state into an error instead of
/// a hang).
pub const MAX_WALK: usize = 1 << 24;

/// Why no hints could be computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A record of the book is not laid out as one, or a list does not end.
    #[error("the book in the state is corrupt at key {key}")]
    CorruptBook {
        /// The key where the walk failed.
        key: Fr,
    },
    /// The hints do not fit the app (a bug: the walk stops at F fills).
    #[error(transparent)]
    Hints(#[from] HintError),
}

/// The request for `instruction` with the hints that match the book in `state` (a key's
/// current value; 0 for a key never written).
pub fn plan<const F: usize>(
    instruction: SignedInstruction,
    state: &dyn Fn(&Fr) -> Fr,
) -> Result<DarkPoolRequest<F>, PlanError> {
    let market = u64::from(instruction.market);
    let hints = match instruction.instruction {
        Instruction::Open | Instruction::Status { .. } => Hints::none(),
        Instruction::Place(order) => {
            if order.price == 0 || order.quantity == 0 {
                // Rejected whatever the hints say: name nothing.
                Hints::none()
            } else {
                let sell = order.side.is_sell();
                let taker = rank(sell, u64::from(order.price));
                let (fills, remaining, best_rank) =
                    walk_fills::<F>(state, market, !sell, taker, order.quantity)?;
                let rests = remaining > 0 && !crosses(taker, best_rank);
                let link = if rests {
                    Some(insertion_point(state, market, sell, taker)?)
                } else {
                    None
                };
                Hints::new(fills, link)?
            }
        }
        Instruction::Cancel { side, order } => {
            let id = OrderId {
                account: instruction.account,
                nonce: order,
            };
            Hints::new(Vec::new(), predecessor(state, market, side.is_sell(), id)?)?
        }
    };
    Ok(DarkPoolRequest::Signed { instruction, hints })
}

fn head(state: &dyn Fn(&Fr) -> Fr, market: u64, sell: bool) -> Result<Head, PlanError> {
    let key = head_key(market, sell);
    Head::unpack(state(&key)).ok_or(PlanError::CorruptBook { key })
}

fn node(state: &dyn Fn(&Fr) -> Fr, market: u64, sell: bool, id: u64) -> Result<Node, PlanError> {
    let key = node_key(market, sell, id);
    Node::unpack(state(&key)).ok_or(PlanError::CorruptBook { key })
}

/// The orders of side `sell` a taker of rank `taker` and quantity `quantity` fills against
/// (at most F), the quantity left, and the rank of the side's best order afterwards.
fn walk_fills<const F: usize>(
    state: &dyn Fn(&Fr) -> Fr,
    market: u64,
    sell: bool,
    taker: u64,
    quantity: u64,
) -> Result<(Vec<OrderId>, u64, u64), PlanError> {
    let best = head(state, market, sell)?;
    let (mut current, mut current_rank) = (best.first, best.first_rank);
    let mut remaining = quantity;
    let mut fills = Vec::new();
    while fills.len() < F && remaining > 0 && crosses(taker, current_rank) {
        let id = OrderId::from_u64(current).ok_or(PlanError::CorruptBook {
            key: head_key(market, sell),
        })?;
        let maker = node(state, market, sell, current)?;
        fills.push(id);
        if maker.quantity <= remaining {
            remaining -= maker.quantity;
            current = maker.next;
            current_rank = maker.next_rank;
        } else {
            remaining = 0;
        }
    }
    Ok((fills, remaining, current_rank))
}

/// Where an order of rank `taker` goes on side `sell`: after the last order of rank ≥ it.
fn insertion_point(
    state: &dyn Fn(&Fr) -> Fr,
    market: u64,
    sell: bool,
    taker: u64,
) -> Result<Link, PlanError> {
    let first = head(state, market, sell)?;
    let mut link = Link::Head;
    let (mut next, mut next_rank) = (first.first, first.first_rank);
    for _ in 0..MAX_WALK {
        // Ranks of real orders are ≥ 1 and the end's is 0, so a taker of rank ≥ 1 stops at
        // the end at the latest.
        if next == 0 || next_rank < taker {
            return Ok(link);
        }
        let id = OrderId::from_u64(next).ok_or(PlanError::CorruptBook {
            key: head_key(market, sell),
        })?;
        let resting = node(state, market, sell, next)?;
        link = Link::After(id);
        next = resting.next;
        next_rank = resting.next_rank;
    }
    Err(PlanError::CorruptBook {
        key: head_key(market, sell),
    })
}

/// The record whose successor is order `id` on side `sell`, or `None` if `id` does not rest.
fn predecessor(
    state: &dyn Fn(&Fr) -> Fr,
    market: u64,
    sell: bool,
    id: OrderId,
) -> Result<Option<Link>, PlanError> {
    let target = id.to_u64();
    let first = head(state, market, sell)?;
    let mut link = Link::Head;
    let mut next = first.first;
    for _ in 0..MAX_WALK {
        if next == 0 {
            return Ok(None);
        }
        if next == target {
            return Ok(Some(link));
        }
        let here = OrderId::from_u64(next).ok_or(PlanError::CorruptBook {
            key: head_key(market, sell),
        })?;
        next = node(state, market, sell, next)?.next;
        link = Link::After(here);
    }
    Err(PlanError::CorruptBook {
        key: head_key(market, sell),
    })
}
