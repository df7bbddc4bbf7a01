// espeak-ng synthesis in synchronous mode, collecting samples through the synth callback. espeak-ng
// keeps global state, so calls are serialised by a mutex local to this file.
#include "audio/tts.hpp"

#include <espeak-ng/speak_lib.h>

#include <cstring>
#include <mutex>

#include "audio/decode.hpp"
#include "omni/error.hpp"

namespace omni::audio {
namespace {

std::mutex& espeak_mutex() {
  static std::mutex m;  // guards espeak-ng's process-wide state
  return m;
}

int collect(short* wav, int n, espeak_EVENT* events) {
  if (wav && n > 0 && events) {
    auto* out = static_cast<std::vector<int16_t>*>(events->user_data);
    if (out) out->insert(out->end(), wav, wav + n);
  }
  return 0;
}

std::string resolve_voice(const std::string& v) {
  if (v.empty() || v == "en") return "en-us";
  if (v == "zh" || v == "zh-cn" || v == "cmn" || v == "mandarin" || v == "chinese") return "cmn";
  return v;
}

}  // namespace

SpeechAudio synthesize(const std::string& text, const TtsOptions& options) {
  if (text.empty()) fail(ErrorCode::invalid_argument, "speak: empty text");
  if (text.size() > 100000) fail(ErrorCode::too_large, "speak: text of ", text.size(), " bytes is over 100000");
  if (options.rate_wpm < espeakRATE_MINIMUM || options.rate_wpm > espeakRATE_MAXIMUM)
    fail(ErrorCode::invalid_argument, "speak: rate ", options.rate_wpm, " is outside ", espeakRATE_MINIMUM, "..",
         espeakRATE_MAXIMUM, " words per minute");
  if (options.pitch < 0 || options.pitch > 100)
    fail(ErrorCode::invalid_argument, "speak: pitch ", options.pitch, " is outside 0..100");
  std::lock_guard<std::mutex> lock(espeak_mutex());
  static int sample_rate = 0;  // espeak-ng is initialised once per process
  if (sample_rate <= 0) {
    sample_rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 500, nullptr, espeakINITIALIZE_DONT_EXIT);
    if (sample_rate <= 0) fail(ErrorCode::internal, "speak: espeak-ng failed to initialise (data files missing?)");
  }
  espeak_SetSynthCallback(collect);
  const std::string voice = resolve_voice(options.voice);
  if (espeak_SetVoiceByName(voice.c_str()) != EE_OK)
    fail(ErrorCode::invalid_argument, "speak: unknown voice '", options.voice, "' (try en, en-gb, zh)");
  espeak_SetParameter(espeakRATE, options.rate_wpm, 0);
  espeak_SetParameter(espeakPITCH, options.pitch, 0);
  SpeechAudio out;
  out.sample_rate = sample_rate;
  const espeak_ERROR err = espeak_Synth(text.c_str(), text.size() + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, nullptr,
                                        &out.samples);
  if (err != EE_OK) fail(ErrorCode::internal, "speak: espeak-ng synthesis failed (error ", int(err), ")");
  espeak_Synchronize();
  if (out.samples.empty()) fail(ErrorCode::internal, "speak: espeak-ng produced no audio");
  return out;
}

std::vector<uint8_t> synthesize_wav(const std::string& text, const TtsOptions& options) {
  const SpeechAudio a = synthesize(text, options);
  return encode_wav_pcm16(a.samples, a.sample_rate);
}

}  // namespace omni::audio
