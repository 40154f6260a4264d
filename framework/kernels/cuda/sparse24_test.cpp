// CUDA kernels against the reference on CPU-generated inputs (kernels.md §3). Without a usable GPU
// every test here calls GTEST_SKIP with the reason (device_info().description); in a build without
// CUDA the stubs must throw NotCompiled, which is tested instead.
#include <gtest/gtest.h>

#include "framework/core/errors.hpp"
#include "framework/core/group_select.hpp"
#include "framework/kernels/device.hpp"
#include "framework/kernels/nm_spmm.hpp"
#include "framework/kernels/sparse24_cuda.hpp"
#include "framework/kernels/test_matrices.hpp"

namespace nmlab::kernels {
namespace {

/// Tensor cores may truncate and reorder the fp32 accumulation (kernels.md §3):
/// |C - R| <= kAccumUlps K_eff 2^-24 Σ|a b| with K_eff = K / 2.
constexpr double kAccumUlps = 2.0;
constexpr double kFp32Eps = 0x1p-24;

#define NMLAB_REQUIRE_GPU()                                                                       \
  do {                                                                                           \
    if (!device_info().cuda_usable) GTEST_SKIP() << "no usable GPU: " << device_info().description; \
  } while (0)

struct GpuCase {
  Index d_out, d_in, tokens;
};
const GpuCase kGpuCases[] = {{597, 40, 43}, {32, 32, 8}, {64, 128, 64}, {33, 100, 1}, {130, 256, 77}};

cuda::Sparse24View view_of(const Sparse24& c, const std::vector<std::uint32_t>& meta) {
  return cuda::Sparse24View{c.dtype, c.rows, c.cols, c.padded_rows, c.padded_cols,
                            c.values.data(), meta.data()};
}

/// Reference on the rounded operands: Ŵ_rounded (decompressed) times X rounded to dtype, fp64.
MatrixF reference_on_rounded(const Sparse24& c, const MatrixF& X) {
  const MatrixF Xr = X.unaryExpr([&](float v) { return half_to_float(float_to_half(v, c.dtype), c.dtype); });
  MatrixF R;
  reference::spmm(nm_compress(sparse24_decompress(c), 2, 4), Xr, R);
  return R;
}

TEST(CudaSpmm24, StubsThrowNotCompiledWithoutCuda) {
  if (device_info().cuda_compiled) GTEST_SKIP() << "this build has CUDA: " << device_info().description;
  const float x = 0.0f;
  float y = 0.0f;
  EXPECT_THROW(cuda::spmm24(cuda::Sparse24View{}, &x, 1, &y), NotCompiled);
  EXPECT_THROW(cuda::group_topn(&x, 1, 4, 2, 4), NotCompiled);
}

TEST(CudaSpmm24, WithoutGpuFailsWithAClearError) {
  if (!device_info().cuda_compiled || device_info().cuda_usable)
    GTEST_SKIP() << "needs a CUDA build on a machine without GPU: " << device_info().description;
  const float x = 0.0f;
  float y = 0.0f;
  EXPECT_THROW(cuda::spmm24(cuda::Sparse24View{}, &x, 1, &y), Error);
}

TEST(CudaSpmm24, ExactOnSmallIntegersAllNibblesAndTails) {
  NMLAB_REQUIRE_GPU();
  RngStream rng(21);
  for (const HalfType t : {HalfType::fp16, HalfType::bf16})
    for (const GpuCase& s : kGpuCases) {
      // Integers in [-4, 4]: products and partial sums exact in fp32, so equality is required.
      const MatrixF W = random_nm_matrix(s.d_out, s.d_in, 2, 4, rng, Fill::integers);
      const MatrixF X = random_matrix(s.d_in, s.tokens, rng, Fill::integers);
      const Sparse24 c = sparse24_compress(W, t);
      const auto meta = reorder_meta_for_mma_sp(c);
      MatrixF Y(s.d_out, s.tokens);
      cuda::spmm24(view_of(c, meta), X.data(), long(s.tokens), Y.data());
      const MatrixF dense = W * X;
      EXPECT_TRUE(Y == dense) << to_string(t) << " " << s.d_out << "x" << s.d_in << "x" << s.tokens
                              << " max diff " << (Y - dense).cwiseAbs().maxCoeff();
    }
}

TEST(CudaSpmm24, IdentityReproducesTheDecompressedWeights) {
  NMLAB_REQUIRE_GPU();
  // X = I: Y must equal Ŵ element for element, so a fragment or metadata mix-up shows as a
  // displaced value.
  RngStream rng(22);
  const MatrixF W = random_nm_matrix(64, 64, 2, 4, rng, Fill::integers);
  const Sparse24 c = sparse24_compress(W, HalfType::fp16);
  const auto meta = reorder_meta_for_mma_sp(c);
  const MatrixF I = MatrixF::Identity(64, 64);
  MatrixF Y(64, 64);
  cuda::spmm24(view_of(c, meta), I.data(), 64, Y.data());
  EXPECT_TRUE(Y == W);
}

TEST(CudaSpmm24, RandomInputsWithinTheAccumulationBound) {
  NMLAB_REQUIRE_GPU();
  RngStream rng(23);
  for (const HalfType t : {HalfType::fp16, HalfType::bf16})
    for (const GpuCase& s : kGpuCases) {
      const MatrixF W = random_nm_matrix(s.d_out, s.d_in, 2, 4, rng);
      const MatrixF X = random_matrix(s.d_in, s.tokens, rng);
      const Sparse24 c = sparse24_compress(W, t);
      const auto meta = reorder_meta_for_mma_sp(c);
      MatrixF Y(s.d_out, s.tokens);
      cuda::spmm24(view_of(c, meta), X.data(), long(s.tokens), Y.data());
      const MatrixF R = reference_on_rounded(c, X);
      const MatrixF absprod = sparse24_decompress(c).cwiseAbs() * X.cwiseAbs();
      for (Index i = 0; i < Y.size(); ++i) {
        const double bound = kAccumUlps * (double(s.d_in) / 2) * kFp32Eps * absprod.data()[i] + 1e-30;
        ASSERT_LE(std::abs(double(Y.data()[i]) - double(R.data()[i])), bound) << to_string(t) << " entry " << i;
      }
    }
}

TEST(CudaDenseGemm, CublasMatchesReferenceOnIntegers) {
  NMLAB_REQUIRE_GPU();
  RngStream rng(24);
  const MatrixF W = random_matrix(70, 48, rng, Fill::integers);
  const MatrixF X = random_matrix(48, 33, rng, Fill::integers);
  MatrixF Y(70, 33);
  cuda::dense_gemm(HalfType::fp16, W.data(), 70, 48, X.data(), 33, Y.data());
  const MatrixF dense = W * X;
  EXPECT_TRUE(Y == dense);
}

TEST(CudaGroupTopn, MatchesCoreTopnIncludingTies) {
  NMLAB_REQUIRE_GPU();
  RngStream rng(25);
  for (const NMPattern p : {NMPattern{2, 4}, NMPattern{8, 16}, NMPattern{3, 7}, NMPattern{16, 32}}) {
    const Index rows = 37, cols = 5 * p.m;
    MatrixF S = random_matrix(rows, cols, rng, Fill::integers);  // many ties among 8 values
    S.row(0).setConstant(1.0f);                                 // all tied: the lowest columns win
    const std::vector<std::uint8_t> mask = cuda::group_topn(S.data(), long(rows), long(cols), p.n, p.m);
    const Mask expect = topn_mask(S.cast<double>(), p);
    for (Index r = 0; r < rows; ++r)
      for (Index c = 0; c < cols; ++c)
        ASSERT_EQ(mask[std::size_t(r * cols + c)] != 0, expect(r, c)) << p.str() << " at " << r << "," << c;
  }
}

}  // namespace
}  // namespace nmlab::kernels
