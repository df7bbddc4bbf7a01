// Model download for `omni pull`: HTTP(S) via libcurl into DIR/NAME.part, resumed with a Range
// request when a partial file exists, SHA-256 verified (OpenSSL) and renamed into place.
#pragma once
#include <functional>
#include <string>

namespace omni::server {

struct DownloadOptions {
  std::string url;              // http(s)://... or hf:ORG/REPO/FILE (branch main)
  std::string out_dir = ".";
  std::string sha256;           // expected hex digest ("" = do not check)
  std::string hf_endpoint;      // default https://huggingface.co ($HF_ENDPOINT overrides)
  std::string bearer_token;     // Authorization for private repos ($HF_TOKEN)
  // Progress: bytes done, total bytes (0 when unknown).
  std::function<void(uint64_t, uint64_t)> progress;
};

struct DownloadResult {
  std::string path;
  std::string sha256;
  uint64_t bytes = 0;
  uint64_t resumed_from = 0;    // bytes already present in the .part file
  bool already_complete = false;  // the file existed with the right digest
};

// Resolves hf:ORG/REPO/FILE to its URL; other URLs pass through (bad schemes are refused).
std::string resolve_download_url(const std::string& url, const std::string& hf_endpoint);
std::string sha256_file(const std::string& path);
// Throws omni::Error (network, io, invalid_file on a digest mismatch, invalid_argument).
DownloadResult download(const DownloadOptions& options);

}  // namespace omni::server
