// Runner + HDF5 results: round trip, provenance, resume after partial runs, reproducibility.
#include "framework/runner/runner.hpp"

#include <gtest/gtest.h>
#include <H5Cpp.h>

#include <cmath>
#include <sstream>

#include "framework/core/errors.hpp"
#include "framework/io/results.hpp"
#include "framework/core/sha256.hpp"
#include "tests/test_util.hpp"

namespace nmlab {
namespace {

constexpr const char* kSpec = R"(name: tiny
problem: {name: correlated_groups, d_out: 8, d_in: 16, rho: [0.2, 0.9]}
pattern: {n: 2, m: 4}
solver: [magnitude, {name: wanda, update: masked_lstsq}, random]
seeds: [0, 1]
outputs: {save_masks: true}
)";

std::vector<double> read_doubles(H5::H5File& f, const std::string& name) {
  H5::DataSet ds = f.openDataSet(name);
  hsize_t n = 0;
  ds.getSpace().getSimpleExtentDims(&n);
  std::vector<double> v(n);
  ds.read(v.data(), H5::PredType::NATIVE_DOUBLE);
  return v;
}

std::vector<std::string> read_strings(H5::H5File& f, const std::string& name) {
  H5::DataSet ds = f.openDataSet(name);
  hsize_t n = 0;
  ds.getSpace().getSimpleExtentDims(&n);
  std::vector<char*> raw(n);
  H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
  ds.read(raw.data(), t);
  std::vector<std::string> out(raw.begin(), raw.end());
  H5::DataSet::vlenReclaim(raw.data(), t, ds.getSpace());
  return out;
}

RunOutcome run(const Spec& s, const testing::TempDir& dir, bool resume = false) {
  RunOptions o;
  o.out_dir = dir.path().string();
  o.quiet = true;
  o.resume = resume;
  std::ostringstream log;
  return run_spec(s, o, log);
}

TEST(Runner, WritesSummaryTrialsAndProvenance) {
  testing::TempDir dir;
  const Spec spec = load_spec_text(kSpec, "tiny.yaml");
  const RunOutcome r = run(spec, dir);
  EXPECT_EQ(r.ran, 12);
  EXPECT_EQ(r.failed, 0);
  H5::H5File f(r.results_path, H5F_ACC_RDONLY);
  const auto rel = read_doubles(f, "/summary/rel_error");
  const auto before = read_doubles(f, "/summary/rel_error_before_update");
  const auto solver = read_strings(f, "/summary/solver");
  const auto rho = read_strings(f, "/summary/problem.rho");
  ASSERT_EQ(rel.size(), 12u);
  for (size_t i = 0; i < rel.size(); ++i) {
    EXPECT_TRUE(rel[i] > 0 && rel[i] < 1) << i;
    if (solver[i] == "wanda+masked_lstsq") EXPECT_LT(rel[i], before[i]);
    else EXPECT_EQ(rel[i], before[i]);
    EXPECT_TRUE(rho[i] == "0.2" || rho[i] == "0.9");
  }
  for (const char* attr : {"schema_version", "spec_yaml", "spec_sha256", "git_commit", "compiler", "device",
                           "started_utc", "finished_utc", "run_id", "hostname"}) {
    ASSERT_TRUE(f.attrExists(attr)) << attr;
    H5::Attribute a = f.openAttribute(attr);
    std::string v;
    a.read(a.getStrType(), v);
    EXPECT_FALSE(v.empty()) << attr;
  }
  // The stored mask is a valid 2:4 mask.
  H5::DataSet m = f.openDataSet("/trials/000000/mask_packed");
  hsize_t dims[2];
  m.getSpace().getSimpleExtentDims(dims);
  std::vector<std::uint8_t> packed(dims[0] * dims[1]);
  m.read(packed.data(), H5::PredType::NATIVE_UINT8);
  EXPECT_TRUE(Mask::unpack(packed, 8, 16).satisfies(NMPattern{2, 4}));
}

TEST(Runner, SameSpecAndSeedGiveSameNumbers) {
  testing::TempDir a, b;
  const Spec spec = load_spec_text(kSpec, "tiny.yaml");
  H5::H5File fa(run(spec, a).results_path, H5F_ACC_RDONLY), fb(run(spec, b).results_path, H5F_ACC_RDONLY);
  EXPECT_EQ(read_doubles(fa, "/summary/rel_error"), read_doubles(fb, "/summary/rel_error"));
  const Spec other = load_spec_text(kSpec, "tiny.yaml", {"base_seed=5"});
  testing::TempDir c;
  H5::H5File fc(run(other, c).results_path, H5F_ACC_RDONLY);
  EXPECT_NE(read_doubles(fa, "/summary/rel_error"), read_doubles(fc, "/summary/rel_error"));
}

TEST(Runner, ResumeRunsOnlyMissingTrials) {
  testing::TempDir dir;
  const Spec spec = load_spec_text(kSpec, "tiny.yaml");
  // A partial run: create the file and append only the first 5 trials, as a killed run would leave it.
  const RunOutcome first = run(load_spec_text(kSpec, "tiny.yaml", {"seeds=0"}), dir);
  (void)first;
  std::filesystem::remove_all(dir.path() / "tiny");
  {
    RunInfo info = collect_run_info();
    info.attributes["spec_sha256"] = sha256_hex(spec.resolved_yaml);
    std::filesystem::create_directories(dir.path() / "tiny");
    const std::string path = (dir.path() / "tiny" / "partial.h5").string();
    ResultsFile f = ResultsFile::create(path, info);
    for (int i = 0; i < 5; ++i) {
      TrialRecord rec;
      rec.scalars["rel_error"] = 0.5;
      f.append(spec.trials[size_t(i)], rec, false);
    }
    std::filesystem::create_symlink("partial.h5", dir.path() / "tiny" / "latest.h5");
  }
  const RunOutcome r = run(spec, dir, /*resume=*/true);
  EXPECT_EQ(r.skipped, 5);
  EXPECT_EQ(r.ran, 7);
  ResultsFile f = ResultsFile::open(r.results_path);
  EXPECT_EQ(f.finished_keys().size(), 12u);
  // A different spec refuses to resume into this file.
  EXPECT_THROW(run(load_spec_text(kSpec, "tiny.yaml", {"problem.d_out=12"}), dir, true), SpecError);
}

TEST(Results, ColumnsAppearingLaterArePaddedForEarlierRows) {
  testing::TempDir dir;
  const Spec spec = load_spec_text(kSpec, "tiny.yaml");
  RunInfo info;
  info.attributes["schema_version"] = "1";
  ResultsFile f = ResultsFile::create(dir.file("r.h5"), info);
  TrialRecord a, b;
  a.scalars["rel_error"] = 0.25;
  b.scalars["rel_error"] = 0.5;
  b.scalars["kept_score"] = 3.0;
  b.labels["note"] = "second";
  b.traces["objective"] = {3, 2, 1};
  f.append(spec.trials[0], a, false);
  f.append(spec.trials[1], b, false);
  EXPECT_THROW(ResultsFile::create(dir.file("r.h5"), info), IoError);  // never overwrites
  H5::H5File h(dir.file("r.h5"), H5F_ACC_RDONLY);
  const auto kept = read_doubles(h, "/summary/kept_score");
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_TRUE(std::isnan(kept[0]));
  EXPECT_EQ(kept[1], 3.0);
  EXPECT_EQ(read_strings(h, "/summary/note"), (std::vector<std::string>{"", "second"}));
  EXPECT_EQ(read_doubles(h, "/trials/000001/traces/objective"), (std::vector<double>{3, 2, 1}));
}

TEST(Results, OpenRejectsForeignFiles) {
  testing::TempDir dir;
  EXPECT_THROW(ResultsFile::open(dir.file("missing.h5")), IoError);
  dir.write("junk.h5", "not hdf5 at all");
  EXPECT_THROW(ResultsFile::open(dir.file("junk.h5")), IoError);
}

}  // namespace
}  // namespace nmlab
