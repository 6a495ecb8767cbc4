//! The end-of-epoch audit (DESIGN §4): chunk proofs over key ranges of the final state,
//! chained by committed boundary keys, and a closing proof that the epoch's digests balance,
//! `MH(init) + ΣWS = ΣRS + MH(final)` with `init = previous final ∪ {(k, 0, 0) : k new}` —
//! all in zero knowledge.
//!
//! ```text
//! EpochSnapshot ─EpochAudit::build─▶ ChunkWitness ×m ─chain─▶ ChunkCircuit ×m   (Prover)
//!  + AuditedFinal (previous)                                 + ClosingCircuit    (Prover)
//!  + EpochBatches (Σ blinded RS/WS, Σ ρ)                     + AuditedFinal (next epoch)
//!
//! verifier: ChunkPublicInputs ×m + ClosingPublicInputs ─check_epoch─▶ new blinded final
//! ```
//!
//! # The statement
//!
//! The final state (every stored tuple, keys strictly increasing in [`key_order`]) is split
//! into m chunks of at most `keys_per_chunk` keys. Chunk j proves, for its private tuples
//! `final_j` and private bits `new_j ⊆ final_j` (which keys were first written this epoch):
//!
//! * `F_j = MH(final_j) + φ_j·B` and `N_j = MH({(k, 0, 0) : k ∈ new_j}) + ν_j·B` (published,
//!   blinded with fresh φ_j, ν_j; B = [`blinding_generator`]);
//! * its keys strictly increase, and its first key is above the previous chunk's last key,
//!   which it reads by **opening** the previous chunk's boundary commitment
//!   `P_j = Poseidon(boundary, [k_last, salt, epoch])` in-circuit; chunk 0 instead starts
//!   from the public sentinel [`chain_start`] (no lower bound);
//! * `C_j` = the same commitment to its own last key with a fresh salt (published), and that
//!   last key is below r as an integer (see "Canonical keys" below).
//!
//! The closing proof proves knowledge of δ with
//! `PF_prev + ΣN_j + ΣD_WS = ΣD_RS + ΣF_j + δ·B`. The verifier ([`check_epoch`]) checks
//! that the chunks form one chain from the sentinel (`P_0 = chain_start`, `P_j = C_{j−1}`),
//! and that the closing statement is about *this* epoch: its `PF_prev` is the previous
//! epoch's new final digest, its sums of batch contributions are the sums of the verified
//! batch proofs, and its ΣN and new final digest are the sums over the chain. The epoch's new
//! blinded final digest is `PF_new = ΣF_j`, blinded by `Σφ_j`, which the prover keeps for the
//! next epoch ([`AuditedFinal`]).
//!
//! The closing step is a small Groth16 circuit ([`ClosingCircuit`], 1,345 constraints) and not
//! a Schnorr proof: the proof log records an audit closing entry as a Groth16 proof, and one
//! verifier path for every proof kind keeps the verifier simple. A Schnorr proof of knowledge
//! of δ would be as sound (special soundness) and zero-knowledge (HVZK, Fiat–Shamir in the ROM).
//!
//! # Public inputs
//!
//! Chunk proof ([`ChunkPublicInputs`], [`CHUNK_PUBLIC_INPUTS`] = 7):
//!
//! | index | value                                                                   |
//! |-------|-------------------------------------------------------------------------|
//! | 0     | epoch (u64, range-checked in-circuit, hashed into both commitments)     |
//! | 1     | `P_j`: the boundary commitment this chunk opens ([`chain_start`] for j = 0) |
//! | 2     | `C_j`: the commitment to this chunk's last key                           |
//! | 3, 4  | `F_j = MH(final_j) + φ_j·B`: Jubjub x, y                                 |
//! | 5, 6  | `N_j = MH(new-key inits_j) + ν_j·B`: Jubjub x, y                         |
//!
//! Closing proof ([`ClosingPublicInputs`], [`CLOSING_PUBLIC_INPUTS`] = 11):
//!
//! | index  | value                                                    |
//! |--------|----------------------------------------------------------|
//! | 0      | epoch (u64, range-checked in-circuit)                    |
//! | 1, 2   | `PF_prev`: the previous epoch's blinded final digest     |
//! | 3, 4   | `ΣD_RS`: the epoch's summed blinded RS contributions     |
//! | 5, 6   | `ΣD_WS`: the epoch's summed blinded WS contributions     |
//! | 7, 8   | `ΣN_j`: the summed blinded new-key digests               |
//! | 9, 10  | `PF_new = ΣF_j`: the new blinded final digest            |
//!
//! The first epoch's `PF_prev` is [`genesis_final_digest`] (the empty digest, unblinded: it
//! is public knowledge that the state starts empty).
//!
//! # Why it is sound
//!
//! **From points to multisets.** Every published point is, by knowledge soundness of the
//! proofs that produced it, `MH(S) + s·B` for a multiset S of *extended* tuples
//! (k, v, t, c) the prover knows and a scalar s it knows (batch contributions by the batch
//! circuit, `F_j`, `N_j` by the chunk circuits, `PF_prev` by the previous audit). Substituting
//! into the closing equation, whose δ the closing proof extracts, gives
//! `Σ_{init ⊎ WS} H(e) − Σ_{RS ⊎ final} H(e) = ε·B` for a known ε. Unless the two multisets
//! are equal and ε = 0, this is a non-trivial linear relation between outputs of H (a random
//! oracle onto the prime-order subgroup) and B (H under another domain tag), which would
//! solve discrete log in Jubjub. So, as multisets, **init ⊎ ΣWS = ΣRS ⊎ final**, and then
//! for every key k separately.
//!
//! **One tuple per key on each side.** The batch circuit reads and writes the same key in
//! every operation, so `|WS_k| = |RS_k|` and hence `|init_k| = |final_k|`. Within a chunk the
//! keys are strictly increasing integers; across chunks the next chunk's first key is above
//! the opened last key of the previous one (the commitment binds it: Poseidon is collision
//! resistant, and the verifier links `P_j = C_{j−1}`), so along the whole chain the keys are
//! strictly increasing integers, all below r ("Canonical keys"), hence distinct field
//! elements: `|final_k| ≤ 1`, and so `|init_k| ≤ 1`.
//!
//! **Each attack, concretely:**
//! * *Duplicate a key in final* (inside a chunk or across a chunk boundary): the strict order
//!   check fails in-circuit. A chunk cannot restart the order: a middle chunk's `P_j` is a
//!   commitment, so it cannot be the sentinel (no Poseidon preimage of a SHA-256-derived
//!   constant is known; [`check_epoch`] also rejects a boundary equal to it).
//! * *Delete a tuple* (skip a key, or drop a whole chunk): the key's `init_k` holds its
//!   previous final tuple, or — for a key first written this epoch — the `(k, 0, 0)` its first
//!   read consumed (the read with the smallest timestamp cannot be matched by a write, whose
//!   timestamp exceeds its own read's), so `|final_k| = |init_k| = 1`: the key must be in
//!   final. A dropped middle chunk also breaks the chain; a dropped last chunk makes `ΣF_j`
//!   differ from the closing proof's new final digest, which [`check_epoch`] rejects.
//! * *Mark an existing key as new*: `init_k` then holds both the previous tuple and
//!   `(k, 0, 0)`, `|init_k| = 2 > 1 ≥ |final_k|`. (Marking a written key as *not* new leaves
//!   `init_k` empty while final holds it: `0 ≠ 1`. A key can only be marked new where it
//!   sits in final, so no init tuple can float free.)
//! * *Choose a different final state*: per key, `init_k` and `final_k` are single tuples and
//!   every operation turns the tuple it reads into one with a strictly larger timestamp. Each
//!   tuple is produced once (by init or a write) and consumed once (by a read or final), so
//!   the operations on k form one path from `init_k` to `final_k`, without cycles (timestamps
//!   increase): `final_k` is the last write of the one chain of k's operations — fixed by the
//!   batch proofs. Any other value, timestamp or counter fails to balance.
//! * *Forge the blinding*: δ is the only free value of the closing statement; a δ that is not
//!   the true blinding sum gives ε ≠ 0 above.
//! * *Replay chunks or a closing proof from elsewhere*: the epoch is hashed into every
//!   boundary commitment and range-checked in both circuits; [`check_epoch`] matches epochs,
//!   the chain links, `PF_prev`, the batch sums and both chain sums, so a chunk over another
//!   state or a closing proof of another epoch is rejected.
//!
//! **Canonical keys.** A key is allocated as 255 bits, `K = hi·2^128 + lo` with hi < 2^127
//! and lo < 2^128, and the field element is K mod r. The strict comparisons are on K. The
//! chunk checks only its *last* key's K < r, which is enough: keys strictly increase, so
//! every K in the chunk is below r — canonical — and distinct K are distinct keys. A
//! non-canonical decomposition of the opened previous key is K' ≥ the canonical one, which
//! only raises the lower bound of the next chunk. This saves a 255-bit canonicity check per
//! key (arkworks' strict `to_bits_le` costs 568 where the bits alone cost 255).
//!
//! **Padding.** A chunk has `keys_per_chunk` slots; the last chunk is padded with inactive
//! slots, which add the identity to both digests. Active slots form a prefix (`active_i ⇒
//! active_{i−1}`, 1 constraint), so every active key is compared with the active key before
//! it, and the boundary commits to the last active key.
//!
//! **Completeness.** The honest prover uses the store's snapshot: keys strictly increasing,
//! the store's new keys, minimal hash counters (as the batch circuit does), and the true
//! blinding sums.
//!
//! # What stays hidden
//!
//! Every published digest is blinded with an independent uniform scalar, so each is a
//! uniform point of the subgroup; the boundary commitments are salted Poseidon (hiding in
//! the random-oracle model); the proofs are zero-knowledge. In particular **which keys are
//! new** is hidden: every slot hashes `(k, 0, 0)` and a private bit decides whether it joins
//! `N_j`. What is public: the number of chunks, i.e. the state size rounded up to a multiple
//! of `keys_per_chunk`.
//!
//! # Not an incremental audit
//!
//! Every epoch audits the *whole* state. An audit over touched keys only would let a prover
//! leave out keys it never touched and so delete tuples it never read (DESIGN §4).
//!
//! # Cost (measured by `constraint_counts_are_reported` in `tests/integration/audit.rs`)
//!
//! | part                         | constraints |
//! |------------------------------|-------------|
//! | per audited key (chunk slot) | 1,552       |
//! | fixed per chunk              | 3,496       |
//! | closing proof                | 1,345       |
//!
//! A key slot is two set elements — `H(k, v, t)` for final and `H(k, 0, 0)` for the hidden
//! new-key digest, each with its hint, selection and addition — plus the key's 255 bits, the
//! value, the timestamp's 64 bits and the 133-constraint order check. The fixed part is the
//! opened and the new boundary commitment, the last key's canonicity, the epoch's range and
//! the two blindings. A chunk of 1,024 keys is about 1.59 M constraints (domain 2^21).

