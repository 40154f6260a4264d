// Strict specs: sweep expansion, labels, overrides, and errors that point at file:line:column.
#include "framework/io/spec.hpp"

#include <gtest/gtest.h>

#include "framework/core/errors.hpp"
#include "framework/io/tensor_file.hpp"
#include "tests/test_util.hpp"

namespace nmlab {
namespace {

constexpr const char* kSpec = R"(name: demo
problem: {name: correlated_groups, d_out: 8, d_in: 16, rho: [0.0, 0.5]}
pattern: {n: 2, m: 4}
solver:
  - {name: magnitude}
  - {name: wanda, update: {name: masked_gd, steps: [5, 10]}}
seeds: [0, 1, 2]
)";

std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}, bool validate = false) {
  try {
    const Spec s = load_spec_text(text, "spec.yaml", sets);
    if (validate) validate_spec(s);
  } catch (const SpecError& e) {
    return e.what();
  }
  return "";
}

TEST(Spec, ListsAreSweepAxesAndTrialsAreTheirProduct) {
  const Spec s = load_spec_text(kSpec, "spec.yaml");
  // rho (2) × seeds (3) × [magnitude + wanda × steps (2)] = 2 · 3 · 3
  ASSERT_EQ(s.trials.size(), 18u);
  std::set<std::string> labels, keys;
  for (const auto& t : s.trials) {
    labels.insert(t.solver->label);
    keys.insert(t.key);
  }
  EXPECT_EQ(labels, (std::set<std::string>{"magnitude", "wanda+masked_gd[steps=5]", "wanda+masked_gd[steps=10]"}));
  EXPECT_EQ(keys.size(), 18u);
  // Solvers of one problem and seed run back to back; indices are positions.
  EXPECT_EQ(s.trials[0].problem->params.find("rho")->value, s.trials[1].problem->params.find("rho")->value);
  EXPECT_EQ(s.trials[0].seed, s.trials[1].seed);
  for (size_t i = 0; i < s.trials.size(); ++i) EXPECT_EQ(s.trials[i].index, long(i));
  EXPECT_NO_THROW(validate_spec(s));
}

TEST(Spec, KeysAreStableAndDependOnContent) {
  const Spec a = load_spec_text(kSpec, "a.yaml"), b = load_spec_text(kSpec, "b.yaml");
  for (size_t i = 0; i < a.trials.size(); ++i) EXPECT_EQ(a.trials[i].key, b.trials[i].key);
  const Spec c = load_spec_text(kSpec, "c.yaml", {"problem.d_out=12"});
  EXPECT_NE(a.trials[0].key, c.trials[0].key);
}

TEST(Spec, OverridesReplaceValuesAndCanAddSweeps) {
  const Spec s = load_spec_text(kSpec, "spec.yaml", {"seeds=7", "problem.rho=[0.1, 0.2, 0.3]"});
  EXPECT_EQ(s.trials.size(), 9u);
  EXPECT_EQ(s.trials[0].seed, 7);
  const Spec one = load_spec_text(kSpec, "spec.yaml", {"solver.1.update.steps=3"});
  EXPECT_EQ(one.trials.size(), 12u);
  EXPECT_NE(error_of(kSpec, {"solver.5.name=x"}).find("not an index"), std::string::npos);
  EXPECT_NE(error_of(kSpec, {"noequals"}).find("key.path=value"), std::string::npos);
}

