// sparsegpt: the OBS column sweep of Frantar & Alistarh (2023), after IST-DASLab/sparsegpt
// `fasterprune`, for any N:M pattern (and, with `sparsity`, unstructured).
//
//   H ← H with dead columns (H_jj = 0) set to H_jj = 1 and W_:j = 0;  H ← H + percdamp·mean(diag H)·I
//   U  = upper Cholesky factor of H⁻¹ (Uᵀ U = H⁻¹)
//   for each block of `blocksize` columns, for each group of m columns inside it:
//     choose the group's mask on the CURRENT (already updated) weights, score w²/U_jj²
//     for each column i of the group, each pruned entry (r, i):
//       err = W_ri / U_ii;  W_ri = 0;  W_r,(i+1: block end) −= err · U_i,(i+1: block end)
//   after the block:  W_:,rest −= Err · U_block,rest            (the lazy update, one GEMM)
// The lazy update is split in two levels (inside / beyond an outer block of 4 blocks): same flops,
// deeper GEMMs, fewer passes over W. Documented with the measurements in docs/SOTA.md.
//
// Rows are independent except at mask choices, so for non-transposable patterns each row chooses
// its masks and runs its column recurrence on its own (OpenMP over rows, one parallel region per
// block, on a contiguous copy of the block). Transposable patterns choose each d_out × m strip's
// mask with mask_from_scores (the transposable selector), then sweep the strip.
#include <algorithm>
#include <numeric>

#include <omp.h>

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"
#include "framework/core/timer.hpp"
#include "framework/solvers/dense_linalg.hpp"
#include "framework/solvers/score_mask.hpp"

namespace nmlab {
namespace {

constexpr Index kOuterBlocks = 4;         // blocks per outer block of the two-level lazy update
constexpr Index kMinRowsPerThread = 64;  // rows per thread in the row-split sweep
constexpr Index kParallelWork = 1 << 16;  // below this many flops per group a parallel region costs more

struct SparseGptOptions {
  int blocksize = 128;     // columns per lazy-update block
  double percdamp = 0.01;  // relative damping
  double sparsity = 0.0;   // 0 = N:M mode; in (0, 1) = unstructured
  template <class V> void visit(V& v) {
    v("blocksize", blocksize,
      "columns per lazy batched update block (a multiple of the pattern's m in N:M mode)", rule::at_least(1));
    v("percdamp", percdamp, "damping: H += percdamp · mean(diag H) · I before the Cholesky factorisation",
      rule::non_negative());
    v("sparsity", sparsity,
      "0 (default): N:M mode using the pattern. In (0, 1): unstructured mode, prune this fraction of each "
      "block (d_out x blocksize) by w²/U_jj²; the pattern then only fixes the shape check and the mask is "
      "NOT N:M (the layer task records such a trial as failed)",
      rule::in_range(0, 1));
  }
  void validate() const {
    if (sparsity >= 1)
      throw SpecError("", "solver 'sparsegpt': sparsity = 1 would prune everything; use a value in (0, 1), or 0 "
                          "for N:M mode");
  }
};

class SparseGptSolver final : public SolverWithOptions<SparseGptOptions> {
 public:
  using SolverWithOptions::SolverWithOptions;

  void check_supported(const NMPattern& p, Index d_out, Index d_in) const override {
    p.check_shape(d_out, d_in);
    if (!unstructured() && opt_.blocksize % p.m != 0)
      throw SpecError("", "solver 'sparsegpt': blocksize = " + std::to_string(opt_.blocksize) +
                              " must be a multiple of m = " + std::to_string(p.m) + " (pattern " + p.str() +
                              "), so that no group straddles two blocks; try blocksize: " +
                              std::to_string(std::max(1, opt_.blocksize / p.m) * p.m));
  }

