// Builds a multipart/form-data body for route tests: (name, filename, data) fields; a field with a
// filename is a file part. ctype receives the Content-Type header value with the boundary.
#pragma once
#include <string>
#include <tuple>
#include <vector>

namespace omni::test {

inline std::string multipart(const std::vector<std::tuple<std::string, std::string, std::string>>& fields, std::string& ctype) {
  const std::string b = "omniBoundary7MA4YWxk";
  ctype = "multipart/form-data; boundary=" + b;
  std::string out;
  for (auto& [name, filename, data] : fields) {
    out += "--" + b + "\r\nContent-Disposition: form-data; name=\"" + name + "\"";
    if (!filename.empty()) out += "; filename=\"" + filename + "\"\r\nContent-Type: application/octet-stream";
    out += "\r\n\r\n" + data + "\r\n";
  }
  return out + "--" + b + "--\r\n";
}

}  // namespace omni::test
