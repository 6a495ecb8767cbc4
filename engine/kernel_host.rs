//! Host (CPU) build of the CUDA kernels' field and curve arithmetic, for testing.
//!
//! `kernels/host_arith.cpp` compiles the kernels' `__host__ __device__` headers for the CPU
//! (see `build.rs`). This module mirrors the layouts of `kernels/include/spice_layout.h` as
//! `#[repr(C)]` structs (checked against bindgen's reading of the header by
//! `tests/gpu_layout.rs`, `cuda` feature) and wraps the C entry points in safe functions on
//! arkworks types, so `tests/kernel_arith.rs` can check the kernels' algorithms against
//! arkworks without a GPU.
//!
//! The layouts are arkworks' own: Montgomery form with R = 2^(64N), little-endian u64 limbs,
//! fully reduced; affine points are (x, y) with the identity stored as (0, 0), as arkworks 0.6
//! stores BLS12-381 G1/G2 affine points. Converting is a copy of the limbs.

use ark_bls12_381::{Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ff::{BigInt, PrimeField};
use bytemuck::{Pod, Zeroable};

/// An `Fr` element as the kernels store it (`spice_fr`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct FrLimbs {
    /// Montgomery form, little-endian limbs.
    pub l: [u64; 4],
}

/// An `Fq` element as the kernels store it (`spice_fq`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct FqLimbs {
    /// Montgomery form, little-endian limbs.
    pub l: [u64; 6],
}

/// `c0 + c1*u` in Fq2 (`spice_fq2`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Fq2Limbs {
    pub c0: FqLimbs,
    pub c1: FqLimbs,
}

/// A G1 affine point (`spice_g1_affine`); (0, 0) is the identity.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct G1AffineLimbs {
    pub x: FqLimbs,
    pub y: FqLimbs,
}

/// A G2 affine point (`spice_g2_affine`); (0, 0) is the identity.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct G2AffineLimbs {
    pub x: Fq2Limbs,
    pub y: Fq2Limbs,
}

/// A G1 point in Jacobian form (`spice_g1_jacobian`): (X/Z^2, Y/Z^3), identity Z = 0.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct G1JacobianLimbs {
    pub x: FqLimbs,
    pub y: FqLimbs,
    pub z: FqLimbs,
}

/// A G2 point in Jacobian form (`spice_g2_jacobian`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct G2JacobianLimbs {
    pub x: Fq2Limbs,
    pub y: Fq2Limbs,
    pub z: Fq2Limbs,
}

/// A G1 point in XYZZ form (`spice_g1_xyzz`): (X/ZZ, Y/ZZZ), identity ZZ = 0.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct G1XyzzLimbs {
    pub x: FqLimbs,
    pub y: FqLimbs,
    pub zz: FqLimbs,
    pub zzz: FqLimbs,
}

/// A G2 point in XYZZ form (`spice_g2_xyzz`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct G2XyzzLimbs {
    pub x: Fq2Limbs,
    pub y: Fq2Limbs,
    pub zz: Fq2Limbs,
    pub zzz: Fq2Limbs,
}

/// Limbs that are not a fully reduced field element (>= the modulus).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("limbs are not a canonical field element")]
pub struct NonCanonical;

