// Transposable selectors against brute-force enumeration (independent DFS below), validity and gap
// checks for the heuristics, the 2-approximation guarantee, shape errors, dispatch and registration.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <functional>
#include <limits>

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"
#include "framework/solvers/score_mask.hpp"
#include "framework/solvers/transposable.hpp"

namespace nmlab {
namespace {

/// tn_flow quantises a tile to 40-bit integers: loss ≤ n·m·range/(2^41 − 2) (exact_transposable.md §2);
/// plus double round-off of the sums.
constexpr double kQuantRel = 1.0 / double(std::int64_t(1) << 40);
constexpr double kSumTol = 1e-9;
/// TSENOR with default options on Gaussian scores: mean kept-score gap (repro in tsenor.md: ~0.1–0.3%).
constexpr double kTsenorGapTol = 0.01;

using Tile = std::vector<double>;

double tile_value(const Tile& A, const std::vector<std::uint8_t>& S) {
  double v = 0;
  for (size_t k = 0; k < A.size(); ++k) v += S[k] ? A[k] : 0.0;
  return v;
}

/// Best kept score over every m x m 0/1 matrix with n per row and column (plain DFS over rows).
double brute_force_best(const Tile& A, int m, int n) {
  std::vector<int> rows;
  for (int r = 0; r < (1 << m); ++r)
    if (std::popcount(unsigned(r)) == n) rows.push_back(r);
  std::vector<int> col(m, 0);
  double best = -std::numeric_limits<double>::infinity();
  std::function<void(int, double)> rec = [&](int i, double acc) {
    for (int j = 0; j < m; ++j)
      if (n - col[j] > m - i) return;  // column j can no longer reach n with the rows left
    if (i == m) {
      best = std::max(best, acc);
      return;
    }
    for (int r : rows) {
      bool ok = true;
      double add = 0;
      for (int j = 0; j < m; ++j)
        if ((r >> j) & 1) ok = ok && col[j] < n, add += A[size_t(i) * m + j];
      if (!ok) continue;
      for (int j = 0; j < m; ++j) col[j] += (r >> j) & 1;
      rec(i + 1, acc + add);
      for (int j = 0; j < m; ++j) col[j] -= (r >> j) & 1;
    }
  };
  rec(0, 0.0);
  return best;
}

bool tile_valid(const std::vector<std::uint8_t>& S, int m, int n, bool at_most = false) {
  for (int i = 0; i < m; ++i) {
    int r = 0, c = 0;
    for (int j = 0; j < m; ++j) r += S[size_t(i) * m + j], c += S[size_t(j) * m + i];
    if (at_most ? (r > n || c > n) : (r != n || c != n)) return false;
  }
  return true;
}

/// Score tiles of four kinds: random, tied (values in {0, 1, 2}), all equal, all zero.
std::vector<Tile> test_tiles(int m, int n_random, RngStream& rng) {
  std::vector<Tile> tiles;
  for (int t = 0; t < n_random; ++t) {
    Tile A(size_t(m) * m), B(size_t(m) * m);
    for (auto& a : A) a = std::abs(rng.normal());
    for (auto& b : B) b = double(rng.below(3));
    tiles.push_back(A);
    tiles.push_back(B);
  }
  tiles.push_back(Tile(size_t(m) * m, 0.7));
  tiles.push_back(Tile(size_t(m) * m, 0.0));
  return tiles;
}

double flow_tol(const Tile& A, int m, int n) {
  const auto [lo, hi] = std::minmax_element(A.begin(), A.end());
  return n * m * (*hi - *lo) * kQuantRel + kSumTol;
}

void expect_flow_matches_brute_force(int m, int n, int n_random) {
  RngStream rng = RngStream(7).derive("flow_bf_" + std::to_string(m) + "_" + std::to_string(n));
  for (const Tile& A : test_tiles(m, n_random, rng)) {
    std::vector<std::uint8_t> S(A.size());
    tile::flow(A.data(), m, n, S.data());
    ASSERT_TRUE(tile_valid(S, m, n)) << m << ":" << n;
    EXPECT_NEAR(tile_value(A, S), brute_force_best(A, m, n), flow_tol(A, m, n)) << "n:m = " << n << ":" << m;
  }
}

TEST(TransposableExact, PatternCountsMatchOeis) {
  EXPECT_EQ(tile::all_patterns(4, 2).size(), 90u);
  EXPECT_EQ(tile::all_patterns(4, 1).size(), 24u);
  EXPECT_EQ(tile::all_patterns(4, 3).size(), 24u);
  EXPECT_EQ(tile::all_patterns(6, 3).size(), 297200u);
}

TEST(TransposableExact, FlowMatchesBruteForceM4) {
  for (int n = 1; n <= 3; ++n) expect_flow_matches_brute_force(4, n, 30);
}

TEST(TransposableExact, FlowMatchesBruteForceM6) {
  for (int n = 1; n <= 5; ++n) expect_flow_matches_brute_force(6, n, n == 3 ? 1 : 3);
}

TEST(TransposableExact, FlowMatchesBruteForceM8) {
  expect_flow_matches_brute_force(8, 1, 3);
  expect_flow_matches_brute_force(8, 7, 3);
}

TEST(TransposableExact, Exact4MatchesBruteForce) {
  RngStream rng = RngStream(3).derive("exact4");
  for (int n = 1; n <= 3; ++n)
    for (const Tile& A : test_tiles(4, 30, rng)) {
      std::vector<std::uint8_t> S(16);
      tile::exact4(A.data(), n, S.data());
      ASSERT_TRUE(tile_valid(S, 4, n));
      EXPECT_NEAR(tile_value(A, S), brute_force_best(A, 4, n), kSumTol);
    }
}

Weights random_scores(Index rows, Index cols, RngStream rng) {
  return Weights(rng.normal_matrix(rows, cols).cwiseAbs());
}

TEST(TransposableExact, Exact4AndFlowAgreeOnAMatrix) {
  const Weights A = random_scores(32, 48, RngStream(11));
  for (int n = 1; n <= 3; ++n) {
    const NMPattern p{n, 4, true};
    const Mask a = tn_exact4_mask(A, p), b = tn_flow_mask(A, p);
    EXPECT_TRUE(a.satisfies(p));
    EXPECT_TRUE(b.satisfies(p));
    EXPECT_NEAR(kept_score(A, a), kept_score(A, b), A.maxCoeff() * A.size() * kQuantRel + kSumTol);
  }
}

using Selector = std::function<Mask(const Weights&, const NMPattern&, TileReport*)>;

std::vector<std::pair<std::string, Selector>> heuristics() {
  return {{"tsenor", [](const Weights& s, const NMPattern& p, TileReport* r) { return tsenor_mask(s, p, {}, r); }},
          {"tn_greedy", [](const Weights& s, const NMPattern& p, TileReport* r) { return tn_greedy_mask(s, p, r); }},
          {"tn_2approx", [](const Weights& s, const NMPattern& p, TileReport* r) { return tn_2approx_mask(s, p, r); }},
          {"bi_nm", [](const Weights& s, const NMPattern& p, TileReport* r) { return bi_nm_mask(s, p, r); }},
          {"tn_random_best_of_k", [](const Weights& s, const NMPattern& p, TileReport* r) {
             return tn_random_best_of_k_mask(s, p, 20, RngStream(5), r);
           }}};
}

TEST(TransposableHeuristics, ValidMasksAndNonNegativeGap) {
  struct Case { Index rows, cols; int n, m; };
  // several tiles, non-square, odd tile counts
  for (const Case c : {Case{12, 20, 2, 4}, Case{24, 40, 4, 8}, Case{16, 48, 8, 16}, Case{32, 32, 16, 32},
                       Case{18, 12, 1, 6}, Case{18, 12, 5, 6}}) {
    const NMPattern p{c.n, c.m, true};
    Weights A = random_scores(c.rows, c.cols, RngStream(c.rows * 100 + c.m));
    A.topRows(c.m).setConstant(1.0);  // first tile row: all ties
    const double opt = kept_score(A, tn_flow_mask(A, p));
    for (const auto& [name, select] : heuristics()) {
      TileReport rep;
      const Mask mask = select(A, p, &rep);
      EXPECT_TRUE(mask.satisfies(p)) << name << " " << p.str() << ": " << mask.violation(p).value_or("");
      EXPECT_EQ(rep.tiles, (c.rows / c.m) * (c.cols / c.m));
      EXPECT_GE(opt - kept_score(A, mask), -A.size() * A.maxCoeff() * kQuantRel - kSumTol) << name << " " << p.str();
    }
  }
}

TEST(TransposableHeuristics, TwoApproxPrunesAtMostTwiceTheOptimum) {
  RngStream rng = RngStream(9).derive("two_approx");
  for (int m : {4, 8, 16})
    for (int n : {1, m / 2, m - 1})
      for (int t = 0; t < 20; ++t) {
        Tile A(size_t(m) * m);
        for (auto& a : A) a = t % 2 ? std::abs(rng.normal()) : std::exp(2.0 * rng.normal());  // heavy tail too
        std::vector<std::uint8_t> raw(A.size(), 0), opt(A.size(), 0);
        tile::two_approx(A.data(), m, n, raw.data());
        tile::flow(A.data(), m, n, opt.data());
        ASSERT_TRUE(tile_valid(raw, m, n, /*at_most=*/true));
        double total = 0;
        for (double a : A) total += a;
        const double pruned_raw = total - tile_value(A, raw), pruned_opt = total - tile_value(A, opt);
        EXPECT_LE(pruned_raw, 2.0 * pruned_opt + flow_tol(A, m, n)) << n << ":" << m;
        // Completion only adds net kept entries and must stay valid.
        tile::complete(A.data(), m, n, raw.data());
        EXPECT_TRUE(tile_valid(raw, m, n));
      }
}

TEST(TransposableHeuristics, GapBeforeCompletionIsReported) {
  const Weights A = random_scores(64, 64, RngStream(13));
  const NMPattern p{8, 16, true};
  const double opt = kept_score(A, tn_flow_mask(A, p));
  TileReport rep;
  const Mask mask = tn_2approx_mask(A, p, &rep);
  // The prune-side greedy over-prunes every 16x16 Gaussian tile here, so every tile is short and its
  // own kept score is the sum over its raw mask.
  EXPECT_EQ(rep.tiles_short, rep.tiles);
  EXPECT_LT(rep.kept_before_completion, kept_score(A, mask));
  const auto metrics = transposable_metrics(A, p, mask, rep, opt);
  EXPECT_NEAR(metrics.at("kept_score_gap_before_completion"), (opt - rep.kept_before_completion) / opt, kSumTol);
  TileReport exact;
  tn_flow_mask(A, p, &exact);
  EXPECT_TRUE(std::isnan(exact.kept_before_completion));
  EXPECT_EQ(transposable_metrics(A, p, tn_flow_mask(A, p), exact, opt).at("kept_score_gap_before_completion"), 0.0);
}

TEST(TransposableHeuristics, TsenorIsCloseToOptimalOnGaussianScores) {
  const Weights A = random_scores(64, 64, RngStream(21));
  for (const NMPattern p : {NMPattern{4, 8, true}, NMPattern{8, 16, true}, NMPattern{16, 32, true}}) {
    TileReport rep;
    const Mask mask = tsenor_mask(A, p, {}, &rep);
    const auto metrics = transposable_metrics(A, p, mask, rep);
    EXPECT_GE(metrics.at("kept_score_gap"), -kSumTol);
    EXPECT_LT(metrics.at("kept_score_gap"), kTsenorGapTol) << p.str();
    EXPECT_LE(metrics.at("tiles_short"), metrics.at("tiles"));
  }
}

TEST(TransposableHeuristics, TsenorSurvivesExtremeTemperatures) {
  Weights A = random_scores(32, 32, RngStream(4));
  A(0, 0) = 1e6;  // one huge entry: every other entry of its tile sits at the exponent floor
  const NMPattern p{8, 16, true};
  for (double tau : {1e-3, 1.0, 1e4}) {
    TsenorOptions o;
    o.tau = tau;
    const Mask mask = tsenor_mask(A, p, o);
    EXPECT_TRUE(mask.satisfies(p)) << "tau = " << tau;
  }
}

TEST(TransposableHeuristics, CompletionFillsAnEmptyTile) {
  for (int m : {4, 7, 16}) {
    Tile A(size_t(m) * m, 1.0);
    std::vector<std::uint8_t> S(A.size(), 0);
    EXPECT_TRUE(tile::complete(A.data(), m, m / 2, S.data()));
    EXPECT_TRUE(tile_valid(S, m, m / 2));
  }
}

TEST(TransposableHeuristics, RandomBestOfKIsSeededAndImprovesWithK) {
  const Weights A = random_scores(32, 32, RngStream(8));
  const NMPattern p{4, 8, true};
  EXPECT_EQ(tn_random_best_of_k_mask(A, p, 10, RngStream(1)), tn_random_best_of_k_mask(A, p, 10, RngStream(1)));
  EXPECT_LE(kept_score(A, tn_random_best_of_k_mask(A, p, 1, RngStream(1))),
            kept_score(A, tn_random_best_of_k_mask(A, p, 200, RngStream(1))));
}

TEST(TransposableShapes, ClearErrors) {
  const Weights A = random_scores(12, 16, RngStream(1));
  try {
    tn_flow_mask(A, NMPattern{4, 8, true});  // d_out = 12 is not a multiple of 8
    FAIL() << "expected SpecError";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("d_out"), std::string::npos) << e.what();
  }
  EXPECT_THROW(tsenor_mask(random_scores(16, 12, RngStream(1)), NMPattern{4, 8, true}, {}), SpecError);
  EXPECT_THROW(tn_exact4_mask(random_scores(16, 16, RngStream(1)), NMPattern{4, 8, true}), Unsupported);
  Weights bad = random_scores(16, 16, RngStream(1));
  bad(3, 5) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(tn_flow_mask(bad, NMPattern{4, 8, true}), TensorError);
}

TEST(TransposableDispatch, MaskFromScoresUsesContextMethod) {
  const Weights A = random_scores(16, 32, RngStream(2));
  const NMPattern p{4, 8, true};
  Context ctx;
  EXPECT_EQ(ctx.transposable_method, "tn_flow");
  EXPECT_EQ(mask_from_scores(A, p, ctx), tn_flow_mask(A, p));
  ctx.transposable_method = "tn_greedy";
  EXPECT_EQ(mask_from_scores(A, p, ctx), tn_greedy_mask(A, p));
  ctx.transposable_method = "no_such";
  try {
    mask_from_scores(A, p, ctx);
    FAIL() << "expected SpecError";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("tsenor"), std::string::npos) << e.what();
  }
  for (const auto& name : transposable_methods()) EXPECT_NO_THROW(check_transposable_method(name));
  EXPECT_THROW(check_transposable_method("tn_flows", "spec.yaml:2:1"), SpecError);
}

