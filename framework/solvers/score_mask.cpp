#include "framework/solvers/score_mask.hpp"

#include "framework/core/errors.hpp"
#include "framework/core/group_select.hpp"
#include "framework/core/timer.hpp"

namespace nmlab {

Mask mask_from_scores(const Weights& scores, const NMPattern& p, Context& ctx) {
  if (!p.transposable) return topn_mask(scores, p);
  throw Unsupported("transposable pattern " + p.str() + " requested, but no transposable selector '" +
                    ctx.transposable_method + "' is built in yet");
}

SolveResult solve_by_scores(const Weights& scores, const NMPattern& p, Context& ctx, double setup_s) {
  Stopwatch clock;
  SolveResult res;
  res.mask = mask_from_scores(scores, p, ctx);
  res.summary.termination = Termination::converged;
  res.summary.message = "one-shot selection by score";
  res.summary.iterations = 0;
  res.summary.time_setup_s = setup_s;
  res.summary.time_solve_s = clock.seconds();
  res.summary.backend_requested = ctx.backend;
  res.summary.backend_used = "cpu";
  res.summary.threads_used = ctx.threads;
  return res;
}

}  // namespace nmlab
