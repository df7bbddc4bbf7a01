// Tokenizer tests: SentencePiece on a small hand-built vocabulary (expected ids worked out by hand),
// byte fallback, special tokens, and the UTF-8-safe streaming detokenizer.
#include <gtest/gtest.h>

#include "formats/gguf.hpp"
#include "omni/error.hpp"
#include "text/tokenizer.hpp"

using namespace omni;
using namespace omni::text;

namespace {

// <unk>=0 <s>=1 </s>=2, bytes <0x00>..<0xFF> = 3..258, then pieces from 259 on.
struct SpmVocab {
  TokenizerConfig cfg;
  std::map<std::string, int32_t> id;
  SpmVocab() {
    cfg.model = "llama";
    auto add = [&](const std::string& t, float score, TokenType type) {
      id[t] = int32_t(cfg.tokens.size());
      cfg.tokens.push_back(t);
      cfg.scores.push_back(score);
      cfg.types.push_back(int32_t(type));
    };
    add("<unk>", 0, TokenType::unknown);
    add("<s>", 0, TokenType::control);
    add("</s>", 0, TokenType::control);
    for (int b = 0; b < 256; ++b) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "<0x%02X>", b);
      add(buf, 0, TokenType::byte);
    }
    const std::string S = "\xE2\x96\x81";  // ▁
    for (const char* c : {"h", "e", "l", "o", "w", "r", "d"}) add(c, -10, TokenType::normal);
    add(S, -10, TokenType::normal);
    add(S + "h", -5, TokenType::normal);
    add("ll", -3, TokenType::normal);
    add(S + "he", -4, TokenType::normal);
    add("llo", -2.5f, TokenType::normal);
    add(S + "hello", -1, TokenType::normal);
    add(S + "w", -5.5f, TokenType::normal);
    add("or", -4, TokenType::normal);
    add(S + "wor", -3.5f, TokenType::normal);
    cfg.bos = 1;
    cfg.eos = 2;
    cfg.unk = 0;
    cfg.add_bos = true;
  }
};

TEST(SentencePiece, MergesByScoreAsWorkedOutByHand) {
  SpmVocab v;
  Tokenizer tok(v.cfg);
  const std::string S = "\xE2\x96\x81";
  // ▁ h e l l o ▁ w o r l d: ll, llo, or, ▁h, ▁he, ▁hello, ▁w, ▁wor; then l and d stay single.
  const std::vector<int32_t> expect = {v.id[S + "hello"], v.id[S + "wor"], v.id["l"], v.id["d"]};
  EXPECT_EQ(tok.encode("hello world"), expect);
  std::vector<int32_t> with_bos = {1};
  with_bos.insert(with_bos.end(), expect.begin(), expect.end());
  EXPECT_EQ(tok.encode("hello world", true), with_bos);
  EXPECT_EQ(tok.decode(expect), "hello world");
}

TEST(SentencePiece, ByteFallbackAndSpecials) {
  SpmVocab v;
  Tokenizer tok(v.cfg);
  const std::string S = "\xE2\x96\x81";
  // é is not a piece: its two UTF-8 bytes become <0xC3> <0xA9> (ids 3 + byte).
  const std::vector<int32_t> expect = {v.id[S + "h"], 3 + 0xC3, 3 + 0xA9};
  EXPECT_EQ(tok.encode("h\xC3\xA9"), expect);
  EXPECT_EQ(tok.decode(expect), "h\xC3\xA9");
  // "<s>" in the text is the control token; the text after it gets its own leading space.
  const std::vector<int32_t> sp = {1, v.id[S + "hello"]};
  EXPECT_EQ(tok.encode("<s>hello", false, true), sp);
  // without special parsing "<s>" is ordinary text (< s > via byte fallback)
  const auto plain = tok.encode("<s>", false, false);
  EXPECT_EQ(plain.size(), 4u);  // ▁ < s >
  EXPECT_EQ(tok.decode(plain), "<s>");
  EXPECT_EQ(tok.token_to_piece(1), "");
  EXPECT_EQ(tok.token_to_piece(1, true), "<s>");
  EXPECT_TRUE(tok.is_end_of_generation(2));
}

TEST(Tokenizer, RejectsUnknownModelsAndPreTokenizers) {
  TokenizerConfig c;
  c.tokens = {"a", "b"};
  c.model = "bert";
  try {
    Tokenizer t(c);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unsupported);
    EXPECT_NE(std::string(e.what()).find("bert"), std::string::npos);
  }
  c.model = "gpt2";
  c.pre = "falcon";
  try {
    Tokenizer t(c);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("falcon"), std::string::npos);
  }
}

Tokenizer golden_bpe() {
  const auto f = gguf::File::open(std::string(OMNI_TEST_DATA) + "/llm/mini-qwen2-f32.gguf");
  return Tokenizer::from_gguf(f);
}

TEST(StreamDecoder, HoldsBackIncompleteUtf8) {
  const Tokenizer tok = golden_bpe();
  // From tokens.json: "é" is the byte tokens 195,169 and "🙂" the four byte tokens 240,159,153,130.
  StreamDecoder d(tok);
  EXPECT_EQ(d.push(195), "");
  EXPECT_EQ(d.push(169), "\xC3\xA9");
  EXPECT_EQ(d.push(240), "");
  EXPECT_EQ(d.push(159), "");
  EXPECT_EQ(d.push(153), "");
  EXPECT_EQ(d.push(130), "\xF0\x9F\x99\x82");
  EXPECT_EQ(d.flush(), "");
  // an incomplete character at the end becomes U+FFFD
  EXPECT_EQ(d.push(240), "");
  EXPECT_EQ(d.flush(), "\xEF\xBF\xBD");
}

TEST(BytePairEncoding, RoundTripsArbitraryBytes) {
  const Tokenizer tok = golden_bpe();
  std::string s;
  for (int b = 1; b < 256; ++b) s += char(b);
  s += "\xFF\xFE invalid \xC3 utf8";
  const auto ids = tok.encode(s, false, false);
  EXPECT_EQ(tok.decode(ids), s);
}

TEST(Utf8, CompletePrefix) {
  EXPECT_EQ(utf8_complete_prefix("ab\xC3"), 2u);
  EXPECT_EQ(utf8_complete_prefix("ab\xC3\xA9"), 4u);
  EXPECT_EQ(utf8_complete_prefix("\xF0\x9F\x99"), 0u);
  EXPECT_EQ(utf8_complete_prefix(""), 0u);
}

}  // namespace
