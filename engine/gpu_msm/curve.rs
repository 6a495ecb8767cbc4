//! The two groups an MSM runs over, as the kernels store their points: G1 over Fq and G2 over
//! Fq2, each with its affine and XYZZ layouts (`kernels/include/spice_layout.h`).

use ark_bls12_381::{g1, g2, Fq, Fq2};
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::AdditiveGroup;
use bytemuck::Pod;

use crate::engine::kernel_host::{
    Fq2Limbs, FqLimbs, G1AffineLimbs, G1XyzzLimbs, G2AffineLimbs, G2XyzzLimbs, NonCanonical,
};

/// A group the MSM kernels are instantiated for.
pub trait MsmCurve: SWCurveConfig {
    /// `spice_g*_affine`: the bases' layout (arkworks' own bytes).
    type AffineLimbs: Pod + From<Affine<Self>> + Send + Sync;
    /// `spice_g*_xyzz`: buckets and partial sums.
    type XyzzLimbs: Pod + Send + Sync;
    /// The coordinate field's element (`spice_fq`, `spice_fq2`): the window copy kernel's
    /// running products.
    type FieldLimbs: Pod + Send + Sync;
    /// `"g1"` or `"g2"`: the prefix of the group's kernels and host entry points.
    const NAME: &'static str;

    /// The point an XYZZ value stands for, as an arkworks Jacobian point: with ZZ = Z², ZZZ = Z³,
    /// (X, Y, ZZ, ZZZ) is (X·ZZ², Y·ZZZ², ZZZ) in Jacobian form (both are (X/ZZ, Y/ZZZ) in
    /// affine), three multiplications and no inversion. Fails on unreduced limbs.
    fn projective_from_xyzz(p: &Self::XyzzLimbs) -> Result<Projective<Self>, NonCanonical>;
}

macro_rules! msm_curve {
    ($config:ty, $field:ty, $limbs:ty, $affine:ty, $xyzz:ty, $name:literal) => {
        impl MsmCurve for $config {
            type AffineLimbs = $affine;
            type XyzzLimbs = $xyzz;
            type FieldLimbs = $limbs;
            const NAME: &'static str = $name;

            fn projective_from_xyzz(p: &$xyzz) -> Result<Projective<Self>, NonCanonical> {
                let (x, y, zz, zzz): ($field, $field, $field, $field) = (
                    p.x.try_into()?,
                    p.y.try_into()?,
                    p.zz.try_into()?,
                    p.zzz.try_into()?,
                );
                if zz == <$field as ark_ff::Zero>::zero() {
                    return Ok(Projective::<Self>::ZERO);
                }
                Ok(Projective::<Self>::new_unchecked(
                    x * zz.square(),
                    y * zzz.square(),
                    zzz,
                ))
            }
        }
    };
}

use ark_ff::Field as _;
msm_curve!(g1::Config, Fq, FqLimbs, G1AffineLimbs, G1XyzzLimbs, "g1");
msm_curve!(g2::Config, Fq2, Fq2Limbs, G2AffineLimbs, G2XyzzLimbs, "g2");
