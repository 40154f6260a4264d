// The spmm_bench task: records the timing scalars, refuses backends that cannot run here.
#include <gtest/gtest.h>

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"
#include "framework/kernels/device.hpp"

namespace nmlab {
namespace {

/// A sparse product can disagree with the dense one only by fp32 rounding on these small sizes.
constexpr double kSmallShapeDiffTol = 1e-4;

TrialInputs bench_trial(const std::string& backend, int n = 2, int m = 4) {
  TrialInputs t;
  t.task = Component{"spmm_bench", Params()};
  t.task.params.set("backend", backend).set("d_out", "37").set("d_in", "44").set("tokens", "19").set("repeats", "2");
  t.pattern = NMPattern{n, m};
  return t;
}

TEST(SpmmBenchTask, RecordsTimingsAndSpeedup) {
  for (const std::string backend : {"reference", "cpu"}) {
    const TrialInputs t = bench_trial(backend);
    const auto task = builtins().tasks.make("spmm_bench", t.task.params);
    task->validate(t);
    Context ctx;
    const TrialRecord rec = task->run(t, ctx);
    const double td = rec.scalars.at("time_dense_s"), ts = rec.scalars.at("time_sparse_s");
    EXPECT_GT(td, 0.0);
    EXPECT_GT(ts, 0.0);
    EXPECT_DOUBLE_EQ(rec.scalars.at("speedup"), td / ts);
    EXPECT_DOUBLE_EQ(rec.scalars.at("gflops_sparse"), 2.0 * 37 * 44 * 19 / ts * 1e-9);
    EXPECT_LE(rec.scalars.at("max_abs_diff"), kSmallShapeDiffTol);
    EXPECT_EQ(rec.labels.at("backend_used"), backend);
  }
}

TEST(SpmmBenchTask, GeneralNMAndClearErrors) {
  const TrialInputs t = bench_trial("cpu", 3, 8);
  Context ctx;
  EXPECT_LE(builtins().tasks.make("spmm_bench", t.task.params)->run(t, ctx).scalars.at("max_abs_diff"),
            kSmallShapeDiffTol);

  Params bad;
  bad.set("backend", "gpu");
  EXPECT_THROW(builtins().tasks.make("spmm_bench", bad), SpecError);  // one of cpu, reference, cuda

  TrialInputs no_pattern = bench_trial("cpu");
  no_pattern.pattern.reset();
  EXPECT_THROW(builtins().tasks.make("spmm_bench", no_pattern.task.params)->validate(no_pattern), SpecError);

  const TrialInputs cuda_48 = bench_trial("cuda", 4, 8);
  EXPECT_THROW(builtins().tasks.make("spmm_bench", cuda_48.task.params)->validate(cuda_48), Unsupported);
  if (!device_info().cuda_usable) {
    const TrialInputs cuda = bench_trial("cuda");
    EXPECT_THROW(builtins().tasks.make("spmm_bench", cuda.task.params)->validate(cuda), Unsupported);
  }
}

}  // namespace
}  // namespace nmlab
