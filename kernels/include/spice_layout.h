/*
 * Memory layouts shared by the CUDA kernels (nvcc), their host build (the `cc` crate) and
 * Rust (bindgen, and the hand-written mirror in engine/kernel_host.rs).
 *
 * Every field element is stored exactly as arkworks stores `Fp<MontBackend<_, N>, N>`:
 * N little-endian u64 limbs holding a*R mod p, with R = 2^(64N), fully reduced (< p).
 * So a slice of arkworks elements and a slice of these structs are the same bytes, and
 * moving data to and from the GPU is a plain copy with no conversion pass.
 *
 * Affine points carry no infinity flag: arkworks 0.6 configures BLS12-381 G1 and G2 with
 * `ZeroFlag = ()`, so `G1Affine`/`G2Affine` are just (x, y) and the identity is (0, 0).
 * (0, 0) is never on either curve (y^2 = x^3 + b with b != 0), so the encoding is unambiguous.
 *
 * Plain C: no C++ constructs, so bindgen reads it as is.
 */
#ifndef SPICE_LAYOUT_H
#define SPICE_LAYOUT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SPICE_FR_LIMBS 4 /* r has 255 bits */
#define SPICE_FQ_LIMBS 6 /* p has 381 bits */

/* Element of the scalar field Fr, Montgomery form, R = 2^256. */
typedef struct spice_fr { uint64_t l[SPICE_FR_LIMBS]; } spice_fr;

/* Element of the base field Fq, Montgomery form, R = 2^384. */
typedef struct spice_fq { uint64_t l[SPICE_FQ_LIMBS]; } spice_fq;

/* Element c0 + c1*u of Fq2 = Fq[u]/(u^2 + 1), as arkworks' `QuadExtField { c0, c1 }`. */
typedef struct spice_fq2 { spice_fq c0, c1; } spice_fq2;

/* Affine points; (0, 0) is the identity (see above). */
typedef struct spice_g1_affine { spice_fq x, y; } spice_g1_affine;
typedef struct spice_g2_affine { spice_fq2 x, y; } spice_g2_affine;

/* Jacobian: (X, Y, Z) is (X/Z^2, Y/Z^3); Z = 0 is the identity. Same form as arkworks'
 * `Projective`, though not canonical: compare after conversion to affine. */
typedef struct spice_g1_jacobian { spice_fq x, y, z; } spice_g1_jacobian;
typedef struct spice_g2_jacobian { spice_fq2 x, y, z; } spice_g2_jacobian;

/* XYZZ: (X, Y, ZZ, ZZZ) is (X/ZZ, Y/ZZZ) with ZZ^3 = ZZZ^2; ZZ = 0 is the identity.
 * The cheapest mixed addition of the common forms, hence the MSM bucket form. */
typedef struct spice_g1_xyzz { spice_fq x, y, zz, zzz; } spice_g1_xyzz;
typedef struct spice_g2_xyzz { spice_fq2 x, y, zz, zzz; } spice_g2_xyzz;

#ifdef __cplusplus
}
#endif

#endif /* SPICE_LAYOUT_H */