use std::{cmp::Ordering, collections::HashSet, sync::OnceLock};

use ark_bls12_381::Fr;
use ark_ec::CurveGroup;
use ark_ed_on_bls12_381::{EdwardsAffine, EdwardsProjective, Fr as JubjubScalar};
use ark_ff::{AdditiveGroup, UniformRand, Zero};
use ark_r1cs_std::{
    alloc::AllocVar,
    boolean::Boolean,
    eq::EqGadget,
    fields::{fp::FpVar, FieldVar},
    groups::CurveVar,
};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use ark_std::rand::{CryptoRng, RngCore};
use rayon::prelude::*;

use super::{
    field_encoding::{decode_digest, decode_u64, PublicInputError},
    integer_gadget::bounded_bits_le,
    key_order_gadget::{enforce_canonical, enforce_key_order, recompose, KeyVar},
    poseidon, poseidon_gadget,
    set_digest::{
        blinding_generator, candidate_x, element_domain, hash_tuple_with_hint, BlindedDigest,
        HashHint, SetDigest, SetDigestError, Tuple, COFACTOR_DOUBLINGS, TIMESTAMP_BITS,
    },
    set_digest_gadget::{
        blind_point_var, blinding_scalar_var, hash_tuple_var, HashHintVar, JubjubVar, TimestampVar,
        TupleVar,
    },
    store::{key_order, EpochSnapshot},
};

