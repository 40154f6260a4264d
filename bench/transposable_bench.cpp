// Transposable N:M selectors on large |N(0,1)| score matrices: time of tn_flow (exact), tsenor and
// tn_greedy (+ tn_2approx, tn_exact4); counters: kept-score gap to tn_flow's optimum in % (OPT computed
// once per shape outside the timed loop), the gap of the method's own mask before completion
// (gap_raw_pct) and the tiles left short before completion.
//   ./build/nmlab_transposable_bench --benchmark_filter='size:(4096|8192)'
// "CPU" is the process CPU time (all threads); on an idle machine wall ≈ CPU / threads.
#include <benchmark/benchmark.h>

#include <cmath>
#include <map>
#include <omp.h>

#include "framework/core/rng.hpp"
#include "framework/solvers/transposable.hpp"

namespace nmlab {
namespace {

const Weights& scores(Index size) {
  static std::map<Index, Weights> cache;
  auto it = cache.find(size);
  if (it == cache.end()) {
    RngStream rng = RngStream(42).derive("transposable_bench");
    Weights A(size, size);
    for (Index k = 0; k < A.size(); ++k) A.data()[k] = std::abs(rng.normal());
    it = cache.emplace(size, std::move(A)).first;
  }
  return it->second;
}

/// OPT = Σ kept by tn_flow, cached per (size, n, m).
double optimum(Index size, const NMPattern& p) {
  static std::map<std::tuple<Index, int, int>, double> cache;
  const auto key = std::make_tuple(size, p.n, p.m);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, kept_score(scores(size), tn_flow_mask(scores(size), p))).first;
  return it->second;
}

template <class Select>
void run(benchmark::State& state, Select select) {
  const Index size = state.range(0);
  const NMPattern p{int(state.range(1)), int(state.range(2)), true};
  const Weights& A = scores(size);
  Mask mask;
  TileReport rep;
  for (auto _ : state) {
    mask = select(A, p, &rep);
    benchmark::DoNotOptimize(mask.bits().data());
  }
  const double opt = optimum(size, p);
  state.counters["gap_pct"] = 100.0 * (opt - kept_score(A, mask)) / opt;
  state.counters["tiles_short"] = double(rep.tiles_short);
  if (!std::isnan(rep.kept_before_completion))
    state.counters["gap_raw_pct"] = 100.0 * (opt - rep.kept_before_completion) / opt;  // before completion
  state.counters["threads"] = omp_get_max_threads();
}

void BM_tn_flow(benchmark::State& s) {
  run(s, [](const Weights& A, const NMPattern& p, TileReport* r) { return tn_flow_mask(A, p, r); });
}
void BM_tsenor(benchmark::State& s) {
  run(s, [](const Weights& A, const NMPattern& p, TileReport* r) { return tsenor_mask(A, p, {}, r); });
}
void BM_tn_greedy(benchmark::State& s) {
  run(s, [](const Weights& A, const NMPattern& p, TileReport* r) { return tn_greedy_mask(A, p, r); });
}
void BM_tn_2approx(benchmark::State& s) {
  run(s, [](const Weights& A, const NMPattern& p, TileReport* r) { return tn_2approx_mask(A, p, r); });
}
void BM_tn_exact4(benchmark::State& s) {
  run(s, [](const Weights& A, const NMPattern& p, TileReport* r) { return tn_exact4_mask(A, p, r); });
}

void shapes(benchmark::internal::Benchmark* b) {
  b->Args({1024, 8, 16})->Args({4096, 8, 16})->Args({4096, 16, 32})->Args({8192, 8, 16});
  b->ArgNames({"size", "n", "m"})->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime()->Iterations(1);
}

BENCHMARK(BM_tn_flow)->Apply(shapes);
BENCHMARK(BM_tsenor)->Apply(shapes);
BENCHMARK(BM_tn_greedy)->Apply(shapes);
BENCHMARK(BM_tn_2approx)->Apply(shapes);
BENCHMARK(BM_tn_exact4)->Args({4096, 2, 4})->ArgNames({"size", "n", "m"})->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime()->Iterations(1);

}  // namespace
}  // namespace nmlab

BENCHMARK_MAIN();
