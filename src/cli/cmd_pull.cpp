// `omni pull`: downloads a model file (http(s) URL or hf:ORG/REPO/FILE) with resume, a SHA-256
// check and a progress bar.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"
#include "server/download.hpp"

namespace omni::cli {

extern const CommandSpec k_pull_spec = {
    "pull",
    "omni pull URL|hf:ORG/REPO/FILE [-o DIR] [--sha256 HEX]",
    "Download a model file (resumable, SHA-256 checked).",
    "Downloads URL (or hf:ORG/REPO/FILE, the file on the main branch of a Hugging Face repository)\n"
    "into DIR. The data goes to NAME.part first; running the command again resumes it with an HTTP\n"
    "Range request. With --sha256 the digest is checked (a mismatch deletes the download and fails)\n"
    "and an existing complete file is not fetched again. $HF_TOKEN is sent as a Bearer token and\n"
    "$HF_ENDPOINT replaces https://huggingface.co.",
    {
        {"output", 'o', true, "DIR", "destination folder (default: current folder)"},
        {"sha256", 0, true, "HEX", "expected SHA-256 of the file"},
        {"quiet", 'q', false, "", "no progress bar"},
    },
    1,
    1};

static std::string human(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) { b /= 1024; ++u; }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", b, units[u]);
  return buf;
}

int run_pull(const Args& a) {
  server::DownloadOptions o;
  o.url = a.positional()[0];
  o.out_dir = a.get("output", ".");
  o.sha256 = a.get("sha256", "");
  if (const char* e = std::getenv("HF_ENDPOINT")) o.hf_endpoint = e;
  if (const char* t = std::getenv("HF_TOKEN")) o.bearer_token = t;
  bool bar = !a.has("quiet") && isatty(2);
  auto t0 = std::chrono::steady_clock::now();
  auto last = t0 - std::chrono::seconds(1);
  if (bar)
    o.progress = [&](uint64_t done, uint64_t total) {
      auto now = std::chrono::steady_clock::now();
      if (now - last < std::chrono::milliseconds(100) && done != total) return;
      last = now;
      double secs = std::chrono::duration<double>(now - t0).count();
      std::string line;
      if (total) {
        int width = 30, fill = int(width * double(done) / double(total));
        line = "[" + std::string(size_t(fill), '#') + std::string(size_t(width - fill), '-') + "] " +
               std::to_string(int(100.0 * double(done) / double(total))) + "% " + human(double(done)) + " / " + human(double(total));
      } else {
        line = human(double(done));
      }
      if (secs > 0) line += "  " + human(double(done) / secs) + "/s";
      std::fprintf(stderr, "\r%-80s", line.c_str());
    };
  server::DownloadResult r = server::download(o);
  if (bar) std::fprintf(stderr, "\n");
  if (r.already_complete) std::cout << r.path << " is already complete (sha256 " << r.sha256 << ")\n";
  else std::cout << r.path << "  " << r.bytes << " bytes" << (r.resumed_from ? " (resumed at " + std::to_string(r.resumed_from) + ")" : "")
                 << "  sha256 " << r.sha256 << (o.sha256.empty() ? "" : " (verified)") << "\n";
  return 0;
}

}  // namespace omni::cli
