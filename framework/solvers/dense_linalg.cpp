#include "framework/solvers/dense_linalg.hpp"

#include <Eigen/Cholesky>

namespace nmlab {
namespace {

constexpr Index kTriInverseLeaf = 64;  // below this size the plain triangular solve is as fast

void invert_lower_block(Eigen::Ref<Eigen::MatrixXd> L) {
  const Index n = L.rows();
  if (n <= kTriInverseLeaf) {
    Eigen::MatrixXd I = Eigen::MatrixXd::Identity(n, n);
    L.triangularView<Eigen::Lower>().solveInPlace(I);
    L = I;
    return;
  }
  const Index h = n / 2;
  auto A = L.topLeftCorner(h, h);
  auto C = L.bottomLeftCorner(n - h, h);
  auto D = L.bottomRightCorner(n - h, n - h);
  invert_lower_block(A);
  invert_lower_block(D);
  // C ← −D⁻¹ C A⁻¹   (two triangular-times-dense products)
  Eigen::MatrixXd T = D.triangularView<Eigen::Lower>() * C;
  C.noalias() = -(T * A.triangularView<Eigen::Lower>());
  L.topRightCorner(h, n - h).setZero();
}

}  // namespace

void invert_lower_triangular(Eigen::MatrixXd& L) { invert_lower_block(L); }

bool upper_cholesky_of_inverse(const Eigen::MatrixXd& A, Eigen::MatrixXd& U) {
  // L' = chol(J A J)   (J A J = A with rows and columns reversed)
  Eigen::MatrixXd Lr = A.reverse();
  Eigen::LLT<Eigen::Ref<Eigen::MatrixXd>> llt(Lr);  // in place, lower triangle
  if (llt.info() != Eigen::Success) return false;
  Lr.triangularView<Eigen::StrictlyUpper>().setZero();
  invert_lower_triangular(Lr);  // L'⁻¹
  U = Lr.reverse();             // U = J L'⁻¹ J is upper triangular
  return true;
}

bool spd_inverse(const Eigen::MatrixXd& A, Eigen::MatrixXd& A_inv) {
  Eigen::MatrixXd L = A;
  Eigen::LLT<Eigen::Ref<Eigen::MatrixXd>> llt(L);
  if (llt.info() != Eigen::Success) return false;
  L.triangularView<Eigen::StrictlyUpper>().setZero();
  invert_lower_triangular(L);  // L⁻¹
  // A⁻¹ = L⁻ᵀ L⁻¹   (symmetric rank-d update into the lower triangle, then mirrored)
  A_inv.setZero(A.rows(), A.cols());
  A_inv.selfadjointView<Eigen::Lower>().rankUpdate(L.transpose());
  A_inv.triangularView<Eigen::StrictlyUpper>() = A_inv.transpose();
  return true;
}

}  // namespace nmlab
