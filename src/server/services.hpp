// The capabilities the routes call, as narrow interfaces the server owns. Adapters in
// adapter_*.cpp build them from the runtime / agent / audio layers when those are present; a route
// whose service is missing answers 503 naming the option that enables it. No tensor in sight.
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "server/event_bus.hpp"
#include "server/http_types.hpp"
#include "server/metrics.hpp"

namespace omni::agent::scene { class SceneState; }
namespace omni::runtime { class Model; }

namespace omni::runtime {
class VisionContext;
}

namespace omni::server {

// An OpenAI-compatible text generator: a local engine or a remote server.
class LlmProvider {
 public:
  virtual ~LlmProvider() = default;
  virtual std::string model_id() const = 0;
  virtual std::string description() const = 0;  // "local mini-qwen2 (qwen2, 4 slots)"
  // Runs a validated chat/completions (or completions, when `chat` is false) request. When
  // `on_chunk` is set, the request streams: on_chunk gets each chunk object (OpenAI stream
  // format) and returns false to stop; the return value is then the final usage object.
  // Otherwise the full response object is returned. Throws HttpError / omni::Error.
  virtual Json generate(const Json& request, bool chat, const std::function<bool(const Json&)>& on_chunk,
                        const std::shared_ptr<std::atomic<bool>>& cancel) = 0;
  virtual double kv_cache_use() const { return 0; }  // 0..1
  virtual int queue_depth() const { return 0; }
};

struct Transcript {
  std::string text;
  std::string language;
  double duration_s = 0;
  struct Segment { double start = 0, end = 0; std::string text; };
  std::vector<Segment> segments;
};

class Transcriber {
 public:
  virtual ~Transcriber() = default;
  // samples: 16 kHz mono float.
  // language: an ISO 639-1 code ("en", "de" ...) or "auto" (detect it).
  virtual Transcript transcribe(const std::vector<float>& samples, const std::string& language,
                                const std::string& prompt, const std::atomic<bool>* cancel) = 0;
  // Why `language` cannot be used with this model ("" when it can; "auto" always can).
  virtual std::string language_problem(const std::string& language) const { return ""; }
};

class Speaker {
 public:
  virtual ~Speaker() = default;
  // A complete WAV file (PCM16) of `text` spoken with `voice` at `speed`.
  virtual std::string synthesize_wav(const std::string& text, const std::string& voice, double speed) = 0;
};

// Server VAD parameters (the realtime session's turn_detection).
struct VadSettings {
  float threshold = 0.5f;        // speech starts at a window with probability >= threshold
  int silence_duration_ms = 100;  // ... and stops after this much audio below threshold - 0.15
};

// Streaming voice activity detection over 16 kHz audio.
class StreamingVad {
 public:
  virtual ~StreamingVad() = default;
  struct Event { bool speech_started; double time_s; };
  virtual std::vector<Event> push(const float* samples, size_t n) = 0;
  virtual std::vector<Event> flush() = 0;
};

class Actor {
 public:
  virtual ~Actor() = default;
  // {"text", "image"?, "dry_run"?, "confirm"?, "conversation_id"?, "seed"?} -> ActResult JSON.
  virtual Json act(const Json& request) = 0;
  virtual std::string description() const = 0;
};

struct Limits {
  double max_audio_seconds = 600;
  int64_t max_image_pixels = int64_t(4096) * 4096;
  size_t max_media_bytes = size_t(24) << 20;
  int max_events_clients = 32;
};

struct Services {
  std::shared_ptr<LlmProvider> llm;
  std::shared_ptr<Transcriber> asr;
  std::shared_ptr<Speaker> tts;
  std::function<std::unique_ptr<StreamingVad>(const VadSettings&)> make_vad;
  // Decodes any supported audio container to 16 kHz mono; empty when the audio layer is absent.
  std::function<std::vector<float>(const std::string& bytes, double max_seconds)> decode_audio;
  std::function<std::vector<float>(const std::string& pcm16, int sample_rate)> decode_pcm16;
  std::shared_ptr<Actor> actor;
  std::shared_ptr<EventBus> events = std::make_shared<EventBus>();
  std::shared_ptr<agent::scene::SceneState> scene;  // the console's room (scene_routes.hpp)
  Metrics* metrics = nullptr;                        // set once the Server exists
  std::shared_ptr<const runtime::Model> local_model;  // the in-process LLM, when loaded
  std::shared_ptr<runtime::VisionContext> vision;     // its vision projector (--mmproj), when loaded
  Limits limits;
  std::string asr_language = "auto";  // default language of voice turns (/v1/act, realtime)
  std::string media_dir;
  std::vector<std::string> active;   // lines printed at startup and shown on /health
  std::vector<std::string> waiting;  // capabilities not available, and why
};

// [[noreturn]] 503 for a missing capability.
[[noreturn]] void unavailable(const std::string& what, const std::string& how_to_enable);

// Voice-turn languages (api_act.cpp): " EN" -> "en", "" -> "auto".
std::string normalize_language(const std::string& code);
// The language a voice turn is transcribed in: `requested` (a string; null = the server's default
// `asr_language`), checked against the ASR model. A bad one is a 400 naming `param`.
std::string voice_language(const Services& s, const Json& requested, const std::string& param);

}  // namespace omni::server
