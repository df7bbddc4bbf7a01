// `omni inspect MODEL.gguf [--json]`: prints a GGUF file's metadata and tensor table (validating
// the whole file on the way), as text for people or as one JSON object for scripts.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "formats/gguf.hpp"
#include "omni/error.hpp"

namespace omni::cli {

extern const CommandSpec k_inspect_spec = {
    "inspect",
    "omni inspect MODEL.gguf [--json] [--full]",
    "Show a GGUF model's metadata and tensors.",
    "Validates every record of the file (as the model loader does) and prints its metadata and a\n"
    "table of tensors (name, type, shape, bytes) with totals. Long arrays such as the vocabulary\n"
    "are abbreviated unless --full is given. --json prints one object:\n"
    "{\"version\", \"alignment\", \"data_offset\", \"metadata\": {...}, \"tensors\": [{\"name\", \"type\",\n"
    "\"shape\", \"offset\", \"bytes\"}]} with every array in full.",
    {
        {"json", 0, false, "", "print one JSON object instead of text"},
        {"full", 0, false, "", "text mode: print arrays in full"},
    },
    1,
    1,
};

namespace {

using gguf::Value;
using gguf::ValueType;

// The shortest decimal text that reads back as the same float.
std::string float_text(double x, bool is_f32) {
  if (!std::isfinite(x)) return std::isnan(x) ? "nan" : (x > 0 ? "inf" : "-inf");
  char buf[40];
  for (int prec = is_f32 ? 6 : 15; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, x);
    const double back = std::strtod(buf, nullptr);
    if (is_f32 ? float(back) == float(x) : back == x) break;
  }
  return buf;
}

std::string quoted(const std::string& s, size_t max = 200) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') out += cat('\\', char(c));
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    } else out += char(c);
  }
  if (s.size() > max) out += cat("...\" (", s.size(), " bytes)");
  else out += "\"";
  return out;
}

std::string scalar_text(const Value& v, ValueType t) {
  switch (t) {
    case ValueType::string: return quoted(v.as_string());
    case ValueType::boolean: return v.as_bool() ? "true" : "false";
    case ValueType::f32: return float_text(v.as_float(), true);
    case ValueType::f64: return float_text(v.as_float(), false);
    case ValueType::u8: case ValueType::u16: case ValueType::u32: case ValueType::u64:
      return std::to_string(v.as_uint());
    default: return std::to_string(v.as_int());
  }
}

std::string value_text(const Value& v, bool full) {
  if (!v.is_array()) return scalar_text(v, v.type);
  const auto& items = v.as_array();
  const size_t show = full ? items.size() : std::min<size_t>(items.size(), 8);
  std::string s = cat(items.size(), " ", value_type_name(v.elem_type), items.size() == 1 ? "" : "s", " [");
  for (size_t i = 0; i < show; ++i) s += cat(i ? ", " : "", v.elem_type == ValueType::array ? value_text(items[i], full)
                                                                                         : scalar_text(items[i], v.elem_type));
  if (show < items.size()) s += ", ...";
  return s + "]";
}

nlohmann::json scalar_json(const Value& v, ValueType t) {
  switch (t) {
    case ValueType::string: return v.as_string();
    case ValueType::boolean: return v.as_bool();
    case ValueType::f32: case ValueType::f64: {
      const double x = v.as_float();
      if (!std::isfinite(x)) return float_text(x, false);
      return std::strtod(float_text(x, t == ValueType::f32).c_str(), nullptr);
    }
    case ValueType::u8: case ValueType::u16: case ValueType::u32: case ValueType::u64: return v.as_uint();
    default: return v.as_int();
  }
}

nlohmann::json value_json(const Value& v) {
  if (!v.is_array()) return scalar_json(v, v.type);
  nlohmann::json a = nlohmann::json::array();
  for (const auto& it : v.as_array())
    a.push_back(v.elem_type == ValueType::array ? value_json(it) : scalar_json(it, v.elem_type));
  return a;
}

}  // namespace

int run_inspect(const Args& args) {
  const std::string path = args.positional()[0];
  const gguf::File f = gguf::File::open(path);
  if (args.has("json")) {
    nlohmann::json j;
    j["version"] = f.version();
    j["alignment"] = f.alignment();
    j["data_offset"] = f.data_offset();
    j["file_size"] = f.file_size();
    nlohmann::json md = nlohmann::json::object();
    for (const auto& [k, v] : f.metadata()) md[k] = value_json(v);
    j["metadata"] = std::move(md);
    nlohmann::json ts = nlohmann::json::array();
    for (const auto& t : f.tensors()) {
      nlohmann::json shape = nlohmann::json::array();
      for (int d = 0; d < t.n_dims; ++d) shape.push_back(t.ne[d]);
      ts.push_back({{"name", t.name}, {"type", dtype_name(t.type)}, {"shape", shape}, {"offset", t.offset},
                    {"bytes", t.n_bytes}});
    }
    j["tensors"] = std::move(ts);
    std::cout << j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  const bool full = args.has("full");
  std::cout << path << ": GGUF v" << f.version() << ", " << f.metadata().size() << " metadata keys, "
            << f.tensors().size() << " tensors, alignment " << f.alignment() << ", data at byte " << f.data_offset()
            << ", " << f.file_size() << " bytes\n\nmetadata:\n";
  size_t key_width = 0;
  for (const auto& kv : f.metadata()) key_width = std::max(key_width, kv.first.size());
  for (const auto& [k, v] : f.metadata()) {
    std::cout << "  " << k << std::string(key_width - k.size() + 1, ' ') << "= " << value_text(v, full);
    if (!v.is_array()) std::cout << "  (" << value_type_name(v.type) << ")";
    std::cout << "\n";
  }
  size_t name_width = 4;
  for (const auto& t : f.tensors()) name_width = std::max(name_width, t.name.size());
  std::cout << "\ntensors:\n  " << "name" << std::string(name_width - 4 + 2, ' ') << "type     shape                 bytes\n";
  uint64_t total_bytes = 0, total_elems = 0;
  std::map<std::string, std::pair<int, uint64_t>> by_type;
  for (const auto& t : f.tensors()) {
    char line[128];
    std::snprintf(line, sizeof line, "%-8s %-20s %12llu", dtype_name(t.type), t.shape_string().c_str(),
                  static_cast<unsigned long long>(t.n_bytes));
    std::cout << "  " << t.name << std::string(name_width - t.name.size() + 2, ' ') << line << "\n";
    total_bytes += t.n_bytes;
    total_elems += uint64_t(t.n_elements());
    auto& bt = by_type[dtype_name(t.type)];
    bt.first++;
    bt.second += t.n_bytes;
  }
  std::cout << "\ntotal: " << f.tensors().size() << " tensors, " << total_elems << " parameters, " << total_bytes
            << " bytes (" << ProgressBar::format_bytes(double(total_bytes)) << ")";
  if (total_elems) {
    char bpw[32];
    std::snprintf(bpw, sizeof bpw, "%.2f", 8.0 * double(total_bytes) / double(total_elems));
    std::cout << ", " << bpw << " bits per weight";
  }
  std::cout << "\nby type:";
  for (const auto& [name, c] : by_type)
    std::cout << " " << name << " " << c.first << " (" << ProgressBar::format_bytes(double(c.second)) << ")";
  std::cout << "\n";
  return 0;
}

}  // namespace omni::cli
