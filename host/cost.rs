//! `spice cost`: the R1CS price of Spice's building blocks, measured by synthesising each one
//! in a fresh arkworks `ConstraintSystem` and counting `num_constraints`, next to a Poseidon
//! Merkle tree doing the same job.
//!
//! Nothing here is a hard-coded number: every row is a circuit fragment built from the same
//! gadgets the batch and audit circuits use (`set_digest_gadget`, `poseidon`), given honest
//! witness values, checked satisfied, and counted. What a row includes is said in its label
//! and in the doc comment of the function that measures it; inputs a fragment shares with
//! its neighbours (a request's `t_req`, the previous key of an audit chunk, a non-empty
//! running digest) are built before counting starts, so each row is the marginal cost of one
//! more element, operation or key.
//!
//! The audit's per-key order check has no gadget elsewhere yet, so [`OrderedKeyVar`] (a
//! canonical decomposition plus a 132-constraint strict comparison) lives here; the audit
//! circuit should use it, or this file should switch to the audit's once it has one.

use std::cmp::Ordering;
use std::fmt::Write as _;

use ark_bls12_381::Fr;
use ark_ff::{BigInteger, PrimeField};
use ark_r1cs_std::{
    alloc::AllocVar,
    boolean::Boolean,
    convert::ToBitsGadget,
    eq::EqGadget,
    fields::{fp::FpVar, FieldVar},
    select::CondSelectGadget,
    GR1CSVar,
};
use ark_relations::gr1cs::{ConstraintSystem, ConstraintSystemRef, SynthesisError};
use tracing::subscriber::NoSubscriber;

use super::{
    poseidon,
    set_digest::{hash_tuple_with_hint, SetDigestError, Tuple},
    set_digest_gadget::{HashHintVar, SetDigestVar, TimestampVar, TupleVar},
    store::key_order,
};

/// Label of the domain tag of the Merkle tree's 2-to-1 compression.
pub const MERKLE_NODE_DOMAIN_LABEL: &str = "spice/cost/merkle-node/v1";

/// Merkle tree depths the table compares against.
pub const MERKLE_DEPTHS: [usize; 2] = [20, 32];

/// Errors while measuring.
#[derive(Debug, thiserror::Error)]
pub enum CostError {
    /// A gadget failed to synthesise.
    #[error("synthesising `{item}` failed: {source}")]
    Synthesis {
        /// The row being measured.
        item: String,
        /// The gadget's error.
        #[source]
        source: SynthesisError,
    },
    /// The fragment, given honest witnesses, does not satisfy its own constraints: its count
    /// would describe a broken circuit, so it is not reported.
    #[error("the circuit measured for `{item}` is not satisfied by its honest witness")]
    Unsatisfied {
        /// The row being measured.
        item: String,
    },
    /// An honest witness could not be computed (a tuple with no hash counter).
    #[error("computing the witness for `{item}`: {source}")]
    Witness {
        /// The row being measured.
        item: String,
        /// The set digest's error.
        #[source]
        source: SetDigestError,
    },
}

/// One row of the cost table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CostItem {
    /// One set element: hash hint, H, add into a running digest.
    SetElement,
    /// A request's timestamp `t_req`, once per request whatever its number of keys.
    RequestTimestamp,
    /// A Spice read-modify-write of one key in a batch circuit.
    SpiceRmw,
    /// One key of the final state in an audit chunk.
    AuditedKey,
    /// The extra work for a key first written this epoch: `(k, 0, 0)` into `MH(init)`.
    NewKeyInit,
    /// A read-modify-write in a binary Poseidon Merkle tree of this depth.
    MerkleRmw {
        /// The tree's depth (leaves = 2^depth).
        depth: usize,
    },
}

impl CostItem {
    /// A stable identifier (the `item` field of `--json`).
    pub fn id(self) -> String {
        match self {
            CostItem::SetElement => "set_element".into(),
            CostItem::RequestTimestamp => "request_timestamp".into(),
            CostItem::SpiceRmw => "spice_rmw".into(),
            CostItem::AuditedKey => "audited_key".into(),
            CostItem::NewKeyInit => "new_key_init".into(),
            CostItem::MerkleRmw { depth } => format!("merkle_rmw_depth_{depth}"),
        }
    }

