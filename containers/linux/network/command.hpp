// Running the host's network tools (ip, iptables, iptables-restore) to
// their end, through dcos::subprocess, with errors that name the command
// and quote what the tool said.
//
// Each call blocks until the tool exits, at most command_timeout: the
// network isolation runs in the containerizer's blocking calls, never in
// an actor's turn.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace dcos::isolation::net {

/// The longest a tool or a netlink request may take: iptables may wait for
/// the xtables lock; nothing else should take long.
constexpr auto command_timeout = std::chrono::seconds(60);

/// Runs `argv` and returns its output (stdout and stderr, interleaved).
/// Fails with io_error "`ARGV` failed (exit status N): OUTPUT" on a
/// non-zero exit, unavailable when it outlives command_timeout (it is then
/// terminated), or the spawn's error with the command in front.
caf::expected<std::string> output_of(const std::vector<std::string>& argv);

/// output_of(), for a command whose output nobody reads.
caf::error run(const std::vector<std::string>& argv);

/// Whether `argv` runs and exits 0: for the questions asked with a status
/// (iptables -C and -S).
bool succeeds(const std::vector<std::string>& argv);

} // namespace dcos::isolation::net
