#include "framework/solvers/mask_solver.hpp"

namespace nmlab {

std::string to_string(Termination t) {
  switch (t) {
    case Termination::not_run: return "not_run";
    case Termination::converged: return "converged";
    case Termination::max_iters: return "max_iters";
    case Termination::failed: return "failed";
  }
  return "unknown";
}

}  // namespace nmlab
