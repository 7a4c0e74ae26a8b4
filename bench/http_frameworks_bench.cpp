// A thousand HTTP frameworks at once (issue #15): a real dcos-master and
// real dcos-agents on loopback, and N frameworks in this process that speak
// the v1 scheduler API over sockets as any HTTP framework does (protobuf
// bodies): SUBSCRIBE on one connection, whose chunked RecordIO stream they
// read, and DECLINE of every offer (refused for a few seconds, so that offers
// go round all of them) on a second, keep-alive connection.
//
// Figures (one JSON line each):
//  - "subscribe": time until every framework had its SUBSCRIBED event.
//  - "health": latency p50/p99/max of GET /health (answered by the HTTP
//    edge) and of the operator call GET_HEALTH (through the master actor),
//    a new connection each as a monitor probes, with the master alone and
//    while the frameworks run; offers and declines per second meanwhile,
//    and how many frameworks were offered something.
//  - "memory": the master's resident memory alone and with the frameworks
//    subscribed, and the difference per framework.
//
//   http_frameworks_bench [--frameworks=1000] [--agents=10] [--seconds=20]
//                         [--refuse_seconds=5] [--dir=/tmp]
//
// The daemons are found through DCOS_MASTER_BIN / DCOS_AGENT_BIN or next to
// this binary's directory (build/bench/../).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "daemons.hpp"
#include "dcos/flags.hpp"
#include "dcos/recordio.hpp"
#include "dcos/v1/scheduler.pb.h"

using namespace dcos;
using namespace dcos::bench;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using v1::scheduler::Call;
using v1::scheduler::Event;

namespace {

constexpr const char* protobuf_type = "application/x-protobuf";

struct totals {
  std::atomic<int> subscribed{0};
  std::atomic<int> failed{0};
  std::atomic<uint64_t> offers{0};
  std::atomic<uint64_t> declines{0};
  std::atomic<int> offered_frameworks{0};
};

// One framework: its event stream and its call connection, both driven by
// the shared io_context (one thread for all of them).
class framework : public std::enable_shared_from_this<framework> {
public:
  framework(asio::io_context& io, tcp::endpoint master, int index,
            double refuse_seconds, totals& t)
    : stream_(io), calls_(io), master_(master), index_(index),
      refuse_seconds_(refuse_seconds), t_(t) {
  }

  void start() {
    auto self = shared_from_this();
    stream_.async_connect(master_, [self](beast::error_code ec) {
      if (ec)
        return self->fail("connect", ec);
      self->subscribe();
    });
  }

private:
  void fail(const char* what, beast::error_code ec) {
    if (failed_)
      return;
    failed_ = true;
    if (t_.failed++ < 5)
      std::fprintf(stderr, "framework %d: %s: %s\n", index_, what,
                   ec.message().c_str());
  }

  void subscribe() {
    Call call;
    call.set_type(Call::SUBSCRIBE);
    auto* info = call.mutable_subscribe()->mutable_framework_info();
    info->set_user("root");
    info->set_name(fmt::format("bench-{}", index_));
    request_ = std::make_shared<http::request<http::string_body>>(
      http::verb::post, "/api/v1/scheduler", 11);
    request_->set(http::field::host, "127.0.0.1");
    request_->set(http::field::content_type, protobuf_type);
    request_->set(http::field::accept, protobuf_type);
    request_->body() = call.SerializeAsString();
    request_->prepare_payload();
    auto self = shared_from_this();
    http::async_write(stream_, *request_,
                      [self](beast::error_code ec, size_t) {
                        if (ec)
                          return self->fail("subscribe", ec);
                        self->read_header();
                      });
  }

  void read_header() {
    parser_.emplace();
    parser_->body_limit(boost::none);
    on_chunk_ = [this](uint64_t, beast::string_view body,
                       beast::error_code& ec) -> size_t {
      ec = {};
      on_bytes(std::string_view{body.data(), body.size()});
      return body.size();
    };
    parser_->on_chunk_body(on_chunk_);
    auto self = shared_from_this();
    http::async_read_header(
      stream_, buffer_, *parser_, [self](beast::error_code ec, size_t) {
        if (ec)
          return self->fail("subscribe answer", ec);
        const auto& head = self->parser_->get();
        if (head.result_int() != 200)
          return self->fail("subscribe refused",
                            beast::error_code{EPROTO,
                                              beast::generic_category()});
        self->stream_id_ = std::string(head["Mesos-Stream-Id"]);
        self->read_body();
      });
  }

  void read_body() {
    auto self = shared_from_this();
    // Never completes while the stream lasts: the chunks reach on_bytes.
    http::async_read(stream_, buffer_, *parser_,
                     [self](beast::error_code ec, size_t) {
                       self->fail("stream ended", ec);
                     });
  }

