// Random-weight Whisper writer (the C++ counterpart of the shared mkwhisper.py): header from a real
// header-only file, tensors in converter order with whisper.cpp's types (1-D and positional
// embeddings f32, conv weights f16 unless f32, 2-D weights of the chosen type).
#include "models/whisper_random.hpp"

#include <cmath>
#include <cstring>
#include <fstream>

#include "core/fp16.hpp"
#include "formats/whisper_ggml.hpp"
#include "kernels/kernels.hpp"
#include "omni/error.hpp"

namespace omni::whisper {
namespace {

struct Rng {  // splitmix64: fast, seeded, no global state
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  float uniform() { return float(next() >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f; }  // [-1, 1)
};

struct Writer {
  std::ofstream out;
  Rng rng;
  DType wtype;
  DType ctype;
  std::string path;

  void put_i32(int32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); }
  void tensor(const std::string& name, std::vector<int64_t> ne, DType type, float scale, float offset = 0.0f) {
    put_i32(int32_t(ne.size()));
    put_i32(int32_t(name.size()));
    put_i32(int32_t(type));
    for (int64_t d : ne) put_i32(int32_t(d));
    out.write(name.data(), long(name.size()));
    const int64_t row = ne.empty() ? 1 : ne[0];
    int64_t rows = 1;
    for (size_t i = 1; i < ne.size(); ++i) rows *= ne[i];
    std::vector<float> buf(static_cast<size_t>(row));
    std::vector<uint8_t> q(row_bytes(type, row));
    for (int64_t r = 0; r < rows; ++r) {
      for (auto& v : buf) v = offset + scale * rng.uniform();
      kernels::quantize_row(type, buf.data(), q.data(), row);
      out.write(reinterpret_cast<const char*>(q.data()), long(q.size()));
    }
    if (!out) fail(ErrorCode::io, path, ": write failed");
  }
  void linear(const std::string& p, int64_t n_in, int64_t n_out, bool bias) {
    tensor(p + ".weight", {n_in, n_out}, wtype, 1.0f / std::sqrt(float(n_in)));
    if (bias) tensor(p + ".bias", {n_out}, DType::f32, 0.02f);
  }
  void block(const std::string& p, int64_t S, bool cross) {
    for (const char* a : cross ? std::vector<const char*>{"attn", "cross_attn"} : std::vector<const char*>{"attn"}) {
      const std::string q = p + "." + a;
      linear(q + ".query", S, S, true);
      linear(q + ".key", S, S, false);
      linear(q + ".value", S, S, true);
      linear(q + ".out", S, S, true);
      tensor(q + "_ln.weight", {S}, DType::f32, 0.1f, 1.0f);
      tensor(q + "_ln.bias", {S}, DType::f32, 0.02f);
    }
    linear(p + ".mlp.0", S, 4 * S, true);
    linear(p + ".mlp.2", 4 * S, S, true);
    tensor(p + ".mlp_ln.weight", {S}, DType::f32, 0.1f, 1.0f);
    tensor(p + ".mlp_ln.bias", {S}, DType::f32, 0.02f);
  }
};

int32_t ftype_of(DType t) {
  switch (t) {
    case DType::f32: return 0;
    case DType::f16: return 1;
    case DType::q4_0: return 2002;
    case DType::q4_1: return 2003;
    case DType::q8_0: return 2007;
    case DType::q5_0: return 2008;
    case DType::q5_1: return 2009;
    default: break;
  }
  fail(ErrorCode::unsupported, "make-model whisper: weight type ", dtype_name(t),
       " is not supported (f32, f16, q8_0, q5_0, q5_1, q4_0, q4_1)");
}

}  // namespace

WhisperShape whisper_shape(const std::string& name_in) {
  std::string name = name_in;
  bool en = false;
  if (name.size() > 3 && name.substr(name.size() - 3) == ".en") {
    en = true;
    name = name.substr(0, name.size() - 3);
  }
  WhisperShape s;
  if (name == "mini") s = {"mini", 64, 2, 2, 2, 80, 51865};  // the golden test model's dimensions
  else if (name == "tiny") s = {"tiny", 384, 6, 4, 4, 80, 51865};
  else if (name == "base") s = {"base", 512, 8, 6, 6, 80, 51865};
  else if (name == "small") s = {"small", 768, 12, 12, 12, 80, 51865};
  else if (name == "medium") s = {"medium", 1024, 16, 24, 24, 80, 51865};
  else if (name == "large-v3" || name == "large") s = {"large-v3", 1280, 20, 32, 32, 128, 51866};
  else if (name == "large-v3-turbo" || name == "turbo") s = {"large-v3-turbo", 1280, 20, 32, 4, 128, 51866};
  else fail(ErrorCode::invalid_argument, "unknown whisper shape '", name_in, "' (mini, tiny, base, small, medium, large-v3, turbo; .en for English-only)");
  if (en) {
    if (s.n_vocab == 51866) fail(ErrorCode::invalid_argument, "there is no English-only ", s.name);
    s.n_vocab = 51864;
    s.name += ".en";
  }
  return s;
}

std::vector<std::string> whisper_shape_names() { return {"mini", "tiny", "base", "small", "medium", "large-v3", "turbo"}; }

std::vector<float> slaney_mel_filters(int n_mels, int sample_rate, int n_fft) {
  auto hz_to_mel = [](double f) {
    const double f_sp = 200.0 / 3, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp, logstep = std::log(6.4) / 27.0;
    return f < min_log_hz ? f / f_sp : min_log_mel + std::log(f / min_log_hz) / logstep;
  };
  auto mel_to_hz = [](double m) {
    const double f_sp = 200.0 / 3, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp, logstep = std::log(6.4) / 27.0;
    return m < min_log_mel ? f_sp * m : min_log_hz * std::exp(logstep * (m - min_log_mel));
  };
  const int n_bins = n_fft / 2 + 1;
  const double mel_max = hz_to_mel(sample_rate / 2.0);
  std::vector<double> pts(size_t(n_mels) + 2);
  for (int i = 0; i < n_mels + 2; ++i) pts[size_t(i)] = mel_to_hz(mel_max * i / (n_mels + 1));
  std::vector<float> w(size_t(n_mels) * size_t(n_bins));
  for (int m = 0; m < n_mels; ++m) {
    const double lo = pts[size_t(m)], c = pts[size_t(m) + 1], hi = pts[size_t(m) + 2];
    const double enorm = 2.0 / (hi - lo);
    for (int k = 0; k < n_bins; ++k) {
      const double f = double(k) * sample_rate / n_fft;
      const double v = std::max(0.0, std::min((f - lo) / (c - lo), (hi - f) / (hi - c)));
      w[size_t(m) * n_bins + size_t(k)] = float(v * enorm);
    }
  }
  return w;
}

void write_random_whisper(const std::string& path, const std::string& header_path, const WhisperShape& s, DType type,
                          uint64_t seed) {
  const int32_t ftype = ftype_of(type);
  const whisper_ggml::WhisperFile hdr = whisper_ggml::read_whisper_file(header_path);
  Writer w{std::ofstream(path, std::ios::binary | std::ios::trunc), Rng{seed}, type,
           type == DType::f32 ? DType::f32 : DType::f16, path};
  if (!w.out) fail(ErrorCode::io, path, ": cannot create file");
  const int32_t hp[11] = {s.n_vocab, 1500, s.n_state, s.n_head, s.n_audio_layer, 448,
                          s.n_state, s.n_head, s.n_text_layer, s.n_mels, ftype};
  w.put_i32(int32_t(whisper_ggml::kMagic));
  for (int32_t v : hp) w.put_i32(v);
  w.put_i32(s.n_mels);
  w.put_i32(201);
  const std::vector<float> filters = s.n_mels == hdr.hp.n_mels ? hdr.mel_filters : slaney_mel_filters(s.n_mels);
  w.out.write(reinterpret_cast<const char*>(filters.data()), long(filters.size() * 4));
  std::vector<std::string> vocab = hdr.vocab;
  if (s.n_vocab == 51864 && vocab.size() > 50256) vocab.resize(50257);
  w.put_i32(int32_t(vocab.size()));
  for (const auto& t : vocab) {
    w.put_i32(int32_t(t.size()));
    w.out.write(t.data(), long(t.size()));
  }
  const int64_t S = s.n_state;
  w.tensor("encoder.positional_embedding", {S, 1500}, DType::f32, 0.5f);
  w.tensor("encoder.conv1.weight", {3, s.n_mels, S}, w.ctype, 1.0f / std::sqrt(3.0f * float(s.n_mels)));
  w.tensor("encoder.conv1.bias", {1, S}, DType::f32, 0.02f);
  w.tensor("encoder.conv2.weight", {3, S, S}, w.ctype, 1.0f / std::sqrt(3.0f * float(S)));
  w.tensor("encoder.conv2.bias", {1, S}, DType::f32, 0.02f);
  for (int i = 0; i < s.n_audio_layer; ++i) w.block("encoder.blocks." + std::to_string(i), S, false);
  w.tensor("encoder.ln_post.weight", {S}, DType::f32, 0.1f, 1.0f);
  w.tensor("encoder.ln_post.bias", {S}, DType::f32, 0.02f);
  w.tensor("decoder.positional_embedding", {S, 448}, DType::f32, 0.02f);
  w.tensor("decoder.token_embedding.weight", {S, s.n_vocab}, type, 0.05f);
  for (int i = 0; i < s.n_text_layer; ++i) w.block("decoder.blocks." + std::to_string(i), S, true);
  w.tensor("decoder.ln.weight", {S}, DType::f32, 0.1f, 1.0f);
  w.tensor("decoder.ln.bias", {S}, DType::f32, 0.02f);
  w.out.close();
  if (!w.out) fail(ErrorCode::io, path, ": write failed");
}

}  // namespace omni::whisper
