// Audio adapters: audio decoding (libsndfile/libsoxr), Whisper ASR, Silero streaming VAD and
// espeak-ng TTS from the audio and models layers, as the server's Transcriber / StreamingVad / Speaker.
#include <mutex>

#include "audio/decode.hpp"
#include "audio/tts.hpp"
#include "core/thread_pool.hpp"
#include "models/silero_vad.hpp"
#include "models/whisper.hpp"
#include "server/app.hpp"

namespace omni::server {

namespace {

class WhisperTranscriber : public Transcriber {
 public:
  WhisperTranscriber(const std::string& path, int threads) : model_(path), pool_(threads) {}
  Transcript transcribe(const std::vector<float>& samples, const std::string& language, const std::string& prompt,
                        const std::atomic<bool>* cancel) override {
    whisper::Options o;
    o.language = language.empty() ? "en" : language;
    if (o.language == "auto" && !model_.tokens().multilingual) o.language = "en";  // nothing to detect
    o.initial_prompt = prompt;
    o.temperatures = {0.0f};
    std::lock_guard<std::mutex> lock(mutex_);  // one transcription at a time on the shared pool
    whisper::Transcript t = model_.transcribe(samples, o, pool_);
    Transcript out;
    out.text = t.text;
    out.language = t.language;
    out.duration_s = t.duration_s > 0 ? t.duration_s : double(samples.size()) / audio::kSampleRate;
    for (auto& seg : t.segments) out.segments.push_back({seg.start, seg.end, seg.text});
    return out;
  }
  std::string size_name() const { return model_.size_name(); }
  std::string language_problem(const std::string& language) const override {
    if (language == "auto") return "";
    int k = whisper::language_index(language);
    const whisper::SpecialTokens& st = model_.tokens();
    if (k < 0 || (st.multilingual && k >= st.n_languages)) return cat("unknown language '", language, "' (use an ISO 639-1 code such as \"en\", or \"auto\")");
    if (!st.multilingual && k != 0) return cat("this English-only Whisper model cannot transcribe '", language, "' (use \"en\" or \"auto\")");
    return "";
  }

 private:
  whisper::Model model_;
  ThreadPool pool_;
  std::mutex mutex_;
};

class SileroStream : public StreamingVad {
 public:
  SileroStream(std::shared_ptr<const vad::SileroVad> m, const VadSettings& s)
      : model_(std::move(m)), vad_(*model_, params(s)) {}
  std::vector<Event> push(const float* x, size_t n) override { return convert(vad_.push(x, n)); }
  std::vector<Event> flush() override { return convert(vad_.flush()); }

 private:
  static vad::VadParams params(const VadSettings& s) {
    vad::VadParams p;
    p.threshold = s.threshold;
    p.min_silence_duration_ms = s.silence_duration_ms;
    return p;
  }
  static std::vector<Event> convert(const std::vector<vad::VadEvent>& in) {
    std::vector<Event> out;
    for (auto& e : in) out.push_back({e.type == vad::VadEventType::speech_started, e.time_s});
    return out;
  }
  std::shared_ptr<const vad::SileroVad> model_;
  vad::StreamingVad vad_;
};

class EspeakSpeaker : public Speaker {
 public:
  std::string synthesize_wav(const std::string& text, const std::string& voice, double speed) override {
    audio::TtsOptions o;
    o.voice = voice;
    o.rate_wpm = std::clamp(int(175 * speed + 0.5), 80, 450);
    auto wav = audio::synthesize_wav(text, o);
    return std::string(wav.begin(), wav.end());
  }
};

}  // namespace

void attach_audio(Services& s, const ServeConfig& c, Logger& log) {
  size_t max_bytes = c.server.max_body_bytes;
  s.decode_audio = [max_bytes](const std::string& bytes, double max_seconds) {
    audio::AudioLimits lim;
    lim.max_bytes = max_bytes;
    lim.max_seconds = max_seconds;
    return audio::decode_audio(bytes.data(), bytes.size(), lim, "audio");
  };
  double max_s = c.limits.max_audio_seconds;
  s.decode_pcm16 = [max_s](const std::string& pcm, int rate) {
    audio::AudioLimits lim;
    lim.max_seconds = max_s;
    return audio::decode_pcm16(pcm.data(), pcm.size(), rate, 1, lim);
  };
  if (c.tts) {
    s.tts = std::make_shared<EspeakSpeaker>();
    s.active.push_back("tts: espeak-ng (POST /v1/audio/speech)");
  } else {
    s.waiting.push_back("tts: disabled by --no-tts");
  }
  if (!c.asr_model.empty()) {
    auto w = std::make_shared<WhisperTranscriber>(c.asr_model, c.threads);
    s.active.push_back(cat("asr: whisper ", w->size_name(), " from ", c.asr_model, " (POST /v1/audio/transcriptions)"));
    s.asr = w;
    std::string lang = normalize_language(c.asr_language);
    if (std::string why = w->language_problem(lang); !why.empty()) fail(ErrorCode::invalid_argument, "--asr-language: ", why);
    s.asr_language = lang;
  } else {
    s.waiting.push_back("asr: no --asr-model (transcription and voice input off)");
  }
  if (!c.vad_model.empty()) {
    auto m = std::make_shared<const vad::SileroVad>(c.vad_model);
    s.make_vad = [m](const VadSettings& v) -> std::unique_ptr<StreamingVad> { return std::make_unique<SileroStream>(m, v); };
    s.active.push_back(cat("vad: silero from ", c.vad_model, " (realtime server VAD)"));
  } else {
    s.waiting.push_back("vad: no --vad-model (realtime needs manual input_audio_buffer.commit)");
  }
  (void)log;
}

}  // namespace omni::server
