// Silero VAD v5/v6 (16 kHz) from whisper.cpp's VAD ggml file: per-window speech probabilities with
// whisper.cpp's exact processing, speech segments (threshold / min speech / min silence / padding),
// and a streaming detector that turns pushed audio chunks into speech-started / -stopped events.
#pragma once
#include <cfloat>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace omni::vad {

constexpr int kWindow = 512;   // samples per probability at 16 kHz
constexpr int kHidden = 128;

struct LstmState {
  float h[kHidden] = {};
  float c[kHidden] = {};
};

class SileroVad {
 public:
  explicit SileroVad(const std::string& path);  // throws omni::Error for a bad file
  // One probability per 512-sample window (the last one zero-filled), fresh LSTM state.
  std::vector<float> probabilities(const float* samples, size_t n) const;
  // One window of exactly 512 samples; updates `state` (streaming: keep it across calls).
  float window(const float* x, LstmState& state) const;

 private:
  std::vector<float> basis_;                  // [258, 256]
  std::vector<float> conv_w_[4], conv_b_[4];  // [out, in, 3], [out]
  int conv_in_[4] = {}, conv_out_[4] = {};
  std::vector<float> w_ih_, w_hh_, b_ih_, b_hh_;  // [512, 128], [512, 128], [512], [512]
  std::vector<float> dec_w_;                      // [128]
  float dec_b_ = 0;
};

struct VadParams {
  float threshold = 0.5f;
  int min_speech_duration_ms = 250;
  int min_silence_duration_ms = 100;
  float max_speech_duration_s = FLT_MAX;
  int speech_pad_ms = 30;
};

struct SpeechSegment {
  double start = 0;  // seconds
  double end = 0;
};

// whisper.cpp's segment extraction (merge < 200 ms gaps, drop short, pad), times rounded to 10 ms.
std::vector<SpeechSegment> speech_segments(const std::vector<float>& probs, const VadParams& params = {});

enum class VadEventType { speech_started, speech_stopped };
struct VadEvent {
  VadEventType type;
  double time_s;  // position in the stream where speech began / ended
};

// Streaming detector: push 16 kHz mono chunks of any size; events come out as windows complete.
// Speech starts at the first window with p >= threshold; it stops after min_silence_duration_ms
// of windows below max(threshold - 0.15, 0.01).
class StreamingVad {
 public:
  StreamingVad(const SileroVad& model, VadParams params = {});
  std::vector<VadEvent> push(const float* samples, size_t n);
  std::vector<VadEvent> flush();  // ends an open speech segment at the end of the stream
  bool in_speech() const { return in_speech_; }
  double position_s() const { return double(n_windows_) * kWindow / 16000.0; }
  const std::vector<float>& probabilities() const { return probs_; }
  void reset();

 private:
  const SileroVad& model_;
  VadParams params_;
  LstmState state_;
  std::vector<float> pending_;
  std::vector<float> probs_;
  int64_t n_windows_ = 0;
  bool in_speech_ = false;
  int64_t silence_start_ = -1;  // window index where the current silence run began
};

}  // namespace omni::vad
