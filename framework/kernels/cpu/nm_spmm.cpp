// CPU N:M SpMM (fp32, OpenMP + AVX-512/AVX2), after XNNPACK's / "Fast Sparse ConvNets" scheme
// (kernels.md §4): activations are packed into token panels, every stored weight is broadcast and
// multiplied into contiguous panel rows selected by its column index (no gathers).
//
// Memory movement per task (one row block, all token panels p):
//   Xp[p]  : Kp x kNr floats, k-major, 64 B aligned; a kc x kNr slice (32 KiB) stays in L1 while
//            all rows of the block pass over it; the next slice is prefetched meanwhile. The
//            task's weights are re-read from L2 for every panel.
//   W      : one sequential "tile stream" per row block, in exactly the order the loops read it
//            (value + 1-byte k inside the slice per stored entry, 5 B), so the hardware
//            prefetcher follows it. Streaming values and columns row by row (two arrays, 24
//            jumps per k block) cost 15-20% of the product.
//   Cb     : row_block x kNr accumulator block (thread-local), R rows x kNr tokens live in registers
//            for one k block, then go back to Cb; the last k block stores into Y directly (full
//            tiles of full panels; the rest is copied from Cb, valid tokens only).
#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "framework/core/errors.hpp"
#include "framework/kernels/nm_spmm.hpp"

