// The containerizer's whole-file reads and writes (containers/files.hpp),
// in a scratch directory.
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include "dcos/error.hpp"
#include "files.hpp"
#include "support/files.hpp"

using namespace dcos;
namespace fs = std::filesystem;

using test::scratch_dir;

TEST_CASE("write_file then read_file gives the bytes back, NULs included") {
  scratch_dir dir;
  auto path = dir.path + "/f";
  std::string bytes{"one\0two\nthree", 13};
  REQUIRE(!write_file(path, bytes));
  auto text = read_file(path);
  REQUIRE(text);
  CHECK(*text == bytes);
  // Shorter contents replace longer ones whole.
  REQUIRE(!write_file(path, "x"));
  CHECK(read_file_or_empty(path) == "x");
}

TEST_CASE("read_file of a large file reads past its buffer") {
  scratch_dir dir;
  std::string big(100000, 'a');
  big.back() = 'z';
  REQUIRE(!write_file(dir.path + "/big", big));
  CHECK(read_file_or_empty(dir.path + "/big") == big);
}

TEST_CASE("a missing file is an io_error naming it, or empty") {
  scratch_dir dir;
  auto path = dir.path + "/missing";
  auto text = read_file(path);
  REQUIRE(!text);
  CHECK(code_of(text.error()) == errc::io_error);
  CHECK(describe_reason(text.error()).find("cannot read '" + path + "'")
        != std::string::npos);
  CHECK(read_file_or_empty(path).empty());
}

TEST_CASE("write_file fails naming the path when it cannot create it") {
  scratch_dir dir;
  auto path = dir.path + "/no/such/dir/f";
  auto err = write_file(path, "x");
  REQUIRE(err);
  CHECK(code_of(err) == errc::io_error);
  CHECK(describe_reason(err).find("cannot write '" + path + "'")
        != std::string::npos);
}

TEST_CASE("replace_file replaces the contents and leaves no part behind") {
  scratch_dir dir;
  auto path = dir.path + "/f";
  REQUIRE(!write_file(path, "old"));
  REQUIRE(!replace_file(path, "new"));
  CHECK(read_file_or_empty(path) == "new");
  CHECK(!fs::exists(path + ".part"));
}

TEST_CASE("replace_file fails naming the part when it cannot rename it") {
  scratch_dir dir;
  // A non-empty directory cannot be renamed over.
  auto path = dir.path + "/d";
  fs::create_directories(path + "/inside");
  auto err = replace_file(path, "x");
  REQUIRE(err);
  CHECK(describe_reason(err).find("cannot rename '" + path + ".part'")
        != std::string::npos);
  CHECK(fs::is_directory(path));
}
