// Transposable N:M selectors (see transposable.hpp and docs/TRANSPOSABLE.md).
#include "framework/solvers/transposable.hpp"

#include <algorithm>
#include <array>
#include <bit>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "framework/core/errors.hpp"
#include "framework/core/layer_problem.hpp"
#include "framework/kernels/dykstra_tile.hpp"

namespace nmlab {
namespace {

// ---- tile driver ----------------------------------------------------------------------------------

/// Runs `fn(A, S, tile_index)` on every m x m tile (A: scores, S: zeroed 0/1 output, both row-major
/// m*m), in parallel over tiles; completes short tiles and counts them when `completes` is set.
template <class Fn>
Mask for_each_tile(const Weights& scores, const NMPattern& p, TileReport* report, bool completes, Fn&& fn) {
  check_transposable_shape(p, scores.rows(), scores.cols());
  const int m = p.m, n = p.n;
  const Index tile_rows = scores.rows() / m, tile_cols = scores.cols() / m;
  const long n_tiles = long(tile_rows * tile_cols);
  Mask mask(scores.rows(), scores.cols());
  auto& bits = mask.bits();
  long tiles_short = 0, tiles_not_finite = 0;
  double kept_raw = 0.0;
#pragma omp parallel reduction(+ : tiles_short, kept_raw, tiles_not_finite)
  {
    std::vector<double> A(size_t(m) * m);
    std::vector<std::uint8_t> S(size_t(m) * m);
#pragma omp for schedule(dynamic, 16)
    for (long t = 0; t < n_tiles; ++t) {
      const Index r0 = (t / tile_cols) * m, c0 = (t % tile_cols) * m;
      for (int i = 0; i < m; ++i) std::memcpy(&A[size_t(i) * m], scores.row(r0 + i).data() + c0, sizeof(double) * m);
      // A NaN/Inf score would break every selector's ordering: count it here (exceptions cannot leave
      // an OpenMP region) and throw a located TensorError below.
      bool finite = true;
      for (int k = 0; k < m * m; ++k) finite &= std::isfinite(A[k]);
      if (!finite) {
        ++tiles_not_finite;
        continue;
      }
      std::fill(S.begin(), S.end(), std::uint8_t(0));
      fn(A.data(), S.data(), t);
      if (completes) {
        for (int k = 0; k < m * m; ++k) kept_raw += S[k] ? A[k] : 0.0;
        if (tile::complete(A.data(), m, n, S.data())) ++tiles_short;
      }
      for (int i = 0; i < m; ++i) std::memcpy(&bits(r0 + i, c0), &S[size_t(i) * m], m);
    }
  }
  if (tiles_not_finite) check_finite(scores, "transposable mask scores");  // throws, naming the entry
  if (report) *report = TileReport{n_tiles, tiles_short, completes ? kept_raw : std::numeric_limits<double>::quiet_NaN()};
  return mask;
}

/// The circulant tile S_ij = [(j − i) mod m < n]: valid, used when all scores of a tile are equal.
void circulant(int m, int n, std::uint8_t* S) {
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) S[i * m + j] = ((j - i + m) % m) < n;
}

/// (lo, hi) = (min A, max A) over the tile.
std::pair<double, double> tile_range(const double* A, int mm) {
  double lo = A[0], hi = A[0];
  for (int k = 1; k < mm; ++k) lo = std::min(lo, A[k]), hi = std::max(hi, A[k]);
  return {lo, hi};
}

// ---- exact: min-cost flow by successive shortest paths ------------------------------------------

/// Costs are integers c_ij = round((max A − A_ij)·s), s = (2^40 − 1)/(max A − min A): Dijkstra on
/// integer reduced costs never sees a −1e-17 and ties are exact. Loss of the integer optimum in float
/// objective ≤ n·m·(max − min)/(2^41 − 2) (exact_transposable.md §2).
constexpr int kFlowCostBits = 40;
constexpr std::int64_t kInf = std::int64_t(1) << 62;

/// Per-thread work arrays of tile::flow. Everything is int64 so the relaxation loops vectorise
/// (same lane width for costs, flags and predecessors).
struct FlowWork {
  std::vector<std::int64_t> c, cT, x, xT;                 // costs, transposed costs, flow S and Sᵀ
  std::vector<std::int64_t> pi, sigma, dr, dc, kr, kc;    // potentials; distances; unsettled keys
  std::vector<std::int64_t> pred_r, pred_c, cnt_r, cnt_c, done_r, done_c;
  void resize(int m) {
    for (auto* v : {&c, &cT, &x, &xT}) v->resize(size_t(m) * m);
    for (auto* v : {&pi, &sigma, &dr, &dc, &kr, &kc, &pred_r, &pred_c, &cnt_r, &cnt_c, &done_r, &done_c})
      v->resize(m);
  }
};

}  // namespace