namespace nmlab::kernels::cpu {
namespace {

// ---- SIMD: one vector type per build -------------------------------------------------------------
#if defined(__AVX512F__)
struct Simd {
  using V = __m512;
  static constexpr int kWidth = 16;
  static constexpr const char* kName = "avx512";
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_load_ps(p); }
  static void store(float* p, V v) { _mm512_store_ps(p, v); }
  static void storeu(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
};
constexpr int kVecs = 8;  // kNr = 128 tokens
constexpr int kRows = 3;  // 3 x 8 = 24 accumulators of 32 zmm
#elif defined(__AVX2__) && defined(__FMA__)
struct Simd {
  using V = __m256;
  static constexpr int kWidth = 8;
  static constexpr const char* kName = "avx2";
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_load_ps(p); }
  static void store(float* p, V v) { _mm256_store_ps(p, v); }
  static void storeu(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
};
constexpr int kVecs = 8;  // kNr = 64 tokens
constexpr int kRows = 1;  // 8 accumulators of 16 ymm (+ broadcast + loads)
#else
struct Simd {
  using V = float;
  static constexpr int kWidth = 1;
  static constexpr const char* kName = "scalar";
  static V zero() { return 0.0f; }
  static V load(const float* p) { return *p; }
  static void store(float* p, V v) { *p = v; }
  static void storeu(float* p, V v) { *p = v; }
  static V broadcast(const float* p) { return *p; }
  static V fma(V a, V b, V c) { return a * b + c; }
};
constexpr int kVecs = 16;
constexpr int kRows = 1;
#endif

constexpr int kNr = Simd::kWidth * kVecs;    // tokens per panel
// Tuned on the build box (Xeon, AVX-512, 48 KiB L1d), 4096 x 4096 x 512 and 11008 x 4096 x 512 at
// 2:4, with the tile stream: k blocks of 64 (32 KiB slice) beat 24/32/48/96/128 by 3-40%, and
// 192-row tasks beat 24/48/96 rows by 1-5% (each panel slice brought to L1 serves more rows).
// Larger slices only paid off once the weights became one stream.
constexpr Index kKcTarget = 64;  // logical k per block (a multiple of m is used); < 256 for the 1-byte k
constexpr Index kMbMax = 64 * kRows;  // rows per task at most (see row_block_rows)
constexpr std::size_t kAlign = 64;

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};
using AlignedBuffer = std::unique_ptr<float[], AlignedFree>;
AlignedBuffer aligned_floats(std::size_t count) {
  const std::size_t bytes = (count * sizeof(float) + kAlign - 1) / kAlign * kAlign;
  return AlignedBuffer(static_cast<float*>(std::aligned_alloc(kAlign, std::max<std::size_t>(bytes, kAlign))));
}

/// The packed activations, kept per calling thread and only ever grown: a fresh multi-MiB buffer
/// per call is a fresh mmap, and faulting its pages in cost 3-5% of a 4096 x 4096 x 2048 product.
float* panel_workspace(std::size_t count) {
  thread_local AlignedBuffer buffer;
  thread_local std::size_t capacity = 0;
  if (count > capacity) {
    buffer = aligned_floats(count);
    capacity = count;
  }
  return buffer.get();
}

/// acc[r][:] (+)= Σ_j val[j R + r] slice[k[j R + r]][:] over the nnz stored entries per row of one
/// k block, for the R rows of one tile (entries interleaved j-major, row-minor: the tile stream),
/// with the R x kNr accumulator tile in registers, read from c (row stride kNr) unless `first` and
/// written to out (row stride ldo: the accumulator block, or Y itself in the last k block).
/// Also prefetches cache lines [0, pf_lines) of `pf` into L1: a share of the next k block's panel
/// slice, so no row tile waits for L2/L3 when the block changes (the slice is read in index
/// order, which the hardware prefetchers do not follow). First: start from zero instead of c.
/// Requires nnz ≥ 1. The loop is a do-while on purpose: with a possibly zero-trip loop (or a
/// run-time `first`) GCC 12 kept the R x kVecs accumulators in a stack array and copied them in
/// and out on every call, which cost 4-6% of the whole product (1.48x -> 1.54x at 4096x4096x512).
template <int R, bool First>
inline void micro_kernel(const float* val, const std::uint8_t* k, Index nnz, const float* slice, const float* c,
                         float* out, Index ldo, const float* pf, Index pf_lines) {
  for (Index l = 0; l < pf_lines; ++l) __builtin_prefetch(pf + 16 * l, 0, 3);  // 64 B line l, to L1
  typename Simd::V acc[R][kVecs];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < kVecs; ++v) acc[r][v] = First ? Simd::zero() : Simd::load(c + r * kNr + v * Simd::kWidth);
  Index j = 0;
  do {
    for (int r = 0; r < R; ++r) {
      // acc[r] += w x[k][:]   (one broadcast, kVecs FMAs with the panel row as memory operand)
      const typename Simd::V w = Simd::broadcast(val + j * R + r);
      const float* x = slice + std::size_t(k[j * R + r]) * kNr;
#if defined(__GNUC__)
      // Materialise x in a register: the FMAs then address [x + disp], which stays micro-fused on
      // Intel cores ([base + index + disp] operands are split in two uops): +1-2% measured.
      asm("" : "+r"(x));
#endif
      for (int v = 0; v < kVecs; ++v) acc[r][v] = Simd::fma(w, Simd::load(x + v * Simd::kWidth), acc[r][v]);
    }
  } while (++j < nnz);
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < kVecs; ++v) Simd::storeu(out + r * ldo + v * Simd::kWidth, acc[r][v]);
}

// ---- few tokens (decode shapes) ------------------------------------------------------------------
// With tokens <= 16 a 128-token panel would be mostly padding, and the product is bound by the
// weight stream, so this path streams fp32 value + 1-byte in-group position per stored entry
// (5 B, against 8 B for the two dense weights it replaces) and keeps X as Kp rows of 16 tokens (in
// L2). R rows at a time give R independent FMA chains.
constexpr int kNarrowTokens = 16;
constexpr int kNarrowVecs = kNarrowTokens / Simd::kWidth;
constexpr int kNarrowRows = 4;