/// Number of public inputs of a chunk proof (layout in the module docs).
pub const CHUNK_PUBLIC_INPUTS: usize = 7;
/// Number of public inputs of the closing proof (layout in the module docs).
pub const CLOSING_PUBLIC_INPUTS: usize = 11;

/// Label of the domain tag of boundary-key commitments.
pub const BOUNDARY_DOMAIN_LABEL: &str = "spice/audit/boundary-key/v1";
/// Label from which the chain's start sentinel is derived.
pub const CHAIN_START_LABEL: &str = "spice/audit/chain-start/v1";

/// The domain tag of boundary commitments (cached).
pub fn boundary_domain() -> Fr {
    static TAG: OnceLock<Fr> = OnceLock::new();
    *TAG.get_or_init(|| poseidon::domain_tag(BOUNDARY_DOMAIN_LABEL))
}

/// The sentinel that the first chunk's previous-boundary input must equal: SHA-256 of a
/// fixed label, so nobody knows a Poseidon preimage, and no chunk can claim to open it.
pub fn chain_start() -> Fr {
    static TAG: OnceLock<Fr> = OnceLock::new();
    *TAG.get_or_init(|| poseidon::domain_tag(CHAIN_START_LABEL))
}

/// The commitment to a chunk's last key: `Poseidon(boundary, [key, salt, epoch])`. The salt
/// hides the key; the epoch keeps a chain from being continued in another epoch.
pub fn boundary_commitment(key: Fr, salt: Fr, epoch: u64) -> Fr {
    poseidon::hash(boundary_domain(), [key, salt, Fr::from(epoch)])
}

/// The previous final digest of the very first epoch: the empty state, blinded by 0.
pub fn genesis_final_digest() -> BlindedDigest {
    SetDigest::empty().blind(&JubjubScalar::zero())
}

/// Errors while building audit witnesses and circuits (prover side).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditBuildError {
    /// A chunk must hold at least one key slot.
    #[error("keys_per_chunk must be at least 1")]
    ZeroChunkSize,
    /// The final state is not strictly increasing by key (a repeated key, or another order).
    #[error("final state is not strictly increasing by key at index {index}")]
    FinalNotSorted {
        /// The first index whose key is not above its predecessor's.
        index: usize,
    },
    /// A key reported new is not in the final state (keys are never removed).
    #[error("new key {key} is not in the final state")]
    NewKeyNotInFinal {
        /// The key.
        key: Fr,
    },
    /// A chunk witness holds more keys than the circuit has slots.
    #[error("chunk {chunk} holds {keys} keys, the circuit has {capacity} slots")]
    ChunkTooLarge {
        /// The chunk's position.
        chunk: usize,
        /// Keys in its witness.
        keys: usize,
        /// `keys_per_chunk`.
        capacity: usize,
    },
    /// A tuple could not be hashed.
    #[error(transparent)]
    Hash(#[from] SetDigestError),
}

/// Why [`check_epoch`] rejects an epoch's audit: the first failure found, in check order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EpochCheckError {
    /// No chunk proof (even an empty state has one chunk).
    #[error("the audit has no chunk proof")]
    NoChunks,
    /// A chunk proof belongs to another epoch.
    #[error("chunk {position} is for epoch {got}, the audit is for epoch {expected}")]
    ChunkEpoch {
        /// Position of the chunk in the chain.
        position: usize,
        /// The audited epoch.
        expected: u64,
        /// The chunk's epoch.
        got: u64,
    },
    /// The first chunk does not start the chain at the sentinel.
    #[error("chunk 0 does not start at the chain sentinel")]
    ChainStart,
    /// A chunk does not open the boundary its predecessor committed to (a chunk is missing,
    /// reordered, or foreign).
    #[error("chunk {position} does not continue chunk {}: the chain is broken", position - 1)]
    BrokenChain {
        /// Position of the chunk that does not link.
        position: usize,
    },
    /// A chunk's boundary commitment equals the sentinel (would let the chain restart).
    #[error("chunk {position} commits to the chain sentinel")]
    SentinelBoundary {
        /// Position of the chunk.
        position: usize,
    },
    /// The closing proof is for another epoch.
    #[error("the closing proof is for epoch {got}, the audit is for epoch {expected}")]
    ClosingEpoch {
        /// The audited epoch.
        expected: u64,
        /// The closing proof's epoch.
        got: u64,
    },
    /// The closing proof starts from another previous final digest.
    #[error("the closing proof does not start from the previous epoch's final digest")]
    PreviousFinalMismatch,
    /// The closing proof's RS sum is not the sum of the epoch's batch RS contributions.
    #[error("the closing proof's RS sum is not the epoch's sum of batch RS contributions")]
    ReadSumMismatch,
    /// The closing proof's WS sum is not the sum of the epoch's batch WS contributions.
    #[error("the closing proof's WS sum is not the epoch's sum of batch WS contributions")]
    WriteSumMismatch,
    /// The chunks' new-key digests do not sum to the closing proof's: the epoch does not
    /// close with these chunks.
    #[error(
        "the chunks' new-key digests do not sum to the closing proof's: the epoch does not close"
    )]
    NewKeysMismatch,
    /// The chunks' final digests do not sum to the closing proof's new final digest (a chunk
    /// missing at the end of the chain, or chunks over another state): the epoch does not
    /// close with these chunks.
    #[error("the chunks' final digests do not sum to the closing proof's new final digest: the epoch does not close")]
    FinalMismatch,
}

/// The public inputs of one chunk proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkPublicInputs {
    /// The audited epoch.
    pub epoch: u64,
    /// `P_j`: the commitment to the previous chunk's last key ([`chain_start`] for chunk 0).
    pub previous_boundary: Fr,
    /// `C_j`: the commitment to this chunk's last key.
    pub boundary: Fr,
    /// `F_j = MH(final_j) + φ_j·B`.
    pub final_digest: BlindedDigest,
    /// `N_j = MH({(k, 0, 0) : k new in this chunk}) + ν_j·B`.
    pub new_keys_digest: BlindedDigest,
}