    /// What the row counts, for the table.
    pub fn label(self) -> String {
        match self {
            CostItem::SetElement => "set element (hint + H + add into a digest)".into(),
            CostItem::RequestTimestamp => "request t_req (64-bit range, once per request)".into(),
            CostItem::SpiceRmw => {
                "Spice RMW per key (t_old range, t_old < t_req, 2 set elements)".into()
            }
            CostItem::AuditedKey => {
                "audited key (t range, H into MH(final), k_prev < k strict)".into()
            }
            CostItem::NewKeyInit => "audited key new this epoch: + H(k,0,0) into MH(init)".into(),
            CostItem::MerkleRmw { depth } => {
                format!("Poseidon Merkle RMW, depth {depth} (verify path, recompute root)")
            }
        }
    }

    /// Synthesises the row's circuit fragment and returns its constraint count.
    pub fn measure(self) -> Result<usize, CostError> {
        match self {
            CostItem::SetElement => set_element(),
            CostItem::RequestTimestamp => request_timestamp(),
            CostItem::SpiceRmw => spice_rmw(),
            CostItem::AuditedKey => audited_key(),
            CostItem::NewKeyInit => new_key_init(),
            CostItem::MerkleRmw { depth } => merkle_rmw(depth),
        }
    }
}

/// The rows of `spice cost`, in print order.
pub fn items() -> Vec<CostItem> {
    let mut items = vec![
        CostItem::SetElement,
        CostItem::RequestTimestamp,
        CostItem::SpiceRmw,
        CostItem::AuditedKey,
        CostItem::NewKeyInit,
    ];
    items.extend(MERKLE_DEPTHS.map(|depth| CostItem::MerkleRmw { depth }));
    items
}

/// A measured row.
#[derive(Clone, Debug, PartialEq)]
pub struct CostRow {
    /// What was measured.
    pub item: CostItem,
    /// Its R1CS constraints.
    pub constraints: usize,
    /// `constraints` divided by the Spice read-modify-write's.
    pub ratio_vs_spice_rmw: f64,
}

/// The measured table.
#[derive(Clone, Debug, PartialEq)]
pub struct CostTable {
    /// One row per [`items`] entry, in that order.
    pub rows: Vec<CostRow>,
}

impl CostTable {
    /// Measures every row of [`items`] (a few thousand constraints each: well under a second
    /// in a release build).
    pub fn measure() -> Result<Self, CostError> {
        let counts = items()
            .into_iter()
            .map(|item| item.measure().map(|count| (item, count)))
            .collect::<Result<Vec<_>, _>>()?;
        // `items` always lists the Spice RMW; measuring it again is the fallback that keeps
        // this total if the list ever changes.
        let rmw = match counts.iter().find(|(item, _)| *item == CostItem::SpiceRmw) {
            Some(&(_, count)) => count,
            None => spice_rmw()?,
        };
        let rows = counts
            .into_iter()
            .map(|(item, constraints)| CostRow {
                item,
                constraints,
                ratio_vs_spice_rmw: constraints as f64 / rmw as f64,
            })
            .collect();
        Ok(Self { rows })
    }

    /// The measured count of `item`, if the table has that row.
    pub fn constraints(&self, item: CostItem) -> Option<usize> {
        self.rows
            .iter()
            .find(|row| row.item == item)
            .map(|row| row.constraints)
    }

    /// The table as aligned text: item, constraints, ratio vs Spice RMW.
    pub fn to_text(&self) -> String {
        let labels: Vec<String> = self.rows.iter().map(|row| row.item.label()).collect();
        let width = labels
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0)
            .max(4);
        let mut out = format!(
            "{:<width$}  {:>11}  {:>12}\n",
            "item", "constraints", "vs Spice RMW"
        );
        for (row, label) in self.rows.iter().zip(&labels) {
            let _ = writeln!(
                out,
                "{label:<width$}  {:>11}  {:>11.2}x",
                row.constraints, row.ratio_vs_spice_rmw
            );
        }
        out
    }

    /// The table as JSON: `{"rows": [{"item", "label", "constraints", "ratio_vs_spice_rmw"}]}`.
    pub fn to_json(&self) -> String {
        let rows: Vec<String> = self
            .rows
            .iter()
            .map(|row| {
                format!(
                    "    {{\"item\": {}, \"label\": {}, \"constraints\": {}, \"ratio_vs_spice_rmw\": {:.4}}}",
                    json_string(&row.item.id()),
                    json_string(&row.item.label()),
                    row.constraints,
                    row.ratio_vs_spice_rmw
                )
            })
            .collect();
        format!("{{\n  \"rows\": [\n{}\n  ]\n}}\n", rows.join(",\n"))
    }
}

