// libcurl behind agent::http_request (see http_client.hpp).
#include "agent/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

namespace omni::agent {

namespace {

struct Capture {
  std::string* out;
  size_t max;
};

size_t capture(char* data, size_t size, size_t n, void* user) {
  auto* c = static_cast<Capture*>(user);
  const size_t len = size * n;
  if (c->out->size() < c->max) c->out->append(data, std::min(len, c->max - c->out->size()));
  return len;
}

}  // namespace

HttpReply http_request(const HttpRequest& request) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  HttpReply reply;
  CURL* curl = curl_easy_init();
  if (!curl) {
    reply.error = "libcurl could not start a request";
    return reply;
  }
  curl_slist* headers = nullptr;
  for (const auto& h : request.headers) headers = curl_slist_append(headers, h.c_str());
  Capture cap{&reply.body, request.max_response_bytes};
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method != "GET") curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.c_str());
  if (headers) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, request.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, request.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, capture);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &cap);
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    reply.transport_ok = true;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  } else {
    reply.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    reply.error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return reply;
}

}  // namespace omni::agent
