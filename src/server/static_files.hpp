// Static files of the web console (GET / and everything not under /v1): safe path resolution
// (no traversal, no symlink escapes), content types, and a placeholder page when no build exists.
#pragma once
#include <optional>
#include <string>

#include "server/http_types.hpp"

namespace omni::server {

// Resolves `url_path` ("/assets/app.js", already percent-decoded) inside `root`. Returns nullopt
// when it escapes root, names a missing file, or contains "..", NUL or backslashes.
std::optional<std::string> resolve_under(const std::string& root, const std::string& url_path);
std::string content_type_for(const std::string& path);
// The console's file for url_path, index.html for "/", or the placeholder page when root is
// missing; 404 JSON otherwise. `capabilities` is shown on the placeholder page.
// range: the Range header ("bytes=N-" / "bytes=N-M" give 206; beyond the end 416).
Response serve_static(const std::string& root, const std::string& url_path, const std::string& capabilities_html,
                      const std::string& range = "");
// Default console folder: $OMNI_WEB_DIR, then web/dist next to the binary's source tree or binary.
std::string default_web_dir();

}  // namespace omni::server