/// `s` as a JSON string literal. (The labels are ours and ASCII, but escaping properly costs
/// nothing and keeps the output valid if one ever gains a quote.)
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Constraints added by `step` on a fresh system prepared by `setup`, provided the whole
/// system is satisfied by the honest witness.
///
/// Runs with tracing switched off: arkworks' gadgets are `#[instrument]`ed at INFO level
/// with their arguments `Debug`-formatted — constraint system included — so under an
/// INFO subscriber (the `spice` binary's default) every gadget call formats the whole
/// system so far, and measuring takes many minutes and gigabytes instead of a second.
fn constraints_added<S>(
    item: CostItem,
    setup: impl FnOnce(&ConstraintSystemRef<Fr>) -> Result<S, SynthesisError>,
    step: impl FnOnce(&ConstraintSystemRef<Fr>, S) -> Result<(), SynthesisError>,
) -> Result<usize, CostError> {
    tracing::subscriber::with_default(NoSubscriber::new(), || {
        let synthesis = |source| CostError::Synthesis {
            item: item.id(),
            source,
        };
        let cs = ConstraintSystem::<Fr>::new_ref();
        let state = setup(&cs).map_err(synthesis)?;
        let before = cs.num_constraints();
        step(&cs, state).map_err(synthesis)?;
        if !cs.is_satisfied().map_err(synthesis)? {
            return Err(CostError::Unsatisfied { item: item.id() });
        }
        Ok(cs.num_constraints() - before)
    })
}

/// A tuple and its honest hash hint.
fn hinted(item: CostItem, tuple: Tuple) -> Result<(Tuple, super::set_digest::HashHint), CostError> {
    hash_tuple_with_hint(&tuple)
        .map(|(_, hint)| (tuple, hint))
        .map_err(|source| CostError::Witness {
            item: item.id(),
            source,
        })
}

/// A digest that already holds one element, so that the measured addition is a full
/// Edwards addition (adding to the constant identity would be free).
fn non_empty_digest(
    cs: &ConstraintSystemRef<Fr>,
    seed: (Tuple, super::set_digest::HashHint),
) -> Result<SetDigestVar, SynthesisError> {
    let mut digest = SetDigestVar::empty();
    let tuple = TupleVar::new_witness(cs.clone(), || Ok(seed.0))?;
    let hint = HashHintVar::new_witness(cs.clone(), || Ok(seed.1))?;
    digest.insert(&tuple, &hint)?;
    Ok(digest)
}

/// One set element: given its tuple (already allocated), allocate the hash hint, compute H
/// and add it into a running digest — exactly [`SetDigestVar::insert`] plus its hint.
pub fn set_element() -> Result<usize, CostError> {
    let item = CostItem::SetElement;
    let (tuple, hint) = hinted(item, Tuple::new(Fr::from(7u64), Fr::from(11u64), 3))?;
    let seed = hinted(item, Tuple::new(Fr::from(1u64), Fr::from(2u64), 1))?;
    constraints_added(
        item,
        |cs| {
            Ok((
                TupleVar::new_witness(cs.clone(), || Ok(tuple))?,
                non_empty_digest(cs, seed)?,
            ))
        },
        |cs, (tuple, mut digest)| {
            let hint = HashHintVar::new_witness(cs.clone(), || Ok(hint))?;
            digest.insert(&tuple, &hint)
        },
    )
}

/// A request's `t_req`: one 64-bit range-checked timestamp, shared by all its keys.
pub fn request_timestamp() -> Result<usize, CostError> {
    constraints_added(
        CostItem::RequestTimestamp,
        |_| Ok(()),
        |cs, ()| TimestampVar::new_witness(cs.clone(), || Ok(9u64)).map(|_| ()),
    )
}

