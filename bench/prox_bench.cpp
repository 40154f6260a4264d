// Benchmarks of the proximal 2:4 method (issue 3):
//   BM_ProxOperator/τ      exact 2:4 group prox, one thread, 4M random N(0,1) groups: groups/s per core
//   BM_ProxReplay/k        the same on the inputs of iteration 20k of a real 1024 x 1024 solve (one thread)
//   BM_DenseGemm/d         Eigen's dense GEMM C = A·B (d x d x d), the machine's reference rate
//   BM_ProxGradProduct/d   the iteration's product G = (W − W0) H (row-major W, as in the solver)
//   BM_ProxStep/d/τ        the iteration's prox step W ← prox_{τR}(W − η G) (Regularizer::prox_step:
//                          gradient step and prox fused per row, OpenMP over rows)
//   BM_ProxSolve/d         a whole `prox` solve on a correlated toy: the prox's share of all iterations
//                          and of each one (median, 95th percentile and worst iteration of the run);
//                          d = 512 and 1024, and 4096 when NMLAB_BENCH_SOLVE_4096=1 (≈ 5 minutes)
// At exit a summary prints, from numbers measured in this same run: the product's rate as a
// fraction of the dense GEMM rate, and the prox step's share of one iteration (product + prox).
// τ = ηλ grows geometrically over a run; 1e-3 is the start, 0.3 the middle (the most expensive
// groups), 3 the end, where most groups are already 2-sparse before the gradient step.
//   build/nmlab_prox_bench                                 (all; about a minute on 2 cores)
//   build/nmlab_prox_bench --benchmark_filter='/1024'      (the d = 1024 iteration only)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <omp.h>
#include <random>
#include <string>
#include <vector>

#include "framework/builtins.hpp"
#include "framework/kernels/prox_group.hpp"
#include "framework/solvers/dense_linalg.hpp"

