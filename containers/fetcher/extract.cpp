#include "extract.hpp"

#include <cstdio>
#include <vector>

#include <fmt/format.h>

#include "dcos/error.hpp"
#include "dcos/subprocess.hpp"

namespace dcos::fetcher {

namespace {

caf::error run(std::vector<std::string> argv, std::string stdout_path = {}) {
  subprocess_options opts;
  opts.argv = std::move(argv);
  opts.stdout_path = std::move(stdout_path);
  auto child = subprocess::spawn(opts);
  if (!child)
    return child.error();
  if (int status = child->wait(); status != 0)
    return make_error(errc::io_error,
                      fmt::format("{} exited with {}", opts.argv[0], status));
  return {};
}

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

} // namespace

archive_kind archive_kind_of(std::string_view name) {
  struct suffix {
    std::string_view text;
    archive_kind kind;
  };
  // Longest first, so that .tar.gz wins over .gz.
  static constexpr suffix suffixes[] = {
    {".tar.bz2", archive_kind::tar_bz2}, {".tar.gz", archive_kind::tar_gz},
    {".tar.xz", archive_kind::tar_xz},   {".tbz2", archive_kind::tar_bz2},
    {".tar", archive_kind::tar},         {".tgz", archive_kind::tar_gz},
    {".txz", archive_kind::tar_xz},      {".zip", archive_kind::zip},
    {".gz", archive_kind::gz},
  };
  for (const auto& s : suffixes)
    if (name.size() > s.text.size() && name.ends_with(s.text))
      return s.kind;
  return archive_kind::none;
}

caf::error extract(const std::string& archive, archive_kind kind,
                   const std::string& dir) {
  // --no-same-owner: files in a sandbox belong to whoever runs the fetcher,
  // even when that is root and the archive names other owners.
  std::vector<std::string> tar = {"tar", "--no-same-owner", "-C", dir, "-x"};
  switch (kind) {
    case archive_kind::none:
      return make_error(errc::invalid_argument,
                        fmt::format("'{}' is not an archive", archive));
    case archive_kind::tar:
      break;
    case archive_kind::tar_gz:
      tar.push_back("-z");
      break;
    case archive_kind::tar_bz2:
      tar.push_back("-j");
      break;
    case archive_kind::tar_xz:
      tar.push_back("-J");
      break;
    case archive_kind::zip:
      return run({"unzip", "-o", "-q", archive, "-d", dir});
    case archive_kind::gz: {
      auto name = base_name(archive);
      auto target = dir + "/" + name.substr(0, name.size() - 3);
      // subprocess appends to stdout_path: start from an empty file, under a
      // temporary name so that a failure leaves no half-written target.
      auto part = target + ".part";
      std::remove(part.c_str());
      if (auto err = run({"gzip", "-d", "-c", archive}, part)) {
        std::remove(part.c_str());
        return err;
      }
      if (std::rename(part.c_str(), target.c_str()) != 0)
        return make_error(errc::io_error,
                          fmt::format("cannot rename '{}' to '{}'", part,
                                      target));
      return {};
    }
  }
  tar.insert(tar.end(), {"-f", archive});
  return run(std::move(tar));
}

} // namespace dcos::fetcher
