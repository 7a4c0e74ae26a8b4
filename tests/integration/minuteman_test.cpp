// dcos-minuteman against a real master, agent and Marathon: apps declare
// VIPs with portDefinitions labels, and real curl clients reach their tasks
// through the VIP. Spreading over every instance, scaling up, a task killed
// under load, a UDP VIP, a malformed label, the event stream, the CLI; as
// root, in a network namespace of the test's own, a named VIP on Minuteman's
// dummy interface, found by its name through dcos-dns, and reached from a
// container on a bridge network of its own.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "dcos/http_client.hpp"
#include "support/checks.hpp"
#include "support/event_watch.hpp"
#include "support/files.hpp"
#include "support/marathon_cluster.hpp"
#include "support/ports.hpp"
#include "support/processes.hpp"
#include "support/skip.hpp"

using namespace dcos;
using namespace dcos::test;

namespace {

// A dcos-minuteman for `master`, its API on a free port.
struct minuteman_process {
  uint16_t port = free_port();
  subprocess process;

  minuteman_process(const std::string& master, const std::string& log,
                    std::vector<std::string> extra)
    : process(start(master, log, port, std::move(extra))) {
  }

  std::string url(const std::string& path) const {
    return fmt::format("http://127.0.0.1:{}{}", port, path);
  }

  // The "vip" entry of /v1/vips named `name`, or an empty object.
  google::protobuf::Struct vip(const std::string& name) const {
    auto r = curl({url("/v1/vips")});
    REQUIRE(r.status == 200);
    auto doc = parse_json_object("{\"vips\":" + r.body + "}");
    for (const auto& v : doc.fields().at("vips").list_value().values())
      if (v.struct_value().fields().at("vip").string_value() == name)
        return v.struct_value();
    return {};
  }

  // A reader of the event stream, as an operator would read it (curl -N),
  // subscribed.
  subprocess events() const {
    subprocess_options opts;
    opts.argv = {"curl", "-sN", "-H", "Accept: text/event-stream",
                 url("/v1/events")};
    opts.capture_stdout = true;
    auto p = subprocess::spawn(opts);
    DCOS_REQUIRE_OK(p);
    auto attached = p->read_line(10s);
    REQUIRE(attached);
    CHECK(*attached == "event: event_stream_attached");
    return std::move(*p);
  }

  // The task ids of the backends of `name` that take new connections.
  std::set<std::string> backends(const std::string& name) const {
    std::set<std::string> out;
    auto v = vip(name);
    if (v.fields().count("backends") == 0)
      return out;
    for (const auto& b : v.fields().at("backends").list_value().values()) {
      const auto& f = b.struct_value().fields();
      if (f.at("state").string_value() == "up")
        out.insert(f.at("task_id").string_value());
    }
    return out;
  }

private:
  static subprocess start(const std::string& master, const std::string& log,
                          uint16_t port, std::vector<std::string> extra) {
    std::vector<std::string> argv{binary("DCOS_MINUTEMAN_BIN"),
                                  "--master=" + master, "--ip=127.0.0.1",
                                  fmt::format("--port={}", port),
                                  "--log_level=info"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return start_serving(std::move(argv), log);
  }

};

// A master, one agent, Marathon and Minuteman.
struct vip_cluster : marathon_cluster {
  std::optional<minuteman_process> minuteman;

  explicit vip_cluster(std::vector<std::string> minuteman_flags,
                       std::vector<std::string> agent_flags = {})
    : marathon_cluster(std::move(agent_flags), 100) {
    minuteman.emplace(master.address(), dir / "minuteman.log",
                      std::move(minuteman_flags));
  }

  http_result scale(const std::string& id, int instances) {
    return curl({"-X", "PATCH", "-H", "Content-Type: application/json",
                 "--data-binary", fmt::format(R"({{"instances": {}}})",
                                              instances),
                 marathon->url("/v2/apps" + id)});
  }
};

// An app of small HTTP servers, each answering /id with its task id, on a
// VIP `vip` (the VIP_0 label of its one port).
std::string web_app(const std::string& id, int instances,
                    const std::string& vip) {
  return fmt::format(
    R"({{"id": "{}", "cpus": 0.05, "mem": 32, "instances": {},
      "cmd": "printf %s $MESOS_TASK_ID > id && exec python3 -m http.server --bind 127.0.0.1 $PORT0",
      "portDefinitions": [{{"port": 0, "labels": {{"VIP_0": "{}"}}}}]}})",
    id, instances, vip);
}

