// JSON Schema -> byte-level Grammar for constrained decoding. Supported: type (object, array,
// string, number, integer, boolean, null, and lists of them), properties, required,
// additionalProperties (false, or absent = closed; a schema without properties = map of values),
// enum, const, oneOf, anyOf, allOf with one member, $ref/$defs/definitions (recursion allowed),
// items, minItems, maxItems, minLength, maxLength, integer minimum/maximum (also exclusive), and
// anchored patterns (^...$: literals, classes, \d \w \s, ., groups, | and * + ? {m,n}).
// Anything else that would constrain the value is refused with omni::Error(unsupported) naming the
// keyword and its location: a schema is never silently left unconstrained. Output is compact JSON
// with at most one space after ':' and ','. Properties come in a fixed order: those with a "const"
// (discriminators such as "action") first, then required ones, then optional ones, each by name.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/grammar/grammar.hpp"

namespace omni::runtime::grammar {

Grammar compile_json_schema(const nlohmann::json& schema);

// A grammar for any JSON value (the root is an object or array when `container_only`).
Grammar any_json_grammar(bool container_only = false);

}  // namespace omni::runtime::grammar
