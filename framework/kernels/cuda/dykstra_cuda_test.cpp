// GPU batched TSENOR Dykstra against the same routine on the CPU (dykstra_tile.hpp), on
// CPU-generated entropic plans of every compiled tile size and a run-time one. Skips with the reason
// without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "framework/core/errors.hpp"
#include "framework/core/rng.hpp"
#include "framework/kernels/device.hpp"
#include "framework/kernels/dykstra_cuda.hpp"
#include "framework/kernels/dykstra_tile.hpp"

namespace nmlab::kernels {
namespace {

/// The GPU may contract a·b·c into FMAs and rounds divisions its own way; over 30 sweeps the
/// plans then differ in the last few bits of each entry.
constexpr float kDykstraGpuRelTol = 1e-4f;

/// `tiles` entropic plans exp(τ (A − max)), A ~ N(0, 1), as the solver builds them.
std::vector<float> plans(long tiles, int m, double tau, RngStream& rng) {
  std::vector<float> p(std::size_t(tiles * m * m));
  for (auto& v : p) v = float(std::exp(std::max(tau * (rng.normal() - 4.0), -80.0)));
  return p;
}

std::vector<float> cpu_dykstra(std::vector<float> p, long tiles, int m, int n, int iterations) {
  std::vector<float> q(static_cast<std::size_t>(m * m)), col(static_cast<std::size_t>(m)), rs(static_cast<std::size_t>(m));
  for (long t = 0; t < tiles; ++t) {
    std::fill(q.begin(), q.end(), 1.0f);
    dykstra_tile_any(p.data() + t * m * m, q.data(), col.data(), rs.data(), m, n, iterations);
  }
  return p;
}

TEST(DykstraTile, ProjectsOntoTheTransportPolytope) {
  // The CPU routine itself: after enough sweeps rows and columns sum to n and no entry exceeds 1.
  RngStream rng(5);
  for (const int m : {4, 8, 16, 12}) {
    const int n = m / 2;
    const std::vector<float> p = cpu_dykstra(plans(3, m, 2.0, rng), 3, m, n, 300);
    for (long t = 0; t < 3; ++t)
      for (int i = 0; i < m; ++i) {
        double row = 0.0, col = 0.0;
        for (int j = 0; j < m; ++j) {
          const float v = p[std::size_t(t * m * m + i * m + j)];
          EXPECT_LE(v, 1.0f);
          EXPECT_GE(v, 0.0f);
          row += v;
          col += p[std::size_t(t * m * m + j * m + i)];
        }
        EXPECT_NEAR(row, n, 2e-3 * n) << "m " << m << " tile " << t << " row " << i;
        EXPECT_NEAR(col, n, 2e-3 * n) << "m " << m << " tile " << t << " col " << i;
      }
  }
}

TEST(CudaDykstra, RejectsBadArgumentsBeforeTouchingTheGpu) {
  const std::vector<float> p(16, 0.5f);
  if (!device_info().cuda_compiled) {
    EXPECT_THROW(cuda::dykstra_tiles(p.data(), 1, 4, 2, 10), NotCompiled);
    return;
  }
  EXPECT_THROW(cuda::dykstra_tiles(p.data(), 1, 4, 4, 10), TensorError);   // n >= m
  EXPECT_THROW(cuda::dykstra_tiles(p.data(), 1, 4, 2, 0), TensorError);    // no iterations
  EXPECT_THROW(cuda::dykstra_tiles(p.data(), 0, 128, 2, 10), TensorError); // tile too large
  std::vector<float> bad = p;
  bad[3] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(cuda::dykstra_tiles(bad.data(), 1, 4, 2, 10), TensorError);
  bad[3] = 0.0f;
  EXPECT_THROW(cuda::dykstra_tiles(bad.data(), 1, 4, 2, 10), TensorError);
}

TEST(CudaDykstra, MatchesTheCpuRoutineOnEveryTile) {
  if (!device_info().cuda_usable) GTEST_SKIP() << "no usable GPU: " << device_info().description;
  RngStream rng(43);
  struct Case {
    int m, n;
  };
  for (const Case c : {Case{4, 2}, Case{8, 4}, Case{16, 8}, Case{32, 16}, Case{12, 5}, Case{8, 2}})
    for (const double tau : {0.5, 5.0}) {
      const long tiles = 301;  // not a multiple of the block size
      const std::vector<float> p = plans(tiles, c.m, tau, rng);
      const std::vector<float> gpu = cuda::dykstra_tiles(p.data(), tiles, c.m, c.n, 30);
      const std::vector<float> cpu = cpu_dykstra(p, tiles, c.m, c.n, 30);
      ASSERT_EQ(gpu.size(), cpu.size());
      for (std::size_t i = 0; i < cpu.size(); ++i)
        ASSERT_NEAR(gpu[i], cpu[i], kDykstraGpuRelTol * std::max(1.0f, std::fabs(cpu[i])))
            << c.n << ":" << c.m << " tau " << tau << " entry " << i;
    }
}

}  // namespace
}  // namespace nmlab::kernels