namespace {
/// d_v = min(d_v, base + sign·cost_v − pot_v) over open arcs (open_v == want, v unsettled), with the
/// predecessor; written with restrict pointers and selects so that it vectorises.
template <int kM>
inline void relax(int m_runtime, std::int64_t base, std::int64_t sign, std::int64_t u,
                  const std::int64_t* __restrict cost, const std::int64_t* __restrict open, std::int64_t want,
                  const std::int64_t* __restrict pot, const std::int64_t* __restrict done,
                  std::int64_t* __restrict dist, std::int64_t* __restrict key, std::int64_t* __restrict pred) {
  const int m = kM > 0 ? kM : m_runtime;
  for (int v = 0; v < m; ++v) {
    const std::int64_t nd = base + sign * cost[v] - pot[v];
    const bool ok = (open[v] == want) & (done[v] == 0) & (nd < dist[v]);
    dist[v] = ok ? nd : dist[v];
    key[v] = ok ? nd : key[v];
    pred[v] = ok ? u : pred[v];
  }
}

template <int kM>
inline std::int64_t min_of(int m_runtime, const std::int64_t* __restrict v) {
#if defined(__AVX512F__)
  if constexpr (kM > 0 && kM % 8 == 0) {
    // GCC turns the plain loop into a serial chain of scalar mins; 8 lanes at a time instead.
    __m512i acc = _mm512_loadu_si512(v);
    for (int k = 8; k < kM; k += 8) acc = _mm512_min_epi64(acc, _mm512_loadu_si512(v + k));
    return _mm512_reduce_min_epi64(acc);
  }
#endif
  const int m = kM > 0 ? kM : m_runtime;
  std::int64_t best = kInf;
  for (int k = 0; k < m; ++k) best = std::min(best, v[k]);
  return best;
}

/// First index k with v[k] == x (it exists).
template <int kM>
inline int find_first(int m_runtime, const std::int64_t* __restrict v, std::int64_t x) {
#if defined(__AVX512F__)
  if constexpr (kM > 0 && kM % 8 == 0) {
    const __m512i key = _mm512_set1_epi64(x);
    for (int k = 0; k < kM; k += 8) {
      const __mmask8 hit = _mm512_cmpeq_epi64_mask(_mm512_loadu_si512(v + k), key);
      if (hit) return k + __builtin_ctz(unsigned(hit));
    }
  }
#endif
  (void)m_runtime;
  int k = 0;
  while (v[k] != x) ++k;
  return k;
}
}  // namespace

