#include "framework/kernels/spmm_timing.hpp"

#include <algorithm>
#include <vector>

#include "framework/core/errors.hpp"
#include "framework/core/timer.hpp"
#include "framework/kernels/device.hpp"
#include "framework/kernels/nm_spmm.hpp"
#include "framework/kernels/sparse24_cuda.hpp"
#include "framework/kernels/test_matrices.hpp"

namespace nmlab::kernels {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

/// One warm-up pair, then `repeats` interleaved (dense, sparse) pairs.
template <class Dense, class Sparse>
void time_pairs(int repeats, Dense&& dense, Sparse&& sparse, SpmmTiming& out) {
  dense();
  sparse();
  std::vector<double> td, ts;
  for (int i = 0; i < repeats; ++i) {
    Stopwatch clock;
    dense();
    td.push_back(clock.seconds());
    clock.restart();
    sparse();
    ts.push_back(clock.seconds());
  }
  out.time_dense_s = median(td);
  out.time_sparse_s = median(ts);
}

}  // namespace

void check_spmm_backend(const std::string& backend, const NMPattern& p) {
  if (backend == "cpu" || backend == "reference") return;
  if (backend != "cuda")
    throw Unsupported("unknown spmm backend '" + backend + "': use cpu, reference or cuda");
  if (p.n != 2 || p.m != 4)
    throw Unsupported("the cuda spmm backend runs 2:4 only (sparse tensor cores), got " + p.str() +
                      ": use pattern {n: 2, m: 4} or backend cpu");
  if (!device_info().cuda_usable)
    throw Unsupported("the cuda spmm backend needs a GPU: " + device_info().description + "; use backend cpu");
}

SpmmTiming time_spmm(const std::string& backend, Index d_out, Index d_in, Index tokens, const NMPattern& p,
                     int repeats, RngStream& rng, HalfType gpu_dtype) {
  check_spmm_backend(backend, p);
  const MatrixF W = random_nm_matrix(d_out, d_in, p.n, p.m, rng);
  const MatrixF X = random_matrix(d_in, tokens, rng);
  MatrixF Yd(d_out, tokens), Ys(d_out, tokens);
  SpmmTiming out;
  if (backend == "cpu") {
    const cpu::PackedNM Wp = cpu::pack(nm_compress(W, p.n, p.m));
    time_pairs(repeats, [&] { Yd.noalias() = W * X; }, [&] { cpu::spmm(Wp, X, Ys); }, out);
    out.dense_kernel = "eigen_gemm_f32";
    out.sparse_kernel = std::string("cpu_nm_spmm_") + cpu::simd_path();
    out.device = std::string("cpu ") + cpu::simd_path();
  } else if (backend == "reference") {
    const NMCompressed Wc = nm_compress(W, p.n, p.m);
    time_pairs(repeats, [&] { reference::gemm(W, X, Yd); }, [&] { reference::spmm(Wc, X, Ys); }, out);
    out.dense_kernel = "reference_loops_f64acc";
    out.sparse_kernel = "reference_nm_spmm";
    out.device = "cpu (plain loops)";
  } else {
    const Sparse24 c = sparse24_compress(W, gpu_dtype);
    const std::vector<std::uint32_t> meta = reorder_meta_for_mma_sp(c);
    const cuda::Sparse24View view{gpu_dtype, c.rows, c.cols, c.padded_rows, c.padded_cols, c.values.data(),
                                  meta.data()};
    const cuda::Spmm24Timing t = cuda::time_spmm24_vs_cublas(view, W.data(), X.data(), long(tokens), 10, repeats);
    out.time_dense_s = t.dense_s;
    out.time_sparse_s = t.sparse_s;
    out.max_abs_diff = t.max_abs_diff;
    out.dense_kernel = std::string("cublas_gemm_ex_") + to_string(gpu_dtype);
    out.sparse_kernel = std::string("cuda_mma_sp_24_") + to_string(gpu_dtype);
    out.device = t.device;
    return out;
  }
  out.max_abs_diff = double((Yd - Ys).cwiseAbs().maxCoeff());
  return out;
}

}  // namespace nmlab::kernels
