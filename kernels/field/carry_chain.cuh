// 32-bit multiply-add carry chains: the PTX instructions that thread a carry flag from one
// limb to the next, and on the host an exact model of them, so an algorithm written with
// `carry_chain` is the same source on both sides and its host build is what the Rust property
// tests check against arkworks.
//
// Why 32-bit words. The GPU has no 64-bit multiplier: a 64x64-bit product is four 32-bit
// products plus carry handling that the compiler spells out instruction by instruction. With
// 32-bit words, `mad.lo.cc` followed by `madc.hi.cc` on two adjacent limbs is one
// `IMAD.WIDE.U32.X` on sm_80/sm_90 (a 32x32 product added to a 64-bit register pair, carry in
// and out), so a product-and-accumulate costs one instruction. Products can only be paired that
// way when their halves land on an aligned register pair, which is why the Montgomery product in
// mont.cuh keeps two accumulators (see there).
//
// The carry flag between asm statements. Each method is its own asm statement, and a chain
// spans many of them: the carry flag must survive from one to the next. PTX defines CC.CF as
// state that only `.cc` instructions write, and ptxas honours it, so what could break a chain
// is only another `.cc` instruction placed between two of ours. The front end emits those only
// for 128-bit integer arithmetic, which no device code here uses, and `asm volatile` keeps our
// statements in program order; scripts/ptx-carry-lint.sh checks, on every CI run, that the PTX
// of every kernel has no carry instruction outside our asm.
//
// Host model: `cf` is the carry flag. An instruction without `.cc` leaves it as it was, exactly
// as on the device.
#pragma once

#include <stdint.h>

#include "limb.cuh"

namespace spice {

struct carry_chain {
#ifndef __CUDA_ARCH__
    uint32_t cf = 0;

    // (hi:lo) += a*b (+ cf when carry_in); the carry out of the pair into cf when carry_out.
    SPICE_HD void model_mad(uint32_t& lo, uint32_t& hi, uint32_t a, uint32_t b, bool carry_in,
                            bool carry_out) {
        uint64_t p = (uint64_t)a * b;
        uint64_t l = (uint64_t)lo + (uint32_t)p + (carry_in ? cf : 0);
        uint64_t h = (uint64_t)hi + (uint32_t)(p >> 32) + (l >> 32);
        lo = (uint32_t)l;
        hi = (uint32_t)h;
        if (carry_out) cf = (uint32_t)(h >> 32);
    }
#endif

    // (hi:lo) = a*b. No carry in or out.
    SPICE_HD void mul_wide(uint32_t& lo, uint32_t& hi, uint32_t a, uint32_t b) {
#ifdef __CUDA_ARCH__
        asm("mul.lo.u32 %0, %2, %3;\n\tmul.hi.u32 %1, %2, %3;" : "=r"(lo), "=r"(hi) : "r"(a), "r"(b));
#else
        uint64_t p = (uint64_t)a * b;
        lo = (uint32_t)p;
        hi = (uint32_t)(p >> 32);
#endif
    }
    // (hi:lo) += a*b, starting a chain: carry out.
    SPICE_HD void mad_wide_cc(uint32_t& lo, uint32_t& hi, uint32_t a, uint32_t b) {
#ifdef __CUDA_ARCH__
        asm volatile("mad.lo.cc.u32 %0, %2, %3, %0;\n\tmadc.hi.cc.u32 %1, %2, %3, %1;"
                     : "+r"(lo), "+r"(hi) : "r"(a), "r"(b));
#else
        model_mad(lo, hi, a, b, false, true);
#endif
    }
    // (hi:lo) += a*b + carry: carry in and out.
    SPICE_HD void madc_wide_cc(uint32_t& lo, uint32_t& hi, uint32_t a, uint32_t b) {
#ifdef __CUDA_ARCH__
        asm volatile("madc.lo.cc.u32 %0, %2, %3, %0;\n\tmadc.hi.cc.u32 %1, %2, %3, %1;"
                     : "+r"(lo), "+r"(hi) : "r"(a), "r"(b));
#else
        model_mad(lo, hi, a, b, true, true);
#endif
    }
    // (hi:lo) += a*b + carry, ending a chain: the caller guarantees nothing carries out.
    SPICE_HD void madc_wide(uint32_t& lo, uint32_t& hi, uint32_t a, uint32_t b) {
#ifdef __CUDA_ARCH__
        asm volatile("madc.lo.cc.u32 %0, %2, %3, %0;\n\tmadc.hi.u32 %1, %2, %3, %1;"
                     : "+r"(lo), "+r"(hi) : "r"(a), "r"(b));
#else
        model_mad(lo, hi, a, b, true, false);
#endif
    }
    // d += b, starting a chain.
    SPICE_HD void add_cc(uint32_t& d, uint32_t b) {
#ifdef __CUDA_ARCH__
        asm volatile("add.cc.u32 %0, %0, %1;" : "+r"(d) : "r"(b));
#else
        uint64_t t = (uint64_t)d + b;
        d = (uint32_t)t;
        cf = (uint32_t)(t >> 32);
#endif
    }
    // d += b + carry, carry out.
    SPICE_HD void addc_cc(uint32_t& d, uint32_t b) {
#ifdef __CUDA_ARCH__
        asm volatile("addc.cc.u32 %0, %0, %1;" : "+r"(d) : "r"(b));
#else
        uint64_t t = (uint64_t)d + b + cf;
        d = (uint32_t)t;
        cf = (uint32_t)(t >> 32);
#endif
    }
    // d += b + carry, ending a chain (the sum wraps; callers guarantee it does not).
    SPICE_HD void addc(uint32_t& d, uint32_t b) {
#ifdef __CUDA_ARCH__
        asm volatile("addc.u32 %0, %0, %1;" : "+r"(d) : "r"(b));
#else
        d = d + b + cf;
#endif
    }
    // d = a - b, starting a chain: the borrow goes into the carry flag.
    SPICE_HD void sub_cc(uint32_t& d, uint32_t a, uint32_t b) {
#ifdef __CUDA_ARCH__
        asm volatile("sub.cc.u32 %0, %1, %2;" : "=r"(d) : "r"(a), "r"(b));
#else
        d = a - b;
        cf = a < b;
#endif
    }
    // d = a - b - borrow, borrow out.
    SPICE_HD void subc_cc(uint32_t& d, uint32_t a, uint32_t b) {
#ifdef __CUDA_ARCH__
        asm volatile("subc.cc.u32 %0, %1, %2;" : "=r"(d) : "r"(a), "r"(b));
#else
        uint64_t t = (uint64_t)a - b - cf;
        d = (uint32_t)t;
        cf = (uint32_t)(t >> 32) & 1;  // the high half is all ones after a wrap
#endif
    }
    // d = a - b - borrow, ending a chain (`subc(d, 0, 0)` reads the borrow as 0 or all ones).
    SPICE_HD void subc(uint32_t& d, uint32_t a, uint32_t b) {
#ifdef __CUDA_ARCH__
        asm volatile("subc.u32 %0, %1, %2;" : "=r"(d) : "r"(a), "r"(b));
#else
        d = a - b - cf;
#endif
    }
};

}  // namespace spice
