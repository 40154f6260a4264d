// Tests of the exhaustive solver: it equals brute force over the full mask set of a tiny problem,
// and no other solver (+ masked_lstsq) beats it.
#include <gtest/gtest.h>

#include "framework/solvers/solver_test_util.hpp"

#include <Eigen/QR>

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"

namespace nmlab {
namespace {

constexpr double kLossRelTol = 1e-10;

using solver_test::solve;

LayerProblem toy(Index d_out, Index d_in, double rho, std::uint64_t seed) {
  return solver_test::correlated(d_out, d_in, rho, seed);
}

/// Per-row least squares on the mask's support, by a plain dense solve (independent of the
/// incremental factorisation the solver uses).
Weights optimal_weights(const LayerProblem& prob, const Mask& m) {
  Weights W = Weights::Zero(prob.d_out(), prob.d_in());
  for (Index r = 0; r < prob.d_out(); ++r) {
    std::vector<Index> S;
    for (Index c = 0; c < prob.d_in(); ++c)
      if (m(r, c)) S.push_back(c);
    const Index k = Index(S.size());
    Eigen::MatrixXd A(k, k);
    Vector b(k);
    const Vector Hw0 = prob.H * prob.W0.row(r).transpose();
    for (Index i = 0; i < k; ++i) {
      b(i) = Hw0(S[size_t(i)]);
      for (Index j = 0; j < k; ++j) A(i, j) = prob.H(S[size_t(i)], S[size_t(j)]);
    }
    const Vector w = A.colPivHouseholderQr().solve(b);  // H_SS w = (H w0)_S
    for (Index i = 0; i < k; ++i) W(r, S[size_t(i)]) = w(i);
  }
  return W;
}

TEST(Exhaustive, EqualsBruteForceOverAllMasksOfA2x8Problem) {
  const LayerProblem prob = toy(2, 8, 0.8, 3);
  const NMPattern p{2, 4};
  // all 6^4 masks of the whole 2 x 8 matrix (both rows jointly), each with its exact weights
  const int kGroupMasks[6] = {0b0011, 0b0101, 0b0110, 0b1001, 0b1010, 0b1100};
  double best = INFINITY;
  for (int code = 0; code < 6 * 6 * 6 * 6; ++code) {
    Mask m(2, 8);
    int c = code;
    for (int g = 0; g < 4; ++g, c /= 6)
      for (int k = 0; k < 4; ++k) m.set(g / 2, (g % 2) * 4 + k, (kGroupMasks[c % 6] >> k) & 1);
    ASSERT_TRUE(m.satisfies(p));
    best = std::min(best, prob.loss(optimal_weights(prob, m)));
  }
  const SolveResult res = solve("exhaustive", prob, p);
  ASSERT_TRUE(res.mask.satisfies(p));
  ASSERT_TRUE(res.W.has_value());
  EXPECT_NEAR(prob.loss(*res.W), best, kLossRelTol * best);
}

TEST(Exhaustive, NoSolverWithMaskedLstsqBeatsIt) {
  const NMPattern p{2, 4};
  const auto lstsq = builtins().updates.make("masked_lstsq", Params());
  for (double rho : {0.0, 0.8})
    for (std::uint64_t seed : {1, 2}) {
      const LayerProblem prob = toy(6, 16, rho, seed);
      const double opt = prob.loss(*solve("exhaustive", prob, p).W);
      for (const std::string name : {"magnitude", "wanda", "random", "prox"}) {
        const SolveResult r = solve(name, prob, p);
        const double loss = prob.loss(lstsq->apply(prob, r.mask, r.mask.apply(r.W ? *r.W : prob.W0)));
        EXPECT_GE(loss, opt * (1 - kLossRelTol)) << name << " rho " << rho << " seed " << seed;
      }
    }
}

TEST(Exhaustive, GeneralPatternAndRefusals) {
  // 1:4 and 3:8 run; transposable and oversized problems are refused with a hint
  const LayerProblem prob = toy(3, 16, 0.3, 4);
  EXPECT_TRUE(solve("exhaustive", prob, NMPattern{1, 4}).mask.satisfies(NMPattern{1, 4}));
  EXPECT_TRUE(solve("exhaustive", prob, NMPattern{3, 8}).mask.satisfies(NMPattern{3, 8}));
  const auto solver = builtins().solvers.make("exhaustive", Params());
  EXPECT_THROW(solver->check_supported(NMPattern{2, 4, true}, 8, 16), Unsupported);
  try {
    solver->check_supported(NMPattern{2, 4}, 8, 64);  // 6^16 masks per row
    FAIL() << "expected Unsupported";
  } catch (const Unsupported& e) {
    EXPECT_NE(std::string(e.what()).find("max_masks_per_row"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(builtins().solvers.make("exhaustive", Params().set("max_masks_per_row", "1e13"))
                      ->check_supported(NMPattern{2, 4}, 8, 64));
}

}  // namespace
}  // namespace nmlab