namespace tile {

namespace {
/// tile::flow with the tile size known at compile time when kM > 0 (unrolled, vectorised loops).
template <int kM>
void flow_impl(const double* A, int m_runtime, int n, std::uint8_t* S) {
  const int m = kM > 0 ? kM : m_runtime;
  thread_local FlowWork w;
  w.resize(m);
  const int mm = m * m;
  std::fill(S, S + mm, std::uint8_t(0));
  const auto [lo, hi] = tile_range(A, mm);
  if (!(hi > lo)) return circulant(m, n, S);  // all equal (or NaN): every valid mask is optimal
  using I = std::int64_t;
  // c_ij = round((hi − A_ij) · s) ≥ 0: minimising Σ c over kept maximises Σ A over kept.
  const double s = double((I(1) << kFlowCostBits) - 1) / (hi - lo);
  I *c = w.c.data(), *cT = w.cT.data(), *x = w.x.data(), *xT = w.xT.data();
  for (int k = 0; k < mm; ++k) c[k] = std::llround((hi - A[k]) * s);
  // Row then column reduction, c_ij −= u_i + v_j: every feasible mask keeps exactly n per row and per
  // column, so this shifts every objective by n·(Σu + Σv) and leaves the optimum unchanged; it only
  // creates zero-cost arcs, which make the first shortest paths short.
  for (int i = 0; i < m; ++i) {
    const I u = *std::min_element(c + size_t(i) * m, c + size_t(i + 1) * m);
    for (int j = 0; j < m; ++j) c[size_t(i) * m + j] -= u;
  }
  for (int j = 0; j < m; ++j) {
    I v = c[j];
    for (int i = 1; i < m; ++i) v = std::min(v, c[size_t(i) * m + j]);
    for (int i = 0; i < m; ++i) c[size_t(i) * m + j] -= v;
  }
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) cT[size_t(j) * m + i] = c[size_t(i) * m + j];
  std::fill(x, x + mm, I(0));
  std::fill(xT, xT + mm, I(0));
  I *pi = w.pi.data(), *sigma = w.sigma.data(), *dr = w.dr.data(), *dc = w.dc.data(), *kr = w.kr.data(),
    *kc = w.kc.data();
  I *pred_r = w.pred_r.data(), *pred_c = w.pred_c.data(), *cnt_r = w.cnt_r.data(), *cnt_c = w.cnt_c.data(),
    *done_r = w.done_r.data(), *done_c = w.done_c.data();
  std::fill(pi, pi + m, I(0));
  std::fill(sigma, sigma + m, I(0));
  std::fill(cnt_r, cnt_r + m, I(0));
  std::fill(cnt_c, cnt_c + m, I(0));
  I pt = 0;  // potential of the sink; the source's stays 0
  // Residual arcs and reduced costs (potentials π rows, σ columns, pt sink):
  //   s → row i (cnt_r < n):  −π_i      row i → col j (S_ij = 0):  c_ij + π_i − σ_j
  //   col j → row i (S_ij = 1): −c_ij + σ_j − π_i      col j → t (cnt_c < n):  σ_j − pt
  // all ≥ 0 (Johnson); each Dijkstra (dense, O(m) per pop) finds one unit path, n·m of them in all.
  // kr/kc hold the distance of unsettled nodes and kInf for settled ones (the argmin keys).
  // Admissible arcs have reduced cost 0; a path of them is a shortest path, so it can be augmented
  // without a Dijkstra and without touching the potentials (primal-dual method). BFS from the
  // unsaturated rows with π_i = 0 to an unsaturated column with σ_j = pt; flips the path if found.
  I* queue = w.kr.data();  // reused as the BFS queue outside Dijkstra
  auto admissible_augment = [&]() -> bool {
    int head = 0, tail = 0;
    for (int i = 0; i < m; ++i) {
      pred_r[i] = -2;
      pred_c[i] = -2;
      if (cnt_r[i] < n && pi[i] == 0) pred_r[i] = -1, queue[tail++] = i;
    }
    while (head < tail) {
      const int i = int(queue[head++]);
      const I* ci = c + size_t(i) * m;
      const I* xi = x + size_t(i) * m;
      for (int j = 0; j < m; ++j) {
        if (xi[j] || pred_c[j] != -2 || ci[j] + pi[i] != sigma[j]) continue;
        pred_c[j] = i;
        if (cnt_c[j] < n && sigma[j] == pt) {
          ++cnt_c[j];
          for (int jj = j;;) {  // flip back to the source
            const int ii = int(pred_c[jj]);
            x[size_t(ii) * m + jj] = xT[size_t(jj) * m + ii] = 1;
            const int j_prev = int(pred_r[ii]);
            if (j_prev < 0) {
              ++cnt_r[ii];
              return true;
            }
            x[size_t(ii) * m + j_prev] = xT[size_t(j_prev) * m + ii] = 0;
            jj = j_prev;
          }
        }
        const I* cj = cT + size_t(j) * m;
        const I* xj = xT + size_t(j) * m;
        for (int i2 = 0; i2 < m; ++i2)
          if (xj[i2] && pred_r[i2] == -2 && cj[i2] + pi[i2] == sigma[j]) pred_r[i2] = j, queue[tail++] = i2;
      }
    }
    return false;
  };
  // Warm start: augment along admissible paths (zero reduced cost after the reductions) until the
  // first failure; from then on one Dijkstra per unit.
  bool warm = true;
  for (int unit = 0; unit < n * m; ++unit) {
    if (warm && admissible_augment()) continue;
    warm = false;
    for (int i = 0; i < m; ++i) {
      dr[i] = kr[i] = cnt_r[i] < n ? -pi[i] : kInf;
      pred_r[i] = -1;
      done_r[i] = 0;
    }
    for (int j = 0; j < m; ++j) dc[j] = kc[j] = kInf, pred_c[j] = -1, done_c[j] = 0;
    I dt = kInf;
    int pred_t = -1;
    for (;;) {
      // u = argmin over unsettled nodes; columns win ties (a zero-length column may end the path at
      // once), then the lowest index.
      const I best_c = min_of<kM>(m, kc), best_r = min_of<kM>(m, kr);
      const I best = std::min(best_c, best_r);
      if (best >= dt) break;  // t is settled (or nothing is reachable): no shorter path can appear
      if (best_c <= best_r) {
        const int u = find_first<kM>(m, kc, best);
        done_c[u] = 1;
        kc[u] = kInf;
        const I base = dc[u] + sigma[u];
        // d_i = min(d_i, d_u − c_iu + σ_u − π_i) over remove-arcs (S_iu = 1)
        relax<kM>(m, base, -1, u, cT + size_t(u) * m, xT + size_t(u) * m, 1, pi, done_r, dr, kr, pred_r);
        if (cnt_c[u] < n && base - pt < dt) dt = base - pt, pred_t = u;
      } else {
        const int u = find_first<kM>(m, kr, best);
        done_r[u] = 1;
        kr[u] = kInf;
        const I base = dr[u] + pi[u];
        // d_j = min(d_j, d_u + c_uj + π_u − σ_j) over add-arcs (S_uj = 0)
        relax<kM>(m, base, 1, u, c + size_t(u) * m, x + size_t(u) * m, 0, sigma, done_c, dc, kc, pred_c);
      }
    }
    NMLAB_ASSERT(pred_t >= 0, "tn_flow: no augmenting path although the flow is not full");
    // Capped Johnson update: π += min(d, d_t) keeps every residual reduced cost ≥ 0.
    for (int i = 0; i < m; ++i) pi[i] += std::min(dr[i], dt);
    for (int j = 0; j < m; ++j) sigma[j] += std::min(dc[j], dt);
    pt += dt;
    // Augment one unit along t ← col ← row ← col ← ... ← row ← s: flip S on the path.
    int j = pred_t;
    ++cnt_c[j];
    for (;;) {
      const int i = int(pred_c[j]);
      x[size_t(i) * m + j] = xT[size_t(j) * m + i] = 1;
      const int j_prev = int(pred_r[i]);
      if (j_prev < 0) {
        ++cnt_r[i];
        break;
      }
      x[size_t(i) * m + j_prev] = xT[size_t(j_prev) * m + i] = 0;
      j = j_prev;
    }
  }
  // Optimality certificate (complementary slackness): c_ij + π_i − σ_j ≥ 0 where S_ij = 0, ≤ 0 where 1.
  for (int k = 0; k < mm; ++k) {
    const int i = k / m, jj = k % m;
    const I rc = c[k] + pi[i] - sigma[jj];
    NMLAB_ASSERT(x[k] ? rc <= 0 : rc >= 0, "tn_flow: dual certificate failed");
    S[k] = std::uint8_t(x[k]);
  }
}

}  // namespace

