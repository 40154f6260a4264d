#pragma once
// Mask: a d_out x d_in 0/1 matrix (row-major) that selects the kept weights.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "framework/core/nm_pattern.hpp"
#include "framework/core/types.hpp"

namespace nmlab {

class Mask {
 public:
  using Bits = Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  Mask() = default;
  /// All-zero (nothing kept) mask of the given shape.
  Mask(Index d_out, Index d_in) : bits_(Bits::Zero(d_out, d_in)) {}
  explicit Mask(Bits bits) : bits_(std::move(bits)) {}
  /// Mask of the non-zeros of W.
  static Mask nonzeros_of(const Weights& W);

  Index rows() const { return bits_.rows(); }
  Index cols() const { return bits_.cols(); }
  bool operator()(Index r, Index c) const { return bits_(r, c) != 0; }
  void set(Index r, Index c, bool keep) { bits_(r, c) = keep ? 1 : 0; }
  const Bits& bits() const { return bits_; }
  Bits& bits() { return bits_; }
  Index count() const;

  /// Empty when the mask satisfies the pattern exactly (n kept per group; for transposable patterns
  /// also n per column of each m x m tile); otherwise a description of the first violation.
  std::optional<std::string> violation(const NMPattern& p) const;
  bool satisfies(const NMPattern& p) const { return !violation(p).has_value(); }

  /// W ⊙ mask.
  Weights apply(const Weights& W) const;

  /// Bit-packed rows (8 entries per byte, LSB first), row length ceil(d_in/8): for HDF5 storage.
  std::vector<std::uint8_t> pack() const;
  static Mask unpack(const std::vector<std::uint8_t>& packed, Index d_out, Index d_in);

  bool operator==(const Mask& o) const { return bits_ == o.bits_; }

 private:
  Bits bits_;
};

}  // namespace nmlab
