// The `prune_mlp` task: a real network end to end. Train (or load from the cache) a ReLU MLP on
// fashion-MNIST, then prune every linear layer with the trial's solver + update and pattern,
// SEQUENTIALLY: layer l's problem uses the calibration inputs produced by the already-pruned layers
// 1..l−1 (as SparseGPT does), with the dense W_l as the target:
//   X_1 = calibration images,  W_l* = argmin ‖(W − W_l) X_l‖²  over N:M masks,  X_{l+1} = relu(W_l* X_l + b_l)
// Reports test accuracy of the pruned network beside the dense one, and each layer's rel_error.
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"
#include "framework/core/timer.hpp"
#include "framework/network/mlp.hpp"

namespace nmlab {
namespace {

constexpr Index kImageFeatures = 28 * 28;  // fashion-MNIST images are 28 x 28

struct PruneMlpOptions {
  std::string data_dir = "/usr/share/datasets/fashion-mnist";  // the four IDX .gz files
  long hidden = 1024;           // width of each hidden layer
  int depth = 2;                // hidden layers: 784-hidden-...-hidden-10
  int epochs = 3;               // training epochs
  int batch_size = 128;         // training mini-batch
  double learning_rate = 1e-3;  // Adam step size
  long train_samples = 0;       // first n training images; 0 = all 60000
  long train_seed = 0;          // initialisation and shuffling (the model; trial seeds vary calibration)
  int train_threads = 1;        // fixed thread count for training (determinism)
  std::string cache_dir = "results/cache";  // trained models are cached here, keyed by the options above
  long calibration_samples = 1024;  // training images whose activations form each layer's X
  double damping = 0.0;         // relative damping added to each layer's H (δ · mean diag H)
  std::string unsupported_layers = "error";  // a layer the pattern cannot tile: error | keep_dense
  std::string save_pruned;      // if set: write pruned weights + masks here ({solver} {pattern} {seed} {index})
  std::string save_calibration; // if set: write dense weights + each layer's dense calibration inputs here ({seed})
  template <class V> void visit(V& v) {
    v("data_dir", data_dir, "directory with fashion-MNIST's train/t10k IDX .gz files");
    v("hidden", hidden, "width of each hidden layer", rule::at_least(1));
    v("depth", depth, "number of hidden layers", rule::at_least(1));
    v("epochs", epochs, "training epochs", rule::at_least(0));
    v("batch_size", batch_size, "training mini-batch size", rule::at_least(1));
    v("learning_rate", learning_rate, "Adam step size", rule::positive());
    v("train_samples", train_samples, "train on the first n images; 0 = all 60000", rule::non_negative());
    v("train_seed", train_seed, "seed of initialisation and shuffling (trial seeds vary the calibration set)");
    v("train_threads", train_threads,
      "threads for training's GEMMs; fixed so the model is bit-reproducible (1 is fastest on a busy 2-core box)",
      rule::at_least(1));
    v("cache_dir", cache_dir, "trained models are cached here as safetensors, keyed by a hash of the training options");
    v("calibration_samples", calibration_samples, "training images (chosen by the trial seed) that give each layer's X",
      rule::at_least(1));
    v("damping", damping, "relative damping added to each layer's H", rule::non_negative());
    v("unsupported_layers", unsupported_layers,
      "a layer whose shape the pattern/solver cannot take: error, or keep_dense (listed in the dense_layers column)",
      rule::one_of({"error", "keep_dense"}));
    v("save_pruned", save_pruned,
      "write pruned weights, biases and masks (fcK.weight, fcK.bias, fcK.weight_mask) as safetensors to this path; "
      "{solver} {pattern} {seed} {index} are substituted");
    v("save_calibration", save_calibration,
      "write the DENSE network's weights and each layer's calibration inputs (fcK.weight, fcK.bias, fcK.inputs as "
      "[n_calibration, d_in]) as safetensors to this path, for `layer_file` problems; {seed} is substituted");
  }
};

/// The training options as text: the cache key's input and the check stored in the file.
std::string training_text(const PruneMlpOptions& o) {
  std::ostringstream s;
  s << std::setprecision(17) << "mlp-v1 data=" << o.data_dir << " hidden=" << o.hidden << " depth=" << o.depth
    << " epochs=" << o.epochs << " batch=" << o.batch_size << " lr=" << o.learning_rate
    << " samples=" << o.train_samples << " seed=" << o.train_seed << " threads=" << o.train_threads;
  return s.str();
}

std::string hex64(std::uint64_t x) {
  std::ostringstream s;
  s << std::hex << std::setw(16) << std::setfill('0') << x;
  return s.str();
}

/// FNV-1a then SplitMix64: a stable hash of the training options.
std::uint64_t text_hash(const std::string& text) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return mix64(h);
}

std::vector<Index> layer_sizes(const PruneMlpOptions& o, Index d_in) {
  std::vector<Index> s{d_in};
  for (int k = 0; k < o.depth; ++k) s.push_back(o.hidden);
  s.push_back(10);
  return s;
}

struct TrainedModel {
  Mlp net;
  double dense_accuracy = 0;
  double train_time_s = 0;  ///< as measured when it was trained (also when loaded from the cache)
  std::string file;
};

/// Trains the model once per process per option set; the cache file makes it once per machine.
const TrainedModel& trained_model(const PruneMlpOptions& o, const std::function<void(const std::string&)>& log) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<TrainedModel>> models;
  const std::string text = training_text(o);
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = models[text];
  if (slot) return *slot;
  const FashionMnist& data = fashion_mnist(o.data_dir);
  auto model = std::make_unique<TrainedModel>();
  model->file = o.cache_dir + "/fashion_mlp_" + hex64(text_hash(text)) + ".safetensors";
  bool loaded = false;
  if (std::filesystem::exists(model->file)) {
    try {
      model->net = read_mlp(model->file);
      loaded = model->net.layers() == std::size_t(o.depth + 1) && model->net.W[0].cols() == data.train.features();
      // The stored training text guards against hash collisions and stale formats.
      const Tensor meta = read_tensor(model->file, "train_time_s");
      model->train_time_s = meta.data.at(0);
      loaded = loaded && read_tensor(model->file, "options_hash").data.at(0) == double(text_hash(text) >> 11);
    } catch (const Error& e) {
      log("ignoring unreadable cached model " + model->file + ": " + e.what());
      loaded = false;
    }
  }
  if (!loaded) {
    log("training " + text + " (cached at " + model->file + ")");
    RngStream rng = RngStream(std::uint64_t(o.train_seed)).derive("mlp");
    RngStream init = rng.derive("init");
    model->net = init_mlp(layer_sizes(o, data.train.features()), init);
    MlpTrainOptions t;
    t.epochs = o.epochs, t.batch_size = o.batch_size, t.learning_rate = o.learning_rate;
    t.train_samples = o.train_samples, t.threads = o.train_threads;
    Stopwatch clock;
    train_mlp(model->net, data.train, t, rng, log);
    model->train_time_s = clock.seconds();
    auto tensors = mlp_tensors(model->net);
    tensors.push_back(NamedTensor{"train_time_s", {1}, {model->train_time_s}});
    tensors.push_back(NamedTensor{"options_hash", {1}, {double(text_hash(text) >> 11)}});  // exact in F64
    write_safetensors(model->file, tensors, {{"nmlab", text}}, DType::f64);
  }
  model->dense_accuracy = accuracy(model->net, data.test);
  log("dense test accuracy " + std::to_string(model->dense_accuracy));
  slot = std::move(model);
  return *slot;
}

