// The MLP (gradients, determinism, IDX reading) and the prune_mlp task (sequential pruning).
#include "framework/network/mlp.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"

namespace nmlab {
namespace {

namespace fs = std::filesystem;

constexpr double kFiniteDiffStep = 1e-6;
constexpr double kGradTol = 1e-6;          // central differences in double, O(h²) + roundoff
constexpr double kSequentialTol = 1e-9;    // rel_error recomputed here vs the task's (same doubles)
constexpr double kFloatInputsTol = 1e-6;  // H from float32-stored activations vs double
constexpr double kLearnedAccuracy = 0.95;  // a separable toy set must be learned
constexpr double kFashionSmallAccuracy = 0.70;  // 1 epoch on 3000 images, hidden 32 (dense reaches ~0.8)

fs::path temp_dir(const std::string& tag) {
  fs::path d = fs::temp_directory_path() / ("nmlab_mlp_" + std::to_string(::getpid()) + "_" + tag);
  fs::create_directories(d);
  return d;
}

void write_gz(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  gzwrite(f, bytes.data(), unsigned(bytes.size()));
  gzclose(f);
}
void put_be32(std::vector<std::uint8_t>& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(std::uint8_t(v >> s));
}

TEST(Mlp, GradientMatchesFiniteDifferences) {
  RngStream rng(3);
  MlpT<double> net;
  const std::vector<Index> sizes = {5, 4, 6, 3};
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    net.W.push_back(rng.normal_matrix(sizes[l + 1], sizes[l]));
    net.b.push_back(Eigen::VectorXd::NullaryExpr(sizes[l + 1], [&] { return 0.1 * rng.normal(); }));
  }
  const Eigen::MatrixXd X = rng.normal_matrix(5, 7);
  const std::uint8_t labels[7] = {0, 2, 1, 1, 0, 2, 2};
  std::vector<Eigen::MatrixXd> dW;
  std::vector<Eigen::VectorXd> db;
  net.loss(X, labels, &dW, &db);
  for (std::size_t l = 0; l < net.layers(); ++l) {
    for (Index i = 0; i < net.W[l].size(); ++i) {
      MlpT<double> a = net, b = net;
      a.W[l].data()[i] += kFiniteDiffStep, b.W[l].data()[i] -= kFiniteDiffStep;
      const double fd = (a.loss(X, labels) - b.loss(X, labels)) / (2 * kFiniteDiffStep);
      EXPECT_NEAR(dW[l].data()[i], fd, kGradTol) << "W[" << l << "] entry " << i;
    }
    for (Index i = 0; i < net.b[l].size(); ++i) {
      MlpT<double> a = net, b = net;
      a.b[l](i) += kFiniteDiffStep, b.b[l](i) -= kFiniteDiffStep;
      EXPECT_NEAR(db[l](i), (a.loss(X, labels) - b.loss(X, labels)) / (2 * kFiniteDiffStep), kGradTol);
    }
  }
}

/// Two classes of 4x4 images: bright left half (class 3) or bright right half (class 7), plus noise.
Dataset toy_images(Index n, std::uint64_t seed) {
  RngStream rng(seed);
  Dataset d;
  d.n = n, d.rows = 4, d.cols = 4;
  for (Index i = 0; i < n; ++i) {
    const bool left = rng.uniform() < 0.5;
    d.labels.push_back(left ? 3 : 7);
    for (Index r = 0; r < 4; ++r)
      for (Index c = 0; c < 4; ++c)
        d.pixels.push_back(std::uint8_t(((c < 2) == left ? 160 : 40) + rng.below(60)));
  }
  return d;
}

TEST(Mlp, TrainingLearnsAndIsBitReproducible) {
  const Dataset train = toy_images(400, 1), test = toy_images(200, 2);
  MlpTrainOptions o;
  o.epochs = 3, o.batch_size = 32, o.threads = 1, o.learning_rate = 1e-2;
  auto run = [&] {
    RngStream rng(9);
    RngStream init = rng.derive("init");
    Mlp net = init_mlp({16, 8, 10}, init);
    const auto losses = train_mlp(net, train, o, rng);
    EXPECT_LT(losses.back(), losses.front());
    return net;
  };
  const Mlp a = run(), b = run();
  for (std::size_t l = 0; l < a.layers(); ++l) {
    EXPECT_EQ(a.W[l], b.W[l]);
    EXPECT_EQ(a.b[l], b.b[l]);
  }
  EXPECT_GT(accuracy(a, test), kLearnedAccuracy);
}

TEST(Mlp, SavedWeightsAndMasksReadBack) {
  const fs::path dir = temp_dir("save");
  RngStream rng(4);
  const Mlp net = init_mlp({6, 4, 10}, rng);
  std::vector<Weights> masks = {Weights::Ones(4, 6), Weights::Zero(10, 4)};
  const std::string p = (dir / "m.safetensors").string();
  write_safetensors(p, mlp_tensors(net, &masks));
  const Mlp back = read_mlp(p);
  ASSERT_EQ(back.layers(), 2u);
  for (std::size_t l = 0; l < 2; ++l) {
    EXPECT_EQ(back.W[l], net.W[l]);
    EXPECT_EQ(back.b[l], net.b[l]);
  }
  EXPECT_EQ(read_matrix(p, "fc2.weight_mask"), masks[1]);
  write_safetensors(p, {NamedTensor{"x", {1}, {1}}});
  EXPECT_THROW(read_mlp(p), TensorError);
  fs::remove_all(dir);
}

TEST(Mlp, IdxReaderReadsGzipAndRejectsBadFiles) {
  const fs::path dir = temp_dir("idx");
  std::vector<std::uint8_t> img, lab;
  put_be32(img, 2051), put_be32(img, 3), put_be32(img, 2), put_be32(img, 2);
  for (int i = 0; i < 12; ++i) img.push_back(std::uint8_t(i * 20));
  put_be32(lab, 2049), put_be32(lab, 3);
  for (std::uint8_t y : {1, 9, 0}) lab.push_back(y);
  const std::string pi = (dir / "img.gz").string(), pl = (dir / "lab.gz").string();
  write_gz(pi, img);
  write_gz(pl, lab);
  const Dataset d = read_idx_dataset(pi, pl);
  EXPECT_EQ(d.n, 3);
  EXPECT_EQ(d.features(), 4);
  EXPECT_EQ(d.pixels[5], 100);
  EXPECT_EQ(d.labels, (std::vector<std::uint8_t>{1, 9, 0}));
  EXPECT_FLOAT_EQ(d.all()(1, 1), (100.0f / 255.0f - Dataset::kMean) / Dataset::kStd);

  auto expect_io = [](auto&& f, const std::string& part) {
    try {
      f();
      ADD_FAILURE() << "no error; expected '" << part << "'";
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  write_gz(pi, std::vector<std::uint8_t>(img.begin(), img.end() - 1));
  expect_io([&] { read_idx_dataset(pi, pl); }, "truncated");
  write_gz(pi, img);
  lab.back() = 10;
  write_gz(pl, lab);
  expect_io([&] { read_idx_dataset(pi, pl); }, "not a class");
  expect_io([&] { read_idx_dataset(pl, pl); }, "not an IDX image file");
  expect_io([&] { read_idx_dataset((dir / "none.gz").string(), pl); }, "dataset-fashion-mnist");
  // A gzip stream cut in the middle is an error, not a short dataset.
  {
    write_gz(pi, img);
    std::string raw;
    {
      std::ifstream in(pi, std::ios::binary);
      raw.assign(std::istreambuf_iterator<char>(in), {});
    }
    std::ofstream(pi, std::ios::binary | std::ios::trunc).write(raw.data(), std::streamsize(raw.size() / 2));
    expect_io([&] { read_idx_dataset(pi, pl); }, pi);
  }
  fs::remove_all(dir);
}

TEST(Mlp, CalibrationIndicesAreDistinct) {
  RngStream rng(1);
  auto pick = calibration_indices(50, 20, rng);
  EXPECT_EQ(pick.size(), 20u);
  std::sort(pick.begin(), pick.end());
  EXPECT_EQ(std::adjacent_find(pick.begin(), pick.end()), pick.end());
  EXPECT_EQ(calibration_indices(5, 9, rng).size(), 5u);
}

// ---- the task on the real data (skipped without Debian's dataset-fashion-mnist) --------------------
constexpr const char* kFashionDir = "/usr/share/datasets/fashion-mnist";

TEST(PruneMlpTask, PrunesSequentiallyWithThePrunedInputs) {
  if (!fs::exists(std::string(kFashionDir) + "/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed (" << kFashionDir << ")";
  const fs::path dir = temp_dir("task");
  const std::string pruned_path = (dir / "pruned_{solver}_{seed}.safetensors").string();
  Params task_params;
  task_params.set("hidden", "32").set("depth", "1").set("epochs", "1").set("train_samples", "3000").set("batch_size", "32")
      .set("calibration_samples", "200").set("cache_dir", (dir / "cache").string()).set("save_pruned", pruned_path);
  const auto task = builtins().tasks.make("prune_mlp", task_params);
  TrialInputs t;
  t.seed = 5;
  t.solver = SolverChoice{Component{"magnitude", {}}, Component{"none", {}}, "magnitude"};
  t.pattern = NMPattern{2, 4, false};
  task->validate(t);
  Context ctx;
  ctx.rng = RngStream(77);
  const TrialRecord rec = task->run(t, ctx);
  EXPECT_GT(rec.scalars.at("dense_accuracy"), kFashionSmallAccuracy);
  EXPECT_GT(rec.scalars.at("accuracy"), 0.1);
  EXPECT_NEAR(rec.scalars.at("density"), 0.5, 1e-12);
  EXPECT_EQ(rec.scalars.at("layers_pruned"), 2.0);
  EXPECT_EQ(rec.labels.at("termination"), "converged");

  // Recompute layer 2's error from the saved files: dense target W0_2, inputs of the PRUNED fc1.
  const Mlp dense = read_mlp(rec.attributes.at("model_file"));
  const std::string saved = (dir / "pruned_magnitude_5.safetensors").string();
  const Mlp pruned = read_mlp(saved);
  for (const char* m : {"fc1.weight_mask", "fc2.weight_mask"}) {
    const Weights M = read_matrix(saved, m);
    Mask mask(M.rows(), M.cols());
    for (Index r = 0; r < M.rows(); ++r)
      for (Index c = 0; c < M.cols(); ++c) mask.set(r, c, M(r, c) != 0);
    EXPECT_TRUE(mask.satisfies(*t.pattern)) << m;
  }
  const FashionMnist& data = fashion_mnist(kFashionDir);
  RngStream crng = RngStream(77).derive("calibration");
  const auto pick = calibration_indices(data.train.n, 200, crng);
  const Eigen::MatrixXd X1 = data.train.batch(pick, 0, Index(pick.size())).cast<double>();
  auto hidden = [&](const Mlp& net) {
    Eigen::MatrixXd Z = net.W[0].cast<double>() * X1;
    Z.colwise() += net.b[0].cast<double>();
    return Eigen::MatrixXd(Z.cwiseMax(0.0));
  };
  const Weights W0_2 = dense.W[1].cast<double>(), Wp_2 = pruned.W[1].cast<double>();
  const double sequential = LayerProblem::from_inputs(W0_2, hidden(pruned)).relative_error(Wp_2);
  const double from_dense = LayerProblem::from_inputs(W0_2, hidden(dense)).relative_error(Wp_2);
  EXPECT_NEAR(rec.scalars.at("rel_error_fc2"), sequential, kSequentialTol * sequential);
  EXPECT_GT(std::abs(sequential - from_dense), 1e3 * kSequentialTol * sequential);  // the choice matters
  const double first = LayerProblem::from_inputs(dense.W[0].cast<double>(), X1).relative_error(pruned.W[0].cast<double>());
  EXPECT_NEAR(rec.scalars.at("rel_error_fc1"), first, kSequentialTol * first);

  // save_calibration: the dense weights and dense inputs, usable as a `layer_file` problem.
  {
    Params with_calib = task_params;
    const std::string calib = (dir / "calib_{seed}.safetensors").string();
    with_calib.set("save_calibration", calib).set("save_pruned", "");
    builtins().tasks.make("prune_mlp", with_calib)->run(t, ctx);
    const auto gen = builtins().problems.make(
        "layer_file", Params().set("weights", (dir / "calib_5.safetensors").string()).set("tensor", "fc2.weight")
                          .set("inputs_tensor", "{layer}.inputs"));
    RngStream unused(0);
    const LayerProblem from_file = gen->make(unused);
    const LayerProblem direct = LayerProblem::from_inputs(W0_2, hidden(dense));
    EXPECT_EQ(from_file.W0, W0_2);
    // The file holds F32 activations; H from them matches the double H to float precision.
    EXPECT_LT((from_file.H - direct.H).norm(), kFloatInputsTol * direct.H.norm());
  }

  // A solver with traces: per-layer trace names are flat ("lambda_fc1"); a '/' would become an
  // HDF5 group path that the results writer cannot create.
  {
    TrialInputs tp = t;
    tp.solver = SolverChoice{Component{"prox", {}}, Component{"none", {}}, "prox"};
    Params quick = task_params;
    quick.set("save_pruned", "");
    const TrialRecord prox = builtins().tasks.make("prune_mlp", quick)->run(tp, ctx);
    EXPECT_FALSE(prox.traces.empty());
    for (const auto& [k, _] : prox.traces) EXPECT_EQ(k.find('/'), std::string::npos) << k;
  }

  // A second trial reuses the trained model (same file, same result).
  const TrialRecord again = builtins().tasks.make("prune_mlp", task_params)->run(t, ctx);
  EXPECT_EQ(again.attributes.at("model_file"), rec.attributes.at("model_file"));
  EXPECT_EQ(again.scalars.at("accuracy"), rec.scalars.at("accuracy"));
  fs::remove_all(dir);
}

TEST(PruneMlpTask, UnsupportedLayerIsAnErrorOrKeptDense) {
  TrialInputs t;
  t.solver = SolverChoice{Component{"magnitude", {}}, Component{"none", {}}, "magnitude"};
  t.pattern = NMPattern{2, 16, false};  // fc1 has d_in 784 = 49·16, fine; fc2 (hidden 40) is not a multiple of 16
  const auto strict = builtins().tasks.make("prune_mlp", Params().set("hidden", "40"));
  try {
    strict->validate(t);
    ADD_FAILURE() << "expected an error for fc2";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("fc2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("keep_dense"), std::string::npos) << e.what();
  }
  builtins().tasks.make("prune_mlp", Params().set("hidden", "40").set("unsupported_layers", "keep_dense"))->validate(t);
}

}  // namespace
}  // namespace nmlab
