// `omni bench grammar`: speed of schema-constrained decoding — schema compile time and per-token
// mask time (p50/p99, cold and warm caches) on a 151,936-token vocabulary with the demo catalog's
// union schema — and the tier-0 template matcher's time per utterance. Prints JSON with --json.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <fstream>
#include <random>

#include "agent/catalog.hpp"
#include "agent/template_matcher.hpp"
#include "cli/commands.hpp"
#include "formats/gguf.hpp"
#include "omni/error.hpp"
#include "runtime/grammar/json_schema.hpp"
#include "runtime/grammar/schema_validate.hpp"
#include "runtime/grammar/token_mask.hpp"
#include "text/tokenizer.hpp"

namespace omni::cli {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

extern const CommandSpec k_bench_grammar_spec = {
    "bench grammar",
    "omni bench grammar [--vocab N] [-m MODEL.gguf] [--schema FILE] [--runs R] [--max-tokens T] [--json]",
    "Benchmark JSON-schema constrained decoding (compile time, per-token mask time).",
    "Generates R constrained outputs with random logits (the model's choices do not matter for the\n"
    "mask cost) over a synthetic vocabulary of N tokens (default 151,936, Qwen2's size) or a model's\n"
    "real vocabulary (-m), and times every mask computation + application. 'cold' is the first run\n"
    "(empty caches), 'warm' the remaining runs. Targets: p50 <= 50 us, p99 <= 500 us, compile <= 50 ms.",
    {{"vocab", 0, true, "N", "synthetic vocabulary size (default 151936)"},
     {"model", 'm', true, "MODEL", "use this GGUF model's vocabulary instead"},
     {"schema", 0, true, "FILE", "JSON schema file (default: the demo catalog's union schema)"},
     {"runs", 0, true, "R", "constrained generations (default 40)"},
     {"max-tokens", 0, true, "T", "token budget per generation (default 96)"},
     {"json", 0, false, "", "print JSON"}},
    0, 0};

namespace {
double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, size_t(p * double(v.size() - 1) + 0.5));
  return v[i];
}
double ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }
}  // namespace

int run_bench_grammar(const Args& args) {
  using namespace runtime::grammar;
  const int runs = int(args.get_int("runs", 40));
  const int max_tokens = int(args.get_int("max-tokens", 96));
  if (runs < 2 || max_tokens < 8) fail(ErrorCode::invalid_argument, "--runs must be >= 2 and --max-tokens >= 8");
  json schema;
  if (args.has("schema")) {
    std::ifstream in(args.get("schema", ""));
    if (!in) fail(ErrorCode::not_found, "cannot read schema file ", args.get("schema", ""));
    try {
      schema = json::parse(in);
    } catch (const std::exception& e) {
      fail(ErrorCode::invalid_argument, "schema file is not JSON: ", e.what());
    }
  } else {
    schema = agent::Catalog::demo().union_schema();
  }
  auto t0 = Clock::now();
  std::shared_ptr<const TokenVocabulary> vocab;
  std::string vocab_name;
  if (args.has("model")) {
    auto file = gguf::File::open(args.get("model", ""));
    auto tok = text::Tokenizer::from_gguf(file);
    vocab = TokenVocabulary::from_tokenizer(tok);
    vocab_name = args.get("model", "");
  } else {
    int n = int(args.get_int("vocab", 151936));
    vocab = synthetic_vocabulary(n, 7);
    vocab_name = "synthetic";
  }
  auto t1 = Clock::now();
  // Compile: schema -> grammar -> engine bound to the vocabulary (median of 5).
  std::vector<double> compile_ms;
  std::shared_ptr<CompiledGrammar> g;
  for (int i = 0; i < 5; ++i) {
    auto a = Clock::now();
    g = compile_for_vocab(compile_json_schema(schema), vocab);
    compile_ms.push_back(ms(a, Clock::now()));
  }
  std::vector<double> cold, warm;
  int n_tokens = 0, n_forced = 0, n_valid = 0;
  std::mt19937_64 rng(1234);
  std::normal_distribution<float> nd(0.f, 3.f);
  std::vector<float> logits(static_cast<size_t>(vocab->n_vocab()));
  for (int r = 0; r < runs; ++r) {
    GrammarConstraint c(g, max_tokens);
    for (int step = 0; step < max_tokens && !c.finished(); ++step) {
      auto forced = c.forced_tokens();
      if (!forced.empty()) {
        c.accept(forced[0]);
        ++n_forced;
        continue;
      }
      for (auto& l : logits) l = nd(rng);
      auto a = Clock::now();
      c.mask(logits.data(), vocab->n_vocab());
      double us = std::chrono::duration<double, std::micro>(Clock::now() - a).count();
      (r == 0 ? cold : warm).push_back(us);
      int best = int(std::max_element(logits.begin(), logits.end()) - logits.begin());
      c.accept(best);
      ++n_tokens;
    }
    try {
      json out = json::parse(c.text());
      if (c.finished() && runtime::grammar::validate_json(schema, out).empty()) ++n_valid;
    } catch (...) {
    }
  }
  std::vector<double> all = cold;
  all.insert(all.end(), warm.begin(), warm.end());
  // Tier 0 on the demo catalog.
  agent::Catalog demo = agent::Catalog::demo();
  agent::TemplateMatcher matcher(demo);
  const char* utts[] = {"put a nordic sofa by the window", "在窗边放一个北欧风格的沙发", "turn off the bedroom light", "what is the weather"};
  auto ta = Clock::now();
  int n_match = 0;
  for (int i = 0; i < 200; ++i) n_match += matcher.match(utts[i % 4]).has_value();
  double tier0_us = std::chrono::duration<double, std::micro>(Clock::now() - ta).count() / 200;

  json j{{"vocab", vocab_name},
         {"n_vocab", vocab->n_vocab()},
         {"trie_nodes", vocab->n_trie_nodes()},
         {"vocab_build_ms", ms(t0, t1)},
         {"schema_compile_ms", pct(compile_ms, 0.5)},
         {"runs", runs},
         {"tokens_masked", n_tokens},
         {"tokens_forced", n_forced},
         {"outputs_valid", n_valid},
         {"parser_states", g->n_states()},
         {"mask_us", {{"p50", pct(all, 0.5)}, {"p99", pct(all, 0.99)}, {"max", pct(all, 1.0)}}},
         {"mask_us_cold", {{"p50", pct(cold, 0.5)}, {"p99", pct(cold, 0.99)}, {"n", cold.size()}}},
         {"mask_us_warm", {{"p50", pct(warm, 0.5)}, {"p99", pct(warm, 0.99)}, {"n", warm.size()}}},
         {"tier0_match_us", tier0_us},
         {"tier0_templates", matcher.n_templates()},
         {"targets", {{"mask_p50_us", 50}, {"mask_p99_us", 500}, {"compile_ms", 50}}}};
  if (args.has("json")) {
    std::cout << j.dump() << "\n";
  } else {
    std::cout << j.dump(2) << "\n";
  }
  return 0;
}

}  // namespace omni::cli
