// The ggml type table (spec §2): sizes, names and the removed / out-of-range ids.
#include <gtest/gtest.h>

#include "core/dtype.hpp"
#include "omni/error.hpp"

using namespace omni;

TEST(DType, SizesMatchSpec) {
  EXPECT_EQ(traits(DType::q4_k).type_size, 144u);
  EXPECT_EQ(traits(DType::q4_k).block_size, 256);
  EXPECT_EQ(traits(DType::q8_0).type_size, 34u);
  EXPECT_EQ(traits(DType::bf16).type_size, 2u);
  EXPECT_EQ(row_bytes(DType::q6_k, 512), 420u);
  EXPECT_THROW(row_bytes(DType::q4_0, 33), Error);
}

TEST(DType, RemovedAndOutOfRangeIds) {
  for (uint32_t id : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u, 43u, 1000u}) EXPECT_FALSE(dtype_traits(id)) << id;
  EXPECT_TRUE(dtype_traits(41));
}

TEST(DType, NamesRoundTrip) {
  EXPECT_EQ(dtype_from_name("Q4_K"), DType::q4_k);
  EXPECT_EQ(dtype_from_name("iq4_xs"), DType::iq4_xs);
  EXPECT_FALSE(dtype_from_name("q9_9"));
  EXPECT_STREQ(dtype_name(DType::f16), "f16");
}
