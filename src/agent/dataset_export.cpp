// Episode -> ms-swift dataset rows (sft / dpo / kto); see dataset_export.hpp.
#include "agent/dataset_export.hpp"

#include <algorithm>
#include <fstream>

#include "agent/tier1.hpp"
#include "omni/error.hpp"

namespace omni::agent {

using nlohmann::json;

DatasetFormat parse_dataset_format(const std::string& name) {
  if (name == "sft") return DatasetFormat::sft;
  if (name == "dpo") return DatasetFormat::dpo;
  if (name == "kto") return DatasetFormat::kto;
  fail(ErrorCode::invalid_argument, "unknown dataset format '", name, "' (sft, dpo or kto)");
}

namespace {

json base_row(const Episode& e, const std::string& system_prompt) {
  std::string user = e.input_text;
  json row = json::object();
  if (!e.image_path.empty()) {
    user = "<image>" + user;
    row["images"] = json::array({e.image_path});
  }
  row["messages"] = json::array({{{"role", "system"}, {"content", system_prompt}}, {{"role", "user"}, {"content", user}}});
  return row;
}

void add_assistant(json& row, const json& action) {
  row["messages"].push_back({{"role", "assistant"}, {"content", action.dump()}});
}

size_t count_tag(const std::string& s, const std::string& tag) {
  size_t n = 0;
  for (size_t p = s.find(tag); p != std::string::npos; p = s.find(tag, p + tag.size())) ++n;
  return n;
}

}  // namespace

std::vector<json> export_rows(const std::vector<Episode>& episodes_in, const Catalog& catalog, DatasetFormat format) {
  std::vector<Episode> episodes = episodes_in;
  std::sort(episodes.begin(), episodes.end(), [](const Episode& a, const Episode& b) { return a.id < b.id; });
  const std::string system = tier1_system_prompt(catalog);
  std::vector<json> rows;
  for (const auto& e : episodes) {
    if (e.input_text.empty() || e.tier == "confirm") continue;
    const bool has_action = e.action.is_object();
    const bool has_fix = e.corrected_action.is_object();
    switch (format) {
      case DatasetFormat::sft: {
        if (has_fix) {
          json row = base_row(e, system);
          add_assistant(row, e.corrected_action);
          rows.push_back(row);
        } else if (has_action && !(e.reward && *e.reward <= 0)) {
          json row = base_row(e, system);
          add_assistant(row, e.action);
          rows.push_back(row);
        }
        break;
      }
      case DatasetFormat::dpo: {
        if (has_fix && has_action && e.corrected_action != e.action) {
          json row = base_row(e, system);
          add_assistant(row, e.corrected_action);
          row["rejected_response"] = e.action.dump();
          rows.push_back(row);
        }
        break;
      }
      case DatasetFormat::kto: {
        if (e.reward && has_action) {
          json row = base_row(e, system);
          add_assistant(row, e.action);
          row["label"] = *e.reward > 0;
          rows.push_back(row);
        }
        if (has_fix && e.corrected_action != e.action) {
          json row = base_row(e, system);
          add_assistant(row, e.corrected_action);
          row["label"] = true;
          rows.push_back(row);
        }
        break;
      }
    }
  }
  return rows;
}

std::string check_swift_row(const json& row, DatasetFormat format) {
  if (!row.is_object()) return "a row must be a JSON object";
  static const char* allowed[] = {"messages", "rejected_response", "label", "images", "videos", "audios", "tools", "objects"};
  for (auto it = row.begin(); it != row.end(); ++it)
    if (std::find_if(std::begin(allowed), std::end(allowed), [&](const char* k) { return it.key() == k; }) == std::end(allowed))
      return "unknown key '" + it.key() + "'";
  if (!row.contains("messages") || !row["messages"].is_array() || row["messages"].empty()) return "'messages' must be a non-empty list";
  const json& msgs = row["messages"];
  size_t i = 0;
  if (msgs[0].value("role", "") == "system") ++i;
  if (i >= msgs.size()) return "no user turn";
  std::string expected = "user";
  std::string all_user;
  for (; i < msgs.size(); ++i) {
    const json& m = msgs[i];
    if (!m.is_object() || !m.contains("role") || !m.contains("content") || !m["content"].is_string()) return "each message needs a role and a string content";
    if (m["role"] != expected) return "message " + std::to_string(i) + " should have role " + expected;
    if (expected == "user") all_user += m["content"].get<std::string>();
    expected = expected == "user" ? "assistant" : "user";
  }
  if (msgs.back().value("role", "") != "assistant") return "the last message must be the assistant's";
  for (const auto& [key, tag] : {std::pair<const char*, const char*>{"images", "<image>"}, {"audios", "<audio>"}}) {
    size_t n = row.contains(key) ? row[key].size() : 0;
    if (row.contains(key) && !row[key].is_array()) return std::string("'") + key + "' must be a list";
    if (count_tag(all_user, tag) != n) return std::string("the number of ") + tag + " tags differs from the number of " + key;
  }
  if (format == DatasetFormat::dpo && (!row.contains("rejected_response") || !row["rejected_response"].is_string()))
    return "dpo rows need a string 'rejected_response'";
  if (format != DatasetFormat::dpo && row.contains("rejected_response")) return "'rejected_response' only belongs to dpo rows";
  if (format == DatasetFormat::kto && (!row.contains("label") || !row["label"].is_boolean())) return "kto rows need a boolean 'label'";
  if (format != DatasetFormat::kto && row.contains("label")) return "'label' only belongs to kto rows";
  return "";
}

size_t write_jsonl(const std::vector<json>& rows, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail(ErrorCode::io, "cannot write dataset file ", path);
  for (const auto& r : rows) out << r.dump() << '\n';
  out.flush();
  if (!out) fail(ErrorCode::io, "writing dataset file ", path, " failed");
  return rows.size();
}

}  // namespace omni::agent
