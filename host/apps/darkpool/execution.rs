//! One request's logic, natively ([`keys`], [`execute`]) and in the circuit ([`keys_var`],
//! [`execute_var`]), written to read the same: every kind's candidate writes and checks are
//! computed from the same slots in the same order, and the kind bits select among them. (The
//! native side returns early only for the no-op, whose writes the circuit computes as zeros.)
//!
//! The design, the checks and why each is needed are in the module docs of `darkpool`.

use ark_bls12_381::Fr;
use ark_ff::{One, Zero};
use ark_r1cs_std::{
    boolean::Boolean,
    eq::EqGadget,
    fields::{fp::FpVar, FieldVar},
};
use ark_relations::gr1cs::SynthesisError;

use super::{
    records::{
        account_key, claim_key, claim_key_var, crosses, crosses_var, head_key, head_key_var,
        node_key, node_key_var, price_of_rank, price_of_rank_var, rank, rank_var, Account,
        AccountVar, Head, HeadVar, Node, NodeVar, NONCE_BITS, QUANTITY_BITS, RANK_BITS,
    },
    report::{fill_layout, OUTCOME_FIELDS},
    request::{DarkPoolRequestVar, RequestFields},
    DarkPoolReject,
};
use crate::host::{
    eddsa,
    eddsa_gadget::{self, account_id_var},
    integer_gadget::{at_least, at_least_var},
    storage_gadget::{KeySlot, KeySlotVar, Storage, StorageVar},
};

/// Slot of the signer's account.
pub const ACCOUNT_SLOT: usize = 0;
/// Slot of the opposite side's head (place) or of the number claim (open).
pub const BOOK_SLOT: usize = 1;
/// Slot of the first order a place fills against; the F fill slots follow.
pub const FIRST_FILL_SLOT: usize = 2;

/// Slot of the signer's own order (the new one of a place, the named one of a cancel or
/// status), for an app of `fills` fills.
pub const fn own_slot(fills: usize) -> usize {
    FIRST_FILL_SLOT + fills
}

/// Slot of the link (the predecessor of an insertion or of a cancelled order).
pub const fn link_slot(fills: usize) -> usize {
    FIRST_FILL_SLOT + fills + 1
}

/// The key slots of a request (see the slot constants).
pub(super) fn keys(r: &RequestFields) -> Vec<KeySlot> {
    let fills = r.touched.len();
    let mut slots = Vec::with_capacity(link_slot(fills) + 1);
    slots.push(KeySlot {
        key: account_key(&r.owner),
        active: r.is_signed_kind(),
    });
    slots.push(KeySlot {
        key: if r.open {
            claim_key(r.account)
        } else {
            head_key(r.market, !r.sell)
        },
        active: r.open || r.place,
    });
    for i in 0..fills {
        slots.push(KeySlot {
            key: node_key(r.market, !r.sell, r.fills[i]),
            active: r.fill_active(i),
        });
    }
    slots.push(KeySlot {
        key: node_key(r.market, r.sell, r.own_id()),
        active: r.own_active(),
    });
    slots.push(KeySlot {
        key: if r.head {
            head_key(r.market, r.sell)
        } else {
            node_key(r.market, r.sell, r.pred)
        },
        active: r.link_active(),
    });
    slots
}

/// In-circuit [`keys`]: one Poseidon permutation (the account id) and two selects.
pub(super) fn keys_var(r: &DarkPoolRequestVar) -> Result<Vec<KeySlotVar>, SynthesisError> {
    let sell = FpVar::from(r.sell.clone());
    let buy = FpVar::from(!r.sell.clone());
    let mut slots = vec![
        KeySlotVar {
            key: account_id_var(&r.owner)?,
            active: r.is_signed_kind(),
        },
        KeySlotVar {
            key: r
                .open
                .select(&claim_key_var(&r.account), &head_key_var(&r.market, &buy))?,
            active: &r.open | &r.place,
        },
    ];
    for (id, active) in r.fills.iter().zip(&r.fill_active) {
        slots.push(KeySlotVar {
            key: node_key_var(&r.market, &buy, id),
            active: active.clone(),
        });
    }
    slots.push(KeySlotVar {
        key: node_key_var(&r.market, &sell, &r.own_id),
        active: r.own_active.clone(),
    });
    slots.push(KeySlotVar {
        key: r.head.select(
            &head_key_var(&r.market, &sell),
            &node_key_var(&r.market, &sell, &r.pred),
        )?,
        active: r.link_active.clone(),
    });
    Ok(slots)
}

