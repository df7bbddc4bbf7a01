// GGUF v3 reader (mmap, zero-copy tensor views, every offset/size/count validated before use) and
// writer. Spec: ggml-blocks-and-gguf.md §1. A truncated or hostile file gives omni::Error naming
// the problem, never a crash or a huge allocation.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "core/dtype.hpp"
#include "core/mapped_file.hpp"

namespace omni::gguf {

enum class ValueType : int32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7, string = 8,
  array = 9, u64 = 10, i64 = 11, f64 = 12,
};
const char* value_type_name(ValueType t);

// A metadata value: a scalar, a string, or an array of scalars, strings or arrays (arrays of arrays
// nest up to 8 levels; ggml itself refuses nesting, the GGUF spec allows it).
struct Value {
  ValueType type = ValueType::u32;
  ValueType elem_type = ValueType::u32;  // for arrays
  std::variant<uint64_t, int64_t, double, bool, std::string, std::vector<Value>> v;

  bool is_array() const { return type == ValueType::array; }
  bool is_string() const { return type == ValueType::string; }
  bool is_integer() const;
  // Conversions throw omni::Error(invalid_file) naming the key when the type does not fit.
  int64_t as_int(const std::string& key = "") const;
  uint64_t as_uint(const std::string& key = "") const;
  double as_float(const std::string& key = "") const;
  bool as_bool(const std::string& key = "") const;
  const std::string& as_string(const std::string& key = "") const;
  const std::vector<Value>& as_array(const std::string& key = "") const;

  static Value of_u32(uint32_t x);
  static Value of_i32(int32_t x);
  static Value of_u64(uint64_t x);
  static Value of_f32(float x);
  static Value of_bool(bool x);
  static Value of_string(std::string s);
  static Value of_strings(const std::vector<std::string>& xs);
  static Value of_i32s(const std::vector<int32_t>& xs);
  static Value of_f32s(const std::vector<float>& xs);
};

struct TensorInfo {
  std::string name;
  DType type = DType::f32;
  int n_dims = 0;
  int64_t ne[4] = {1, 1, 1, 1};  // ne[0] is the contiguous (input) dimension
  uint64_t offset = 0;           // relative to the data section
  uint64_t n_bytes = 0;
  const uint8_t* data = nullptr; // points into the mapping (zero-copy)

  int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  int64_t n_rows() const { return ne[1] * ne[2] * ne[3]; }
  std::string shape_string() const;  // "[896, 4864]"
};

class File {
 public:
  // Maps and validates a whole GGUF file; throws omni::Error naming the problem and the path.
  static File open(const std::string& path);
  // Parses an in-memory buffer (for tests and the fuzzer); the buffer must outlive the File.
  static File parse(const uint8_t* data, size_t size, const std::string& name = "<buffer>");

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return size_; }
  const std::string& path() const { return name_; }

  // Metadata in file order.
  const std::vector<std::pair<std::string, Value>>& metadata() const { return kv_; }
  const Value* find(const std::string& key) const;
  const Value& get(const std::string& key) const;  // throws not_found naming the key
  std::string get_string(const std::string& key, const std::string& def) const;
  int64_t get_int(const std::string& key, int64_t def) const;
  double get_float(const std::string& key, double def) const;
  bool get_bool(const std::string& key, bool def) const;

  // Frees the values of these keys (large vocabularies once a tokenizer has copied them); a later
  // find/get of a released key is an error naming it. Returns the number of values freed.
  size_t release(const std::vector<std::string>& keys);

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(const std::string& name) const;
  const TensorInfo& tensor(const std::string& name) const;  // throws not_found naming the tensor

 private:
  std::shared_ptr<MappedFile> map_;  // keeps the mapping alive when opened from a path
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  std::string name_;
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, Value>> kv_;
  std::map<std::string, size_t> kv_index_;
  std::set<std::string> released_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
  friend class Reader;
};

// Writer: collects metadata and tensors, then writes a valid GGUF v3 file.
class Writer {
 public:
  void set(const std::string& key, Value value);  // replaces an existing key
  // shape: ne[0] first (contiguous). data: row_bytes(type, ne[0]) * rows bytes, copied.
  void add_tensor(const std::string& name, DType type, const std::vector<int64_t>& shape,
                  const void* data, size_t n_bytes);
  void write(const std::string& path) const;  // throws omni::Error on I/O failure
  std::vector<uint8_t> to_bytes() const;

  // Streaming mode (models too big for memory): declare a tensor whose bytes are produced while
  // the file is written. Tensors keep the order of add_tensor / add_tensor_info calls.
  void add_tensor_info(const std::string& name, DType type, const std::vector<int64_t>& shape);
  // produce(index, row_begin, n_rows, dst) fills dst with row_bytes(type, ne[0]) * n_rows bytes:
  // rows [row_begin, row_begin + n_rows) of tensor `index` (a row is ne[0] elements; rows count
  // ne[1] * ne[2] * ne[3]). Called in order, in chunks of about chunk_bytes, only for tensors
  // declared with add_tensor_info. The file is written to path + ".tmp" and renamed at the end.
  using RowProducer = std::function<void(size_t index, int64_t row_begin, int64_t n_rows, uint8_t* dst)>;
  void write(const std::string& path, const RowProducer& produce, size_t chunk_bytes = size_t(64) << 20) const;

  size_t n_tensors() const { return tensors_.size(); }
  const std::string& tensor_name(size_t i) const { return tensors_[i].name; }
  uint64_t tensor_bytes(size_t i) const;        // bytes of tensor i's data (without padding)
  uint64_t total_tensor_bytes() const;          // sum over all tensors (without padding)
  uint32_t alignment() const;                   // general.alignment if set, else 32

 private:
  struct Pending {
    std::string name;
    DType type;
    std::vector<int64_t> shape;
    std::vector<uint8_t> data;
    bool streamed = false;  // bytes come from a RowProducer at write time
  };
  std::vector<uint8_t> header_bytes() const;  // header, metadata, tensor infos and padding
  std::vector<std::pair<std::string, Value>> kv_;
  std::vector<Pending> tensors_;
};

}  // namespace omni::gguf
