// `layer_file`: a real layer's problem from tensor files. W0 from `weights`/`tensor`, and either the
// calibration inputs X (H = X Xᵀ / n_tokens) or a ready Gram matrix H. Any format of
// framework/io/tensor_file.hpp (safetensors, .npy, .npz, HDF5). shape() reads headers only.
#include <algorithm>

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"
#include "framework/io/tensor_file.hpp"

namespace nmlab {
namespace {

struct LayerFileOptions {
  std::string weights;                       // file holding W0
  std::string tensor;                        // W0's name in it ("" if the file holds one tensor)
  std::string weights_layout = "out_in";     // out_in: [d_out, d_in] (PyTorch); in_out: [d_in, d_out] (Keras/JAX)
  std::string inputs;                        // file holding X ("" = the weights file, if inputs_tensor is set)
  std::string inputs_tensor;                 // X's name; "{layer}" = tensor without ".weight", "{tensor}" = tensor
  std::string inputs_layout = "tokens_first";  // tokens_first: [..., d_in] (activations); features_first: [d_in, n]
  std::string gram;                          // file holding H instead of X ("" = the weights file, if gram_tensor is set)
  std::string gram_tensor;                   // H's name, [d_in, d_in]; same placeholders as inputs_tensor
  double damping = 0.0;                      // adds damping · mean(diag H) to diag H
  long max_tokens = 0;                       // use the first max_tokens tokens of X; 0 = all
  template <class V> void visit(V& v) {
    v("weights", weights, "file with W0 (.safetensors, .npy, .npz, .h5)");
    v("tensor", tensor,
      "name of W0 in that file (\"\" if it holds one tensor); one name per trial: list several names to sweep layers");
    v("weights_layout", weights_layout, "out_in: W0 is [d_out, d_in] as in torch.nn.Linear; in_out: [d_in, d_out]",
      rule::one_of({"out_in", "in_out"}));
    v("inputs", inputs, "file with the calibration inputs X (\"\" = the weights file when inputs_tensor is set)");
    v("inputs_tensor", inputs_tensor,
      "name of X; {layer} is replaced by `tensor` without a trailing .weight, {tensor} by `tensor`");
    v("inputs_layout", inputs_layout,
      "tokens_first: X is [..., d_in] (leading dims are flattened into tokens); features_first: X is [d_in, n_tokens]",
      rule::one_of({"tokens_first", "features_first"}));
    v("gram", gram, "file with the Gram matrix H = X Xᵀ/n instead of X (\"\" = the weights file when gram_tensor is set)");
    v("gram_tensor", gram_tensor, "name of H ([d_in, d_in]); same placeholders as inputs_tensor");
    v("damping", damping, "relative damping: adds damping · mean(diag H) to diag H", rule::non_negative());
    v("max_tokens", max_tokens, "use only the first max_tokens calibration tokens; 0 = all", rule::non_negative());
  }
  bool has_inputs() const { return !inputs.empty() || !inputs_tensor.empty(); }
  bool has_gram() const { return !gram.empty() || !gram_tensor.empty(); }
  void validate() const {
    if (weights.empty()) throw SpecError("", "needs `weights: FILE` (a .safetensors, .npy, .npz or .h5 file)");
    if (is_tensor_glob(tensor))
      throw SpecError("", "tensor '" + tensor +
                              "' is a glob; a trial takes one layer: write the names as a list (tensor: [a.weight, "
                              "b.weight]), see docs/REAL_LAYERS.md for listing a file's names");
    if (has_inputs() == has_gram())
      throw SpecError("", "needs exactly one of `inputs`/`inputs_tensor` (calibration activations X) "
                          "or `gram`/`gram_tensor` (H = X Xᵀ/n)");
  }
};

/// "{layer}" -> tensor name without a trailing ".weight"/"/weight"; "{tensor}" -> the tensor name.
std::string substitute(std::string text, const std::string& tensor) {
  std::string layer = tensor;
  for (const std::string suffix : {".weight", "/weight"})
    if (layer.size() > suffix.size() && layer.compare(layer.size() - suffix.size(), suffix.size(), suffix) == 0)
      layer.resize(layer.size() - suffix.size());
  for (const auto& [key, value] : {std::pair<std::string, std::string>{"{layer}", layer}, {"{tensor}", tensor}})
    for (std::size_t at; (at = text.find(key)) != std::string::npos;) text.replace(at, key.size(), value);
  return text;
}

std::string dims(const TensorInfo& t) { return "'" + t.name + "' has shape " + t.shape_str(); }

class LayerFile final : public ProblemGenerator {
 public:
  using Options = LayerFileOptions;
  explicit LayerFile(Options o) : o_(std::move(o)) {
    if (o_.tensor.empty()) {  // a file with exactly one tensor needs no name
      const auto all = list_tensors(o_.weights);
      if (all.size() != 1) {
        std::string names;
        for (std::size_t k = 0; k < all.size() && k < 12; ++k) names += (k ? ", " : "") + all[k].name;
        throw SpecError("", o_.weights + " holds " + std::to_string(all.size()) +
                                " tensors; set `tensor:` to one of: " + names);
      }
      o_.tensor = all.front().name;
    }
    const std::string& input_default = o_.weights;
    if (o_.has_inputs()) {
      inputs_file_ = o_.inputs.empty() ? input_default : o_.inputs;
      inputs_name_ = substitute(o_.inputs_tensor, o_.tensor);
    } else {
      gram_file_ = o_.gram.empty() ? input_default : o_.gram;
      gram_name_ = substitute(o_.gram_tensor, o_.tensor);
    }
  }

