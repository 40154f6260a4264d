#pragma once
// WeightUpdate: given a fixed mask, choose the kept weights (none | masked_lstsq | masked_gd).
#include <map>
#include <string>

#include "framework/core/layer_problem.hpp"
#include "framework/core/mask.hpp"
#include "framework/core/options.hpp"

namespace nmlab {

class WeightUpdate {
 public:
  virtual ~WeightUpdate() = default;
  /// Returns weights supported on `mask`, starting from `W_start` (already masked).
  virtual Weights apply(const LayerProblem& problem, const Mask& mask, const Weights& W_start) const = 0;
  virtual std::map<std::string, std::string> options() const { return {}; }
};

}  // namespace nmlab
