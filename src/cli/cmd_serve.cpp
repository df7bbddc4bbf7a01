// `omni serve`: the OpenAI-compatible HTTP/WebSocket server with whatever components are given
// (no model at all still serves tier-0 actions, TTS, the console and events).
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/commands.hpp"
#include "runtime/batch_scheduler.hpp"
#include "server/app.hpp"
#include "server/static_files.hpp"

namespace omni::cli {

extern const CommandSpec k_serve_spec = {
    "serve",
    "omni serve [-m MODEL.gguf] [--asr-model F] [--vad-model F] [--llm-backend URL] [--host H] [--port P] [options]",
    "Serve the OpenAI-compatible API, the realtime voice WebSocket and the 3D console.",
    "Starts an HTTP/1.1 + WebSocket server with whatever is given: an LLM (-m, or --llm-backend for a\n"
    "remote OpenAI-compatible engine), Whisper ASR (--asr-model), Silero VAD (--vad-model), the action\n"
    "catalog (--catalog, default: the built-in demo) and espeak-ng TTS. Without any model, tier-0 actions,\n"
    "speech synthesis and the console still work. Prints what is active and the URL, then serves until\n"
    "SIGINT/SIGTERM (in-flight requests finish or are cancelled; exit status 0).\n\n"
    "Endpoints: GET /health (public), GET /v1/models, GET /metrics, POST /v1/chat/completions,\n"
    "POST /v1/completions, POST /v1/audio/transcriptions, POST /v1/audio/speech, POST /v1/act,\n"
    "GET /v1/realtime (WebSocket), GET /v1/events (SSE or WebSocket scene events), console files at /.\n\n"
    "Security: binds 127.0.0.1 unless --host says otherwise; with --api-key/--api-key-file every route\n"
    "but /health and the console files needs 'Authorization: Bearer KEY'; CORS is off unless --cors-origin.",
    {
        {"model", 'm', true, "MODEL.gguf", "LLM to load in-process"},
        {"mmproj", 0, true, "F", "vision projector (GGUF) for image inputs"},
        {"asr-model", 0, true, "F", "Whisper model (whisper.cpp ggml .bin)"},
        {"asr-language", 0, true, "CODE", "language of voice input to /v1/act and realtime: ISO 639-1 code or auto (default auto)"},
        {"vad-model", 0, true, "F", "Silero VAD model (ggml .bin) for realtime server VAD"},
        {"catalog", 0, true, "F", "action catalog (default: built-in demo catalog)"},
        {"llm-backend", 0, true, "URL", "remote OpenAI-compatible server for the LLM tier (e.g. http://host:8080)"},
        {"llm-backend-model", 0, true, "NAME", "model name sent to --llm-backend (default: its first model)"},
        {"host", 0, true, "H", "address to bind (default 127.0.0.1)"},
        {"port", 'p', true, "P", "port (default 8080; 0 = any free port)"},
        {"api-key", 0, true, "K", "require this Bearer key (repeatable)", true},
        {"api-key-file", 0, true, "F", "file with one API key per line"},
        {"threads", 't', true, "N", "compute threads (default: all cores)"},
        {"parallel", 0, true, "N", "concurrent LLM sequences (default 4)"},
        {"ctx", 'c', true, "N", "context length per sequence (default 4096)"},
        {"decode-kernels", 0, true, "K",
         "gemm (default: outputs independent of the load, best with many streams), matvec (also independent; a lone stream about 2x faster, many slower) or mixed (fast both ways; outputs may differ by rounding with the load)"},
        {"cors-origin", 0, true, "O", "allow browser requests from origin O ('*' for any)"},
        {"media-dir", 0, true, "D", "allow file:// image/audio URLs under D"},
        {"web-dir", 0, true, "D", "console files (default: web/dist of the source tree or next to the binary)"},
        {"db", 0, true, "PATH", "episode store (SQLite) for the agent"},
        {"dry-run", 0, false, "", "agent decides actions but executes nothing"},
        {"max-body-mb", 0, true, "N", "request body limit in MiB (default 32)"},
        {"max-audio-seconds", 0, true, "S", "audio duration limit (default 600)"},
        {"max-image-pixels", 0, true, "N", "image pixel limit (default 16777216)"},
        {"max-queue", 0, true, "N", "requests in flight before 429 (default 48)"},
        {"timeout", 0, true, "S", "per-request timeout in seconds (default 600)"},
        {"io-threads", 0, true, "N", "I/O threads (default 2)"},
        {"no-tts", 0, false, "", "disable espeak-ng speech"},
        {"quiet", 'q', false, "", "only print errors"},
    },
    0,
    0};

static std::vector<std::string> read_keys(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(ErrorCode::not_found, "--api-key-file ", path, ": cannot open");
  std::vector<std::string> keys;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty() && line[0] != '#') keys.push_back(line);
  }
  if (keys.empty()) fail(ErrorCode::invalid_argument, "--api-key-file ", path, " has no keys");
  return keys;
}

