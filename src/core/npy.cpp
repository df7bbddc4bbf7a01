// .npy reader/writer (format version 1.0/2.0 headers, little-endian numeric dtypes, C order).
#include "core/npy.hpp"

#include <cstring>
#include <fstream>
#include <regex>

#include "omni/error.hpp"

namespace omni {

int64_t NpyArray::size() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

static std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(ErrorCode::not_found, "cannot open '", path, "'");
  return std::string(std::istreambuf_iterator<char>(f), {});
}

NpyArray read_npy(const std::string& path) {
  const std::string buf = read_all(path);
  if (buf.size() < 10 || std::memcmp(buf.data(), "\x93NUMPY", 6) != 0)
    fail(ErrorCode::invalid_file, "'", path, "' is not a .npy file (bad magic)");
  const int major = uint8_t(buf[6]);
  size_t header_len, header_start;
  if (major == 1) {
    header_len = uint8_t(buf[8]) | (size_t(uint8_t(buf[9])) << 8);
    header_start = 10;
  } else {
    if (buf.size() < 12) fail(ErrorCode::invalid_file, "'", path, "': truncated .npy header");
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= size_t(uint8_t(buf[8 + i])) << (8 * i);
    header_start = 12;
  }
  if (header_start + header_len > buf.size()) fail(ErrorCode::invalid_file, "'", path, "': truncated .npy header");
  const std::string header = buf.substr(header_start, header_len);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr':\\s*'([<|=]?)([fi])(\\d)'")))
    fail(ErrorCode::unsupported, "'", path, "': unsupported .npy dtype in header ", header);
  const char kind = m[2].str()[0];
  const int width = std::stoi(m[3].str());
  if (header.find("'fortran_order': True") != std::string::npos)
    fail(ErrorCode::unsupported, "'", path, "': Fortran-order .npy is not supported");
  NpyArray out;
  std::smatch sm;
  if (!std::regex_search(header, sm, std::regex("'shape':\\s*\\(([^)]*)\\)")))
    fail(ErrorCode::invalid_file, "'", path, "': .npy header has no shape");
  const std::string dims = sm[1].str();
  std::regex num("\\d+");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), num); it != std::sregex_iterator(); ++it)
    out.shape.push_back(std::stoll(it->str()));
  const int64_t n = out.size();
  const size_t data_start = header_start + header_len;
  if (width != 4 && width != 8) fail(ErrorCode::unsupported, "'", path, "': element width ", width);
  if (buf.size() - data_start < size_t(n) * width) fail(ErrorCode::invalid_file, "'", path, "': truncated .npy data");
  out.data.resize(size_t(n));
  const char* p = buf.data() + data_start;
  for (int64_t i = 0; i < n; ++i) {
    if (kind == 'f' && width == 4) { float v; std::memcpy(&v, p + 4 * i, 4); out.data[i] = v; }
    else if (kind == 'f') { double v; std::memcpy(&v, p + 8 * i, 8); out.data[i] = float(v); }
    else if (width == 4) { int32_t v; std::memcpy(&v, p + 4 * i, 4); out.data[i] = float(v); }
    else { int64_t v; std::memcpy(&v, p + 8 * i, 8); out.data[i] = float(v); }
  }
  return out;
}

void write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  std::string dims;
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    dims += std::to_string(shape[i]) + (shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : ""));
    n *= shape[i];
  }
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream f(path, std::ios::binary);
  if (!f) fail(ErrorCode::io, "cannot write '", path, "'");
  f.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = uint16_t(header.size());
  f.put(char(len & 0xff));
  f.put(char(len >> 8));
  f.write(header.data(), std::streamsize(header.size()));
  f.write(reinterpret_cast<const char*>(data), std::streamsize(n * 4));
  if (!f) fail(ErrorCode::io, "failed writing '", path, "'");
}

std::vector<float> read_f32_file(const std::string& path) {
  const std::string buf = read_all(path);
  if (buf.size() % 4) fail(ErrorCode::invalid_file, "'", path, "': size is not a multiple of 4");
  std::vector<float> out(buf.size() / 4);
  std::memcpy(out.data(), buf.data(), buf.size());
  return out;
}

}  // namespace omni