LayerProblem small_problem(Index d_out, Index d_in) {
  Params params;
  params.set("d_out", std::to_string(d_out)).set("d_in", std::to_string(d_in)).set("hessian", "gaussian");
  RngStream rng(3);
  return builtins().problems.make("random_weights", params)->make(rng);
}

TEST(TransposableSolvers, EveryRegisteredSolverGivesValidMasksAndMetrics) {
  const LayerProblem prob = small_problem(32, 48);
  const NMPattern plain{2, 4, false};  // the transposable flag is implied
  for (const std::string name : {"tn_flow", "tn_exact4", "tsenor", "tn_greedy", "tn_2approx", "bi_nm",
                                 "tn_random_best_of_k"})
    for (const std::string score : {"magnitude", "wanda", "sparsegpt"}) {
      Params params;
      params.set("score", score);
      Context ctx;
      const SolveResult res = builtins().solvers.make(name, params)->solve(prob, plain, ctx);
      EXPECT_TRUE(res.mask.satisfies(NMPattern{2, 4, true})) << name;
      ASSERT_TRUE(res.metrics.count("kept_score_gap")) << name;
      EXPECT_GE(res.metrics.at("kept_score_gap"), -kSumTol) << name << " " << score;
      ASSERT_TRUE(res.metrics.count("tiles_short"));
      if (name == "tn_flow" || name == "tn_exact4") {
        EXPECT_NEAR(res.metrics.at("kept_score_gap"), 0.0, kSumTol);
      }
    }
  Params bad;
  bad.set("score", "hessian");
  EXPECT_THROW(builtins().solvers.make("tn_flow", bad), SpecError);
  EXPECT_THROW(builtins().solvers.make("tn_exact4", {})->check_supported(NMPattern{8, 16, true}, 32, 32), Unsupported);
  EXPECT_THROW(builtins().solvers.make("tsenor", {})->check_supported(NMPattern{8, 16}, 24, 32), SpecError);
}

