#pragma once
// MaskSolver: the interface every mask method implements (magnitude, wanda, sparsegpt, prox, ...).
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "framework/core/layer_problem.hpp"
#include "framework/core/mask.hpp"
#include "framework/core/nm_pattern.hpp"
#include "framework/core/rng.hpp"

namespace nmlab {

enum class Termination { not_run, converged, max_iters, failed };
std::string to_string(Termination t);

/// What a solver reports about its run (Ceres style). Fields start at "not run" sentinels.
struct SolverSummary {
  Termination termination = Termination::not_run;
  std::string message;  ///< why it stopped, in words
  long iterations = -1;
  double objective_initial = std::numeric_limits<double>::quiet_NaN();
  double objective_final = std::numeric_limits<double>::quiet_NaN();
  double time_setup_s = std::numeric_limits<double>::quiet_NaN();
  double time_solve_s = std::numeric_limits<double>::quiet_NaN();
  std::string backend_used;  ///< the backend that ran (the request is Context::backend)
  int threads_used = 0;
};

/// Per-trial execution context: backend request, the trial's RNG stream, threads, logging.
struct Context {
  RngStream rng{0};
  int threads = 1;
  std::string backend = "cpu";  ///< requested backend: cpu | cuda | auto
  /// Transposable patterns: which exact/heuristic solver turns scores into a transposable mask.
  std::string transposable_method = "tn_flow";
  std::function<void(const std::string&)> log = [](const std::string&) {};
};

struct SolveResult {
  Mask mask;
  /// Weights after the solver's own update (SparseGPT, ALPS, prox); empty means W0 ⊙ mask.
  std::optional<Weights> W;
  SolverSummary summary;
  /// Per-iteration traces (e.g. "lambda", "groups_not_nm", "objective"), stored as datasets of
  /// /trials/<id>/traces in HDF5.
  std::map<std::string, std::vector<double>> traces;
  /// Extra scalar metrics (e.g. "kept_score"), stored in /summary as columns.
  std::map<std::string, double> metrics;
};

class MaskSolver {
 public:
  virtual ~MaskSolver() = default;
  /// Computes a mask that satisfies `pattern` on `problem`.
  virtual SolveResult solve(const LayerProblem& problem, const NMPattern& pattern, Context& ctx) const = 0;
  /// Throws SpecError/Unsupported if this solver cannot handle the pattern or shape (called by
  /// `nmlab validate` before anything runs). Default: any pattern the shape admits.
  virtual void check_supported(const NMPattern& pattern, Index d_out, Index d_in) const {
    pattern.check_shape(d_out, d_in);
  }
  /// Flattened options, for HDF5 and legends.
  virtual std::map<std::string, std::string> options() const { return {}; }
};

/// Base for solvers with an options struct: stores it and flattens it.
template <class O>
class SolverWithOptions : public MaskSolver {
 public:
  using Options = O;
  explicit SolverWithOptions(O o) : opt_(std::move(o)) {}
  std::map<std::string, std::string> options() const override { return flatten_options(opt_); }
  const O& opts() const { return opt_; }

 protected:
  O opt_;
};

}  // namespace nmlab
