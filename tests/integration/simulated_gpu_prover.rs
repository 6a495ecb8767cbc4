//! The prover with the GPU's witness map, run on the host: a backend whose quotient is the
//! host simulation of the CUDA kernels (`engine/gpu_ntt/host_simulation.rs`), taking
//! natural-order evaluations as the CUDA backend does, and whose loaded shapes are evaluated
//! by the witness-map kernel's body (`engine/gpu_witness/host_simulation.rs`), as the CUDA
//! backend's are on the device. Its proofs are byte-identical to
//! `ark_groth16`'s, and a witness that does not satisfy the circuit is caught at the same
//! constraint. The same backend asking for bit-reversed evaluations (and undoing the
//! permutation before the simulated chain) checks the prover's other layout (constraints,
//! public inputs, padding) the same way, on every CI run, GPU or not.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{bytes, MixedCircuit};
use ark_bls12_381::{Bls12_381, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ff::UniformRand;
use ark_groth16::{Groth16, ProvingKey};
use ark_relations::gr1cs::ConstraintSynthesizer;
use ark_snark::SNARK;
use ark_std::rand::{rngs::StdRng, SeedableRng};
use proptest::prelude::*;
use spice::engine::gpu_ntt::host_simulation as sim;
use spice::engine::gpu_ntt::TileShape;
use spice::engine::gpu_witness::{host_simulation as witness_sim, WitnessMapLayout};
use spice::engine::{
    Backend, Bases, ConstraintEvaluations, CpuBackend, EngineError, EvaluationOrder, LoadedShape,
    MsmScalars, NttDirection, Prover, R1csShape, Result, TransferTimes, WitnessMap,
};

/// The CUDA backend's algorithm without the device: NTT and quotient simulated, MSMs on the CPU.
/// It keeps a copy log as the CUDA backend does: the quotient "uploads" its three vectors and
/// "downloads" h, each MSM "downloads" [`MSM_RESULT_BYTES`], each copy taking 1 µs per KiB.
#[derive(Debug)]
struct SimulatedGpu {
    cpu: CpuBackend,
    tile: TileShape,
    order: EvaluationOrder,
    copies: Mutex<TransferTimes>,
}

const MSM_RESULT_BYTES: u64 = 1000;

impl SimulatedGpu {
    fn new(tile: TileShape, order: EvaluationOrder) -> Self {
        Self {
            cpu: CpuBackend::new(),
            tile,
            order,
            copies: Mutex::default(),
        }
    }

    fn copy(&self, to_device: bool, bytes: u64) {
        self.copies
            .lock()
            .unwrap()
            .add(to_device, bytes, Duration::from_micros(bytes / 1024));
    }
}

impl Backend for SimulatedGpu {
    fn name(&self) -> &'static str {
        "simulated-gpu"
    }
    fn load_g1(&self, bases: Vec<G1Affine>) -> Result<Bases<G1Affine>> {
        self.cpu.load_g1(bases)
    }
    fn load_g2(&self, bases: Vec<G2Affine>) -> Result<Bases<G2Affine>> {
        self.cpu.load_g2(bases)
    }
    fn msm_g1(&self, bases: &Bases<G1Affine>, scalars: &MsmScalars) -> Result<G1Projective> {
        self.copy(false, MSM_RESULT_BYTES);
        self.cpu.msm_g1(bases, scalars)
    }
    fn msm_g2(&self, bases: &Bases<G2Affine>, scalars: &MsmScalars) -> Result<G2Projective> {
        self.copy(false, MSM_RESULT_BYTES);
        self.cpu.msm_g2(bases, scalars)
    }
    fn transfer_totals(&self) -> Option<TransferTimes> {
        Some(*self.copies.lock().unwrap())
    }
    fn ntt(&self, data: &mut [Fr], direction: NttDirection) -> Result<()> {
        sim::ntt(data, direction, self.tile, 1)
    }
    fn quotient_input_order(&self) -> EvaluationOrder {
        self.order
    }
    fn quotient(&self, a: Vec<Fr>, b: Vec<Fr>, c: Vec<Fr>) -> Result<Vec<Fr>> {
        let bytes = 32 * a.len() as u64;
        (0..3).for_each(|_| self.copy(true, bytes));
        self.copy(false, bytes);
        // Element i of the prover's vectors belongs to point position(i): put it back there.
        let natural = |v: Vec<Fr>| -> Vec<Fr> {
            let n = v.len();
            (0..n).map(|i| v[self.order.position(i, n)]).collect()
        };
        sim::quotient(&natural(a), &natural(b), &natural(c), self.tile, 2)
    }
    fn load_shape(&self, shape: Arc<R1csShape>) -> Result<LoadedShape> {
        let layout = WitnessMapLayout::new(&shape)?;
        self.copy(true, layout.device_bytes() as u64);
        Ok(LoadedShape::resident(self.name(), shape, Arc::new(layout)))
    }
    /// As the CUDA backend: z goes up, the rows are evaluated where the quotient runs (in
    /// natural order, whatever `order` says), h comes back.
    fn witness_map(
        &self,
        shape: &LoadedShape,
        z: &MsmScalars,
        domain_size: usize,
    ) -> Result<WitnessMap> {
        let layout = shape.storage::<WitnessMapLayout>(self.name())?;
        self.copy(true, 32 * z.len() as u64);
        let ConstraintEvaluations { a, b, c } =
            witness_sim::evaluate(layout, z.values(), domain_size, 3)?;
        let mut h = sim::quotient(&a, &b, &c, self.tile, 2)?;
        self.copy(false, 32 * domain_size as u64);
        h.truncate(domain_size - 1);
        Ok(WitnessMap {
            h: MsmScalars::from_values(h),
            constraint_eval: Duration::ZERO,
            quotient: Duration::ZERO,
        })
    }
}

