#pragma once
// fp16 / bf16 <-> fp32 on the host, bit-exact and round-to-nearest-even, without CUDA headers, so
// the 2:4 hardware layout and the GPU tests' inputs can be built on a machine without nvcc.
#include <bit>
#include <cmath>
#include <cstdint>

#include "framework/kernels/half_type.hpp"

namespace nmlab::kernels {

/// IEEE binary16, round to nearest even (overflow -> inf, NaN stays NaN).
inline std::uint16_t float_to_fp16(float f) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  std::uint32_t mant = x & 0x007fffffu;
  const int exp = int((x >> 23) & 0xffu);
  if (exp == 0xff) return std::uint16_t(sign | 0x7c00u | (mant ? 0x200u : 0u));
  const int e = exp - 127 + 15;  // re-biased exponent
  if (e >= 31) return std::uint16_t(sign | 0x7c00u);
  if (e <= 0) {  // half subnormal: value = m_h 2^-24, m_h = mant24 2^(e-14)
    if (e < -10) return std::uint16_t(sign);
    mant |= 0x00800000u;
    const int shift = 14 - e;
    std::uint32_t m_h = mant >> shift;
    const std::uint32_t rem = mant & ((1u << shift) - 1u), halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (m_h & 1u))) ++m_h;
    return std::uint16_t(sign | m_h);
  }
  std::uint32_t h = sign | (std::uint32_t(e) << 10) | (mant >> 13);
  const std::uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // a carry into the exponent is correct
  return std::uint16_t(h);
}

inline float fp16_to_float(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  if (exp == 0) {
    const float v = std::ldexp(float(mant), -24);
    return sign ? -v : v;
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));
}

/// bfloat16 (the upper half of fp32), round to nearest even; NaN stays NaN.
inline std::uint16_t float_to_bf16(float f) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  if ((x & 0x7f800000u) == 0x7f800000u && (x & 0x007fffffu)) return std::uint16_t((x >> 16) | 0x40u);
  return std::uint16_t((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

inline float bf16_to_float(std::uint16_t b) { return std::bit_cast<float>(std::uint32_t(b) << 16); }

inline std::uint16_t float_to_half(float f, HalfType t) {
  return t == HalfType::fp16 ? float_to_fp16(f) : float_to_bf16(f);
}
inline float half_to_float(std::uint16_t h, HalfType t) {
  return t == HalfType::fp16 ? fp16_to_float(h) : bf16_to_float(h);
}

}  // namespace nmlab::kernels
