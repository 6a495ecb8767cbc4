//! The batch circuit of Spice (DESIGN §4, "Request execution"): B request slots of one
//! [`App`], each a fixed-shape read-modify-write of the app's [`App::KEYS`] key slots, proving
//! what the batch adds to the read digest RS and the write digest WS and what it answered.
//!
//! ```text
//! Store::transact ─▶ Executed ─build_batch─▶ BatchWitness + BatchPublicInputs ─▶ BatchCircuit
//!                                              (hints, salts, ρ)     (Vec<Fr>)      (Prover)
//! ```
//!
//! # Public inputs (in this order; [`BatchPublicInputs::to_field_elements`])
//!
//! | index | value                                                                  |
//! |-------|------------------------------------------------------------------------|
//! | 0     | epoch (u64, range-checked in-circuit)                                  |
//! | 1     | batch id (u64, range-checked in-circuit)                               |
//! | 2     | root of the request/response commitment tree ([`super::request_commitment`]) |
//! | 3, 4  | blinded RS contribution `MH(reads) + ρ_R·B`: Jubjub x, y               |
//! | 5, 6  | blinded WS contribution `MH(writes) + ρ_W·B`: Jubjub x, y              |
//!
//! RS and WS are blinded with independent scalars: with one ρ, `WS − RS` would be published
//! unblinded, and a guess of a batch's plaintext could be checked against it. The epoch and
//! batch id are not used by any other constraint; their 64-bit range checks make them
//! canonical (one field element per u64) and put them in constraints explicitly, instead of
//! relying on the reduction's input-consistency rows to bind an otherwise unused input.
//!
//! # One slot
//!
//! 1. The request (private, allocated by the app's [`App::RequestVar`]) and `t_req` (64 bits).
//! 2. [`apply_var`]: the key slots, masked old values, distinct active keys, the app's logic,
//!    the new values (unchanged when invalid) and the response.
//! 3. Per key slot, [`storage_op_var`]: the prover supplies `t_old` and the two hash hints; the
//!    circuit checks `t_old < t_req` and adds `H(k, v_old, t_old)` to RS and
//!    `H(k, v_new, t_req)` to WS — *if the slot is active*.
//! 4. The leaf `Com(salt; request ‖ response)`.
//!
//! # Inactive slots and no-op padding
//!
//! A key slot the request does not touch (`active = 0`, a function of the committed request)
//! and every slot of the no-op request that pads a batch still run the full gadget — the
//! circuit has one shape — but add the identity to RS and WS (a selected point, 2
//! constraints). This is sound because nothing about the store flows through them: the app
//! sees 0 instead of the unauthenticated old value, the written value goes nowhere, and the
//! digests are exactly the digests of the *active* operations, which are fully checked. A
//! padding slot is a real request of the app (its no-op), committed and salted like any
//! other, so the tree does not reveal how many slots were used; its witness uses
//! `(k, 0, 0)` read and `t_req` = [`FIRST_TIMESTAMP`], which satisfies `t_old < t_req`.
//!
//! # Rejected requests
//!
//! A request the app rejects is executed anyway: its active keys are read and rewritten with
//! their old values at `t_req`, and its response is `[0, 0…]`. It cannot skip the store,
//! because the decision to reject depends on values that must be authenticated (see
//! [`super::storage_gadget`]). [`execute`](super::storage_gadget::execute) does the same
//! natively, so every record a batch proves came from `Store::transact`.
//!
//! # What the circuit does not check, and why that is sound
//!
//! * **`t_req` is not tied to the epoch** (nor unique across requests). The audit's chain
//!   argument needs only `init + ΣWS = ΣRS + final` and `t_old < t_req` along every key, which
//!   holds across epoch boundaries too (a read of a tuple from the previous `final` still
//!   needs `t_old < t_req`). Per-key chains are consistent with the total order of `t_req`,
//!   so their union is acyclic and the requests are serialisable by `t_req`. The epoch only
//!   decides which audit sums a batch: a batch counted in another epoch than the one it ran
//!   in either makes an audit fail or describes another valid serial history.
//! * **Request authorisation** is the app's job (signatures, DESIGN §4): this layer proves
//!   what was executed, not who asked for it.
//!
//! # Constraint counts (TransferApp, 2 key slots; `batch_constraint_counts_are_reported`)
//!
//! | part                 | constraints |
//! |----------------------|-------------|
//! | one storage op       | 1,225       |
//! | one slot             | 3,645       |
//! | fixed per batch      | 2,397       |
//!
//! * Storage op ([`storage_op_var`]): `t_old` 64, `t_old < t_req` 65, two set elements of
//!   548 each (hint 261, H 279, select 2, addition 6).
//! * Slot: request 68 (kind bits, exclusion, amount), `t_req` 64, [`apply_var`] around the
//!   app 8, TransferApp's key slots 2 and logic 271, two storage ops 2,450, leaf commitment (2 Poseidon
//!   permutations) and one tree node ≈ 780.
//! * Fixed: epoch and batch id ranges 130, two blindings (252 bits each plus 126 two-bit
//!   lookups and additions), the final additions and equality checks, less one tree node
//!   (B slots have B − 1 nodes, the per-slot figure counts B).
//!
//! A batch of B slots, B a power of two, costs exactly `3,645·B + 2,397` (B = 2: 9,687;
//! B = 4: 16,977); otherwise the padded tree has fewer non-constant nodes. The storage ops are
//! two thirds of a slot, in line with DESIGN's estimate of ~1,250 per read-modify-write.