impl ChunkPublicInputs {
    /// `[epoch, P_j, C_j, F.x, F.y, N.x, N.y]`.
    pub fn to_field_elements(&self) -> Vec<Fr> {
        let f = self.final_digest.point();
        let n = self.new_keys_digest.point();
        vec![
            Fr::from(self.epoch),
            self.previous_boundary,
            self.boundary,
            f.x,
            f.y,
            n.x,
            n.y,
        ]
    }

    /// Decodes [`Self::to_field_elements`]' layout, checking the epoch is a u64 and both
    /// digests are points of Jubjub's prime-order subgroup.
    pub fn from_field_elements(fields: &[Fr]) -> Result<Self, PublicInputError> {
        let &[epoch, previous_boundary, boundary, f_x, f_y, n_x, n_y] = fields else {
            return Err(PublicInputError::Count {
                expected: CHUNK_PUBLIC_INPUTS,
                got: fields.len(),
            });
        };
        Ok(Self {
            epoch: decode_u64(epoch, 0)?,
            previous_boundary,
            boundary,
            final_digest: decode_digest(f_x, f_y, 3)?,
            new_keys_digest: decode_digest(n_x, n_y, 5)?,
        })
    }
}

/// The public inputs of the closing proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClosingPublicInputs {
    /// The audited epoch.
    pub epoch: u64,
    /// `PF_prev`: the previous epoch's blinded final digest.
    pub previous_final: BlindedDigest,
    /// `ΣD_RS`: the epoch's summed blinded RS contributions.
    pub read_sum: BlindedDigest,
    /// `ΣD_WS`: the epoch's summed blinded WS contributions.
    pub write_sum: BlindedDigest,
    /// `ΣN_j`: the chunks' summed blinded new-key digests.
    pub new_keys: BlindedDigest,
    /// `PF_new = ΣF_j`: the new blinded final digest.
    pub new_final: BlindedDigest,
}

impl ClosingPublicInputs {
    /// `[epoch, PF_prev.x, PF_prev.y, RS.x, RS.y, WS.x, WS.y, N.x, N.y, PF_new.x, PF_new.y]`.
    pub fn to_field_elements(&self) -> Vec<Fr> {
        let mut fields = vec![Fr::from(self.epoch)];
        for digest in [
            self.previous_final,
            self.read_sum,
            self.write_sum,
            self.new_keys,
            self.new_final,
        ] {
            let point = digest.point();
            fields.extend([point.x, point.y]);
        }
        fields
    }

    /// Decodes [`Self::to_field_elements`]' layout, checking the epoch is a u64 and every
    /// digest is a point of Jubjub's prime-order subgroup.
    pub fn from_field_elements(fields: &[Fr]) -> Result<Self, PublicInputError> {
        let &[epoch, pf_x, pf_y, rs_x, rs_y, ws_x, ws_y, n_x, n_y, nf_x, nf_y] = fields else {
            return Err(PublicInputError::Count {
                expected: CLOSING_PUBLIC_INPUTS,
                got: fields.len(),
            });
        };
        Ok(Self {
            epoch: decode_u64(epoch, 0)?,
            previous_final: decode_digest(pf_x, pf_y, 1)?,
            read_sum: decode_digest(rs_x, rs_y, 3)?,
            write_sum: decode_digest(ws_x, ws_y, 5)?,
            new_keys: decode_digest(n_x, n_y, 7)?,
            new_final: decode_digest(nf_x, nf_y, 9)?,
        })
    }

    /// Whether `PF_prev + ΣN + ΣD_WS = ΣD_RS + PF_new + δ·B`: the statement the closing
    /// circuit proves, natively (for the prover's self-check and for tests).
    pub fn holds(&self, delta: &JubjubScalar) -> bool {
        let lhs = EdwardsProjective::from(self.previous_final.point())
            + self.new_keys.point()
            + self.write_sum.point();
        let rhs = EdwardsProjective::from(self.read_sum.point())
            + self.new_final.point()
            + blinding_generator() * delta;
        lhs == rhs
    }
}

/// Checks an epoch's audit from its verified proofs' public inputs, and returns the epoch's
/// new blinded final digest (the next epoch's `previous_final`).
///
/// Preconditions: every chunk proof and the closing proof verified against their keys for
/// exactly these inputs, and `read_sum` / `write_sum` are the sums of the blinded RS / WS
/// contributions of every verified batch proof of `epoch`. `chunks` are in chain order (the
/// order the log holds them). `previous_final` is the previous epoch's result of this
/// function, or [`genesis_final_digest`] for the first epoch.
///
/// What this adds to the proofs: the chunks form one chain from the sentinel, everything is
/// about `epoch`, and the closing proof's statement — `PF_prev + ΣN + ΣWS = ΣRS + PF_new +
/// δ·B` — is about this previous digest, these batches and exactly these chunks.
pub fn check_epoch(
    epoch: u64,
    previous_final: &BlindedDigest,
    read_sum: &BlindedDigest,
    write_sum: &BlindedDigest,
    chunks: &[ChunkPublicInputs],
    closing: &ClosingPublicInputs,
) -> Result<BlindedDigest, EpochCheckError> {
    if chunks.is_empty() {
        return Err(EpochCheckError::NoChunks);
    }
    let start = chain_start();
    for (position, chunk) in chunks.iter().enumerate() {
        if chunk.epoch != epoch {
            return Err(EpochCheckError::ChunkEpoch {
                position,
                expected: epoch,
                got: chunk.epoch,
            });
        }
        let expected_previous = match position {
            0 => start,
            _ => chunks[position - 1].boundary,
        };
        if chunk.previous_boundary != expected_previous {
            return Err(match position {
                0 => EpochCheckError::ChainStart,
                _ => EpochCheckError::BrokenChain { position },
            });
        }
        if chunk.boundary == start {
            return Err(EpochCheckError::SentinelBoundary { position });
        }
    }
    if closing.epoch != epoch {
        return Err(EpochCheckError::ClosingEpoch {
            expected: epoch,
            got: closing.epoch,
        });
    }
    if closing.previous_final != *previous_final {
        return Err(EpochCheckError::PreviousFinalMismatch);
    }
    if closing.read_sum != *read_sum {
        return Err(EpochCheckError::ReadSumMismatch);
    }
    if closing.write_sum != *write_sum {
        return Err(EpochCheckError::WriteSumMismatch);
    }
    let new_keys: BlindedDigest = chunks.iter().map(|c| c.new_keys_digest).sum();
    if closing.new_keys != new_keys {
        return Err(EpochCheckError::NewKeysMismatch);
    }
    let new_final: BlindedDigest = chunks.iter().map(|c| c.final_digest).sum();
    if closing.new_final != new_final {
        return Err(EpochCheckError::FinalMismatch);
    }
    Ok(new_final)
}

