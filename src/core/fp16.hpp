// Scalar f16 and bf16 conversions with exactly ggml's rounding (spec: ggml-blocks-and-gguf.md §5).
#pragma once
#include <cstdint>
#include <cstring>

namespace omni {

inline uint32_t f32_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float bits_f32(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

// f16 -> f32, exact; NaN payload kept with the quiet bit forced.
inline float fp16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  const uint32_t man = h & 0x3ff;
  if (exp == 0) {
    if (man == 0) return bits_f32(sign);
    const float v = float(man) * (1.0f / 16777216.0f);  // man * 2^-24
    return sign ? -v : v;
  }
  if (exp == 31) return bits_f32(sign | (man ? (0x7fc00000u | (man << 13)) : 0x7f800000u));
  return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

// f32 -> f16, round to nearest even; NaN -> sign|0x7e00; overflow -> inf; subnormals kept.
inline uint16_t f32_to_fp16(float f) {
  const uint32_t u = f32_bits(f);
  const uint16_t sign = uint16_t((u >> 16) & 0x8000);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00;
  if (a >= 0x47800000u) return sign | 0x7c00;  // >= 65536 (and inf) -> inf
  if (a < 0x38800000u) {                        // below 2^-14: subnormal f16 grid (2^-24 steps)
    if (a < 0x33000000u) return sign;           // < 2^-25 -> 0 (2^-25 itself is a tie to 0)
    const uint32_t exp = a >> 23;
    const uint32_t man = (a & 0x7fffff) | 0x800000;
    const uint32_t shift = 126 - exp;           // value = man * 2^(exp-150); f16 unit 2^-24
    uint32_t q = man >> shift;
    const uint32_t rem = man & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) ++q;
    return sign | uint16_t(q);
  }
  // normal: rebias exponent, round mantissa from 23 to 10 bits (carry may overflow into inf)
  uint32_t v = a - 0x38000000u;  // exponent rebias by (127-15) << 23
  const uint32_t rem = v & 0x1fff;
  v >>= 13;
  if (rem > 0x1000 || (rem == 0x1000 && (v & 1))) ++v;
  return sign | uint16_t(v);
}

inline float bf16_to_f32(uint16_t h) { return bits_f32(uint32_t(h) << 16); }

// f32 -> bf16 with ggml's software rule (round to nearest even, NaN quieted).
inline uint16_t f32_to_bf16(float f) {
  const uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x0040);
  return uint16_t((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

}  // namespace omni
