// N:M SpMM: the reference against dense products (exact on integer inputs), the CPU kernel against
// the reference on awkward shapes (row/token/k tails, several patterns, one token, empty rows).
#include <gtest/gtest.h>

#include "framework/core/errors.hpp"
#include "framework/kernels/nm_spmm.hpp"
#include "framework/kernels/test_matrices.hpp"

namespace nmlab::kernels {
namespace {

/// fp32 accumulation of K_eff products: |error| <= kAccumUlps K_eff 2^-24 Σ|w x| (kernels.md §3).
constexpr double kAccumUlps = 2.0;
constexpr double kFp32Eps = 0x1p-24;

struct Case {
  Index d_out, d_in, tokens;
  int n, m;
};

const Case kCases[] = {
    {597, 40, 43, 2, 4},  {5, 4, 1, 2, 4},     {97, 300, 129, 2, 4}, {33, 43, 17, 2, 4},
    {17, 64, 70, 8, 16}, {31, 21, 200, 3, 7}, {8, 256, 5, 1, 4},    {130, 96, 257, 4, 8},
    // k blocks that are not 64 wide (m does not divide 64; m = 200 > 64) and span several blocks
    {50, 300, 40, 2, 3}, {7, 450, 20, 4, 200},
    // few-token path (tokens <= 16) and its one-token variant, with run-time and template n
    {31, 21, 1, 3, 7},   {130, 96, 16, 4, 8}, {67, 44, 1, 2, 4},    {19, 64, 1, 8, 16},
};

/// Max over entries of |Y - R| / (tolerance bound), must be <= 1.
double scaled_error(const MatrixF& Y, const MatrixF& R, const MatrixF& W, const MatrixF& X, int n, int m) {
  const MatrixF absprod = W.cwiseAbs() * X.cwiseAbs();
  const double k_eff = double(W.cols()) * n / m;
  double worst = 0.0;
  for (Index i = 0; i < Y.size(); ++i) {
    const double bound = kAccumUlps * k_eff * kFp32Eps * absprod.data()[i] + 1e-30;
    worst = std::max(worst, std::abs(double(Y.data()[i]) - double(R.data()[i])) / bound);
  }
  return worst;
}

TEST(NMSpmmReference, EqualsDenseProductExactlyOnIntegers) {
  RngStream rng(1);
  for (const Case& c : kCases) {
    const MatrixF W = random_nm_matrix(c.d_out, c.d_in, c.n, c.m, rng, Fill::integers);
    const MatrixF X = random_matrix(c.d_in, c.tokens, rng, Fill::integers);
    MatrixF Y;
    reference::spmm(nm_compress(W, c.n, c.m), X, Y);
    const MatrixF dense = W * X;
    EXPECT_TRUE(Y == dense) << c.d_out << "x" << c.d_in << "x" << c.tokens;
  }
}

TEST(NMSpmmCpu, IsEquivalentToReferenceOnAwkwardShapes) {
  RngStream rng(2);
  for (const Case& c : kCases) {
    const MatrixF W = random_nm_matrix(c.d_out, c.d_in, c.n, c.m, rng);
    const MatrixF X = random_matrix(c.d_in, c.tokens, rng);
    const NMCompressed Wc = nm_compress(W, c.n, c.m);
    MatrixF R, Y;
    reference::spmm(Wc, X, R);
    cpu::spmm(Wc, X, Y);
    ASSERT_EQ(Y.rows(), c.d_out);
    ASSERT_EQ(Y.cols(), c.tokens);
    EXPECT_LE(scaled_error(Y, R, W, X, c.n, c.m), 1.0) << c.d_out << "x" << c.d_in << "x" << c.tokens << " "
                                                      << c.n << ":" << c.m;
    // Integers: exact, and equal to the dense product.
    const MatrixF Wi = random_nm_matrix(c.d_out, c.d_in, c.n, c.m, rng, Fill::integers);
    const MatrixF Xi = random_matrix(c.d_in, c.tokens, rng, Fill::integers);
    cpu::spmm(nm_compress(Wi, c.n, c.m), Xi, Y);
    const MatrixF dense = Wi * Xi;
    EXPECT_TRUE(Y == dense) << c.d_out << "x" << c.d_in << "x" << c.tokens;
  }
}

TEST(NMSpmmCpu, LongKCrossesManyKBlocksAndPanels) {
  RngStream rng(4);
  const Index d_out = 40, d_in = 2048 + 12, tokens = 2 * cpu::panel_tokens() + 3;
  const MatrixF W = random_nm_matrix(d_out, d_in, 2, 4, rng);
  const MatrixF X = random_matrix(d_in, tokens, rng);
  MatrixF R, Y;
  reference::spmm(nm_compress(W, 2, 4), X, R);
  cpu::spmm(nm_compress(W, 2, 4), X, Y);
  EXPECT_LE(scaled_error(Y, R, W, X, 2, 4), 1.0);
}

TEST(NMSpmmCpu, ZeroRowsAndShapeErrors) {
  RngStream rng(3);
  MatrixF W = random_nm_matrix(7, 16, 2, 4, rng);
  W.row(2).setZero();
  const MatrixF X = random_matrix(16, 9, rng);
  MatrixF Y;
  cpu::spmm(nm_compress(W, 2, 4), X, Y);
  EXPECT_TRUE(Y.row(2).isZero(0.0f));
  const MatrixF bad = random_matrix(15, 9, rng);
  EXPECT_THROW(cpu::spmm(nm_compress(W, 2, 4), bad, Y), TensorError);
  EXPECT_THROW(reference::spmm(nm_compress(W, 2, 4), bad, Y), TensorError);
}

}  // namespace
}  // namespace nmlab::kernels
