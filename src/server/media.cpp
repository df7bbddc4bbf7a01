// Base64, data: URL and confined file:// URL loading for request media.
#include "server/media.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/base64.hpp"
#include "omni/error.hpp"
#include "server/http_types.hpp"
#include "server/static_files.hpp"

namespace omni::server {

// core/base64 with the request field named in a 400 error.
std::string base64_decode_strict(const std::string& text, const std::string& field) {
  try {
    return omni::base64_decode(text, cat("'", field, "'"));
  } catch (const Error& e) {
    bad_request(e.what(), field);
  }
}

std::string base64_encode(const std::string& bytes) { return omni::base64_encode(bytes); }

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
