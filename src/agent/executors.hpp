// Executors: carry out a validated action. http (libcurl POST JSON, timeout, retries), mqtt
// (libmosquitto publish), exec (argv template, no shell, allow-listed program, timeout, output
// captured), scene (an event for the 3D console's sink), log (records only). Failures (timeouts,
// refused connections, non-zero exits) are returned as results with "ok": false, never thrown.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/catalog.hpp"

namespace omni::agent {

struct ExecutorContext {
  std::function<void(const nlohmann::json& event)> scene_sink;  // may be empty
  std::vector<std::string> exec_allow;  // absolute program paths the exec executor may run
};

// Programs the exec executor may run without being allow-listed explicitly.
const std::vector<std::string>& default_exec_allow();

// Runs the action's executor binding. Returns {"ok": bool, "executor": type, ...details, "error"?}.
nlohmann::json execute_action(const ActionSpec& spec, const nlohmann::json& action, const ExecutorContext& ctx);

// Replaces {arg} in a template string with the action's argument values ({action} -> the name,
// {action_json} -> the whole action as JSON). Unknown names become empty strings.
std::string fill_template(const std::string& tpl, const nlohmann::json& action);
// fill_template applied to every string inside a JSON value.
nlohmann::json fill_json_template(const nlohmann::json& tpl, const nlohmann::json& action);

}  // namespace omni::agent
