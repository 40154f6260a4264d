#include "framework/core/nm_pattern.hpp"

#include "framework/core/errors.hpp"

namespace nmlab {

void NMPattern::validate(const std::string& where) const {
  if (m < 2) throw SpecError(where, "pattern m = " + std::to_string(m) + " must be at least 2");
  if (n <= 0 || n >= m)
    throw SpecError(where, "pattern " + std::to_string(n) + ":" + std::to_string(m) +
                               " is invalid: need 0 < n < m (for example n: 2, m: 4)");
}

void NMPattern::check_shape(Index d_out, Index d_in, const std::string& where) const {
  validate(where);
  if (d_in % m != 0)
    throw SpecError(where, "d_in = " + std::to_string(d_in) + " is not divisible by m = " + std::to_string(m) +
                               ": choose d_in as a multiple of " + std::to_string(m));
  if (transposable && d_out % m != 0)
    throw SpecError(where, "transposable " + str() + " needs d_out divisible by m, but d_out = " +
                               std::to_string(d_out) + ": choose d_out as a multiple of " + std::to_string(m));
}

std::string NMPattern::str() const {
  return std::to_string(n) + ":" + std::to_string(m) + (transposable ? "T" : "");
}

}  // namespace nmlab
