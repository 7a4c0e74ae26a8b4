#include "dcos/store_actor.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "dcos/error.hpp"

namespace fs = std::filesystem;

namespace dcos {

namespace {

caf::error io_failure(std::string_view what, const std::string& path) {
  return make_error(errc::io_error, fmt::format("store: {} '{}': {}", what,
                                                path, std::strerror(errno)));
}

// Keys may contain '/', which maps to sub-directories; ".." never.
caf::expected<fs::path> key_path(const fs::path& root, const std::string& key) {
  if (key.empty() || key.find("..") != std::string::npos || key.front() == '/')
    return make_error(errc::invalid_argument,
                      fmt::format("store: invalid key '{}'", key));
  return root / key;
}

caf::error write_durably(const fs::path& path, const std::string& value) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  auto tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return io_failure("cannot create", tmp);
  const char* data = value.data();
  size_t left = value.size();
  while (left > 0) {
    auto n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      auto err = io_failure("cannot write", tmp);
      ::close(fd);
      return err;
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    auto err = io_failure("cannot sync", tmp);
    ::close(fd);
    return err;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return io_failure("cannot rename", tmp);
  // Make the rename itself durable.
  int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return {};
}

caf::error append_durably(const fs::path& path, const std::string& bytes) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                  0600);
  if (fd < 0)
    return io_failure("cannot open", path.string());
  const char* data = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    auto n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      auto err = io_failure("cannot append to", path.string());
      ::close(fd);
      return err;
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  // fdatasync: the size (metadata) matters, and fdatasync covers it.
  if (::fdatasync(fd) != 0) {
    auto err = io_failure("cannot sync", path.string());
    ::close(fd);
    return err;
  }
  ::close(fd);
  return {};
}

store_actor::behavior_type file_store(store_actor::pointer self,
                                      fs::path root) {
  (void) self;
  return {
    [root](get_atom, const std::string& key) -> caf::result<std::string> {
      auto path = key_path(root, key);
      if (!path)
        return path.error();
      std::ifstream in{*path, std::ios::binary};
      if (!in)
        return make_error(errc::not_found,
                          fmt::format("store: no value for '{}'", key));
      std::ostringstream buf;
      buf << in.rdbuf();
      return buf.str();
    },
    [root](put_atom, const std::string& key,
           const std::string& value) -> caf::result<ok_atom> {
      auto path = key_path(root, key);
      if (!path)
        return path.error();
      if (auto err = write_durably(*path, value))
        return err;
      return ok_atom::value;
    },
    [root](append_atom, const std::string& key,
           const std::string& bytes) -> caf::result<ok_atom> {
      auto path = key_path(root, key);
      if (!path)
        return path.error();
      if (auto err = append_durably(*path, bytes))
        return err;
      return ok_atom::value;
    },
    [root](erase_atom, const std::string& key) -> caf::result<ok_atom> {
      auto path = key_path(root, key);
      if (!path)
        return path.error();
      std::error_code ec;
      fs::remove(*path, ec);
      return ok_atom::value;
    },
    [root](keys_atom, const std::string& prefix) -> std::vector<std::string> {
      std::vector<std::string> keys;
      std::error_code ec;
      for (auto i = fs::recursive_directory_iterator(root, ec);
           !ec && i != fs::recursive_directory_iterator(); i.increment(ec)) {
        if (!i->is_regular_file())
          continue;
        auto key = fs::relative(i->path(), root).string();
        if (key.size() > 4 && key.compare(key.size() - 4, 4, ".tmp") == 0)
          continue; // an interrupted write
        if (key.rfind(prefix, 0) == 0)
          keys.push_back(std::move(key));
      }
      std::sort(keys.begin(), keys.end());
      return keys;
    },
  };
}

struct memory_state {
  std::map<std::string, std::string> values;
};

store_actor::behavior_type
memory_store(store_actor::stateful_pointer<memory_state> self) {
  return {
    [self](get_atom, const std::string& key) -> caf::result<std::string> {
      auto i = self->state.values.find(key);
      if (i == self->state.values.end())
        return make_error(errc::not_found,
                          fmt::format("store: no value for '{}'", key));
      return i->second;
    },
    [self](put_atom, const std::string& key, const std::string& value) {
      self->state.values[key] = value;
      return ok_atom::value;
    },
    [self](append_atom, const std::string& key, const std::string& bytes) {
      self->state.values[key] += bytes;
      return ok_atom::value;
    },
    [self](erase_atom, const std::string& key) {
      self->state.values.erase(key);
      return ok_atom::value;
    },
    [self](keys_atom, const std::string& prefix) {
      std::vector<std::string> keys;
      for (auto i = self->state.values.lower_bound(prefix);
           i != self->state.values.end() && i->first.rfind(prefix, 0) == 0;
           ++i)
        keys.push_back(i->first);
      return keys;
    },
  };
}

} // namespace

store_actor spawn_file_store(caf::actor_system& sys, std::string dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  return sys.spawn<caf::detached>(file_store, fs::path{std::move(dir)});
}

store_actor spawn_memory_store(caf::actor_system& sys) {
  return sys.spawn(memory_store);
}

} // namespace dcos