use ark_bls12_381::Fr;
use ark_ec::CurveGroup;
use ark_ed_on_bls12_381::{EdwardsAffine, EdwardsProjective, Fr as JubjubScalar};
use ark_ff::{UniformRand, Zero};
use ark_r1cs_std::{
    alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::fp::FpVar, groups::CurveVar,
};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use ark_std::rand::{CryptoRng, RngCore};
use rayon::prelude::*;

use super::{
    field_encoding::{decode_digest, decode_u64, PublicInputError},
    integer_gadget::bounded_bits_le,
    request_commitment::{
        commit, commit_var, merkle_root_var, CommitmentError, MerkleTree, Receipt,
    },
    set_digest::{
        blinding_generator, element_domain, hash_at_counter, hash_tuple_with_hint, BlindedDigest,
        HashHint, SetDigestError, Tuple, TIMESTAMP_BITS,
    },
    set_digest_gadget::{
        blinding_scalar_var, hash_tuple_var, HashHintVar, JubjubVar, SetDigestVar, TimestampVar,
        TupleVar,
    },
    storage_gadget::{apply, apply_var, App, AppError, Applied, Executed, KeySlotVar},
    store::FIRST_TIMESTAMP,
};

/// Number of public inputs of a batch proof (see the module docs for the layout).
pub const NUM_PUBLIC_INPUTS: usize = 7;

