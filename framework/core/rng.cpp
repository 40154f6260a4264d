#include "framework/core/rng.hpp"

namespace nmlab {

std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

RngStream RngStream::derive(std::string_view name) const {
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a over the name
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ull;
  return RngStream(mix64(seed_ ^ mix64(h)));
}

std::uint64_t RngStream::below(std::uint64_t n) {
  // Lemire-free simple rejection: unbiased and independent of the standard library's distribution.
  const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
  std::uint64_t x;
  do x = engine_(); while (x >= limit);
  return x % n;
}

Eigen::MatrixXd RngStream::normal_matrix(Index rows, Index cols) {
  Eigen::MatrixXd M(rows, cols);
  for (Index c = 0; c < cols; ++c)
    for (Index r = 0; r < rows; ++r) M(r, c) = normal();
  return M;
}

}  // namespace nmlab
