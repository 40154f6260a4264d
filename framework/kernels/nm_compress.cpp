#include "framework/kernels/nm_compress.hpp"

#include <string>

#include "framework/core/errors.hpp"

namespace nmlab::kernels {
namespace {

void check_nm(int n, int m) {
  if (m < 2 || m > 256 || n <= 0 || n >= m)
    throw TensorError("N:M compression needs 0 < n < m <= 256, got " + std::to_string(n) + ":" + std::to_string(m));
}

/// Positions of one group: the non-zeros of w[0..len) in increasing order, then the lowest unused
/// positions (explicit zeros) until there are n, sorted again. Returns false when > n non-zeros.
bool group_positions(const float* w, int len, int n, int m, std::uint8_t* pos) {
  int k = 0;
  std::uint32_t used[8] = {};  // bitset over m <= 256 positions
  for (int i = 0; i < len; ++i)
    if (w[i] != 0.0f) {
      if (k == n) return false;
      pos[k++] = std::uint8_t(i);
      used[i / 32] |= 1u << (i % 32);
    }
  for (int i = 0; k < n && i < m; ++i)
    if (!(used[i / 32] & (1u << (i % 32)))) {
      pos[k++] = std::uint8_t(i);
      used[i / 32] |= 1u << (i % 32);
    }
  // Merge the zero fill into increasing order (insertion sort on n <= 255 small entries).
  for (int a = 1; a < n; ++a)
    for (int b = a; b > 0 && pos[b - 1] > pos[b]; --b) std::swap(pos[b - 1], pos[b]);
  return true;
}

[[noreturn]] void throw_not_nm(Index r, Index g, int n, int m, const float* w, int len) {
  int nnz = 0;
  for (int i = 0; i < len; ++i) nnz += w[i] != 0.0f;
  throw TensorError("matrix is not " + std::to_string(n) + ":" + std::to_string(m) + ": row " + std::to_string(r) +
                    ", group " + std::to_string(g) + " (columns " + std::to_string(g * m) + ".." +
                    std::to_string(g * m + len - 1) + ") has " + std::to_string(nnz) +
                    " non-zeros; prune it to the pattern first (for example with the magnitude solver)");
}

}  // namespace

NMCompressed nm_compress(const MatrixF& W, int n, int m) {
  check_nm(n, m);
  NMCompressed c;
  c.n = n;
  c.m = m;
  c.rows = W.rows();
  c.cols = W.cols();
  const Index groups = c.groups_per_row(), pc = c.physical_cols();
  c.values.assign(std::size_t(c.rows * pc), 0.0f);
  c.indices.assign(std::size_t(c.rows * pc), 0);
  std::vector<float> tail(std::size_t(m), 0.0f);
  for (Index r = 0; r < c.rows; ++r) {
    const float* row = W.row(r).data();
    for (Index g = 0; g < groups; ++g) {
      const int len = int(std::min<Index>(m, c.cols - g * m));  // the tail group may be short
      const float* w = row + g * m;
      std::uint8_t* pos = &c.indices[std::size_t(r * pc + g * n)];
      if (!group_positions(w, len, n, m, pos)) throw_not_nm(r, g, n, m, w, len);
      float* val = &c.values[std::size_t(r * pc + g * n)];
      for (int k = 0; k < n; ++k) val[k] = pos[k] < len ? w[pos[k]] : 0.0f;
      for (int k = 0; k < n; ++k)
        if (val[k] == 0.0f) val[k] = 0.0f;  // -0.0 -> +0.0: zeros are stored uniformly
    }
  }
  return c;
}

MatrixF nm_decompress(const NMCompressed& c) {
  MatrixF W = MatrixF::Zero(c.rows, c.cols);
  const Index pc = c.physical_cols();
  for (Index r = 0; r < c.rows; ++r)
    for (Index j = 0; j < pc; ++j) {
      const Index col = c.logical_col(r, j);
      const float v = c.values[std::size_t(r * pc + j)];
      if (col < c.cols) W(r, col) = v;
      else NMLAB_ASSERT(v == 0.0f, "padding column of an N:M group holds a non-zero");
    }
  return W;
}

Sparse24 sparse24_compress(const MatrixF& W, HalfType dtype) {
  const NMCompressed nm = nm_compress(W, 2, 4);
  Sparse24 c;
  c.dtype = dtype;
  c.rows = W.rows();
  c.cols = W.cols();
  c.padded_rows = (c.rows + Sparse24::kRowTile - 1) / Sparse24::kRowTile * Sparse24::kRowTile;
  c.padded_cols = (c.cols + Sparse24::kColTile - 1) / Sparse24::kColTile * Sparse24::kColTile;
  c.values.assign(std::size_t(c.padded_rows * c.value_cols()), 0);  // 0x0000 = +0 in fp16 and bf16
  // Padding groups: positions (0, 1) -> nibble 0x4 with zero values; 0x4444 for 4 groups.
  c.meta.assign(std::size_t(c.padded_rows * c.meta_cols()), 0x4444);
  const Index groups = nm.groups_per_row();
  for (Index r = 0; r < c.rows; ++r)
    for (Index g = 0; g < groups; ++g) {
      const std::size_t src = std::size_t(r * nm.physical_cols() + 2 * g);
      // nibble = pos0 | pos1 << 2 (pos0 < pos1: legal for ordered metadata)
      const unsigned nibble = unsigned(nm.indices[src]) | unsigned(nm.indices[src + 1]) << 2;
      std::uint16_t& word = c.meta[std::size_t(r * c.meta_cols() + g / 4)];
      word = std::uint16_t((word & ~(0xFu << (4 * (g % 4)))) | nibble << (4 * (g % 4)));
      c.values[std::size_t(r * c.value_cols() + 2 * g)] = float_to_half(nm.values[src], dtype);
      c.values[std::size_t(r * c.value_cols() + 2 * g + 1)] = float_to_half(nm.values[src + 1], dtype);
    }
  return c;
}

MatrixF sparse24_decompress(const Sparse24& c) {
  MatrixF W = MatrixF::Zero(c.rows, c.cols);
  for (Index r = 0; r < c.rows; ++r)
    for (Index j = 0; j < c.value_cols(); ++j) {
      // compressed column j sits at logical column 4 (j / 2) + nibble field (j % 2)
      const unsigned nibble = sparse24_nibble(c, r, j / 2);
      const Index col = 4 * (j / 2) + ((nibble >> (2 * (j % 2))) & 0x3u);
      const float v = half_to_float(c.values[std::size_t(r * c.value_cols() + j)], c.dtype);
      if (col < c.cols) W(r, col) = v;
    }
  return W;
}

std::vector<std::uint32_t> reorder_meta_for_mma_sp(const Sparse24& c) {
  const Index blocks = c.padded_rows / 32, steps = c.padded_cols / 32, mc = c.meta_cols();
  std::vector<std::uint32_t> words(std::size_t(blocks * steps * 32));
  for (Index b = 0; b < blocks; ++b)
    for (Index s = 0; s < steps; ++s)
      for (int l = 0; l < 32; ++l) {
        const int g = l / 4, t = l % 4;
        const Index r0 = 32 * b + 16 * (t / 2) + g, col = 2 * s + t % 2;
        words[std::size_t((b * steps + s) * 32 + l)] =
            std::uint32_t(c.meta[std::size_t(r0 * mc + col)]) |
            std::uint32_t(c.meta[std::size_t((r0 + 8) * mc + col)]) << 16;
      }
  return words;
}

std::vector<std::uint16_t> unreorder_meta_for_mma_sp(const std::vector<std::uint32_t>& words, Index padded_rows,
                                                     Index padded_cols) {
  const Index blocks = padded_rows / 32, steps = padded_cols / 32, mc = padded_cols / 16;
  NMLAB_ASSERT(std::size_t(blocks * steps * 32) == words.size(), "reordered metadata has the wrong size");
  std::vector<std::uint16_t> meta(std::size_t(padded_rows * mc));
  for (Index b = 0; b < blocks; ++b)
    for (Index s = 0; s < steps; ++s)
      for (int l = 0; l < 32; ++l) {
        const int g = l / 4, t = l % 4;
        const Index r0 = 32 * b + 16 * (t / 2) + g, col = 2 * s + t % 2;
        const std::uint32_t w = words[std::size_t((b * steps + s) * 32 + l)];
        meta[std::size_t(r0 * mc + col)] = std::uint16_t(w & 0xFFFFu);
        meta[std::size_t((r0 + 8) * mc + col)] = std::uint16_t(w >> 16);
      }
  return meta;
}

}  // namespace nmlab::kernels
