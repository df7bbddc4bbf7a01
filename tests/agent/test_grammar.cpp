// Grammar tests: JSON Schema -> grammar accept/reject cases (byte level, hand-written expectations),
// GBNF parsing, unsupported schemas refused, and constrained generation with random logits over a
// synthetic 151,936-token vocabulary and the golden models' vocabularies: the output always parses
// and validates against the schema.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "agent/catalog.hpp"
#include "formats/gguf.hpp"
#include "omni/error.hpp"
#include "runtime/grammar/json_schema.hpp"
#include "runtime/grammar/schema_validate.hpp"
#include "runtime/grammar/token_mask.hpp"
#include "text/tokenizer.hpp"

using namespace omni::runtime::grammar;
using nlohmann::json;

namespace {

std::shared_ptr<const TokenVocabulary> byte_vocab() {
  static auto v = [] {
    std::vector<std::string> b;
    for (int i = 0; i < 256; ++i) b.push_back(std::string(1, char(i)));
    b.push_back("");  // EOS
    return std::make_shared<TokenVocabulary>(b, std::vector<int>{256});
  }();
  return v;
}

bool accepts(CompiledGrammar& g, const std::string& text) {
  int s = g.step_bytes(g.initial_state(), text);
  return s >= 0 && g.accepting(s);
}

struct SchemaCases {
  const char* schema;
  std::vector<const char*> good;
  std::vector<const char*> bad;
};

const std::vector<SchemaCases>& cases() {
  static const std::vector<SchemaCases> c = {
      {R"({"type":"string"})", {R"("")", R"("abc")", R"("a\"b")", R"("\u00e9")", "\"\xe4\xbd\xa0\xe5\xa5\xbd\"", R"("\\")", R"("\n")"},
       {R"(abc)", R"("abc)", R"("a"b")", "\"\x01\"", R"("\x")", "\"\xff\"", "\"\xed\xa0\x80\"", R"("\ud800")", "123"}},
      {R"({"type":"integer"})", {"0", "-1", "42", "1234567"}, {"01", "-", "1.5", "+1", "\"1\"", "1e3", "--1"}},
      {R"({"type":"number"})", {"0", "-0.5", "3.14", "1e10", "2E-3", "-12.5e+2"}, {".5", "1.", "01", "1e", "NaN", "-"}},
      {R"({"type":"boolean"})", {"true", "false"}, {"True", "1", "\"true\"", "tru"}},
      {R"({"type":"null"})", {"null"}, {"nul", "None", "\"null\""}},
      {R"({"enum":["red","green",3,null]})", {R"("red")", R"("green")", "3", "null"}, {R"("blue")", R"("Red")", "4", R"("red" )"}},
      {R"({"const":"fixed"})", {R"("fixed")"}, {R"("fixe")", R"("fixed2")", "fixed"}},
      {R"({"const":{"a":1}})", {R"({"a":1})"}, {R"({"a":2})", R"({})"}},
      {R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},"required":["a"],"additionalProperties":false})",
       {R"({"a":1})", R"({"a":1,"b":"x"})", R"({"a": 1, "b": "x"})", R"({"a":-5})"},
       {R"({})", R"({"b":"x"})", R"({"b":"x","a":1})", R"({"a":1,"c":2})", R"({"a":"1"})", R"({"a":1,})", R"({"a":1 })", R"({ "a":1})"}},
      {R"({"type":"object","properties":{"x":{"type":"boolean"},"y":{"type":"null"}}})",
       {R"({})", R"({"x":true})", R"({"y":null})", R"({"x":false,"y":null})"}, {R"({"y":null,"x":true})", R"({"z":1})", R"({"x":1})"}},
      {R"({"type":"array","items":{"type":"integer"}})", {"[]", "[1]", "[1,2,3]", "[1, 2]"}, {"[", "[1,]", "[,1]", "[\"a\"]", "[1 ,2]"}},
      {R"({"type":"array","items":{"type":"string"},"minItems":1,"maxItems":2})", {R"(["a"])", R"(["a","b"])"}, {"[]", R"(["a","b","c"])"}},
      {R"({"type":"array","minItems":2})", {R"([1,"a"])", R"([null,{},[]])"}, {"[]", "[1]"}},
      {R"({"type":"string","minLength":2,"maxLength":3})", {R"("ab")", R"("abc")", "\"\xe4\xbd\xa0\xe5\xa5\xbd\""}, {R"("a")", R"("abcd")", R"("")"}},
      {R"({"type":"integer","minimum":16,"maximum":30})", {"16", "20", "29", "30"}, {"15", "31", "3", "160", "-16", "016"}},
      {R"({"type":"integer","minimum":0,"maximum":100})", {"0", "7", "99", "100"}, {"101", "-1", "00", "1000"}},
      {R"({"type":"integer","minimum":-10,"maximum":5})", {"-10", "-1", "0", "5"}, {"-11", "6", "-0"}},
      {R"({"type":"integer","minimum":1,"maximum":86400})", {"1", "9", "10", "999", "86400", "86399", "80000"}, {"0", "86401", "90000", "100000"}},
      {R"({"type":"integer","exclusiveMinimum":0,"exclusiveMaximum":10})", {"1", "9"}, {"0", "10"}},
      {R"({"type":"integer","minimum":5})", {"5", "6", "10", "123456"}, {"4", "-5", "0"}},
      {R"({"type":"integer","maximum":-3})", {"-3", "-4", "-100"}, {"-2", "0", "3"}},
      {R"({"type":["string","null"]})", {R"("a")", "null"}, {"1", "true"}},
      {R"({"oneOf":[{"type":"integer"},{"type":"boolean"}]})", {"1", "true"}, {R"("1")", "null"}},
      {R"({"anyOf":[{"const":"a"},{"type":"object","properties":{"k":{"const":1}},"required":["k"]}]})", {R"("a")", R"({"k":1})"}, {R"("b")", R"({"k":2})", R"({})"}},
      {R"({"allOf":[{"type":"boolean"}]})", {"true"}, {"1"}},
      {R"({"$defs":{"pos":{"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]}},"type":"object","properties":{"p":{"$ref":"#/$defs/pos"}},"required":["p"]})",
       {R"({"p":{"x":1}})"}, {R"({"p":{}})", R"({"p":1})"}},
      {R"({"definitions":{"node":{"type":"object","properties":{"v":{"type":"integer"},"next":{"anyOf":[{"$ref":"#/definitions/node"},{"type":"null"}]}},"required":["v","next"]}},"$ref":"#/definitions/node"})",
       {R"({"next":null,"v":1})", R"({"next":{"next":null,"v":2},"v":1})"}, {R"({"v":1,"next":null})", R"({"v":1})", R"({"next":{"v":2},"v":1})"}},
      {R"({"type":"string","pattern":"^[a-z]+-[0-9]{2,3}$"})", {R"("ab-12")", R"("x-123")"}, {R"("ab-1")", R"("AB-12")", R"("ab-1234")", R"("-12")"}},
      {R"({"type":"string","pattern":"^(yes|no)$"})", {R"("yes")", R"("no")"}, {R"("maybe")", R"("yesno")"}},
      {R"({"type":"string","pattern":"^\\d{3}\\.\\w+$"})", {R"("123.ab_c")"}, {R"("12.a")", R"("123a")"}},
      {R"({"type":"string","pattern":"^a.c$"})", {R"("abc")", R"("a-c")"}, {R"("ac")", R"("abbc")"}},
      {R"({"type":"object","additionalProperties":{"type":"integer"}})", {R"({})", R"({"a":1,"b":2})"}, {R"({"a":"x"})", R"({"a":1,})"}},
      {R"({})", {"1", R"("s")", R"({"a":[1,{"b":null}]})", "[]", "true"}, {"tru", "{", "[1,]"}},
      {R"(true)", {"null", "[1]"}, {"nul"}},
      {R"({"type":"array","items":{"enum":["a","b"]},"maxItems":0})", {"[]"}, {R"(["a"])"}},
      {R"({"type":"object","properties":{"action":{"const":"light"},"state":{"enum":["on","off"]}},"required":["action"],"additionalProperties":false})",
       {R"({"action":"light"})", R"({"action":"light","state":"on"})"}, {R"({"action":"fan"})", R"({"state":"on"})", R"({"action":"light","state":"dim"})"}},
  };
  return c;
}

}  // namespace