std::string substitute(std::string text, const std::map<std::string, std::string>& vars) {
  for (const auto& [k, v] : vars)
    for (std::size_t at; (at = text.find("{" + k + "}")) != std::string::npos;) text.replace(at, k.size() + 2, v);
  return text;
}

/// Eigen's GEMM thread count for the duration of a scope (the trial's ctx.threads).
class ScopedEigenThreads {
 public:
  explicit ScopedEigenThreads(int n) : saved_(Eigen::nbThreads()) { Eigen::setNbThreads(n); }
  ~ScopedEigenThreads() { Eigen::setNbThreads(saved_); }
  ScopedEigenThreads(const ScopedEigenThreads&) = delete;
  ScopedEigenThreads& operator=(const ScopedEigenThreads&) = delete;

 private:
  int saved_;
};

int severity(Termination t) {
  switch (t) {
    case Termination::converged: return 0;
    case Termination::not_run: return 1;
    case Termination::max_iters: return 2;
    case Termination::failed: return 3;
  }
  return 3;
}

class PruneMlpTask final : public Task {
 public:
  using Options = PruneMlpOptions;
  explicit PruneMlpTask(Options o) : o_(std::move(o)) {}

  void validate(const TrialInputs& t) const override {
    t.require_solver("prune_mlp");
    t.require_pattern("prune_mlp");
    if (t.problem) throw SpecError("", "the prune_mlp task builds its own layer problems: remove the `problem:` block");
    dense_layers(t);  // throws for unsupported layers unless keep_dense
    builtins().updates.make(t.solver->update.name, t.solver->update.params);
  }

