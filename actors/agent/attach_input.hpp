// ATTACH_CONTAINER_INPUT, Mesos' streamed agent call: the client sends a
// RecordIO stream of agent Calls (Content-Type application/recordio, each
// record JSON or protobuf as Message-Content-Type says). The first names the
// session (CONTAINER_ID); the rest are PROCESS_IO: DATA records of type
// STDIN go to the session's stdin, an empty one closes it (the command reads
// EOF; at a terminal, it types the terminal's EOF character, and the stream
// goes on), CONTROL records keep the stream alive (HEARTBEAT) or resize the
// session's terminal (TTY_INFO).
//
// The answer is 200 once the client has closed stdin (not at a terminal),
// or its stream ended, or the session ended; 4xx with a body naming the
// field for a bad stream, 404 for a container that is no session here, 409 if another client's
// input is attached. The body is read at the pace stdin takes it: so a
// client that leaves while the session's stdin pipe is full (the session
// does not read it) is noticed only once the session reads or ends, and
// holds the input until then.
#pragma once

#include <memory>

#include "dcos/http_server.hpp"

namespace dcos::kernel {

class session_pump;

/// Serves one ATTACH_CONTAINER_INPUT request.
/// REQUIRES: req.body_stream is set (a streamed request).
void attach_container_input(std::shared_ptr<session_pump> pump,
                            const http_request& req, http_responder respond);

} // namespace dcos::kernel