/// What a place does to the book, natively: the twin of [`PlacementVar`].
struct Placement {
    /// The hints match the book (see the module docs of `darkpool`).
    consistent: bool,
    /// The taker's rank.
    rank: u64,
    /// The opposite head after the fills.
    head: Head,
    /// New values of the fill slots.
    filled: Vec<Fr>,
    /// The fill reports (0 for untouched slots).
    reports: Vec<Fr>,
    /// The quantity left after the fills.
    remaining: u64,
    /// Whether the remainder rests (it does not cross the opposite side's new best).
    rests: bool,
}

/// Runs a place's fills against the slots read, and checks its hints against them.
fn place(r: &RequestFields, book: &Head, nodes: &[Node], values: &[Fr], link: &Node) -> Placement {
    let fills = r.touched.len();
    let taker = rank(r.sell, r.price);
    let (mut current, mut current_rank) = (book.first, book.first_rank);
    let mut remaining = r.quantity;
    let mut consistent = true;
    let mut filled = Vec::with_capacity(fills);
    let mut reports = Vec::with_capacity(fills);
    for i in 0..fills {
        let touched = r.fill_active(i);
        let node = &nodes[i];
        let crossing = crosses(taker, current_rank);
        let left = remaining != 0;
        let chained = r.fills[i] == current;
        consistent &= !touched || (crossing && left && chained);
        let exhausted = at_least(remaining, node.quantity);
        let fill = if exhausted { node.quantity } else { remaining };
        let consumed = touched && exhausted;
        filled.push(values[i] - Fr::from(fill) * quantity_weight());
        let price = price_of_rank(!r.sell, current_rank);
        reports.push(if touched {
            fill_layout().pack(&[price, fill])
        } else {
            Fr::zero()
        });
        remaining -= fill;
        if consumed {
            current = node.next;
            current_rank = node.next_rank;
        }
    }
    let crossing = crosses(taker, current_rank);
    let left = remaining != 0;
    let last_touched = fills > 0 && r.fill_active(fills - 1);
    let stopped = !left || !crossing || last_touched;
    let rests = left && !crossing;
    consistent &= stopped && r.link == rests;
    let linked = r.head || link.quantity != 0;
    let ranked = r.head || at_least(link.rank, taker);
    let behind = at_least(taker, link.next_rank + 1);
    consistent &= !r.link || (linked && ranked && behind);
    Placement {
        consistent,
        rank: taker,
        head: Head {
            first: current,
            first_rank: current_rank,
        },
        filled,
        reports,
        remaining,
        rests,
    }
}

/// The weight of a node's quantity field.
fn quantity_weight() -> Fr {
    super::layout::power_of_two(super::records::ORDER_ID_BITS + 2 * RANK_BITS)
}

/// Whether a signed request's signature verifies (the app's `authorized`; unsigned kinds
/// need none). Independent of storage, so it runs before the request's keys are locked.
pub(super) fn signature_verifies(r: &RequestFields) -> bool {
    r.is_signed_kind() && eddsa::is_valid(&r.owner, &r.message(), &r.signature)
}

