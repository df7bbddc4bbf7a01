// Base64, data: URL and confined file:// URL loading for request media.
#include "server/media.hpp"

#include <boost/beast/core/detail/base64.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "server/http_types.hpp"
#include "server/static_files.hpp"

namespace omni::server {

namespace b64 = boost::beast::detail::base64;

std::string base64_decode_strict(const std::string& text, const std::string& field) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
    if (!ok) bad_request(cat("'", field, "' is not valid base64 (character '", std::string(1, c), "')"), field);
    clean.push_back(c);
  }
  size_t pad = clean.find('=');
  if (pad != std::string::npos) {
    if (clean.size() - pad > 2 || clean.find_first_not_of('=', pad) != std::string::npos || clean.size() % 4 != 0)
      bad_request(cat("'", field, "' has misplaced base64 padding"), field);
  } else if (clean.size() % 4 == 1) {
    bad_request(cat("'", field, "' is truncated base64"), field);
  }
  std::string out(b64::decoded_size(clean.size()), '\0');
  auto [written, read] = b64::decode(out.data(), clean.data(), clean.size());
  (void)read;
  out.resize(written);
  return out;
}

std::string base64_encode(const std::string& bytes) {
  std::string out(b64::encoded_size(bytes.size()), '\0');
  out.resize(b64::encode(out.data(), bytes.data(), bytes.size()));
  return out;
}

MediaBytes load_media_url(const std::string& url, const std::string& media_dir, size_t max_bytes, const std::string& field) {
  MediaBytes m;
  if (url.rfind("data:", 0) == 0) {
    size_t comma = url.find(',');
    if (comma == std::string::npos) bad_request(cat("'", field, "' is a data: URL without a comma"), field);
    std::string meta = url.substr(5, comma - 5);
    if (meta.size() < 7 || meta.substr(meta.size() - 7) != ";base64")
      bad_request(cat("'", field, "' must be a base64 data: URL (data:<mime>;base64,...)"), field);
    m.mime = meta.substr(0, meta.size() - 7);
    if ((url.size() - comma - 1) / 4 * 3 > max_bytes + 3)
      throw HttpError(413, "invalid_request_error", "media_too_large", cat("'", field, "' is larger than ", max_bytes, " bytes"), field);
    m.bytes = base64_decode_strict(url.substr(comma + 1), field);
    return m;
  }
  if (url.rfind("file://", 0) == 0) {
    if (media_dir.empty())
      throw HttpError(403, "permission_error", "file_url_forbidden", cat("'", field, "': file:// URLs need the server to be started with --media-dir"), field);
    std::string path = url_decode(url.substr(7), false);
    std::string base = std::filesystem::weakly_canonical(media_dir).string();
    std::string rel = path.rfind(base, 0) == 0 ? path.substr(base.size()) : path;
    if (rel.empty() || rel[0] != '/') rel = "/" + rel;
    auto resolved = resolve_under(media_dir, rel);
    if (!resolved || path.rfind(base + "/", 0) != 0)
      throw HttpError(403, "permission_error", "file_url_forbidden", cat("'", field, "': ", path, " is not a file under --media-dir"), field);
    std::error_code ec;
    if (std::filesystem::file_size(*resolved, ec) > max_bytes)
      throw HttpError(413, "invalid_request_error", "media_too_large", cat("'", field, "' is larger than ", max_bytes, " bytes"), field);
    std::ifstream in(*resolved, std::ios::binary);
    std::ostringstream os;
    os << in.rdbuf();
    m.bytes = os.str();
    m.mime = content_type_for(*resolved);
    return m;
  }
  bad_request(cat("'", field, "' must be a data: URL", media_dir.empty() ? "" : " or a file:// URL under --media-dir",
                  " (remote http(s) URLs are not fetched)"), field);
}

}  // namespace omni::server