  void on_bytes(std::string_view bytes) {
    auto records = decoder_.decode(bytes);
    if (!records)
      return fail("recordio", beast::error_code{EPROTO,
                                                beast::generic_category()});
    for (const auto& record : *records) {
      Event event;
      if (!event.ParseFromString(record))
        return fail("event", beast::error_code{EPROTO,
                                               beast::generic_category()});
      if (event.type() == Event::SUBSCRIBED) {
        framework_id_ = event.subscribed().framework_id().value();
        ++t_.subscribed;
        connect_calls();
      } else if (event.type() == Event::OFFERS) {
        if (!offered_) {
          offered_ = true;
          ++t_.offered_frameworks;
        }
        Call decline;
        decline.set_type(Call::DECLINE);
        decline.mutable_framework_id()->set_value(framework_id_);
        for (const auto& offer : event.offers().offers()) {
          ++t_.offers;
          *decline.mutable_decline()->add_offer_ids() = offer.id();
        }
        decline.mutable_decline()->mutable_filters()->set_refuse_seconds(
          refuse_seconds_);
        pending_.push_back(decline.SerializeAsString());
        send_next();
      }
    }
  }

  void connect_calls() {
    auto self = shared_from_this();
    calls_.async_connect(master_, [self](beast::error_code ec) {
      if (ec)
        return self->fail("connect calls", ec);
      self->calls_ready_ = true;
      self->send_next();
    });
  }

  void send_next() {
    if (!calls_ready_ || sending_ || pending_.empty())
      return;
    sending_ = true;
    call_ = std::make_shared<http::request<http::string_body>>(
      http::verb::post, "/api/v1/scheduler", 11);
    call_->set(http::field::host, "127.0.0.1");
    call_->set(http::field::content_type, protobuf_type);
    call_->set("Mesos-Stream-Id", stream_id_);
    call_->keep_alive(true);
    call_->body() = std::move(pending_.front());
    pending_.pop_front();
    call_->prepare_payload();
    auto self = shared_from_this();
    http::async_write(calls_, *call_, [self](beast::error_code ec, size_t) {
      if (ec)
        return self->fail("call", ec);
      self->answer_ = std::make_shared<http::response<http::string_body>>();
      http::async_read(self->calls_, self->call_buffer_, *self->answer_,
                       [self](beast::error_code ec, size_t) {
                         if (ec)
                           return self->fail("call answer", ec);
                         if (self->answer_->result_int() != 202)
                           return self->fail(
                             "call refused",
                             beast::error_code{EPROTO,
                                               beast::generic_category()});
                         ++self->t_.declines;
                         self->sending_ = false;
                         self->send_next();
                       });
    });
  }

  tcp::socket stream_;
  tcp::socket calls_;
  tcp::endpoint master_;
  int index_;
  double refuse_seconds_;
  totals& t_;
  bool failed_ = false;
  bool offered_ = false;
  std::shared_ptr<http::request<http::string_body>> request_;
  std::optional<http::response_parser<http::empty_body>> parser_;
  // The parser keeps a reference to it.
  std::function<size_t(uint64_t, beast::string_view, beast::error_code&)>
    on_chunk_;
  beast::flat_buffer buffer_;
  recordio::decoder decoder_;
  std::string stream_id_;
  std::string framework_id_;
  bool calls_ready_ = false;
  bool sending_ = false;
  std::deque<std::string> pending_;
  std::shared_ptr<http::request<http::string_body>> call_;
  std::shared_ptr<http::response<http::string_body>> answer_;
  beast::flat_buffer call_buffer_;
};

using steady = std::chrono::steady_clock;

struct latency {
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  size_t samples = 0;
  size_t failures = 0;
};

// GET /health (answered by the HTTP edge) or, with `through_master`, the
// operator call GET_HEALTH (a round trip through the master actor), every
// `every` for `length`, a new connection each time.
latency probe_health(uint16_t port, bool through_master,
                     std::chrono::milliseconds length,
                     std::chrono::milliseconds every) {
  http_call call;
  call.host = "127.0.0.1";
  call.port = port;
  call.target = "/health";
  if (through_master) {
    call.method = "POST";
    call.target = "/api/v1";
    call.content_type = "application/json";
    call.headers = {{"Accept", "application/json"}};
    call.body = R"({"type": "GET_HEALTH"})";
  }
  call.timeout = std::chrono::seconds(30);
  std::vector<double> ms;
  latency out;
  auto until = steady::now() + length;
  while (steady::now() < until) {
    auto begin = steady::now();
    auto reply = http_fetch(call);
    auto took = std::chrono::duration<double, std::milli>(steady::now() - begin)
                  .count();
    if (!reply || reply->status != 200)
      ++out.failures;
    else
      ms.push_back(took);
    std::this_thread::sleep_until(begin + every);
  }
  if (ms.empty())
    return out;
  std::sort(ms.begin(), ms.end());
  out.samples = ms.size();
  out.p50_ms = ms[ms.size() / 2];
  out.p99_ms = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  out.max_ms = ms.back();
  return out;
}

std::string latency_json(const latency& l) {
  return fmt::format(R"({{"p50_ms": {:.2f}, "p99_ms": {:.2f}, "max_ms": {:.2f}, "samples": {}, "failures": {}}})",
                     l.p50_ms, l.p99_ms, l.max_ms, l.samples, l.failures);
}

} // namespace

