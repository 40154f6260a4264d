// CUDA 2:4 SpMM on sparse tensor cores (mma.sp), the cuBLAS dense baseline, batched group top-n.
// Layouts and fragment maps: shared/research/kernels.md §1-§2; declarations: sparse24_cuda.hpp.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "framework/core/errors.hpp"
#include "framework/kernels/cuda/cuda_support.cuh"
#include "framework/kernels/cuda/mma_sp_fragments.hpp"
#include "framework/kernels/device.hpp"
#include "framework/kernels/sparse24_cuda.hpp"

namespace nmlab::kernels::cuda {

/// The cuBLAS overload beside check(cudaError_t) of cuda_support.cuh (same namespace, so both are found).
inline void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) throw Error(std::string("cuBLAS error ") + std::to_string(int(s)) + " in " + what);
}

namespace {

class CublasHandle {
 public:
  CublasHandle() { check(cublasCreate(&h_), "cublasCreate"); }
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  ~CublasHandle() { cublasDestroy(h_); }
  cublasHandle_t get() const { return h_; }

 private:
  cublasHandle_t h_{};
};

constexpr long kWarpRows = 32, kWarpTokens = 32;  // one warp's C tile
constexpr int kWarpsY = 2, kWarpsX = 2;           // CTA = 64 rows x 64 tokens, 128 threads
constexpr int kThreads = 32 * kWarpsY * kWarpsX;

long round_up(long x, long to) { return (x + to - 1) / to * to; }

template <bool kBf16>
__device__ __forceinline__ std::uint16_t to_bits(float v) {
  if constexpr (kBf16) return __bfloat16_as_ushort(__float2bfloat16_rn(v));
  else return __half_as_ushort(__float2half_rn(v));
}

/// Out[i] = dtype(In[i]) (same layout).
template <bool kBf16>
__global__ void convert_kernel(const float* __restrict__ in, long count, std::uint16_t* __restrict__ out) {
  const long i = long(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) out[i] = to_bits<kBf16>(in[i]);
}

/// Bt[n][k] = dtype(X[k][n]) for n < N, k < K; zero in the padding up to Np x Kp. Bt is the
/// ".col" B operand of mma: each token's k values contiguous.
template <bool kBf16>
__global__ void transpose_convert_kernel(const float* __restrict__ X, long K, long N, long Kp, long Np,
                                         std::uint16_t* __restrict__ Bt) {
  const long i = long(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= Np * Kp) return;
  const long n = i / Kp, k = i % Kp;
  Bt[i] = (n < N && k < K) ? to_bits<kBf16>(X[k * N + n]) : std::uint16_t(0);
}

/// D = A_sparse B + D for one m16n8k32 tile; kSel picks which thread pair of each quad supplies
/// the metadata (0: lanes 4g, 4g+1; 1: lanes 4g+2, 4g+3). The selector must be an immediate.
template <int kSel, bool kBf16>
__device__ __forceinline__ void mma_sp_16832(float (&d)[4], const std::uint32_t (&a)[4], const std::uint32_t (&b)[4],
                                             std::uint32_t e) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  if constexpr (kBf16) {
    asm volatile(
        "mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.bf16.bf16.f32 "
        "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9,%10,%11}, {%0,%1,%2,%3}, %12, %13;\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]), "r"(e),
          "n"(kSel));
  } else {
    asm volatile(
        "mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.f16.f16.f32 "
        "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9,%10,%11}, {%0,%1,%2,%3}, %12, %13;\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]), "r"(e),
          "n"(kSel));
  }
#else
  (void)d, (void)a, (void)b, (void)e;
#endif
}

__device__ __forceinline__ std::uint32_t ld32(const std::uint16_t* p) {
  return __ldg(reinterpret_cast<const unsigned int*>(p));
}

