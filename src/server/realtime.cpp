// GET /v1/realtime: a WebSocket speaking a subset of the OpenAI Realtime protocol. Input is PCM16
// (16 or 24 kHz) via input_audio_buffer.append; server VAD (Silero, tuned by session.update's
// turn_detection) emits speech_started / speech_stopped and commits each utterance; the turn is
// transcribed (Whisper), acted on by the agent (omni.action event with the executed action) and
// answered as a response (response.created, response.output_text.delta,
// response.function_call_arguments.done, response.done). With turn_detection null (or no VAD model)
// the client commits by hand (input_audio_buffer.commit). All turns of one socket share one agent
// conversation, so a later "yes"/"no" answers an action waiting for confirmation.
#include <chrono>
#include <cstdio>
#include <random>

#include "server/media.hpp"
#include "server/routes.hpp"

namespace omni::server {

Json run_act(Services& s, const Json& b, const std::atomic<bool>* cancel);  // api_act.cpp

namespace {

constexpr int64_t kRate = 16000;  // the buffer's sample rate

std::string random_token() {
  std::random_device rd;
  uint64_t v = (uint64_t(rd()) << 32) ^ rd();
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// session.update's turn_detection, validated.
struct TurnDetection {
  bool enabled = false;
  VadSettings vad;
  int prefix_padding_ms = 0;   // audio before the detected start that goes with the utterance
  bool create_response = true;  // answer each committed utterance without a response.create

  Json to_json() const {
    if (!enabled) return nullptr;
    return {{"type", "server_vad"}, {"threshold", vad.threshold}, {"prefix_padding_ms", prefix_padding_ms},
            {"silence_duration_ms", vad.silence_duration_ms}, {"create_response", create_response}};
  }
};

// Reads a turn_detection object over `base` (fields left out keep their value); "" or an error.
std::string parse_turn_detection(const Json& td, TurnDetection& out) {
  if (td.is_null()) {
    out.enabled = false;
    return "";
  }
  if (!td.is_object()) return "turn_detection must be an object or null";
  if (td.contains("type") && td["type"] != "server_vad")
    return "turn_detection.type must be \"server_vad\" (or turn_detection null for manual commits)";
  if (td.contains("threshold")) {
    if (!td["threshold"].is_number() || td["threshold"].get<double>() < 0 || td["threshold"].get<double>() > 1)
      return "turn_detection.threshold must be a number from 0 to 1";
    out.vad.threshold = td["threshold"].get<float>();
  }
  auto ms = [&](const char* k, int& v) -> std::string {
    if (!td.contains(k)) return "";
    if (!td[k].is_number_integer() || td[k].get<int64_t>() < 0 || td[k].get<int64_t>() > 10000)
      return cat("turn_detection.", k, " must be an integer from 0 to 10000");
    v = td[k].get<int>();
    return "";
  };
  if (auto e = ms("prefix_padding_ms", out.prefix_padding_ms); !e.empty()) return e;
  if (auto e = ms("silence_duration_ms", out.vad.silence_duration_ms); !e.empty()) return e;
  if (td.contains("create_response")) {
    if (!td["create_response"].is_boolean()) return "turn_detection.create_response must be a boolean";
    out.create_response = td["create_response"];
  }
  out.enabled = true;
  return "";
}

class RealtimeSession : public WsHandler {
 public:
  RealtimeSession(std::shared_ptr<Services> s, std::shared_ptr<WsChannel> ch)
      : s_(std::move(s)), ch_(std::move(ch)), token_(random_token()), language_(s_->asr_language) {}

  void on_open() override {
    td_.enabled = bool(s_->make_vad);
    restart_vad();
    session_ = {{"id", "sess_" + token_}, {"object", "realtime.session"}, {"model", "omni-realtime"},
                {"modalities", {"text"}}, {"input_audio_format", "pcm16"}, {"input_audio_rate", rate_},
                {"conversation_id", conversation_id()}};
    sync_session();
    send({{"type", "session.created"}, {"session", session_}});
  }

  void on_message(const std::string& data, bool binary) override {
    if (binary) return error("invalid_request_error", "binary frames are not part of the protocol; send JSON text events");
    Json ev = Json::parse(data, nullptr, false);
    if (ev.is_discarded() || !ev.is_object()) return error("invalid_request_error", "the event is not a JSON object");
    if (!ev.contains("type") || !ev["type"].is_string()) return error("invalid_request_error", "the event has no 'type'");
    std::string type = ev["type"];
    try {
      if (type == "session.update") return session_update(ev);
      if (type == "input_audio_buffer.append") return append(ev);
      if (type == "input_audio_buffer.commit") return commit_manual();
      if (type == "input_audio_buffer.clear") {
        consume(buffer_.size());
        restart_vad();
        return send({{"type", "input_audio_buffer.cleared"}});
      }
      if (type == "conversation.item.create") return item_create(ev);
      if (type == "response.create") return respond_to_last();
      if (type == "response.cancel") return;
      error("invalid_request_error", cat("unsupported event type '", type, "'"));
    } catch (const HttpError& e) {
      error(e.type(), e.what(), e.code());
    } catch (const Error& e) {
      error("invalid_request_error", e.what(), error_code_name(e.code()));
    }
  }

 private:
  std::string conversation_id() const { return "realtime-" + token_; }

  void send(const Json& j) {
    Json e = j;
    e["event_id"] = "event_" + std::to_string(++n_events_);
    ch_->send_text(e.dump(-1, ' ', false, Json::error_handler_t::replace));
  }
  void error(const std::string& type, const std::string& msg, const std::string& code = "invalid_event") {
    send({{"type", "error"}, {"error", {{"type", type}, {"code", code}, {"message", msg}}}});
  }

  // The session object reports what is in effect.
  void sync_session() {
    session_["input_audio_rate"] = rate_;
    session_["turn_detection"] = td_.to_json();
    session_["input_audio_transcription"] = s_->asr ? Json{{"model", "whisper-1"}, {"language", language_}} : Json(nullptr);
  }

  // A fresh detector whose time 0 is the current end of the stream (or none when VAD is off).
  void restart_vad() {
    vad_.reset();
    in_speech_ = false;
    if (td_.enabled && s_->make_vad) vad_ = s_->make_vad(td_.vad);
    vad_origin_ = n_received_;
  }

  void session_update(const Json& ev) {
    if (!ev.contains("session") || !ev["session"].is_object()) return error("invalid_request_error", "session.update needs a 'session' object");
    const Json& s = ev["session"];
    // Validate everything first: a bad field changes nothing.
    if (s.contains("input_audio_format") && s["input_audio_format"] != "pcm16")
      return error("invalid_request_error", "only input_audio_format \"pcm16\" is supported");
    int rate = rate_;
    if (s.contains("input_audio_rate")) {
      if (!s["input_audio_rate"].is_number_integer() || (s["input_audio_rate"] != 16000 && s["input_audio_rate"] != 24000))
        return error("invalid_request_error", "input_audio_rate must be 16000 or 24000");
      rate = s["input_audio_rate"];
    }
    TurnDetection td = td_;
    if (s.contains("turn_detection")) {
      if (std::string e = parse_turn_detection(s["turn_detection"], td); !e.empty()) return error("invalid_request_error", e);
      if (td.enabled && !s_->make_vad) td.enabled = false;  // no VAD model: manual commits (reported as null)
    }
    std::string language = language_;
    if (s.contains("input_audio_transcription") && s["input_audio_transcription"].is_object() &&
        s["input_audio_transcription"].contains("language"))
      language = voice_language(*s_, s["input_audio_transcription"]["language"], "session.input_audio_transcription.language");
    for (auto& [k, v] : s.items())
      if (k != "id" && k != "object" && k != "conversation_id") session_[k] = v;
    rate_ = rate;
    language_ = language;
    if (s.contains("turn_detection")) {
      td_ = td;
      restart_vad();
    }
    sync_session();
    send({{"type", "session.updated"}, {"session", session_}});
  }

  void append(const Json& ev) {
    if (!ev.contains("audio") || !ev["audio"].is_string()) return error("invalid_request_error", "input_audio_buffer.append needs base64 'audio'");
    std::string pcm = base64_decode_strict(ev["audio"], "audio");
    if (pcm.size() % 2) return error("invalid_request_error", "PCM16 audio must have an even number of bytes");
    if (!s_->decode_pcm16) return error("server_error", "audio decoding is not available");
    std::vector<float> x = s_->decode_pcm16(pcm, rate_);  // -> 16 kHz
    double max_samples = s_->limits.max_audio_seconds * kRate;
    if (double(buffer_.size() + x.size()) > max_samples) {
      consume(buffer_.size());
      restart_vad();
      return error("invalid_request_error", cat("the input audio buffer is longer than ", s_->limits.max_audio_seconds, " s; cleared"), "audio_too_long");
    }
    buffer_.insert(buffer_.end(), x.begin(), x.end());
    n_received_ += int64_t(x.size());
    if (!vad_) return;
    for (auto& e : vad_->push(x.data(), x.size())) {
      int64_t at = vad_origin_ + int64_t(std::llround(e.time_s * kRate));
      if (e.speech_started) {
        in_speech_ = true;
        speech_start_ = std::max(n_consumed_, at - int64_t(td_.prefix_padding_ms) * kRate / 1000);
        send({{"type", "input_audio_buffer.speech_started"}, {"audio_start_ms", ms(speech_start_)}, {"item_id", item_id()}});
      } else if (in_speech_) {
        in_speech_ = false;
        send({{"type", "input_audio_buffer.speech_stopped"}, {"audio_end_ms", ms(at)}, {"item_id", item_id()}});
        commit_segment(speech_start_, at);
      }
    }
  }

  static int64_t ms(int64_t sample) { return (sample * 1000 + kRate / 2) / kRate; }
  std::string item_id() const { return "item_" + std::to_string(n_items_ + 1); }

  // Drops the first n samples of the buffer.
  void consume(size_t n) {
    n = std::min(n, buffer_.size());
    buffer_.erase(buffer_.begin(), buffer_.begin() + long(n));
    n_consumed_ += int64_t(n);
  }

  // Server VAD: the stream's samples [start, end) are the utterance.
  void commit_segment(int64_t start, int64_t end) {
    size_t b = size_t(std::clamp<int64_t>(end - n_consumed_, 0, int64_t(buffer_.size())));
    size_t a = size_t(std::clamp<int64_t>(start - n_consumed_, 0, int64_t(b)));
    std::vector<float> audio(buffer_.begin() + long(a), buffer_.begin() + long(b));
    consume(b);
    commit(std::move(audio), td_.create_response);
  }

  void commit_manual() {
    if (buffer_.size() < size_t(kRate / 10))
      return error("invalid_request_error", "the input audio buffer has less than 100 ms of audio", "input_audio_buffer_commit_empty");
    std::vector<float> audio(buffer_.begin(), buffer_.end());
    consume(buffer_.size());
    restart_vad();  // what the detector saw so far is committed
    commit(std::move(audio), true);
  }

  // Commits audio as a user turn: transcribes it and (unless told not to) answers it.
  void commit(std::vector<float> audio, bool respond_now) {
    std::string id = item_id();
    n_items_++;
    send({{"type", "input_audio_buffer.committed"}, {"item_id", id}, {"previous_item_id", nullptr}});
    send({{"type", "conversation.item.created"}, {"item", {{"id", id}, {"object", "realtime.item"}, {"type", "message"}, {"role", "user"},
                                                             {"content", Json::array({{{"type", "input_audio"}}})}}}});
    if (!s_->asr) return error("server_error", "no speech recognition on this server (--asr-model)", "asr_unavailable");
    Transcript t = s_->asr->transcribe(audio, language_, "", nullptr);
    std::string text = t.text;
    size_t a0 = text.find_first_not_of(' ');
    text = a0 == std::string::npos ? "" : text.substr(a0);
    send({{"type", "conversation.item.input_audio_transcription.completed"}, {"item_id", id}, {"content_index", 0}, {"transcript", text},
          {"language", t.language.empty() ? language_ : t.language}});
    last_text_ = text;
    if (!text.empty() && respond_now) respond(text);
  }

  void item_create(const Json& ev) {
    const Json& item = ev.contains("item") ? ev["item"] : Json();
    if (!item.is_object() || !item.contains("content") || !item["content"].is_array()) return error("invalid_request_error", "conversation.item.create needs item.content");
    std::string text;
    for (const auto& c : item["content"])
      if (c.is_object() && c.contains("text") && c["text"].is_string()) text += c["text"].get<std::string>();
    std::string id = item_id();
    n_items_++;
    send({{"type", "conversation.item.created"}, {"item", {{"id", id}, {"object", "realtime.item"}, {"type", "message"}, {"role", "user"}}}});
    last_text_ = text;
  }

  void respond_to_last() {
    if (last_text_.empty()) return error("invalid_request_error", "nothing to respond to");
    respond(last_text_);
  }

  // One response: the agent acts on the utterance in this socket's conversation (so "yes"/"no"
  // answers a pending confirmation); its reply is the text output and the action travels as a
  // function call plus an omni.action event.
  void respond(const std::string& text) {
    std::string rid = "resp_" + std::to_string(++n_responses_);
    send({{"type", "response.created"}, {"response", {{"id", rid}, {"object", "realtime.response"}, {"status", "in_progress"}, {"output", Json::array()}}}});
    Json output = Json::array();
    std::string reply;
    if (s_->actor) {
      Json result = run_act(*s_, {{"text", text}, {"conversation_id", conversation_id()}}, nullptr);
      reply = result.value("reply", "");
      if (!result["action"].is_null()) {
        Json action = result["action"];
        std::string call_id = "call_" + std::to_string(n_responses_);
        send({{"type", "response.function_call_arguments.done"}, {"response_id", rid}, {"item_id", "item_fc_" + std::to_string(n_responses_)},
              {"output_index", 0}, {"call_id", call_id}, {"name", result.value("action_name", "")}, {"arguments", action.dump()}});
        send({{"type", "omni.action"}, {"response_id", rid}, {"conversation_id", conversation_id()}, {"action", action},
              {"policy", result.contains("policy") && result["policy"].is_string() ? result["policy"] : Json("")},
              {"tier", result.value("tier", Json())}, {"executed", result.value("executed", false)}, {"ok", result.value("ok", false)},
              {"execution", result.value("execution", Json())}, {"reply", reply}});
        output.push_back({{"type", "function_call"}, {"call_id", call_id}, {"name", result.value("action_name", "")}, {"arguments", action.dump()}});
      }
    } else {
      reply = "Actions are not available on this server.";
    }
    std::string item = "item_out_" + std::to_string(n_responses_);
    if (!reply.empty()) {
      send({{"type", "response.output_text.delta"}, {"response_id", rid}, {"item_id", item}, {"output_index", output.size()}, {"content_index", 0}, {"delta", reply}});
      send({{"type", "response.output_text.done"}, {"response_id", rid}, {"item_id", item}, {"output_index", output.size()}, {"content_index", 0}, {"text", reply}});
      output.push_back({{"type", "message"}, {"role", "assistant"}, {"content", Json::array({{{"type", "text"}, {"text", reply}}})}});
    }
    send({{"type", "response.done"}, {"response", {{"id", rid}, {"object", "realtime.response"}, {"status", "completed"}, {"output", output}}}});
  }

  std::shared_ptr<Services> s_;
  std::shared_ptr<WsChannel> ch_;
  std::string token_;     // random: names the session and its agent conversation
  std::string language_;  // transcription language ("auto" = detect)
  TurnDetection td_;
  std::unique_ptr<StreamingVad> vad_;
  Json session_;
  int rate_ = 24000;  // OpenAI's default
  // The stream as 16 kHz samples: n_received_ so far; buffer_ holds [n_consumed_, n_received_).
  std::vector<float> buffer_;
  int64_t n_received_ = 0, n_consumed_ = 0;
  int64_t vad_origin_ = 0;    // stream sample where the detector's time 0 is
  int64_t speech_start_ = 0;  // stream sample where the open utterance begins (with its padding)
  bool in_speech_ = false;
  int n_items_ = 0, n_responses_ = 0;
  uint64_t n_events_ = 0;
  std::string last_text_;
};

}  // namespace

void register_realtime_routes(Server& server, std::shared_ptr<Services> svc) {
  server.add_route({"GET", "/v1/realtime", false, false, true, false, nullptr,
                    [svc](const Request&, std::shared_ptr<WsChannel> ch) { return std::make_shared<RealtimeSession>(svc, ch); },
                    "/v1/realtime"});
}

}  // namespace omni::server
