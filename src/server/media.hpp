// Media inputs of requests: strict base64, data: URLs and file:// URLs confined to --media-dir.
// Every failure is an HttpError naming the field (400), never a crash.
#pragma once
#include <string>

namespace omni::server {

// Decodes standard base64 (padding optional, whitespace ignored); HttpError 400 naming `field`
// when it contains anything else.
std::string base64_decode_strict(const std::string& text, const std::string& field);
std::string base64_encode(const std::string& bytes);

struct MediaBytes {
  std::string mime;   // "image/png" (from the data URL or the file extension)
  std::string bytes;
};

// "data:<mime>;base64,<...>" or "file:///abs/path" (only under media_dir; empty media_dir refuses
// file URLs). max_bytes bounds the decoded size (413).
MediaBytes load_media_url(const std::string& url, const std::string& media_dir, size_t max_bytes, const std::string& field);

}  // namespace omni::server
