#pragma once
// Exact proximal operator of the N:M elementary-symmetric regularizer for ONE group of m weights:
//
//   prox_{τ r}(z) = argmin_w ½‖w − z‖² + τ r(w),   r(w) = e_{N+1}(|w_1|, …, |w_m|)
//
// r is zero exactly when at most N entries are non-zero (2:4: r = Σ |triple products| = e3,
// Kübler et al. 2025; see docs/PROX.md and shared/research/prox24.md §3). Structure used (proved by
// exchange arguments, prox24.md §3.1–3.4):
//   1. sign: the optimum has sign(w_i) = sign(z_i), so solve on u = |z| with w ≥ 0 and re-sign;
//   2. order: u_i > u_j ⇒ w_i ≥ w_j, so sort u decreasingly;
//   3. the support is a prefix {1..K}, K = N..m. K = N keeps the N largest entries UNSHRUNK
//      (objective ½ Σ_{i>N} u_i²); for K > N the candidate is an interior point of the problem
//      restricted to the first K coordinates;
//   4. on w ≥ 0, r is multilinear, so exact coordinate minimisation is closed form:
//        w_i ← max(0, u_i − τ e_N(w_{−i}))          (2:4: e_2(w_{−i}) = Σ pair products without i)
// Each candidate K > N runs exact coordinate descent from the starts w = c·u, c ∈ {0, ¼, ½, ¾, 1},
// in both sweep orders (1→K and K→1); the candidate with the smallest objective wins, the sparser
// one on ties. The 2:4 routines (prox24_group, and prox24_groups: batches of 32 groups in SIMD lanes) add
// shortcuts that leave the result unchanged: a certificate that a K has no strict interior minimum
// (closed-form necessary conditions first, from the 1-D reduction for K = 3 and the order bounds for
// K = 4, then bound tightening), a test that K = 4 provably beats K = 3, an early exit at the first start that
// ends at a KKT point with a positive definite Hessian (prox24_settles: the region where the Hessian
// is positive semidefinite is convex, so such a point is the interior minimum of its support, or
// proves there is none), and Newton polish of slowly converging runs. In 100k random and
// near-tie groups against an independent reference this is exact to solver precision
// (framework/regularizers/nm_elementary_test.cpp). It also compiles for the GPU:
//   nvcc -std=c++17 -arch=sm_80 -I. -c a kernel calling prox24_group / prox_nm_group
//
// Header-only and dependency-free (no Eigen, no allocation): every function is NMLAB_HD so the same
// code runs in a CUDA kernel. Callers check for NaN/Inf (the matrix-level prox throws TensorError).
#include <math.h>

#include "framework/kernels/host_device.hpp"

