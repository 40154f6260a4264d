// The `spmm_bench` task: time dense vs N:M sparse Y = W X for one shape on one backend, so kernel
// timings land in HDF5 like any experiment (/summary columns time_dense_s, time_sparse_s, speedup,
// gflops_sparse, gflops_dense). The pattern comes from the spec's `pattern:`.
#include <omp.h>

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"
#include "framework/kernels/spmm_timing.hpp"

namespace nmlab {
namespace {

struct SpmmBenchOptions {
  std::string backend = "cpu";
  long d_out = 4096;
  long d_in = 4096;
  long tokens = 512;
  int repeats = 5;
  std::string dtype = "fp16";
  template <class V>
  void visit(V& v) {
    v("backend", backend, "cpu (OpenMP+SIMD vs Eigen), reference (plain loops), cuda (2:4 mma.sp vs cuBLAS)",
      rule::one_of({"cpu", "reference", "cuda"}));
    v("d_out", d_out, "rows of W (outputs)", rule::at_least(1));
    v("d_in", d_in, "columns of W = rows of X (the N:M groups run along it)", rule::at_least(1));
    v("tokens", tokens, "columns of X (batch x sequence)", rule::at_least(1));
    v("repeats", repeats, "timed (dense, sparse) pairs after one warm-up; medians are stored", rule::at_least(1));
    v("dtype", dtype, "GPU operand type (cuda backend only; the CPU kernels are fp32)", rule::one_of({"fp16", "bf16"}));
  }
};

class SpmmBenchTask final : public Task {
 public:
  using Options = SpmmBenchOptions;
  explicit SpmmBenchTask(Options o) : o_(std::move(o)) {}

  void validate(const TrialInputs& t) const override {
    const NMPattern& p = t.require_pattern("spmm_bench");
    p.validate();
    kernels::check_spmm_backend(o_.backend, p);
  }

  TrialRecord run(const TrialInputs& t, Context& ctx) const override {
    const NMPattern& p = t.require_pattern("spmm_bench");
    RngStream rng = ctx.rng.derive("spmm_bench");
    const kernels::HalfType dtype = o_.dtype == "bf16" ? kernels::HalfType::bf16 : kernels::HalfType::fp16;
    const kernels::SpmmTiming r =
        kernels::time_spmm(o_.backend, o_.d_out, o_.d_in, o_.tokens, p, o_.repeats, rng, dtype);
    // Dense-equivalent flops 2 d_out d_in tokens for both, so the two rates compare directly.
    const double flops = 2.0 * double(o_.d_out) * double(o_.d_in) * double(o_.tokens);
    TrialRecord rec;
    rec.scalars["time_dense_s"] = r.time_dense_s;
    rec.scalars["time_sparse_s"] = r.time_sparse_s;
    rec.scalars["speedup"] = r.time_dense_s / r.time_sparse_s;
    rec.scalars["gflops_sparse"] = flops / r.time_sparse_s * 1e-9;
    rec.scalars["gflops_dense"] = flops / r.time_dense_s * 1e-9;
    rec.scalars["max_abs_diff"] = r.max_abs_diff;
    rec.scalars["threads"] = o_.backend == "cuda" ? 0.0 : double(omp_get_max_threads());
    rec.labels["termination"] = "converged";
    rec.labels["backend_requested"] = o_.backend;
    rec.labels["backend_used"] = o_.backend;
    rec.labels["device"] = r.device;
    rec.attributes["dense_kernel"] = r.dense_kernel;
    rec.attributes["sparse_kernel"] = r.sparse_kernel;
    for (const auto& [k, v] : flatten_options(o_)) rec.attributes["task." + k] = v;
    return rec;
  }

 private:
  Options o_;
};

}  // namespace

void register_spmm_bench_task(Registry<Task>& r) {
  r.add<SpmmBenchTask>("spmm_bench", "kernel timing: dense vs N:M sparse Y = W X on one backend (cpu, reference, cuda)");
}

}  // namespace nmlab
