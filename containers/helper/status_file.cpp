#include "status_file.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace dcos::helper {

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if it is not valid.
size_t utf8_length(const std::string& s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3
                          : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size())
    return 0;
  for (size_t k = 1; k < n; ++k)
    if ((byte(i + k) & 0xc0) != 0x80)
      return 0;
  // Overlong forms and surrogates are invalid too.
  if ((n == 2 && c < 0xc2) || (n == 3 && c == 0xe0 && byte(i + 1) < 0xa0)
      || (n == 3 && c == 0xed && byte(i + 1) >= 0xa0)
      || (n == 4 && c == 0xf0 && byte(i + 1) < 0x90)
      || (n == 4 && (c > 0xf4 || (c == 0xf4 && byte(i + 1) >= 0x90))))
    return 0;
  return n;
}

void append_json_string(std::string& out, const std::string& text) {
  out += '"';
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else if (c >= 0x80) {
      size_t n = utf8_length(text, i);
      if (n == 0) {
        out += "\xef\xbf\xbd"; // U+FFFD
        ++i;
        continue;
      }
      out.append(text, i, n);
      i += n;
      continue;
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  out += '"';
}

bool write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    auto n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

} // namespace

exit_record record_of(int wait_status, const std::string& program) {
  exit_record r;
  if (WIFSIGNALED(wait_status)) {
    r.signal = WTERMSIG(wait_status);
    r.status = 128 + r.signal;
    r.reason = "signaled";
    r.message = "'" + program + "' was killed by signal "
                + std::to_string(r.signal) + " (" + ::strsignal(r.signal)
                + ")";
  } else {
    r.status = WEXITSTATUS(wait_status);
    r.reason = "exited";
    r.message = "'" + program + "' exited with status "
                + std::to_string(r.status);
  }
  return r;
}

std::string to_json_line(const exit_record& record) {
  std::string out = "{\"status\":" + std::to_string(record.status)
                    + ",\"reason\":";
  append_json_string(out, record.reason);
  if (record.reason == "signaled")
    out += ",\"signal\":" + std::to_string(record.signal);
  out += ",\"message\":";
  append_json_string(out, record.message);
  out += "}\n";
  return out;
}

int write_status_file(const std::string& path, const exit_record& record) {
  return write_atomically(path, to_json_line(record));
}

int write_pid_file(const std::string& path, pid_t pid) {
  return write_atomically(path, std::to_string(pid) + "\n");
}

int write_atomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return errno;
  // No fsync: the record must outlive the agent process, not the machine
  // (after a reboot no container is left to ask about), and the page cache
  // survives any process. The rename still makes the update atomic.
  bool ok = write_all(fd, text);
  int err = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return err;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    ::unlink(tmp.c_str());
    return err;
  }
  return 0;
}

} // namespace dcos::helper
