#pragma once
// Matrix types used across nmlab. Weights are row-major: row r of W is output r, and N:M groups run
// along a row (the input dimension), so a group is contiguous in memory.
#include <Eigen/Dense>
#include <cstdint>

namespace nmlab {

using Index = Eigen::Index;
/// Dense weights W (d_out x d_in), row-major, double precision for the solvers.
using Weights = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
/// Symmetric matrices (Gram matrices H = X X^T / n); layout is irrelevant for symmetric use.
using SymMatrix = Eigen::MatrixXd;
using Vector = Eigen::VectorXd;

}  // namespace nmlab
