// The CUDA 2:4 kernel's data movement, checked on the CPU (no GPU needed): the kernel's own offset
// arithmetic (mma_sp_fragments.hpp) and warp-tile loop, with mma.sp replaced by an independent
// model of the PTX fragment semantics (kernels.md §1), must reproduce W X exactly on integers.
// This catches indexing and metadata-layout bugs; whether the hardware matches the model is left
// to the GPU tests in sparse24_test.cpp.
#include <gtest/gtest.h>

#include <cstring>

#include "framework/kernels/cuda/mma_sp_fragments.hpp"
#include "framework/kernels/nm_compress.hpp"
#include "framework/kernels/test_matrices.hpp"

namespace nmlab::kernels {
namespace {

using Regs = std::uint32_t[32][4];

/// Two consecutive 16-bit elements as one 32-bit register (little-endian, as a GPU load does).
std::uint32_t ld32(const std::uint16_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

float half_of(std::uint32_t reg, int h, HalfType t) { return half_to_float(std::uint16_t(reg >> (16 * h)), t); }

/// D += A_sparse B for one warp's mma.sp.m16n8k32 with ordered metadata and selector `sel`, built
/// from the PTX fragment description (not from mma_sp_fragments.hpp):
///   A element (reg i, half h) of lane (g, t): row g + 8 (i % 2), compressed col 2t + h + 8 (i / 2);
///   its logical col is 4 group + field of the metadata nibble of (row, group = col / 2), which
///   lane 4 (row % 8) + 2 sel + group / 4 holds at bits 16 (row / 8) + 4 (group % 4) + 2 (col % 2);
///   B element (reg j, half h): k = 8j + 2t + h, token g;  D element i: row g + 8 (i / 2), token 2t + i % 2.
void emulate_mma_sp(float (&d)[32][4], const Regs& a, const Regs& b, const std::uint32_t (&e)[32], int sel,
                    HalfType dt) {
  float A[16][32] = {}, B[32][8] = {};
  bool set[16][32] = {};
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane / 4, t = lane % 4;
    for (int i = 0; i < 4; ++i)
      for (int h = 0; h < 2; ++h) {
        const int row = g + 8 * (i % 2), col = 2 * t + h + 8 * (i / 2), group = col / 2;
        const std::uint32_t meta = e[4 * (row % 8) + 2 * sel + group / 4];
        const int pos = int(meta >> (16 * (row / 8) + 4 * (group % 4) + 2 * (col % 2))) & 3;
        ASSERT_FALSE(set[row][4 * group + pos]) << "two values map to one position (illegal metadata)";
        set[row][4 * group + pos] = true;
        A[row][4 * group + pos] = half_of(a[lane][i], h, dt);
      }
    for (int j = 0; j < 4; ++j)
      for (int h = 0; h < 2; ++h) B[8 * j + 2 * t + h][g] = half_of(b[lane][j], h, dt);
  }
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < 4; ++i) {
      const int row = lane / 4 + 8 * (i / 2), n = 2 * (lane % 4) + i % 2;
      for (int k = 0; k < 32; ++k) d[lane][i] += A[row][k] * B[k][n];
    }
}

/// spmm24_kernel's warp loop on the CPU: same tiles, same offsets, emulated mma.sp.
/// `swap_selectors` is a deliberate bug for the negative control.
MatrixF emulate_spmm24(const Sparse24& c, const std::vector<std::uint32_t>& E, const MatrixF& X,
                       bool swap_selectors = false) {
  const long tokens = long(X.cols()), Kp = long(c.padded_cols), Np = (tokens + 31) / 32 * 32;
  const long ac = Kp / 2, steps = Kp / 32;
  // Bt[n][k] = dtype(X[k][n]), zero padded (transpose_convert_kernel).
  std::vector<std::uint16_t> Bt(std::size_t(Np * Kp), 0);
  for (long n = 0; n < tokens; ++n)
    for (long k = 0; k < c.cols; ++k) Bt[std::size_t(n * Kp + k)] = float_to_half(X(k, n), c.dtype);
  MatrixF Y = MatrixF::Zero(c.rows, tokens);
  for (long r0 = 0; r0 < c.padded_rows; r0 += 32)
    for (long n0 = 0; n0 < Np; n0 += 32) {
      float acc[2][4][32][4] = {};
      for (long s = 0; s < steps; ++s) {
        std::uint32_t e[32];
        Regs a[2];
        for (int lane = 0; lane < 32; ++lane) {
          e[lane] = E[std::size_t(mma_sp::e_offset(lane, r0, s, steps))];
          for (int mt = 0; mt < 2; ++mt)
            for (int i = 0; i < 4; ++i)
              a[mt][lane][i] = ld32(c.values.data() + mma_sp::a_offset(lane, i, r0 + 16 * mt, s, ac));
        }
        for (int nt = 0; nt < 4; ++nt) {
          Regs b;
          for (int lane = 0; lane < 32; ++lane)
            for (int j = 0; j < 4; ++j) b[lane][j] = ld32(Bt.data() + mma_sp::b_offset(lane, j, n0 + 8 * nt, s, Kp));
          emulate_mma_sp(acc[0][nt], a[0], b, e, swap_selectors ? 1 : 0, c.dtype);
          emulate_mma_sp(acc[1][nt], a[1], b, e, swap_selectors ? 0 : 1, c.dtype);
        }
      }
      for (int mt = 0; mt < 2; ++mt)
        for (int nt = 0; nt < 4; ++nt)
          for (int lane = 0; lane < 32; ++lane)
            for (int i = 0; i < 4; ++i) {
              long r, n;
              mma_sp::c_coords(lane, i, r0 + 16 * mt, n0 + 8 * nt, r, n);
              if (r < c.rows && n < tokens) Y(r, n) = acc[mt][nt][lane][i];
            }
    }
  return Y;
}

struct Shape {
  Index d_out, d_in, tokens;
};

TEST(MmaSpEmulation, KernelDataMovementReproducesDenseProductExactly) {
  RngStream rng(31);
  for (const HalfType t : {HalfType::fp16, HalfType::bf16})
    for (const Shape s : {Shape{597, 40, 43}, Shape{32, 32, 8}, Shape{33, 100, 1}, Shape{64, 96, 70}}) {
      const MatrixF W = random_nm_matrix(s.d_out, s.d_in, 2, 4, rng, Fill::integers);
      const MatrixF X = random_matrix(s.d_in, s.tokens, rng, Fill::integers);
      const Sparse24 c = sparse24_compress(W, t);
      const MatrixF Y = emulate_spmm24(c, reorder_meta_for_mma_sp(c), X);
      const MatrixF dense = W * X;
      EXPECT_TRUE(Y == dense) << to_string(t) << " " << s.d_out << "x" << s.d_in << "x" << s.tokens;
    }
}

TEST(MmaSpEmulation, IdentityShowsEveryValueInPlace) {
  RngStream rng(32);
  const MatrixF W = random_nm_matrix(64, 64, 2, 4, rng, Fill::integers);
  const Sparse24 c = sparse24_compress(W, HalfType::fp16);
  EXPECT_TRUE(emulate_spmm24(c, reorder_meta_for_mma_sp(c), MatrixF::Identity(64, 64)) == W);
}

TEST(MmaSpEmulation, WrongSelectorsOrNaturalMetadataAreCaught) {
  // Negative controls: the check above can fail.
  RngStream rng(33);
  const MatrixF W = random_nm_matrix(64, 64, 2, 4, rng, Fill::integers);
  const MatrixF X = random_matrix(64, 16, rng, Fill::integers);
  const Sparse24 c = sparse24_compress(W, HalfType::fp16);
  const MatrixF dense = W * X;
  EXPECT_FALSE(emulate_spmm24(c, reorder_meta_for_mma_sp(c), X, /*swap_selectors=*/true) == dense);
  // The natural (not reordered) metadata, read as if reordered.
  std::vector<std::uint32_t> natural(c.meta.size() / 2);
  std::memcpy(natural.data(), c.meta.data(), natural.size() * sizeof(std::uint32_t));
  EXPECT_FALSE(emulate_spmm24(c, natural, X) == dense);
}

}  // namespace
}  // namespace nmlab::kernels
