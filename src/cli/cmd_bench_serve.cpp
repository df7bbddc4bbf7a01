// `omni bench serve`: a load generator against an in-process `omni serve` over loopback: for 1, 2,
// 4, 8, 16 concurrent streaming chat requests, aggregate decode tokens/s and time-to-first-token
// p50/p99. Prints one JSON object.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <thread>
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "cli/commands.hpp"
#include "runtime/model.hpp"
#include "runtime/batch_scheduler.hpp"
#include "server/app.hpp"

namespace omni::cli {

extern const CommandSpec k_bench_serve_spec = {
    "bench serve",
    "omni bench serve -m MODEL.gguf [--streams 1,2,4,8,16] [--max-tokens N] [--threads N] [--distinct-prompts]",
    "Measure server throughput and time to first token at several concurrent streams.",
    "Starts the server in-process on a loopback port with --parallel equal to the largest stream count,\n"
    "then, after one short untimed warm-up request, for each stream count sends that many concurrent\n"
    "streaming /v1/chat/completions requests\n"
    "(fixed seeds, EOS ignored through logit_bias) and reports aggregate generated tokens per second and\n"
    "TTFT p50/p99 as JSON. The streams send the same prompt (the server computes its KV once for requests\n"
    "that arrive together); --distinct-prompts gives each stream its own.",
    {
        {"model", 'm', true, "MODEL.gguf", "LLM to serve"},
        {"streams", 0, true, "LIST", "comma-separated concurrency levels (default 1,2,4,8,16)"},
        {"max-tokens", 'n', true, "N", "tokens generated per request (default 64)"},
        {"threads", 't', true, "N", "compute threads (default: all cores)"},
        {"ctx", 'c', true, "N", "context per sequence (default 512)"},
        {"distinct-prompts", 0, false, "", "a different prompt per stream (no shared prefix beyond the chat template)"},
        {"decode-kernels", 0, true, "K", "as omni serve --decode-kernels: gemm (default), matvec or mixed"},
    },
    0,
    0};

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct StreamStats {
  double ttft_s = -1, total_s = 0;
  int chunks = 0;
};

StreamStats one_stream(int port, const std::string& body) {
  StreamStats st;
  auto t0 = std::chrono::steady_clock::now();
  net::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), uint16_t(port)));
  std::string req = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
  net::write(s, net::buffer(req));
  std::string got;
  char buf[8192];
  beast::error_code ec;
  size_t scanned = 0;
  for (;;) {
    size_t n = s.read_some(net::buffer(buf), ec);
    got.append(buf, n);
    size_t p;
    while ((p = got.find("\"content\":\"", scanned)) != std::string::npos) {
      scanned = p + 11;
      if (got[scanned] == '"') continue;  // the role chunk's empty content
      st.chunks++;
      if (st.ttft_s < 0) st.ttft_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    if (ec) break;
  }
  st.total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return st;
}

const char* const k_topics[] = {"the sea", "a lighthouse keeper", "mountain trains", "a city at night",
                                "the first snow", "an old clockmaker", "desert stars", "a river journey"};

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5))];
}

}  // namespace

int run_bench_serve(const Args& a) {
  std::vector<int> levels;
  std::string list = a.get("streams", "1,2,4,8,16");
  for (size_t pos = 0; pos < list.size();) {
    size_t comma = list.find(',', pos);
    int v = std::atoi(list.substr(pos, comma - pos).c_str());
    if (v < 1 || v > 256) fail(ErrorCode::invalid_argument, "--streams entries must be 1..256");
    levels.push_back(v);
    pos = comma == std::string::npos ? list.size() : comma + 1;
  }
  int max_tokens = int(a.get_int("max-tokens", 64));
  const bool distinct = a.has("distinct-prompts");
  server::ServeConfig c;
  c.model = a.require("model");
  c.threads = int(a.get_int("threads", 0));
  c.ctx = int(a.get_int("ctx", 512));
  c.parallel = *std::max_element(levels.begin(), levels.end());
  c.tts = false;
  c.decode_kernels = a.get("decode-kernels", "gemm");
  runtime::parse_decode_kernels(c.decode_kernels);
  c.server.port = 0;
  c.server.max_in_flight = 4 * c.parallel + 8;
  Logger log(LogLevel::error);
  auto services = server::build_services(c, log);
  server::Server srv(c.server, log);
  server::register_all_routes(srv, services, server::RouteConfig{""});
  srv.start();
  // Ban end-of-generation tokens (the server's logit_bias) so every request generates max_tokens.
  nlohmann::json bias = nlohmann::json::object();
  if (services->local_model)
    for (int id = 0; id < services->local_model->n_vocab(); ++id)
      if (services->local_model->tokenizer().is_end_of_generation(id)) bias[std::to_string(id)] = -100;
  // One short untimed request first: pages the weights in and sizes the scratch buffers.
  one_stream(srv.port(), nlohmann::json{{"messages", {{{"role", "user"}, {"content", "Hello."}}}},
                                        {"max_tokens", 8}, {"stream", true}, {"logit_bias", bias}}
                             .dump());
  nlohmann::json results = nlohmann::json::array();
  for (int n : levels) {
    std::vector<StreamStats> stats(static_cast<size_t>(n));
    std::vector<std::thread> th;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i)
      th.emplace_back([&, i] {
        const std::string topic = distinct ? k_topics[size_t(i) % (sizeof k_topics / sizeof *k_topics)] + std::string(" (") +
                                                 std::to_string(i) + ")"
                                           : std::string("the sea");
        nlohmann::json body = {{"messages", {{{"role", "user"}, {"content", "Write a long story about " + topic + "."}}}},
                               {"max_tokens", max_tokens}, {"seed", 1000 + i}, {"stream", true}, {"temperature", 0.8}, {"logit_bias", bias}};
        stats[size_t(i)] = one_stream(srv.port(), body.dump());
      });
    for (auto& t : th) t.join();
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::vector<double> ttft;
    long tokens = 0;
    for (auto& s : stats) { ttft.push_back(s.ttft_s); tokens += s.chunks; }
    results.push_back({{"streams", n}, {"generated_chunks", tokens}, {"wall_s", wall}, {"aggregate_tok_s", double(tokens) / wall},
                       {"ttft_p50_ms", percentile(ttft, 0.5) * 1000}, {"ttft_p99_ms", percentile(ttft, 0.99) * 1000}});
    std::cerr << "streams " << n << ": " << double(tokens) / wall << " tok/s, TTFT p50 " << percentile(ttft, 0.5) * 1000 << " ms\n";
  }
  srv.stop();
  nlohmann::json out = {{"bench", "serve"}, {"model", c.model}, {"max_tokens", max_tokens}, {"parallel", c.parallel},
                        {"threads", c.threads}, {"batching", "continuous (one decode step shared by all streams)"},
                        {"prompts", distinct ? "distinct" : "same"},
                        {"decode_kernels", c.decode_kernels}, {"results", results}};
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace omni::cli
