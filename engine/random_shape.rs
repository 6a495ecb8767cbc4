//! Random R1CS shapes whose constraints hold, for the tests of everything that evaluates
//! rows (the CPU evaluator, the GPU witness map's host simulation and device kernel). Not part
//! of the engine's API.

use ark_bls12_381::Fr;
use ark_ff::{AdditiveGroup, Field, UniformRand};
use ark_std::rand::{rngs::StdRng, Rng};

use super::shape::R1csShape;

/// The definition, with a product for every term.
pub fn naive_row(row: &[(Fr, usize)], z: &[Fr]) -> Fr {
    row.iter().map(|&(coeff, var)| coeff * z[var]).sum()
}

/// A value that is 0, 1, −1, a small number or a random element, each about as often.
pub fn value(rng: &mut StdRng) -> Fr {
    match rng.gen_range(0..5) {
        0 => Fr::ZERO,
        1 => Fr::ONE,
        2 => -Fr::ONE,
        3 => Fr::from(rng.gen_range(2u64..1 << 20)),
        _ => Fr::rand(rng),
    }
}

/// A random shape of `constraints` rows over the constant one, `inputs` public inputs and its
/// witness, with an assignment z that satisfies it: each row of A and B is random (coefficients drawn like values, so ±1 and powers of two occur), and
/// C is one fresh variable holding the product, as a synthesizer would allocate it.
pub fn satisfied_shape(
    rng: &mut StdRng,
    constraints: usize,
    inputs: usize,
) -> (R1csShape, Vec<Fr>) {
    let base = 1 + inputs + 8;
    let mut z: Vec<Fr> = std::iter::once(Fr::ONE)
        .chain((1..base).map(|_| value(rng)))
        .collect();
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..constraints {
        let random_row = |rng: &mut StdRng, z: &[Fr]| -> Vec<(Fr, usize)> {
            (0..rng.gen_range(0..6))
                .map(|_| (value(rng), rng.gen_range(0..z.len())))
                .collect()
        };
        let row_a = random_row(rng, &z);
        // Some rows have B = A (a squaring), or the A of one of the two rows before (an
        // S-box's x⁵ = x⁴·x), which the evaluator reuses; some have a near copy of one, which
        // it must not.
        let earlier = |rng: &mut StdRng, a: &[Vec<(Fr, usize)>]| {
            a[a.len() - rng.gen_range(1..=2.min(a.len()))].clone()
        };
        let row_b = match rng.gen_range(0..8) {
            0 | 1 => row_a.clone(),
            2 if !a.is_empty() => earlier(rng, &a),
            3 if !a.is_empty() => {
                let mut near = earlier(rng, &a);
                match near.last_mut() {
                    Some(term) if rng.gen_bool(0.5) => term.0 += Fr::ONE,
                    _ => near.push((Fr::ONE, rng.gen_range(0..z.len()))),
                }
                near
            }
            _ => random_row(rng, &z),
        };
        let product = naive_row(&row_a, &z) * naive_row(&row_b, &z);
        z.push(product);
        a.push(row_a);
        b.push(row_b);
        c.push(vec![(Fr::ONE, z.len() - 1)]);
    }
    let num_witness = z.len() - 1 - inputs;
    (
        R1csShape {
            a,
            b,
            c,
            num_instance: 1 + inputs,
            num_witness,
        },
        z,
    )
}
