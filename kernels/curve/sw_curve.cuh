// Points of a short Weierstrass curve y^2 = x^3 + b (a = 0), written once over the
// coordinate field F (Fq for G1, Fq2 for G2); g1.cuh and g2.cuh instantiate it.
//
// Three forms:
//   affine_t    (x, y); the identity is (0, 0), as arkworks 0.6 stores it for BLS12-381.
//   jacobian_t  (X, Y, Z) = (X/Z^2, Y/Z^3), identity Z = 0; arkworks' projective form.
//   xyzz_t      (X, Y, ZZ, ZZZ) = (X/ZZ, Y/ZZZ), ZZ^3 = ZZZ^2, identity ZZ = 0. It keeps
//               Z^2 and Z^3 instead of recomputing them: full addition 12M + 2S (Jacobian
//               11M + 5S and more additions), mixed 8M + 2S: the MSM bucket form.
// Formulas are the EFD's (hyperelliptic.org/EFD, g1p/auto-shortw-*): add-2007-bl,
// madd-2007-bl, dbl-2009-l for Jacobian; add-2008-s, madd-2008-s, dbl-2008-s-1 for XYZZ.
// Those formulas are incomplete: they divide by zero on P + P and P + (-P). Every addition
// here detects both (the x-difference H is zero) and returns 2P or the identity, and treats
// an identity on either side, so callers never special-case anything.
//
// C supplies: `using field = F;` and `static field b()` (only is_on_curve reads b).
#pragma once

#include "../field/limb.cuh"

namespace spice {

template <class C>
struct affine_t {
    using F = typename C::field;
    F x, y;

    SPICE_HD static affine_t identity() { return {F::zero(), F::zero()}; }
    // (0, 0) is not on the curve since b != 0, so it can stand for the identity.
    SPICE_HD bool is_identity() const { return x.is_zero() & y.is_zero(); }
    SPICE_HD affine_t operator-() const { return {x, -y}; }
    SPICE_HD bool is_on_curve() const {
        return is_identity() || y.sqr() == x.sqr() * x + C::b();
    }
};

template <class C>
struct jacobian_t {
    using F = typename C::field;
    F x, y, z;

    SPICE_HD static jacobian_t identity() { return {F::one(), F::one(), F::zero()}; }
    SPICE_HD bool is_identity() const { return z.is_zero(); }
    SPICE_HD static jacobian_t from_affine(const affine_t<C>& a) {
        return a.is_identity() ? identity() : jacobian_t{a.x, a.y, F::one()};
    }
    SPICE_HD jacobian_t operator-() const { return {x, -y, z}; }

    // dbl-2009-l: 2M + 5S. The identity doubles to Z3 = 2*Y*0 = 0, and a point with y = 0
    // (order 2; none in the prime-order groups) to Z3 = 0: both correct without a branch.
    SPICE_HD jacobian_t dbl() const {
        F A = x.sqr();
        F B = y.sqr();
        F Cc = B.sqr();
        F D = ((x + B).sqr() - A - Cc).dbl();  // 4 X Y^2
        F E = A.dbl() + A;                     // 3 X^2 (a = 0)
        F X3 = E.sqr() - D.dbl();
        F C8 = Cc.dbl().dbl().dbl();
        return {X3, E * (D - X3) - C8, (y * z).dbl()};
    }

    // add-2007-bl: 11M + 5S.
    SPICE_HD jacobian_t operator+(const jacobian_t& q) const {
        if (is_identity()) return q;
        if (q.is_identity()) return *this;
        F Z1Z1 = z.sqr(), Z2Z2 = q.z.sqr();
        F U1 = x * Z2Z2, U2 = q.x * Z1Z1;
        F S1 = y * q.z * Z2Z2, S2 = q.y * z * Z1Z1;
        F H = U2 - U1;
        F r = (S2 - S1).dbl();
        if (H.is_zero()) return r.is_zero() ? dbl() : identity();
        F I = H.dbl().sqr();
        F J = H * I;
        F V = U1 * I;
        F X3 = r.sqr() - J - V.dbl();
        F Y3 = r * (V - X3) - (S1 * J).dbl();
        F Z3 = ((z + q.z).sqr() - Z1Z1 - Z2Z2) * H;
        return {X3, Y3, Z3};
    }

    // madd-2007-bl (Z2 = 1): 7M + 4S.
    SPICE_HD jacobian_t add_affine(const affine_t<C>& q) const {
        if (q.is_identity()) return *this;
        if (is_identity()) return from_affine(q);
        F Z1Z1 = z.sqr();
        F U2 = q.x * Z1Z1;
        F S2 = q.y * z * Z1Z1;
        F H = U2 - x;
        F r = (S2 - y).dbl();
        if (H.is_zero()) return r.is_zero() ? dbl() : identity();
        F HH = H.sqr();
        F I = HH.dbl().dbl();
        F J = H * I;
        F V = x * I;
        F X3 = r.sqr() - J - V.dbl();
        F Y3 = r * (V - X3) - (y * J).dbl();
        F Z3 = (z + H).sqr() - Z1Z1 - HH;
        return {X3, Y3, Z3};
    }

