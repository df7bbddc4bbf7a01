// Text-to-speech through the espeak-ng library: English and Chinese (Mandarin) voices, speaking rate
// and pitch, returned as 16-bit PCM WAV bytes or float samples.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace omni::audio {

struct TtsOptions {
  std::string voice = "en";  // "en", "en-us", "en-gb", "zh" (= Mandarin "cmn"), or any espeak-ng voice name
  int rate_wpm = 175;        // words per minute, 80..450
  int pitch = 50;            // 0..100
};

struct SpeechAudio {
  std::vector<int16_t> samples;  // mono
  int sample_rate = 0;           // espeak-ng's native rate (22050)
};

// Synthesizes UTF-8 text. Throws omni::Error (invalid_argument for a bad voice/rate/pitch or empty
// text, internal when espeak-ng cannot start). Safe to call from several threads (serialised).
SpeechAudio synthesize(const std::string& text, const TtsOptions& options = {});
std::vector<uint8_t> synthesize_wav(const std::string& text, const TtsOptions& options = {});

}  // namespace omni::audio
