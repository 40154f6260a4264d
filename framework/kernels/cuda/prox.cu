// GPU batched group prox: one thread per group, the same NMLAB_HD routine as the CPU
// (framework/kernels/prox_group.hpp).
#include <cuda_runtime.h>

#include <cmath>
#include <string>

#include "framework/core/errors.hpp"
#include "framework/kernels/device.hpp"
#include "framework/kernels/prox_cuda.hpp"
#include "framework/kernels/prox_group.hpp"

namespace nmlab::kernels::cuda {
namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(e));
}

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
  if (!device_info().cuda_usable) throw Error("the cuda backend needs a GPU: " + device_info().description);
  double *dz = nullptr, *dout = nullptr;
  check(cudaMalloc(reinterpret_cast<void**>(&dz), std::size_t(std::max(count, 1L)) * sizeof(double)), "cudaMalloc");
  check(cudaMalloc(reinterpret_cast<void**>(&dout), std::size_t(std::max(count, 1L)) * sizeof(double)), "cudaMalloc");
  std::vector<double> out(static_cast<std::size_t>(count));
  try {
    check(cudaMemcpy(dz, Z, std::size_t(count) * sizeof(double), cudaMemcpyHostToDevice), "upload");
    const long groups = count / m;
    constexpr int kThreads = 128;
    prox_groups_kernel<<<unsigned((groups + kThreads - 1) / kThreads), kThreads>>>(dz, groups, n, m, tau, dout);
    check(cudaGetLastError(), "prox_groups_kernel");
    check(cudaDeviceSynchronize(), "prox_groups_kernel");
    check(cudaMemcpy(out.data(), dout, std::size_t(count) * sizeof(double), cudaMemcpyDeviceToHost), "download");
  } catch (...) {
    cudaFree(dz);
    cudaFree(dout);
    throw;
  }
  cudaFree(dz);
  cudaFree(dout);
  return out;
}

}  // namespace nmlab::kernels::cuda
