// Tests of alps against a slow re-implementation of the same recurrence: per-row loops, an explicit
// (Ĥ + ρI)⁻¹ from Eigen's LU inverse, per-group sorting for the projection.
#include <gtest/gtest.h>

#include "framework/core/errors.hpp"
#include "framework/solvers/solver_test_util.hpp"

namespace nmlab {
namespace {

using solver_test::correlated;
using solver_test::errors_after_updates;
using solver_test::kMonotoneTol;
using solver_test::UpdatedErrors;
using solver_test::run_solver;
using solver_test::solver_weights;

constexpr double kAdmmTol = 1e-7;       // fast vs reference weights, max abs difference

/// Π: top-n of z² per group of m, ties to the lower index.
Weights reference_project(const Weights& Z, const NMPattern& p) {
  Weights D = Weights::Zero(Z.rows(), Z.cols());
  for (Index r = 0; r < Z.rows(); ++r)
    for (Index g = 0; g < Z.cols(); g += p.m) {
      std::vector<double> s;
      for (Index j = 0; j < p.m; ++j) s.push_back(Z(r, g + j) * Z(r, g + j));
      for (int k : solver_test::top_n(s, p.n)) D(r, g + k) = Z(r, g + k);
    }
  return D;
}

Index support_change(const Weights& A, const Weights& B) {
  return ((A.array() != 0) != (B.array() != 0)).count();
}

/// ALPS as in the authors' code (ρ = 0.1, 300 iterations, ρ checks every 3, switch at 30, then
/// 10 unpreconditioned CG steps on the support), written entry by entry.
Weights reference_alps(const LayerProblem& prob, const NMPattern& p) {
  const Index d_out = prob.d_out(), d = prob.d_in();
  Eigen::MatrixXd H = prob.H;
  H.diagonal().array() += 0.01 * H.diagonal().mean();
  Vector s(d);
  for (Index j = 0; j < d; ++j) s(j) = std::sqrt(H(j, j)) + 1e-8;
  Eigen::MatrixXd Hn(d, d);
  for (Index i = 0; i < d; ++i)
    for (Index j = 0; j < d; ++j) Hn(i, j) = H(i, j) / (s(i) * s(j));
  Weights B0(d_out, d);
  for (Index r = 0; r < d_out; ++r)
    for (Index j = 0; j < d; ++j) B0(r, j) = prob.W0(r, j) * s(j);
  const Weights Y = B0 * Hn;
  const double kept = double(d_out * d) * p.n / p.m;

  double rho = 0.1;
  Eigen::MatrixXd Ainv = (Hn + rho * Eigen::MatrixXd::Identity(d, d)).inverse();
  const Weights D_init = reference_project(B0, p);
  Weights B = B0, D = D_init, V = Weights::Zero(d_out, d);
  Weights D_prev = D_init;
  bool raised = false;
  for (int it = 1; it <= 300; ++it) {
    for (Index r = 0; r < d_out; ++r) {
      const Eigen::RowVectorXd rhs = Y.row(r) - V.row(r) + rho * D.row(r);
      B.row(r) = rhs * Ainv;
    }
    D = reference_project(B + V / rho, p);
    V += rho * (B - D);
    if (it % 3 != 0) continue;
    const double change = double(support_change(D, D_prev));
    D_prev = D;
    if (change / kept > 0.1) {
      raised = true;
      rho *= 1.3;
    } else if (change / kept > 0.005) {
      raised = true;
      rho *= 1.2;
    } else if (change > 0.5) {
      if (raised) {
        rho *= 1.1;
      } else {
        rho /= 5;
        B = B0;
        D = D_init;
        V.setZero();
      }
    } else if (raised) {
      break;
    } else {
      rho /= 5;
    }
    rho = std::min(rho, 1e6);
    Ainv = (Hn + rho * Eigen::MatrixXd::Identity(d, d)).inverse();
    if (it >= 30 && change / kept < 0.0003) break;
  }
  B = reference_project(B, p);
  // CG on each row's support: minimise ½ (b − b0) Ĥ (b − b0)ᵀ with b zero off the support. As in
  // the authors' batched CG, all rows step together until every row's residual is small.
  const Weights M = (B.array() != 0).cast<double>();
  Weights res = (Y - B * Hn).cwiseProduct(M), dir = res;
  for (int k = 0; k < 10; ++k) {
    bool all_small = true;
    for (Index r = 0; r < d_out; ++r) all_small &= res.row(r).norm() <= 1e-4 * Y.row(r).norm();
    if (all_small) break;
    for (Index r = 0; r < d_out; ++r) {
      const Eigen::RowVectorXd Ad = dir.row(r) * Hn;
      const double den = dir.row(r).dot(Ad), rr = res.row(r).squaredNorm();
      if (!(den > 0)) continue;
      const double alpha = rr / den;
      B.row(r) += alpha * dir.row(r);
      res.row(r) -= alpha * Ad.cwiseProduct(M.row(r));
      const double beta = rr > 0 ? res.row(r).squaredNorm() / rr : 0.0;
      dir.row(r) = res.row(r) + beta * dir.row(r);
    }
  }
  Weights W(d_out, d);
  for (Index r = 0; r < d_out; ++r)
    for (Index j = 0; j < d; ++j) W(r, j) = B(r, j) / s(j);
  return W;
}

TEST(Alps, MatchesSlowReference) {
  for (const NMPattern p : {NMPattern{2, 4}, NMPattern{4, 8}, NMPattern{1, 4}}) {
    for (std::uint64_t seed : {1, 2}) {
      const LayerProblem prob = correlated(6, 16, 0.8, seed);
      const SolveResult res = run_solver("alps", Params(), prob, p);
      const Weights ref = reference_alps(prob, p);
      const Weights W = solver_weights(res, prob);
      EXPECT_TRUE(res.mask == Mask::nonzeros_of(ref)) << p.str() << " seed " << seed;
      EXPECT_LT((W - ref).cwiseAbs().maxCoeff(), kAdmmTol) << p.str() << " seed " << seed;
      EXPECT_NEAR(res.summary.objective_final, prob.loss(W), kMonotoneTol * prob.reference_loss());
    }
  }
}

TEST(Alps, BeatsMagnitudeOnCorrelatedInputs) {
  const auto lstsq = builtins().updates.make("masked_lstsq", Params());
  for (const NMPattern p : {NMPattern{2, 4}, NMPattern{4, 8}}) {
    const LayerProblem prob = correlated(16, 64, 0.8, 3);
    const SolveResult alps = run_solver("alps", Params(), prob, p);
    const SolveResult mag = run_solver("magnitude", Params(), prob, p);
    const double alps_err = prob.relative_error(solver_weights(alps, prob));
    EXPECT_LT(alps_err, prob.relative_error(mag.mask.apply(prob.W0))) << p.str();
    // Even when magnitude's mask gets the exact optimal weights.
    EXPECT_LT(alps_err, prob.relative_error(lstsq->apply(prob, mag.mask, mag.mask.apply(prob.W0)))) << p.str();
  }
}

TEST(Alps, ValidMasksWithTiesDeadInputsAndLargeM) {
  for (const NMPattern p : {NMPattern{2, 4}, NMPattern{4, 8}, NMPattern{8, 16}, NMPattern{1, 16}}) {
    const LayerProblem prob = solver_test::ties_and_dead(5, 32, {0, 1, 2, 3, 17, 31}, 2);
    const SolveResult res = run_solver("alps", Params(), prob, p);
    EXPECT_FALSE(res.mask.violation(p).has_value()) << p.str() << ": " << res.mask.violation(p).value_or("");
    ASSERT_TRUE(res.W);
    EXPECT_TRUE(res.W->allFinite());
    EXPECT_NE(res.summary.termination, Termination::failed);
  }
  const LayerProblem all_dead = LayerProblem::from_gram(Weights::Ones(3, 8), SymMatrix::Zero(8, 8));
  const SolveResult res = run_solver("alps", Params(), all_dead, NMPattern{2, 4});
  EXPECT_TRUE(res.mask.satisfies(NMPattern{2, 4}));
  EXPECT_EQ(res.summary.objective_final, 0.0);
}

TEST(Alps, RecordsTracesAndSummary) {
  const LayerProblem prob = correlated(8, 32, 0.8, 5);
  const SolveResult res = run_solver("alps", Params(), prob, NMPattern{2, 4});
  ASSERT_GT(res.summary.iterations, 0);
  EXPECT_EQ(long(res.traces.at("rho").size()), res.summary.iterations);
  EXPECT_EQ(long(res.traces.at("support_change").size()), res.summary.iterations);
  ASSERT_FALSE(res.traces.at("objective").empty());
  EXPECT_EQ(res.traces.at("objective").size(), res.traces.at("objective_iteration").size());
  EXPECT_EQ(res.summary.termination, Termination::converged);
  // CG on the fixed support never makes the ADMM point worse.
  EXPECT_LE(res.summary.objective_final, res.metrics.at("objective_admm") * (1 + kMonotoneTol));
  EXPECT_LE(res.summary.objective_final, res.summary.objective_initial);
}

TEST(Alps, ObjectiveEveryIterationOnRequest) {
  const LayerProblem prob = correlated(8, 32, 0.8, 5);
  const SolveResult every = run_solver("alps", Params().set("objective_every", "1"), prob, NMPattern{2, 4});
  const SolveResult checks = run_solver("alps", Params(), prob, NMPattern{2, 4});
  ASSERT_EQ(long(every.traces.at("objective").size()), every.summary.iterations);
  // Same run otherwise: the values at the ρ checks agree, and so do the results.
  const auto& it_checks = checks.traces.at("objective_iteration");
  for (size_t k = 0; k < it_checks.size(); ++k)
    EXPECT_EQ(every.traces.at("objective")[size_t(it_checks[k]) - 1], checks.traces.at("objective")[k]);
  EXPECT_TRUE(every.mask == checks.mask);
}

TEST(Alps, IterationCapIsHonoured) {
  const LayerProblem prob = correlated(8, 32, 0.8, 5);
  const SolveResult res = run_solver("alps", Params().set("max_iters", "4").set("cg_iters", "0"), prob, NMPattern{2, 4});
  EXPECT_EQ(res.summary.iterations, 4);
  EXPECT_EQ(res.summary.termination, Termination::max_iters);
  EXPECT_EQ(res.metrics.at("cg_iterations"), 0.0);
  EXPECT_TRUE(res.mask.satisfies(NMPattern{2, 4}));
}

TEST(Alps, WeightUpdatesAfterwardsOnlyImprove) {
  const LayerProblem prob = correlated(16, 64, 0.8, 4);
  const NMPattern p{2, 4};
  const SolveResult res = run_solver("alps", Params(), prob, p);
  const UpdatedErrors e = errors_after_updates(res, prob);
  EXPECT_LE(e.after_lstsq, e.before * (1 + kMonotoneTol));
  EXPECT_LE(e.after_gd, e.before * (1 + kMonotoneTol));
}

TEST(Alps, OptionsAreValidatedStrictly) {
  const auto& reg = builtins().solvers;
  EXPECT_THROW(reg.make("alps", Params().set("rho", "0")), SpecError);
  EXPECT_THROW(reg.make("alps", Params().set("update_iter", "0")), SpecError);
  EXPECT_THROW(reg.make("alps", Params().set("max_iter", "10")), SpecError);  // the key is max_iters
  EXPECT_NO_THROW(reg.make("alps", Params().set("max_iters", "10").set("cg_iters", "0")));
}

TEST(Alps, TransposablePatternsGoThroughTheSelector) {
  for (const NMPattern p : {NMPattern{2, 4, true}, NMPattern{4, 8, true}}) {
    const LayerProblem prob = correlated(16, 32, 0.5, 1);
    // The transposable projection runs every iteration: cap the iterations to keep the test fast.
    const SolveResult res = run_solver("alps", Params().set("max_iters", "30"), prob, p);
    EXPECT_TRUE(res.mask.satisfies(p)) << p.str() << ": " << res.mask.violation(p).value_or("");
    EXPECT_LE(prob.relative_error(solver_weights(res, prob)), 1.0) << p.str();
  }
}

}  // namespace
}  // namespace nmlab
