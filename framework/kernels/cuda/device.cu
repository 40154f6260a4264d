// Run-time GPU probe for CUDA builds.
#include <cuda_runtime.h>

#include "framework/kernels/device.hpp"

namespace nmlab {

const DeviceInfo& device_info() {
  static const DeviceInfo info = [] {
    DeviceInfo d;
    d.cuda_compiled = true;
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess || count == 0) {
      d.description = std::string("cpu only (CUDA compiled, no usable GPU: ") +
                       (err != cudaSuccess ? cudaGetErrorString(err) : "0 devices") + ")";
      return d;
    }
    cudaDeviceProp prop{};
    cudaGetDeviceProperties(&prop, 0);
    d.cuda_usable = true;
    d.description = std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ")";
    return d;
  }();
  return info;
}

}  // namespace nmlab