/// The request's logic on the slots' old values (inactive slots read 0), given
/// [`signature_verifies`] of it as `signed`: the writes and the payload of a valid request,
/// or why it is rejected. Mirrors [`execute_var`] check for check; the reason returned is the
/// first failing check in the order below.
pub(super) fn execute(
    r: &RequestFields,
    signed: bool,
    storage: &mut Storage,
) -> Result<Vec<Fr>, DarkPoolReject> {
    let fills = r.touched.len();
    if !r.is_signed_kind() {
        return Ok(vec![Fr::zero(); fills + OUTCOME_FIELDS]);
    }
    let out_of_range = |slot| DarkPoolReject::ValueOutOfRange { slot };
    let account = Account::unpack(storage.read(ACCOUNT_SLOT)).ok_or(out_of_range(ACCOUNT_SLOT))?;
    let book = Head::unpack(storage.read(BOOK_SLOT)).ok_or(out_of_range(BOOK_SLOT))?;
    let values: Vec<Fr> = (0..fills)
        .map(|i| storage.read(FIRST_FILL_SLOT + i))
        .collect();
    let nodes = values
        .iter()
        .enumerate()
        .map(|(i, &value)| Node::unpack(value).ok_or(out_of_range(FIRST_FILL_SLOT + i)))
        .collect::<Result<Vec<_>, _>>()?;
    let own_value = storage.read(own_slot(fills));
    let own = Node::unpack(own_value).ok_or(out_of_range(own_slot(fills)))?;
    let link_value = storage.read(link_slot(fills));
    let link = Node::unpack(link_value).ok_or(out_of_range(link_slot(fills)))?;

    let exists = account.number != 0;
    let own_account = account.number == r.account;
    let fresh = at_least(r.nonce, account.nonce + 1);
    let claim_free = book.first == 0;
    let placement = place(r, &book, &nodes, &values, &link);
    let priced = r.price != 0 && r.quantity != 0;
    let resting = own.quantity != 0;
    let linked = r.head || link.quantity != 0;
    let names_own = link.next == r.own_id();

    if !signed {
        return Err(DarkPoolReject::BadSignature);
    }
    if r.open {
        if exists {
            return Err(DarkPoolReject::AccountExists);
        }
        if !claim_free {
            return Err(DarkPoolReject::AccountNumberTaken { number: r.account });
        }
        if r.account == 0 {
            return Err(DarkPoolReject::ZeroAccountNumber);
        }
    } else {
        if !exists {
            return Err(DarkPoolReject::NoAccount);
        }
        if !own_account {
            return Err(DarkPoolReject::WrongAccount {
                claimed: r.account,
                actual: account.number,
            });
        }
        if !fresh {
            return Err(DarkPoolReject::StaleNonce {
                nonce: r.nonce,
                last: account.nonce,
            });
        }
    }
    if r.place {
        if !priced {
            return Err(DarkPoolReject::EmptyOrder);
        }
        if !placement.consistent {
            return Err(DarkPoolReject::HintsDoNotMatchBook);
        }
    }
    if r.cancel {
        if !resting {
            return Err(DarkPoolReject::NotResting);
        }
        if !(r.link && linked && names_own) {
            return Err(DarkPoolReject::HintsDoNotMatchBook);
        }
    }

    // Valid: the writes, selected by kind exactly as in the circuit.
    storage.write(
        ACCOUNT_SLOT,
        Account {
            number: r.account,
            nonce: r.nonce,
        }
        .pack(),
    );
    storage.write(
        BOOK_SLOT,
        if r.open {
            Fr::one()
        } else {
            placement.head.pack()
        },
    );
    for (i, &value) in placement.filled.iter().enumerate() {
        storage.write(FIRST_FILL_SLOT + i, value);
    }
    let new_order = Node {
        next: link.next,
        next_rank: link.next_rank,
        rank: placement.rank,
        quantity: placement.remaining,
    };
    let cancelled = if r.cancel { own.quantity } else { 0 };
    storage.write(
        own_slot(fills),
        if r.place {
            new_order.pack()
        } else {
            own_value - Fr::from(cancelled) * quantity_weight()
        },
    );
    let (next, next_rank) = if r.place {
        (r.own_id(), placement.rank)
    } else {
        (own.next, own.next_rank)
    };
    storage.write(
        link_slot(fills),
        link_value
            + (Fr::from(next) - Fr::from(link.next))
            + (Fr::from(next_rank) - Fr::from(link.next_rank))
                * super::layout::power_of_two(super::records::ORDER_ID_BITS),
    );

    let mut payload = placement.reports;
    payload.push(Fr::from(if r.place {
        if placement.rests {
            placement.remaining
        } else {
            0
        }
    } else if r.cancel || r.status {
        own.quantity
    } else {
        0
    }));
    Ok(payload)
}

/// What a place does to the book, in the circuit (see [`Placement`]).
struct PlacementVar {
    consistent: Boolean<Fr>,
    rank: FpVar<Fr>,
    head: HeadVar,
    filled: Vec<FpVar<Fr>>,
    reports: Vec<FpVar<Fr>>,
    remaining: FpVar<Fr>,
    rests: Boolean<Fr>,
}

/// In-circuit [`place`]: per fill slot a crossing test (34), a quantity comparison (66), two
/// zero / equality tests (4) and 8 selects and Boolean gates; after the loop one crossing
/// test, the link's two rank comparisons (35 each) and its quantity test.
fn place_var(
    r: &DarkPoolRequestVar,
    book: &HeadVar,
    nodes: &[NodeVar],
    link: &NodeVar,
) -> Result<PlacementVar, SynthesisError> {
    let taker = rank_var(&r.sell, &r.price)?;
    let maker_sell = !r.sell.clone();
    let (mut current, mut current_rank) = (book.first.clone(), book.first_rank.clone());
    let mut remaining = r.quantity.clone();
    let mut consistent = Boolean::TRUE;
    let mut filled = Vec::with_capacity(nodes.len());
    let mut reports = Vec::with_capacity(nodes.len());
    for ((node, id), touched) in nodes.iter().zip(&r.fills).zip(&r.fill_active) {
        let crossing = crosses_var(&taker, &current_rank)?;
        let left = !remaining.is_zero()?;
        let chained = id.is_eq(&current)?;
        consistent = &consistent & &(!touched.clone() | &(&(&crossing & &left) & &chained));
        let exhausted = at_least_var(&remaining, &node.quantity, QUANTITY_BITS)?;
        let fill = exhausted.select(&node.quantity, &remaining)?;
        let consumed = touched & &exhausted;
        filled.push(node.less_quantity(&fill));
        let price = price_of_rank_var(&maker_sell, &current_rank)?;
        let report = fill_layout().pack_var(&[price, fill.clone()]);
        reports.push(touched.select(&report, &FpVar::zero())?);
        remaining = &remaining - &fill;
        current = consumed.select(&node.next, &current)?;
        current_rank = consumed.select(&node.next_rank, &current_rank)?;
    }
    let crossing = crosses_var(&taker, &current_rank)?;
    let left = !remaining.is_zero()?;
    let last_touched = r.fill_active.last().cloned().unwrap_or(Boolean::FALSE);
    let stopped = &(&!left.clone() | &!crossing.clone()) | &last_touched;
    let rests = &left & &!crossing;
    consistent = &consistent & &(&stopped & &r.link.is_eq(&rests)?);
    let linked = &r.head | &!link.quantity.is_zero()?;
    let ranked = &r.head | &at_least_var(&link.rank, &taker, RANK_BITS + 1)?;
    let behind = at_least_var(&taker, &(&link.next_rank + Fr::one()), RANK_BITS + 1)?;
    consistent = &consistent & &(!r.link.clone() | &(&(&linked & &ranked) & &behind));
    Ok(PlacementVar {
        consistent,
        rank: taker,
        head: HeadVar {
            first: current,
            first_rank: current_rank,
        },
        filled,
        reports,
        remaining,
        rests,
    })
}