/// A Spice read-modify-write of one key, as a batch circuit spends it per operation: read
/// `(k, v_old, t_old)` (t_old range-checked), enforce `t_old < t_req`, add
/// `H(k, v_old, t_old)` to RS, write `(k, v_new, t_req)` and add its H to WS. The request's
/// `t_req` and both running digests exist beforehand ([`request_timestamp`] counts t_req);
/// the application's logic computing `v_new` is not included.
pub fn spice_rmw() -> Result<usize, CostError> {
    let item = CostItem::SpiceRmw;
    let (old, old_hint) = hinted(item, Tuple::new(Fr::from(7u64), Fr::from(11u64), 3))?;
    let (new, new_hint) = hinted(item, Tuple::new(old.key, Fr::from(12u64), 9))?;
    let seed = hinted(item, Tuple::new(Fr::from(1u64), Fr::from(2u64), 1))?;
    constraints_added(
        item,
        |cs| {
            let t_req = TimestampVar::new_witness(cs.clone(), || Ok(new.timestamp))?;
            Ok((
                t_req,
                non_empty_digest(cs, seed)?,
                non_empty_digest(cs, seed)?,
            ))
        },
        |cs, (t_req, mut reads, mut writes)| {
            let old = TupleVar::new_witness(cs.clone(), || Ok(old))?;
            old.timestamp.enforce_lt(&t_req)?;
            let old_hint = HashHintVar::new_witness(cs.clone(), || Ok(old_hint))?;
            reads.insert(&old, &old_hint)?;
            let written = TupleVar {
                key: old.key.clone(),
                value: FpVar::new_witness(cs.clone(), || Ok(new.value))?,
                timestamp: t_req,
            };
            let new_hint = HashHintVar::new_witness(cs.clone(), || Ok(new_hint))?;
            writes.insert(&written, &new_hint)
        },
    )
}

/// One key of the final state in an audit chunk: allocate `(k, v, t)` (t range-checked),
/// add `H(k, v, t)` to `MH(final)`, decompose k canonically and enforce `k_prev < k` against
/// the previous key's decomposition (which exists beforehand: each key is decomposed once
/// and compared with both neighbours).
pub fn audited_key() -> Result<usize, CostError> {
    let item = CostItem::AuditedKey;
    let previous_key = Fr::from(5u64);
    // A key above 2^128 so that the comparison's high halves differ (the cost is the same
    // either way: the gadget's shape does not depend on the values).
    let (tuple, hint) = hinted(item, Tuple::new(-Fr::from(3u64), Fr::from(11u64), 3))?;
    let seed = hinted(item, Tuple::new(Fr::from(1u64), Fr::from(2u64), 1))?;
    constraints_added(
        item,
        |cs| {
            let previous = FpVar::new_witness(cs.clone(), || Ok(previous_key))?;
            Ok((OrderedKeyVar::new(previous)?, non_empty_digest(cs, seed)?))
        },
        |cs, (previous, mut final_digest)| {
            let tuple = TupleVar::new_witness(cs.clone(), || Ok(tuple))?;
            let hint = HashHintVar::new_witness(cs.clone(), || Ok(hint))?;
            final_digest.insert(&tuple, &hint)?;
            let key = OrderedKeyVar::new(tuple.key.clone())?;
            previous.enforce_lt(&key)
        },
    )
}

/// The extra work for a key first written this epoch: `H(k, 0, 0)` (value and timestamp
/// are constants) added to `MH(init)`, given k already allocated.
pub fn new_key_init() -> Result<usize, CostError> {
    let item = CostItem::NewKeyInit;
    let key = Fr::from(7u64);
    let (tuple, hint) = hinted(item, Tuple::new(key, Fr::from(0u64), 0))?;
    let seed = hinted(item, Tuple::new(Fr::from(1u64), Fr::from(2u64), 1))?;
    constraints_added(
        item,
        |cs| {
            Ok((
                FpVar::new_witness(cs.clone(), || Ok(key))?,
                non_empty_digest(cs, seed)?,
            ))
        },
        |cs, (key, mut init)| {
            let tuple = TupleVar {
                key,
                value: FpVar::zero(),
                timestamp: TimestampVar::from_fp(&FpVar::constant(Fr::from(tuple.timestamp)))?,
            };
            let hint = HashHintVar::new_witness(cs.clone(), || Ok(hint))?;
            init.insert(&tuple, &hint)
        },
    )
}

