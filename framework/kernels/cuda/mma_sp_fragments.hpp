#pragma once
// Where each lane of a warp reads its mma.sp m16n8k32 (16-bit A/B, fp32 C) operands and writes its
// results, for the 2:4 SpMM kernel in sparse24.cu. Host + device, no other includes, so the CPU
// emulation test (mma_sp_emulation_test.cpp) runs the kernel's exact index arithmetic against an
// independent model of the PTX fragment semantics (kernels.md §1):
//   A (compressed 16 x 16 tile): reg i holds two halves at row g + 8 (i % 2), compressed cols
//                                2t, 2t+1 (+8 for i >= 2)
//   B (32 x 8, ".col"):          reg j holds k = 8j + 2t, 8j + 2t + 1 of token g
//   C/D (16 x 8, fp32):          c[2h], c[2h+1] = row g + 8h, tokens 2t, 2t+1
//   E (reordered, see nm_compress.hpp): one word per lane per 32-row block and k32 step
// with g = lane / 4, t = lane % 4.
#ifndef NMLAB_MMA_HD
#if defined(__CUDACC__)
#define NMLAB_MMA_HD __host__ __device__ __forceinline__
#else
#define NMLAB_MMA_HD inline
#endif
#endif

namespace nmlab::kernels::mma_sp {

/// Element offset (16-bit units) of A register i (0..3) of `lane` for the m16 tile starting at row
/// `row0`, k step s; ac = compressed row length (padded_cols / 2). Each register is 2 halves.
NMLAB_MMA_HD long a_offset(int lane, int i, long row0, long s, long ac) {
  const int g = lane >> 2, t = lane & 3;
  return (row0 + g + 8 * (i & 1)) * ac + s * 16 + 2 * t + 8 * (i >> 1);
}

/// Element offset of B register j (0..3) of `lane` for the n8 tile starting at token `n0`, k step
/// s, in Bt (tokens x Kp, k contiguous).
NMLAB_MMA_HD long b_offset(int lane, int j, long n0, long s, long Kp) {
  const int g = lane >> 2, t = lane & 3;
  return (n0 + g) * Kp + s * 32 + 8 * j + 2 * t;
}

/// Word offset of `lane`'s metadata register for the 32-row block of `row0` (a multiple of 32)
/// and k step s, in the reordered metadata (steps = padded_cols / 32).
NMLAB_MMA_HD long e_offset(int lane, long row0, long s, long steps) { return ((row0 / 32) * steps + s) * 32 + lane; }

/// Row and token of accumulator c[i] (0..3) of `lane` in the 16 x 8 tile at (row0, n0).
NMLAB_MMA_HD void c_coords(int lane, int i, long row0, long n0, long& row, long& token) {
  const int g = lane >> 2, t = lane & 3;
  row = row0 + g + 8 * (i >> 1);
  token = n0 + 2 * t + (i & 1);
}

}  // namespace nmlab::kernels::mma_sp
