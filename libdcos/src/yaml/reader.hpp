// Reading YAML documents field by field, for the parsers of libdcos' YAML
// files (simulation scenarios, service specs). Every reader rejects keys it
// does not know (a typo must not silently mean something else) and names
// the field it rejects by its path ("pods.redis.count") and line.
//
// The readers throw bad_field; each parser catches it at its public
// boundary and answers a caf::error (describe() gives the message), so no
// exception leaves libdcos.
//
// Thread-safety: plain functions.
#pragma once

#include <initializer_list>
#include <set>
#include <string>

#include <caf/timespan.hpp>
#include <yaml-cpp/yaml.h>

namespace dcos::yaml {

struct bad_field {
  std::string path; // "pods.redis.tasks.server.cpus"; "" for the document
  int line = 0;     // 1-based; 0 when unknown
  std::string why;
};

/// 1-based line of `n` in its document, or 0 for a node built in memory.
inline int line_of(const YAML::Node& n) {
  auto mark = n.Mark();
  return mark.line < 0 ? 0 : mark.line + 1;
}

/// "path (line N): why", or "line N: why" for the document itself.
std::string describe(const bad_field& e);

[[noreturn]] void fail(const YAML::Node& n, const std::string& path,
                       std::string why);

/// `path`.`key`, or `key` at the top.
inline std::string child(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

/// `path`[`index`].
inline std::string item(const std::string& path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

/// `n` as a T (string, bool, int, double...); fails naming `path` if it is
/// not a scalar of that type.
template <class T>
T scalar_of(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar())
    fail(n, path, "must be a single value");
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    fail(n, path, "has the wrong type");
  }
}

/// "250ms", "30s", "5m", "1h", "100us", "7ns": not negative.
caf::timespan duration_of(const YAML::Node& n, const std::string& path);

/// Calls each(key, value, path of the value) for every entry of the map
/// `n` whose keys are names the document chooses (pods, tasks, plans), in
/// document order. Fails if `n` is not a map or names a key twice (YAML
/// parsers disagree on which of the two wins).
template <class F>
void entries(const YAML::Node& n, const std::string& path, F each) {
  if (!n.IsMap())
    fail(n, path, "must be a map");
  std::set<std::string> seen;
  for (const auto& kv : n) {
    auto key = scalar_of<std::string>(kv.first, path);
    auto where = child(path, key);
    if (!seen.insert(key).second)
      fail(kv.first, where, "appears twice");
    each(key, kv.second, where);
  }
}

/// As entries(), for a map whose keys the schema fixes: also fails at a
/// key outside `known`.
template <class F>
void fields(const YAML::Node& n, const std::string& path,
            std::initializer_list<const char*> known, F each) {
  std::set<std::string> names(known.begin(), known.end());
  entries(n, path,
          [&](const std::string& key, const YAML::Node& value,
              const std::string& where) {
            if (names.count(key) == 0)
              fail(value, where, "is not a known field");
            each(key, value, where);
          });
}

} // namespace dcos::yaml
