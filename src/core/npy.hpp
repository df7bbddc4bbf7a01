// Reading and writing NumPy .npy files (float32, int32/int64, little-endian, C order) and raw
// float32 files: the exchange format of golden data and of the `--out X.npy` debug commands.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace omni {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;  // converted to float32 whatever the stored dtype (<f4, <f8, <i4, <i8)
  int64_t size() const;
};

NpyArray read_npy(const std::string& path);                       // throws omni::Error
void write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape);
std::vector<float> read_f32_file(const std::string& path);        // raw little-endian float32

}  // namespace omni
