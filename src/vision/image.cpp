// Image decoding (stb_image, libwebp), EXIF orientation and limits.
#include "vision/image.hpp"

#include <stb_image.h>
#include <webp/decode.h>

#include <cstring>
#include <fstream>
#include <memory>

#include "core/base64.hpp"
#include "omni/error.hpp"

namespace omni::vision {
namespace {

bool is_webp(const uint8_t* d, size_t n) { return n >= 12 && !std::memcmp(d, "RIFF", 4) && !std::memcmp(d + 8, "WEBP", 4); }

const char* sniff(const uint8_t* d, size_t n) {
  if (n >= 8 && !std::memcmp(d, "\x89PNG\r\n\x1a\n", 8)) return "PNG";
  if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff) return "JPEG";
  if (n >= 6 && (!std::memcmp(d, "GIF87a", 6) || !std::memcmp(d, "GIF89a", 6))) return "GIF";
  if (n >= 2 && d[0] == 'B' && d[1] == 'M') return "BMP";
  if (is_webp(d, n)) return "WebP";
  return nullptr;
}

void check_dims(int64_t w, int64_t h, const ImageLimits& limits, const std::string& name) {
  if (w <= 0 || h <= 0) fail(ErrorCode::invalid_file, name, ": image has zero size (", w, "x", h, ")");
  if (w * h > limits.max_pixels)
    fail(ErrorCode::too_large, name, ": image is ", w, "x", h, " = ", w * h, " pixels, over the limit of ",
         limits.max_pixels);
}

}  // namespace

Image decode_image(const uint8_t* data, size_t size, const ImageLimits& limits, const std::string& name) {
  if (size == 0) fail(ErrorCode::invalid_file, name, ": empty image data");
  if (size > limits.max_bytes)
    fail(ErrorCode::too_large, name, ": encoded image is ", size, " bytes, over the limit of ", limits.max_bytes);
  const char* format = sniff(data, size);
  if (!format) fail(ErrorCode::unsupported, name, ": not a JPEG, PNG, BMP, GIF or WebP image");
  Image img;
  if (is_webp(data, size)) {
    int w = 0, h = 0;
    if (!WebPGetInfo(data, size, &w, &h)) fail(ErrorCode::invalid_file, name, ": corrupt WebP header");
    check_dims(w, h, limits, name);
    img.width = w;
    img.height = h;
    img.rgb.resize(size_t(w) * h * 3);
    if (!WebPDecodeRGBInto(data, size, img.rgb.data(), img.rgb.size(), w * 3))
      fail(ErrorCode::invalid_file, name, ": corrupt or truncated WebP data");
    return img;
  }
  if (size > size_t(INT32_MAX)) fail(ErrorCode::too_large, name, ": image data too large");
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(data, int(size), &w, &h, &comp))
    fail(ErrorCode::invalid_file, name, ": corrupt ", format, " header (", stbi_failure_reason(), ")");
  check_dims(w, h, limits, name);
  std::unique_ptr<uint8_t, void (*)(void*)> pixels(stbi_load_from_memory(data, int(size), &w, &h, &comp, 3),
                                                   stbi_image_free);
  if (!pixels) fail(ErrorCode::invalid_file, name, ": corrupt or truncated ", format, " data (", stbi_failure_reason(), ")");
  img.width = w;
  img.height = h;
  img.rgb.assign(pixels.get(), pixels.get() + size_t(w) * h * 3);
  if (!std::strcmp(format, "JPEG")) img = apply_orientation(img, jpeg_exif_orientation(data, size));
  return img;
}

Image load_image(const std::string& path, const ImageLimits& limits) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) fail(ErrorCode::not_found, "cannot open image '", path, "'");
  const auto n = static_cast<size_t>(f.tellg());
  if (n > limits.max_bytes)
    fail(ErrorCode::too_large, "'", path, "' is ", n, " bytes, over the image limit of ", limits.max_bytes);
  std::vector<uint8_t> buf(n);
  f.seekg(0);
  f.read(reinterpret_cast<char*>(buf.data()), std::streamsize(n));
  return decode_image(buf.data(), buf.size(), limits, "'" + path + "'");
}

