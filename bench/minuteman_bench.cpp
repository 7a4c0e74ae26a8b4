// Minuteman's data plane against HAProxy in TCP mode (issue #19): both in
// front of the same backend (a small HTTP server of the bench's own), each
// proxy pinned to core 0 with one thread; wrk, on core 1 with the backend,
// drives each in turn, in --rounds rounds of alternating order, in one run:
//  - keep-alive: requests per second over --connections open connections;
//  - new connection per request ("Connection: close"): requests, and so
//    connections, per second;
//  - bulk: 16 MiB answers over two connections, MiB per second, through
//    each and through a Minuteman proxy with --splice (the figures that
//    say whether splice pays).
// Each run also reports core 0's busy fraction and its busy microseconds
// per request: the proxy's cost, which is what differs when wrk's core is
// the one that is full.
// Minuteman's side is its real proxy (vip_proxy: two choices, peak-EWMA,
// the pumps) serving one VIP on loopback with the backend as its only
// backend.
//
//   minuteman_bench [--seconds=10] [--connections=32] [--rounds=3]
//
// Needs wrk and haproxy (Debian packages of those names); says so and exits
// 0 without figures when they are missing.
#include <sched.h>
#include <unistd.h>

#include <utility>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/flags.hpp"
#include "dcos/subprocess.hpp"
#include "host_tools.hpp"
#include "vip_proxy.hpp"

using namespace dcos;
using namespace dcos::bench;
using namespace dcos::minuteman;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

uint16_t free_port() {
  asio::io_context io;
  tcp::acceptor a{io, tcp::endpoint{asio::ip::address_v4::loopback(), 0}};
  return a.local_endpoint().port();
}