// GET http://ADDRESS/id through the VIP: the task id that answered, or
// empty if the request failed.
std::string ask_vip(const std::string& address,
                    std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{"curl", "-s", "--max-time", "5"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("http://" + address + "/id");
  auto r = run_to_end(argv, 20s);
  return r.status == 0 ? r.out : std::string{};
}

// An app of small UDP servers, each answering any datagram with its task
// id, on a UDP VIP `vip`.
std::string udp_app(const std::string& id, int instances,
                    const std::string& vip) {
  return fmt::format(
    R"({{"id": "{}", "cpus": 0.05, "mem": 32, "instances": {},
      "cmd": "exec python3 -c \"import os,socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', int(os.environ['PORT0']))); [s.sendto(os.environ['MESOS_TASK_ID'].encode(), s.recvfrom(65536)[1]) for _ in iter(int, 1)]\"",
      "portDefinitions": [{{"port": 0, "protocol": "udp", "labels": {{"VIP_0": "{}"}}}}]}})",
    id, instances, vip);
}

// A datagram to the UDP VIP `ip`:`port` from a fresh socket (a new flow):
// the task id that answered, or empty after 3 s.
std::string ask_udp_vip(const std::string& ip, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string out;
  // Connected: only a reply from the VIP's own address is taken.
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0
      && ::send(fd, "who", 3, 0) == 3) {
    char buf[512];
    auto r = ::recv(fd, buf, sizeof(buf), 0);
    if (r > 0)
      out.assign(buf, static_cast<size_t>(r));
  }
  ::close(fd);
  return out;
}

// The ids of the up backends in a /v1/vips/{vip} answer that are not in
// `known`.
std::set<std::string> new_backends(const std::string& body,
                                              const std::set<std::string>& known) {
  std::set<std::string> out;
  auto doc = parse_json_object(body);
  for (const auto& b : doc.fields().at("backends").list_value().values()) {
    const auto& f = b.struct_value().fields();
    if (f.at("state").string_value() == "up"
        && known.count(f.at("task_id").string_value()) == 0)
      out.insert(f.at("task_id").string_value());
  }
  return out;
}

} // namespace

