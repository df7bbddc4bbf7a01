// POST /v1/audio/speech (espeak-ng WAV) and POST /v1/audio/transcriptions (multipart/form-data:
// file, model, language, prompt, response_format json|text|srt|vtt|verbose_json).
#include <cstdio>

#include "server/routes.hpp"

namespace omni::server {

namespace {

struct FormPart {
  std::string name, filename, content_type, data;
};

// Minimal multipart/form-data parser (RFC 7578): every failure is a 400.
std::map<std::string, FormPart> parse_multipart(const Request& req) {
  std::string ct = req.header("content-type");
  if (ct.rfind("multipart/form-data", 0) != 0) bad_request("the body must be multipart/form-data with a 'file' field");
  size_t bp = ct.find("boundary=");
  if (bp == std::string::npos) bad_request("multipart/form-data without a boundary");
  std::string boundary = ct.substr(bp + 9);
  if (size_t semi = boundary.find(';'); semi != std::string::npos) boundary.resize(semi);
  if (boundary.size() >= 2 && boundary.front() == '"') boundary = boundary.substr(1, boundary.size() - 2);
  if (boundary.empty() || boundary.size() > 200) bad_request("bad multipart boundary");
  const std::string delim = "--" + boundary;
  const std::string& b = req.body;
  std::map<std::string, FormPart> parts;
  size_t pos = b.find(delim);
  if (pos == std::string::npos) bad_request("multipart body has no parts");
  for (;;) {
    pos += delim.size();
    if (b.compare(pos, 2, "--") == 0) break;
    if (b.compare(pos, 2, "\r\n") != 0) bad_request("malformed multipart body");
    pos += 2;
    size_t hend = b.find("\r\n\r\n", pos);
    if (hend == std::string::npos) bad_request("malformed multipart part headers");
    std::string headers = b.substr(pos, hend - pos);
    size_t next = b.find("\r\n" + delim, hend + 4);
    if (next == std::string::npos) bad_request("multipart body is truncated");
    FormPart part;
    part.data = b.substr(hend + 4, next - hend - 4);
    std::string lower = headers;
    for (auto& c : lower) c = char(std::tolower(uint8_t(c)));
    auto field = [&](const std::string& key) -> std::string {
      size_t k = lower.find(key + "=\"");
      if (k == std::string::npos) return "";
      size_t s = k + key.size() + 2, e = headers.find('"', s);
      return e == std::string::npos ? "" : headers.substr(s, e - s);
    };
    if (lower.find("content-disposition:") == std::string::npos) bad_request("multipart part without Content-Disposition");
    part.name = field(" name");
    if (part.name.empty()) part.name = field(";name");
    part.filename = field("filename");
    if (size_t c = lower.find("content-type:"); c != std::string::npos) {
      size_t e = lower.find("\r\n", c);
      part.content_type = headers.substr(c + 13, e == std::string::npos ? std::string::npos : e - c - 13);
    }
    if (!part.name.empty()) parts[part.name] = std::move(part);
    pos = next + 2;
  }
  return parts;
}

std::string timestamp(double t, char sep) {
  if (t < 0) t = 0;
  int64_t ms = int64_t(t * 1000 + 0.5);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld%c%03lld", (long long)(ms / 3600000), (long long)(ms / 60000 % 60),
                (long long)(ms / 1000 % 60), sep, (long long)(ms % 1000));
  return buf;
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

}  // namespace

void register_audio_routes(Server& server, std::shared_ptr<Services> svc) {
  server.add_route({"POST", "/v1/audio/speech", false, false, true, false,
                    [svc](const Request& req, Responder& r) {
                      Json b = req.json_body();
                      if (!b.contains("input") || !b["input"].is_string()) bad_request("'input' must be a string", "input");
                      std::string input = b["input"];
                      if (input.empty()) bad_request("'input' is empty", "input");
                      if (input.size() > 4096) throw HttpError(413, "invalid_request_error", "input_too_long", "'input' is longer than 4096 characters", std::string("input"));
                      if (b.contains("model") && !b["model"].is_string()) bad_request("'model' must be a string", "model");
                      std::string voice = "en";
                      if (b.contains("voice")) {
                        if (!b["voice"].is_string()) bad_request("'voice' must be a string", "voice");
                        std::string v = b["voice"];
                        // OpenAI's voice names map to English; espeak-ng names ("en-gb", "zh") pass through.
                        static const char* openai_voices[] = {"alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse"};
                        bool is_openai = false;
                        for (auto* n : openai_voices) is_openai |= v == n;
                        voice = is_openai ? "en" : v;
                      }
                      double speed = 1.0;
                      if (b.contains("speed")) {
                        if (!b["speed"].is_number() || b["speed"].get<double>() < 0.25 || b["speed"].get<double>() > 4.0)
                          bad_request("'speed' must be a number from 0.25 to 4.0", "speed");
                        speed = b["speed"];
                      }
                      std::string fmt = "wav";
                      if (b.contains("response_format")) {
                        if (!b["response_format"].is_string()) bad_request("'response_format' must be a string", "response_format");
                        fmt = b["response_format"];
                      }
                      if (fmt != "wav" && fmt != "pcm")
                        bad_request("'response_format' must be \"wav\" or \"pcm\" (this server has no mp3/opus/aac/flac encoder)", "response_format");
                      if (!svc->tts) unavailable("speech synthesis", "start the server without --no-tts");
                      std::string wav = svc->tts->synthesize_wav(input, voice, speed);
                      if (fmt == "pcm") r.send(Response::text(wav.size() > 44 ? wav.substr(44) : "", "audio/pcm"));
                      else r.send(Response::text(std::move(wav), "audio/wav"));
                    },
                    nullptr, "/v1/audio/speech"});

  server.add_route({"POST", "/v1/audio/transcriptions", false, false, true, false,
                    [svc](const Request& req, Responder& r) {
                      auto parts = parse_multipart(req);
                      auto file = parts.find("file");
                      if (file == parts.end() || file->second.data.empty()) bad_request("the form needs a non-empty 'file' field", "file");
                      std::string fmt = parts.count("response_format") ? trim(parts["response_format"].data) : "json";
                      if (fmt != "json" && fmt != "text" && fmt != "srt" && fmt != "vtt" && fmt != "verbose_json")
                        bad_request("'response_format' must be json, text, srt, vtt or verbose_json", "response_format");
                      // No language field: the server's --asr-language (default: detect it).
                      const std::string language =
                          voice_language(*svc, parts.count("language") ? Json(trim(parts["language"].data)) : Json(), "language");
                      std::string prompt = parts.count("prompt") ? parts["prompt"].data : "";
                      if (parts.count("temperature")) {
                        char* end = nullptr;
                        std::string t = trim(parts["temperature"].data);
                        double v = std::strtod(t.c_str(), &end);
                        if (t.empty() || *end || v < 0 || v > 1) bad_request("'temperature' must be a number from 0 to 1", "temperature");
                      }
                      if (!svc->decode_audio) unavailable("audio decoding", "the audio layer is not built in");
                      std::vector<float> samples;
                      try {
                        samples = svc->decode_audio(file->second.data, svc->limits.max_audio_seconds);
                      } catch (const Error& e) {
                        if (e.code() == ErrorCode::too_large) throw;
                        throw HttpError(400, "invalid_request_error", "unsupported_audio",
                                        cat("could not decode the uploaded audio (", file->second.filename, "): ", e.what()), std::string("file"));
                      }
                      if (!svc->asr) unavailable("transcription", "start the server with --asr-model WHISPER.bin");
                      Transcript t = svc->asr->transcribe(samples, language, prompt, r.cancel_flag().get());
                      std::string text = trim(t.text);
                      if (fmt == "text") return r.send(Response::text(text + "\n"));
                      if (fmt == "json") return r.send(Response::json({{"text", text}}));
                      if (fmt == "verbose_json") {
                        Json segs = Json::array();
                        for (size_t i = 0; i < t.segments.size(); ++i)
                          segs.push_back({{"id", i}, {"start", t.segments[i].start}, {"end", t.segments[i].end}, {"text", t.segments[i].text}});
                        return r.send(Response::json({{"task", "transcribe"}, {"language", t.language.empty() ? language : t.language},
                                                      {"duration", t.duration_s}, {"text", text}, {"segments", segs}}));
                      }
                      std::string out = fmt == "vtt" ? "WEBVTT\n\n" : "";
                      for (size_t i = 0; i < t.segments.size(); ++i) {
                        const auto& s = t.segments[i];
                        char sep = fmt == "vtt" ? '.' : ',';
                        if (fmt == "srt") out += std::to_string(i + 1) + "\n";
                        out += timestamp(s.start, sep) + " --> " + timestamp(s.end, sep) + "\n" + trim(s.text) + "\n\n";
                      }
                      r.send(Response::text(out, fmt == "vtt" ? "text/vtt; charset=utf-8" : "application/x-subrip; charset=utf-8"));
                    },
                    nullptr, "/v1/audio/transcriptions"});
}

}  // namespace omni::server