/// In-circuit [`execute`]: the new values written into `storage`, the payload, and the
/// validity bit. Satisfiable for every request and every slot values laid out as the slot's
/// record (see `records`); cheating hints, signatures or nonces give validity 0.
pub(super) fn execute_var(
    r: &DarkPoolRequestVar,
    storage: &mut StorageVar,
) -> Result<(Vec<FpVar<Fr>>, Boolean<Fr>), SynthesisError> {
    let fills = r.fills.len();
    let account = AccountVar::unpack(&storage.read(ACCOUNT_SLOT))?;
    let book = HeadVar::unpack(&storage.read(BOOK_SLOT))?;
    let nodes = (0..fills)
        .map(|i| NodeVar::unpack(&storage.read(FIRST_FILL_SLOT + i)))
        .collect::<Result<Vec<_>, _>>()?;
    let own = NodeVar::unpack(&storage.read(own_slot(fills)))?;
    let link = NodeVar::unpack(&storage.read(link_slot(fills)))?;

    let signed = eddsa_gadget::is_valid(&r.owner, &r.message(), &r.signature)?;
    let exists = !account.number.is_zero()?;
    let own_account = account.number.is_eq(&r.account)?;
    let fresh = at_least_var(&r.nonce, &(&account.nonce + Fr::one()), NONCE_BITS + 1)?;
    let claim_free = book.first.is_zero()?;
    let placement = place_var(r, &book, &nodes, &link)?;
    let priced = &!r.price.is_zero()? & &!r.quantity.is_zero()?;
    let resting = !own.quantity.is_zero()?;
    let linked = &r.head | &!link.quantity.is_zero()?;
    let names_own = link.next.is_eq(&r.own_id)?;

    let authorised = &(&(&signed & &exists) & &own_account) & &fresh;
    let number_given = !r.account.is_zero()?;
    let opens = &(&(&signed & &!exists.clone()) & &claim_free) & &number_given;
    let places = &(&authorised & &priced) & &placement.consistent;
    let cancels = &(&(&(&authorised & &resting) & &r.link) & &linked) & &names_own;
    let valid = Boolean::kary_or(&[
        !r.is_signed_kind(),
        &r.open & &opens,
        &r.place & &places,
        &r.cancel & &cancels,
        &r.status & &authorised,
    ])?;

    storage.write(
        ACCOUNT_SLOT,
        AccountVar {
            number: r.account.clone(),
            nonce: r.nonce.clone(),
        }
        .pack(),
    );
    storage.write(
        BOOK_SLOT,
        r.open.select(&FpVar::one(), &placement.head.pack())?,
    );
    for (i, value) in placement.filled.iter().enumerate() {
        storage.write(FIRST_FILL_SLOT + i, value.clone());
    }
    let new_order = NodeVar::pack(
        &link.next,
        &link.next_rank,
        &placement.rank,
        &placement.remaining,
    );
    let cancelled = FpVar::from(r.cancel.clone()) * &own.quantity;
    storage.write(
        own_slot(fills),
        r.place.select(&new_order, &own.less_quantity(&cancelled))?,
    );
    let next = r.place.select(&r.own_id, &own.next)?;
    let next_rank = r.place.select(&placement.rank, &own.next_rank)?;
    storage.write(link_slot(fills), link.relinked(&next, &next_rank));

    let mut payload = placement.reports;
    let rested = FpVar::from(placement.rests) * &placement.remaining;
    let reported = FpVar::from(&r.cancel | &r.status) * &own.quantity;
    payload.push(r.place.select(&rested, &reported)?);
    Ok((payload, valid))
}