/// The Merkle tree's 2-to-1 compression: one permutation of Spice's Poseidon (width 4)
/// over `[domain, left, right, 0]`. A width-3 instance would be slightly cheaper (DESIGN §4
/// measures 243 constraints per permutation against about 260 here); we use the project's
/// one parameter set, so the comparison prices both designs with the same hash.
pub fn merkle_node(left: Fr, right: Fr) -> Fr {
    poseidon::hash(
        poseidon::domain_tag(MERKLE_NODE_DOMAIN_LABEL),
        [left, right, Fr::from(0u64)],
    )
}

/// In-circuit twin of [`merkle_node`].
pub fn merkle_node_var(left: FpVar<Fr>, right: FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    poseidon::hash_var(
        poseidon::domain_tag(MERKLE_NODE_DOMAIN_LABEL),
        [left, right, FpVar::zero()],
    )
}

/// The root above `leaf` at position `index_bits` (little-endian: bit i says whether the
/// node at height i is a right child) with `siblings` bottom-up.
pub fn merkle_root(leaf: Fr, index_bits: &[bool], siblings: &[Fr]) -> Fr {
    index_bits
        .iter()
        .zip(siblings)
        .fold(leaf, |node, (&is_right, &sibling)| {
            if is_right {
                merkle_node(sibling, node)
            } else {
                merkle_node(node, sibling)
            }
        })
}

/// In-circuit twin of [`merkle_root`].
pub fn merkle_root_var(
    leaf: FpVar<Fr>,
    index_bits: &[Boolean<Fr>],
    siblings: &[FpVar<Fr>],
) -> Result<FpVar<Fr>, SynthesisError> {
    let mut node = leaf;
    for (is_right, sibling) in index_bits.iter().zip(siblings) {
        // One constraint for the swap: left = node + b·(sibling − node), right is the other
        // one (node + sibling − left, a free linear combination).
        let left = &node + FpVar::from(is_right.clone()) * (sibling - &node);
        let right = &node + sibling - &left;
        node = merkle_node_var(left, right)?;
    }
    Ok(node)
}

/// A read-modify-write of one key in a binary Poseidon Merkle tree of `depth`: allocate the
/// key's position (`depth` boolean bits), the old and new values and the siblings; recompute
/// the root from the old value and enforce it equals the current root; recompute the root
/// from the new value along the same path (the next state's root).
///
/// Leaves hold the value itself, with no leaf hash: the cheapest sound layout for a tree
/// addressed by position, so the comparison, if anything, favours the Merkle tree.
pub fn merkle_rmw(depth: usize) -> Result<usize, CostError> {
    let index_bits: Vec<bool> = (0..depth)
        .map(|i| (0x5a5a_5a5a_5a5a_5a5au64 >> (i % 64)) & 1 == 1)
        .collect();
    let siblings: Vec<Fr> = (0..depth as u64).map(|i| Fr::from(1_000 + i)).collect();
    let (old_value, new_value) = (Fr::from(11u64), Fr::from(12u64));
    let old_root = merkle_root(old_value, &index_bits, &siblings);
    constraints_added(
        CostItem::MerkleRmw { depth },
        // The current root is an input of the operation (a public input or the previous
        // operation's output), so allocating it is not counted.
        |cs| FpVar::new_witness(cs.clone(), || Ok(old_root)),
        |cs, root| {
            let bits = index_bits
                .iter()
                .map(|&b| Boolean::new_witness(cs.clone(), || Ok(b)))
                .collect::<Result<Vec<_>, _>>()?;
            let siblings = siblings
                .iter()
                .map(|&s| FpVar::new_witness(cs.clone(), || Ok(s)))
                .collect::<Result<Vec<_>, _>>()?;
            let old = FpVar::new_witness(cs.clone(), || Ok(old_value))?;
            let new = FpVar::new_witness(cs.clone(), || Ok(new_value))?;
            merkle_root_var(old, &bits, &siblings)?.enforce_equal(&root)?;
            merkle_root_var(new, &bits, &siblings).map(|_| ())
        },
    )
}

/// Bits in the high half of a key split: `k = hi·2^128 + lo` with `lo < 2^128`.
const LOW_BITS: usize = 128;

