// `omni pull` after failures, against local HTTP servers: an HTTP error leaves no .part behind
// (and never damages an existing one); a transfer cut short keeps its .part, which the next run
// resumes; a server that ignores Range, or a .part that is not a prefix of the file, restarts the
// download instead of keeping a wrong file.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

#include "http_client.hpp"
#include "server/download.hpp"
#include "server/routes.hpp"

using namespace omni;
using namespace omni::server;
using namespace omni::test;
namespace fs = std::filesystem;

namespace {

// A one-thread HTTP server: `reply(request head)` returns the raw bytes to send; the connection
// is closed after them (so a short body is an interrupted transfer).
class RawServer {
 public:
  explicit RawServer(std::function<std::string(const std::string&)> reply)
      : reply_(std::move(reply)), acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { loop(); });
  }
  ~RawServer() {
    stop_ = true;
    beast::error_code ec;
    tcp::socket s(ioc_);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), uint16_t(port_)), ec);  // wakes accept()
    thread_.join();
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  void loop() {
    while (!stop_) {
      beast::error_code ec;
      tcp::socket s(ioc_);
      acceptor_.accept(s, ec);
      if (ec || stop_) continue;
      std::string head;
      char c;
      while (head.find("\r\n\r\n") == std::string::npos && net::read(s, net::buffer(&c, 1), ec) == 1) head.push_back(c);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        requests_.push_back(head);
      }
      net::write(s, net::buffer(reply_(head)), ec);
      s.shutdown(tcp::socket::shutdown_both, ec);
    }
  }
  std::function<std::string(const std::string&)> reply_;
  std::mutex mutex_;
  std::vector<std::string> requests_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string http_head(int status, size_t length, const std::string& extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + (status < 300 ? " OK" : " Error") + "\r\nContent-Length: " + std::to_string(length) +
         "\r\nConnection: close\r\n" + extra + "\r\n";
}

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

struct PullDirs {
  PullDirs() {
    out = (fs::temp_directory_path() / ("omni-pull-errors-" + std::to_string(getpid()))).string();
    fs::remove_all(out);
    std::mt19937 rng(99);
    content.resize(200000);
    for (auto& ch : content) ch = char(rng());
  }
  ~PullDirs() { fs::remove_all(out); }
  std::string out, content;
};

}  // namespace

TEST(PullErrors, AnHttpErrorLeavesNoPartFile) {
  PullDirs d;
  RawServer srv([](const std::string& head) {
    std::string body = head.rfind("GET /gone", 0) == 0 ? "<html>not found</html>" : "<html>server error</html>";
    return http_head(head.rfind("GET /gone", 0) == 0 ? 404 : 500, body.size(), "Content-Type: text/html\r\n") + body;
  });
  DownloadOptions o;
  o.out_dir = d.out;
  o.url = srv.url("/gone/model.gguf");
  try {
    download(o);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::network);
    EXPECT_NE(std::string(e.what()).find("404"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("kept for resuming"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(d.out + "/model.gguf.part"));
  EXPECT_FALSE(fs::exists(d.out + "/model.gguf"));
  // An error answer to a resume leaves the earlier partial download as it was.
  std::ofstream(d.out + "/model.gguf.part", std::ios::binary) << d.content.substr(0, 5000);
  o.url = srv.url("/broken/model.gguf");
  EXPECT_THROW(download(o), Error);
  EXPECT_TRUE(slurp(d.out + "/model.gguf.part") == d.content.substr(0, 5000));
  EXPECT_NE(srv.requests().back().find("Range: bytes=5000-"), std::string::npos) << srv.requests().back();
}

TEST(PullErrors, AnInterruptedTransferKeepsItsPartAndResumes) {
  PullDirs d;
  const size_t cut = 70000;
  RawServer srv([&](const std::string& head) {
    size_t r = head.find("Range: bytes=");
    if (r == std::string::npos)  // promises everything, sends a part, hangs up
      return http_head(200, d.content.size()) + d.content.substr(0, cut);
    size_t from = std::stoul(head.substr(r + 13));
    return http_head(206, d.content.size() - from,
                     "Content-Range: bytes " + std::to_string(from) + "-" + std::to_string(d.content.size() - 1) + "/" +
                         std::to_string(d.content.size()) + "\r\n") +
           d.content.substr(from);
  });
  DownloadOptions o;
  o.out_dir = d.out;
  o.url = srv.url("/model.bin");
  try {
    download(o);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::network);
    EXPECT_NE(std::string(e.what()).find("kept for resuming"), std::string::npos) << e.what();
  }
  ASSERT_TRUE(fs::exists(d.out + "/model.bin.part"));
  EXPECT_TRUE(slurp(d.out + "/model.bin.part") == d.content.substr(0, cut));
  auto r = download(o);
  EXPECT_EQ(r.resumed_from, cut);
  EXPECT_TRUE(slurp(r.path) == d.content) << slurp(r.path).size() << " bytes";
  EXPECT_FALSE(fs::exists(r.path + ".part"));
}

TEST(PullErrors, WrongOrUnresumablePartFilesAreDownloadedAgain) {
  PullDirs d;
  // A server without Range support: always the whole file.
  RawServer plain([&](const std::string&) { return http_head(200, d.content.size()) + d.content; });
  DownloadOptions o;
  o.out_dir = d.out;
  o.url = plain.url("/model.bin");
  fs::create_directories(d.out);
  std::ofstream(d.out + "/model.bin.part", std::ios::binary) << d.content.substr(0, 1234);
  auto r = download(o);
  EXPECT_TRUE(slurp(r.path) == d.content) << slurp(r.path).size() << " bytes";
  EXPECT_EQ(r.resumed_from, 0u);
  EXPECT_EQ(plain.requests().size(), 2u);  // the refused resume, then from the start
  // A .part longer than the file (416 with Content-Range: bytes */SIZE): not this file's prefix.
  {
    std::string root = d.out + "/www";
    fs::create_directories(root);
    std::ofstream(root + "/small.bin", std::ios::binary) << d.content.substr(0, 3000);
    Logger log(LogLevel::quiet);
    ServerOptions so;
    so.port = 0;
    Server files(so, log);
    register_basic_routes(files, std::make_shared<Services>(), RouteConfig{root});
    files.start();
    std::ofstream(d.out + "/small.bin.part", std::ios::binary) << d.content.substr(0, 5000);
    o.url = files.url() + "/small.bin";
    auto s = download(o);
    EXPECT_TRUE(slurp(s.path) == d.content.substr(0, 3000)) << slurp(s.path).size() << " bytes";
    EXPECT_FALSE(fs::exists(s.path + ".part"));
    files.stop();
  }
}
