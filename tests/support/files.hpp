// Files and scratch directories for tests.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <caf/expected.hpp>
#include <doctest/doctest.h>

#include "dcos/error.hpp"
#include "support/leftovers.hpp"

namespace dcos::test {

/// The whole file, or "" if it cannot be read.
inline std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Writes (replaces) `path`; fails the test if it cannot.
inline void write_file(const std::string& path, const std::string& data) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << data;
  REQUIRE_MESSAGE(out.good(), "cannot write " << path);
}

/// The error of `x`, or "" (doctest may render a message of a passing check).
template <class T>
std::string why(const caf::expected<T>& x) {
  return x ? std::string{} : describe(x.error());
}

/// A scratch directory removed (with everything below) at scope end.
struct scratch_dir {
  std::string path;

  scratch_dir() {
    char tmpl[] = "/tmp/dcos-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
    note_scratch_dir(path);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  ~scratch_dir() {
    forget_scratch_dir(path);
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }

  std::string operator/(const std::string& name) const {
    return path + "/" + name;
  }
};

} // namespace dcos::test