TEST(JsonSchemaGrammar, AcceptRejectCases) {
  int n = 0;
  for (const auto& c : cases()) {
    json schema = json::parse(c.schema);
    Grammar g = compile_json_schema(schema);
    CompiledGrammar cg(g, byte_vocab());
    for (const char* good : c.good) {
      EXPECT_TRUE(accepts(cg, good)) << c.schema << " should accept " << good;
      ++n;
    }
    for (const char* bad : c.bad) {
      EXPECT_FALSE(accepts(cg, bad)) << c.schema << " should reject " << bad;
      ++n;
    }
  }
  EXPECT_GE(n, 150);
  std::printf("schema grammar cases: %d\n", n);
}

TEST(JsonSchemaGrammar, ValidatorAgreesOnGoodCases) {
  // The independent validator must accept every good case (a check on the hand-written table).
  for (const auto& c : cases()) {
    json schema = json::parse(c.schema);
    for (const char* good : c.good) EXPECT_EQ(validate_json(schema, json::parse(good)), "") << c.schema << " " << good;
  }
}

TEST(JsonSchemaGrammar, UnsupportedSchemasAreErrors) {
  for (const char* s : {R"({"type":"string","format":"email"})", R"({"not":{"type":"string"}})", R"({"type":"number","minimum":0})",
                        R"({"type":"array","uniqueItems":true})", R"({"type":"string","pattern":"abc"})", R"({"$ref":"http://x/y"})",
                        R"({"$ref":"#/nowhere"})", R"({"type":"integer","multipleOf":2})", R"({"allOf":[{"type":"string"},{"minLength":1}]})",
                        R"({"type":"object","properties":{"a":{}},"additionalProperties":true})", R"({"type":"widget"})",
                        R"({"type":"object","properties":{},"required":["a"]})", R"({"type":"string","pattern":"^[é]$"})",
                        R"({"if":{"type":"string"}})", R"({"patternProperties":{"a":{}}})"}) {
    EXPECT_THROW(compile_json_schema(json::parse(s)), omni::Error) << s;
  }
}

