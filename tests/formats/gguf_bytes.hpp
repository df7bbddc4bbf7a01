// Test helper: builds raw GGUF bytes field by field (independent of omni::gguf::Writer), so tests
// can write both valid files and every kind of malformed one.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace omni::test {

struct GgufBytes {
  std::vector<uint8_t> b;

  template <typename T>
  GgufBytes& put(T x) {
    const size_t n = b.size();
    b.resize(n + sizeof(T));
    std::memcpy(b.data() + n, &x, sizeof(T));
    return *this;
  }
  GgufBytes& u8(uint8_t x) { return put(x); }
  GgufBytes& u32(uint32_t x) { return put(x); }
  GgufBytes& i32(int32_t x) { return put(x); }
  GgufBytes& u64(uint64_t x) { return put(x); }
  GgufBytes& i64(int64_t x) { return put(x); }
  GgufBytes& f32(float x) { return put(x); }
  GgufBytes& raw(const std::string& s) {
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  GgufBytes& str(const std::string& s) { return u64(s.size()).raw(s); }
  GgufBytes& header(uint32_t version, int64_t n_tensors, int64_t n_kv) {
    return raw("GGUF").u32(version).i64(n_tensors).i64(n_kv);
  }
  // A scalar u32 key/value pair.
  GgufBytes& kv_u32(const std::string& key, uint32_t v) { return str(key).i32(4).u32(v); }
  GgufBytes& kv_str(const std::string& key, const std::string& v) { return str(key).i32(8).str(v); }
  // A tensor info record with n_dims = dims.size().
  GgufBytes& tensor(const std::string& name, const std::vector<int64_t>& dims, int32_t type, uint64_t offset) {
    str(name).u32(uint32_t(dims.size()));
    for (auto d : dims) i64(d);
    return i32(type).u64(offset);
  }
  GgufBytes& pad(size_t align = 32) {
    while (b.size() % align) b.push_back(0);
    return *this;
  }
  GgufBytes& zeros(size_t n) {
    b.resize(b.size() + n, 0);
    return *this;
  }
  GgufBytes& fill(size_t n, uint8_t start) {
    for (size_t i = 0; i < n; ++i) b.push_back(uint8_t(start + i));
    return *this;
  }
};

}  // namespace omni::test
