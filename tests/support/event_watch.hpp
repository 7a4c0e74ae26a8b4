// Follows a master's operator event stream as an outside tool does (curl
// -N into a file, decoded as it grows) and notes when it first saw each task
// reach a state: the reference for how soon a service follows the master.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <doctest/doctest.h>
#include <google/protobuf/util/json_util.h>

#include "dcos/recordio.hpp"
#include "dcos/v1/master.pb.h"
#include "support/files.hpp"
#include "support/processes.hpp"

namespace dcos::test {

class event_watch {
public:
  event_watch(const std::string& master, const std::string& dir)
    : file_(dir + "/events") {
    write_file(dir + "/subscribe", R"({"type": "SUBSCRIBE"})");
    subprocess_options opts;
    opts.argv = {"curl", "-s", "-N", "--max-time", "600", "-o", file_,
                 "-H", "Content-Type: application/json", "--data-binary",
                 "@" + dir + "/subscribe", "http://" + master + "/api/v1"};
    auto p = subprocess::spawn(opts);
    DCOS_REQUIRE_OK(p);
    curl_.emplace(std::move(*p));
    thread_ = std::thread([this] { run(); });
    // Following from here on: what happens next arrives as events.
    REQUIRE(eventually([this] { return subscribed_.load(); }, 20s));
  }

  ~event_watch() {
    stop_ = true;
    thread_.join();
    curl_->kill(SIGTERM);
    exit_status_within(*curl_, 10s);
  }

  /// When a task named `name`, or the task whose id is `name`, first
  /// reached `state`.
  std::optional<std::chrono::steady_clock::time_point>
  seen(const std::string& name, v1::TaskState state) {
    std::lock_guard<std::mutex> guard{mutex_};
    auto it = seen_.find(name + "/" + std::to_string(state));
    if (it == seen_.end())
      return std::nullopt;
    return it->second;
  }

private:
  void run() {
    recordio::decoder decoder;
    size_t offset = 0;
    std::map<std::string, std::string> names; // task id -> name
    while (!stop_) {
      auto text = read_file(file_);
      if (text.size() > offset) {
        auto records = decoder.decode(text.substr(offset));
        offset = text.size();
        auto now = std::chrono::steady_clock::now();
        if (records)
          for (const auto& record : *records) {
            v1::master::Event e;
            if (!google::protobuf::util::JsonStringToMessage(record, &e).ok())
              continue;
            std::lock_guard<std::mutex> guard{mutex_};
            if (e.type() == v1::master::Event::SUBSCRIBED)
              subscribed_ = true;
            if (e.type() == v1::master::Event::TASK_ADDED)
              names[e.task_added().task().task_id().value()]
                = e.task_added().task().name();
            if (e.type() == v1::master::Event::TASK_UPDATED) {
              const auto& id = e.task_updated().status().task_id().value();
              auto state = std::to_string(e.task_updated().state());
              seen_.emplace(names[id] + "/" + state, now);
              seen_.emplace(id + "/" + state, now);
            }
          }
      }
      std::this_thread::sleep_for(1ms);
    }
  }

  std::string file_;
  std::optional<subprocess> curl_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> subscribed_{false};
  std::mutex mutex_;
  std::map<std::string, std::chrono::steady_clock::time_point> seen_;
};

} // namespace dcos::test
