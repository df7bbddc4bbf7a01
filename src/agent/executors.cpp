// Executors for http, mqtt, exec, scene and log bindings; see executors.hpp.
#include "agent/executors.hpp"

#include "agent/http_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <mosquitto.h>

extern char** environ;

namespace omni::agent {

using nlohmann::json;

namespace {

constexpr size_t k_max_capture = 64 * 1024;

std::string value_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

json failure(const std::string& executor, const std::string& error, json extra = json::object()) {
  extra["ok"] = false;
  extra["executor"] = executor;
  extra["error"] = error;
  return extra;
}

// ---- http ----
json run_http(const json& cfg, const json& action) {
  if (!cfg.contains("url") || !cfg["url"].is_string()) return failure("http", "the http executor needs a 'url'");
  const std::string url = fill_template(cfg["url"].get<std::string>(), action);
  const std::string method = cfg.value("method", "POST");
  const long timeout_ms = cfg.value("timeout_ms", 3000L);
  const int retries = std::clamp(cfg.value("retries", 1), 0, 10);
  const std::string body = cfg.contains("body") ? fill_json_template(cfg["body"], action).dump() : action.dump();
  json attempts = json::array();
  for (int attempt = 0; attempt <= retries; ++attempt) {
    HttpRequest req{url, method, body, {"Content-Type: application/json"}, timeout_ms, k_max_capture};
    if (cfg.contains("headers") && cfg["headers"].is_object())
      for (auto it = cfg["headers"].begin(); it != cfg["headers"].end(); ++it)
        req.headers.push_back(it.key() + ": " + fill_template(value_text(it.value()), action));
    const HttpReply reply = http_request(req);
    const long status = reply.status;
    const std::string& response = reply.body;
    if (reply.transport_ok && status < 500) {
      json r{{"ok", status >= 200 && status < 300}, {"executor", "http"}, {"url", url}, {"status", status},
             {"attempts", attempt + 1}, {"response", response}};
      if (status >= 300) r["error"] = "HTTP status " + std::to_string(status);
      return r;
    }
    attempts.push_back(!reply.transport_ok ? reply.error : "HTTP status " + std::to_string(status));
    if (attempt < retries) std::this_thread::sleep_for(std::chrono::milliseconds(100 * (attempt + 1)));
  }
  return failure("http", "request to " + url + " failed: " + attempts.back().get<std::string>(),
                 json{{"url", url}, {"attempts", attempts.size()}, {"attempt_errors", attempts}});
}

// ---- mqtt ----
struct MqttState {
  std::atomic<bool> published{false};
  std::atomic<bool> connected{false};
  std::atomic<int> connect_rc{-1};
};

json run_mqtt(const json& cfg, const json& action) {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
  if (!cfg.contains("topic") || !cfg["topic"].is_string()) return failure("mqtt", "the mqtt executor needs a 'topic'");
  const std::string host = cfg.value("host", "127.0.0.1");
  const int port = cfg.value("port", 1883);
  const std::string topic = fill_template(cfg["topic"].get<std::string>(), action);
  const int qos = std::clamp(cfg.value("qos", 1), 0, 2);
  const bool retain = cfg.value("retain", false);
  const int timeout_ms = cfg.value("timeout_ms", 3000);
  const std::string payload = cfg.contains("payload") ? (cfg["payload"].is_string() ? fill_template(cfg["payload"].get<std::string>(), action)
                                                                                     : fill_json_template(cfg["payload"], action).dump())
                                                      : action.dump();
  json info{{"host", host}, {"port", port}, {"topic", topic}};
  MqttState state;
  mosquitto* m = mosquitto_new(nullptr, true, &state);
  if (!m) return failure("mqtt", "libmosquitto could not create a client", info);
  mosquitto_connect_callback_set(m, [](mosquitto*, void* user, int rc) {
    auto* s = static_cast<MqttState*>(user);
    s->connect_rc = rc;
    s->connected = rc == 0;
  });
  mosquitto_publish_callback_set(m, [](mosquitto*, void* user, int) { static_cast<MqttState*>(user)->published = true; });
  json result;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int rc = mosquitto_connect(m, host.c_str(), port, 10);
  if (rc != MOSQ_ERR_SUCCESS) {
    result = failure("mqtt", "cannot connect to MQTT broker " + host + ":" + std::to_string(port) + ": " +
                                 (rc == MOSQ_ERR_ERRNO ? std::string(strerror(errno)) : std::string(mosquitto_strerror(rc))), info);
  } else {
    while (!state.connected && state.connect_rc.load() <= 0 && std::chrono::steady_clock::now() < deadline) {
      if (mosquitto_loop(m, 50, 1) != MOSQ_ERR_SUCCESS) break;
    }
    if (!state.connected) {
      result = failure("mqtt", state.connect_rc > 0 ? "the MQTT broker refused the connection: " + std::string(mosquitto_connack_string(state.connect_rc))
                                                    : "timed out connecting to the MQTT broker", info);
    } else {
      rc = mosquitto_publish(m, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), qos, retain);
      if (rc != MOSQ_ERR_SUCCESS) {
        result = failure("mqtt", std::string("publish failed: ") + mosquitto_strerror(rc), info);
      } else {
        while (!state.published && std::chrono::steady_clock::now() < deadline) {
          if (mosquitto_loop(m, 50, 1) != MOSQ_ERR_SUCCESS) break;
        }
        if (state.published) {
          result = info;
          result["ok"] = true;
          result["executor"] = "mqtt";
          result["qos"] = qos;
        } else {
          result = failure("mqtt", "timed out waiting for the broker to acknowledge the publish", info);
        }
      }
      mosquitto_disconnect(m);
    }
  }
  mosquitto_destroy(m);
  return result;
}

// ---- exec ----
json run_exec(const json& cfg, const json& action, const ExecutorContext& ctx) {
  if (!cfg.contains("argv") || !cfg["argv"].is_array() || cfg["argv"].empty())
    return failure("exec", "the exec executor needs an 'argv' list");
  std::vector<std::string> argv;
  for (const auto& a : cfg["argv"]) argv.push_back(fill_template(value_text(a), action));
  const std::string& program = argv[0];
  json info{{"argv", argv}};
  if (program.empty() || program[0] != '/') return failure("exec", "the program must be an absolute path: '" + program + "'", info);
  bool allowed = std::find(default_exec_allow().begin(), default_exec_allow().end(), program) != default_exec_allow().end() ||
                 std::find(ctx.exec_allow.begin(), ctx.exec_allow.end(), program) != ctx.exec_allow.end();
  if (!allowed) return failure("exec", "program '" + program + "' is not on the exec allow-list", info);
  const int timeout_ms = cfg.value("timeout_ms", 5000);
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return failure("exec", "pipe failed", info);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return failure("exec", "pipe failed", info);
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, program.c_str(), &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return failure("exec", "cannot start '" + program + "': " + strerror(rc), info);
  }
  std::string out, err;
  bool timed_out = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) { timed_out = true; break; }
    int n = poll(fds, 2, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    for (int k = 0; k < 2; ++k) {
      if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t got = read(fds[k].fd, buf, sizeof buf);
      if (got <= 0) {
        close(fds[k].fd);
        fds[k].fd = -1;
        --open_fds;
      } else {
        std::string& dst = k == 0 ? out : err;
        if (dst.size() < k_max_capture) dst.append(buf, std::min<size_t>(got, k_max_capture - dst.size()));
      }
    }
  }
  if (timed_out) kill(pid, SIGKILL);
  for (auto& f : fds) if (f.fd >= 0) close(f.fd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  info["stdout"] = out;
  info["stderr"] = err;
  if (timed_out) return failure("exec", "'" + program + "' timed out after " + std::to_string(timeout_ms) + " ms and was killed", info);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  info["exit_code"] = code;
  if (code != 0) return failure("exec", "'" + program + "' exited with status " + std::to_string(code), info);
  info["ok"] = true;
  info["executor"] = "exec";
  return info;
}

}  // namespace

