// `omni transcribe`: speech to text with a Whisper model (whisper.cpp ggml file), optional VAD
// gating, language detection or a given language, translation to English, txt/json/srt/vtt output.
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "audio/decode.hpp"
#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "models/whisper.hpp"
#include "omni/error.hpp"

namespace omni::cli {

extern const CommandSpec k_transcribe_spec = {
    "transcribe",
    "omni transcribe -m MODEL.bin AUDIO... [--vad VAD.bin] [-l LANG|auto] [--translate] [-f txt|json|srt|vtt]",
    "Transcribe speech with a Whisper model (whisper.cpp ggml file).",
    "Reads WAV, FLAC, OGG, MP3 (any rate, any channels; resampled to 16 kHz mono), runs Whisper over\n"
    "30 s windows with timestamps, and prints the transcript. With --vad, only the speech found by the\n"
    "Silero VAD model is transcribed (times stay on the original timeline). Decoding is greedy by\n"
    "default; --beam N uses beam search; temperatures 0.2..1.0 are retried when a window decodes badly.",
    {
        {"model", 'm', true, "FILE", "Whisper model (ggml-*.bin: tiny ... large-v3, f16/f32/quantized)"},
        {"vad", 0, true, "FILE", "Silero VAD model: transcribe only the detected speech"},
        {"language", 'l', true, "LANG", "spoken language code (en, zh, de ...) or auto; default en"},
        {"translate", 0, false, "", "translate to English"},
        {"format", 'f', true, "FMT", "output format: txt (default), json, srt or vtt"},
        {"output", 'o', true, "FILE", "write the output to FILE instead of stdout"},
        {"beam", 0, true, "N", "beam search with N beams (default 1: greedy)"},
        {"best-of", 0, true, "N", "samples per fallback temperature (default 5)"},
        {"no-timestamps", 0, false, "", "decode without timestamp tokens"},
        {"no-fallback", 0, false, "", "decode at temperature 0 only"},
        {"prompt", 0, true, "TEXT", "initial prompt (vocabulary, style)"},
        {"max-tokens", 0, true, "N", "stop each 30 s window after N tokens (default: no limit)"},
        {"threads", 't', true, "N", "threads (default: all cores)"},
        {"logits-out", 0, true, "FILE", "write the float32 logits of the last prompt position of the first window"},
    },
    1,
    -1};

namespace {

std::string timestamp(double s, char sep) {
  const int64_t ms = int64_t(s * 1000.0 + 0.5);
  std::ostringstream os;
  os << std::setfill('0') << std::setw(2) << ms / 3600000 << ':' << std::setw(2) << (ms / 60000) % 60 << ':'
     << std::setw(2) << (ms / 1000) % 60 << sep << std::setw(3) << ms % 1000;
  return os.str();
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\n"), b = s.find_last_not_of(" \t\n");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

nlohmann::json to_json(const std::string& file, const whisper::Transcript& t) {
  nlohmann::json segs = nlohmann::json::array();
  for (const auto& s : t.segments)
    segs.push_back({{"start", s.start}, {"end", s.end}, {"text", trim(s.text)}, {"tokens", s.tokens},
                    {"avg_logprob", s.avg_logprob}, {"no_speech_prob", s.no_speech_prob}});
  return {{"file", file}, {"text", t.text}, {"language", t.language}, {"duration", t.duration_s}, {"segments", segs}};
}

}  // namespace

int run_transcribe(const Args& args) {
  const std::string model_path = args.require("model");
  const std::string format = args.get("format", "txt");
  if (format != "txt" && format != "json" && format != "srt" && format != "vtt")
    fail(ErrorCode::invalid_argument, "--format must be txt, json, srt or vtt (got '", format, "')");
  whisper::Options opt;
  opt.language = args.get("language", "en");
  opt.translate = args.has("translate");
  opt.timestamps = !args.has("no-timestamps");
  opt.beam_size = int(args.get_int("beam", 1));
  if (opt.beam_size < 1 || opt.beam_size > 16) fail(ErrorCode::invalid_argument, "--beam must be 1..16");
  opt.best_of = int(args.get_int("best-of", 5));
  if (opt.best_of < 1 || opt.best_of > 16) fail(ErrorCode::invalid_argument, "--best-of must be 1..16");
  if (args.has("no-fallback")) opt.temperatures = {0.0f};
  opt.initial_prompt = args.get("prompt", "");
  opt.max_tokens = int(args.get_int("max-tokens", 0));
  if (opt.max_tokens < 0 || opt.max_tokens > 224) fail(ErrorCode::invalid_argument, "--max-tokens must be 0..224");
  const int threads = int(args.get_int("threads", 0));
  if (threads < 0 || threads > 1024) fail(ErrorCode::invalid_argument, "--threads must be 0..1024");
  ThreadPool pool(threads);
  whisper::Model model(model_path);
  std::unique_ptr<vad::SileroVad> vad_model;
  if (auto v = args.value("vad")) {
    vad_model = std::make_unique<vad::SileroVad>(*v);
    opt.vad = vad_model.get();
    opt.use_vad = true;
  }
  std::vector<float> first_logits;
  const auto logits_out = args.value("logits-out");
  std::ostringstream out;
  nlohmann::json all = nlohmann::json::array();
  const auto& files = args.positional();
  for (size_t fi = 0; fi < files.size(); ++fi) {
    const std::vector<float> samples = audio::decode_audio_file(files[fi]);
    opt.first_prompt_logits = (fi == 0 && logits_out) ? &first_logits : nullptr;
    const double duration = double(samples.size()) / audio::kSampleRate;
    std::unique_ptr<ProgressBar> bar;
    if (duration > 30.0) {
      bar = std::make_unique<ProgressBar>("transcribe " + files[fi], 1000, ProgressBar::Unit::items);
      opt.progress = [&](double f) { bar->set(uint64_t(f * 1000)); };
    } else {
      opt.progress = nullptr;
    }
    const whisper::Transcript t = model.transcribe(samples, opt, pool);
    if (bar) bar->finish();
    if (format == "json") {
      all.push_back(to_json(files[fi], t));
    } else if (format == "txt") {
      if (files.size() > 1) out << "# " << files[fi] << "\n";
      out << t.text << "\n";
    } else {
      if (format == "vtt") out << "WEBVTT\n\n";
      int n = 1;
      for (const auto& s : t.segments) {
        if (format == "srt") out << n++ << "\n";
        const char sep = format == "srt" ? ',' : '.';
        out << timestamp(s.start, sep) << " --> " << timestamp(s.end, sep) << "\n" << trim(s.text) << "\n\n";
      }
    }
  }
  if (format == "json") out << (all.size() == 1 ? all[0] : all).dump(2) << "\n";
  if (logits_out) {
    std::ofstream lf(*logits_out, std::ios::binary);
    if (!lf) fail(ErrorCode::io, *logits_out, ": cannot create file");
    lf.write(reinterpret_cast<const char*>(first_logits.data()), long(first_logits.size() * sizeof(float)));
    if (!lf) fail(ErrorCode::io, *logits_out, ": write failed");
  }
  if (auto o = args.value("output")) {
    std::ofstream f(*o);
    if (!f) fail(ErrorCode::io, *o, ": cannot create file");
    f << out.str();
  } else {
    std::cout << out.str();
  }
  return 0;
}

}  // namespace omni::cli
