// GGUF v3 reader: parses and validates every record of a GGUF file (spec ggml-blocks-and-gguf.md
// §1.7) before anything is used, then exposes metadata values and zero-copy tensor views.
#include "formats/gguf.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include "omni/error.hpp"

namespace omni::gguf {

namespace {

constexpr uint64_t kMaxStringBytes = uint64_t(1) << 30;   // ggml's limit for one string
constexpr uint64_t kMaxArrayCount = uint64_t(1) << 30;    // ggml's limit for one array
constexpr uint64_t kMaxTotalArrayElems = uint64_t(1) << 23;  // Omni's memory guard (all arrays)
constexpr int kMaxArrayDepth = 8;  // arrays of arrays: levels allowed (ggml itself refuses nesting)
constexpr uint64_t kMaxTensorName = 63;                   // GGML_MAX_NAME - 1

// Fixed encoded size of a scalar value type; 0 for string/array.
size_t scalar_size(ValueType t) {
  switch (t) {
    case ValueType::u8: case ValueType::i8: case ValueType::boolean: return 1;
    case ValueType::u16: case ValueType::i16: return 2;
    case ValueType::u32: case ValueType::i32: case ValueType::f32: return 4;
    case ValueType::u64: case ValueType::i64: case ValueType::f64: return 8;
    default: return 0;
  }
}

bool known_value_type(int32_t id) { return id >= 0 && id <= 12; }

const char* removed_type_name(uint32_t id) {
  switch (id) {
    case 4: return "q4_2";
    case 5: return "q4_3";
    case 31: return "q4_0_4_4";
    case 32: return "q4_0_4_8";
    case 33: return "q4_0_8_8";
    case 36: return "iq4_nl_4_4";
    case 37: return "iq4_nl_4_8";
    case 38: return "iq4_nl_8_8";
    default: return nullptr;
  }
}

bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_mul_overflow(a, b, out); }

std::string printable(const std::string& s, size_t max = 64) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != 0x7f) out += char(c);
    else out += cat("\\x", "0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15]);
  }
  if (s.size() > max) out += "...";
  return out;
}

}  // namespace

