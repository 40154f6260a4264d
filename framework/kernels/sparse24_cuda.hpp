#pragma once
// CUDA kernels (compiled when nvcc is found; otherwise cuda/*_stub.cpp throws NotCompiled("cuda")).
// Plain pointers and std::vector only, so the .cu files need neither Eigen nor C++20. Every
// function throws nmlab::Error when no GPU is usable (see device_info()) or a CUDA call fails.
//
// 2:4 SpMM on sparse tensor cores: Y = Ŵ X, Ŵ 2:4 fp16/bf16 (Sparse24 natural layout + metadata
// reordered by reorder_meta_for_mma_sp), X fp32 d_in x tokens (rounded to the same dtype on the
// GPU), Y fp32 d_out x tokens, fp32 accumulation. Kernel: mma.sp::ordered_metadata m16n8k32, one
// warp per 32 rows x 32 tokens (2 m16 tiles sharing one metadata register through selectors 0/1,
// 4 n8 tiles), operands read from global memory through L1 (no shared-memory staging yet:
// kernels.md §2 "v0" with register tiling). Needs sm_80 or newer.
#include <cstdint>
#include <string>
#include <vector>

#include "framework/kernels/half_type.hpp"

namespace nmlab::kernels::cuda {

/// Host view of a Sparse24 matrix with reordered metadata (see nm_compress.hpp).
struct Sparse24View {
  HalfType dtype = HalfType::fp16;
  long rows = 0, cols = 0, padded_rows = 0, padded_cols = 0;
  const std::uint16_t* values = nullptr;          ///< padded_rows x padded_cols/2
  const std::uint32_t* meta_reordered = nullptr;  ///< padded_rows/32 x padded_cols/32 x 32 words
};

/// Y[rows x tokens] = Ŵ X[cols x tokens] (row-major, host memory).
void spmm24(const Sparse24View& W, const float* X, long tokens, float* Y);

/// Dense cuBLAS baseline (cublasGemmEx, dtype inputs, fp32 output, fp32 compute): Y = W X with W
/// dense rows x cols fp32 on the host, rounded to dtype on the GPU.
void dense_gemm(HalfType dtype, const float* W, long rows, long cols, const float* X, long tokens, float* Y);

/// Batched group top-n (one thread per group of m <= 64 along each row): mask[r][c] = 1 for the n
/// largest scores of each group, ties to the lower column (as nmlab::topn_mask). cols % m == 0.
std::vector<std::uint8_t> group_topn(const float* scores, long rows, long cols, int n, int m);

/// Timings of one shape, operands resident on the GPU, inputs converted before timing.
struct Spmm24Timing {
  double sparse_s = 0, dense_s = 0;          ///< median seconds per product
  double sparse_p10_s = 0, sparse_p90_s = 0; ///< spread of the sparse timings
  double dense_p10_s = 0, dense_p90_s = 0;
  double max_abs_diff = 0;   ///< |Y_sparse - Y_cublas| over the timed outputs (same rounded inputs)
  double max_abs_ref = 0;    ///< max |Y_cublas|, to judge max_abs_diff
  std::string device;
};

/// Times spmm24 against cublasGemmEx on the dense (zero-filled) Ŵ, interleaved, `warmup` untimed
/// calls then `reps` timed ones (batches of 10 per CUDA event pair), warm L2. W_dense is Ŵ as
/// fp32 rows x cols (the same matrix as W), X fp32 cols x tokens.
Spmm24Timing time_spmm24_vs_cublas(const Sparse24View& W, const float* W_dense, const float* X, long tokens,
                                   int warmup, int reps);

}  // namespace nmlab::kernels::cuda
