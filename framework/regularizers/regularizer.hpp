#pragma once
// Regularizer R(W) = Σ_groups r(w_g) with a group-wise proximal operator.
#include <map>
#include <string>

#include "framework/core/nm_pattern.hpp"
#include "framework/core/options.hpp"
#include "framework/core/types.hpp"

namespace nmlab {

class Regularizer {
 public:
  virtual ~Regularizer() = default;
  /// R(W) summed over all groups of the pattern.
  virtual double value(const Weights& W, const NMPattern& p) const = 0;
  /// Z ← prox_{τR}(Z) = argmin_W ½‖W − Z‖² + τ R(W), group-wise, in place.
  virtual void prox(Weights& Z, double tau, const NMPattern& p) const = 0;
  virtual std::map<std::string, std::string> options() const { return {}; }
};

}  // namespace nmlab
