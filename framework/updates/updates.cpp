// Weight updates on a fixed mask. All minimise the local loss L(W) = ½ tr((W − W0) H (W − W0)^T)
// subject to W ⊙ (1 − M) = 0; rows are independent:
//   min_w ½ (w − w0)^T H (w − w0)  s.t. w_j = 0 for j ∉ S   (S = kept support of the row)
#include <Eigen/Cholesky>

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"

namespace nmlab {
namespace {

class NoUpdate final : public WeightUpdate {
 public:
  using Options = NoOptions;
  explicit NoUpdate(Options) {}
  Weights apply(const LayerProblem&, const Mask&, const Weights& W_start) const override { return W_start; }
};

// Exact: on support S the optimum solves H_SS w_S = (H w0)_S  (gradient (w − w0)^T H vanishes on S).
class MaskedLstsq final : public WeightUpdate {
 public:
  struct Options {
    double ridge = 1e-10;  // relative ridge added to H_SS's diagonal when it is singular
    template <class V> void visit(V& v) {
      v("ridge", ridge, "relative diagonal ridge (× mean diag H_SS) used only if H_SS is not positive definite",
        rule::non_negative());
    }
  };
  explicit MaskedLstsq(Options o) : opt_(o) {}
  std::map<std::string, std::string> options() const override { return flatten_options(opt_); }

  Weights apply(const LayerProblem& prob, const Mask& mask, const Weights&) const override {
    const Weights HW0 = prob.W0 * prob.H;  // rows: (H w0)^T, one GEMM for all rows
    Weights W = Weights::Zero(prob.d_out(), prob.d_in());
#pragma omp parallel for schedule(dynamic, 4)
    for (Index r = 0; r < W.rows(); ++r) {
      std::vector<Index> S;
      for (Index c = 0; c < W.cols(); ++c)
        if (mask(r, c)) S.push_back(c);
      if (S.empty()) continue;
      const Index k = Index(S.size());
      Eigen::MatrixXd Hss(k, k);
      Vector b(k);
      for (Index i = 0; i < k; ++i) {
        b(i) = HW0(r, S[i]);
        for (Index j = 0; j < k; ++j) Hss(i, j) = prob.H(S[i], S[j]);
      }
      Eigen::LLT<Eigen::MatrixXd> llt(Hss);
      if (llt.info() != Eigen::Success) {  // singular H_SS: the ridge picks the minimum-norm-ish solution
        const double mean_diag = std::max(Hss.diagonal().mean(), 1e-300);
        Hss.diagonal().array() += std::max(opt_.ridge, 1e-12) * mean_diag;
        llt.compute(Hss);
      }
      const Vector w = llt.solve(b);
      for (Index i = 0; i < k; ++i) W(r, S[i]) = w(i);
    }
    return W;
  }

 private:
  Options opt_;
};

// k steps of masked gradient descent with exact line search, per row:
//   g = ((w − w0)^T H) ⊙ m,   α = ‖g‖² / (g^T H g),   w ← w − α g
class MaskedGd final : public WeightUpdate {
 public:
  struct Options {
    int steps = 20;  // gradient steps (the paper's "+GD")
    template <class V> void visit(V& v) { v("steps", steps, "number of masked gradient steps", rule::at_least(0)); }
  };
  explicit MaskedGd(Options o) : opt_(o) {}
  std::map<std::string, std::string> options() const override { return flatten_options(opt_); }

  Weights apply(const LayerProblem& prob, const Mask& mask, const Weights& W_start) const override {
    Weights W = mask.apply(W_start);
    const Weights M = mask.bits().cast<double>();
    for (int s = 0; s < opt_.steps; ++s) {
      // G = ((W − W0) H) ⊙ M       (all rows at once: one GEMM)
      const Weights G = ((W - prob.W0) * prob.H).cwiseProduct(M);
      // GH = G H                   (second GEMM, for the exact per-row step)
      const Weights GH = G * prob.H;
      const Vector num = G.rowwise().squaredNorm();
      const Vector den = GH.cwiseProduct(G).rowwise().sum();
      bool moved = false;
      for (Index r = 0; r < W.rows(); ++r) {
        if (den(r) <= 0 || num(r) == 0) continue;
        W.row(r) -= (num(r) / den(r)) * G.row(r);
        moved = true;
      }
      if (!moved) break;
    }
    return W;
  }

 private:
  Options opt_;
};

}  // namespace

void register_update_none(Registry<WeightUpdate>& r) {
  r.add<NoUpdate>("none", "keep W0 on the mask (no update)");
}
void register_masked_lstsq(Registry<WeightUpdate>& r) {
  r.add<MaskedLstsq>("masked_lstsq", "exact per-row least squares on the kept support (Cholesky of H_SS)");
}
void register_masked_gd(Registry<WeightUpdate>& r) {
  r.add<MaskedGd>("masked_gd", "k steps of per-row masked gradient descent with exact line search");
}

}  // namespace nmlab
