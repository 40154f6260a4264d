#pragma once
// The one registry of nmlab: solvers, regularizers, weight updates and problems, registered
// explicitly by name. `nmlab list` and `nmlab describe` read it; specs look names up in it.
#include "framework/core/registry.hpp"
#include "framework/regularizers/regularizer.hpp"
#include "framework/runner/task.hpp"
#include "framework/solvers/mask_solver.hpp"
#include "framework/updates/weight_update.hpp"
#include "toy_problems/problem.hpp"

namespace nmlab {

struct Registries {
  Registry<MaskSolver> solvers{"solver"};
  Registry<Regularizer> regularizers{"regularizer"};
  Registry<WeightUpdate> updates{"update"};
  Registry<ProblemGenerator> problems{"problem"};
  Registry<Task> tasks{"task"};
};

/// The built-in registries, filled on first use (thread-safe).
const Registries& builtins();

// ---- registration functions, one per component (defined next to each component) ------------------
// solvers (framework/solvers)
void register_magnitude(Registry<MaskSolver>&);
void register_wanda(Registry<MaskSolver>&);
void register_random(Registry<MaskSolver>&);
void register_prox(Registry<MaskSolver>&);
void register_exhaustive(Registry<MaskSolver>&);
// solvers: layer-wise state of the art (framework/solvers/sparsegpt.cpp, alps.cpp)
void register_sparsegpt(Registry<MaskSolver>&);
void register_alps(Registry<MaskSolver>&);
// transposable solvers (framework/solvers/transposable_solvers.cpp): tn_flow, tn_exact4, tsenor, ...
void register_transposable(Registry<MaskSolver>&);

// regularizers (framework/regularizers)
void register_nm_elementary(Registry<Regularizer>&);
void register_l1(Registry<Regularizer>&);
void register_regularizer_none(Registry<Regularizer>&);

// updates (framework/updates)
void register_update_none(Registry<WeightUpdate>&);
void register_masked_lstsq(Registry<WeightUpdate>&);
void register_masked_gd(Registry<WeightUpdate>&);

// tasks (framework/runner and elsewhere)
void register_layer_task(Registry<Task>&);
void register_spmm_bench_task(Registry<Task>&);
void register_prune_mlp_task(Registry<Task>&);  // framework/network

// problems (toy_problems)
void register_correlated_groups(Registry<ProblemGenerator>&);
void register_planted(Registry<ProblemGenerator>&);
void register_layer_file(Registry<ProblemGenerator>&);
void register_random_weights(Registry<ProblemGenerator>&);

}  // namespace nmlab