/// Y = Ŵ Bᵀ for one 32-row x 32-token warp tile per warp.
///   A  : compressed values, padded_rows x Kp/2 (16-bit), E: reordered metadata (one word per lane
///        per 32-row block and k32 step), Bt: Np x Kp (16-bit), Y: rows x tokens fp32.
/// Per k step each lane loads its A registers for two m16 tiles (rows r0.., r0+16..), its B
/// registers for four n8 tiles, and one metadata word that serves both m tiles (selector 0 reads
/// it from lanes t = 0, 1; selector 1 from t = 2, 3). Offsets: mma_sp_fragments.hpp, shared with
/// the CPU emulation test.
template <bool kBf16>
__global__ void __launch_bounds__(kThreads)
    spmm24_kernel(const std::uint16_t* __restrict__ A, const std::uint32_t* __restrict__ E,
                  const std::uint16_t* __restrict__ Bt, float* __restrict__ Y, long rows, long tokens,
                  long padded_rows, long Kp, long Np) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const long r0 = (long(blockIdx.y) * kWarpsY + warp / kWarpsX) * kWarpRows;
  const long n0 = (long(blockIdx.x) * kWarpsX + warp % kWarpsX) * kWarpTokens;
  if (r0 >= padded_rows || n0 >= Np) return;  // whole warp leaves together
  const long steps = Kp / 32, ac = Kp / 2;

  float acc[2][4][4] = {};
  for (long s = 0; s < steps; ++s) {
    const std::uint32_t e = __ldg(E + mma_sp::e_offset(lane, r0, s, steps));
    std::uint32_t a[2][4];
#pragma unroll
    for (int mt = 0; mt < 2; ++mt)
#pragma unroll
      for (int i = 0; i < 4; ++i) a[mt][i] = ld32(A + mma_sp::a_offset(lane, i, r0 + 16 * mt, s, ac));
#pragma unroll
    for (int nt = 0; nt < 4; ++nt) {
      std::uint32_t b[4];
#pragma unroll
      for (int j = 0; j < 4; ++j) b[j] = ld32(Bt + mma_sp::b_offset(lane, j, n0 + 8 * nt, s, Kp));
      // C[rows 0..15] += A[0] B, C[rows 16..31] += A[1] B
      mma_sp_16832<0, kBf16>(acc[0][nt], a[0], b, e);
      mma_sp_16832<1, kBf16>(acc[1][nt], a[1], b, e);
    }
  }
#pragma unroll
  for (int mt = 0; mt < 2; ++mt)
#pragma unroll
    for (int nt = 0; nt < 4; ++nt)
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        long r, n;
        mma_sp::c_coords(lane, i, r0 + 16 * mt, n0 + 8 * nt, r, n);
        if (r < rows && n < tokens) Y[r * tokens + n] = acc[mt][nt][i];
      }
}

/// mask[group i] = top-n of scores[group i] (m <= 64), ties to the lower index (strict >).
__global__ void group_topn_kernel(const float* __restrict__ s, long groups, int n, int m,
                                  std::uint8_t* __restrict__ mask) {
  const long gi = long(blockIdx.x) * blockDim.x + threadIdx.x;
  if (gi >= groups) return;
  const float* sg = s + gi * m;
  unsigned long long taken = 0;
  for (int k = 0; k < n; ++k) {
    int best = -1;
    float best_v = 0.0f;
    for (int i = 0; i < m; ++i)
      if (!((taken >> i) & 1ull) && (best < 0 || sg[i] > best_v)) {
        best = i;
        best_v = sg[i];
      }
    taken |= 1ull << best;
  }
  for (int i = 0; i < m; ++i) mask[gi * m + i] = std::uint8_t((taken >> i) & 1ull);
}

unsigned blocks_for(long count, int threads) { return unsigned((count + threads - 1) / threads); }

