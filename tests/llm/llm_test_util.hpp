// Small helpers shared by the LLM tests: golden data paths and float-array comparisons.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

namespace omni::test {

// tests/data/llm/<name>
inline std::string llm_data(const std::string& name) { return std::string(OMNI_TEST_DATA) + "/llm/" + name; }

inline double max_abs(const float* x, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::abs(double(x[i])));
  return m;
}

inline double max_diff(const float* a, const float* b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::abs(double(a[i]) - b[i]));
  return m;
}

}  // namespace omni::test
