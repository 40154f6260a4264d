// none: R = 0, prox = identity. With it the proximal solver is plain gradient descent on L followed by
// the top-n projection at max_iters: a control for what the regularizer contributes.
#include "framework/builtins.hpp"
#include "framework/core/layer_problem.hpp"

namespace nmlab {
namespace {

class NoRegularizer final : public Regularizer {
 public:
  using Options = NoOptions;
  explicit NoRegularizer(Options) {}
  double value(const Weights&, const NMPattern&) const override { return 0.0; }
  void prox(Weights& Z, double, const NMPattern&) const override { check_finite(Z, "prox input Z"); }
};

}  // namespace

void register_regularizer_none(Registry<Regularizer>& r) {
  r.add<NoRegularizer>("none", "R = 0; prox = identity (plain projected gradient then top-n)");
}

}  // namespace nmlab