  TrialRecord run(const TrialInputs& t, Context& ctx) const override {
    validate(t);
    const ScopedEigenThreads eigen_threads(std::max(1, ctx.threads));
    const auto& reg = builtins();
    const NMPattern& p = *t.pattern;
    const auto solver = reg.solvers.make(t.solver->solver.name, t.solver->solver.params);
    const auto update = reg.updates.make(t.solver->update.name, t.solver->update.params);
    const std::vector<bool> keep_dense = dense_layers(t);
    const TrainedModel& model = trained_model(o_, ctx.log);
    const FashionMnist& data = fashion_mnist(o_.data_dir);

    // Calibration set: calibration_samples distinct training images, chosen by the trial's seed.
    Stopwatch calib_clock;
    RngStream crng = ctx.rng.derive("calibration");
    const std::vector<Index> pick = calibration_indices(data.train.n, o_.calibration_samples, crng);
    const Index n_cal = Index(pick.size());
    Eigen::MatrixXd X = data.train.batch(pick, 0, n_cal).cast<double>();  // X_1: d_in × n_cal
    if (!o_.save_calibration.empty()) save_calibration(model.net, X, t);
    double time_calibration = calib_clock.seconds();

    TrialRecord rec;
    Mlp pruned = model.net;
    std::vector<Weights> masks;
    double sum_rel = 0, sum_rel_before = 0, t_setup = 0, t_solve = 0, t_update = 0;
    long iterations = 0, kept = 0, total = 0, pruned_layers = 0;
    Termination worst = Termination::converged;
    std::string messages, dense_list, backend_used;
    for (std::size_t l = 0; l < pruned.layers(); ++l) {
      const std::string name = layer_name(l);
      const Weights W0 = model.net.W[l].cast<double>();
      Weights W_final = W0;
      total += W0.size();
      if (keep_dense[l]) {
        dense_list += (dense_list.empty() ? "" : ",") + name;
        kept += W0.size();
        masks.push_back(Weights::Ones(W0.rows(), W0.cols()));
      } else {
        // Layer l's problem: dense target W0, inputs of the already-pruned network.
        Stopwatch setup_clock;
        const LayerProblem prob = LayerProblem::from_inputs(W0, X, o_.damping, name);
        t_setup += setup_clock.seconds();
        Context lctx = ctx;
        lctx.rng = ctx.rng.derive(name);
        SolveResult res = solver->solve(prob, p, lctx);
        if (auto bad = res.mask.violation(p)) {
          res.summary.termination = Termination::failed;
          res.summary.message = "invalid mask: " + *bad;
        }
        const Weights W_solver = res.W ? res.mask.apply(*res.W) : res.mask.apply(prob.W0);
        Stopwatch update_clock;
        W_final = update->apply(prob, res.mask, W_solver);
        const double tu = update_clock.seconds();
        const double rel = prob.relative_error(W_final), rel_before = prob.relative_error(W_solver);
        rec.scalars["rel_error_" + name] = rel;
        rec.scalars["rel_error_before_update_" + name] = rel_before;
        rec.scalars["time_solve_s_" + name] = res.summary.time_solve_s;
        sum_rel += rel, sum_rel_before += rel_before;
        t_solve += std::isnan(res.summary.time_solve_s) ? 0.0 : res.summary.time_solve_s;
        t_setup += std::isnan(res.summary.time_setup_s) ? 0.0 : res.summary.time_setup_s;
        t_update += tu;
        iterations += std::max(0L, res.summary.iterations);
        kept += res.mask.count();
        ++pruned_layers;
        if (severity(res.summary.termination) > severity(worst)) worst = res.summary.termination;
        if (!res.summary.message.empty()) messages += (messages.empty() ? "" : "; ") + name + ": " + res.summary.message;
        if (backend_used.empty()) backend_used = res.summary.backend_used;
        for (const auto& [k, v] : res.metrics) rec.scalars[k + "_" + name] = v;
        for (auto& [k, v] : res.traces) rec.traces[k + "_" + name] = std::move(v);  // "lambda_fc1"
        masks.push_back(res.mask.bits().cast<double>());
        pruned.W[l] = W_final.cast<float>();
      }
      // X_{l+1} = relu(Ŵ_l X_l + b_l): the next layer sees the pruned network's activations.
      if (l + 1 < pruned.layers()) {
        Stopwatch fwd_clock;
        Eigen::MatrixXd Z = W_final * X;
        Z.colwise() += model.net.b[l].cast<double>();
        X = Z.cwiseMax(0.0);
        time_calibration += fwd_clock.seconds();
      }
    }

    Stopwatch eval_clock;
    const double acc = accuracy(pruned, data.test);
    const double time_eval = eval_clock.seconds();
    const double layers = double(std::max(1L, pruned_layers));
    rec.scalars["accuracy"] = acc;
    rec.scalars["dense_accuracy"] = model.dense_accuracy;
    rec.scalars["accuracy_drop"] = model.dense_accuracy - acc;
    rec.scalars["rel_error"] = pruned_layers ? sum_rel / layers : 0.0;
    rec.scalars["rel_error_before_update"] = pruned_layers ? sum_rel_before / layers : 0.0;
    rec.scalars["time_setup_s"] = t_setup;
    rec.scalars["time_solve_s"] = t_solve;
    rec.scalars["time_update_s"] = t_update;
    rec.scalars["time_calibration_s"] = time_calibration;
    rec.scalars["time_eval_s"] = time_eval;
    rec.scalars["time_train_s"] = model.train_time_s;
    rec.scalars["iterations"] = double(iterations);
    rec.scalars["density"] = double(kept) / double(total);
    rec.scalars["layers_pruned"] = double(pruned_layers);
    rec.labels["termination"] = to_string(worst);
    rec.labels["dense_layers"] = dense_list;
    rec.labels["backend_requested"] = ctx.backend;
    rec.labels["backend_used"] = backend_used.empty() ? "cpu" : backend_used;
    rec.attributes["message"] = messages;
    rec.attributes["model_file"] = model.file;
    rec.attributes["threads_used"] = std::to_string(ctx.threads);
    for (const auto& [k, v] : solver->options()) rec.attributes["solver." + k] = v;
    for (const auto& [k, v] : update->options()) rec.attributes["update." + k] = v;

    if (!o_.save_pruned.empty()) {
      const std::string path = substitute(o_.save_pruned, {{"solver", t.solver->label},
                                                           {"pattern", p.str()},
                                                           {"seed", std::to_string(t.seed)},
                                                           {"index", std::to_string(t.index)}});
      write_safetensors(path, mlp_tensors(pruned, &masks),
                        {{"solver", t.solver->label}, {"pattern", p.str()}, {"accuracy", std::to_string(acc)}});
      rec.attributes["pruned_file"] = path;
    }
    return rec;
  }

