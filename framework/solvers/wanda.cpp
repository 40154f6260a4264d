// wanda: score S_ij = |W_ij| · sqrt(H_jj) (Sun et al. 2023; H_jj = mean over tokens of x_j²).
#include "framework/builtins.hpp"
#include "framework/core/timer.hpp"
#include "framework/solvers/score_mask.hpp"

namespace nmlab {
namespace {

class WandaSolver final : public SolverWithOptions<NoOptions> {
 public:
  using SolverWithOptions::SolverWithOptions;
  SolveResult solve(const LayerProblem& prob, const NMPattern& p, Context& ctx) const override {
    Stopwatch clock;
    // S = |W0| · diag(sqrt(H_jj)), column scaling
    const Vector col_norm = prob.H.diagonal().cwiseMax(0.0).cwiseSqrt();
    const Weights scores = prob.W0.cwiseAbs() * col_norm.asDiagonal();
    return solve_by_scores(scores, p, ctx, clock.seconds());
  }
};

}  // namespace

void register_wanda(Registry<MaskSolver>& r) {
  r.add<WandaSolver>("wanda", "keep the n largest |w_ij|·sqrt(H_jj) per group (Sun et al. 2023)");
}

}  // namespace nmlab
