#pragma once
// Compressed N:M formats.
//
// 1. NMCompressed (any N:M, fp32, CPU): row-major, each group of m logical columns stores exactly n
//    values and n positions (0..m-1, increasing). Groups with fewer than n non-zeros store explicit
//    zeros at the lowest unused positions, so every group has the same physical size. A logical
//    width that is not a multiple of m is padded to one with zero columns (the tail group).
//
//      logical  d_out x d_in                    (what the user multiplies)
//      padded   d_out x groups*m                (groups = ceil(d_in / m))
//      physical values/indices d_out x groups*n (what is stored)
//
// 2. Sparse24 (2:4, fp16/bf16, the layout of NVIDIA's sparse tensor cores, see
//    shared/research/kernels.md §1): values Ac[rows][cols/2] as 16-bit words and metadata
//    E[rows][cols/16] (uint16; one 4-bit nibble per group of 4, group 0 in bits 3:0, bits 1:0 = first
//    kept position, bits 3:2 = second, positions increasing so every nibble is legal for
//    mma.sp::ordered_metadata: 0x4 0x8 0x9 0xC 0xD 0xE). Physical sizes are padded to the tile the
//    kernel needs (rows to 32, cols to 32); padding groups use nibble 0x4 with zero values.
//    reorder_meta_for_mma_sp() turns the natural E into the per-lane word order the kernel loads;
//    it is a separate step so the stored format stays the natural (torch / CUTLASS tensor_e) one.
#include <cstdint>
#include <vector>

#include "framework/core/nm_pattern.hpp"
#include "framework/core/types.hpp"
#include "framework/kernels/half.hpp"

namespace nmlab::kernels {

/// Row-major fp32 matrix: weights (d_out x d_in), activations X (d_in x tokens), outputs Y.
using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// N:M compressed fp32 matrix (any n < m <= 256). Invariant: every group stores n (value, position)
/// pairs with strictly increasing positions; values outside them are zero.
struct NMCompressed {
  int n = 2, m = 4;
  Index rows = 0;                     ///< logical d_out
  Index cols = 0;                     ///< logical d_in (may not be a multiple of m)
  std::vector<float> values;          ///< rows x physical_cols(), row-major
  std::vector<std::uint8_t> indices;  ///< same shape: position of each value inside its group

  Index groups_per_row() const { return (cols + m - 1) / m; }
  Index padded_cols() const { return groups_per_row() * m; }
  Index physical_cols() const { return groups_per_row() * n; }
  /// Logical column of stored entry j of a row: m (j / n) + indices[j].
  Index logical_col(Index r, Index j) const { return m * (j / n) + indices[std::size_t(r * physical_cols() + j)]; }
  /// Bytes stored (values + 1-byte indices), against 4 rows cols for dense fp32.
  std::size_t physical_bytes() const { return values.size() * sizeof(float) + indices.size(); }
};

/// Compress W; throws TensorError naming the first row/group with more than n non-zeros (a value is
/// a non-zero when it compares unequal to 0, so -0.0 counts as zero and NaN as a non-zero).
NMCompressed nm_compress(const MatrixF& W, int n, int m);
inline NMCompressed nm_compress(const MatrixF& W, const NMPattern& p) { return nm_compress(W, p.n, p.m); }
/// The logical d_out x d_in matrix. nm_decompress(nm_compress(W)) == W exactly (up to -0.0 -> +0.0).
MatrixF nm_decompress(const NMCompressed& c);

/// 2:4 compressed fp16/bf16 matrix in the natural sparse tensor-core layout (see the file comment).
struct Sparse24 {
  HalfType dtype = HalfType::fp16;
  Index rows = 0, cols = 0;                 ///< logical d_out x d_in
  Index padded_rows = 0, padded_cols = 0;   ///< physical: rows to kRowTile, cols to kColTile
  std::vector<std::uint16_t> values;        ///< padded_rows x padded_cols/2 (fp16/bf16 bits)
  std::vector<std::uint16_t> meta;          ///< padded_rows x padded_cols/16 (natural E)

  static constexpr Index kRowTile = 32;  ///< one 32-row metadata block of the reordered layout
  static constexpr Index kColTile = 32;  ///< one k32 step of mma.sp m16n8k32
  Index value_cols() const { return padded_cols / 2; }
  Index meta_cols() const { return padded_cols / 16; }
};

/// Compress W as 2:4 and round the kept values to dtype. The 2:4 check runs on the fp32 values
/// (TensorError as nm_compress); a kept value that rounds to 0 is stored as 0 at its position.
Sparse24 sparse24_compress(const MatrixF& W, HalfType dtype);
/// Logical rows x cols matrix of the stored (rounded) values, as fp32.
MatrixF sparse24_decompress(const Sparse24& c);
/// The 4-bit nibble of group g (0-based along the padded row) of row r.
inline unsigned sparse24_nibble(const Sparse24& c, Index r, Index g) {
  return (c.meta[std::size_t(r * c.meta_cols() + g / 4)] >> (4 * (g % 4))) & 0xFu;
}

/// Metadata in the order the mma.sp m16n8k32 kernel loads it: for every 32-row block b and every
/// 32-column k step s, 32 consecutive uint32 words, word l being lane l's metadata register:
///   g = l / 4, t = l % 4, rows r0 = 32 b + 16 (t / 2) + g and r0 + 8, half h = t % 2 (k 16h..16h+15)
///   word = E[r0][2 s + h] | E[r0 + 8][2 s + h] << 16
/// Lanes 4g, 4g+1 feed the m16 tile of rows 0..15 under selector 0, lanes 4g+2, 4g+3 the tile of
/// rows 16..31 under selector 1 (kernels.md §1; the same split as CUTLASS's reordered sm80 E
/// [inferred there, not verified on hardware here]). Size: padded_rows/32 * padded_cols/32 * 32.
std::vector<std::uint32_t> reorder_meta_for_mma_sp(const Sparse24& c);
/// Inverse of reorder_meta_for_mma_sp: the natural E (padded_rows x padded_cols/16).
std::vector<std::uint16_t> unreorder_meta_for_mma_sp(const std::vector<std::uint32_t>& words, Index padded_rows,
                                                     Index padded_cols);

}  // namespace nmlab::kernels
