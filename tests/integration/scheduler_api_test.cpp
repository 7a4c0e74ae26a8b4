// The v1 scheduler HTTP API against a real dcos-master and dcos-agent:
// a framework written in Python with nothing but its standard library runs
// tasks over JSON, and curl speaks protobuf to the same endpoint.
#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "dcos/recordio.hpp"
#include "dcos/scheduler_actor.hpp"
#include "support/checks.hpp"
#include "support/files.hpp"
#include "support/processes.hpp"

using namespace dcos;
using namespace dcos::test;

namespace {

constexpr const char* protobuf_type = "application/x-protobuf";

// The value of header `name` in curl's dump of response headers, or "".
std::string header(const std::string& dump, const std::string& name) {
  auto lower = [](std::string s) {
    for (auto& c : s)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  auto text = lower(dump);
  auto at = text.find("\n" + lower(name) + ":");
  if (at == std::string::npos)
    return "";
  auto begin = dump.find_first_not_of(' ', at + name.size() + 2);
  auto end = dump.find_first_of("\r\n", begin);
  return dump.substr(begin, end - begin);
}

// Starts curl with a protobuf body, the response body to `out` and its
// headers to `headers`; a stream is cut off after `max_time` seconds.
subprocess start_curl(const std::string& url, const std::string& body_file,
                      const std::string& out, const std::string& headers,
                      const std::vector<std::string>& extra = {},
                      const char* max_time = "30") {
  subprocess_options opts;
  opts.argv = {"curl", "-s", "-N", "--max-time", max_time, "-D", headers,
               "-o", out, "-H",
               std::string("Content-Type: ") + protobuf_type, "-H",
               std::string("Accept: ") + protobuf_type, "--data-binary",
               "@" + body_file};
  opts.argv.insert(opts.argv.end(), extra.begin(), extra.end());
  opts.argv.push_back(url);
  auto p = subprocess::spawn(opts);
  DCOS_REQUIRE_OK(p);
  return std::move(*p);
}

// start_curl() for a call that is answered at once.
void curl_protobuf(const std::string& url, const std::string& body_file,
                   const std::string& out, const std::string& headers,
                   const std::vector<std::string>& extra = {}) {
  start_curl(url, body_file, out, headers, extra, "10").wait();
}

} // namespace

TEST_CASE("a framework in Python reserves with operation feedback and runs "
          "100 tasks over the scheduler API") {
  scratch_dir dir;
  master_process master;
  agent_process agent(master.address(), dir / "agent");
  auto run = run_http_framework(master.address(), 100, true);
  INFO(run.out);
  CHECK(run.status == 0);
  CHECK(run.out.find("RESERVE with an id: OPERATION_FINISHED from the agent")
        != std::string::npos);
  // Every refusal case ran and the last line is the framework's verdict.
  CHECK(run.out.find("refused a body that is neither JSON nor protobuf: 415")
        != std::string::npos);
  CHECK(run.out.find("ok: launched 100, finished 100, acknowledged 200, "
                  "torn down")
        != std::string::npos);
}

TEST_CASE("the scheduler API speaks protobuf: SUBSCRIBE streams protobuf "
          "events, TEARDOWN is accepted") {
  scratch_dir dir;
  master_process master;
  auto url = "http://" + master.address() + "/api/v1/scheduler";

  v1::scheduler::Call subscribe;
  subscribe.set_type(v1::scheduler::Call::SUBSCRIBE);
  auto* info = subscribe.mutable_subscribe()->mutable_framework_info();
  info->set_user("root");
  info->set_name("protobuf");
  write_file(dir / "subscribe", subscribe.SerializeAsString());
  auto stream = start_curl(url, dir / "subscribe", dir / "events",
                           dir / "headers");

  // The first event arrives while the stream stays open.
  recordio::decoder decoder;
  std::vector<std::string> records;
  REQUIRE(eventually([&] {
    decoder = recordio::decoder{};
    auto got = decoder.decode(read_file(dir / "events"));
    if (!got || got->empty())
      return false;
    records = std::move(*got);
    return true;
  }));
  auto headers = read_file(dir / "headers");
  INFO(headers);
  REQUIRE(headers.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(header(headers, "Content-Type") == protobuf_type);
  auto stream_id = header(headers, "Mesos-Stream-Id");
  REQUIRE(stream_id.size() == 36); // a UUID, as Mesos makes them
  v1::scheduler::Event first;
  REQUIRE(first.ParseFromString(records.front()));
  REQUIRE(first.type() == v1::scheduler::Event::SUBSCRIBED);
  CHECK(first.subscribed().heartbeat_interval_seconds() == 15);
  const auto& framework_id = first.subscribed().framework_id();
  CHECK(!framework_id.value().empty());

  // TEARDOWN needs the stream's id; with it, it is accepted and the master
  // ends the stream (long before curl would give up).
  v1::scheduler::Call teardown;
  teardown.set_type(v1::scheduler::Call::TEARDOWN);
  *teardown.mutable_framework_id() = framework_id;
  write_file(dir / "teardown", teardown.SerializeAsString());
  curl_protobuf(url, dir / "teardown", dir / "out", dir / "refused");
  CHECK(read_file(dir / "refused").rfind("HTTP/1.1 400", 0) == 0);
  curl_protobuf(url, dir / "teardown", dir / "out", dir / "accepted",
                {"-H", "Mesos-Stream-Id: " + stream_id});
  CHECK(read_file(dir / "accepted").rfind("HTTP/1.1 202", 0) == 0);
  std::optional<int> ended;
  CHECK(eventually([&] { return (ended = stream.poll()).has_value(); }, 10s));
  CHECK(ended == 0); // curl saw the chunked stream end properly

  // A body that is not a Call protobuf is refused with Mesos' words.
  write_file(dir / "garbage", std::string("\xff\xff\xff", 3));
  curl_protobuf(url, dir / "garbage", dir / "out", dir / "garbage_headers");
  CHECK(read_file(dir / "garbage_headers").rfind("HTTP/1.1 400", 0) == 0);
  CHECK(read_file(dir / "out").find("Failed to parse body into Call "
                                    "protobuf")
        != std::string::npos);
}