fn setup<C: ConstraintSynthesizer<Fr>>(c: C, seed: u64) -> ProvingKey<Bls12_381> {
    Groth16::<Bls12_381>::circuit_specific_setup(c, &mut StdRng::seed_from_u64(seed))
        .unwrap()
        .0
}

const ORDERS: [EvaluationOrder; 2] = [EvaluationOrder::Natural, EvaluationOrder::BitReversed];

fn simulated(tile: TileShape, order: EvaluationOrder, pk: ProvingKey<Bls12_381>) -> Prover {
    Prover::new(Arc::new(SimulatedGpu::new(tile, order)), pk).unwrap()
}

/// Proofs with host evaluation in either layout, and with the shape loaded (rows evaluated by
/// the kernel's body), all equal `ark_groth16`'s.
fn assert_identical(c: MixedCircuit, tile: TileShape, seed: u64) {
    let pk = setup(c.clone(), seed);
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let (r, s) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
    let theirs = Groth16::<Bls12_381>::create_proof_with_reduction(c.clone(), &pk, r, s).unwrap();
    let pvk = ark_groth16::prepare_verifying_key(&pk.vk);
    for order in ORDERS {
        let prover = simulated(tile, order, pk.clone());
        let ours = prover.prove_with_randomness(c.clone(), r, s).unwrap();
        assert_eq!(
            bytes(&ours),
            bytes(&theirs),
            "{c:?} with {tile:?}, {order:?} evaluations"
        );
        assert!(Groth16::<Bls12_381>::verify_proof(&pvk, &ours, &c.public_inputs()).unwrap());
        let (shape, z) = R1csShape::from_circuit(c.clone()).unwrap();
        let loaded = prover.load_shape(shape).unwrap();
        let resident = prover.prove_with_loaded_shape(&loaded, &z, r, s).unwrap();
        assert_eq!(
            bytes(&resident),
            bytes(&theirs),
            "{c:?} with {tile:?}, loaded shape"
        );
    }
}

#[test]
fn simulated_gpu_witness_map_gives_ark_groth16_proofs() {
    // Public inputs (placed after the constraints, so in the bit-reversed layout they land
    // all over the vector), padding, 0/1 witnesses, and one to three NTT passes, the first
    // of which bit-reverses out of place.
    assert_identical(MixedCircuit::new(0, 5, 2, 9, 1), TileShape::default(), 1);
    assert_identical(MixedCircuit::new(37, 10, 3, 40, 3), TileShape::default(), 3);
    assert_identical(
        MixedCircuit::new(2, 301, 17, 679, 5),
        TileShape::default(),
        5,
    );
    assert_identical(
        MixedCircuit::new(3, 100, 20, 900, 6),
        TileShape {
            tile_log: 4,
            columns_log: 1,
            max_threads: 4,
        },
        6,
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]
    #[test]
    fn simulated_gpu_proofs_are_identical_on_random_circuits(
        inputs in 0usize..6, bits in 0usize..80, zeros in 0usize..20, muls in 1usize..200, seed in any::<u64>()
    ) {
        assert_identical(MixedCircuit::new(inputs, bits, zeros, muls, seed), TileShape { tile_log: 5, columns_log: 2, max_threads: 8 }, seed);
    }
}