void flow(const double* A, int m, int n, std::uint8_t* S) {
  switch (m) {
    case 4: return flow_impl<4>(A, m, n, S);
    case 8: return flow_impl<8>(A, m, n, S);
    case 16: return flow_impl<16>(A, m, n, S);
    case 32: return flow_impl<32>(A, m, n, S);
    default: return flow_impl<0>(A, m, n, S);
  }
}

// ---- exact: enumeration for m = 4 ------------------------------------------------------------------

std::vector<std::uint64_t> all_patterns(int m, int n) {
  NMLAB_ASSERT(m >= 1 && m <= 8, "all_patterns: m must be at most 8");
  std::vector<int> rows;  // every m-bit row with n ones
  for (int r = 0; r < (1 << m); ++r)
    if (std::popcount(unsigned(r)) == n) rows.push_back(r);
  std::vector<std::uint64_t> out;
  std::vector<int> col(m, 0);
  // Depth-first over rows, pruning columns that already hold n.
  auto rec = [&](auto&& self, int i, std::uint64_t acc) -> void {
    if (i == m) {
      out.push_back(acc);
      return;
    }
    for (int r : rows) {
      bool ok = true;
      for (int j = 0; j < m && ok; ++j) ok = !((r >> j) & 1) || col[j] < n;
      if (!ok) continue;
      for (int j = 0; j < m; ++j) col[j] += (r >> j) & 1;
      self(self, i + 1, acc | (std::uint64_t(r) << (i * m)));
      for (int j = 0; j < m; ++j) col[j] -= (r >> j) & 1;
    }
  };
  rec(rec, 0, 0);
  return out;
}

