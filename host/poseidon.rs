//! Poseidon over BLS12-381's scalar field: the one parameter set Spice uses, and the
//! single-permutation hash that the native code and the circuit gadgets
//! ([`super::poseidon_gadget`]) both go through.
//!
//! # Parameters
//!
//! Width t = 4 (rate 3, capacity 1), S-box x^5, R_F = 8 full rounds and R_P = 56 partial
//! rounds: the round numbers the Poseidon designers' round-number calculation gives for a
//! 255-bit prime field at t = 4, α = 5 and a **128-bit security target** (M = 128), including
//! their security margin (+2 full rounds, +7.5% partial rounds). The same entry
//! `(rate 3, α 5, R_F 8, R_P 56, skip 0)` is the "optimised for constraints" default that
//! arkworks' sponge tests use for this very modulus, so our constants coincide with the
//! ones arkworks pins there (re-checked in `tests/integration/set_digest.rs`).
//!
//! Round constants and the MDS matrix come from the reference Grain LFSR
//! ([`find_poseidon_ark_and_mds`]) seeded with (prime field, x^α S-box, n = 255 bits,
//! t = 4, R_F = 8, R_P = 56). The MDS matrix is the first Cauchy matrix the LFSR yields
//! (`skip_matrices = 0`): a Cauchy matrix with distinct x's and y's is MDS by
//! construction. The reference script additionally rejects matrices admitting infinitely
//! long invariant subspace trails; arkworks does not re-run that test and neither do we
//! (open item: run the reference script's matrix check once for this seed and record it).
//!
//! # How one permutation hashes three elements
//!
//! `hash(domain, [a, b, c])` loads the state `[domain, a, b, c]` — the capacity lane first,
//! as arkworks' sponge lays it out — applies the permutation once, and returns the first
//! rate lane (state index 1). Distinct domain tags give independent functions: the tag sits
//! in the capacity lane, which an input can never overwrite.

use std::sync::OnceLock;

use ark_bls12_381::Fr;
use ark_crypto_primitives::sponge::poseidon::{find_poseidon_ark_and_mds, PoseidonConfig};
use ark_ff::{AdditiveGroup, Field, PrimeField};
use sha2::{Digest, Sha256};

/// Number of field elements absorbed by one permutation.
pub const RATE: usize = 3;
/// Number of capacity lanes (holds the domain tag).
pub const CAPACITY: usize = 1;
/// Full rounds (R_F), split 4 before and 4 after the partial rounds.
pub const FULL_ROUNDS: usize = 8;
/// Partial rounds (R_P) for t = 4, α = 5, 255-bit field, 128-bit security.
pub const PARTIAL_ROUNDS: usize = 56;
/// S-box exponent.
pub const ALPHA: u64 = 5;

/// The Poseidon configuration used everywhere in Spice (native code and gadgets alike).
///
/// Generated once on first use and cached; generation is deterministic.
pub fn config() -> &'static PoseidonConfig<Fr> {
    static CONFIG: OnceLock<PoseidonConfig<Fr>> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let (ark, mds) = find_poseidon_ark_and_mds::<Fr>(
            u64::from(Fr::MODULUS_BIT_SIZE),
            RATE,
            FULL_ROUNDS as u64,
            PARTIAL_ROUNDS as u64,
            0,
        );
        PoseidonConfig::new(FULL_ROUNDS, PARTIAL_ROUNDS, ALPHA, mds, ark, RATE, CAPACITY)
    })
}

/// A domain tag: SHA-256 of `label`, reduced modulo r.
///
/// Tags only need to be distinct and fixed; deriving them from readable labels makes the
/// choice auditable ("nothing up my sleeve").
pub fn domain_tag(label: &str) -> Fr {
    Fr::from_le_bytes_mod_order(&Sha256::digest(label.as_bytes()))
}

/// Lanes of the state: capacity + rate.
pub const WIDTH: usize = CAPACITY + RATE;

/// The Poseidon permutation of [`config`] on a state: the function arkworks'
/// `PoseidonSponge::permute` computes (R_F/2 full rounds, R_P partial rounds, R_F/2 full
/// rounds; each: round constants, S-box, MDS), with the partial rounds in the sparse form of
/// `SparseRounds` (793 multiplications a permutation instead of 1,288: 38% fewer).
///
/// Ours rather than arkworks' because every native hash of Spice goes through it (about
/// ten per stored tuple, with the hash-to-curve counters): arkworks' sponge copies the whole
/// configuration (round constants and MDS matrix) into every new sponge and allocates in
/// every MDS step, which cost more than the permutation itself. `tests/integration/set_digest.rs`
/// checks the two agree on random inputs, and this module's tests check the sparse rounds
/// against the dense ones.
pub fn permute(state: &mut [Fr; WIDTH]) {
    permute_observed(state, |_| {});
}