TEST(Spec, UnknownTopLevelKeyPointsAtTheKey) {
  const std::string e = error_of("name: x\nproblme: {name: planted}\n");
  EXPECT_NE(e.find("spec.yaml:2:1"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key 'problme'"), std::string::npos) << e;
  EXPECT_NE(e.find("allowed:"), std::string::npos) << e;
}

TEST(Spec, UnknownSolverOptionPointsAtTheValue) {
  const std::string text =
      "name: x\nproblem: {name: correlated_groups}\npattern: {n: 2, m: 4}\nsolver:\n  - {name: magnitude, blocksize: 3}\n";
  const std::string e = error_of(text, {}, true);
  EXPECT_NE(e.find("spec.yaml:5:"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown option 'blocksize' for solver 'magnitude'"), std::string::npos) << e;
}

TEST(Spec, UnknownSolverNameListsKnownOnes) {
  const std::string e =
      error_of("name: x\nproblem: {name: correlated_groups}\npattern: {n: 2, m: 4}\nsolver: magnitud\n", {}, true);
  EXPECT_NE(e.find("unknown solver 'magnitud'; known:"), std::string::npos) << e;
  EXPECT_NE(e.find("magnitude"), std::string::npos) << e;
}

TEST(Spec, WrongTypeNamesKeyAndLocation) {
  const std::string e = error_of(
      "name: x\nproblem: {name: correlated_groups, d_in: sixteen}\npattern: {n: 2, m: 4}\nsolver: magnitude\n", {},
      true);
  EXPECT_NE(e.find("spec.yaml:2:42"), std::string::npos) << e;
  EXPECT_NE(e.find("problem 'correlated_groups'.d_in: expected an integer, got 'sixteen'"), std::string::npos) << e;
}

TEST(Spec, InvalidPatternAndIndivisibleShape) {
  std::string e = error_of("name: x\npattern: {n: 4, m: 4}\n");
  EXPECT_NE(e.find("spec.yaml:2:10"), std::string::npos) << e;
  EXPECT_NE(e.find("need 0 < n < m"), std::string::npos) << e;
  e = error_of("name: x\nproblem: {name: correlated_groups, d_in: 18}\npattern: {n: 2, m: 4}\nsolver: wanda\n", {}, true);
  EXPECT_NE(e.find("d_in = 18 is not divisible by m = 4"), std::string::npos) << e;
  EXPECT_NE(e.find("spec.yaml:4:"), std::string::npos) << e;
  e = error_of("name: x\npattern: {n: 2, m: 4, dense: true}\n");
  EXPECT_NE(e.find("unknown key 'dense' in pattern"), std::string::npos) << e;
}

TEST(Spec, SyntaxErrorsAndEmptyListsAreLocated) {
  std::string e = error_of("name: x\nproblem: {name: [\n");
  EXPECT_NE(e.find("spec.yaml:"), std::string::npos) << e;
  EXPECT_NE(e.find("YAML syntax error"), std::string::npos) << e;
  e = error_of("name: x\nseeds: []\n");
  EXPECT_NE(e.find("spec.yaml:2:8"), std::string::npos) << e;
  EXPECT_NE(e.find("empty list"), std::string::npos) << e;
  e = error_of("name: Bad Name\n");
  EXPECT_NE(e.find("must use only"), std::string::npos) << e;
  e = error_of("problem: {name: planted}\n");
  EXPECT_NE(e.find("needs a `name:`"), std::string::npos) << e;
}

TEST(Spec, UnknownTransposableMethodIsLocated) {
  const std::string e = error_of("name: x\ntransposable_method: tn_flows\n");
  EXPECT_NE(e.find("spec.yaml:2:22"), std::string::npos) << e;
}

TEST(Spec, OutOfRangeOptionSaysTheRule) {
  const std::string e = error_of(
      "name: x\nproblem: {name: correlated_groups, rho: 1.5}\npattern: {n: 2, m: 4}\nsolver: wanda\n", {}, true);
  EXPECT_NE(e.find("rho = 1.5 must be in [0, 1]"), std::string::npos) << e;
}

TEST(Spec, TensorGlobsBecomeASweepOverMatchingLayers) {
  testing::TempDir dir;
  const std::string model = dir.file("model.safetensors");
  std::vector<NamedTensor> tensors;
  for (const char* name : {"layers.10.weight", "layers.2.weight", "layers.2.bias", "head.weight"})
    tensors.push_back(named_matrix(name, Weights::Ones(4, 8)));
  write_safetensors(model, tensors);
  const std::string text = "name: x\nproblem: {name: layer_file, weights: " + model +
                           ", tensor: \"layers.*.weight\", gram: " + model + ", gram_tensor: head.weight}\n";
  const Spec s = load_spec_text(text, "spec.yaml");
  ASSERT_EQ(s.trials.size(), 2u);
  std::set<std::string> got;
  for (const auto& t : s.trials) got.insert(t.problem->params.find("tensor")->value);
  EXPECT_EQ(got, (std::set<std::string>{"layers.2.weight", "layers.10.weight"}));
  const std::string e = error_of("name: x\nproblem: {name: layer_file, weights: " + model + ", tensor: \"nope.*\"}\n");
  EXPECT_NE(e.find("spec.yaml:2:"), std::string::npos) << e;
}

TEST(Spec, ResolvedYamlRoundTrips) {
  const Spec s = load_spec_text(kSpec, "spec.yaml", {"seeds=[4, 5]"});
  const Spec again = load_spec_text(s.resolved_yaml, "resolved.yaml");
  ASSERT_EQ(s.trials.size(), again.trials.size());
  for (size_t i = 0; i < s.trials.size(); ++i) EXPECT_EQ(s.trials[i].key, again.trials[i].key);
}

}  // namespace
}  // namespace nmlab
