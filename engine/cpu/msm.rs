//! Pippenger multi-scalar multiplication for the CPU, with bucket sums in *batch-affine* form.
//!
//! Where arkworks adds each point into an XYZZ bucket (a mixed addition: 8M + 2S), we sum the
//! points of every bucket by a pairwise tree of affine additions whose denominators are inverted
//! together (Montgomery's trick): one inversion per chunk plus 3M per element, then 2M + 1S for
//! the addition itself — about 6M in all. Bucket accumulation is most of an MSM, so this is the
//! gain over arkworks on the CPU.
//!
//! Scalars are first normalised to the smaller of s and p − s (negating the base instead), so
//! witness values like −1 or −2 are as cheap as 1 or 2, then cut into signed c-bit digits. Zero
//! digits are skipped, so a 0 scalar costs nothing and a 1 scalar costs one addition: exactly
//! the "skip zeros, add ones directly" a Groth16 witness wants, without a separate code path.
//! The window size c comes from a cost model over the scalars' bit lengths, not only their count.
//!
//! The schedule (digits sorted into buckets) depends only on the scalars, so one
//! [`ScalarPlan`] serves every MSM over the same assignment (A, B in G1, B in G2, L).

use ark_ec::short_weierstrass::{Affine, Bucket, Projective, SWCurveConfig};
use ark_ec::AffineRepr;
use ark_ff::{AdditiveGroup, BigInteger, Field, PrimeField, Zero};
use rayon::prelude::*;

use super::base_field::BaseFieldMul;
use crate::engine::scalars::ScalarLimbs;

/// Marks an entry whose base is to be negated.
const NEG: u32 = 1 << 31;
/// Widest window: digits are stored as i16, and the top window may hold +2^(c−1).
const MAX_WINDOW: u32 = 15;
/// Pairs per batched inversion. An Fq inversion costs about 100 multiplications, so it is
/// negligible at this size; a chunk's operands (1024 G1 pairs: 192 KiB) stay in cache, and
/// chunks balance across threads.
const CHUNK: usize = 1024;
/// Cost of one bucket in the final running-sum reduction (a mixed plus a full XYZZ addition),
/// in units of one batch-affine addition.
const REDUCTION_COST: usize = 4;

/// The bucket schedule of one scalar vector: for each c-bit window, the indices of the bases
/// (with a sign bit) sorted by bucket.
#[derive(Debug)]
pub struct ScalarPlan {
    len: usize,
    window_bits: u32,
    windows: Vec<Window>,
}

#[derive(Debug)]
struct Window {
    /// `offsets[j]..offsets[j + 1]` is bucket j (digit magnitude j + 1) in `entries`.
    offsets: Vec<u32>,
    /// Base index | `NEG` when the base enters negated.
    entries: Vec<u32>,
}

impl ScalarPlan {
    /// Builds the schedule. `scalars` must be canonical integers below the Fr modulus.
    pub fn new(scalars: &[ScalarLimbs]) -> Self {
        assert!(scalars.len() < NEG as usize, "MSM of 2^31 or more points");
        let modulus = ark_bls12_381::Fr::MODULUS;
        let half = ark_bls12_381::Fr::MODULUS_MINUS_ONE_DIV_TWO;
        let normalised: Vec<(ScalarLimbs, bool)> = scalars
            .par_iter()
            .map(|s| {
                if *s > half {
                    let mut neg = modulus;
                    neg.sub_with_borrow(s);
                    (neg, true)
                } else {
                    (*s, false)
                }
            })
            .collect();

        // Histogram of bit lengths drives the choice of window.
        let histogram = normalised
            .par_iter()
            .fold(
                || [0usize; 257],
                |mut h, (s, _)| {
                    h[s.num_bits() as usize] += 1;
                    h
                },
            )
            .reduce(
                || [0usize; 257],
                |mut a, b| {
                    a.iter_mut().zip(b.iter()).for_each(|(a, b)| *a += b);
                    a
                },
            );
        let max_bits = histogram.iter().rposition(|&h| h > 0).unwrap_or(0) as u32;
        if max_bits == 0 {
            return Self {
                len: scalars.len(),
                window_bits: 1,
                windows: Vec::new(),
            };
        }
        let c = choose_window(&histogram, max_bits);
        // W·c > max_bits, so the top window's value is below 2^(c−1) and, with a carry, at most
        // 2^(c−1): it never needs to borrow from a window above it.
        let num_windows = (max_bits / c + 1) as usize;

        let digits: Vec<i16> = normalised
            .par_iter()
            .flat_map_iter(|(s, _)| signed_digits(s, c, num_windows))
            .collect();

        let buckets = 1usize << (c - 1);
        let windows = (0..num_windows)
            .into_par_iter()
            .map(|w| {
                let column = || digits.iter().skip(w).step_by(num_windows).enumerate();
                let mut offsets = vec![0u32; buckets + 1];
                for (_, &d) in column() {
                    if d != 0 {
                        offsets[d.unsigned_abs() as usize] += 1;
                    }
                }
                for j in 1..=buckets {
                    offsets[j] += offsets[j - 1];
                }
                let mut cursor = offsets.clone();
                let mut entries = vec![0u32; offsets[buckets] as usize];
                for (i, &d) in column() {
                    if d != 0 {
                        let slot = &mut cursor[d.unsigned_abs() as usize - 1];
                        let negate = (d < 0) != normalised[i].1;
                        entries[*slot as usize] = i as u32 | if negate { NEG } else { 0 };
                        *slot += 1;
                    }
                }
                Window { offsets, entries }
            })
            .collect();
        Self {
            len: scalars.len(),
            window_bits: c,
            windows,
        }
    }

