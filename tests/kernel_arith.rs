//! The CUDA kernels' field and curve arithmetic (kernels/field, kernels/curve), compiled for the
//! host, agrees with arkworks: random inputs from proptest seeds plus the edge cases where
//! reductions and incomplete formulas break (0, 1, p - 1, the identity, P + P, P + (-P)).
//! Results are compared limb for limb, which also checks they are fully reduced.

use ark_bls12_381::{Fq, Fq2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::{BigInteger, Field, One, PrimeField, UniformRand, Zero};
use proptest::prelude::*;
use rand::{rngs::StdRng, SeedableRng};
use spice::engine::kernel_host::{self as kh, Form};

/// A uniformly random `T` from a proptest-chosen seed (so failures shrink to a seed).
fn seeded<T: UniformRand>(seed: u64) -> T {
    T::rand(&mut StdRng::seed_from_u64(seed))
}

/// Random elements, with the reduction edge cases 0, 1 and p - 1 drawn often.
fn fr_value() -> impl Strategy<Value = Fr> {
    prop_oneof![
        1 => Just(Fr::zero()),
        1 => Just(Fr::one()),
        1 => Just(-Fr::one()),
        7 => any::<u64>().prop_map(seeded::<Fr>),
    ]
}
fn fq_value() -> impl Strategy<Value = Fq> {
    prop_oneof![
        1 => Just(Fq::zero()),
        1 => Just(Fq::one()),
        1 => Just(-Fq::one()),
        7 => any::<u64>().prop_map(seeded::<Fq>),
    ]
}
fn fq2_value() -> impl Strategy<Value = Fq2> {
    prop_oneof![
        1 => Just(Fq2::zero()),
        1 => Just(Fq2::one()),
        1 => Just(-Fq2::one()),
        1 => Just(Fq2::new(Fq::zero(), Fq::one())), // u
        1 => Just(Fq2::new(-Fq::one(), -Fq::one())),
        5 => any::<u64>().prop_map(seeded::<Fq2>),
    ]
}

/// A nonzero Z to lift affine inputs with (1 included: the affine-input case).
fn z_value<F: Field + UniformRand>() -> impl Strategy<Value = F> {
    prop_oneof![
        1 => Just(F::one()),
        4 => any::<u64>().prop_map(|s| {
            let z = seeded::<F>(s);
            if z.is_zero() { F::one() } else { z }
        }),
    ]
}

/// Generator times a random scalar, or the identity.
fn g1_point() -> impl Strategy<Value = G1Affine> {
    prop_oneof![
        1 => Just(G1Affine::identity()),
        9 => any::<u64>().prop_map(|s| (G1Projective::generator() * seeded::<Fr>(s)).into_affine()),
    ]
}
fn g2_point() -> impl Strategy<Value = G2Affine> {
    prop_oneof![
        1 => Just(G2Affine::identity()),
        9 => any::<u64>().prop_map(|s| (G2Projective::generator() * seeded::<Fr>(s)).into_affine()),
    ]
}

/// Tests shared by Fr and Fq.
macro_rules! prime_field_tests {
    ($m:ident, $F:ty, $N:expr, $value:ident) => {
        mod $m {
            use super::*;

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(256))]

                #[test]
                fn add_matches_arkworks(a in $value(), b in $value()) {
                    prop_assert_eq!(kh::$m::add(&a, &b), a + b);
                }

                #[test]
                fn sub_matches_arkworks(a in $value(), b in $value()) {
                    prop_assert_eq!(kh::$m::sub(&a, &b), a - b);
                }

                #[test]
                fn mul_matches_arkworks(a in $value(), b in $value()) {
                    prop_assert_eq!(kh::$m::mul(&a, &b), a * b);
                }

                #[test]
                fn square_matches_arkworks(a in $value()) {
                    prop_assert_eq!(kh::$m::square(&a), a.square());
                }

                #[test]
                fn neg_matches_arkworks(a in $value()) {
                    prop_assert_eq!(kh::$m::neg(&a), -a);
                }

                #[test]
                fn inverse_matches_arkworks(a in $value()) {
                    prop_assert_eq!(kh::$m::inverse(&a), a.inverse());
                }

                #[test]
                fn montgomery_conversions_match_arkworks(a in $value()) {
                    let x = a.into_bigint().0;
                    prop_assert_eq!(kh::$m::from_montgomery(&a), x);
                    prop_assert_eq!(kh::$m::to_montgomery(&x), Some(a));
                }

                #[test]
                fn to_montgomery_accepts_exactly_canonical_integers(x in any::<[u64; $N]>()) {
                    let expected = <$F>::from_bigint(ark_ff::BigInt(x));
                    prop_assert_eq!(kh::$m::to_montgomery(&x), expected);
                }
            }

            #[test]
            fn zero_has_no_inverse() {
                assert_eq!(kh::$m::inverse(&<$F>::zero()), None);
            }

            #[test]
            fn modulus_and_above_are_not_canonical() {
                let p = <$F>::MODULUS;
                let mut p_plus_1 = p;
                p_plus_1.add_with_carry(&ark_ff::BigInt::from(1u64));
                for x in [p.0, p_plus_1.0, [u64::MAX; $N]] {
                    assert_eq!(kh::$m::to_montgomery(&x), None, "{x:x?}");
                }
                let mut p_minus_1 = p;
                p_minus_1.sub_with_borrow(&ark_ff::BigInt::from(1u64));
                assert_eq!(kh::$m::to_montgomery(&p_minus_1.0), Some(-<$F>::one()));
            }

            /// Every pair of edge values through every operation, so none is left to chance.
            #[test]
            fn edge_values_match_arkworks() {
                let half = <$F>::from(2u64).inverse().expect("2 is invertible");
                let edges = [
                    <$F>::zero(),
                    <$F>::one(),
                    -<$F>::one(),
                    <$F>::from(2u64),
                    half,
                    -half,
                ];
                for a in edges {
                    assert_eq!(kh::$m::square(&a), a.square());
                    assert_eq!(kh::$m::neg(&a), -a);
                    assert_eq!(kh::$m::inverse(&a), a.inverse());
                    for b in edges {
                        assert_eq!(kh::$m::add(&a, &b), a + b, "{a} + {b}");
                        assert_eq!(kh::$m::sub(&a, &b), a - b, "{a} - {b}");
                        assert_eq!(kh::$m::mul(&a, &b), a * b, "{a} * {b}");
                    }
                }
            }
        }
    };
}

