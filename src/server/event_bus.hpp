// EventBus: fan-out of scene events (omni.action ...) to every connected console client
// (GET /v1/events as SSE or WebSocket, and realtime sockets). Each subscriber has a bounded queue;
// a subscriber that falls behind loses its oldest events rather than growing without bound.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace omni::server {

class EventBus {
 public:
  struct Subscription {
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<std::string> queue;  // serialized JSON events
    uint64_t dropped = 0;
    std::function<void(const std::string&)> push;  // when set, called instead of queueing
  };

  // A subscriber either polls its queue (wait_next) or gets a push callback.
  std::shared_ptr<Subscription> subscribe(std::function<void(const std::string&)> push = nullptr);
  void unsubscribe(const std::shared_ptr<Subscription>& s);
  void publish(const std::string& event_json);
  // Waits up to timeout_ms for the next event; false on timeout.
  static bool wait_next(Subscription& s, std::string& out, int timeout_ms);
  size_t n_subscribers() const;
  uint64_t n_published() const;

 private:
  mutable std::mutex mutex_;
  std::map<Subscription*, std::shared_ptr<Subscription>> subs_;
  uint64_t published_ = 0;
};

}  // namespace omni::server