    /// Number of scalars the plan was built for.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a plan over no scalars.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Σ sᵢ·Pᵢ. `bases.len()` must equal [`Self::len`].
    pub fn msm<P: SWCurveConfig>(&self, bases: &[Affine<P>]) -> Projective<P>
    where
        P::BaseField: BaseFieldMul,
    {
        assert_eq!(bases.len(), self.len, "MSM bases/scalars length mismatch");
        let sums: Vec<Projective<P>> = self
            .windows
            .par_iter()
            .map(|w| window_sum(bases, w))
            .collect();
        // Horner over the windows, most significant first.
        let mut acc = Projective::<P>::zero();
        for sum in sums.iter().rev() {
            for _ in 0..self.window_bits {
                acc.double_in_place();
            }
            acc += sum;
        }
        acc
    }
}

/// Picks c minimising (digits that land in buckets) + (bucket reductions), using each scalar's
/// bit length: a b-bit scalar has about ⌊b/c⌋ + 1 nonzero signed digits.
fn choose_window(histogram: &[usize; 257], max_bits: u32) -> u32 {
    (2..=MAX_WINDOW)
        .min_by_key(|&c| {
            let windows = (max_bits / c + 1) as usize;
            let additions: usize = histogram
                .iter()
                .enumerate()
                .skip(1)
                .map(|(b, &h)| h * (b / c as usize + 1).min(windows))
                .sum();
            additions + windows * REDUCTION_COST * (1usize << (c - 1))
        })
        .unwrap_or(2)
}

/// Signed base-2^c digits of `s`, least significant first, each in [−2^(c−1), 2^(c−1)),
/// except the last, in [0, 2^(c−1)].
fn signed_digits(s: &ScalarLimbs, c: u32, num_windows: usize) -> impl Iterator<Item = i16> + '_ {
    let mut carry = 0u64;
    (0..num_windows).map(move |w| {
        let value = window_value(s, w as u32 * c, c) + carry;
        if w + 1 < num_windows && value >= 1 << (c - 1) {
            carry = 1;
            (value as i64 - (1i64 << c)) as i16
        } else {
            carry = 0;
            value as i16
        }
    })
}

/// Bits `offset .. offset + c` of `s` (c ≤ 15).
fn window_value(s: &ScalarLimbs, offset: u32, c: u32) -> u64 {
    let (limb, shift) = ((offset / 64) as usize, offset % 64);
    let limbs = s.as_ref();
    if limb >= limbs.len() {
        return 0;
    }
    let mut v = limbs[limb] >> shift;
    if shift + c > 64 && limb + 1 < limbs.len() {
        v |= limbs[limb + 1] << (64 - shift);
    }
    v & ((1 << c) - 1)
}

