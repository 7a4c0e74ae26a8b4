// Whole files read and written with errors that name them, for the
// containerizer's records on disk (sandboxes, caches, network state) and
// the kernel's files (cgroups, profiles).
#pragma once

#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace dcos {

/// The contents of `path`, byte for byte. Fails with io_error:
/// "cannot read 'PATH': REASON" (a missing file is such a failure).
caf::expected<std::string> read_file(const std::string& path);

/// read_file(), with "" for a file that cannot be read: for files whose
/// absence means "nothing recorded" or "no value".
std::string read_file_or_empty(const std::string& path);

/// Makes `data` the contents of `path`, creating it (mode 0666 less the
/// umask, as std::ofstream would) if needed. A reader may see it half written; see replace_file.
/// Fails with io_error: "cannot write 'PATH': REASON".
caf::error write_file(const std::string& path, std::string_view data);

/// Writes `data` to `path`.part, then renames that over `path`: readers see
/// the old contents or the new, never a part. Fails with io_error naming
/// the step and the file ("cannot create|write|rename 'PATH.part': REASON");
/// a part left by a failed write is removed.
caf::error replace_file(const std::string& path, std::string_view data);

} // namespace dcos
