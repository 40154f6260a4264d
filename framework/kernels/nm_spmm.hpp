#pragma once
// N:M sparse x dense matrix product Y = Ŵ X.
//   Ŵ: NMCompressed d_out x d_in (logical), X: d_in x tokens, Y: d_out x tokens, all row-major fp32.
// One declaration per backend (Ginkgo style): reference:: is the oracle (plain loops, fp64
// accumulation), cpu:: the OpenMP + SIMD kernel. The CUDA 2:4 fp16/bf16 kernel is in
// framework/kernels/sparse24_cuda.hpp. Every backend throws TensorError when X.rows() != d_in.
#include <cstdint>
#include <vector>

#include "framework/kernels/nm_compress.hpp"

namespace nmlab::kernels {

/// Throws TensorError unless X has W.cols rows (says which sizes disagree).
void check_spmm_shapes(const NMCompressed& W, const MatrixF& X);

namespace reference {
/// Y = Ŵ X with plain loops over the stored entries, accumulated in double then rounded to fp32.
void spmm(const NMCompressed& W, const MatrixF& X, MatrixF& Y);
/// Dense Y = W X with the same plain loops (the reference backend's dense baseline).
void gemm(const MatrixF& W, const MatrixF& X, MatrixF& Y);
}  // namespace reference

namespace cpu {

/// Weights prepared once for the CPU kernel. Weights are static in inference, so this is not part
/// of a product's cost; X is packed inside every spmm call.
/// The tile stream holds every stored entry once, in the order the kernel reads it: for each block
/// of rows, each k block of k_block() logical columns, each tile of R rows (rows past the end
/// padded with zero weights), each stored entry j of the block, each row of the tile: its fp32
/// value and its column inside the k block (1 byte), so the hot loop reads one sequential stream
/// and decodes nothing.
struct PackedNM {
  int n = 2, m = 4;
  Index rows = 0, cols = 0, padded_cols = 0, nnz_per_row = 0;
  std::vector<float> values;          ///< rows x nnz_per_row, row-major (few-token paths)
  std::vector<std::uint8_t> pos;      ///< rows x nnz_per_row, position inside the group (few-token paths)
  std::vector<float> tile_values;     ///< the tile stream's values
  std::vector<std::uint8_t> tile_k;   ///< the tile stream's columns, relative to their k block
  /// Rows per block of the tile stream (one task of the panel kernel), chosen by pack() for the
  /// OpenMP thread count at that time; any thread count gives the same result.
  Index row_block = 0;
  /// Logical columns per k block of the panel kernel (a multiple of m, at most 256).
  Index k_block() const;
};
PackedNM pack(const NMCompressed& W);

/// Y = Ŵ X on all OpenMP threads: X is packed into token panels (nr tokens, k-major, 64 B aligned),
/// each weight selects one panel row by its index (no gathers), a register tile of R rows x nr
/// tokens accumulates over K blocks that keep the panel slice in L1. With tokens <= 16 (decode
/// shapes) a weight-streaming path reads value + 1-byte position per entry instead. See
/// docs/KERNELS.md.
void spmm(const PackedNM& W, const MatrixF& X, MatrixF& Y);
/// Convenience: packs W on every call.
void spmm(const NMCompressed& W, const MatrixF& X, MatrixF& Y);

/// Tokens per panel of this build's kernel (128 with AVX-512, 64 with AVX2, 16 otherwise).
int panel_tokens();
/// "avx512", "avx2" or "scalar": the SIMD path compiled into this build.
const char* simd_path();

}  // namespace cpu
}  // namespace nmlab::kernels
