// random_weights: W0 with iid Gaussian or heavy-tailed Student-t entries, H = I or a Gaussian Gram
// matrix. For the transposable-mask experiments, where the weight distribution is the variable.
#include <cmath>
#include <random>

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"

namespace nmlab {
namespace {

struct RandomWeightsOptions {
  long d_out = 64;                 // rows of W0 (outputs)
  long d_in = 64;                  // columns of W0 (inputs)
  std::string dist = "gaussian";   // entry distribution of W0
  double dof = 3.0;                // Student-t degrees of freedom
  std::string hessian = "identity";  // H = I or H = X Xᵀ / n from Gaussian X
  long n_tokens = 0;               // columns of X for hessian: gaussian; 0 = 4·d_in + 200
  template <class V> void visit(V& v) {
    v("d_out", d_out, "rows of W0 (outputs)", rule::at_least(1));
    v("d_in", d_in, "columns of W0 (inputs)", rule::at_least(1));
    v("dist", dist, "W0 entries: gaussian N(0,1) or student_t with `dof` degrees of freedom",
      rule::one_of({"gaussian", "student_t"}));
    v("dof", dof, "degrees of freedom of the Student-t entries (heavier tails when smaller)", rule::positive());
    v("hessian", hessian, "H = I (identity) or H = X Xᵀ/n with iid N(0,1) X (gaussian)",
      rule::one_of({"identity", "gaussian"}));
    v("n_tokens", n_tokens, "columns of X for hessian: gaussian; 0 means 4·d_in + 200", rule::non_negative());
  }
};

class RandomWeights final : public ProblemGenerator {
 public:
  using Options = RandomWeightsOptions;
  explicit RandomWeights(Options o) : o_(std::move(o)) {}
  std::pair<Index, Index> shape() const override { return {o_.d_out, o_.d_in}; }
  std::map<std::string, std::string> options() const override { return flatten_options(o_); }

  LayerProblem make(RngStream& rng) const override {
    RngStream w_rng = rng.derive("weights"), x_rng = rng.derive("inputs");
    Weights W0(o_.d_out, o_.d_in);
    if (o_.dist == "gaussian") {
      W0 = w_rng.normal_matrix(o_.d_out, o_.d_in);
    } else {
      // t = z / sqrt(χ²_ν / ν),  χ²_ν = 2·Gamma(ν/2, 1)
      std::gamma_distribution<double> gamma(o_.dof / 2.0, 1.0);
      for (Index k = 0; k < W0.size(); ++k) {
        const double z = w_rng.normal();
        const double chi2 = 2.0 * gamma(w_rng.engine());
        W0.data()[k] = z / std::sqrt(std::max(chi2, 1e-300) / o_.dof);
      }
    }
    if (o_.hessian == "identity")
      return LayerProblem::from_gram(std::move(W0), SymMatrix::Identity(o_.d_in, o_.d_in), 0.0, "random_weights");
    const Index n = o_.n_tokens > 0 ? o_.n_tokens : 4 * o_.d_in + 200;
    const Eigen::MatrixXd X = x_rng.normal_matrix(o_.d_in, n);
    return LayerProblem::from_inputs(std::move(W0), X, 0.0, "random_weights");
  }

 private:
  Options o_;
};

}  // namespace

void register_random_weights(Registry<ProblemGenerator>& r) {
  r.add<RandomWeights>("random_weights",
                       "W0 iid Gaussian or Student-t (dist, dof); H = identity or a Gaussian Gram matrix");
}

}  // namespace nmlab