/// y[r][:] = Σ_groups Σ_q w[r][g n + q] Xn[g m + pos[r][g n + q]][:] for R rows starting at r.
template <int R>
inline void narrow_kernel(const PackedNM& W, const float* Xn, Index r, float* out) {
  typename Simd::V acc[R][kNarrowVecs];
  for (int i = 0; i < R; ++i)
    for (int v = 0; v < kNarrowVecs; ++v) acc[i][v] = Simd::zero();
  const Index groups = W.padded_cols / W.m;
  const float* val[R];
  const std::uint8_t* pos[R];
  for (int i = 0; i < R; ++i) {
    val[i] = W.values.data() + std::size_t((r + i) * W.nnz_per_row);
    pos[i] = W.pos.data() + std::size_t((r + i) * W.nnz_per_row);
  }
  for (Index g = 0; g < groups; ++g) {
    const float* xg = Xn + std::size_t(g * W.m * kNarrowTokens);
    for (int q = 0; q < W.n; ++q) {
      const Index j = g * W.n + q;
      for (int i = 0; i < R; ++i) {
        // acc[i] += w[i][j] x[g m + pos[i][j]][:]
        const typename Simd::V w = Simd::broadcast(val[i] + j);
        const float* x = xg + std::size_t(pos[i][j]) * kNarrowTokens;
        for (int v = 0; v < kNarrowVecs; ++v) acc[i][v] = Simd::fma(w, Simd::load(x + v * Simd::kWidth), acc[i][v]);
      }
    }
  }
  for (int i = 0; i < R; ++i)
    for (int v = 0; v < kNarrowVecs; ++v) Simd::store(out + i * kNarrowTokens + v * Simd::kWidth, acc[i][v]);
}

/// One token (SpMV): y[r] = Σ_g Σ_q w[r][g n + q] x[g m + pos[r][g n + q]], scalar loads (AVX-512
/// gathers are slower here: the GDS microcode mitigation), 4 independent accumulators, 5 B streamed
/// per stored entry. N is a template parameter for the common patterns (0 = run-time n).
template <int N>
void spmv_rows(const PackedNM& W, const float* x, float* y) {
  const int n = N > 0 ? N : W.n, m = W.m;
  const Index groups = W.padded_cols / m, nnz = W.nnz_per_row;
  constexpr int kAcc = N > 0 ? 2 * N : 1;  // independent chains: two groups of N in flight
#pragma omp parallel for schedule(static)
  for (Index r = 0; r < W.rows; ++r) {
    const float* v = W.values.data() + std::size_t(r * nnz);
    const std::uint8_t* p = W.pos.data() + std::size_t(r * nnz);
    float acc[kAcc] = {};
    Index g = 0;
    if constexpr (N > 0) {
      for (; g + 2 <= groups; g += 2)
        for (int q = 0; q < 2 * N; ++q) {
          // y += w x[g m + pos]  (entry q of the two groups g, g+1)
          const Index j = g * N + q;
          acc[q] += v[j] * x[(g + q / N) * m + p[j]];
        }
    }
    float sum = 0.0f;
    for (int q = 0; q < kAcc; ++q) sum += acc[q];
    for (; g < groups; ++g)
      for (int q = 0; q < n; ++q) sum += v[g * n + q] * x[g * m + p[g * n + q]];
    y[r] = sum;
  }
}

void spmm_narrow(const PackedNM& W, const MatrixF& X, MatrixF& Y) {
  const Index tokens = X.cols(), Kp = W.padded_cols;
  if (tokens == 1) {
    std::vector<float> x(static_cast<std::size_t>(Kp), 0.0f);
    std::copy(X.data(), X.data() + W.cols, x.begin());
    if (W.n == 2) spmv_rows<2>(W, x.data(), Y.data());
    else if (W.n == 4) spmv_rows<4>(W, x.data(), Y.data());
    else spmv_rows<0>(W, x.data(), Y.data());
    return;
  }
  // Xn[k][t] = X[k][t], zero for t >= tokens and k >= d_in.
  AlignedBuffer Xn = aligned_floats(std::size_t(Kp * kNarrowTokens));
  std::fill(Xn.get(), Xn.get() + Kp * kNarrowTokens, 0.0f);
  for (Index k = 0; k < W.cols; ++k)
    std::memcpy(Xn.get() + k * kNarrowTokens, X.data() + k * tokens, std::size_t(tokens) * sizeof(float));
  const Index blocks = (W.rows + kNarrowRows - 1) / kNarrowRows;
#pragma omp parallel for schedule(static)
  for (Index b = 0; b < blocks; ++b) {
    alignas(64) float out[kNarrowRows * kNarrowTokens];
    const Index r0 = b * kNarrowRows, count = std::min<Index>(kNarrowRows, W.rows - r0);
    if (count == kNarrowRows) narrow_kernel<kNarrowRows>(W, Xn.get(), r0, out);
    else
      for (Index i = 0; i < count; ++i) narrow_kernel<1>(W, Xn.get(), r0 + i, out + i * kNarrowTokens);
    for (Index i = 0; i < count; ++i)
      std::memcpy(Y.data() + (r0 + i) * tokens, out + i * kNarrowTokens, std::size_t(tokens) * sizeof(float));
  }
}

}  // namespace

