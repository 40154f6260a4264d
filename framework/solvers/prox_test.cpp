// Tests of the proximal solver: valid masks and traces, convergence to N:M, the regularizer and
// normalized options, refusal of transposable patterns, and masked_gd after it and the one-shot
// solvers (error never rises, converges towards masked_lstsq).
#include <gtest/gtest.h>

#include <algorithm>

#include "framework/solvers/solver_test_util.hpp"

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"

namespace nmlab {
namespace {

constexpr double kLossRelTol = 1e-10;
/// masked_gd with many steps must reach masked_lstsq to this relative loss gap.
constexpr double kGdConvergedRel = 1e-6;

using solver_test::solve;

LayerProblem toy(Index d_out, Index d_in, double rho, std::uint64_t seed) {
  return solver_test::correlated(d_out, d_in, rho, seed);
}

/// W0 with the magnitude mask: the baseline the prox iterate must beat.
Weights topn_mask_apply(const LayerProblem& prob, const NMPattern& p) {
  Context ctx;
  return builtins().solvers.make("magnitude", Params())->solve(prob, p, ctx).mask.apply(prob.W0);
}

TEST(ProxSolver, ConvergesToNMWithTraces) {
  const LayerProblem prob = toy(16, 32, 0.8, 7);
  const NMPattern p{2, 4};
  const SolveResult r = solve("prox", prob, p);
  ASSERT_TRUE(r.mask.satisfies(p)) << *r.mask.violation(p);
  EXPECT_EQ(r.summary.termination, Termination::converged) << r.summary.message;
  const auto& lam = r.traces.at("lambda");
  const auto& open = r.traces.at("groups_not_nm");
  ASSERT_EQ(long(lam.size()), r.summary.iterations);
  ASSERT_EQ(open.size(), lam.size());
  ASSERT_EQ(r.traces.at("objective").size(), lam.size());
  for (const char* t : {"time_product_s", "time_prox_s"}) {
    ASSERT_EQ(r.traces.at(t).size(), lam.size()) << t;
    EXPECT_GE(*std::min_element(r.traces.at(t).begin(), r.traces.at(t).end()), 0.0) << t;
  }
  EXPECT_EQ(open.back(), 0.0);
  for (size_t i = 1; i < lam.size(); ++i) EXPECT_NEAR(lam[i] / lam[i - 1], 1.01, 1e-12);
  // the returned weights are the prox iterate: supported on the mask, in original coordinates
  ASSERT_TRUE(r.W.has_value());
  EXPECT_EQ(r.mask.apply(*r.W), *r.W);
  EXPECT_LT(prob.relative_error(*r.W), prob.relative_error(topn_mask_apply(prob, p)));
}

TEST(ProxSolver, OptionsNormalizedRegularizersAndMaxIters) {
  const LayerProblem prob = toy(8, 16, 0.3, 2);
  const NMPattern p{2, 4};
  for (const std::string reg : {"nm_elementary", "l1", "none"})
    for (const std::string norm : {"false", "true"}) {
      const SolveResult r = solve("prox", prob, p, Params().set("regularizer", reg).set("normalized", norm).set("max_iters", "300"));
      EXPECT_TRUE(r.mask.satisfies(p)) << reg << " normalized " << norm;
      EXPECT_LE(r.summary.iterations, 300);
    }
  // a tiny cap stops early and projects
  const SolveResult capped = solve("prox", prob, p, Params().set("max_iters", "3"));
  EXPECT_EQ(capped.summary.termination, Termination::max_iters);
  EXPECT_TRUE(capped.mask.satisfies(p));
  // 4:8 goes through the general group prox
  const SolveResult r48 = solve("prox", toy(4, 16, 0.5, 3), NMPattern{4, 8}, Params().set("lambda_growth", "1.05"));
  EXPECT_TRUE(r48.mask.satisfies(NMPattern{4, 8}));
  EXPECT_EQ(r48.summary.termination, Termination::converged);
}

TEST(ProxSolver, RefusesTransposableAndUnknownRegularizer) {
  const auto solver = builtins().solvers.make("prox", Params());
  try {
    solver->check_supported(NMPattern{2, 4, true}, 8, 8);
    FAIL() << "expected Unsupported";
  } catch (const Unsupported& e) {
    EXPECT_NE(std::string(e.what()).find("non-transposable"), std::string::npos) << e.what();
  }
  EXPECT_THROW(builtins().solvers.make("prox", Params().set("regularizer", "l3"))->check_supported(NMPattern{2, 4}, 8, 8),
               SpecError);
}

TEST(MaskedGd, ImprovesEverySolverAndConvergesToLstsq) {
  const LayerProblem prob = toy(8, 16, 0.8, 11);
  const NMPattern p{2, 4};
  const auto gd20 = builtins().updates.make("masked_gd", Params());
  const auto gd_long = builtins().updates.make("masked_gd", Params().set("steps", "2000"));
  const auto lstsq = builtins().updates.make("masked_lstsq", Params());
  for (const std::string name : {"magnitude", "wanda", "prox"}) {
    const SolveResult r = solve(name, prob, p);
    const Weights start = r.mask.apply(r.W ? *r.W : prob.W0);
    const double before = prob.loss(start);
    const double after20 = prob.loss(gd20->apply(prob, r.mask, start));
    const double after_long = prob.loss(gd_long->apply(prob, r.mask, start));
    const double opt = prob.loss(lstsq->apply(prob, r.mask, start));
    EXPECT_LE(after20, before * (1 + kLossRelTol)) << name;
    EXPECT_LE(after_long, after20 * (1 + kLossRelTol)) << name;
    EXPECT_GE(after_long, opt * (1 - kLossRelTol)) << name;
    EXPECT_LE((after_long - opt) / opt, kGdConvergedRel) << name;
  }
}

}  // namespace
}  // namespace nmlab
