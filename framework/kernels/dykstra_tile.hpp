#pragma once
// Dykstra's alternating Bregman projections for one M x M tile of the TSENOR transposable-mask
// solver (shared/research/tsenor.md; the solver is framework/solvers/transposable.cpp):
//   C1 row sums n, C2 column sums n, C3 capacity P <= 1 with Dykstra correction Q,
// `iterations` sweeps on the entropic plan P (m x m, row-major floats, positive on entry).
// Header-only and host/device: the CPU solver runs it per tile, cuda::dykstra_tiles (dykstra_cuda.hpp)
// runs one GPU thread per tile with the same code. Loops are fused: the row scaling accumulates the
// column sums, and the capacity step accumulates the next row sums.
#include "framework/kernels/host_device.hpp"

namespace nmlab::kernels {

/// Σ_j row_j. With kM a multiple of 8, eight lane-wise partial sums (vectorisable without
/// reassociating a serial float chain), then a fixed-order sum of the lanes.
template <int kM>
NMLAB_HD inline float dykstra_row_sum(const float* __restrict row, int m_runtime) {
  if constexpr (kM > 0 && kM % 8 == 0) {
    float lane[8] = {};
    for (int j = 0; j < kM; j += 8)
      for (int l = 0; l < 8; ++l) lane[l] += row[j + l];
    return ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
  } else {
    float s = 0;
    for (int j = 0; j < m_runtime; ++j) s += row[j];
    return s;
  }
}

/// P ← Dykstra(P) in place; q (m x m, all 1 on entry), col and rs (m each) are scratch. The tile
/// size is a compile-time constant when kM > 0 (kM == m_runtime), run-time when kM == 0.
template <int kM>
NMLAB_HD inline void dykstra_tile(float* __restrict p, float* __restrict q, float* __restrict col,
                                  float* __restrict rs, int m_runtime, int n, int iterations) {
  const int m = kM > 0 ? kM : m_runtime;
  const float fn = float(n);
  constexpr float kTiny = 1e-30f;  // guards a sum that underflowed; never reached on finite input
  for (int i = 0; i < m; ++i) rs[i] = dykstra_row_sum<kM>(p + i * m, m);
  for (int it = 0; it < iterations; ++it) {
    // C1, row sums n:  P ← Diag(n ⊘ P1) P, accumulating column sums Pᵀ1
    for (int j = 0; j < m; ++j) col[j] = 0.0f;
    for (int i = 0; i < m; ++i) {
      const float f = fn / (rs[i] < kTiny ? kTiny : rs[i]);  // std::max(rs[i], kTiny)
      float* __restrict row = p + i * m;
      for (int j = 0; j < m; ++j) row[j] *= f;
      for (int j = 0; j < m; ++j) col[j] += row[j];
    }
    // C2, column sums n:  P ← P Diag(n ⊘ Pᵀ1), fused with
    // C3, capacity with Dykstra correction: Y = P ⊙ Q, P ← min(Y, 1), Q ← Y ⊘ P = max(Y, 1)
    for (int j = 0; j < m; ++j) col[j] = fn / (col[j] < kTiny ? kTiny : col[j]);
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < m; ++j) {
        const float y = p[i * m + j] * col[j] * q[i * m + j];
        p[i * m + j] = 1.0f < y ? 1.0f : y;  // std::min(y, 1)
        q[i * m + j] = y < 1.0f ? 1.0f : y;  // std::max(y, 1)
      }
      rs[i] = dykstra_row_sum<kM>(p + i * m, m);
    }
  }
}

/// dykstra_tile with the tile size dispatched to the compiled sizes 8, 16, 32 (else run-time m).
NMLAB_HD inline void dykstra_tile_any(float* p, float* q, float* col, float* rs, int m, int n, int iterations) {
  switch (m) {
    case 8: dykstra_tile<8>(p, q, col, rs, m, n, iterations); break;
    case 16: dykstra_tile<16>(p, q, col, rs, m, n, iterations); break;
    case 32: dykstra_tile<32>(p, q, col, rs, m, n, iterations); break;
    default: dykstra_tile<0>(p, q, col, rs, m, n, iterations); break;
  }
}

}  // namespace nmlab::kernels
