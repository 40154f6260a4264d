#pragma once
// Reproducible random streams: every stream is derived from (base_seed, a named offset), so adding a
// new consumer of randomness never shifts the numbers another consumer sees.
//   RngStream rng = RngStream(base_seed).derive("problem").derive("trial:3");
#include <cstdint>
#include <random>
#include <string_view>

#include "framework/core/types.hpp"

namespace nmlab {

class RngStream {
 public:
  explicit RngStream(std::uint64_t seed = 0) : seed_(seed), engine_(seed) {}
  /// A child stream whose seed is a hash of this seed and `name` (SplitMix64 over FNV-1a).
  RngStream derive(std::string_view name) const;
  std::uint64_t seed() const { return seed_; }

  double normal() { return normal_(engine_); }
  double uniform() { return uniform_(engine_); }
  /// Uniform integer in [0, n).
  std::uint64_t below(std::uint64_t n);
  /// Matrix of iid N(0, 1) entries.
  Eigen::MatrixXd normal_matrix(Index rows, Index cols);
  std::mt19937_64& engine() { return engine_; }

 private:
  std::uint64_t seed_;
  std::mt19937_64 engine_;
  std::normal_distribution<double> normal_{0.0, 1.0};
  std::uniform_real_distribution<double> uniform_{0.0, 1.0};
};

/// SplitMix64 finaliser: a good 64-bit mixing function.
std::uint64_t mix64(std::uint64_t x);

}  // namespace nmlab