TEST(Gbnf, ParsesAndMatches) {
  Grammar g = Grammar::parse_gbnf(R"(
# a tiny command language
root   ::= cmd (" " cmd)*
cmd    ::= "go" [0-9]+ | "turn " dir
dir    ::= ("left" | "right")
  | "back"
)");
  CompiledGrammar cg(g, byte_vocab());
  EXPECT_TRUE(accepts(cg, "go12"));
  EXPECT_TRUE(accepts(cg, "go1 turn left turn back"));
  EXPECT_FALSE(accepts(cg, "go"));
  EXPECT_FALSE(accepts(cg, "turn up"));
  Grammar u = Grammar::parse_gbnf("root ::= [^a-z\\x00-\\x1f]{2} \"\xe4\xbd\xa0\"? [\\u4e00-\\u9fff]");
  CompiledGrammar cu(u, byte_vocab());
  EXPECT_TRUE(accepts(cu, "AB\xe5\xa5\xbd"));
  EXPECT_TRUE(accepts(cu, "\xc3\xa9Z\xe4\xbd\xa0\xe5\xa5\xbd"));
  EXPECT_FALSE(accepts(cu, "aB\xe5\xa5\xbd"));
  EXPECT_FALSE(accepts(cu, "AB\xc3\xa9"));
  for (const char* bad : {"root ::= x", "root ::= \"a", "root ::= [a-", "x ::= \"a\"", "root ::= root \"a\"", "root ::= a\na ::= a \"x\" | b\nb ::= a",
                          "root ::= \"a\" {3,1}", "root ::= (\"a\"", "root ::= \"a\"\nroot ::= \"b\""}) {
    EXPECT_THROW(Grammar::parse_gbnf(bad), omni::Error) << bad;
  }
}

