// Weight updates on a fixed mask against an independent exact solution.
#include <gtest/gtest.h>

#include "framework/builtins.hpp"

namespace nmlab {
namespace {

constexpr double kExactTol = 1e-9;     // masked_lstsq vs an independent solve
constexpr double kGdFarTol = 1e-6;     // masked_gd after many steps vs the optimum (relative)

LayerProblem correlated_problem(std::uint64_t seed) {
  Params p;
  p.set("d_out", "6").set("d_in", "16").set("rho", "0.8");
  RngStream rng(seed);
  return builtins().problems.make("correlated_groups", p)->make(rng);
}

/// Independent oracle: per row, minimise ‖(w − w0) X‖ restricted to S through a dense
/// least-squares solve on H^{1/2} (eigendecomposition), not through H_SS's Cholesky.
Weights oracle(const LayerProblem& prob, const Mask& mask) {
  Eigen::SelfAdjointEigenSolver<SymMatrix> es(prob.H);
  const Eigen::MatrixXd R = es.eigenvectors() * es.eigenvalues().cwiseMax(0).cwiseSqrt().asDiagonal();  // H = R R^T
  Weights W = Weights::Zero(prob.d_out(), prob.d_in());
  for (Index r = 0; r < W.rows(); ++r) {
    std::vector<Index> S;
    for (Index c = 0; c < W.cols(); ++c)
      if (mask(r, c)) S.push_back(c);
    Eigen::MatrixXd A(R.cols(), S.size());  // A = (R^T)_{:,S}
    for (size_t i = 0; i < S.size(); ++i) A.col(Index(i)) = R.row(S[i]).transpose();
    const Vector b = R.transpose() * prob.W0.row(r).transpose();
    const Vector w = A.colPivHouseholderQr().solve(b);
    for (size_t i = 0; i < S.size(); ++i) W(r, S[i]) = w(Index(i));
  }
  return W;
}

Weights run_update(const std::string& name, const Params& p, const LayerProblem& prob, const Mask& m) {
  return builtins().updates.make(name, p)->apply(prob, m, m.apply(prob.W0));
}

TEST(Updates, MaskedLstsqIsTheExactOptimumOnTheMask) {
  for (std::uint64_t seed : {1, 2, 3}) {
    const auto prob = correlated_problem(seed);
    Context ctx;
    const Mask m = builtins().solvers.make("wanda", Params())->solve(prob, NMPattern{2, 4}, ctx).mask;
    const Weights W = run_update("masked_lstsq", Params(), prob, m);
    EXPECT_TRUE(Mask::nonzeros_of(W).bits().cwiseMax(m.bits()) == m.bits()) << "weights off the mask";
    EXPECT_NEAR(prob.loss(W), prob.loss(oracle(prob, m)), kExactTol * prob.reference_loss());
    EXPECT_LT(prob.loss(W), prob.loss(m.apply(prob.W0)));
  }
}

TEST(Updates, MaskedGdDecreasesMonotonicallyTowardsTheOptimum) {
  const auto prob = correlated_problem(4);
  Context ctx;
  const Mask m = builtins().solvers.make("magnitude", Params())->solve(prob, NMPattern{2, 4}, ctx).mask;
  const double opt = prob.loss(run_update("masked_lstsq", Params(), prob, m));
  double prev = prob.loss(m.apply(prob.W0));
  for (int steps : {1, 2, 5, 20, 100}) {
    Params p;
    p.set("steps", std::to_string(steps));
    const Weights W = run_update("masked_gd", p, prob, m);
    EXPECT_TRUE(Mask::nonzeros_of(W).bits().cwiseMax(m.bits()) == m.bits());
    const double loss = prob.loss(W);
    EXPECT_LE(loss, prev * (1 + 1e-12)) << steps;
    EXPECT_GE(loss, opt * (1 - 1e-12)) << steps;
    prev = loss;
  }
  Params many;
  many.set("steps", "5000");
  EXPECT_NEAR(prob.loss(run_update("masked_gd", many, prob, m)), opt, kGdFarTol * prob.reference_loss());
}

TEST(Updates, NoneKeepsMaskedW0) {
  const auto prob = correlated_problem(5);
  Context ctx;
  const Mask m = builtins().solvers.make("magnitude", Params())->solve(prob, NMPattern{2, 4}, ctx).mask;
  EXPECT_EQ(run_update("none", Params(), prob, m), m.apply(prob.W0));
}

TEST(ToyProblems, CorrelatedGroupsHasTheRequestedCorrelation) {
  Params p;
  p.set("d_out", "4").set("d_in", "8").set("rho", "0.6").set("n_tokens", "200000").set("scale_sigma", "0");
  RngStream rng(9);
  const auto prob = builtins().problems.make("correlated_groups", p)->make(rng);
  constexpr double kCorrTol = 0.02;
  EXPECT_NEAR(prob.H(0, 1) / std::sqrt(prob.H(0, 0) * prob.H(1, 1)), 0.6, kCorrTol);  // same group
  EXPECT_NEAR(prob.H(0, 5) / std::sqrt(prob.H(0, 0) * prob.H(5, 5)), 0.0, kCorrTol);  // different groups
  RngStream again(9);
  EXPECT_EQ(builtins().problems.make("correlated_groups", p)->make(again).W0, prob.W0);
}

TEST(ToyProblems, PlantedWithoutNoiseIsExactlyNM) {
  Params p;
  p.set("d_out", "8").set("d_in", "16").set("noise", "0").set("n", "2").set("m", "4");
  RngStream rng(1);
  const auto prob = builtins().problems.make("planted", p)->make(rng);
  EXPECT_TRUE(Mask::nonzeros_of(prob.W0).satisfies(NMPattern{2, 4}));
}

}  // namespace
}  // namespace nmlab
