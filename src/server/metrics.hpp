// Prometheus metrics for the server: per-route request counters and latency histograms, LLM token
// counters, time-to-first-token histogram and gauges (queue depth, KV cache use) sampled on scrape.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace omni::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  // Appends the Prometheus text lines for `name{labels,le=...}`.
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (non-cumulative), last = +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  // One finished HTTP request (route is the route pattern, never the raw path: bounded labels).
  void record_request(const std::string& route, const std::string& method, int status, double seconds);
  void record_tokens(uint64_t prompt_tokens, uint64_t generated_tokens, double decode_seconds);
  void record_ttft(double seconds);
  void set_gauge(const std::string& name, const std::string& help, std::function<double()> sample);
  std::atomic<int64_t>& queue_depth() { return queue_depth_; }
  std::atomic<int64_t>& in_flight() { return in_flight_; }
  std::atomic<uint64_t>& cancelled_generations() { return cancelled_; }
  std::string render() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, uint64_t> request_counts_;  // key: label string
  std::map<std::string, Histogram> latency_;        // key: route label string
  Histogram ttft_;
  uint64_t prompt_tokens_ = 0, generated_tokens_ = 0;
  double decode_seconds_ = 0;
  // Sliding window for tokens/s: (time, tokens) samples of the last 10 s.
  std::vector<std::pair<std::chrono::steady_clock::time_point, uint64_t>> recent_;
  struct Gauge { std::string help; std::function<double()> sample; };
  std::map<std::string, Gauge> gauges_;
  std::atomic<int64_t> queue_depth_{0}, in_flight_{0};
  std::atomic<uint64_t> cancelled_{0};
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

std::string prometheus_escape(const std::string& label_value);

}  // namespace omni::server
