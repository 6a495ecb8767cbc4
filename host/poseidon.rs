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

/// The Poseidon permutation of [`config`] on a state, exactly as arkworks'
/// `PoseidonSponge::permute` computes it (R_F/2 full rounds, R_P partial rounds, R_F/2 full
/// rounds; each: round constants, S-box, MDS).
///
/// Ours rather than arkworks' because every native hash of Spice goes through it (about
/// ten per stored tuple, with the hash-to-curve counters): arkworks' sponge copies the whole
/// configuration (round constants and MDS matrix) into every new sponge and allocates in
/// every MDS step, which cost more than the permutation itself. `tests/integration/set_digest.rs`
/// checks the two agree on random states.
pub fn permute(state: &mut [Fr; WIDTH]) {
    let config = config();
    let half = FULL_ROUNDS / 2;
    for (round, constants) in config.ark.iter().enumerate().take(FULL_ROUNDS + PARTIAL_ROUNDS) {
        for (lane, constant) in state.iter_mut().zip(constants) {
            *lane += constant;
        }
        let full = round < half || round >= half + PARTIAL_ROUNDS;
        if full {
            state.iter_mut().for_each(sbox);
        } else {
            sbox(&mut state[0]);
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

/// x ↦ x^5 (ALPHA): two squarings and a multiplication.
fn sbox(x: &mut Fr) {
    let x2 = x.square();
    *x *= x2.square();
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
