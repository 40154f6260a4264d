// Tests of the core types: pattern validity, masks, metrics against hand-computed values, RNG streams,
// options parsing.
#include <gtest/gtest.h>

#include "framework/core/errors.hpp"
#include "framework/core/group_select.hpp"
#include "framework/core/layer_problem.hpp"
#include "framework/core/options.hpp"
#include "framework/core/rng.hpp"

namespace nmlab {
namespace {

constexpr double kF64Tol = 1e-12;

TEST(NMPattern, ValidatesNAndM) {
  EXPECT_NO_THROW((NMPattern{2, 4}.validate()));
  EXPECT_NO_THROW((NMPattern{1, 2}.validate()));
  EXPECT_THROW((NMPattern{4, 4}.validate()), SpecError);
  EXPECT_THROW((NMPattern{0, 4}.validate()), SpecError);
  EXPECT_THROW((NMPattern{5, 4}.validate()), SpecError);
  EXPECT_THROW((NMPattern{1, 1}.validate()), SpecError);
}

TEST(NMPattern, ShapeErrorsSayWhatToChange) {
  try {
    NMPattern{2, 4}.check_shape(8, 10, "spec.yaml:3:5");
    FAIL() << "expected SpecError";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("spec.yaml:3:5"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("multiple of 4"), std::string::npos);
  }
  EXPECT_THROW((NMPattern{2, 4, true}.check_shape(6, 8)), SpecError);
  EXPECT_NO_THROW((NMPattern{2, 4, true}.check_shape(8, 8)));
  EXPECT_EQ((NMPattern{8, 16, true}.str()), "8:16T");
}

TEST(Mask, ViolationFindsWrongGroupCounts) {
  Mask m(2, 8);
  for (Index r = 0; r < 2; ++r)
    for (Index c = 0; c < 8; c += 2) m.set(r, c, true);
  EXPECT_TRUE(m.satisfies(NMPattern{2, 4}));
  m.set(1, 5, true);  // row 1, group at column 4 now keeps 3
  auto v = m.violation(NMPattern{2, 4});
  ASSERT_TRUE(v.has_value());
  EXPECT_NE(v->find("row 1"), std::string::npos);
}

TEST(Mask, TransposableNeedsColumnCounts) {
  // 4x4 tile: rows keep columns {0,1},{0,1},{2,3},{2,3} -> column counts 2 each: transposable.
  Mask m(4, 4);
  for (int r = 0; r < 4; ++r) {
    int c0 = r < 2 ? 0 : 2;
    m.set(r, c0, true);
    m.set(r, c0 + 1, true);
  }
  EXPECT_TRUE(m.satisfies(NMPattern{2, 4, true}));
  // Move row 3 to {0,1}: rows still 2:4, column 0 now has 3.
  m.set(3, 2, false); m.set(3, 3, false); m.set(3, 0, true); m.set(3, 1, true);
  EXPECT_TRUE(m.satisfies(NMPattern{2, 4, false}));
  EXPECT_FALSE(m.satisfies(NMPattern{2, 4, true}));
}

TEST(Mask, PackRoundTripsAwkwardWidths) {
  RngStream rng(7);
  for (Index cols : {1, 7, 8, 9, 20}) {
    Mask m(3, cols);
    for (Index r = 0; r < 3; ++r)
      for (Index c = 0; c < cols; ++c) m.set(r, c, rng.uniform() < 0.5);
    EXPECT_EQ(Mask::unpack(m.pack(), 3, cols), m);
  }
}

TEST(TopN, KeepsLargestAndBreaksTiesToLowerIndex) {
  Weights S(1, 8);
  S << 1, 5, 3, 4, 2, 2, 2, 0;
  const Mask m = topn_mask(S, NMPattern{2, 4});
  EXPECT_EQ(m.bits().cast<int>(), (Eigen::RowVectorXi(8) << 0, 1, 0, 1, 1, 1, 0, 0).finished());
}

TEST(LayerProblem, RelativeErrorMatchesHandComputation) {
  // W0 = [1 2], H = [[2 1],[1 3]]:  tr(W0 H W0^T) = 2 + 2·2 + 3·4 = 18, L(0) = 9.
  Weights W0(1, 2);
  W0 << 1, 2;
  SymMatrix H(2, 2);
  H << 2, 1, 1, 3;
  const auto p = LayerProblem::from_gram(W0, H);
  EXPECT_NEAR(p.reference_loss(), 9.0, kF64Tol);
  // W = [1 0]: ΔW = [0 -2], ½ ΔW H ΔW^T = ½·12 = 6 → 6/9.
  Weights W(1, 2);
  W << 1, 0;
  EXPECT_NEAR(p.relative_error(W), 6.0 / 9.0, kF64Tol);
  EXPECT_NEAR(p.relative_error(W0), 0.0, kF64Tol);
  EXPECT_NEAR(p.relative_error(Weights::Zero(1, 2)), 1.0, kF64Tol);
}

TEST(LayerProblem, GramFromInputsAndDamping) {
  Eigen::MatrixXd X(2, 3);
  X << 1, 0, 2,
       0, 1, 1;
  Weights W0 = Weights::Ones(1, 2);
  const auto p = LayerProblem::from_inputs(W0, X);
  SymMatrix expect(2, 2);
  expect << 5.0 / 3, 2.0 / 3, 2.0 / 3, 2.0 / 3;
  EXPECT_TRUE(p.H.isApprox(expect, kF64Tol));
  const auto d = LayerProblem::from_inputs(W0, X, 0.5);  // + 0.5 · mean(diag) = 0.5 · 7/6
  EXPECT_NEAR(d.H(0, 0), 5.0 / 3 + 0.5 * 7.0 / 6, kF64Tol);
  EXPECT_NEAR(d.H(0, 1), 2.0 / 3, kF64Tol);
}

TEST(LayerProblem, RejectsBadShapesAndNonFinite) {
  Weights W0 = Weights::Ones(2, 4);
  EXPECT_THROW(LayerProblem::from_inputs(W0, Eigen::MatrixXd::Ones(3, 5)), TensorError);
  Eigen::MatrixXd X = Eigen::MatrixXd::Ones(4, 5);
  X(2, 3) = std::nan("");
  try {
    LayerProblem::from_inputs(W0, X);
    FAIL();
  } catch (const TensorError& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos);
  }
}

TEST(Rng, DerivedStreamsAreReproducibleAndDistinct) {
  RngStream a = RngStream(42).derive("problem"), b = RngStream(42).derive("problem");
  RngStream c = RngStream(42).derive("solver"), d = RngStream(43).derive("problem");
  const double va = a.normal();
  EXPECT_EQ(va, b.normal());
  EXPECT_NE(va, c.normal());
  EXPECT_NE(va, d.normal());
}

struct DemoOptions {
  double step = 0.5;
  int iters = 10;
  bool flag = false;
  std::string mode = "fast";
  template <class V> void visit(V& v) {
    v("step", step, "step size", rule::positive());
    v("iters", iters, "iterations", rule::at_least(1));
    v("flag", flag, "a flag");
    v("mode", mode, "mode", rule::one_of({"fast", "exact"}));
  }
};

TEST(Options, ParseDefaultsOverridesAndErrors) {
  Params p("spec.yaml:4:3");
  p.set("step", "0.25", "spec.yaml:5:9").set("mode", "exact", "spec.yaml:6:9");
  const auto o = parse_options<DemoOptions>(p, "solver 'demo'");
  EXPECT_EQ(o.step, 0.25);
  EXPECT_EQ(o.iters, 10);
  EXPECT_EQ(o.mode, "exact");

  auto expect_error = [](Params q, const std::string& fragment) {
    try {
      parse_options<DemoOptions>(q, "solver 'demo'");
      ADD_FAILURE() << "expected SpecError containing " << fragment;
    } catch (const SpecError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_error(Params().set("stpe", "1", "f.yaml:2:3"), "f.yaml:2:3: unknown option 'stpe'");
  expect_error(Params().set("step", "abc", "f.yaml:2:9"), "expected a finite number");
  expect_error(Params().set("step", "-1", "f.yaml:2:9"), "must be > 0");
  expect_error(Params().set("iters", "2.5", "f.yaml:2:9"), "expected an integer");
  expect_error(Params().set("flag", "yes", "f.yaml:2:9"), "true or false");
  expect_error(Params().set("mode", "slow", "f.yaml:2:9"), "one of: fast exact");

  const auto docs = describe_options<DemoOptions>();
  ASSERT_EQ(docs.size(), 4u);
  EXPECT_EQ(docs[0].name, "step");
  EXPECT_EQ(docs[0].default_value, "0.5");
  EXPECT_EQ(docs[1].type, "int");
}

}  // namespace
}  // namespace nmlab
