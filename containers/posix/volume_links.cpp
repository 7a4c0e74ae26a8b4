#include "volume_links.hpp"

#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "dcos/error.hpp"

namespace fs = std::filesystem;

namespace dcos {

caf::error link_volumes(const container_launch& req) {
  int index = 0;
  for (const auto& v : req.container.volumes()) {
    auto field = fmt::format("container.volumes[{}]", index++);
    const auto& path = v.container_path();
    if (path.empty())
      return make_error(errc::invalid_argument,
                        field + ".container_path: missing");
    if (path[0] == '/')
      return make_error(errc::invalid_argument,
                        fmt::format("{}.container_path: '{}' is absolute, "
                                    "which needs the filesystem/linux "
                                    "isolator",
                                    field, path));
    for (const auto& part : fs::path{path})
      if (part == "..")
        return make_error(errc::invalid_argument,
                          field + ".container_path: must not contain '..'");
    std::string source;
    const auto& src = v.source();
    std::error_code ec;
    if (src.type() == v1::Volume::Source::HOST_PATH) {
      source = src.host_path().path();
    } else if (src.type() == v1::Volume::Source::SANDBOX_PATH) {
      const auto& sp = src.sandbox_path().path();
      if (sp.empty() || sp[0] == '/' || sp.find("..") != std::string::npos)
        return make_error(errc::invalid_argument,
                          field + ".source.sandbox_path.path: must be a "
                                  "relative path inside the sandbox");
      source = req.sandbox + "/" + sp;
      fs::create_directories(source, ec);
    } else {
      return make_error(errc::invalid_argument,
                        field + ".source.type: only HOST_PATH and "
                                "SANDBOX_PATH volumes are supported");
    }
    if (source.empty() || source[0] != '/' || !fs::exists(source, ec))
      return make_error(errc::invalid_argument,
                        fmt::format("{}.source: '{}' does not exist", field,
                                    source));
    fs::path link = fs::path{req.sandbox} / path;
    fs::create_directories(link.parent_path(), ec);
    if (fs::is_symlink(fs::symlink_status(link, ec)))
      fs::remove(link, ec);
    fs::create_directory_symlink(source, link, ec);
    if (ec)
      return make_error(errc::io_error,
                        fmt::format("{}: cannot link {} to {}: {}", field,
                                    link.string(), source, ec.message()));
  }
  return {};
}

} // namespace dcos
