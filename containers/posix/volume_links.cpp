#include "volume_links.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "dcos/error.hpp"

namespace fs = std::filesystem;

namespace dcos {

caf::expected<checked_volume> check_volume(const container_launch& req,
                                           int i) {
  const auto& v = req.container.volumes(i);
  checked_volume out;
  out.field = fmt::format("container.volumes[{}]", i);
  out.container_path = v.container_path();
  if (out.container_path.empty())
    return make_error(errc::invalid_argument,
                      out.field + ".container_path: missing");
  for (const auto& part : fs::path{out.container_path})
    if (part == "..")
      return make_error(errc::invalid_argument,
                        out.field
                          + ".container_path: must not contain '..'");
  const auto& src = v.source();
  std::error_code ec;
  if (src.type() == v1::Volume::Source::HOST_PATH) {
    out.source = src.host_path().path();
  } else if (src.type() == v1::Volume::Source::SANDBOX_PATH) {
    const auto& sp = src.sandbox_path().path();
    if (sp.empty() || sp[0] == '/' || sp.find("..") != std::string::npos)
      return make_error(errc::invalid_argument,
                        out.field + ".source.sandbox_path.path: must be a "
                                    "relative path inside the sandbox");
    out.source = req.sandbox + "/" + sp;
    fs::create_directories(out.source, ec);
  } else {
    return make_error(errc::invalid_argument,
                      out.field + ".source.type: only HOST_PATH and "
                                  "SANDBOX_PATH volumes are supported");
  }
  if (out.source.empty() || out.source[0] != '/'
      || !fs::exists(out.source, ec))
    return make_error(errc::invalid_argument,
                      fmt::format("{}.source: '{}' does not exist", out.field,
                                  out.source));
  return out;
}

caf::error link_volumes(const container_launch& req) {
  for (int i = 0; i < req.container.volumes_size(); ++i) {
    auto v = check_volume(req, i);
    if (!v)
      return std::move(v.error());
    if (v->container_path[0] == '/')
      return make_error(errc::invalid_argument,
                        fmt::format("{}.container_path: '{}' is absolute, "
                                    "which needs the filesystem/linux "
                                    "isolator",
                                    v->field, v->container_path));
    fs::path link = fs::path{req.sandbox} / v->container_path;
    std::error_code ec;
    fs::create_directories(link.parent_path(), ec);
    if (fs::is_symlink(fs::symlink_status(link, ec)))
      fs::remove(link, ec);
    else if (fs::exists(link, ec) && fs::equivalent(link, v->source, ec))
      continue; // a directory of the sandbox, at its own path
    fs::create_directory_symlink(v->source, link, ec);
    if (ec)
      return make_error(errc::io_error,
                        fmt::format("{}: cannot link {} to {}: {}", v->field,
                                    link.string(), v->source, ec.message()));
  }
  return {};
}

} // namespace dcos