/// Errors of the batch witness builder and of public-input decoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// A batch has at least one slot.
    #[error("a batch needs at least one slot")]
    ZeroCapacity,
    /// More requests than slots.
    #[error("{requests} requests do not fit a batch of {capacity} slots")]
    TooManyRequests {
        /// Requests given.
        requests: usize,
        /// Slots in the batch.
        capacity: usize,
    },
    /// A record belongs to another epoch.
    #[error("slot {slot}: record of epoch {record_epoch} in a batch of epoch {batch_epoch}")]
    EpochMismatch {
        /// The slot.
        slot: usize,
        /// The record's epoch.
        record_epoch: u64,
        /// The batch's epoch.
        batch_epoch: u64,
    },
    /// A record's operations do not match the request's active key slots.
    #[error("slot {slot}: the record's operations do not match the request's active keys")]
    KeyMismatch {
        /// The slot.
        slot: usize,
    },
    /// A slot witness does not have one operation per key slot.
    #[error("slot {slot}: {got} storage operations, the app has {expected} key slots")]
    OpCount {
        /// The slot.
        slot: usize,
        /// `App::KEYS`.
        expected: usize,
        /// Operations given.
        got: usize,
    },
    /// A read tuple is not older than its request (the circuit would be unsatisfiable).
    #[error("slot {slot}, op {op}: read timestamp {t_old} is not below t_req {t_req}")]
    TimestampNotIncreasing {
        /// The slot.
        slot: usize,
        /// The key slot.
        op: usize,
        /// The read tuple's timestamp.
        t_old: u64,
        /// The request's timestamp.
        t_req: u64,
    },
    /// Re-executing the request on the record's old values gives other new values or another
    /// response than recorded.
    #[error("slot {slot}: the record and response are not what the app computes")]
    InconsistentExecution {
        /// The slot.
        slot: usize,
    },
    /// A hash hint does not verify for its tuple (the circuit would be unsatisfiable).
    #[error("slot {slot}, op {op}: the {set} hint does not hash the tuple")]
    BadHint {
        /// The slot.
        slot: usize,
        /// The key slot.
        op: usize,
        /// "read" or "write".
        set: &'static str,
    },
    /// The application broke its contract.
    #[error(transparent)]
    App(#[from] AppError),
    /// A tuple could not be hashed.
    #[error(transparent)]
    Hash(#[from] SetDigestError),
    /// The commitment tree could not be built.
    #[error(transparent)]
    Commitment(#[from] CommitmentError),
}

/// The public inputs of one batch proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchPublicInputs {
    /// The epoch the batch belongs to.
    pub epoch: u64,
    /// The batch's id (unique within the service's log).
    pub batch_id: u64,
    /// Root of the request/response commitment tree.
    pub root: Fr,
    /// The blinded RS contribution `MH(reads) + ρ_R·B`.
    pub read_set: BlindedDigest,
    /// The blinded WS contribution `MH(writes) + ρ_W·B`.
    pub write_set: BlindedDigest,
}

impl BatchPublicInputs {
    /// The inputs as the verifier passes them: `[epoch, batch id, root, RS.x, RS.y, WS.x,
    /// WS.y]`.
    pub fn to_field_elements(&self) -> Vec<Fr> {
        let rs = self.read_set.point();
        let ws = self.write_set.point();
        vec![
            Fr::from(self.epoch),
            Fr::from(self.batch_id),
            self.root,
            rs.x,
            rs.y,
            ws.x,
            ws.y,
        ]
    }

    /// Decodes [`Self::to_field_elements`]' layout, checking that the epoch and batch id are
    /// u64 and that both digests are points of Jubjub's prime-order subgroup (every honest
    /// contribution is: H's outputs and B are).
    pub fn from_field_elements(fields: &[Fr]) -> Result<Self, PublicInputError> {
        let &[epoch, batch_id, root, rs_x, rs_y, ws_x, ws_y] = fields else {
            return Err(PublicInputError::Count {
                expected: NUM_PUBLIC_INPUTS,
                got: fields.len(),
            });
        };
        Ok(Self {
            epoch: decode_u64(epoch, 0)?,
            batch_id: decode_u64(batch_id, 1)?,
            root,
            read_set: decode_digest(rs_x, rs_y, 3)?,
            write_set: decode_digest(ws_x, ws_y, 5)?,
        })
    }
}

/// The prover's witness for one key slot of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct OpWitness {
    /// The value read (ignored — masked to 0 — when the slot is inactive).
    pub old_value: Fr,
    /// The timestamp of the tuple read (0 for a key never written, and for inactive slots).
    pub old_timestamp: u64,
    /// Hint for `H(k, v_old, t_old)`.
    pub read_hint: HashHint,
    /// Hint for `H(k, v_new, t_req)`.
    pub write_hint: HashHint,
}

/// The prover's witness for one slot.
#[derive(Clone, Debug)]
pub struct SlotWitness<A: App> {
    /// The request.
    pub request: A::Request,
    /// [`App::authorized`] of the request, as recorded at execution (not re-verified: the
    /// circuit checks the signature itself).
    pub authorized: bool,
    /// Its timestamp.
    pub t_req: u64,
    /// One operation per key slot ([`App::KEYS`]).
    pub ops: Vec<OpWitness>,
    /// The salt of the slot's commitment.
    pub salt: Fr,
}

/// The prover's witness for one batch.
#[derive(Clone, Debug)]
pub struct BatchWitness<A: App> {
    /// The epoch.
    pub epoch: u64,
    /// The batch id.
    pub batch_id: u64,
    /// The slots (the batch's capacity).
    pub slots: Vec<SlotWitness<A>>,
    /// ρ_R, blinding RS. The audit needs the epoch's sum of these: keep it secret, keep it.
    pub read_blinding: JubjubScalar,
    /// ρ_W, blinding WS.
    pub write_blinding: JubjubScalar,
}

/// The tuples one slot reads and writes, exactly as the circuit forms them.
struct SlotTuples<R> {
    applied: Applied<R>,
    reads: Vec<Tuple>,
    writes: Vec<Tuple>,
}

impl<R> SlotTuples<R> {
    fn active(&self, op: usize) -> bool {
        self.applied.keys[op].active
    }
}

