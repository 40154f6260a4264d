#include "framework/core/mask.hpp"

#include "framework/core/errors.hpp"

namespace nmlab {

Mask Mask::nonzeros_of(const Weights& W) {
  return Mask((W.array() != 0.0).cast<std::uint8_t>().matrix());
}

Index Mask::count() const { return bits_.cast<Index>().sum(); }

std::optional<std::string> Mask::violation(const NMPattern& p) const {
  const Index d_out = rows(), d_in = cols();
  if (d_in % p.m != 0) return "d_in = " + std::to_string(d_in) + " is not a multiple of m = " + std::to_string(p.m);
  for (Index r = 0; r < d_out; ++r)
    for (Index g = 0; g < d_in; g += p.m) {
      int kept = 0;
      for (int k = 0; k < p.m; ++k) kept += bits_(r, g + k) != 0;
      if (kept != p.n)
        return "row " + std::to_string(r) + ", group at column " + std::to_string(g) + " keeps " +
               std::to_string(kept) + " of " + std::to_string(p.m) + " (pattern " + p.str() + ")";
    }
  if (!p.transposable) return std::nullopt;
  if (d_out % p.m != 0) return "d_out = " + std::to_string(d_out) + " is not a multiple of m = " + std::to_string(p.m);
  for (Index c = 0; c < d_in; ++c)
    for (Index g = 0; g < d_out; g += p.m) {
      int kept = 0;
      for (int k = 0; k < p.m; ++k) kept += bits_(g + k, c) != 0;
      if (kept != p.n)
        return "column " + std::to_string(c) + ", tile at row " + std::to_string(g) + " keeps " +
               std::to_string(kept) + " of " + std::to_string(p.m) + " (pattern " + p.str() + ")";
    }
  return std::nullopt;
}

Weights Mask::apply(const Weights& W) const {
  NMLAB_ASSERT(W.rows() == rows() && W.cols() == cols(), "mask and weights differ in shape");
  return W.cwiseProduct(bits_.cast<double>());
}

std::vector<std::uint8_t> Mask::pack() const {
  const Index row_bytes = (cols() + 7) / 8;
  std::vector<std::uint8_t> out(static_cast<size_t>(rows() * row_bytes), 0);
  for (Index r = 0; r < rows(); ++r)
    for (Index c = 0; c < cols(); ++c)
      if (bits_(r, c)) out[static_cast<size_t>(r * row_bytes + c / 8)] |= std::uint8_t(1u << (c % 8));
  return out;
}

Mask Mask::unpack(const std::vector<std::uint8_t>& packed, Index d_out, Index d_in) {
  const Index row_bytes = (d_in + 7) / 8;
  if (static_cast<Index>(packed.size()) != d_out * row_bytes)
    throw TensorError("packed mask has " + std::to_string(packed.size()) + " bytes, expected " +
                      std::to_string(d_out * row_bytes) + " for " + std::to_string(d_out) + " x " +
                      std::to_string(d_in));
  Mask m(d_out, d_in);
  for (Index r = 0; r < d_out; ++r)
    for (Index c = 0; c < d_in; ++c)
      m.bits_(r, c) = (packed[static_cast<size_t>(r * row_bytes + c / 8)] >> (c % 8)) & 1u;
  return m;
}

}  // namespace nmlab