Image decode_data_url(const std::string& url, const ImageLimits& limits) {
  if (url.rfind("data:", 0) != 0) fail(ErrorCode::invalid_argument, "image URL is not a data: URL");
  const auto comma = url.find(',');
  if (comma == std::string::npos || url.substr(0, comma).find(";base64") == std::string::npos)
    fail(ErrorCode::invalid_argument, "image data URL must be base64 encoded (data:image/png;base64,...)");
  const std::string bytes = base64_decode(std::string_view(url).substr(comma + 1), "image data URL", limits.max_bytes);
  return decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), limits, "data URL image");
}

uint64_t image_hash(const Image& img) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](uint8_t b) { h = (h ^ b) * 1099511628211ull; };
  for (int s = 0; s < 32; s += 8) { mix(uint8_t(img.width >> s)); mix(uint8_t(img.height >> s)); }
  for (uint8_t b : img.rgb) mix(b);
  return h;
}

int jpeg_exif_orientation(const uint8_t* d, size_t n) {
  if (n < 4 || d[0] != 0xff || d[1] != 0xd8) return 1;
  size_t pos = 2;
  while (pos + 4 <= n) {
    if (d[pos] != 0xff) return 1;
    const uint8_t marker = d[pos + 1];
    if (marker == 0xda || marker == 0xd9) return 1;  // start of scan / end: no EXIF found
    const size_t len = (size_t(d[pos + 2]) << 8) | d[pos + 3];
    if (len < 2 || pos + 2 + len > n) return 1;
    if (marker == 0xe1 && len >= 16 && !std::memcmp(d + pos + 4, "Exif\0\0", 6)) {
      const uint8_t* t = d + pos + 10;  // TIFF header
      const size_t tn = len - 8;
      const bool le = t[0] == 'I';
      auto u16 = [&](size_t o) -> uint32_t { return o + 2 > tn ? 0 : le ? t[o] | (t[o + 1] << 8) : (t[o] << 8) | t[o + 1]; };
      auto u32 = [&](size_t o) -> uint32_t { return o + 4 > tn ? 0 : le ? u16(o) | (u16(o + 2) << 16) : (u16(o) << 16) | u16(o + 2); };
      const size_t ifd = u32(4);
      const uint32_t count = u16(ifd);
      for (uint32_t i = 0; i < count; ++i) {
        const size_t e = ifd + 2 + 12 * size_t(i);
        if (e + 12 > tn) break;
        if (u16(e) == 0x0112) {
          const uint32_t v = u16(e + 8);
          return v >= 1 && v <= 8 ? int(v) : 1;
        }
      }
      return 1;
    }
    pos += 2 + len;
  }
  return 1;
}

Image apply_orientation(const Image& img, int orientation) {
  if (orientation <= 1 || orientation > 8) return img;
  const bool swap = orientation >= 5;
  Image out;
  out.width = swap ? img.height : img.width;
  out.height = swap ? img.width : img.height;
  out.rgb.resize(img.rgb.size());
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) {
      int sx = 0, sy = 0;  // source pixel shown at (x, y)
      switch (orientation) {
        case 2: sx = img.width - 1 - x; sy = y; break;
        case 3: sx = img.width - 1 - x; sy = img.height - 1 - y; break;
        case 4: sx = x; sy = img.height - 1 - y; break;
        case 5: sx = y; sy = x; break;
        case 6: sx = y; sy = img.height - 1 - x; break;
        case 7: sx = img.width - 1 - y; sy = img.height - 1 - x; break;
        case 8: sx = img.width - 1 - y; sy = x; break;
      }
      for (int c = 0; c < 3; ++c) out.rgb[(size_t(y) * out.width + x) * 3 + c] = img.at(sx, sy, c);
    }
  return out;
}

}  // namespace omni::vision
