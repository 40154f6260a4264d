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
  /// One proximal-gradient step in place: W ← prox_{τR}(W − η G). This default runs the gradient
  /// step (rows in parallel), then prox(); a regularizer with a row-local prox fuses the two into
  /// one pass over memory (nm_elementary does).
  virtual void prox_step(Weights& W, const Weights& G, double eta, double tau, const NMPattern& p) const {
#pragma omp parallel for schedule(static) if (W.size() >= (Index(1) << 15))
    for (Index r = 0; r < W.rows(); ++r) W.row(r) -= eta * G.row(r);
    prox(W, tau, p);
  }
  virtual std::map<std::string, std::string> options() const { return {}; }
};

}  // namespace nmlab