void exact4(const double* A, int n, std::uint8_t* S) {
  // Patterns as index lists, built once per n (thread-safe static init).
  static const std::array<std::vector<std::array<std::uint8_t, 12>>, 4> table = [] {
    std::array<std::vector<std::array<std::uint8_t, 12>>, 4> t;
    for (int nn = 1; nn <= 3; ++nn)
      for (std::uint64_t pat : all_patterns(4, nn)) {
        std::array<std::uint8_t, 12> idx{};
        int k = 0;
        for (int b = 0; b < 16; ++b)
          if ((pat >> b) & 1) idx[k++] = std::uint8_t(b);
        t[nn].push_back(idx);
      }
    return t;
  }();
  NMLAB_ASSERT(n >= 1 && n <= 3, "tn_exact4: n must be 1, 2 or 3");
  const auto& pats = table[n];
  const int kept = 4 * n;
  // best = argmax_P Σ_{(i,j) ∈ P} A_ij (first pattern wins ties)
  double best = -std::numeric_limits<double>::infinity();
  size_t best_p = 0;
  for (size_t q = 0; q < pats.size(); ++q) {
    double v = 0;
    for (int k = 0; k < kept; ++k) v += A[pats[q][k]];
    if (v > best) best = v, best_p = q;
  }
  std::fill(S, S + 16, std::uint8_t(0));
  for (int k = 0; k < kept; ++k) S[pats[best_p][k]] = 1;
}

// ---- heuristics ------------------------------------------------------------------------------------

namespace {
/// Entry order by score, descending; ties to the lower index. Sorts (score, index) pairs directly
/// (no indirect loads in the comparator).
void order_desc(const double* A, int mm, std::vector<int>& order) {
  thread_local std::vector<std::pair<double, int>> v;
  v.resize(mm);
  for (int k = 0; k < mm; ++k) v[k] = {A[k], k};
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  order.resize(mm);
  for (int k = 0; k < mm; ++k) order[k] = v[k].second;
}
}  // namespace

void greedy(const double* A, int m, int n, std::uint8_t* S) {
  thread_local std::vector<int> order, cnt;
  order_desc(A, m * m, order);
  cnt.assign(2 * size_t(m), 0);
  int kept = 0;
  // Keep the heaviest entry whose row and column both have fewer than n.
  for (int k : order) {
    const int i = k / m, j = k % m;
    if (cnt[i] < n && cnt[m + j] < n) S[k] = 1, ++cnt[i], ++cnt[m + j], ++kept;
    if (kept == n * m) break;
  }
}

void two_approx(const double* A, int m, int n, std::uint8_t* S) {
  thread_local std::vector<int> order, cnt;
  order_desc(A, m * m, order);
  cnt.assign(2 * size_t(m), 0);
  const int quota = m - n;
  // Lightest first: prune (i, j) if row i or column j has fewer than m − n pruned.
  std::fill(S, S + m * m, std::uint8_t(1));
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const int i = *it / m, j = *it % m;
    if (cnt[i] < quota || cnt[m + j] < quota) S[*it] = 0, ++cnt[i], ++cnt[m + j];
  }
}

void bi_nm(const double* A, int m, int n, std::uint8_t* S) {
  thread_local std::vector<int> order;
  order.resize(m);
  // Row-wise top-n (ties to the lower column) ...
  for (int i = 0; i < m; ++i) {
    const double* a = A + size_t(i) * m;
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + n, order.end(),
                      [&](int x, int y) { return a[x] > a[y] || (a[x] == a[y] && x < y); });
    for (int k = 0; k < n; ++k) S[size_t(i) * m + order[k]] = 1;
  }
  // ... then column-wise: keep the n largest of the row-kept entries of each column.
  for (int j = 0; j < m; ++j) {
    int kept = 0;
    for (int i = 0; i < m; ++i) kept += S[size_t(i) * m + j];
    while (kept > n) {
      int worst = -1;
      for (int i = 0; i < m; ++i)
        if (S[size_t(i) * m + j] && (worst < 0 || A[size_t(i) * m + j] <= A[size_t(worst) * m + j])) worst = i;
      S[size_t(worst) * m + j] = 0;
      --kept;
    }
  }
}

namespace {
/// Row and column counts of a tile.
void counts(const std::uint8_t* S, int m, std::vector<int>& cr, std::vector<int>& cc) {
  cr.assign(m, 0);
  cc.assign(m, 0);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j)
      if (S[size_t(i) * m + j]) ++cr[i], ++cc[j];
}

