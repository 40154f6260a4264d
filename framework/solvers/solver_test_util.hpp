#pragma once
// Test helpers shared by the solver tests: toy problems from the registry, a
// plain per-group top-n (the oracle for masks), and running a solver by name.
#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "framework/builtins.hpp"

namespace nmlab::solver_test {

/// correlated_groups (rho = feature correlation) with a fixed seed.
inline LayerProblem correlated(Index d_out, Index d_in, double rho, std::uint64_t seed) {
  const auto gen = builtins().problems.make(
      "correlated_groups",
      Params().set("d_out", std::to_string(d_out)).set("d_in", std::to_string(d_in)).set("rho", std::to_string(rho)));
  RngStream rng(seed);
  return gen->make(rng);
}

/// Indices of the n largest scores of a group, ties to the lower index (the documented rule).
inline std::vector<int> top_n(const std::vector<double>& s, int n) {
  std::vector<int> order(s.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return s[size_t(a)] > s[size_t(b)]; });
  order.resize(size_t(n));
  return order;
}

inline SolveResult run_solver(const std::string& name, const Params& params, const LayerProblem& prob,
                              const NMPattern& p) {
  Context ctx;
  return builtins().solvers.make(name, params)->solve(prob, p, ctx);
}

/// The same, arguments in problem-first order, options last (defaults when omitted).
inline SolveResult solve(const std::string& name, const LayerProblem& prob, const NMPattern& p, const Params& params = {}) {
  return run_solver(name, params, prob, p);
}

/// Weights the solver produced, restricted to its mask (what the layer task scores).
inline Weights solver_weights(const SolveResult& r, const LayerProblem& prob) {
  return r.W ? r.mask.apply(*r.W) : r.mask.apply(prob.W0);
}

/// Relative slack of "not worse" comparisons of losses.
constexpr double kMonotoneTol = 1e-12;

/// Relative error of a solver's weights, and after each update that keeps its mask (exact least
/// squares, and the paper's "+GD").
struct UpdatedErrors {
  double before, after_lstsq, after_gd;
};
inline UpdatedErrors errors_after_updates(const SolveResult& res, const LayerProblem& prob) {
  const Weights W = solver_weights(res, prob);
  const auto after = [&](const char* update) {
    return prob.relative_error(builtins().updates.make(update, Params())->apply(prob, res.mask, W));
  };
  return {prob.relative_error(W), after("masked_lstsq"), after("masked_gd")};
}

/// W0 with values from {−1, 0, 1} (many exact ties) and H with the given inputs dead (zero row and
/// column), otherwise a well-conditioned correlated Gram matrix.
inline LayerProblem ties_and_dead(Index d_out, Index d_in, const std::vector<Index>& dead, std::uint64_t seed) {
  RngStream rng(seed);
  Weights W0(d_out, d_in);
  for (Index i = 0; i < W0.size(); ++i) W0.data()[i] = double(rng.below(3)) - 1.0;
  Eigen::MatrixXd X = rng.normal_matrix(d_in, 3 * d_in);
  for (Index j : dead) X.row(j).setZero();
  SymMatrix H = X * X.transpose() / double(X.cols());
  return LayerProblem::from_gram(std::move(W0), std::move(H));
}

}  // namespace nmlab::solver_test
