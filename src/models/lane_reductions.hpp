// Float reductions over 16 independent lanes: the compiler vectorises them without reassociating,
// so a result is the same on every instruction set (within the models that include this: call
// them from functions compiled for several x86 levels, e.g. with target_clones). Internal to
// src/models.
#pragma once
#include <cmath>
#include <cstdint>

namespace omni::models::lanes {

[[gnu::always_inline]] inline float sum(const float* a, int64_t n) {
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) acc[l] += a[i + l];
  float s = 0;
  for (; i < n; ++i) s += a[i];
  for (int l = 0; l < 16; ++l) s += acc[l];
  return s;
}

[[gnu::always_inline]] inline float dot(const float* a, const float* b, int64_t n) {
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) acc[l] += a[i + l] * b[i + l];
  float s = 0;
  for (; i < n; ++i) s += a[i] * b[i];
  for (int l = 0; l < 16; ++l) s += acc[l];
  return s;
}

[[gnu::always_inline]] inline float max(const float* a, int64_t n) {
  float acc[16];
  for (int l = 0; l < 16; ++l) acc[l] = -INFINITY;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) acc[l] = acc[l] > a[i + l] ? acc[l] : a[i + l];
  float m = -INFINITY;
  for (; i < n; ++i) m = m > a[i] ? m : a[i];
  for (int l = 0; l < 16; ++l) m = m > acc[l] ? m : acc[l];
  return m;
}

}  // namespace omni::models::lanes
