#include "framework/kernels/test_matrices.hpp"

#include <algorithm>
#include <numeric>
#include <vector>

namespace nmlab::kernels {
namespace {

float draw(RngStream& rng, Fill fill) {
  if (fill == Fill::normal) return float(rng.normal());
  const int v = int(rng.below(8));  // 0..7 -> -4..-1, 1..4 (never 0)
  return float(v < 4 ? v - 4 : v - 3);
}

}  // namespace

MatrixF random_nm_matrix(Index rows, Index cols, int n, int m, RngStream& rng, Fill fill) {
  MatrixF W = MatrixF::Zero(rows, cols);
  std::vector<int> order(static_cast<std::size_t>(m));
  for (Index r = 0; r < rows; ++r)
    for (Index g = 0; g < cols; g += m) {
      const int len = int(std::min<Index>(m, cols - g));
      order.resize(std::size_t(len));
      std::iota(order.begin(), order.end(), 0);
      std::shuffle(order.begin(), order.end(), rng.engine());
      for (int k = 0; k < std::min(n, len); ++k) W(r, g + order[std::size_t(k)]) = draw(rng, fill);
    }
  return W;
}

MatrixF random_matrix(Index rows, Index cols, RngStream& rng, Fill fill) {
  MatrixF X(rows, cols);
  for (Index i = 0; i < X.size(); ++i) X.data()[i] = draw(rng, fill);
  return X;
}

}  // namespace nmlab::kernels