/// One repair step on a short tile: the best direct add (i, j) of a short row and a short column, or
/// the best 3-cycle add (i, j'), remove (i', j'), add (i', j) (TSENOR's swap). Applies it when its
/// gain > min_gain and returns true; false when no such move exists.
bool best_repair_move(const double* A, int m, int n, std::uint8_t* S, const std::vector<int>& cr,
                      const std::vector<int>& cc, double min_gain) {
  double best = -std::numeric_limits<double>::infinity();
  int bi = -1, bj = -1, bi2 = -1, bj2 = -1;
  for (int i = 0; i < m; ++i) {
    if (cr[i] >= n) continue;
    for (int j = 0; j < m; ++j) {
      if (cc[j] >= n) continue;
      if (!S[size_t(i) * m + j] && A[size_t(i) * m + j] > best) best = A[size_t(i) * m + j], bi = i, bj = j, bi2 = -1;
    }
  }
  if (bi < 0) {
    for (int i = 0; i < m; ++i) {
      if (cr[i] >= n) continue;
      for (int j = 0; j < m; ++j) {
        if (cc[j] >= n) continue;
        // gain = A_ij' + A_i'j − A_i'j' over S_i'j' = 1, S_ij' = 0, S_i'j = 0
        for (int i2 = 0; i2 < m; ++i2) {
          if (S[size_t(i2) * m + j]) continue;
          for (int j2 = 0; j2 < m; ++j2) {
            if (!S[size_t(i2) * m + j2] || S[size_t(i) * m + j2]) continue;
            const double g = A[size_t(i) * m + j2] + A[size_t(i2) * m + j] - A[size_t(i2) * m + j2];
            if (g > best) best = g, bi = i, bj = j, bi2 = i2, bj2 = j2;
          }
        }
      }
    }
  }
  if (bi < 0 || !(best > min_gain)) return false;
  if (bi2 < 0) {
    S[size_t(bi) * m + bj] = 1;
  } else {
    S[size_t(bi) * m + bj2] = 1;
    S[size_t(bi2) * m + bj2] = 0;
    S[size_t(bi2) * m + bj] = 1;
  }
  return true;
}

/// Shortest (fewest arcs) augmenting path from a short row to a short column over add-arcs
/// (S_ij = 0, row → col) and remove-arcs (S_ij = 1, col → row); flips it. False if none exists.
bool bfs_augment(int m, int n, std::uint8_t* S, const std::vector<int>& cr, const std::vector<int>& cc) {
  std::vector<int> pred_c(m, -2), pred_r(m, -2), queue;
  for (int i = 0; i < m; ++i)
    if (cr[i] < n) pred_r[i] = -1, queue.push_back(i);
  for (size_t q = 0; q < queue.size(); ++q) {
    const int i = queue[q];
    for (int j = 0; j < m; ++j) {
      if (S[size_t(i) * m + j] || pred_c[j] != -2) continue;
      pred_c[j] = i;
      if (cc[j] < n) {
        for (int jj = j;;) {  // flip the path back to its short row
          const int ii = pred_c[jj];
          S[size_t(ii) * m + jj] = 1;
          if (pred_r[ii] < 0) return true;
          S[size_t(ii) * m + pred_r[ii]] = 0;
          jj = pred_r[ii];
        }
      }
      for (int i2 = 0; i2 < m; ++i2)
        if (S[size_t(i2) * m + j] && pred_r[i2] == -2) pred_r[i2] = j, queue.push_back(i2);
    }
  }
  return false;
}
}  // namespace

bool complete(const double* A, int m, int n, std::uint8_t* S) {
  thread_local std::vector<int> cr, cc;
  bool was_short = false;
  for (;;) {
    counts(S, m, cr, cc);
    const int kept = std::accumulate(cr.begin(), cr.end(), 0);
    NMLAB_ASSERT(*std::max_element(cr.begin(), cr.end()) <= n && *std::max_element(cc.begin(), cc.end()) <= n,
                 "transposable completion: a row or column keeps more than n");
    if (kept == n * m) return was_short;
    was_short = true;
    if (best_repair_move(A, m, n, S, cr, cc, -std::numeric_limits<double>::infinity())) continue;
    const bool ok = bfs_augment(m, n, S, cr, cc);
    NMLAB_ASSERT(ok, "transposable completion: no augmenting path in a short tile");
  }
}


