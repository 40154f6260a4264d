#pragma once
// Transposable N:M selectors: a score matrix in, a transposable Mask out.
//
// A transposable n:m mask keeps exactly n entries in every row and every column of each m x m tile
// (tiles = m consecutive rows x m consecutive columns, independent of each other). Every selector
// maximises (exactly or approximately) the kept score Σ_{kept} S_ij, tile by tile, in parallel over
// tiles with OpenMP. Specs: shared/research/tsenor.md, shared/research/exact_transposable.md;
// user documentation: docs/TRANSPOSABLE.md.
//
//   tn_exact4            m = 4 only: best of the 90 (2:4) or 24 (1:4, 3:4) valid tile patterns
//   tn_flow              exact for any n, m: min-cost flow by successive shortest paths, integer costs
//   tsenor               entropic OT + Dykstra (capacity 1) + greedy rounding + local search
//   tn_greedy            keep the heaviest entry while its row and column have room
//   tn_2approx           prune the lightest entry while its row or column lacks m − n pruned
//   bi_nm                row-wise top-n, then column-wise top-n of what is left
//   tn_random_best_of_k  best of k random valid tile masks (permuted circulants)
//
// Heuristics may leave a row/column of a tile with fewer than n kept ("short"); every selector then
// completes the tile by augmenting paths (a hardware mask needs exactly n), and reports how many
// tiles were short before that completion in TileReport::tiles_short.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "framework/core/mask.hpp"
#include "framework/core/options.hpp"
#include "framework/core/rng.hpp"
#include "framework/solvers/mask_solver.hpp"

namespace nmlab {

/// What a transposable selector reports about one call.
struct TileReport {
  long tiles = 0;        ///< number of m x m tiles
  long tiles_short = 0;  ///< tiles where some row/column kept fewer than n before completion
  /// Σ kept score of the method's own masks before completion; NaN when the method needs none.
  double kept_before_completion = std::numeric_limits<double>::quiet_NaN();
};

/// Options of the TSENOR selector (entropic optimal transport, Meng et al. 2025).
struct TsenorOptions {
  double tau = 3.0;       ///< inverse temperature on the per-tile normalised scores (see normalize)
  int iterations = 30;    ///< Dykstra sweeps (row scaling, column scaling, capacity projection)
  int repair_steps = -1;  ///< local-search 3-cycle swaps per tile after rounding; −1 means m
  std::string normalize = "std";  ///< τ's unit per tile: std (standard deviation) or range (max − min)
  template <class V> void visit(V& v) {
    v("tau", tau, "inverse temperature τ: K = exp(τ·(A − max A)/spread) per tile, spread from `normalize`", rule::positive());
    v("iterations", iterations, "Dykstra iterations (row, column, capacity steps)", rule::at_least(1));
    v("repair_steps", repair_steps, "local-search swaps per tile after greedy rounding; -1 means m",
      rule::at_least(-1));
    v("normalize", normalize, "spread per tile: std (standard deviation, robust to outliers) or range (max − min)",
      rule::one_of({"std", "range"}));
  }
};

/// Throws SpecError unless `scores` (d_out x d_in) can be tiled by m x m tiles and 0 < n < m.
void check_transposable_shape(const NMPattern& p, Index d_out, Index d_in, const std::string& where = "");

/// Exact for m = 4 by enumeration (throws Unsupported for other m).
Mask tn_exact4_mask(const Weights& scores, const NMPattern& p, TileReport* report = nullptr);
/// Exact for any n:m by min-cost flow (successive shortest paths with potentials, int64 costs).
Mask tn_flow_mask(const Weights& scores, const NMPattern& p, TileReport* report = nullptr);
Mask tsenor_mask(const Weights& scores, const NMPattern& p, const TsenorOptions& o, TileReport* report = nullptr);
Mask tn_greedy_mask(const Weights& scores, const NMPattern& p, TileReport* report = nullptr);
Mask tn_2approx_mask(const Weights& scores, const NMPattern& p, TileReport* report = nullptr);
Mask bi_nm_mask(const Weights& scores, const NMPattern& p, TileReport* report = nullptr);
/// k random valid tile masks per tile (σ-permuted rows and τ-permuted columns of the circulant
/// pattern S_ij = [(i − j) mod m < n]); each tile draws from its own stream derived from `rng`.
Mask tn_random_best_of_k_mask(const Weights& scores, const NMPattern& p, int k, const RngStream& rng,
                              TileReport* report = nullptr);

/// Names accepted by ctx.transposable_method / transposable_mask().
const std::vector<std::string>& transposable_methods();
/// Throws SpecError (at `where`, listing the names) unless `method` is one of transposable_methods();
/// for `nmlab validate` to reject a bad run-wide `transposable_method:` before anything runs.
void check_transposable_method(const std::string& method, const std::string& where = "");

/// Dispatch by name with default options (tsenor: TsenorOptions{}, random: k = 100, stream
/// ctx.rng.derive("tn_random")). Unknown name → SpecError listing the names.
Mask transposable_mask(const std::string& method, const Weights& scores, const NMPattern& p, Context& ctx,
                       TileReport* report = nullptr);

/// Σ scores over kept entries.
double kept_score(const Weights& scores, const Mask& mask);

/// Metrics every transposable trial reports: kept_score_gap = (OPT − kept)/OPT with OPT from
/// tn_flow on the same scores (0 when OPT = 0), tiles_short and tiles from `report`, kept_score, and
/// pattern_m (m, a numeric x axis for reports) and kept_score_gap_before_completion (the gap of the
/// method's own ≤ n mask; equals kept_score_gap for methods that need no completion).
/// `optimum` < 0 means "compute it with tn_flow".
std::map<std::string, double> transposable_metrics(const Weights& scores, const NMPattern& p, const Mask& mask,
                                                   const TileReport& report, double optimum = -1.0);

// ---- tile level (exposed for tests): A is m*m row-major scores, S is m*m 0/1 row-major -----------
namespace tile {
/// Exact optimum (fills S with exactly n per row and column).
void flow(const double* A, int m, int n, std::uint8_t* S);
/// Exact for m = 4 by enumeration.
void exact4(const double* A, int n, std::uint8_t* S);
/// Keep-greedy, may be short (≤ n per row/column).
void greedy(const double* A, int m, int n, std::uint8_t* S);
/// Prune-side greedy (Hubara et al. 2021's 2-approximation): pruned mass ≤ 2 · optimal pruned mass;
/// may be short.
void two_approx(const double* A, int m, int n, std::uint8_t* S);
/// Row-wise top-n then column-wise top-n; may be short.
void bi_nm(const double* A, int m, int n, std::uint8_t* S);
/// TSENOR up to and including local search; may be short.
void tsenor(const double* A, int m, int n, const TsenorOptions& o, std::uint8_t* S);
/// Completes a tile whose rows/columns keep ≤ n to exactly n, by augmenting paths (direct adds
/// first, then the best 3-cycle, then any shortest augmenting path). Returns true if it was short.
bool complete(const double* A, int m, int n, std::uint8_t* S);
/// All valid m x m masks with n per row and column, as row-major bit masks (bit i*m + j); m ≤ 8.
std::vector<std::uint64_t> all_patterns(int m, int n);
}  // namespace tile

}  // namespace nmlab