namespace nmlab {
namespace {

constexpr long kOperatorGroups = 4L << 20;  // 4M groups
constexpr double kOperatorTaus[] = {1e-3, 0.03, 0.3, 1.0, 10.0};
constexpr double kStepTaus[] = {1e-3, 0.3, 3.0};

/// Seconds per iteration of each benchmark instance, for the summary.
std::map<std::string, double>& seconds() {
  static std::map<std::string, double> s;
  return s;
}

std::vector<double> random_values(long n, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::normal_distribution<double> n01;
  std::vector<double> v(static_cast<size_t>(n));
  for (auto& x : v) x = n01(g);
  return v;
}

Weights random_weights(Index rows, Index cols, std::uint64_t seed) {
  const auto v = random_values(rows * cols, seed);
  return Eigen::Map<const Weights>(v.data(), rows, cols);
}

void BM_ProxOperator(benchmark::State& state) {
  const double tau = kOperatorTaus[state.range(0)];
  static const std::vector<double> z = random_values(4 * kOperatorGroups, 1);
  std::vector<double> out(z.size());
  for (auto _ : state) {
    kernels::prox24_groups(z.data(), kOperatorGroups, tau, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kOperatorGroups);
  state.counters["tau"] = tau;
  state.counters["ns_per_group"] = benchmark::Counter(double(kOperatorGroups), benchmark::Counter::kIsIterationInvariantRate |
                                                                                     benchmark::Counter::kInvert);
}
BENCHMARK(BM_ProxOperator)->DenseRange(0, 4)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

/// Inputs Z = W − ηG and τ of the prox at iterations 0, 20, …, 200 of a real solve (correlated_groups
/// 1024 x 1024, ρ = 0.8, κ = 1.05: the prox solver's iteration with the same η, λ0 and schedule),
/// recorded once: the operator on what a run feeds it, regime by regime (N(0,1) groups at one τ
/// put every group in the same regime, which no real iteration does).
struct ReplaySnapshot {
  int iteration;
  double tau;
  Weights z;
};
const std::vector<ReplaySnapshot>& replay_snapshots() {
  static const std::vector<ReplaySnapshot> snaps = [] {
    std::vector<ReplaySnapshot> out;
    Params params;
    params.set("d_out", "1024").set("d_in", "1024").set("rho", "0.8");
    RngStream rng(0);
    const LayerProblem prob = builtins().problems.make("correlated_groups", params)->make(rng);
    const double eta = 1.0 / largest_eigenvalue(prob.H, 100, RngStream(0).derive("prox_power"));  // as the solver
    double tau = 1e-3 / prob.W0.cwiseAbs().maxCoeff();  // τ0 = ηλ0 = lambda0_rel / max|W0|
    const auto reg = builtins().regularizers.make("nm_elementary", Params());
    Weights W = prob.W0, G(W.rows(), W.cols());
    for (int it = 0; it <= 200; ++it, tau *= 1.05) {
      G.noalias() = (W - prob.W0) * prob.H;
      if (it % 20 == 0) out.push_back({it, tau, W - eta * G});
      reg->prox_step(W, G, eta, tau, NMPattern{2, 4});
    }
    return out;
  }();
  return snaps;
}

void BM_ProxReplay(benchmark::State& state) {
  const ReplaySnapshot& s = replay_snapshots()[size_t(state.range(0))];
  const long groups = long(s.z.size() / 4);
  std::vector<double> out(size_t(s.z.size()));
  for (auto _ : state) {
    kernels::prox24_groups(s.z.data(), groups, s.tau, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["iteration"] = s.iteration;
  state.counters["tau"] = s.tau;
  state.counters["ns_per_group"] =
      benchmark::Counter(double(groups), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ProxReplay)->DenseRange(0, 10)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_DenseGemm(benchmark::State& state) {
  const Index d = state.range(0);
  const Eigen::MatrixXd A = random_weights(d, d, 2), B = random_weights(d, d, 3);
  Eigen::MatrixXd C(d, d);
  double total = INFINITY;  // the fastest repetition: the machine is shared
  for (auto _ : state) {
    const double t0 = omp_get_wtime();
    C.noalias() = A * B;
    total = std::min(total, omp_get_wtime() - t0);
    benchmark::DoNotOptimize(C.data());
  }
  seconds()["gemm/" + std::to_string(d)] = total;
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * d * d * d * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ProxGradProduct(benchmark::State& state) {
  const Index d = state.range(0);
  const Weights W = random_weights(d, d, 4), W0 = random_weights(d, d, 5);
  const SymMatrix H = random_weights(d, d, 6);  // any dense matrix: the product's cost does not depend on it
  Weights G(d, d);
  double total = INFINITY;  // the fastest repetition: the machine is shared
  for (auto _ : state) {
    const double t0 = omp_get_wtime();
    G.noalias() = (W - W0) * H;  // as in framework/solvers/prox.cpp
    total = std::min(total, omp_get_wtime() - t0);
    benchmark::DoNotOptimize(G.data());
  }
  seconds()["product/" + std::to_string(d)] = total;
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * d * d * d * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ProxStep(benchmark::State& state) {
  const Index d = state.range(0);
  const double tau = kStepTaus[state.range(1)];
  const auto reg = builtins().regularizers.make("nm_elementary", Params());
  const Weights W = random_weights(d, d, 7), G = random_weights(d, d, 8);
  const double eta = 1e-3;
  Weights Z(d, d);
  double total = INFINITY;  // the fastest repetition: the machine is shared
  for (auto _ : state) {
    state.PauseTiming();
    Z = W;  // every repetition starts from the same iterate (not part of the step)
    state.ResumeTiming();
    const double t0 = omp_get_wtime();
    // Z ← prox_{τR}(Z − η G), in place, as framework/solvers/prox.cpp calls it (fused per row)
    reg->prox_step(Z, G, eta, tau, NMPattern{2, 4});
    total = std::min(total, omp_get_wtime() - t0);
    benchmark::DoNotOptimize(Z.data());
  }
  seconds()["prox/" + std::to_string(d) + "/" + std::to_string(state.range(1))] = total;
  state.counters["tau"] = tau;
  state.counters["groups/s"] = benchmark::Counter(double(d) * d / 4, benchmark::Counter::kIsIterationInvariantRate);
}

void iteration_args(benchmark::internal::Benchmark* b, bool with_tau) {
  for (long d : {1024L, 4096L})
    for (int t = 0; t < (with_tau ? 3 : 1); ++t) {
      if (with_tau) b->Args({d, t});
      else b->Arg(d);
    }
}
BENCHMARK(BM_DenseGemm)->Apply([](auto* b) { iteration_args(b, false); })->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ProxGradProduct)->Apply([](auto* b) { iteration_args(b, false); })->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ProxStep)->Apply([](auto* b) { iteration_args(b, true); })->Iterations(2)->Unit(benchmark::kMillisecond)->UseRealTime();

/// A whole proximal-gradient solve on a correlated toy layer (d x d, κ = 1.05 to keep it short): the
/// prox's share of the run, summed over every iteration (the solver's own phase timers).
void BM_ProxSolve(benchmark::State& state) {
  const Index d = state.range(0);
  Params params;
  params.set("d_out", std::to_string(d)).set("d_in", std::to_string(d)).set("rho", "0.8");
  RngStream rng(0);
  const LayerProblem prob = builtins().problems.make("correlated_groups", params)->make(rng);
  const auto solver = builtins().solvers.make("prox", Params().set("lambda_growth", "1.05"));
  for (auto _ : state) {
    Context ctx;
    const SolveResult r = solver->solve(prob, NMPattern{2, 4}, ctx);
    const double product = r.metrics.at("time_product_s"), prox = r.metrics.at("time_prox_s");
    state.counters["iterations"] = double(r.summary.iterations);
    state.counters["prox_share_%"] = 100.0 * prox / (product + prox);
    // per iteration: prox / (product + prox), sorted
    const auto& tp = r.traces.at("time_product_s");
    const auto& tx = r.traces.at("time_prox_s");
    std::vector<double> share(tp.size());
    for (size_t i = 0; i < tp.size(); ++i) share[i] = 100.0 * tx[i] / (tp[i] + tx[i]);
    std::sort(share.begin(), share.end());
    const auto at = [&](double q) { return share.empty() ? 0.0 : share[size_t(q * double(share.size() - 1) + 0.5)]; };
    seconds()["solve_share_median/" + std::to_string(d)] = at(0.5);
    seconds()["solve_share_p95/" + std::to_string(d)] = at(0.95);
    seconds()["solve_share_max/" + std::to_string(d)] = at(1.0);
    seconds()["solve_product/" + std::to_string(d)] = product;
    seconds()["solve_prox/" + std::to_string(d)] = prox;
    seconds()["solve_iters/" + std::to_string(d)] = double(r.summary.iterations);
  }
}
BENCHMARK(BM_ProxSolve)->Arg(512)->Arg(1024)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
/// The d = 4096 solve (≈ 240 iterations of a 1 s product on 2 cores) only on request.
const bool kSolve4096 = [] {
  const char* e = std::getenv("NMLAB_BENCH_SOLVE_4096");
  if (e && std::string(e) == "1")
    benchmark::RegisterBenchmark("BM_ProxSolve", BM_ProxSolve)->Arg(4096)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
  return true;
}();

void print_summary() {
  const auto& s = seconds();
  std::printf("\nsummary (threads: %d; same run)\n", omp_get_max_threads());
  for (long d : {1024L, 4096L}) {
    const std::string k = std::to_string(d);
    if (!s.count("gemm/" + k) || !s.count("product/" + k)) continue;
    const double gemm = s.at("gemm/" + k), product = s.at("product/" + k);
    std::printf("d = %ld: dense GEMM %.3f s (%.1f GFLOP/s), (W - W0)H %.3f s = %.0f%% of the dense GEMM rate\n", d, gemm,
                2.0 * d * d * d * 1e-9 / gemm, product, 100.0 * gemm / product);
    for (int t = 0; t < 3; ++t) {
      const auto it = s.find("prox/" + k + "/" + std::to_string(t));
      if (it == s.end()) continue;
      std::printf("  tau = %-6g prox step %.3f s = %.1f%% of one iteration (product + prox)\n", kStepTaus[t], it->second,
                  100.0 * it->second / (it->second + product));
    }
  }
  for (long d : {512L, 1024L, 4096L}) {
    const std::string k = std::to_string(d);
    if (!s.count("solve_prox/" + k)) continue;
    const double product = s.at("solve_product/" + k), prox = s.at("solve_prox/" + k);
    std::printf("whole solve, correlated_groups %ld x %ld, kappa 1.05: %.0f iterations, product %.2f s, prox %.2f s = %.1f%%\n",
                d, d, s.at("solve_iters/" + k), product, prox, 100.0 * prox / (product + prox));
    std::printf("  prox share of each iteration: median %.1f%%, 95th percentile %.1f%%, worst %.1f%%\n",
                s.at("solve_share_median/" + k), s.at("solve_share_p95/" + k), s.at("solve_share_max/" + k));
  }
}

}  // namespace
}  // namespace nmlab

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  nmlab::print_summary();
  return 0;
}
