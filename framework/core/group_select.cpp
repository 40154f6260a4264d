#include "framework/core/group_select.hpp"

#include <algorithm>
#include <array>
#include <numeric>

#include "framework/core/errors.hpp"

namespace nmlab {

Mask topn_mask(const Weights& S, const NMPattern& p) {
  p.check_shape(S.rows(), S.cols());
  Mask mask(S.rows(), S.cols());
  auto& bits = mask.bits();
#pragma omp parallel if (S.size() > (1 << 16))  // tiny problems: no thread start-up
  {
    std::vector<int> order(p.m);
#pragma omp for schedule(static)
    for (Index r = 0; r < S.rows(); ++r) {
      const double* row = S.row(r).data();
      for (Index g = 0; g < S.cols(); g += p.m) {
        std::iota(order.begin(), order.end(), 0);
        // Stable: equal scores keep index order, so ties go to the lower column.
        std::partial_sort(order.begin(), order.begin() + p.n, order.end(), [&](int a, int b) {
          return row[g + a] > row[g + b] || (row[g + a] == row[g + b] && a < b);
        });
        for (int k = 0; k < p.n; ++k) bits(r, g + order[k]) = 1;
      }
    }
  }
  return mask;
}

void project_topn(Weights& Z, const NMPattern& p) {
  NMPattern plain = p;
  plain.transposable = false;
  Z = topn_mask(Z.cwiseAbs(), plain).apply(Z);
}

}  // namespace nmlab
