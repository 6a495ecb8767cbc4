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


/* ---- NTT (kernels/ntt/ntt_pass.cuh) ---- */

/* Flags of spice_ntt_pass. */
#define SPICE_NTT_DIT 1u         /* decimation in time (bit-reversed in); else in frequency */
#define SPICE_NTT_BITREV_IO 2u   /* lo_bit == 0 pass that also does the bit reversal (out of place) */
#define SPICE_NTT_SCALE 4u       /* multiply element i by sigma^i (scale tables) */
#define SPICE_NTT_LAMBDA 8u      /* multiply every element by lambda */

/* Largest log2 of the tile one block holds (2^12 elements = 128 KiB of shared memory). */
#define SPICE_NTT_MAX_TILE_LOG 12

/*
 * One launch of the NTT: `stages` radix-2 stages over index bits [lo_bit, lo_bit + stages) of
 * a 2^log_n array, each block holding 2^(stages + log_columns) elements in shared memory.
 * Twiddles: omega^e = twiddle_hi[e >> split] * twiddle_lo[e & (2^split - 1)], where omega is
 * the primitive 2^log_n-th root (its inverse for inverse transforms); roots[m] =
 * omega_{2^root_log}^m for m < 2^(root_log - 1). The scale sigma^i uses the same split.
 * Pointers are device addresses on the GPU and host addresses in the host simulation.
 */
typedef struct spice_ntt_pass {
    const spice_fr* input;
    spice_fr* output;
    const spice_fr* roots;
    const spice_fr* twiddle_lo;
    const spice_fr* twiddle_hi;
    const spice_fr* scale_lo;
    const spice_fr* scale_hi;
    spice_fr lambda;
    uint32_t log_n;
    uint32_t lo_bit;
    uint32_t stages;
    uint32_t log_columns;
    uint32_t root_log;
    uint32_t split;
    uint32_t flags;
    uint32_t threads;
} spice_ntt_pass;


/* ---- MSM (kernels/msm/) ---- */

/* Entry flag: the base enters the bucket negated. Base indices are below 2^31. */
#define SPICE_MSM_NEGATE 0x80000000u
/* Window sizes the kernels support: digits and bucket keys must fit the u32 layouts below. */
#define SPICE_MSM_MIN_WINDOW_BITS 2
#define SPICE_MSM_MAX_WINDOW_BITS 22
/* Smallest chunk of the bucket accumulation: each level turns a chunk into at most two
 * partial sums, so a chunk of at least 4 shrinks every level until one chunk is left. */
#define SPICE_MSM_MIN_CHUNK 4

/*
 * The scalar side of an MSM, shared by every MSM over the same scalars (Groth16's A, B and L
 * queries): scalars cut into signed c-bit (Booth) digits, and the (scalar, window) pairs with a
 * nonzero digit sorted by bucket. Bucket keys: w * 2^(c-1) + |d| - 1 for digit d of window w,
 * and one more bucket, windows * 2^(c-1), for the scalars +-1 (the "ones"), which skip the
 * windows entirely. Zero scalars have no entries at all.
 * With window copies the bases hold k = `copies` copies, copy j (2^(jc) P_i) at j * n + i, and
 * windows k apart share buckets: digit d of window w of scalar i is the entry (w mod k) * n + i
 * in bucket (w / k) * 2^(c-1) + |d| - 1, so ceil(windows / k) windows keep buckets apart and the
 * ones bucket comes after them. k = 1 is the plain layout above; k = windows, one window's
 * buckets for all. The +-1 scalars' entries name copy 0, the bases themselves.
 * Pointers are device addresses on the GPU and host addresses in the host simulation.
 */
typedef struct spice_msm_schedule {
    spice_fr* scalars;        /* n: Montgomery form in; canonical and normalised after prepare */
    uint32_t* bucket_counts;  /* buckets: histogram, then exclusive offsets, then end cursors */
    uint32_t* segment_sums;   /* scan segments: their sums, then their exclusive offsets */
    uint32_t* entries;        /* entry capacity: base index | SPICE_MSM_NEGATE, sorted by bucket */
    uint32_t* keys;           /* entry capacity: the bucket of each entry */
    uint32_t* entry_count;    /* one: the number of entries (written by the scan) */
    uint32_t n;               /* scalars */
    uint32_t window_bits;     /* c */
    uint32_t windows;         /* ceil(255 / c): normalised scalars are below 2^254 */
    uint32_t scan_segment;    /* counters per scan segment */
    uint32_t entry_capacity;  /* room in entries and keys; the scatter never writes past it */
    uint32_t copies;          /* k, 1 to windows: copies of the bases (above), n * k < 2^31 */
} spice_msm_schedule;

/*
 * One level of the bucket accumulation, a segmented sum over a key-sorted array: level 0 sums
 * the (signed) bases of the schedule's entries, later levels the partial sums of the level
 * before. The input is cut into chunks of `chunk` elements, one thread per chunk; a run of
 * equal keys strictly inside a chunk is a whole bucket and is written to `buckets`, a chunk's
 * first and last runs go on to the next level (two slots per chunk), until one chunk is left.
 * Point arrays are spice_g1_xyzz / spice_g2_xyzz (bases: spice_g1_affine / spice_g2_affine).
 */
