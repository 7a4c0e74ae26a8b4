#include "dcos/stream_sink.hpp"

namespace dcos {

bool stream_sink::write(std::string record) {
  std::lock_guard guard{mtx_};
  if (closed_)
    return false;
  if (!stream_) {
    waiting_.push_back(std::move(record));
    return true;
  }
  if (stream_->write(std::move(record)))
    return true;
  closed_ = true;
  return false;
}

void stream_sink::attach(std::shared_ptr<http_stream> stream) {
  bool close_now = false;
  {
    std::lock_guard guard{mtx_};
    stream_ = stream;
    for (auto& record : waiting_)
      if (!closed_ && !stream_->write(std::move(record)))
        closed_ = true;
    waiting_.clear();
    close_now = closed_;
  }
  if (close_now)
    stream->close();
}

void stream_sink::close() {
  std::shared_ptr<http_stream> stream;
  {
    std::lock_guard guard{mtx_};
    closed_ = true;
    waiting_.clear();
    stream = stream_;
  }
  // Outside the lock: closing may run the stream's on_close callback at
  // once, and that callback may call back into this sink.
  if (stream)
    stream->close();
}

bool stream_sink::is_open() const {
  std::lock_guard guard{mtx_};
  return !closed_ && (!stream_ || stream_->is_open());
}

} // namespace dcos
