// Built when CUDA is not compiled in: the device probe says so.
#include "framework/kernels/device.hpp"

namespace nmlab {

const DeviceInfo& device_info() {
  static const DeviceInfo info{false, false, "cpu only (this build has no CUDA: nvcc was not found)"};
  return info;
}

}  // namespace nmlab