/// The native mirror of one slot of the circuit: the request applied to the witness's old
/// values, and the tuples that go into RS and WS (for every key slot, active or not).
fn slot_tuples<A: App>(
    app: &A,
    index: usize,
    slot: &SlotWitness<A>,
) -> Result<SlotTuples<A::Reject>, BatchError> {
    if slot.ops.len() != A::KEYS {
        return Err(BatchError::OpCount {
            slot: index,
            expected: A::KEYS,
            got: slot.ops.len(),
        });
    }
    let old: Vec<Fr> = slot.ops.iter().map(|op| op.old_value).collect();
    let applied = apply(app, &slot.request, slot.authorized, &old)?;
    let reads = (0..A::KEYS)
        .map(|i| {
            Tuple::new(
                applied.keys[i].key,
                applied.old_values[i],
                slot.ops[i].old_timestamp,
            )
        })
        .collect();
    let writes = (0..A::KEYS)
        .map(|i| Tuple::new(applied.keys[i].key, applied.new_values[i], slot.t_req))
        .collect();
    Ok(SlotTuples {
        applied,
        reads,
        writes,
    })
}

/// The slot's commitment leaf, natively.
fn slot_leaf<A: App, R>(
    app: &A,
    slot: &SlotWitness<A>,
    tuples: &SlotTuples<R>,
) -> Result<Fr, BatchError> {
    let request = app.encode_request(&slot.request);
    if request.len() != A::REQUEST_FIELDS {
        return Err(AppError::RequestLength {
            expected: A::REQUEST_FIELDS,
            got: request.len(),
        }
        .into());
    }
    Ok(commit(
        slot.salt,
        &request,
        &tuples.applied.response.encode(),
    ))
}

/// `MH + ρ·B` from a summed digest point: what [`SetDigest::blind`](super::set_digest::SetDigest::blind)
/// computes, without re-hashing the tuples.
fn blind(sum: EdwardsProjective, rho: &JubjubScalar) -> BlindedDigest {
    BlindedDigest::from_point((sum + blinding_generator() * rho).into_affine())
}

/// A slot's tuples and their points `(H(read), H(write))`, one pair per key slot.
type HashedSlot<R> = (SlotTuples<R>, Vec<(EdwardsAffine, EdwardsAffine)>);

/// Hashes every tuple of every slot with its minimal counter (in parallel over slots) and
/// stores the hints in `slots`.
fn hash_slots<A: App>(
    app: &A,
    slots: &mut [SlotWitness<A>],
) -> Result<Vec<HashedSlot<A::Reject>>, BatchError> {
    slots
        .par_iter_mut()
        .enumerate()
        .map(|(index, slot)| {
            let tuples = slot_tuples(app, index, slot)?;
            let mut points = Vec::with_capacity(A::KEYS);
            for (op, (read, write)) in slot
                .ops
                .iter_mut()
                .zip(tuples.reads.iter().zip(&tuples.writes))
            {
                let (read_point, read_hint) = hash_tuple_with_hint(read)?;
                let (write_point, write_hint) = hash_tuple_with_hint(write)?;
                op.read_hint = read_hint;
                op.write_hint = write_hint;
                points.push((read_point, write_point));
            }
            Ok((tuples, points))
        })
        .collect()
}

/// The public inputs from hashed slots.
fn public_inputs_of<A: App>(
    app: &A,
    witness: &BatchWitness<A>,
    hashed: &[HashedSlot<A::Reject>],
) -> Result<(BatchPublicInputs, MerkleTree), BatchError> {
    let mut reads = EdwardsProjective::zero();
    let mut writes = EdwardsProjective::zero();
    let mut leaves = Vec::with_capacity(hashed.len());
    for ((tuples, points), slot) in hashed.iter().zip(&witness.slots) {
        for (op, (read, write)) in points.iter().enumerate() {
            // Inactive slots add nothing (the circuit selects the identity).
            if tuples.active(op) {
                reads += read;
                writes += write;
            }
        }
        leaves.push(slot_leaf(app, slot, tuples)?);
    }
    let tree = MerkleTree::new(&leaves)?;
    let public = BatchPublicInputs {
        epoch: witness.epoch,
        batch_id: witness.batch_id,
        root: tree.root(),
        read_set: blind(reads, &witness.read_blinding),
        write_set: blind(writes, &witness.write_blinding),
    };
    Ok((public, tree))
}