#[test]
fn unsatisfied_witness_is_caught_at_the_same_constraint_in_either_layout() {
    let honest = MixedCircuit::new(1, 6, 2, 8, 9);
    let pk = setup(honest.clone(), 9);
    let tampered = MixedCircuit {
        tamper: true,
        ..honest
    };
    let (r, s) = (Fr::from(3u64), Fr::from(5u64));
    let on_cpu = Prover::new(Arc::new(CpuBackend::new()), pk.clone())
        .unwrap()
        .prove_with_randomness(tampered.clone(), r, s)
        .unwrap_err();
    let EngineError::Unsatisfied { index, total, .. } = on_cpu else {
        panic!("expected Unsatisfied on the CPU, got {on_cpu:?}")
    };
    for order in ORDERS {
        match simulated(TileShape::default(), order, pk.clone())
            .prove_with_randomness(tampered.clone(), r, s)
            .unwrap_err()
        {
            EngineError::Unsatisfied {
                index: i, total: t, ..
            } => assert_eq!((i, t), (index, total), "{order:?}"),
            other => panic!("expected Unsatisfied with {order:?} evaluations, got {other:?}"),
        }
    }
    // The same tampered assignment with the shape loaded (tampering changes values, not
    // constraints): the kernel's body reports the same constraint, and no proof comes back.
    let prover = simulated(TileShape::default(), EvaluationOrder::Natural, pk);
    let (shape, z) = R1csShape::from_circuit(tampered).unwrap();
    let loaded = prover.load_shape(shape).unwrap();
    match prover
        .prove_with_loaded_shape(&loaded, &z, r, s)
        .unwrap_err()
    {
        EngineError::Unsatisfied {
            index: i, total: t, ..
        } => assert_eq!((i, t), (index, total), "loaded shape"),
        other => panic!("expected Unsatisfied with a loaded shape, got {other:?}"),
    }
}

#[test]
fn a_loaded_shape_moves_the_assignment_not_the_evaluations() {
    let c = MixedCircuit::new(2, 20, 3, 30, 12);
    let pk = setup(c.clone(), 12);
    let (r, s) = (Fr::from(7u64), Fr::from(9u64));
    let prover = simulated(TileShape::default(), EvaluationOrder::Natural, pk);
    let (shape, z) = R1csShape::from_circuit(c).unwrap();
    let loaded = prover.load_shape(shape).unwrap();
    let n = 32 * prover.domain_size() as u64;
    for _ in 0..2 {
        let t = prover
            .prove_with_loaded_shape_timed(&loaded, &z, r, s)
            .unwrap()
            .1
            .transfers
            .expect("a backend with a copy log");
        assert_eq!(t.to_device_bytes, 32 * z.len() as u64, "only z goes up");
        assert_eq!(t.from_device_bytes, n + 5 * MSM_RESULT_BYTES);
        assert_eq!(t.copies, 2 + 5);
    }
}

#[test]
fn a_shape_loaded_by_another_backend_is_refused() {
    let c = MixedCircuit::new(1, 4, 1, 6, 13);
    let pk = setup(c.clone(), 13);
    let (shape, z) = R1csShape::from_circuit(c).unwrap();
    let on_cpu = Prover::new(Arc::new(CpuBackend::new()), pk.clone()).unwrap();
    let gpu = simulated(TileShape::default(), EvaluationOrder::Natural, pk);
    let cpu_shape = on_cpu.load_shape(shape).unwrap();
    match gpu.prove_with_loaded_shape(&cpu_shape, &z, Fr::from(1u64), Fr::from(2u64)) {
        Err(EngineError::ForeignHandle {
            handle: "shape",
            loaded_by: "cpu",
            used_with: "simulated-gpu",
            ..
        }) => {}
        other => panic!("expected a foreign shape handle, got {other:?}"),
    }
}

#[test]
fn stage_times_report_the_copies_of_that_proof_only() {
    let c = MixedCircuit::new(2, 20, 3, 30, 11);
    let pk = setup(c.clone(), 11);
    let (r, s) = (Fr::from(7u64), Fr::from(9u64));
    let prover = simulated(TileShape::default(), EvaluationOrder::Natural, pk.clone());
    let n = 32 * prover.domain_size() as u64;
    // Five MSMs per proof: A, B in G1 (r ≠ 0), B in G2, L, H.
    let expected_from = n + 5 * MSM_RESULT_BYTES;
    let first = prover
        .prove_timed(c.clone(), r, s)
        .unwrap()
        .1
        .transfers
        .expect("a backend with a copy log");
    // The backend's totals now include the first proof; the second report must not.
    let second = prover
        .prove_timed(c.clone(), r, s)
        .unwrap()
        .1
        .transfers
        .expect("a backend with a copy log");
    for t in [first, second] {
        assert_eq!(t.to_device_bytes, 3 * n);
        assert_eq!(t.from_device_bytes, expected_from);
        assert_eq!(t.copies, 4 + 5);
        assert_eq!(t.to_device, Duration::from_micros(3 * (n / 1024)));
    }
    // A backend without device memory reports no copies.
    let on_cpu = Prover::new(Arc::new(CpuBackend::new()), pk).unwrap();
    assert_eq!(on_cpu.prove_timed(c, r, s).unwrap().1.transfers, None);
}