/// An S-box's input and the powers the S-box computes, the three arkworks' gadget allocates
/// as witnesses (in this order: x², x⁴, x⁵).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SboxPowers {
    /// The input x.
    pub x: Fr,
    /// x².
    pub x2: Fr,
    /// x⁴.
    pub x4: Fr,
    /// x⁵, the output.
    pub x5: Fr,
}

impl SboxPowers {
    /// x ↦ x^5 (ALPHA): two squarings and a multiplication.
    fn of(x: Fr) -> Self {
        let x2 = x.square();
        let x4 = x2.square();
        Self {
            x,
            x2,
            x4,
            x5: x4 * x,
        }
    }
}

/// [`permute`], calling `on_sbox` with every S-box's powers in the order arkworks' gadget
/// allocates their witnesses: each full round's lanes 0–3, each partial round's lane 0.
/// The sparse rounds keep every S-box input what the dense rounds give.
pub fn permute_observed(state: &mut [Fr; WIDTH], mut on_sbox: impl FnMut(&SboxPowers)) {
    let config = config();
    let sparse = SparseRounds::get();
    let half = FULL_ROUNDS / 2;
    for constants in &config.ark[..half] {
        full_round(state, constants, &config.mds, &mut on_sbox);
    }
    for (constant, round) in sparse.constants.iter().zip(&sparse.rounds) {
        state[0] += constant;
        let powers = SboxPowers::of(state[0]);
        on_sbox(&powers);
        let s0 = powers.x5;
        state[0] = sparse.m00 * s0
            + round.first_row[0] * state[1]
            + round.first_row[1] * state[2]
            + round.first_row[2] * state[3];
        for (lane, w) in state[1..].iter_mut().zip(&round.first_column) {
            *lane += *w * s0;
        }
    }
    let tail = small_apply(&sparse.deferred, &[state[1], state[2], state[3]]);
    state[1..].copy_from_slice(&tail);
    full_round(state, &sparse.first_full_after, &config.mds, &mut on_sbox);
    for constants in &config.ark[half + PARTIAL_ROUNDS + 1..FULL_ROUNDS + PARTIAL_ROUNDS] {
        full_round(state, constants, &config.mds, &mut on_sbox);
    }
}

/// Round constants, S-box on every lane, MDS.
fn full_round(
    state: &mut [Fr; WIDTH],
    constants: &[Fr],
    mds: &[Vec<Fr>],
    on_sbox: &mut impl FnMut(&SboxPowers),
) {
    for (lane, constant) in state.iter_mut().zip(constants) {
        *lane += constant;
        let powers = SboxPowers::of(*lane);
        on_sbox(&powers);
        *lane = powers.x5;
    }
    let mut mixed = [Fr::ZERO; WIDTH];
    for (out, row) in mixed.iter_mut().zip(mds) {
        for (lane, coefficient) in state.iter().zip(row) {
            *out += *lane * coefficient;
        }
    }
    *state = mixed;
}

/// A matrix on lanes 1–3.
type Small = [[Fr; WIDTH - 1]; WIDTH - 1];

/// One partial round's sparse matrix `[[m00, first_row], [first_column, I]]`.
#[derive(Debug)]
struct SparseRound {
    first_row: [Fr; WIDTH - 1],
    first_column: [Fr; WIDTH - 1],
}

/// The partial rounds rewritten with the same S-box inputs and the same output, at 7
/// multiplications a round for the linear layer instead of 16 (the Poseidon paper's
/// appendix B).
///
/// * **Constants.** A partial round's S-box touches lane 0 only, so the constants of lanes
///   1–3 pass through it: `M·S(x + c) = M·S(x + c₀e₀) + M·c⊥`. Moving `M·c⊥` into the next
///   round's constants, round after round, leaves one constant per partial round, on lane 0,
///   and the carry of the last one in the first full round after them.
/// * **Matrices.** Write `M = [[m00, uᵀ], [w, M̂]]` and keep the state as `x = D·y` with
///   `D = diag(1, B)`, starting at B = I. D commutes with a partial round's constant and
///   S-box (it leaves lane 0 alone, they touch only lane 0), so a round maps y to
///   `M·D·S(y + k e₀)`, and `M·D = diag(1, M̂B)·[[m00, (Bᵀu)ᵀ], [(M̂B)⁻¹w, I]]`: the round applies
///   the sparse right factor to y and B becomes M̂B. After the j-th round `B = M̂^j`; once
///   the partial rounds are done the state is put back by one dense `M̂^{R_P}` on lanes 1–3.
///   M̂ is invertible: every square submatrix of an MDS matrix is.
#[derive(Debug)]
struct SparseRounds {
    m00: Fr,
    /// Lane-0 constant of each partial round.
    constants: Vec<Fr>,
    rounds: Vec<SparseRound>,
    /// `M̂^{R_P}`, applied to lanes 1–3 after the partial rounds.
    deferred: Small,
    /// The constants of the first full round after the partial rounds, with the carry.
    first_full_after: [Fr; WIDTH],
}

