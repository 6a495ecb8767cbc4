// Glue between benches/ntt.rs and sppark's NTT, for the `bench-sppark` comparison only.
// build.rs compiles it with the CUDA runtime against sppark's headers (it is not one of our
// kernels: those are kernels/*.cu, loaded through the driver API). sppark's Fr is Montgomery
// form with R = 2^256 in the same little-endian bytes as arkworks and ours, so its output is
// compared with ours byte for byte before any time is reported.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <ff/bls12-381.hpp>
#include <ntt/ntt.cuh>

#include "glue_error.hpp"

using spice_glue::describe;

// sppark's forward NTT of 2^lg_n points, natural order in and out, on data resident on the
// device: uploads `input` once, runs the transform once to fill `output` (for the
// comparison), then `runs` more times between CUDA events. Writes the median time in
// milliseconds. Returns 0, or a nonzero code with a message in `err`.
extern "C" int spice_sppark_ntt_forward(uint32_t lg_n, uint32_t runs, const fr_t* input, fr_t* output,
                                        float* median_ms, char* err, size_t err_len) {
    try {
        if (ngpus() == 0) {
            describe("sppark sees no usable GPU", err, err_len);
            return 1;
        }
        stream_t& gpu = select_gpu(0);
        size_t n = size_t(1) << lg_n;
        dev_ptr_t<fr_t> d{n};
        gpu.HtoD(&d[0], input, n);
        NTT::Base_dev_ptr(gpu, &d[0], lg_n, NTT::InputOutputOrder::NN, NTT::Direction::forward, NTT::Type::standard);
        gpu.DtoH(output, &d[0], n);
        gpu.sync();
        cudaEvent_t start, stop;
        CUDA_OK(cudaEventCreate(&start));
        CUDA_OK(cudaEventCreate(&stop));
        std::vector<float> times;
        for (uint32_t r = 0; r < std::max(runs, 1u); r++) {
            gpu.record(start);
            NTT::Base_dev_ptr(gpu, &d[0], lg_n, NTT::InputOutputOrder::NN, NTT::Direction::forward, NTT::Type::standard);
            gpu.record(stop);
            CUDA_OK(cudaEventSynchronize(stop));
            float ms = 0;
            CUDA_OK(cudaEventElapsedTime(&ms, start, stop));
            times.push_back(ms);
        }
        (void)cudaEventDestroy(start);
        (void)cudaEventDestroy(stop);
        std::sort(times.begin(), times.end());
        *median_ms = times[times.size() / 2];
        return 0;
    } catch (const cuda_error& e) {
        describe(e.what(), err, err_len);
        return e.code() ? e.code() : 1;
    } catch (...) {
        describe("sppark threw an unknown exception", err, err_len);
        return 1;
    }
}