namespace {

// Runs constrained generation with random logits; returns the text.
std::string generate_random(std::shared_ptr<CompiledGrammar> g, int n_vocab, uint64_t seed, int max_tokens) {
  GrammarConstraint c(g, max_tokens);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.f, 3.f);
  std::vector<float> logits(static_cast<size_t>(n_vocab));
  for (int step = 0; step < max_tokens; ++step) {
    auto forced = c.forced_tokens();
    if (!forced.empty()) {
      c.accept(forced[0]);
      continue;
    }
    for (auto& l : logits) l = nd(rng);
    c.mask(logits.data(), n_vocab);
    int best = -1;
    for (int t = 0; t < n_vocab; ++t)
      if (std::isfinite(logits[size_t(t)]) && (best < 0 || logits[size_t(t)] > logits[size_t(best)])) best = t;
    if (best < 0) ADD_FAILURE() << "no token allowed at step " << step;
    if (best < 0) break;
    c.accept(best);
    if (c.finished()) break;
  }
  EXPECT_TRUE(c.finished()) << "seed " << seed << ": generation did not finish within " << max_tokens << " tokens: " << c.text();
  return c.text();
}

// A synthetic BPE-like vocabulary of n tokens: all single bytes, JSON punctuation pieces, words of
// the demo catalog, random ASCII and CJK pieces.
std::shared_ptr<const TokenVocabulary> synthetic_vocab(int n, uint64_t seed) {
  std::vector<std::string> toks;
  for (int i = 0; i < 256; ++i) toks.push_back(std::string(1, char(i)));
  for (const char* p : {"{\"", "\":", "\":\"", "\",\"", "\"}", "\",", "},", "\"action", "action", "place", "_furniture", "sofa", "nordic",
                        "window", " \"", "\": \"", "true", "false", "null", "\u6c99\u53d1", "\u5317\u6b27"})
    toks.push_back(p);
  std::mt19937_64 rng(seed);
  const std::string alpha = "abcdefghijklmnopqrstuvwxyz_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 {}[]\":,.-";
  const char* cjk[] = {"\u7684", "\u4e00", "\u662f", "\u5728", "\u4e0d", "\u4e86", "\u6709", "\u548c", "\u4eba", "\u8fd9"};
  while (int(toks.size()) < n - 1) {
    std::string t;
    int len = 1 + int(rng() % 8);
    if (rng() % 5 == 0) {
      for (int k = 0; k < 1 + int(rng() % 3); ++k) t += cjk[rng() % 10];
    } else {
      if (rng() % 3 == 0) t += ' ';
      for (int k = 0; k < len; ++k) t += alpha[rng() % alpha.size()];
    }
    toks.push_back(t);
  }
  toks.push_back("");  // EOS
  return std::make_shared<TokenVocabulary>(toks, std::vector<int>{n - 1});
}

void check_generation(std::shared_ptr<const TokenVocabulary> vocab, const json& schema, int n_seeds, int max_tokens) {
  auto g = compile_for_vocab(compile_json_schema(schema), vocab);
  for (int seed = 0; seed < n_seeds; ++seed) {
    std::string out = generate_random(g, vocab->n_vocab(), uint64_t(seed) * 7919 + 1, max_tokens);
    json parsed;
    ASSERT_NO_THROW(parsed = json::parse(out)) << "seed " << seed << ": " << out;
    EXPECT_EQ(validate_json(schema, parsed), "") << "seed " << seed << ": " << out;
  }
}

}  // namespace

TEST(TokenMask, SyntheticVocabularyDemoCatalog) {
  auto vocab = synthetic_vocab(151936, 42);
  EXPECT_EQ(vocab->n_vocab(), 151936);
  check_generation(vocab, omni::agent::Catalog::demo().union_schema(), 50, 96);
}

TEST(TokenMask, GoldenModelVocabularies) {
  const json schema = omni::agent::Catalog::demo().union_schema();
  int n_models = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(OMNI_TEST_DATA) + "/llm")) {
    if (entry.path().extension() != ".gguf") continue;
    auto file = omni::gguf::File::open(entry.path().string());
    auto tok = omni::text::Tokenizer::from_gguf(file);
    auto vocab = TokenVocabulary::from_tokenizer(tok);
    SCOPED_TRACE(entry.path().filename().string());
    check_generation(vocab, schema, 50, 96);
    ++n_models;
  }
  EXPECT_GT(n_models, 0);
}

