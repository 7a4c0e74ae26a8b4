// What a test program leaves behind when it is ended from outside: meson
// sends SIGTERM when a test runs past its timeout, and the daemons a test
// started run in process groups of their own (subprocess puts them there),
// so without this they outlive it, hold ports and CPU, and fail the tests
// that run after it.
#pragma once

#include <string>

namespace dcos::test {

/// Blocks SIGTERM and SIGINT in the calling thread, and so in every thread
/// started after it, and starts a thread that waits for them. When one
/// arrives it prints which test case was running, kills (SIGKILL) every
/// descendant of this process and every process whose working directory or
/// command line lies in a live scratch directory (executors an agent left),
/// removes those directories and exits with 128 + the signal.
/// REQUIRES: called once, from main, before any other thread starts.
/// Processes started with subprocess get an empty signal mask; a child of
/// fork() inherits the blocked mask (SIGKILL still ends it).
void end_leftovers_on_termination();

/// The name of the test case now running (a string doctest keeps alive).
void note_running_case(const char* name);

/// A scratch directory that exists from now on, and its removal.
/// Thread-safe.
void note_scratch_dir(const std::string& path);
void forget_scratch_dir(const std::string& path);

} // namespace dcos::test