namespace nmlab::kernels {

/// Largest group size m the general routine accepts (fixed-size stack arrays).
constexpr int kProxMaxGroup = 32;
/// Coordinate-descent sweep cap per start (the worst near-tie case seen needed ~1300 sweeps).
constexpr int kProxMaxSweeps = 2000;
/// A run has converged when Σ_i |Δw_i| < kProxSweepTol · (1 + u_max) over one sweep.
constexpr double kProxSweepTol = 1e-14;
/// A denser candidate must beat the best one by more than kProxTieRel · (objective of K = N).
constexpr double kProxTieRel = 1e-12;
/// Starting points w = c·u of the multi-start coordinate descent.
constexpr int kProxStarts = 5;
NMLAB_HD constexpr double prox_start_scale(int s) { return 0.25 * s; }
/// max(x, 0) without a libm call (fmax is not inlined without -ffinite-math-only); x is finite.
NMLAB_HD inline double prox_pos(double x) { return x > 0.0 ? x : 0.0; }

// ---- helpers ---------------------------------------------------------------------------------------

/// e_k(v_0, …, v_{len−1}) by the recurrence e_j ← e_j + v·e_{j−1} (all terms ≥ 0 here: no
/// cancellation). O(len·k). Requires k ≤ kProxMaxGroup.
NMLAB_HD inline double elementary_symmetric(const double* v, int len, int k) {
  if (k == 0) return 1.0;
  if (k > len) return 0.0;
  double e[kProxMaxGroup + 1];
  e[0] = 1.0;
  for (int j = 1; j <= k; ++j) e[j] = 0.0;
  for (int i = 0; i < len; ++i) {
    const int top = i + 1 < k ? i + 1 : k;
    for (int j = top; j >= 1; --j) e[j] += v[i] * e[j - 1];
  }
  return e[k];
}

/// Same as elementary_symmetric(|v|) without forming |v|.
NMLAB_HD inline double elementary_symmetric_abs(const double* v, int len, int k) {
  double a[kProxMaxGroup];
  for (int i = 0; i < len; ++i) a[i] = fabs(v[i]);
  return elementary_symmetric(a, len, k);
}

NMLAB_HD inline void prox_swap_if_less(double* u, int* idx, int a, int b) {
  // keep u[a] ≥ u[b]
  if (u[a] < u[b]) {
    const double t = u[a];
    u[a] = u[b];
    u[b] = t;
    const int s = idx[a];
    idx[a] = idx[b];
    idx[b] = s;
  }
}

// ---- 2:4 fast path ---------------------------------------------------------------------------------

/// e_2 of the three coordinates other than i (w has 4 entries, unused ones are 0).
NMLAB_HD inline double prox24_pairs_without(const double* w, int i) {
  const double a = w[(i + 1) & 3], b = w[(i + 2) & 3], c = w[(i + 3) & 3];
  return a * (b + c) + b * c;
}

/// f(w) = ½‖w − u‖² + τ e3(w) for w ≥ 0, on scalars (lane loops use this form).
NMLAB_HD inline double prox24_objective4(double u0, double u1, double u2, double u3, double w0, double w1, double w2,
                                         double w3, double tau) {
  const double d0 = w0 - u0, d1 = w1 - u1, d2 = w2 - u2, d3 = w3 - u3;
  const double e3 = w0 * w1 * (w2 + w3) + w2 * w3 * (w0 + w1);
  return 0.5 * (d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3) + tau * e3;
}
/// The same on arrays of 4.
NMLAB_HD inline double prox24_objective(const double* u, const double* w, double tau) {
  return prox24_objective4(u[0], u[1], u[2], u[3], w[0], w[1], w[2], w[3], tau);
}

/// Rounds of bound tightening in prox24_no_interior_minimum (it also stops once a round shrinks the
/// box's total width by less than the factor kProxCertStall), and its rounding slack.
constexpr int kProxCertRounds = 40;
constexpr double kProxCertStall = 0.99;
constexpr double kProxCertSlack = 1e-12;

/// True when the problem restricted to the first K ∈ {3, 4} coordinates provably has no strict
/// interior local minimum, so no coordinate-descent start needs to look for one. Every such
/// minimum w (sorted u) lies in a box L ≤ w ≤ U that these valid rules shrink:
///   stationarity  w_i = u_i − τ e2(w_{−i})       ⇒ U_i ≤ u_i − τ e2(L_{−i}),  L_i ≥ u_i − τ e2(U_{−i});
///   2x2 minors of the positive definite Hessian: τ Σ_{k≠i,j} w_k < 1  ⇒ K = 3: U_k ≤ 1/τ,
///                                                                   K = 4: U_k ≤ 1/τ − L_l;
///   order  (w_i − w_j)(1 − τ Σ_{k≠i,j} w_k) = u_i − u_j  ⇒  w_i − w_j ≥ u_i − u_j  (i < j).
/// An empty box (U_i ≤ δ or L_i > U_i + δ) proves there is none; the slack δ = kProxCertSlack·(1 + u_1
/// + τ e2(u)) covers rounding as the box closes on a real minimum (a minimum with w_K ≤ δ is, to
/// that precision, the boundary point of the smaller K). Late in a proximal-gradient run this
/// settles almost every group without a single coordinate sweep.
template <int K>
NMLAB_HD inline bool prox24_no_interior_minimum(const double* u, double tau) {
  double lo[4] = {0.0, 0.0, 0.0, 0.0}, hi[4] = {u[0], u[1], u[2], K == 4 ? u[3] : 0.0};
  const double inv = 1.0 / tau;
  const double slack = kProxCertSlack * (1.0 + u[0] + tau * (u[0] * (u[1] + u[2] + u[3]) + prox24_pairs_without(u, 0)));
  double last_width = INFINITY;
  for (int round = 0; round < kProxCertRounds; ++round) {
    double nlo[4], nhi[4];
    for (int i = 0; i < K; ++i) {
      nhi[i] = u[i] - tau * prox24_pairs_without(lo, i);
      nlo[i] = u[i] - tau * prox24_pairs_without(hi, i);
    }
    for (int i = 0; i < K; ++i) {
      hi[i] = hi[i] < nhi[i] ? hi[i] : nhi[i];
      lo[i] = lo[i] > nlo[i] ? lo[i] : nlo[i];
    }
    for (int i = 0; i < K; ++i)
      for (int j = 0; j < K; ++j) {
        if (j == i) continue;
        const double cap = K == 3 ? inv : inv - lo[j];
        hi[i] = hi[i] < cap ? hi[i] : cap;
      }
    for (int i = 0; i < K; ++i)
      for (int j = i + 1; j < K; ++j) {
        const double gap = u[i] - u[j];
        lo[i] = lo[i] > lo[j] + gap ? lo[i] : lo[j] + gap;
        hi[j] = hi[j] < hi[i] - gap ? hi[j] : hi[i] - gap;
      }
    double width = 0.0;
    for (int i = 0; i < K; ++i) {
      if (!(hi[i] > slack) || lo[i] > hi[i] + slack) return true;
      width += hi[i] - lo[i];
    }
    if (width > kProxCertStall * last_width) return false;  // stalled: the box will not close
    last_width = width;
  }
  return false;
}
/// The same with a run-time K ∈ {3, 4}.
NMLAB_HD inline bool prox24_no_interior_minimum(const double* u, double tau, int K) {
  return K == 3 ? prox24_no_interior_minimum<3>(u, tau) : prox24_no_interior_minimum<4>(u, tau);
}

/// Cheap exact pre-certificates for prox24_no_interior_minimum (no iteration; prox24_skip_interior
/// tries them first). Both are necessary conditions on a strict interior minimum w (Hessian H
/// positive definite) made into tests, with a relative rounding slack kProxCertSlack that only ever
/// makes them answer "unknown" (false) more often. Sorted u: a = u1 ≥ b = u2 ≥ c = u3 (≥ d = u4).
///
/// K = 3 (prox24.md §3.7): the 2x2 minors of H give τ w_k < 1. With t = w3 ∈ (0, 1/τ) the equations
/// for w1, w2 give w1 = (a − τtb)/(1 − τ²t²), w2 = (b − τta)/(1 − τ²t²), so w2 > 0 ⇔ t < b/(τa), and
/// w3 = c − τ w1 w2 < c; the third equation is φ(t) = (t − c)(1 − τ²t²)² + τ(a − τtb)(b − τta) = 0.
/// τ w1 < 1 ⇔ x² − βx + α − 1 < 0 (x = τt, α = τa, β = τb): impossible when α − 1 − β²/4 > 0, else
/// x ∈ (x₋, x₊) = ((β ∓ √(β² − 4α + 4))/2). On the window t ∈ (max(0, x₋/τ), min(c, b/(τa), x₊/τ)),
/// t − c < 0 and 0 < (1 − τ²t²)² ≤ 1 give φ(t) ≥ h(t) = t − c + τ(a − τtb)(b − τta), a convex
/// quadratic; if its minimum over the (widened) window is > 0, φ has no root there: no minimum.
NMLAB_HD NMLAB_INLINE bool prox24_quick_no_interior3(double a, double b, double c, double tau) {
  // Branch-free (every test evaluated, then or-ed) and on scalars, so that lane loops vectorise it.
  const double al = tau * a, be = tau * b;
  // τ w1 ≥ 1 for every t: no 2x2 minor (w2, w3) is positive
  const bool no_window = al - 1.0 - 0.25 * be * be > kProxCertSlack * (1.0 + al + be * be);
  // window of t = w3; the slack inside the square root widens it past any rounding error
  const double disc = be * be - 4.0 * (al - 1.0);
  const double s = sqrt((disc > 0.0 ? disc : 0.0) + kProxCertSlack * (be * be + 4.0 * al + 4.0));
  const double xlo = 0.5 * (be - s) / tau, xhi = 0.5 * (be + s) / tau;
  const double cap = b / (tau * a) * (1.0 + kProxCertSlack);
  const double lo = xlo > 0.0 ? xlo : 0.0;
  double hi = c < cap ? c : cap;
  hi = hi < xhi ? hi : xhi;
  const bool empty = lo > hi;  // empty window (it contains the exact one)
  // h(t) = c2 t² + c1 t + c0, minimum over [lo, hi]
  const double c2 = tau * tau * tau * a * b, c1 = 1.0 - tau * tau * (a * a + b * b), c0 = tau * a * b - c;
  const double ts = -c1 / (2.0 * c2);
  const double hl = (c2 * lo + c1) * lo + c0, hh = (c2 * hi + c1) * hi + c0;
  const double hmin = (ts > lo) & (ts < hi) ? c0 - c1 * c1 / (4.0 * c2) : (hl < hh ? hl : hh);
  const bool positive = hmin > kProxCertSlack * (c + tau * a * b + hi);
  return no_window | empty | positive;
}

/// K = 4: the order rule w_i − w4 ≥ u_i − u4 (prox24_no_interior_minimum) and w4 > 0 give
/// w4 = d − τ e2(w1, w2, w3) < d − τ e2(a − d, b − d, c − d), so none when τ e2(a − d, b − d, c − d) ≥ d;
/// the (3, 4) minor of H needs τ(w1 + w2) < 1, while w1 + w2 > a + b − 2d: none when τ(a + b − 2d) ≥ 1.
NMLAB_HD NMLAB_INLINE bool prox24_quick_no_interior4(double u0, double u1, double u2, double u3, double tau) {
  const double a = u0 - u3, b = u1 - u3, c = u2 - u3, d = u3;
  const double scale = tau * (u0 * (u1 + u2) + u1 * u2);
  const bool order = tau * (a * (b + c) + b * c) > d + kProxCertSlack * (d + scale);
  return order | (tau * (a + b) > 1.0 + kProxCertSlack * (1.0 + tau * (u0 + u1)));
}

/// prox24_no_interior_minimum, tried only where it can succeed: when the last coordinate of K
/// survives the first sweep from w = (u_1, …, u_{K−1}, ·) (τ e2(u_{−K}) < u_K, early iterations), the
/// box cannot close, so the bound rounds are skipped (a performance choice, not a correctness one).
template <int K>
NMLAB_HD inline bool prox24_skip_interior(const double* u, double tau) {
  const double pairs = K == 3 ? u[0] * u[1] : u[0] * (u[1] + u[2]) + u[1] * u[2];
  if (tau * pairs < u[K - 1]) return false;
  if (K == 3 ? prox24_quick_no_interior3(u[0], u[1], u[2], tau) : prox24_quick_no_interior4(u[0], u[1], u[2], u[3], tau))
    return true;
  return prox24_no_interior_minimum<K>(u, tau);
}

/// Whether the Hessian H = I + τ∇²e3(w) on the first K ∈ {3, 4} coordinates (h_ij = τ(Σw − w_i − w_j),
/// i ≠ j) is positive definite, as 1.0 / 0.0 (at an interior stationary point: a strict local
/// minimum), by Sylvester's criterion: its leading principal minors D2, D3 (and D4) are positive (D1 = 1). Straight-line and
/// division-free, so it costs a few multiply-adds in a lane loop (the Cholesky form it replaced
/// spent most of the batch's settle pass waiting for 3 square roots and 5 divisions). With p = h01,
/// q = h02, r = h03, s = h12, t = h13, v = h23 (permutation expansion of a unit-diagonal matrix):
///   D2 = 1 − p²,  D3 = 1 − p² − q² − s² + 2pqs,
///   D4 = 1 − (p² + q² + r² + s² + t² + v²) + 2(pqs + prt + qrv + stv) + p²v² + q²t² + r²s²
///        − 2(psvr + ptvq + qstr).
template <int K>
NMLAB_HD NMLAB_INLINE double prox24_pd_flag(double w0, double w1, double w2, double w3, double tau) {
  const double sum = w0 + w1 + w2 + w3;
  const double p = tau * (sum - w0 - w1), q = tau * (sum - w0 - w2), s = tau * (sum - w1 - w2);
  const double pp = p * p, qq = q * q, ss = s * s;
  const double d2 = 1.0 - pp;
  const double d3 = 1.0 - pp - qq - ss + 2.0 * p * q * s;
  const double f3 = (d2 > 0.0 ? 1.0 : 0.0) * (d3 > 0.0 ? 1.0 : 0.0);
  if constexpr (K == 3) return f3;
  const double r = tau * (sum - w0 - w3), t = tau * (sum - w1 - w3), v = tau * (sum - w2 - w3);
  const double rr = r * r, tt = t * t, vv = v * v;
  const double d4 = 1.0 - (pp + qq + rr + ss + tt + vv) + 2.0 * (p * q * s + p * r * t + q * r * v + s * t * v) +
                    (pp * vv + qq * tt + rr * ss) - 2.0 * (p * v * (s * r + t * q) + q * s * t * r);
  return f3 * (d4 > 0.0 ? 1.0 : 0.0);
}

/// Whether w (first K entries, all > 0) is a strict local minimum: Hessian positive definite.
template <int K>
NMLAB_HD inline bool prox24_strict_minimum(const double* w, double tau) {
  return prox24_pd_flag<K>(w[0], w[1], w[2], K == 4 ? w[3] : 0.0, tau) != 0.0;
}
/// The same with a run-time K ∈ {3, 4}.
NMLAB_HD inline bool prox24_strict_minimum(const double* w, int K, double tau) {
  return K == 3 ? prox24_strict_minimum<3>(w, tau) : prox24_strict_minimum<4>(w, tau);
}

/// Whether a converged run's point w (first K ∈ {3, 4} entries ≥ 0, a fixed point of the coordinate
/// updates) ends the search for support K, as 1.0 / 0.0: w is a KKT point of f on the face
/// {w ≥ 0, w_i = 0 for i ≥ K} (every zero coordinate has u_i − τ e2(w_{−i}) ≤ 0) and the K×K
/// Hessian H(w) = I + τ∇²e3(w) is positive definite there (prox24_pd_flag, zero coordinates included).
/// Why that suffices (docs/PROX.md, "one minimum per support"): ∇²e3 is linear in w, so H(w) is
/// affine and C = {w ≥ 0 : H(w) ⪰ 0} is convex, f is convex on C, and every local minimum of the face
/// lies in C. A KKT point w with H(w) ≻ 0 is then the unique minimiser of f on C: along the segment
/// to any v ∈ C, f has slope ≥ 0 at w and positive curvature, so f(v) > f(w). If w > 0 it is the
/// interior minimum of K; if some w_i = 0 there is no interior local minimum (one would lie in C,
/// below w, and be stationary: by convexity along the segment back to w, f(w) ≥ f(v), a
/// contradiction). Either way no further start can change the result. At τ ≈ 0.3 this settles the
/// K = 4 runs that end on the boundary (w4 = 0), which used to need the bound rounds and nine
/// further starts.
template <int K>
NMLAB_HD NMLAB_INLINE double prox24_settles(double u0, double u1, double u2, double u3, double w0, double w1,
                                            double w2, double w3, double tau) {
  if constexpr (K == 3) w3 = 0.0;
  const bool k0 = (w0 > 0.0) | !(u0 - tau * (w1 * (w2 + w3) + w2 * w3) > 0.0);
  const bool k1 = (w1 > 0.0) | !(u1 - tau * (w2 * (w3 + w0) + w3 * w0) > 0.0);
  const bool k2 = (w2 > 0.0) | !(u2 - tau * (w3 * (w0 + w1) + w0 * w1) > 0.0);
  const bool k3 = K == 3 || (w3 > 0.0) | !(u3 - tau * (w0 * (w1 + w2) + w1 * w2) > 0.0);
  return k0 & k1 & k2 & k3 ? prox24_pd_flag<K>(w0, w1, w2, w3, tau) : 0.0;
}
template <int K>
NMLAB_HD inline bool prox24_settles(const double* u, const double* w, double tau) {
  return prox24_settles<K>(u[0], u[1], u[2], u[3], w[0], w[1], w[2], w[3], tau) != 0.0;
}

/// One exact coordinate sweep on the first K coordinates:  w_i ← max(0, u_i − τ e2(w_{−i})).
/// Returns Σ_i |Δw_i|.
template <int K>
NMLAB_HD inline double prox24_sweep(const double* u, double tau, double* w, bool forward) {
  double change = 0.0;
  for (int s = 0; s < K; ++s) {
    const int i = forward ? s : K - 1 - s;
    const double wi = prox_pos(u[i] - tau * prox24_pairs_without(w, i));
    change += fabs(wi - w[i]);
    w[i] = wi;
  }
  return change;
}

/// One Newton step on the interior stationarity equations g_i = w_i − u_i + τ e2(w_{−i}) = 0 of the
/// first K ∈ {3, 4} coordinates: d = H⁻¹g with H = I + τ∇²e3(w) (h_ij = τ(Σw − w_i − w_j)), by an
/// LDLᵀ factorisation (unit diagonal, so no square roots; one division per pivot: the Cholesky form
/// it replaced spent 12 divider operations per step). Returns 1.0 when H is positive definite (every
/// pivot > 0, the same test as prox24_pd_flag), else 0.0 (d is then meaningless). Straight-line, for
/// lane loops and the scalar prox24_newton alike. K = 4 with face = 0.0 (w3 = 0) steps on the face
/// w3 = 0 instead: the K = 3 step, d3 = 0 (row and column 3 of H become the identity, g3 = 0).
template <int K>
NMLAB_HD NMLAB_INLINE double prox24_newton_step(double u0, double u1, double u2, double u3, double w0, double w1,
                                                double w2, double w3, double tau, double& d0, double& d1,
                                                double& d2, double& d3, double face = 1.0) {
  if constexpr (K == 3) w3 = 0.0;
  const double sum = w0 + w1 + w2 + w3;
  const double l10 = tau * (sum - w1 - w0), l20 = tau * (sum - w2 - w0), l30 = tau * (sum - w3 - w0) * face;
  const double p1 = 1.0 - l10 * l10;  // pivots p1..p3 (p0 = 1)
  const double i1 = 1.0 / (p1 > 0.0 ? p1 : 1.0);
  const double l21 = (tau * (sum - w2 - w1) - l20 * l10) * i1, l31 = (tau * (sum - w3 - w1) - l30 * l10) * i1 * face;
  const double p2 = 1.0 - l20 * l20 - l21 * l21 * p1;
  const double i2 = 1.0 / (p2 > 0.0 ? p2 : 1.0);
  const double l32 = (tau * (sum - w3 - w2) - l30 * l20 - l31 * l21 * p1) * i2 * face;
  const double p3 = K == 4 ? 1.0 - l30 * l30 - l31 * l31 * p1 - l32 * l32 * p2 : 1.0;
  const double i3 = 1.0 / (p3 > 0.0 ? p3 : 1.0);
  // g, then L y = g, D z = y, Lᵀ d = z
  const double g0 = w0 - u0 + tau * (w1 * (w2 + w3) + w2 * w3);
  const double g1 = w1 - u1 + tau * (w2 * (w3 + w0) + w3 * w0);
  const double g2 = w2 - u2 + tau * (w3 * (w0 + w1) + w0 * w1);
  const double g3 = K == 4 ? (w3 - u3 + tau * (w0 * (w1 + w2) + w1 * w2)) * face : 0.0;
  const double y1 = g1 - l10 * g0, y2 = g2 - l20 * g0 - l21 * y1;
  const double y3 = g3 - l30 * g0 - l31 * y1 - l32 * y2;
  d3 = K == 4 ? y3 * i3 : 0.0;
  d2 = y2 * i2 - l32 * d3;
  d1 = y1 * i1 - l21 * d2 - l31 * d3;
  d0 = g0 - l10 * d1 - l20 * d2 - l30 * d3;
  const double m = p1 < p2 ? p1 : p2;
  return (m < p3 ? m : p3) > 0.0 ? 1.0 : 0.0;
}

/// Newton's method on the interior stationarity equations g_i = w_i − u_i + τ e2(w_{−i}) = 0 from
/// a coordinate-descent iterate: quadratic convergence where coordinate descent crawls (nearly flat
/// directions, e.g. u3 = u4). Each step must keep w > 0, keep the Hessian positive definite and not
/// raise the objective; returns false (w unchanged from the last accepted step) otherwise.
template <int K>
NMLAB_HD inline bool prox24_newton(const double* u, double tau, double* w, double tol) {
  constexpr int kNewtonSteps = 12;
  for (int it = 0; it < kNewtonSteps; ++it) {
    for (int i = 0; i < K; ++i)
      if (!(w[i] > 0.0)) return false;
    double d[4];
    if (prox24_newton_step<K>(u[0], u[1], u[2], u[3], w[0], w[1], w[2], w[3], tau, d[0], d[1], d[2], d[3]) == 0.0)
      return false;
    double trial[4] = {w[0], w[1], w[2], w[3]}, step = 0.0;
    for (int i = 0; i < K; ++i) {
      trial[i] = w[i] - d[i];
      step += fabs(d[i]);
      if (!(trial[i] > 0.0)) return false;
    }
    // w = w − H⁻¹ g, accepted unless the objective rises beyond rounding
    const double f0 = prox24_objective(u, w, tau), f1 = prox24_objective(u, trial, tau);
    if (f1 > f0 + 1e-15 * (1.0 + f0)) return false;
    for (int i = 0; i < K; ++i) w[i] = trial[i];
    if (step < tol) return true;
  }
  return true;
}

/// Newton takes over from coordinate descent once a sweep moves less than kProxCoarseTol·(1 + u_max)
/// while contracting slowly (Σ|Δw| fell by less than the factor kProxSlowRatio in the last sweep).
constexpr double kProxCoarseTol = 1e-7;
constexpr double kProxSlowRatio = 0.05;

/// The batched path (prox24_groups) hands a slowly contracting first run to Newton already once a
/// sweep moves less than kProxLaneNewtonTol·(1 + u_max): its Newton runs in lock step across lanes
/// (prox24_lane_newton), so polishing early is cheaper than crawling on; a lane whose Newton step
/// is declined continues with prox24_finish, so the result is the same exact prox (the interior
/// minimum of a support is unique, prox24_settles, and the settle pass checks the end point).
constexpr double kProxLaneNewtonTol = 1e-3;

/// Finishes a slowly converging run: Newton polish when the iterate is interior (coordinate sweeps to
/// the fine tolerance if Newton declines). A run that has settled on the boundary (some w_i = 0) is
/// heading for a point of a smaller support, which the smaller K covers (the optimum's support is a
/// prefix): it is abandoned, and false tells the caller to ignore it.
template <int K>
NMLAB_HD inline bool prox24_finish(const double* u, double tau, double* w, bool forward, double tol, int sweeps_done) {
  for (int i = 0; i < K; ++i)
    if (!(w[i] > 0.0)) return false;
  if (prox24_newton<K>(u, tau, w, tol)) return true;
  for (int sweep = sweeps_done; sweep < kProxMaxSweeps; ++sweep)
    if (prox24_sweep<K>(u, tau, w, forward) < tol) return true;
  return true;
}

/// Exact coordinate descent on the first K ∈ {3, 4} coordinates (w[K..3] = 0) until Σ|Δw| < tol,
/// continuing a run that has done `sweep` sweeps (last Σ|Δw| = `previous`); a slowly contracting
/// run is handed to prox24_finish. Returns false for an abandoned run.
template <int K>
NMLAB_HD inline bool prox24_descent_from(const double* u, double tau, double* w, bool forward, double tol, int sweep,
                                         double previous) {
  const double coarse = kProxCoarseTol * (1.0 + u[0]);
  while (sweep < kProxMaxSweeps) {
    const double change = prox24_sweep<K>(u, tau, w, forward);
    ++sweep;
    if (change < tol) return true;
    if (change < coarse && change > kProxSlowRatio * previous) break;
    previous = change;
  }
  return prox24_finish<K>(u, tau, w, forward, tol, sweep);
}

template <int K>
NMLAB_HD inline bool prox24_descent(const double* u, double tau, double* w, bool forward, double tol) {
  return prox24_descent_from<K>(u, tau, w, forward, tol, 0, INFINITY);
}

/// The support-K candidate (sorted u): multi-start coordinate descent from w = c·u, c ∈ {0, ¼, ½, ¾, 1},
/// both sweep orders. A run that ends on the boundary (some w_i = 0) is a point of a smaller support,
/// already covered; the first run that ends at a strict interior minimum (Hessian positive definite)
/// is the interior minimum of this K (prox24.md §3.6: at most one), so later starts are skipped.
/// `first`, if given, is the finished result of the first start (c = 0, order 1→K). Updates
/// (best, f_best) when a run beats f_best by more than `tie` (a denser candidate must win clearly).
template <int K>
NMLAB_HD inline void prox24_candidate(const double* u, double tau, double tol, double tie, const double* first,
                                      bool first_usable, double* best, double& f_best) {
  bool settled = false;
  for (int s = 0; s < kProxStarts && !settled; ++s)
    for (int dir = 0; dir < 2 && !settled; ++dir) {
      double w[4];
      bool usable;
      if (s == 0 && dir == 0 && first) {
        for (int i = 0; i < 4; ++i) w[i] = first[i];
        usable = first_usable;
      } else {
        const double c = prox_start_scale(s);
        for (int i = 0; i < 4; ++i) w[i] = i < K ? c * u[i] : 0.0;
        usable = prox24_descent<K>(u, tau, w, dir == 0, tol);
      }
      if (!usable) continue;
      settled = prox24_settles<K>(u, w, tau);
      const double f = prox24_objective(u, w, tau);
      if (f < f_best - tie) {
        f_best = f;
        for (int i = 0; i < 4; ++i) best[i] = w[i];
      }
    }
}

/// The K = 3 candidate cannot win, so its search can be skipped without changing the result, when
/// τ e3(u) < LB3 − 2·tie. τ e3(u) is the objective at w = u, an upper bound on the optimum. LB3 is a
/// lower bound on the objective at every interior stationary point of the K = 3 face (w4 = 0, w_i > 0:
/// the points coordinate descent on K = 3 can end at; its boundary points have ≤ 2 non-zeros and
/// cost ≥ ½(u3² + u4²), K = 2's objective): there w_i = u_i − τ w_j w_k ≤ u_i, hence
/// w_i ≥ L_i = max(0, u_i − τ u_j u_k), and the objective ½u4² + ½Σ_i (τ w_j w_k)² + τ w1 w2 w3 is
///   ≥ LB3 = ½u4² + ½τ²(L1²L2² + L1²L3² + L2²L3²) + τ L1 L2 L3.
/// So either the optimum beats K = 3 by more than two ties, or (τ e3(u) ≥ K = 2's objective) K = 3
/// cannot beat K = 2. For small τ the test reads τ e2(u1, u2, u3) ≲ ½u4: early in a run it holds in
/// nearly every group (the cruder LB3 = ½u4², used until the fifth session, needed τ e3(u) < ½u4²).
NMLAB_HD NMLAB_INLINE bool prox24_four_beats_three(double u0, double u1, double u2, double u3, double tau, double tie) {
  const double e3 = u0 * u1 * (u2 + u3) + u2 * u3 * (u0 + u1);
  const double l0 = prox_pos(u0 - tau * (u1 * u2)), l1 = prox_pos(u1 - tau * (u0 * u2)), l2 = prox_pos(u2 - tau * (u0 * u1));
  const double p01 = l0 * l1, p02 = l0 * l2, p12 = l1 * l2;
  const double lb3 = 0.5 * u3 * u3 + 0.5 * (tau * tau) * (p01 * p01 + p02 * p02 + p12 * p12) + tau * (l0 * p12);
  return tau * e3 < lb3 - 2.0 * tie;
}
NMLAB_HD inline bool prox24_four_beats_three(const double* u, double tau, double tie) {
  return prox24_four_beats_three(u[0], u[1], u[2], u[3], tau, tie);
}

/// out = prox_{τ e3(|·|)}(z) for one 2:4 group (z, out: 4 doubles; may alias). τ ≥ 0, z finite.
/// Returns the objective ½‖out − z‖² + τ e3(|out|).
NMLAB_HD inline double prox24_group(const double* z, double tau, double* out) {
  double u[4];
  int idx[4];
  for (int i = 0; i < 4; ++i) {
    u[i] = fabs(z[i]);
    idx[i] = i;
  }
  double sign[4];
  for (int i = 0; i < 4; ++i) sign[i] = z[i] < 0 ? -1.0 : 1.0;
  // sorting network: u[0] ≥ u[1] ≥ u[2] ≥ u[3]
  prox_swap_if_less(u, idx, 0, 1);
  prox_swap_if_less(u, idx, 2, 3);
  prox_swap_if_less(u, idx, 0, 2);
  prox_swap_if_less(u, idx, 1, 3);
  prox_swap_if_less(u, idx, 1, 2);

  // Candidate K = 2: keep the two largest unshrunk, objective ½(u3² + u4²).
  double best[4] = {u[0], u[1], 0.0, 0.0};
  double f_best = 0.5 * (u[2] * u[2] + u[3] * u[3]);
  if (tau <= 0.0) {  // prox of the zero function: identity
    best[2] = u[2];
    best[3] = u[3];
    f_best = 0.0;
  } else if (u[2] > 0.0) {
    const double tol = kProxSweepTol * (1.0 + u[0]);
    const double tie = kProxTieRel * f_best;
    // Skip K when no strict interior minimum can exist (late iterations: most groups), and K = 3
    // when the K = 4 optimum provably beats it (early iterations: most groups).
    if (!prox24_skip_interior<3>(u, tau) && !prox24_four_beats_three(u, tau, tie))
      prox24_candidate<3>(u, tau, tol, tie, nullptr, false, best, f_best);
    if (u[3] > 0 && !prox24_skip_interior<4>(u, tau)) prox24_candidate<4>(u, tau, tol, tie, nullptr, false, best, f_best);
  }
  // un-sort and restore signs
  for (int i = 0; i < 4; ++i) out[idx[i]] = sign[idx[i]] * best[i];
  return f_best;
}

// ---- 2:4 batched (SIMD across groups) -------------------------------------------------------------

/// Groups per batch: the lane loops below are written so that the compiler vectorises them
/// (32 doubles: four AVX-512 or eight AVX2 registers per lane loop, enough independent chains to hide
/// the latency of the coordinate updates: on the Intel box 16 beat 8 by 5-10%; on the Zen 5 box 32
/// beat 16 by 9%, 24 measured the same as 32 and 48 was 8% slower).
constexpr int kProxBatch = 32;
/// Lock-step sweep cap of the batched path; lanes that need more continue one by one.
constexpr int kProxBatchSweeps = 24;

/// One exact coordinate update in the lanes [l0, l1) that are on (on[l] = 1): w_i ← max(0, u_i −
/// τ e2(w_{−i})), adding |Δw_i| to ch. All lanes share u_i (they are starts of one group).
template <int N>
NMLAB_HD inline void prox24_lane_update(double (&w)[4][N], double u_i, double tau, const double* on, double* ch,
                                        int i, int l0, int l1) {
  const int j = (i + 1) & 3, k = (i + 2) & 3, m = (i + 3) & 3;
  NMLAB_SIMD
  for (int l = l0; l < l1; ++l) {
    const double a = w[j][l], b = w[k][l], c = w[m][l];
    const double n = prox_pos(u_i - tau * (a * (b + c) + b * c));
    ch[l] += on[l] * fabs(n - w[i][l]);
    w[i][l] = on[l] != 0.0 ? n : w[i][l];
  }
}

/// Lanes of prox24_candidate_lanes: the further starts after the first run, in lock step. Lanes
/// 0..3 are c = ¼, ½, ¾, 1 in order 1→K, lanes 4..8 are c = 0, ¼, ½, ¾, 1 in order K→1.
constexpr int kProxLaneStarts = 2 * kProxStarts - 1;
NMLAB_HD constexpr int prox_lane_of_start(int s, int dir) { return dir == 0 ? s - 1 : kProxStarts - 1 + s; }

/// Same result as prox24_candidate<K> with a finished first run (same starts, same choice), but the
/// further starts, needed when the first run does not end at a strict interior minimum, run in lock
/// step across lanes: each lane performs its start's exact sweeps (prox24_sweep, operation for
/// operation; the compiler may contract multiply-adds differently in vector code) and freezes where
/// prox24_descent_from would stop; a lane that is slow or still running after kProxBatchSweeps
/// continues on its own. The runs are then examined in prox24_candidate's order, stopping at the
/// first strict interior minimum, so the extra lock-step work of later starts never changes the result.
template <int K>
NMLAB_HD inline void prox24_candidate_lanes(const double* u, double tau, double tol, double tie, const double* first,
                                            bool first_usable, double* best, double& f_best) {
  constexpr int L = kProxLaneStarts;
  constexpr int F = kProxStarts - 1;  // lanes [0, F) sweep 1→K, lanes [F, L) sweep K→1
  if (first_usable) {
    const bool settled = prox24_settles<K>(u, first, tau);
    const double f = prox24_objective(u, first, tau);
    if (f < f_best - tie) {
      f_best = f;
      for (int i = 0; i < 4; ++i) best[i] = first[i];
    }
    if (settled) return;
  }
  // lane flags are doubles (1 = set) so that the stopping rule vectorises too
  double w[4][L], prev[L], on[L], slow[L], sweeps[L];
  for (int l = 0; l < L; ++l) {
    const double c = prox_start_scale(l < F ? l + 1 : l - F);
    for (int i = 0; i < 4; ++i) w[i][l] = i < K ? c * u[i] : 0.0;
    prev[l] = INFINITY;
    on[l] = 1.0;
    slow[l] = sweeps[l] = 0.0;
  }
  const double coarse = kProxCoarseTol * (1.0 + u[0]);
  for (int sweep = 0; sweep < kProxBatchSweeps; ++sweep) {
    double alive = 0.0;
    for (int l = 0; l < L; ++l) alive = alive > on[l] ? alive : on[l];
    if (alive == 0.0) break;
    double ch[L];
    for (int l = 0; l < L; ++l) ch[l] = 0.0;
    for (int s = 0; s < K; ++s) {
      // w_i ← max(0, u_i − τ e2(w_{−i})): i = s on the forward lanes, i = K − 1 − s on the backward ones
      prox24_lane_update(w, u[s], tau, on, ch, s, 0, F);
      prox24_lane_update(w, u[K - 1 - s], tau, on, ch, K - 1 - s, F, L);
    }
    // the stopping rule of prox24_descent_from: converged (d), or slow (s: then prox24_finish)
    NMLAB_SIMD
    for (int l = 0; l < L; ++l) {
      const double d = ch[l] < tol ? 1.0 : 0.0;
      const double s = d == 0.0 && ch[l] < coarse && ch[l] > kProxSlowRatio * prev[l] ? 1.0 : 0.0;
      sweeps[l] += on[l];
      slow[l] = on[l] * s != 0.0 ? 1.0 : slow[l];
      const double go = on[l] * (1.0 - d) * (1.0 - s);
      prev[l] = go != 0.0 ? ch[l] : prev[l];
      on[l] = go;
    }
  }
  // finish the runs in prox24_candidate's order, up to the first strict interior minimum
  for (int s = 0; s < kProxStarts; ++s)
    for (int dir = 0; dir < 2; ++dir) {
      if (s == 0 && dir == 0) continue;
      const int l = prox_lane_of_start(s, dir);
      double v[4] = {w[0][l], w[1][l], w[2][l], w[3][l]};
      bool usable = true;
      if (slow[l] != 0.0) usable = prox24_finish<K>(u, tau, v, dir == 0, tol, int(sweeps[l]));
      else if (on[l] != 0.0) usable = prox24_descent_from<K>(u, tau, v, dir == 0, tol, int(sweeps[l]), prev[l]);
      if (!usable) continue;
      const bool settled = prox24_settles<K>(u, v, tau);
      const double f = prox24_objective(u, v, tau);
      if (f < f_best - tie) {
        f_best = f;
        for (int i = 0; i < 4; ++i) best[i] = v[i];
      }
      if (settled) return;
    }
}

/// The batch's "slow" rule, tested every second sweep: a run whose last sweep moved ch, and the
/// checked sweep two before it prev2, contracts at the rate r with r² = ch / prev2. Newton takes
/// over (prox24_lane_newton) below `coarse` = kProxLaneNewtonTol·(1 + u_max) when, at that rate, more
/// than 12 further sweeps would be needed to reach tol (ch·r¹² > tol). prox24_descent_from's rule
/// (r > kProxSlowRatio below kProxCoarseTol) measured 10-20% slower at τ = 0.3-1 and ±8% at
/// τ = 0.03; testing every sweep instead of every second one cost 5-20% at τ = 1e-3-1. Since the
/// sweep's dependency chain was shortened (prox24_lane_sweep) sweeping on is cheaper against the
/// lock-step Newton: 12 sweeps instead of 8 made the middle of a normalized real run (rho = 0) 6-23%
/// faster, left the rho = 0.8 run unchanged and N(0,1) groups at τ = 0.3 14% slower (16: -13-26%,
/// +25% there).
NMLAB_HD inline bool prox24_lane_slow(double ch, double prev2, double coarse, double tol) {
  const double r2 = ch / prev2, r4 = r2 * r2;
  return ch < coarse && ch * (r4 * r4 * r4) > tol;
}

/// One lock-step sweep of the first runs (prox24_lanes_runs): in every lane that is on, the exact
/// coordinate updates w_i ← max(0, u_i − τ e2(w_{−i})), i = 1..K in order (prox24_sweep's updates,
/// with e2 grouped differently: equal up to rounding), then the stopping rule of prox24_descent_from:
/// converged (Σ|Δw| < tol), or, on kCheckSlow sweeps, slow (prox24_lane_slow: sl = 1, Newton takes
/// over). One loop per sweep keeps a lane's iterate in registers across its K updates (written out
/// rather than calling prox24_sweep on a lane-local array: that form lost vectorisation, 42 -> 130
/// ns/group). n counts the sweeps of each run; prev holds Σ|Δw| of the last checked sweep. Returns 1
/// while some lane is still on.
template <int K, int B, bool kCheckSlow>
NMLAB_HD inline double prox24_lane_sweep(const double (&u)[4][B], double tau, const double* tol, const double* coarse,
                                         double (&w)[4][B], double* on, double* sl, double* n, double* prev) {
  double any = 0.0;
  NMLAB_SIMD_MAX(any)
  for (int l = 0; l < B; ++l) {
    const double o = on[l];
    // Each update as u_i − τ e2(w_{−i}) = (u_i − τ·p) − τ·s·w_{i−1}, where w_{i−1} is the coordinate
    // updated just before and s, p are the sum and product of the other two (computed while w_{i−1}
    // is): one multiply-add and a max on the chain from update to update instead of four operations.
    // The chain is what a sweep waits for (its throughput needs are lower).
    double w0 = w[0][l], w1 = w[1][l], w2 = w[2][l], w3 = K == 4 ? w[3][l] : 0.0, ch = 0.0, v;
    if (K == 4) {
      v = prox_pos((u[0][l] - tau * (w1 * w2)) - (tau * (w1 + w2)) * w3);
      ch += fabs(v - w0);
      w0 = v;
      v = prox_pos((u[1][l] - tau * (w2 * w3)) - (tau * (w2 + w3)) * w0);
      ch += fabs(v - w1);
      w1 = v;
      v = prox_pos((u[2][l] - tau * (w3 * w0)) - (tau * (w3 + w0)) * w1);
      ch += fabs(v - w2);
      w2 = v;
      v = prox_pos((u[3][l] - tau * (w0 * w1)) - (tau * (w0 + w1)) * w2);
      ch += fabs(v - w3);
      w3 = v;
    } else {  // w3 = 0: e2(w_{−i}) is the product of the other two
      v = prox_pos(u[0][l] - (tau * w1) * w2);
      ch += fabs(v - w0);
      w0 = v;
      v = prox_pos(u[1][l] - (tau * w2) * w0);
      ch += fabs(v - w1);
      w1 = v;
      v = prox_pos(u[2][l] - (tau * w0) * w1);
      ch += fabs(v - w2);
      w2 = v;
    }
    // frozen lanes keep their iterate (w[3] stays 0 for K = 3)
    w[0][l] = o != 0.0 ? w0 : w[0][l];
    w[1][l] = o != 0.0 ? w1 : w[1][l];
    w[2][l] = o != 0.0 ? w2 : w[2][l];
    if (K == 4) w[3][l] = o != 0.0 ? w3 : w[3][l];
    const double done = ch < tol[l] ? 1.0 : 0.0;
    n[l] += o;
    double go = o * (1.0 - done);
    if (kCheckSlow) {
      const double slow = done == 0.0 && prox24_lane_slow(ch, prev[l], coarse[l], tol[l]) ? 1.0 : 0.0;
      sl[l] = o * slow != 0.0 ? 1.0 : sl[l];
      go *= 1.0 - slow;
      prev[l] = go != 0.0 ? ch : prev[l];
    }
    on[l] = go;
    any = any > go ? any : go;
  }
  return any;
}

/// prox24_finish's Newton polish (prox24_newton) in lock step across the lanes with slow[l] = 1
/// (their first run stopped as slowly contracting): the same step w ← w − H⁻¹g with the same
/// acceptance rules (w > 0 before and after, H positive definite, objective not rising beyond
/// rounding), straight-line per lane. A lane that converges (Σ|Δw| < tol[l]) has finished its run:
/// slow[l] ← 0, so the settle pass can take it. A lane whose step is declined, or that has not
/// converged after kProxLaneNewtonSteps steps (from a slow run's iterate Newton needs 2-3), keeps
/// slow[l] = 1 and its last accepted iterate, and prox24_finish continues it on its own (so the
/// lock step never waits long for one lane). A K = 4 run that has stopped on the face w4 = 0 (w1..w3
/// > 0) steps on that face (prox24_newton_step's face mode: the K = 3 system): the settle pass then
/// checks that its limit is a KKT point of K = 4 with a positive definite Hessian (prox24_settles),
/// which proves that no interior minimum of K = 4 exists.
template <int K, int B>
NMLAB_HD inline void prox24_lane_newton(const double (&u)[4][B], double tau, const double* tol, double (&w)[4][B],
                                        double* slow) {
  constexpr int kProxLaneNewtonSteps = 4;
  double run[B];
  double any = 0.0;
  for (int l = 0; l < B; ++l) {
    run[l] = slow[l];
    any = any > run[l] ? any : run[l];
  }
  for (int it = 0; it < kProxLaneNewtonSteps && any != 0.0; ++it) {
    any = 0.0;
    NMLAB_SIMD_MAX(any)
    for (int l = 0; l < B; ++l) {
      const double w0 = w[0][l], w1 = w[1][l], w2 = w[2][l], w3 = K == 4 ? w[3][l] : 0.0;
      const double u0 = u[0][l], u1 = u[1][l], u2 = u[2][l], u3 = u[3][l];
      const bool inside = (w0 > 0.0) & (w1 > 0.0) & (w2 > 0.0);
      const double face = K == 4 && w3 > 0.0 ? 1.0 : 0.0;
      double d0, d1, d2, d3;
      const bool pd = prox24_newton_step<K>(u0, u1, u2, u3, w0, w1, w2, w3, tau, d0, d1, d2, d3, face) != 0.0;
      const double t0 = w0 - d0, t1 = w1 - d1, t2 = w2 - d2, t3 = w3 - d3;
      const bool positive = (t0 > 0.0) & (t1 > 0.0) & (t2 > 0.0) & (K == 3 || face == 0.0 || t3 > 0.0);
      const double f0 = prox24_objective4(u0, u1, u2, u3, w0, w1, w2, w3, tau);
      const double f1 = prox24_objective4(u0, u1, u2, u3, t0, t1, t2, t3, tau);
      const bool accept = (run[l] != 0.0) & inside & pd & positive & !(f1 > f0 + 1e-15 * (1.0 + f0));
      w[0][l] = accept ? t0 : w0;
      w[1][l] = accept ? t1 : w1;
      w[2][l] = accept ? t2 : w2;
      if (K == 4) w[3][l] = accept ? t3 : w3;
      const double step = fabs(d0) + fabs(d1) + fabs(d2) + fabs(d3);
      const bool done = accept & (step < tol[l]);
      slow[l] = done ? 0.0 : slow[l];
      run[l] = accept & !done ? 1.0 : 0.0;
      any = any > run[l] ? any : run[l];
    }
  }
}

/// One compare-exchange of the sorting network on a lane's scalars: keep a ≥ b, positions alongside.
NMLAB_HD NMLAB_INLINE void prox24_exchange(double& a, double& b, double& pa, double& pb) {
  const bool sw = a < b;
  const double x = a, y = b, ix = pa, iy = pb;
  a = sw ? y : x;
  b = sw ? x : y;
  pa = sw ? iy : ix;
  pb = sw ? ix : iy;
}

/// The per-lane path of prox24_groups for support K: the lane's lock-step first run w (on: still
/// running, sl: stopped as slow, n: sweeps done, prev: its last Σ|Δw|) is finished, and the further
/// starts follow (prox24_candidate_lanes), updating (best, f_best). The deferred bound rounds
/// (open = 2) run first unless the first run already settles K; if they exclude an interior minimum,
/// K is done.
template <int K>
NMLAB_HD inline void prox24_lane_candidate(const double* u, double tau, double tol, double tie, double open, double on,
                                           double sl, double n, double prev, double* w, double* best, double& f_best) {
  if (open == 2.0 && !(on == 0.0 && sl == 0.0 && prox24_settles<K>(u, w, tau)) && prox24_no_interior_minimum<K>(u, tau))
    return;
  bool usable = true;
  if (sl != 0.0) usable = prox24_finish<K>(u, tau, w, true, tol, int(n));
  else if (on != 0.0) usable = prox24_descent_from<K>(u, tau, w, true, tol, int(n), prev);
  prox24_candidate_lanes<K>(u, tau, tol, tie, w, usable, best, f_best);
}

/// Lane state of one batch of kProxBatch groups between the phases of prox24_groups (prox24_lanes_load,
/// prox24_lanes_runs, prox24_lanes_finish). Flags are doubles (1 = set) so that
/// every lane loop vectorises; index k = K − 3 selects the support K ∈ {3, 4}.
struct Prox24Lanes {
  static constexpr int B = kProxBatch;
  double u[4][B];    // sorted magnitudes u1 ≥ u2 ≥ u3 ≥ u4
  double sg[4][B];   // signs of z, by position
  double pos[4][B];  // position of u_i in the group (as a double: the vector width of u)
  double tol[B], coarse[B];  // kProxSweepTol·(1 + u1), kProxLaneNewtonTol·(1 + u1)
  double tried[2][B];        // K's first run is tried (not certified away, not beaten)
  double open[2][B];         // 1 = no certificate; 2 = the deferred bound rounds decide (per-lane path)
  // K's first run (w = 0, order 1→K): its end point, on = still running after the lock step, sl = stopped
  // as slowly contracting (not polished by the lane Newton), n = sweeps done, prev = last checked Σ|Δw|
  double w[2][4][B], on[2][B], sl[2][B], n[2][B], prev[2][B];
  double runs[2];  // first runs of K tried by the batch's lanes
  double both;     // 1 when some lane tries both K
};

/// Loads, signs and sorts kProxBatch groups (sorting network (0,1) (2,3) (0,2) (1,3) (1,2) in one lane
/// loop), and decides lane-wise which first runs to try: K's run is skipped where prox24_skip_interior's
/// first test and its closed-form pre-certificates exclude an interior minimum, and K = 3's where K = 4
/// provably beats it (prox24_four_beats_three). Same booleans as prox24_group's; the bound rounds are
/// deferred (open = 2): a K whose first run settles it needs no certificate, so they run on the
/// per-lane path only. The pre-certificates (square roots and divisions) are evaluated only when some
/// lane can use them (early in a run, none can). Sets the first runs' start state.
NMLAB_HD inline void prox24_lanes_load(const double* z, double tau, Prox24Lanes& S) {
  constexpr int B = kProxBatch;
  NMLAB_SIMD
  for (int l = 0; l < B; ++l) {
    const double z0 = z[4 * l], z1 = z[4 * l + 1], z2 = z[4 * l + 2], z3 = z[4 * l + 3];
    S.sg[0][l] = z0 < 0 ? -1.0 : 1.0;
    S.sg[1][l] = z1 < 0 ? -1.0 : 1.0;
    S.sg[2][l] = z2 < 0 ? -1.0 : 1.0;
    S.sg[3][l] = z3 < 0 ? -1.0 : 1.0;
    double a0 = fabs(z0), a1 = fabs(z1), a2 = fabs(z2), a3 = fabs(z3), p0 = 0.0, p1 = 1.0, p2 = 2.0, p3 = 3.0;
    prox24_exchange(a0, a1, p0, p1);
    prox24_exchange(a2, a3, p2, p3);
    prox24_exchange(a0, a2, p0, p2);
    prox24_exchange(a1, a3, p1, p3);
    prox24_exchange(a1, a2, p1, p2);
    S.u[0][l] = a0, S.u[1][l] = a1, S.u[2][l] = a2, S.u[3][l] = a3;
    S.pos[0][l] = p0, S.pos[1][l] = p1, S.pos[2][l] = p2, S.pos[3][l] = p3;
  }
  double beats[B];
  double any_need = 0.0;
  NMLAB_SIMD_MAX(any_need)
  for (int l = 0; l < B; ++l) {
    const double u0 = S.u[0][l], u1 = S.u[1][l], u2 = S.u[2][l], u3 = S.u[3][l];
    const double tie = kProxTieRel * 0.5 * (u2 * u2 + u3 * u3);
    const double need3 = !(tau * (u0 * u1) < u2) ? 1.0 : 0.0;
    const double need4 = !(tau * (u0 * (u1 + u2) + u1 * u2) < u3) ? 1.0 : 0.0;
    beats[l] = prox24_four_beats_three(u0, u1, u2, u3, tau, tie) ? 1.0 : 0.0;
    S.open[0][l] = 1.0 + need3;
    S.open[1][l] = 1.0 + need4;
    const double need = need3 > need4 ? need3 : need4;
    any_need = any_need > need ? any_need : need;
  }
  if (any_need != 0.0) {
    NMLAB_SIMD
    for (int l = 0; l < B; ++l) {
      const double u0 = S.u[0][l], u1 = S.u[1][l], u2 = S.u[2][l], u3 = S.u[3][l];
      const bool q3 = prox24_quick_no_interior3(u0, u1, u2, tau), q4 = prox24_quick_no_interior4(u0, u1, u2, u3, tau);
      S.open[0][l] = S.open[0][l] == 2.0 && q3 ? 0.0 : S.open[0][l];
      S.open[1][l] = S.open[1][l] == 2.0 && q4 ? 0.0 : S.open[1][l];
    }
  }
  double runs3 = 0.0, runs4 = 0.0, both = 0.0;
  NMLAB_SIMD_REDUCE_SUM2_MAX(runs3, runs4, both)
  for (int l = 0; l < B; ++l) {
    const bool base = (tau > 0.0) & (S.u[2][l] > 0.0);
    const double t3 = base & (beats[l] == 0.0) & (S.open[0][l] != 0.0) ? 1.0 : 0.0;  // pointless where K = 4 beats K = 3
    const double t4 = base & (S.u[3][l] > 0.0) & (S.open[1][l] != 0.0) ? 1.0 : 0.0;
    S.tried[0][l] = t3;
    S.tried[1][l] = t4;
    runs3 += t3;
    runs4 += t4;
    both = both > t3 * t4 ? both : t3 * t4;
  }
  S.runs[0] = runs3;
  S.runs[1] = runs4;
  S.both = both;
  if (runs3 + runs4 == 0.0) return;  // late in a run: no lane tries a run, nothing below is read
  NMLAB_SIMD
  for (int l = 0; l < B; ++l) {
    S.tol[l] = kProxSweepTol * (1.0 + S.u[0][l]);
    S.coarse[l] = kProxLaneNewtonTol * (1.0 + S.u[0][l]);
    for (int k = 0; k < 2; ++k) {  // the first runs' start: w = 0, running where tried
      for (int i = 0; i < 4; ++i) S.w[k][i][l] = 0.0;
      S.on[k][l] = S.tried[k][l];
      S.sl[k][l] = S.n[k][l] = 0.0;
      S.prev[k][l] = INFINITY;
    }
  }
}

/// The slow first runs' Newton polish (prox24_lane_newton), called when some lane stopped as slow.
template <int K>
NMLAB_HD inline void prox24_lane_polish(const double (&u)[4][kProxBatch], double tau, const double* tol,
                                        double (&w)[4][kProxBatch], double* sl) {
  double slow = 0.0;
  NMLAB_SIMD_MAX(slow)
  for (int l = 0; l < kProxBatch; ++l) slow = slow > sl[l] ? slow : sl[l];
  if (slow != 0.0) prox24_lane_newton<K, kProxBatch>(u, tau, tol, w, sl);
}

/// The batch's first runs (w = 0, order 1→K) in lock step: exact coordinate descent in every lane that
/// tries K (prox24_lane_sweep, the slow test on every second sweep; the K = 3 and K = 4 sweeps
/// interleaved, two independent chains), then the Newton polish of the slowly contracting runs. When
/// both K are tried but no lane tries both, the K = 3 runs join the K = 4 lock step instead: K = 3 is
/// the K = 4 run with u4 = 0 (w4 stays 0: the same updates, equal up to rounding; the Newton step
/// takes its face mode), so one loop serves every lane. In the middle of a real run most lanes try
/// just one of the two. (Moving the K = 3 runs of lanes that try both into idle lanes, to make every
/// batch one loop, measured 5-15% slower in the middle of a run: two interleaved loops overlap their
/// dependency chains.)
NMLAB_HD inline void prox24_lanes_runs(Prox24Lanes& S, double tau) {
  constexpr int B = kProxBatch;
  const bool hosting = S.runs[0] != 0.0 && S.runs[1] != 0.0 && S.both == 0.0;
  double uh[4][B];  // hosting: u with u4 = 0 in the lanes that try K = 3, which run in the K = 4 set
  if (hosting) {
    NMLAB_SIMD
    for (int l = 0; l < B; ++l) {
      const bool three = S.tried[0][l] != 0.0;
      uh[0][l] = S.u[0][l], uh[1][l] = S.u[1][l], uh[2][l] = S.u[2][l];
      uh[3][l] = three ? 0.0 : S.u[3][l];
      S.on[1][l] = three ? 1.0 : S.on[1][l];
      S.on[0][l] = 0.0;
    }
  }
  const double(&u4)[4][B] = hosting ? uh : S.u;
  double alive3 = hosting ? 0.0 : S.runs[0], alive4 = S.runs[1] + (hosting ? S.runs[0] : 0.0);
  for (int sweep = 0; sweep < kProxBatchSweeps && (alive3 != 0.0 || alive4 != 0.0); ++sweep) {
    if (sweep % 2 != 0) {  // the slow test on every second sweep (its first check only records Σ|Δw|)
      if (alive4 != 0.0) alive4 = prox24_lane_sweep<4, B, true>(u4, tau, S.tol, S.coarse, S.w[1], S.on[1], S.sl[1], S.n[1], S.prev[1]);
      if (alive3 != 0.0) alive3 = prox24_lane_sweep<3, B, true>(S.u, tau, S.tol, S.coarse, S.w[0], S.on[0], S.sl[0], S.n[0], S.prev[0]);
    } else {
      if (alive4 != 0.0) alive4 = prox24_lane_sweep<4, B, false>(u4, tau, S.tol, S.coarse, S.w[1], S.on[1], S.sl[1], S.n[1], S.prev[1]);
      if (alive3 != 0.0) alive3 = prox24_lane_sweep<3, B, false>(S.u, tau, S.tol, S.coarse, S.w[0], S.on[0], S.sl[0], S.n[0], S.prev[0]);
    }
  }
  if (S.runs[0] != 0.0 && !hosting) prox24_lane_polish<3>(S.u, tau, S.tol, S.w[0], S.sl[0]);
  if (S.runs[1] != 0.0 || hosting) prox24_lane_polish<4>(u4, tau, S.tol, S.w[1], S.sl[1]);
  if (!hosting) return;
  NMLAB_SIMD
  for (int l = 0; l < B; ++l) {  // the hosted K = 3 runs back to the K = 3 set (w4 = 0 there)
    const bool three = S.tried[0][l] != 0.0;
    for (int i = 0; i < 4; ++i) {
      S.w[0][i][l] = three ? S.w[1][i][l] : 0.0;
      S.w[1][i][l] = three ? 0.0 : S.w[1][i][l];
    }
    S.on[0][l] = three ? S.on[1][l] : 0.0;
    S.sl[0][l] = three ? S.sl[1][l] : 0.0;
    S.n[0][l] = three ? S.n[1][l] : 0.0;
    S.prev[0][l] = three ? S.prev[1][l] : INFINITY;
    S.on[1][l] = three ? 0.0 : S.on[1][l];
    S.sl[1][l] = three ? 0.0 : S.sl[1][l];
    S.n[1][l] = three ? 0.0 : S.n[1][l];
    S.prev[1][l] = three ? INFINITY : S.prev[1][l];
  }
}

/// K's part of the lane-wise settle pass (prox24_lanes_finish): ok ← 0 unless K is untried or its first
/// run converged at a point that settles K (prox24_settles); the run's point replaces the best (b, f)
/// when it beats it by more than tie.
template <int K>
NMLAB_HD NMLAB_INLINE void prox24_settle_lane(const Prox24Lanes& S, int l, double tau, double tie, double& ok, double& f,
                                              double& b0, double& b1, double& b2, double& b3) {
  constexpr int k = K - 3;
  const double u0 = S.u[0][l], u1 = S.u[1][l], u2 = S.u[2][l], u3 = S.u[3][l];
  const bool tried = S.tried[k][l] != 0.0;
  const double w0 = S.w[k][0][l], w1 = S.w[k][1][l], w2 = S.w[k][2][l], w3 = K == 4 ? S.w[k][3][l] : 0.0;
  const double done = (S.on[k][l] == 0.0) & (S.sl[k][l] == 0.0) ? 1.0 : 0.0;
  ok *= tried ? done * prox24_settles<K>(u0, u1, u2, u3, w0, w1, w2, w3, tau) : 1.0;
  const double fk = prox24_objective4(u0, u1, u2, u3, w0, w1, w2, w3, tau);
  const bool take = tried & (fk < f - tie);
  f = take ? fk : f;
  b0 = take ? w0 : b0;
  b1 = take ? w1 : b1;
  b2 = take ? w2 : b2;
  b3 = take ? w3 : b3;
}

/// The lane-wise results of a batch whose first runs are done (prox24_lanes_finish): the choice among
/// K = 2 and the tried supports' run points, un-sorted and re-signed, and settled[l] = 1 where every tried
/// run converged at a point that settles its support. k3 / k4: some lane of the batch tries K = 3 / 4
/// (a K no lane tries is not looked at: early in a run no lane tries K = 3, late in a run no lane
/// tries either, and every lane gets K = 2, the identity where τ = 0).
template <bool k3, bool k4>
NMLAB_HD inline void prox24_lanes_result(const Prox24Lanes& S, double tau, double* settled, double (&res)[4][kProxBatch]) {
  NMLAB_SIMD
  for (int l = 0; l < kProxBatch; ++l) {
    const double u0 = S.u[0][l], u1 = S.u[1][l], u2 = S.u[2][l], u3 = S.u[3][l];
    double b0 = u0, b1 = u1, b2 = tau > 0.0 ? 0.0 : u2, b3 = tau > 0.0 ? 0.0 : u3;
    double ok = 1.0;
    if (k3 || k4) {
      double f = 0.5 * (u2 * u2 + u3 * u3);
      const double tie = kProxTieRel * f;
      if (k3) prox24_settle_lane<3>(S, l, tau, tie, ok, f, b0, b1, b2, b3);
      if (k4) prox24_settle_lane<4>(S, l, tau, tie, ok, f, b0, b1, b2, b3);
    }
    settled[l] = ok;
    // res[pos[i]] = sign[pos[i]] · best[i]: position p holds best[i] for the i with pos[i] = p
    const double i0 = S.pos[0][l], i1 = S.pos[1][l], i2 = S.pos[2][l];
    const double v0 = i0 == 0.0 ? b0 : i1 == 0.0 ? b1 : i2 == 0.0 ? b2 : b3;
    const double v1 = i0 == 1.0 ? b0 : i1 == 1.0 ? b1 : i2 == 1.0 ? b2 : b3;
    const double v2 = i0 == 2.0 ? b0 : i1 == 2.0 ? b1 : i2 == 2.0 ? b2 : b3;
    const double v3 = i0 == 3.0 ? b0 : i1 == 3.0 ? b1 : i2 == 3.0 ? b2 : b3;
    res[0][l] = S.sg[0][l] * v0;
    res[1][l] = S.sg[1][l] * v1;
    res[2][l] = S.sg[2][l] * v2;
    res[3][l] = S.sg[3][l] * v3;
  }
}

/// Completes a batch whose first runs are done: lanes whose tried first runs all settle their supports
/// are finished lane-wise (prox24_lanes_result: operation for operation the per-lane path's, which would
/// try no further start, prox24_candidate_lanes); the other lanes finish their runs and any further
/// starts alone (prox24_lane_candidate).
NMLAB_HD inline void prox24_lanes_finish(Prox24Lanes& S, double tau, double* out) {
  constexpr int B = kProxBatch;
  double settled[B], res[4][B];
  const bool k3 = S.runs[0] != 0.0, k4 = S.runs[1] != 0.0;
  if (k3 && k4) prox24_lanes_result<true, true>(S, tau, settled, res);
  else if (k4) prox24_lanes_result<false, true>(S, tau, settled, res);
  else if (k3) prox24_lanes_result<true, false>(S, tau, settled, res);
  else prox24_lanes_result<false, false>(S, tau, settled, res);
  // every lane's lane-wise result is written (the lanes not settled overwrite theirs below)
  double unsettled = 0.0;
  NMLAB_SIMD_MAX(unsettled)
  for (int l = 0; l < B; ++l) {
    for (int p = 0; p < 4; ++p) out[4 * l + p] = res[p][l];
    unsettled = unsettled > 1.0 - settled[l] ? unsettled : 1.0 - settled[l];
  }
  if (unsettled == 0.0) return;
  // per lane: finish the first runs, further starts if needed, choose, un-sort and re-sign
  for (int l = 0; l < B; ++l) {
    if (settled[l] != 0.0) continue;
    const double uu[4] = {S.u[0][l], S.u[1][l], S.u[2][l], S.u[3][l]};
    double a[4] = {S.w[0][0][l], S.w[0][1][l], S.w[0][2][l], 0.0};
    double b[4] = {S.w[1][0][l], S.w[1][1][l], S.w[1][2][l], S.w[1][3][l]};
    double best[4] = {uu[0], uu[1], 0.0, 0.0};
    double f_best = 0.5 * (uu[2] * uu[2] + uu[3] * uu[3]);
    const double tie = kProxTieRel * f_best;
    if (S.tried[0][l] != 0.0)
      prox24_lane_candidate<3>(uu, tau, S.tol[l], tie, S.open[0][l], S.on[0][l], S.sl[0][l], S.n[0][l], S.prev[0][l], a,
                               best, f_best);
    if (S.tried[1][l] != 0.0)
      prox24_lane_candidate<4>(uu, tau, S.tol[l], tie, S.open[1][l], S.on[1][l], S.sl[1][l], S.n[1][l], S.prev[1][l], b,
                               best, f_best);
    double r[4];
    for (int i = 0; i < 4; ++i) {
      const int at = int(S.pos[i][l]);
      r[at] = S.sg[at][l] * best[i];
    }
    for (int i = 0; i < 4; ++i) out[4 * l + i] = r[i];
  }
}

/// out = prox24_group of each of `groups` consecutive groups (z, out: 4·groups doubles, row-major
/// groups; may alias): the same minimiser, to the solver tolerance. Batches of kProxBatch groups in
/// SIMD lanes, the ragged tail by the scalar routine. Per batch: load, sort and certify lane-wise
/// (prox24_lanes_load); the scalar routine's first start (w = 0, order 1→K) in lock step for every K a
/// lane tries, a slowly contracting run polished by Newton earlier than in the scalar routine
/// (kProxLaneNewtonTol) and in lock step (prox24_lanes_runs); then lane-wise where the first runs
/// settle their supports (prox24_settles), alone with further starts where not (prox24_lanes_finish).
NMLAB_HD inline void prox24_groups(const double* z, long groups, double tau, double* out) {
  constexpr int B = kProxBatch;
  const long batches = groups / B, tail = groups % B;
  for (long b = 0; b < batches; ++b, z += 4 * B, out += 4 * B) {
    Prox24Lanes S;
    prox24_lanes_load(z, tau, S);
    if (S.runs[0] + S.runs[1] != 0.0) prox24_lanes_runs(S, tau);
    prox24_lanes_finish(S, tau, out);
  }
  for (long g = 0; g < tail; ++g, z += 4, out += 4) prox24_group(z, tau, out);
}

// ---- general N:M ------------------------------------------------------------------------------------

/// f(w) = ½‖w − u‖² + τ e_{n+1}(w) for w ≥ 0 (first len entries; u has m entries, w_i = 0 beyond).
NMLAB_HD inline double prox_nm_objective(const double* u, const double* w, int len, int m, int n, double tau) {
  double sq = 0.0;
  for (int i = 0; i < len; ++i) sq += (w[i] - u[i]) * (w[i] - u[i]);
  for (int i = len; i < m; ++i) sq += u[i] * u[i];
  return 0.5 * sq + tau * elementary_symmetric(w, len, n + 1);
}

/// Exact coordinate descent on the first K coordinates:  w_i ← max(0, u_i − τ e_n(w_{−i})).
NMLAB_HD inline void prox_nm_descent(const double* u, int K, int n, double tau, double* w, bool forward, double tol) {
  double rest[kProxMaxGroup];
  for (int sweep = 0; sweep < kProxMaxSweeps; ++sweep) {
    double change = 0.0;
    for (int s = 0; s < K; ++s) {
      const int i = forward ? s : K - 1 - s;
      int len = 0;
      for (int j = 0; j < K; ++j)
        if (j != i) rest[len++] = w[j];
      const double wi = prox_pos(u[i] - tau * elementary_symmetric(rest, len, n));
      change += fabs(wi - w[i]);
      w[i] = wi;
    }
    if (change < tol) return;
  }
}

/// out = prox_{τ e_{n+1}(|·|)}(z) for one group of m ≤ kProxMaxGroup weights, 0 < n < m, τ ≥ 0,
/// z finite (z and out may alias). Returns the objective. For n = 2, m = 4 prox24_group is faster.
NMLAB_HD inline double prox_nm_group(const double* z, int n, int m, double tau, double* out) {
  double u[kProxMaxGroup], best[kProxMaxGroup], w[kProxMaxGroup], sign[kProxMaxGroup];
  int idx[kProxMaxGroup];
  for (int i = 0; i < m; ++i) {
    u[i] = fabs(z[i]);
    sign[i] = z[i] < 0 ? -1.0 : 1.0;
    idx[i] = i;
  }
  // insertion sort, decreasing (m ≤ 32)
  for (int i = 1; i < m; ++i)
    for (int j = i; j > 0 && u[j - 1] < u[j]; --j) prox_swap_if_less(u, idx, j - 1, j);

  // Candidate K = n: the n largest unshrunk.
  for (int i = 0; i < m; ++i) best[i] = i < n ? u[i] : 0.0;
  double f_best = prox_nm_objective(u, best, n, m, n, tau);
  if (tau <= 0.0) {
    for (int i = 0; i < m; ++i) best[i] = u[i];
    f_best = 0.0;
  } else if (u[n] > 0.0) {
    const double tol = kProxSweepTol * (1.0 + u[0]);
    const double tie = kProxTieRel * f_best;
    for (int K = n + 1; K <= m; ++K)
      for (int s = 0; s < kProxStarts; ++s)
        for (int dir = 0; dir < 2; ++dir) {
          const double c = prox_start_scale(s);
          for (int i = 0; i < m; ++i) w[i] = i < K ? c * u[i] : 0.0;
          prox_nm_descent(u, K, n, tau, w, dir == 0, tol);
          const double f = prox_nm_objective(u, w, K, m, n, tau);
          if (f < f_best - tie) {
            f_best = f;
            for (int i = 0; i < m; ++i) best[i] = w[i];
          }
        }
  }
  for (int i = 0; i < m; ++i) out[idx[i]] = sign[idx[i]] * best[i];
  return f_best;
}

}  // namespace nmlab::kernels
