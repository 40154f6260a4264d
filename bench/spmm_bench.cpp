// CPU N:M SpMM against the dense Eigen GEMM (fp32) on the same shapes, both on all OpenMP threads.
// Every iteration runs the dense product and then the sparse one and times each, so the speed-up
// counter compares numbers measured in the same run, interleaved (fair under a noisy shared box).
//
//   ./build/nmlab_spmm_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Counters: speedup = t_dense / t_sparse (wall), speedup_cpu = the same with process CPU time; gflops_* = 2 d_out d_in tokens / t (dense-equivalent
// flops for both, so the two rates compare directly); the reported time is the sparse product's.
// t_sparse includes packing X into token panels (done on every call); W is packed once (static
// weights), as cpu::pack documents.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <chrono>
#include <ctime>

#include "framework/kernels/nm_spmm.hpp"
#include "framework/kernels/test_matrices.hpp"

namespace nmlab::kernels {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// CPU seconds of all threads of this process: robust when the box is shared (time spent
/// descheduled is not counted), so both wall and CPU ratios are reported.
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// Args: d_out, d_in, tokens, n, m.
void BM_SpmmVsDense(benchmark::State& state) {
  const Index d_out = state.range(0), d_in = state.range(1), tokens = state.range(2);
  const int n = int(state.range(3)), m = int(state.range(4));
  RngStream rng(42);
  const MatrixF W = random_nm_matrix(d_out, d_in, n, m, rng);
  const MatrixF X = random_matrix(d_in, tokens, rng);
  const cpu::PackedNM Wp = cpu::pack(nm_compress(W, n, m));
  MatrixF Yd(d_out, tokens), Ys(d_out, tokens);
  // Warm-up both (page faults, Eigen's blocking buffers).
  Yd.noalias() = W * X;
  cpu::spmm(Wp, X, Ys);

  double t_dense = 0.0, t_sparse = 0.0, c_dense = 0.0, c_sparse = 0.0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    double c0 = process_cpu_seconds();
    Yd.noalias() = W * X;  // Y = W X, W stored dense (its zeros included)
    benchmark::DoNotOptimize(Yd.data());
    t_dense += seconds_since(t0);
    c_dense += process_cpu_seconds() - c0;
    t0 = std::chrono::steady_clock::now();
    c0 = process_cpu_seconds();
    cpu::spmm(Wp, X, Ys);  // Y = Ŵ X
    benchmark::DoNotOptimize(Ys.data());
    const double ts = seconds_since(t0);
    c_sparse += process_cpu_seconds() - c0;
    t_sparse += ts;
    state.SetIterationTime(ts);
  }
  const double flops = 2.0 * double(d_out) * double(d_in) * double(tokens) * double(state.iterations());
  state.counters["speedup"] = t_dense / t_sparse;
  state.counters["speedup_cpu"] = c_dense / c_sparse;
  state.counters["gflops_dense"] = flops / t_dense * 1e-9;
  state.counters["gflops_sparse"] = flops / t_sparse * 1e-9;
  state.counters["threads"] = omp_get_max_threads();
  state.counters["max_abs_diff"] = (Yd - Ys).cwiseAbs().maxCoeff();
  state.SetLabel(std::to_string(n) + ":" + std::to_string(m) + " " + cpu::simd_path());
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"d_out", "d_in", "tokens", "n", "m"});
  for (const long tokens : {128, 512, 2048}) b->Args({4096, 4096, tokens, 2, 4});
  b->Args({11008, 4096, 512, 2, 4});
  // Decode-like widths: the few-token path (<= 16 tokens) and SpMV.
  b->Args({4096, 4096, 8, 2, 4});
  b->Args({4096, 4096, 1, 2, 4});
  // General N:M through the same kernel.
  b->Args({4096, 4096, 512, 8, 16});
  b->Args({4096, 4096, 512, 1, 4});
}

BENCHMARK(BM_SpmmVsDense)->Apply(shapes)->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(1.0);

}  // namespace
}  // namespace nmlab::kernels

BENCHMARK_MAIN();
