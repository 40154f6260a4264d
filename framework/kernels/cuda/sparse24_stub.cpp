// Built when CUDA is not compiled in: every CUDA kernel fails loudly with NotCompiled("cuda").
#include "framework/core/errors.hpp"
#include "framework/kernels/sparse24_cuda.hpp"

namespace nmlab::kernels::cuda {

void spmm24(const Sparse24View&, const float*, long, float*) { throw NotCompiled("cuda"); }

void dense_gemm(HalfType, const float*, long, long, const float*, long, float*) { throw NotCompiled("cuda"); }

std::vector<std::uint8_t> group_topn(const float*, long, long, int, int) { throw NotCompiled("cuda"); }

Spmm24Timing time_spmm24_vs_cublas(const Sparse24View&, const float*, const float*, long, int, int) {
  throw NotCompiled("cuda");
}

}  // namespace nmlab::kernels::cuda
