// Glue between benches/msm.rs and sppark's Pippenger MSM (G1 and G2 of BLS12-381), for the
// `bench-sppark` comparison only; build.rs compiles it with the CUDA runtime against sppark's
// headers, like sppark_ntt.cu. sppark keeps bases resident in an msm_t object, which the
// benchmark creates once per base vector (as our backend keeps a proving key's bases), then
// runs on host scalars in arkworks' Montgomery form (sppark's fr_t has the same bytes). Its
// result is a Jacobian point over the same Montgomery Fq/Fq2 bytes as arkworks, so the
// benchmark compares it with ours exactly before any time is printed.
#include <cuda.h>

#include <cstring>
#include <exception>

#include <ff/bls12-381-fp2.hpp>

#include <ec/jacobian_t.hpp>
#include <ec/xyzz_t.hpp>

typedef jacobian_t<fp_t> point_t;
typedef xyzz_t<fp_t> bucket_t;
typedef bucket_t::affine_t affine_t;
typedef jacobian_t<fp2_t> point_fp2_t;
typedef xyzz_t<fp2_t> bucket_fp2_t;
typedef bucket_fp2_t::affine_t affine_fp2_t;
typedef fr_t scalar_t;

#include <msm/pippenger.cuh>
#include "glue_error.hpp"

// pippenger.cuh instantiates its kernels for bucket_t (G1) only; the G2 ones are launched from
// host code, which the device pass does not compile, so they are instantiated here.
template __global__ void accumulate<bucket_fp2_t, affine_fp2_t::mem_t>(bucket_fp2_t::mem_t buckets_[], uint32_t nwins,
                                                                      uint32_t wbits, affine_fp2_t::mem_t points_[],
                                                                      const vec2d_t<uint32_t> digits,
                                                                      const vec2d_t<uint32_t> histogram, uint32_t sid);
template __global__ void batch_addition<bucket_fp2_t>(bucket_fp2_t::mem_t buckets[], const affine_fp2_t::mem_t points[],
                                                      size_t npoints, const uint32_t digits[], const uint32_t& ndigits);
template __global__ void integrate<bucket_fp2_t>(bucket_fp2_t::mem_t buckets_[], uint32_t nwins, uint32_t wbits,
                                                 uint32_t nbits);

#ifndef __CUDA_ARCH__
namespace {

using spice_glue::describe;

template <class Bucket, class Point, class Affine>
using msm_of = msm_t<Bucket, Point, Affine, scalar_t>;

// Uploads `n` bases once; the handle owns the device copy.
template <class Bucket, class Point, class Affine>
int create(const Affine* points, size_t n, void** handle, char* err, size_t err_len) {
    try {
        if (ngpus() == 0) {
            describe("sppark sees no usable GPU", err, err_len);
            return 1;
        }
        *handle = new msm_of<Bucket, Point, Affine>(points, n);
        return 0;
    } catch (const cuda_error& e) {
        describe(e.what(), err, err_len);
        return e.code() ? e.code() : 1;
    } catch (const std::exception& e) {
        describe(e.what(), err, err_len);
        return 1;
    }
}

// One MSM over the resident bases and `n` host scalars (Montgomery form); synchronous.
template <class Bucket, class Point, class Affine>
int run(void* handle, const scalar_t* scalars, size_t n, Point* out, char* err, size_t err_len) {
    try {
        auto* msm = static_cast<msm_of<Bucket, Point, Affine>*>(handle);
        // The pointer overload with null points: the bases uploaded at creation. (The slice
        // overload does not compile against sppark 0.1.16.)
        RustError e = msm->invoke(*out, static_cast<const Affine*>(nullptr), n, scalars, true);
        if (e.code != 0) {
            describe(e.message ? e.message : cudaGetErrorString((cudaError_t)e.code), err, err_len);
            return e.code;
        }
        return 0;
    } catch (const cuda_error& e) {
        describe(e.what(), err, err_len);
        return e.code() ? e.code() : 1;
    } catch (const std::exception& e) {
        describe(e.what(), err, err_len);
        return 1;
    }
}

}  // namespace

extern "C" {

int spice_sppark_g1_msm_new(const affine_t* points, size_t n, void** handle, char* err, size_t err_len) {
    return create<bucket_t, point_t, affine_t>(points, n, handle, err, err_len);
}
int spice_sppark_g1_msm_run(void* handle, const scalar_t* scalars, size_t n, point_t* out, char* err, size_t err_len) {
    return run<bucket_t, point_t, affine_t>(handle, scalars, n, out, err, err_len);
}
void spice_sppark_g1_msm_free(void* handle) { delete static_cast<msm_of<bucket_t, point_t, affine_t>*>(handle); }

int spice_sppark_g2_msm_new(const affine_fp2_t* points, size_t n, void** handle, char* err, size_t err_len) {
    return create<bucket_fp2_t, point_fp2_t, affine_fp2_t>(points, n, handle, err, err_len);
}
int spice_sppark_g2_msm_run(void* handle, const scalar_t* scalars, size_t n, point_fp2_t* out, char* err, size_t err_len) {
    return run<bucket_fp2_t, point_fp2_t, affine_fp2_t>(handle, scalars, n, out, err, err_len);
}
void spice_sppark_g2_msm_free(void* handle) { delete static_cast<msm_of<bucket_fp2_t, point_fp2_t, affine_fp2_t>*>(handle); }

}  // extern "C"
#endif
