#pragma once
// Timing of dense vs N:M sparse Y = W X for one shape on one backend: what the `spmm_bench` task
// stores in HDF5 (the Google Benchmark programs in bench/ time the same kernels directly).
#include <string>

#include "framework/core/nm_pattern.hpp"
#include "framework/core/rng.hpp"
#include "framework/kernels/half_type.hpp"

namespace nmlab::kernels {

struct SpmmTiming {
  double time_dense_s = 0;   ///< median seconds of the dense product on the same backend
  double time_sparse_s = 0;  ///< median seconds of the N:M product (CPU: includes packing X)
  double max_abs_diff = 0;   ///< max |Y_sparse - Y_dense| of the last timed pair
  std::string dense_kernel;  ///< "eigen_gemm_f32", "reference_loops_f64acc", "cublas_gemm_ex_fp16" (or _bf16)
  std::string sparse_kernel; ///< "cpu_nm_spmm_avx512", "reference_nm_spmm", "cuda_mma_sp_24_fp16" (or _bf16)
  std::string device;        ///< CPU SIMD path or GPU name
};

/// Backends: "reference" (plain loops; dense = plain loops too), "cpu" (OpenMP + SIMD N:M kernel
/// vs Eigen's fp32 GEMM), "cuda" (2:4 only: mma.sp vs cublasGemmEx in `gpu_dtype`). W (d_out x d_in, N:M)
/// and X (d_in x tokens) are drawn from rng. One warm-up, then `repeats` interleaved dense/sparse
/// pairs; medians. Throws Unsupported for an unknown backend, cuda with a pattern other than 2:4,
/// or cuda without a usable GPU (the message says what to use instead).
SpmmTiming time_spmm(const std::string& backend, Index d_out, Index d_in, Index tokens, const NMPattern& p,
                     int repeats, RngStream& rng, HalfType gpu_dtype = HalfType::fp16);

/// Throws Unsupported when time_spmm(backend, ..., p) cannot run here (without running it).
void check_spmm_backend(const std::string& backend, const NMPattern& p);

}  // namespace nmlab::kernels
