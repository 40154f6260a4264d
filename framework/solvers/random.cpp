// random: a uniformly random N:M mask, the random-pruning baseline. Each group keeps a uniformly
// random n-subset of its m entries (iid scores, top-n). For transposable patterns the iid random
// scores go through the transposable selector, which gives a random valid mask (not uniform).
#include "framework/builtins.hpp"
#include "framework/core/timer.hpp"
#include "framework/solvers/score_mask.hpp"

namespace nmlab {
namespace {

class RandomSolver final : public SolverWithOptions<NoOptions> {
 public:
  using SolverWithOptions::SolverWithOptions;
  SolveResult solve(const LayerProblem& prob, const NMPattern& p, Context& ctx) const override {
    Stopwatch clock;
    RngStream rng = ctx.rng.derive("random_mask");
    Weights scores(prob.d_out(), prob.d_in());
    for (Index r = 0; r < scores.rows(); ++r)
      for (Index c = 0; c < scores.cols(); ++c) scores(r, c) = rng.uniform();
    return solve_by_scores(scores, p, ctx, clock.seconds());
  }
};

}  // namespace

void register_random(Registry<MaskSolver>& r) {
  r.add<RandomSolver>("random", "uniformly random n-of-m subset per group (seeded; the random baseline)");
}

}  // namespace nmlab
