// GPU batched TSENOR Dykstra iterations: one thread per tile, the same NMLAB_HD routine as the CPU
// solver (framework/kernels/dykstra_tile.hpp).
#include <cuda_runtime.h>

#include <cmath>
#include <string>

#include "framework/core/errors.hpp"
#include "framework/kernels/cuda/cuda_support.cuh"
#include "framework/kernels/dykstra_cuda.hpp"
#include "framework/kernels/dykstra_tile.hpp"

namespace nmlab::kernels::cuda {
namespace {

/// p[tile t] ← Dykstra(p[tile t]); q is scratch of the same size, all 1 on entry.
__global__ void dykstra_tiles_kernel(float* __restrict__ p, float* __restrict__ q, long tiles, int m, int n,
                                     int iterations) {
  const long t = long(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= tiles) return;
  float col[kDykstraMaxTile], rs[kDykstraMaxTile];
  const long mm = long(m) * m;
  dykstra_tile_any(p + t * mm, q + t * mm, col, rs, m, n, iterations);
}

}  // namespace

std::vector<float> dykstra_tiles(const float* P, long tiles, int m, int n, int iterations) {
  if (m < 2 || m > kDykstraMaxTile || n < 1 || n >= m || iterations < 1 || tiles < 0)
    throw TensorError("dykstra_tiles needs 2 <= m <= " + std::to_string(kDykstraMaxTile) +
                      ", 1 <= n < m, iterations >= 1 and tiles >= 0; got m = " + std::to_string(m) +
                      ", n = " + std::to_string(n) + ", iterations = " + std::to_string(iterations));
  const long count = tiles * m * m;
  for (long i = 0; i < count; ++i)
    if (!(std::isfinite(P[i]) && P[i] > 0.0f))
      throw TensorError("dykstra_tiles: entry " + std::to_string(i) + " is " + std::to_string(P[i]) +
                        "; the entropic plan must be finite and positive");
  require_gpu();
  std::vector<float> out(static_cast<std::size_t>(count));
  if (count == 0) return out;
  const std::size_t size = static_cast<std::size_t>(count);
  DeviceBuffer<float> dp(size), dq(size);
  const std::vector<float> ones(static_cast<std::size_t>(count), 1.0f);
  dp.upload(P);
  dq.upload(ones.data());
  constexpr int kThreads = 64;
  dykstra_tiles_kernel<<<unsigned((tiles + kThreads - 1) / kThreads), kThreads>>>(dp.get(), dq.get(), tiles, m, n, iterations);
  check(cudaGetLastError(), "dykstra_tiles_kernel");
  check(cudaDeviceSynchronize(), "dykstra_tiles_kernel");
  dp.download(out.data());
  return out;
}

}  // namespace nmlab::kernels::cuda