  SolveResult solve(const LayerProblem& prob, const NMPattern& p, Context& ctx) const override {
    check_supported(p, prob.d_out(), prob.d_in());
    Stopwatch setup_clock;
    const Index d_out = prob.d_out(), d_in = prob.d_in();
    Weights W = prob.W0;
    Eigen::MatrixXd H = prob.H;
    // Dead inputs: H_jj = 0 → H_jj = 1, W_:j = 0 (the input never fires, its weight is irrelevant).
    for (Index j = 0; j < d_in; ++j)
      if (H(j, j) == 0) {
        H(j, j) = 1;
        W.col(j).setZero();
      }
    // H ← H + percdamp · mean(diag H) · I
    H.diagonal().array() += opt_.percdamp * H.diagonal().mean();
    Eigen::MatrixXd U;
    if (!upper_cholesky_of_inverse(H, U))
      throw Unsupported("solver 'sparsegpt': the damped Gram matrix is not positive definite; raise percdamp "
                        "(now " + std::to_string(opt_.percdamp) + ")");
    H.resize(0, 0);
    const double time_setup = setup_clock.seconds();

    Stopwatch clock;
    Mask mask(d_out, d_in);
    if (!unstructured() && !p.transposable) {
      // Rows never interact in this mode: each thread sweeps its own rows from the first column to
      // the last (its GEMMs single-threaded), with no barrier anywhere in the sweep.
      const int threads = int(std::clamp<Index>(d_out / kMinRowsPerThread, 1, Eigen::nbThreads()));
#pragma omp parallel num_threads(threads)
      {
        const Index t = omp_get_thread_num(), T = omp_get_num_threads();
        const Index r0 = d_out * t / T, r1 = d_out * (t + 1) / T;
        if (r1 > r0)
          sweep(WeightsMap(W.row(r0).data(), r1 - r0, d_in), BitsMap(mask.bits().row(r0).data(), r1 - r0, d_in),
                U, p, ctx);
      }
    } else {
      sweep(WeightsMap(W.data(), d_out, d_in), BitsMap(mask.bits().data(), d_out, d_in), U, p, ctx);
    }
    apply_mask_in_place(W, mask);  // pruned entries are exactly zero already; this also zeroes −0 noise

    SolveResult res;
    res.summary.time_setup_s = time_setup;
    res.summary.time_solve_s = clock.seconds();
    res.summary.termination = Termination::converged;
    res.summary.message = unstructured() ? "column sweep done (unstructured)" : "column sweep done";
    res.summary.iterations = long(d_in);
    res.summary.objective_final = quadratic_loss_chunked(W, prob.W0, prob.H);  // = prob.loss(W), less memory
    res.summary.backend_used = "cpu";
    res.summary.threads_used = Eigen::nbThreads();
    res.mask = std::move(mask);
    res.W = std::move(W);
    return res;
  }

 private:
  bool unstructured() const { return opt_.sparsity > 0; }

  using WeightsMap = Eigen::Map<Weights>;
  using BitsMap = Eigen::Map<Mask::Bits>;

  /// The whole column sweep for the rows in W (a contiguous block of rows of the full W; `bits` are
  /// the same rows of the mask).
  void sweep(WeightsMap W, BitsMap bits, const Eigen::MatrixXd& U, const NMPattern& p, Context& ctx) const {
    const Index d_out = W.rows(), d_in = W.cols();
    const Index bs = opt_.blocksize, outer = kOuterBlocks * bs;
    Weights W1, Err1, Ublk, ErrOuter;
    // Two levels of deferral: inside an outer block of kOuterBlocks·blocksize columns the usual lazy
    // update after every block; the columns beyond it get one deeper GEMM per outer block (same
    // flops, a quarter of the passes over W). Mathematically the same sweep.
    for (Index o1 = 0; o1 < d_in; o1 += outer) {
      const Index o2 = std::min(o1 + outer, d_in);
      ErrOuter.setZero(d_out, o2 - o1);
      for (Index i1 = o1; i1 < o2; i1 += bs) {
        const Index i2 = std::min(i1 + bs, o2), count = i2 - i1;
        W1 = W.middleCols(i1, count);
        Ublk = U.block(i1, i1, count, count);  // row-major copy: the sweep reads rows of U
        Err1.setZero(d_out, count);
        if (unstructured()) {
          const Mask keep = unstructured_block_mask(W1, U, i1);
          bits.middleCols(i1, count) = keep.bits();
          sweep_columns(W1, Err1, Ublk, keep, 0, count);
        } else if (p.transposable) {
          // The transposable selector needs the whole d_out × m strip at once.
          for (Index g = 0; g < count; g += p.m) {
            // Scores of the group on the current weights: S_rj = W_rj² / U_jj²
            Weights S(d_out, p.m);
            for (Index j = 0; j < p.m; ++j) S.col(j) = W1.col(g + j).array().square() / square(Ublk(g + j, g + j));
            const Mask keep = mask_from_scores(S, p, ctx);
            bits.middleCols(i1 + g, p.m) = keep.bits();
            sweep_columns(W1, Err1, Ublk, keep, g, p.m);
          }
        } else {
          Mask keep(d_out, count);
          sweep_block_nm(W1, Err1, Ublk, p, keep);
          bits.middleCols(i1, count) = keep.bits();
        }
        W.middleCols(i1, count) = W1;
        ErrOuter.middleCols(i1 - o1, count) = Err1;
        // Lazy update inside the outer block: W_:,(i2:o2) −= Err · U_(i1:i2),(i2:o2)
        if (i2 < o2) W.middleCols(i2, o2 - i2).noalias() -= Err1 * U.block(i1, i2, count, o2 - i2);
      }
      // Deferred update of every later column: W_:,(o2:) −= Err_outer · U_(o1:o2),(o2:)
      if (o2 < d_in) W.rightCols(d_in - o2).noalias() -= ErrOuter * U.block(o1, o2, o2 - o1, d_in - o2);
    }
  }


