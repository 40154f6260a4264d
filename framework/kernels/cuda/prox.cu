// GPU batched group prox: one thread per group, the same NMLAB_HD routine as the CPU
// (framework/kernels/prox_group.hpp).
#include <cuda_runtime.h>

#include <cmath>
#include <string>

#include "framework/core/errors.hpp"
#include "framework/kernels/cuda/cuda_support.cuh"
#include "framework/kernels/prox_cuda.hpp"
#include "framework/kernels/prox_group.hpp"

namespace nmlab::kernels::cuda {
namespace {

/// out[group g] = prox(z[group g]) for `groups` consecutive groups of m.
__global__ void prox_groups_kernel(const double* __restrict__ z, long groups, int n, int m, double tau,
                                   double* __restrict__ out) {
  const long g = long(blockIdx.x) * blockDim.x + threadIdx.x;
  if (g >= groups) return;
  if (n == 2 && m == 4) prox24_group(z + 4 * g, tau, out + 4 * g);
  else prox_nm_group(z + long(m) * g, n, m, tau, out + long(m) * g);
}

}  // namespace

std::vector<double> prox_groups(const double* Z, long rows, long cols, int n, int m, double tau) {
  if (n <= 0 || n >= m || m > kProxMaxGroup || cols % m != 0)
    throw TensorError("prox_groups needs 0 < n < m <= " + std::to_string(kProxMaxGroup) +
                      " and cols % m == 0, got " + std::to_string(n) + ":" + std::to_string(m) + " with cols = " +
                      std::to_string(cols));
  const long count = rows * cols;
  for (long i = 0; i < count; ++i)
    if (!std::isfinite(Z[i])) throw TensorError("prox_groups: non-finite input at index " + std::to_string(i));
  require_gpu();
  std::vector<double> out(static_cast<std::size_t>(count));
  const std::size_t size = static_cast<std::size_t>(count);
  DeviceBuffer<double> dz(size), dout(size);
  dz.upload(Z);
  const long groups = count / m;
  constexpr int kThreads = 128;
  prox_groups_kernel<<<unsigned((groups + kThreads - 1) / kThreads), kThreads>>>(dz.get(), groups, n, m, tau, dout.get());
  check(cudaGetLastError(), "prox_groups_kernel");
  check(cudaDeviceSynchronize(), "prox_groups_kernel");
  dout.download(out.data());
  return out;
}

}  // namespace nmlab::kernels::cuda
