//! What the tests of the apps (`ledger.rs`, `interbank.rs`, `darkpool.rs`, `batch_circuit.rs`)
//! share: running workload streams on a store with one thread each, replaying executed
//! requests sequentially, checking batches against the circuit and the epoch audit, and
//! building the batch a cheating prover would submit.
#![allow(dead_code)]

use std::thread;

use ark_bls12_381::Fr;
use ark_ec::CurveGroup;
use ark_ed_on_bls12_381::{EdwardsProjective, Fr as JubjubScalar};
use ark_ff::Zero;
use ark_r1cs_std::{alloc::AllocVar, fields::fp::FpVar, GR1CSVar};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef};
use ark_std::rand::{rngs::StdRng, SeedableRng};

use spice::host::{
    batch::{build_batch, BatchCircuit, BatchPublicInputs, ProvableBatch},
    request_commitment::{commit, MerkleTree},
    set_digest::{blinding_generator, hash_tuple_with_hint, BlindedDigest, SetDigest, Tuple},
    storage_gadget::{apply, apply_var, execute, App, Applied, Executed, Response},
    store::{audit_init, EpochSnapshot, Store},
    workload::Stream,
};

/// Synthesises `circuit` and returns its constraint system.
pub fn synthesized<A: App>(circuit: BatchCircuit<A>) -> ConstraintSystemRef<Fr> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    circuit.generate_constraints(cs.clone()).expect("synthesis");
    cs
}

/// Whether the honest assignment of `circuit` satisfies it.
pub fn satisfied<A: App>(circuit: BatchCircuit<A>) -> bool {
    synthesized(circuit)
        .is_satisfied()
        .expect("all values assigned")
}

