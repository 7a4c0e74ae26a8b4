// Durability: the journal's framing, group commit, recovery and compaction.
#include "journal.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "agent_state.hpp"
#include "dcos/error.hpp"

namespace dcos::kernel {

namespace {

constexpr const char* journal_key = "journal";
// Compact once the journal has grown past its last snapshot by twice that
// snapshot, and by this much at least: what a recovery replays in vain stays
// proportional to the state (an agent with few tasks keeps a small journal,
// even after a million short ones), and a big agent does not rewrite its
// snapshot at every flush.
constexpr uint64_t min_compaction_growth = 256 * 1024;

uint32_t fnv1a(const char* data, size_t size) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < size; ++i) {
    h ^= static_cast<uint8_t>(data[i]);
    h *= 16777619u;
  }
  return h;
}

void set_u32(char* p, uint32_t x) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<char>((x >> (8 * i)) & 0xff);
}

uint32_t get_u32(const char* p) {
  uint32_t x = 0;
  for (int i = 0; i < 4; ++i)
    x |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return x;
}

} // namespace

void encode_record(const v1::internal::JournalRecord& rec, std::string& out) {
  // Serialized in place, behind its header: no temporary copy.
  auto size = rec.ByteSizeLong();
  auto at = out.size();
  out.resize(at + 8 + size);
  auto* record = out.data() + at;
  rec.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(record + 8));
  set_u32(record, static_cast<uint32_t>(size));
  set_u32(record + 4, fnv1a(record + 8, size));
}

std::vector<v1::internal::JournalRecord> decode_records(const std::string& bytes,
                                                        size_t* valid) {
  std::vector<v1::internal::JournalRecord> out;
  size_t at = 0;
  while (at + 8 <= bytes.size()) {
    auto size = get_u32(bytes.data() + at);
    auto sum = get_u32(bytes.data() + at + 4);
    if (at + 8 + size > bytes.size()
        || fnv1a(bytes.data() + at + 8, size) != sum)
      break;
    v1::internal::JournalRecord rec;
    if (!rec.ParseFromArray(bytes.data() + at + 8, static_cast<int>(size)))
      break;
    out.push_back(std::move(rec));
    at += 8 + size;
  }
  if (valid != nullptr)
    *valid = at;
  return out;
}

// -- group commit ------------------------------------------------------------------

void agent_state::record(const v1::internal::JournalRecord& rec,
                         std::function<void()> then) {
  encode_record(rec, journal_pending);
  ++metrics.journal_records;
  if (then)
    after_flush.push_back(std::move(then));
  // Everything recorded while handling the messages now in the mailbox
  // goes out in one append (one fsync).
  if (!flush_queued) {
    flush_queued = true;
    self->send(self, flush_atom::value);
  }
}

void agent_state::flush() {
  flush_queued = false;
  if (flushing || journal_pending.empty())
    return; // the running flush takes care of the rest
  flushing = true;
  auto bytes = std::move(journal_pending);
  journal_pending.clear();
  in_flush = std::move(after_flush);
  after_flush.clear();
  auto size = bytes.size();
  self->request(cfg.store, caf::infinite, append_atom::value,
                std::string{journal_key}, std::move(bytes))
    .then(
      [this, size](ok_atom) {
        flushing = false;
        ++metrics.journal_flushes;
        journal_live_bytes += size;
        auto callbacks = std::move(in_flush);
        in_flush.clear();
        for (auto& f : callbacks)
          f();
        if (!journal_pending.empty())
          flush();
        else if (journal_live_bytes - journal_snapshot_bytes
                 > std::max(min_compaction_growth, 2 * journal_snapshot_bytes))
          compact();
      },
      [this](caf::error& err) {
        // Acting on state we cannot make durable would break recovery.
        log->critical("cannot write the journal: {}", describe(err));
        self->quit(err);
      });
}

// -- recovery ----------------------------------------------------------------------

void agent_state::recover() {
  load_or_empty(
    self, cfg.store, std::string{journal_key},
    [this](const std::string& bytes) { recovered_from(bytes); },
    [this](const caf::error& err) {
      log->critical("cannot read the journal: {}", describe(err));
      self->quit(err);
    });
}

