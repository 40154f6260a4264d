// CUDA 2:4 SpMM (mma.sp) against cuBLAS dense (cublasGemmEx) on the same shapes and dtype. Built
// only with CUDA; without a usable GPU every benchmark is skipped with the reason.
//
//   ./build/nmlab_cuda_spmm_bench                      (or via scripts/device_bench.sh on a GPU box)
//
// Counters: speedup = t_cublas / t_sparse (medians of interleaved batches of 10 calls, CUDA events,
// warm L2), tflops_* = 2 d_out d_in tokens / t (dense-equivalent for both), p10/p90 of each,
// max_abs_diff = |Y_sparse - Y_cublas| on the timed outputs relative to max |Y|.
#include <benchmark/benchmark.h>

#include "framework/kernels/device.hpp"
#include "framework/kernels/nm_compress.hpp"
#include "framework/kernels/sparse24_cuda.hpp"
#include "framework/kernels/test_matrices.hpp"

namespace nmlab::kernels {
namespace {

constexpr int kWarmup = 10, kReps = 50;

// Args: d_out, d_in, tokens, dtype (0 fp16, 1 bf16).
void BM_CudaSpmm24VsCublas(benchmark::State& state) {
  if (!device_info().cuda_usable) {
    state.SkipWithError(("no usable GPU: " + device_info().description).c_str());
    for (auto _ : state) {}
    return;
  }
  const Index d_out = state.range(0), d_in = state.range(1), tokens = state.range(2);
  const HalfType dtype = state.range(3) ? HalfType::bf16 : HalfType::fp16;
  RngStream rng(42);
  const MatrixF W = random_nm_matrix(d_out, d_in, 2, 4, rng);
  const MatrixF X = random_matrix(d_in, tokens, rng);
  const Sparse24 c = sparse24_compress(W, dtype);
  const std::vector<std::uint32_t> meta = reorder_meta_for_mma_sp(c);
  const cuda::Sparse24View view{dtype, c.rows, c.cols, c.padded_rows, c.padded_cols, c.values.data(), meta.data()};
  cuda::Spmm24Timing t;
  for (auto _ : state) {
    t = cuda::time_spmm24_vs_cublas(view, W.data(), X.data(), long(tokens), kWarmup, kReps);
    state.SetIterationTime(t.sparse_s);
  }
  const double flops = 2.0 * double(d_out) * double(d_in) * double(tokens);
  state.counters["speedup"] = t.dense_s / t.sparse_s;
  state.counters["tflops_sparse"] = flops / t.sparse_s * 1e-12;
  state.counters["tflops_cublas"] = flops / t.dense_s * 1e-12;
  state.counters["sparse_p10_us"] = t.sparse_p10_s * 1e6;
  state.counters["sparse_p90_us"] = t.sparse_p90_s * 1e6;
  state.counters["cublas_us"] = t.dense_s * 1e6;
  state.counters["cublas_p10_us"] = t.dense_p10_s * 1e6;
  state.counters["cublas_p90_us"] = t.dense_p90_s * 1e6;
  state.counters["rel_max_diff"] = t.max_abs_diff / std::max(t.max_abs_ref, 1e-30);
  state.SetLabel(std::string(to_string(dtype)) + " " + t.device);
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"d_out", "d_in", "tokens", "bf16"});
  for (const long dt : {0, 1}) {
    b->Args({8192, 8192, 8192, dt});
    b->Args({4096, 4096, 4096, dt});
    b->Args({4096, 4096, 512, dt});
    b->Args({11008, 4096, 512, dt});
    b->Args({4096, 4096, 128, dt});
  }
}

BENCHMARK(BM_CudaSpmm24VsCublas)->Apply(shapes)->UseManualTime()->Iterations(1)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace nmlab::kernels

BENCHMARK_MAIN();
