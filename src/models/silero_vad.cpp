// Silero VAD forward pass as whisper.cpp computes it (spec whisper-and-silero.md §4.3): reflect pad
// 64 on both sides, STFT as a conv (input rounded to f16), 4 conv+ReLU layers, an LSTM cell, and a
// 1x1 conv + sigmoid; then whisper.cpp's segment extraction (§4.5) and a streaming detector.
#include "models/silero_vad.hpp"
#include "models/lane_reductions.hpp"

#include <algorithm>
#include <climits>
#include <cmath>

#include "core/fp16.hpp"
#include "formats/whisper_ggml.hpp"
#include "kernels/kernels.hpp"
#include "omni/error.hpp"

namespace omni::vad {
namespace {

using whisper_ggml::TensorRecord;

const TensorRecord& get(const whisper_ggml::SileroFile& f, const std::string& name, DType type, int64_t n) {
  auto it = f.tensors.find(name);
  if (it == f.tensors.end()) fail(ErrorCode::invalid_file, f.file.path(), ": missing tensor '", name, "'");
  const TensorRecord& t = it->second;
  if (t.type != type)
    fail(ErrorCode::invalid_file, f.file.path(), ": tensor '", name, "' has type ", dtype_name(t.type),
         ", expected ", dtype_name(type));
  if (t.n_elements() != n)
    fail(ErrorCode::invalid_file, f.file.path(), ": tensor '", name, "' has ", t.n_elements(), " elements, expected ", n);
  return t;
}

std::vector<float> to_f32(const TensorRecord& t) {
  std::vector<float> out(size_t(t.n_elements()));
  kernels::dequantize_row(t.type, t.data, out.data(), t.n_elements());
  return out;
}

inline float round_f16(float x) { return fp16_to_f32(f32_to_fp16(x)); }

// A dot product over 16 independent lanes (models/lane_reductions.hpp), compiled for AVX-512 /
// AVX2 / baseline and chosen at load time.
__attribute__((target_clones("avx512f", "avx2", "default"))) float dot(const float* a, const float* b, int n) {
  return models::lanes::dot(a, b, n);
}
inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// conv1d, K=3, pad 1: x [in, L] -> y [out, L_out]; input rounded to f16, then bias and ReLU.
void conv_relu(const std::vector<float>& w, const std::vector<float>& b, int n_in, int n_out, int stride,
               const std::vector<float>& x, int len, std::vector<float>& y, int& len_out) {
  len_out = (len + 2 - 3) / stride + 1;
  // im2col: cols[t][i*3+k] = f16(x[i][t*stride-1+k]) (0 outside), matching the weight layout [out][in][3]
  std::vector<float> cols(size_t(len_out) * size_t(n_in) * 3, 0.0f);
  for (int t = 0; t < len_out; ++t)
    for (int i = 0; i < n_in; ++i)
      for (int k = 0; k < 3; ++k) {
        const int p = t * stride - 1 + k;
        if (p >= 0 && p < len) cols[(size_t(t) * n_in + i) * 3 + k] = round_f16(x[size_t(i) * len + p]);
      }
  y.assign(size_t(n_out) * size_t(len_out), 0.0f);
  for (int o = 0; o < n_out; ++o)
    for (int t = 0; t < len_out; ++t) {
      const float s = dot(&w[size_t(o) * n_in * 3], &cols[size_t(t) * n_in * 3], n_in * 3);
      y[size_t(o) * len_out + t] = std::max(0.0f, s + b[o]);
    }
}

}  // namespace

SileroVad::SileroVad(const std::string& path) {
  const whisper_ggml::SileroFile f = whisper_ggml::read_silero_file(path);
  basis_ = to_f32(get(f, "_model.stft.forward_basis_buffer", DType::f16, 258 * 256));
  for (int l = 0; l < 4; ++l) {
    conv_in_[l] = f.hp.enc_in[l];
    conv_out_[l] = f.hp.enc_out[l];
    const std::string p = "_model.encoder." + std::to_string(l) + ".reparam_conv.";
    conv_w_[l] = to_f32(get(f, p + "weight", DType::f16, int64_t(conv_in_[l]) * conv_out_[l] * 3));
    conv_b_[l] = to_f32(get(f, p + "bias", DType::f32, conv_out_[l]));
  }
  w_ih_ = to_f32(get(f, "_model.decoder.rnn.weight_ih", DType::f32, 512 * 128));
  w_hh_ = to_f32(get(f, "_model.decoder.rnn.weight_hh", DType::f32, 512 * 128));
  b_ih_ = to_f32(get(f, "_model.decoder.rnn.bias_ih", DType::f32, 512));
  b_hh_ = to_f32(get(f, "_model.decoder.rnn.bias_hh", DType::f32, 512));
  dec_w_ = to_f32(get(f, "_model.decoder.decoder.2.weight", DType::f16, 128));
  dec_b_ = to_f32(get(f, "_model.decoder.decoder.2.bias", DType::f32, 1))[0];
}

float SileroVad::window(const float* x, LstmState& st) const {
  // 1-2. reflection pad 64 on each side (edge sample excluded) -> 640 samples, rounded to f16.
  float z[640];
  for (int j = 0; j < 512; ++j) z[64 + j] = x[j];
  for (int k = 1; k <= 64; ++k) {
    z[64 - k] = x[k];
    z[575 + k] = x[511 - k];
  }
  for (float& v : z) v = round_f16(v);
  // 3. STFT conv: 258 channels x 4 frames (stride 128), magnitude -> [129, 4].
  std::vector<float> mag(129 * 4);
  for (int t = 0; t < 4; ++t) {
    float ch[258];
    for (int o = 0; o < 258; ++o) {
      ch[o] = dot(&basis_[size_t(o) * 256], z + 128 * t, 256);
    }
    for (int k = 0; k < 129; ++k) mag[size_t(k) * 4 + t] = std::sqrt(ch[k] * ch[k] + ch[129 + k] * ch[129 + k]);
  }
  // 4. encoder.
  static constexpr int kStride[4] = {1, 2, 2, 1};
  std::vector<float> cur = std::move(mag), next;
  int len = 4;
  for (int l = 0; l < 4; ++l) {
    int len_out = 0;
    conv_relu(conv_w_[l], conv_b_[l], conv_in_[l], conv_out_[l], kStride[l], cur, len, next, len_out);
    cur.swap(next);
    len = len_out;
  }
  // 5. feature = channels at time 0.
  float f[kHidden];
  for (int i = 0; i < kHidden; ++i) f[i] = cur[size_t(i) * len];
  // 6. LSTM cell (gates i, f, g, o).
  float g[512];
  for (int r = 0; r < 512; ++r) {
    g[r] = b_ih_[r] + b_hh_[r] + dot(&w_ih_[size_t(r) * 128], f, 128) + dot(&w_hh_[size_t(r) * 128], st.h, 128);
  }
  for (int k = 0; k < kHidden; ++k) {
    const float ig = sigmoid(g[k]), fg = sigmoid(g[128 + k]), cg = std::tanh(g[256 + k]), og = sigmoid(g[384 + k]);
    st.c[k] = fg * st.c[k] + ig * cg;
    st.h[k] = og * std::tanh(st.c[k]);
  }
  // 7. decoder.
  float s = dec_b_;
  for (int k = 0; k < kHidden; ++k) s += dec_w_[k] * round_f16(std::max(0.0f, st.h[k]));
  return sigmoid(s);
}

std::vector<float> SileroVad::probabilities(const float* samples, size_t n) const {
  const size_t n_probs = (n + kWindow - 1) / kWindow;
  std::vector<float> probs(n_probs);
  LstmState st;
  float buf[kWindow];
  for (size_t i = 0; i < n_probs; ++i) {
    const size_t off = i * kWindow;
    const size_t m = std::min<size_t>(kWindow, n - off);
    std::copy(samples + off, samples + off + m, buf);
    std::fill(buf + m, buf + kWindow, 0.0f);
    probs[i] = window(buf, st);
  }
  return probs;
}

std::vector<SpeechSegment> speech_segments(const std::vector<float>& probs, const VadParams& params) {
  constexpr int64_t sr = 16000, W = kWindow;
  const float thr = params.threshold;
  const float neg_thr = std::max(thr - 0.15f, 0.01f);
  const int64_t min_silence = sr * params.min_silence_duration_ms / 1000;
  const int64_t min_speech = sr * params.min_speech_duration_ms / 1000;
  const int64_t pad = sr * params.speech_pad_ms / 1000;
  const int64_t L = int64_t(probs.size()) * W;
  const int64_t sil98 = sr * 98 / 1000;
  int64_t max_speech = INT_MAX / 2;
  if (params.max_speech_duration_s <= 100000.0f) {
    const double v = double(sr) * std::trunc(double(params.max_speech_duration_s)) - double(W) - 2.0 * double(pad);
    if (v >= 0 && v <= double(INT_MAX)) max_speech = int64_t(v);
  }
  struct Seg { int64_t start, end; };
  std::vector<Seg> segs;
  bool in_speech = false, has_cur = false;
  int64_t temp_end = 0, prev_end = 0, next_start = 0, cur_start = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    const float p = probs[i];
    const int64_t s = W * int64_t(i);
    if (p >= thr && temp_end != 0) {
      temp_end = 0;
      if (next_start < prev_end) next_start = s;
    }
    if (p >= thr && !in_speech) {
      in_speech = true;
      cur_start = s;
      has_cur = true;
      continue;
    }
    if (in_speech && s - cur_start > max_speech) {
      if (prev_end != 0) {
        segs.push_back({cur_start, prev_end});
        has_cur = true;
        if (next_start < prev_end) {
          in_speech = false;
          has_cur = false;
        } else {
          cur_start = next_start;
        }
        prev_end = next_start = temp_end = 0;
      } else {
        segs.push_back({cur_start, s});
        prev_end = next_start = temp_end = 0;
        in_speech = false;
        has_cur = false;
        continue;
      }
    }
    if (p < neg_thr && in_speech) {
      if (temp_end == 0) temp_end = s;
      if (s - temp_end > sil98) prev_end = temp_end;
      if (s - temp_end < min_silence) continue;
      if (temp_end - cur_start > min_speech) segs.push_back({cur_start, temp_end});
      prev_end = next_start = temp_end = 0;
      in_speech = false;
      has_cur = false;
      continue;
    }
  }
  if (has_cur && L - cur_start > min_speech) segs.push_back({cur_start, L});
  // merge gaps < 200 ms
  for (size_t i = 0; i + 1 < segs.size();) {
    if (segs[i + 1].start - segs[i].end < 3200) {
      segs[i].end = segs[i + 1].end;
      segs.erase(segs.begin() + long(i) + 1);
    } else {
      ++i;
    }
  }
  segs.erase(std::remove_if(segs.begin(), segs.end(), [&](const Seg& g) { return g.end - g.start < min_speech; }),
             segs.end());
  for (size_t i = 0; i < segs.size(); ++i) {
    if (i == 0) segs[i].start = segs[i].start > pad ? segs[i].start - pad : 0;
    if (i + 1 < segs.size()) {
      const int64_t gap = segs[i + 1].start - segs[i].end;
      if (gap < 2 * pad) {
        segs[i].end += gap / 2;
        segs[i + 1].start = segs[i + 1].start <= gap / 2 ? 0 : segs[i + 1].start - gap / 2;
      } else {
        segs[i].end = std::min(segs[i].end + pad, L);
        segs[i + 1].start = segs[i + 1].start <= pad ? 0 : segs[i + 1].start - pad;
      }
    } else {
      segs[i].end = segs[i].end + pad < L ? segs[i].end + pad : L;
    }
  }
  std::vector<SpeechSegment> out;
  for (const Seg& g : segs) {
    const int64_t cs0 = int64_t(double(g.start) / 16000.0 * 100.0 + 0.5);
    const int64_t cs1 = int64_t(double(g.end) / 16000.0 * 100.0 + 0.5);
    out.push_back({double(cs0) / 100.0, double(cs1) / 100.0});
  }
  return out;
}

