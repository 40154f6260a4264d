// Tests of sparsegpt (and the dense helpers it uses) against a slow, obviously correct OBS sweep:
// no blocking, no Cholesky, a fresh explicit inverse of the remaining Hessian block at every column.
#include <gtest/gtest.h>

#include "framework/core/errors.hpp"
#include "framework/solvers/dense_linalg.hpp"
#include "framework/solvers/score_mask.hpp"
#include "framework/solvers/solver_test_util.hpp"

namespace nmlab {
namespace {

using solver_test::correlated;
using solver_test::errors_after_updates;
using solver_test::kMonotoneTol;
using solver_test::UpdatedErrors;
using solver_test::run_solver;
using solver_test::solver_weights;

constexpr double kLinalgTol = 1e-10;   // relative error of the triangular/Cholesky identities
constexpr double kSweepTol = 1e-9;     // blocked sweep vs reference, max abs weight difference

struct Reference {
  Mask mask;
  Weights W;
};

/// The OBS recurrence written out plainly. With Hᵢ⁻¹ = inverse of H restricted to columns i..d−1
/// (what is left after eliminating the earlier columns), SparseGPT's U_jj² = [H_j⁻¹]_00 and its
/// update W_r,j −= err · U_ij equals W_r,j −= w_ri · [Hᵢ⁻¹]_0,j−i / [Hᵢ⁻¹]_00.
Reference reference_sparsegpt(const LayerProblem& prob, const NMPattern& p, double percdamp) {
  const Index d_out = prob.d_out(), d = prob.d_in();
  Weights W = prob.W0;
  Eigen::MatrixXd H = prob.H;
  for (Index j = 0; j < d; ++j)
    if (H(j, j) == 0) {
      H(j, j) = 1;
      W.col(j).setZero();
    }
  H.diagonal().array() += percdamp * H.diagonal().mean();
  Mask mask(d_out, d);
  for (Index i = 0; i < d; ++i) {
    if (i % p.m == 0) {
      for (Index r = 0; r < d_out; ++r) {
        std::vector<double> s;
        for (Index j = i; j < i + p.m; ++j) {
          const double u2 = Eigen::MatrixXd(H.bottomRightCorner(d - j, d - j)).inverse()(0, 0);
          s.push_back(W(r, j) * W(r, j) / u2);
        }
        for (int k : solver_test::top_n(s, p.n)) mask.set(r, i + k, true);
      }
    }
    const Eigen::MatrixXd Hi = Eigen::MatrixXd(H.bottomRightCorner(d - i, d - i)).inverse();
    for (Index r = 0; r < d_out; ++r) {
      if (mask(r, i)) continue;
      const double w = W(r, i);
      for (Index j = i; j < d; ++j) W(r, j) -= w * Hi(0, j - i) / Hi(0, 0);
    }
  }
  return {mask, mask.apply(W)};
}

Params sgpt_params(int blocksize, double percdamp = 0.01) {
  return Params().set("blocksize", std::to_string(blocksize)).set("percdamp", std::to_string(percdamp));
}

TEST(DenseLinalg, TriangularInverseAndInverseCholeskyFactor) {
  RngStream rng(7);
  for (Index n : {1, 3, 64, 65, 130, 257}) {
    const Eigen::MatrixXd X = rng.normal_matrix(n, n + 5);
    Eigen::MatrixXd A = X * X.transpose() / double(n);
    A.diagonal().array() += 0.1;
    Eigen::MatrixXd L = A.llt().matrixL();
    const Eigen::MatrixXd L0 = L;
    invert_lower_triangular(L);
    const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(n, n);
    EXPECT_LT((L0 * L - I).norm(), kLinalgTol * double(n)) << "n = " << n;
    EXPECT_EQ(Eigen::MatrixXd(L.triangularView<Eigen::StrictlyUpper>()).norm(), 0.0);

    Eigen::MatrixXd U;
    ASSERT_TRUE(upper_cholesky_of_inverse(A, U));
    EXPECT_EQ(Eigen::MatrixXd(U.triangularView<Eigen::StrictlyLower>()).norm(), 0.0);
    EXPECT_GT(U.diagonal().minCoeff(), 0.0);
    EXPECT_LT((A * U.transpose() * U - I).norm(), kLinalgTol * double(n) * 10) << "n = " << n;

    Eigen::MatrixXd Ainv;
    ASSERT_TRUE(spd_inverse(A, Ainv));
    EXPECT_LT((A * Ainv - I).norm(), kLinalgTol * double(n) * 10) << "n = " << n;
  }
  Eigen::MatrixXd not_pd = -Eigen::MatrixXd::Identity(3, 3), U;
  EXPECT_FALSE(upper_cholesky_of_inverse(not_pd, U));
}

TEST(SparseGpt, MatchesSlowObsReference) {
  struct Case { NMPattern p; Index d_in; int blocksize; };
  // Awkward sizes: the last block is shorter than blocksize, blocksize = m (no lazy batching), and
  // d_in > 4·blocksize (the two-level deferral: outer blocks of 16, 16, 8 columns).
  const std::vector<Case> cases = {{{2, 4}, 20, 8},  {{1, 4}, 20, 12}, {{3, 4}, 12, 4},
                                   {{4, 8}, 24, 16}, {{8, 16}, 48, 32}, {{2, 4}, 36, 128}, {{2, 4}, 40, 4}, {{4, 8}, 72, 8}};
  for (const Case& c : cases) {
    const LayerProblem prob = correlated(7, c.d_in, 0.8, 11);
    const SolveResult res = run_solver("sparsegpt", sgpt_params(c.blocksize), prob, c.p);
    const Reference ref = reference_sparsegpt(prob, c.p, 0.01);
    EXPECT_TRUE(res.mask == ref.mask) << c.p.str() << " d_in " << c.d_in;
    EXPECT_LT((solver_weights(res, prob) - ref.W).cwiseAbs().maxCoeff(), kSweepTol) << c.p.str();
    EXPECT_TRUE(res.mask.satisfies(c.p));
    EXPECT_EQ(res.summary.iterations, c.d_in);
    EXPECT_NEAR(res.summary.objective_final, prob.loss(*res.W), kMonotoneTol * prob.reference_loss());
  }
}

TEST(SparseGpt, BlocksizeDoesNotChangeTheResult) {
  const LayerProblem prob = correlated(9, 64, 0.5, 3);
  const NMPattern p{2, 4};
  const SolveResult a = run_solver("sparsegpt", sgpt_params(4), prob, p);
  const SolveResult b = run_solver("sparsegpt", sgpt_params(128), prob, p);
  EXPECT_TRUE(a.mask == b.mask);
  EXPECT_LT((*a.W - *b.W).cwiseAbs().maxCoeff(), kSweepTol);
}

TEST(SparseGpt, RowSplitAcrossThreadsDoesNotChangeTheResult) {
  // d_out = 300 splits into row blocks of 150 with two threads (and 100 with three).
  const LayerProblem prob = correlated(300, 48, 0.8, 6);
  const NMPattern p{2, 4};
  const int saved = Eigen::nbThreads();
  Eigen::setNbThreads(1);
  const SolveResult one = run_solver("sparsegpt", sgpt_params(8), prob, p);
  for (int threads : {2, 3}) {
    Eigen::setNbThreads(threads);
    const SolveResult many = run_solver("sparsegpt", sgpt_params(8), prob, p);
    EXPECT_TRUE(one.mask == many.mask) << threads << " threads";
    EXPECT_LT((*one.W - *many.W).cwiseAbs().maxCoeff(), kSweepTol) << threads << " threads";
  }
  Eigen::setNbThreads(saved);
}

TEST(SparseGpt, DiagonalHessianGivesWandasMaskAndNoUpdate) {
  RngStream rng(5);
  for (const NMPattern p : {NMPattern{2, 4}, NMPattern{3, 8}, NMPattern{8, 16}}) {
    const Index d_in = 32;
    Weights W0 = rng.normal_matrix(6, d_in);
    SymMatrix H = SymMatrix::Zero(d_in, d_in);
    for (Index j = 0; j < d_in; ++j) H(j, j) = std::exp(rng.normal());
    const LayerProblem prob = LayerProblem::from_gram(W0, H);
    // percdamp = 0: with damping the score is w²(H_jj + δ), no longer Wanda's w² H_jj.
    const SolveResult sg = run_solver("sparsegpt", sgpt_params(16, 0.0), prob, p);
    const SolveResult wanda = run_solver("wanda", Params(), prob, p);
    EXPECT_TRUE(sg.mask == wanda.mask) << p.str();
    EXPECT_LT((*sg.W - wanda.mask.apply(W0)).cwiseAbs().maxCoeff(), kSweepTol) << p.str();
  }
}

TEST(SparseGpt, ValidMasksWithTiesDeadInputsAndLargeM) {
  for (const NMPattern p : {NMPattern{2, 4}, NMPattern{1, 4}, NMPattern{4, 8}, NMPattern{8, 16}, NMPattern{15, 16}}) {
    const LayerProblem prob = solver_test::ties_and_dead(5, 32, {0, 1, 2, 3, 17, 31}, 2);
    const SolveResult res = run_solver("sparsegpt", sgpt_params(16), prob, p);
    EXPECT_FALSE(res.mask.violation(p).has_value()) << p.str() << ": " << res.mask.violation(p).value_or("");
    ASSERT_TRUE(res.W);
    EXPECT_TRUE(res.W->allFinite());
    for (Index j : {0, 1, 2, 3, 17, 31}) EXPECT_EQ(res.W->col(j).norm(), 0.0) << "dead input " << j;
    const Reference ref = reference_sparsegpt(prob, p, 0.01);
    EXPECT_TRUE(res.mask == ref.mask) << p.str();
  }
}

TEST(SparseGpt, AllInputsDeadStillGivesAValidMask) {
  const LayerProblem prob = LayerProblem::from_gram(Weights::Ones(3, 8), SymMatrix::Zero(8, 8));
  const SolveResult res = run_solver("sparsegpt", Params(), prob, NMPattern{2, 4});
  EXPECT_TRUE(res.mask.satisfies(NMPattern{2, 4}));
  EXPECT_EQ(res.W->norm(), 0.0);
}

TEST(SparseGpt, UnstructuredModePrunesTheRequestedFractionPerBlock) {
  const LayerProblem prob = correlated(6, 40, 0.8, 9);
  const Params params = sgpt_params(16).set("sparsity", "0.5");
  const SolveResult res = run_solver("sparsegpt", params, prob, NMPattern{2, 4});
  ASSERT_TRUE(res.W);
  // blocks of 16, 16, 8 columns: exactly half of each block's 6 × width entries kept
  for (auto [c0, w] : {std::pair<Index, Index>{0, 16}, {16, 16}, {32, 8}})
    EXPECT_EQ(res.mask.bits().middleCols(c0, w).cast<int>().sum(), 6 * w / 2);
  EXPECT_EQ((res.W->array() != 0 && res.mask.bits().cast<bool>().array() == false).count(), 0);
  // The OBS compensation beats keeping W0 on the same mask.
  EXPECT_LT(prob.loss(*res.W), prob.loss(res.mask.apply(prob.W0)));
}

TEST(SparseGpt, OptionsAreValidatedStrictly) {
  const auto& reg = builtins().solvers;
  EXPECT_THROW(reg.make("sparsegpt", Params().set("blocksize", "0")), SpecError);
  EXPECT_THROW(reg.make("sparsegpt", Params().set("percdamp", "-0.1")), SpecError);
  EXPECT_THROW(reg.make("sparsegpt", Params().set("sparsity", "1")), SpecError);
  EXPECT_THROW(reg.make("sparsegpt", Params().set("blocksise", "64")), SpecError);
  const auto solver = reg.make("sparsegpt", Params().set("blocksize", "12"));
  EXPECT_THROW(solver->check_supported(NMPattern{4, 8}, 8, 32), SpecError);  // 12 % 8 != 0
  EXPECT_NO_THROW(solver->check_supported(NMPattern{2, 4}, 8, 32));
  try {
    solver->check_supported(NMPattern{4, 8}, 8, 32);
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("multiple of m = 8"), std::string::npos) << e.what();
  }
}

TEST(SparseGpt, WeightUpdatesAfterwardsOnlyImprove) {
  const LayerProblem prob = correlated(16, 64, 0.8, 4);
  const NMPattern p{2, 4};
  const SolveResult res = run_solver("sparsegpt", Params(), prob, p);
  const UpdatedErrors e = errors_after_updates(res, prob);
  EXPECT_LE(e.after_lstsq, e.before * (1 + kMonotoneTol));
  EXPECT_LE(e.after_gd, e.before * (1 + kMonotoneTol));
  EXPECT_LE(e.after_lstsq, e.after_gd * (1 + kMonotoneTol));
  // SparseGPT beats one-shot magnitude on correlated inputs.
  const SolveResult mag = run_solver("magnitude", Params(), prob, p);
  EXPECT_LT(e.before, prob.relative_error(mag.mask.apply(prob.W0)));
}

TEST(SparseGpt, TransposablePatternsGoThroughTheSelector) {
  for (const NMPattern p : {NMPattern{2, 4, true}, NMPattern{4, 8, true}}) {
    const LayerProblem prob = correlated(16, 32, 0.5, 1);
    const SolveResult res = run_solver("sparsegpt", sgpt_params(8), prob, p);
    EXPECT_TRUE(res.mask.satisfies(p)) << p.str() << ": " << res.mask.violation(p).value_or("");
    EXPECT_LE(prob.relative_error(solver_weights(res, prob)), 1.0) << p.str();
  }
}

}  // namespace
}  // namespace nmlab
