// prox: proximal gradient on L(W) + λ R(W) with a growing λ (Kübler et al. 2025, "Matrix Prox Pruner
// 2:4"; the schedule is the reconstruction of shared/research/prox24.md §4, see docs/PROX.md):
//   Z = W − η (W − W0) H,   W ← prox_{ηλ R}(Z),   λ ← κ λ
// until every group is N:M (or max_iters, then the top-n projection). η = 1/λ_max(H).
#include <vector>
#include <Eigen/Core>
#include <cmath>
#include <omp.h>

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"
#include "framework/core/group_select.hpp"
#include "framework/core/timer.hpp"
#include "framework/solvers/dense_linalg.hpp"

namespace nmlab {
namespace {

/// Below this many weights the per-iteration loops run on one thread (see nm_elementary.cpp).
constexpr Index kParallelMinEntries = 1 << 15;

struct ProxOptions {
  double lambda0_rel = 1e-3;     // λ0 = lambda0_rel · λ_max(H) / max|W0|  (τ0 = η λ0 = lambda0_rel / max|W0|)
  double lambda_growth = 1.01;   // κ: λ ← κ λ after every iteration
  int max_iters = 5000;          // iteration cap; then project to the top-n per group
  bool normalized = false;       // work in W̃ = W·diag(√H_jj) with H̃ = D⁻¹ H D⁻¹
  std::string regularizer = "nm_elementary";  // registry key of R
  int power_iters = 100;         // power-iteration cap for λ_max(H)
  double step_safety = 1.0;      // η = 1 / (step_safety · λ_max(H))
  template <class V> void visit(V& v) {
    v("lambda0_rel", lambda0_rel,
      "initial strength: λ0 = lambda0_rel·λ_max(H)/max|W0|, i.e. the first prox step τ0 = ηλ0 = lambda0_rel/max|W0|",
      rule::positive());
    v("lambda_growth", lambda_growth, "geometric growth κ of λ per iteration (slow growth finds better masks)",
      rule::greater_than(1));
    v("max_iters", max_iters, "iteration cap; a run that hits it is projected to the top-n per group",
      rule::at_least(1));
    v("normalized", normalized, "iterate on W·diag(sqrt(H_jj)) with H̃ = D⁻¹HD⁻¹ (ALPS-style scaling of R)");
    v("regularizer", regularizer, "regularizer R (registry key, see `nmlab list regularizers`)");
    v("power_iters", power_iters, "power-iteration steps for λ_max(H)", rule::at_least(1));
    v("step_safety", step_safety, "η = 1/(step_safety·λ_max(H)); > 1 guards a low λ_max estimate",
      rule::at_least(1));
  }
};

/// Σ_r ⟨G_r, W_r − W0_r⟩: rows in parallel (a serial Eigen reduction cost ~10% of a 1024² solve),
/// summed in row order afterwards, so the value does not depend on the thread count.
double row_dot_sum(const Weights& G, const Weights& W, const Weights& W0) {
  std::vector<double> rows(static_cast<std::size_t>(W.rows()));
#pragma omp parallel for schedule(static) if (W.size() >= kParallelMinEntries)
  for (Index r = 0; r < W.rows(); ++r) rows[std::size_t(r)] = G.row(r).dot(W.row(r) - W0.row(r));
  double total = 0.0;
  for (const double v : rows) total += v;
  return total;
}

class ProxSolver final : public SolverWithOptions<ProxOptions> {
 public:
  using SolverWithOptions::SolverWithOptions;

  void check_supported(const NMPattern& p, Index d_out, Index d_in) const override {
    p.check_shape(d_out, d_in);
    if (p.transposable)
      throw Unsupported("solver 'prox' handles non-transposable patterns only (its regularizer acts on groups along "
                        "rows); use pattern " + std::to_string(p.n) + ":" + std::to_string(p.m) +
                        " without transposable, or a transposable solver");
    builtins().regularizers.at(opt_.regularizer);  // unknown key: SpecError listing the known ones
  }

