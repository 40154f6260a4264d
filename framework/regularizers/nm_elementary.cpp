// nm_elementary: R(W) = Σ_groups e_{N+1}(|w_g|), zero exactly when every group has at most N non-zeros
// (2:4: Σ_groups of the |triple products|, Kübler et al. 2025). Its prox is exact per group
// (framework/kernels/prox_group.hpp).
#include <cmath>
#include <vector>

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"
#include "framework/core/layer_problem.hpp"
#include "framework/kernels/prox_group.hpp"

namespace nmlab {
namespace {

/// Below this many weights a matrix is processed by one thread: waking a team for a toy layer costs
/// more than the work, and on a loaded machine idle spinning threads get descheduled mid-barrier.
constexpr Index kParallelMinEntries = 1 << 15;

void check_groups(const Weights& W, const NMPattern& p, const char* what) {
  p.check_shape(W.rows(), W.cols(), std::string("regularizer nm_elementary (") + what + ")");
  if (p.m > kernels::kProxMaxGroup)
    throw Unsupported("regularizer nm_elementary supports groups of at most " +
                      std::to_string(kernels::kProxMaxGroup) + " weights, pattern " + p.str() +
                      " has m = " + std::to_string(p.m) + ": use a smaller m");
}

class NmElementary final : public Regularizer {
 public:
  using Options = NoOptions;
  explicit NmElementary(Options) {}

  double value(const Weights& W, const NMPattern& p) const override {
    check_groups(W, p, "value");
    // Per-row sums, added in row order afterwards: the value does not depend on the thread count.
    std::vector<double> rows(static_cast<std::size_t>(W.rows()), 0.0);
    const bool two_four = p.n == 2 && p.m == 4;
#pragma omp parallel for schedule(static) if (W.size() >= kParallelMinEntries)
    for (Index r = 0; r < W.rows(); ++r) {
      const double* row = W.row(r).data();
      double sum = 0.0;
      if (two_four) {
        // e3(|a|, |b|, |c|, |d|) = |a||b|(|c| + |d|) + |c||d|(|a| + |b|): the solver evaluates it every
        // iteration, and the general recurrence cost ~20% of a 1024² solve
#pragma omp simd reduction(+ : sum)
        for (Index g = 0; g < W.cols(); g += 4) {
          const double a = std::abs(row[g]), b = std::abs(row[g + 1]), c = std::abs(row[g + 2]), d = std::abs(row[g + 3]);
          sum += a * b * (c + d) + c * d * (a + b);
        }
      } else {
        for (Index g = 0; g < W.cols(); g += p.m) sum += kernels::elementary_symmetric_abs(row + g, p.m, p.n + 1);
      }
      rows[std::size_t(r)] = sum;
    }
    double total = 0.0;
    for (const double v : rows) total += v;
    return total;
  }

  void prox(Weights& Z, double tau, const NMPattern& p) const override { apply(Z, nullptr, 0.0, tau, p); }

  /// Fused: each row gets its gradient step and its prox while it is in cache (one pass over W
  /// and G instead of three).
  void prox_step(Weights& W, const Weights& G, double eta, double tau, const NMPattern& p) const override {
    if (G.rows() != W.rows() || G.cols() != W.cols())
      throw TensorError("prox_step: G is " + std::to_string(G.rows()) + " x " + std::to_string(G.cols()) +
                        " but W is " + std::to_string(W.rows()) + " x " + std::to_string(W.cols()));
    apply(W, &G, eta, tau, p);
  }

 private:
  /// Z ← prox_{τR}(Z − η G) (Z ← prox_{τR}(Z) without G), rows in parallel.
  static void apply(Weights& Z, const Weights* G, double eta, double tau, const NMPattern& p) {
    NMLAB_ASSERT(tau >= 0, "prox step tau must be non-negative");
    check_groups(Z, p, "prox");
    const bool two_four = p.n == 2 && p.m == 4;
    // Rows are independent; each group is an O(1) exact solve (prox_group.hpp). The finiteness check
    // of Z is fused into the row loop (a separate serial pass cost as much as the prox late in a run):
    // a row with a NaN/Inf is left as it is (after its gradient step) and reported after the loop
    // (TensorError; the other rows may already be proxed then).
    bool non_finite = false;
#pragma omp parallel for schedule(static) reduction(|| : non_finite) if (Z.size() >= kParallelMinEntries)
    for (Index r = 0; r < Z.rows(); ++r) {
      double* row = Z.row(r).data();
      // probe = Σ_c 0·z_c is NaN exactly when some z_c is NaN or ±Inf (in the gradient step's loop)
      double probe = 0.0;
      if (G) {
        const double* g = G->row(r).data();
#pragma omp simd reduction(+ : probe)
        for (Index c = 0; c < Z.cols(); ++c) {
          row[c] -= eta * g[c];
          probe += 0.0 * row[c];
        }
      } else {
#pragma omp simd reduction(+ : probe)
        for (Index c = 0; c < Z.cols(); ++c) probe += 0.0 * row[c];
      }
      if (probe != probe) {
        non_finite = true;
        continue;
      }
      if (two_four) {
        kernels::prox24_groups(row, Z.cols() / 4, tau, row);  // SIMD batches of kProxBatch groups
        continue;
      }
      for (Index g = 0; g < Z.cols(); g += p.m) kernels::prox_nm_group(row + g, p.n, p.m, tau, row + g);
    }
    if (non_finite) check_finite(Z, "prox input Z");  // throws TensorError naming the first bad entry
  }
};

}  // namespace

void register_nm_elementary(Registry<Regularizer>& r) {
  r.add<NmElementary>("nm_elementary",
                      "Σ_groups e_{N+1}(|w_g|): zero iff every group is N:M (2:4: Kübler et al. 2025); exact prox");
}

}  // namespace nmlab