impl From<Fr> for FrLimbs {
    fn from(a: Fr) -> Self {
        Self { l: a.0 .0 }
    }
}
impl TryFrom<FrLimbs> for Fr {
    type Error = NonCanonical;
    fn try_from(a: FrLimbs) -> Result<Self, NonCanonical> {
        let b = BigInt(a.l);
        (b < Fr::MODULUS)
            .then(|| Fr::new_unchecked(b))
            .ok_or(NonCanonical)
    }
}
impl From<Fq> for FqLimbs {
    fn from(a: Fq) -> Self {
        Self { l: a.0 .0 }
    }
}
impl TryFrom<FqLimbs> for Fq {
    type Error = NonCanonical;
    fn try_from(a: FqLimbs) -> Result<Self, NonCanonical> {
        let b = BigInt(a.l);
        (b < Fq::MODULUS)
            .then(|| Fq::new_unchecked(b))
            .ok_or(NonCanonical)
    }
}
impl From<Fq2> for Fq2Limbs {
    fn from(a: Fq2) -> Self {
        Self {
            c0: a.c0.into(),
            c1: a.c1.into(),
        }
    }
}
impl TryFrom<Fq2Limbs> for Fq2 {
    type Error = NonCanonical;
    fn try_from(a: Fq2Limbs) -> Result<Self, NonCanonical> {
        Ok(Fq2::new(a.c0.try_into()?, a.c1.try_into()?))
    }
}
impl From<G1Affine> for G1AffineLimbs {
    fn from(p: G1Affine) -> Self {
        // arkworks stores the identity as (0, 0), which is our encoding too.
        Self {
            x: p.x.into(),
            y: p.y.into(),
        }
    }
}
impl TryFrom<G1AffineLimbs> for G1Affine {
    type Error = NonCanonical;
    /// Checks the coordinates are reduced; like `new_unchecked`, not that the point is on
    /// the curve (`g1::is_on_curve` does).
    fn try_from(p: G1AffineLimbs) -> Result<Self, NonCanonical> {
        Ok(G1Affine::new_unchecked(p.x.try_into()?, p.y.try_into()?))
    }
}
impl From<G2Affine> for G2AffineLimbs {
    fn from(p: G2Affine) -> Self {
        Self {
            x: p.x.into(),
            y: p.y.into(),
        }
    }
}
impl TryFrom<G2AffineLimbs> for G2Affine {
    type Error = NonCanonical;
    /// Checks the coordinates are reduced, not that the point is on the curve.
    fn try_from(p: G2AffineLimbs) -> Result<Self, NonCanonical> {
        Ok(G2Affine::new_unchecked(p.x.try_into()?, p.y.try_into()?))
    }
}

/// The projective form a curve operation runs in; both must give the same affine result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)] // the values are host_arith.cpp's FORM_* constants
pub enum Form {
    /// (X/Z^2, Y/Z^3), arkworks' projective form.
    Jacobian = 0,
    /// (X/ZZ, Y/ZZZ), the MSM bucket form.
    Xyzz = 1,
}

impl Form {
    /// Every form, for tests that must hold in each.
    pub const ALL: [Form; 2] = [Form::Jacobian, Form::Xyzz];
}

mod ffi {
    use super::*;

    macro_rules! prime_field_ffi {
        ($L:ty, $add:ident, $sub:ident, $mul:ident, $sqr:ident, $neg:ident, $inv:ident,
         $to:ident, $from:ident) => {
            extern "C" {
                pub fn $add(a: *const $L, b: *const $L, out: *mut $L);
                pub fn $sub(a: *const $L, b: *const $L, out: *mut $L);
                pub fn $mul(a: *const $L, b: *const $L, out: *mut $L);
                pub fn $sqr(a: *const $L, out: *mut $L);
                pub fn $neg(a: *const $L, out: *mut $L);
                pub fn $inv(a: *const $L, out: *mut $L) -> i32;
                pub fn $to(x: *const u64, out: *mut $L) -> i32;
                pub fn $from(a: *const $L, x: *mut u64);
            }
        };
    }
    prime_field_ffi!(
        FrLimbs,
        spice_host_fr_add,
        spice_host_fr_sub,
        spice_host_fr_mul,
        spice_host_fr_sqr,
        spice_host_fr_neg,
        spice_host_fr_inverse,
        spice_host_fr_to_mont,
        spice_host_fr_from_mont
    );
    prime_field_ffi!(
        FqLimbs,
        spice_host_fq_add,
        spice_host_fq_sub,
        spice_host_fq_mul,
        spice_host_fq_sqr,
        spice_host_fq_neg,
        spice_host_fq_inverse,
        spice_host_fq_to_mont,
        spice_host_fq_from_mont
    );

