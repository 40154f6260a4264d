#pragma once
// Tensor files: read the weights and calibration activations people already have, write pruned
// weights and masks back so PyTorch can load them.
//
//   format        read                                         write
//   safetensors   F64, F32, F16, BF16, BOOL, U8, I8..I64       F32 (default) or F64
//   .npy          '<f8' '<f4' '<f2' '|u1' '|b1' '<i1'..'<i8',    -
//                 v1/v2/v3 headers, C or Fortran order
//   .npz          stored (uncompressed) zip entries of .npy      -
//   HDF5          float and integer datasets, any group depth    -
//
// The format is chosen by the extension (.safetensors, .npy, .npz, .h5/.hdf5/.hdf) and otherwise by
// the file's first bytes. Values are converted to double; data is returned in C (row-major) order
// whatever the file's order. Every malformed file (truncated, bad header, offsets out of range or
// overlapping, size not matching shape × dtype, unsupported dtype, missing tensor) throws IoError or
// TensorError naming the file, the tensor and what is wrong — never a crash. Only headers are read by
// list_tensors/tensor_info, so shapes are cheap to check before loading anything.
//
// Tensor names: safetensors keys; .npz entry names without ".npy"; HDF5 dataset paths without the
// leading '/' ("layers/0/weight"); a .npy file holds one array whose name is the file stem (an empty
// name also selects it).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "framework/core/types.hpp"

namespace nmlab {

/// Element types a tensor file may hold (the safetensors names, lower case).
enum class DType { f64, f32, f16, bf16, boolean, u8, i8, i16, i32, i64 };
std::string to_string(DType d);     ///< "F32", "BF16", ... (safetensors spelling)
std::size_t dtype_size(DType d);    ///< bytes per element

enum class TensorFormat { safetensors, npy, npz, hdf5 };
std::string to_string(TensorFormat f);

/// What a header says about one tensor.
struct TensorInfo {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;  ///< empty for a scalar
  std::int64_t numel() const;
  std::string shape_str() const;    ///< "[1024, 784]"
};

/// A tensor read from a file: values converted to double, C (row-major) order.
struct Tensor {
  TensorInfo info;
  std::vector<double> data;
};

/// A tensor to write: shape and C-order values.
struct NamedTensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<double> data;
};

/// Format of `path` by extension, else by its first bytes; IoError if neither tells.
TensorFormat detect_tensor_format(const std::string& path);

/// Every tensor in the file, in the file's order (safetensors: header order; HDF5: depth-first).
std::vector<TensorInfo> list_tensors(const std::string& path);

/// The header of one tensor; TensorError (listing the names there are) if it is missing.
TensorInfo tensor_info(const std::string& path, const std::string& name);

/// Reads one tensor. With `require_finite`, a NaN/Inf value is a TensorError naming its position.
Tensor read_tensor(const std::string& path, const std::string& name, bool require_finite = true);

/// Reads a 2-D tensor as a row-major matrix (shape [rows, cols]); TensorError if it is not 2-D.
/// Always checks that every value is finite.
Weights read_matrix(const std::string& path, const std::string& name);

/// Writes a safetensors file (tensors in the given order, `dtype` F32 or F64, optional string
/// metadata under "__metadata__"). Written to a temporary file and renamed, so a crash never leaves
/// half a file. TensorError if a shape does not match its data or a name repeats.
void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {}, DType dtype = DType::f32);

/// A row-major matrix as a NamedTensor of shape [rows, cols].
NamedTensor named_matrix(std::string name, const Weights& W);

/// Names in `path` matching a shell-style glob (`*` any run of characters including '.', `?` one
/// character, `[abc]` a set), sorted naturally (layers.2 before layers.10). A pattern without glob
/// characters is returned as is if present. TensorError if nothing matches (with the names there are).
std::vector<std::string> expand_tensor_glob(const std::string& path, const std::string& pattern);

/// True if `pattern` contains a glob character (* ? [).
bool is_tensor_glob(const std::string& pattern);

}  // namespace nmlab
