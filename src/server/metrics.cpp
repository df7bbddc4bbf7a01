// Prometheus text exposition (version 0.0.4) of the server's counters, histograms and gauges.
#include "server/metrics.hpp"

#include <cmath>
#include <cstdio>

namespace omni::server {

static std::string fmt(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string prometheus_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') { out.push_back('\\'); out.push_back(c); }
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  counts_[i]++;
  sum_ += v;
  count_++;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  uint64_t cumulative = 0;
  const std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    std::string le = i < bounds_.size() ? fmt(bounds_[i]) : "+Inf";
    out += name + "_bucket{" + labels + sep + "le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  std::string l = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + l + " " + fmt(sum_) + "\n";
  out += name + "_count" + l + " " + std::to_string(count_) + "\n";
}

static const std::vector<double> k_latency_bounds = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

Metrics::Metrics() : ttft_(k_latency_bounds) {}

void Metrics::record_request(const std::string& route, const std::string& method, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string r = "route=\"" + prometheus_escape(route) + "\"";
  request_counts_[r + ",method=\"" + prometheus_escape(method) + "\",status=\"" + std::to_string(status) + "\""]++;
  auto it = latency_.find(r);
  if (it == latency_.end()) it = latency_.emplace(r, Histogram(k_latency_bounds)).first;
  it->second.observe(seconds);
}

void Metrics::record_tokens(uint64_t prompt_tokens, uint64_t generated_tokens, double decode_seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  prompt_tokens_ += prompt_tokens;
  generated_tokens_ += generated_tokens;
  decode_seconds_ += decode_seconds;
  auto now = std::chrono::steady_clock::now();
  recent_.emplace_back(now, generated_tokens);
  while (!recent_.empty() && now - recent_.front().first > std::chrono::seconds(10)) recent_.erase(recent_.begin());
}

void Metrics::record_ttft(double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ttft_.observe(seconds);
}

void Metrics::set_gauge(const std::string& name, const std::string& help, std::function<double()> sample) {
  std::lock_guard<std::mutex> lock(mutex_);
  gauges_[name] = Gauge{help, std::move(sample)};
}

std::string Metrics::render() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  out += "# HELP omni_http_requests_total HTTP requests by route, method and status.\n";
  out += "# TYPE omni_http_requests_total counter\n";
  for (const auto& [labels, n] : request_counts_) out += "omni_http_requests_total{" + labels + "} " + std::to_string(n) + "\n";
  out += "# HELP omni_http_request_duration_seconds Time from request parsed to response finished, by route.\n";
  out += "# TYPE omni_http_request_duration_seconds histogram\n";
  for (const auto& [labels, h] : latency_) h.render(out, "omni_http_request_duration_seconds", labels);
  out += "# HELP omni_llm_prompt_tokens_total Prompt tokens processed.\n# TYPE omni_llm_prompt_tokens_total counter\n";
  out += "omni_llm_prompt_tokens_total " + std::to_string(prompt_tokens_) + "\n";
  out += "# HELP omni_llm_generated_tokens_total Tokens generated.\n# TYPE omni_llm_generated_tokens_total counter\n";
  out += "omni_llm_generated_tokens_total " + std::to_string(generated_tokens_) + "\n";
  double window_tokens = 0;
  auto now = std::chrono::steady_clock::now();
  for (const auto& [t, n] : recent_)
    if (now - t <= std::chrono::seconds(10)) window_tokens += double(n);
  double span = std::min(10.0, std::chrono::duration<double>(now - started_).count());
  out += "# HELP omni_llm_tokens_per_second Generated tokens per second over the last 10 s (all sequences).\n";
  out += "# TYPE omni_llm_tokens_per_second gauge\n";
  out += "omni_llm_tokens_per_second " + fmt(span > 0 ? window_tokens / span : 0) + "\n";
  out += "# HELP omni_llm_time_to_first_token_seconds Time from request to first generated token.\n";
  out += "# TYPE omni_llm_time_to_first_token_seconds histogram\n";
  ttft_.render(out, "omni_llm_time_to_first_token_seconds", "");
  out += "# HELP omni_llm_cancelled_total Generations stopped because the client left, timed out or the server stopped.\n";
  out += "# TYPE omni_llm_cancelled_total counter\nomni_llm_cancelled_total " + std::to_string(cancelled_.load()) + "\n";
  out += "# HELP omni_queue_depth Requests waiting for an inference slot.\n# TYPE omni_queue_depth gauge\n";
  out += "omni_queue_depth " + std::to_string(queue_depth_.load()) + "\n";
  out += "# HELP omni_requests_in_flight Requests being handled on worker threads.\n# TYPE omni_requests_in_flight gauge\n";
  out += "omni_requests_in_flight " + std::to_string(in_flight_.load()) + "\n";
  for (const auto& [name, g] : gauges_) {
    double v = 0;
    try { v = g.sample ? g.sample() : 0; } catch (...) { v = NAN; }
    out += "# HELP " + name + " " + g.help + "\n# TYPE " + name + " gauge\n" + name + " " + fmt(v) + "\n";
  }
  return out;
}

}  // namespace omni::server
