// Shared pieces of the dcos command-line tool: talking to the master's
// operator API, finding sibling programs, printing tables.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <google/protobuf/message.h>

#include <caf/expected.hpp>

#include "dcos/http_client.hpp"
#include "dcos/wire_types.hpp"

namespace dcos::cli {

/// A POST of `call` (as JSON) to HOST:PORT's /api/v1, Mesos' v1 API of a
/// master or an agent; `default_port` applies when `address` has none.
caf::expected<http_call> api_request(const std::string& address,
                                     uint16_t default_port,
                                     const google::protobuf::Message& call);

/// Sends api_request() and parses the 200 answer into `*response`
/// (blocking; a tool, not an actor). Errors say what failed and where.
caf::error api_call(const std::string& address, uint16_t default_port,
                    const google::protobuf::Message& call,
                    google::protobuf::Message* response,
                    std::chrono::milliseconds timeout
                    = std::chrono::seconds(10));

/// Posts an operator call to HOST:PORT's /api/v1 (blocking; a tool, not an
/// actor). Errors say what failed and where.
caf::expected<v1::master::Response> operator_call(const std::string& master,
                                                  v1::master::Call::Type type);

/// GET http://HOST:PORT/TARGET; the reply, whatever its status (redirects
/// are not followed).
caf::expected<http_reply> get_reply(const std::string& address,
                                    const std::string& target);

/// GET http://HOST:PORT/TARGET; the body on 200, else an error.
caf::expected<std::string> get(const std::string& address,
                               const std::string& target);

/// A task as the master knows it, and HOST:PORT of its agent.
struct located_task {
  v1::Task task;
  std::string agent;
};

/// Finds `task_id` among the master's tasks (running, unreachable or
/// completed) and its agent's address. Errors say which is missing.
caf::expected<located_task> locate_task(const std::string& master,
                                        const std::string& task_id);

/// Prints rows as aligned columns; the first row is the header.
void print_table(const std::vector<std::vector<std::string>>& rows);

/// Exit codes: 0 success, 1 failure, 2 bad usage (as for every dcos tool).
int usage_error(const std::string& message);

// Sub-commands.
int up(int argc, char** argv);
int execute(int argc, char** argv);
int list(const std::string& what, int argc, char** argv);
int masters(int argc, char** argv);
int task_log(int argc, char** argv);
int task_exec(int argc, char** argv);
int marathon(int argc, char** argv);
int job(int argc, char** argv);
int vips(int argc, char** argv);
int service(int argc, char** argv);

} // namespace dcos::cli