prime_field_tests!(fr, Fr, 4, fr_value);
prime_field_tests!(fq, Fq, 6, fq_value);

mod fq2 {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn add_matches_arkworks(a in fq2_value(), b in fq2_value()) {
            prop_assert_eq!(kh::fq2::add(&a, &b), a + b);
        }

        #[test]
        fn sub_matches_arkworks(a in fq2_value(), b in fq2_value()) {
            prop_assert_eq!(kh::fq2::sub(&a, &b), a - b);
        }

        #[test]
        fn mul_matches_arkworks(a in fq2_value(), b in fq2_value()) {
            prop_assert_eq!(kh::fq2::mul(&a, &b), a * b);
        }

        #[test]
        fn square_matches_arkworks(a in fq2_value()) {
            prop_assert_eq!(kh::fq2::square(&a), a.square());
        }

        #[test]
        fn neg_matches_arkworks(a in fq2_value()) {
            prop_assert_eq!(kh::fq2::neg(&a), -a);
        }

        #[test]
        fn inverse_matches_arkworks(a in fq2_value()) {
            prop_assert_eq!(kh::fq2::inverse(&a), a.inverse());
        }
    }

    #[test]
    fn zero_has_no_inverse() {
        assert_eq!(kh::fq2::inverse(&Fq2::zero()), None);
    }
}

