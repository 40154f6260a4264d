// l1: R(W) = Σ |W_ij|; prox = soft threshold sign(z)·max(|z| − τ, 0). Not N:M-aware: a baseline
// regularizer for the proximal solver (it shrinks all weights alike).
#include "framework/builtins.hpp"
#include "framework/core/layer_problem.hpp"

namespace nmlab {
namespace {

class L1 final : public Regularizer {
 public:
  using Options = NoOptions;
  explicit L1(Options) {}
  double value(const Weights& W, const NMPattern&) const override { return W.cwiseAbs().sum(); }
  void prox(Weights& Z, double tau, const NMPattern&) const override {
    NMLAB_ASSERT(tau >= 0, "prox step tau must be non-negative");
    check_finite(Z, "prox input Z");
    // Z ← sign(Z) ⊙ max(|Z| − τ, 0)
    Z = Z.cwiseSign().cwiseProduct((Z.cwiseAbs().array() - tau).max(0.0).matrix());
  }
};

}  // namespace

void register_l1(Registry<Regularizer>& r) {
  r.add<L1>("l1", "Σ|w_ij|; prox = soft threshold (not N:M-aware, a baseline)");
}

}  // namespace nmlab
