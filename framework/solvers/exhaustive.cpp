// exhaustive: the exact optimum of min L(W) over all N:M masks with optimal weights on each mask.
// Rows are independent: for row r with b = H w0 (w0 = row r of W0) and kept support S,
//   min_{w: supp ⊆ S} ½ (w − w0)ᵀ H (w − w0) = ½ w0ᵀ H w0 − ½ b_Sᵀ H_SS⁺ b_S,
// so the best mask maximises q(S) = b_Sᵀ H_SS⁺ b_S over the C(m,n)^(d_in/m) masks of the row. The
// masks are enumerated depth-first, one group at a time, extending a Cholesky factor of H_SS and
// y = L⁻¹ b_S by n columns per level (q = ‖y‖²): a prefix shared by many masks is factored once.
#include <Eigen/Cholesky>
#include <Eigen/QR>
#include <cmath>
#include <omp.h>

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"
#include "framework/core/timer.hpp"

namespace nmlab {
namespace {

/// Rows with fewer masks than this are searched on one thread (a team costs more than the search).
constexpr double kParallelMinMasks = 1e4;

struct ExhaustiveOptions {
  double max_masks_per_row = 2e6;  // refuse problems with more masks per row than this
  template <class V> void visit(V& v) {
    v("max_masks_per_row", max_masks_per_row,
      "largest C(m,n)^(d_in/m) (masks per row) the solver accepts; the cost is about that times (n·d_in/m)² flops "
      "per row", rule::at_least(1));
  }
};

/// log of C(m, n)^(d_in/m).
double log_masks_per_row(const NMPattern& p, Index d_in) {
  const double log_choose = std::lgamma(p.m + 1.0) - std::lgamma(p.n + 1.0) - std::lgamma(p.m - p.n + 1.0);
  return log_choose * double(d_in / p.m);
}

/// Depth-first enumeration of one row's masks with an incrementally extended Cholesky factor.
class RowSearch {
 public:
  RowSearch(const SymMatrix& H, const NMPattern& p, const std::vector<std::vector<int>>& combos)
      : H_(H), p_(p), combos_(combos), groups_(int(H.rows() / p.m)) {
    const Index k_max = Index(p.n) * groups_;
    L_ = Eigen::MatrixXd::Zero(k_max, k_max);
    y_ = Vector::Zero(k_max);
    cols_.resize(size_t(k_max));
    choice_.assign(size_t(groups_), 0);
    best_choice_.assign(size_t(groups_), 0);
  }

  /// Returns the best combo index per group for right-hand side b (= H w0 for this row).
  const std::vector<int>& run(const Vector& b) {
    b_ = &b;
    best_q_ = -1.0;
    descend(0, 0, 0.0);
    return best_choice_;
  }

 private:
  // k: columns in the factor so far (dependent columns are skipped: they add nothing to q), q = ‖y‖².
  void descend(int group, Index k, double q) {
    if (group == groups_) {
      if (q > best_q_) {  // ties keep the first mask found (deterministic)
        best_q_ = q;
        best_choice_ = choice_;
      }
      return;
    }
    for (size_t c = 0; c < combos_.size(); ++c) {
      choice_[size_t(group)] = int(c);
      Index kk = k;
      double qq = q;
      for (int idx : combos_[c]) {
        const Index j = Index(group) * p_.m + idx;
        // l = L⁻¹ H[S, j],  pivot δ = H_jj − ‖l‖²,  y_new = (b_j − l·y) / √δ
        double pivot = H_(j, j);
        double dot = 0.0;
        for (Index a = 0; a < kk; ++a) {
          double v = H_(cols_[size_t(a)], j);
          for (Index t = 0; t < a; ++t) v -= L_(a, t) * L_(kk, t);
          v /= L_(a, a);
          L_(kk, a) = v;
          pivot -= v * v;
          dot += v * y_(a);
        }
        if (!(pivot > kDependentRel * std::max(H_(j, j), 1e-300))) continue;  // in the span: q unchanged
        const double diag = std::sqrt(pivot);
        L_(kk, kk) = diag;
        y_(kk) = ((*b_)(j) - dot) / diag;
        qq += y_(kk) * y_(kk);
        cols_[size_t(kk)] = j;
        ++kk;
      }
      descend(group + 1, kk, qq);
    }
  }

