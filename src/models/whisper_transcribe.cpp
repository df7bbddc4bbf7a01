// Whisper transcription: 30 s seeking over the log-mel, prompt construction (history, initial
// prompt, language/task tokens), logit filtering (spec §2.9), greedy / beam / sampled decoding with
// temperature fallback, timestamp segments, language detection, and optional VAD gating (§4.6).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include <zlib.h>

#include "audio/mel.hpp"
#include "models/whisper.hpp"
#include "models/whisper_internal.hpp"
#include "omni/error.hpp"

namespace omni::whisper {

namespace {

struct Sequence {
  std::vector<int> tokens;  // sampled tokens (no prompt), eot excluded
  double sum_logprob = 0;
  int seek_delta = 3000;
  bool has_ts = false;
  bool done = false;
  std::unique_ptr<DecoderState> state;
  std::vector<float> logits;  // raw logits for the next step
};

struct WindowResult {
  std::vector<int> tokens;
  double sum_logprob = 0, avg_logprob = 0;
  int seek_delta = 3000;
  bool failed = false;
};

double token_entropy(const std::vector<int>& t) {
  const size_t n = std::min<size_t>(32, t.size());
  std::map<int, int> counts;
  for (size_t i = t.size() - n; i < t.size(); ++i) counts[t[i]]++;
  double h = 0;
  for (auto& [id, c] : counts) {
    const double p = double(c) / double(n);
    h -= p * std::log(p);
  }
  return h;
}

}  // namespace

// OpenAI Whisper's repetition measure: bytes of the text over bytes of its zlib compression.
double compression_ratio(const std::string& text) {
  if (text.empty()) return 0.0;
  uLongf n = compressBound(uLong(text.size()));
  std::vector<Bytef> buf(n);
  if (compress2(buf.data(), &n, reinterpret_cast<const Bytef*>(text.data()), uLong(text.size()), Z_DEFAULT_COMPRESSION) != Z_OK)
    return 0.0;
  return double(text.size()) / double(n);
}


struct Decoding {
  const Model& m;
  const Options& opt;
  ThreadPool& pool;
  const EncoderOutput& enc;
  int seek = 0, seek_end = 0;

  // Applies §2.9 to raw logits for a sequence; returns log-probabilities (-inf where suppressed).
  std::vector<float> logprobs(std::vector<float> lg, const std::vector<int>& cur, float temperature) const {
    const SpecialTokens& st = m.tokens();
    const int V = int(lg.size());
    const float ninf = -INFINITY;
    if (temperature > 0)
      for (float& v : lg) v /= temperature;
    if (cur.empty()) {
      lg[size_t(st.eot)] = ninf;
      if (V > 220) lg[220] = ninf;
    }
    lg[size_t(st.notimestamps)] = ninf;
    if (!opt.timestamps)
      for (int i = st.beg; i < V; ++i) lg[size_t(i)] = ninf;
    for (int id : {st.sot, st.nosp, st.translate, st.transcribe, st.prev, st.solm}) lg[size_t(id)] = ninf;
    for (int k = 0; k < 100; ++k)
      if (st.lang(k) < V) lg[size_t(st.lang(k))] = ninf;
    if (opt.timestamps) {
      const bool last = !cur.empty() && cur.back() >= st.beg;
      const bool penult = cur.size() < 2 || cur[cur.size() - 2] >= st.beg;
      if (last) {
        if (penult)
          for (int i = st.beg; i < V; ++i) lg[size_t(i)] = ninf;
        else
          for (int i = 0; i < st.eot; ++i) lg[size_t(i)] = ninf;
      }
      if (cur.empty())
        for (int i = st.beg + 50 + 1; i < V; ++i) lg[size_t(i)] = ninf;
      int last_ts = -1;
      for (int t : cur)
        if (t > st.beg) last_ts = t;
      if (last_ts > 0)
        for (int i = st.beg; i < last_ts && i < V; ++i) lg[size_t(i)] = ninf;
    }
    // log-softmax
    float mx = ninf;
    for (float v : lg) mx = std::max(mx, v);
    double sum = 0;
    for (float v : lg)
      if (v != ninf) sum += std::exp(double(v - mx));
    const float lse = mx + float(std::log(sum));
    std::vector<float> lp(lg.size());
    for (size_t i = 0; i < lg.size(); ++i) lp[i] = lg[i] == ninf ? ninf : lg[i] - lse;
    if (opt.timestamps) {
      float ts_mx = ninf;
      for (int i = st.beg; i < V; ++i) ts_mx = std::max(ts_mx, lp[size_t(i)]);
      if (ts_mx != ninf) {
        double s = 0;
        for (int i = st.beg; i < V; ++i)
          if (lp[size_t(i)] != ninf) s += std::exp(double(lp[size_t(i)] - ts_mx));
        const float ts_lse = ts_mx + float(std::log(s));
        float text_mx = ninf;
        for (int i = 0; i < st.beg; ++i) text_mx = std::max(text_mx, lp[size_t(i)]);
        if (ts_lse > text_mx)
          for (int i = 0; i < st.beg; ++i) lp[size_t(i)] = ninf;
      }
    }
    return lp;
  }