int panel_tokens() { return kNr; }
const char* simd_path() { return Simd::kName; }

Index PackedNM::k_block() const { return (kKcTarget + m - 1) / m * m; }

/// Rows per task: at most kMbMax, a multiple of kRows, and about rows / (a multiple of the thread
/// count) so the last round of tasks keeps every thread busy (4096 rows on 2 threads: 24 tasks of
/// 171 rows, not 21 of 192 and one of 64, which left a thread idle for 3% of the product).
Index row_block_rows(Index rows, int threads) {
  const Index t = std::max(1, threads);
  const Index blocks = ((rows + kMbMax - 1) / kMbMax + t - 1) / t * t;
  const Index per = (rows + blocks - 1) / blocks;
  return std::clamp<Index>((per + kRows - 1) / kRows * kRows, kRows, kMbMax);
}

PackedNM pack(const NMCompressed& W) {
  PackedNM p;
  p.n = W.n;
  p.m = W.m;
  p.rows = W.rows;
  p.cols = W.cols;
  p.padded_cols = W.padded_cols();
  p.nnz_per_row = W.physical_cols();
  p.values = W.values;
  p.pos = W.indices;
  // The tile stream: for every row block, k block, R-row tile (rows past the end padded with zero
  // weights), stored entry j of the block and row r of the tile: value and k inside the block.
  const Index kc = p.k_block(), nnz_block = kc / W.m * W.n;
  p.row_block = row_block_rows(p.rows, omp_get_max_threads());
  const Index mb = p.row_block;
  const Index k_blocks = (p.padded_cols + kc - 1) / kc, row_blocks = (p.rows + mb - 1) / mb;
  const Index rows_padded = (p.rows + kRows - 1) / kRows * kRows;
  p.tile_values.reserve(std::size_t(rows_padded * p.nnz_per_row));
  p.tile_k.reserve(std::size_t(rows_padded * p.nnz_per_row));
  for (Index rb = 0; rb < row_blocks; ++rb)
    for (Index kb = 0; kb < k_blocks; ++kb) {
      const Index j0 = kb * nnz_block, j1 = std::min(p.nnz_per_row, j0 + nnz_block);
      for (Index r = rb * mb; r < std::min(rows_padded, (rb + 1) * mb); r += kRows)
        for (Index j = j0; j < j1; ++j)
          for (Index i = r; i < r + kRows; ++i) {
            const bool real = i < p.rows;
            p.tile_values.push_back(real ? W.values[std::size_t(i * p.nnz_per_row + j)] : 0.0f);
            p.tile_k.push_back(std::uint8_t(real ? W.logical_col(i, j) - kb * kc : 0));
          }
    }
  return p;
}