    // One inversion: x = X/Z^2, y = Y/Z^3.
    SPICE_HD affine_t<C> to_affine() const {
        if (is_identity()) return affine_t<C>::identity();
        F zi = z.inverse();
        F zi2 = zi.sqr();
        return {x * zi2, y * zi2 * zi};
    }
};

template <class C>
struct xyzz_t {
    using F = typename C::field;
    F x, y, zz, zzz;

    SPICE_HD static xyzz_t identity() { return {F::one(), F::one(), F::zero(), F::zero()}; }
    SPICE_HD bool is_identity() const { return zz.is_zero(); }
    SPICE_HD static xyzz_t from_affine(const affine_t<C>& a) {
        return a.is_identity() ? identity() : xyzz_t{a.x, a.y, F::one(), F::one()};
    }
    SPICE_HD xyzz_t operator-() const { return {x, -y, zz, zzz}; }

    // dbl-2008-s-1 with a = 0: 6M + 3S. ZZ3 = V*ZZ1 keeps the identity the identity, and
    // y = 0 gives U = 0, hence ZZ3 = 0: no branch needed.
    SPICE_HD xyzz_t dbl() const {
        F U = y.dbl();
        F V = U.sqr();
        F W = U * V;
        F S = x * V;
        F X2 = x.sqr();
        F M = X2.dbl() + X2;  // 3 X^2 (a = 0)
        F X3 = M.sqr() - S.dbl();
        F Y3 = M * (S - X3) - W * y;
        return {X3, Y3, V * zz, W * zzz};
    }

    // mdbl-2008-s-1 with a = 0: 2P for an affine P, 4M + 3S (dbl() spends 2M more on ZZ1 and
    // ZZZ1). The doubling branch of add_affine takes it: there P == Q, so doubling the affine
    // side gives the same point with less code in the kernel (the branch is rare, but its code
    // is inlined into every MSM loop). The identity, (0, 0), gives U = 0, hence ZZ3 = 0.
    SPICE_HD static xyzz_t dbl_affine(const affine_t<C>& a) {
        F U = a.y.dbl();
        F V = U.sqr();
        F W = U * V;
        F S = a.x * V;
        F X2 = a.x.sqr();
        F M = X2.dbl() + X2;  // 3 X^2 (a = 0)
        F X3 = M.sqr() - S.dbl();
        F Y3 = M * (S - X3) - W * a.y;
        return {X3, Y3, V, W};
    }

    // add-2008-s: 12M + 2S.
    SPICE_HD xyzz_t operator+(const xyzz_t& q) const {
        if (is_identity()) return q;
        if (q.is_identity()) return *this;
        F U1 = x * q.zz, U2 = q.x * zz;
        F S1 = y * q.zzz, S2 = q.y * zzz;
        F P = U2 - U1;
        F R = S2 - S1;
        if (P.is_zero()) return R.is_zero() ? dbl() : identity();
        F PP = P.sqr();
        F PPP = P * PP;
        F Q = U1 * PP;
        F X3 = R.sqr() - PPP - Q.dbl();
        F Y3 = R * (Q - X3) - S1 * PPP;
        return {X3, Y3, zz * q.zz * PP, zzz * q.zzz * PPP};
    }

    // madd-2008-s (ZZ2 = ZZZ2 = 1): 8M + 2S.
    SPICE_HD xyzz_t add_affine(const affine_t<C>& q) const {
        if (q.is_identity()) return *this;
        if (is_identity()) return from_affine(q);
        F U2 = q.x * zz;
        F S2 = q.y * zzz;
        F P = U2 - x;
        F R = S2 - y;
        if (P.is_zero()) return R.is_zero() ? dbl_affine(q) : identity();
        F PP = P.sqr();
        F PPP = P * PP;
        F Q = x * PP;
        F X3 = R.sqr() - PPP - Q.dbl();
        F Y3 = R * (Q - X3) - y * PPP;
        return {X3, Y3, zz * PP, zzz * PPP};
    }

    // One inversion: with t = 1/ZZZ = 1/Z^3, t*ZZ = 1/Z and (t*ZZ)^2 = 1/ZZ.
    SPICE_HD affine_t<C> to_affine() const {
        if (is_identity()) return affine_t<C>::identity();
        F t = zzz.inverse();
        F zi = t * zz;
        return {x * zi.sqr(), y * t};
    }
};

}  // namespace spice