impl<A: App> BatchWitness<A> {
    /// Recomputes every hash hint from the witness's values (minimal counters), as the
    /// builder does. For tools and tests that edit a witness.
    pub fn recompute_hints(&mut self, app: &A) -> Result<(), BatchError> {
        hash_slots(app, &mut self.slots).map(|_| ())
    }

    /// The public inputs the circuit computes from this witness, natively: the digests of
    /// the active tuples (each hint checked the way the circuit checks it — any counter whose
    /// root is canonical is accepted), blinded, and the commitment root. A hint error means
    /// the circuit is unsatisfiable for any public inputs. The other checks of the circuit
    /// (`t_old < t_req`, the app's ranges, distinct keys — the last via [`apply`]) are not
    /// all repeated here: `Ok` does not promise a satisfiable circuit, only what it would
    /// output.
    pub fn public_inputs(&self, app: &A) -> Result<BatchPublicInputs, BatchError> {
        let hashed =
            self.slots
                .par_iter()
                .enumerate()
                .map(|(index, slot)| {
                    let tuples = slot_tuples(app, index, slot)?;
                    let mut points = Vec::with_capacity(A::KEYS);
                    for (op, witness) in slot.ops.iter().enumerate() {
                        let read = point_from_hint(&tuples.reads[op], &witness.read_hint).ok_or(
                            BatchError::BadHint {
                                slot: index,
                                op,
                                set: "read",
                            },
                        )?;
                        let write = point_from_hint(&tuples.writes[op], &witness.write_hint)
                            .ok_or(BatchError::BadHint {
                                slot: index,
                                op,
                                set: "write",
                            })?;
                        points.push((read, write));
                    }
                    Ok((tuples, points))
                })
                .collect::<Result<Vec<_>, BatchError>>()?;
        public_inputs_of(app, self, &hashed).map(|(public, _)| public)
    }
}

/// H of `tuple` with the prover's `hint`, if the circuit accepts the hint: the hint's root
/// must be *the* canonical root for its counter (at most one of ±y is below 2^253).
fn point_from_hint(tuple: &Tuple, hint: &HashHint) -> Option<EdwardsAffine> {
    hash_at_counter(element_domain(), tuple, hint.counter)
        .filter(|(_, canonical)| canonical.y == hint.y)
        .map(|(point, _)| point)
}

/// A batch ready to prove: the circuit (witness and public inputs inside) and one receipt per
/// executed request, in the order given.
#[derive(Clone, Debug)]
pub struct ProvableBatch<A: App> {
    /// The circuit to hand to the prover.
    pub circuit: BatchCircuit<A>,
    /// `receipts[i]` opens the slot of `executed[i]`.
    pub receipts: Vec<Receipt>,
}

impl<A: App> ProvableBatch<A> {
    /// The statement: the verifier's `Vec<Fr>` is
    /// [`to_field_elements`](BatchPublicInputs::to_field_elements), and the blinded RS / WS
    /// contributions are what the epoch's verifier sums.
    pub fn public_inputs(&self) -> &BatchPublicInputs {
        &self.circuit.public_inputs
    }

    /// `(ρ_R, ρ_W)`: the blindings of this batch's RS and WS, which the prover's audit must
    /// sum over the epoch. Secret.
    pub fn blindings(&self) -> (JubjubScalar, JubjubScalar) {
        (
            self.circuit.witness.read_blinding,
            self.circuit.witness.write_blinding,
        )
    }
}

