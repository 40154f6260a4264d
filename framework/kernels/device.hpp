#pragma once
// Which accelerator, if any, is usable at run time. CUDA code is compiled when nvcc exists; a missing
// GPU or driver is detected here (cudaGetDeviceCount's return code is checked, not only the count).
#include <string>

namespace nmlab {

struct DeviceInfo {
  bool cuda_compiled = false;  ///< this build contains CUDA kernels
  bool cuda_usable = false;    ///< a GPU and a driver are present
  std::string description;     ///< "NVIDIA H100 (sm_90)", or why none is usable
};

/// Probes once and caches the answer.
const DeviceInfo& device_info();

}  // namespace nmlab