void tsenor(const double* A, int m, int n, const TsenorOptions& o, std::uint8_t* S) {
  const int mm = m * m;
  const auto [lo, hi] = tile_range(A, mm);
  if (!(hi > lo)) return circulant(m, n, S);
  thread_local std::vector<float> P, Q, col, rs;
  thread_local std::vector<std::uint64_t> keys;
  thread_local std::vector<int> cr, cc;
  P.resize(mm);
  Q.assign(mm, 1.0f);
  col.resize(m);
  rs.resize(m);
  // Stabilised start: K = exp(max(τ (A − max)/(max − min), −kExpFloor)), max entry 1, no underflow.
  constexpr float kExpFloor = 80.0f;
  // τ acts on scores measured in units of the tile's range (max − min) or standard deviation.
  double spread = hi - lo;
  if (o.normalize == "std") {
    double mean = 0, sq = 0;
    for (int k = 0; k < mm; ++k) mean += A[k];
    mean /= mm;
    for (int k = 0; k < mm; ++k) sq += (A[k] - mean) * (A[k] - mean);
    spread = std::sqrt(sq / mm);
  }
  const double scale = o.tau / spread;
  for (int k = 0; k < mm; ++k) P[k] = std::exp(std::max(float((A[k] - hi) * scale), -kExpFloor));
  float* p = P.data();
  kernels::dykstra_tile_any(p, Q.data(), col.data(), rs.data(), m, n, o.iterations);
  // Greedy rounding: entries by P descending (then score, then lower index); keep while row and
  // column have room. Key = [P bits | A rank bits | reversed index].
  keys.resize(mm);
  NMLAB_ASSERT(mm <= (1 << 16), "tsenor: tile too large");
  for (int k = 0; k < mm; ++k) {
    const float a = float((A[k] - lo) / (hi - lo));  // in [0, 1]: float bits order like the values
    keys[k] = (std::uint64_t(std::bit_cast<std::uint32_t>(p[k])) << 32) |
              (std::uint64_t(std::bit_cast<std::uint32_t>(a) >> 14) << 16) | std::uint64_t(0xFFFF - k);
  }
  // Only the first ~n·m keys are usually scanned before the mask is full: order those first
  // (nth_element + sort), and sort the rest only if the scan gets that far.
  const int head = std::min(mm, n * m + m);
  std::nth_element(keys.begin(), keys.begin() + head - 1, keys.end(), std::greater<>());
  std::sort(keys.begin(), keys.begin() + head, std::greater<>());
  cr.assign(m, 0);
  cc.assign(m, 0);
  int kept = 0;
  for (int pos = 0; pos < mm && kept < n * m; ++pos) {
    if (pos == head) std::sort(keys.begin() + head, keys.end(), std::greater<>());
    const int k = 0xFFFF - int(keys[pos] & 0xFFFF), i = k / m, j = k % m;
    if (cr[i] < n && cc[j] < n) S[k] = 1, ++cr[i], ++cc[j], ++kept;
  }
  // Local search: up to L improving swaps (gain > 0) on short rows/columns.
  const int steps = o.repair_steps < 0 ? m : o.repair_steps;
  for (int s = 0; s < steps && kept < n * m; ++s) {
    counts(S, m, cr, cc);
    if (!best_repair_move(A, m, n, S, cr, cc, 0.0)) break;
    kept = 0;
    for (int k = 0; k < mm; ++k) kept += S[k];
  }
}

}  // namespace tile

// ---- matrix level ----------------------------------------------------------------------------------

void check_transposable_shape(const NMPattern& p, Index d_out, Index d_in, const std::string& where) {
  NMPattern t = p;
  t.transposable = true;
  t.check_shape(d_out, d_in, where);
}

Mask tn_exact4_mask(const Weights& scores, const NMPattern& p, TileReport* report) {
  if (p.m != 4)
    throw Unsupported("tn_exact4 enumerates 4 x 4 tiles only, but the pattern is " + p.str() +
                      ": use tn_flow (exact for any n:m)");
  return for_each_tile(scores, p, report, false,
                       [&](const double* A, std::uint8_t* S, long) { tile::exact4(A, p.n, S); });
}

Mask tn_flow_mask(const Weights& scores, const NMPattern& p, TileReport* report) {
  return for_each_tile(scores, p, report, false,
                       [&](const double* A, std::uint8_t* S, long) { tile::flow(A, p.m, p.n, S); });
}

Mask tsenor_mask(const Weights& scores, const NMPattern& p, const TsenorOptions& o, TileReport* report) {
  return for_each_tile(scores, p, report, true,
                       [&](const double* A, std::uint8_t* S, long) { tile::tsenor(A, p.m, p.n, o, S); });
}

Mask tn_greedy_mask(const Weights& scores, const NMPattern& p, TileReport* report) {
  return for_each_tile(scores, p, report, true,
                       [&](const double* A, std::uint8_t* S, long) { tile::greedy(A, p.m, p.n, S); });
}

Mask tn_2approx_mask(const Weights& scores, const NMPattern& p, TileReport* report) {
  return for_each_tile(scores, p, report, true,
                       [&](const double* A, std::uint8_t* S, long) { tile::two_approx(A, p.m, p.n, S); });
}

Mask bi_nm_mask(const Weights& scores, const NMPattern& p, TileReport* report) {
  return for_each_tile(scores, p, report, true,
                       [&](const double* A, std::uint8_t* S, long) { tile::bi_nm(A, p.m, p.n, S); });
}

