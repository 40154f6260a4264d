#include "framework/solvers/score_mask.hpp"

#include <omp.h>

#include "framework/core/errors.hpp"
#include "framework/core/group_select.hpp"
#include "framework/core/timer.hpp"
#include "framework/solvers/transposable.hpp"

namespace nmlab {

Mask mask_from_scores(const Weights& scores, const NMPattern& p, Context& ctx) {
  if (!p.transposable) return topn_mask(scores, p);
  return transposable_mask(ctx.transposable_method, scores, p, ctx);
}

SolveResult solve_by_scores(const Weights& scores, const NMPattern& p, Context& ctx, double setup_s) {
  Stopwatch clock;
  SolveResult res;
  TileReport report;
  res.mask = p.transposable ? transposable_mask(ctx.transposable_method, scores, p, ctx, &report)
                            : topn_mask(scores, p);
  res.summary.time_solve_s = clock.seconds();
  if (p.transposable) {
    // Kept-score gap to the exact optimum (tn_flow on the same scores; free when tn_flow ran).
    const double optimum = ctx.transposable_method == "tn_flow" ? kept_score(scores, res.mask) : -1.0;
    res.metrics = transposable_metrics(scores, p, res.mask, report, optimum);
  }
  res.summary.termination = Termination::converged;
  res.summary.message = p.transposable ? "one-shot selection by score, transposable via " + ctx.transposable_method
                                       : "one-shot selection by score";
  res.summary.iterations = 0;
  res.summary.time_setup_s = setup_s;
  res.summary.backend_used = "cpu";
  res.summary.threads_used = omp_get_max_threads();
  return res;
}

}  // namespace nmlab