/// Device-resident operands of one SpMM shape (compressed Ŵ, Bt) and the launch.
struct Spmm24Device {
  Spmm24Device(const Sparse24View& W, const float* X, long tokens)
      : view(W),
        tokens(tokens),
        Np(round_up(std::max(tokens, 1L), kWarpTokens)),
        A(std::size_t(W.padded_rows * W.padded_cols / 2)),
        E(std::size_t(W.padded_rows * W.padded_cols / 32)),
        Bt(std::size_t(Np * W.padded_cols)),
        Y(std::size_t(W.rows * tokens)) {
    if (W.padded_rows % 32 != 0 || W.padded_cols % 32 != 0)
      throw TensorError("Sparse24 padded sizes must be multiples of 32 (use sparse24_compress)");
    A.upload(W.values);
    E.upload(W.meta_reordered);
    DeviceBuffer<float> Xd{std::size_t(W.cols * tokens)};
    Xd.upload(X);
    const long count = Np * W.padded_cols;
    if (W.dtype == HalfType::bf16)
      transpose_convert_kernel<true><<<blocks_for(count, 256), 256>>>(Xd.get(), W.cols, tokens, W.padded_cols, Np, Bt.get());
    else
      transpose_convert_kernel<false><<<blocks_for(count, 256), 256>>>(Xd.get(), W.cols, tokens, W.padded_cols, Np, Bt.get());
    check(cudaGetLastError(), "transpose_convert_kernel");
    check(cudaDeviceSynchronize(), "transpose_convert_kernel");
  }

  void launch(cudaStream_t stream = nullptr) {
    const dim3 grid(unsigned((Np + kWarpsX * kWarpTokens - 1) / (kWarpsX * kWarpTokens)),
                    unsigned((view.padded_rows + kWarpsY * kWarpRows - 1) / (kWarpsY * kWarpRows)));
    if (view.dtype == HalfType::bf16)
      spmm24_kernel<true><<<grid, kThreads, 0, stream>>>(A.get(), E.get(), Bt.get(), Y.get(), view.rows, tokens,
                                                         view.padded_rows, view.padded_cols, Np);
    else
      spmm24_kernel<false><<<grid, kThreads, 0, stream>>>(A.get(), E.get(), Bt.get(), Y.get(), view.rows, tokens,
                                                          view.padded_rows, view.padded_cols, Np);
  }

  Sparse24View view;
  long tokens, Np;
  DeviceBuffer<std::uint16_t> A;
  DeviceBuffer<std::uint32_t> E;
  DeviceBuffer<std::uint16_t> Bt;
  DeviceBuffer<float> Y;
};

/// Device-resident operands of the dense cuBLAS product.
struct DenseDevice {
  DenseDevice(HalfType dtype, const float* W, long rows, long cols, const float* X, long tokens)
      : dtype(dtype), rows(rows), cols(cols), tokens(tokens), Wh(std::size_t(rows * cols)),
        Xh(std::size_t(cols * tokens)), Y(std::size_t(rows * tokens)) {
    convert(W, rows * cols, Wh.get());
    convert(X, cols * tokens, Xh.get());
  }

  void convert(const float* host, long count, std::uint16_t* out) {
    DeviceBuffer<float> tmp{std::size_t(count)};
    tmp.upload(host);
    if (dtype == HalfType::bf16) convert_kernel<true><<<blocks_for(count, 256), 256>>>(tmp.get(), count, out);
    else convert_kernel<false><<<blocks_for(count, 256), 256>>>(tmp.get(), count, out);
    check(cudaGetLastError(), "convert_kernel");
    check(cudaDeviceSynchronize(), "convert_kernel");
  }

  /// Row-major Y = W X as column-major Yᵀ (tokens x rows) = Xᵀ Wᵀ.
  void launch() {
    const float alpha = 1.0f, beta = 0.0f;
    const cudaDataType_t t = dtype == HalfType::bf16 ? CUDA_R_16BF : CUDA_R_16F;
    check(cublasGemmEx(handle.get(), CUBLAS_OP_N, CUBLAS_OP_N, int(tokens), int(rows), int(cols), &alpha, Xh.get(), t,
                       int(tokens), Wh.get(), t, int(cols), &beta, Y.get(), CUDA_R_32F, int(tokens),
                       CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
          "cublasGemmEx");
  }

  HalfType dtype;
  long rows, cols, tokens;
  CublasHandle handle;
  DeviceBuffer<std::uint16_t> Wh, Xh;
  DeviceBuffer<float> Y;
};

struct Spread {
  double median, p10, p90;
};
Spread spread(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::size_t(q * double(v.size() - 1) + 0.5)]; };
  return {at(0.5), at(0.1), at(0.9)};
}

}  // namespace