// ------------------------------------------------------------------------------------------
// Prover side: witnesses.
// ------------------------------------------------------------------------------------------

/// An epoch's audited final digest as the prover keeps it: the published point and the
/// blinding behind it, which the next epoch's closing proof needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditedFinal {
    /// `PF = MH(final) + φ·B`, as published.
    pub digest: BlindedDigest,
    /// φ, the sum of the chunks' final blindings. Secret.
    pub blinding: JubjubScalar,
}

impl AuditedFinal {
    /// The state before the first epoch: empty, [`genesis_final_digest`], blinding 0.
    pub fn genesis() -> Self {
        Self {
            digest: genesis_final_digest(),
            blinding: JubjubScalar::zero(),
        }
    }
}

/// The epoch's batch contributions as the prover keeps them: the published sums and the
/// summed blindings behind them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochBatches {
    /// `ΣD_RS`, the sum of the published RS contributions.
    pub read_sum: BlindedDigest,
    /// `ΣD_WS`, the sum of the published WS contributions.
    pub write_sum: BlindedDigest,
    /// `Σρ_R`. Secret.
    pub read_blinding: JubjubScalar,
    /// `Σρ_W`. Secret.
    pub write_blinding: JubjubScalar,
}

impl Default for EpochBatches {
    fn default() -> Self {
        Self::empty()
    }
}

impl EpochBatches {
    /// No batch yet: identity sums, zero blindings.
    pub fn empty() -> Self {
        let identity = SetDigest::empty().blind(&JubjubScalar::zero());
        Self {
            read_sum: identity,
            write_sum: identity,
            read_blinding: JubjubScalar::zero(),
            write_blinding: JubjubScalar::zero(),
        }
    }

    /// Adds one batch: its published RS and WS contributions and their blindings `(ρ_R, ρ_W)`.
    pub fn add_batch(
        &mut self,
        read_set: BlindedDigest,
        write_set: BlindedDigest,
        read_blinding: JubjubScalar,
        write_blinding: JubjubScalar,
    ) {
        self.read_sum = self.read_sum + read_set;
        self.write_sum = self.write_sum + write_set;
        self.read_blinding += read_blinding;
        self.write_blinding += write_blinding;
    }
}

/// One key of the final state in a chunk: its tuple, whether it is new this epoch, and the
/// hash witnesses for `H(k, v, t)` and `H(k, 0, 0)`. Built only by [`AuditedKey::new`], so
/// the hints and points always belong to the tuple.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditedKey {
    tuple: Tuple,
    is_new: bool,
    hint: HashHint,
    init_hint: HashHint,
    point: EdwardsAffine,
    init_point: EdwardsAffine,
}

impl AuditedKey {
    /// Hashes `tuple` and `(key, 0, 0)` (both, whether new or not: the circuit always
    /// computes both so that the new-key bit stays hidden).
    pub fn new(tuple: Tuple, is_new: bool) -> Result<Self, SetDigestError> {
        let (point, hint) = hash_tuple_with_hint(&tuple)?;
        let (init_point, init_hint) = hash_tuple_with_hint(&init_tuple(tuple.key))?;
        Ok(Self {
            tuple,
            is_new,
            hint,
            init_hint,
            point,
            init_point,
        })
    }

    /// A key whose final-tuple hint is the caller's, not the one [`AuditedKey::new`] finds
    /// (its point follows the hint: `8·(x, hint.y)` at the hint's counter). Only for tests of
    /// cheating provers — the chunk circuit must reject every hint but the canonical one.
    /// `None` when `hint.y` is not on the curve at that counter's x.
    #[doc(hidden)]
    pub fn with_hint_unchecked(tuple: Tuple, is_new: bool, hint: HashHint) -> Option<Self> {
        let honest = Self::new(tuple, is_new).ok()?;
        let x = candidate_x(element_domain(), &tuple, hint.counter);
        let point = EdwardsAffine::new_unchecked(x, hint.y);
        if !point.is_on_curve() {
            return None;
        }
        let mut point = EdwardsProjective::from(point);
        for _ in 0..COFACTOR_DOUBLINGS {
            point.double_in_place();
        }
        Some(Self {
            hint,
            point: point.into_affine(),
            ..honest
        })
    }

    /// The final tuple.
    pub fn tuple(&self) -> Tuple {
        self.tuple
    }

    /// Whether the key was first written this epoch.
    pub fn is_new(&self) -> bool {
        self.is_new
    }
}

/// `(key, 0, 0)`: what a key never written reads as, and what init holds for a new key.
fn init_tuple(key: Fr) -> Tuple {
    Tuple::new(key, Fr::zero(), 0)
}

/// The private content of one chunk: its keys (in order) and its fresh randomness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkWitness {
    /// The chunk's final tuples, keys strictly increasing (the circuit checks it).
    pub keys: Vec<AuditedKey>,
    /// The salt of this chunk's boundary commitment.
    pub salt: Fr,
    /// φ_j, blinding `F_j`.
    pub final_blinding: JubjubScalar,
    /// ν_j, blinding `N_j`.
    pub new_keys_blinding: JubjubScalar,
}

/// What a chunk opens of its predecessor: the previous chunk's last key and salt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct BoundaryOpening {
    /// The previous chunk's last key.
    pub key: Fr,
    /// The previous chunk's salt.
    pub salt: Fr,
}

