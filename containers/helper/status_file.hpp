// The exit record of a container: the one line of JSON that dcos-containerizer
// leaves behind, e.g.
//   {"status":137,"reason":"signaled","signal":9,"message":"..."}
// It is the only reliable record of how the container ended once the agent
// that started the helper has died, so it is written atomically: readers see
// either no file or the whole line.
//
// Thread-safety: stateless.
#pragma once

#include <sys/types.h>

#include <string>

namespace dcos::helper {

struct exit_record {
  int status = 0;     // the exit code, or 128 + signal; also our exit code
  std::string reason; // "exited", "signaled", "exec_failed" or "fetch_failed"
  int signal = 0;     // written only when reason is "signaled"
  std::string message;
};

/// The record of a PROGRAM named `program` that ended with `wait_status` (as
/// returned by waitpid).
exit_record record_of(int wait_status, const std::string& program);

/// One line of JSON, with '\n'. Invalid UTF-8 in the message becomes U+FFFD,
/// so that strict JSON parsers accept any message.
std::string to_json_line(const exit_record& record);

/// Writes `path`.tmp and renames it to `path` (atomic for readers; not
/// synced, see status_file.cpp). Returns 0 or the errno of the failed step.
int write_status_file(const std::string& path, const exit_record& record);

/// Writes `pid` and a newline to `path`, as write_status_file does.
int write_pid_file(const std::string& path, pid_t pid);

/// Writes `text` to `path`.tmp and renames it to `path`. Returns 0 or the
/// errno of the failed step.
int write_atomically(const std::string& path, const std::string& text);

} // namespace dcos::helper
