// `omni pull` core: resumable libcurl download with an OpenSSL SHA-256 check.
#include "server/download.hpp"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "omni/error.hpp"

namespace omni::server {

namespace fs = std::filesystem;

std::string resolve_download_url(const std::string& url, const std::string& hf_endpoint) {
  if (url.rfind("hf:", 0) == 0) {
    std::string rest = url.substr(3);
    size_t a = rest.find('/'), b = a == std::string::npos ? a : rest.find('/', a + 1);
    if (a == std::string::npos || b == std::string::npos || b + 1 >= rest.size())
      fail(ErrorCode::invalid_argument, "'", url, "' must look like hf:ORG/REPO/FILE");
    std::string base = hf_endpoint.empty() ? "https://huggingface.co" : hf_endpoint;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base + "/" + rest.substr(0, b) + "/resolve/main/" + rest.substr(b + 1);
  }
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    fail(ErrorCode::invalid_argument, "'", url, "' is not an http(s):// URL or hf:ORG/REPO/FILE");
  return url;
}

std::string sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::not_found, "cannot open ", path);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buf.data(), size_t(in.gcount()));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &n);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) { out.push_back(hex[md[i] >> 4]); out.push_back(hex[md[i] & 15]); }
  return out;
}

namespace {

// One HTTP transfer into `part`. The file is opened only when the first body byte of a successful
// response arrives (FAILONERROR keeps error bodies out), so an error response never creates or
// truncates it.
struct Transfer {
  std::string part;
  std::FILE* file = nullptr;
  uint64_t start = 0;         // bytes already in `part`; the request asks for the rest
  uint64_t written = 0;
  uint64_t range_total = 0;   // N from a "Content-Range: bytes */N" header (416 answers), 0 if none
  const DownloadOptions* opt = nullptr;
  bool io_error = false;
};

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(uint8_t(c)));
  return s;
}

struct Outcome {
  CURLcode rc = CURLE_OK;
  long status = 0;
};

Outcome perform(const std::string& url, const DownloadOptions& o, Transfer& t) {
  CURL* h = curl_easy_init();
  if (!h) fail(ErrorCode::internal, "libcurl could not create a transfer");
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "omni/" OMNI_VERSION);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_slist* headers = nullptr;
  if (!o.bearer_token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + o.bearer_token).c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  if (t.start) curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, curl_off_t(t.start));
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, +[](char* p, size_t sz, size_t n, void* ud) -> size_t {
    auto* tr = static_cast<Transfer*>(ud);
    std::string line = lower(std::string(p, sz * n));
    if (line.rfind("http/", 0) == 0) tr->range_total = 0;  // a new response (after a redirect)
    const std::string key = "content-range: bytes */";
    if (line.rfind(key, 0) == 0) tr->range_total = std::strtoull(line.c_str() + key.size(), nullptr, 10);
    return sz * n;
  });
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, +[](char* p, size_t sz, size_t n, void* ud) -> size_t {
    auto* tr = static_cast<Transfer*>(ud);
    if (!tr->file) {
      tr->file = std::fopen(tr->part.c_str(), tr->start ? "ab" : "wb");
      if (!tr->file) {
        tr->io_error = true;
        return 0;
      }
    }
    size_t w = std::fwrite(p, 1, sz * n, tr->file);
    tr->written += w;
    if (w != sz * n) tr->io_error = true;
    return w;
  });
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, +[](void* ud, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) -> int {
    auto* tr = static_cast<Transfer*>(ud);
    if (tr->opt->progress) tr->opt->progress(tr->start + uint64_t(now), total > 0 ? tr->start + uint64_t(total) : 0);
    return 0;
  });
  Outcome out;
  out.rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  if (t.file) std::fclose(t.file);
  t.file = nullptr;
  return out;
}

}  // namespace

DownloadResult download(const DownloadOptions& o) {
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!curl_ready) fail(ErrorCode::internal, "libcurl failed to initialise");
  std::string url = resolve_download_url(o.url, o.hf_endpoint);
  std::string name = url.substr(url.find_last_of('/') + 1);
  if (size_t q = name.find_first_of("?#"); q != std::string::npos) name.resize(q);
  if (name.empty() || name == "." || name == "..") fail(ErrorCode::invalid_argument, "cannot tell a file name from ", url);
  std::string want = lower(o.sha256);
  if (!want.empty() && (want.size() != 64 || want.find_first_not_of("0123456789abcdef") != std::string::npos))
    fail(ErrorCode::invalid_argument, "--sha256 must be 64 hex digits");
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  DownloadResult res;
  res.path = (fs::path(o.out_dir) / name).string();
  std::string part = res.path + ".part";
  if (fs::exists(res.path, ec) && !want.empty() && sha256_file(res.path) == want) {
    res.sha256 = want;
    res.bytes = fs::file_size(res.path, ec);
    res.already_complete = true;
    return res;
  }
  Transfer t;
  t.opt = &o;
  t.part = part;
  t.start = fs::exists(part, ec) ? fs::file_size(part, ec) : 0;
  Outcome out = perform(url, o, t);
  if (t.start && out.rc == CURLE_RANGE_ERROR) {
    // The server ignores Range (it answered 200 with the whole file): start again from byte 0.
    t.start = 0;
    t.written = 0;
    out = perform(url, o, t);
  } else if (t.start && out.rc == CURLE_HTTP_RETURNED_ERROR && out.status == 416 && t.range_total && t.range_total != t.start) {
    // Nothing left past the end of the .part file, but the file is not that long: the .part is
    // not a prefix of this file. Start again from byte 0.
    fs::remove(part, ec);
    t.start = 0;
    t.written = 0;
    out = perform(url, o, t);
  }
  // The .part file now holds what earlier runs left plus t.written bytes of this one.
  auto drop_empty_part = [&] {
    if (fs::exists(part, ec) && fs::file_size(part, ec) == 0) fs::remove(part, ec);
  };
  if (t.io_error) {
    drop_empty_part();
    fail(ErrorCode::io, "writing ", part, " failed (disk full?)");
  }
  if (out.rc == CURLE_HTTP_RETURNED_ERROR && out.status == 416 && t.start) {
    // The server has no more bytes: the .part file may already be complete; the digest decides.
  } else if (out.rc != CURLE_OK) {
    drop_empty_part();
    bool kept = fs::exists(part, ec);
    std::string what = out.status >= 400 ? cat("the server answered HTTP ", out.status) : cat(curl_easy_strerror(out.rc), out.status ? cat(" (HTTP ", out.status, ")") : "");
    fail(ErrorCode::network, "downloading ", url, " failed: ", what,
         kept ? cat("; the partial file ", part, " (", fs::file_size(part, ec), " bytes) is kept for resuming") : std::string());
  }
  if (!fs::exists(part, ec)) std::ofstream(part, std::ios::binary);  // an empty file (200, no body)
  res.resumed_from = t.start;
  res.sha256 = sha256_file(part);
  res.bytes = fs::file_size(part, ec);
  if (!want.empty() && res.sha256 != want) {
    fs::remove(part, ec);
    fail(ErrorCode::invalid_file, "sha256 mismatch for ", name, ": expected ", want, ", got ", res.sha256, " (the download was deleted)");
  }
  fs::rename(part, res.path, ec);
  if (ec) fail(ErrorCode::io, "cannot rename ", part, " to ", res.path, ": ", ec.message());
  return res;
}

}  // namespace omni::server