/// Σ over buckets j of (j + 1)·(sum of bucket j) for one window.
fn window_sum<P: SWCurveConfig>(bases: &[Affine<P>], window: &Window) -> Projective<P>
where
    P::BaseField: BaseFieldMul,
{
    let sums = bucket_sums(bases, window);
    // Running sum from the top bucket down: total = Σ (j + 1)·Sⱼ.
    let mut running = Bucket::<P>::ZERO;
    let mut total = Bucket::<P>::ZERO;
    for sum in sums.iter().rev() {
        if let Some(p) = sum {
            running += *p;
        }
        total += &running;
    }
    total.into()
}

/// Marks an operand that is a bucket's carried point rather than an element of the round's
/// source.
const FROM_CARRY: u32 = 1 << 31;

/// Where a round's operands live: the bases themselves (round 0: entry = base index | sign),
/// or the previous round's sums.
enum Source<'a, P: SWCurveConfig> {
    Bases {
        bases: &'a [Affine<P>],
        entries: &'a [u32],
    },
    Sums(&'a [Affine<P>]),
}

impl<P: SWCurveConfig> Source<'_, P> {
    fn get(&self, operand: u32, carry: &[Option<Affine<P>>]) -> Affine<P> {
        if operand & FROM_CARRY != 0 {
            return carry[(operand & !FROM_CARRY) as usize].unwrap_or_else(Affine::identity);
        }
        match self {
            Source::Bases { bases, entries } => {
                let e = entries[operand as usize];
                let p = bases[(e & !NEG) as usize];
                if e & NEG != 0 {
                    -p
                } else {
                    p
                }
            }
            Source::Sums(sums) => sums[operand as usize],
        }
    }
}

/// The sum of each bucket of `window`, by rounds of pairwise batch-affine additions. Each
/// round pairs up a bucket's points (plus the one point it may carry from an odd round), and
/// its sums, laid out bucket by bucket, are the next round's source: no point is copied
/// between rounds, and round 0 reads the (signed) bases in place.
fn bucket_sums<P: SWCurveConfig>(bases: &[Affine<P>], window: &Window) -> Vec<Option<Affine<P>>>
where
    P::BaseField: BaseFieldMul,
{
    let buckets = window.offsets.len() - 1;
    let mut carry: Vec<Option<Affine<P>>> = vec![None; buckets];
    let mut offsets = window.offsets.clone();
    let mut sums: Vec<Affine<P>> = Vec::new();
    let mut round = 0;
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    loop {
        let source = if round == 0 {
            Source::Bases {
                bases,
                entries: &window.entries,
            }
        } else {
            Source::Sums(&sums)
        };
        pairs.clear();
        let mut next_offsets = Vec::with_capacity(buckets + 1);
        next_offsets.push(0u32);
        let mut next_carry = vec![None; buckets];
        for j in 0..buckets {
            let carried = carry[j].is_some().then_some(FROM_CARRY | j as u32);
            let mut operands = (offsets[j]..offsets[j + 1]).chain(carried);
            while let Some(left) = operands.next() {
                match operands.next() {
                    Some(right) => pairs.push((left, right)),
                    None => next_carry[j] = Some(source.get(left, &carry)),
                }
            }
            next_offsets.push(pairs.len() as u32);
        }
        if pairs.is_empty() {
            return next_carry;
        }
        let mut next = vec![Affine::<P>::identity(); pairs.len()];
        next.par_chunks_mut(CHUNK)
            .zip(pairs.par_chunks(CHUNK))
            .for_each(|(out, chunk)| {
                let operands: Vec<(Affine<P>, Affine<P>)> = chunk
                    .iter()
                    .map(|&(l, r)| (source.get(l, &carry), source.get(r, &carry)))
                    .collect();
                add_pairs(&operands, out);
            });
        sums = next;
        offsets = next_offsets;
        carry = next_carry;
        round += 1;
    }
}

/// How one pair is added: every special case of affine addition is classified once, before
/// the shared inversion.
#[derive(Clone, Copy)]
enum PairKind {
    /// The right point is at infinity: the sum is the left one.
    Left,
    /// The left point is at infinity.
    Right,
    /// Same x, opposite y (or a 2-torsion point doubled): the sum is infinity.
    Infinity,
    /// P + P.
    Double,
    /// Distinct x: the chord rule.
    Add,
}

fn pair_kind<P: SWCurveConfig>(p: &Affine<P>, q: &Affine<P>) -> PairKind {
    if q.is_zero() {
        PairKind::Left
    } else if p.is_zero() {
        PairKind::Right
    } else if p.x != q.x {
        PairKind::Add
    } else if p.y == q.y && !p.y.is_zero() {
        PairKind::Double
    } else {
        PairKind::Infinity
    }
}