impl ChunkWitness {
    /// A chunk of `keys` with fresh salt and blindings from `rng`.
    pub fn new<R: RngCore + CryptoRng>(keys: Vec<AuditedKey>, rng: &mut R) -> Self {
        Self {
            keys,
            salt: Fr::rand(rng),
            final_blinding: JubjubScalar::rand(rng),
            new_keys_blinding: JubjubScalar::rand(rng),
        }
    }

    /// The key the chunk's boundary commits to: its last key, or — for an empty chunk — the
    /// key it opened (0 for the first chunk).
    pub fn last_key(&self, previous: Option<&BoundaryOpening>) -> Fr {
        self.keys
            .last()
            .map(|k| k.tuple.key)
            .or(previous.map(|p| p.key))
            .unwrap_or_else(Fr::zero)
    }

    /// `MH(final_j)` (unblinded).
    fn final_points(&self) -> EdwardsProjective {
        self.keys.iter().map(|k| k.point).sum()
    }

    /// `MH({(k, 0, 0) : k new})` (unblinded).
    fn new_key_points(&self) -> EdwardsProjective {
        self.keys
            .iter()
            .filter(|k| k.is_new)
            .map(|k| k.init_point)
            .sum()
    }

    /// The public inputs this witness gives in `epoch`, opening `previous` (None for the
    /// first chunk).
    pub fn public_inputs(
        &self,
        epoch: u64,
        previous: Option<&BoundaryOpening>,
    ) -> ChunkPublicInputs {
        let blind = |sum: EdwardsProjective, rho: &JubjubScalar| {
            BlindedDigest::from_point((sum + blinding_generator() * rho).into_affine())
        };
        ChunkPublicInputs {
            epoch,
            previous_boundary: previous
                .map(|p| boundary_commitment(p.key, p.salt, epoch))
                .unwrap_or_else(chain_start),
            boundary: boundary_commitment(self.last_key(previous), self.salt, epoch),
            final_digest: blind(self.final_points(), &self.final_blinding),
            new_keys_digest: blind(self.new_key_points(), &self.new_keys_blinding),
        }
    }
}

/// The audit of one epoch, ready to prove: m chunk circuits, the closing circuit, and what
/// the prover keeps for the next epoch.
#[derive(Clone, Debug)]
pub struct EpochAudit {
    /// The audited epoch.
    pub epoch: u64,
    /// The chunk circuits, in chain order.
    pub chunks: Vec<ChunkCircuit>,
    /// The closing circuit.
    pub closing: ClosingCircuit,
    /// The new final digest and its blinding: the next epoch's `previous`.
    pub new_final: AuditedFinal,
}

