//! `k·B` in the circuit for a constant Jubjub point B, k given by its little-endian bits:
//! window tables computed once per base (not once per multiplication), one lookup per
//! window, and the chain of additions evaluated natively in one pass
//! ([`edwards_gadget::running_sums`](super::edwards_gadget::running_sums)) before it is written into the circuit.
//!
//! Two window shapes, each the one a circuit already used, with its constraints unchanged:
//!
//! * **2-bit windows** ([`add_two_bit_windows`]): arkworks' two-bit lookup and addition, the
//!   constraints of `CurveVar::precomputed_base_scalar_mul_le`: 2 (one per coordinate) for the
//!   lookup and 6 for the addition, 8 a window.
//!   The set digests' blinding `ρ·B` uses it.
//! * **3-bit windows** ([`three_bit_windows`]): a multilinear lookup, 1 + 2 for the lookup
//!   and 6 for the addition: 9 a window, the first 3. EdDSA's `S·(8G)` uses it.
//!
//! Synthesis used to rebuild each window's table with scalar multiplications and a
//! normalisation (which with arkworks' `parallel` feature also woke the thread pool) for
//! every multiplication, and to invert two field elements per addition: together about a
//! quarter of a signed request's synthesis time.

use ark_bls12_381::Fr;
use ark_ec::{AdditiveGroup, CurveGroup};
use ark_ed_on_bls12_381::{constraints::EdwardsVar, EdwardsAffine, EdwardsProjective};
use ark_r1cs_std::{
    boolean::Boolean,
    fields::fp::FpVar,
    groups::CurveVar,
    select::{CondSelectGadget, TwoBitLookupGadget},
    GR1CSVar,
};
use ark_relations::gr1cs::SynthesisError;

use super::edwards_gadget::{add_var, coordinates_of, running_sums, Coordinates};

/// For each window j, the multiples `w·2^(j·bits)·B`, w = 0 … 2^bits − 1 (w = 0 is the
/// identity), affine.
#[derive(Clone, Debug)]
pub struct WindowTables {
    bits: usize,
    tables: Vec<Vec<EdwardsAffine>>,
}

impl WindowTables {
    /// The tables of `base` for `windows` windows of `bits` bits.
    pub fn new(base: EdwardsAffine, bits: usize, windows: usize) -> Self {
        let size = 1usize << bits;
        let mut projective = Vec::with_capacity(windows * size);
        let mut window_base = EdwardsProjective::from(base);
        for _ in 0..windows {
            let mut multiple = EdwardsProjective::default();
            for _ in 0..size {
                projective.push(multiple);
                multiple += window_base;
            }
            for _ in 0..bits {
                window_base.double_in_place();
            }
        }
        let affine = EdwardsProjective::normalize_batch(&projective);
        Self {
            bits,
            tables: affine.chunks_exact(size).map(<[_]>::to_vec).collect(),
        }
    }

    /// The tables, checked against the window size and the number of bits they must serve.
    fn tables_for(
        &self,
        bits: usize,
        scalar_bits: usize,
    ) -> Result<&[Vec<EdwardsAffine>], SynthesisError> {
        if self.bits != bits || scalar_bits.div_ceil(bits) > self.tables.len() {
            // A programming error (a table built for another shape), not a property of the
            // witness: report it rather than produce a different circuit.
            return Err(SynthesisError::Unsatisfiable);
        }
        Ok(&self.tables)
    }
}

/// The index `Σ bᵢ·2^i` of a window's bits, when they have values.
fn window_index(window: &[Boolean<Fr>]) -> Result<usize, SynthesisError> {
    window
        .iter()
        .enumerate()
        .try_fold(0usize, |w, (i, b)| Ok(w | (usize::from(b.value()?) << i)))
}

fn coordinates(p: &EdwardsAffine) -> Coordinates {
    (p.x, p.y)
}