    extern "C" {
        pub fn spice_host_fq2_add(a: *const Fq2Limbs, b: *const Fq2Limbs, out: *mut Fq2Limbs);
        pub fn spice_host_fq2_sub(a: *const Fq2Limbs, b: *const Fq2Limbs, out: *mut Fq2Limbs);
        pub fn spice_host_fq2_mul(a: *const Fq2Limbs, b: *const Fq2Limbs, out: *mut Fq2Limbs);
        pub fn spice_host_fq2_sqr(a: *const Fq2Limbs, out: *mut Fq2Limbs);
        pub fn spice_host_fq2_neg(a: *const Fq2Limbs, out: *mut Fq2Limbs);
        pub fn spice_host_fq2_inverse(a: *const Fq2Limbs, out: *mut Fq2Limbs) -> i32;
    }

    macro_rules! curve_ffi {
        ($A:ty, $Z:ty, $add:ident, $madd:ident, $dbl:ident, $neg:ident, $sum:ident,
         $on:ident) => {
            extern "C" {
                pub fn $add(
                    form: u32,
                    a: *const $A,
                    za: *const $Z,
                    b: *const $A,
                    zb: *const $Z,
                    out: *mut $A,
                ) -> i32;
                pub fn $madd(
                    form: u32,
                    a: *const $A,
                    za: *const $Z,
                    b: *const $A,
                    out: *mut $A,
                ) -> i32;
                pub fn $dbl(form: u32, a: *const $A, za: *const $Z, out: *mut $A) -> i32;
                pub fn $neg(form: u32, a: *const $A, za: *const $Z, out: *mut $A) -> i32;
                pub fn $sum(form: u32, pts: *const $A, n: usize, out: *mut $A) -> i32;
                pub fn $on(a: *const $A) -> i32;
            }
        };
    }
    curve_ffi!(
        G1AffineLimbs,
        FqLimbs,
        spice_host_g1_add,
        spice_host_g1_add_mixed,
        spice_host_g1_double,
        spice_host_g1_neg,
        spice_host_g1_sum_mixed,
        spice_host_g1_is_on_curve
    );
    curve_ffi!(
        G2AffineLimbs,
        Fq2Limbs,
        spice_host_g2_add,
        spice_host_g2_add_mixed,
        spice_host_g2_double,
        spice_host_g2_neg,
        spice_host_g2_sum_mixed,
        spice_host_g2_is_on_curve
    );
}

/// Converts a value the C code wrote. It only ever writes reduced values (the tests compare
/// them with arkworks limb for limb), so a failure here is a bug in the kernels.
fn from_kernel<L, T: TryFrom<L, Error = NonCanonical>>(l: L) -> T {
    T::try_from(l).unwrap_or_else(|_| panic!("kernel arithmetic returned an unreduced value"))
}

