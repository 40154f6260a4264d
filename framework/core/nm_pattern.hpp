#pragma once
// NMPattern: at most n non-zeros in each group of m consecutive weights along the input dimension
// (a row of W). Transposable: in every m x m tile the mask keeps n per row AND n per column, so W^T
// is N:M too.
#include <string>

#include "framework/core/types.hpp"

namespace nmlab {

struct NMPattern {
  int n = 2;                  ///< kept entries per group, 0 < n < m
  int m = 4;                  ///< group size along the input dimension
  bool transposable = false;  ///< also n per column of every m x m tile

  /// Throws SpecError (with `where`) unless 0 < n < m.
  void validate(const std::string& where = "") const;
  /// Throws SpecError unless a d_out x d_in matrix can be tiled by this pattern: d_in % m == 0 and,
  /// for transposable patterns, d_out % m == 0 too. The message says which dimension to change.
  void check_shape(Index d_out, Index d_in, const std::string& where = "") const;
  /// "2:4", or "8:16T" for transposable.
  std::string str() const;
  /// Kept fraction n/m.
  double density() const { return double(n) / double(m); }
  bool operator==(const NMPattern&) const = default;
};

}  // namespace nmlab
