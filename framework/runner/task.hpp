#pragma once
// Task: what one trial does. The runner expands a spec into trials and hands each to the spec's task
// (top-level key `task`, default `layer`). Built-in: `layer` (problem -> solver -> update -> metrics).
// Other trial types (network pruning, kernel benchmarks) are further tasks in the same registry, so
// every experiment uses the one runner and the one results format.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "framework/core/errors.hpp"
#include "framework/core/nm_pattern.hpp"
#include "framework/core/options.hpp"
#include "framework/solvers/mask_solver.hpp"

namespace nmlab {

/// A named component with its options, as written in the spec ({name: wanda, ...}).
struct Component {
  std::string name;
  Params params;
};

/// A solver as a trial uses it: the mask solver, the weight update after it, and the label used in
/// tables and legends ("wanda", "wanda+masked_gd", "prox[lambda_growth=1.05]+masked_gd").
struct SolverChoice {
  Component solver;
  Component update{"none", {}};
  std::string label;
};

/// Everything that defines one trial after sweep expansion (all scalars).
struct TrialInputs {
  long index = 0;                     ///< position in the expanded sweep (stable for a spec)
  std::string key;                    ///< stable identity for resume: hash of the resolved trial text
  std::string resolved_yaml;          ///< the trial's fully scalar spec text
  Component task;                     ///< task options
  std::optional<Component> problem;   ///< `problem:` block, if the spec has one
  std::optional<SolverChoice> solver; ///< `solver:` entry, if the spec has one
  std::optional<NMPattern> pattern;   ///< `pattern:` (a solver entry may override it)
  long seed = 0;
  std::map<std::string, std::string> axes;  ///< swept values of this trial: "problem.rho" -> "0.8"

  /// The trial's pattern, or a SpecError saying that `task` needs one.
  const NMPattern& require_pattern(const std::string& task) const {
    if (!pattern) throw SpecError("", "the " + task + " task needs a `pattern:` (for example pattern: {n: 2, m: 4})");
    return *pattern;
  }
  /// The trial's solver entry, or a SpecError saying that `task` needs one.
  const SolverChoice& require_solver(const std::string& task) const {
    if (!solver) throw SpecError("", "the " + task + " task needs a `solver:` entry (see `nmlab list solvers`)");
    return *solver;
  }
};

/// Outcome of one trial, written to HDF5 by the runner.
struct TrialRecord {
  std::map<std::string, double> scalars;              ///< numeric /summary columns (rel_error, time_solve_s, ...)
  std::map<std::string, std::string> labels;          ///< string /summary columns (solver, termination, ...)
  std::map<std::string, std::vector<double>> traces;  ///< /trials/<id>/traces/<name>
  std::map<std::string, std::string> attributes;      ///< /trials/<id> attributes (flattened options, message)
  std::optional<Mask> mask;                           ///< stored bit-packed when outputs.save_masks
};

class Task {
 public:
  virtual ~Task() = default;
  /// Checks a trial without running it (shapes, solver support); throws SpecError/Unsupported.
  virtual void validate(const TrialInputs& trial) const = 0;
  virtual TrialRecord run(const TrialInputs& trial, Context& ctx) const = 0;
};

}  // namespace nmlab