  void apply_token(Sequence& s, int tok, float lp) const {
    const SpecialTokens& st = m.tokens();
    s.sum_logprob += lp;
    if (tok == st.eot) {
      s.done = true;
      return;
    }
    s.tokens.push_back(tok);
    if (tok > st.beg) {
      s.seek_delta = 2 * (tok - st.beg);
      s.has_ts = true;
    }
    if (s.has_ts && seek + s.seek_delta + 10 >= seek_end) s.done = true;
    if (int(s.tokens.size()) >= m.hparams().n_text_ctx / 2 - 4) s.done = true;
    if (opt.max_tokens > 0 && int(s.tokens.size()) >= opt.max_tokens) s.done = true;
  }

  // Runs the given (not done) sequences' last tokens through the decoder in one batch.
  void step(std::vector<Sequence*>& active) const {
    std::vector<DecoderState*> states;
    std::vector<int> toks, idx, rows;
    for (Sequence* s : active) {
      idx.push_back(int(states.size()));
      rows.push_back(int(toks.size()));
      states.push_back(s->state.get());
      toks.push_back(s->tokens.back());
    }
    if (toks.empty()) return;
    std::vector<float> lg;
    for (Sequence* s : active)
      if (s->state->n_past >= m.hparams().n_text_ctx) s->done = true;
    m.batch_forward(enc, states, toks, idx, pool, lg, rows);
    const size_t V = size_t(m.hparams().n_vocab);
    for (size_t i = 0; i < active.size(); ++i) active[i]->logits.assign(lg.begin() + long(i * V), lg.begin() + long((i + 1) * V));
  }

  WindowResult finish(const Sequence& s, bool check) const {
    WindowResult r;
    r.tokens = s.tokens;
    r.sum_logprob = s.sum_logprob;
    r.avg_logprob = s.sum_logprob / double(std::max<size_t>(1, s.tokens.size() + 1));
    r.seek_delta = s.seek_delta;
    if (check && s.tokens.size() > 32 && token_entropy(s.tokens) < opt.entropy_threshold) r.failed = true;
    if (check && opt.compression_ratio_threshold > 0) {
      std::string text;
      for (int id : s.tokens)
        if (id < m.tokens().eot) text += m.token_text(id);
      if (compression_ratio(text) > opt.compression_ratio_threshold) r.failed = true;
    }
    if (!s.done) r.failed = true;
    return r;
  }

