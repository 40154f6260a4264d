#include "framework/solvers/dense_linalg.hpp"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>

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
  Lr.reverseInPlace();  // U = J L'⁻¹ J is upper triangular
  U = std::move(Lr);
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

namespace nmlab {

double quadratic_loss_chunked(const Weights& W, const Weights& W0, const Eigen::MatrixXd& H) {
  constexpr Index kRowChunk = 512;
  double total = 0;
  for (Index r0 = 0; r0 < W.rows(); r0 += kRowChunk) {
    const Index rows = std::min(kRowChunk, W.rows() - r0);
    // ½ Σ_ij (ΔW H)_ij ΔW_ij over the chunk's rows
    const Weights dW = W.middleRows(r0, rows) - W0.middleRows(r0, rows);
    total += 0.5 * (dW * H).cwiseProduct(dW).sum();
  }
  return total;
}

void apply_mask_in_place(Weights& W, const Mask& mask) {
  for (Index r = 0; r < W.rows(); ++r)
    for (Index c = 0; c < W.cols(); ++c)
      if (!mask(r, c)) W(r, c) = 0.0;
}

double largest_eigenvalue(const SymMatrix& H, int iters, RngStream rng) {
  Vector v(H.rows());
  for (Index i = 0; i < v.size(); ++i) v(i) = 1.0 + 0.1 * rng.uniform();
  v.normalize();
  double lambda = 0.0;
  for (int it = 0; it < iters; ++it) {
    const Vector w = H * v;
    const double next = v.dot(w);  // Rayleigh quotient
    const double norm = w.norm();
    if (norm == 0.0) return 0.0;
    v = w / norm;
    if (std::abs(next - lambda) <= 1e-10 * std::abs(next)) return std::max(next, norm);
    lambda = next;
  }
  return std::max(lambda, (H * v).norm());
}

}  // namespace nmlab