TEST_CASE("an address VIP: curl reaches every instance, scaling adds "
          "backends, a task killed under load loses no connection after "
          "it is detected") {
  // A loopback address is local without an interface of Minuteman's own.
  vip_cluster c{{"--vip_interface="}};
  auto vip_port = free_port();
  auto vip = fmt::format("127.77.0.1:{}", vip_port);
  REQUIRE(c.post_app(web_app("/web", 3, vip)).status == 201);
  REQUIRE(eventually([&] { return c.minuteman->backends(vip).size() == 3; },
                     60s));
  // Every backend answers through the VIP.
  std::set<std::string> seen;
  REQUIRE(eventually(
    [&] {
      auto who = ask_vip(vip);
      if (!who.empty())
        seen.insert(who);
      return seen == c.minuteman->backends(vip);
    },
    60s));
  CHECK(c.minuteman->vip(vip).fields().at("listening").bool_value());

  // Scaled to 5: the new tasks become backends and get connections. How
  // soon, from TASK_RUNNING on the master's event stream to a backend in
  // /v1/vips (asked every millisecond), is reported, not asserted (the
  // figure belongs to the issue's note).
  event_watch events{c.master.address(), c.dir.path};
  auto before_scale = c.minuteman->backends(vip);
  REQUIRE(c.scale("/web", 5).status == 200);
  std::map<std::string, std::chrono::steady_clock::time_point> joined;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (joined.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    http_call call;
    call.host = "127.0.0.1";
    call.port = c.minuteman->port;
    call.target = "/v1/vips/" + vip;
    auto reply = http_fetch(call);
    auto now = std::chrono::steady_clock::now();
    if (reply && reply->status == 200)
      for (const auto& id : new_backends(reply->body, before_scale))
        joined.emplace(id, now);
    std::this_thread::sleep_for(1ms);
  }
  REQUIRE(joined.size() == 2);
  std::string latencies;
  for (const auto& [id, at] : joined) {
    auto running = events.seen(id, v1::TASK_RUNNING);
    REQUIRE(running.has_value());
    latencies += fmt::format(
      " {:.1f}",
      std::chrono::duration<double, std::milli>(at - *running).count());
  }
  MESSAGE("from TASK_RUNNING on the master's stream to a backend in "
          "/v1/vips, ms:" << latencies);
  REQUIRE(eventually([&] { return c.minuteman->backends(vip).size() == 5; },
                     60s));
  seen.clear();
  INFO("through the VIP: " << fmt::format("{}", fmt::join(seen, ", ")));
  INFO("/v1/vips: " << curl({c.minuteman->url("/v1/vips")}).body);
  REQUIRE(eventually(
    [&] {
      auto who = ask_vip(vip);
      if (!who.empty())
        seen.insert(who);
      return seen.size() == 5;
    },
    60s));

  // One task killed while clients keep asking.
  struct attempt {
    std::chrono::steady_clock::time_point at;
    bool ok;
  };
  std::mutex mtx;
  std::vector<attempt> attempts;
  std::atomic<bool> stop{false};
  std::thread load([&] {
    while (!stop) {
      auto at = std::chrono::steady_clock::now();
      bool ok = !ask_vip(vip).empty();
      std::lock_guard guard{mtx};
      attempts.push_back({at, ok});
    }
  });
  std::this_thread::sleep_for(500ms);
  auto victim = *c.minuteman->backends(vip).begin();
  auto killed = curl({"-X", "DELETE",
                      c.marathon->url("/v2/apps/web/tasks/" + victim
                                      + "?scale=true")});
  CHECK(killed.status == 200);
  REQUIRE(eventually([&] { return c.minuteman->backends(vip).count(victim) == 0; },
                     30s));
  auto detected = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(2s);
  stop = true;
  load.join();
  int before = 0, after = 0, total_after = 0;
  for (const auto& a : attempts) {
    if (a.at > detected) {
      ++total_after;
      after += a.ok ? 0 : 1;
    } else {
      before += a.ok ? 0 : 1;
    }
  }
  CAPTURE(before);
  CHECK(total_after > 10);
  CHECK(after == 0);
  // Before detection only a request the dying server held can fail.
  CHECK(before <= 2);
  CHECK(c.minuteman->backends(vip).size() == 4);

  // The CLI lists the VIP and its backends.
  auto listed = run_to_end({binary("DCOS_CLI"), "vips",
                            "--minuteman=127.0.0.1:"
                              + std::to_string(c.minuteman->port)});
  CHECK(listed.status == 0);
  CHECK(listed.out.find(vip) != std::string::npos);
  CHECK(listed.out.find("up") != std::string::npos);

  // Metrics count the connections per VIP and backend.
  auto metrics = curl({c.minuteman->url("/metrics")});
  CHECK(metrics.status == 200);
  CHECK(metrics.body.find(fmt::format(
          "minuteman_vip_connections_total{{vip=\"tcp://{}\"}}", vip))
        != std::string::npos);
  CHECK(metrics.body.find("minuteman_backend_connections_total{") != std::string::npos);
}

TEST_CASE("a UDP VIP: datagrams reach every instance, and a killed one's "
          "clients go to the others") {
  vip_cluster c{{"--vip_interface="}};
  auto vip_port = free_port();
  auto vip = fmt::format("127.77.0.3:{}", vip_port);
  REQUIRE(c.post_app(udp_app("/echo", 2, vip)).status == 201);
  REQUIRE(eventually([&] { return c.minuteman->backends(vip).size() == 2; },
                     60s));
  CHECK(c.minuteman->vip(vip).fields().at("protocol").string_value()
        == "udp");
  std::set<std::string> seen;
  REQUIRE(eventually(
    [&] {
      auto who = ask_udp_vip("127.77.0.3", vip_port);
      if (!who.empty())
        seen.insert(who);
      return seen == c.minuteman->backends(vip);
    },
    60s));
  CHECK(c.minuteman->vip(vip).fields().at("listening").bool_value());
  // One instance killed: once Minuteman knows, every new flow is answered
  // by the one left (or, after Marathon replaces it, by its successor).
  auto victim = *seen.begin();
  auto events = c.minuteman->events();
  REQUIRE(curl({"-X", "DELETE",
                c.marathon->url("/v2/apps/echo/tasks/" + victim)})
            .status
          == 200);
  REQUIRE(eventually(
    [&] { return c.minuteman->backends(vip).count(victim) == 0; }, 60s));
  for (int i = 0; i < 20; ++i) {
    auto who = ask_udp_vip("127.77.0.3", vip_port);
    CHECK(!who.empty());
    CHECK(who != victim);
  }
  // The event stream told of it.
  bool removed = false;
  std::string type;
  while (!removed) {
    auto line = events.read_line(10s);
    if (!line)
      break;
    if (line->rfind("event: ", 0) == 0)
      type = line->substr(7);
    else if (type == "backend_removed")
      removed = line->find(victim) != std::string::npos;
  }
  CHECK(removed);
  events.kill(SIGTERM);
  exit_status_within(events, 10s);
}