fn small_mul(a: &Small, b: &Small) -> Small {
    let mut out = [[Fr::ZERO; WIDTH - 1]; WIDTH - 1];
    for i in 0..WIDTH - 1 {
        for j in 0..WIDTH - 1 {
            out[i][j] = (0..WIDTH - 1).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

fn small_apply(a: &Small, v: &[Fr; WIDTH - 1]) -> [Fr; WIDTH - 1] {
    std::array::from_fn(|i| (0..WIDTH - 1).map(|k| a[i][k] * v[k]).sum())
}

fn small_transpose(a: &Small) -> Small {
    std::array::from_fn(|i| std::array::from_fn(|j| a[j][i]))
}

/// The inverse of a 3×3 matrix by its adjugate; `None` if it is singular.
fn small_inverse(a: &Small) -> Option<Small> {
    let cofactor = |i: usize, j: usize| {
        let (r0, r1) = ((i + 1) % 3, (i + 2) % 3);
        let (c0, c1) = ((j + 1) % 3, (j + 2) % 3);
        a[r0][c0] * a[r1][c1] - a[r0][c1] * a[r1][c0]
    };
    let det: Fr = (0..3).map(|j| a[0][j] * cofactor(0, j)).sum();
    let det_inv = det.inverse()?;
    // The inverse is the transposed cofactor matrix over the determinant.
    Some(std::array::from_fn(|i| {
        std::array::from_fn(|j| cofactor(j, i) * det_inv)
    }))
}

impl SparseRounds {
    fn get() -> &'static Self {
        static SPARSE: OnceLock<SparseRounds> = OnceLock::new();
        SPARSE.get_or_init(|| Self::derive(config()))
    }

    fn derive(config: &PoseidonConfig<Fr>) -> Self {
        let mds = &config.mds;
        let half = FULL_ROUNDS / 2;
        let m_hat: Small = std::array::from_fn(|i| std::array::from_fn(|j| mds[i + 1][j + 1]));
        let u: [Fr; WIDTH - 1] = std::array::from_fn(|j| mds[0][j + 1]);
        let w: [Fr; WIDTH - 1] = std::array::from_fn(|i| mds[i + 1][0]);
        // A Cauchy matrix with distinct points is MDS; config() generates one.
        let m_hat_inv = small_inverse(&m_hat).expect("a submatrix of an MDS matrix is invertible");

        let mut constants = Vec::with_capacity(PARTIAL_ROUNDS);
        let mut carry = [Fr::ZERO; WIDTH];
        for round in half..half + PARTIAL_ROUNDS {
            let c: [Fr; WIDTH] = std::array::from_fn(|lane| config.ark[round][lane] + carry[lane]);
            constants.push(c[0]);
            carry = std::array::from_fn(|i| (1..WIDTH).map(|j| mds[i][j] * c[j]).sum());
        }
        let first_full_after =
            std::array::from_fn(|lane| config.ark[half + PARTIAL_ROUNDS][lane] + carry[lane]);

        let identity: Small = std::array::from_fn(|i| {
            std::array::from_fn(|j| if i == j { Fr::ONE } else { Fr::ZERO })
        });
        let (mut b, mut b_next_inv) = (identity, m_hat_inv);
        let mut rounds = Vec::with_capacity(PARTIAL_ROUNDS);
        for _ in 0..PARTIAL_ROUNDS {
            // B = M̂^j and b_next_inv = (M̂^{j+1})⁻¹ for round j.
            rounds.push(SparseRound {
                first_row: small_apply(&small_transpose(&b), &u),
                first_column: small_apply(&b_next_inv, &w),
            });
            b = small_mul(&m_hat, &b);
            b_next_inv = small_mul(&b_next_inv, &m_hat_inv);
        }
        Self {
            m00: mds[0][0],
            constants,
            rounds,
            deferred: b,
            first_full_after,
        }
    }
}

/// One Poseidon permutation over `[domain, inputs[0], inputs[1], inputs[2]]`, returning
/// the first rate lane of the output state.
pub fn hash(domain: Fr, inputs: [Fr; RATE]) -> Fr {
    // The whole state is written directly: absorbing into a fresh sponge would *add* into a
    // zero state, which is the same thing, but writing the lanes says exactly which lane
    // holds what.
    let mut state = [domain, inputs[0], inputs[1], inputs[2]];
    permute(&mut state);
    state[CAPACITY]
}

/// arkworks' duplex sponge with `capacity` in the capacity lane: absorb `inputs` (added
/// into the rate lanes, permuting whenever the rate is full and more input follows), then
/// squeeze one element (one more permutation, first rate lane). The native twin of a
/// `PoseidonSpongeVar` used the same way.
pub fn sponge_hash(capacity: Fr, inputs: &[Fr]) -> Fr {
    let mut state = [Fr::ZERO; WIDTH];
    state[0] = capacity;
    let mut next = 0;
    for input in inputs {
        if next == RATE {
            permute(&mut state);
            next = 0;
        }
        state[CAPACITY + next] += input;
        next += 1;
    }
    permute(&mut state);
    state[CAPACITY]
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;
    use ark_std::rand::{rngs::StdRng, SeedableRng};
    use proptest::prelude::*;

    /// The definition: every round dense (constants on every lane, the full MDS product).
    fn dense_permute(state: &mut [Fr; WIDTH]) {
        dense_permute_observed(state, |_| {});
    }

    fn dense_permute_observed(state: &mut [Fr; WIDTH], mut on_sbox: impl FnMut(Fr)) {
        let config = config();
        let half = FULL_ROUNDS / 2;
        for (round, constants) in config
            .ark
            .iter()
            .enumerate()
            .take(FULL_ROUNDS + PARTIAL_ROUNDS)
        {
            for (lane, constant) in state.iter_mut().zip(constants) {
                *lane += constant;
            }
            let lanes = if round < half || round >= half + PARTIAL_ROUNDS {
                WIDTH
            } else {
                1
            };
            for lane in &mut state[..lanes] {
                on_sbox(*lane);
                *lane = lane.pow([5]);
            }
            let mut mixed = [Fr::ZERO; WIDTH];
            for (out, row) in mixed.iter_mut().zip(&config.mds) {
                for (lane, coefficient) in state.iter().zip(row) {
                    *out += *lane * coefficient;
                }
            }
            *state = mixed;
        }
    }

    proptest! {
        /// The sparse partial rounds compute the dense permutation, on fresh states.
        #[test]
        fn sparse_rounds_equal_the_dense_permutation(seed in any::<u64>()) {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut state: [Fr; WIDTH] = std::array::from_fn(|_| Fr::rand(&mut rng));
            let mut expected = state;
            let (mut inputs, mut expected_inputs) = (Vec::new(), Vec::new());
            dense_permute_observed(&mut expected, |x| expected_inputs.push(x));
            permute_observed(&mut state, |p| inputs.push(*p));
            prop_assert_eq!(state, expected);
            // The gadget's witnesses come from these.
            prop_assert_eq!(inputs.len(), FULL_ROUNDS * WIDTH + PARTIAL_ROUNDS);
            prop_assert_eq!(inputs.iter().map(|p| p.x).collect::<Vec<_>>(), expected_inputs);
            for p in &inputs {
                prop_assert_eq!([p.x2, p.x4, p.x5], [p.x.pow([2]), p.x.pow([4]), p.x.pow([5])]);
            }
        }
    }

    #[test]
    fn special_states_agree_too() {
        for state in [[Fr::ZERO; WIDTH], [Fr::ONE; WIDTH], [-Fr::ONE; WIDTH]] {
            let (mut ours, mut expected) = (state, state);
            permute(&mut ours);
            dense_permute(&mut expected);
            assert_eq!(ours, expected);
        }
    }

    #[test]
    fn the_small_inverse_inverts() {
        let mut rng = StdRng::seed_from_u64(9);
        let a: Small = std::array::from_fn(|_| std::array::from_fn(|_| Fr::rand(&mut rng)));
        let identity: Small = std::array::from_fn(|i| {
            std::array::from_fn(|j| if i == j { Fr::ONE } else { Fr::ZERO })
        });
        assert_eq!(
            small_mul(
                &a,
                &small_inverse(&a).expect("a random matrix is invertible")
            ),
            identity
        );
        assert!(small_inverse(&[[Fr::ONE; 3]; 3]).is_none());
    }
}
