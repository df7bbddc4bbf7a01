// GGUF v3 writer: metadata, tensor infos and the aligned data section (spec §1), either from
// tensors held in memory or streamed row-chunk by row-chunk from a producer (huge models).
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "formats/gguf.hpp"
#include "omni/error.hpp"

namespace omni::gguf {

namespace {

uint64_t pad_to(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

struct Bytes {
  std::vector<uint8_t>& out;
  template <typename T>
  void put(T x) {
    const size_t n = out.size();
    out.resize(n + sizeof(T));
    std::memcpy(out.data() + n, &x, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    out.insert(out.end(), s.begin(), s.end());
  }
};

void put_scalar(Bytes& b, ValueType t, const Value& v, const std::string& key) {
  switch (t) {
    case ValueType::u8: b.put<uint8_t>(uint8_t(v.as_uint(key))); break;
    case ValueType::i8: b.put<int8_t>(int8_t(v.as_int(key))); break;
    case ValueType::u16: b.put<uint16_t>(uint16_t(v.as_uint(key))); break;
    case ValueType::i16: b.put<int16_t>(int16_t(v.as_int(key))); break;
    case ValueType::u32: b.put<uint32_t>(uint32_t(v.as_uint(key))); break;
    case ValueType::i32: b.put<int32_t>(int32_t(v.as_int(key))); break;
    case ValueType::f32: b.put<float>(float(v.as_float(key))); break;
    case ValueType::boolean: b.put<uint8_t>(v.as_bool(key) ? 1 : 0); break;
    case ValueType::string: b.put_string(v.as_string(key)); break;
    case ValueType::u64: b.put<uint64_t>(v.as_uint(key)); break;
    case ValueType::i64: b.put<int64_t>(v.as_int(key)); break;
    case ValueType::f64: b.put<double>(v.as_float(key)); break;
    case ValueType::array: fail(ErrorCode::internal, "GGUF writer: key '", key, "': array written as a scalar");
  }
}

// Element type, count, then the elements; an element type of `array` nests (each item is itself
// an array value with its own element type).
void put_array(Bytes& b, const Value& v, const std::string& key, int depth) {
  if (depth > 8) fail(ErrorCode::invalid_argument, "GGUF writer: key '", key, "' nests arrays more than 8 levels deep");
  const auto& items = v.as_array(key);
  b.put<int32_t>(int32_t(v.elem_type));
  b.put<uint64_t>(items.size());
  for (const auto& it : items) {
    if (v.elem_type != ValueType::array) {
      put_scalar(b, v.elem_type, it, key);
    } else {
      if (!it.is_array()) fail(ErrorCode::invalid_argument, "GGUF writer: key '", key, "': array of arrays holds a ", value_type_name(it.type));
      put_array(b, it, key, depth + 1);
    }
  }
}

void check_shape(const std::string& name, DType type, const std::vector<int64_t>& shape) {
  if (name.size() > 63) fail(ErrorCode::invalid_argument, "GGUF writer: tensor name '", name, "' is longer than 63 bytes");
  if (shape.empty() || shape.size() > 4)
    fail(ErrorCode::invalid_argument, "GGUF writer: tensor '", name, "' has ", shape.size(), " dimensions (1..4)");
  for (auto d : shape)
    if (d <= 0) fail(ErrorCode::invalid_argument, "GGUF writer: tensor '", name, "' has a dimension ", d);
  if (shape[0] % block_size(type) != 0)
    fail(ErrorCode::invalid_argument, "GGUF writer: tensor '", name, "' of type ", dtype_name(type), ": ne[0] = ",
         shape[0], " is not a multiple of the block size ", block_size(type));
}

uint64_t shape_bytes(DType type, const std::vector<int64_t>& shape) {
  uint64_t rows = 1;
  for (size_t i = 1; i < shape.size(); ++i) rows *= uint64_t(shape[i]);
  return uint64_t(row_bytes(type, shape[0])) * rows;
}

}  // namespace

void Writer::set(const std::string& key, Value value) {
  if (key.empty()) fail(ErrorCode::invalid_argument, "GGUF writer: empty metadata key");
  if (key == "general.alignment") {
    const uint64_t a = value.type == ValueType::u32 ? value.as_uint(key) : 0;
    if (a == 0 || (a & (a - 1)))
      fail(ErrorCode::invalid_argument, "GGUF writer: general.alignment must be a u32 power of two");
  }
  for (auto& kv : kv_)
    if (kv.first == key) {
      kv.second = std::move(value);
      return;
    }
  kv_.emplace_back(key, std::move(value));
}

void Writer::add_tensor(const std::string& name, DType type, const std::vector<int64_t>& shape, const void* data,
                        size_t n_bytes) {
  check_shape(name, type, shape);
  for (const auto& t : tensors_)
    if (t.name == name) fail(ErrorCode::invalid_argument, "GGUF writer: duplicate tensor '", name, "'");
  const uint64_t expect = shape_bytes(type, shape);
  if (expect != n_bytes)
    fail(ErrorCode::invalid_argument, "GGUF writer: tensor '", name, "' needs ", expect, " bytes, got ", n_bytes);
  Pending p{name, type, shape, {}, false};
  p.data.assign(static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + n_bytes);
  tensors_.push_back(std::move(p));
}

void Writer::add_tensor_info(const std::string& name, DType type, const std::vector<int64_t>& shape) {
  check_shape(name, type, shape);
  for (const auto& t : tensors_)
    if (t.name == name) fail(ErrorCode::invalid_argument, "GGUF writer: duplicate tensor '", name, "'");
  tensors_.push_back(Pending{name, type, shape, {}, true});
}

uint64_t Writer::tensor_bytes(size_t i) const { return shape_bytes(tensors_[i].type, tensors_[i].shape); }

uint64_t Writer::total_tensor_bytes() const {
  uint64_t s = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) s += tensor_bytes(i);
  return s;
}

uint32_t Writer::alignment() const {
  for (const auto& kv : kv_)
    if (kv.first == "general.alignment") return uint32_t(kv.second.as_uint(kv.first));
  return 32;
}

std::vector<uint8_t> Writer::header_bytes() const {
  const uint64_t align = alignment();
  std::vector<uint8_t> out;
  Bytes b{out};
  b.put<uint32_t>(0x46554747u);  // "GGUF"
  b.put<uint32_t>(3);
  b.put<int64_t>(int64_t(tensors_.size()));
  b.put<int64_t>(int64_t(kv_.size()));
  for (const auto& [key, v] : kv_) {
    b.put_string(key);
    b.put<int32_t>(int32_t(v.type));
    if (v.type == ValueType::array) {
      put_array(b, v, key, 1);
    } else {
      put_scalar(b, v.type, v, key);
    }
  }
  uint64_t offset = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const auto& t = tensors_[i];
    b.put_string(t.name);
    b.put<uint32_t>(uint32_t(t.shape.size()));
    for (auto d : t.shape) b.put<int64_t>(d);
    b.put<int32_t>(int32_t(t.type));
    b.put<uint64_t>(offset);
    offset += pad_to(tensor_bytes(i), align);
  }
  out.resize(pad_to(out.size(), align), 0);
  return out;
}

std::vector<uint8_t> Writer::to_bytes() const {
  const uint64_t align = alignment();
  std::vector<uint8_t> out = header_bytes();
  for (const auto& t : tensors_) {
    if (t.streamed)
      fail(ErrorCode::invalid_argument, "GGUF writer: tensor '", t.name, "' was declared for streaming; use write(path, producer)");
    out.insert(out.end(), t.data.begin(), t.data.end());
    out.resize(pad_to(out.size(), align), 0);
  }
  return out;
}

void Writer::write(const std::string& path) const {
  write(path, RowProducer{});
}

void Writer::write(const std::string& path, const RowProducer& produce, size_t chunk_bytes) const {
  const uint64_t align = alignment();
  for (const auto& t : tensors_)
    if (t.streamed && !produce)
      fail(ErrorCode::invalid_argument, "GGUF writer: tensor '", t.name, "' has no data and no producer was given");
  const std::string tmp = path + ".tmp";
  std::FILE* fp = std::fopen(tmp.c_str(), "wb");
  if (!fp) fail(ErrorCode::io, "cannot create '", tmp, "': ", std::strerror(errno));
  uint64_t written = 0;
  auto put = [&](const void* p, size_t n) {
    if (n && std::fwrite(p, 1, n, fp) != n) fail(ErrorCode::io, "cannot write '", tmp, "': ", std::strerror(errno));
    written += n;
  };
  try {
    const std::vector<uint8_t> header = header_bytes();
    put(header.data(), header.size());
    const std::vector<uint8_t> zeros(align, 0);
    std::vector<uint8_t> chunk;
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const auto& t = tensors_[i];
      if (!t.streamed) {
        put(t.data.data(), t.data.size());
      } else {
        const size_t rb = row_bytes(t.type, t.shape[0]);
        int64_t n_rows = 1;
        for (size_t d = 1; d < t.shape.size(); ++d) n_rows *= t.shape[d];
        const int64_t per_chunk = std::max<int64_t>(1, int64_t(chunk_bytes / rb));
        for (int64_t r = 0; r < n_rows; r += per_chunk) {
          const int64_t n = std::min(per_chunk, n_rows - r);
          chunk.assign(size_t(n) * rb, 0);
          produce(i, r, n, chunk.data());
          put(chunk.data(), chunk.size());
        }
      }
      put(zeros.data(), pad_to(written, align) - written);
    }
  } catch (...) {
    std::fclose(fp);
    std::remove(tmp.c_str());
    throw;
  }
  if (std::fclose(fp) != 0) {
    std::remove(tmp.c_str());
    fail(ErrorCode::io, "cannot finish writing '", tmp, "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    fail(ErrorCode::io, "cannot rename '", tmp, "' to '", path, "': ", std::strerror(err));
  }
}

}  // namespace omni::gguf