/// `out[k] = pairs[k].0 + pairs[k].1`, with one shared inversion (Montgomery's trick).
///
/// One forward pass classifies each pair, forms its denominator and the running product of
/// the denominators; after the single inversion, one backward pass peels off each inverse
/// (2M) and finishes that pair's addition (2M + 1S) while its operands are still in cache.
fn add_pairs<P: SWCurveConfig>(pairs: &[(Affine<P>, Affine<P>)], out: &mut [Affine<P>])
where
    P::BaseField: BaseFieldMul,
{
    let one = P::BaseField::ONE;
    let mut kinds = Vec::with_capacity(pairs.len());
    let mut denominators = Vec::with_capacity(pairs.len());
    // prefix[k] = product of the denominators before k.
    let mut prefix = Vec::with_capacity(pairs.len());
    let mut acc = one;
    for (p, q) in pairs {
        let kind = pair_kind(p, q);
        let d = match kind {
            PairKind::Add => q.x - p.x,
            PairKind::Double => p.y.double(),
            // Never inverted for its own sake: 1 keeps the batch free of zeros.
            _ => one,
        };
        prefix.push(acc);
        if !matches!(kind, PairKind::Left | PairKind::Right | PairKind::Infinity) {
            acc = BaseFieldMul::mul(&acc, &d);
        }
        kinds.push(kind);
        denominators.push(d);
    }
    // Nonzero: every factor is a nonzero denominator or 1. A zero here would be a bug in
    // `pair_kind`, not bad input.
    let mut inv = acc.inverse().expect("add_pairs: zero denominator");

    for k in (0..pairs.len()).rev() {
        let (p, q) = &pairs[k];
        out[k] = match kinds[k] {
            PairKind::Left => *p,
            PairKind::Right => *q,
            PairKind::Infinity => Affine::identity(),
            kind => {
                let d_inv = BaseFieldMul::mul(&inv, &prefix[k]);
                inv = BaseFieldMul::mul(&inv, &denominators[k]);
                let numerator = if let PairKind::Add = kind {
                    q.y - p.y
                } else {
                    let xx = BaseFieldMul::square(&p.x);
                    xx.double() + xx + P::COEFF_A
                };
                let lambda = BaseFieldMul::mul(&numerator, &d_inv);
                let x = BaseFieldMul::square(&lambda) - p.x - q.x;
                let y = BaseFieldMul::mul(&lambda, &(p.x - x)) - p.y;
                Affine::new_unchecked(x, y)
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bls12_381::{Fr, G1Affine, G1Projective};
    use ark_ec::{CurveGroup, VariableBaseMSM};
    use ark_ff::UniformRand;
    use ark_std::rand::{rngs::StdRng, SeedableRng};

    #[test]
    fn signed_digits_reconstruct_the_scalar() {
        let mut rng = StdRng::seed_from_u64(1);
        for c in 2..=MAX_WINDOW {
            for _ in 0..50 {
                let s = Fr::rand(&mut rng).into_bigint();
                let bits = s.num_bits();
                let w = (bits / c + 1) as usize;
                let mut acc = Fr::zero();
                for (i, d) in signed_digits(&s, c, w).enumerate() {
                    acc += Fr::from(d as i64) * Fr::from(2u64).pow([(i as u64) * c as u64]);
                }
                assert_eq!(acc.into_bigint(), s, "c = {c}");
            }
        }
    }

    #[test]
    fn tiny_msm_with_repeated_and_opposite_points_matches_arkworks() {
        let mut rng = StdRng::seed_from_u64(2);
        let p = G1Projective::rand(&mut rng).into_affine();
        // P, P, −P, O, P: exercises doubling, cancellation and infinity in the pair adds.
        let bases = vec![p, p, -p, G1Affine::identity(), p];
        let scalars: Vec<Fr> = (0..5).map(|_| Fr::rand(&mut rng)).collect();
        let limbs: Vec<_> = scalars.iter().map(|s| s.into_bigint()).collect();
        let ours = ScalarPlan::new(&limbs).msm(&bases);
        let theirs = G1Projective::msm(&bases, &scalars).unwrap();
        assert_eq!(ours.into_affine(), theirs.into_affine());
    }
}