TEST(TokenMask, ForcedTokensAndBudget) {
  // With a 1-token-per-byte vocabulary, the const schema forces every byte.
  auto g = compile_for_vocab(compile_json_schema(json::parse(R"({"const":"abc"})")), byte_vocab());
  GrammarConstraint c(g, 0);
  std::string out;
  for (int i = 0; i < 5; ++i) {
    auto f = c.forced_tokens();
    ASSERT_EQ(f.size(), 1u);
    c.accept(f[0]);
  }
  EXPECT_EQ(c.text(), "\"abc\"");
  EXPECT_TRUE(c.is_complete());
  EXPECT_THROW(c.accept('x'), omni::Error);
  c.accept(256);
  EXPECT_TRUE(c.finished());
  // A free string must still close within the budget.
  auto s = compile_for_vocab(compile_json_schema(json::parse(R"({"type":"object","properties":{"t":{"type":"string"}},"required":["t"]})")), byte_vocab());
  for (int seed = 0; seed < 20; ++seed) {
    std::string text = generate_random(s, 257, uint64_t(seed), 12 + seed);
    EXPECT_NO_THROW(json::parse(text)) << text;
    EXPECT_LE(text.size() + 1, size_t(12 + seed));
  }
}

TEST(TokenMask, MaskEqualsBruteForceOverTheVocabulary) {
  // The trie walk (with its free-string block shortcut) must allow exactly the tokens whose bytes,
  // fed one by one from the current state, stay inside the grammar.
  auto vocab = synthetic_vocab(20000, 9);
  const json schema = omni::agent::Catalog::demo().union_schema();
  auto g = compile_for_vocab(compile_json_schema(schema), vocab);
  std::mt19937_64 rng(5);
  int checked_states = 0;
  for (int run = 0; run < 6; ++run) {
    GrammarConstraint c(g, 0);
    for (int step = 0; step < 40 && !c.finished(); ++step) {
      auto m = c.current_mask();
      int state = g->step_bytes(g->initial_state(), c.text());
      ASSERT_GE(state, 0);
      std::vector<int> allowed;
      for (int t = 0; t < vocab->n_vocab(); ++t) {
        bool expect = vocab->is_eog(t) ? g->accepting(state) : (!vocab->bytes(t).empty() && g->step_bytes(state, vocab->bytes(t)) >= 0);
        bool got = (m->bits[size_t(t) >> 6] >> (t & 63)) & 1;
        ASSERT_EQ(got, expect) << "token " << t << " '" << vocab->bytes(t) << "' after '" << c.text() << "'";
        if (got) allowed.push_back(t);
      }
      ASSERT_EQ(int(allowed.size()), m->n_allowed);
      // Budgeted masks: only tokens after which the output can still finish within the budget.
      for (int64_t budget : {int64_t(0), int64_t(g->distance(state)) - 1, int64_t(g->distance(state)) + 2}) {
        if (budget < 0) continue;
        auto bm = g->mask(state, budget);
        int n_real = 0;
        for (int t = 0; t < vocab->n_vocab(); ++t) {
          if (vocab->is_eog(t)) continue;
          int s2 = vocab->bytes(t).empty() ? -1 : g->step_bytes(state, vocab->bytes(t));
          bool expect = s2 >= 0 && int64_t(g->distance(s2)) <= budget;
          bool got = (bm->bits[size_t(t) >> 6] >> (t & 63)) & 1;
          n_real += expect;
          ASSERT_EQ(got, expect) << "budget " << budget << " token " << t << " '" << vocab->bytes(t) << "' after '" << c.text() << "'";
        }
        for (int t : vocab->eog_tokens()) {  // EOS: when complete, or at a dead end (so generation stops)
          bool got = (bm->bits[size_t(t) >> 6] >> (t & 63)) & 1;
          EXPECT_EQ(got, g->accepting(state) || n_real == 0) << "budget " << budget << " after '" << c.text() << "'";
        }
      }
      ++checked_states;
      c.accept(allowed[rng() % allowed.size()]);
    }
  }
  EXPECT_GT(checked_states, 100);
}
