// The one translation unit that holds doctest's runner for every test binary.
//
// Two ways a program could pass without testing anything are closed here:
// a run whose filters (tests/meson.build's --test-case) select no case
// fails, as after a case was renamed; and a program whose cases passed but
// one of them skipped (support/skip.hpp) exits 77, which meson reports as a
// skip rather than a pass. A program ended from outside (meson's timeout)
// first ends the processes it started (support/leftovers.hpp).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "support/leftovers.hpp"
#include "support/skip.hpp"

namespace {

// Remembers how many cases the run selected, and which one runs; reports
// nothing itself.
struct selected_cases : doctest::IReporter {
  static inline unsigned count = 0;

  explicit selected_cases(const doctest::ContextOptions&) {}

  void test_run_end(const doctest::TestRunStats& stats) override {
    count = stats.numTestCasesPassingFilters;
  }

  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_case_start(const doctest::TestCaseData& data) override {
    dcos::test::note_running_case(data.m_name);
  }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

REGISTER_LISTENER("selected_cases", 1, selected_cases);

} // namespace

int main(int argc, char** argv) {
  dcos::test::end_leftovers_on_termination();
  doctest::Context context{argc, argv};
  int status = context.run();
  if (context.shouldExit() || status != 0)
    return status;
  if (selected_cases::count == 0) {
    std::fprintf(stderr, "no test case matches the filters\n");
    return 1;
  }
  return dcos::test::skips_noted() > 0 ? dcos::test::skip_exit_code : 0;
}