const char* value_type_name(ValueType t) {
  switch (t) {
    case ValueType::u8: return "u8";
    case ValueType::i8: return "i8";
    case ValueType::u16: return "u16";
    case ValueType::i16: return "i16";
    case ValueType::u32: return "u32";
    case ValueType::i32: return "i32";
    case ValueType::f32: return "f32";
    case ValueType::boolean: return "bool";
    case ValueType::string: return "string";
    case ValueType::array: return "array";
    case ValueType::u64: return "u64";
    case ValueType::i64: return "i64";
    case ValueType::f64: return "f64";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------------
// Value

bool Value::is_integer() const {
  return std::holds_alternative<uint64_t>(v) || std::holds_alternative<int64_t>(v);
}

static std::string key_suffix(const std::string& key) { return key.empty() ? "" : cat(" '", key, "'"); }

int64_t Value::as_int(const std::string& key) const {
  if (auto* u = std::get_if<uint64_t>(&v)) {
    if (*u > uint64_t(std::numeric_limits<int64_t>::max()))
      fail(ErrorCode::invalid_file, "metadata", key_suffix(key), ": value ", *u, " does not fit in int64");
    return int64_t(*u);
  }
  if (auto* i = std::get_if<int64_t>(&v)) return *i;
  if (auto* b = std::get_if<bool>(&v)) return *b ? 1 : 0;
  fail(ErrorCode::invalid_file, "metadata", key_suffix(key), ": expected an integer, found ", value_type_name(type));
}

uint64_t Value::as_uint(const std::string& key) const {
  if (auto* u = std::get_if<uint64_t>(&v)) return *u;
  if (auto* i = std::get_if<int64_t>(&v)) {
    if (*i < 0) fail(ErrorCode::invalid_file, "metadata", key_suffix(key), ": negative value ", *i, " where an unsigned one is needed");
    return uint64_t(*i);
  }
  if (auto* b = std::get_if<bool>(&v)) return *b ? 1 : 0;
  fail(ErrorCode::invalid_file, "metadata", key_suffix(key), ": expected an unsigned integer, found ", value_type_name(type));
}

double Value::as_float(const std::string& key) const {
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* u = std::get_if<uint64_t>(&v)) return double(*u);
  if (auto* i = std::get_if<int64_t>(&v)) return double(*i);
  fail(ErrorCode::invalid_file, "metadata", key_suffix(key), ": expected a number, found ", value_type_name(type));
}

bool Value::as_bool(const std::string& key) const {
  if (auto* b = std::get_if<bool>(&v)) return *b;
  if (is_integer()) return as_uint(key) != 0;
  fail(ErrorCode::invalid_file, "metadata", key_suffix(key), ": expected a bool, found ", value_type_name(type));
}

const std::string& Value::as_string(const std::string& key) const {
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  fail(ErrorCode::invalid_file, "metadata", key_suffix(key), ": expected a string, found ", value_type_name(type));
}

const std::vector<Value>& Value::as_array(const std::string& key) const {
  if (auto* a = std::get_if<std::vector<Value>>(&v)) return *a;
  fail(ErrorCode::invalid_file, "metadata", key_suffix(key), ": expected an array, found ", value_type_name(type));
}

Value Value::of_u32(uint32_t x) { Value r; r.type = ValueType::u32; r.v = uint64_t(x); return r; }
Value Value::of_i32(int32_t x) { Value r; r.type = ValueType::i32; r.v = int64_t(x); return r; }
Value Value::of_u64(uint64_t x) { Value r; r.type = ValueType::u64; r.v = x; return r; }
Value Value::of_f32(float x) { Value r; r.type = ValueType::f32; r.v = double(x); return r; }
Value Value::of_bool(bool x) { Value r; r.type = ValueType::boolean; r.v = x; return r; }
Value Value::of_string(std::string s) { Value r; r.type = ValueType::string; r.v = std::move(s); return r; }

Value Value::of_strings(const std::vector<std::string>& xs) {
  Value r;
  r.type = ValueType::array;
  r.elem_type = ValueType::string;
  std::vector<Value> a;
  a.reserve(xs.size());
  for (const auto& x : xs) a.push_back(of_string(x));
  r.v = std::move(a);
  return r;
}

Value Value::of_i32s(const std::vector<int32_t>& xs) {
  Value r;
  r.type = ValueType::array;
  r.elem_type = ValueType::i32;
  std::vector<Value> a;
  a.reserve(xs.size());
  for (auto x : xs) a.push_back(of_i32(x));
  r.v = std::move(a);
  return r;
}

Value Value::of_f32s(const std::vector<float>& xs) {
  Value r;
  r.type = ValueType::array;
  r.elem_type = ValueType::f32;
  std::vector<Value> a;
  a.reserve(xs.size());
  for (auto x : xs) a.push_back(of_f32(x));
  r.v = std::move(a);
  return r;
}

std::string TensorInfo::shape_string() const {
  std::string s = "[";
  for (int i = 0; i < n_dims; ++i) s += cat(i ? ", " : "", ne[i]);
  return s + "]";
}

// ---------------------------------------------------------------------------------------------
// Reader: a cursor over the buffer that checks every read against the bytes that remain.

class Reader {
 public:
  Reader(const uint8_t* data, size_t size, const std::string& name) : p_(data), size_(size), name_(name) {}

  [[noreturn]] void bad(uint64_t at, const std::string& what, ErrorCode code = ErrorCode::invalid_file) const {
    fail(code, "GGUF file '", name_, "' at byte ", at, ": ", what);
  }
  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  void need(uint64_t n, const char* what) const {
    if (n > remaining())
      bad(pos_, cat("truncated: ", what, " needs ", n, " bytes but only ", remaining(), " remain (file size ", size_, ")"));
  }
  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T x;
    std::memcpy(&x, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return x;
  }
  std::string read_string(const char* what) {
    const uint64_t at = pos_;
    const uint64_t len = read<uint64_t>(what);
    if (len > kMaxStringBytes) bad(at, cat(what, ": string length ", len, " exceeds the 1 GiB limit"));
    if (len > remaining())
      bad(at, cat(what, ": string length ", len, " runs past the end of the file (", remaining(), " bytes remain)"));
    std::string s(reinterpret_cast<const char*>(p_ + pos_), size_t(len));
    pos_ += len;
    return s;
  }

  Value read_scalar(ValueType t, const char* what) {
    Value r;
    r.type = t;
    switch (t) {
      case ValueType::u8: r.v = uint64_t(read<uint8_t>(what)); break;
      case ValueType::i8: r.v = int64_t(read<int8_t>(what)); break;
      case ValueType::u16: r.v = uint64_t(read<uint16_t>(what)); break;
      case ValueType::i16: r.v = int64_t(read<int16_t>(what)); break;
      case ValueType::u32: r.v = uint64_t(read<uint32_t>(what)); break;
      case ValueType::i32: r.v = int64_t(read<int32_t>(what)); break;
      case ValueType::f32: r.v = double(read<float>(what)); break;
      case ValueType::boolean: r.v = read<uint8_t>(what) != 0; break;
      case ValueType::string: r.v = read_string(what); break;
      case ValueType::u64: r.v = read<uint64_t>(what); break;
      case ValueType::i64: r.v = read<int64_t>(what); break;
      case ValueType::f64: r.v = read<double>(what); break;
      case ValueType::array: bad(pos_, "internal: array as scalar", ErrorCode::internal);
    }
    return r;
  }

  Value read_value(const std::string& key, uint64_t* total_elems) {
    const uint64_t at = pos_;
    const int32_t type_id = read<int32_t>("value type");
    if (!known_value_type(type_id))
      bad(at, cat("key '", printable(key), "' has unknown value type id ", type_id, " (valid: 0..12)"));
    const auto type = ValueType(type_id);
    if (type != ValueType::array) return read_scalar(type, "metadata value");
    return read_array(key, 1, total_elems);
  }

  // The body of an array value (element type, count, elements); depth 1 is the key's own array.
  // Arrays of arrays nest up to kMaxArrayDepth levels; every level counts towards the element limit.
  Value read_array(const std::string& key, int depth, uint64_t* total_elems) {
    const uint64_t elem_at = pos_;
    const int32_t elem_id = read<int32_t>("array element type");
    if (!known_value_type(elem_id))
      bad(elem_at, cat("key '", printable(key), "': array has unknown element type id ", elem_id));
    const auto elem = ValueType(elem_id);
    if (elem == ValueType::array && depth >= kMaxArrayDepth)
      bad(elem_at, cat("key '", printable(key), "': arrays nested more than ", kMaxArrayDepth, " levels deep"));
    const uint64_t count_at = pos_;
    const uint64_t count = read<uint64_t>("array count");
    if (count > kMaxArrayCount)
      bad(count_at, cat("key '", printable(key), "': array count ", count, " exceeds the limit of 2^30"));
    // Smallest encoding of one element: a string's length, a nested array's type and count.
    const uint64_t min_elem = elem == ValueType::string ? 8 : elem == ValueType::array ? 12 : scalar_size(elem);
    uint64_t min_bytes = 0;
    if (mul_overflows(count, min_elem, &min_bytes) || min_bytes > remaining())
      bad(count_at, cat("key '", printable(key), "': array of ", count, " ", value_type_name(elem),
                        " needs at least ", count, " x ", min_elem, " bytes but only ", remaining(), " remain"));
    *total_elems += count;
    if (*total_elems > kMaxTotalArrayElems)
      bad(count_at, cat("key '", printable(key), "': more than ", kMaxTotalArrayElems, " array elements in the metadata"),
          ErrorCode::too_large);
    Value r;
    r.type = ValueType::array;
    r.elem_type = elem;
    std::vector<Value> items;
    items.reserve(size_t(count));
    for (uint64_t i = 0; i < count; ++i)
      items.push_back(elem == ValueType::array ? read_array(key, depth + 1, total_elems)
                                                : read_scalar(elem, "array element"));
    r.v = std::move(items);
    return r;
  }

  void parse(File& f);

 private:
  const uint8_t* p_;
  uint64_t size_;
  uint64_t pos_ = 0;
  const std::string& name_;
};

void Reader::parse(File& f) {
  // 1-4: header
  need(4, "magic");
  if (std::memcmp(p_, "GGUF", 4) != 0) {
    std::string got;
    for (size_t i = 0; i < 4 && i < size_; ++i) got += cat(i ? " " : "", int(p_[i]));
    bad(0, cat("bad magic: expected 'GGUF' (71 71 85 70), found bytes ", got, " - not a GGUF file"));
  }
  pos_ = 4;
  const uint32_t version = read<uint32_t>("version");
  if (version == 0) bad(4, "version 0 is invalid");
  if ((version & 0xFFFF) == 0)
    bad(4, cat("version ", version, " looks byte-swapped (a big-endian GGUF file); only little-endian is supported"),
        ErrorCode::unsupported);
  if (version == 1) bad(4, "GGUF version 1 (32-bit counts) is not supported; convert the file to version 3", ErrorCode::unsupported);
  if (version > 3) bad(4, cat("GGUF version ", version, " is newer than this reader (it reads versions 2 and 3)"), ErrorCode::unsupported);
  f.version_ = version;

  const int64_t n_tensors = read<int64_t>("tensor count");
  if (n_tensors < 0) bad(8, cat("negative tensor count ", n_tensors));
  const int64_t n_kv = read<int64_t>("metadata count");
  if (n_kv < 0) bad(16, cat("negative metadata count ", n_kv));
  // Each KV pair takes at least 8 (key length) + 1 (key) + 4 (type) + 1 (value) bytes, and each
  // tensor info at least 8 + 4 + 4 + 8; larger counts cannot fit in the file.
  if (uint64_t(n_kv) > remaining() / 14)
    bad(16, cat("metadata count ", n_kv, " cannot fit in the ", remaining(), " bytes that remain"));
  if (uint64_t(n_tensors) > remaining() / 24)
    bad(8, cat("tensor count ", n_tensors, " cannot fit in the ", remaining(), " bytes that remain"));

  // 5: key/value pairs
  uint64_t total_elems = 0;
  f.kv_.reserve(size_t(std::min<int64_t>(n_kv, 4096)));  // counts are only bounded by the file size
  for (int64_t i = 0; i < n_kv; ++i) {
    const uint64_t key_at = pos_;
    std::string key = read_string("metadata key");
    if (key.empty()) bad(key_at, cat("metadata pair ", i, " has an empty key"));
    if (f.kv_index_.count(key)) bad(key_at, cat("duplicate metadata key '", printable(key), "'"));
    Value value = read_value(key, &total_elems);
    f.kv_index_[key] = f.kv_.size();
    f.kv_.emplace_back(std::move(key), std::move(value));
  }

  // 6: general.alignment
  f.alignment_ = 32;
  if (auto it = f.kv_index_.find("general.alignment"); it != f.kv_index_.end()) {
    const Value& a = f.kv_[it->second].second;
    if (a.type != ValueType::u32)
      bad(24, cat("general.alignment must be a u32 scalar, found ", value_type_name(a.type)));
    const uint64_t al = std::get<uint64_t>(a.v);
    if (al == 0 || (al & (al - 1)) != 0) bad(24, cat("general.alignment ", al, " is not a non-zero power of two"));
    f.alignment_ = uint32_t(al);
  }

  // 7: tensor infos
  f.tensors_.reserve(size_t(std::min<int64_t>(n_tensors, 4096)));
  std::map<std::string, size_t> c_names;  // names compared as C strings, as ggml does
  for (int64_t i = 0; i < n_tensors; ++i) {
    const uint64_t at = pos_;
    TensorInfo t;
    t.name = read_string("tensor name");
    if (t.name.size() > kMaxTensorName)
      bad(at, cat("tensor ", i, " name '", printable(t.name), "' is ", t.name.size(), " bytes (the limit is 63)"));
    const std::string c_name = t.name.substr(0, t.name.find('\0'));
    if (c_names.count(c_name)) bad(at, cat("duplicate tensor name '", printable(t.name), "'"));
    const uint64_t dims_at = pos_;
    const uint32_t n_dims = read<uint32_t>("tensor n_dims");
    if (n_dims > 4) bad(dims_at, cat("tensor '", printable(t.name), "' has ", n_dims, " dimensions (at most 4)"));
    t.n_dims = int(n_dims);
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t ne_at = pos_;
      t.ne[d] = read<int64_t>("tensor dimension");
      if (t.ne[d] <= 0)
        bad(ne_at, cat("tensor '", printable(t.name), "' dimension ", d, " is ", t.ne[d], " (must be positive)"));
    }
    int64_t n_el = 1;
    for (int d = 0; d < 4; ++d)
      if (__builtin_mul_overflow(n_el, t.ne[d], &n_el))
        bad(dims_at, cat("tensor '", printable(t.name), "' shape ", t.shape_string(), " overflows int64"));
    const uint64_t type_at = pos_;
    const int32_t type_id = read<int32_t>("tensor type");
    if (type_id < 0 || uint32_t(type_id) >= kDTypeCount)
      bad(type_at, cat("tensor '", printable(t.name), "' has unknown ggml type id ", type_id), ErrorCode::unsupported);
    const auto tr = dtype_traits(uint32_t(type_id));
    if (!tr) {
      const char* rn = removed_type_name(uint32_t(type_id));
      bad(type_at, cat("tensor '", printable(t.name), "' has type id ", type_id, " (", rn ? rn : "?",
                       "), which was removed from ggml"), ErrorCode::unsupported);
    }
    t.type = DType(uint32_t(type_id));
    if (t.ne[0] % tr->block_size != 0)
      bad(type_at, cat("tensor '", printable(t.name), "' of type ", tr->name, ": ne[0] = ", t.ne[0],
                       " is not a multiple of the block size ", tr->block_size));
    uint64_t n_bytes = 0;
    if (mul_overflows(uint64_t(n_el / tr->block_size), uint64_t(tr->type_size), &n_bytes) ||
        n_bytes > uint64_t(std::numeric_limits<int64_t>::max()))
      bad(type_at, cat("tensor '", printable(t.name), "' byte size overflows"));
    t.n_bytes = n_bytes;
    const uint64_t off_at = pos_;
    t.offset = read<uint64_t>("tensor offset");
    if (t.offset % f.alignment_ != 0)
      bad(off_at, cat("tensor '", printable(t.name), "' offset ", t.offset, " is not a multiple of the alignment ", f.alignment_));
    c_names[c_name] = f.tensors_.size();
    f.tensors_.push_back(std::move(t));
  }

  // 8: data section start
  const uint64_t end_of_infos = pos_;
  uint64_t data_start = end_of_infos;
  if (n_tensors > 0) {
    data_start = (end_of_infos + f.alignment_ - 1) / f.alignment_ * f.alignment_;
    if (data_start > size_)
      bad(end_of_infos, cat("the data section would start at byte ", data_start, ", past the end of the file (", size_, " bytes)"));
  }
  f.data_offset_ = data_start;

  // 9: every tensor inside the file, no two overlapping
  const uint64_t data_size = size_ - data_start;
  std::vector<size_t> order(f.tensors_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (auto& t : f.tensors_) {
    if (t.offset > data_size || t.n_bytes > data_size - t.offset)
      bad(data_start, cat("tensor '", printable(t.name), "' data [", t.offset, ", +", t.n_bytes,
                          ") runs past the end of the file (data section holds ", data_size, " bytes)"));
    t.data = p_ + data_start + t.offset;
  }
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return f.tensors_[a].offset < f.tensors_[b].offset; });
  for (size_t k = 1; k < order.size(); ++k) {
    const auto& prev = f.tensors_[order[k - 1]];
    const auto& cur = f.tensors_[order[k]];
    if (prev.offset + prev.n_bytes > cur.offset)
      bad(data_start, cat("tensors '", printable(prev.name), "' [", prev.offset, ", +", prev.n_bytes, ") and '",
                          printable(cur.name), "' [", cur.offset, ", +", cur.n_bytes, ") overlap"));
  }
  for (size_t i = 0; i < f.tensors_.size(); ++i) f.tensor_index_[f.tensors_[i].name] = i;
}