/// Builds the witness and the public inputs of a batch of `capacity` slots from executed
/// requests (in slot order), padding with the app's no-op. Salts and the two blindings are
/// drawn from `rng`, which must be cryptographic: they are what hides the batch.
///
/// Checks everything the circuit will check (records of this epoch, keys matching the
/// request's active slots, `t_old < t_req`, re-execution giving the recorded values and
/// response), so an error names the slot instead of leaving an unsatisfiable circuit.
pub fn build_batch<A: App, R: RngCore + CryptoRng>(
    app: &A,
    epoch: u64,
    batch_id: u64,
    capacity: usize,
    executed: &[Executed<A>],
    rng: &mut R,
) -> Result<ProvableBatch<A>, BatchError> {
    if capacity == 0 {
        return Err(BatchError::ZeroCapacity);
    }
    if executed.len() > capacity {
        return Err(BatchError::TooManyRequests {
            requests: executed.len(),
            capacity,
        });
    }
    let mut slots = Vec::with_capacity(capacity);
    for (index, ex) in executed.iter().enumerate() {
        slots.push(slot_from_record(app, epoch, index, ex, Fr::rand(rng))?);
    }
    let noop = app.noop();
    if let Some(slot) = app.keys(&noop).iter().position(|slot| slot.active) {
        return Err(AppError::NoopTouchesState { slot }.into());
    }
    let noop_authorized = app.authorized(&noop);
    while slots.len() < capacity {
        slots.push(SlotWitness {
            request: noop.clone(),
            authorized: noop_authorized,
            t_req: FIRST_TIMESTAMP,
            ops: vec![OpWitness::default(); A::KEYS],
            salt: Fr::rand(rng),
        });
    }
    let mut witness = BatchWitness {
        epoch,
        batch_id,
        slots,
        read_blinding: JubjubScalar::rand(rng),
        write_blinding: JubjubScalar::rand(rng),
    };
    let hashed = hash_slots(app, &mut witness.slots)?;
    let (public_inputs, tree) = public_inputs_of(app, &witness, &hashed)?;
    let receipts = (0..executed.len())
        .map(|slot| {
            Ok(Receipt {
                slot,
                salt: witness.slots[slot].salt,
                path: tree.path(slot)?,
            })
        })
        .collect::<Result<_, BatchError>>()?;
    Ok(ProvableBatch {
        circuit: BatchCircuit::new(app.clone(), witness, public_inputs)?,
        receipts,
    })
}

/// One slot's witness (hints still empty) from a store record, checked against the request.
fn slot_from_record<A: App>(
    app: &A,
    epoch: u64,
    index: usize,
    ex: &Executed<A>,
    salt: Fr,
) -> Result<SlotWitness<A>, BatchError> {
    let record = &ex.record;
    if record.epoch != epoch {
        return Err(BatchError::EpochMismatch {
            slot: index,
            record_epoch: record.epoch,
            batch_epoch: epoch,
        });
    }
    let keys = app.keys(&ex.request);
    if keys.len() != A::KEYS {
        return Err(AppError::KeyCount {
            expected: A::KEYS,
            got: keys.len(),
        }
        .into());
    }
    // The record holds one op per active slot, in slot order.
    let mut ops = vec![OpWitness::default(); A::KEYS];
    let mut recorded = record.ops.iter();
    let mut new_values = vec![None; A::KEYS];
    for (op, slot) in keys.iter().enumerate().filter(|(_, slot)| slot.active) {
        let storage_op = recorded
            .next()
            .ok_or(BatchError::KeyMismatch { slot: index })?;
        if storage_op.old.key != slot.key
            || storage_op.new.key != slot.key
            || storage_op.new.timestamp != record.t_req
        {
            return Err(BatchError::KeyMismatch { slot: index });
        }
        if storage_op.old.timestamp >= record.t_req {
            return Err(BatchError::TimestampNotIncreasing {
                slot: index,
                op,
                t_old: storage_op.old.timestamp,
                t_req: record.t_req,
            });
        }
        ops[op].old_value = storage_op.old.value;
        ops[op].old_timestamp = storage_op.old.timestamp;
        new_values[op] = Some(storage_op.new.value);
    }
    if recorded.next().is_some() {
        return Err(BatchError::KeyMismatch { slot: index });
    }
    let slot = SlotWitness {
        request: ex.request.clone(),
        authorized: ex.authorized,
        t_req: record.t_req,
        ops,
        salt,
    };
    // The record and the response must be what the app computes from the old values.
    let old_values: Vec<Fr> = slot.ops.iter().map(|op| op.old_value).collect();
    let applied = apply(app, &slot.request, slot.authorized, &old_values)?;
    let consistent = new_values
        .iter()
        .zip(&applied.new_values)
        .all(|(recorded, computed)| recorded.map_or(true, |value| value == *computed));
    if !consistent || applied.response != ex.response {
        return Err(BatchError::InconsistentExecution { slot: index });
    }
    Ok(slot)
}

/// RS or WS being accumulated in the circuit, with conditional insertion.
///
/// [`SetDigestVar`] has no conditional insert, so the running sum is kept here and blinded
/// with `SetDigestVar::empty().blind(ρ)` (= ρ·B) plus one addition: 6 constraints more than
/// blinding in place, once per batch.
#[derive(Clone, Debug)]
pub struct MaskedDigestVar(JubjubVar);