StreamingVad::StreamingVad(const SileroVad& model, VadParams params) : model_(model), params_(params) {}

void StreamingVad::reset() {
  state_ = LstmState{};
  pending_.clear();
  probs_.clear();
  n_windows_ = 0;
  in_speech_ = false;
  silence_start_ = -1;
}

std::vector<VadEvent> StreamingVad::push(const float* samples, size_t n) {
  std::vector<VadEvent> events;
  pending_.insert(pending_.end(), samples, samples + n);
  const float neg_thr = std::max(params_.threshold - 0.15f, 0.01f);
  const int64_t min_silence_windows =
      std::max<int64_t>(1, (int64_t(params_.min_silence_duration_ms) * 16000 / 1000 + kWindow - 1) / kWindow);
  size_t used = 0;
  while (pending_.size() - used >= size_t(kWindow)) {
    const float p = model_.window(pending_.data() + used, state_);
    used += kWindow;
    probs_.push_back(p);
    const int64_t w = n_windows_++;
    if (!in_speech_) {
      if (p >= params_.threshold) {
        in_speech_ = true;
        silence_start_ = -1;
        events.push_back({VadEventType::speech_started, double(w) * kWindow / 16000.0});
      }
    } else if (p < neg_thr) {
      if (silence_start_ < 0) silence_start_ = w;
      if (w + 1 - silence_start_ >= min_silence_windows) {
        in_speech_ = false;
        events.push_back({VadEventType::speech_stopped, double(silence_start_) * kWindow / 16000.0});
        silence_start_ = -1;
      }
    } else if (p >= params_.threshold) {
      silence_start_ = -1;
    }
  }
  pending_.erase(pending_.begin(), pending_.begin() + long(used));
  return events;
}

std::vector<VadEvent> StreamingVad::flush() {
  std::vector<VadEvent> events;
  if (in_speech_) {
    const int64_t end_w = silence_start_ >= 0 ? silence_start_ : n_windows_;
    events.push_back({VadEventType::speech_stopped, double(end_w) * kWindow / 16000.0});
    in_speech_ = false;
  }
  return events;
}

}  // namespace omni::vad
