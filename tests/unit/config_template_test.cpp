// Mustache templates as dcos-commons renders specs and config files:
// values as they are, sections on "false" and "" skipped, every variable
// that would render must have a value.
#include <doctest/doctest.h>

#include "dcos/config_template.hpp"
#include "dcos/error.hpp"

using namespace dcos;

namespace {

std::string render(const std::string& text,
                   const std::map<std::string, std::string>& env) {
  auto out = render_template(text, env, "t");
  REQUIRE_MESSAGE(out, describe(out.error()));
  return *out;
}

std::string error_of(const std::string& text,
                     const std::map<std::string, std::string>& env) {
  auto out = render_template(text, env, "svc.yml");
  REQUIRE_FALSE(out);
  CHECK(code_of(out.error()) == errc::invalid_argument);
  return describe_reason(out.error());
}

} // namespace

TEST_CASE("variables render as they are, unescaped") {
  CHECK(render("cmd: {{CMD}} --port {{PORT}}\n",
               {{"CMD", "a && b <c>"}, {"PORT", "6379"}})
        == "cmd: a && b <c> --port 6379\n");
  CHECK(render("x: {{{RAW}}} {{&RAW}}", {{"RAW", "\"q\""}})
        == "x: \"q\" \"q\"");
  CHECK(render("flag: {{TLS}}", {{"TLS", "false"}}) == "flag: false");
  CHECK(render("{{! a comment }}left", {}) == "left");
}

TEST_CASE("sections render on set values other than \"false\" and \"\"") {
  std::string t = "a\n{{#TLS}}\ntls: on\n{{/TLS}}\n{{^TLS}}\ntls: off\n"
                  "{{/TLS}}\nb\n";
  // A section's own tag lines leave no text behind; a skipped one leaves
  // a blank line (kainjow's rendering; harmless in YAML).
  auto lines = [](std::string s) {
    for (auto at = s.find("\n\n"); at != std::string::npos;
         at = s.find("\n\n"))
      s.erase(at, 1);
    return s;
  };
  CHECK(lines(render(t, {{"TLS", "true"}})) == "a\ntls: on\nb\n");
  CHECK(lines(render(t, {{"TLS", "false"}})) == "a\ntls: off\nb\n");
  CHECK(lines(render(t, {{"TLS", ""}})) == "a\ntls: off\nb\n");
  CHECK(lines(render(t, {})) == "a\ntls: off\nb\n");
  // Nested, with the same variable inside and outside.
  CHECK(render("{{#A}}[{{#B}}{{X}}{{/B}}{{^B}}-{{/B}}]{{/A}}{{X}}",
               {{"A", "1"}, {"B", "false"}, {"X", "x"}})
        == "[-]x");
}

TEST_CASE("missing values are errors, except in sections that do not "
          "render") {
  CHECK(error_of("count: {{COUNT}}\ncpus: {{CPUS}}\nagain: {{COUNT}}", {})
        == "svc.yml: no value for COUNT, CPUS");
  CHECK(render("{{#TLS}}{{CERT}}{{/TLS}}ok", {{"TLS", "false"}}) == "ok");
  CHECK(render("{{^TLS}}{{CERT}}{{/TLS}}ok", {{"TLS", "yes"}}) == "ok");
  CHECK(error_of("{{#TLS}}{{CERT}}{{/TLS}}", {{"TLS", "yes"}})
        == "svc.yml: no value for CERT");
  CHECK(error_of("{{#TLS}}unclosed", {{"TLS", "1"}}).find("svc.yml: ")
        == 0);
}