typedef struct spice_msm_level {
    const uint32_t* count;    /* one: elements of this level's input */
    uint32_t* next_count;     /* one: elements of the next level's input (0 after the last) */
    const uint32_t* keys;     /* input bucket keys, sorted */
    const uint32_t* entries;  /* level 0: base index | SPICE_MSM_NEGATE */
    const void* bases;        /* level 0: affine bases */
    const void* partials;     /* later levels: xyzz partial sums */
    void* buckets;            /* xyzz bucket sums; all zero (the identity) before level 0 */
    uint32_t* next_keys;      /* 2 per chunk */
    void* next_partials;      /* 2 per chunk */
    uint32_t chunk;           /* elements per chunk, at least SPICE_MSM_MIN_CHUNK */
    uint32_t level;           /* 0: the input is entries into the bases */
} spice_msm_level;

/*
 * The bucket reduction: for each window, sum over buckets j of (j + 1) * B_j. Each window's
 * 2^(c-1) buckets are cut into segments of 2^segment_log; one thread sums its segment with
 * running sums and adds the segment's offset times its plain sum; trees (one block each, and
 * 2^tree_groups_log a window, over contiguous segments) add the segments up. window_sums holds
 * the trees' sums, window by window, then the ones bucket; the host adds a window's trees.
 * `windows` counts the windows whose buckets are kept apart: ceil(255 / c), or
 * ceil(ceil(255 / c) / k) when windows k apart share buckets (k window copies).
 */
typedef struct spice_msm_reduce {
    const void* buckets;      /* xyzz: windows * 2^(c-1) + 1 */
    void* segment_sums;       /* xyzz: windows * 2^(c-1-segment_log) */
    void* window_sums;        /* xyzz: windows * 2^tree_groups_log + 1 */
    uint32_t window_bits;
    uint32_t windows;         /* ceil(255 / c), or ceil(that / k) with k window copies */
    uint32_t segment_log;     /* at most c - 1 */
    uint32_t tree_groups_log; /* at most c - 1 - segment_log */
} spice_msm_reduce;

/*
 * One window copy of the bases from the previous one (kernels/msm/window_copy.cuh): points
 * first .. first + count of `target` are those of `source` doubled window_bits times, back
 * in affine form with one inversion a chunk of `chunk` points. `doubled` and `prefix` are
 * scratch for `count` points, indexed from `first`.
 */
typedef struct spice_msm_copy {
    const void* source;       /* affine: the previous copy */
    void* target;             /* affine: this copy */
    void* doubled;            /* xyzz: count */
    void* prefix;             /* field elements (fq or fq2): count */
    uint32_t first;
    uint32_t count;
    uint32_t window_bits;     /* doublings, at least 1 */
    uint32_t chunk;           /* points an inversion, at least 1 */
} spice_msm_copy;

/* ---- Witness map (kernels/witness_map/rows.cuh) ---- */

/* Indices of the two coefficients a term needs no product for; every coefficient table
 * starts with them. */
#define SPICE_WITNESS_COEFF_ONE 0u
#define SPICE_WITNESS_COEFF_MINUS_ONE 1u
/* first_failure when every constraint holds. */
#define SPICE_WITNESS_NO_FAILURE 0xffffffffu

/* One term coeff * z[var] of a row of A, B or C. */
typedef struct spice_witness_term {
    uint32_t var;    /* below the assignment's length (checked when the shape is loaded) */
    uint32_t coeff;  /* index into the coefficient table */
} spice_witness_term;

/*
 * The first step of Groth16's witness map on the device: A*z, B*z and C*z at every point of
 * the QAP domain, natural order, one thread per point, and the check that each constraint
 * holds. Point i < rows is constraint i; the `instance` points after them hold z[0..instance)
 * in a (libsnark's placement of the public inputs) and 0 in b and c; the rest are 0.
 * The terms of matrix m (0: A, 1: B, 2: C) in row i are terms[offsets[m * rows + i] ..
 * offsets[m * rows + i + 1]). A failing row lowers first_failure to its index (atomicMin), so
 * the smallest failing row is reported whatever order the threads run in.
 * Pointers are device addresses on the GPU and host addresses in the host simulation.
 */
typedef struct spice_witness_map {
    const uint32_t* offsets;             /* 3 * rows + 1 */
    const spice_witness_term* terms;
    const spice_fr* coeff_table;         /* distinct coefficients, starting 1, -1 */
    const spice_fr* z;                   /* the assignment: one, public inputs, witness */
    spice_fr* a;                         /* domain elements each */
    spice_fr* b;
    spice_fr* c;
    uint32_t* first_failure;             /* one; SPICE_WITNESS_NO_FAILURE before the launch */
    uint32_t rows;                       /* constraints */
    uint32_t instance;                   /* one + public inputs */
    uint32_t domain;                     /* points: a power of two >= rows + instance */
} spice_witness_map;

#ifdef __cplusplus
}
#endif

#endif /* SPICE_LAYOUT_H */
