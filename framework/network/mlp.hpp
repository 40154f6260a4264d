#pragma once
// A small ReLU MLP on image datasets, trained in C++ with Eigen, deterministically: the fashion-MNIST
// network that the `prune_mlp` task prunes layer by layer.
//
//   A_0 = X (features × batch),  Z_l = W_l A_{l−1} + b_l,  A_l = relu(Z_l) (l < L),  logits = Z_L
//   loss = −mean_j log softmax(Z_L)_{y_j, j}
//
// Layers are named fc1 ... fcL; W_l is d_out × d_in like torch.nn.Linear.weight, so a saved model
// loads into PyTorch with nn.Linear layers of the same names.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "framework/core/rng.hpp"
#include "framework/core/types.hpp"
#include "framework/io/tensor_file.hpp"

namespace nmlab {

// ---- data ------------------------------------------------------------------------------------------
/// An image classification set held as bytes: pixels row-major per image, one label per image.
struct Dataset {
  Index n = 0, rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  ///< n × rows × cols
  std::vector<std::uint8_t> labels;  ///< n, values < 10
  Index features() const { return rows * cols; }
  /// Images idx[begin, end) as columns, normalised x = (p/255 − kMean)/kStd (features × count).
  Eigen::MatrixXf batch(const std::vector<Index>& idx, Index begin, Index end) const;
  /// All images as columns (features × n), normalised.
  Eigen::MatrixXf all() const;
  static constexpr float kMean = 0.2860f;  ///< fashion-MNIST pixel mean (of p/255)
  static constexpr float kStd = 0.3530f;   ///< fashion-MNIST pixel standard deviation
};

/// Reads a gzipped (or plain) IDX image file and its label file (the MNIST formats: magic 2051 /
/// 2049, big-endian sizes). IoError naming the file for anything missing, truncated or malformed.
Dataset read_idx_dataset(const std::string& images_path, const std::string& labels_path);

/// `count` distinct indices of [0, n) drawn by a partial Fisher–Yates shuffle (the calibration set).
std::vector<Index> calibration_indices(Index n, Index count, RngStream& rng);

struct FashionMnist {
  Dataset train, test;
};
/// The four files of Debian's dataset-fashion-mnist in `dir`, read once per process per directory.
const FashionMnist& fashion_mnist(const std::string& dir);

// ---- the network -----------------------------------------------------------------------------------
template <class S>
struct MlpT {
  using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
  using Vec = Eigen::Matrix<S, Eigen::Dynamic, 1>;
  std::vector<Mat> W;  ///< W[l]: d_out × d_in
  std::vector<Vec> b;  ///< b[l]: d_out
  std::size_t layers() const { return W.size(); }
  /// Logits (classes × batch).
  Mat forward(const Mat& X) const;
  /// Mean cross-entropy on (X, labels); with `dW`/`db`, also its gradients (same shapes as W, b).
  double loss(const Mat& X, const std::uint8_t* labels, std::vector<Mat>* dW = nullptr, std::vector<Vec>* db = nullptr) const;
};
using Mlp = MlpT<float>;

/// He-uniform initial weights U(±sqrt(6/fan_in)), zero biases; sizes = {784, 1024, 1024, 10}.
Mlp init_mlp(const std::vector<Index>& sizes, RngStream& rng);
/// Fraction of `data` classified correctly (argmax of the logits), in batches.
double accuracy(const Mlp& net, const Dataset& data);
/// "fc1" ... for layer 0 ...
std::string layer_name(std::size_t l);
/// fcK.weight / fcK.bias tensors (and fcK.weight_mask when `masks` is given, torch.nn.utils.prune's name).
std::vector<NamedTensor> mlp_tensors(const Mlp& net, const std::vector<Weights>* masks = nullptr);
/// Reads fc1.weight, fc1.bias, ... back (IoError/TensorError if missing or mis-shaped).
Mlp read_mlp(const std::string& path);

struct MlpTrainOptions {
  int epochs = 3;
  int batch_size = 128;
  double learning_rate = 1e-3;  ///< Adam step size
  Index train_samples = 0;      ///< first n training images; 0 = all
  int threads = 1;              ///< fixed Eigen thread count: same count, same bits
};
/// Adam (β1 0.9, β2 0.999, ε 1e-8) on mini-batches of a seeded shuffle; returns the mean training
/// loss of each epoch. Deterministic for a fixed seed and thread count.
std::vector<double> train_mlp(Mlp& net, const Dataset& train, const MlpTrainOptions& o, RngStream& rng,
                              const std::function<void(const std::string&)>& log = {});

}  // namespace nmlab
