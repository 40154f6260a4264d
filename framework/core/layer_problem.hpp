#pragma once
// LayerProblem: one linear layer's reconstruction problem.
//   W0  dense weights, d_out x d_in (rows are outputs)
//   H   Gram matrix of the calibration inputs, H = X X^T / n_tokens (d_in x d_in, PSD), plus optional
//       damping δ·mean(diag H)·I
// Local loss of a candidate W:  L(W) = ½ tr((W − W0) H (W − W0)^T)
// Headline metric:             L(Ŵ) / L(0) = tr(ΔW H ΔW^T) / tr(W0 H W0^T)
#include <cmath>
#include <string>

#include "framework/core/types.hpp"

namespace nmlab {

struct LayerProblem {
  Weights W0;            ///< d_out x d_in dense weights
  SymMatrix H;           ///< d_in x d_in Gram matrix (both triangles filled)
  double damping = 0.0;  ///< relative damping δ already added to H's diagonal
  std::string name;      ///< layer name, for logs and results

  /// Builds H = X X^T / n with Eigen's symmetric rank update; X is d_in x n_tokens. Throws
  /// TensorError on shape mismatch or non-finite values. `damping` adds δ·mean(diag H) to diag H.
  static LayerProblem from_inputs(Weights W0, const Eigen::MatrixXd& X, double damping = 0.0,
                                  std::string name = "");
  /// Takes a ready Gram matrix (symmetrised from its lower triangle); same checks and damping.
  static LayerProblem from_gram(Weights W0, SymMatrix H, double damping = 0.0, std::string name = "");

  Index d_out() const { return W0.rows(); }
  Index d_in() const { return W0.cols(); }

  /// L(W) = ½ tr((W − W0) H (W − W0)^T).
  double loss(const Weights& W) const;
  /// L(0) = ½ tr(W0 H W0^T), cached at construction.
  double reference_loss() const { return reference_loss_; }
  /// L(W) / L(0); 0 when W = W0, 1 when W = 0.
  double relative_error(const Weights& W) const;

  /// Recomputes the cached reference loss; call after modifying W0 or H by hand.
  void refresh();

 private:
  double reference_loss_ = 0.0;
};

/// Throws TensorError naming `what` if M has a NaN or Inf entry (with its position).
template <class Derived>
void check_finite(const Eigen::DenseBase<Derived>& M, const std::string& what);
void throw_non_finite(const std::string& what, double value, Index r, Index c);

template <class Derived>
void check_finite(const Eigen::DenseBase<Derived>& M, const std::string& what) {
  if (M.allFinite()) return;
  for (Index r = 0; r < M.rows(); ++r)
    for (Index c = 0; c < M.cols(); ++c)
      if (!std::isfinite(double(M(r, c)))) throw_non_finite(what, double(M(r, c)), r, c);
}

}  // namespace nmlab
