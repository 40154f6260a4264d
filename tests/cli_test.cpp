// End to end: the nmlab binary on tiny specs — run, HDF5 content, one-line errors, kill -9 + resume,
// validate, dry-run, list/describe.
#include <gtest/gtest.h>
#include <H5Cpp.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include "framework/io/results.hpp"
#include "tests/test_util.hpp"

namespace nmlab {
namespace {

using testing::run_command;
using testing::TempDir;

const std::string kBin = NMLAB_BINARY;

constexpr const char* kTinySpec = R"(name: e2e
problem: {name: planted, d_out: 8, d_in: 16, noise: 0.0}
pattern: {n: 2, m: 4}
solver: [magnitude, {name: magnitude, update: masked_lstsq}, wanda]
seeds: [0, 1]
)";

TEST(Cli, RunWritesResultsThatMatchTheSpec) {
  TempDir dir;
  const std::string spec = dir.write("e2e.yaml", kTinySpec);
  const auto r = run_command(kBin + " run " + spec + " --out " + dir.file("out") + " --quiet");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("6 ran, 0 skipped, 0 failed"), std::string::npos) << r.output;
  ResultsFile f = ResultsFile::open(dir.file("out/e2e/latest.h5"));
  EXPECT_EQ(f.finished_keys().size(), 6u);
  EXPECT_EQ(f.attribute("experiment"), "e2e");
  EXPECT_NE(f.attribute("spec_yaml").find("planted"), std::string::npos);
  // Planted noiseless 2:4 weights: magnitude finds the true support, so the exact update recovers W0.
  H5::H5File h(f.path(), H5F_ACC_RDONLY);
  H5::DataSet rel = h.openDataSet("/summary/rel_error");
  std::vector<double> v(6);
  rel.read(v.data(), H5::PredType::NATIVE_DOUBLE);
  for (double x : v) EXPECT_LT(x, 1e-9);
}

TEST(Cli, UserErrorsAreOneLineWithLocation) {
  TempDir dir;
  const std::string spec = dir.write("bad.yaml", "name: bad\nproblem: {name: planted, d_in: 18}\npattern: {n: 2, m: 4}\nsolver: magnitude\n");
  auto r = run_command(kBin + " run " + spec + " --out " + dir.file("out"));
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_NE(r.output.find("nmlab: error: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("bad.yaml:"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir.file("out/bad"))) << "nothing may be written for an invalid spec";
  r = run_command(kBin + " validate " + spec);
  EXPECT_EQ(r.status, 2);
  r = run_command(kBin + " run " + dir.file("missing.yaml"));
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("cannot read spec file"), std::string::npos) << r.output;
}

TEST(Cli, ValidateDryRunListDescribe) {
  TempDir dir;
  const std::string spec = dir.write("e2e.yaml", kTinySpec);
  auto r = run_command(kBin + " validate " + spec);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("valid, 6 trials"), std::string::npos);
  r = run_command(kBin + " run " + spec + " --dry-run --set seeds=[0,1,2]");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("9 trials"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("magnitude+masked_lstsq 2:4"), std::string::npos) << r.output;
  r = run_command(kBin + " list solvers");
  EXPECT_NE(r.output.find("wanda"), std::string::npos);
  r = run_command(kBin + " describe update masked_gd");
  EXPECT_NE(r.output.find("steps"), std::string::npos);
  r = run_command(kBin + " describe solver nope");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("known:"), std::string::npos);
}

TEST(Cli, KilledRunLeavesReadableFileAndResumeFinishes) {
  TempDir dir;
  // Enough trials that the run is still going when it is killed.
  const std::string spec = dir.write("slow.yaml", R"(name: slow
problem: {name: correlated_groups, d_out: 128, d_in: 192}
pattern: {n: 2, m: 4}
solver: {name: wanda, update: {name: masked_gd, steps: 20}}
seeds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]
)");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl(kBin.c_str(), kBin.c_str(), "run", spec.c_str(), "--out", dir.file("out").c_str(), "--quiet", "--threads", "1",
          (char*)nullptr);
    _exit(127);
  }
  // Wait until some trials are on disk, then kill -9 mid-run.
  const std::string latest = dir.file("out/slow/latest.h5");
  size_t seen = 0;
  for (int i = 0; i < 600 && seen < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (std::filesystem::exists(latest)) {
      try { seen = ResultsFile::open(latest).finished_keys().size(); } catch (...) {}
    }
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before it could be killed; make the spec slower";
  const size_t after_kill = ResultsFile::open(latest).finished_keys().size();  // readable, complete trials only
  EXPECT_GE(after_kill, 2u);
  EXPECT_LT(after_kill, 20u);
  const auto r = run_command(kBin + " run " + spec + " --out " + dir.file("out") + " --resume --quiet");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(std::to_string(after_kill) + " skipped"), std::string::npos) << r.output;
  EXPECT_EQ(ResultsFile::open(latest).finished_keys().size(), 20u);
}

}  // namespace
}  // namespace nmlab
