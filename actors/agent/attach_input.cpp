#include "attach_input.hpp"

#include "container_names.hpp"
#include "session_pump.hpp"

#include <atomic>
#include <deque>
#include <string>

#include <fmt/format.h>

#include "dcos/api_encoding.hpp"
#include "dcos/error.hpp"
#include "dcos/json.hpp"
#include "dcos/recordio.hpp"
#include "dcos/v1/agent_api.pb.h"

namespace dcos::kernel {

namespace {

using v1::agent::Call;
using v1::agent::ProcessIO;

// A record holds one piece of input: a megabyte is plenty, and bounds what
// a client can make us buffer.
constexpr size_t max_record_size = 1024 * 1024;

// One request's progress. Its steps run one at a time (a body read, then
// the records it completed, each waiting for stdin to take its bytes), on
// an I/O thread or the pump's, never two at once. Only the session's end
// comes in between (on the pump's thread): it answers, and nothing else.
class input_call : public std::enable_shared_from_this<input_call> {
public:
  input_call(std::weak_ptr<session_pump> pump,
             std::shared_ptr<http_body_stream> body, http_responder respond,
             bool protobuf)
    : pump_(std::move(pump)),
      body_(std::move(body)),
      respond_(std::move(respond)),
      protobuf_(protobuf),
      records_(max_record_size) {}

  // Handles the next record, or reads more of the body.
  void next() {
    if (answered_)
      return;
    if (!pending_.empty()) {
      auto record = std::move(pending_.front());
      pending_.pop_front();
      return handle(record);
    }
    body_->read([self = shared_from_this()](caf::expected<std::string> piece) {
      self->take(std::move(piece));
    });
  }

private:
  void take(caf::expected<std::string> piece) {
    if (!piece) { // the client left (nobody to answer), or sent a bad
                  // body, or we have answered
      answer(error_response(piece.error()));
      input_.reset();
      return;
    }
    if (piece->empty()) {
      if (!records_.at_boundary())
        return refuse("the stream ends inside a record");
      if (!input_)
        return refuse("attach_container_input: the stream has no "
                      "CONTAINER_ID record");
      return answer_ok(); // the client is done, stdin stays open
    }
    auto records = records_.decode(*piece);
    if (!records)
      return refuse(describe_reason(records.error()));
    for (auto& r : *records)
      pending_.push_back(std::move(r));
    next();
  }

  void handle(const std::string& record) {
    Call call;
    if (protobuf_) {
      if (!call.ParseFromString(record))
        return refuse("a record is not a serialized agent Call");
    } else if (auto err = from_json(record, &call, "a record")) {
      return refuse(describe_reason(err));
    }
    if (call.type() != Call::ATTACH_CONTAINER_INPUT)
      return refuse(fmt::format("type: a streamed call must be "
                                "ATTACH_CONTAINER_INPUT, not {}",
                                Call::Type_Name(call.type())));
    const auto& attach = call.attach_container_input();
    if (!input_) {
      if (attach.type() != Call::AttachContainerInput::CONTAINER_ID
          || attach.container_id().value().empty())
        return refuse("attach_container_input.container_id: the first "
                      "record must be of type CONTAINER_ID and name the "
                      "container");
      auto pump = pump_.lock();
      if (!pump)
        return answer(json_error(503, "the agent is stopping"));
      // The session's end answers a client that sends nothing more.
      std::weak_ptr<input_call> weak = shared_from_this();
      auto held = pump->attach_input(flat_id(attach.container_id()), [weak] {
        if (auto self = weak.lock())
          self->answer_ok();
      });
      if (!held)
        return answer(error_response(held.error()));
      input_ = std::move(*held);
      return next();
    }
    if (attach.type() != Call::AttachContainerInput::PROCESS_IO)
      return refuse("attach_container_input.type: every record after the "
                    "first must be PROCESS_IO");
    const auto& io = attach.process_io();
    auto self = shared_from_this();
    // After a piece of input is in: the next record, unless the session
    // ended or its stdin was closed meanwhile.
    auto go_on = [self](bool taken) {
      if (!taken)
        return self->answer_ok();
      self->next();
    };
    if (io.type() == ProcessIO::CONTROL) {
      const auto& control = io.control();
      if (control.type() != ProcessIO::Control::TTY_INFO
          || !control.tty_info().has_window_size())
        return next(); // HEARTBEAT
      const auto& size = control.tty_info().window_size();
      if (size.rows() > 0xffff || size.columns() > 0xffff)
        return refuse("attach_container_input.process_io.control.tty_info."
                      "window_size: rows and columns must be below 65536");
      // In order with the input around it; nothing without a terminal.
      return input_->resize(static_cast<uint16_t>(size.rows()),
                            static_cast<uint16_t>(size.columns()), go_on);
    }
    if (io.type() != ProcessIO::DATA
        || io.data().type() != ProcessIO::Data::STDIN)
      return refuse("attach_container_input.process_io.data.type: input "
                    "is DATA of type STDIN");
    if (io.data().data().empty() && !input_->terminal()) // EOF
      return input_->close([self](bool) { self->answer_ok(); });
    if (io.data().data().empty()) // ^D: the terminal stays, and the stream
      return input_->close(go_on);
    input_->write(io.data().data(), go_on);
  }

  void refuse(std::string_view why) { answer(json_error(400, why)); }

  void answer_ok() {
    http_response ok;
    ok.content_type = "text/plain";
    answer(std::move(ok));
  }

  // The first answer wins. Once the steps end (the answer, then the body
  // read it cuts short), input_ is released and another client may attach.
  void answer(http_response r) {
    if (answered_.exchange(true))
      return;
    respond_(std::move(r));
  }

  std::weak_ptr<session_pump> pump_;
  std::shared_ptr<http_body_stream> body_;
  http_responder respond_;
  bool protobuf_;
  recordio::decoder records_;
  std::deque<std::string> pending_;
  std::unique_ptr<session_input> input_;
  std::atomic<bool> answered_{false};
};

} // namespace

void attach_container_input(std::shared_ptr<session_pump> pump,
                            const http_request& req, http_responder respond) {
  auto type = req.header("message-content-type");
  http_request records; // Message-Content-Type says what Content-Type would
  records.headers["content-type"] = type;
  bool protobuf = records.content_type_is(protobuf_media_type);
  if (!protobuf && !records.content_type_is(json_media_type)) {
    respond(json_error(415, fmt::format("Message-Content-Type: '{}' is "
                                        "neither application/json nor "
                                        "application/x-protobuf",
                                        type)));
    return;
  }
  std::make_shared<input_call>(std::move(pump), req.body_stream,
                               std::move(respond), protobuf)
    ->next();
}

} // namespace dcos::kernel
