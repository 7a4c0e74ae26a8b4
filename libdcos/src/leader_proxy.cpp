#include <dcos/leader_proxy.hpp>

#include <cctype>
#include <chrono>
#include <optional>
#include <set>

#include <fmt/format.h>

#include <dcos/error.hpp>
#include <dcos/json_request.hpp>
#include <dcos/logging.hpp>
#include <dcos/stream_sink.hpp>

namespace dcos {

namespace {

using namespace std::chrono_literals;

// Marathon's --leader_proxy_read_timeout is 10 s, Metronome's 30 s; ours
// waits as long as a service's API itself may take for an answer of its
// actor.
constexpr auto proxy_timeout = 30s;

// Hop-by-hop headers and those the HTTP client and server write themselves.
const std::set<std::string> request_headers_dropped = {
  "host", "connection", "content-length", "transfer-encoding", "content-type",
  "user-agent", "keep-alive", "te", "upgrade"};
const std::set<std::string> reply_headers_dropped = {
  "connection", "content-length", "transfer-encoding", "content-type",
  "server", "date", "keep-alive"};

std::string lower_case(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

http_response refusal(const leader_proxy_dialect& dialect, unsigned status,
                      std::string_view message) {
  if (dialect.json_refusals)
    return message_response(status, message);
  http_response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::string{message};
  return r;
}

// True if `req` came through this instance already.
bool is_loop(const http_request& req, const std::string& via_header,
             const std::string& via) {
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
                    const std::string& via_header, const std::string& via) {
  http_call call;
  auto endpoint = parse_host_port(leader, 0);
  if (endpoint) {
    call.host = endpoint->first;
    call.port = endpoint->second;
  }
  call.method = req.method;
  call.target = req.target;
  call.body = req.body;
  call.content_type = req.header("content-type");
  for (const auto& [name, value] : req.headers)
    if (!request_headers_dropped.count(name) && name != lower_case(via_header))
      call.headers.emplace_back(name, value);
  auto hops = req.header(via_header);
  call.headers.emplace_back(via_header, hops.empty() ? via : hops + ", " + via);
  call.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
    proxy_timeout);
  return call;
}

// The HTTP client hands header names over in lower case; scripts that look
// for "X-Marathon-Leader" find it spelled as the service spells it.
std::string canonical_case(std::string name) {
  bool word_start = true;
  for (auto& c : name) {
    c = word_start ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                   : c;
    word_start = c == '-';
  }
  return name;
}

// The headers a standby adds to what the leader answered.
struct hop {
  std::string via_header;
  std::string via;
  std::string leader_header;
  std::string leader;
};

http_response passed_back(http_reply reply, const hop& h) {
  http_response r;
  r.status = reply.status;
  r.content_type = reply.content_type;
  r.body = std::move(reply.body);
  bool named_leader = false;
  auto leader_header = lower_case(h.leader_header);
  for (const auto& [name, value] : reply.headers)
    if (!reply_headers_dropped.count(name)) {
      r.headers.emplace_back(canonical_case(name), value);
      named_leader = named_leader || name == leader_header;
    }
  if (!named_leader)
    r.headers.emplace_back(h.leader_header, h.leader);
  r.headers.emplace_back(h.via_header, h.via);
  return r;
}

// The event stream, forwarded as it arrives: the leader's head (an error
// answer whole), then every piece of its body. The reader's end closes the
// leader's connection at the next piece; the leader's end closes the reader's.
void forward_stream(http_client& client, http_call call,
                    http_responder respond, hop via,
                    std::shared_ptr<const leader_proxy_dialect> dialect) {
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
  reader.end = [respond, sink, via, error_body,
                dialect](const caf::error& err) {
    if (*error_body)
      respond(passed_back(std::move(**error_body), via));
    else if (err)
      respond(refusal(*dialect, 502, "Connection to leader refused."));
    sink->close();
  };
  client.stream(std::move(call), std::move(reader));
}

} // namespace

leader_proxy::leader_proxy(std::string self_address,
                           leader_proxy_dialect dialect)
  : self_address_(std::move(self_address)),
    dialect_(std::make_shared<const leader_proxy_dialect>(std::move(dialect))) {
}

void leader_proxy::lead(http_handler leading) {
  std::lock_guard guard{target_->mtx};
  target_->leading = std::make_shared<const http_handler>(std::move(leading));
  target_->leader.clear();
}

void leader_proxy::follow(std::string leader) {
  std::lock_guard guard{target_->mtx};
  target_->leader = std::move(leader);
}

void leader_proxy::serve_locally(http_handler local) {
  local_ = std::make_shared<const http_handler>(std::move(local));
}

http_router leader_proxy::routes() const {
  auto dispatch = [target = target_, client = client_, dialect = dialect_,
                   local = local_, self = self_address_](
                    const http_request& req, http_responder respond) {
    std::shared_ptr<const http_handler> leading;
    std::string leader;
    {
      std::lock_guard guard{target->mtx};
      leading = target->leading;
      leader = target->leader;
    }
    if (leading) {
      if (!dialect->mark_own_answers)
        return (*leading)(req, std::move(respond));
      auto header = dialect->leader_prefix + self;
      (*leading)(req, [respond, header, dialect](http_response r) {
        r.headers.emplace_back(dialect->leader_header, header);
        respond(std::move(r));
      });
      return;
    }
    if (local && dialect->local_paths.count(req.path))
      return (*local)(req, std::move(respond));
    if (leader.empty() || leader == self)
      return respond(refusal(*dialect, 503, dialect->no_leader_message));
    hop via{dialect->via_header, dialect->via_prefix + self,
            dialect->leader_header, dialect->leader_prefix + leader};
    if (is_loop(req, via.via_header, via.via))
      return respond(
        refusal(*dialect, dialect->loop_status, dialect->loop_message));
    auto call = forwarded(req, leader, via.via_header, via.via);
    if (call.port == 0)
      return respond(refusal(
        *dialect, 502,
        fmt::format("The leader's address '{}' is not HOST:PORT", leader)));
    if (dialect->streamed_paths.count(req.path))
      return forward_stream(*client, std::move(call), respond, via, dialect);
    auto started = std::chrono::steady_clock::now();
    client->fetch(std::move(call), [respond, via, leader, started, dialect](
                                     caf::expected<http_reply> reply) {
      if (reply)
        return respond(passed_back(std::move(*reply), via));
      logging::get(dialect->service)
        ->warn("cannot proxy to the leader {}: {}", leader,
               describe(reply.error()));
      if (std::chrono::steady_clock::now() - started >= proxy_timeout)
        return respond(
          refusal(*dialect, 504, "Connection to leader timed out."));
      respond(refusal(*dialect, 502, "Connection to leader refused."));
    });
  };
  http_router routes;
  for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"})
    routes.add_prefix(method, "/", dispatch);
  return routes;
}

} // namespace dcos
