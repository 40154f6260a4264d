// Built when CUDA is not compiled in.
#include "framework/core/errors.hpp"
#include "framework/kernels/prox_cuda.hpp"

namespace nmlab::kernels::cuda {

std::vector<double> prox_groups(const double*, long, long, int, int, double) { throw NotCompiled("cuda"); }

}  // namespace nmlab::kernels::cuda
