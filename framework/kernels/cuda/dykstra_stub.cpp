// Built without CUDA: the GPU Dykstra entry point reports that it was not compiled.
#include "framework/core/errors.hpp"
#include "framework/kernels/dykstra_cuda.hpp"

namespace nmlab::kernels::cuda {

std::vector<float> dykstra_tiles(const float*, long, int, int, int) { throw NotCompiled("cuda"); }

}  // namespace nmlab::kernels::cuda
