#pragma once
// Shared by the .cu files (never by host-only code): CUDA error checks, the GPU requirement, and an
// owning device buffer.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <string>

#include "framework/core/errors.hpp"
#include "framework/kernels/device.hpp"

namespace nmlab::kernels::cuda {

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(e));
}

/// Throws Error (saying why) unless a usable GPU is present.
inline void require_gpu() {
  const DeviceInfo& d = device_info();
  if (!d.cuda_usable) throw Error("the cuda backend needs a GPU: " + d.description);
}

/// Owning device buffer (cudaMalloc/cudaFree), move-only.
template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t count) : count_(count) {
    check(cudaMalloc(reinterpret_cast<void**>(&ptr_), std::max<std::size_t>(count, 1) * sizeof(T)), "cudaMalloc");
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { cudaFree(ptr_); }
  T* get() const { return ptr_; }
  void upload(const T* host) { check(cudaMemcpy(ptr_, host, count_ * sizeof(T), cudaMemcpyHostToDevice), "upload"); }
  void download(T* host) const {
    check(cudaMemcpy(host, ptr_, count_ * sizeof(T), cudaMemcpyDeviceToHost), "download");
  }
  void zero() { check(cudaMemset(ptr_, 0, count_ * sizeof(T)), "cudaMemset"); }

 private:
  T* ptr_ = nullptr;
  std::size_t count_;
};

}  // namespace nmlab::kernels::cuda
