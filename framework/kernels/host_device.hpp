#pragma once
// Markers for routines that compile for both the CPU and a CUDA kernel (header-only, no Eigen, no
// allocation, no std:: algorithms inside them), e.g. prox_group.hpp and dykstra_tile.hpp.
#if defined(__CUDACC__)
#define NMLAB_HD __host__ __device__
#define NMLAB_INLINE __forceinline__
#define NMLAB_SIMD
#define NMLAB_SIMD_MAX(a)
#define NMLAB_SIMD_REDUCE_SUM2_MAX(s, t, m)
#else
#define NMLAB_HD
/// Small routines called inside lane loops: a call left out of line stops the loop vectorising.
#define NMLAB_INLINE inline __attribute__((always_inline))
/// Lane loops of batched paths: vectorise across groups (OpenMP SIMD; ignored without -fopenmp).
#define NMLAB_SIMD _Pragma("omp simd")
/// The same with a max-reduction (OpenMP allows reordering it, so it vectorises).
#define NMLAB_PRAGMA(x) _Pragma(#x)
#define NMLAB_SIMD_MAX(a) NMLAB_PRAGMA(omp simd reduction(max : a))
/// Two sums and a max-reduction in one lane loop.
#define NMLAB_SIMD_REDUCE_SUM2_MAX(s, t, m) NMLAB_PRAGMA(omp simd reduction(+ : s, t) reduction(max : m))
#endif
