// Transposable N:M mask solvers: a saliency score (magnitude | wanda | sparsegpt) on W0, then one of
// the transposable selectors of transposable.hpp. The pattern's `transposable` flag is implied: these
// solvers always return a transposable mask (which satisfies the plain n:m pattern too), and they
// check the shape as if the flag were set (d_out and d_in multiples of m).
#include <omp.h>

#include <functional>

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"
#include "framework/core/timer.hpp"
#include "framework/solvers/transposable.hpp"

namespace nmlab {
namespace {

constexpr double kSparseGptDamping = 0.01;  // δ: H + δ·mean(diag H)·I, as in IST-DASLab/sparsegpt

const Rule kScoreRule = rule::one_of({"magnitude", "wanda", "sparsegpt"});
constexpr const char* kScoreDoc =
    "saliency: magnitude |w|, wanda |w|·sqrt(H_jj), sparsegpt w²/[(H + 1% damping)⁻¹]_jj²";

/// Saliency score matrix of W0 under `score`.
Weights saliency(const LayerProblem& prob, const std::string& score) {
  if (score == "magnitude") return prob.W0.cwiseAbs();  // S_ij = |W_ij|
  if (score == "wanda") {
    // S_ij = |W_ij| · sqrt(H_jj)
    const Vector col_norm = prob.H.diagonal().cwiseMax(0.0).cwiseSqrt();
    return prob.W0.cwiseAbs() * col_norm.asDiagonal();
  }
  if (score == "sparsegpt") {
    // S_ij = W_ij² / [H_δ⁻¹]_jj²,  H_δ = H + δ·mean(diag H)·I
    SymMatrix Hd = prob.H;
    const double mean_diag = Hd.diagonal().mean();
    Hd.diagonal().array() += kSparseGptDamping * (mean_diag > 0 ? mean_diag : 1.0);
    Eigen::LLT<SymMatrix> llt(Hd);
    if (llt.info() != Eigen::Success)
      throw TensorError("sparsegpt score: H + 1% damping is not positive definite; check the layer's H");
    const SymMatrix Hinv = llt.solve(SymMatrix::Identity(Hd.rows(), Hd.cols()));
    const Vector inv_d2 = Hinv.diagonal().array().square().inverse();
    return prob.W0.cwiseAbs2() * inv_d2.asDiagonal();
  }
  throw SpecError("", "unknown score '" + score + "'; known: magnitude, wanda, sparsegpt");
}

struct TnOptions {
  std::string score = "magnitude";  // saliency the mask maximises
  template <class V> void visit(V& v) { v("score", score, kScoreDoc, kScoreRule); }
};

struct TsenorSolverOptions {
  std::string score = "magnitude";
  TsenorOptions tsenor;
  template <class V> void visit(V& v) {
    v("score", score, kScoreDoc, kScoreRule);
    tsenor.visit(v);
  }
};

struct TnRandomOptions {
  std::string score = "magnitude";
  int k = 100;  // random valid masks tried per tile
  template <class V> void visit(V& v) {
    v("score", score, kScoreDoc, kScoreRule);
    v("k", k, "random valid tile masks tried per tile; the best is kept", rule::at_least(1));
  }
};

/// One solver class for every selector: Select(scores, pattern, options, ctx, report) → Mask.
template <class O>
class TransposableSolver final : public SolverWithOptions<O> {
 public:
  using Select = std::function<Mask(const Weights&, const NMPattern&, const O&, Context&, TileReport*)>;
  TransposableSolver(O o, std::string name, Select select, int only_m = 0)
      : SolverWithOptions<O>(std::move(o)), name_(std::move(name)), select_(std::move(select)), only_m_(only_m) {}

  void check_supported(const NMPattern& p, Index d_out, Index d_in) const override {
    check_transposable_shape(p, d_out, d_in, "solver '" + name_ + "'");
    if (only_m_ && p.m != only_m_)
      throw Unsupported("solver '" + name_ + "' needs m = " + std::to_string(only_m_) + ", but the pattern is " +
                        p.str() + ": use tn_flow (exact for any n:m)");
  }

