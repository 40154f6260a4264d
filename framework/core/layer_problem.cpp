#include "framework/core/layer_problem.hpp"

#include <cmath>

#include "framework/core/errors.hpp"

namespace nmlab {
namespace {

void add_damping(SymMatrix& H, double damping) {
  if (damping < 0) throw SpecError("", "damping = " + std::to_string(damping) + " must be >= 0");
  if (damping > 0) H.diagonal().array() += damping * H.diagonal().mean();
}

}  // namespace

void throw_non_finite(const std::string& what, double value, Index r, Index c) {
  throw TensorError(what + " has a non-finite value (" + std::to_string(value) + ") at [" + std::to_string(r) +
                    ", " + std::to_string(c) + "]: clean the input or drop the layer");
}

LayerProblem LayerProblem::from_inputs(Weights W0, const Eigen::MatrixXd& X, double damping, std::string name) {
  if (X.rows() != W0.cols())
    throw TensorError("calibration inputs X are " + std::to_string(X.rows()) + " x " + std::to_string(X.cols()) +
                      " but W0 has d_in = " + std::to_string(W0.cols()) + ": X must be d_in x n_tokens");
  if (X.cols() == 0) throw TensorError("calibration inputs X have no tokens (0 columns)");
  check_finite(X, "calibration inputs X");
  // H = X X^T / n via the symmetric rank-k update (lower triangle), then mirrored.
  SymMatrix H = SymMatrix::Zero(X.rows(), X.rows());
  H.selfadjointView<Eigen::Lower>().rankUpdate(X, 1.0 / double(X.cols()));
  H.triangularView<Eigen::StrictlyUpper>() = H.transpose();
  return from_gram(std::move(W0), std::move(H), damping, std::move(name));
}

LayerProblem LayerProblem::from_gram(Weights W0, SymMatrix H, double damping, std::string name) {
  if (H.rows() != H.cols() || H.rows() != W0.cols())
    throw TensorError("Gram matrix H is " + std::to_string(H.rows()) + " x " + std::to_string(H.cols()) +
                      " but W0 has d_in = " + std::to_string(W0.cols()) + ": H must be d_in x d_in");
  check_finite(W0, "weights W0");
  check_finite(H, "Gram matrix H");
  H.triangularView<Eigen::StrictlyUpper>() = H.transpose();
  add_damping(H, damping);
  LayerProblem p;
  p.W0 = std::move(W0);
  p.H = std::move(H);
  p.damping = damping;
  p.name = std::move(name);
  p.refresh();
  return p;
}

void LayerProblem::refresh() { reference_loss_ = 0.5 * (W0 * H).cwiseProduct(W0).sum(); }

double LayerProblem::loss(const Weights& W) const {
  NMLAB_ASSERT(W.rows() == W0.rows() && W.cols() == W0.cols(), "candidate W has the wrong shape");
  const Weights D = W - W0;
  // ½ tr(D H D^T) = ½ Σ_ij (D H)_ij D_ij
  return 0.5 * (D * H).cwiseProduct(D).sum();
}

double LayerProblem::relative_error(const Weights& W) const {
  return reference_loss_ > 0 ? loss(W) / reference_loss_ : 0.0;
}

}  // namespace nmlab