const std::vector<std::string>& default_exec_allow() {
  static const std::vector<std::string> allow = {"/bin/echo", "/usr/bin/echo", "/bin/true", "/usr/bin/true",
                                                 "/usr/bin/notify-send", "/usr/bin/espeak-ng"};
  return allow;
}

std::string fill_template(const std::string& tpl, const json& action) {
  std::string out;
  for (size_t i = 0; i < tpl.size();) {
    if (tpl[i] == '{') {
      size_t j = tpl.find('}', i);
      if (j != std::string::npos && j > i + 1 && tpl.find_first_of("{ \"", i + 1) > j) {
        std::string key = tpl.substr(i + 1, j - i - 1);
        if (key == "action_json") out += action.dump();
        else if (action.is_object() && action.contains(key)) out += value_text(action[key]);
        i = j + 1;
        continue;
      }
    }
    out += tpl[i++];
  }
  return out;
}

json fill_json_template(const json& tpl, const json& action) {
  if (tpl.is_string()) {
    const std::string s = tpl.get<std::string>();
    // A string that is exactly "{arg}" keeps the argument's JSON type.
    if (s.size() > 2 && s.front() == '{' && s.back() == '}' && s.find('{', 1) == std::string::npos) {
      std::string key = s.substr(1, s.size() - 2);
      if (key == "action_json") return action;
      if (action.is_object() && action.contains(key)) return action[key];
    }
    return fill_template(s, action);
  }
  if (tpl.is_array()) {
    json a = json::array();
    for (const auto& x : tpl) a.push_back(fill_json_template(x, action));
    return a;
  }
  if (tpl.is_object()) {
    json o = json::object();
    for (auto it = tpl.begin(); it != tpl.end(); ++it) o[it.key()] = fill_json_template(it.value(), action);
    return o;
  }
  return tpl;
}

json execute_action(const ActionSpec& spec, const json& action, const ExecutorContext& ctx) {
  const std::string& type = spec.executor.type;
  const json& cfg = spec.executor.config;
  try {
    if (type == "http") return run_http(cfg, action);
    if (type == "mqtt") return run_mqtt(cfg, action);
    if (type == "exec") return run_exec(cfg, action, ctx);
    if (type == "scene") {
      json event{{"type", "omni.action"}, {"action", action}};
      bool delivered = false;
      if (ctx.scene_sink) {
        ctx.scene_sink(event);
        delivered = true;
      }
      return json{{"ok", true}, {"executor", "scene"}, {"event", event}, {"delivered", delivered}};
    }
    if (type == "log") return json{{"ok", true}, {"executor", "log"}, {"logged", action}};
    return failure(type, "unknown executor type '" + type + "'");
  } catch (const std::exception& e) {
    return failure(type, std::string("executor failed: ") + e.what());
  }
}

}  // namespace omni::agent
