// Dataset export of recorded episodes in ms-swift's standard format (one JSON object per line):
// `messages` (system, user, assistant), `images` / `audios` (paths, one "<image>" / "<audio>" tag per
// entry in the user turn), `rejected_response` (dpo), `label` (kto).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/catalog.hpp"
#include "agent/episode_store.hpp"

namespace omni::agent {

enum class DatasetFormat { sft, dpo, kto };
DatasetFormat parse_dataset_format(const std::string& name);  // throws invalid_argument

// Rows for the episodes (oldest first):
//  sft: every episode with an action whose feedback is not negative; the assistant turn is the
//       corrected action when there is one, else the action.
//  dpo: episodes with a corrected action that differs from the original: chosen = corrected,
//       rejected_response = original.
//  kto: episodes with a reward: label = reward > 0 (a correction adds a true row for it).
std::vector<nlohmann::json> export_rows(const std::vector<Episode>& episodes, const Catalog& catalog, DatasetFormat format);

// Checks one row against ms-swift's field rules; returns "" when valid, else what is wrong.
std::string check_swift_row(const nlohmann::json& row, DatasetFormat format);

// Writes rows as JSONL; returns the number written. Throws omni::Error(io) when it cannot write.
size_t write_jsonl(const std::vector<nlohmann::json>& rows, const std::string& path);

}  // namespace omni::agent