/// Tests shared by G1 and G2, each run in both projective forms.
macro_rules! curve_tests {
    ($m:ident, $A:ty, $P:ty, $F:ty, $point:ident) => {
        mod $m {
            use super::*;

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(64))]

                #[test]
                fn add_matches_arkworks(a in $point(), b in $point(), za in z_value::<$F>(),
                                        zb in z_value::<$F>()) {
                    let expected = (a + b).into_affine();
                    for form in Form::ALL {
                        prop_assert_eq!(kh::$m::add(form, &a, &za, &b, &zb), Some(expected), "{:?}", form);
                    }
                }

                #[test]
                fn add_mixed_matches_arkworks(a in $point(), b in $point(), za in z_value::<$F>()) {
                    let expected = (a + b).into_affine();
                    for form in Form::ALL {
                        prop_assert_eq!(kh::$m::add_mixed(form, &a, &za, &b), Some(expected), "{:?}", form);
                    }
                }

                #[test]
                fn double_matches_arkworks(a in $point(), za in z_value::<$F>()) {
                    let expected = (a + a).into_affine();
                    for form in Form::ALL {
                        prop_assert_eq!(kh::$m::double(form, &a, &za), Some(expected), "{:?}", form);
                    }
                }

                #[test]
                fn neg_matches_arkworks(a in $point(), za in z_value::<$F>()) {
                    for form in Form::ALL {
                        prop_assert_eq!(kh::$m::neg(form, &a, &za), Some(-a), "{:?}", form);
                    }
                }

                #[test]
                fn add_of_negation_is_infinity(a in $point(), za in z_value::<$F>(),
                                               zb in z_value::<$F>()) {
                    let identity = <$A>::identity();
                    for form in Form::ALL {
                        prop_assert_eq!(kh::$m::add(form, &a, &za, &-a, &zb), Some(identity));
                        prop_assert_eq!(kh::$m::add_mixed(form, &a, &za, &-a), Some(identity));
                    }
                }

                /// P + P must leave the incomplete addition formulas for the doubling.
                #[test]
                fn add_of_point_to_itself_equals_double(a in $point(), za in z_value::<$F>(),
                                                        zb in z_value::<$F>()) {
                    let expected = (a + a).into_affine();
                    for form in Form::ALL {
                        prop_assert_eq!(kh::$m::add(form, &a, &za, &a, &zb), Some(expected));
                        prop_assert_eq!(kh::$m::add_mixed(form, &a, &za, &a), Some(expected));
                    }
                }

                #[test]
                fn infinity_is_neutral_on_either_side(a in $point(), za in z_value::<$F>(),
                                                      zb in z_value::<$F>()) {
                    let o = <$A>::identity();
                    for form in Form::ALL {
                        prop_assert_eq!(kh::$m::add(form, &o, &za, &a, &zb), Some(a));
                        prop_assert_eq!(kh::$m::add(form, &a, &za, &o, &zb), Some(a));
                        prop_assert_eq!(kh::$m::add_mixed(form, &o, &za, &a), Some(a));
                        prop_assert_eq!(kh::$m::add_mixed(form, &a, &za, &o), Some(a));
                    }
                }

                /// A bucket-style accumulation that meets repeats, negations and identities.
                #[test]
                fn sum_mixed_matches_arkworks(points in prop::collection::vec($point(), 1..12)) {
                    let mut all = points.clone();
                    all.push(points[0]);
                    all.push(-points[points.len() - 1]);
                    all.push(<$A>::identity());
                    all.push(points[0]);
                    let expected = all.iter().fold(<$P>::zero(), |s, p| s + p).into_affine();
                    for form in Form::ALL {
                        prop_assert_eq!(kh::$m::sum_mixed(form, &all), expected, "{:?}", form);
                    }
                }

                #[test]
                fn points_are_on_curve_and_perturbed_points_are_not(a in $point()) {
                    prop_assert!(kh::$m::is_on_curve(&a));
                    if !a.is_zero() {
                        let off = <$A>::new_unchecked(a.x, a.y + <$F>::one());
                        prop_assert!(!kh::$m::is_on_curve(&off));
                    }
                }
            }

            #[test]
            fn identity_doubles_and_negates_to_identity() {
                let o = <$A>::identity();
                for form in Form::ALL {
                    assert_eq!(kh::$m::double(form, &o, &<$F>::one()), Some(o));
                    assert_eq!(kh::$m::neg(form, &o, &<$F>::one()), Some(o));
                    assert_eq!(kh::$m::add(form, &o, &<$F>::one(), &o, &<$F>::one()), Some(o));
                    assert_eq!(kh::$m::sum_mixed(form, &[]), o);
                }
            }

            #[test]
            fn zero_z_is_rejected() {
                let g = <$A>::generator();
                let (zero, one) = (<$F>::zero(), <$F>::one());
                for form in Form::ALL {
                    assert_eq!(kh::$m::add(form, &g, &zero, &g, &one), None);
                    assert_eq!(kh::$m::add(form, &g, &one, &g, &zero), None);
                    assert_eq!(kh::$m::add_mixed(form, &g, &zero, &g), None);
                    assert_eq!(kh::$m::double(form, &g, &zero), None);
                    assert_eq!(kh::$m::neg(form, &g, &zero), None);
                }
            }
        }
    };
}

curve_tests!(g1, G1Affine, G1Projective, Fq, g1_point);
curve_tests!(g2, G2Affine, G2Projective, Fq2, g2_point);

/// The identity crosses the C boundary as arkworks stores it: (0, 0).
#[test]
fn identity_layout_is_arkworks_zero_zero() {
    let g1: kh::G1AffineLimbs = G1Affine::identity().into();
    assert_eq!(g1, kh::G1AffineLimbs::default());
    let g2: kh::G2AffineLimbs = G2Affine::identity().into();
    assert_eq!(g2, kh::G2AffineLimbs::default());
    assert_eq!(std::mem::size_of::<kh::G1AffineLimbs>(), 96);
    assert_eq!(std::mem::size_of::<kh::G2AffineLimbs>(), 192);
}

/// Limbs are arkworks' Montgomery limbs, so a conversion is a copy that round-trips.
#[test]
fn limb_conversions_round_trip() {
    let mut rng = StdRng::seed_from_u64(7);
    let a = Fq2::rand(&mut rng);
    let l: kh::Fq2Limbs = a.into();
    assert_eq!(l.c0.l, a.c0.0 .0);
    assert_eq!(Fq2::try_from(l), Ok(a));
    let p = (G2Projective::generator() * Fr::rand(&mut rng)).into_affine();
    assert_eq!(G2Affine::try_from(kh::G2AffineLimbs::from(p)), Ok(p));
    let unreduced = kh::FqLimbs { l: Fq::MODULUS.0 };
    assert_eq!(Fq::try_from(unreduced), Err(kh::NonCanonical));
}