 private:
  /// Which layers stay dense because the pattern/solver cannot take their shape (keep_dense only).
  std::vector<bool> dense_layers(const TrialInputs& t) const {
    const auto sizes = layer_sizes(o_, kImageFeatures);
    const auto solver = builtins().solvers.make(t.solver->solver.name, t.solver->solver.params);
    std::vector<bool> dense;
    for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
      try {
        t.pattern->check_shape(sizes[l + 1], sizes[l]);
        solver->check_supported(*t.pattern, sizes[l + 1], sizes[l]);
        dense.push_back(false);
      } catch (const Error& e) {
        if (o_.unsupported_layers == "keep_dense") {
          dense.push_back(true);
          continue;
        }
        throw SpecError(t.solver->solver.params.where(),
                        std::string(e.what()) + " (layer " + layer_name(l) + " is " + std::to_string(sizes[l + 1]) +
                            " x " + std::to_string(sizes[l]) + "; set task.unsupported_layers: keep_dense to leave it dense)");
      }
    }
    return dense;
  }

  /// The dense network's weights and the inputs each layer sees on the calibration images (tokens first).
  void save_calibration(const Mlp& net, Eigen::MatrixXd X, const TrialInputs& t) const {
    std::vector<NamedTensor> out = mlp_tensors(net);
    for (std::size_t l = 0; l < net.layers(); ++l) {
      // [d_in, n] column-major is [n, d_in] row-major: the tokens_first layout of PyTorch activations.
      out.push_back(NamedTensor{layer_name(l) + ".inputs", {std::int64_t(X.cols()), std::int64_t(X.rows())},
                                std::vector<double>(X.data(), X.data() + X.size())});
      if (l + 1 < net.layers()) {
        Eigen::MatrixXd Z = net.W[l].cast<double>() * X;
        Z.colwise() += net.b[l].cast<double>();
        X = Z.cwiseMax(0.0);
      }
    }
    write_safetensors(substitute(o_.save_calibration, {{"seed", std::to_string(t.seed)}}), out,
                      {{"nmlab", "prune_mlp dense weights and calibration inputs"}});
  }

  Options o_;
};

}  // namespace

void register_prune_mlp_task(Registry<Task>& r) {
  r.add<PruneMlpTask>("prune_mlp",
                      "train (or load) a fashion-MNIST MLP, prune every layer sequentially, report test accuracy");
}

}  // namespace nmlab
