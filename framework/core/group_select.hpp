#pragma once
// Group-wise top-n selection: the N:M projection every score-based method ends with.
#include "framework/core/mask.hpp"
#include "framework/core/nm_pattern.hpp"

namespace nmlab {

/// Keep the n largest scores in each group of m along each row. Ties go to the lower column index,
/// so the result is deterministic. Ignores pattern.transposable (see solvers/score_mask.hpp).
Mask topn_mask(const Weights& scores, const NMPattern& p);

/// Z ← Z ⊙ topn_mask(|Z|): the Euclidean projection onto the (non-transposable) N:M set.
void project_topn(Weights& Z, const NMPattern& p);

}  // namespace nmlab
