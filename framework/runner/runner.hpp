#pragma once
// The one runner: a Spec's trials -> tasks -> one HDF5 results file per run.
#include <iosfwd>
#include <string>

#include "framework/io/spec.hpp"

namespace nmlab {

struct RunOptions {
  std::string out_dir = "results";  ///< results go to <out_dir>/<spec name>/<run_id>.h5 (+ latest.h5 link)
  int threads = 0;                  ///< OpenMP/Eigen threads; 0 = all cores
  bool resume = false;              ///< continue <out_dir>/<name>/latest.h5, skipping finished trials
  bool quiet = false;               ///< no progress output
};

struct RunOutcome {
  std::string results_path;
  long ran = 0, skipped = 0, failed = 0;
};

/// Runs every trial not yet in the results file. Progress goes to `log` (a bar with ETA when it is a
/// terminal, one line per trial otherwise). Validates the whole spec before running anything.
RunOutcome run_spec(const Spec& spec, const RunOptions& options, std::ostream& log);

/// The trial table printed by `nmlab run --dry-run`.
std::string trial_table(const Spec& spec);

}  // namespace nmlab
