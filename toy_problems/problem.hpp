#pragma once
// ProblemGenerator: builds LayerProblems by name from options (toy generators and layer files).
#include <string>
#include <vector>

#include "framework/core/layer_problem.hpp"
#include "framework/core/options.hpp"
#include "framework/core/rng.hpp"

namespace nmlab {

class ProblemGenerator {
 public:
  virtual ~ProblemGenerator() = default;
  /// (d_out, d_in) before generating, so a spec can be validated without building H.
  virtual std::pair<Index, Index> shape() const = 0;
  /// Builds the problem; `rng` is the trial's "problem" stream (seeded from base seed + seed).
  virtual LayerProblem make(RngStream& rng) const = 0;
  virtual std::map<std::string, std::string> options() const { return {}; }
};

}  // namespace nmlab