void agent_state::replay(const v1::internal::JournalRecord& rec) {
  using R = v1::internal::JournalRecord;
  switch (rec.record_case()) {
    case R::kAgent:
      info.mutable_id()->CopyFrom(rec.agent().id());
      break;
    case R::kResources:
      if (auto r = resources::from_proto(rec.resources().resources()))
        total = std::move(*r);
      break;
    case R::kFramework:
      frameworks[rec.framework().id().value()].info = rec.framework();
      break;
    case R::kFrameworkGone:
      frameworks.erase(rec.framework_gone().value());
      break;
    case R::kExecutor: {
      const auto& x = rec.executor();
      auto& e = frameworks[x.framework_id().value()]
                  .executors[x.info().executor_id().value()];
      e.info = x.info();
      e.framework_id = x.framework_id().value();
      e.container_id = x.container_id().value();
      e.sandbox = x.sandbox();
      e.pid = x.pid();
      e.command_executor = x.command_executor();
      e.state = executor_record::phase::registering;
      break;
    }
    case R::kTask: {
      const auto& x = rec.task();
      auto& e = frameworks[x.framework_id().value()]
                  .executors[x.executor_id().value()];
      auto& t = e.tasks[x.task().task_id().value()];
      t.info = x.task();
      if (x.has_last_status()) {
        t.state = x.last_status().state();
        t.durable_state = t.state;
        t.last_status = x.last_status();
      }
      break;
    }
    case R::kUpdate: {
      const auto& u = rec.update();
      const auto& task_id = u.status().task_id().value();
      auto& s = streams[{u.framework_id().value(), task_id}];
      s.framework_id = u.framework_id().value();
      s.task_id = task_id;
      if (!s.uuids.insert(u.status().uuid()).second)
        break; // replaying twice is harmless
      s.pending.push_back(u);
      if (auto* t = find_task(s.framework_id, task_id)) {
        t->state = u.status().state();
        t->durable_state = t->state;
        t->last_status = u.status();
      }
      break;
    }
    case R::kAck: {
      auto i = streams.find({rec.ack().framework_id().value(),
                             rec.ack().task_id().value()});
      if (i == streams.end())
        break;
      auto& pending = i->second.pending;
      for (auto u = pending.begin(); u != pending.end(); ++u) {
        if (u->status().uuid() == rec.ack().uuid()) {
          pending.erase(u);
          break;
        }
      }
      break;
    }
    case R::kOperationUpdate: {
      const auto& op = rec.operation_update().operation();
      operation_updates[op.uuid().value()] = rec.operation_update();
      break;
    }
    case R::kOperationAck: {
      const auto& ack = rec.operation_ack();
      auto at = operation_updates.find(ack.operation_uuid().value());
      if (at != operation_updates.end()
          && at->second.operation().latest_status().uuid().value()
               == ack.status_uuid().value())
        operation_updates.erase(at);
      break;
    }
    case R::kExecutorGone: {
      auto f = frameworks.find(rec.executor_gone().framework_id().value());
      if (f != frameworks.end()) {
        auto e = f->second.executors.find(
          rec.executor_gone().executor_id().value());
        if (e != f->second.executors.end()) {
          for (auto& [task_id, t] : e->second.tasks)
            streams.erase({f->first, task_id});
          f->second.executors.erase(e);
        }
      }
      break;
    }
    default:
      break;
  }
}

