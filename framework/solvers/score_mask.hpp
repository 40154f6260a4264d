#pragma once
// From a score matrix to a mask under any pattern: top-n per group, or (transposable patterns) the
// transposable selector named by ctx.transposable_method. Score-based solvers (magnitude, wanda,
// random) are thin wrappers around this.
#include "framework/solvers/mask_solver.hpp"

namespace nmlab {

/// Mask maximising the kept score under `p`. Non-transposable: exact top-n per group.
Mask mask_from_scores(const Weights& scores, const NMPattern& p, Context& ctx);

/// A SolveResult for a one-shot scoring method: the mask, timing, backend and a converged status.
SolveResult solve_by_scores(const Weights& scores, const NMPattern& p, Context& ctx, double setup_s);

}  // namespace nmlab