TEST(TransposableSolvers, WandaWithTransposablePatternReportsGap) {
  const LayerProblem prob = small_problem(32, 32);
  const NMPattern p{8, 16, true};
  Context ctx;
  ctx.transposable_method = "tsenor";
  const SolveResult res = builtins().solvers.make("wanda", {})->solve(prob, p, ctx);
  EXPECT_TRUE(res.mask.satisfies(p));
  EXPECT_GE(res.metrics.at("kept_score_gap"), -kSumTol);
  EXPECT_LT(res.metrics.at("kept_score_gap"), kTsenorGapTol);
}

TEST(RandomWeights, StudentTIsHeavierTailedThanGaussian) {
  auto kurtosis = [](const Weights& W) {
    const double m2 = W.array().square().mean(), m4 = W.array().pow(4).mean();
    return m4 / (m2 * m2);
  };
  auto make = [](const std::string& dist) {
    Params params;
    params.set("d_out", "128").set("d_in", "128").set("dist", dist).set("dof", "4");
    RngStream rng(1);
    return builtins().problems.make("random_weights", params)->make(rng);
  };
  const LayerProblem g = make("gaussian"), t = make("student_t");
  EXPECT_EQ(g.W0.rows(), 128);
  EXPECT_TRUE(g.H.isIdentity());
  constexpr double kGaussianKurtosis = 3.0, kKurtosisTol = 0.3;
  EXPECT_NEAR(kurtosis(g.W0), kGaussianKurtosis, kKurtosisTol);
  EXPECT_GT(kurtosis(t.W0), kGaussianKurtosis + 1.0);
}

}  // namespace
}  // namespace nmlab