macro_rules! prime_field_wrappers {
    ($(#[$doc:meta])* $m:ident, $F:ty, $L:ty, $N:expr, $add:ident, $sub:ident, $mul:ident,
     $sqr:ident, $neg:ident, $inv:ident, $to:ident, $from:ident) => {
        $(#[$doc])*
        pub mod $m {
            use super::*;

            /// `a + b`.
            pub fn add(a: &$F, b: &$F) -> $F {
                let mut out = <$L>::zeroed();
                // SAFETY: pointers to live, properly laid out values; C writes only `out`.
                unsafe { ffi::$add(&<$L>::from(*a), &<$L>::from(*b), &mut out) };
                from_kernel(out)
            }
            /// `a - b`.
            pub fn sub(a: &$F, b: &$F) -> $F {
                let mut out = <$L>::zeroed();
                // SAFETY: as in `add`.
                unsafe { ffi::$sub(&<$L>::from(*a), &<$L>::from(*b), &mut out) };
                from_kernel(out)
            }
            /// `a * b` (Montgomery multiplication).
            pub fn mul(a: &$F, b: &$F) -> $F {
                let mut out = <$L>::zeroed();
                // SAFETY: as in `add`.
                unsafe { ffi::$mul(&<$L>::from(*a), &<$L>::from(*b), &mut out) };
                from_kernel(out)
            }
            /// `a^2`.
            pub fn square(a: &$F) -> $F {
                let mut out = <$L>::zeroed();
                // SAFETY: as in `add`.
                unsafe { ffi::$sqr(&<$L>::from(*a), &mut out) };
                from_kernel(out)
            }
            /// `-a`.
            pub fn neg(a: &$F) -> $F {
                let mut out = <$L>::zeroed();
                // SAFETY: as in `add`.
                unsafe { ffi::$neg(&<$L>::from(*a), &mut out) };
                from_kernel(out)
            }
            /// `a^{-1}`, or `None` for zero.
            pub fn inverse(a: &$F) -> Option<$F> {
                let mut out = <$L>::zeroed();
                // SAFETY: as in `add`.
                let ok = unsafe { ffi::$inv(&<$L>::from(*a), &mut out) };
                (ok == 1).then(|| from_kernel(out))
            }
            /// The element whose canonical integer is `x` (little-endian limbs), or `None`
            /// if `x` is not below the modulus.
            pub fn to_montgomery(x: &[u64; $N]) -> Option<$F> {
                let mut out = <$L>::zeroed();
                // SAFETY: `x` has the N limbs the C side reads.
                let ok = unsafe { ffi::$to(x.as_ptr(), &mut out) };
                (ok == 1).then(|| from_kernel(out))
            }
            /// The canonical integer of `a` (little-endian limbs).
            pub fn from_montgomery(a: &$F) -> [u64; $N] {
                let mut x = [0u64; $N];
                // SAFETY: `x` has room for the N limbs the C side writes.
                unsafe { ffi::$from(&<$L>::from(*a), x.as_mut_ptr()) };
                x
            }
        }
    };
}

prime_field_wrappers!(
    /// Fr through the kernels' host build.
    fr, Fr, FrLimbs, 4, spice_host_fr_add, spice_host_fr_sub, spice_host_fr_mul,
    spice_host_fr_sqr, spice_host_fr_neg, spice_host_fr_inverse, spice_host_fr_to_mont,
    spice_host_fr_from_mont
);
prime_field_wrappers!(
    /// Fq through the kernels' host build.
    fq, Fq, FqLimbs, 6, spice_host_fq_add, spice_host_fq_sub, spice_host_fq_mul,
    spice_host_fq_sqr, spice_host_fq_neg, spice_host_fq_inverse, spice_host_fq_to_mont,
    spice_host_fq_from_mont
);

/// Fq2 through the kernels' host build.
pub mod fq2 {
    use super::*;

    macro_rules! binary {
        ($(#[$doc:meta])* $name:ident, $f:ident) => {
            $(#[$doc])*
            pub fn $name(a: &Fq2, b: &Fq2) -> Fq2 {
                let mut out = Fq2Limbs::zeroed();
                // SAFETY: pointers to live, properly laid out values; C writes only `out`.
                unsafe { ffi::$f(&Fq2Limbs::from(*a), &Fq2Limbs::from(*b), &mut out) };
                from_kernel(out)
            }
        };
    }
    binary!(
        /// `a + b`.
        add,
        spice_host_fq2_add
    );
    binary!(
        /// `a - b`.
        sub,
        spice_host_fq2_sub
    );
    binary!(
        /// `a * b` (Karatsuba over Fq).
        mul,
        spice_host_fq2_mul
    );

    /// `a^2`.
    pub fn square(a: &Fq2) -> Fq2 {
        let mut out = Fq2Limbs::zeroed();
        // SAFETY: as in `add`.
        unsafe { ffi::spice_host_fq2_sqr(&Fq2Limbs::from(*a), &mut out) };
        from_kernel(out)
    }
    /// `-a`.
    pub fn neg(a: &Fq2) -> Fq2 {
        let mut out = Fq2Limbs::zeroed();
        // SAFETY: as in `add`.
        unsafe { ffi::spice_host_fq2_neg(&Fq2Limbs::from(*a), &mut out) };
        from_kernel(out)
    }
    /// `a^{-1}`, or `None` for zero.
    pub fn inverse(a: &Fq2) -> Option<Fq2> {
        let mut out = Fq2Limbs::zeroed();
        // SAFETY: as in `add`.
        let ok = unsafe { ffi::spice_host_fq2_inverse(&Fq2Limbs::from(*a), &mut out) };
        (ok == 1).then(|| from_kernel(out))
    }
}

macro_rules! curve_wrappers {
    ($(#[$doc:meta])* $m:ident, $P:ty, $A:ty, $F:ty, $ZL:ty, $add:ident, $madd:ident, $dbl:ident,
     $neg:ident, $sum:ident, $on:ident) => {
        $(#[$doc])*
        ///
        /// Projective inputs are lifted from affine with a caller-chosen `z` (X = x z^2,
        /// Y = y z^3), so the formulas run on Z != 1 as inside an MSM; every function returns
        /// `None` when such a `z` is zero. Results come back as affine points.
        pub mod $m {
            use super::*;

            /// `a + b` with both lifted to `form` (the full addition formula).
            pub fn add(form: Form, a: &$P, za: &$F, b: &$P, zb: &$F) -> Option<$P> {
                let mut out = <$A>::zeroed();
                // SAFETY: pointers to live, properly laid out values; C writes only `out`.
                let ok = unsafe {
                    ffi::$add(form as u32, &<$A>::from(*a), &<$ZL>::from(*za), &<$A>::from(*b),
                              &<$ZL>::from(*zb), &mut out)
                };
                (ok == 1).then(|| from_kernel(out))
            }
            /// `a + b` with `a` lifted to `form` and `b` affine (the mixed addition formula).
            pub fn add_mixed(form: Form, a: &$P, za: &$F, b: &$P) -> Option<$P> {
                let mut out = <$A>::zeroed();
                // SAFETY: as in `add`.
                let ok = unsafe {
                    ffi::$madd(form as u32, &<$A>::from(*a), &<$ZL>::from(*za), &<$A>::from(*b), &mut out)
                };
                (ok == 1).then(|| from_kernel(out))
            }
            /// `2a` in `form`.
            pub fn double(form: Form, a: &$P, za: &$F) -> Option<$P> {
                let mut out = <$A>::zeroed();
                // SAFETY: as in `add`.
                let ok = unsafe { ffi::$dbl(form as u32, &<$A>::from(*a), &<$ZL>::from(*za), &mut out) };
                (ok == 1).then(|| from_kernel(out))
            }
            /// `-a` in `form`.
            pub fn neg(form: Form, a: &$P, za: &$F) -> Option<$P> {
                let mut out = <$A>::zeroed();
                // SAFETY: as in `add`.
                let ok = unsafe { ffi::$neg(form as u32, &<$A>::from(*a), &<$ZL>::from(*za), &mut out) };
                (ok == 1).then(|| from_kernel(out))
            }
            /// The sum of `points`, accumulated by mixed additions from the identity in
            /// `form` (an MSM bucket's inner loop).
            pub fn sum_mixed(form: Form, points: &[$P]) -> $P {
                let limbs: Vec<$A> = points.iter().map(|&p| p.into()).collect();
                let mut out = <$A>::zeroed();
                // SAFETY: `limbs` holds `len` points; C writes only `out`.
                let ok = unsafe { ffi::$sum(form as u32, limbs.as_ptr(), limbs.len(), &mut out) };
                debug_assert_eq!(ok, 1, "every Form is known to the C side");
                from_kernel(out)
            }
            /// Whether `a` satisfies the curve equation (the identity does).
            pub fn is_on_curve(a: &$P) -> bool {
                // SAFETY: pointer to a live, properly laid out value.
                unsafe { ffi::$on(&<$A>::from(*a)) == 1 }
            }
        }
    };
}

curve_wrappers!(
    /// G1 through the kernels' host build.
    g1, G1Affine, G1AffineLimbs, Fq, FqLimbs, spice_host_g1_add, spice_host_g1_add_mixed,
    spice_host_g1_double, spice_host_g1_neg, spice_host_g1_sum_mixed, spice_host_g1_is_on_curve
);
curve_wrappers!(
    /// G2 through the kernels' host build.
    g2, G2Affine, G2AffineLimbs, Fq2, Fq2Limbs, spice_host_g2_add, spice_host_g2_add_mixed,
    spice_host_g2_double, spice_host_g2_neg, spice_host_g2_sum_mixed, spice_host_g2_is_on_curve
);
