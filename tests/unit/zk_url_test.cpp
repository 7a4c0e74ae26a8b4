// ZooKeeper URLs as --master and --zk take them, and the errors that name
// the flag.
#include <doctest/doctest.h>

#include "dcos/detector_actor.hpp"
#include "dcos/zk_url.hpp"
#include "support/checks.hpp"

using namespace dcos;

TEST_CASE("a zk:// URL names servers, a path and optional credentials") {
  auto url = parse_zk_url("zk://10.0.0.1:2181,10.0.0.2:2181/dcos/mesos/",
                          "--zk");
  DCOS_REQUIRE_OK(url);
  CHECK(url->servers == "10.0.0.1:2181,10.0.0.2:2181");
  CHECK(url->path == "/dcos/mesos");
  CHECK_FALSE(url->credentials);

  auto secured = parse_zk_url("zk://super:secret@zk-1:2181/mesos", "--zk");
  DCOS_REQUIRE_OK(secured);
  CHECK(secured->credentials == "super:secret");
  CHECK(secured->servers == "zk-1:2181");
  CHECK(secured->to_string() == "zk://super:***@zk-1:2181/mesos");
}

TEST_CASE("a bad zk:// URL is an error that names the flag and the part") {
  struct bad_case {
    const char* text;
    const char* says;
  };
  for (auto [text, says] : {
         bad_case{"zk://127.0.0.1:2181", "has no path"},
         bad_case{"zk:///mesos", "names no server"},
         bad_case{"zk://127.0.0.1/mesos", "'127.0.0.1' that is not HOST:PORT"},
         bad_case{"zk://a:2181,b:99999/mesos", "'b:99999'"},
         bad_case{"zk://a:2181/", "root"},
         bad_case{"zk://a:2181/mesos//x", "path component ''"},
         bad_case{"zk://a:2181/mesos/../x", "path component '..'"},
         bad_case{"zk://nopassword@a:2181/mesos", "USER:PASSWORD"},
       }) {
    CAPTURE(text);
    auto url = parse_zk_url(text, "--zk");
    REQUIRE_FALSE(url);
    auto message = describe(url.error());
    CHECK(message.find("--zk: '") != std::string::npos);
    CHECK(message.find(says) != std::string::npos);
  }
}

TEST_CASE("--master takes HOST:PORT, HOST or zk://") {
  auto plain = parse_master_location("10.0.0.1:5050");
  DCOS_REQUIRE_OK(plain);
  CHECK_FALSE(plain->zk);
  CHECK(plain->host == "10.0.0.1");
  CHECK(plain->port == 5050);

  auto host_only = parse_master_location("leader.mesos");
  DCOS_REQUIRE_OK(host_only);
  CHECK(host_only->port == 5050);

  auto zk = parse_master_location("zk://127.0.0.1:2181/mesos");
  DCOS_REQUIRE_OK(zk);
  REQUIRE(zk->zk);
  CHECK(zk->zk->path == "/mesos");

  auto bad = parse_master_location("zk://127.0.0.1:2181");
  REQUIRE_FALSE(bad);
  CHECK(describe(bad.error()).find("--master: ") != std::string::npos);
  auto bad_port = parse_master_location("host:http");
  REQUIRE_FALSE(bad_port);
  CHECK(describe(bad_port.error()).find("--master: 'host:http'")
        != std::string::npos);
}
