#pragma once
// The 16-bit floating-point formats of NVIDIA's sparse tensor cores (no other includes, so CUDA
// translation units can use it).
namespace nmlab::kernels {

enum class HalfType { fp16, bf16 };

inline const char* to_string(HalfType t) { return t == HalfType::fp16 ? "fp16" : "bf16"; }

}  // namespace nmlab::kernels
