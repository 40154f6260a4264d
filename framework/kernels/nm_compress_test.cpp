// Compressed N:M formats: exact round trips (awkward sizes, ties, all-zero and under-filled groups),
// the 2:4 sparse tensor-core layout against the worked example of kernels.md §1, the metadata
// reordering, fp16/bf16 rounding, and the errors for matrices that are not N:M.
#include <gtest/gtest.h>

#include <limits>

#include "framework/core/errors.hpp"
#include "framework/kernels/nm_compress.hpp"
#include "framework/kernels/test_matrices.hpp"

namespace nmlab::kernels {
namespace {

struct Shape {
  Index rows, cols;
  int n, m;
};

TEST(NMCompress, RoundTripsExactlyOnAwkwardShapes) {
  RngStream rng(7);
  for (const Shape s : {Shape{1, 4, 2, 4}, Shape{597, 40, 2, 4}, Shape{13, 43, 2, 4}, Shape{5, 21, 3, 7},
                        Shape{9, 64, 8, 16}, Shape{3, 17, 1, 2}, Shape{7, 30, 16, 32}, Shape{4, 3, 2, 4}}) {
    const MatrixF W = random_nm_matrix(s.rows, s.cols, s.n, s.m, rng);
    const NMCompressed c = nm_compress(W, s.n, s.m);
    EXPECT_EQ(c.rows, s.rows);
    EXPECT_EQ(c.cols, s.cols);
    EXPECT_EQ(c.physical_cols(), (s.cols + s.m - 1) / s.m * s.n);
    EXPECT_EQ(c.values.size(), std::size_t(s.rows * c.physical_cols()));
    EXPECT_TRUE(nm_decompress(c) == W) << s.rows << "x" << s.cols << " " << s.n << ":" << s.m;
  }
}

TEST(NMCompress, UnderfilledAndZeroGroupsStoreExplicitZerosAtLowestFreePositions) {
  MatrixF W = MatrixF::Zero(1, 12);
  // group 0: all zero; group 1: one non-zero at position 2; group 2: two equal values (a tie).
  W(0, 6) = 5.0f;
  W(0, 9) = 3.0f;
  W(0, 11) = 3.0f;
  const NMCompressed c = nm_compress(W, 2, 4);
  const std::vector<std::uint8_t> idx{0, 1, 0, 2, 1, 3};
  const std::vector<float> val{0, 0, 0, 5, 3, 3};
  EXPECT_EQ(c.indices, idx);
  EXPECT_EQ(c.values, val);
  EXPECT_TRUE(nm_decompress(c) == W);
}

TEST(NMCompress, NegativeZeroIsAZeroAndNaNIsANonZero) {
  MatrixF W = MatrixF::Zero(1, 4);
  W(0, 0) = -0.0f;
  W(0, 1) = std::numeric_limits<float>::quiet_NaN();
  W(0, 2) = 1.0f;
  const NMCompressed c = nm_compress(W, 2, 4);
  EXPECT_EQ(c.indices, (std::vector<std::uint8_t>{1, 2}));
  EXPECT_TRUE(std::isnan(c.values[0]));
  EXPECT_THROW(nm_compress(W, 1, 4), TensorError);
}

TEST(NMCompress, NotNMSaysWhichRowAndGroup) {
  RngStream rng(3);
  MatrixF W = random_nm_matrix(6, 16, 2, 4, rng);
  W(4, 8) = W(4, 9) = W(4, 10) = 1.0f;  // row 4, group 2 now has 3 non-zeros
  try {
    nm_compress(W, 2, 4);
    FAIL() << "expected TensorError";
  } catch (const TensorError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("row 4"), std::string::npos) << msg;
    EXPECT_NE(msg.find("group 2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("3 non-zeros"), std::string::npos) << msg;
  }
  EXPECT_THROW(nm_compress(W, 4, 4), TensorError);
  EXPECT_THROW(nm_compress(W, 0, 4), TensorError);
}

TEST(NMCompress, TailGroupIsCheckedOnItsRealColumns) {
  MatrixF W = MatrixF::Zero(1, 6);  // groups: columns 0..3 and the tail 4..5
  W(0, 4) = W(0, 5) = 1.0f;
  EXPECT_NO_THROW(nm_compress(W, 2, 4));
  EXPECT_THROW(nm_compress(W, 1, 4), TensorError);
}

TEST(HalfConversion, RoundsToNearestEven) {
  EXPECT_EQ(float_to_fp16(1.0f), 0x3C00);
  EXPECT_EQ(float_to_fp16(-2.0f), 0xC000);
  EXPECT_EQ(float_to_fp16(65504.0f), 0x7BFF);
  EXPECT_EQ(float_to_fp16(1e6f), 0x7C00);             // overflow -> inf
  EXPECT_EQ(float_to_fp16(1.0f + 0x1p-11f), 0x3C00);  // halfway, even stays
  EXPECT_EQ(float_to_fp16(1.0f + 3 * 0x1p-11f), 0x3C02);
  EXPECT_EQ(float_to_fp16(0x1p-24f), 0x0001);  // smallest subnormal
  EXPECT_EQ(fp16_to_float(0x0001), 0x1p-24f);
  EXPECT_EQ(float_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(float_to_bf16(1.0f + 0x1p-8f), 0x3F80);  // halfway, even stays
  EXPECT_EQ(bf16_to_float(0xC040), -3.0f);
  for (int v = -2048; v <= 2048; ++v) EXPECT_EQ(fp16_to_float(float_to_fp16(float(v))), float(v));
}

TEST(Sparse24, MatchesTheWorkedExampleOfTheSpec) {
  // kernels.md §1: one row, groups [0 5 0 7] [1 0 2 0] [0 0 3 4] [6 0 0 8] -> E = 0xCE8D.
  MatrixF W(1, 16);
  W << 0, 5, 0, 7, 1, 0, 2, 0, 0, 0, 3, 4, 6, 0, 0, 8;
  const Sparse24 c = sparse24_compress(W, HalfType::fp16);
  EXPECT_EQ(c.padded_rows, Sparse24::kRowTile);
  EXPECT_EQ(c.padded_cols, Sparse24::kColTile);
  EXPECT_EQ(c.meta[0], 0xCE8D);
  EXPECT_EQ(c.meta[1], 0x4444);  // padding groups: nibble 0x4
  const float kept[8] = {5, 7, 1, 2, 3, 4, 6, 8};
  for (int j = 0; j < 8; ++j) EXPECT_EQ(fp16_to_float(c.values[std::size_t(j)]), kept[j]);
  EXPECT_TRUE(sparse24_decompress(c) == W);
}

TEST(Sparse24, EveryNibbleIsLegalForOrderedMetadata) {
  RngStream rng(11);
  MatrixF W = random_nm_matrix(45, 70, 2, 4, rng);
  W.row(3).setZero();
  W(5, 9) = 0.0f;  // a group with one non-zero
  for (const HalfType t : {HalfType::fp16, HalfType::bf16}) {
    const Sparse24 c = sparse24_compress(W, t);
    EXPECT_EQ(c.padded_rows, 64);
    EXPECT_EQ(c.padded_cols, 96);
    for (Index r = 0; r < c.padded_rows; ++r)
      for (Index g = 0; g < c.padded_cols / 4; ++g) {
        const unsigned e = sparse24_nibble(c, r, g);
        EXPECT_TRUE(e == 0x4 || e == 0x8 || e == 0x9 || e == 0xC || e == 0xD || e == 0xE) << r << "," << g;
      }
    // Round trip against the values rounded to the 16-bit type.
    MatrixF rounded = W.unaryExpr([t](float v) { return half_to_float(float_to_half(v, t), t); });
    EXPECT_TRUE(sparse24_decompress(c) == rounded) << to_string(t);
  }
  W(2, 0) = W(2, 1) = W(2, 2) = 1.0f;
  EXPECT_THROW(sparse24_compress(W, HalfType::fp16), TensorError);
}

TEST(Sparse24, ReorderedMetadataIsEachLanesRegisterAndInverts) {
  RngStream rng(5);
  const Sparse24 c = sparse24_compress(random_nm_matrix(64, 64, 2, 4, rng), HalfType::bf16);
  const std::vector<std::uint32_t> words = reorder_meta_for_mma_sp(c);
  ASSERT_EQ(words.size(), std::size_t(2 * 2 * 32));
  // Block 1, k step 1, lane 13 (g = 3, t = 1): rows 32 + 3 and 32 + 11, k 48..63 (meta column 3).
  const std::uint32_t expect = std::uint32_t(c.meta[std::size_t(35 * 4 + 3)]) |
                               std::uint32_t(c.meta[std::size_t(43 * 4 + 3)]) << 16;
  EXPECT_EQ(words[std::size_t((1 * 2 + 1) * 32 + 13)], expect);
  // Lane 30 (g = 7, t = 2): rows 16 + 7 and 24 + 7 of block 0, k step 0 (meta column 0).
  EXPECT_EQ(words[30], std::uint32_t(c.meta[std::size_t(23 * 4)]) | std::uint32_t(c.meta[std::size_t(31 * 4)]) << 16);
  EXPECT_EQ(unreorder_meta_for_mma_sp(words, c.padded_rows, c.padded_cols), c.meta);
}

}  // namespace
}  // namespace nmlab::kernels
