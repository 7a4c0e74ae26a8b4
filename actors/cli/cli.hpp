// Shared pieces of the dcos command-line tool: talking to the master's
// operator API, finding sibling programs, printing tables.
#pragma once

#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "dcos/http_client.hpp"
#include "dcos/wire_types.hpp"

namespace dcos::cli {

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
int marathon(int argc, char** argv);
int job(int argc, char** argv);
int vips(int argc, char** argv);
int service(int argc, char** argv);

} // namespace dcos::cli
