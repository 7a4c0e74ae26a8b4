#include "marathon_edge.hpp"

#include <cctype>
#include <chrono>
#include <optional>
#include <set>

#include <fmt/format.h>

#include <dcos/error.hpp>
#include <dcos/logging.hpp>
#include <dcos/stream_sink.hpp>

#include "app_definition.hpp"

namespace dcos::marathon {

namespace {

using namespace std::chrono_literals;

// Marathon's --leader_proxy_read_timeout is 10 s; ours waits as long as the
// API itself may take for an answer of the marathon actor.
constexpr auto proxy_timeout = 30s;

const std::string via_header = "X-Marathon-Via";

// Hop-by-hop headers and those the HTTP client and server write themselves.
const std::set<std::string> request_headers_dropped = {
  "host", "connection", "content-length", "transfer-encoding", "content-type",
  "user-agent", "keep-alive", "te", "upgrade"};
const std::set<std::string> reply_headers_dropped = {
  "connection", "content-length", "transfer-encoding", "content-type",
  "server", "date", "keep-alive"};

std::string via_value(const std::string& self_address) {
  return "1.1 " + self_address;
}

// True if `req` came through this instance already.
bool is_loop(const http_request& req, const std::string& via) {
  auto seen = req.header(via_header);
  size_t at = 0;
  while (at <= seen.size()) {
    auto comma = seen.find(',', at);
    auto hop = seen.substr(at, comma == std::string::npos ? std::string::npos
                                                           : comma - at);
    auto first = hop.find_first_not_of(' ');
    auto last = hop.find_last_not_of(' ');
    if (first != std::string::npos && hop.substr(first, last - first + 1) == via)
      return true;
    if (comma == std::string::npos)
      break;
    at = comma + 1;
  }
  return false;
}

http_call forwarded(const http_request& req, const std::string& leader,
                    const std::string& via) {
  http_call call;
  auto endpoint = parse_host_port(leader, 8080);
  if (endpoint) {
    call.host = endpoint->first;
    call.port = endpoint->second;
  }
  call.method = req.method;
  call.target = req.target;
  call.body = req.body;
  call.content_type = req.header("content-type");
  for (const auto& [name, value] : req.headers)
    if (!request_headers_dropped.count(name) && name != "x-marathon-via")
      call.headers.emplace_back(name, value);
  auto hops = req.header(via_header);
  call.headers.emplace_back(via_header, hops.empty() ? via : hops + ", " + via);
  call.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
    proxy_timeout);
  return call;
}

// The HTTP client hands header names over in lower case; scripts that look
// for "X-Marathon-Leader" find it spelled as Marathon spells it.
std::string canonical_case(std::string name) {
  bool word_start = true;
  for (auto& c : name) {
    c = word_start ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                   : c;
    word_start = c == '-';
  }
  return name;
}

http_response passed_back(http_reply reply, const std::string& via) {
  http_response r;
  r.status = reply.status;
  r.content_type = reply.content_type;
  r.body = std::move(reply.body);
  for (const auto& [name, value] : reply.headers)
    if (!reply_headers_dropped.count(name))
      r.headers.emplace_back(canonical_case(name), value);
  r.headers.emplace_back(via_header, via);
  return r;
}

// The event stream, forwarded as it arrives: the leader's head (an error
// answer whole), then every piece of its body. The reader's end closes the
// leader's connection at the next piece; the leader's end closes the reader's.
void forward_stream(http_client& client, http_call call,
                    http_responder respond, std::string via) {
  auto sink = std::make_shared<stream_sink>();
  auto error_body = std::make_shared<std::optional<http_reply>>();
  http_stream_reader reader;
  reader.head = [respond, sink, via, error_body](const http_reply& head) {
    if (head.status != 200) {
      *error_body = head; // answered whole once its body is in
      return;
    }
    auto r = passed_back(head, via);
    r.stream = [sink](std::shared_ptr<http_stream> stream) {
      sink->attach(std::move(stream));
    };
    respond(std::move(r));
  };
  reader.data = [sink, error_body](std::string_view data) {
    if (*error_body) {
      (*error_body)->body.append(data);
      return true;
    }
    return sink->write(std::string{data});
  };
  reader.end = [respond, sink, via, error_body](const caf::error& err) {
    if (*error_body)
      respond(passed_back(std::move(**error_body), via));
    else if (err)
      respond(message_response(502, "Connection to leader refused."));
    sink->close();
  };
  client.stream(std::move(call), std::move(reader));
}

} // namespace

marathon_edge::marathon_edge(std::string self_address)
  : self_address_(std::move(self_address)) {
}

void marathon_edge::lead(http_handler leading) {
  std::lock_guard guard{target_->mtx};
  target_->leading = std::make_shared<const http_handler>(std::move(leading));
  target_->leader.clear();
}

void marathon_edge::follow(std::string leader) {
  std::lock_guard guard{target_->mtx};
  target_->leader = std::move(leader);
}

http_router marathon_edge::routes() const {
  auto dispatch = [target = target_, client = client_,
                   self = self_address_](const http_request& req,
                                         http_responder respond) {
    std::shared_ptr<const http_handler> leading;
    std::string leader;
    {
      std::lock_guard guard{target->mtx};
      leading = target->leading;
      leader = target->leader;
    }
    if (leading) {
      auto header = "http://" + self;
      (*leading)(req, [respond, header](http_response r) {
        r.headers.emplace_back("X-Marathon-Leader", header);
        respond(std::move(r));
      });
      return;
    }
    if (leader.empty() || leader == self)
      return respond(
        message_response(503, "Could not determine the current leader"));
    auto via = via_value(self);
    if (is_loop(req, via))
      return respond(message_response(502, "Detected proxying loop."));
    auto call = forwarded(req, leader, via);
    if (call.port == 0)
      return respond(message_response(
        502, fmt::format("The leader's address '{}' is not HOST:PORT", leader)));
    if (req.path == "/v2/events")
      return forward_stream(*client, std::move(call), respond, via);
    auto started = std::chrono::steady_clock::now();
    client->fetch(std::move(call), [respond, via, leader, started](
                                     caf::expected<http_reply> reply) {
      if (reply)
        return respond(passed_back(std::move(*reply), via));
      logging::get("marathon")
        ->warn("cannot proxy to the leader {}: {}", leader,
               describe(reply.error()));
      if (std::chrono::steady_clock::now() - started >= proxy_timeout)
        return respond(message_response(504, "Connection to leader timed out."));
      respond(message_response(502, "Connection to leader refused."));
    });
  };
  http_router routes;
  for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"})
    routes.add_prefix(method, "/", dispatch);
  return routes;
}

} // namespace dcos::marathon
