// POST /v1/act: {"text"?, "audio"? (base64 wav/mp3), "language"?, "image"? (data URL), "dry_run"?,
// "speak"?, "confirm"?, "conversation_id"?, "seed"?, "tier"?} -> the agent's turn (action, policy,
// execution, reply) plus "transcript" and "language" when audio was given and "speech" (base64
// WAV) when speak is true.
// Every turn is also broadcast on /v1/events as {"type":"omni.turn", ...}.
#include <cctype>

#include "agent/episode_store.hpp"
#include "server/media.hpp"
#include "server/routes.hpp"

namespace omni::server {

std::string normalize_language(const std::string& code) {
  std::string out;
  for (char c : code)
    if (!std::isspace(uint8_t(c))) out.push_back(char(std::tolower(uint8_t(c))));
  return out.empty() ? "auto" : out;
}

std::string voice_language(const Services& s, const Json& requested, const std::string& param) {
  if (requested.is_null()) return s.asr_language;
  if (!requested.is_string()) bad_request(cat("'", param, "' must be a string: an ISO 639-1 code such as \"en\", or \"auto\""), param);
  std::string lang = normalize_language(requested.get<std::string>());
  bool plausible = lang == "auto" || ((lang.size() == 2 || lang.size() == 3) &&
                                      lang.find_first_not_of("abcdefghijklmnopqrstuvwxyz") == std::string::npos);
  if (!plausible) bad_request(cat("'", param, "' must be an ISO 639-1 code such as \"en\", or \"auto\""), param);
  if (s.asr)
    if (std::string why = s.asr->language_problem(lang); !why.empty()) bad_request(cat("'", param, "': ", why), param);
  return lang;
}

Json run_act(Services& s, const Json& b, const std::atomic<bool>* cancel) {
  Json req = Json::object();
  auto opt_bool = [&](const char* k) {
    if (b.contains(k) && !b[k].is_null()) {
      if (!b[k].is_boolean()) bad_request(cat("'", k, "' must be a boolean"), k);
      req[k] = b[k];
    }
  };
  opt_bool("dry_run");
  opt_bool("speak");
  opt_bool("confirm");
  for (const char* k : {"conversation_id", "tier"})
    if (b.contains(k) && !b[k].is_null()) {
      if (!b[k].is_string()) bad_request(cat("'", k, "' must be a string"), k);
      req[k] = b[k];
    }
  if (req.contains("tier") && req["tier"] != "0" && req["tier"] != "1" && req["tier"] != "auto") bad_request("'tier' must be \"0\", \"1\" or \"auto\"", "tier");
  if (b.contains("seed") && !b["seed"].is_null()) {
    if (!b["seed"].is_number_integer()) bad_request("'seed' must be an integer", "seed");
    req["seed"] = b["seed"];
  }
  std::string text;
  if (b.contains("text") && !b["text"].is_null()) {
    if (!b["text"].is_string()) bad_request("'text' must be a string", "text");
    text = b["text"];
  }
  std::string transcript, language;
  bool have_audio = b.contains("audio") && !b["audio"].is_null();
  if (b.contains("language") && !b["language"].is_null()) language = voice_language(s, b["language"], "language");
  if (have_audio) {
    if (!b["audio"].is_string()) bad_request("'audio' must be a base64 string (wav or mp3)", "audio");
    std::string a = b["audio"];
    std::string bytes = a.rfind("data:", 0) == 0 ? load_media_url(a, "", s.limits.max_media_bytes, "audio").bytes : base64_decode_strict(a, "audio");
    if (!s.decode_audio) unavailable("audio input", "the audio layer is not built in");
    std::vector<float> samples;
    try {
      samples = s.decode_audio(bytes, s.limits.max_audio_seconds);
    } catch (const Error& e) {
      if (e.code() == ErrorCode::too_large) throw;
      throw HttpError(400, "invalid_request_error", "unsupported_audio", cat("could not decode 'audio': ", e.what()), std::string("audio"));
    }
    if (!s.asr) unavailable("voice input", "start the server with --asr-model WHISPER.bin");
    if (language.empty()) language = voice_language(s, Json(), "language");
    Transcript t = s.asr->transcribe(samples, language, "", cancel);
    transcript = t.text;
    if (!t.language.empty()) language = t.language;  // what "auto" detected
    req["audio_sha256"] = agent::sha256_hex(bytes);
    size_t a0 = transcript.find_first_not_of(' ');
    transcript = a0 == std::string::npos ? "" : transcript.substr(a0);
    if (text.empty()) text = transcript;
  }
  if (b.contains("image") && !b["image"].is_null()) {
    if (!b["image"].is_string()) bad_request("'image' must be a data: URL", "image");
    MediaBytes m = load_media_url(b["image"], s.media_dir, s.limits.max_media_bytes, "image");
    if (m.mime.rfind("image/", 0) != 0) bad_request(cat("'image' is not an image (", m.mime, ")"), "image");
    req["image"] = b["image"];
  }
  if (text.empty() && !have_audio) bad_request("give 'text' or 'audio'", "text");
  req["text"] = text;
  if (!s.actor) unavailable("actions", "the agent could not start");
  Json result = s.actor->act(req);
  if (have_audio) {
    result["transcript"] = transcript;
    result["language"] = language;
  }
  result["text"] = text;
  if (b.value("speak", false)) {
    std::string reply = result.value("reply", "");
    if (!s.tts) unavailable("spoken replies", "start the server without --no-tts");
    result["speech"] = reply.empty() ? Json(nullptr) : Json(base64_encode(s.tts->synthesize_wav(reply, "en", 1.0)));
    result["speech_format"] = "wav";
  }
  Json ev = {{"type", "omni.turn"}, {"text", text}, {"action", result.value("action", Json())}, {"policy", result.contains("policy") && result["policy"].is_string() ? result["policy"] : Json("")},
             {"executed", result.value("executed", false)}, {"ok", result.value("ok", false)}, {"reply", result.value("reply", "")}};
  s.events->publish(ev.dump(-1, ' ', false, Json::error_handler_t::replace));
  return result;
}

void register_act_routes(Server& server, std::shared_ptr<Services> svc) {
  server.add_route({"POST", "/v1/act", false, false, true, false,
                    [svc](const Request& req, Responder& r) {
                      Json b = req.json_body();
                      r.send(Response::json(run_act(*svc, b, r.cancel_flag().get())));
                    },
                    nullptr, "/v1/act"});
}

}  // namespace omni::server
