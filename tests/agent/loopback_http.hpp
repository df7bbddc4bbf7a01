// Test helpers: a free loopback port and a tiny one-thread HTTP server on loopback.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace omni_test {

inline int free_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  close(s);
  return port;
}

// A one-thread HTTP server: answers each request with `status` and records the request bodies;
// with `silent` it accepts connections but never answers (for timeouts).
class LoopbackHttp {
 public:
  LoopbackHttp(int status, bool silent, std::string body = "{\"done\":true}") : status_(status), silent_(silent), body_(std::move(body)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    listen(fd_, 16);
    thread_ = std::thread([this] { serve(); });
  }
  ~LoopbackHttp() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<std::string> bodies() {
    std::lock_guard<std::mutex> l(mu_);
    return bodies_;
  }
  int n_requests() const { return n_requests_; }

 private:
  void serve() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      ++n_requests_;
      std::string req;
      char buf[4096];
      size_t need = std::string::npos;
      while (true) {
        ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, size_t(n));
        size_t hdr = req.find("\r\n\r\n");
        if (hdr != std::string::npos && need == std::string::npos) {
          size_t cl = req.find("Content-Length: ");
          need = hdr + 4 + (cl != std::string::npos ? std::stoul(req.substr(cl + 16)) : 0);
        }
        if (need != std::string::npos && req.size() >= need) break;
      }
      if (silent_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        close(c);
        continue;
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        size_t hdr = req.find("\r\n\r\n");
        bodies_.push_back(hdr == std::string::npos ? "" : req.substr(hdr + 4));
      }
      const std::string& body = body_;
      std::string resp = "HTTP/1.1 " + std::to_string(status_) + " X\r\nContent-Type: application/json\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
      send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      close(c);
    }
  }
  int fd_ = -1, port_ = 0, status_;
  bool silent_;
  std::string body_;
  std::atomic<bool> stop_{false};
  std::atomic<int> n_requests_{0};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> bodies_;
};


}  // namespace omni_test
