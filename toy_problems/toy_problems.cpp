// Toy layer problems with exactly known H (X is generated, H = X X^T / n).
#include <cmath>

#include "framework/builtins.hpp"
#include "framework/core/group_select.hpp"

namespace nmlab {
namespace {

/// X (d_in x n): groups of `group` consecutive features share a latent factor,
///   x_j = s_j (sqrt(rho) z_g + sqrt(1 − rho) ε_j),  s_j = exp(scale_sigma · N(0,1))   (log-normal scales)
Eigen::MatrixXd correlated_inputs(Index d_in, Index n, int group, double rho, double scale_sigma, RngStream& rng) {
  Vector s(d_in);
  for (Index j = 0; j < d_in; ++j) s(j) = std::exp(scale_sigma * rng.normal());
  Eigen::MatrixXd X(d_in, n);
  const double a = std::sqrt(rho), b = std::sqrt(1.0 - rho);
  for (Index t = 0; t < n; ++t)
    for (Index g = 0; g < d_in; g += group) {
      const double z = rng.normal();
      for (Index j = g; j < std::min<Index>(g + group, d_in); ++j) X(j, t) = s(j) * (a * z + b * rng.normal());
    }
  return X;
}

Index default_tokens(Index d_in, long n_tokens) { return n_tokens > 0 ? n_tokens : 4 * d_in + 200; }

struct CorrelatedGroupsOptions {
  long d_out = 32;           // rows of W0 (outputs)
  long d_in = 16;            // columns of W0 (inputs)
  double rho = 0.8;          // correlation of features inside a group
  int group_size = 4;        // features per latent factor
  double scale_sigma = 0.5;  // log-normal feature scales exp(σ N(0,1))
  long n_tokens = 0;         // calibration samples; 0 = 4·d_in + 200
  template <class V> void visit(V& v) {
    v("d_out", d_out, "rows of W0 (outputs)", rule::at_least(1));
    v("d_in", d_in, "columns of W0 (inputs); a multiple of the pattern's m", rule::at_least(1));
    v("rho", rho, "correlation of the features inside a group", rule::in_range(0, 1));
    v("group_size", group_size, "features sharing one latent factor", rule::at_least(1));
    v("scale_sigma", scale_sigma, "feature scales are exp(scale_sigma·N(0,1))", rule::non_negative());
    v("n_tokens", n_tokens, "calibration samples; 0 means 4·d_in + 200", rule::non_negative());
  }
};

class CorrelatedGroups final : public ProblemGenerator {
 public:
  using Options = CorrelatedGroupsOptions;
  explicit CorrelatedGroups(Options o) : o_(o) {}
  std::pair<Index, Index> shape() const override { return {o_.d_out, o_.d_in}; }
  std::map<std::string, std::string> options() const override { return flatten_options(o_); }
  LayerProblem make(RngStream& rng) const override {
    RngStream x_rng = rng.derive("inputs"), w_rng = rng.derive("weights");
    const Eigen::MatrixXd X =
        correlated_inputs(o_.d_in, default_tokens(o_.d_in, o_.n_tokens), o_.group_size, o_.rho, o_.scale_sigma, x_rng);
    Weights W0 = w_rng.normal_matrix(o_.d_out, o_.d_in);  // W0 ~ N(0, 1)
    return LayerProblem::from_inputs(std::move(W0), X, 0.0, "correlated_groups");
  }

 private:
  Options o_;
};

struct PlantedOptions {
  long d_out = 32;        // rows of W0
  long d_in = 16;         // columns of W0
  int n = 2;              // planted pattern: n kept of every m
  int m = 4;
  double noise = 0.1;     // W0 = W* + noise · N(0, 1)
  double rho = 0.0;       // input feature correlation inside groups of m
  long n_tokens = 0;      // 0 = 4·d_in + 200
  template <class V> void visit(V& v) {
    v("d_out", d_out, "rows of W0 (outputs)", rule::at_least(1));
    v("d_in", d_in, "columns of W0 (inputs)", rule::at_least(1));
    v("n", n, "planted sparsity: n non-zeros ...", rule::at_least(1));
    v("m", m, "... in every group of m", rule::at_least(2));
    v("noise", noise, "dense Gaussian noise added to the planted sparse W*", rule::non_negative());
    v("rho", rho, "input correlation inside groups of m", rule::in_range(0, 1));
    v("n_tokens", n_tokens, "calibration samples; 0 means 4·d_in + 200", rule::non_negative());
  }
  void validate() const { NMPattern{n, m, false}.check_shape(d_out, d_in); }
};

/// A ground-truth n:m sparse W* (random support, N(0,1) values) plus dense noise.
class Planted final : public ProblemGenerator {
 public:
  using Options = PlantedOptions;
  explicit Planted(Options o) : o_(o) {}
  std::pair<Index, Index> shape() const override { return {o_.d_out, o_.d_in}; }
  std::map<std::string, std::string> options() const override { return flatten_options(o_); }
  LayerProblem make(RngStream& rng) const override {
    RngStream x_rng = rng.derive("inputs"), w_rng = rng.derive("weights"), s_rng = rng.derive("support");
    const Eigen::MatrixXd X =
        correlated_inputs(o_.d_in, default_tokens(o_.d_in, o_.n_tokens), o_.m, o_.rho, 0.0, x_rng);
    Weights scores(o_.d_out, o_.d_in);
    for (Index i = 0; i < scores.size(); ++i) scores.data()[i] = s_rng.uniform();
    const Mask support = topn_mask(scores, NMPattern{o_.n, o_.m, false});
    Weights W0 = support.apply(w_rng.normal_matrix(o_.d_out, o_.d_in));
    W0 += o_.noise * Weights(w_rng.normal_matrix(o_.d_out, o_.d_in));
    return LayerProblem::from_inputs(std::move(W0), X, 0.0, "planted");
  }

 private:
  Options o_;
};

}  // namespace

void register_correlated_groups(Registry<ProblemGenerator>& r) {
  r.add<CorrelatedGroups>("correlated_groups",
                          "groups of features sharing a latent factor (correlation rho), log-normal scales, W0 ~ N(0,1)");
}
void register_planted(Registry<ProblemGenerator>& r) {
  r.add<Planted>("planted", "a ground-truth n:m sparse W* plus Gaussian noise");
}

}  // namespace nmlab