  SolveResult solve(const LayerProblem& prob, const NMPattern& p, Context& ctx) const override {
    check_supported(p, prob.d_out(), prob.d_in());
    Stopwatch clock;
    const auto reg = builtins().regularizers.make(opt_.regularizer, Params());
    const int threads = omp_get_max_threads();

    // Working coordinates: W̃ = W D, H̃ = D⁻¹ H D⁻¹ (D = I unless normalized); L is unchanged.
    Vector d = Vector::Ones(prob.d_in());
    if (opt_.normalized)
      for (Index j = 0; j < d.size(); ++j) d(j) = prob.H(j, j) > 0 ? std::sqrt(prob.H(j, j)) : 1.0;
    const Vector d_inv = d.cwiseInverse();
    const SymMatrix H = d_inv.asDiagonal() * prob.H * d_inv.asDiagonal();
    const Weights W0 = prob.W0 * d.asDiagonal();

    const double lmax = largest_eigenvalue(H, opt_.power_iters, ctx.rng.derive("prox_power"));
    const double w_scale = W0.cwiseAbs().maxCoeff();
    SolveResult res;
    res.summary.backend_used = "cpu";
    res.summary.threads_used = threads;
    if (!(lmax > 0) || !(w_scale > 0)) {  // nothing to fit: L ≡ 0 or W0 = 0
      res.mask = topn_mask(prob.W0.cwiseAbs(), p);
      res.W = res.mask.apply(prob.W0);
      res.summary.termination = Termination::converged;
      res.summary.message = "degenerate problem (H = 0 or W0 = 0): top-n of |W0|";
      res.summary.iterations = 0;
      res.summary.time_setup_s = clock.seconds();
      res.summary.time_solve_s = 0.0;
      return res;
    }
    const double eta = 1.0 / (opt_.step_safety * lmax);
    double lambda = opt_.lambda0_rel * lmax / w_scale;
    res.summary.time_setup_s = clock.seconds();
    clock.restart();

    Weights W = W0, G(W0.rows(), W0.cols());
    auto& lambda_trace = res.traces["lambda"];
    auto& open_trace = res.traces["groups_not_nm"];
    auto& objective_trace = res.traces["objective"];
    auto& product_trace = res.traces["time_product_s"];  // per iteration: where the time goes
    auto& prox_trace = res.traces["time_prox_s"];
    long it = 0;
    long open_groups = -1;
    double time_product = 0.0, time_prox = 0.0;
    for (; it < opt_.max_iters; ++it) {
      // G = (W − W0) H̃   (Eigen GEMM: 2 d_out d_in² flops, the cost of an iteration)
      Stopwatch phase;
      G.noalias() = (W - W0) * H;
      product_trace.push_back(phase.seconds());
      time_product += product_trace.back();
      // objective at the current iterate: L(W) + λ R(W) = ½ ⟨G, W − W0⟩ + λ R(W)
      const double loss = 0.5 * row_dot_sum(G, W, W0);
      objective_trace.push_back(loss + lambda * reg->value(W, p));
      if (it == 0) res.summary.objective_initial = objective_trace.back();
      // Z = W − η G;  W ← prox_{ηλR}(Z)  (group-wise, rows in parallel)
      phase.restart();
      reg->prox_step(W, G, eta, eta * lambda, p);  // W ← prox_{ηλR}(W − η G)
      prox_trace.push_back(phase.seconds());
      time_prox += prox_trace.back();
      open_groups = groups_not_nm(W, p);
      lambda_trace.push_back(lambda);
      open_trace.push_back(double(open_groups));
      if (open_groups == 0) {
        ++it;
        break;
      }
      lambda *= opt_.lambda_growth;
    }

    // Mask: the non-zeros of W (top-n |W| if a group still has more); groups left with fewer than n
    // non-zeros are topped up by the Wanda score |W0_ij|·sqrt(H_jj).
    Weights scores(W.rows(), W.cols());
    const double w_max = std::max(W.cwiseAbs().maxCoeff(), 1e-300);
    const Vector col = prob.H.diagonal().cwiseMax(0.0).cwiseSqrt();
    const Weights wanda = prob.W0.cwiseAbs() * col.asDiagonal();
    const double wanda_max = wanda.maxCoeff() * (1.0 + 1e-12) + 1e-300;
    for (Index r = 0; r < W.rows(); ++r)
      for (Index c = 0; c < W.cols(); ++c)
        scores(r, c) = W(r, c) != 0.0 ? 2.0 + std::abs(W(r, c)) / w_max : wanda(r, c) / wanda_max;
    res.mask = topn_mask(scores, p);
    res.W = res.mask.apply(W * d_inv.asDiagonal());  // back to original coordinates

    res.summary.iterations = it;
    res.summary.time_solve_s = clock.seconds();
    res.summary.objective_final = prob.loss(*res.W);
    if (open_groups == 0) {
      res.summary.termination = Termination::converged;
      res.summary.message = "every group is " + p.str() + " after " + std::to_string(it) + " iterations";
    } else {
      res.summary.termination = Termination::max_iters;
      res.summary.message = std::to_string(open_groups) + " groups were not " + p.str() + " after max_iters = " +
                            std::to_string(opt_.max_iters) + "; projected to the top-" + std::to_string(p.n) +
                            " (raise max_iters or lambda_growth)";
    }
    res.metrics["eta"] = eta;
    res.metrics["time_product_s"] = time_product;  // Σ over iterations of the (W − W0)H product
    res.metrics["time_prox_s"] = time_prox;        // Σ over iterations of Z = W − ηG and the prox
    res.metrics["lambda_final"] = lambda;
    res.metrics["groups_not_nm_at_stop"] = double(open_groups);
    return res;
  }

 private:
  /// Number of groups with more than n non-zeros.
  static long groups_not_nm(const Weights& W, const NMPattern& p) {
    long open = 0;
#pragma omp parallel for reduction(+ : open) schedule(static) if (W.size() >= kParallelMinEntries)
    for (Index r = 0; r < W.rows(); ++r) {
      const double* row = W.row(r).data();
      for (Index g = 0; g < W.cols(); g += p.m) {
        int nz = 0;
        for (int k = 0; k < p.m; ++k) nz += row[g + k] != 0.0;
        open += nz > p.n;
      }
    }
    return open;
  }
};

}  // namespace

void register_prox(Registry<MaskSolver>& r) {
  r.add<ProxSolver>("prox",
                    "proximal gradient on L + λR with growing λ until every group is N:M (Kübler et al. 2025)");
}

}  // namespace nmlab