void agent_state::recovered_from(const std::string& bytes) {
  size_t valid = 0;
  auto records = decode_records(bytes, &valid);
  if (valid < bytes.size())
    log->warn("journal: ignoring a torn tail of {} bytes",
              bytes.size() - valid);
  for (const auto& rec : records)
    replay(rec);
  journal_live_bytes = valid;
  std::vector<known_container> known;
  for (auto& [fw_id, fw] : frameworks)
    for (auto& [exec_id, e] : fw.executors)
      known.push_back({e.container_id, e.sandbox, e.pid});
  log->info("recovered {} records, {} frameworks, {} executors",
            records.size(), frameworks.size(), known.size());
  if (!cfg.reconnect) {
    // --recover=cleanup: end everything from before, then stop.
    auto left = std::make_shared<size_t>(known.size());
    auto done = [this, left] {
      if (--*left > 0)
        return;
      self->request(cfg.store, caf::infinite, erase_atom::value,
                    std::string{journal_key})
        .then([this](ok_atom) { shutdown("recovery cleanup done"); },
              [this](caf::error&) { shutdown("recovery cleanup done"); });
    };
    if (known.empty()) {
      ++*left;
      done();
      return;
    }
    self->request(cfg.containerizer, caf::infinite, recover_atom::value, known)
      .then([this, known, done](const std::vector<std::string>&) {
        for (const auto& k : known)
          self
            ->request(cfg.containerizer, caf::infinite, destroy_atom::value,
                      k.container_id, cfg.executor_shutdown_grace_period)
            .then([done](ok_atom) { done(); },
                  [done](caf::error&) { done(); });
      });
    return;
  }
  auto finish = [this] {
    recovered = true;
    compact();
    detect_master();
  };
  if (known.empty()) {
    finish();
    return;
  }
  self->request(cfg.containerizer, caf::infinite, recover_atom::value, known)
    .then(
      [this, finish](const std::vector<std::string>& alive) {
        std::set<std::string> running(alive.begin(), alive.end());
        for (auto& [fw_id, fw] : frameworks) {
          for (auto& [exec_id, e] : fw.executors) {
            // Live executors reconnect on their own; the others' ends were
            // recorded and come back through wait().
            if (running.count(e.container_id) > 0)
              self->delayed_send(self, cfg.executor_reregistration_timeout,
                                 timeout_atom::value, fw_id, exec_id,
                                 e.container_id);
            watch_container(e);
          }
        }
        finish();
      },
      [this](caf::error& err) {
        log->critical("cannot recover containers: {}", describe(err));
        self->quit(err);
      });
}

std::string agent_state::snapshot() const {
  std::string out;
  v1::internal::JournalRecord rec;
  if (!info.id().value().empty()) {
    *rec.mutable_agent() = info;
    encode_record(rec, out);
  }
  rec.Clear();
  total.to_proto(rec.mutable_resources()->mutable_resources());
  encode_record(rec, out);
  for (const auto& [fw_id, fw] : frameworks) {
    rec.Clear();
    *rec.mutable_framework() = fw.info;
    encode_record(rec, out);
    for (const auto& [exec_id, e] : fw.executors) {
      rec.Clear();
      *rec.mutable_executor() = checkpoint_of(e);
      encode_record(rec, out);
      for (const auto& [task_id, t] : e.tasks) {
        rec.Clear();
        auto* x = rec.mutable_task();
        x->mutable_framework_id()->set_value(fw_id);
        *x->mutable_executor_id() = e.info.executor_id();
        *x->mutable_task() = t.info;
        // Without it a task whose last update was acknowledged would come
        // back as staging after a restart, and be reported failed when its
        // executor ends (found by the simulation).
        if (t.last_status.has_task_id())
          *x->mutable_last_status() = t.last_status;
        encode_record(rec, out);
      }
    }
  }
  for (const auto& [key, s] : streams) {
    for (const auto& u : s.pending) {
      rec.Clear();
      *rec.mutable_update() = u;
      encode_record(rec, out);
    }
  }
  for (const auto& [uuid, u] : operation_updates) {
    rec.Clear();
    *rec.mutable_operation_update() = u;
    encode_record(rec, out);
  }
  return out;
}

void agent_state::compact() {
  if (flushing || !journal_pending.empty())
    return; // next time: a snapshot must not race an append
  auto bytes = snapshot();
  auto size = bytes.size();
  journal_live_bytes = size;
  journal_snapshot_bytes = size;
  self->request(cfg.store, caf::infinite, put_atom::value,
                std::string{journal_key}, std::move(bytes))
    .then([this, size](ok_atom) { log->debug("journal compacted to {} "
                                              "bytes",
                                              size); },
          [this](caf::error& err) {
            log->critical("cannot compact the journal: {}", describe(err));
            self->quit(err);
          });
}

} // namespace dcos::kernel