void spmm24(const Sparse24View& W, const float* X, long tokens, float* Y) {
  require_gpu();
  Spmm24Device dev(W, X, tokens);
  dev.launch();
  check(cudaGetLastError(), "spmm24_kernel");
  check(cudaDeviceSynchronize(), "spmm24_kernel");
  dev.Y.download(Y);
}

void dense_gemm(HalfType dtype, const float* W, long rows, long cols, const float* X, long tokens, float* Y) {
  require_gpu();
  DenseDevice dev(dtype, W, rows, cols, X, tokens);
  dev.launch();
  check(cudaDeviceSynchronize(), "cublasGemmEx");
  dev.Y.download(Y);
}

std::vector<std::uint8_t> group_topn(const float* scores, long rows, long cols, int n, int m) {
  require_gpu();
  if (m < 2 || m > 64 || n <= 0 || n >= m || cols % m != 0)
    throw TensorError("group_topn needs 0 < n < m <= 64 and cols % m == 0, got " + std::to_string(n) + ":" +
                      std::to_string(m) + " with cols = " + std::to_string(cols));
  const long count = rows * cols, groups = count / m;
  DeviceBuffer<float> s{std::size_t(count)};
  DeviceBuffer<std::uint8_t> mask{std::size_t(count)};
  s.upload(scores);
  group_topn_kernel<<<blocks_for(groups, 256), 256>>>(s.get(), groups, n, m, mask.get());
  check(cudaGetLastError(), "group_topn_kernel");
  check(cudaDeviceSynchronize(), "group_topn_kernel");
  std::vector<std::uint8_t> out(static_cast<std::size_t>(count));
  mask.download(out.data());
  return out;
}

Spmm24Timing time_spmm24_vs_cublas(const Sparse24View& W, const float* W_dense, const float* X, long tokens,
                                   int warmup, int reps) {
  require_gpu();
  constexpr int kBatch = 10;  // calls per event pair (events resolve ~0.5 us)
  Spmm24Device sparse(W, X, tokens);
  DenseDevice dense(W.dtype, W_dense, W.rows, W.cols, X, tokens);
  for (int i = 0; i < warmup; ++i) {
    sparse.launch();
    dense.launch();
  }
  check(cudaDeviceSynchronize(), "warm-up");
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  auto time_batch = [&](auto&& call) {
    check(cudaEventRecord(start), "cudaEventRecord");
    for (int i = 0; i < kBatch; ++i) call();
    check(cudaEventRecord(stop), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0.0f;
    check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    return 1e-3 * double(ms) / kBatch;
  };
  std::vector<double> ts, td;
  for (int r = 0; r < reps; ++r) {  // interleaved: sparse batch, dense batch
    ts.push_back(time_batch([&] { sparse.launch(); }));
    td.push_back(time_batch([&] { dense.launch(); }));
  }
  check(cudaGetLastError(), "timed launches");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);

  Spmm24Timing out;
  const Spread s = spread(ts), d = spread(td);
  out.sparse_s = s.median;
  out.sparse_p10_s = s.p10;
  out.sparse_p90_s = s.p90;
  out.dense_s = d.median;
  out.dense_p10_s = d.p10;
  out.dense_p90_s = d.p90;
  std::vector<float> ys(std::size_t(W.rows * tokens)), yd(ys.size());
  sparse.Y.download(ys.data());
  dense.Y.download(yd.data());
  for (std::size_t i = 0; i < ys.size(); ++i) {
    out.max_abs_diff = std::max(out.max_abs_diff, double(std::abs(ys[i] - yd[i])));
    out.max_abs_ref = std::max(out.max_abs_ref, double(std::abs(yd[i])));
  }
  out.device = device_info().description;
  return out;
}

}  // namespace nmlab::kernels::cuda