  SolveResult solve(const LayerProblem& prob, const NMPattern& pattern, Context& ctx) const override {
    NMPattern p = pattern;
    p.transposable = true;
    check_supported(p, prob.d_out(), prob.d_in());
    Stopwatch setup;
    const Weights scores = saliency(prob, this->opt_.score);
    SolveResult res;
    res.summary.time_setup_s = setup.seconds();
    Stopwatch clock;
    TileReport report;
    res.mask = select_(scores, p, this->opt_, ctx, &report);
    res.summary.time_solve_s = clock.seconds();
    const double optimum = name_ == "tn_flow" || name_ == "tn_exact4" ? kept_score(scores, res.mask) : -1.0;
    res.metrics = transposable_metrics(scores, p, res.mask, report, optimum);
    res.summary.termination = Termination::converged;
    res.summary.message = name_ + " on " + this->opt_.score + " scores, " + std::to_string(report.tiles) +
                          " tiles, " + std::to_string(report.tiles_short) + " short before completion";
    res.summary.iterations = 0;
    res.summary.objective_final = res.metrics["kept_score"];
    res.summary.backend_used = "cpu";
    res.summary.threads_used = omp_get_max_threads();
    return res;
  }

 private:
  std::string name_;
  Select select_;
  int only_m_;
};

template <class O>
void add(Registry<MaskSolver>& r, const std::string& name, const std::string& summary,
         typename TransposableSolver<O>::Select select, int only_m = 0) {
  const std::string context = "solver '" + name + "'";
  r.add(Registry<MaskSolver>::Entry{name, summary, describe_options<O>(), [=](const Params& params) {
                                      return std::unique_ptr<MaskSolver>(std::make_unique<TransposableSolver<O>>(
                                          parse_options<O>(params, context), name, select, only_m));
                                    }});
}

}  // namespace

void register_transposable(Registry<MaskSolver>& r) {
  add<TnOptions>(r, "tn_flow", "exact transposable n:m mask for any m: min-cost flow per tile (integer costs)",
                 [](const Weights& s, const NMPattern& p, const TnOptions&, Context&, TileReport* rep) {
                   return tn_flow_mask(s, p, rep);
                 });
  add<TnOptions>(r, "tn_exact4", "exact transposable n:4 mask: best of all 90 (2:4) or 24 (1:4, 3:4) tile patterns",
                 [](const Weights& s, const NMPattern& p, const TnOptions&, Context&, TileReport* rep) {
                   return tn_exact4_mask(s, p, rep);
                 },
                 4);
  add<TsenorSolverOptions>(
      r, "tsenor", "TSENOR: entropic optimal transport (Dykstra) + greedy rounding + local search (Meng et al. 2025)",
      [](const Weights& s, const NMPattern& p, const TsenorSolverOptions& o, Context&, TileReport* rep) {
        return tsenor_mask(s, p, o.tsenor, rep);
      });
  add<TnOptions>(r, "tn_greedy", "transposable keep-greedy: heaviest entry first while its row and column have room",
                 [](const Weights& s, const NMPattern& p, const TnOptions&, Context&, TileReport* rep) {
                   return tn_greedy_mask(s, p, rep);
                 });
  add<TnOptions>(r, "tn_2approx", "Hubara et al. 2021 2-approximation: prune lightest first while a row or column needs it",
                 [](const Weights& s, const NMPattern& p, const TnOptions&, Context&, TileReport* rep) {
                   return tn_2approx_mask(s, p, rep);
                 });
  add<TnOptions>(r, "bi_nm", "Bi-NM baseline: row-wise n:m, then column-wise n:m of what is left (then completed)",
                 [](const Weights& s, const NMPattern& p, const TnOptions&, Context&, TileReport* rep) {
                   return bi_nm_mask(s, p, rep);
                 });
  add<TnRandomOptions>(r, "tn_random_best_of_k", "best of k random valid transposable tile masks (Max1000-style baseline)",
                       [](const Weights& s, const NMPattern& p, const TnRandomOptions& o, Context& ctx,
                          TileReport* rep) {
                         return tn_random_best_of_k_mask(s, p, o.k, ctx.rng.derive("tn_random"), rep);
                       });
}

}  // namespace nmlab