impl MaskedDigestVar {
    /// The empty digest.
    pub fn empty() -> Self {
        Self(JubjubVar::zero())
    }

    /// Adds `H(tuple)` (with the prover's `hint`) when `condition` holds, the identity
    /// otherwise. The hash is computed — and its hint checked — either way: the circuit has
    /// one shape.
    pub fn insert_if(
        &mut self,
        tuple: &TupleVar,
        hint: &HashHintVar,
        condition: &Boolean<Fr>,
    ) -> Result<(), SynthesisError> {
        let point = hash_tuple_var(tuple, hint)?;
        self.0 += condition.select(&point, &JubjubVar::zero())?;
        Ok(())
    }

    /// The running sum.
    pub fn point(&self) -> &JubjubVar {
        &self.0
    }

    /// `MH + ρ·B`, ρ given by its bits ([`blinding_scalar_var`]).
    pub fn blind(&self, rho_bits: &[Boolean<Fr>]) -> Result<JubjubVar, SynthesisError> {
        Ok(&self.0 + SetDigestVar::empty().blind(rho_bits)?)
    }
}

/// In-circuit twin of [`BatchDigests`](super::store::BatchDigests): RS and WS of a batch.
#[derive(Clone, Debug)]
pub struct BatchDigestsVar {
    /// RS.
    pub read_set: MaskedDigestVar,
    /// WS.
    pub write_set: MaskedDigestVar,
}

impl BatchDigestsVar {
    /// Both empty.
    pub fn empty() -> Self {
        Self {
            read_set: MaskedDigestVar::empty(),
            write_set: MaskedDigestVar::empty(),
        }
    }
}

/// One storage operation of a request: reads `(k, old_value, t_old)`, checks
/// `t_old < t_req`, writes `(k, new_value, t_req)`; both tuples go into `digests` when the key
/// slot is active. `old_value` must already be masked ([`apply_var`] does it); `op` supplies
/// `t_old` and the hints. See the module docs for the cost.
pub fn storage_op_var(
    cs: ConstraintSystemRef<Fr>,
    op: &OpWitness,
    slot: &KeySlotVar,
    old_value: &FpVar<Fr>,
    new_value: &FpVar<Fr>,
    t_req: &TimestampVar,
    digests: &mut BatchDigestsVar,
) -> Result<(), SynthesisError> {
    let t_old = TimestampVar::new_witness(cs.clone(), || Ok(op.old_timestamp))?;
    // Strictly increasing timestamps along every key's chain: with the multiset equation
    // this is what makes each key's history one chain (DESIGN §4).
    t_old.enforce_lt(t_req)?;
    let read = TupleVar {
        key: slot.key.clone(),
        value: old_value.clone(),
        timestamp: t_old,
    };
    let read_hint = HashHintVar::new_witness(cs.clone(), || Ok(op.read_hint))?;
    digests
        .read_set
        .insert_if(&read, &read_hint, &slot.active)?;
    let write = TupleVar {
        key: slot.key.clone(),
        value: new_value.clone(),
        timestamp: t_req.clone(),
    };
    let write_hint = HashHintVar::new_witness(cs, || Ok(op.write_hint))?;
    digests
        .write_set
        .insert_if(&write, &write_hint, &slot.active)
}

/// One slot in the circuit: allocates the request and `t_req`, applies the request, runs its
/// storage operations into `digests`, and returns the slot's commitment leaf.
pub fn slot_var<A: App>(
    cs: ConstraintSystemRef<Fr>,
    app: &A,
    slot: &SlotWitness<A>,
    digests: &mut BatchDigestsVar,
) -> Result<FpVar<Fr>, SynthesisError> {
    if slot.ops.len() != A::KEYS {
        return Err(SynthesisError::Unsatisfiable);
    }
    let request = A::RequestVar::new_witness(cs.clone(), || Ok(slot.request.clone()))?;
    let t_req = TimestampVar::new_witness(cs.clone(), || Ok(slot.t_req))?;
    let old_values = slot
        .ops
        .iter()
        .map(|op| FpVar::new_witness(cs.clone(), || Ok(op.old_value)))
        .collect::<Result<Vec<_>, _>>()?;
    let applied = apply_var(app, &request, &old_values)?;
    for (i, op) in slot.ops.iter().enumerate() {
        storage_op_var(
            cs.clone(),
            op,
            &applied.keys[i],
            &applied.old_values[i],
            &applied.new_values[i],
            &t_req,
            digests,
        )?;
    }
    let encoded = app.encode_request_var(&request)?;
    if encoded.len() != A::REQUEST_FIELDS {
        return Err(SynthesisError::Unsatisfiable);
    }
    let salt = FpVar::new_witness(cs, || Ok(slot.salt))?;
    commit_var(&salt, &encoded, &applied.response.encode())
}

