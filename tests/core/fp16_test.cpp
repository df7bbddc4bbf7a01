// f16 / bf16 conversions against the rules of spec §5 (exhaustive where cheap).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/fp16.hpp"

using namespace omni;

TEST(Fp16, RoundTripsEveryFiniteHalf) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const uint16_t x = uint16_t(h);
    const bool nan = (x & 0x7c00) == 0x7c00 && (x & 0x3ff);
    if (nan) continue;
    EXPECT_EQ(f32_to_fp16(fp16_to_f32(x)), x) << std::hex << h;
  }
}

TEST(Fp16, KnownValues) {
  EXPECT_EQ(fp16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(fp16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(fp16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f32_bits(fp16_to_f32(0x7c01)), 0x7fc02000u);
  EXPECT_EQ(f32_bits(fp16_to_f32(0x7d55)), 0x7feaa000u);
  EXPECT_EQ(f32_to_fp16(65520.0f), 0x7c00);          // tie rounds to inf
  EXPECT_EQ(f32_to_fp16(std::nextafter(65520.0f, 0.0f)), 0x7bff);
  EXPECT_EQ(f32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);  // tie to even -> 0
  EXPECT_EQ(f32_to_fp16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(f32_to_fp16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_fp16(std::nanf("")) & 0x7fff, 0x7e00);
}

TEST(Fp16, MatchesHardwareConversionOnRandomFloats) {
  std::mt19937 rng(7);
  for (int i = 0; i < 200000; ++i) {
    const float f = bits_f32(rng());
    if (std::isnan(f)) continue;
    const _Float16 hw = static_cast<_Float16>(f);
    uint16_t hb; std::memcpy(&hb, &hw, 2);
    ASSERT_EQ(f32_to_fp16(f), hb) << f;
  }
}

TEST(Bf16, RoundingRule) {
  EXPECT_EQ(f32_to_bf16(bits_f32(0x7f800001u)), 0x7fc0);
  EXPECT_EQ(f32_to_bf16(bits_f32(0xff812345u)), 0xffc1);
  EXPECT_EQ(f32_to_bf16(bits_f32(0x7f7fffffu)), 0x7f80);
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(bits_f32(0x3f808000u)), 0x3f80);  // tie, even stays
  EXPECT_EQ(f32_to_bf16(bits_f32(0x3f818000u)), 0x3f82);  // tie, odd rounds up
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
}
