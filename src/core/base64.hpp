// Standard base64 (RFC 4648) for media in requests and data: URLs.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace omni {

std::string base64_encode(std::string_view bytes);
// Strict decode: padding optional, ASCII whitespace skipped, anything else is an
// omni::Error(invalid_argument) naming `what` and the offset. max_bytes bounds the output
// (too_large past it).
std::string base64_decode(std::string_view text, const std::string& what = "base64 data",
                          size_t max_bytes = size_t(-1));

}  // namespace omni
