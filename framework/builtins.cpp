#include "framework/builtins.hpp"

namespace nmlab {
namespace {

Registries make_builtins() {
  Registries r;
  // -- solvers: one-shot scores
  register_magnitude(r.solvers);
  register_wanda(r.solvers);
  register_random(r.solvers);

  // -- solvers: proximal and exact
  register_prox(r.solvers);
  register_exhaustive(r.solvers);

  // -- solvers: layer-wise state of the art
  register_sparsegpt(r.solvers);
  register_alps(r.solvers);

  // -- solvers: transposable
  register_transposable(r.solvers);

  // -- regularizers
  register_nm_elementary(r.regularizers);
  register_l1(r.regularizers);
  register_regularizer_none(r.regularizers);

  // -- weight updates
  register_update_none(r.updates);
  register_masked_lstsq(r.updates);
  register_masked_gd(r.updates);

  // -- problems
  register_correlated_groups(r.problems);
  register_planted(r.problems);

  // -- problems: random weights
  register_random_weights(r.problems);

  // -- problems from files
  register_layer_file(r.problems);

  // -- tasks (trial types)
  register_layer_task(r.tasks);

  // -- tasks: kernels
  register_spmm_bench_task(r.tasks);

  // -- tasks: networks
  register_prune_mlp_task(r.tasks);
  return r;
}

}  // namespace

const Registries& builtins() {
  static const Registries registries = make_builtins();
  return registries;
}

}  // namespace nmlab
