// GPU batched group prox against the same routine on the CPU (prox_group.hpp), on CPU-generated
// groups: random, ties, zeros, and large τ. Skips with the reason without a GPU.
#include <gtest/gtest.h>

#include <cmath>

#include "framework/core/errors.hpp"
#include "framework/core/rng.hpp"
#include "framework/kernels/device.hpp"
#include "framework/kernels/prox_cuda.hpp"
#include "framework/kernels/prox_group.hpp"

namespace nmlab::kernels {
namespace {

/// The GPU may contract a·b + c into one FMA where the host rounds twice, and coordinate descent
/// then stops at a different last sweep: entries agree to the sweep tolerance scale.
constexpr double kProxGpuAbsTol = 1e-9;

std::vector<double> groups_matrix(long rows, long cols, RngStream& rng) {
  std::vector<double> z(std::size_t(rows * cols));
  for (auto& v : z) v = rng.normal();
  for (long c = 0; c < 4 && c < cols; ++c) z[std::size_t(c)] = 0.5;  // a tied group
  for (long c = 4; c < 8 && c < cols; ++c) z[std::size_t(c)] = 0.0;  // an all-zero group
  return z;
}

TEST(CudaProx, RejectsBadPatternsBeforeTouchingTheGpu) {
  const std::vector<double> z(8, 1.0);
  if (!device_info().cuda_compiled) {
    EXPECT_THROW(cuda::prox_groups(z.data(), 1, 8, 2, 4, 0.1), NotCompiled);
    return;
  }
  EXPECT_THROW(cuda::prox_groups(z.data(), 1, 8, 4, 4, 0.1), TensorError);
  EXPECT_THROW(cuda::prox_groups(z.data(), 1, 8, 2, 3, 0.1), TensorError);  // 8 % 3 != 0
  std::vector<double> bad = z;
  bad[5] = std::nan("");
  EXPECT_THROW(cuda::prox_groups(bad.data(), 1, 8, 2, 4, 0.1), TensorError);
}

TEST(CudaProx, MatchesTheCpuRoutineOnEveryGroup) {
  if (!device_info().cuda_usable) GTEST_SKIP() << "no usable GPU: " << device_info().description;
  RngStream rng(41);
  struct Case {
    int n, m;
  };
  for (const Case p : {Case{2, 4}, Case{1, 4}, Case{4, 8}, Case{8, 16}})
    for (const double tau : {0.0, 0.05, 0.5, 5.0}) {
      const long rows = 33, cols = 8 * p.m;
      const std::vector<double> z = groups_matrix(rows, cols, rng);
      const std::vector<double> gpu = cuda::prox_groups(z.data(), rows, cols, p.n, p.m, tau);
      std::vector<double> cpu(z.size());
      for (long g = 0; g < rows * cols / p.m; ++g) {
        if (p.n == 2 && p.m == 4) prox24_group(z.data() + 4 * g, tau, cpu.data() + 4 * g);
        else prox_nm_group(z.data() + p.m * g, p.n, p.m, tau, cpu.data() + p.m * g);
      }
      for (std::size_t i = 0; i < z.size(); ++i)
        ASSERT_NEAR(gpu[i], cpu[i], kProxGpuAbsTol) << p.n << ":" << p.m << " tau " << tau << " entry " << i;
    }
}

}  // namespace
}  // namespace nmlab::kernels
