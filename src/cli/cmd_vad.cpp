// `omni vad`: Silero voice-activity detection (whisper.cpp's VAD ggml file): per-window speech
// probabilities and speech segments in seconds.
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "audio/decode.hpp"
#include "cli/commands.hpp"
#include "models/silero_vad.hpp"
#include "omni/error.hpp"

namespace omni::cli {

extern const CommandSpec k_vad_spec = {
    "vad",
    "omni vad --vad VAD.bin AUDIO [--json] [--threshold T] [--min-speech MS] [--min-silence MS] [--pad MS]",
    "Find speech in an audio file with the Silero VAD model.",
    "Prints one line per speech segment (start and end in seconds). With --json prints\n"
    "{\"probs\": [one speech probability per 32 ms window], \"segments\": [{\"start\": s, \"end\": s}, ...]}.",
    {
        {"vad", 0, true, "FILE", "Silero VAD model in whisper.cpp's ggml format (e.g. ggml-silero-v6.2.0.bin)"},
        {"json", 0, false, "", "print probabilities and segments as JSON"},
        {"threshold", 0, true, "T", "speech probability threshold (default 0.5)"},
        {"min-speech", 0, true, "MS", "drop segments shorter than MS milliseconds (default 250)"},
        {"min-silence", 0, true, "MS", "silence that ends a segment, in milliseconds (default 100)"},
        {"pad", 0, true, "MS", "padding added on each side of a segment (default 30)"},
        {"max-speech", 0, true, "S", "split segments longer than S seconds (default: no limit)"},
    },
    1,
    1};

int run_vad(const Args& args) {
  vad::SileroVad model(args.require("vad"));
  vad::VadParams p;
  p.threshold = float(args.get_float("threshold", 0.5));
  if (!(p.threshold > 0 && p.threshold < 1)) fail(ErrorCode::invalid_argument, "--threshold must be in (0, 1)");
  p.min_speech_duration_ms = int(args.get_int("min-speech", 250));
  p.min_silence_duration_ms = int(args.get_int("min-silence", 100));
  p.speech_pad_ms = int(args.get_int("pad", 30));
  if (p.min_speech_duration_ms < 0 || p.min_silence_duration_ms < 0 || p.speech_pad_ms < 0)
    fail(ErrorCode::invalid_argument, "durations must not be negative");
  if (args.has("max-speech")) p.max_speech_duration_s = float(args.get_float("max-speech", 0));
  const auto samples = audio::decode_audio_file(args.positional()[0]);
  const auto probs = model.probabilities(samples.data(), samples.size());
  const auto segs = vad::speech_segments(probs, p);
  if (args.has("json")) {
    nlohmann::json j;
    j["probs"] = probs;
    j["segments"] = nlohmann::json::array();
    for (const auto& s : segs) j["segments"].push_back({{"start", s.start}, {"end", s.end}});
    std::cout << j.dump() << "\n";
  } else {
    std::cout << std::fixed << std::setprecision(2);
    for (const auto& s : segs) std::cout << s.start << " --> " << s.end << "\n";
  }
  return 0;
}

}  // namespace omni::cli