// GET /bulk's answer: a 16 MiB body.
const std::string& bulk_response() {
  static const std::string r = [] {
    constexpr size_t size = 16u << 20;
    return fmt::format("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                       size)
           + std::string(size, 'x');
  }();
  return r;
}

// The backend: answers every request with a 2-byte body (GET /bulk: 16
// MiB); closes after the answer when the request asked to ("Connection:
// close").
class http_backend {
public:
  http_backend() : acceptor_(io_, {asio::ip::address_v4::loopback(), 0}) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }

  ~http_backend() {
    io_.stop();
    thread_.join();
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }

private:
  struct conn : std::enable_shared_from_this<conn> {
    explicit conn(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    std::string in;
    std::array<char, 8192> buf;

    void read() {
      socket.async_read_some(
        asio::buffer(buf), [self = shared_from_this()](auto ec, size_t n) {
          if (ec)
            return;
          self->in.append(self->buf.data(), n);
          self->answer();
        });
    }

    void answer() {
      auto end = in.find("\r\n\r\n");
      if (end == std::string::npos) {
        read();
        return;
      }
      bool close = in.find("Connection: close") < end;
      bool bulk = in.rfind("GET /bulk", 0) == 0;
      in.erase(0, end + 4);
      if (bulk) {
        asio::async_write(socket, asio::buffer(bulk_response()),
                          [self = shared_from_this()](auto ec, size_t) {
                            if (!ec)
                              self->answer();
                          });
        return;
      }
      static const std::string keep
        = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
      static const std::string last = "HTTP/1.1 200 OK\r\nContent-Length: "
                                      "2\r\nConnection: close\r\n\r\nok";
      asio::async_write(socket, asio::buffer(close ? last : keep),
                        [self = shared_from_this(), close](auto ec, size_t) {
                          if (ec)
                            return;
                          if (close) {
                            boost::system::error_code ignored;
                            self->socket.shutdown(tcp::socket::shutdown_both,
                                                  ignored);
                            return;
                          }
                          self->answer();
                        });
    }
  };

  void accept() {
    acceptor_.async_accept([this](auto ec, tcp::socket s) {
      if (!ec) {
        s.set_option(tcp::no_delay{true});
        std::make_shared<conn>(std::move(s))->read();
      }
      accept();
    });
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

struct wrk_result {
  double rps = 0;
  long requests = 0;
  long errors = 0; // socket errors and non-2xx answers
  // Core 0 (the proxy's) busy, as a fraction of the run, and its busy time
  // per request in microseconds: when wrk's core is the one that is full,
  // throughput is the same for both proxies and this is what differs.
  double core0_busy = 0;
  double core0_us_per_request = 0;
  double mib_per_s = 0; // wrk's Transfer/sec
};

// Core 0's busy and total jiffies from /proc/stat (busy: all but idle and
// iowait).
std::pair<double, double> core0_jiffies() {
  std::ifstream in{"/proc/stat"};
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("cpu0 ", 0) != 0)
      continue;
    std::istringstream fields{line.substr(5)};
    double v, total = 0, idle = 0;
    for (int i = 0; fields >> v; ++i) {
      if (i >= 8)
        break; // guest time is counted in user already
      total += v;
      if (i == 3 || i == 4)
        idle += v;
    }
    return {total - idle, total};
  }
  return {0, 0};
}

wrk_result wrk(uint16_t port, int seconds, int connections, bool close,
               const std::string& path = "/") {
  subprocess_options opts;
  opts.argv = {"taskset", "-c", "1", "wrk", "-t1",
               "-c" + std::to_string(connections),
               "-d" + std::to_string(seconds) + "s"};
  if (close)
    opts.argv.insert(opts.argv.end(), {"-H", "Connection: close"});
  opts.argv.push_back(fmt::format("http://127.0.0.1:{}{}", port, path));
  opts.capture_stdout = true;
  opts.stderr_path = "/dev/null";
  auto before = core0_jiffies();
  auto p = subprocess::spawn(opts);
  wrk_result r;
  if (!p)
    return r;
  auto out = p->read_all(std::chrono::seconds(seconds + 30));
  p->wait();
  auto after = core0_jiffies();
  if (!out)
    return r;
  std::smatch m;
  if (std::regex_search(*out, m, std::regex(R"(Requests/sec:\s+([0-9.]+))")))
    r.rps = std::stod(m[1]);
  if (std::regex_search(*out, m, std::regex(R"(([0-9]+) requests in)")))
    r.requests = std::stol(m[1]);
  if (std::regex_search(*out, m,
                        std::regex(R"(Socket errors: connect ([0-9]+), read )"
                                   R"(([0-9]+), write ([0-9]+), timeout )"
                                   R"(([0-9]+))")))
    r.errors += std::stol(m[1]) + std::stol(m[2]) + std::stol(m[3])
                + std::stol(m[4]);
  if (std::regex_search(*out, m,
                        std::regex(R"(Non-2xx or 3xx responses:\s+([0-9]+))")))
    r.errors += std::stol(m[1]);
  if (std::regex_search(*out, m,
                        std::regex(R"(Transfer/sec:\s+([0-9.]+)([KMG]?)B)"))) {
    double scale = m[2] == "G" ? 1024 : m[2] == "M" ? 1 : m[2] == "K"
                                                           ? 1.0 / 1024
                                                           : 1.0 / (1 << 20);
    r.mib_per_s = std::stod(m[1]) * scale;
  }
  double busy = after.first - before.first, total = after.second - before.second;
  if (total > 0)
    r.core0_busy = busy / total;
  if (r.requests > 0)
    r.core0_us_per_request
      = busy / static_cast<double>(::sysconf(_SC_CLK_TCK)) * 1e6
        / static_cast<double>(r.requests);
  return r;
}

void print(const char* proxy, const char* load, const wrk_result& r) {
  std::printf("{\"proxy\": \"%s\", \"load\": \"%s\", \"requests_per_s\": "
              "%.0f, \"requests\": %ld, \"errors\": %ld, \"core0_busy\": "
              "%.2f, \"core0_us_per_request\": %.2f, \"mib_per_s\": %.0f}\n",
              proxy, load, r.rps, r.requests, r.errors, r.core0_busy,
              r.core0_us_per_request, r.mib_per_s);
  std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
  int seconds = 10;
  int connections = 32;
  flags f{"minuteman_bench [flags]",
          "Minuteman's proxy against HAProxy (TCP mode), with wrk"};
  f.add(&seconds, "seconds", "seconds wrk drives each proxy, per load");
  f.add(&connections, "connections", "wrk's open connections");
  int rounds = 3;
  f.add(&rounds, "rounds", "rounds of both loads on both proxies");
  parse_or_exit(f, argc, argv);
  if (!have("wrk") || !have("haproxy") || !have("taskset")) {
    std::printf("{\"skipped\": \"needs wrk, haproxy and taskset "
                "(apt-get install wrk haproxy util-linux)\"}\n");
    return 0;
  }
  if (std::thread::hardware_concurrency() < 2) {
    std::printf("{\"skipped\": \"needs two cores\"}\n");
    return 0;
  }
  char dir_template[] = "/tmp/minuteman-bench-XXXXXX";
  std::string dir = ::mkdtemp(dir_template);

  // The backend on core 1 (its thread inherits this affinity), with wrk.
  pin_to(1);
  http_backend backend;

  // Minuteman's proxy on core 0 as the daemon runs it (no splice), one VIP
  // on loopback; a second one that splices, for the bulk load's
  // comparison.
  auto start_minuteman = [&](bool splice)
    -> std::pair<std::unique_ptr<vip_proxy>, uint16_t> {
    pin_to(0);
    proxy_options popts;
    popts.threads = 1;
    popts.splice = splice;
    auto proxy = vip_proxy::start(popts, nullptr);
    pin_to(1);
    if (!proxy) {
      std::fprintf(stderr, "cannot start the proxy: %s\n",
                   describe_reason(proxy.error()).c_str());
      std::exit(1);
    }
    auto table = std::make_shared<vip_table>();
    vip_entry vip;
    vip.protocol = "tcp";
    vip.ip = "127.0.0.1";
    vip.port = free_port();
    vip_backend b;
    b.ip = "127.0.0.1";
    b.port = backend.port();
    vip.backends.push_back(b);
    table->vips.push_back(vip);
    (*proxy)->publish(table);
    while ((*proxy)->applied() == 0)
      std::this_thread::sleep_for(1ms);
    return {std::move(*proxy), vip.port};
  };
  auto [proxy, vip_port] = start_minuteman(false);
  auto [splicing_proxy, splicing_port] = start_minuteman(true);

  // HAProxy, TCP mode, one thread on core 0.
  auto haproxy_port = free_port();
  {
    std::ofstream conf{dir + "/haproxy.cfg"};
    conf << fmt::format(
      "global\n  nbthread 1\n  maxconn 8000\n"
      "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n"
      "  timeout server 60s\n"
      "frontend vip\n  bind 127.0.0.1:{}\n  default_backend tasks\n"
      "backend tasks\n  server t1 127.0.0.1:{}\n",
      haproxy_port, backend.port());
  }
  subprocess_options hopts;
  hopts.argv = {"taskset", "-c", "0", "haproxy", "-db", "-f",
                dir + "/haproxy.cfg"};
  hopts.stdout_path = dir + "/haproxy.log";
  hopts.stderr_path = dir + "/haproxy.log";
  auto haproxy = subprocess::spawn(hopts);
  if (!haproxy) {
    std::fprintf(stderr, "cannot start haproxy\n");
    return 1;
  }
  std::this_thread::sleep_for(1s); // its socket is up well before this

  // Rounds in alternating order, so that neither always runs on a machine
  // the other has just warmed; the median round of each is the figure.
  struct side {
    const char* name;
    uint16_t port;
    bool request_loads; // keep-alive and new-connection: not for the splicer
    std::vector<double> keep_alive, new_connection, bulk;
    std::vector<double> keep_alive_us, new_connection_us; // core 0 per request
    std::vector<double> bulk_us;                          // core 0 per MiB
  };
  side sides[] = {{"minuteman", vip_port, true},
                  {"haproxy", haproxy_port, true},
                  {"minuteman-splice", splicing_port, false}};
  for (int round = 0; round < rounds; ++round) {
    for (int k = 0; k < 3; ++k) {
      auto& sd = sides[(round + k) % 3];
      // Bulk: 16 MiB answers over two connections; MiB/s, and core 0's
      // time per MiB.
      auto bulk = wrk(sd.port, seconds, 2, false, "/bulk");
      print(sd.name, "bulk", bulk);
      sd.bulk.push_back(bulk.mib_per_s);
      sd.bulk_us.push_back(bulk.core0_us_per_request / 16);
      if (!sd.request_loads)
        continue;
      auto keep = wrk(sd.port, seconds, connections, false);
      print(sd.name, "keep-alive", keep);
      sd.keep_alive.push_back(keep.rps);
      sd.keep_alive_us.push_back(keep.core0_us_per_request);
      auto fresh = wrk(sd.port, seconds, connections, true);
      print(sd.name, "new-connection", fresh);
      sd.new_connection.push_back(fresh.rps);
      sd.new_connection_us.push_back(fresh.core0_us_per_request);
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  for (auto& sd : sides)
    if (sd.request_loads)
      std::printf("{\"proxy\": \"%s\", \"median_keep_alive_per_s\": %.0f, "
                  "\"median_new_connections_per_s\": %.0f, "
                  "\"median_keep_alive_core0_us\": %.2f, "
                  "\"median_new_connection_core0_us\": %.2f, "
                  "\"median_bulk_mib_per_s\": %.0f, "
                  "\"median_bulk_core0_us_per_mib\": %.1f, \"rounds\": %d}\n",
                  sd.name, median(sd.keep_alive), median(sd.new_connection),
                  median(sd.keep_alive_us), median(sd.new_connection_us),
                  median(sd.bulk), median(sd.bulk_us), rounds);
    else
      std::printf("{\"proxy\": \"%s\", \"median_bulk_mib_per_s\": %.0f, "
                  "\"median_bulk_core0_us_per_mib\": %.1f, \"rounds\": %d}\n",
                  sd.name, median(sd.bulk), median(sd.bulk_us), rounds);
  proxy->stop();
  splicing_proxy->stop();
  haproxy->terminate(5s);
  std::filesystem::remove_all(dir);
  return 0;
}
