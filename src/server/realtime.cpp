// GET /v1/realtime: a WebSocket speaking a subset of the OpenAI Realtime protocol. Input is PCM16
// (16 or 24 kHz) via input_audio_buffer.append; server VAD (Silero) emits speech_started /
// speech_stopped and commits each utterance; the turn is transcribed (Whisper), acted on by the
// agent (omni.action event with the executed action) and answered as a response
// (response.created, response.output_text.delta, response.function_call_arguments.done,
// response.done). Without VAD the client commits by hand (input_audio_buffer.commit).
#include <chrono>

#include "server/media.hpp"
#include "server/routes.hpp"

namespace omni::server {

Json run_act(Services& s, const Json& b, const std::atomic<bool>* cancel);  // api_act.cpp

namespace {

class RealtimeSession : public WsHandler {
 public:
  RealtimeSession(std::shared_ptr<Services> s, std::shared_ptr<WsChannel> ch) : s_(std::move(s)), ch_(std::move(ch)) {}

  void on_open() override {
    if (s_->make_vad) vad_ = s_->make_vad();
    session_ = {{"id", "sess_" + std::to_string(uintptr_t(this) & 0xffffff)}, {"object", "realtime.session"}, {"model", "omni-realtime"},
                {"modalities", {"text"}}, {"input_audio_format", "pcm16"}, {"input_audio_rate", rate_},
                {"turn_detection", vad_ ? Json{{"type", "server_vad"}} : Json(nullptr)},
                {"input_audio_transcription", s_->asr ? Json{{"model", "whisper-1"}} : Json(nullptr)}};
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
      if (type == "input_audio_buffer.commit") return commit(false);
      if (type == "input_audio_buffer.clear") {
        buffer_.clear();
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
  void send(const Json& j) {
    Json e = j;
    e["event_id"] = "event_" + std::to_string(++n_events_);
    ch_->send_text(e.dump(-1, ' ', false, Json::error_handler_t::replace));
  }
  void error(const std::string& type, const std::string& msg, const std::string& code = "invalid_event") {
    send({{"type", "error"}, {"error", {{"type", type}, {"code", code}, {"message", msg}}}});
  }

  void session_update(const Json& ev) {
    if (!ev.contains("session") || !ev["session"].is_object()) return error("invalid_request_error", "session.update needs a 'session' object");
    const Json& s = ev["session"];
    if (s.contains("input_audio_format") && s["input_audio_format"] != "pcm16")
      return error("invalid_request_error", "only input_audio_format \"pcm16\" is supported");
    if (s.contains("input_audio_rate")) {
      if (!s["input_audio_rate"].is_number_integer() || (s["input_audio_rate"] != 16000 && s["input_audio_rate"] != 24000))
        return error("invalid_request_error", "input_audio_rate must be 16000 or 24000");
      rate_ = s["input_audio_rate"];
    }
    if (s.contains("turn_detection")) {
      if (s["turn_detection"].is_null()) vad_.reset();
      else if (!vad_ && s_->make_vad) vad_ = s_->make_vad();
    }
    for (auto& [k, v] : s.items()) session_[k] = v;
    session_["input_audio_rate"] = rate_;
    send({{"type", "session.updated"}, {"session", session_}});
  }

  void append(const Json& ev) {
    if (!ev.contains("audio") || !ev["audio"].is_string()) return error("invalid_request_error", "input_audio_buffer.append needs base64 'audio'");
    std::string pcm = base64_decode_strict(ev["audio"], "audio");
    if (pcm.size() % 2) return error("invalid_request_error", "PCM16 audio must have an even number of bytes");
    if (!s_->decode_pcm16) return error("server_error", "audio decoding is not available");
    std::vector<float> x = s_->decode_pcm16(pcm, rate_);  // -> 16 kHz
    double max_samples = s_->limits.max_audio_seconds * 16000;
    if (double(buffer_.size() + x.size()) > max_samples) {
      buffer_.clear();
      return error("invalid_request_error", cat("the input audio buffer is longer than ", s_->limits.max_audio_seconds, " s; cleared"), "audio_too_long");
    }
    buffer_.insert(buffer_.end(), x.begin(), x.end());
    if (!vad_) return;
    for (auto& e : vad_->push(x.data(), x.size())) {
      int ms = int(e.time_s * 1000 + 0.5);
      if (e.speech_started) {
        speech_start_ = e.time_s;
        send({{"type", "input_audio_buffer.speech_started"}, {"audio_start_ms", ms}, {"item_id", item_id()}});
      } else {
        send({{"type", "input_audio_buffer.speech_stopped"}, {"audio_end_ms", ms}, {"item_id", item_id()}});
        commit(true, speech_start_, e.time_s);
      }
    }
  }

  std::string item_id() const { return "item_" + std::to_string(n_items_ + 1); }

  // Commits the buffer (or, for server VAD, the detected segment) as a user turn.
  void commit(bool from_vad, double start_s = 0, double end_s = 0) {
    std::vector<float> audio;
    if (from_vad) {
      size_t a = size_t(std::max(0.0, start_s - consumed_s_) * 16000), b = size_t(std::max(0.0, end_s - consumed_s_) * 16000);
      b = std::min(b, buffer_.size());
      a = std::min(a, b);
      audio.assign(buffer_.begin() + long(a), buffer_.begin() + long(b));
      buffer_.erase(buffer_.begin(), buffer_.begin() + long(b));
      consumed_s_ += double(b) / 16000.0;
    } else {
      audio.swap(buffer_);
      consumed_s_ += double(audio.size()) / 16000.0;
    }
    if (!from_vad && audio.size() < 1600) return error("invalid_request_error", "the input audio buffer has less than 100 ms of audio", "input_audio_buffer_commit_empty");
    std::string id = item_id();
    n_items_++;
    send({{"type", "input_audio_buffer.committed"}, {"item_id", id}, {"previous_item_id", nullptr}});
    send({{"type", "conversation.item.created"}, {"item", {{"id", id}, {"object", "realtime.item"}, {"type", "message"}, {"role", "user"},
                                                             {"content", Json::array({{{"type", "input_audio"}}})}}}});
    if (!s_->asr) return error("server_error", "no speech recognition on this server (--asr-model)", "asr_unavailable");
    std::string text = s_->asr->transcribe(audio, "en", "", nullptr).text;
    size_t a0 = text.find_first_not_of(' ');
    text = a0 == std::string::npos ? "" : text.substr(a0);
    send({{"type", "conversation.item.input_audio_transcription.completed"}, {"item_id", id}, {"content_index", 0}, {"transcript", text}});
    last_text_ = text;
    if (!text.empty()) respond(text);
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

  // One response: the agent acts on the utterance; its reply is the text output and the action
  // travels as a function call plus an omni.action event.
  void respond(const std::string& text) {
    std::string rid = "resp_" + std::to_string(++n_responses_);
    send({{"type", "response.created"}, {"response", {{"id", rid}, {"object", "realtime.response"}, {"status", "in_progress"}, {"output", Json::array()}}}});
    Json output = Json::array();
    std::string reply;
    if (s_->actor) {
      Json result = run_act(*s_, {{"text", text}, {"conversation_id", "realtime-" + rid}}, nullptr);
      reply = result.value("reply", "");
      if (!result["action"].is_null()) {
        Json action = result["action"];
        std::string call_id = "call_" + std::to_string(n_responses_);
        send({{"type", "response.function_call_arguments.done"}, {"response_id", rid}, {"item_id", "item_fc_" + std::to_string(n_responses_)},
              {"output_index", 0}, {"call_id", call_id}, {"name", result.value("action_name", "")}, {"arguments", action.dump()}});
        send({{"type", "omni.action"}, {"response_id", rid}, {"action", action}, {"policy", result.contains("policy") && result["policy"].is_string() ? result["policy"] : Json("")},
              {"executed", result.value("executed", false)}, {"ok", result.value("ok", false)},
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
  std::unique_ptr<StreamingVad> vad_;
  Json session_;
  int rate_ = 24000;  // OpenAI's default
  std::vector<float> buffer_;  // 16 kHz
  double consumed_s_ = 0, speech_start_ = 0;
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
