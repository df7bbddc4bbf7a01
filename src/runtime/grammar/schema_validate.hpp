// JSON Schema validation for the subset the grammar compiler supports (type, properties, required,
// additionalProperties, enum, const, oneOf/anyOf/allOf, $ref/$defs, items, min/maxItems,
// min/maxLength, minimum/maximum, simple pattern). Used to check actions and constrained output.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace omni::runtime::grammar {

// Returns "" when `value` satisfies `schema`, else a message naming the first violation and its
// JSON pointer ("/position: not one of the allowed values"). `root` resolves "$ref" (defaults to schema).
std::string validate_json(const nlohmann::json& schema, const nlohmann::json& value,
                          const nlohmann::json* root = nullptr);

// Counts UTF-8 code points (JSON Schema lengths are in characters, not bytes).
size_t utf8_length(const std::string& s);

}  // namespace omni::runtime::grammar
