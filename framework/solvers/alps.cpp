// alps: ADMM with an N:M projection, then conjugate gradients on the fixed support (Meng et al.
// 2024, after mazumder-lab/ALPS `ALPS_admm` and `cg_batch`), for any N:M pattern.
//
//   H ← H + percdamp·mean(diag H)·I;  s_j = sqrt(H_jj) + 1e-8;  Ĥ = S⁻¹ H S⁻¹ (unit diagonal);
//   B0 = W0 S  (the same loss in normalised coordinates: ½ tr((B − B0) Ĥ (B − B0)ᵀ))
//   D = Π(B0), V = 0, ρ = rho
//   repeat up to max_iters:
//     B = (B0 Ĥ − V + ρ D)(Ĥ + ρ I)⁻¹        (rows are outputs here; the authors store Bᵀ)
//     D = Π(B + V/ρ)                          (Π: N:M projection, top-n of squares per group)
//     V = V + ρ (B − D)
//     every update_iter iterations: adapt ρ from the support change of D (see adapt_rho)
//   B = Π(B); then cg_iters conjugate-gradient steps on min ½ tr((B − B0) Ĥ (B − B0)ᵀ) over the
//   support of B;  W = B S⁻¹.
#include <algorithm>
#include <cmath>

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"
#include "framework/core/timer.hpp"
#include "framework/solvers/dense_linalg.hpp"
#include "framework/solvers/score_mask.hpp"

namespace nmlab {
namespace {

constexpr double kNormEps = 1e-8;  // s_j = sqrt(H_jj) + 1e-8, as in the authors' code

struct AlpsOptions {
  double rho = 0.1;         // initial ADMM penalty
  int max_iters = 300;      // ADMM iteration cap
  int update_iter = 3;      // ρ adapted every this many iterations
  int switch_iter = 30;     // after this, stop when the support change is < 0.03 %
  double rho_max = 1e6;     // cap on ρ
  double percdamp = 0.01;   // H += percdamp·mean(diag H)·I
  int cg_iters = 10;        // conjugate-gradient steps on the final support
  double cg_rtol = 1e-4;    // CG stop: every row's masked residual ≤ cg_rtol·‖(B0 Ĥ)_r‖
  int objective_every = 0;  // 0: objective trace at ρ checks; k > 0: every k iterations
  template <class V> void visit(V& v) {
    v("rho", rho, "initial ADMM penalty ρ", rule::positive());
    v("max_iters", max_iters, "ADMM iteration cap", rule::at_least(0));
    v("update_iter", update_iter, "adapt ρ (and record the objective) every this many iterations",
      rule::at_least(1));
    v("switch_iter", switch_iter, "from this iteration on, stop once the support change is below 0.03 %",
      rule::at_least(0));
    v("rho_max", rho_max, "upper cap on ρ", rule::positive());
    v("percdamp", percdamp, "damping: H += percdamp · mean(diag H) · I", rule::non_negative());
    v("cg_iters", cg_iters, "conjugate-gradient steps on the final fixed support (0: none)", rule::at_least(0));
    v("cg_rtol", cg_rtol, "CG stops when every row's masked residual is ≤ cg_rtol · ‖(B0 Ĥ)_row‖",
      rule::non_negative());
    v("objective_every", objective_every,
      "'objective' trace: 0 = at every ρ check (as the authors' code; free of extra GEMMs beyond theirs), "
      "k > 0 = every k iterations (1 = per iteration, one extra GEMM each)",
      rule::at_least(0));
  }
};

class AlpsSolver final : public SolverWithOptions<AlpsOptions> {
 public:
  using SolverWithOptions::SolverWithOptions;