int main(int argc, char** argv) {
  int frameworks = 1000;
  int agents = 10;
  int seconds = 20;
  double refuse_seconds = 5;
  std::string parent = "/tmp";
  flags f{"http_frameworks_bench [flags]",
          "Many HTTP frameworks on one master: /health latency and the "
          "master's memory."};
  f.add(&frameworks, "frameworks", "HTTP frameworks to subscribe");
  f.add(&agents, "agents", "dcos-agent processes offering resources");
  f.add(&seconds, "seconds", "how long to probe /health under load");
  f.add(&refuse_seconds, "refuse_seconds", "the frameworks' decline filter");
  f.add(&parent, "dir", "where the scratch directory goes");
  parse_or_exit(f, argc, argv);
  auto dir = fs::path(parent) / fmt::format("http_frameworks_bench.{}", getpid());
  fs::create_directories(dir);
  auto [master, port] = start_master((dir / "master.log").string());
  std::vector<subprocess> agent_processes;
  for (int i = 0; i < agents; ++i) {
    auto [a, ap] = start_daemon(
      {daemon_path("DCOS_AGENT_BIN", "dcos-agent"),
       fmt::format("--master=127.0.0.1:{}", port), "--ip=127.0.0.1",
       "--port=0", "--log_level=warning",
       "--work_dir=" + (dir / fmt::format("agent-{}", i)).string(),
       "--resources=cpus:16;mem:16384;disk:10000"},
      (dir / fmt::format("agent-{}.log", i)).string());
    agent_processes.push_back(std::move(a));
  }
  auto deadline = steady::now() + 60s;
  while (metric(port, "master/slaves_active") < agents) {
    if (steady::now() > deadline)
      die("the agents did not register; see " + dir.string());
    std::this_thread::sleep_for(100ms);
  }
  auto master_pid = master.pid();
  auto alone = probe_health(port, false, 5s, 10ms);
  auto alone_api = probe_health(port, true, 5s, 10ms);
  auto rss_alone = measure("", "", master_pid).rss_kib;

  totals t;
  asio::io_context io;
  tcp::endpoint endpoint{asio::ip::make_address("127.0.0.1"), port};
  std::vector<std::shared_ptr<framework>> clients;
  auto begin = steady::now();
  for (int i = 0; i < frameworks; ++i) {
    clients.push_back(
      std::make_shared<framework>(io, endpoint, i, refuse_seconds, t));
    clients.back()->start();
  }
  std::thread io_thread{[&io] { io.run(); }};
  deadline = steady::now() + 120s;
  while (t.subscribed + t.failed < frameworks && steady::now() < deadline)
    std::this_thread::sleep_for(10ms);
  auto subscribe_s
    = std::chrono::duration<double>(steady::now() - begin).count();
  std::printf(R"({"bench": "http_frameworks", "phase": "subscribe", "frameworks": %d, "subscribed": %d, "failed": %d, "seconds": %.2f})"
              "\n",
              frameworks, t.subscribed.load(), t.failed.load(), subscribe_s);
  std::fflush(stdout);

  auto offers_before = t.offers.load();
  auto declines_before = t.declines.load();
  auto loaded = probe_health(port, false, std::chrono::seconds(seconds), 10ms);
  auto loaded_api
    = probe_health(port, true, std::chrono::seconds(seconds), 10ms);
  auto offers = t.offers.load() - offers_before;
  auto declines = t.declines.load() - declines_before;
  auto probed = 2.0 * seconds;
  auto rss_loaded = measure("", "", master_pid).rss_kib;
  std::printf(R"({"bench": "http_frameworks", "phase": "health", "frameworks": %d, "agents": %d, "health_alone": %s, "health_loaded": %s, "get_health_alone": %s, "get_health_loaded": %s, "offers_per_s": %.0f, "declines_per_s": %.0f, "frameworks_offered": %d})"
              "\n",
              t.subscribed.load(), agents, latency_json(alone).c_str(),
              latency_json(loaded).c_str(), latency_json(alone_api).c_str(),
              latency_json(loaded_api).c_str(), offers / probed,
              declines / probed, t.offered_frameworks.load());
  std::printf(R"({"bench": "http_frameworks", "phase": "memory", "master_rss_alone_kib": %ld, "master_rss_loaded_kib": %ld, "kib_per_framework": %.1f})"
              "\n",
              rss_alone, rss_loaded,
              (rss_loaded - rss_alone) / double(std::max(1, t.subscribed.load())));
  std::fflush(stdout);

  io.stop();
  io_thread.join();
  clients.clear();
  for (auto& a : agent_processes)
    a.terminate();
  master.terminate();
  std::error_code ec;
  fs::remove_all(dir, ec);
  return t.failed > 0 ? 1 : 0;
}