/// A key in the circuit together with its canonical little-endian bits, so that keys can
/// be compared in [`key_order`] (the integer order on `[0, r)`). Like `TimestampVar`, the
/// property lives in the type: every `OrderedKeyVar` went through the canonical
/// decomposition, which [`OrderedKeyVar::enforce_lt`] relies on.
#[derive(Clone, Debug)]
pub struct OrderedKeyVar {
    key: FpVar<Fr>,
    /// Exactly `Fr::MODULUS_BIT_SIZE` (255) bits, encoding an integer below r.
    bits: Vec<Boolean<Fr>>,
}

impl OrderedKeyVar {
    /// Decomposes `key` into its canonical bits: arkworks' `to_bits_le`, which also
    /// enforces that the bits encode an integer below r. Canonical matters: `k + r` has
    /// 255-bit representations too, and comparing those would order keys wrongly.
    pub fn new(key: FpVar<Fr>) -> Result<Self, SynthesisError> {
        let bits = key.to_bits_le()?;
        Ok(Self { key, bits })
    }

    /// The key.
    pub fn key(&self) -> &FpVar<Fr> {
        &self.key
    }

    /// `(hi, lo)` with `key = hi·2^128 + lo`, `hi < 2^127`, `lo < 2^128` (free: linear
    /// combinations of the bits).
    fn halves(&self) -> Result<(FpVar<Fr>, FpVar<Fr>), SynthesisError> {
        let (lo, hi) = self.bits.split_at(LOW_BITS);
        Ok((Boolean::le_bits_to_fp(hi)?, Boolean::le_bits_to_fp(lo)?))
    }

    /// Enforces `self < later` in [`key_order`] (132 constraints).
    ///
    /// With `a = self`, `b = later` split as `hi·2^128 + lo`, the prover supplies the bit
    /// `s = [a_hi < b_hi]`, and the circuit enforces
    /// * `d = s ? b_hi − a_hi − 1 : b_lo − a_lo − 1` lies in `[0, 2^128)` (128 bits), and
    /// * `(1 − s)·(b_hi − a_hi) = 0`.
    ///
    /// Soundness: all halves are below 2^128 and r > 2^254, so a "negative" difference
    /// wraps to at least `r − 2^128 > 2^128` and has no 128-bit decomposition. With s = 1
    /// this forces `b_hi > a_hi`; with s = 0 it forces `a_hi = b_hi` and `b_lo > a_lo`.
    /// Either way `a < b` as integers, because the halves come from canonical bits.
    /// Completeness: for `a < b` the honest s makes d the true, small difference.
    pub fn enforce_lt(&self, later: &OrderedKeyVar) -> Result<(), SynthesisError> {
        let (a_hi, a_lo) = self.halves()?;
        let (b_hi, b_lo) = later.halves()?;
        let cs = self.key.cs().or(later.key.cs());
        let high_is_less = Boolean::new_witness(cs.clone(), || {
            Ok(key_order(&a_hi.value()?, &b_hi.value()?) == Ordering::Less)
        })?;
        let one = Fr::from(1u64);
        let high_gap = &b_hi - &a_hi - one;
        let low_gap = &b_lo - &a_lo - one;
        let gap = FpVar::conditionally_select(&high_is_less, &high_gap, &low_gap)?;
        enforce_below_power_of_two(&gap, LOW_BITS)?;
        FpVar::from(!high_is_less).mul_equals(&(&b_hi - &a_hi), &FpVar::zero())
    }
}

/// Enforces `value < 2^bits` (bits + 1 constraints) for `bits` well below 254.
fn enforce_below_power_of_two(value: &FpVar<Fr>, bits: usize) -> Result<(), SynthesisError> {
    let cs = value.cs();
    let v = value.value().ok();
    let decomposition = (0..bits)
        .map(|i| {
            Boolean::new_witness(cs.clone(), || {
                v.map(|v| v.into_bigint().get_bit(i))
                    .ok_or(SynthesisError::AssignmentMissing)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Σ bᵢ·2^i < 2^bits < r cannot wrap, so equality means value < 2^bits as an integer.
    Boolean::le_bits_to_fp(&decomposition)?.enforce_equal(value)
}
