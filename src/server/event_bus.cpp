// EventBus implementation: per-subscriber bounded queues or push callbacks.
#include "server/event_bus.hpp"

#include <chrono>
#include <vector>

namespace omni::server {

static constexpr size_t k_max_queued = 1024;

std::shared_ptr<EventBus::Subscription> EventBus::subscribe(std::function<void(const std::string&)> push) {
  auto s = std::make_shared<Subscription>();
  s->push = std::move(push);
  std::lock_guard<std::mutex> lock(mutex_);
  subs_[s.get()] = s;
  return s;
}

void EventBus::unsubscribe(const std::shared_ptr<Subscription>& s) {
  std::lock_guard<std::mutex> lock(mutex_);
  subs_.erase(s.get());
}

void EventBus::publish(const std::string& event_json) {
  std::vector<std::shared_ptr<Subscription>> targets;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    published_++;
    for (auto& [p, s] : subs_) targets.push_back(s);
  }
  for (auto& s : targets) {
    if (s->push) { s->push(event_json); continue; }
    std::lock_guard<std::mutex> lock(s->mutex);
    if (s->queue.size() >= k_max_queued) { s->queue.pop_front(); s->dropped++; }
    s->queue.push_back(event_json);
    s->cv.notify_all();
  }
}

bool EventBus::wait_next(Subscription& s, std::string& out, int timeout_ms) {
  std::unique_lock<std::mutex> lock(s.mutex);
  if (!s.cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return !s.queue.empty(); })) return false;
  out = std::move(s.queue.front());
  s.queue.pop_front();
  return true;
}

size_t EventBus::n_subscribers() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return subs_.size();
}

uint64_t EventBus::n_published() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return published_;
}

}  // namespace omni::server