  WindowResult run(const DecoderState& base, const std::vector<float>& prompt_logits, float temperature) const {
    const bool beam = temperature == 0.0f && opt.beam_size > 1;
    const int n_seq = beam ? opt.beam_size : (temperature > 0 ? std::max(1, opt.best_of) : 1);
    const int V = m.hparams().n_vocab;
    if (!beam) {
      std::vector<Sequence> seqs(static_cast<size_t>(n_seq));
      std::vector<std::mt19937> rngs;
      for (int j = 0; j < n_seq; ++j) {
        seqs[size_t(j)].state = m.new_state();
        seqs[size_t(j)].state->copy_from(base);
        seqs[size_t(j)].logits = prompt_logits;
        rngs.emplace_back(uint32_t(j));
      }
      for (;;) {
        std::vector<Sequence*> active;
        for (int j = 0; j < n_seq; ++j) {
          Sequence& s = seqs[size_t(j)];
          if (s.done) continue;
          const std::vector<float> lp = logprobs(s.logits, s.tokens, temperature);
          int tok = 0;
          if (temperature <= 0) {
            for (int i = 1; i < V; ++i)
              if (lp[size_t(i)] > lp[size_t(tok)]) tok = i;
          } else {
            std::vector<double> p(lp.size());
            for (size_t i = 0; i < lp.size(); ++i) p[i] = std::isinf(lp[i]) ? 0.0 : std::exp(double(lp[i]));
            std::discrete_distribution<int> dist(p.begin(), p.end());
            tok = dist(rngs[size_t(j)]);
          }
          apply_token(s, tok, lp[size_t(tok)]);
          if (!s.done) active.push_back(&s);
        }
        if (active.empty()) break;
        step(active);
      }
      int best = 0;
      double best_score = -INFINITY;
      for (int j = 0; j < n_seq; ++j) {
        const double score = seqs[size_t(j)].sum_logprob / double(std::max<size_t>(1, seqs[size_t(j)].tokens.size()));
        if (score > best_score) best_score = score, best = j;
      }
      return finish(seqs[size_t(best)], true);
    }
    // beam search
    std::vector<Sequence> beams(1);
    beams[0].state = m.new_state();
    beams[0].state->copy_from(base);
    beams[0].logits = prompt_logits;
    std::vector<Sequence> finished;
    for (int iter = 0; iter < m.hparams().n_text_ctx && !beams.empty(); ++iter) {
      struct Cand { size_t beam; int tok; float lp; double score; };
      std::vector<Cand> cands;
      for (size_t b = 0; b < beams.size(); ++b) {
        const std::vector<float> lp = logprobs(beams[b].logits, beams[b].tokens, 0.0f);
        std::vector<int> ids(lp.size());
        std::iota(ids.begin(), ids.end(), 0);
        const size_t k = std::min<size_t>(size_t(opt.beam_size) + 1, ids.size());
        std::partial_sort(ids.begin(), ids.begin() + long(k), ids.end(),
                          [&](int a, int c) { return lp[size_t(a)] > lp[size_t(c)] || (lp[size_t(a)] == lp[size_t(c)] && a < c); });
        for (size_t i = 0; i < k; ++i)
          if (!std::isinf(lp[size_t(ids[i])]))
            cands.push_back({b, ids[i], lp[size_t(ids[i])], beams[b].sum_logprob + lp[size_t(ids[i])]});
      }
      std::stable_sort(cands.begin(), cands.end(), [](const Cand& a, const Cand& c) { return a.score > c.score; });
      std::vector<Sequence> next;
      for (const Cand& c : cands) {
        if (int(next.size()) >= opt.beam_size) break;
        Sequence s;
        s.tokens = beams[c.beam].tokens;
        s.sum_logprob = beams[c.beam].sum_logprob;
        s.seek_delta = beams[c.beam].seek_delta;
        s.has_ts = beams[c.beam].has_ts;
        apply_token(s, c.tok, c.lp);
        if (s.done) {
          if (int(finished.size()) < opt.beam_size) finished.push_back(std::move(s));
          continue;
        }
        s.state = m.new_state();
        s.state->copy_from(*beams[c.beam].state);
        next.push_back(std::move(s));
      }
      beams = std::move(next);
      if (int(finished.size()) >= opt.beam_size) break;
      std::vector<Sequence*> active;
      for (auto& s : beams) active.push_back(&s);
      step(active);
      beams.erase(std::remove_if(beams.begin(), beams.end(), [&](Sequence& s) {
                    if (s.done) { if (int(finished.size()) < opt.beam_size) finished.push_back(std::move(s)); return true; }
                    return false;
                  }), beams.end());
    }
    if (finished.empty())
      for (auto& s : beams) { s.done = true; finished.push_back(std::move(s)); }
    if (finished.empty()) return WindowResult{{}, 0, 0, 3000, true};
    size_t best = 0;
    double best_score = -INFINITY;
    for (size_t j = 0; j < finished.size(); ++j) {
      const double score = finished[j].sum_logprob / double(std::max<size_t>(1, finished[j].tokens.size()));
      if (score > best_score) best_score = score, best = j;
    }
    return finish(finished[best], true);
  }
};

std::vector<int> Model::tokenize(const std::string& text) const {
  // Byte-level BPE with tiktoken ranks (= token ids): split into words (a leading space joins the
  // word), then repeatedly merge the adjacent pair whose concatenation has the lowest id.
  std::map<std::string, int> ids;
  for (int i = 0; i < int(file_vocab_size()); ++i) ids.emplace(vocab_[size_t(i)], i);
  std::vector<std::string> words;
  std::string cur;
  auto cls = [](unsigned char c) { return std::isalpha(c) || c >= 0x80 ? 1 : std::isdigit(c) ? 2 : std::isspace(c) ? 3 : 4; };
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const bool start_new = !cur.empty() && (cls(c) != cls(static_cast<unsigned char>(cur.back())) &&
                                            !(cur.size() == 1 && cur[0] == ' ' && cls(c) != 3));
    if (start_new) {
      words.push_back(cur);
      cur.clear();
    }
    cur.push_back(char(c));
  }
  if (!cur.empty()) words.push_back(cur);
  std::vector<int> out;
  for (const std::string& w : words) {
    std::vector<std::string> parts;
    for (char c : w) parts.emplace_back(1, c);
    for (;;) {
      int best = -1;
      size_t best_i = 0;
      for (size_t i = 0; i + 1 < parts.size(); ++i) {
        auto it = ids.find(parts[i] + parts[i + 1]);
        if (it != ids.end() && (best < 0 || it->second < best)) best = it->second, best_i = i;
      }
      if (best < 0) break;
      parts[best_i] += parts[best_i + 1];
      parts.erase(parts.begin() + long(best_i) + 1);
    }
    for (const auto& p : parts) {
      auto it = ids.find(p);
      if (it != ids.end()) out.push_back(it->second);
    }
  }
  return out;
}