  static constexpr double kDependentRel = 1e-12;  // pivot below this × H_jj: column in the span of S
  const SymMatrix& H_;
  const NMPattern& p_;
  const std::vector<std::vector<int>>& combos_;
  int groups_;
  Eigen::MatrixXd L_;
  Vector y_;
  const Vector* b_ = nullptr;
  std::vector<Index> cols_;
  std::vector<int> choice_, best_choice_;
  double best_q_ = -1.0;
};

/// All n-subsets of {0..m−1}, in lexicographic order.
std::vector<std::vector<int>> combinations(int m, int n) {
  std::vector<std::vector<int>> out;
  std::vector<int> cur;
  auto rec = [&](auto&& self, int start) -> void {
    if (int(cur.size()) == n) {
      out.push_back(cur);
      return;
    }
    for (int i = start; i < m; ++i) {
      cur.push_back(i);
      self(self, i + 1);
      cur.pop_back();
    }
  };
  rec(rec, 0);
  return out;
}

class ExhaustiveSolver final : public SolverWithOptions<ExhaustiveOptions> {
 public:
  using SolverWithOptions::SolverWithOptions;

  void check_supported(const NMPattern& p, Index d_out, Index d_in) const override {
    p.check_shape(d_out, d_in);
    if (p.transposable)
      throw Unsupported("solver 'exhaustive' enumerates the masks of each row independently, which a transposable "
                        "pattern couples; use a non-transposable pattern");
    const double log_masks = log_masks_per_row(p, d_in);
    if (log_masks > std::log(opt_.max_masks_per_row) + 1e-9)
      throw Unsupported("solver 'exhaustive' would enumerate C(" + std::to_string(p.m) + "," + std::to_string(p.n) +
                        ")^(" + std::to_string(d_in) + "/" + std::to_string(p.m) + ") = " +
                        to_text(std::exp(log_masks)) + " masks per row, above max_masks_per_row = " +
                        to_text(opt_.max_masks_per_row) + ": use a smaller d_in or raise max_masks_per_row");
  }

  SolveResult solve(const LayerProblem& prob, const NMPattern& p, Context&) const override {
    check_supported(p, prob.d_out(), prob.d_in());
    Stopwatch clock;
    const auto combos = combinations(p.m, p.n);
    const Weights B = prob.W0 * prob.H;  // row r: b = (H w0)ᵀ
    SolveResult res;
    res.mask = Mask(prob.d_out(), prob.d_in());
    Weights W = Weights::Zero(prob.d_out(), prob.d_in());
    res.summary.time_setup_s = clock.seconds();
    clock.restart();
    const int groups = int(prob.d_in() / p.m);
#pragma omp parallel if (prob.d_out() > 1 && log_masks_per_row(p, prob.d_in()) > std::log(kParallelMinMasks))
    {
      RowSearch search(prob.H, p, combos);
#pragma omp for schedule(dynamic, 1)
      for (Index r = 0; r < prob.d_out(); ++r) {
        const Vector b = B.row(r).transpose();
        const std::vector<int>& best = search.run(b);
        std::vector<Index> S;
        for (int g = 0; g < groups; ++g)
          for (int idx : combos[size_t(best[size_t(g)])]) S.push_back(Index(g) * p.m + idx);
        // optimal weights on S: H_SS w = b_S (minimum-norm solution if H_SS is singular)
        const Index k = Index(S.size());
        Eigen::MatrixXd Hss(k, k);
        Vector bs(k);
        for (Index i = 0; i < k; ++i) {
          bs(i) = b(S[size_t(i)]);
          for (Index j = 0; j < k; ++j) Hss(i, j) = prob.H(S[size_t(i)], S[size_t(j)]);
        }
        Eigen::LLT<Eigen::MatrixXd> llt(Hss);
        const Vector w = llt.info() == Eigen::Success ? Vector(llt.solve(bs))
                                                      : Vector(Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd>(Hss).solve(bs));
        for (Index i = 0; i < k; ++i) {
          res.mask.set(r, S[size_t(i)], true);
          W(r, S[size_t(i)]) = w(i);
        }
      }
    }
    res.W = std::move(W);
    res.summary.time_solve_s = clock.seconds();
    res.summary.termination = Termination::converged;
    res.summary.message = "enumerated all " + to_text(std::exp(log_masks_per_row(p, prob.d_in()))) +
                          " masks of each row";
    res.summary.iterations = 0;
    res.summary.objective_final = prob.loss(*res.W);
    res.summary.backend_used = "cpu";
    res.summary.threads_used = omp_get_max_threads();
    res.metrics["masks_per_row"] = std::exp(log_masks_per_row(p, prob.d_in()));
    return res;
  }
};

}  // namespace

void register_exhaustive(Registry<MaskSolver>& r) {
  r.add<ExhaustiveSolver>("exhaustive",
                          "exact optimum over all N:M masks with optimal weights, per row (small d_in only)");
}

}  // namespace nmlab