  SolveResult solve(const LayerProblem& prob, const NMPattern& p, Context& ctx) const override {
    check_supported(p, prob.d_out(), prob.d_in());
    Stopwatch setup_clock;
    SolveResult res;
    res.summary.backend_used = "cpu";
    res.summary.threads_used = Eigen::nbThreads();
    const Index d_out = prob.d_out(), d_in = prob.d_in();

    // Ĥ = S⁻¹ (H + δ I) S⁻¹,  δ = percdamp · mean(diag H),  s = sqrt(diag(H + δ I)) + 1e-8
    Eigen::MatrixXd Hn = prob.H;
    const double delta = opt_.percdamp * Hn.diagonal().mean();
    if (!(Hn.diagonal().maxCoeff() > 0)) return all_dead(prob, p, ctx, std::move(res));
    Hn.diagonal().array() += delta;
    const Vector s = Hn.diagonal().cwiseMax(0.0).cwiseSqrt().array() + kNormEps;
    const Vector s_inv = s.cwiseInverse();
    Hn = s_inv.asDiagonal() * Hn * s_inv.asDiagonal();
    const Weights B0 = prob.W0 * s.asDiagonal();
    const Weights YtX = B0 * Hn;  // B0 Ĥ, the fixed part of the B-update's right-hand side

    // L(W) on the problem's own (undamped) H, from normalised coordinates:
    //   ½ tr(ΔB Ĥ ΔBᵀ) − ½ δ Σ_ij ΔB_ij² / s_j²     (ΔB = ΔW S)
    auto objective = [&](const Weights& B) {
      double damp = 0;
      for (Index r = 0; r < d_out; ++r) damp += ((B.row(r) - B0.row(r)).cwiseProduct(s_inv.transpose())).squaredNorm();
      return quadratic_loss_chunked(B, B0, Hn) - 0.5 * delta * damp;
    };
    // D = Π(Z): keep the top-n of Z² per group (mask_from_scores, so transposable patterns work too).
    // D doubles as the score buffer, so the projection needs no d_out × d_in temporary.
    auto project_into = [&](const Weights& Z, Weights& D, Mask& mask) {
      D = Z.array().square().matrix();
      mask = mask_from_scores(D, p, ctx);
      D = Z;
      apply_mask_in_place(D, mask);
    };

    double rho = opt_.rho;
    Eigen::MatrixXd Hinv;
    auto factor = [&](double r) {
      // (Ĥ + ρ I)⁻¹ by Cholesky (Ĥ is PD after damping, ρ > 0)
      Eigen::MatrixXd A = Hn;
      A.diagonal().array() += r;
      if (!spd_inverse(A, Hinv))
        throw Unsupported("solver 'alps': Ĥ + ρI is not positive definite (ρ = " + std::to_string(r) +
                          "); raise percdamp");
    };
    factor(rho);
    Mask mask_init, mask_d, mask_prev;
    Weights D, B = B0, V = Weights::Zero(d_out, d_in), R(d_out, d_in);
    project_into(B0, D, mask_init);  // D_init = Π(B0); a restart recomputes it
    mask_prev = mask_init;
    Mask mask_last_iter = mask_init;
    res.summary.objective_initial = objective(D);
    res.summary.time_setup_s = setup_clock.seconds();

    Stopwatch clock;
    const double k_kept = double(d_out) * double(d_in) * double(p.n) / double(p.m);
    bool rho_raised = false;  // the authors' init_rho: ρ has been raised at least once
    long it = 0;
    std::string why = "ADMM reached max_iters";
    Termination term = Termination::max_iters;
    auto& tr_rho = res.traces["rho"];
    auto& tr_change = res.traces["support_change"];
    auto& tr_obj = res.traces["objective"];
    auto& tr_obj_it = res.traces["objective_iteration"];
    while (it < opt_.max_iters) {
      // B = (B0 Ĥ − V + ρ D)(Ĥ + ρ I)⁻¹
      R = YtX - V + rho * D;
      B.noalias() = R * Hinv;
      // D = Π(B + V/ρ)     (R is free again: it holds B + V/ρ)
      R = B + V / rho;
      project_into(R, D, mask_d);
      // V = V + ρ (B − D)
      V += rho * (B - D);
      tr_rho.push_back(rho);
      tr_change.push_back(double(changed(mask_d, mask_last_iter)) / k_kept);
      mask_last_iter = mask_d;
      ++it;
      if (opt_.objective_every > 0 && it % opt_.objective_every == 0) {
        Mask mask_b;
        project_into(B, R, mask_b);  // objective of the feasible point Π(B)
        tr_obj.push_back(objective(R));
        tr_obj_it.push_back(double(it));
      }
      if (it % opt_.update_iter != 0) continue;

      const double change = double(changed(mask_d, mask_prev));
      const double frac = change / k_kept;
      mask_prev = mask_d;
      bool stop = false;
      // ρ schedule of the authors' code (support change since the previous check):
      if (frac > 0.1) {
        rho_raised = true;
        rho *= 1.3;
      } else if (frac > 0.005) {
        rho_raised = true;
        rho *= 1.2;
      } else if (change > 0.5) {  // at least one entry changed
        if (rho_raised) {
          rho *= 1.1;
        } else {  // ρ too large from the start: shrink it and restart from B0
          rho /= 5;
          B = B0;
          Mask unused;
          project_into(B0, D, unused);  // D = D_init = Π(B0)
          V.setZero();
        }
      } else if (rho_raised) {
        stop = true;
        why = "support unchanged over " + std::to_string(opt_.update_iter) + " iterations";
      } else {
        rho /= 5;
      }
      if (stop) {
        term = Termination::converged;
        break;
      }
      rho = std::min(rho, opt_.rho_max);
      factor(rho);
      if (opt_.objective_every == 0) {
        Mask mask_b;
        project_into(B, R, mask_b);  // objective of the feasible point Π(B)
        tr_obj.push_back(objective(R));
        tr_obj_it.push_back(double(it));
      }
      if (it >= opt_.switch_iter && frac < 0.0003) {
        term = Termination::converged;
        why = "support change below 0.03 % after switch_iter";
        break;
      }
    }
    // B = Π(B), then CG on its support
    Mask mask;
    project_into(B, D, mask);
    B.swap(D);
    Hinv.resize(0, 0);
    V.resize(0, 0);
    D.resize(0, 0);
    R.resize(0, 0);
    res.metrics["objective_admm"] = objective(B);
    const long cg_steps = conjugate_gradients(Hn, YtX, mask, B);
    res.metrics["cg_iterations"] = double(cg_steps);
    res.metrics["rho_final"] = rho;

    // W = B S⁻¹ on the mask
    B = B * s_inv.asDiagonal();
    apply_mask_in_place(B, mask);
    Weights W = std::move(B);
    res.summary.time_solve_s = clock.seconds();
    res.summary.termination = term;
    res.summary.message = why + "; " + std::to_string(cg_steps) + " CG steps";
    res.summary.iterations = it;
    res.summary.objective_final = quadratic_loss_chunked(W, prob.W0, prob.H);  // = prob.loss(W), less memory
    res.mask = std::move(mask);
    res.W = std::move(W);
    return res;
  }