TEST_CASE("a malformed VIP label is reported and ignored; the app and other "
          "VIPs are unaffected") {
  vip_cluster c{{"--vip_interface="}};
  auto good = fmt::format("127.77.0.2:{}", free_port());
  auto events = c.minuteman->events();
  REQUIRE(c.post_app(web_app("/bad", 1, "/web:http")).status == 201);
  REQUIRE(c.post_app(web_app("/good", 1, good)).status == 201);
  REQUIRE(eventually(
    [&] {
      auto r = curl({c.minuteman->url("/v1/errors")});
      return r.body.find("/web:http") != std::string::npos;
    },
    60s));
  auto errors = curl({c.minuteman->url("/v1/errors")});
  CHECK(errors.body.find("port 'http' is not a number") != std::string::npos);
  REQUIRE(eventually([&] { return c.minuteman->backends(good).size() == 1; },
                     60s));
  CHECK(eventually([&] { return !ask_vip(good).empty(); }, 30s));
  auto one = curl({c.minuteman->url("/v1/vips/" + good)});
  CHECK(one.status == 200);
  auto none = curl({c.minuteman->url("/v1/vips/127.9.9.9:1")});
  CHECK(none.status == 404);
  CHECK(none.body.find("127.9.9.9:1") != std::string::npos);
  // The stream told of the malformed label, the good VIP and its backend.
  std::map<std::string, std::string> told; // event type -> its data
  std::string type;
  while (told.count("vip_label_error") + told.count("vip_added")
           + told.count("backend_added")
         < 3) {
    auto line = events.read_line(10s);
    if (!line)
      break;
    if (line->rfind("event: ", 0) == 0)
      type = line->substr(7);
    else if (line->rfind("data: ", 0) == 0)
      told[type] = line->substr(6);
  }
  CHECK(told["vip_label_error"].find("/web:http") != std::string::npos);
  CHECK(told["vip_added"].find(good) != std::string::npos);
  CHECK(told["backend_added"].find(good) != std::string::npos);
  CHECK(told["backend_added"].find("\"state\":\"up\"") != std::string::npos);
  events.kill(SIGTERM);
  exit_status_within(events, 10s);
  // A client that takes only JSON is refused.
  CHECK(curl({"-H", "Accept: application/json",
              c.minuteman->url("/v1/events")})
          .status
        == 406);
}