void spmm(const PackedNM& W, const MatrixF& X, MatrixF& Y) {
  if (X.rows() != W.cols)
    throw TensorError("SpMM shape mismatch: W is " + std::to_string(W.rows) + " x " + std::to_string(W.cols) +
                      " but X has " + std::to_string(X.rows()) + " rows; X must be d_in x tokens");
  const Index tokens = X.cols(), Kp = W.padded_cols, rows = W.rows;
  Y.resize(rows, tokens);
  if (rows == 0 || tokens == 0) return;
  if (W.nnz_per_row == 0) { Y.setZero(); return; }
  if (tokens <= kNarrowTokens) return spmm_narrow(W, X, Y);
  const Index panels = (tokens + kNr - 1) / kNr;
  const Index kc = W.k_block(), nnz_block = kc / W.m * W.n, k_blocks = (Kp + kc - 1) / kc;

  // Xp[p][k][t] = X[k][p kNr + t], zero for k >= d_in (tail-group padding) and t >= tokens; the
  // last k block is padded to kc rows so prefetching the "next slice" never leaves the buffer.
  const Index Kb = k_blocks * kc;
  float* const Xp = panel_workspace(std::size_t(panels * Kb * kNr));
#pragma omp parallel for collapse(2) schedule(static)
  for (Index p = 0; p < panels; ++p)
    for (Index k = 0; k < Kb; ++k) {
      float* dst = Xp + std::size_t((p * Kb + k) * kNr);
      const Index t0 = p * kNr, len = k < W.cols ? std::min<Index>(kNr, tokens - t0) : 0;
      if (len > 0) std::memcpy(dst, X.data() + k * tokens + t0, std::size_t(len) * sizeof(float));
      std::fill(dst + std::max<Index>(len, 0), dst + kNr, 0.0f);
    }

  const Index mb = W.row_block, row_blocks = (rows + mb - 1) / mb;
  const Index rows_padded = (rows + kRows - 1) / kRows * kRows;
  const Index slice_lines = kc * kNr / 16;  // 64 B lines per slice
#pragma omp parallel
  {
    AlignedBuffer Cb = aligned_floats(std::size_t(mb * kNr));
#pragma omp for schedule(dynamic, 1)
    for (Index rb = 0; rb < row_blocks; ++rb)
      for (Index p = 0; p < panels; ++p) {
        const Index r0 = rb * mb, r1 = std::min(rows, r0 + mb), tiles = (std::min(rows_padded, r0 + mb) - r0) / kRows;
        const float* panel = Xp + std::size_t(p * Kb * kNr);
        const Index t0 = p * kNr, len = std::min<Index>(kNr, tokens - t0);
        const bool full_panel = len == kNr;
        const Index pf_lines = (slice_lines + tiles - 1) / tiles;
        std::size_t e = std::size_t(r0 * W.nnz_per_row);  // this block's first entry in the tile stream
        for (Index kb = 0; kb < k_blocks; ++kb) {
          const Index nnz = std::min(nnz_block, W.nnz_per_row - kb * nnz_block);
          const float* slice = panel + std::size_t(kb * kc * kNr);
          const bool last = kb + 1 == k_blocks;
          for (Index tile = 0; tile < tiles; ++tile) {
            // The last k block of a full tile of a full panel writes Y directly (no copy).
            float* acc = Cb.get() + std::size_t(tile * kRows * kNr);
            const Index r = r0 + tile * kRows;
            const bool to_y = last && full_panel && r + kRows <= rows;
            // The next k block's slice, split evenly over this block's row tiles.
            const auto kernel = kb == 0 ? micro_kernel<kRows, true> : micro_kernel<kRows, false>;
            kernel(W.tile_values.data() + e, W.tile_k.data() + e, nnz, slice, acc,
                   to_y ? Y.data() + r * tokens + t0 : acc, to_y ? tokens : kNr,
                   slice + std::size_t(kc * kNr) + tile * pf_lines * 16,
                   last ? 0 : std::max<Index>(0, std::min(pf_lines, slice_lines - tile * pf_lines)));
            e += std::size_t(nnz * kRows);
          }
        }
        // Rows not written directly: a partial panel, or the block's last tile past the last row.
        const Index direct_end = full_panel ? r0 + (r1 - r0) / kRows * kRows : r0;
        for (Index r = direct_end; r < r1; ++r)
          std::memcpy(Y.data() + r * tokens + t0, Cb.get() + std::size_t((r - r0) * kNr),
                      std::size_t(len) * sizeof(float));
      }
  }
}

void spmm(const NMCompressed& W, const MatrixF& X, MatrixF& Y) {
  check_spmm_shapes(W, X);
  spmm(pack(W), X, Y);
}

}  // namespace nmlab::kernels::cpu
