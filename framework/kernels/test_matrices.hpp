#pragma once
// Random inputs for kernel tests, benchmarks and the spmm_bench task (deterministic in the stream).
#include "framework/core/rng.hpp"
#include "framework/kernels/nm_compress.hpp"

namespace nmlab::kernels {

/// Value distribution of random test matrices.
enum class Fill {
  normal,    ///< iid N(0, 1)
  integers,  ///< small non-zero integers in [-4, 4]: every product and partial sum is exact in fp32
};

/// rows x cols matrix with exactly n non-zeros at random positions in every group of m (the tail
/// group of a width that is not a multiple of m keeps min(n, its width)).
MatrixF random_nm_matrix(Index rows, Index cols, int n, int m, RngStream& rng, Fill fill = Fill::normal);
/// Dense rows x cols matrix.
MatrixF random_matrix(Index rows, Index cols, RngStream& rng, Fill fill = Fill::normal);

}  // namespace nmlab::kernels