TEST_CASE("as root: a named VIP on Minuteman's interface, found by name "
          "through dcos-dns") {
  if (::geteuid() != 0) {
    skip("needs root (a network namespace and a dummy interface)");
    return;
  }
  // A network namespace of this test's own: the interface, its addresses
  // and every process started below go away with it.
  REQUIRE(::unshare(CLONE_NEWNET) == 0);
  REQUIRE(run_to_end({"ip", "link", "set", "lo", "up"}).status == 0);
  vip_cluster c{{"--vip_interface=minuteman"}};
  auto dns_port = free_port();
  auto dns = start_serving(
    {binary("DCOS_DNS_BIN"), "--master=" + c.master.address(),
     "--ip=127.0.0.1", fmt::format("--port={}", free_port()),
     "--dns_ip=127.0.0.1", fmt::format("--dns_port={}", dns_port),
     "--external_on=false", "--log_level=warning"},
    c.dir / "dns.log");

  REQUIRE(c.post_app(web_app("/named", 2, "/named:80")).status == 201);
  const std::string name = "named.marathon.l4lb.thisdcos.directory";
  REQUIRE(eventually(
    [&] { return c.minuteman->backends(name + ":80").size() == 2; }, 60s));
  auto vip = c.minuteman->vip(name + ":80");
  auto ip = vip.fields().at("ip").string_value();
  CHECK(ip.rfind("11.", 0) == 0);
  // The address is on the interface (or loopback, where the kernel has no
  // dummy interfaces), and the name resolves to it.
  auto addresses = run_to_end({"ip", "-o", "addr", "show"});
  CHECK(addresses.out.find(ip + "/32") != std::string::npos);
  std::string resolved;
  REQUIRE(eventually(
    [&] {
      auto r = run_to_end({"dig", "+short", "+tries=1", "+time=2",
                           "@127.0.0.1", "-p", std::to_string(dns_port),
                           name, "A"});
      resolved = r.out;
      while (!resolved.empty() && resolved.back() == '\n')
        resolved.pop_back();
      return resolved == ip;
    },
    30s));
  // curl by name (as resolved by dcos-dns) reaches both instances.
  std::set<std::string> seen;
  CHECK(eventually(
    [&] {
      auto who = ask_vip(name, {"--resolve", name + ":80:" + resolved});
      if (!who.empty())
        seen.insert(who);
      return seen.size() == 2;
    },
    30s));
  // The app gone, its VIP and address go too.
  curl({"-X", "DELETE", c.marathon->url("/v2/apps/named")});
  CHECK(eventually(
    [&] {
      return run_to_end({"ip", "-o", "addr", "show"})
               .out.find(ip + "/32")
             == std::string::npos;
    },
    60s));
  dns.terminate(5s);
}

TEST_CASE("as root: a named VIP reached from a container on a network of "
          "its own") {
  if (::geteuid() != 0) {
    skip("needs root (a network namespace, a bridge and containers)");
    return;
  }
  // Everything, the bridge too, in a network namespace of the test's own.
  REQUIRE(::unshare(CLONE_NEWNET) == 0);
  REQUIRE(run_to_end({"ip", "link", "set", "lo", "up"}).status == 0);
  scratch_dir scratch;
  write_file(scratch / "networks.json",
             R"([{"name": "vip-ct", "subnet": "10.233.9.0/24",
                  "bridge": "mmvip-ct"}])");
  vip_cluster c{{"--vip_interface=minuteman"},
                {"--isolation=namespaces/pid,network/bridge",
                 "--networks=" + (scratch / "networks.json")}};
  REQUIRE(c.post_app(web_app("/ct", 2, "/ct:80")).status == 201);
  const std::string name = "ct.marathon.l4lb.thisdcos.directory:80";
  REQUIRE(eventually(
    [&] {
      auto v = c.minuteman->vip(name);
      return c.minuteman->backends(name).size() == 2
             && v.fields().at("listening").bool_value();
    },
    60s));
  auto ip = c.minuteman->vip(name).fields().at("ip").string_value();
  // Both instances answer (TASK_RUNNING comes before the server listens).
  std::set<std::string> seen;
  REQUIRE(eventually(
    [&] {
      auto who = ask_vip(ip);
      if (!who.empty())
        seen.insert(who);
      return seen.size() == 2;
    },
    30s));
  // A task on the bridge network: its packets to the VIP go through the
  // bridge to the host, which owns the address.
  auto probe = run_to_end(
    {binary("DCOS_CLI"), "execute", "--master=" + c.master.address(),
     "--name=probe", "--networks=vip-ct",
     "--command=ip -4 -o addr show; for i in 1 2 3 4 5 6 7 8; do curl -sS "
     "--max-time 5 http://"
       + ip + "/id 2>&1; echo; sleep 0.3; done"},
    90s);
  INFO(probe.out);
  CHECK(probe.status == 0);
  auto log = run_to_end({binary("DCOS_CLI"), "task", "log", "probe",
                         "--master=" + c.master.address()},
                        30s);
  INFO(log.out);
  CHECK(log.out.find("10.233.9.") != std::string::npos); // its own network
  size_t answered = 0;
  for (const auto& id : c.minuteman->backends(name))
    if (log.out.find(id) != std::string::npos)
      ++answered;
  CHECK(answered == 2); // eight requests over 2 s: both instances
  CHECK(log.out.find("curl:") == std::string::npos); // none failed
}
