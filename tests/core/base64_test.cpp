// base64: RFC 4648 test vectors both ways, and strict rejection of malformed input.
#include <gtest/gtest.h>

#include "core/base64.hpp"
#include "omni/error.hpp"

using namespace omni;

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                       {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},   {"fooba", "Zm9vYmE="},
                                                       {"foobar", "Zm9vYmFy"}};
  for (auto [plain, enc] : cases) {
    EXPECT_EQ(base64_encode(plain), enc);
    EXPECT_EQ(base64_decode(enc), plain);
  }
  EXPECT_EQ(base64_decode("Zm9v\nYmFy"), "foobar");  // whitespace skipped
  EXPECT_EQ(base64_decode("Zg"), "f");               // padding optional
  std::string all;
  for (int i = 0; i < 256; ++i) all += char(i);
  EXPECT_EQ(base64_decode(base64_encode(all)), all);
}

TEST(Base64, RejectsMalformed) {
  EXPECT_THROW(base64_decode("Zm9v!"), Error);
  EXPECT_THROW(base64_decode("Z"), Error);          // 6 bits: truncated
  EXPECT_THROW(base64_decode("Zg==Zg=="), Error);   // padding in the middle
  EXPECT_THROW(base64_decode("Zm9vYmFy", "x", 3), Error);  // over the size limit
}
