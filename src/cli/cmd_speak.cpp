// `omni speak`: text to speech with espeak-ng (English and Chinese voices), written as a WAV file.
#include <fstream>
#include <iostream>

#include "audio/tts.hpp"
#include "cli/commands.hpp"
#include "omni/error.hpp"

namespace omni::cli {

extern const CommandSpec k_speak_spec = {
    "speak",
    "omni speak \"TEXT\" [-v VOICE] [--rate WPM] [--pitch P] -o OUT.wav",
    "Speak text into a WAV file (espeak-ng).",
    "Voices: en (American English, default), en-gb, zh (Mandarin Chinese), or any espeak-ng voice\n"
    "name. Rate is in words per minute (80..450, default 175); pitch 0..100 (default 50).",
    {
        {"voice", 'v', true, "VOICE", "voice: en, en-gb, zh ... (default en)"},
        {"rate", 0, true, "WPM", "speaking rate in words per minute (default 175)"},
        {"pitch", 0, true, "P", "pitch 0..100 (default 50)"},
        {"output", 'o', true, "FILE", "output WAV file (16-bit PCM mono)"},
    },
    1,
    1};

int run_speak(const Args& args) {
  const std::string out = args.require("output");
  audio::TtsOptions o;
  o.voice = args.get("voice", "en");
  o.rate_wpm = int(args.get_int("rate", 175));
  o.pitch = int(args.get_int("pitch", 50));
  const auto wav = audio::synthesize_wav(args.positional()[0], o);
  std::ofstream f(out, std::ios::binary);
  if (!f) fail(ErrorCode::io, out, ": cannot create file");
  f.write(reinterpret_cast<const char*>(wav.data()), long(wav.size()));
  if (!f) fail(ErrorCode::io, out, ": write failed");
  std::cerr << "wrote " << out << " (" << wav.size() << " bytes)\n";
  return 0;
}

}  // namespace omni::cli
