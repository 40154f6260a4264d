#include "framework/network/mlp.hpp"

#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>

#include "framework/core/errors.hpp"

namespace nmlab {
namespace {

/// Whole content of a gzip (or plain: gzread passes it through) file.
std::vector<std::uint8_t> read_gz(const std::string& path) {
  if (!std::filesystem::exists(path))
    throw IoError(path + ": no such file; install Debian's dataset-fashion-mnist (scripts/install-deps.sh) or set "
                         "task.data_dir");
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw IoError(path + ": cannot open");
  std::vector<std::uint8_t> out;
  std::uint8_t buf[1 << 16];
  for (;;) {
    const int got = gzread(f, buf, sizeof buf);
    if (got < 0) {
      int code = 0;
      const std::string msg = gzerror(f, &code);
      gzclose(f);
      throw IoError(path + ": corrupt gzip data (" + msg + ")");
    }
    if (got == 0) break;
    out.insert(out.end(), buf, buf + got);
  }
  int code = 0;
  const char* msg = gzerror(f, &code);
  if (code != Z_OK && code != Z_STREAM_END) {
    const std::string m = msg;
    gzclose(f);
    throw IoError(path + ": truncated or corrupt gzip data (" + m + ")");
  }
  gzclose(f);
  return out;
}

std::uint32_t be32(const std::vector<std::uint8_t>& b, std::size_t at) {
  return (std::uint32_t(b[at]) << 24) | (std::uint32_t(b[at + 1]) << 16) | (std::uint32_t(b[at + 2]) << 8) | b[at + 3];
}

// Adam moments for one parameter block.
template <class M>
struct AdamState {
  M m, v;
};

}  // namespace

// ---- data ------------------------------------------------------------------------------------------
Eigen::MatrixXf Dataset::batch(const std::vector<Index>& idx, Index begin, Index end) const {
  const Index d = features();
  Eigen::MatrixXf X(d, end - begin);
  for (Index k = begin; k < end; ++k) {
    const std::uint8_t* p = pixels.data() + idx[std::size_t(k)] * d;
    for (Index j = 0; j < d; ++j) X(j, k - begin) = (float(p[j]) / 255.0f - kMean) / kStd;
  }
  return X;
}

Eigen::MatrixXf Dataset::all() const {
  std::vector<Index> idx(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) idx[std::size_t(i)] = i;
  return batch(idx, 0, n);
}

Dataset read_idx_dataset(const std::string& images_path, const std::string& labels_path) {
  const auto img = read_gz(images_path), lab = read_gz(labels_path);
  if (img.size() < 16 || be32(img, 0) != 2051)
    throw IoError(images_path + ": not an IDX image file (expected magic 2051 and a 16-byte header)");
  if (lab.size() < 8 || be32(lab, 0) != 2049)
    throw IoError(labels_path + ": not an IDX label file (expected magic 2049 and an 8-byte header)");
  Dataset d;
  d.n = be32(img, 4), d.rows = be32(img, 8), d.cols = be32(img, 12);
  if (std::uint64_t(img.size() - 16) != std::uint64_t(d.n) * std::uint64_t(d.rows) * std::uint64_t(d.cols))
    throw IoError(images_path + ": truncated: the header says " + std::to_string(d.n) + " images of " +
                  std::to_string(d.rows) + "x" + std::to_string(d.cols) + ", the file has " +
                  std::to_string(img.size() - 16) + " pixel bytes");
  if (Index(be32(lab, 4)) != d.n || lab.size() - 8 != std::size_t(d.n))
    throw IoError(labels_path + ": holds " + std::to_string(lab.size() - 8) + " labels (header " +
                  std::to_string(be32(lab, 4)) + ") for " + std::to_string(d.n) + " images");
  d.pixels.assign(img.begin() + 16, img.end());
  d.labels.assign(lab.begin() + 8, lab.end());
  for (std::size_t i = 0; i < d.labels.size(); ++i)
    if (d.labels[i] > 9) throw IoError(labels_path + ": label " + std::to_string(d.labels[i]) + " of image " +
                                       std::to_string(i) + " is not a class 0..9");
  return d;
}

std::vector<Index> calibration_indices(Index n, Index count, RngStream& rng) {
  count = std::min(count, n);
  std::vector<Index> pick(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) pick[std::size_t(i)] = i;
  for (Index i = 0; i < count; ++i)  // position i gets a uniform pick of the n − i not yet chosen
    std::swap(pick[std::size_t(i)], pick[std::size_t(i) + rng.below(std::uint64_t(n - i))]);
  pick.resize(std::size_t(count));
  return pick;
}

const FashionMnist& fashion_mnist(const std::string& dir) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<FashionMnist>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[dir];
  if (!slot) {
    auto data = std::make_unique<FashionMnist>();
    data->train = read_idx_dataset(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz");
    data->test = read_idx_dataset(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz");
    slot = std::move(data);
  }
  return *slot;
}

// ---- the network -----------------------------------------------------------------------------------
template <class S>
typename MlpT<S>::Mat MlpT<S>::forward(const Mat& X) const {
  Mat A = X;
  for (std::size_t l = 0; l < W.size(); ++l) {
    // Z = W A + b 1ᵀ;  A = relu(Z) except after the last layer
    Mat Z = W[l] * A;
    Z.colwise() += b[l];
    A = l + 1 < W.size() ? Mat(Z.cwiseMax(S(0))) : std::move(Z);
  }
  return A;
}

template <class S>
double MlpT<S>::loss(const Mat& X, const std::uint8_t* labels, std::vector<Mat>* dW, std::vector<Vec>* db) const {
  const Index B = X.cols();
  const std::size_t L = W.size();
  std::vector<Mat> A(L);  // A[l] = input of layer l (A[0] = X is not copied)
  std::vector<Mat> Z(L);
  const Mat* in = &X;
  for (std::size_t l = 0; l < L; ++l) {
    Z[l] = W[l] * *in;
    Z[l].colwise() += b[l];
    if (l + 1 < L) {
      A[l + 1] = Z[l].cwiseMax(S(0));
      in = &A[l + 1];
    }
  }
  // P = softmax(Z_L) per column, stabilised by the column max; loss = −mean log P[y]
  Mat P = Z[L - 1];
  double loss = 0;
  for (Index j = 0; j < B; ++j) {
    const S mx = P.col(j).maxCoeff();
    P.col(j) = (P.col(j).array() - mx).exp();
    const S sum = P.col(j).sum();
    P.col(j) /= sum;
    loss -= std::log(std::max(double(P(labels[j], j)), 1e-300));
  }
  loss /= double(B);
  if (!dW) return loss;
  dW->resize(L);
  db->resize(L);
  // G = ∂loss/∂Z_L = (P − Y) / B
  Mat G = P;
  for (Index j = 0; j < B; ++j) G(labels[j], j) -= S(1);
  G /= S(B);
  for (std::size_t l = L; l-- > 0;) {
    const Mat& input = l == 0 ? X : A[l];
    // dW_l = G A_{l−1}ᵀ,  db_l = G 1
    (*dW)[l] = G * input.transpose();
    (*db)[l] = G.rowwise().sum();
    // G ← (W_lᵀ G) ⊙ [Z_{l−1} > 0]
    if (l > 0) G = ((W[l].transpose() * G).array() * (Z[l - 1].array() > S(0)).template cast<S>()).matrix();
  }
  return loss;
}

template struct MlpT<float>;
template struct MlpT<double>;

Mlp init_mlp(const std::vector<Index>& sizes, RngStream& rng) {
  NMLAB_ASSERT(sizes.size() >= 2, "an MLP needs input and output sizes");
  Mlp net;
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    const Index d_in = sizes[l], d_out = sizes[l + 1];
    RngStream r = rng.derive(layer_name(l));
    const double a = std::sqrt(6.0 / double(d_in));  // He-uniform bound
    Eigen::MatrixXf W(d_out, d_in);
    for (Index c = 0; c < d_in; ++c)
      for (Index i = 0; i < d_out; ++i) W(i, c) = float(a * (2.0 * r.uniform() - 1.0));
    net.W.push_back(std::move(W));
    net.b.push_back(Eigen::VectorXf::Zero(d_out));
  }
  return net;
}

double accuracy(const Mlp& net, const Dataset& data) {
  constexpr Index kBatch = 2000;
  std::vector<Index> idx(std::size_t(data.n));
  for (Index i = 0; i < data.n; ++i) idx[std::size_t(i)] = i;
  Index correct = 0;
  for (Index s = 0; s < data.n; s += kBatch) {
    const Index e = std::min(data.n, s + kBatch);
    const Eigen::MatrixXf logits = net.forward(data.batch(idx, s, e));
    for (Index j = 0; j < logits.cols(); ++j) {
      Index arg;
      logits.col(j).maxCoeff(&arg);
      correct += arg == Index(data.labels[std::size_t(s + j)]);
    }
  }
  return double(correct) / double(data.n);
}

std::string layer_name(std::size_t l) { return "fc" + std::to_string(l + 1); }

std::vector<NamedTensor> mlp_tensors(const Mlp& net, const std::vector<Weights>* masks) {
  std::vector<NamedTensor> out;
  for (std::size_t l = 0; l < net.layers(); ++l) {
    const Weights W = net.W[l].cast<double>();
    out.push_back(named_matrix(layer_name(l) + ".weight", W));
    out.push_back(NamedTensor{layer_name(l) + ".bias", {std::int64_t(net.b[l].size())},
                              std::vector<double>(net.b[l].data(), net.b[l].data() + net.b[l].size())});
    if (masks) out.push_back(named_matrix(layer_name(l) + ".weight_mask", (*masks)[l]));
  }
  return out;
}

Mlp read_mlp(const std::string& path) {
  Mlp net;
  for (std::size_t l = 0;; ++l) {
    bool present = false;
    for (const auto& t : list_tensors(path)) present |= t.name == layer_name(l) + ".weight";
    if (!present) break;
    const Weights W = read_matrix(path, layer_name(l) + ".weight");
    const Tensor b = read_tensor(path, layer_name(l) + ".bias");
    if (b.data.size() != std::size_t(W.rows()))
      throw TensorError(path + ": " + layer_name(l) + ".bias has " + std::to_string(b.data.size()) + " values for " +
                        std::to_string(W.rows()) + " outputs");
    if (l > 0 && W.cols() != net.W.back().rows())
      throw TensorError(path + ": " + layer_name(l) + ".weight takes " + std::to_string(W.cols()) + " inputs but " +
                        layer_name(l - 1) + " gives " + std::to_string(net.W.back().rows()));
    net.W.push_back(W.cast<float>());
    net.b.push_back(Eigen::Map<const Eigen::VectorXd>(b.data.data(), Index(b.data.size())).cast<float>());
  }
  if (net.W.empty()) throw TensorError(path + ": no fc1.weight: not an nmlab MLP file");
  return net;
}

std::vector<double> train_mlp(Mlp& net, const Dataset& train, const MlpTrainOptions& o, RngStream& rng,
                              const std::function<void(const std::string&)>& log) {
  const int saved_threads = Eigen::nbThreads();
  Eigen::setNbThreads(o.threads);  // a fixed count fixes the GEMM blocking, hence the bits
  const Index n = o.train_samples > 0 ? std::min(o.train_samples, train.n) : train.n;
  const std::size_t L = net.layers();
  std::vector<AdamState<Eigen::MatrixXf>> aW(L);
  std::vector<AdamState<Eigen::VectorXf>> ab(L);
  for (std::size_t l = 0; l < L; ++l) {
    aW[l] = {Eigen::MatrixXf::Zero(net.W[l].rows(), net.W[l].cols()), Eigen::MatrixXf::Zero(net.W[l].rows(), net.W[l].cols())};
    ab[l] = {Eigen::VectorXf::Zero(net.b[l].size()), Eigen::VectorXf::Zero(net.b[l].size())};
  }
  constexpr float kBeta1 = 0.9f, kBeta2 = 0.999f, kEps = 1e-8f;
  const float lr = float(o.learning_rate);
  std::vector<Index> order(static_cast<std::size_t>(n));
  std::vector<std::uint8_t> labels(std::size_t(o.batch_size));
  std::vector<Eigen::MatrixXf> dW;
  std::vector<Eigen::VectorXf> db;
  std::vector<double> epoch_loss;
  long step = 0;
  RngStream shuffle = rng.derive("shuffle");
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    for (Index i = 0; i < n; ++i) order[std::size_t(i)] = i;
    for (Index i = n - 1; i > 0; --i) std::swap(order[std::size_t(i)], order[shuffle.below(std::uint64_t(i + 1))]);  // Fisher–Yates
    double sum = 0;
    long batches = 0;
    for (Index s = 0; s < n; s += o.batch_size) {
      const Index e = std::min(n, s + o.batch_size);
      const Eigen::MatrixXf X = train.batch(order, s, e);
      for (Index k = s; k < e; ++k) labels[std::size_t(k - s)] = train.labels[std::size_t(order[std::size_t(k)])];
      sum += net.loss(X, labels.data(), &dW, &db);
      ++batches;
      ++step;
      // Adam: m ← β1 m + (1−β1) g,  v ← β2 v + (1−β2) g²,  θ ← θ − lr m̂ / (sqrt(v̂) + ε)
      const float c1 = 1.0f - std::pow(kBeta1, float(step)), c2 = 1.0f - std::pow(kBeta2, float(step));
      auto adam = [&](auto& theta, auto& st, const auto& g) {
        st.m = kBeta1 * st.m + (1 - kBeta1) * g;
        st.v = kBeta2 * st.v + (1 - kBeta2) * g.cwiseAbs2();
        theta.array() -= lr * (st.m.array() / c1) / ((st.v.array() / c2).sqrt() + kEps);
      };
      for (std::size_t l = 0; l < L; ++l) {
        adam(net.W[l], aW[l], dW[l]);
        adam(net.b[l], ab[l], db[l]);
      }
    }
    epoch_loss.push_back(sum / double(batches));
    if (log) log("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(o.epochs) + ": train loss " +
                 std::to_string(epoch_loss.back()));
  }
  Eigen::setNbThreads(saved_threads);
  return epoch_loss;
}

}  // namespace nmlab
