// Rendering is kainjow's mustache (Debian's libkainjow-mustache-dev). It
// renders a variable without a value as nothing, so the variables are
// checked first, by a scan that follows which sections would render.
#include "dcos/config_template.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>
#include <kainjow/mustache.hpp>

#include "dcos/error.hpp"

namespace dcos {

namespace {

std::string trimmed(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos)
    return {};
  auto e = s.find_last_not_of(" \t");
  return std::string{s.substr(b, e - b + 1)};
}

// kainjow renders a section for any string, "" and "false" included; a
// section on such a value is renamed to a name bound to false.
std::string falsy_name(const std::string& name) {
  return name + "__dcos_false";
}

struct scanned {
  std::string text;                 // with falsy sections renamed
  std::vector<std::string> missing; // variables without a value
};

// Walks the tags of `text`, following which sections would render: the
// variables used without a value there are missing. Malformed tags are
// left to the renderer's own checks.
scanned scan(const std::string& text,
             const std::map<std::string, std::string>& env) {
  scanned out;
  struct section {
    bool rendering;
    bool renamed;
  };
  std::vector<section> open{{true, false}};
  size_t copied = 0, at = 0;
  while ((at = text.find("{{", at)) != std::string::npos) {
    bool triple = text.compare(at, 3, "{{{") == 0;
    size_t width = triple ? 3 : 2;
    auto close = text.find(triple ? "}}}" : "}}", at);
    if (close == std::string::npos)
      break;
    auto tag = trimmed(std::string_view{text}.substr(at + width,
                                                     close - at - width));
    auto tag_begin = at;
    at = close + width;
    if (tag.empty())
      continue;
    char sigil = tag[0];
    auto name = trimmed(std::string_view{tag}.substr(
      sigil == '#' || sigil == '^' || sigil == '/' || sigil == '&' ? 1 : 0));
    bool rename = false;
    if (sigil == '#' || sigil == '^') {
      auto it = env.find(name);
      bool set = it != env.end();
      rename = set && (it->second.empty() || it->second == "false");
      bool on = (set && !rename) == (sigil == '#');
      open.push_back({open.back().rendering && on, rename});
    } else if (sigil == '/') {
      if (open.size() > 1) {
        rename = open.back().renamed;
        open.pop_back();
      }
    } else if (sigil == '!' || sigil == '>' || sigil == '=') {
      continue; // comments, partials, delimiters
    } else if (open.back().rendering && env.count(name) == 0
               && std::find(out.missing.begin(), out.missing.end(), name)
                    == out.missing.end()) {
      out.missing.push_back(name);
    }
    if (rename) {
      out.text.append(text, copied, tag_begin - copied);
      out.text += fmt::format("{{{{{}{}}}}}", sigil, falsy_name(name));
      copied = at;
    }
  }
  out.text.append(text, copied, std::string::npos);
  return out;
}

} // namespace

caf::expected<std::string>
render_template(const std::string& text,
                const std::map<std::string, std::string>& env,
                std::string_view what) {
  auto scanned = scan(text, env);
  kainjow::mustache::mustache tmpl{scanned.text};
  if (!tmpl.is_valid())
    return make_error(errc::invalid_argument,
                      fmt::format("{}: {}", what, tmpl.error_message()));
  if (!scanned.missing.empty())
    return make_error(errc::invalid_argument,
                      fmt::format("{}: no value for {}", what,
                                  fmt::join(scanned.missing, ", ")));
  tmpl.set_custom_escape([](const std::string& s) { return s; });
  kainjow::mustache::data data;
  for (const auto& [name, value] : env) {
    data.set(name, value);
    data.set(falsy_name(name), kainjow::mustache::data::type::bool_false);
  }
  auto out = tmpl.render(data);
  if (!tmpl.is_valid())
    return make_error(errc::invalid_argument,
                      fmt::format("{}: {}", what, tmpl.error_message()));
  return out;
}

} // namespace dcos
