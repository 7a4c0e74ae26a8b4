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

caf::expected<http_call> api_request(const std::string& address,
                                     uint16_t default_port,
                                     const google::protobuf::Message& call) {
  auto where = parse_host_port(address, default_port);
  if (!where)
    return where.error();
  http_call req;
  req.method = "POST";
  req.host = where->first;
  req.port = where->second;
  req.target = "/api/v1";
  req.content_type = "application/json";
  req.body = to_json(call);
  return req;
}

caf::error api_call(const std::string& address, uint16_t default_port,
                    const google::protobuf::Message& call,
                    google::protobuf::Message* response,
                    std::chrono::milliseconds timeout) {
  auto req = api_request(address, default_port, call);
  if (!req)
    return req.error();
  req->timeout = timeout;
  auto reply = http_fetch(*req);
  if (!reply)
    return reply.error();
  if (reply->status != 200)
    return make_error(errc::unavailable,
                      fmt::format("{} answered {}: {}", address,
                                  reply->status, reply->body));
  return from_json(reply->body, response, "the answer of " + address);
}

caf::expected<v1::master::Response> operator_call(const std::string& master,
                                                  v1::master::Call::Type type) {
  v1::master::Call call;
  call.set_type(type);
  v1::master::Response response;
  if (auto err = api_call(master, 5050, call, &response))
    return err;
  return response;
}

caf::expected<located_task> locate_task(const std::string& master,
                                        const std::string& task_id) {
  auto tasks = operator_call(master, v1::master::Call::GET_TASKS);
  if (!tasks)
    return tasks.error();
  located_task out;
  bool found = false;
  const auto& all = tasks->get_tasks();
  for (const auto* list : {&all.tasks(), &all.unreachable_tasks(),
                           &all.completed_tasks()})
    for (const auto& t : *list)
      if (t.task_id().value() == task_id) {
        out.task = t;
        found = true;
      }
  if (!found)
    return make_error(errc::not_found,
                      fmt::format("no task '{}' (see `dcos tasks`)", task_id));
  auto agents = operator_call(master, v1::master::Call::GET_AGENTS);
  if (!agents)
    return agents.error();
  for (const auto& a : agents->get_agents().agents())
    if (a.agent_info().id().value() == out.task.agent_id().value())
      out.agent = fmt::format("{}:{}", a.agent_info().hostname(),
                              a.agent_info().has_port() ? a.agent_info().port()
                                                        : 5051);
  if (out.agent.empty())
    return make_error(errc::unavailable,
                      fmt::format("the agent of task '{}' is not registered",
                                  task_id));
  return out;
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
