//! Request/response commitments (DESIGN §4, "Zero knowledge"): every slot of a batch commits
//! to its request and response with a salted Poseidon hash, the commitments are the leaves of
//! a Poseidon Merkle tree, and the root is a public input of the batch proof. A client gets a
//! [`Receipt`] — its slot, its salt, the Merkle path — and checks with [`verify_receipt`] that
//! the proved batch executed *its* request and gave *this* response.
//!
//! # The leaf: `Com(salt; request ‖ response)`
//!
//! A Poseidon sponge (the Spice parameters of [`poseidon`], rate 3) with a domain tag in the
//! capacity lane absorbs `[salt, request…, response…]` and squeezes one element;
//! ⌈(1 + |request| + |response|)/3⌉ permutations.
//!
//! * **Binding**: Poseidon is collision resistant, so one leaf opens to one field sequence.
//!   The split between request and response is fixed too: the domain tag is derived from the
//!   two lengths ([`leaf_domain`]), so `(req ‖ resp)` and `(req' ‖ resp')` with the same
//!   concatenation but different lengths hash under different tags. (Within one app the
//!   lengths are fixed by the circuit anyway; the tag makes receipts unambiguous across apps.)
//! * **Hiding**: the salt is a uniformly random field element, private to the prover and the
//!   client; with Poseidon modelled as a random oracle the leaf reveals nothing about the
//!   request, and padding slots (salted too) look like real ones.
//!
//! # The tree
//!
//! Leaves are padded with [`empty_leaf`] (0) up to the next power of two; an internal node is
//! `Poseidon(node tag, [left, right, 0])`. Nobody can open an empty leaf (that needs a
//! Poseidon preimage of 0), and leaves and nodes hash under different tags, so a node can
//! never be passed off as a leaf. In-circuit the padding and every all-padding subtree are
//! constants: a batch of B slots costs B leaf commitments and B − 1 node hashes at most.

use std::sync::OnceLock;

use ark_bls12_381::Fr;
use ark_ff::Zero;
use ark_r1cs_std::fields::{fp::FpVar, FieldVar};
use ark_relations::gr1cs::SynthesisError;

use super::{poseidon, poseidon_gadget};

/// Label of the leaf domain tag (combined with the field counts, see [`leaf_domain`]).
pub const LEAF_DOMAIN_LABEL: &str = "spice/request-commitment/leaf/v1";
/// Label of the internal node domain tag.
pub const NODE_DOMAIN_LABEL: &str = "spice/request-commitment/node/v1";

/// Errors of the commitment tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitmentError {
    /// A tree needs at least one leaf.
    #[error("a commitment tree needs at least one leaf")]
    NoLeaves,
    /// A path was asked for a slot the tree does not have.
    #[error("slot {slot} is outside a tree of {leaves} leaves")]
    SlotOutOfRange {
        /// The slot asked for.
        slot: usize,
        /// The tree's leaves (before padding).
        leaves: usize,
    },
}

/// The leaf that pads a tree to a power of two.
pub fn empty_leaf() -> Fr {
    Fr::zero()
}

/// The domain tag of a leaf committing to `request_fields` + `response_fields` elements:
/// `Poseidon(tag(LEAF_DOMAIN_LABEL), [request_fields, response_fields, 0])`.
pub fn leaf_domain(request_fields: usize, response_fields: usize) -> Fr {
    static LABEL: OnceLock<Fr> = OnceLock::new();
    let label = *LABEL.get_or_init(|| poseidon::domain_tag(LEAF_DOMAIN_LABEL));
    poseidon::hash(
        label,
        [
            Fr::from(request_fields as u64),
            Fr::from(response_fields as u64),
            Fr::zero(),
        ],
    )
}

/// The domain tag of internal nodes (cached).
pub fn node_domain() -> Fr {
    static TAG: OnceLock<Fr> = OnceLock::new();
    *TAG.get_or_init(|| poseidon::domain_tag(NODE_DOMAIN_LABEL))
}

/// The leaf `Com(salt; request ‖ response)`.
pub fn commit(salt: Fr, request: &[Fr], response: &[Fr]) -> Fr {
    let input: Vec<Fr> = std::iter::once(salt)
        .chain(request.iter().copied())
        .chain(response.iter().copied())
        .collect();
    poseidon::sponge_hash(leaf_domain(request.len(), response.len()), &input)
}

/// In-circuit [`commit`]: the same sponge, lane for lane.
pub fn commit_var(
    salt: &FpVar<Fr>,
    request: &[FpVar<Fr>],
    response: &[FpVar<Fr>],
) -> Result<FpVar<Fr>, SynthesisError> {
    let input: Vec<FpVar<Fr>> = std::iter::once(salt)
        .chain(request)
        .chain(response)
        .cloned()
        .collect();
    poseidon_gadget::sponge_hash_var(leaf_domain(request.len(), response.len()), &input)
}

