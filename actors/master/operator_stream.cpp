#include "operator_stream.hpp"

#include <caf/all.hpp>

#include "dcos/api_encoding.hpp"
#include "dcos/atoms.hpp"
#include "dcos/recordio.hpp"

namespace dcos::kernel {

namespace {

struct operator_stream_state {
  operator_stream_config cfg;
  static inline const char* name = "operator_stream";
};

using self_ptr
  = master_subscriber_actor::stateful_pointer<operator_stream_state>;

// Sends `event` down the stream; the actor ends if its reader is gone.
void emit(self_ptr self, const v1::master::Event& event) {
  auto& cfg = self->state.cfg;
  if (!cfg.sink->write(recordio::encode(encode_answer(event, cfg.protobuf))))
    self->quit();
}

master_subscriber_actor::behavior_type
operator_stream(self_ptr self, operator_stream_config cfg) {
  self->state.cfg = std::move(cfg);
  auto sink = self->state.cfg.sink;
  self->attach_functor([sink] { sink->close(); });
  auto me = caf::actor_cast<master_subscriber_actor>(self);
  self->request(self->state.cfg.master, caf::infinite, subscribe_atom::value,
                me)
    .then(
      [self, me](const v1::master::Event& subscribed) {
        emit(self, subscribed);
        self->state.cfg.subscribed(me, caf::error{});
      },
      [self, me](caf::error& err) {
        self->state.cfg.subscribed(me, err);
        self->quit();
      });
  return {
    [self](const v1::master::Event& event) { emit(self, event); },
  };
}

} // namespace

master_subscriber_actor spawn_operator_stream(caf::actor_system& sys,
                                              operator_stream_config cfg) {
  return sys.spawn(operator_stream, std::move(cfg));
}

} // namespace dcos::kernel
