// Static file serving for the console with traversal-safe resolution.
#include "server/static_files.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace omni::server {

namespace fs = std::filesystem;

std::optional<std::string> resolve_under(const std::string& root, const std::string& url_path) {
  if (root.empty() || url_path.empty() || url_path[0] != '/') return std::nullopt;
  if (url_path.find('\0') != std::string::npos || url_path.find('\\') != std::string::npos) return std::nullopt;
  // Reject any ".." segment outright, before touching the file system.
  size_t start = 0;
  while (start <= url_path.size()) {
    size_t end = url_path.find('/', start);
    std::string seg = url_path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (seg == "..") return std::nullopt;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  std::error_code ec;
  fs::path base = fs::canonical(root, ec);
  if (ec) return std::nullopt;
  fs::path p = base / fs::path(url_path.substr(1));
  if (fs::is_directory(p, ec)) p /= "index.html";
  fs::path real = fs::canonical(p, ec);  // follows symlinks: must still be inside root
  if (ec || !fs::is_regular_file(real, ec)) return std::nullopt;
  auto rel = real.lexically_relative(base);
  if (rel.empty() || *rel.begin() == "..") return std::nullopt;
  return real.string();
}

std::string content_type_for(const std::string& path) {
  static const std::pair<const char*, const char*> types[] = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"}, {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},   {".json", "application/json"},            {".svg", "image/svg+xml"},
      {".png", "image/png"},                 {".jpg", "image/jpeg"},                   {".jpeg", "image/jpeg"},
      {".webp", "image/webp"},               {".ico", "image/x-icon"},                 {".wasm", "application/wasm"},
      {".glb", "model/gltf-binary"},         {".gltf", "model/gltf+json"},             {".wav", "audio/wav"},
      {".mp3", "audio/mpeg"},                {".txt", "text/plain; charset=utf-8"},    {".map", "application/json"},
      {".woff2", "font/woff2"},              {".hdr", "application/octet-stream"},
  };
  std::string ext = fs::path(path).extension().string();
  for (auto& c : ext) c = char(std::tolower(uint8_t(c)));
  for (const auto& [e, t] : types)
    if (ext == e) return t;
  return "application/octet-stream";
}

static std::string placeholder_page(const std::string& root, const std::string& capabilities_html) {
  std::ostringstream os;
  os << "<!doctype html><html><head><meta charset=\"utf-8\"><title>Omni</title>"
        "<style>body{font:16px system-ui,sans-serif;max-width:46em;margin:3em auto;color:#222}"
        "code{background:#eee;padding:0 .3em}</style></head><body><h1>Omni is running</h1>"
        "<p>The 3D console is not built yet: no files in <code>"
     << (root.empty() ? std::string("(no --web-dir)") : root)
     << "</code>. Build it with <code>cd web &amp;&amp; npm install &amp;&amp; npm run build</code>, or start "
        "<code>omni serve --web-dir DIR</code>.</p><h2>Active</h2>"
     << capabilities_html
     << "<h2>API</h2><ul><li><code>GET /health</code></li><li><code>GET /v1/models</code></li>"
        "<li><code>POST /v1/chat/completions</code></li><li><code>POST /v1/act</code></li>"
        "<li><code>POST /v1/audio/speech</code>, <code>/v1/audio/transcriptions</code></li>"
        "<li><code>GET /v1/realtime</code> (WebSocket)</li><li><code>GET /v1/events</code> (SSE or WebSocket)</li>"
        "<li><code>GET /metrics</code></li></ul></body></html>\n";
  return os.str();
}

Response serve_static(const std::string& root, const std::string& url_path, const std::string& capabilities_html,
                      const std::string& range) {
  std::error_code ec;
  bool have_root = !root.empty() && fs::is_directory(root, ec);
  if (!have_root || (url_path == "/" && !fs::exists(fs::path(root) / "index.html", ec))) {
    if (url_path == "/" || url_path == "/index.html")
      return Response::text(placeholder_page(root, capabilities_html), "text/html; charset=utf-8");
    not_found(cat("no file ", url_path, " (the console is not built)"));
  }
  auto file = resolve_under(root, url_path);
  if (!file) not_found(cat("no file ", url_path));
  std::ifstream in(*file, std::ios::binary);
  if (!in) not_found(cat("cannot read ", url_path));
  std::ostringstream body;
  body << in.rdbuf();
  Response r = Response::text(body.str(), content_type_for(*file));
  r.headers.emplace_back("Accept-Ranges", "bytes");
  if (range.rfind("bytes=", 0) == 0 && range.find(',') == std::string::npos) {
    const size_t size = r.body.size();
    std::string spec = range.substr(6);
    size_t dash = spec.find('-');
    char* end = nullptr;
    unsigned long long first = dash == 0 ? 0 : std::strtoull(spec.c_str(), &end, 10);
    unsigned long long last = dash + 1 < spec.size() ? std::strtoull(spec.c_str() + dash + 1, nullptr, 10) : size - 1;
    if (dash == std::string::npos || dash == 0 || first >= size || last < first) {
      Response e = error_response(416, cat("range ", range, " is outside the file (", size, " bytes)"), "range_not_satisfiable");
      e.headers.emplace_back("Content-Range", cat("bytes */", size));
      return e;
    }
    last = std::min<unsigned long long>(last, size - 1);
    r.status = 206;
    r.body = r.body.substr(first, last - first + 1);
    r.headers.emplace_back("Content-Range", cat("bytes ", first, "-", last, "/", size));
  }
  r.headers.emplace_back("Cache-Control", url_path.rfind("/assets/", 0) == 0 ? "public, max-age=31536000, immutable" : "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

std::string default_web_dir() {
  if (const char* env = std::getenv("OMNI_WEB_DIR")) return env;
  std::error_code ec;
  std::vector<fs::path> candidates;
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    buf[n] = 0;
    fs::path exe(buf);
    candidates.push_back(exe.parent_path() / "web" / "dist");
    candidates.push_back(exe.parent_path() / ".." / "web" / "dist");
    candidates.push_back(exe.parent_path() / ".." / ".." / "web" / "dist");  // build/<name>/omni
    candidates.push_back(exe.parent_path() / ".." / "share" / "omni" / "web");
  }
#ifdef OMNI_SOURCE_DIR_FOR_WEB
  candidates.push_back(fs::path(OMNI_SOURCE_DIR_FOR_WEB) / "web" / "dist");
#endif
  for (const auto& c : candidates)
    if (fs::is_directory(c, ec)) return fs::canonical(c, ec).string();
  return candidates.empty() ? std::string("web/dist") : fs::weakly_canonical(candidates[2], ec).string();
}

}  // namespace omni::server
