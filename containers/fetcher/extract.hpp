// Unpacking fetched archives with the system's tar, unzip and gzip, run with
// dcos::subprocess (never a shell, so no file name is ever interpreted).
//
// Thread-safety: stateless.
#pragma once

#include <string>
#include <string_view>

#include <caf/error.hpp>

namespace dcos::fetcher {

enum class archive_kind {
  none,    // not an archive: left as it is
  tar,     // .tar
  tar_gz,  // .tar.gz, .tgz
  tar_bz2, // .tar.bz2, .tbz2
  tar_xz,  // .tar.xz, .txz
  zip,     // .zip
  gz,      // .gz that is not .tar.gz: one compressed file
};

/// The kind of archive named `file_name`, by its suffix.
archive_kind archive_kind_of(std::string_view file_name);

/// Unpacks `archive` (of `kind`, not none) into `dir`: tar and zip archives
/// as they are (existing files are overwritten), a .gz file to
/// `dir`/<its name without .gz>. The tools' own messages go to stderr; the
/// error says which tool failed and how.
caf::error extract(const std::string& archive, archive_kind kind,
                   const std::string& dir);

} // namespace dcos::fetcher