// ---------------------------------------------------------------------------------------------
// File

File File::parse(const uint8_t* data, size_t size, const std::string& name) {
  File f;
  f.base_ = data;
  f.size_ = size;
  f.name_ = name;
  Reader r(data, size, f.name_);
  r.parse(f);
  return f;
}

File File::open(const std::string& path) {
  auto map = std::make_shared<MappedFile>(path);
  File f = parse(map->data(), map->size(), path);
  f.map_ = std::move(map);
  return f;
}

const Value* File::find(const std::string& key) const {
  auto it = kv_index_.find(key);
  if (it == kv_index_.end()) return nullptr;
  if (released_.count(key))
    fail(ErrorCode::internal, "GGUF file '", name_, "': metadata '", key, "' was released after loading (read it before)");
  return &kv_[it->second].second;
}

size_t File::release(const std::vector<std::string>& keys) {
  size_t n = 0;
  for (const auto& key : keys) {
    auto it = kv_index_.find(key);
    if (it == kv_index_.end() || released_.count(key)) continue;
    Value& v = kv_[it->second].second;
    if (v.is_array()) {
      n += v.as_array().size();
      std::vector<Value>().swap(std::get<std::vector<Value>>(v.v));
    } else if (v.is_string()) {
      n += 1;
      std::string().swap(std::get<std::string>(v.v));
    }
    released_.insert(key);
  }
  return n;
}

const Value& File::get(const std::string& key) const {
  if (const Value* v = find(key)) return *v;
  fail(ErrorCode::not_found, "GGUF file '", name_, "' has no metadata key '", key, "'");
}

std::string File::get_string(const std::string& key, const std::string& def) const {
  const Value* v = find(key);
  return v ? v->as_string(key) : def;
}
int64_t File::get_int(const std::string& key, int64_t def) const {
  const Value* v = find(key);
  return v ? v->as_int(key) : def;
}
double File::get_float(const std::string& key, double def) const {
  const Value* v = find(key);
  return v ? v->as_float(key) : def;
}
bool File::get_bool(const std::string& key, bool def) const {
  const Value* v = find(key);
  return v ? v->as_bool(key) : def;
}

const TensorInfo* File::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& File::tensor(const std::string& name) const {
  if (const TensorInfo* t = find_tensor(name)) return *t;
  fail(ErrorCode::not_found, "GGUF file '", name_, "' has no tensor '", name, "'");
}

}  // namespace omni::gguf
