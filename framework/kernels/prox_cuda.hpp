#pragma once
// GPU batched group prox (compiled with CUDA; otherwise cuda/prox_stub.cpp throws NotCompiled).
// One thread per group runs the host/device routine of framework/kernels/prox_group.hpp, so the
// GPU result is the CPU routine's (up to FMA contraction; tests allow kProxGpuRelTol).
#include <vector>

namespace nmlab::kernels::cuda {

/// out = prox_{τ e_{n+1}(|·|)} of every group of m along each row of Z (rows x cols, row-major
/// doubles, cols % m == 0): prox24_group for 2:4, prox_nm_group otherwise (m <= kProxMaxGroup).
/// Throws TensorError for a bad shape/pattern or non-finite input, Error without a usable GPU.
std::vector<double> prox_groups(const double* Z, long rows, long cols, int n, int m, double tau);

}  // namespace nmlab::kernels::cuda
