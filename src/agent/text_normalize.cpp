// Utterance normalization for the tier-0 matcher; see text_normalize.hpp.
#include "agent/text_normalize.hpp"

#include <cmath>
#include <cstdint>
#include <map>

namespace omni::agent {

namespace {

// Decodes one UTF-8 code point at s[i]; returns 0xFFFD and length 1 for invalid bytes.
uint32_t decode_utf8(const std::string& s, size_t i, size_t* len) {
  unsigned char c = s[i];
  auto cont = [&](size_t k) { return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80; };
  if (c < 0x80) { *len = 1; return c; }
  if ((c & 0xE0) == 0xC0 && cont(1)) { *len = 2; return ((c & 0x1F) << 6) | (s[i + 1] & 0x3F); }
  if ((c & 0xF0) == 0xE0 && cont(1) && cont(2)) {
    *len = 3;
    return ((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
  }
  if ((c & 0xF8) == 0xF0 && cont(1) && cont(2) && cont(3)) {
    *len = 4;
    return ((c & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
  }
  *len = 1;
  return 0xFFFD;
}

bool is_cjk(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
         (cp >= 0x20000 && cp <= 0x2FFFF) || (cp >= 0x3040 && cp <= 0x30FF) || (cp >= 0xAC00 && cp <= 0xD7AF);
}

int chinese_digit(uint32_t cp) {
  switch (cp) {
    case 0x96F6: case 0x3007: return 0;  // 零 〇
    case 0x4E00: return 1;  // 一
    case 0x4E8C: case 0x4E24: return 2;  // 二 两
    case 0x4E09: return 3; case 0x56DB: return 4; case 0x4E94: return 5; case 0x516D: return 6;
    case 0x4E03: return 7; case 0x516B: return 8; case 0x4E5D: return 9;
    default: return -1;
  }
}
int chinese_unit(uint32_t cp) {
  switch (cp) {
    case 0x5341: return 10;    // 十
    case 0x767E: return 100;   // 百
    case 0x5343: return 1000;  // 千
    default: return 0;
  }
}

// Value of a run of Chinese numerals ("二十五" -> 25, "十" -> 10, "一百零五" -> 105, "三五" -> 35).
double chinese_number(const std::vector<uint32_t>& cps) {
  bool has_unit = false;
  for (uint32_t c : cps) has_unit = has_unit || chinese_unit(c) != 0;
  if (!has_unit) {  // digit by digit
    double v = 0;
    for (uint32_t c : cps) v = v * 10 + chinese_digit(c);
    return v;
  }
  double total = 0, digit = -1;
  for (uint32_t c : cps) {
    int d = chinese_digit(c);
    if (d >= 0) { digit = d; continue; }
    int u = chinese_unit(c);
    total += (digit < 0 ? 1 : digit) * u;
    digit = -1;
  }
  if (digit > 0) total += digit;
  return total;
}

const std::map<std::string, int>& english_numbers() {
  static const std::map<std::string, int> m = {
      {"zero", 0}, {"one", 1}, {"two", 2}, {"three", 3}, {"four", 4}, {"five", 5}, {"six", 6},
      {"seven", 7}, {"eight", 8}, {"nine", 9}, {"ten", 10}, {"eleven", 11}, {"twelve", 12},
      {"thirteen", 13}, {"fourteen", 14}, {"fifteen", 15}, {"sixteen", 16}, {"seventeen", 17},
      {"eighteen", 18}, {"nineteen", 19}, {"twenty", 20}, {"thirty", 30}, {"forty", 40}, {"fifty", 50},
      {"sixty", 60}, {"seventy", 70}, {"eighty", 80}, {"ninety", 90}, {"hundred", 100}};
  return m;
}

void set_number(WordToken& t, double v) {
  t.is_number = true;
  t.number = v;
  t.text = "#num";
}

}  // namespace

bool has_cjk(const std::string& text) {
  for (size_t i = 0; i < text.size();) {
    size_t len;
    uint32_t cp = decode_utf8(text, i, &len);
    if (is_cjk(cp)) return true;
    i += len;
  }
  return false;
}

std::vector<WordToken> normalize_utterance(const std::string& text) {
  std::vector<WordToken> raw;
  std::vector<std::vector<uint32_t>> raw_cps;  // for Chinese numeral runs
  WordToken cur;
  bool in_word = false;
  auto flush = [&]() {
    if (in_word && !cur.text.empty()) {
      raw.push_back(cur);
      raw_cps.emplace_back();
    }
    in_word = false;
    cur = WordToken{};
  };
  for (size_t i = 0; i < text.size();) {
    size_t len;
    uint32_t cp = decode_utf8(text, i, &len);
    if (cp >= 0xFF01 && cp <= 0xFF5E) cp -= 0xFEE0;  // full-width ASCII
    bool digit = cp >= '0' && cp <= '9';
    bool alpha = (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
    if (alpha || digit || (cp >= 0xC0 && cp < 0x2000 && cp != 0xD7 && cp != 0xF7)) {
      if (in_word && !cur.text.empty()) {
        // split letters from digits ("22c" -> "22" "c")
        const char last = cur.text.back();
        bool prev_digit = std::isdigit(static_cast<unsigned char>(last)) != 0 || last == '.' || last == '-';
        if (prev_digit != digit) flush();
      }
      if (!in_word) { in_word = true; cur.begin = i; }
      if (cp < 0x80) cur.text += static_cast<char>(std::tolower(static_cast<int>(cp)));
      else cur.text.append(text, i, len);
      cur.end = i + len;
    } else if (cp == '\'' || cp == 0x2019) {
      // apostrophes join ("what's" -> "whats")
    } else if (cp == '.' && in_word && !cur.text.empty() && std::isdigit(static_cast<unsigned char>(cur.text.back())) &&
               i + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
      cur.text += '.';
      cur.end = i + 1;
    } else if (cp == '-' && !in_word && i + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
      in_word = true;
      cur.begin = i;
      cur.text = "-";
      cur.end = i + 1;
    } else if (cp == '%' || cp == 0xFF05) {
      flush();
      WordToken t;
      t.text = "percent";
      t.begin = i;
      t.end = i + len;
      raw.push_back(t);
      raw_cps.emplace_back();
    } else if (is_cjk(cp)) {
      flush();
      WordToken t;
      t.text.assign(text, i, len);
      t.begin = i;
      t.end = i + len;
      t.cjk = true;
      raw.push_back(t);
      raw_cps.push_back({cp});
    } else {
      flush();
    }
    i += len;
  }
  flush();

  // Merge numbers.
  std::vector<WordToken> out;
  const auto& words = english_numbers();
  for (size_t i = 0; i < raw.size();) {
    WordToken t = raw[i];
    if (!t.cjk && !t.text.empty() && (std::isdigit(static_cast<unsigned char>(t.text[0])) ||
                                      (t.text[0] == '-' && t.text.size() > 1))) {
      try {
        set_number(t, std::stod(t.text));
      } catch (...) {
      }
      out.push_back(t);
      ++i;
      continue;
    }
    if (!t.cjk && words.count(t.text)) {
      double value = 0, group = 0;
      size_t j = i;
      while (j < raw.size() && !raw[j].cjk && (words.count(raw[j].text) || (raw[j].text == "and" && j > i && j + 1 < raw.size() && words.count(raw[j + 1].text)))) {
        if (raw[j].text == "and") { ++j; continue; }
        int w = words.at(raw[j].text);
        if (w == 100) group = (group == 0 ? 1 : group) * 100;
        else if (w >= 20 && group != 0 && std::fmod(group, 100) != 0) break;  // "five twenty": stop
        else if (w < 10 && group != 0 && std::fmod(group, 10) != 0) break;   // "two three": two numbers
        else group += w;
        ++j;
      }
      value += group;
      set_number(t, value);
      t.end = raw[j - 1].end;
      out.push_back(t);
      i = j;
      continue;
    }
    if (t.cjk && raw_cps[i].size() == 1 && (chinese_digit(raw_cps[i][0]) >= 0 || chinese_unit(raw_cps[i][0]) > 0)) {
      std::vector<uint32_t> run;
      size_t j = i;
      while (j < raw.size() && raw[j].cjk && raw_cps[j].size() == 1 &&
             (chinese_digit(raw_cps[j][0]) >= 0 || chinese_unit(raw_cps[j][0]) > 0)) {
        run.push_back(raw_cps[j][0]);
        ++j;
      }
      set_number(t, chinese_number(run));
      t.end = raw[j - 1].end;
      t.cjk = true;
      out.push_back(t);
      i = j;
      continue;
    }
    out.push_back(t);
    ++i;
  }
  return out;
}

}  // namespace omni::agent