int run_serve(const Args& a) {
  server::ServeConfig c;
  c.model = a.get("model", "");
  c.mmproj = a.get("mmproj", "");
  c.asr_model = a.get("asr-model", "");
  c.asr_language = a.get("asr-language", "auto");
  c.vad_model = a.get("vad-model", "");
  c.catalog = a.get("catalog", "");
  c.llm_backend = a.get("llm-backend", "");
  c.llm_backend_model = a.get("llm-backend-model", "");
  c.media_dir = a.get("media-dir", "");
  c.web_dir = a.has("web-dir") ? a.get("web-dir", "") : server::default_web_dir();
  c.db = a.get("db", "");
  c.dry_run = a.has("dry-run");
  c.tts = !a.has("no-tts");
  c.threads = int(a.get_int("threads", 0));
  c.parallel = int(a.get_int("parallel", 4));
  c.ctx = int(a.get_int("ctx", 4096));
  c.decode_kernels = a.get("decode-kernels", "gemm");
  runtime::parse_decode_kernels(c.decode_kernels);  // an unknown name is refused before anything loads
  if (c.parallel < 1 || c.parallel > 256) fail(ErrorCode::invalid_argument, "--parallel must be 1..256");
  if (c.ctx < 16) fail(ErrorCode::invalid_argument, "--ctx must be at least 16");
  if (!c.model.empty() && !c.llm_backend.empty()) fail(ErrorCode::invalid_argument, "give -m or --llm-backend, not both");
  auto& so = c.server;
  so.host = a.get("host", "127.0.0.1");
  int64_t port = a.get_int("port", 8080);
  if (port < 0 || port > 65535) fail(ErrorCode::invalid_argument, "--port must be 0..65535");
  so.port = int(port);
  so.api_keys = a.values("api-key");
  if (a.has("api-key-file")) for (auto& k : read_keys(a.get("api-key-file", ""))) so.api_keys.push_back(k);
  so.cors_origin = a.get("cors-origin", "");
  so.io_threads = int(a.get_int("io-threads", 2));
  so.max_body_bytes = size_t(a.get_int("max-body-mb", 32)) << 20;
  so.max_in_flight = int(a.get_int("max-queue", 48));
  so.request_timeout_s = a.get_float("timeout", 600);
  c.limits.max_audio_seconds = a.get_float("max-audio-seconds", 600);
  c.limits.max_image_pixels = a.get_int("max-image-pixels", int64_t(4096) * 4096);
  if (so.io_threads < 1 || so.max_in_flight < 1 || so.request_timeout_s <= 0)
    fail(ErrorCode::invalid_argument, "--io-threads, --max-queue and --timeout must be positive");

  Logger log(a.has("quiet") ? LogLevel::error : LogLevel::info);
  auto services = server::build_services(c, log);
  server::Server srv(so, log);
  server::register_all_routes(srv, services, server::RouteConfig{c.web_dir});
  srv.start();
  if (!a.has("quiet")) {
    std::cout << "omni serve " << OMNI_VERSION << "\n";
    for (const auto& line : services->active) std::cout << "  active:  " << line << "\n";
    for (const auto& line : services->waiting) std::cout << "  off:     " << line << "\n";
    std::cout << "  auth:    " << (so.api_keys.empty() ? "none (no --api-key)" : std::to_string(so.api_keys.size()) + " API key(s)") << "\n";
    std::cout << "  console: " << srv.url() << "/  (files: " << c.web_dir << ")\n";
    std::cout << "listening on " << srv.url() << std::endl;
  }
  srv.run_until_signal();
  if (!a.has("quiet")) std::cout << "omni serve: stopped" << std::endl;
  return 0;
}

}  // namespace omni::cli