/// `start + k·B` with 2-bit windows: per pair of bits a two-bit lookup of each coordinate
/// and a complete addition; a last odd bit adds its multiple and selects. The same
/// constraints, variables and values as arkworks'
/// `start.precomputed_base_scalar_mul_le(bits, [2^i·B])`.
pub fn add_two_bit_windows(
    start: &EdwardsVar,
    bits: &[Boolean<Fr>],
    tables: &WindowTables,
) -> Result<EdwardsVar, SynthesisError> {
    let tables = tables.tables_for(2, bits.len())?;
    // The running sums, natively: each window adds its looked-up multiple; an odd last bit
    // adds its multiple unconditionally and then selects, so its sum is computed either way.
    let sums: Result<Vec<Coordinates>, SynthesisError> = (|| {
        let terms = bits
            .chunks(2)
            .zip(tables)
            .map(|(window, table)| {
                let w = if window.len() == 2 {
                    window_index(window)?
                } else {
                    1
                };
                Ok(coordinates(&table[w]))
            })
            .collect::<Result<Vec<_>, SynthesisError>>()?;
        running_sums(coordinates_of(start)?, &terms)
    })();
    let sum = |j: usize| sums.as_ref().map(|s| s[j]).map_err(|e| *e);

    let mut acc = start.clone();
    for (j, (window, table)) in bits.chunks(2).zip(tables).enumerate() {
        if let [b0, b1] = window {
            let xs: [Fr; 4] = std::array::from_fn(|w| table[w].x);
            let ys: [Fr; 4] = std::array::from_fn(|w| table[w].y);
            let pair = [b0.clone(), b1.clone()];
            let x = FpVar::two_bit_lookup(&pair, &xs)?;
            let y = FpVar::two_bit_lookup(&pair, &ys)?;
            acc = add_var(&acc, &EdwardsVar::new(x, y), sum(j))?;
        } else {
            let multiple = EdwardsVar::constant(table[1].into());
            let with = add_var(&acc, &multiple, sum(j))?;
            acc = EdwardsVar::conditionally_select(&window[0], &with, &acc)?;
        }
    }
    Ok(acc)
}

