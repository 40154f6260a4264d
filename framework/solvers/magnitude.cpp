// magnitude: keep the n largest |W_ij| in each group (locuslab/wanda prune_magnitude).
#include "framework/builtins.hpp"
#include "framework/core/timer.hpp"
#include "framework/solvers/score_mask.hpp"

namespace nmlab {
namespace {

class MagnitudeSolver final : public SolverWithOptions<NoOptions> {
 public:
  using SolverWithOptions::SolverWithOptions;
  SolveResult solve(const LayerProblem& prob, const NMPattern& p, Context& ctx) const override {
    Stopwatch clock;
    const Weights scores = prob.W0.cwiseAbs();  // S_ij = |W_ij|
    return solve_by_scores(scores, p, ctx, clock.seconds());
  }
};

}  // namespace

void register_magnitude(Registry<MaskSolver>& r) {
  r.add<MagnitudeSolver>("magnitude", "keep the n largest |w| per group (no calibration data used)");
}

}  // namespace nmlab