 private:
  static Index changed(const Mask& a, const Mask& b) { return (a.bits().array() != b.bits().array()).count(); }

  /// Conjugate gradients for min ½ tr((B − B0) Ĥ (B − B0)ᵀ) with B fixed to zero off `mask`, every
  /// row at once (one GEMM per step). Unpreconditioned in normalised coordinates, which is Jacobi
  /// preconditioning of the original problem (Ĥ has unit diagonal). Returns the steps taken.
  long conjugate_gradients(const Eigen::MatrixXd& Hn, const Weights& YtX, const Mask& mask, Weights& B) const {
    if (opt_.cg_iters == 0) return 0;
    // R = (B0 Ĥ − B Ĥ) ⊙ M   (negative gradient on the support)
    Weights R = YtX - B * Hn;
    apply_mask_in_place(R, mask);
    Weights P = R, AP(B.rows(), B.cols());
    Vector rr = R.rowwise().squaredNorm();
    const Vector stop = opt_.cg_rtol * YtX.rowwise().norm();
    long k = 0;
    while (k < opt_.cg_iters) {
      if ((rr.array().sqrt() <= stop.array()).all()) break;
      AP.noalias() = P * Hn;  // Ĥ P, row-wise
      ++k;
      for (Index r = 0; r < B.rows(); ++r) {
        const double den = P.row(r).dot(AP.row(r));
        if (!(den > 0)) continue;
        const double alpha = rr(r) / den;
        // B_r += α P_r;  R_r −= α (Ĥ P)_r   (⊙ M_r below)
        B.row(r) += alpha * P.row(r);
        R.row(r) -= alpha * AP.row(r);
      }
      apply_mask_in_place(R, mask);
      const Vector rr_new = R.rowwise().squaredNorm();
      for (Index r = 0; r < B.rows(); ++r) {
        // P_r = R_r + β P_r,  β = ‖R_r‖² / ‖R_r,old‖²
        const double beta = rr(r) > 0 ? rr_new(r) / rr(r) : 0.0;
        P.row(r) = R.row(r) + beta * P.row(r);
      }
      rr = rr_new;
    }
    return k;
  }

  /// H = 0: every mask has the same loss; keep the largest |W0| and report it honestly.
  static SolveResult all_dead(const LayerProblem& prob, const NMPattern& p, Context& ctx, SolveResult res) {
    res.mask = mask_from_scores(prob.W0.cwiseAbs(), p, ctx);
    res.W = res.mask.apply(prob.W0);
    res.summary.termination = Termination::converged;
    res.summary.message = "H is zero (all inputs dead): magnitude mask, nothing to optimise";
    res.summary.iterations = 0;
    res.summary.objective_final = prob.loss(*res.W);
    res.summary.time_setup_s = 0;
    res.summary.time_solve_s = 0;
    return res;
  }
};

}  // namespace

void register_alps(Registry<MaskSolver>& r) {
  r.add<AlpsSolver>("alps",
                    "ADMM with N:M projection and adaptive rho, then CG on the support (Meng et al. 2024)");
}

}  // namespace nmlab
