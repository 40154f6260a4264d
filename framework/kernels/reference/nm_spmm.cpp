// Reference N:M SpMM: the oracle. Plain loops, fp64 accumulation.
#include "framework/kernels/nm_spmm.hpp"

#include <string>

#include "framework/core/errors.hpp"

namespace nmlab::kernels {

void check_spmm_shapes(const NMCompressed& W, const MatrixF& X) {
  if (X.rows() != W.cols)
    throw TensorError("SpMM shape mismatch: W is " + std::to_string(W.rows) + " x " + std::to_string(W.cols) +
                      " but X has " + std::to_string(X.rows()) + " rows; X must be d_in x tokens = " +
                      std::to_string(W.cols) + " x tokens");
}

namespace reference {

void spmm(const NMCompressed& W, const MatrixF& X, MatrixF& Y) {
  check_spmm_shapes(W, X);
  const Index pc = W.physical_cols(), tokens = X.cols();
  Y.resize(W.rows, tokens);
  std::vector<double> acc(static_cast<std::size_t>(tokens));
  for (Index r = 0; r < W.rows; ++r) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (Index j = 0; j < pc; ++j) {
      const Index k = W.logical_col(r, j);
      if (k >= W.cols) continue;  // padding of the tail group (value 0)
      // y[r][:] += w[r][k] x[k][:]
      const double w = W.values[std::size_t(r * pc + j)];
      for (Index t = 0; t < tokens; ++t) acc[std::size_t(t)] += w * double(X(k, t));
    }
    for (Index t = 0; t < tokens; ++t) Y(r, t) = float(acc[std::size_t(t)]);
  }
}

void gemm(const MatrixF& W, const MatrixF& X, MatrixF& Y) {
  if (X.rows() != W.cols())
    throw TensorError("GEMM shape mismatch: W has " + std::to_string(W.cols()) + " columns but X has " +
                      std::to_string(X.rows()) + " rows");
  Y.resize(W.rows(), X.cols());
  std::vector<double> acc(static_cast<std::size_t>(X.cols()));
  for (Index r = 0; r < W.rows(); ++r) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (Index k = 0; k < W.cols(); ++k) {
      // y[r][:] += w[r][k] x[k][:]
      const double w = W(r, k);
      for (Index t = 0; t < X.cols(); ++t) acc[std::size_t(t)] += w * double(X(k, t));
    }
    for (Index t = 0; t < X.cols(); ++t) Y(r, t) = float(acc[std::size_t(t)]);
  }
}

}  // namespace reference
}  // namespace nmlab::kernels