namespace {

std::string trim_copy(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

}  // namespace

Transcript Model::transcribe(const std::vector<float>& samples_in, const Options& opt, ThreadPool& pool) const {
  Transcript out;
  out.duration_s = double(samples_in.size()) / 16000.0;
  // Optional VAD gating: keep only speech (plus 0.1 s overlap), joined by 0.1 s of silence.
  std::vector<std::pair<double, double>> time_map;  // (processed s, original s)
  std::vector<float> gated;
  const std::vector<float>* samples = &samples_in;
  if (opt.use_vad) {
    if (!opt.vad) fail(ErrorCode::invalid_argument, "transcribe: VAD gating requested without a VAD model");
    const auto probs = opt.vad->probabilities(samples_in.data(), samples_in.size());
    const auto segs = vad::speech_segments(probs, opt.vad_params);
    if (segs.empty()) {
      out.language = opt.language == "auto" ? "" : opt.language;
      return out;
    }
    const int64_t n = int64_t(samples_in.size());
    for (size_t i = 0; i < segs.size(); ++i) {
      const int64_t s0 = std::min<int64_t>(n - 1, int64_t(segs[i].start * 16000 + 0.5));
      const int64_t s1 = std::min<int64_t>(n - 1, int64_t(segs[i].end * 16000 + 0.5));
      const int64_t s1o = i + 1 < segs.size() ? std::min<int64_t>(n - 1, s1 + 1600) : s1;
      const double off = double(gated.size()) / 16000.0;
      time_map.push_back({off, double(s0) / 16000.0});
      time_map.push_back({off + double(s1 - s0) / 16000.0, double(s1) / 16000.0});
      gated.insert(gated.end(), samples_in.begin() + s0, samples_in.begin() + std::max(s0, s1o));
      if (i + 1 < segs.size()) gated.insert(gated.end(), 1600, 0.0f);
    }
    samples = &gated;
  }
  auto map_time = [&](double t) {
    if (time_map.empty()) return t;
    if (t <= time_map.front().first) return time_map.front().second;
    for (size_t i = 1; i < time_map.size(); ++i)
      if (t <= time_map[i].first) {
        const auto& a = time_map[i - 1];
        const auto& b = time_map[i];
        if (b.first - a.first <= 0) return b.second;
        return a.second + (t - a.first) * (b.second - a.second) / (b.first - a.first);
      }
    return time_map.back().second;
  };

  const SpecialTokens& st = st_;
  const audio::MelSpectrogram mel =
      audio::log_mel_spectrogram(samples->data(), int64_t(samples->size()), mel_filters_.data(), hp_.n_mels, pool);
  const int seek_end = std::max(0, mel.n_len_org);
  int lang_id = 0;
  if (opt.language != "auto") {
    lang_id = language_index(opt.language);
    if (lang_id < 0 || (st.multilingual && lang_id >= st.n_languages))
      fail(ErrorCode::invalid_argument, "transcribe: unknown language '", opt.language, "'");
    if (!st.multilingual && lang_id != 0)
      fail(ErrorCode::invalid_argument, "transcribe: this English-only model cannot transcribe '", opt.language, "'");
  }
  std::vector<int> history = tokenize(opt.initial_prompt);
  std::vector<float> window;
  bool first = true;
  int seek = 0;
  while (seek < seek_end) {
    if (opt.progress) opt.progress(double(seek) / double(seek_end));
    audio::mel_window(mel, seek, window);
    const auto enc = encode(window.data(), pool);
    if (first && opt.language == "auto") lang_id = language_index(detect_language(*enc, pool).first);
    out.language = st.multilingual ? language_code(lang_id) : "en";
    std::vector<int> init = {st.sot};
    if (st.multilingual) {
      init.push_back(st.lang(lang_id));
      init.push_back(opt.translate ? st.translate : st.transcribe);
    }
    if (!opt.timestamps) init.push_back(st.notimestamps);
    Decoding dec{*this, opt, pool, *enc, seek, seek_end};
    WindowResult best;
    float no_speech_prob = 0;
    std::vector<float> temps = opt.temperatures.empty() ? std::vector<float>{0.0f} : opt.temperatures;
    for (size_t ti = 0; ti < temps.size(); ++ti) {
      const float t = temps[ti];
      std::vector<int> prompt;
      if (!history.empty() && t < 0.5f) {
        const size_t max_ctx = size_t(std::min(16384, hp_.n_text_ctx / 2));
        const size_t n = std::min(max_ctx - 1, history.size());
        prompt.push_back(st.prev);
        prompt.insert(prompt.end(), history.end() - long(n), history.end());
      }
      prompt.insert(prompt.end(), init.begin(), init.end());
      auto base = new_state();
      const std::vector<float> lg = decode(*enc, *base, prompt, pool);
      if (first && ti == 0 && opt.first_prompt_logits) *opt.first_prompt_logits = lg;
      {
        float mx = -INFINITY;
        for (float v : lg) mx = std::max(mx, v);
        double sum = 0;
        for (float v : lg) sum += std::exp(double(v - mx));
        no_speech_prob = float(std::exp(double(lg[size_t(st.nosp)] - mx)) / sum);
      }
      best = dec.run(*base, lg, t);
      const bool low = best.avg_logprob < opt.logprob_threshold && no_speech_prob < opt.no_speech_threshold;
      if (!best.failed && !low) break;
    }
    first = false;
    const bool silent = no_speech_prob > opt.no_speech_threshold && best.avg_logprob < opt.logprob_threshold;
    int seek_delta = best.seek_delta;
    // a window that ends in a single timestamp skips the whole chunk
    const auto& tk = best.tokens;
    if (tk.size() >= 2 && tk.back() >= st.beg && tk[tk.size() - 2] < st.beg) seek_delta = 3000;
    if (seek_delta <= 0) seek_delta = 3000;
    if (!silent) {
      double t0 = seek / 100.0;
      std::string text;
      std::vector<int> seg_tokens;
      auto emit = [&](double a, double b) {
        const double audio_end = seek_end / 100.0;  // a timestamp token may point past the audio
        a = std::min(a, audio_end);
        b = std::min(b, audio_end);
        const std::string tt = trim_copy(text);
        if (!tt.empty()) {
          Segment s;
          s.start = map_time(a);
          s.end = map_time(std::max(b, a));
          s.text = text;
          s.tokens = seg_tokens;
          s.avg_logprob = float(best.avg_logprob);
          s.no_speech_prob = no_speech_prob;
          out.segments.push_back(std::move(s));
        }
        text.clear();
        seg_tokens.clear();
      };
      for (int id : tk) {
        if (opt.timestamps && id >= st.beg) {
          const double t = (seek + 2 * (id - st.beg)) / 100.0;
          if (!text.empty()) emit(t0, t);
          t0 = t;
        } else if (id < st.eot) {
          text += token_text(id);
          seg_tokens.push_back(id);
        }
      }
      if (!text.empty()) emit(t0, std::min(seek + seek_delta, seek_end) / 100.0);
      history.insert(history.end(), tk.begin(), tk.end());
    }
    seek += seek_delta;
    if (seek + 500 >= seek_end) history.clear();
  }
  if (opt.progress) opt.progress(1.0);
  for (const Segment& s : out.segments) out.text += s.text;
  out.text = trim_copy(out.text);
  return out;
}

}  // namespace omni::whisper
