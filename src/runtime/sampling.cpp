// The sampler chain: logit bias, repetition/presence/frequency penalties, constraint mask,
// temperature, top-k, top-p, min-p, and the final pick (greedy or from the seeded RNG).
#include "runtime/sampling.hpp"

#include <algorithm>
#include <cmath>

#include "omni/error.hpp"

namespace omni::runtime {

Sampler::Sampler(const SamplingParams& params, int n_vocab) : params_(params), n_vocab_(n_vocab), rng_(params.seed) {
  if (n_vocab <= 0) fail(ErrorCode::invalid_argument, "sampler: vocabulary size must be positive");
  if (!(params.temperature >= 0.0f) && !(params.temperature < 0.0f)) fail(ErrorCode::invalid_argument, "sampler: temperature is NaN");
  if (params.top_p <= 0.0f) fail(ErrorCode::invalid_argument, "sampler: top_p must be > 0, got ", params.top_p);
  if (params.repeat_penalty <= 0.0f) fail(ErrorCode::invalid_argument, "sampler: repeat_penalty must be > 0, got ", params.repeat_penalty);
  for (const auto& [id, bias] : params.logit_bias)
    if (id < 0 || id >= n_vocab) fail(ErrorCode::invalid_argument, "sampler: logit_bias token ", id, " is outside the vocabulary (", n_vocab, ")");
  candidates_.reserve(size_t(n_vocab));
  counts_.assign(size_t(n_vocab), 0);
}

void Sampler::reset() {
  history_.clear();
  rng_.seed(params_.seed);
}

bool Sampler::is_end_token(int id) const {
  return std::find(end_tokens_.begin(), end_tokens_.end(), id) != end_tokens_.end();
}

void Sampler::accept(int token, TokenConstraint* constraint) {
  history_.push_back(token);
  if (constraint && !is_end_token(token)) constraint->accept(token);
}

void Sampler::apply_penalties(float* logits) {
  const bool any = params_.repeat_penalty != 1.0f || params_.presence_penalty != 0.0f || params_.frequency_penalty != 0.0f;
  if (!any || history_.empty()) return;
  const size_t n = params_.repeat_last_n < 0 ? history_.size() : std::min(history_.size(), size_t(params_.repeat_last_n));
  const size_t from = history_.size() - n;
  for (size_t i = from; i < history_.size(); ++i)
    if (history_[i] >= 0 && history_[i] < n_vocab_) ++counts_[size_t(history_[i])];
  for (size_t i = from; i < history_.size(); ++i) {
    const int id = history_[i];
    if (id < 0 || id >= n_vocab_ || counts_[size_t(id)] == 0) continue;  // already applied
    float& l = logits[id];
    if (params_.repeat_penalty != 1.0f) l = l > 0 ? l / params_.repeat_penalty : l * params_.repeat_penalty;
    l -= float(counts_[size_t(id)]) * params_.frequency_penalty + params_.presence_penalty;
    counts_[size_t(id)] = 0;
  }
}

int Sampler::sample(float* logits, TokenConstraint* constraint) {
  for (const auto& [id, bias] : params_.logit_bias) logits[id] += bias;
  apply_penalties(logits);
  if (constraint) {
    end_saved_.clear();
    for (int id : end_tokens_) end_saved_.push_back(id >= 0 && id < n_vocab_ ? logits[id] : 0.0f);
    constraint->mask(logits, n_vocab_);
    const bool complete = constraint->is_complete();
    for (size_t i = 0; i < end_tokens_.size(); ++i)
      if (end_tokens_[i] >= 0 && end_tokens_[i] < n_vocab_) logits[end_tokens_[i]] = complete ? end_saved_[i] : -INFINITY;
  }

  if (params_.temperature <= 0.0f) {
    int best = -1;
    for (int i = 0; i < n_vocab_; ++i)
      if (logits[i] != -INFINITY && (best < 0 || logits[i] > logits[best])) best = i;
    if (best < 0) fail(ErrorCode::invalid_argument, "sampler: every token is disallowed");
    return best;
  }

  // Candidates cut by top-k, softmax at the temperature, then min-p and top-p, then the pick. No
  // step sorts the vocabulary (a full sort of 150k logits costs more than a decode step): top-k and
  // top-p select with nth_element, and the pick walks the survivors in whatever order they are in.
  candidates_.clear();
  for (int i = 0; i < n_vocab_; ++i)
    if (logits[i] != -INFINITY && !std::isnan(logits[i])) candidates_.emplace_back(logits[i], i);
  if (candidates_.empty()) fail(ErrorCode::invalid_argument, "sampler: every token is disallowed");
  auto more_likely = [](const std::pair<float, int>& a, const std::pair<float, int>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  auto at = [&](size_t i) { return candidates_.begin() + std::ptrdiff_t(i); };
  if (params_.top_k > 0 && size_t(params_.top_k) < candidates_.size()) {
    std::nth_element(candidates_.begin(), at(size_t(params_.top_k)), candidates_.end(), more_likely);
    candidates_.resize(size_t(params_.top_k));
  }
  float top = candidates_[0].first;
  for (const auto& c : candidates_) top = std::max(top, c.first);
  // From here on a candidate holds its softmax weight exp((logit - top) / T) instead of its logit
  // (computed once; the weight orders candidates as the logit does).
  const float inv_t = 1.0f / params_.temperature;
  for (auto& c : candidates_) c.first = std::exp((c.first - top) * inv_t);
  auto weight = [&](size_t i) { return candidates_[i].first; };
  auto mass_of = [&](size_t from, size_t to) {
    double m = 0;
    for (size_t i = from; i < to; ++i) m += weight(i);
    return m;
  };
  // min-p: drop tokens below min_p x the top probability (the top token's weight is 1).
  if (params_.min_p > 0.0f) {
    const float floor_w = params_.min_p;
    candidates_.erase(std::remove_if(candidates_.begin(), candidates_.end(),
                                     [&](const std::pair<float, int>& c) { return c.first < floor_w; }),
                      candidates_.end());
  }
  double mass = mass_of(0, candidates_.size());
  // top-p: the smallest set of most likely tokens whose probability reaches top_p, found by
  // bisection with nth_element. Invariant: [0, lo) are in the set (their mass is acc < need),
  // [hi, end) are out, and every logit in [lo, hi) lies between the two.
  if (params_.top_p < 1.0f) {
    const double need = double(params_.top_p) * mass;
    size_t lo = 0, hi = candidates_.size(), keep = candidates_.size();
    double acc = 0;
    while (lo < hi) {
      const size_t m = lo + (hi - lo) / 2;
      std::nth_element(at(lo), at(m), at(hi), more_likely);
      const double left = mass_of(lo, m);
      if (acc + left >= need) {
        hi = m;
        continue;
      }
      acc += left + weight(m);
      if (acc >= need) {
        keep = m + 1;
        break;
      }
      lo = m + 1;
      keep = lo;
    }
    candidates_.resize(keep);
    mass = acc;
  }
  std::uniform_real_distribution<double> uni(0.0, mass);
  double r = uni(rng_);
  for (size_t i = 0; i < candidates_.size(); ++i) {
    r -= weight(i);
    if (r <= 0) return candidates_[i].second;
  }
  return candidates_.back().second;
}

}  // namespace omni::runtime
