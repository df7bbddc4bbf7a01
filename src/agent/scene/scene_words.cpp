// Vocabulary of the 3D scene: furniture types, styles, camera views and anchors, and the mapping of
// free words ("couch", "Scandinavian", "by the window", "左边") to their canonical names.
#include <algorithm>
#include <cctype>
#include <regex>
#include <utility>

#include "agent/scene/scene_model.hpp"

namespace omni::agent::scene {

namespace {

// Lower-case ASCII, punctuation to spaces, runs of spaces collapsed, trimmed. Non-ASCII bytes (CJK)
// are kept as they are.
std::string normalise(const std::string& text) {
  std::string out;
  bool space = false;
  for (unsigned char c : text) {
    if (c >= 0x80) {
      out += static_cast<char>(c);
      space = false;
    } else if (std::isalnum(c) || c == ':' || c == '\'') {
      out += static_cast<char>(std::tolower(c));
      space = false;
    } else if (!space && !out.empty()) {
      out += ' ';
      space = true;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

bool contains(const std::string& text, const std::string& word) { return text.find(word) != std::string::npos; }

// Synonym tables: canonical name, then words that mean it (longest first matters only inside a
// table; lookups test every word of every entry).
using Synonyms = std::vector<std::pair<std::string, std::vector<std::string>>>;

const Synonyms& type_synonyms() {
  static const Synonyms table = {
      {"coffee_table", {"coffee table", "coffee_table", "side table", "tea table", "low table", "茶几"}},
      {"dining_table", {"dining table", "dining_table", "dinner table", "kitchen table", "table", "餐桌", "桌子", "桌"}},
      {"armchair", {"armchair", "arm chair", "easy chair", "lounge chair", "recliner", "扶手椅", "单人沙发"}},
      {"sofa", {"sofa", "couch", "settee", "loveseat", "沙发"}},
      {"chair", {"chair", "dining chair", "stool", "seat", "椅子", "椅"}},
      {"bed", {"bed", "double bed", "single bed", "床"}},
      {"lamp", {"lamp", "floor lamp", "standing lamp", "reading lamp", "台灯", "落地灯", "灯"}},
      {"shelf", {"shelf", "shelves", "bookshelf", "bookcase", "book shelf", "shelving", "书架", "架子"}},
      {"plant", {"plant", "potted plant", "houseplant", "ficus", "monstera", "tree", "植物", "盆栽", "绿植"}},
      {"rug", {"rug", "carpet", "mat", "地毯"}},
  };
  return table;
}

const Synonyms& style_synonyms() {
  static const Synonyms table = {
      {"nordic", {"nordic", "scandinavian", "scandi", "danish", "swedish", "北欧"}},
      {"industrial", {"industrial", "loft", "urban", "steel", "工业"}},
      {"modern", {"modern", "contemporary", "minimal", "minimalist", "sleek", "现代", "简约"}},
      {"classic", {"classic", "classical", "traditional", "victorian", "vintage", "antique", "古典", "经典", "欧式"}},
      {"japanese", {"japanese", "japandi", "zen", "wabi sabi", "日式", "和风"}},
  };
  return table;
}

const Synonyms& camera_synonyms() {
  static const Synonyms table = {
      {"top", {"top", "top down", "top-down", "bird's eye", "birds eye", "overhead", "plan", "floor plan", "俯视", "顶视"}},
      {"front", {"front", "front view", "straight", "正面", "正视"}},
      {"window", {"window", "窗"}},
      {"door", {"door", "entrance", "doorway", "门"}},
      {"corner", {"corner", "角落"}},
      {"left", {"left", "left side", "左"}},
      {"right", {"right", "right side", "右"}},
      {"overview", {"overview", "default", "perspective", "reset", "home", "whole room", "全景", "默认"}},
  };
  return table;
}

// Whole-word (for ASCII) or substring (for CJK) test of `word` in normalised `text`.
bool has_word(const std::string& text, const std::string& word) {
  if (word.empty()) return false;
  bool cjk = static_cast<unsigned char>(word[0]) >= 0x80;
  size_t pos = 0;
  while ((pos = text.find(word, pos)) != std::string::npos) {
    if (cjk) return true;
    bool left_ok = pos == 0 || !std::isalnum(static_cast<unsigned char>(text[pos - 1]));
    size_t end = pos + word.size();
    // Allow a plural "s" after the word.
    if (end < text.size() && text[end] == 's') ++end;
    bool right_ok = end >= text.size() || !std::isalnum(static_cast<unsigned char>(text[end]));
    if (left_ok && right_ok) return true;
    ++pos;
  }
  return false;
}

// First canonical name whose synonym appears in `text`, preferring the longest synonym.
std::string lookup(const Synonyms& table, const std::string& raw) {
  std::string text = normalise(raw);
  for (char& c : text)
    if (c == '_') c = ' ';
  std::string best;
  size_t best_len = 0;
  for (const auto& [name, words] : table) {
    if (text == name) return name;
    for (const auto& w : words) {
      if (w.size() > best_len && has_word(text, w)) {
        best = name;
        best_len = w.size();
      }
    }
  }
  return best;
}

}  // namespace

const std::vector<std::string>& furniture_types() {
  static const std::vector<std::string> types = {"sofa", "armchair", "coffee_table", "dining_table", "chair",
                                                 "bed",  "lamp",     "shelf",        "plant",        "rug"};
  return types;
}

const std::vector<std::string>& style_names() {
  static const std::vector<std::string> styles = {"nordic", "industrial", "modern", "classic", "japanese"};
  return styles;
}

const std::vector<std::string>& camera_views() {
  static const std::vector<std::string> views = {"overview", "top", "front", "window", "door", "corner", "left", "right"};
  return views;
}

std::string canonical_type(const std::string& text) {
  std::string n = normalise(text);
  // Object ids ("sofa_2") name their type.
  static const std::regex id_re("^([a-z_]+)_[0-9]+$");
  std::smatch m;
  if (std::regex_match(n, m, id_re)) {
    for (const auto& t : furniture_types())
      if (m[1] == t) return t;
  }
  return lookup(type_synonyms(), text);
}

std::string canonical_style(const std::string& text) { return lookup(style_synonyms(), text); }

std::string canonical_camera(const std::string& text) { return lookup(camera_synonyms(), text); }

std::string canonical_anchor(const std::string& raw) {
  std::string text = normalise(raw);
  for (char& c : text)
    if (c == '_') c = ' ';
  if (text.empty()) return "";
  // Already canonical relative form "left of:sofa 1" (after the '_' replacement) or "left_of:sofa_1".
  static const std::regex canon_re("^(left of|right of|in front of|behind|next to):(.+)$");
  std::smatch m;
  if (std::regex_match(text, m, canon_re)) {
    std::string rel = m[1].str(), ref = m[2].str();
    for (char& c : rel)
      if (c == ' ') c = '_';
    for (char& c : ref)
      if (c == ' ') c = '_';
    return rel + ":" + ref;
  }
  // Drop leading prepositions and articles: "put it by the window" positions arrive as "by the window".
  static const std::regex lead_re("^(?:(?:put|place|it|them|somewhere|over|right|just|by|near|at|in|on|to|against|along|beside the|into|under|the|a|an)\\s+)+");
  // "right" is both a filler ("right by the window") and a side ("right of the sofa"): keep it when
  // followed by "of"/"side".
  std::string stripped = text;
  static const std::regex side_re("^(?:to the |on the |at the )?(left|right)(?: hand)?(?: side)?(?: of| from)? (?:the )?(.+)$");
  static const std::regex front_re("^(?:in )?front of (?:the )?(.+)$");
  static const std::regex behind_re("^(?:behind|in back of|back of) (?:the )?(.+)$");
  static const std::regex next_re("^(?:next to|beside|by|near|close to|alongside) (?:the )?(.+)$");
  std::string relation, ref;
  if (std::regex_match(text, m, side_re) && !contains(m[2].str(), "wall") && !contains(m[2].str(), "corner")) {
    relation = m[1].str() + "_of";
    ref = m[2].str();
  } else if (std::regex_match(text, m, front_re)) {
    relation = "in_front_of";
    ref = m[1].str();
  } else if (std::regex_match(text, m, behind_re)) {
    relation = "behind";
    ref = m[1].str();
  } else if (std::regex_match(text, m, next_re)) {
    relation = "next_to";
    ref = m[1].str();
  }
  // Chinese relative forms: 沙发左边 / 沙发的右边 / 沙发前面 / 沙发旁边.
  if (relation.empty()) {
    static const std::vector<std::pair<std::string, std::string>> zh = {
        {"左边", "left_of"}, {"左侧", "left_of"}, {"右边", "right_of"}, {"右侧", "right_of"},
        {"前面", "in_front_of"}, {"前边", "in_front_of"}, {"后面", "behind"}, {"旁边", "next_to"}};
    for (const auto& [word, rel] : zh) {
      size_t p = text.find(word);
      if (p != std::string::npos && p > 0) {
        std::string before = text.substr(0, p);
        if (before.size() >= 3 && before.substr(before.size() - 3) == "的") before.resize(before.size() - 3);
        relation = rel;
        ref = before;
        break;
      }
    }
  }
  if (!relation.empty()) {
    // "next to the window" / "left of the door": the fixed anchor itself.
    std::string fixed = canonical_anchor(ref);
    if (!fixed.empty() && fixed.find(':') == std::string::npos && canonical_type(ref).empty())
      return fixed;
    std::string type = canonical_type(ref);
    std::string ref_id = ref;
    for (char& c : ref_id)
      if (c == ' ') c = '_';
    static const std::regex id_re("^[a-z_]+_[0-9]+$");
    if (std::regex_match(ref_id, id_re)) return relation + ":" + ref_id;
    if (!type.empty()) return relation + ":" + type;
    return "";
  }
  stripped = std::regex_replace(text, lead_re, "");
  bool left = has_word(stripped, "left") || contains(stripped, "左");
  bool right = has_word(stripped, "right") || contains(stripped, "右");
  bool front = has_word(stripped, "front") || contains(stripped, "前");
  if (has_word(stripped, "corner") || contains(stripped, "角")) {
    std::string depth = front ? "front" : "back";
    std::string side = left ? "left" : "right";
    if (!left && !right && !front) return "corner";
    return "corner_" + depth + "_" + side;
  }
  if (has_word(stripped, "window") || contains(stripped, "窗")) return "window";
  if (has_word(stripped, "door") || has_word(stripped, "entrance") || contains(stripped, "门")) return "door";
  if (has_word(stripped, "centre") || has_word(stripped, "center") || has_word(stripped, "middle") ||
      contains(stripped, "中间") || contains(stripped, "中央"))
    return "centre";
  if (has_word(stripped, "wall") || contains(stripped, "墙")) {
    if (left) return "left_wall";
    if (right) return "right_wall";
    return "back_wall";
  }
  return "";
}

}  // namespace omni::agent::scene
