#include "cli.hpp"

#include <cstdio>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/http_client.hpp"
#include "dcos/json.hpp"


namespace dcos::cli {

caf::expected<http_reply> get_reply(const std::string& address,
                                    const std::string& target) {
  auto where = parse_host_port(address, 5050);
  if (!where)
    return where.error();
  http_call call;
  call.host = where->first;
  call.port = where->second;
  call.target = target;
  return http_fetch(call);
}

caf::expected<std::string> get(const std::string& address,
                               const std::string& target) {
  auto reply = get_reply(address, target);
  if (!reply)
    return reply.error();
  if (reply->status != 200)
    return make_error(errc::unavailable,
                      fmt::format("GET {}{} answered {}: {}", address, target,
                                  reply->status, reply->body));
  return reply->body;
}

caf::expected<v1::master::Response> operator_call(const std::string& master,
                                                  v1::master::Call::Type type) {
  auto where = parse_host_port(master, 5050);
  if (!where)
    return where.error();
  v1::master::Call call;
  call.set_type(type);
  http_call req;
  req.method = "POST";
  req.host = where->first;
  req.port = where->second;
  req.target = "/api/v1";
  req.content_type = "application/json";
  req.body = to_json(call);
  auto reply = http_fetch(req);
  if (!reply)
    return reply.error();
  if (reply->status != 200)
    return make_error(errc::unavailable,
                      fmt::format("the master at {} answered {}: {}", master,
                                  reply->status, reply->body));
  v1::master::Response response;
  if (auto err = from_json(reply->body, &response, "the master's answer"))
    return err;
  return response;
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (width.size() <= i)
        width.push_back(0);
      width[i] = std::max(width[i], row[i].size());
    }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i)
      line += i + 1 == row.size() ? row[i]
                                  : fmt::format("{:<{}}  ", row[i], width[i]);
    std::puts(line.c_str());
  }
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "dcos: %s\n", message.c_str());
  return 2;
}

} // namespace dcos::cli
