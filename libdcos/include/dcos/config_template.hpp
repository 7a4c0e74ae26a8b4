// Mustache templates, as dcos-commons renders service specs (svc.yml,
// from the scheduler's environment) and the config files a spec names
// (per task, from the task's environment):
//
//   {{NAME}}                  the value of NAME, as is (no HTML escaping)
//   {{#NAME}}...{{/NAME}}     the inside, if NAME is set and not "false"
//   {{^NAME}}...{{/NAME}}     the inside, if NAME is unset, "" or "false"
//   {{! a comment }}
//
// Tag lines of a section leave no text behind, but a skipped section
// leaves one blank line (kainjow's rendering; harmless in YAML and in most
// config files).
//
// A variable with no value is an error (dcos-commons refuses to render a
// spec with missing values rather than leave holes), except inside a
// section that is not rendered.
//
// Thread-safety: plain functions.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace dcos {

/// Renders `text` with `env`. Fails with errc::invalid_argument naming
/// `what` and the problem: the variables without values, in the order they
/// first appear ("svc.yml: no value for NODE_COUNT, NODE_CPUS"), or the
/// template's syntax error (an unclosed section).
caf::expected<std::string>
render_template(const std::string& text,
                const std::map<std::string, std::string>& env,
                std::string_view what);

} // namespace dcos