Mask tn_random_best_of_k_mask(const Weights& scores, const NMPattern& p, int k, const RngStream& rng,
                              TileReport* report) {
  if (k < 1) throw SpecError("", "tn_random_best_of_k needs k >= 1, got " + std::to_string(k));
  const int m = p.m, n = p.n;
  const std::uint64_t base = rng.seed();
  return for_each_tile(scores, p, report, false, [&](const double* A, std::uint8_t* S, long t) {
    // Tile t's own stream, so the result does not depend on the thread schedule.
    std::mt19937_64 eng(mix64(base ^ mix64(std::uint64_t(t) + 1)));
    std::vector<int> rp(m), cp(m);
    std::iota(rp.begin(), rp.end(), 0);
    std::iota(cp.begin(), cp.end(), 0);
    double best = -std::numeric_limits<double>::infinity();
    std::vector<int> best_r, best_c;
    for (int trial = 0; trial < k; ++trial) {
      std::shuffle(rp.begin(), rp.end(), eng);
      std::shuffle(cp.begin(), cp.end(), eng);
      // S_{σ(i) τ(j)} = [(j − i) mod m < n]
      double v = 0;
      for (int i = 0; i < m; ++i)
        for (int d = 0; d < n; ++d) v += A[size_t(rp[i]) * m + cp[(i + d) % m]];
      if (v > best) best = v, best_r = rp, best_c = cp;
    }
    for (int i = 0; i < m; ++i)
      for (int d = 0; d < n; ++d) S[size_t(best_r[i]) * m + best_c[(i + d) % m]] = 1;
  });
}

const std::vector<std::string>& transposable_methods() {
  static const std::vector<std::string> names = {"tn_flow",   "tn_exact4", "tsenor",
                                                 "tn_greedy", "tn_2approx", "bi_nm", "tn_random_best_of_k"};
  return names;
}

Mask transposable_mask(const std::string& method, const Weights& scores, const NMPattern& p, Context& ctx,
                       TileReport* report) {
  if (method == "tn_flow") return tn_flow_mask(scores, p, report);
  if (method == "tn_exact4") return tn_exact4_mask(scores, p, report);
  if (method == "tsenor") return tsenor_mask(scores, p, TsenorOptions{}, report);
  if (method == "tn_greedy") return tn_greedy_mask(scores, p, report);
  if (method == "tn_2approx") return tn_2approx_mask(scores, p, report);
  if (method == "bi_nm") return bi_nm_mask(scores, p, report);
  if (method == "tn_random_best_of_k") return tn_random_best_of_k_mask(scores, p, 100, ctx.rng.derive("tn_random"), report);
  check_transposable_method(method);
  NMLAB_ASSERT(false, "transposable_mask: a listed method has no dispatch");
  return {};
}

void check_transposable_method(const std::string& method, const std::string& where) {
  const auto& names = transposable_methods();
  if (std::find(names.begin(), names.end(), method) != names.end()) return;
  std::string known;
  for (const auto& k : names) known += (known.empty() ? "" : ", ") + k;
  throw SpecError(where, "unknown transposable_method '" + method + "'; known: " + known);
}

double kept_score(const Weights& scores, const Mask& mask) {
  NMLAB_ASSERT(scores.rows() == mask.rows() && scores.cols() == mask.cols(), "kept_score: shape mismatch");
  return scores.cwiseProduct(mask.bits().cast<double>()).sum();
}

std::map<std::string, double> transposable_metrics(const Weights& scores, const NMPattern& p, const Mask& mask,
                                                   const TileReport& report, double optimum) {
  const double kept = kept_score(scores, mask);
  if (optimum < 0) optimum = kept_score(scores, tn_flow_mask(scores, p));
  // gap = (OPT − kept) / OPT; OPT = 0 only for all-zero scores, where every mask is optimal.
  const double gap = optimum != 0.0 ? (optimum - kept) / std::abs(optimum) : 0.0;
  return {{"kept_score", kept},
          {"kept_score_gap", gap},
          {"tiles_short", double(report.tiles_short)},
          {"tiles", double(report.tiles)},
          // the method's own mask before completion (≤ n per row/column, hardware-valid)
          {"kept_score_gap_before_completion",
           !std::isnan(report.kept_before_completion) && optimum != 0.0 ? (optimum - report.kept_before_completion) / std::abs(optimum)
                                                                 : gap},
          {"pattern_m", double(p.m)}};  // numeric x axis for reports (gap vs M)
}

}  // namespace nmlab