  static double square(double x) { return x * x; }

  /// Columns [c0, c0 + width) of the block (Ublk = U's diagonal block, row-major), mask `keep` of
  /// those columns given: every pruned entry's error err = w / U_ii is recorded in Err1 and
  /// propagated to the rest of the block's row.
  static void sweep_columns(Weights& W1, Weights& Err1, const Weights& Ublk, const Mask& keep, Index c0,
                            Index width) {
#pragma omp parallel for schedule(static) if (W1.rows() * width * W1.cols() > kParallelWork)
    for (Index r = 0; r < W1.rows(); ++r)
      for (Index j = 0; j < width; ++j)
        if (!keep(r, j)) prune_entry(W1, Err1, Ublk, r, c0 + j);
  }

  /// err = (w − q)/U_ii with q = 0 (pruned);  W_r,(c+1:) −= err · U_i,(i+1:)   (block-local c)
  static void prune_entry(Weights& W1, Weights& Err1, const Weights& Ublk, Index r, Index c) {
    double* w = W1.row(r).data();
    const double* u = Ublk.row(c).data();
    const double err = w[c] / u[c];
    Err1(r, c) = err;
    w[c] = 0.0;
    for (Index k = c + 1; k < W1.cols(); ++k) w[k] -= err * u[k];
  }

  /// Non-transposable N:M, whole block: rows are independent, so each row chooses each group's mask
  /// on its current weights (top-n of w²/U_jj², ties to the lower column, the rule of topn_mask and
  /// hence of mask_from_scores) and sweeps the group, in one parallel region per block.
  static void sweep_block_nm(Weights& W1, Weights& Err1, const Weights& Ublk, const NMPattern& p, Mask& keep) {
    const Index count = W1.cols();
#pragma omp parallel if (W1.rows() * count * count > kParallelWork)
    {
      std::vector<int> order(size_t(p.m));
      std::vector<double> score(size_t(p.m));
#pragma omp for schedule(static)
      for (Index r = 0; r < W1.rows(); ++r)
        for (Index g = 0; g < count; g += p.m) {
          for (int j = 0; j < p.m; ++j) score[size_t(j)] = square(W1(r, g + j)) / square(Ublk(g + j, g + j));
          std::iota(order.begin(), order.end(), 0);
          std::partial_sort(order.begin(), order.begin() + p.n, order.end(), [&](int a, int b) {
            return score[size_t(a)] > score[size_t(b)] || (score[size_t(a)] == score[size_t(b)] && a < b);
          });
          for (int k = 0; k < p.n; ++k) keep.set(r, g + order[size_t(k)], true);
          for (int j = 0; j < p.m; ++j)
            if (!keep(r, g + j)) prune_entry(W1, Err1, Ublk, r, g + j);
        }
    }
  }

  /// Unstructured mode: in the block, prune the round(sparsity · d_out · count) entries with the
  /// smallest w²/U_jj² (ties: lower linear index first pruned). Returned mask is block-local.
  Mask unstructured_block_mask(const Weights& W1, const Eigen::MatrixXd& U, Index i1) const {
    const Index rows = W1.rows(), cols = W1.cols(), total = rows * cols;
    std::vector<double> s(static_cast<size_t>(total));
    for (Index r = 0; r < rows; ++r)
      for (Index c = 0; c < cols; ++c) {
        const double u = U(i1 + c, i1 + c);
        s[size_t(r * cols + c)] = W1(r, c) * W1(r, c) / (u * u);
      }
    const Index n_prune = std::clamp<Index>(Index(std::llround(opt_.sparsity * double(total))), 0, total);
    std::vector<Index> order(static_cast<size_t>(total));
    std::iota(order.begin(), order.end(), Index(0));
    std::nth_element(order.begin(), order.begin() + n_prune, order.end(), [&](Index a, Index b) {
      return s[size_t(a)] < s[size_t(b)] || (s[size_t(a)] == s[size_t(b)] && a < b);
    });
    Mask keep(rows, cols);
    keep.bits().setOnes();
    for (Index k = 0; k < n_prune; ++k) keep.set(order[size_t(k)] / cols, order[size_t(k)] % cols, false);
    return keep;
  }
};

}  // namespace

void register_sparsegpt(Registry<MaskSolver>& r) {
  r.add<SparseGptSolver>("sparsegpt",
                         "OBS column sweep with lazy block updates; mask re-chosen per group on updated weights "
                         "(Frantar & Alistarh 2023)");
}

}  // namespace nmlab
