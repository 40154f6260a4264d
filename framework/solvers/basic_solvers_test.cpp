// magnitude, wanda and random against brute force on tiny inputs, including ties and awkward m.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"

namespace nmlab {
namespace {

constexpr double kF64Tol = 1e-12;
// Random masks: each n-subset of a group should appear with frequency 1/C(m,n) ± this.
constexpr double kFrequencyTol = 0.02;

/// Largest achievable kept score per group by enumerating every n-subset.
double best_group_score(const double* s, int m, int n) {
  double best = -1;
  for (int bits = 0; bits < (1 << m); ++bits) {
    if (__builtin_popcount(unsigned(bits)) != n) continue;
    double sum = 0;
    for (int k = 0; k < m; ++k)
      if (bits >> k & 1) sum += s[k];
    best = std::max(best, sum);
  }
  return best;
}

void expect_optimal(const Weights& scores, const Mask& mask, const NMPattern& p) {
  ASSERT_TRUE(mask.satisfies(p)) << *mask.violation(p);
  for (Index r = 0; r < scores.rows(); ++r)
    for (Index g = 0; g < scores.cols(); g += p.m) {
      double kept = 0;
      for (int k = 0; k < p.m; ++k) kept += mask(r, g + k) ? scores(r, g + k) : 0;
      EXPECT_NEAR(kept, best_group_score(scores.row(r).data() + g, p.m, p.n), kF64Tol);
    }
}

LayerProblem tiny_problem(Index d_out, Index d_in, std::uint64_t seed, bool ties) {
  RngStream rng(seed);
  Weights W0 = rng.normal_matrix(d_out, d_in);
  if (ties)  // quantise so many |w| tie
    W0 = (W0.array() * 2).round() / 2;
  const Eigen::MatrixXd X = rng.normal_matrix(d_in, 3 * d_in);
  return LayerProblem::from_inputs(W0, X);
}

SolveResult solve(const std::string& name, const LayerProblem& prob, const NMPattern& p, std::uint64_t seed = 0) {
  Context ctx;
  ctx.rng = RngStream(seed);
  return builtins().solvers.make(name, Params())->solve(prob, p, ctx);
}

TEST(BasicSolvers, MagnitudeIsOptimalForItsScoreAtManyPatterns) {
  for (auto p : {NMPattern{2, 4}, NMPattern{1, 4}, NMPattern{3, 4}, NMPattern{4, 8}, NMPattern{3, 7}, NMPattern{8, 16}})
    for (bool ties : {false, true}) {
      const auto prob = tiny_problem(5, 2 * p.m, 11, ties);
      expect_optimal(prob.W0.cwiseAbs(), solve("magnitude", prob, p).mask, p);
    }
}

TEST(BasicSolvers, WandaIsOptimalForItsScoreAndEqualsMagnitudeWhenHIsIsotropic) {
  for (auto p : {NMPattern{2, 4}, NMPattern{4, 8}, NMPattern{5, 12}}) {
    const auto prob = tiny_problem(6, 3 * p.m, 5, false);
    const Weights S = prob.W0.cwiseAbs() * prob.H.diagonal().cwiseSqrt().asDiagonal();
    expect_optimal(S, solve("wanda", prob, p).mask, p);
  }
  RngStream rng(3);
  const auto iso = LayerProblem::from_gram(rng.normal_matrix(4, 8), 2.5 * SymMatrix::Identity(8, 8));
  EXPECT_EQ(solve("wanda", iso, NMPattern{2, 4}).mask, solve("magnitude", iso, NMPattern{2, 4}).mask);
}

TEST(BasicSolvers, RandomIsValidSeededAndUniform) {
  const NMPattern p{2, 4};
  const auto prob = tiny_problem(200, 64, 1, false);
  const Mask a = solve("random", prob, p, 1).mask, b = solve("random", prob, p, 1).mask, c = solve("random", prob, p, 2).mask;
  EXPECT_TRUE(a.satisfies(p));
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a == c);
  std::map<int, int> count;  // which 2-subset each group keeps
  for (Index r = 0; r < a.rows(); ++r)
    for (Index g = 0; g < a.cols(); g += 4) {
      int bits = 0;
      for (int k = 0; k < 4; ++k) bits |= a(r, g + k) << k;
      ++count[bits];
    }
  ASSERT_EQ(count.size(), 6u);
  const double groups = double(a.rows() * a.cols() / 4);
  for (const auto& [bits, n] : count) EXPECT_NEAR(n / groups, 1.0 / 6.0, kFrequencyTol) << bits;
}

TEST(BasicSolvers, ShapeErrorsSayWhatToChange) {
  const auto prob = tiny_problem(4, 8, 1, false);
  auto solver = builtins().solvers.make("magnitude", Params());
  EXPECT_THROW(solver->check_supported(NMPattern{2, 3}, 4, 8), SpecError);
  EXPECT_NO_THROW(solver->check_supported(NMPattern{2, 4}, 4, 8));
}

}  // namespace
}  // namespace nmlab
