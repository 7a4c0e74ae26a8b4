// Orderly shutdown for daemons: block SIGTERM/SIGINT/SIGHUP in every thread,
// then let the main thread wait for one of them and shut down in order.
//
// Usage in main():
//   dcos::block_termination_signals(); // before the actor system starts
//   ... start actors ...
//   int sig = dcos::wait_for_termination_signal();
#pragma once

namespace dcos {

/// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread; threads created
/// afterwards inherit the mask. Also ignores SIGPIPE (broken sockets are
/// reported as errors instead).
void block_termination_signals();

/// Waits until SIGTERM, SIGINT or SIGHUP arrives and returns its number.
/// REQUIRES: block_termination_signals() was called first.
int wait_for_termination_signal();

} // namespace dcos
