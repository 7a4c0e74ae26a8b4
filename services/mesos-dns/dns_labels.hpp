// How Mesos-DNS turns task and framework names into DNS labels
// (records/labels): lower case; letters, digits and '-' only ('.' and '_'
// become '-', anything else is dropped); no '-' at either end; at most 63
// characters (RFC 1123), or with --EnforceRFC952 at most 24 and no leading
// digit. A name that is cut keeps its head and as much of the rest as fits.
#pragma once

#include <string>
#include <string_view>

namespace dcos::mesos_dns {

enum class label_spec { rfc1123, rfc952 };

/// One label made of `name`.
std::string dns_label(std::string_view name, label_spec spec);

/// Each dot-separated part of `name` as a label, empty ones dropped,
/// joined by dots ("Marathon.Prod" -> "marathon.prod"): how framework names
/// become domain fragments.
std::string domain_fragment(std::string_view name, label_spec spec);

} // namespace dcos::mesos_dns