  std::map<std::string, std::string> options() const override { return flatten_options(o_); }

  /// Reads headers only: W0's shape, and that X or H fits it.
  std::pair<Index, Index> shape() const override {
    const TensorInfo w = tensor_info(o_.weights, o_.tensor);
    if (w.shape.size() != 2)
      throw TensorError(o_.weights + ": weights " + dims(w) + "; a linear layer's weights are 2-D");
    const bool in_out = o_.weights_layout == "in_out";
    const Index d_out = in_out ? w.shape[1] : w.shape[0], d_in = in_out ? w.shape[0] : w.shape[1];
    if (o_.has_inputs()) {
      const TensorInfo x = tensor_info(inputs_file_, inputs_name_);
      if (o_.inputs_layout == "tokens_first") {
        if (x.shape.empty() || x.shape.back() != d_in)
          throw TensorError(inputs_file_ + ": inputs " + dims(x) + " but W0 has d_in = " + std::to_string(d_in) +
                            ": with inputs_layout tokens_first the last dimension must be d_in (or set "
                            "inputs_layout: features_first)");
      } else if (x.shape.size() != 2 || x.shape[0] != d_in) {
        throw TensorError(inputs_file_ + ": inputs " + dims(x) + " but W0 has d_in = " + std::to_string(d_in) +
                          ": with inputs_layout features_first X must be [d_in, n_tokens] (or set inputs_layout: "
                          "tokens_first)");
      }
      if (x.numel() == 0) throw TensorError(inputs_file_ + ": inputs " + dims(x) + ": no calibration tokens");
    } else {
      const TensorInfo h = tensor_info(gram_file_, gram_name_);
      if (h.shape != std::vector<std::int64_t>{d_in, d_in})
        throw TensorError(gram_file_ + ": Gram matrix " + dims(h) + " but W0 has d_in = " + std::to_string(d_in) +
                          ": H must be [d_in, d_in]");
    }
    return {d_out, d_in};
  }

  LayerProblem make(RngStream&) const override {
    const auto [d_out, d_in] = shape();
    Weights W0 = read_matrix(o_.weights, o_.tensor);
    if (o_.weights_layout == "in_out") W0 = Weights(W0.transpose());
    NMLAB_ASSERT(W0.rows() == d_out && W0.cols() == d_in, "shape() and the data disagree");
    if (!o_.has_inputs()) {
      SymMatrix H = read_matrix(gram_file_, gram_name_);
      return LayerProblem::from_gram(std::move(W0), std::move(H), o_.damping, o_.tensor);
    }
    const Tensor x = read_tensor(inputs_file_, inputs_name_, /*require_finite=*/true);
    const Index n_all = Index(x.data.size()) / d_in;
    const Index n = o_.max_tokens > 0 ? std::min<Index>(n_all, o_.max_tokens) : n_all;
    Eigen::MatrixXd X(d_in, n);
    if (o_.inputs_layout == "tokens_first")
      // [n, d_in] row-major is [d_in, n] column-major: token t is column t.
      X = Eigen::Map<const Eigen::MatrixXd>(x.data.data(), d_in, n_all).leftCols(n);
    else
      X = Eigen::Map<const Weights>(x.data.data(), d_in, n_all).leftCols(n);
    return LayerProblem::from_inputs(std::move(W0), X, o_.damping, o_.tensor);
  }

 private:
  Options o_;
  std::string inputs_file_, inputs_name_, gram_file_, gram_name_;
};

}  // namespace

void register_layer_file(Registry<ProblemGenerator>& r) {
  r.add<LayerFile>("layer_file",
                   "a real layer: W0 and calibration inputs X (or H) from .safetensors/.npy/.npz/HDF5 files");
}

}  // namespace nmlab
