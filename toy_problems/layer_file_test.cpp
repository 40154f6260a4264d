// layer_file: W0 and X (or H) from tensor files, checked against H = X Xᵀ / n computed here.
#include <gtest/gtest.h>

#include <H5Cpp.h>

#include <filesystem>
#include <limits>

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"
#include "framework/io/tensor_file.hpp"

namespace nmlab {
namespace {

namespace fs = std::filesystem;

constexpr double kGramTol = 1e-12;  // H from the file's X vs H computed here: same sums, float inputs

class LayerFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nmlab_layer_file_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    RngStream rng(11);
    W_ = rng.normal_matrix(d_out, d_in);
    X_ = rng.normal_matrix(n_tokens, d_in);  // tokens_first, as PyTorch activations are
    // Round to float so the file (F32) and our reference hold identical numbers.
    W_ = W_.cast<float>().cast<double>();
    X_ = X_.cast<float>().cast<double>();
    model_ = (dir_ / "model.safetensors").string();
    write_safetensors(model_, {named_matrix("layers.0.weight", W_), named_matrix("layers.0.inputs", X_),
                               named_matrix("layers.0.inputs_t", Weights(X_.transpose())),
                               named_matrix("layers.1.weight", W_.leftCols(4))});
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<ProblemGenerator> make(const Params& p) const { return builtins().problems.make("layer_file", p); }
  SymMatrix reference_gram() const { return X_.transpose() * X_ / double(n_tokens); }

  static constexpr Index d_out = 6, d_in = 8, n_tokens = 40;
  fs::path dir_;
  std::string model_;
  Weights W_, X_;
};

TEST_F(LayerFileTest, InputsTokensFirstGiveTheGramMatrix) {
  auto gen = make(Params().set("weights", model_).set("tensor", "layers.0.weight").set("inputs_tensor", "{layer}.inputs"));
  EXPECT_EQ(gen->shape(), (std::pair<Index, Index>{d_out, d_in}));
  RngStream rng(0);
  const LayerProblem p = gen->make(rng);
  EXPECT_EQ(p.W0, W_);
  EXPECT_LT((p.H - reference_gram()).cwiseAbs().maxCoeff(), kGramTol);
  EXPECT_EQ(p.name, "layers.0.weight");
}

TEST_F(LayerFileTest, FeaturesFirstInOutLayoutAndMaxTokens) {
  // An in_out weights file (Keras/JAX layout) as .npz, X as features_first.
  const std::string npz_src = (dir_ / "w_in_out.safetensors").string();
  write_safetensors(npz_src, {named_matrix("w", Weights(W_.transpose()))});
  auto gen = make(Params()
                      .set("weights", npz_src)
                      .set("weights_layout", "in_out")
                      .set("inputs", model_)
                      .set("inputs_tensor", "layers.0.inputs_t")
                      .set("inputs_layout", "features_first")
                      .set("max_tokens", "10"));
  RngStream rng(0);
  const LayerProblem p = gen->make(rng);
  EXPECT_EQ(p.W0, W_);
  const Weights X10 = X_.topRows(10);
  EXPECT_LT((p.H - SymMatrix(X10.transpose() * X10 / 10.0)).cwiseAbs().maxCoeff(), kGramTol);
}

TEST_F(LayerFileTest, GramFromHdf5AndDamping) {
  const std::string h5 = (dir_ / "gram.h5").string();
  const SymMatrix H = reference_gram();
  {
    H5::H5File f(h5, H5F_ACC_TRUNC);
    hsize_t dims[2] = {hsize_t(d_in), hsize_t(d_in)};
    f.createGroup("/calib").createDataSet("H", H5::PredType::IEEE_F64LE, H5::DataSpace(2, dims))
        .write(H.data(), H5::PredType::NATIVE_DOUBLE);  // symmetric: storage order does not matter
  }
  auto gen = make(Params().set("weights", model_).set("tensor", "layers.0.weight").set("gram", h5)
                      .set("gram_tensor", "calib/H").set("damping", "0.1"));
  RngStream rng(0);
  const LayerProblem p = gen->make(rng);
  SymMatrix want = H;
  want.diagonal().array() += 0.1 * H.diagonal().mean();
  EXPECT_LT((p.H - want).cwiseAbs().maxCoeff(), kGramTol);
}

TEST_F(LayerFileTest, ErrorsSayWhatToChange) {
  auto expect_msg = [](auto&& f, const std::string& part) {
    try {
      f();
      ADD_FAILURE() << "no error; expected '" << part << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_msg([&] { make(Params().set("tensor", "x").set("inputs_tensor", "x")); }, "needs `weights: FILE`");
  expect_msg([&] { make(Params().set("weights", model_).set("tensor", "layers.*.weight").set("inputs_tensor", "x")); },
             "is a glob");
  expect_msg([&] { make(Params().set("weights", model_).set("tensor", "layers.0.weight")); }, "exactly one of");
  expect_msg([&] { make(Params().set("weights", model_).set("inputs_tensor", "x")); }, "set `tensor:` to one of");
  expect_msg([&] { make(Params().set("weights", model_).set("tensor", "layers.0.weight").set("inputs_tensor", "layers.0.inputs_t"))->shape(); },
             "last dimension must be d_in");
  expect_msg([&] { make(Params().set("weights", model_).set("tensor", "layers.1.weight").set("inputs_tensor", "layers.0.inputs"))->shape(); },
             "W0 has d_in = 4");
  expect_msg([&] { make(Params().set("weights", model_).set("tensor", "nope").set("inputs_tensor", "x"))->shape(); },
             "no tensor 'nope'");
  expect_msg([&] { make(Params().set("weights", model_).set("tensor", "layers.0.weight").set("inputs_layout", "rows")); },
             "inputs_layout");

  // NaN in X: the problem refuses to build, naming the file, the tensor and the position.
  Weights Xbad = X_;
  Xbad(3, 2) = std::numeric_limits<double>::quiet_NaN();
  const std::string bad = (dir_ / "bad.safetensors").string();
  write_safetensors(bad, {named_matrix("w", W_), named_matrix("x", Xbad)});
  auto gen = make(Params().set("weights", bad).set("tensor", "w").set("inputs_tensor", "x"));
  RngStream rng(0);
  expect_msg([&] { gen->make(rng); }, "'x': non-finite value nan at [3, 2]");
}

TEST_F(LayerFileTest, LayerTaskRunsOnAFileLayer) {
  TrialInputs t;
  t.problem = Component{"layer_file", Params().set("weights", model_).set("tensor", "layers.0.weight")
                                          .set("inputs_tensor", "{layer}.inputs")};
  t.solver = SolverChoice{Component{"wanda", {}}, Component{"masked_lstsq", {}}, "wanda+masked_lstsq"};
  t.pattern = NMPattern{2, 4, false};
  const auto task = builtins().tasks.make("layer", {});
  task->validate(t);
  Context ctx;
  const TrialRecord rec = task->run(t, ctx);
  EXPECT_GT(rec.scalars.at("rel_error"), 0.0);
  EXPECT_LE(rec.scalars.at("rel_error"), rec.scalars.at("rel_error_before_update"));
  ASSERT_TRUE(rec.mask.has_value());
  EXPECT_TRUE(rec.mask->satisfies(*t.pattern));
}

}  // namespace
}  // namespace nmlab
