// Test cases that cannot run on this host say so instead of passing.
//
// A case that lacks something (root, a program) calls
//   if (::geteuid() != 0) return skip("mounting overlayfs needs root");
// at its top. The reason is printed, the case ends, and once every case has
// run the program exits 77, meson's "skipped", unless some case failed
// (doctest_main.cpp). meson then reports the whole program as skipped, so a
// case that may skip is registered as a meson test of its own (a doctest
// --test-case filter in tests/meson.build), and excluded from the program's
// other entry, so its skip never hides the other cases' passes.
// scripts/test_summary.py counts such a test as skipped, and fails a CI run
// that skipped anything.
#pragma once

#include <cstdio>
#include <string>

namespace dcos::test {

/// Exit status a test program uses to tell meson it was skipped.
inline constexpr int skip_exit_code = 77;

/// The number of skip() calls so far in this program.
inline int& skips_noted() {
  static int n = 0;
  return n;
}

/// Notes that the current case is skipped, printing "[skip] <reason>" on
/// stdout (where test_summary.py finds it). The caller returns right after.
inline void skip(const std::string& reason) {
  std::printf("[skip] %s\n", reason.c_str());
  std::fflush(stdout);
  ++skips_noted();
}

} // namespace dcos::test