/// Executes each stream on its own thread, requests in stream order; returns every
/// execution (in no particular order).
pub fn run_streams<A: App>(store: &Store, app: &A, streams: Vec<Stream<A>>) -> Vec<Executed<A>> {
    thread::scope(|scope| {
        let workers: Vec<_> = streams
            .into_iter()
            .map(|stream| {
                scope.spawn(move || {
                    stream
                        .into_iter()
                        .map(|request| execute(store, app, request).expect("request executes"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("worker"))
            .collect()
    })
}

/// Executes `executed`'s requests one after another, in the given order, on a fresh store.
pub fn replay<A: App>(app: &A, executed: &[Executed<A>]) -> (Store, Vec<Executed<A>>) {
    let store = Store::new();
    let replayed = executed
        .iter()
        .map(|ex| execute(&store, app, ex.request.clone()).expect("replay executes"))
        .collect();
    (store, replayed)
}

/// Batches of `capacity` slots over `executed` (in order), all of epoch `epoch`.
pub fn batches<A: App>(
    app: &A,
    epoch: u64,
    capacity: usize,
    executed: &[Executed<A>],
    seed: u64,
) -> Vec<ProvableBatch<A>> {
    executed
        .chunks(capacity)
        .enumerate()
        .map(|(id, chunk)| {
            build_batch(
                app,
                epoch,
                id as u64,
                capacity,
                chunk,
                &mut StdRng::seed_from_u64(seed + id as u64),
            )
            .expect("batch builds")
        })
        .collect()
}

/// `D − ρ·B`: the digest behind a published contribution.
pub fn unblind(digest: &BlindedDigest, rho: &JubjubScalar) -> EdwardsProjective {
    EdwardsProjective::from(digest.point()) - EdwardsProjective::from(blinding_generator()) * rho
}

/// The epoch audit on the published contributions of `circuits`:
/// `MH(init) + Σ(WS − ρ_W·B) = Σ(RS − ρ_R·B) + MH(final)` (the test knows the blindings).
pub fn audit_balances<A: App>(
    previous_final: &[Tuple],
    closing: &EpochSnapshot,
    circuits: &[&BatchCircuit<A>],
) -> bool {
    let init = SetDigest::of(&audit_init(previous_final, &closing.new_keys)).expect("init");
    let fin = SetDigest::of(&closing.final_state).expect("final");
    let (mut reads, mut writes) = (EdwardsProjective::zero(), EdwardsProjective::zero());
    for circuit in circuits {
        reads += unblind(
            &circuit.public_inputs.read_set,
            &circuit.witness.read_blinding,
        );
        writes += unblind(
            &circuit.public_inputs.write_set,
            &circuit.witness.write_blinding,
        );
    }
    EdwardsProjective::from(init.point()) + writes == reads + EdwardsProjective::from(fin.point())
}

/// `circuit` with hints and public inputs recomputed from its (edited) witness: what a
/// cheating prover who publishes matching digests would submit.
pub fn with_consistent_inputs<A: App>(app: &A, mut circuit: BatchCircuit<A>) -> BatchCircuit<A> {
    circuit.witness.recompute_hints(app).expect("hints");
    circuit.public_inputs = circuit.witness.public_inputs(app).expect("inputs");
    circuit
}

/// The batch a prover submits when it claims that slot `slot` wrote `new_values` and
/// answered `response` (every other slot honest): write hints, WS and the commitment root
/// are those of the claim; the witness is otherwise `circuit`'s. With the honest outcome as
/// the claim this is an honest batch (the control of every forgery test).
pub fn claimed<A: App>(
    app: &A,
    circuit: &BatchCircuit<A>,
    slot: usize,
    new_values: &[Fr],
    response: &Response,
) -> BatchCircuit<A> {
    let mut witness = circuit.witness.clone();
    let (mut reads, mut writes) = (EdwardsProjective::zero(), EdwardsProjective::zero());
    let mut leaves = Vec::new();
    for (index, slot_witness) in witness.slots.iter_mut().enumerate() {
        let old: Vec<Fr> = slot_witness.ops.iter().map(|op| op.old_value).collect();
        let applied =
            apply(app, &slot_witness.request, slot_witness.authorized, &old).expect("applies");
        let (new, answer) = if index == slot {
            (new_values.to_vec(), response.clone())
        } else {
            (applied.new_values.clone(), applied.response.clone())
        };
        for (k, op) in slot_witness.ops.iter_mut().enumerate() {
            let key = applied.keys[k].key;
            let read = Tuple::new(key, applied.old_values[k], op.old_timestamp);
            let write = Tuple::new(key, new[k], slot_witness.t_req);
            let (read_point, read_hint) = hash_tuple_with_hint(&read).expect("hash");
            let (write_point, write_hint) = hash_tuple_with_hint(&write).expect("hash");
            op.read_hint = read_hint;
            op.write_hint = write_hint;
            if applied.keys[k].active {
                reads += read_point;
                writes += write_point;
            }
        }
        leaves.push(commit(
            slot_witness.salt,
            &app.encode_request(&slot_witness.request),
            &answer.encode(),
        ));
    }
    let b = EdwardsProjective::from(blinding_generator());
    let public_inputs = BatchPublicInputs {
        epoch: witness.epoch,
        batch_id: witness.batch_id,
        root: MerkleTree::new(&leaves).expect("tree").root(),
        read_set: BlindedDigest::from_point((reads + b * witness.read_blinding).into_affine()),
        write_set: BlindedDigest::from_point((writes + b * witness.write_blinding).into_affine()),
    };
    BatchCircuit::new(app.clone(), witness, public_inputs).expect("shape")
}

/// What native and circuit say about one request on `old_values`.
pub struct Lockstep<R> {
    /// The native result (an error: the generic layer refused the request).
    pub native: Result<Applied<R>, spice::host::storage_gadget::AppError>,
    /// Whether the circuit's constraints hold.
    pub satisfied: bool,
    /// Circuit values: keys and activity, old values, new values, response, encoding.
    pub keys: Vec<(Fr, bool)>,
    /// Masked old values.
    pub old_values: Vec<Fr>,
    /// New values.
    pub new_values: Vec<Fr>,
    /// Committed response.
    pub response: Vec<Fr>,
    /// Committed request encoding.
    pub encoding: Vec<Fr>,
}

/// Runs `request` on `old_values` natively ([`apply`]) and in a fresh constraint system
/// ([`apply_var`]), and reports both.
pub fn lockstep<A: App>(app: &A, request: &A::Request, old_values: &[Fr]) -> Lockstep<A::Reject> {
    let native = apply(app, request, app.authorized(request), old_values);
    let cs = ConstraintSystem::<Fr>::new_ref();
    let request_var = A::RequestVar::new_witness(cs.clone(), || Ok(request.clone())).unwrap();
    let old_vars: Vec<FpVar<Fr>> = old_values
        .iter()
        .map(|v| FpVar::new_witness(cs.clone(), || Ok(*v)).unwrap())
        .collect();
    let applied = apply_var(app, &request_var, &old_vars).unwrap();
    let encoded = app.encode_request_var(&request_var).unwrap();
    let values = |vars: &[FpVar<Fr>]| vars.iter().map(|v| v.value().unwrap()).collect();
    Lockstep {
        native,
        satisfied: cs.is_satisfied().unwrap(),
        keys: applied
            .keys
            .iter()
            .map(|k| (k.key.value().unwrap(), k.active.value().unwrap()))
            .collect(),
        old_values: values(&applied.old_values),
        new_values: values(&applied.new_values),
        response: values(&applied.response.encode()),
        encoding: values(&encoded),
    }
}