/// The batch circuit of an app: a witness and the public inputs it claims.
#[derive(Clone, Debug)]
pub struct BatchCircuit<A: App> {
    /// The application.
    pub app: A,
    /// The prover's witness.
    pub witness: BatchWitness<A>,
    /// The statement (allocated as the circuit's public inputs, in the documented order).
    pub public_inputs: BatchPublicInputs,
}

impl<A: App> BatchCircuit<A> {
    /// A circuit over `witness` claiming `public_inputs`. Checks the shape only (at least one
    /// slot, [`App::KEYS`] ops per slot); whether the claim is true is the circuit's job.
    pub fn new(
        app: A,
        witness: BatchWitness<A>,
        public_inputs: BatchPublicInputs,
    ) -> Result<Self, BatchError> {
        if witness.slots.is_empty() {
            return Err(BatchError::ZeroCapacity);
        }
        if let Some((slot, bad)) = witness
            .slots
            .iter()
            .enumerate()
            .find(|(_, slot)| slot.ops.len() != A::KEYS)
        {
            return Err(BatchError::OpCount {
                slot,
                expected: A::KEYS,
                got: bad.ops.len(),
            });
        }
        Ok(Self {
            app,
            witness,
            public_inputs,
        })
    }

    /// The all-no-op batch of `capacity` slots (zero salts and blindings): a satisfied
    /// circuit of the same shape as every batch of this app and capacity, for key generation.
    pub fn blank(app: A, capacity: usize) -> Result<Self, BatchError> {
        let built = build_batch(&app, 0, 0, capacity, &[], &mut ZeroRng)?;
        Ok(built.circuit)
    }

    /// The number of slots.
    pub fn capacity(&self) -> usize {
        self.witness.slots.len()
    }
}

/// An "rng" that returns zeros: deterministic salts and blindings for [`BatchCircuit::blank`]
/// (whose witness is thrown away after key generation; it hides nothing and needs not).
struct ZeroRng;

impl RngCore for ZeroRng {
    fn next_u32(&mut self) -> u32 {
        0
    }
    fn next_u64(&mut self) -> u64 {
        0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.fill(0);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), ark_std::rand::Error> {
        dest.fill(0);
        Ok(())
    }
}

impl CryptoRng for ZeroRng {}

impl<A: App> ConstraintSynthesizer<Fr> for BatchCircuit<A> {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let Self {
            app,
            witness,
            public_inputs,
        } = self;
        // Public inputs first, in the documented order (instance variables are numbered in
        // allocation order).
        let inputs = public_inputs
            .to_field_elements()
            .into_iter()
            .map(|value| FpVar::new_input(cs.clone(), || Ok(value)))
            .collect::<Result<Vec<_>, _>>()?;
        let [epoch, batch_id, root, rs_x, rs_y, ws_x, ws_y] = inputs.as_slice() else {
            return Err(SynthesisError::Unsatisfiable);
        };
        bounded_bits_le(epoch, TIMESTAMP_BITS)?;
        bounded_bits_le(batch_id, TIMESTAMP_BITS)?;

        let mut digests = BatchDigestsVar::empty();
        let leaves = witness
            .slots
            .iter()
            .map(|slot| slot_var(cs.clone(), &app, slot, &mut digests))
            .collect::<Result<Vec<_>, _>>()?;
        merkle_root_var(&leaves)?.enforce_equal(root)?;

        let read_rho = blinding_scalar_var(cs.clone(), || Ok(witness.read_blinding))?;
        let read_set = digests.read_set.blind(&read_rho)?;
        read_set.x.enforce_equal(rs_x)?;
        read_set.y.enforce_equal(rs_y)?;
        let write_rho = blinding_scalar_var(cs, || Ok(witness.write_blinding))?;
        let write_set = digests.write_set.blind(&write_rho)?;
        write_set.x.enforce_equal(ws_x)?;
        write_set.y.enforce_equal(ws_y)?;
        Ok(())
    }
}
