#pragma once
// Results file (HDF5), schema_version 1. One file per run:
//   /            attributes: schema_version, experiment, run_id, spec_yaml, spec_sha256, git_commit,
//                git_dirty, compiler, build_type, cuda_version, device, cpu, hostname, started_utc,
//                finished_utc, base_seed, nmlab_version, threads, report_baseline, report_x
//   /trials/<index>   one group per finished trial: attributes (key, solver, update, pattern, seed,
//                task, problem options, flattened solver/update options, termination, message,
//                backend_requested/used, trial_yaml), traces/<name> datasets, mask (bit-packed, opt.)
//   /summary     one row per finished trial, stored by column (1-D datasets of equal length):
//                trial (int64), key, solver, solver_name, update, pattern, task, problem, seed (int64),
//                problem.<option>/task.<option> (strings), every label (string) and every scalar
//                metric (float64: rel_error, rel_error_before_update, time_solve_s, ...). A column that
//                first appears at row k holds NaN / "" in rows < k.
// Crash safety: every append copies the file, writes the trial into the copy and renames it over the
// original (atomic on POSIX). A killed run therefore loses at most the trial in flight, and the file
// on disk is always complete and readable.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "framework/runner/task.hpp"

namespace nmlab {

constexpr int kSchemaVersion = 1;

struct RunInfo {
  std::map<std::string, std::string> attributes;  ///< provenance, written as root string attributes
};

class ResultsFile {
 public:
  /// Creates a new file (refuses to overwrite an existing one).
  static ResultsFile create(const std::string& path, const RunInfo& info);
  /// Opens an existing results file for appending (resume); throws IoError if it is not one.
  static ResultsFile open(const std::string& path);

  const std::string& path() const { return path_; }
  std::string attribute(const std::string& name) const;
  /// Keys of the trials already in the file.
  std::set<std::string> finished_keys() const;
  /// Adds one trial atomically (see crash safety above).
  void append(const TrialInputs& trial, const TrialRecord& record, bool save_mask);
  /// Sets a root string attribute atomically (e.g. finished_utc).
  void set_attribute(const std::string& name, const std::string& value);

 private:
  explicit ResultsFile(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

/// Provenance of this build and machine (git state of the source tree, compiler, CUDA, device).
RunInfo collect_run_info();
/// "2026-11-22T08:30:12Z"
std::string utc_now();

}  // namespace nmlab
