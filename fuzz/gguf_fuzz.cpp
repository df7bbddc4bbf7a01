// libFuzzer target: arbitrary bytes into gguf::File::parse. A malformed input must end in
// omni::Error; an accepted one must have every tensor inside the buffer and readable metadata.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "formats/gguf.hpp"
#include "omni/error.hpp"

namespace {

uint64_t touch(const omni::gguf::Value& v) {
  uint64_t h = uint64_t(v.type);
  if (v.is_array()) {
    for (const auto& item : v.as_array()) h += touch(item);
  } else if (v.is_string()) {
    h += v.as_string().size();
  } else if (v.is_integer()) {
    h += v.as_uint() & 1;  // may throw omni::Error for negatives: allowed
  } else if (v.type == omni::gguf::ValueType::boolean) {
    h += v.as_bool();
  } else {
    h += v.as_float() > 0;
  }
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto f = omni::gguf::File::parse(data, size, "fuzz");
    volatile uint64_t sink = 0;
    for (const auto& [key, value] : f.metadata()) {
      if (key.empty()) std::abort();
      try {
        sink = sink + touch(value);
      } catch (const omni::Error&) {
      }
    }
    for (const auto& t : f.tensors()) {
      if (t.data < data || t.n_bytes > size || t.data + t.n_bytes > data + size) std::abort();
      if (t.n_bytes) sink = sink + t.data[0] + t.data[t.n_bytes - 1];
      if (f.find_tensor(t.name) == nullptr) std::abort();
    }
  } catch (const omni::Error&) {
  }
  return 0;
}
