// The ggml type table: names, block sizes and byte sizes for every id (spec §2).
#include "core/dtype.hpp"

#include <array>
#include <cctype>

#include "omni/error.hpp"

namespace omni {
namespace {

constexpr std::array<DTypeTraits, kDTypeCount> make_table() {
  std::array<DTypeTraits, kDTypeCount> t{};
  for (auto& e : t) e = {nullptr, 0, 0, false};
  t[0] = {"f32", 1, 4, true};
  t[1] = {"f16", 1, 2, true};
  t[2] = {"q4_0", 32, 18, true};
  t[3] = {"q4_1", 32, 20, true};
  t[6] = {"q5_0", 32, 22, true};
  t[7] = {"q5_1", 32, 24, true};
  t[8] = {"q8_0", 32, 34, true};
  t[9] = {"q8_1", 32, 36, false};
  t[10] = {"q2_k", 256, 84, true};
  t[11] = {"q3_k", 256, 110, true};
  t[12] = {"q4_k", 256, 144, true};
  t[13] = {"q5_k", 256, 176, true};
  t[14] = {"q6_k", 256, 210, true};
  t[15] = {"q8_k", 256, 292, false};
  t[16] = {"iq2_xxs", 256, 66, false};
  t[17] = {"iq2_xs", 256, 74, false};
  t[18] = {"iq3_xxs", 256, 98, false};
  t[19] = {"iq1_s", 256, 50, false};
  t[20] = {"iq4_nl", 32, 18, true};
  t[21] = {"iq3_s", 256, 110, false};
  t[22] = {"iq2_s", 256, 82, false};
  t[23] = {"iq4_xs", 256, 136, true};
  t[24] = {"i8", 1, 1, false};
  t[25] = {"i16", 1, 2, false};
  t[26] = {"i32", 1, 4, false};
  t[27] = {"i64", 1, 8, false};
  t[28] = {"f64", 1, 8, false};
  t[29] = {"iq1_m", 256, 56, false};
  t[30] = {"bf16", 1, 2, true};
  t[34] = {"tq1_0", 256, 54, false};
  t[35] = {"tq2_0", 256, 66, false};
  t[39] = {"mxfp4", 32, 17, false};
  t[40] = {"nvfp4", 64, 36, false};
  t[41] = {"q1_0", 128, 18, false};
  t[42] = {"q2_0", 64, 18, false};
  return t;
}

constexpr auto kTable = make_table();

}  // namespace

std::optional<DTypeTraits> dtype_traits(uint32_t id) {
  if (id >= kDTypeCount || kTable[id].block_size == 0) return std::nullopt;
  return kTable[id];
}

const DTypeTraits& traits(DType t) {
  const auto id = static_cast<uint32_t>(t);
  if (id >= kDTypeCount || kTable[id].block_size == 0) fail(ErrorCode::internal, "invalid dtype id ", id);
  return kTable[id];
}

const char* dtype_name(DType t) { return traits(t).name; }

std::optional<DType> dtype_from_name(std::string_view name) {
  std::string lower(name);
  for (auto& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
  for (uint32_t i = 0; i < kDTypeCount; ++i)
    if (kTable[i].name && lower == kTable[i].name) return static_cast<DType>(i);
  return std::nullopt;
}

size_t row_bytes(DType t, int64_t n) {
  const auto& tr = traits(t);
  if (n % tr.block_size != 0)
    fail(ErrorCode::invalid_argument, "row of ", n, " elements is not a multiple of the ", tr.name,
         " block size ", tr.block_size);
  return size_t(n / tr.block_size) * tr.type_size;
}

}  // namespace omni
