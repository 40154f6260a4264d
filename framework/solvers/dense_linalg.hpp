#pragma once
// Dense SPD helpers shared by sparsegpt and alps: a blocked triangular inverse (GEMM-rich, about
// d³/3 flops), the upper Cholesky factor of an inverse, and an explicit SPD inverse.
#include "framework/core/mask.hpp"
#include "framework/core/rng.hpp"
#include "framework/core/types.hpp"

namespace nmlab {

/// L ← L⁻¹ for a lower-triangular L (the strict upper part is ignored and left zero). Recursive 2×2
/// blocking: [A 0; C D]⁻¹ = [A⁻¹ 0; −D⁻¹ C A⁻¹  D⁻¹], so nearly all flops run in Eigen's TRMM/GEMM.
void invert_lower_triangular(Eigen::MatrixXd& L);

/// Upper-triangular U with Uᵀ U = A⁻¹ (the "upper Cholesky factor of the inverse" of SparseGPT),
/// without forming A⁻¹: with J the reversal permutation and L' = chol(J A J),
///   A⁻¹ = J L'⁻ᵀ L'⁻¹ J = (J L'⁻¹ J)ᵀ (J L'⁻¹ J),   so  U = J L'⁻¹ J.
/// Returns false (U untouched) when A is not numerically positive definite.
bool upper_cholesky_of_inverse(const Eigen::MatrixXd& A, Eigen::MatrixXd& U);

/// A⁻¹ for SPD A through L = chol(A), A⁻¹ = L⁻ᵀ L⁻¹ (both triangles filled). False if A is not PD.
bool spd_inverse(const Eigen::MatrixXd& A, Eigen::MatrixXd& A_inv);

}  // namespace nmlab

namespace nmlab {

/// ½ tr((W − W0) H (W − W0)ᵀ) computed in chunks of rows, so the temporaries are chunk × d_in
/// instead of two full d_out × d_in matrices (what bounds the solvers' peak memory otherwise).
double quadratic_loss_chunked(const Weights& W, const Weights& W0, const Eigen::MatrixXd& H);

/// W ← W ⊙ mask in place (no temporary).
void apply_mask_in_place(Weights& W, const Mask& mask);

/// λ_max of a symmetric PSD matrix by power iteration from a random start (relative change < 1e-10,
/// at most `iters` steps): the prox solver's step size η = 1/λ_max(H).
double largest_eigenvalue(const SymMatrix& H, int iters, RngStream rng);

}  // namespace nmlab
