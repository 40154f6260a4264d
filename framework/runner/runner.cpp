#include "framework/runner/runner.hpp"

#include <omp.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"
#include "framework/core/sha256.hpp"
#include "framework/core/timer.hpp"
#include "framework/io/results.hpp"

namespace nmlab {
namespace fs = std::filesystem;
namespace {

std::string describe(const TrialInputs& t) {
  std::string s;
  if (t.solver) s += t.solver->label;
  if (t.pattern) s += " " + t.pattern->str();
  for (const auto& [k, v] : t.axes)
    if (k != "seeds" && k.rfind("solver", 0) != 0 && k.rfind("pattern", 0) != 0) s += " " + k + "=" + v;
  s += " seed=" + std::to_string(t.seed);
  return s;
}

std::string hms(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const long s = long(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

/// Progress on stderr: a redrawn bar with ETA on a terminal, one plain line per trial otherwise.
class Progress {
 public:
  Progress(std::ostream& out, long total, bool quiet)
      : out_(out), total_(total), quiet_(quiet), tty_(&out == &std::cerr && isatty(STDERR_FILENO)) {}

  void trial_done(long done, const std::string& what, const TrialRecord& rec, double seconds) {
    if (quiet_) return;
    const double eta = done > 0 ? clock_.seconds() / double(done) * double(total_ - done) : NAN;
    std::ostringstream line;
    auto it = rec.scalars.find("rel_error");
    if (tty_) {
      constexpr int kWidth = 28;
      const int filled = int(kWidth * double(done) / double(std::max(total_, 1L)));
      line << "\r[" << std::string(size_t(filled), '#') << std::string(size_t(kWidth - filled), '.') << "] " << done
           << "/" << total_ << "  ETA " << hms(eta) << "  " << what.substr(0, 60) << "\033[K";
      out_ << line.str() << (done == total_ ? "\n" : "") << std::flush;
    } else {
      line << "[" << done << "/" << total_ << "] " << what;
      if (it != rec.scalars.end()) line << "  rel_error=" << std::setprecision(5) << it->second;
      auto term = rec.labels.find("termination");
      if (term != rec.labels.end() && term->second == "failed") {
        auto msg = rec.attributes.find("message");
        line << "  FAILED: " << (msg != rec.attributes.end() ? msg->second : "no message");
      }
      line << "  (" << std::fixed << std::setprecision(2) << seconds << " s, ETA " << hms(eta) << ")";
      out_ << line.str() << "\n" << std::flush;
    }
  }

 private:
  std::ostream& out_;
  long total_;
  bool quiet_, tty_;
  Stopwatch clock_;
};

std::string new_run_id() {
  std::string stamp = utc_now();  // 2026-11-22T08:30:12Z -> 20261122T083012Z
  std::string compact;
  for (char c : stamp)
    if (c != '-' && c != ':') compact += c;
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, "%04x", unsigned(mix64(std::uint64_t(getpid()) ^ std::uint64_t(time(nullptr))) & 0xffff));
  return compact + "-" + suffix;
}

}  // namespace

std::string trial_table(const Spec& spec) {
  std::ostringstream out;
  out << spec.trials.size() << " trials in experiment '" << spec.name << "'\n";
  out << std::left << std::setw(6) << "#" << std::setw(18) << "key" << "trial\n";
  for (const auto& t : spec.trials)
    out << std::left << std::setw(6) << t.index << std::setw(18) << t.key << describe(t) << "\n";
  return out.str();
}

RunOutcome run_spec(const Spec& spec, const RunOptions& opt, std::ostream& log) {
  validate_spec(spec);  // nothing runs unless every trial is valid
  if (opt.threads > 0) omp_set_num_threads(opt.threads);
  const int threads = omp_get_max_threads();
  Eigen::setNbThreads(threads);

  const fs::path dir = fs::path(opt.out_dir) / spec.name;
  const fs::path latest = dir / "latest.h5";
  const std::string spec_sha = sha256_hex(spec.resolved_yaml);
  RunOutcome outcome;

  std::unique_ptr<ResultsFile> file;
  std::set<std::string> done;
  if (opt.resume) {
    if (!fs::exists(latest))
      throw IoError("--resume: no earlier run at " + latest.string() + "; run without --resume to start one");
    file = std::make_unique<ResultsFile>(ResultsFile::open(fs::canonical(latest).string()));
    if (file->attribute("spec_sha256") != spec_sha)
      throw SpecError(spec.file, "--resume: the spec differs from the one that made " + file->path() +
                                     " (spec_sha256 mismatch); run without --resume to start a new run");
    done = file->finished_keys();
  } else {
    RunInfo info = collect_run_info();
    const std::string run_id = new_run_id();
    auto& a = info.attributes;
    a["experiment"] = spec.name;
    a["description"] = spec.description;
    a["run_id"] = run_id;
    a["spec_file"] = spec.file;
    a["spec_yaml"] = spec.resolved_yaml;
    a["spec_sha256"] = spec_sha;
    a["started_utc"] = utc_now();
    a["finished_utc"] = "";
    a["base_seed"] = std::to_string(spec.base_seed);
    a["threads"] = std::to_string(threads);
    a["report_baseline"] = spec.report.baseline;
    a["report_x"] = spec.report.x;
    a["trials_planned"] = std::to_string(spec.trials.size());
    const fs::path path = dir / (run_id + ".h5");
    file = std::make_unique<ResultsFile>(ResultsFile::create(path.string(), info));
    std::error_code ec;
    fs::remove(latest, ec);
    fs::create_symlink(path.filename(), latest, ec);  // latest.h5 -> <run_id>.h5
  }
  outcome.results_path = file->path();
  if (!opt.quiet) log << "nmlab: " << spec.trials.size() << " trials (" << done.size() << " already done) -> "
                      << outcome.results_path << "\n";

  Progress progress(log, long(spec.trials.size()), opt.quiet);
  const auto& reg = builtins();
  long finished = long(done.size());
  for (const auto& t : spec.trials) {
    if (done.count(t.key)) {
      ++outcome.skipped;
      continue;
    }
    Context ctx;
    ctx.rng = RngStream(std::uint64_t(spec.base_seed)).derive("seed:" + std::to_string(t.seed));
    ctx.threads = threads;
    ctx.backend = spec.backend;
    ctx.transposable_method = spec.transposable_method;
    Stopwatch clock;
    TrialRecord rec;
    try {
      rec = reg.tasks.make(t.task.name, t.task.params)->run(t, ctx);
    } catch (const std::exception& e) {
      // A trial that throws is recorded as failed with the reason; the sweep goes on.
      rec = TrialRecord{};
      rec.labels["termination"] = "failed";
      rec.attributes["message"] = e.what();
      rec.scalars["rel_error"] = std::nan("");
    }
    if (rec.labels["termination"] == "failed") ++outcome.failed;
    rec.scalars["time_trial_s"] = clock.seconds();
    file->append(t, rec, spec.save_masks);
    ++outcome.ran;
    progress.trial_done(++finished, describe(t), rec, clock.seconds());
  }
  file->set_attribute("finished_utc", utc_now());
  return outcome;
}

}  // namespace nmlab
