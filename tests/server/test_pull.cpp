// `omni pull` against a local HTTP server (the omni server's static files, which honour Range):
// full download, resume from a partial file, SHA-256 check, hf: URLs, and the CLI's exit codes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "http_client.hpp"
#include "server/download.hpp"
#include "server/routes.hpp"

using namespace omni;
using namespace omni::server;
namespace fs = std::filesystem;

namespace {

struct FileServer {
  FileServer() : log(LogLevel::quiet) {
    root = (fs::temp_directory_path() / ("omni-pull-src-" + std::to_string(getpid()))).string();
    fs::remove_all(root);
    fs::create_directories(root + "/org/repo/resolve/main");
    std::mt19937 rng(1234);
    content.resize(300000);
    for (auto& c : content) c = char(rng());
    std::ofstream(root + "/model.bin", std::ios::binary) << content;
    std::ofstream(root + "/org/repo/resolve/main/tiny.gguf", std::ios::binary) << content.substr(0, 5000);
    ServerOptions o;
    o.port = 0;
    server = std::make_unique<Server>(o, log);
    register_basic_routes(*server, std::make_shared<Services>(), RouteConfig{root});
    server->start();
    out = (fs::temp_directory_path() / ("omni-pull-out-" + std::to_string(getpid()))).string();
    fs::remove_all(out);
  }
  ~FileServer() {
    server->stop();
    fs::remove_all(root);
    fs::remove_all(out);
  }
  std::string url(const std::string& p) const { return server->url() + p; }
  Logger log;
  std::unique_ptr<Server> server;
  std::string root, out, content;
};

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

// sha256 of the test content computed by the system's sha256sum (an independent implementation).
std::string sha256sum(const std::string& path) {
  std::string cmd = "sha256sum '" + path + "'";
  FILE* p = popen(cmd.c_str(), "r");
  char buf[65] = {};
  size_t n = p ? fread(buf, 1, 64, p) : 0;
  if (p) pclose(p);
  return std::string(buf, n);
}

}  // namespace

TEST(Pull, DownloadsResumesAndVerifies) {
  FileServer fsrv;
  std::string want = sha256sum(fsrv.root + "/model.bin");
  ASSERT_EQ(want.size(), 64u);
  DownloadOptions o;
  o.url = fsrv.url("/model.bin");
  o.out_dir = fsrv.out;
  o.sha256 = want;
  uint64_t last_done = 0;
  o.progress = [&](uint64_t d, uint64_t) { last_done = d; };
  auto r = download(o);
  EXPECT_EQ(r.path, fsrv.out + "/model.bin");
  EXPECT_EQ(r.sha256, want);
  EXPECT_EQ(slurp(r.path), fsrv.content);
  EXPECT_EQ(r.resumed_from, 0u);
  EXPECT_EQ(last_done, fsrv.content.size());
  // Already complete: not fetched again.
  EXPECT_TRUE(download(o).already_complete);
  // Resume: a partial file holding the first 100000 bytes.
  fs::remove(r.path);
  std::ofstream(r.path + ".part", std::ios::binary) << fsrv.content.substr(0, 100000);
  auto r2 = download(o);
  EXPECT_EQ(r2.resumed_from, 100000u);
  EXPECT_EQ(slurp(r2.path), fsrv.content);
  EXPECT_FALSE(fs::exists(r2.path + ".part"));
  // A complete .part (server answers 416 for the empty range) is verified and moved into place.
  fs::rename(r2.path, r2.path + ".part");
  EXPECT_EQ(download(o).sha256, want);
  // Wrong digest: error, nothing left behind.
  fs::remove(r2.path);
  o.sha256 = std::string(64, 'a');
  try {
    download(o);
    ADD_FAILURE() << "expected a digest mismatch";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_file);
  }
  EXPECT_FALSE(fs::exists(r2.path));
  EXPECT_FALSE(fs::exists(r2.path + ".part"));
  // Missing file: a network error naming HTTP 404.
  o.url = fsrv.url("/missing.bin");
  o.sha256.clear();
  EXPECT_THROW(download(o), Error);
  EXPECT_THROW(resolve_download_url("ftp://x/y", ""), Error);
  EXPECT_THROW(resolve_download_url("hf:org/onlyrepo", ""), Error);
}

TEST(Pull, HfUrlsAndTheCli) {
  FileServer fsrv;
  EXPECT_EQ(resolve_download_url("hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/q4.gguf", ""),
            "https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/q4.gguf");
  std::string want = sha256sum(fsrv.root + "/org/repo/resolve/main/tiny.gguf");
  std::string env = "HF_ENDPOINT=" + fsrv.server->url() + " ";
  std::string cmd = env + OMNI_CLI " pull hf:org/repo/tiny.gguf -q -o " + fsrv.out + " --sha256 " + want + " > /dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(slurp(fsrv.out + "/tiny.gguf"), fsrv.content.substr(0, 5000));
  std::string bad = env + OMNI_CLI " pull hf:org/repo/tiny.gguf -q -o " + fsrv.out + "/b --sha256 " + std::string(64, '0') + " > /dev/null 2>&1";
  EXPECT_NE(std::system(bad.c_str()), 0);
  EXPECT_NE(std::system(OMNI_CLI " pull > /dev/null 2>&1"), 0);  // missing URL
}
