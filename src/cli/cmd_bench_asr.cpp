// `omni bench asr`: Whisper speed: encoder milliseconds per 30 s window, decoder milliseconds per
// token, and the real-time factor of a whole transcription; --json for machine-readable output.
#include <chrono>
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "audio/decode.hpp"
#include "audio/mel.hpp"
#include "audio/tts.hpp"
#include "cli/commands.hpp"
#include "kernels/kernels.hpp"
#include "models/whisper.hpp"
#include "omni/error.hpp"

namespace omni::cli {

extern const CommandSpec k_bench_asr_spec = {
    "bench asr",
    "omni bench asr -m MODEL.bin [--audio FILE] [--threads N] [--runs N] [--json]",
    "Benchmark Whisper: encoder ms per 30 s window, decoder ms per token, real-time factor.",
    "The encoder is timed on a 30 s window (best of --runs after a warm-up); the decoder on 64\n"
    "single-token steps after the prompt; the real-time factor (audio seconds per second of work)\n"
    "on a full greedy transcription of --audio (default: ~11 s of espeak-ng speech).",
    {
        {"model", 'm', true, "FILE", "Whisper model (ggml-*.bin); `omni make-model --arch whisper` makes one"},
        {"audio", 0, true, "FILE", "audio for the real-time factor (default: synthesized speech)"},
        {"threads", 't', true, "N", "threads (default 2)"},
        {"runs", 0, true, "N", "encoder runs (default 3)"},
        {"json", 0, false, "", "print JSON"},
    },
    0,
    0};

int run_bench_asr(const Args& args) {
  using clock = std::chrono::steady_clock;
  auto ms_since = [](clock::time_point t) { return std::chrono::duration<double, std::milli>(clock::now() - t).count(); };
  const int threads = int(args.get_int("threads", 2));
  const int runs = int(args.get_int("runs", 3));
  if (threads < 1 || threads > 1024 || runs < 1 || runs > 100) fail(ErrorCode::invalid_argument, "bad --threads or --runs");
  ThreadPool pool(threads);
  whisper::Model model(args.require("model"));
  std::vector<float> samples;
  if (auto a = args.value("audio")) {
    samples = audio::decode_audio_file(*a);
  } else {
    const auto wav = audio::synthesize_wav(
        "And so, my fellow Americans: ask not what your country can do for you, ask what you can do for your country.");
    samples = audio::decode_audio(wav);
  }
  // encoder
  const auto mel = audio::log_mel_spectrogram(samples.data(), int64_t(samples.size()), model.mel_filters().data(),
                                              model.hparams().n_mels, pool);
  std::vector<float> window;
  audio::mel_window(mel, 0, window);
  auto enc = model.encode(window.data(), pool);  // warm-up
  double enc_ms = 1e30;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = clock::now();
    enc = model.encode(window.data(), pool);
    enc_ms = std::min(enc_ms, ms_since(t0));
  }
  // decoder: prompt, then 64 single-token steps
  const auto& st = model.tokens();
  std::vector<int> prompt = {st.sot};
  if (st.multilingual) prompt.insert(prompt.end(), {st.lang(0), st.transcribe});
  auto state = model.new_state();
  auto logits = model.decode(*enc, *state, prompt, pool);
  const int n_steps = 64;
  const auto t1 = clock::now();
  for (int i = 0; i < n_steps; ++i) {
    int best = 0;
    for (int k = 1; k < st.eot; ++k)
      if (logits[size_t(k)] > logits[size_t(best)]) best = k;
    logits = model.decode(*enc, *state, {best}, pool);
  }
  const double dec_ms = ms_since(t1) / n_steps;
  // full transcription
  whisper::Options opt;
  opt.temperatures = {0.0f};
  const auto t2 = clock::now();
  const auto tr = model.transcribe(samples, opt, pool);
  const double total_ms = ms_since(t2);
  size_t n_tokens = 0;
  for (const auto& s : tr.segments) n_tokens += s.tokens.size();
  const double audio_s = double(samples.size()) / audio::kSampleRate;
  const double rtf = audio_s / (total_ms / 1000.0);
  nlohmann::json j = {{"model", args.require("model")}, {"size", model.size_name()},
                      {"type", dtype_name(model.weight_type())}, {"threads", threads},
                      {"isa", kernels::active_isa()}, {"encoder_ms", enc_ms}, {"decoder_ms_per_token", dec_ms},
                      {"rtf", rtf}, {"audio_s", audio_s}, {"transcribe_ms", total_ms}, {"text_tokens", n_tokens}};
  if (args.has("json")) {
    std::cout << j.dump() << "\n";
  } else {
    std::cout << std::fixed << std::setprecision(1) << "whisper " << model.size_name() << " ("
              << dtype_name(model.weight_type()) << ", " << threads << " threads, " << kernels::active_isa() << ")\n"
              << "  encoder:  " << enc_ms << " ms per 30 s window\n"
              << "  decoder:  " << std::setprecision(2) << dec_ms << " ms per token\n"
              << "  transcribe " << audio_s << " s of audio: " << std::setprecision(0) << total_ms << " ms (RTF "
              << std::setprecision(1) << rtf << "x real time)\n";
  }
  return 0;
}

}  // namespace omni::cli