/// `k·B` with 3-bit windows: per window the multilinear interpolation
/// `t(b₀,b₁,b₂) = L₀ + b₂·(L₁ − L₀)` of each coordinate, L₀ and L₁ linear in (b₀, b₁, b₀b₁)
/// (one product b₀b₁, one product per coordinate), and a complete addition from the second
/// window on. Short last windows read their missing bits as 0. No bits: the identity.
pub fn three_bit_windows(
    bits: &[Boolean<Fr>],
    tables: &WindowTables,
) -> Result<EdwardsVar, SynthesisError> {
    let tables = tables.tables_for(3, bits.len())?;
    let sums: Result<Vec<Coordinates>, SynthesisError> = (|| {
        let mut points = bits
            .chunks(3)
            .zip(tables)
            .map(|(window, table)| Ok(coordinates(&table[window_index(window)?])));
        let start = points
            .next()
            .unwrap_or(Ok(coordinates(&EdwardsAffine::default())))?;
        running_sums(start, &points.collect::<Result<Vec<_>, SynthesisError>>()?)
    })();
    let sum = |j: usize| sums.as_ref().map(|s| s[j]).map_err(|e| *e);

    let mut acc: Option<EdwardsVar> = None;
    for (j, (window, table)) in bits.chunks(3).zip(tables).enumerate() {
        let b = |i: usize| window.get(i).cloned().unwrap_or(Boolean::FALSE);
        let (b0, b1, b2) = (b(0), b(1), b(2));
        let b01 = FpVar::from(&b0 & &b1);
        let (f0, f1, f2) = (FpVar::from(b0), FpVar::from(b1), FpVar::from(b2));
        let lookup = |t: [Fr; 8]| -> FpVar<Fr> {
            let low = |t: &[Fr]| {
                &f0 * (t[1] - t[0])
                    + &f1 * (t[2] - t[0])
                    + &b01 * (t[3] - t[2] - t[1] + t[0])
                    + t[0]
            };
            let low_part = low(&t[..4]);
            let high_part = low(&t[4..]);
            low_part.clone() + &f2 * (high_part - low_part)
        };
        let x = lookup(std::array::from_fn(|w| table[w].x));
        let y = lookup(std::array::from_fn(|w| table[w].y));
        let point = EdwardsVar::new(x, y);
        acc = Some(match acc {
            None => point,
            // Complete Edwards addition: the identity (w = 0) needs no special case.
            Some(acc) => add_var(&acc, &point, sum(j - 1))?,
        });
    }
    Ok(acc.unwrap_or_else(EdwardsVar::zero))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::edwards_gadget::tests::{proving_cs, shape_and_assignment};
    use ark_ec::PrimeGroup;
    use ark_ed_on_bls12_381::Fr as JubjubScalar;
    use ark_ff::AdditiveGroup;
    use ark_r1cs_std::alloc::AllocVar;
    use ark_relations::gr1cs::ConstraintSystemRef;
    use ark_std::{
        rand::{rngs::StdRng, Rng, SeedableRng},
        UniformRand,
    };
    use proptest::prelude::*;

    fn bits_of(cs: &ConstraintSystemRef<Fr>, bits: &[bool]) -> Vec<Boolean<Fr>> {
        bits.iter()
            .map(|&b| Boolean::new_witness(cs.clone(), || Ok(b)).unwrap())
            .collect()
    }

    /// `Σ bᵢ·2^i` mod the group order.
    fn scalar_of(bits: &[bool]) -> JubjubScalar {
        bits.iter().rev().fold(JubjubScalar::from(0u64), |acc, &b| {
            acc.double() + JubjubScalar::from(b as u64)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// The 2-bit windows are arkworks' `precomputed_base_scalar_mul_le`, constraint for
        /// constraint and value for value, for even and odd bit counts, from a witness start.
        #[test]
        fn two_bit_windows_match_arkworks(seed in any::<u64>(), count in 1usize..40) {
            let mut rng = StdRng::seed_from_u64(seed);
            let base = EdwardsProjective::rand(&mut rng);
            let start = EdwardsProjective::rand(&mut rng);
            let k: Vec<bool> = (0..count).map(|_| rng.gen()).collect();
            let tables = WindowTables::new(base.into_affine(), 2, count.div_ceil(2));

            let cs = proving_cs();
            let mut theirs = EdwardsVar::new_witness(cs.clone(), || Ok(start)).unwrap();
            let bits = bits_of(&cs, &k);
            let mut multiples = vec![base];
            while multiples.len() < count {
                multiples.push(multiples[multiples.len() - 1].double());
            }
            theirs.precomputed_base_scalar_mul_le(bits.iter().zip(&multiples)).unwrap();
            let (their_shape, their_z) = shape_and_assignment(&cs);

            let cs = proving_cs();
            let start_var = EdwardsVar::new_witness(cs.clone(), || Ok(start)).unwrap();
            let bits = bits_of(&cs, &k);
            let ours = add_two_bit_windows(&start_var, &bits, &tables).unwrap();
            let (our_shape, our_z) = shape_and_assignment(&cs);

            prop_assert_eq!(their_shape.a, our_shape.a);
            prop_assert_eq!(their_shape.b, our_shape.b);
            prop_assert_eq!(their_shape.c, our_shape.c);
            prop_assert_eq!(their_z, our_z);
            prop_assert_eq!(ours.value().unwrap(), start + base * scalar_of(&k));
        }

        /// The 3-bit windows give k·B for random k and bit counts (short last windows too).
        #[test]
        fn three_bit_windows_give_the_multiple(seed in any::<u64>(), count in 0usize..60) {
            let mut rng = StdRng::seed_from_u64(seed);
            let base = EdwardsProjective::rand(&mut rng);
            let k: Vec<bool> = (0..count).map(|_| rng.gen()).collect();
            let tables = WindowTables::new(base.into_affine(), 3, count.div_ceil(3));
            let cs = proving_cs();
            let bits = bits_of(&cs, &k);
            let product = three_bit_windows(&bits, &tables).unwrap();
            cs.finalize();
            prop_assert!(cs.is_satisfied().unwrap());
            prop_assert_eq!(product.value().unwrap(), base * scalar_of(&k));
        }
    }

    /// A table for another window size, or one too short for the bits, is an error rather
    /// than a different circuit.
    #[test]
    fn a_mismatched_table_is_an_error() {
        let tables = WindowTables::new(EdwardsProjective::generator().into_affine(), 2, 3);
        let cs = proving_cs();
        let bits = bits_of(&cs, &[true, false, true, false, false, true, true, false]);
        assert!(three_bit_windows(&bits[..6], &tables).is_err());
        assert!(add_two_bit_windows(&EdwardsVar::zero(), &bits, &tables).is_err());
        assert!(add_two_bit_windows(&EdwardsVar::zero(), &bits[..6], &tables).is_ok());
    }
}