impl EpochAudit {
    /// Builds the audit of `snapshot.epoch` (from [`Store::close_epoch`]): splits the final
    /// state into chunks of `keys_per_chunk` keys (one empty chunk for an empty state),
    /// hashes every key in parallel, draws salts and blindings from `rng`, chains the chunks
    /// and computes the closing statement from `previous` (the previous epoch's
    /// [`EpochAudit::new_final`], or [`AuditedFinal::genesis`]) and `batches` (the epoch's
    /// batch contributions).
    ///
    /// Checks what the circuits would reject anyway, to fail early with a reason: the final
    /// state strictly increasing, every new key in it. Whether the epoch balances is not
    /// checked here (see [`EpochAudit::balances`]).
    ///
    /// [`Store::close_epoch`]: super::store::Store::close_epoch
    pub fn build<R: RngCore + CryptoRng>(
        snapshot: &EpochSnapshot,
        keys_per_chunk: usize,
        previous: &AuditedFinal,
        batches: &EpochBatches,
        rng: &mut R,
    ) -> Result<Self, AuditBuildError> {
        if keys_per_chunk == 0 {
            return Err(AuditBuildError::ZeroChunkSize);
        }
        let final_state = &snapshot.final_state;
        if let Some(index) = (1..final_state.len())
            .find(|&i| key_order(&final_state[i - 1].key, &final_state[i].key) != Ordering::Less)
        {
            return Err(AuditBuildError::FinalNotSorted { index });
        }
        if let Some(&key) = snapshot.new_keys.iter().find(|key| {
            final_state
                .binary_search_by(|tuple| key_order(&tuple.key, key))
                .is_err()
        }) {
            return Err(AuditBuildError::NewKeyNotInFinal { key });
        }
        let new_keys: HashSet<Fr> = snapshot.new_keys.iter().copied().collect();
        // H dominates the cost (two hashes per key): hash in parallel.
        let keys = final_state
            .par_iter()
            .map(|tuple| AuditedKey::new(*tuple, new_keys.contains(&tuple.key)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut witnesses: Vec<ChunkWitness> = keys
            .chunks(keys_per_chunk)
            .map(|chunk| ChunkWitness::new(chunk.to_vec(), rng))
            .collect();
        if witnesses.is_empty() {
            witnesses.push(ChunkWitness::new(Vec::new(), rng));
        }
        Self::from_witnesses(snapshot.epoch, keys_per_chunk, previous, batches, witnesses)
    }

    /// Chains `witnesses` (in order) into chunk circuits of `keys_per_chunk` slots — each
    /// opening its predecessor's boundary — and derives the closing statement and δ. Does
    /// not check the witnesses: a bad one gives an unsatisfiable circuit.
    pub fn from_witnesses(
        epoch: u64,
        keys_per_chunk: usize,
        previous: &AuditedFinal,
        batches: &EpochBatches,
        witnesses: Vec<ChunkWitness>,
    ) -> Result<Self, AuditBuildError> {
        if keys_per_chunk == 0 {
            return Err(AuditBuildError::ZeroChunkSize);
        }
        let mut chunks = Vec::with_capacity(witnesses.len());
        let mut opening: Option<BoundaryOpening> = None;
        for (chunk, witness) in witnesses.into_iter().enumerate() {
            if witness.keys.len() > keys_per_chunk {
                return Err(AuditBuildError::ChunkTooLarge {
                    chunk,
                    keys: witness.keys.len(),
                    capacity: keys_per_chunk,
                });
            }
            let public = witness.public_inputs(epoch, opening.as_ref());
            let next = BoundaryOpening {
                key: witness.last_key(opening.as_ref()),
                salt: witness.salt,
            };
            chunks.push(ChunkCircuit {
                keys_per_chunk,
                public,
                previous: opening,
                witness,
            });
            opening = Some(next);
        }

        let new_final_blinding: JubjubScalar =
            chunks.iter().map(|c| c.witness.final_blinding).sum();
        let new_keys_blinding: JubjubScalar =
            chunks.iter().map(|c| c.witness.new_keys_blinding).sum();
        let new_final = AuditedFinal {
            digest: chunks.iter().map(|c| c.public.final_digest).sum(),
            blinding: new_final_blinding,
        };
        // δ: the blinding of the left side minus that of the right side of
        // PF_prev + ΣN + ΣWS = ΣRS + PF_new + δ·B.
        let delta = previous.blinding + new_keys_blinding + batches.write_blinding
            - batches.read_blinding
            - new_final_blinding;
        let closing = ClosingCircuit {
            public: ClosingPublicInputs {
                epoch,
                previous_final: previous.digest,
                read_sum: batches.read_sum,
                write_sum: batches.write_sum,
                new_keys: chunks.iter().map(|c| c.public.new_keys_digest).sum(),
                new_final: new_final.digest,
            },
            delta,
        };
        Ok(Self {
            epoch,
            chunks,
            closing,
            new_final,
        })
    }

    /// The chunk proofs' public inputs, in chain order.
    pub fn chunk_public_inputs(&self) -> Vec<ChunkPublicInputs> {
        self.chunks.iter().map(|c| c.public).collect()
    }

    /// Whether the epoch balances: the closing statement holds for the prover's δ. False
    /// means the closing circuit is unsatisfiable — the snapshot, the new keys or the
    /// batches disagree with the history.
    pub fn balances(&self) -> bool {
        self.closing.public.holds(&self.closing.delta)
    }
}

// ------------------------------------------------------------------------------------------
// Circuits.
// ------------------------------------------------------------------------------------------

/// The proof for one chunk of the final state (see the module docs for what it proves).
///
/// The shape depends only on `keys_per_chunk`: one proving key per chunk size.
#[derive(Clone, Debug)]
pub struct ChunkCircuit {
    /// Key slots of the circuit.
    pub keys_per_chunk: usize,
    /// The public inputs (allocated from these values, in the documented order).
    pub public: ChunkPublicInputs,
    /// The opening of `public.previous_boundary` (None for the first chunk).
    pub previous: Option<BoundaryOpening>,
    /// The chunk's keys and randomness.
    pub witness: ChunkWitness,
}

impl ChunkCircuit {
    /// A satisfiable circuit of `keys_per_chunk` slots with no key and zero randomness, for
    /// key generation (its witness hides nothing and is thrown away).
    pub fn blank(keys_per_chunk: usize) -> Result<Self, AuditBuildError> {
        if keys_per_chunk == 0 {
            return Err(AuditBuildError::ZeroChunkSize);
        }
        let witness = ChunkWitness {
            keys: Vec::new(),
            salt: Fr::zero(),
            final_blinding: JubjubScalar::zero(),
            new_keys_blinding: JubjubScalar::zero(),
        };
        Ok(Self {
            keys_per_chunk,
            public: witness.public_inputs(0, None),
            previous: None,
            witness,
        })
    }
}

/// The closing proof: knowledge of δ with `PF_prev + ΣN + ΣD_WS = ΣD_RS + PF_new + δ·B`.
#[derive(Clone, Debug)]
pub struct ClosingCircuit {
    /// The public inputs.
    pub public: ClosingPublicInputs,
    /// δ, the blinding that closes the equation. Secret.
    pub delta: JubjubScalar,
}

impl ClosingCircuit {
    /// A satisfiable closing circuit (all identities, δ = 0) for key generation.
    pub fn blank() -> Self {
        let identity = genesis_final_digest();
        Self {
            public: ClosingPublicInputs {
                epoch: 0,
                previous_final: identity,
                read_sum: identity,
                write_sum: identity,
                new_keys: identity,
                new_final: identity,
            },
            delta: JubjubScalar::zero(),
        }
    }
}

/// The padding slots' hint: `H(0, 0, 0)`, whose hash is computed (and discarded) by every
/// inactive slot, for both its final tuple and its init tuple.
fn padding_hint() -> Result<HashHint, SynthesisError> {
    static HINT: OnceLock<Option<HashHint>> = OnceLock::new();
    (*HINT.get_or_init(|| hash_tuple_with_hint(&Tuple::default()).ok().map(|(_, h)| h)))
        .ok_or(SynthesisError::AssignmentMissing)
}

/// In-circuit [`boundary_commitment`].
fn boundary_commitment_var(
    key: &FpVar<Fr>,
    salt: &FpVar<Fr>,
    epoch: &FpVar<Fr>,
) -> Result<FpVar<Fr>, SynthesisError> {
    poseidon_gadget::hash_var(
        boundary_domain(),
        [key.clone(), salt.clone(), epoch.clone()],
    )
}

/// Adds `H(tuple)` to `digest` where `condition` holds, the identity otherwise (the hash is
/// computed either way: one circuit shape). 279 + 2 + 6 constraints, plus the hint.
fn insert_if(
    digest: &mut JubjubVar,
    tuple: &TupleVar,
    hint: &HashHintVar,
    condition: &Boolean<Fr>,
) -> Result<(), SynthesisError> {
    let point = hash_tuple_var(tuple, hint)?;
    *digest += condition.select(&point, &JubjubVar::zero())?;
    Ok(())
}

/// Enforces that the public input point `(x, y)` equals `point`.
fn enforce_point_input(
    point: &JubjubVar,
    x: &FpVar<Fr>,
    y: &FpVar<Fr>,
) -> Result<(), SynthesisError> {
    point.x.enforce_equal(x)?;
    point.y.enforce_equal(y)
}

/// Allocates `fields` as public inputs, in order.
fn public_inputs_var(
    cs: &ConstraintSystemRef<Fr>,
    fields: Vec<Fr>,
) -> Result<Vec<FpVar<Fr>>, SynthesisError> {
    fields
        .into_iter()
        .map(|value| FpVar::new_input(cs.clone(), || Ok(value)))
        .collect()
}

impl ConstraintSynthesizer<Fr> for ChunkCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let Self {
            keys_per_chunk,
            public,
            previous,
            witness,
        } = self;
        if witness.keys.len() > keys_per_chunk {
            return Err(SynthesisError::Unsatisfiable);
        }
        // Public inputs first, in the documented order (instance variables are numbered in
        // allocation order).
        let inputs = public_inputs_var(&cs, public.to_field_elements())?;
        let [epoch, previous_boundary, boundary, f_x, f_y, n_x, n_y] = inputs.as_slice() else {
            return Err(SynthesisError::Unsatisfiable);
        };
        // One field element per u64 epoch, and the epoch in a constraint of its own rather
        // than only in the reduction's input-consistency rows.
        bounded_bits_le(epoch, TIMESTAMP_BITS)?;

        // The chain link. The first chunk is the one whose P is the sentinel (nobody can
        // open it); it has no lower bound. Any other chunk opens P in-circuit.
        let is_first = previous_boundary.is_eq(&FpVar::constant(chain_start()))?;
        let opening = previous.unwrap_or_default();
        let before = KeyVar::new_witness(&cs, opening.key)?;
        let before_salt = FpVar::new_witness(cs.clone(), || Ok(opening.salt))?;
        boundary_commitment_var(&before.key, &before_salt, epoch)?
            .conditional_enforce_equal(previous_boundary, &!is_first.clone())?;
        // The first chunk's lower bound is 0, compared with ≤ below: any first key passes.
        before
            .key
            .conditional_enforce_equal(&FpVar::zero(), &is_first)?;

        let padding = padding_hint()?;
        let mut final_digest = JubjubVar::zero();
        let mut new_keys_digest = JubjubVar::zero();
        let (mut last_hi, mut last_lo) = (before.hi.clone(), before.lo.clone());
        let mut previous_key = before;
        let mut previous_active = Boolean::TRUE;
        for slot in 0..keys_per_chunk {
            let audited = witness.keys.get(slot);
            let tuple = audited.map(|k| k.tuple).unwrap_or_default();
            let active = Boolean::new_witness(cs.clone(), || Ok(audited.is_some()))?;
            let is_new =
                Boolean::new_witness(cs.clone(), || Ok(audited.is_some_and(|k| k.is_new)))?;

            let key = KeyVar::new_witness(&cs, tuple.key)?;
            let tuple_var = TupleVar {
                key: key.key.clone(),
                value: FpVar::new_witness(cs.clone(), || Ok(tuple.value))?,
                timestamp: TimestampVar::new_witness(cs.clone(), || Ok(tuple.timestamp))?,
            };
            let hint =
                HashHintVar::new_witness(cs.clone(), || Ok(audited.map_or(padding, |k| k.hint)))?;
            insert_if(&mut final_digest, &tuple_var, &hint, &active)?;

            // Active slots form a prefix, so each active key is compared with an active
            // predecessor (or the opened previous key) and never with a padding slot's.
            if slot > 0 {
                previous_active.conditional_enforce_equal(&Boolean::TRUE, &active)?;
            }
            let allow_equal = if slot == 0 {
                is_first.clone()
            } else {
                Boolean::FALSE
            };
            enforce_key_order(
                (&previous_key.hi, &previous_key.lo),
                (&key.hi, &key.lo),
                &active,
                &allow_equal,
            )?;

            // (k, 0, 0) joins MH(init) only for new keys, but is hashed for every slot so that
            // nothing in the circuit's shape or the published values tells which keys are new.
            let init_var = TupleVar {
                key: key.key.clone(),
                value: FpVar::zero(),
                timestamp: TimestampVar::from_fp(&FpVar::zero())?,
            };
            let init_hint = HashHintVar::new_witness(cs.clone(), || {
                Ok(audited.map_or(padding, |k| k.init_hint))
            })?;
            insert_if(
                &mut new_keys_digest,
                &init_var,
                &init_hint,
                &(&is_new & &active),
            )?;

            last_hi = active.select(&key.hi, &last_hi)?;
            last_lo = active.select(&key.lo, &last_lo)?;
            previous_key = key;
            previous_active = active;
        }

        // The last key is below r as an integer; keys increase, so every key of the chunk is
        // canonical (module docs, "Canonical keys").
        enforce_canonical((&last_hi, &last_lo))?;
        let last_key = recompose(&last_hi, &last_lo);
        let salt = FpVar::new_witness(cs.clone(), || Ok(witness.salt))?;
        boundary_commitment_var(&last_key, &salt, epoch)?.enforce_equal(boundary)?;

        let phi = blinding_scalar_var(cs.clone(), || Ok(witness.final_blinding))?;
        enforce_point_input(&blind_point_var(&final_digest, &phi)?, f_x, f_y)?;
        let nu = blinding_scalar_var(cs, || Ok(witness.new_keys_blinding))?;
        enforce_point_input(&blind_point_var(&new_keys_digest, &nu)?, n_x, n_y)
    }
}

impl ConstraintSynthesizer<Fr> for ClosingCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let inputs = public_inputs_var(&cs, self.public.to_field_elements())?;
        let [epoch, pf_x, pf_y, rs_x, rs_y, ws_x, ws_y, n_x, n_y, nf_x, nf_y] = inputs.as_slice()
        else {
            return Err(SynthesisError::Unsatisfiable);
        };
        bounded_bits_le(epoch, TIMESTAMP_BITS)?;
        // The points are taken as given: the verifier decodes them with a subgroup check
        // (`from_field_elements`), and every one is the output of a verified proof.
        let point = |x: &FpVar<Fr>, y: &FpVar<Fr>| JubjubVar::new(x.clone(), y.clone());
        let lhs = point(pf_x, pf_y) + point(n_x, n_y) + point(ws_x, ws_y);
        let delta = blinding_scalar_var(cs, || Ok(self.delta))?;
        let rhs = blind_point_var(&(point(rs_x, rs_y) + point(nf_x, nf_y)), &delta)?;
        lhs.enforce_equal(&rhs)
    }
}