/// An internal node: `Poseidon(node tag, [left, right, 0])`.
pub fn hash_nodes(left: Fr, right: Fr) -> Fr {
    poseidon::hash(node_domain(), [left, right, Fr::zero()])
}

/// In-circuit [`hash_nodes`]; free when both children are constants.
pub fn hash_nodes_var(left: &FpVar<Fr>, right: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    if let (FpVar::Constant(l), FpVar::Constant(r)) = (left, right) {
        return Ok(FpVar::constant(hash_nodes(*l, *r)));
    }
    poseidon_gadget::hash_var(
        node_domain(),
        [left.clone(), right.clone(), FpVar::constant(Fr::zero())],
    )
}

/// Depth of a tree over `leaves` leaves: ⌈log₂ leaves⌉ (0 for one leaf).
pub fn tree_depth(leaves: usize) -> usize {
    leaves.next_power_of_two().trailing_zeros() as usize
}

/// The siblings from a leaf up to the root (leaf level first).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MerklePath {
    /// One sibling per level.
    pub siblings: Vec<Fr>,
}

/// A Poseidon Merkle tree over the slot commitments of one batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerkleTree {
    /// `levels[0]` = the leaves padded to 2^depth; the last level is `[root]`.
    levels: Vec<Vec<Fr>>,
    leaves: usize,
}

impl MerkleTree {
    /// The tree over `leaves` (padded with [`empty_leaf`] to a power of two).
    pub fn new(leaves: &[Fr]) -> Result<Self, CommitmentError> {
        if leaves.is_empty() {
            return Err(CommitmentError::NoLeaves);
        }
        let mut level = leaves.to_vec();
        level.resize(leaves.len().next_power_of_two(), empty_leaf());
        let mut levels = vec![level];
        while let Some(below) = levels.last().filter(|level| level.len() > 1) {
            let above = below
                .chunks_exact(2)
                .map(|pair| hash_nodes(pair[0], pair[1]))
                .collect();
            levels.push(above);
        }
        Ok(Self {
            levels,
            leaves: leaves.len(),
        })
    }

    /// The root.
    pub fn root(&self) -> Fr {
        // `new` always leaves a one-element top level.
        self.levels.last().map_or_else(empty_leaf, |top| top[0])
    }

    /// The depth (number of siblings on a path).
    pub fn depth(&self) -> usize {
        self.levels.len() - 1
    }

    /// The path of leaf `slot`.
    pub fn path(&self, slot: usize) -> Result<MerklePath, CommitmentError> {
        if slot >= self.leaves {
            return Err(CommitmentError::SlotOutOfRange {
                slot,
                leaves: self.leaves,
            });
        }
        let siblings = self.levels[..self.depth()]
            .iter()
            .enumerate()
            .map(|(level, nodes)| nodes[(slot >> level) ^ 1])
            .collect();
        Ok(MerklePath { siblings })
    }
}

/// The root over `leaves` in the circuit, padded with the constant [`empty_leaf`] as
/// [`MerkleTree::new`] pads. Errors with `AssignmentMissing` on no leaves (no tree).
pub fn merkle_root_var(leaves: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    if leaves.is_empty() {
        return Err(SynthesisError::AssignmentMissing);
    }
    let mut level = leaves.to_vec();
    level.resize(
        leaves.len().next_power_of_two(),
        FpVar::constant(empty_leaf()),
    );
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|pair| hash_nodes_var(&pair[0], &pair[1]))
            .collect::<Result<_, _>>()?;
    }
    level.pop().ok_or(SynthesisError::AssignmentMissing)
}

/// What a client keeps to check that a batch committed its request and response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The request's slot in the batch (its leaf index).
    pub slot: usize,
    /// The salt of the leaf: with the request and response, the commitment's opening.
    pub salt: Fr,
    /// The leaf's Merkle path.
    pub path: MerklePath,
}

/// Whether `receipt` opens the leaf `Com(salt; request ‖ response)` at its slot under `root`.
/// `request` and `response` are the encoded field elements
/// ([`App::encode_request`](super::storage_gadget::App::encode_request),
/// [`Response::encode`](super::storage_gadget::Response::encode)).
pub fn verify_receipt(root: Fr, request: &[Fr], response: &[Fr], receipt: &Receipt) -> bool {
    let depth = receipt.path.siblings.len();
    // The slot's bits above the path's depth must be zero, or two slots would share a path.
    // (A path of usize::BITS levels or more leaves no bits above it.)
    if depth < usize::BITS as usize && receipt.slot >> depth != 0 {
        return false;
    }
    let mut node = commit(receipt.salt, request, response);
    for (level, sibling) in receipt.path.siblings.iter().enumerate() {
        let right_child = level < usize::BITS as usize && (receipt.slot >> level) & 1 == 1;
        node = if right_child {
            hash_nodes(*sibling, node)
        } else {
            hash_nodes(node, *sibling)
        };
    }
    node == root
}
