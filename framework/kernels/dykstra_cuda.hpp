#pragma once
// GPU batched Dykstra iterations of the TSENOR transposable-mask solver (compiled with CUDA;
// otherwise cuda/dykstra_stub.cpp throws NotCompiled). One thread per M x M tile runs the host/device
// routine of framework/kernels/dykstra_tile.hpp, so the GPU result is the CPU routine's (up to FMA
// contraction and division rounding; tests allow kDykstraGpuRelTol).
#include <vector>

namespace nmlab::kernels::cuda {

/// Largest tile the GPU kernel accepts (its per-thread row/column sums live in registers/local memory).
constexpr int kDykstraMaxTile = 64;

/// P after `iterations` Dykstra sweeps, for `tiles` consecutive m x m row-major tiles of positive
/// floats (the entropic plans). Throws TensorError for m outside [2, kDykstraMaxTile], n outside
/// [1, m), iterations < 1 or a non-positive / non-finite entry; Error without a usable GPU.
std::vector<float> dykstra_tiles(const float* P, long tiles, int m, int n, int iterations);

}  // namespace nmlab::kernels::cuda
