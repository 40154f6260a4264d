// nmlab command line: run | validate | list | describe | report.
#include <boost/program_options.hpp>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>

#include "framework/builtins.hpp"
#include "framework/runner/describe.hpp"
#include "framework/core/errors.hpp"
#include "framework/io/spec.hpp"
#include "framework/runner/runner.hpp"

#ifndef NMLAB_SOURCE_DIR
#define NMLAB_SOURCE_DIR "."
#endif

namespace po = boost::program_options;
using namespace nmlab;

namespace {

constexpr const char* kUsage = R"(nmlab — N:M sparsity lab

usage:
  nmlab run SPEC.yaml [--out DIR] [--set key=value ...] [--threads N] [--resume] [--dry-run] [--quiet]
  nmlab validate SPEC.yaml [--set key=value ...]
  nmlab list [solvers|updates|regularizers|problems|tasks]
  nmlab describe solver|update|regularizer|problem|task NAME
  nmlab describe --markdown            (the option reference of docs/SPEC.md)
  nmlab report RUN.h5 [--baseline SOLVER] [--x COLUMN]
  nmlab bench [SPEC.yaml] [run options]  (a kernel-benchmark spec; default experiments/bench_spmm.yaml)

Specs: docs/SPEC.md. Results: <out>/<name>/<run_id>.h5, with <out>/<name>/latest.h5 pointing at the newest.
)";

int cmd_run(const std::vector<std::string>& args, bool validate_only) {
  po::options_description desc("run options");
  std::string spec_path, out = "results";
  std::vector<std::string> sets;
  int threads = 0;
  desc.add_options()("spec", po::value(&spec_path)->required(), "spec file")(
      "out", po::value(&out), "output directory (default results)")(
      "set", po::value(&sets)->composing(), "override key.path=value")("threads", po::value(&threads), "threads")(
      "resume", "skip trials already in <out>/<name>/latest.h5")("dry-run", "print the trial table and stop")(
      "quiet", "no progress output");
  po::positional_options_description pos;
  pos.add("spec", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
  po::notify(vm);
  if (threads < 0) throw SpecError("--threads", "must be >= 0 (0 = all cores)");

  const Spec spec = load_spec(spec_path, sets);
  if (validate_only) {
    validate_spec(spec);
    std::cout << spec_path << ": valid, " << spec.trials.size() << " trials\n";
    return 0;
  }
  if (vm.count("dry-run")) {
    validate_spec(spec);
    std::cout << trial_table(spec);
    return 0;
  }
  RunOptions opt;
  opt.out_dir = out;
  opt.threads = threads;
  opt.resume = vm.count("resume") > 0;
  opt.quiet = vm.count("quiet") > 0;
  const RunOutcome r = run_spec(spec, opt, std::cerr);
  std::cout << "results: " << r.results_path << "  (" << r.ran << " ran, " << r.skipped << " skipped, " << r.failed
            << " failed)\n";
  return r.failed > 0 ? 1 : 0;
}

int cmd_list(const std::vector<std::string>& args) {
  const std::set<std::string> kinds = {"solvers", "updates", "regularizers", "problems", "tasks"};
  if (!args.empty() && !kinds.count(args[0]))
    throw SpecError("", "nmlab list: unknown kind '" + args[0] + "'; use solvers, updates, regularizers, problems or tasks");
  std::cout << list_components(args.empty() ? "" : args[0]);
  return 0;
}

int cmd_describe(const std::vector<std::string>& args) {
  if (args.size() == 1 && args[0] == "--markdown") {
    std::cout << options_reference_markdown();
    return 0;
  }
  if (args.size() != 2) throw SpecError("", "usage: nmlab describe solver|update|regularizer|problem|task NAME");
  std::cout << describe_component(args[0], args[1]);
  return 0;
}

int cmd_report(const std::vector<std::string>& args) {
  if (args.empty()) throw SpecError("", "usage: nmlab report RUN.h5 [--baseline SOLVER] [--x COLUMN]");
  const char* dir = std::getenv("NMLAB_PLOTTING_DIR");
  const char* py = std::getenv("NMLAB_PYTHON");
  const std::string script = std::string(dir ? dir : NMLAB_SOURCE_DIR "/plotting") + "/report.py";
  if (!std::filesystem::exists(script))
    throw IoError("report script not found at " + script + ": set NMLAB_PLOTTING_DIR to nmlab's plotting/ folder");
  std::string cmd = std::string(py ? py : "/usr/bin/python3") + " '" + script + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  const int rc = std::system(cmd.c_str());
  return rc == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  try {
    if (cmd == "run") return cmd_run(args, false);
    if (cmd == "validate") return cmd_run(args, true);
    if (cmd == "list") return cmd_list(args);
    if (cmd == "describe") return cmd_describe(args);
    if (cmd == "report") return cmd_report(args);
    if (cmd == "bench") {  // an ordinary run of a benchmark spec: timings land in HDF5 like any result
      if (args.empty() || args[0].rfind("--", 0) == 0)
        args.insert(args.begin(), std::string(NMLAB_SOURCE_DIR) + "/experiments/bench_spmm.yaml");
      return cmd_run(args, false);
    }
    std::cerr << "nmlab: error: unknown command '" << cmd << "'\n" << kUsage;
    return 2;
  } catch (const po::error& e) {
    std::cerr << "nmlab: error: " << e.what() << " (see nmlab --help)\n";
    return 2;
  } catch (const Error& e) {
    std::cerr << "nmlab: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "nmlab: internal error: " << e.what() << "\n";
    return 3;
  }
}
