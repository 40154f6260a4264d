// The fashion-MNIST MLP's costs: training throughput at 1 vs 2 GEMM threads (the task trains with a
// fixed count) and test-set evaluation. Synthetic images of the real shape (784 features), so the
// benchmark needs no dataset.
//   build/nmlab_network_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include "framework/network/mlp.hpp"

namespace nmlab {
namespace {

Dataset synthetic(Index n) {
  RngStream rng(1);
  Dataset d;
  d.n = n, d.rows = 28, d.cols = 28;
  for (Index i = 0; i < n * 784; ++i) d.pixels.push_back(std::uint8_t(rng.below(256)));
  for (Index i = 0; i < n; ++i) d.labels.push_back(std::uint8_t(rng.below(10)));
  return d;
}

// One pass over 1280 images (10 Adam steps of 128) on 784-hidden-hidden-10.
void BM_TrainSteps(benchmark::State& state) {
  const Index hidden = state.range(0);
  const int threads = int(state.range(1));
  static const Dataset data = synthetic(1280);
  RngStream rng(2);
  Mlp net = init_mlp({784, hidden, hidden, 10}, rng);
  MlpTrainOptions o;
  o.epochs = 1, o.batch_size = 128, o.threads = threads;
  for (auto _ : state) train_mlp(net, data, o, rng);
  state.counters["images/s"] = benchmark::Counter(double(data.n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_TrainSteps)->ArgNames({"hidden", "threads"})->Args({1024, 1})->Args({1024, 2})->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TestAccuracy(benchmark::State& state) {
  static const Dataset data = synthetic(10000);
  RngStream rng(3);
  const Mlp net = init_mlp({784, 1024, 1024, 10}, rng);
  Eigen::setNbThreads(int(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(accuracy(net, data));
  state.counters["images/s"] = benchmark::Counter(double(data.n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_TestAccuracy)->ArgNames({"threads"})->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace nmlab

BENCHMARK_MAIN();
