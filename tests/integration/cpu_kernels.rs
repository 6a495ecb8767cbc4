//! The CPU backend's MSM equals arkworks' on fresh random inputs of every awkward kind, and its
//! NTTs are exact (inverse undoes forward; the coset transform evaluates on g·⟨ω⟩).

use ark_bls12_381::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{FftField, Field, UniformRand, Zero};
use ark_poly::{
    univariate::DensePolynomial, DenseUVPolynomial, EvaluationDomain, Polynomial,
    Radix2EvaluationDomain,
};
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use proptest::prelude::*;
use spice::engine::{Backend, CpuBackend, MsmScalars, NttDirection};

/// Scalar distributions a Groth16 witness produces.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Random,
    ZerosAndOnes,
    Small,
    SmallNegative,
    Maximal,
    Mixed,
}

fn scalar(kind: Kind, rng: &mut StdRng) -> Fr {
    match kind {
        Kind::Random => Fr::rand(rng),
        Kind::ZerosAndOnes => Fr::from(rng.gen::<bool>() as u64),
        Kind::Small => Fr::from(rng.gen::<u16>() as u64),
        Kind::SmallNegative => -Fr::from(rng.gen::<u16>() as u64),
        Kind::Maximal => -Fr::from(1u64 + rng.gen::<bool>() as u64),
        Kind::Mixed => match rng.gen_range(0..4) {
            0 => Fr::zero(),
            1 => Fr::from(1u64),
            2 => Fr::from(rng.gen::<u64>()),
            _ => Fr::rand(rng),
        },
    }
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Random),
        Just(Kind::ZerosAndOnes),
        Just(Kind::Small),
        Just(Kind::SmallNegative),
        Just(Kind::Maximal),
        Just(Kind::Mixed),
    ]
}

/// Random bases with some identities and repeated / opposite points mixed in, so the
/// batch-affine additions meet P + P, P + (−P) and O.
fn bases<G: CurveGroup>(n: usize, rng: &mut StdRng) -> Vec<G::Affine> {
    let fresh: Vec<G::Affine> =
        G::normalize_batch(&(0..n.max(1)).map(|_| G::rand(rng)).collect::<Vec<_>>());
    (0..n)
        .map(|i| match rng.gen_range(0..10) {
            0 => G::Affine::zero(),
            1 if i > 0 => fresh[rng.gen_range(0..i)],
            2 if i > 0 => (-fresh[rng.gen_range(0..i)].into()).into_affine(),
            _ => fresh[i],
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn cpu_msm_g1_matches_arkworks_on_random_inputs(n in 0usize..600, k in kind(), seed in any::<u64>()) {
        let mut rng = StdRng::seed_from_u64(seed);
        let b = bases::<G1Projective>(n, &mut rng);
        let s: Vec<Fr> = (0..n).map(|_| scalar(k, &mut rng)).collect();
        let cpu = CpuBackend::new();
        let ours = cpu.msm_g1(&cpu.load_g1(b.clone()).unwrap(), &MsmScalars::new(&s)).unwrap();
        let theirs = G1Projective::msm(&b, &s).unwrap();
        prop_assert_eq!(ours.into_affine(), theirs.into_affine());
    }

    #[test]
    fn cpu_msm_g2_matches_arkworks_on_random_inputs(n in 0usize..200, k in kind(), seed in any::<u64>()) {
        let mut rng = StdRng::seed_from_u64(seed);
        let b = bases::<G2Projective>(n, &mut rng);
        let s: Vec<Fr> = (0..n).map(|_| scalar(k, &mut rng)).collect();
        let cpu = CpuBackend::new();
        let ours = cpu.msm_g2(&cpu.load_g2(b.clone()).unwrap(), &MsmScalars::new(&s)).unwrap();
        let theirs = G2Projective::msm(&b, &s).unwrap();
        prop_assert_eq!(ours.into_affine(), theirs.into_affine());
    }

    #[test]
    fn ntt_inverse_undoes_forward_and_coset(log in 0u32..12, seed in any::<u64>()) {
        let mut rng = StdRng::seed_from_u64(seed);
        let v: Vec<Fr> = (0..1usize << log).map(|_| Fr::rand(&mut rng)).collect();
        let cpu = CpuBackend::new();
        for (fwd, inv) in [(NttDirection::Forward, NttDirection::Inverse), (NttDirection::CosetForward, NttDirection::CosetInverse)] {
            let mut w = v.clone();
            cpu.ntt(&mut w, fwd).unwrap();
            cpu.ntt(&mut w, inv).unwrap();
            prop_assert_eq!(&w, &v);
        }
    }

    #[test]
    fn ntt_evaluates_the_polynomial_on_the_domain_and_its_coset(log in 0u32..9, seed in any::<u64>()) {
        let mut rng = StdRng::seed_from_u64(seed);
        let n = 1usize << log;
        let coeffs: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        let poly = DensePolynomial::from_coefficients_vec(coeffs.clone());
        let omega = Radix2EvaluationDomain::<Fr>::new(n).unwrap().group_gen();
        let cpu = CpuBackend::new();
        for (dir, offset) in [(NttDirection::Forward, Fr::from(1u64)), (NttDirection::CosetForward, Fr::GENERATOR)] {
            let mut evals = coeffs.clone();
            cpu.ntt(&mut evals, dir).unwrap();
            for (i, e) in evals.iter().enumerate() {
                prop_assert_eq!(*e, poly.evaluate(&(offset * omega.pow([i as u64]))));
            }
        }
    }
}

#[test]
fn msm_of_length_mismatch_is_an_error() {
    let cpu = CpuBackend::new();
    let b = cpu.load_g1(vec![G1Affine::generator(); 3]).unwrap();
    let err = cpu
        .msm_g1(&b, &MsmScalars::new(&[Fr::from(1u64); 2]))
        .unwrap_err();
    assert!(err.to_string().contains("3 bases, 2 scalars"), "{err}");
}

#[test]
fn msm_scalars_are_shared_between_g1_and_g2() {
    // One MsmScalars serves a G1 and a G2 MSM (the B query's case) and both are right.
    let mut rng = StdRng::seed_from_u64(11);
    let s: Vec<Fr> = (0..300).map(|_| scalar(Kind::Mixed, &mut rng)).collect();
    let g1 = bases::<G1Projective>(300, &mut rng);
    let g2: Vec<G2Affine> = bases::<G2Projective>(300, &mut rng);
    let shared = MsmScalars::new(&s);
    let cpu = CpuBackend::new();
    let a = cpu
        .msm_g1(&cpu.load_g1(g1.clone()).unwrap(), &shared)
        .unwrap();
    let b = cpu
        .msm_g2(&cpu.load_g2(g2.clone()).unwrap(), &shared)
        .unwrap();
    assert_eq!(a, G1Projective::msm(&g1, &s).unwrap());
    assert_eq!(b, G2Projective::msm(&g2, &s).unwrap());
}
